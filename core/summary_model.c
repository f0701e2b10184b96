/*
 * The summary's counting rules, shared by the summary sink (text tables)
 * and the HTML report (documented in the README):
 * - a connect is counted at AfdConnectWithAddress enter (or at its exit if
 *   the enter was not seen); its outcome is the exit status, or for
 *   `pending` the later AfdConnect completion; one never resolved is shown
 *   as `unfinished`;
 * - an accept is an AfdAccept(WithAddress) exit with status ok; its remote
 *   is grouped by IP (the client's ephemeral port would make one row each);
 * - bytes come from completed send/receive calls, topped up by the socket's
 *   EndpointSummary when that says more (level 4 has no per-call events);
 * - resets: AfdAbort with reason transport_reset (received) and
 *   TcpResetSent (sent);
 * - a connection is an endpoint with a known peer (connected or accepted);
 *   its lifetime runs from its first to its last event, or its
 *   EndpointSummary duration when that is longer;
 * - catalog events are listed as they came, "(unknown)" for a change whose
 *   process is not known.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "summary_model.h"

void st_sum_init(st_sum_model *m, unsigned longest_max) {
  memset(m, 0, sizeof *m);
  m->longest_max = longest_max ? longest_max : 10;
  if (m->longest_max > ST_SUM_LONGEST_KEEP)
    m->longest_max = ST_SUM_LONGEST_KEEP;
}

static st_sum_row *get_row(st_sum_row **table, const char *key, uint32_t pid) {
  st_sum_row *r = NULL;
  HASH_FIND_STR(*table, key, r);
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r)
      return NULL;
    snprintf(r->key, sizeof r->key, "%s", key);
    r->pid = pid;
    HASH_ADD_STR(*table, key, r);
  }
  return r;
}

void st_sum_proc_key(const st_event *ev, char *buf, size_t len) {
  char comm[ST_COMM_MAX + 1];
  memcpy(comm, ev->comm, ST_COMM_MAX);
  comm[ST_COMM_MAX] = 0;
  if (!ev->pid && ev->os == ST_OS_WIRE)
    snprintf(buf, len, "(wire)");
  else
    snprintf(buf, len, "%s[%" PRIu32 "]", comm[0] ? comm : "?", ev->pid);
}

static st_sum_socket *get_socket(st_sum_model *m, const st_event *ev) {
  st_sum_socket *e = NULL;
  uint64_t key = ev->endpoint;
  HASH_FIND(hh, m->sockets, &key, sizeof key, e);
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e)
      return NULL;
    e->endpoint = key;
    HASH_ADD(hh, m->sockets, endpoint, sizeof e->endpoint, e);
  }
  if (!e->first_ts || ev->ts_ns < e->first_ts)
    e->first_ts = ev->ts_ns;
  if (ev->ts_ns > e->last_ts)
    e->last_ts = ev->ts_ns;
  if (!e->proc[0] || (ev->pid && !e->pid)) {
    st_sum_proc_key(ev, e->proc, sizeof e->proc);
    e->pid = ev->pid;
  }
  return e;
}

/* Both rows an event counts in: its process and its remote (if known). */
typedef struct rows2 {
  st_sum_row *proc, *remote;
} rows2;

static rows2 rows_for(st_sum_model *m, const st_sum_socket *e, const char *remote) {
  rows2 r = {get_row(&m->procs, e->proc, e->pid), NULL};
  if (remote && *remote)
    r.remote = get_row(&m->remotes, remote, 0);
  return r;
}

static void count_outcome(rows2 r, const st_status *st) {
  st_sum_row *both[2] = {r.proc, r.remote};
  for (int i = 0; i < 2; i++) {
    if (!both[i])
      continue;
    if (st->code == ST_OK)
      both[i]->ok++;
    else if (st->code < ST_CODE_COUNT)
      both[i]->failed[st->code]++;
  }
}

static void add(rows2 r, size_t field_offset, uint64_t n) {
  if (r.proc)
    *(uint64_t *)((char *)r.proc + field_offset) += n;
  if (r.remote)
    *(uint64_t *)((char *)r.remote + field_offset) += n;
}

static bool is_send(uint16_t id) {
  return id == ST_EV_SEND || id == ST_EV_SENDTO || id == ST_EV_SENDTO_ADDR || id == ST_EV_SENDMSG ||
         id == ST_EV_SENDMSG_ADDR;
}

static bool is_receive(uint16_t id) {
  return id == ST_EV_RECEIVE || id == ST_EV_RECEIVEFROM || id == ST_EV_RECEIVEFROM_ADDR ||
         id == ST_EV_RECEIVEMSG || id == ST_EV_RECEIVEMSG_ADDR;
}

uint64_t st_sum_lifetime(const st_sum_socket *e) {
  uint64_t span = e->last_ts - e->first_ts;
  return e->duration_ns > span ? e->duration_ns : span;
}

/* Keeps a copy of e if it is among the longest-lived forgotten sockets. */
static void offer_longest(st_sum_model *m, const st_sum_socket *e) {
  if (!e->peer[0])
    return;
  size_t at = m->nlongest;
  if (m->nlongest == m->longest_max) {
    at = 0;
    for (size_t i = 1; i < m->nlongest; i++)
      if (st_sum_lifetime(&m->longest[i]) < st_sum_lifetime(&m->longest[at]))
        at = i;
    if (st_sum_lifetime(e) <= st_sum_lifetime(&m->longest[at]))
      return;
  } else {
    m->nlongest++;
  }
  m->longest[at] = *e;
  memset(&m->longest[at].hh, 0, sizeof m->longest[at].hh);
}

static void closed(st_sum_model *m, uint64_t endpoint) {
  if (m->closed_n == ST_SUM_CLOSED_KEEP) { /* forget the oldest closed socket */
    uint64_t key = m->closed[m->closed_head];
    st_sum_socket *old = NULL;
    HASH_FIND(hh, m->sockets, &key, sizeof key, old);
    if (old) {
      offer_longest(m, old);
      HASH_DEL(m->sockets, old);
      free(old);
    }
    m->closed_head = (m->closed_head + 1) % ST_SUM_CLOSED_KEEP;
    m->closed_n--;
  }
  m->closed[(m->closed_head + m->closed_n) % ST_SUM_CLOSED_KEEP] = endpoint;
  m->closed_n++;
}

static void add_accept(st_sum_model *m, st_sum_socket *e, const st_event *ev, char *remote,
                       size_t len) {
  if (ev->has & ST_HAS_REMOTE) {
    st_addr_format_ip(&ev->remote, remote, len - 2);
    strcat(remote, ":*");
  }
  add(rows_for(m, e, remote), offsetof(st_sum_row, accepts), 1);
  /* The accepted socket's traffic belongs to the same client. */
  if (ev->has & ST_HAS_ACCEPT_EP) {
    st_event child = *ev;
    child.endpoint = ev->accept_endpoint;
    st_sum_socket *c = get_socket(m, &child);
    if (c) {
      memcpy(c->remote, remote, len);
      if (ev->has & ST_HAS_REMOTE)
        st_addr_format(&ev->remote, c->peer, sizeof c->peer);
      if (ev->has & ST_HAS_LOCAL)
        st_addr_format(&ev->local, c->local, sizeof c->local);
    }
  } else {
    memcpy(e->remote, remote, len);
  }
}

static void add_afd(st_sum_model *m, st_sum_socket *e, const st_event *ev, char *remote,
                    size_t len) {
  bool ok_status = !(ev->has & ST_HAS_STATUS) || ev->status.code == ST_OK;
  switch (ev->id) {
  case ST_EV_CONNECT_ADDR:
  case ST_EV_SUPER_CONNECT_ADDR:
    if (remote[0])
      memcpy(e->remote, remote, len);
    if (ev->enter_exit == ST_EE_ENTER || !e->connecting) {
      if (!e->connecting)
        add(rows_for(m, e, e->remote), offsetof(st_sum_row, attempts), 1);
      e->connecting = 1;
    }
    if (ev->enter_exit != ST_EE_ENTER && (ev->has & ST_HAS_STATUS) &&
        ev->status.code != ST_PENDING && ev->status.code != ST_WOULD_BLOCK) {
      count_outcome(rows_for(m, e, e->remote), &ev->status);
      e->connecting = 0;
    }
    return;
  case ST_EV_CONNECT:
  case ST_EV_SUPER_CONNECT:
    if (e->connecting && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING) {
      count_outcome(rows_for(m, e, e->remote), &ev->status);
      e->connecting = 0;
    }
    return;
  case ST_EV_ACCEPT:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_SUPER_ACCEPT:
  case ST_EV_SUPER_ACCEPT_ADDR:
    if (ev->enter_exit != ST_EE_ENTER && ok_status)
      add_accept(m, e, ev, remote, len);
    return;
  case ST_EV_ABORT:
    if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET)
      add(rows_for(m, e, e->remote), offsetof(st_sum_row, resets_in), 1);
    return;
  case ST_EV_CLOSE:
    closed(m, ev->endpoint);
    return;
  default:
    break;
  }
  bool snd = is_send(ev->id), rcv = is_receive(ev->id);
  if ((snd || rcv) && (ev->has & ST_HAS_BYTES) && ok_status && ev->enter_exit != ST_EE_ENTER) {
    /* Datagrams name their own peer; streams use the socket's. */
    rows2 r = rows_for(m, e, remote[0] ? remote : e->remote);
    if (snd) {
      add(r, offsetof(st_sum_row, bytes_sent), ev->bytes);
      e->call_sent += ev->bytes;
    } else {
      add(r, offsetof(st_sum_row, bytes_received), ev->bytes);
      e->call_received += ev->bytes;
    }
  }
}

static void add_ext(st_sum_model *m, st_sum_socket *e, const st_event *ev, const char *remote) {
  if (ev->id == ST_EV_TCP_RESET_SENT) {
    add(rows_for(m, e, e->remote[0] ? e->remote : remote), offsetof(st_sum_row, resets_out), 1);
  } else if (ev->id == ST_EV_ENDPOINT_SUMMARY && (ev->has & ST_HAS_SUMMARY)) {
    rows2 r = rows_for(m, e, e->remote[0] ? e->remote : remote);
    if (ev->summary.duration_ns > e->duration_ns)
      e->duration_ns = ev->summary.duration_ns;
    if (ev->summary.bytes_sent > e->call_sent) {
      add(r, offsetof(st_sum_row, bytes_sent), ev->summary.bytes_sent - e->call_sent);
      e->call_sent = ev->summary.bytes_sent;
    }
    if (ev->summary.bytes_received > e->call_received) {
      add(r, offsetof(st_sum_row, bytes_received), ev->summary.bytes_received - e->call_received);
      e->call_received = ev->summary.bytes_received;
    }
  }
}

static void add_catalog(st_sum_model *m, const st_event *ev) {
  if (m->ncatalog++ >= ST_SUM_CATALOG_KEEP)
    return;
  st_sum_catalog *c = &m->catalog[m->ncatalog - 1];
  c->ts_ns = ev->ts_ns;
  c->id = ev->id;
  if (ev->pid || ev->comm[0])
    st_sum_proc_key(ev, c->proc, sizeof c->proc);
  else
    snprintf(c->proc, sizeof c->proc, "(unknown)");
  snprintf(c->detail, sizeof c->detail, "%s", (ev->has & ST_HAS_DETAIL) ? ev->detail : "");
}

int st_sum_add(st_sum_model *m, const st_event *ev) {
  if (ev->provider == ST_PROVIDER_CATALOG) {
    add_catalog(m, ev);
    return 0;
  }
  if (!ev->endpoint)
    return 0;
  st_sum_socket *e = get_socket(m, ev);
  if (!e)
    return ST_ENOMEM;
  char remote[sizeof e->remote] = "";
  if (ev->has & ST_HAS_REMOTE)
    st_addr_format(&ev->remote, remote, sizeof remote);
  if ((ev->has & ST_HAS_LOCAL) && ev->local.family)
    st_addr_format(&ev->local, e->local, sizeof e->local);
  if (!e->peer[0] && st_event_remote_is_peer(ev))
    memcpy(e->peer, remote, sizeof remote);
  if (ev->provider == ST_PROVIDER_AFD)
    add_afd(m, e, ev, remote, sizeof remote);
  else if (ev->provider == ST_PROVIDER_EXT)
    add_ext(m, e, ev, remote);
  return 0;
}

static int by_pid(st_sum_row *a, st_sum_row *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  return strcmp(a->key, b->key);
}

static int by_key(st_sum_row *a, st_sum_row *b) {
  return strcmp(a->key, b->key);
}

void st_sum_sort(st_sum_model *m) {
  HASH_SORT(m->procs, by_pid);
  HASH_SORT(m->remotes, by_key);
}

uint64_t st_sum_row_failures(const st_sum_row *r, char *reasons, size_t len, uint64_t *unfinished) {
  uint64_t failed = 0;
  size_t rl = 0;
  reasons[0] = 0;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    if (!r->failed[c])
      continue;
    failed += r->failed[c];
    rl += (size_t)snprintf(reasons + rl, rl < len ? len - rl : 0, "%s%s %" PRIu64, rl ? ", " : "",
                           st_code_name((st_code)c), r->failed[c]);
  }
  uint64_t pending = r->attempts > r->ok + failed ? r->attempts - r->ok - failed : 0;
  if (pending)
    snprintf(reasons + rl, rl < len ? len - rl : 0, "%sunfinished %" PRIu64, rl ? ", " : "",
             pending);
  if (unfinished)
    *unfinished = pending;
  return failed;
}

static int cmp_lifetime(const void *a, const void *b) {
  const st_sum_socket *x = *(const st_sum_socket *const *)a;
  const st_sum_socket *y = *(const st_sum_socket *const *)b;
  uint64_t lx = st_sum_lifetime(x), ly = st_sum_lifetime(y);
  if (lx != ly)
    return lx > ly ? -1 : 1;
  return x->endpoint < y->endpoint ? -1 : x->endpoint > y->endpoint;
}

size_t st_sum_longest(st_sum_model *m, const st_sum_socket ***out) {
  /* Candidates: the sockets still remembered and the forgotten longest. */
  size_t cap = HASH_COUNT(m->sockets) + m->nlongest, nc = 0;
  const st_sum_socket **c = malloc((cap ? cap : 1) * sizeof *c);
  *out = NULL;
  if (!c)
    return 0;
  st_sum_socket *e, *tmp;
  HASH_ITER(hh, m->sockets, e, tmp) {
    if (e->peer[0])
      c[nc++] = e;
  }
  for (size_t i = 0; i < m->nlongest; i++)
    c[nc++] = &m->longest[i];
  qsort(c, nc, sizeof *c, cmp_lifetime);
  if (!nc) {
    free(c);
    return 0;
  }
  *out = c;
  return nc < m->longest_max ? nc : m->longest_max;
}

void st_sum_free(st_sum_model *m) {
  ST_HASH_FREE_ALL(st_sum_row, m->procs, free);
  ST_HASH_FREE_ALL(st_sum_row, m->remotes, free);
  ST_HASH_FREE_ALL(st_sum_socket, m->sockets, free);
}
