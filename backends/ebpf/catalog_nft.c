/*
 * nftables rule-set changes (catalog.h): the Linux analogue of the Windows
 * Filtering Platform, which replaced LSPs there. The kernel announces each
 * committed nftables transaction on the NFNLGRP_NFTABLES netlink group: a
 * message per table, chain, rule, set, set elements, object or flowtable
 * added, changed or removed, then a new-generation message naming the
 * process that committed it. Each transaction becomes one CatalogReset
 * ("rules changed") with its counts and that process. iptables-nft
 * (Debian's and most distributions' iptables) goes through nftables too;
 * iptables-legacy does not, and is not seen.
 *
 * `socktrace catalog` lists the tables, with how many chains, rules and
 * sets each holds, from the kernel's dumps.
 *
 * The tracer's own network namespace only. Nothing here runs per socket
 * operation or per packet: the kernel writes to the socket only when a rule
 * set changes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "catalog.h"

/* Every object message names its table in attribute 1. */
_Static_assert(NFTA_TABLE_NAME == 1 && NFTA_CHAIN_TABLE == 1 && NFTA_RULE_TABLE == 1 &&
                   NFTA_SET_TABLE == 1 && NFTA_SET_ELEM_LIST_TABLE == 1 && NFTA_OBJ_TABLE == 1 &&
                   NFTA_FLOWTABLE_TABLE == 1,
               "nftables attribute 1 is the table's name");

enum { K_TABLE, K_CHAIN, K_RULE, K_SET, K_ELEMENT, K_OBJECT, K_FLOWTABLE };
static const char *const kind_names[LCAT_NFT_KINDS][2] = {
    {"table", "tables"},     {"chain", "chains"},   {"rule", "rules"},          {"set", "sets"},
    {"element", "elements"}, {"object", "objects"}, {"flowtable", "flowtables"}};

/* The attribute at *p (*left bytes), stepping past it; NULL at the end. */
static const struct nlattr *attr_next(const char **p, size_t *left) {
  const struct nlattr *a = (const struct nlattr *)*p;
  if (*left < NLA_HDRLEN || a->nla_len < NLA_HDRLEN || a->nla_len > *left)
    return NULL;
  size_t step = (size_t)NLA_ALIGN(a->nla_len);
  if (step > *left)
    step = *left;
  *p += step;
  *left -= step;
  return a;
}

/* The attribute of this type among len bytes of attributes (NULL: none). */
static const struct nlattr *attr_find(const char *p, size_t len, uint16_t type) {
  for (const struct nlattr *a; (a = attr_next(&p, &len));)
    if ((a->nla_type & NLA_TYPE_MASK) == type)
      return a;
  return NULL;
}

static size_t attr_len(const struct nlattr *a) {
  return a->nla_len - NLA_HDRLEN;
}

static const char *attr_data(const struct nlattr *a) {
  return (const char *)a + NLA_HDRLEN;
}

static uint32_t attr_be32(const struct nlattr *a) {
  uint32_t v = 0;
  if (a && attr_len(a) >= sizeof v)
    memcpy(&v, attr_data(a), sizeof v);
  return ntohl(v);
}

static void attr_str(const struct nlattr *a, char *out, size_t len) {
  size_t n = a ? attr_len(a) : 0;
  if (n >= len)
    n = len - 1;
  if (n)
    memcpy(out, attr_data(a), n);
  out[n] = '\0';
}

/* How many elements a set-element message carries (at least one). */
static uint32_t elements(const char *attrs, size_t len) {
  const struct nlattr *list = attr_find(attrs, len, NFTA_SET_ELEM_LIST_ELEMENTS);
  uint32_t n = 0;
  if (!list)
    return 1;
  const char *p = attr_data(list);
  size_t left = attr_len(list);
  while (attr_next(&p, &left))
    n++;
  return n ? n : 1;
}

static const char *family_name(uint8_t family) {
  switch (family) {
  case NFPROTO_INET:
    return "inet";
  case NFPROTO_IPV4:
    return "ip";
  case NFPROTO_IPV6:
    return "ip6";
  case NFPROTO_ARP:
    return "arp";
  case NFPROTO_BRIDGE:
    return "bridge";
  case NFPROTO_NETDEV:
    return "netdev";
  default:
    return "?";
  }
}

static void reset(lcat_nft *n) {
  memset(n->added, 0, sizeof n->added);
  memset(n->removed, 0, sizeof n->removed);
  n->table[0] = '\0';
  n->more_tables = false;
}

/* The counts as words: "+1 table +2 rules -1 rule" (empty when none). */
static void counts(const lcat_nft *n, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (int sign = 0; sign < 2; sign++) {
    const uint32_t *v = sign ? n->removed : n->added;
    for (int k = 0; k < LCAT_NFT_KINDS && used < len; k++)
      if (v[k])
        used += (size_t)snprintf(out + used, len - used, "%s%c%u %s", used ? " " : "",
                                 sign ? '-' : '+', v[k], kind_names[k][v[k] != 1]);
  }
}

/* One CatalogReset for the transaction that made generation gen. */
static void emit_change(lcat_nft *n, const char *what, const lcat_who *who, lcat_emit_fn emit,
                        void *arg) {
  char words[96], entry[ST_DETAIL_MAX];
  st_event ev;
  counts(n, words, sizeof words);
  lcat_format(entry, sizeof entry, "%s%s%s%s%s%s", what, words[0] ? ": " : "", words,
              n->table[0] ? " (" : "", n->table,
              n->table[0] ? (n->more_tables ? ", ...)" : ")") : "");
  lcat_event_file("nftables", entry, who->pid ? NULL : "process unknown", ST_EV_CAT_RESET, &ev);
  emit(arg, &ev, who);
  reset(n);
}

/* The process a generation names: the kernel gives the committing thread;
 * its process is asked of /proc while it still runs. */
static void who_committed(const char *attrs, size_t len, lcat_who *w) {
  memset(w, 0, sizeof *w);
  w->tid = w->pid = attr_be32(attr_find(attrs, len, NFTA_GEN_PROC_PID));
  attr_str(attr_find(attrs, len, NFTA_GEN_PROC_NAME), w->comm, sizeof w->comm);
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/%u/status", w->tid);
  FILE *f = w->tid ? fopen(path, "r") : NULL;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "Tgid:", 5)) {
      w->pid = (uint32_t)strtoul(line + 5, NULL, 10);
      break;
    }
  if (f)
    fclose(f);
}

/* An nftables message's attributes; false for any other message. */
static bool nft_attrs(const struct nlmsghdr *h, const char **attrs, size_t *len) {
  size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
  if (h->nlmsg_len < head || NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
    return false;
  *attrs = (const char *)h + head;
  *len = h->nlmsg_len - head;
  return true;
}

/* "inet filter": the family and name of the table a message names. */
static void table_of(const struct nlmsghdr *h, const char *attrs, size_t len, char *out,
                     size_t outlen) {
  char name[64];
  attr_str(attr_find(attrs, len, NFTA_TABLE_NAME), name, sizeof name);
  lcat_format(out, outlen, "%s %s",
              family_name(((const struct nfgenmsg *)NLMSG_DATA(h))->nfgen_family), name);
}

void lcat_nft_message(lcat_nft *n, const void *msg, lcat_emit_fn emit, void *arg) {
  const struct nlmsghdr *h = msg;
  const char *attrs;
  size_t len;
  if (!nft_attrs(h, &attrs, &len))
    return;
  int kind;
  bool added;
  switch (NFNL_MSG_TYPE(h->nlmsg_type)) {
  case NFT_MSG_NEWGEN: {
    lcat_who who;
    char what[64];
    who_committed(attrs, len, &who);
    snprintf(what, sizeof what, "rules changed (generation %u)",
             attr_be32(attr_find(attrs, len, NFTA_GEN_ID)));
    emit_change(n, what, &who, emit, arg);
    return;
  }
#define KIND(NEW, DEL, K)                                                                          \
  case NEW:                                                                                        \
  case DEL:                                                                                        \
    kind = K;                                                                                      \
    added = NFNL_MSG_TYPE(h->nlmsg_type) == NEW;                                                   \
    break;
    KIND(NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, K_TABLE)
    KIND(NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, K_CHAIN)
    KIND(NFT_MSG_NEWRULE, NFT_MSG_DELRULE, K_RULE)
    KIND(NFT_MSG_NEWSET, NFT_MSG_DELSET, K_SET)
    KIND(NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, K_ELEMENT)
    KIND(NFT_MSG_NEWOBJ, NFT_MSG_DELOBJ, K_OBJECT)
    KIND(NFT_MSG_NEWFLOWTABLE, NFT_MSG_DELFLOWTABLE, K_FLOWTABLE)
#undef KIND
  default:
    return;
  }
  (added ? n->added : n->removed)[kind] += kind == K_ELEMENT ? elements(attrs, len) : 1;
  char table[sizeof n->table];
  table_of(h, attrs, len, table, sizeof table);
  if (!n->table[0])
    memcpy(n->table, table, sizeof table);
  else if (strcmp(n->table, table) != 0)
    n->more_tables = true;
}

int lcat_nft_open(lcat_nft *n, char *err, size_t errlen) {
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  int group = NFNLGRP_NFTABLES, size = 4 << 20;
  memset(n, 0, sizeof *n);
  n->buf = malloc(LCAT_NFT_BUF);
  if (!n->buf) {
    n->fd = -1;
    snprintf(err, errlen, "%s", st_strerror(ST_ENOMEM));
    return ST_ENOMEM;
  }
  n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      setsockopt(n->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    int e = errno;
    snprintf(err, errlen, "%s", st_strerror(-e));
    lcat_nft_close(n);
    return -e;
  }
  /* A whole rule set loaded at once is many messages: room for them (more
   * than the default needs privilege; the default is kept without it). */
  if (setsockopt(n->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(n->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return 0;
}

void lcat_nft_read(lcat_nft *n, lcat_emit_fn emit, void *arg) {
  for (;;) {
    ssize_t len = recv(n->fd, n->buf, LCAT_NFT_BUF, 0);
    if (len < 0 && errno == ENOBUFS) {
      /* The socket overflowed: some of a change is lost, not the change. */
      lcat_who nobody = {0};
      reset(n);
      emit_change(n, "rules changed (notifications lost: what changed is not known)", &nobody, emit,
                  arg);
      continue;
    }
    if (len <= 0)
      return;
    int left = (int)len;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)n->buf; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left))
      lcat_nft_message(n, h, emit, arg);
  }
}

/* ---- the listing ------------------------------------------------------------ */

typedef struct listing {
  lcat_nft_table *v;
  size_t n, cap;
  int error;
} listing;

static lcat_nft_table *table_find(listing *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i].name, name))
      return &l->v[i];
  return NULL;
}

static void listed(listing *l, const struct nlmsghdr *h) {
  const char *attrs;
  size_t len;
  char name[sizeof l->v->name];
  if (!nft_attrs(h, &attrs, &len))
    return;
  table_of(h, attrs, len, name, sizeof name);
  lcat_nft_table *t = table_find(l, name);
  switch (NFNL_MSG_TYPE(h->nlmsg_type)) {
  case NFT_MSG_NEWTABLE:
    if (t)
      return;
    if (lcat_grow(&l->v, &l->cap, l->n, sizeof *l->v) < 0) {
      l->error = ST_ENOMEM;
      return;
    }
    t = &l->v[l->n++];
    memset(t, 0, sizeof *t);
    memcpy(t->name, name, sizeof name);
    return;
  case NFT_MSG_NEWCHAIN:
    if (t)
      t->chains++;
    return;
  case NFT_MSG_NEWRULE:
    if (t)
      t->rules++;
    return;
  case NFT_MSG_NEWSET:
    if (t)
      t->sets++;
    return;
  default:
    return;
  }
}

/* One dump of the namespace's objects of this type, each message to
 * listed(). 0 or -errno. */
static int dump(int fd, uint16_t type, char *buf, listing *l) {
  struct {
    struct nlmsghdr h;
    struct nfgenmsg g;
  } req = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg)),
                 .nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type),
                 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                 .nlmsg_seq = type + 1u},
           .g = {.nfgen_family = NFPROTO_UNSPEC, .version = NFNETLINK_V0}};
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
    return -errno;
  for (;;) {
    ssize_t n = recv(fd, buf, LCAT_NFT_BUF, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    int left = (int)n;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != req.h.nlmsg_seq)
        continue;
      if (h->nlmsg_type == NLMSG_DONE)
        return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
        if (e)
          return e;
        continue;
      }
      listed(l, h);
    }
  }
}

int lcat_nft_list(lcat_nft_table **out, size_t *count, char *err, size_t errlen) {
  static const uint16_t types[] = {NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE,
                                   NFT_MSG_GETSET};
  listing l = {0};
  struct timeval tv = {.tv_sec = 5};
  char *buf = malloc(LCAT_NFT_BUF);
  int rc = buf ? 0 : ST_ENOMEM;
  int fd = buf ? socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER) : -1;
  if (!rc && fd < 0)
    rc = -errno;
  if (fd >= 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t i = 0; !rc && i < sizeof types / sizeof *types; i++)
    rc = l.error ? l.error : dump(fd, types[i], buf, &l);
  if (!rc)
    rc = l.error;
  if (rc == -EPERM || rc == -EACCES)
    snprintf(err, errlen,
             "cannot ask nftables for its rule sets: %s (run as root or grant "
             "CAP_NET_ADMIN)",
             st_strerror(rc));
  else if (rc == -EPROTONOSUPPORT)
    rc = 0; /* no nftables in this kernel: no rule sets */
  else if (rc)
    snprintf(err, errlen, "cannot ask nftables for its rule sets: %s", st_strerror(rc));
  if (fd >= 0)
    close(fd);
  free(buf);
  *out = l.v;
  *count = l.n;
  return rc;
}

void lcat_nft_table_words(const lcat_nft_table *t, char *out, size_t len) {
  lcat_format(out, len, "%s: %u chain%s, %u rule%s, %u set%s", t->name, t->chains,
              t->chains == 1 ? "" : "s", t->rules, t->rules == 1 ? "" : "s", t->sets,
              t->sets == 1 ? "" : "s");
}

void lcat_nft_close(lcat_nft *n) {
  if (n->fd >= 0)
    close(n->fd);
  n->fd = -1;
  free(n->buf);
  n->buf = NULL;
}
