/*
 * The DNS enrichment stage (dns_join.h): queries paired with answers,
 * unanswered queries reported, answers remembered to name later remotes.
 */
#include "dns_join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "socktrace/status.h"

#define PENDING_MAX 1024
#define NAMES_MAX 8192
/* An answer names its addresses for its TTL and this much longer:
 * resolvers, libraries and runtimes cache answers past their TTL (the JVM
 * for 30 s, nscd, browsers). */
#define NAME_GRACE_NS (60ull * 1000000000ull)
/* A query reported as unanswered is kept this long, so that a late answer
 * still gets its latency. */
#define REPORTED_KEPT_NS (60ull * 1000000000ull)
#define ANY_PID UINT32_MAX /* the names table's entries of every process */

typedef struct qkey {
  uint32_t pid;
  uint16_t id, qtype;
  char qname[ST_NAME_MAX];
} qkey;

typedef struct pending {
  qkey key;
  bool reported;
  st_event query; /* as it came: the unanswered event is made of it */
  UT_hash_handle hh;
} pending;

typedef struct nkey {
  uint32_t pid;
  uint8_t family;
  uint8_t addr[16];
  uint8_t pad[3];
} nkey;

typedef struct name_ent {
  nkey key;
  uint64_t expires_ns;
  char name[ST_NAME_MAX];
  UT_hash_handle hh;
} name_ent;

struct st_dns_join {
  uint64_t timeout_ns;
  pending *pending; /* in the order the queries were sent */
  name_ent *names;  /* oldest first */
  st_dns_join_stats stats;
};

st_dns_join *st_dns_join_new(uint32_t timeout_ms) {
  st_dns_join *j = calloc(1, sizeof *j);
  if (!j)
    return NULL;
  j->timeout_ns = (uint64_t)(timeout_ms ? timeout_ms : ST_DNS_TIMEOUT_MS_DEFAULT) * 1000000ull;
  return j;
}

void st_dns_join_free(st_dns_join *j) {
  if (!j)
    return;
  pending *p, *pt;
  HASH_ITER(hh, j->pending, p, pt) {
    HASH_DEL(j->pending, p);
    free(p);
  }
  name_ent *n, *nt;
  HASH_ITER(hh, j->names, n, nt) {
    HASH_DEL(j->names, n);
    free(n);
  }
  free(j);
}

static void query_key(const st_event *ev, qkey *k) {
  memset(k, 0, sizeof *k);
  k->pid = ev->pid;
  k->id = ev->dns.id;
  k->qtype = ev->dns.qtype;
  memcpy(k->qname, ev->dns.qname, sizeof k->qname);
  k->qname[sizeof k->qname - 1] = 0;
  /* Names compare without case (RFC 4343): 0x20-randomising resolvers
   * answer in the case they asked. */
  for (char *c = k->qname; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
}

static pending *pending_find(st_dns_join *j, const st_event *ev) {
  qkey k;
  pending *p = NULL;
  query_key(ev, &k);
  HASH_FIND(hh, j->pending, &k, sizeof k, p);
  return p;
}

static void pending_drop(st_dns_join *j, pending *p) {
  HASH_DEL(j->pending, p);
  free(p);
}

static void on_query(st_dns_join *j, const st_event *ev) {
  if (pending_find(j, ev))
    return; /* a retry: latency counts from the first try */
  if (HASH_COUNT(j->pending) >= PENDING_MAX) {
    pending_drop(j, j->pending); /* the oldest */
    j->stats.evicted++;
  }
  pending *p = malloc(sizeof *p);
  if (!p)
    return;
  query_key(ev, &p->key);
  p->reported = false;
  p->query = *ev;
  HASH_ADD(hh, j->pending, key, sizeof p->key, p);
}

/* IPv4 addresses are kept as IPv4, also when they come mapped into IPv6
 * (a dual-stack socket's peer, Windows' answers). */
static bool addr_key(uint32_t pid, uint8_t family, const uint8_t *addr, nkey *k) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(k, 0, sizeof *k);
  k->pid = pid;
  if (family == ST_FAMILY_INET) {
    k->family = ST_FAMILY_INET;
    memcpy(k->addr, addr, 4);
  } else if (family == ST_FAMILY_INET6) {
    if (memcmp(addr, mapped, sizeof mapped) == 0) {
      k->family = ST_FAMILY_INET;
      memcpy(k->addr, addr + 12, 4);
    } else {
      k->family = ST_FAMILY_INET6;
      memcpy(k->addr, addr, 16);
    }
  } else {
    return false;
  }
  return true;
}

static void name_put(st_dns_join *j, const nkey *k, const char *name, uint64_t expires_ns) {
  name_ent *n = NULL;
  HASH_FIND(hh, j->names, k, sizeof *k, n);
  if (n) {
    HASH_DEL(j->names, n); /* re-added: newest last */
  } else {
    if (HASH_COUNT(j->names) >= NAMES_MAX) {
      name_ent *old = j->names;
      HASH_DEL(j->names, old);
      free(old);
    }
    if (!(n = malloc(sizeof *n)))
      return;
    n->key = *k;
  }
  n->expires_ns = expires_ns;
  snprintf(n->name, sizeof n->name, "%s", name);
  HASH_ADD(hh, j->names, key, sizeof n->key, n);
}

static void learn(st_dns_join *j, const st_event *ev) {
  const st_dns *d = &ev->dns;
  uint64_t expires = ev->ts_ns + (uint64_t)d->ttl * 1000000000ull + NAME_GRACE_NS;
  for (unsigned i = 0; i < d->naddrs && i < ST_DNS_ADDRS_MAX; i++) {
    nkey k;
    if (!addr_key(ev->pid, d->addrs[i].family, d->addrs[i].addr, &k))
      continue;
    name_put(j, &k, d->qname, expires);
    k.pid = ANY_PID;
    name_put(j, &k, d->qname, expires);
  }
}

void st_dns_join_message(st_dns_join *j, st_event *ev) {
  st_dns *d = &ev->dns;
  if (!(ev->has & ST_HAS_DNS))
    return;
  if (d->flags & ST_DNS_UNANSWERED) {
    /* Already reported (a recorded trace): its query is settled. */
    pending *p = pending_find(j, ev);
    if (p)
      p->reported = true;
    return;
  }
  if (!d->qr) {
    if (!(d->flags & ST_DNS_RECEIVED))
      on_query(j, ev);
    return;
  }
  if (!(ev->has & ST_HAS_STATUS)) {
    ev->status = st_status_from_dns_rcode(d->rcode);
    ev->has |= ST_HAS_STATUS;
  }
  if (d->flags & ST_DNS_SENT)
    return; /* a server's answer: its names are its clients' */
  pending *p = pending_find(j, ev);
  if (p) {
    if (!d->latency_us && ev->ts_ns > p->query.ts_ns)
      d->latency_us = (uint32_t)((ev->ts_ns - p->query.ts_ns) / 1000);
    if (!(ev->has & ST_HAS_REMOTE) && (p->query.has & ST_HAS_REMOTE)) {
      ev->remote = p->query.remote;
      ev->has |= ST_HAS_REMOTE;
    }
    pending_drop(j, p);
    j->stats.answered++;
  }
  learn(j, ev);
}

static const name_ent *name_find(st_dns_join *j, uint32_t pid, const st_addr *a, uint64_t now) {
  nkey k;
  name_ent *n = NULL;
  if (!addr_key(pid, a->family, a->addr, &k))
    return NULL;
  HASH_FIND(hh, j->names, &k, sizeof k, n);
  if (n && n->expires_ns < now) {
    HASH_DEL(j->names, n);
    free(n);
    n = NULL;
  }
  return n;
}

bool st_dns_join_name(st_dns_join *j, const st_event *ev, st_event *out) {
  if (!j->names || !(ev->has & ST_HAS_REMOTE) || (ev->has & ST_HAS_REMOTE_NAME))
    return false;
  const name_ent *n = name_find(j, ev->pid, &ev->remote, ev->ts_ns);
  bool shared = false;
  if (!n) {
    n = name_find(j, ANY_PID, &ev->remote, ev->ts_ns);
    shared = true;
  }
  if (!n)
    return false;
  *out = *ev;
  memcpy(out->remote_name, n->name, sizeof out->remote_name);
  out->has |= ST_HAS_REMOTE_NAME;
  if (shared)
    out->flags |= ST_FLAG_NAME_SHARED;
  return true;
}

bool st_dns_join_waiting(const st_dns_join *j) {
  return j->pending != NULL;
}

void st_dns_join_expire(st_dns_join *j, uint64_t now_ns, bool at_end,
                        void (*fn)(void *arg, st_event *ev), void *arg) {
  pending *p, *tmp;
  HASH_ITER(hh, j->pending, p, tmp) {
    uint64_t sent = p->query.ts_ns;
    if (p->reported) {
      if (at_end || sent + REPORTED_KEPT_NS <= now_ns)
        pending_drop(j, p);
      continue;
    }
    if (sent + j->timeout_ns > now_ns) {
      if (at_end)
        pending_drop(j, p);
      continue;
    }
    st_event ev = p->query;
    ev.ts_ns = sent + j->timeout_ns;
    ev.level = ST_LEVEL_INFO;
    ev.dns.flags |= ST_DNS_UNANSWERED;
    ev.dns.latency_us = (uint32_t)(j->timeout_ns / 1000);
    ev.status = st_status_portable(ST_TIMED_OUT);
    ev.has |= ST_HAS_STATUS;
    p->reported = true;
    j->stats.unanswered++;
    if (at_end)
      pending_drop(j, p);
    fn(arg, &ev);
  }
}

void st_dns_join_get_stats(const st_dns_join *j, st_dns_join_stats *out) {
  *out = j->stats;
  out->names = HASH_COUNT(j->names);
  out->pending = HASH_COUNT(j->pending);
}
