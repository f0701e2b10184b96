/*
 * Session filters: parsing the CLI's values and matching events. Kinds
 * combine with AND, values of one kind with OR. Backends that can filter in
 * the kernel do so with the same st_filter; this code is the reference and
 * the fallback, so it must agree with them.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "socktrace/session.h"

struct pid_entry {
  uint32_t pid;
  UT_hash_handle hh;
};

/* What an endpoint has shown so far (the ST_HAS_ bits say which). */
struct ep_entry {
  uint64_t endpoint;
  uint32_t has;
  uint8_t family;
  uint16_t protocol;
  st_addr local, remote;
  UT_hash_handle hh;
};

struct st_filter_state {
  struct pid_entry *tree;
  struct ep_entry *endpoints;
};

st_filter_state *st_filter_state_new(void) {
  return calloc(1, sizeof(st_filter_state));
}

void st_filter_state_free(st_filter_state *st) {
  if (!st)
    return;
  struct pid_entry *p, *ptmp;
  HASH_ITER(hh, st->tree, p, ptmp) {
    HASH_DEL(st->tree, p);
    free(p);
  }
  struct ep_entry *e, *etmp;
  HASH_ITER(hh, st->endpoints, e, etmp) {
    HASH_DEL(st->endpoints, e);
    free(e);
  }
  free(st);
}

static bool tree_has(const st_filter_state *st, uint32_t pid) {
  struct pid_entry *e = NULL;
  HASH_FIND(hh, st->tree, &pid, sizeof pid, e);
  return e != NULL;
}

static void tree_add(st_filter_state *st, uint32_t pid) {
  struct pid_entry *e = calloc(1, sizeof *e);
  if (!e)
    return;
  e->pid = pid;
  HASH_ADD(hh, st->tree, pid, sizeof e->pid, e);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out) {
  char *end;
  if (!s || !*s || *s == '-')
    return ST_EINVAL;
  unsigned long v = strtoul(s, &end, 10);
  if (*end || v > max)
    return ST_EINVAL;
  *out = v;
  return 0;
}

#define FAIL(...)                                                                                  \
  do {                                                                                             \
    snprintf(err, errlen, __VA_ARGS__);                                                            \
    return ST_EINVAL;                                                                              \
  } while (0)

int st_filter_add_pid(st_filter *f, const char *s, char *err, size_t errlen) {
  unsigned long v;
  if (parse_uint(s, 0x7fffffff, &v) || v == 0)
    FAIL("bad pid '%s' (expected a positive number)", s);
  if (f->npids >= ST_FILTER_MAX)
    FAIL("too many pids (at most %d)", ST_FILTER_MAX);
  f->pids[f->npids++] = (uint32_t)v;
  return 0;
}

int st_filter_add_port(st_filter *f, const char *s, char *err, size_t errlen) {
  unsigned long v;
  if (parse_uint(s, 65535, &v) || v == 0)
    FAIL("bad port '%s' (expected 1-65535)", s);
  if (f->nports >= ST_FILTER_MAX)
    FAIL("too many ports (at most %d)", ST_FILTER_MAX);
  f->ports[f->nports++] = (uint16_t)v;
  return 0;
}

int st_filter_add_host(st_filter *f, const char *s, char *err, size_t errlen) {
  st_addr a;
  memset(&a, 0, sizeof a);
  if (!s || st_addr_parse_ip(s, &a) != 0)
    FAIL("bad host '%s' (expected an IPv4 or IPv6 address)", s ? s : "");
  if (f->nhosts >= ST_FILTER_MAX)
    FAIL("too many hosts (at most %d)", ST_FILTER_MAX);
  f->hosts[f->nhosts++] = a;
  return 0;
}

int st_filter_add_family(st_filter *f, const char *s, char *err, size_t errlen) {
  int fam = s ? st_family_lookup(s) : -1;
  if (fam <= 0 || fam == ST_FAMILY_OTHER)
    FAIL("bad family '%s' (expected inet, inet6 or unix)", s ? s : "");
  f->families |= 1u << fam;
  return 0;
}

int st_filter_add_container(st_filter *f, const char *s, char *err, size_t errlen) {
  if (!s || !*s || strlen(s) >= sizeof f->containers[0])
    FAIL("bad container '%s' (a name, an id, or an id's first digits; at most %zu characters)",
         s ? s : "", sizeof f->containers[0] - 1);
  if (f->ncontainers >= ST_FILTER_MAX)
    FAIL("too many containers (at most %d)", ST_FILTER_MAX);
  snprintf(f->containers[f->ncontainers++], sizeof f->containers[0], "%s", s);
  return 0;
}

int st_filter_add_protocol(st_filter *f, const char *s, char *err, size_t errlen) {
  int p = s ? st_protocol_lookup(s) : -1;
  if (p < 0)
    FAIL("bad protocol '%s' (expected tcp, udp or a number)", s ? s : "");
  if (f->nprotocols >= ST_FILTER_MAX)
    FAIL("too many protocols (at most %d)", ST_FILTER_MAX);
  f->protocols[f->nprotocols++] = (uint16_t)p;
  return 0;
}

int st_filter_add_events(st_filter *f, const char *s, char *err, size_t errlen) {
  char buf[1024];
  if (!s || !*s)
    FAIL("empty event list");
  snprintf(buf, sizeof buf, "%s", s);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    uint8_t provider;
    uint16_t id;
    unsigned long num;
    if (parse_uint(tok, 65535, &num) == 0) {
      /* A bare number: AFD and ext ids do not overlap; 1-5 are catalog. */
      id = (uint16_t)num;
      provider = num <= 5 ? ST_PROVIDER_CATALOG : num >= 5000 ? ST_PROVIDER_EXT : ST_PROVIDER_AFD;
      if (!st_event_name(provider, id))
        FAIL("unknown event id %lu", num);
    } else if (st_event_lookup(tok, &provider, &id) != 0) {
      FAIL("unknown event '%s' (see 'socktrace --help' for names, e.g. AfdConnectWithAddress)",
           tok);
    }
    if (f->nevents >= ST_FILTER_MAX * 4)
      FAIL("too many events (at most %d)", ST_FILTER_MAX * 4);
    f->events[f->nevents].provider = provider;
    f->events[f->nevents].id = id;
    f->nevents++;
  }
  return 0;
}

#define SOCKET_BITS (ST_HAS_FAMILY | ST_HAS_PROTOCOL | ST_HAS_LOCAL | ST_HAS_REMOTE)

/* The event's socket attributes, completed from what its endpoint showed
 * before. The view is only used for matching; the event itself is not
 * changed. */
typedef struct sock_view {
  uint32_t has;
  uint8_t family;
  uint16_t protocol;
  const st_addr *local, *remote;
  st_addr saved_local, saved_remote; /* copies taken from a forgotten endpoint */
} sock_view;

static void view_from_event(sock_view *v, const st_event *ev) {
  v->has = ev->has & SOCKET_BITS;
  v->family = ev->family;
  v->protocol = ev->protocol;
  v->local = &ev->local;
  v->remote = &ev->remote;
}

static void remember_endpoint(st_filter_state *st, const st_event *ev, sock_view *v) {
  if (!ev->endpoint)
    return;
  struct ep_entry *e = NULL;
  HASH_FIND(hh, st->endpoints, &ev->endpoint, sizeof ev->endpoint, e);
  if (ev->provider == ST_PROVIDER_AFD && ev->id == ST_EV_CLOSE) {
    /* Last event of the socket: match with what it showed, then forget. */
    if (e) {
      HASH_DEL(st->endpoints, e);
      if (!(v->has & ST_HAS_FAMILY) && (e->has & ST_HAS_FAMILY))
        v->family = e->family;
      if (!(v->has & ST_HAS_PROTOCOL) && (e->has & ST_HAS_PROTOCOL))
        v->protocol = e->protocol;
      v->has |= e->has & (ST_HAS_FAMILY | ST_HAS_PROTOCOL);
      /* Addresses are copied out before e is freed. */
      if (!(v->has & ST_HAS_LOCAL) && (e->has & ST_HAS_LOCAL)) {
        v->saved_local = e->local;
        v->local = &v->saved_local;
        v->has |= ST_HAS_LOCAL;
      }
      if (!(v->has & ST_HAS_REMOTE) && (e->has & ST_HAS_REMOTE)) {
        v->saved_remote = e->remote;
        v->remote = &v->saved_remote;
        v->has |= ST_HAS_REMOTE;
      }
      free(e);
    }
    return;
  }
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e)
      return;
    e->endpoint = ev->endpoint;
    HASH_ADD(hh, st->endpoints, endpoint, sizeof e->endpoint, e);
  }
  /* Learn what this event shows; fill what it lacks. */
  if (v->has & ST_HAS_FAMILY)
    e->family = v->family;
  else if (e->has & ST_HAS_FAMILY)
    v->family = e->family;
  if (v->has & ST_HAS_PROTOCOL)
    e->protocol = v->protocol;
  else if (e->has & ST_HAS_PROTOCOL)
    v->protocol = e->protocol;
  if (v->has & ST_HAS_LOCAL)
    e->local = *v->local;
  else if (e->has & ST_HAS_LOCAL)
    v->local = &e->local;
  if (v->has & ST_HAS_REMOTE)
    e->remote = *v->remote;
  else if (e->has & ST_HAS_REMOTE)
    v->remote = &e->remote;
  e->has |= v->has;
  v->has = e->has;
}

static bool is_ip(const st_addr *a) {
  return a->family == ST_FAMILY_INET || a->family == ST_FAMILY_INET6;
}

static bool match_host(const st_filter *f, const sock_view *v) {
  for (unsigned i = 0; i < f->nhosts; i++) {
    if ((v->has & ST_HAS_LOCAL) && st_addr_ip_equal(&f->hosts[i], v->local))
      return true;
    if ((v->has & ST_HAS_REMOTE) && st_addr_ip_equal(&f->hosts[i], v->remote))
      return true;
  }
  return false;
}

static bool match_port(const st_filter *f, const sock_view *v) {
  for (unsigned i = 0; i < f->nports; i++) {
    if ((v->has & ST_HAS_LOCAL) && is_ip(v->local) && v->local->port == f->ports[i])
      return true;
    if ((v->has & ST_HAS_REMOTE) && is_ip(v->remote) && v->remote->port == f->ports[i])
      return true;
  }
  return false;
}

static uint8_t view_family(const sock_view *v) {
  if (v->has & ST_HAS_FAMILY)
    return v->family;
  if (v->has & ST_HAS_REMOTE)
    return v->remote->family;
  if (v->has & ST_HAS_LOCAL)
    return v->local->family;
  return ST_FAMILY_NONE;
}

/* Events that describe the trace itself (loss, decode errors) are never
 * filtered away by socket filters: dropping them would hide loss. */
static bool is_trace_event(const st_event *ev) {
  return ev->provider == ST_PROVIDER_EXT &&
         (ev->id == ST_EV_EVENTS_LOST || ev->id == ST_EV_DECODE_ERROR);
}

static bool match_tree(const st_filter *f, st_filter_state *st, const st_event *ev) {
  if (ev->pid == f->tree_root || (st && tree_has(st, ev->pid)))
    return true;
  if (st && (ev->has & ST_HAS_PPID) && (ev->ppid == f->tree_root || tree_has(st, ev->ppid))) {
    tree_add(st, ev->pid);
    return true;
  }
  return false;
}

bool st_filter_match(const st_filter *f, st_filter_state *st, const st_event *ev) {
  if (f->nevents) {
    bool ok = false;
    for (unsigned i = 0; i < f->nevents && !ok; i++)
      ok = f->events[i].provider == ev->provider && f->events[i].id == ev->id;
    if (!ok)
      return false;
  }
  if (is_trace_event(ev))
    return true;
  if (f->npids) {
    bool ok = false;
    for (unsigned i = 0; i < f->npids && !ok; i++)
      ok = f->pids[i] == ev->pid;
    if (!ok)
      return false;
  }
  if (f->tree_root && !match_tree(f, st, ev))
    return false;
  if (f->ncontainers) {
    bool ok = false;
    for (unsigned i = 0; i < f->ncontainers && !ok && (ev->has & ST_HAS_CONTAINER); i++)
      ok = st_container_matches(&ev->container, f->containers[i]);
    if (!ok)
      return false;
  }
  if (!f->families && !f->nprotocols && !f->nports && !f->nhosts)
    return true;
  sock_view v;
  view_from_event(&v, ev);
  if (st)
    remember_endpoint(st, ev, &v);
  if (f->families && !(f->families & (1u << view_family(&v))))
    return false;
  if (f->nprotocols) {
    if (!(v.has & ST_HAS_PROTOCOL))
      return false;
    bool ok = false;
    for (unsigned i = 0; i < f->nprotocols && !ok; i++)
      ok = f->protocols[i] == v.protocol;
    if (!ok)
      return false;
  }
  if (f->nports && !match_port(f, &v))
    return false;
  if (f->nhosts && !match_host(f, &v))
    return false;
  return true;
}

static void add(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void add(char *buf, size_t len, const char *fmt, ...) {
  size_t used = strlen(buf);
  if (used >= len - 1)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

int st_filter_describe(const st_filter *f, char *buf, size_t len) {
  if (!len)
    return 0;
  buf[0] = 0;
  for (unsigned i = 0; i < f->npids; i++)
    add(buf, len, "%s%" PRIu32, i ? "," : " pid=", f->pids[i]);
  if (f->tree_root)
    add(buf, len, " tree=%" PRIu32, f->tree_root);
  for (unsigned i = 0; i < f->nports; i++)
    add(buf, len, "%s%u", i ? "," : " port=", f->ports[i]);
  for (unsigned i = 0; i < f->nhosts; i++) {
    char ip[64];
    st_addr_format_ip(&f->hosts[i], ip, sizeof ip);
    add(buf, len, "%s%s", i ? "," : " host=", ip);
  }
  for (int fam = 1, n = 0; fam <= ST_FAMILY_UNIX; fam++)
    if (f->families & (1u << fam))
      add(buf, len, "%s%s", n++ ? "," : " family=", st_family_name((uint8_t)fam));
  for (unsigned i = 0; i < f->nprotocols; i++)
    add(buf, len, "%s%u", i ? "," : " protocol=", f->protocols[i]);
  for (unsigned i = 0; i < f->ncontainers; i++)
    add(buf, len, "%s%s", i ? "," : " container=", f->containers[i]);
  for (unsigned i = 0; i < f->nevents; i++)
    add(buf, len, "%s%u", i ? "," : " events=", f->events[i].id);
  if (!buf[0])
    snprintf(buf, len, "none");
  else
    memmove(buf, buf + 1, strlen(buf)); /* the leading space */
  return (int)strlen(buf);
}
