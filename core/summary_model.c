/*
 * The summary's counting rules, shared by the summary sink (text and
 * markdown tables), the HTML report and the connection stories `diff`
 * compares (documented in the README):
 * - a connect is counted at AfdConnectWithAddress enter (or at its exit if
 *   the enter was not seen); its outcome is the exit status, or for
 *   `pending` the later AfdConnect completion; one never resolved is shown
 *   as `unfinished`;
 * - an accept is an AfdAccept(WithAddress) exit with status ok; its remote
 *   is grouped by IP (the client's ephemeral port would make one row each);
 *   so is the peer of a datagram socket that serves (bound to a port of its
 *   own, or that received before it sent): its peers' ports are theirs;
 * - UNIX sockets count in their own table, by process and path;
 * - bytes come from completed send/receive calls, topped up by the socket's
 *   EndpointSummary when that says more (level 4 has no per-call events);
 * - resets: a socket counts once as reset (AfdAbort with reason
 *   transport_reset, or a call that failed with `reset`) and once as
 *   resetting (TcpResetSent, or AfdAbort with reason local_abort); the RST
 *   that refuses a connect is the refusal, not a reset;
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

#include "dns.h"
#include "internal.h"
#include "story.h"
#include "summary_model.h"

void st_sum_init(st_sum_model *m, unsigned longest_max) {
  memset(m, 0, sizeof *m);
  m->longest_max = longest_max ? longest_max : 10;
  if (m->longest_max > ST_SUM_LONGEST_KEEP)
    m->longest_max = ST_SUM_LONGEST_KEEP;
}

static st_sum_row *get_row(st_sum_row **table, const char *key, const char *name, const char *peer,
                           uint32_t pid) {
  st_sum_row *r = NULL;
  HASH_FIND_STR(*table, key, r);
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r)
      return NULL;
    snprintf(r->key, sizeof r->key, "%s", key);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->peer, sizeof r->peer, "%s", peer);
    r->pid = pid;
    r->pids = pid ? 1 : 0;
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

/* The process a socket's rows are grouped under: its name, "(wire)" for
 * packets, "?" when unknown. */
static const char *proc_name(const st_sum_socket *e) {
  if (e->wire && !e->pid)
    return "(wire)";
  return e->name[0] ? e->name : "?";
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
    e->connect_code = ST_SUM_NO_CODE;
    HASH_ADD(hh, m->sockets, endpoint, sizeof e->endpoint, e);
  }
  if (!e->first_ts || ev->ts_ns < e->first_ts)
    e->first_ts = ev->ts_ns;
  if (ev->ts_ns > e->last_ts)
    e->last_ts = ev->ts_ns;
  if (!e->proc[0] || (ev->pid && !e->pid)) {
    st_sum_proc_key(ev, e->proc, sizeof e->proc);
    e->pid = ev->pid;
    memcpy(e->name, ev->comm, ST_COMM_MAX);
    e->name[ST_COMM_MAX] = 0;
  }
  if (ev->os == ST_OS_WIRE)
    e->wire = true;
  if (!e->container[0] && (ev->has & ST_HAS_CONTAINER))
    st_container_label(&ev->container, e->container, sizeof e->container);
  return e;
}

/* Both rows an event counts in: its process and its remote (if known), or
 * for a UNIX socket its process-and-path row alone. */
typedef struct rows2 {
  st_sum_row *proc, *remote, *container;
} rows2;

static rows2 rows_for(st_sum_model *m, const st_sum_socket *e, const char *remote) {
  rows2 r = {NULL, NULL, NULL};
  if (e->container[0])
    r.container = get_row(&m->containers, e->container, "", e->container, 0);
  if (e->family == ST_FAMILY_UNIX) {
    const char *path = remote && *remote ? remote
                       : e->remote[0]    ? e->remote
                       : e->local[0]     ? e->local
                                         : "(unnamed)";
    char key[sizeof r.proc->key];
    snprintf(key, sizeof key, "%s %s", e->proc, path);
    r.proc = get_row(&m->ipc, key, proc_name(e), path, e->pid);
    return r;
  }
  r.proc = get_row(&m->procs, e->proc, proc_name(e), "", e->pid);
  if (remote && *remote)
    r.remote = get_row(&m->remotes, remote, "", remote, 0);
  return r;
}

static void count_outcome(rows2 r, const st_status *st) {
  st_sum_row *both[3] = {r.proc, r.remote, r.container};
  for (int i = 0; i < 3; i++) {
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
  if (r.container)
    *(uint64_t *)((char *)r.container + field_offset) += n;
}

/* Counts a failed lookup in the DNS failures table. */
static void add_dns_failure(st_sum_model *m, const st_event *ev) {
  const st_dns *d = &ev->dns;
  char process[ST_COMM_MAX + 1], query[ST_NAME_MAX + 12], server[64], outcome[64], type[12];
  memcpy(process, ev->comm, ST_COMM_MAX);
  process[ST_COMM_MAX] = 0;
  if (!process[0])
    snprintf(process, sizeof process, "%s", ev->os == ST_OS_WIRE ? "(wire)" : "?");
  const char *tn = st_dns_type_name(d->qtype);
  if (!tn)
    snprintf(type, sizeof type, "TYPE%u", d->qtype);
  snprintf(query, sizeof query, "%s %s", d->qname[0] ? d->qname : ".", tn ? tn : type);
  if ((ev->has & ST_HAS_REMOTE) && ev->remote.family)
    st_addr_format(&ev->remote, server, sizeof server);
  else
    snprintf(server, sizeof server, "%s", d->flags & ST_DNS_API ? "(resolver)" : "?");
  if (d->flags & ST_DNS_UNANSWERED) {
    snprintf(outcome, sizeof outcome, "no answer");
  } else {
    st_status st = (ev->has & ST_HAS_STATUS) ? ev->status : st_status_from_dns_rcode(d->rcode);
    const char *native = st_status_native_name(&st);
    snprintf(outcome, sizeof outcome, "%s%s%s%s", st_code_name((st_code)st.code),
             native ? " (" : "", native ? native : "", native ? ")" : "");
  }
  char key[sizeof((st_sum_dns *)0)->key];
  snprintf(key, sizeof key, "%s|%s|%s|%s", process, query, server, outcome);
  st_sum_dns *r = NULL;
  HASH_FIND_STR(m->dns, key, r);
  if (!r) {
    if (HASH_COUNT(m->dns) >= ST_SUM_DNS_MAX || !(r = calloc(1, sizeof *r))) {
      m->dns_more++;
      return;
    }
    memcpy(r->key, key, sizeof r->key);
    memcpy(r->process, process, sizeof r->process);
    memcpy(r->query, query, sizeof r->query);
    memcpy(r->server, server, sizeof r->server);
    memcpy(r->outcome, outcome, sizeof r->outcome);
    HASH_ADD_STR(m->dns, key, r);
  }
  r->count++;
  if (d->latency_us > r->waited_us)
    r->waited_us = d->latency_us;
}

static void step(st_sum_socket *e, uint8_t s) {
  if (e->nsteps && e->steps[e->nsteps - 1] == s)
    return;
  if (e->nsteps < ST_SUM_STEPS)
    e->steps[e->nsteps++] = s;
}

static bool connect_failed(const st_sum_socket *e) {
  return e->connects && !e->established && e->connect_code != ST_SUM_NO_CODE &&
         e->connect_code != ST_OK;
}

static void connect_done(rows2 r, st_sum_socket *e, const st_status *st) {
  count_outcome(r, st);
  e->connecting = 0;
  e->connect_code = st->code;
  if (st->code == ST_OK)
    e->established = true;
  step(e, ST_STEP_CONNECT);
}

static void reset_received(st_sum_model *m, st_sum_socket *e, const char *remote) {
  /* A RST during the handshake is the refusal itself. */
  if (connect_failed(e) || (e->connecting && !e->established))
    return;
  step(e, ST_STEP_RESET);
  if (e->reset_in)
    return;
  e->reset_in = 1;
  add(rows_for(m, e, e->remote[0] ? e->remote : remote), offsetof(st_sum_row, resets_in), 1);
}

static void reset_sent(st_sum_model *m, st_sum_socket *e, const char *remote) {
  step(e, ST_STEP_RESET);
  if (e->reset_out)
    return;
  e->reset_out = 1;
  add(rows_for(m, e, e->remote[0] ? e->remote : remote), offsetof(st_sum_row, resets_out), 1);
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
      st_story_fold(m, old);
      HASH_DEL(m->sockets, old);
      free(old);
    }
    m->closed_head = (m->closed_head + 1) % ST_SUM_CLOSED_KEEP;
    m->closed_n--;
  }
  m->closed[(m->closed_head + m->closed_n) % ST_SUM_CLOSED_KEEP] = endpoint;
  m->closed_n++;
}

/* "1.2.3.4:*": an address whose port is the peer's own (ephemeral). */
static void masked_remote(const st_addr *a, char *buf, size_t len) {
  if (a->family == ST_FAMILY_UNIX) {
    st_addr_format_ip(a, buf, len);
    return;
  }
  st_addr_format_ip(a, buf, len - 2);
  strcat(buf, ":*");
}

static void add_accept(st_sum_model *m, st_sum_socket *e, const st_event *ev, char *remote,
                       size_t len) {
  if (e->family == ST_FAMILY_UNIX)
    snprintf(remote, len, "%s", e->local[0] ? e->local : "(unnamed)");
  else if (ev->has & ST_HAS_REMOTE)
    masked_remote(&ev->remote, remote, len);
  add(rows_for(m, e, remote), offsetof(st_sum_row, accepts), 1);
  /* The accepted socket's traffic belongs to the same client. */
  st_sum_socket *c = e;
  /* Packets show the accepted connection alone: it accepted itself. */
  if ((ev->has & ST_HAS_ACCEPT_EP) && ev->accept_endpoint != ev->endpoint) {
    e->listener = true;
    st_event child = *ev;
    child.endpoint = ev->accept_endpoint;
    c = get_socket(m, &child);
    if (!c)
      return;
    if (ev->has & ST_HAS_REMOTE)
      st_addr_format(&ev->remote, c->peer, sizeof c->peer);
    if (ev->has & ST_HAS_LOCAL)
      st_addr_format(&ev->local, c->local, sizeof c->local);
    if (!c->family)
      c->family = e->family;
    if (!c->type)
      c->type = e->type;
  }
  memcpy(c->remote, remote, len);
  c->accepted = c->established = true;
  if (ev->has & ST_HAS_REMOTE)
    c->peer_addr = ev->remote;
  if ((ev->has & ST_HAS_LOCAL) && ev->local.family)
    c->local_addr = ev->local;
  else if (!c->local_addr.family) /* Windows' accept names only the client */
    c->local_addr = e->local_addr;
  step(c, ST_STEP_ACCEPT);
}

static void add_call(st_sum_model *m, st_sum_socket *e, const st_event *ev, const char *remote) {
  bool snd = st_ev_is_send(ev->id);
  if (ev->enter_exit == ST_EE_ENTER)
    return;
  if ((ev->has & ST_HAS_STATUS) && st_status_is_failure(ev->status.code)) {
    if (ev->status.code == ST_RESET)
      reset_received(m, e, remote);
    else if (e->end_code == ST_OK)
      e->end_code = ev->status.code;
    return;
  }
  if (!(ev->has & ST_HAS_BYTES) || ((ev->has & ST_HAS_STATUS) && ev->status.code != ST_OK))
    return;
  /* Datagrams name their own peer; streams use the socket's. */
  rows2 r = rows_for(m, e, remote[0] ? remote : e->remote);
  e->has_bytes = true;
  step(e, snd ? ST_STEP_SEND : ST_STEP_RECEIVE);
  if (snd) {
    add(r, offsetof(st_sum_row, bytes_sent), ev->bytes);
    e->call_sent += ev->bytes;
  } else {
    add(r, offsetof(st_sum_row, bytes_received), ev->bytes);
    e->call_received += ev->bytes;
  }
}

/* A connect's outcome: its time since its enter, when the enter was seen,
 * by the process's name and by the remote. */
static void connect_latency(st_sum_model *m, st_sum_socket *e, uint64_t ts) {
  if (!e->connecting || !e->connect_start_ns || ts < e->connect_start_ns)
    return;
  uint64_t ns = ts - e->connect_start_ns;
  e->connect_start_ns = 0;
  st_sum_lat_add(&m->lat_procs, e->name[0] ? e->name : e->proc, ns);
  if (e->remote[0])
    st_sum_lat_add(&m->lat_remotes, e->remote, ns);
}

static void add_connect(st_sum_model *m, st_sum_socket *e, const st_event *ev, const char *remote,
                        size_t len) {
  if (remote[0])
    memcpy(e->remote, remote, len);
  if (ev->has & ST_HAS_REMOTE)
    e->peer_addr = ev->remote;
  if (ev->enter_exit == ST_EE_ENTER || !e->connecting) {
    if (!e->connecting)
      e->connect_start_ns = ev->enter_exit == ST_EE_ENTER ? ev->ts_ns : 0;
    if (!e->connecting) {
      add(rows_for(m, e, e->remote), offsetof(st_sum_row, attempts), 1);
      e->connects++;
    }
    e->connecting = 1;
  }
  if (ev->enter_exit != ST_EE_ENTER && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING &&
      ev->status.code != ST_WOULD_BLOCK) {
    connect_latency(m, e, ev->ts_ns);
    connect_done(rows_for(m, e, e->remote), e, &ev->status);
  }
}

static void add_setup(st_sum_socket *e, const st_event *ev) {
  if (ev->id == ST_EV_LISTEN)
    e->listener = true;
  else if ((ev->has & ST_HAS_LOCAL) && (ev->local.port || ev->local.family == ST_FAMILY_UNIX))
    e->bound = true;
  if (ev->enter_exit != ST_EE_ENTER && (ev->has & ST_HAS_STATUS) &&
      st_status_is_failure(ev->status.code) && e->setup_code == ST_OK)
    e->setup_code = ev->status.code;
}

static void add_afd(st_sum_model *m, st_sum_socket *e, const st_event *ev, char *remote,
                    size_t len) {
  bool ok_status = !(ev->has & ST_HAS_STATUS) || ev->status.code == ST_OK;
  switch (ev->id) {
  case ST_EV_CONNECT_ADDR:
  case ST_EV_SUPER_CONNECT_ADDR:
    add_connect(m, e, ev, remote, len);
    return;
  case ST_EV_CONNECT:
  case ST_EV_SUPER_CONNECT:
    if (e->connecting && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING) {
      connect_latency(m, e, ev->ts_ns);
      connect_done(rows_for(m, e, e->remote), e, &ev->status);
    }
    return;
  case ST_EV_ACCEPT:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_SUPER_ACCEPT:
  case ST_EV_SUPER_ACCEPT_ADDR:
    if (ev->enter_exit != ST_EE_ENTER && ok_status)
      add_accept(m, e, ev, remote, len);
    return;
  case ST_EV_BIND:
  case ST_EV_BIND_ADDR:
  case ST_EV_LISTEN:
    add_setup(e, ev);
    return;
  case ST_EV_ABORT:
    if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET)
      reset_received(m, e, remote);
    else if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_LOCAL)
      reset_sent(m, e, remote);
    return;
  case ST_EV_DISCONNECT:
    step(e, ST_STEP_FIN);
    return;
  case ST_EV_CLOSE:
    step(e, ST_STEP_CLOSE);
    closed(m, ev->endpoint);
    return;
  default:
    break;
  }
  if (st_ev_is_send(ev->id) || st_ev_is_receive(ev->id))
    add_call(m, e, ev, remote);
}

static void add_ext(st_sum_model *m, st_sum_socket *e, const st_event *ev, const char *remote) {
  if (ev->id == ST_EV_TCP_RESET_SENT) {
    reset_sent(m, e, remote);
  } else if (ev->id == ST_EV_DNS_MESSAGE && st_ev_is_dns_failure(ev)) {
    e->dns_failed++;
  } else if (ev->id == ST_EV_ENDPOINT_SUMMARY && (ev->has & ST_HAS_SUMMARY)) {
    rows2 r = rows_for(m, e, e->remote[0] ? e->remote : remote);
    const st_summary *s = &ev->summary;
    e->has_bytes = true;
    if (s->duration_ns > e->duration_ns)
      e->duration_ns = s->duration_ns;
    if (s->bytes_sent > e->call_sent) {
      add(r, offsetof(st_sum_row, bytes_sent), s->bytes_sent - e->call_sent);
      e->call_sent = s->bytes_sent;
    }
    if (s->bytes_received > e->call_received) {
      add(r, offsetof(st_sum_row, bytes_received), s->bytes_received - e->call_received);
      e->call_received = s->bytes_received;
    }
    /* At level 4 a connection that timed out mid-stream says so only here. */
    uint8_t fs = s->final_status.code;
    if (st_status_is_failure(fs) && fs != ST_RESET && !connect_failed(e) && e->end_code == ST_OK)
      e->end_code = fs;
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

/* The host's own addresses: the local side of its sockets (not of packets,
 * which see both ends of a flow). Loopback needs no entry. Returns false
 * while the socket's address is still the wildcard (a listener before it
 * accepts), so its next one is looked at. */
static bool learn_own(st_sum_model *m, const st_event *ev) {
  const st_addr *a = &ev->local;
  static const uint8_t zero[16];
  if (a->family != ST_FAMILY_INET && a->family != ST_FAMILY_INET6)
    return true;
  if (memcmp(a->addr, zero, a->family == ST_FAMILY_INET ? 4 : 16) == 0)
    return false;
  if (ev->os == ST_OS_WIRE || m->nown == ST_SUM_OWN_MAX || st_story_loopback(a))
    return true;
  for (size_t i = 0; i < m->nown; i++)
    if (st_addr_ip_equal(&m->own[i], a))
      return true;
  m->own[m->nown++] = *a;
  return true;
}

/* What the socket is: family and type from the event, or its addresses. */
static void learn_kind(st_sum_socket *e, const st_event *ev) {
  if (ev->has & ST_HAS_FAMILY)
    e->family = ev->family;
  else if (!e->family && (ev->has & ST_HAS_LOCAL) && ev->local.family)
    e->family = ev->local.family;
  else if (!e->family && (ev->has & ST_HAS_REMOTE) && ev->remote.family)
    e->family = ev->remote.family;
  if (ev->has & ST_HAS_TYPE)
    e->type = ev->type;
}

/* A DNS answer this host received (or saw on the wire) and how long it took. */
static void dns_latency(st_sum_model *m, const st_event *ev) {
  if (!(ev->has & ST_HAS_DNS) || !ev->dns.qr || !ev->dns.latency_us ||
      (ev->dns.flags & (ST_DNS_SENT | ST_DNS_UNANSWERED)))
    return;
  uint64_t ns = (uint64_t)ev->dns.latency_us * 1000;
  st_sum_lat_add(&m->dns_lat_procs, ev->comm[0] ? ev->comm : "(wire)", ns);
  if (ev->dns.qname[0])
    st_sum_lat_add(&m->dns_lat_names, ev->dns.qname, ns);
}

int st_sum_add(st_sum_model *m, const st_event *ev) {
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_DNS_MESSAGE && st_ev_is_dns_failure(ev)) {
    m->dns_failures++;
    add_dns_failure(m, ev);
  }
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_DNS_MESSAGE)
    dns_latency(m, ev);
  if (ev->provider == ST_PROVIDER_CATALOG) {
    add_catalog(m, ev);
    return 0;
  }
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_SESSION_CHANGE) {
    if (m->nchanges < ST_SUM_CHANGES_MAX) {
      m->changes[m->nchanges].ts_ns = ev->ts_ns;
      memcpy(m->changes[m->nchanges].detail, ev->detail, ST_DETAIL_MAX);
      m->changes[m->nchanges].detail[ST_DETAIL_MAX - 1] = 0;
    }
    m->nchanges++;
    return 0;
  }
  if (!ev->endpoint)
    return 0;
  st_sum_socket *e = get_socket(m, ev);
  if (!e)
    return ST_ENOMEM;
  learn_kind(e, ev);
  char remote[sizeof e->remote] = "";
  if (ev->has & ST_HAS_REMOTE)
    st_event_remote_format(ev, remote, sizeof remote);
  if ((ev->has & ST_HAS_LOCAL) && ev->local.family) {
    st_addr_format(&ev->local, e->local, sizeof e->local);
    if (ev->local.port || ev->local.family == ST_FAMILY_UNIX)
      e->local_addr = ev->local;
    if (!e->own_learned) /* once per socket: its address does not change */
      e->own_learned = learn_own(m, ev);
  }
  if (!e->peer[0] && st_event_remote_is_peer(ev))
    memcpy(e->peer, remote, sizeof remote);
  if (!e->peer_name[0] && (ev->has & ST_HAS_REMOTE_NAME) && st_event_remote_is_peer(ev))
    snprintf(e->peer_name, sizeof e->peer_name, "%.*s", (int)sizeof e->peer_name - 1,
             ev->remote_name);
  if (st_ev_is_datagram_call(ev->id) && (ev->has & ST_HAS_REMOTE) &&
      ev->enter_exit != ST_EE_ENTER) {
    /* A datagram socket whose first call received serves: whoever sent
     * came from a port of their own. */
    if (!e->datagram_ops && st_ev_is_receive(ev->id))
      e->service = true;
    e->datagram_ops = true;
    if (!e->peer_addr.family)
      e->peer_addr = ev->remote;
    if (e->service || e->bound)
      masked_remote(&ev->remote, remote, sizeof remote);
  }
  if (ev->provider == ST_PROVIDER_AFD)
    add_afd(m, e, ev, remote, sizeof remote);
  else if (ev->provider == ST_PROVIDER_EXT)
    add_ext(m, e, ev, remote);
  return 0;
}

int st_sum_finish(st_sum_model *m) {
  if (m->finished)
    return 0;
  m->finished = true;
  st_sum_socket *e, *tmp;
  HASH_ITER(hh, m->sockets, e, tmp) {
    int rc = st_story_fold(m, e);
    if (rc < 0)
      return rc;
  }
  return 0;
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
  ST_HASH_FREE_ALL(st_sum_row, m->ipc, free);
  ST_HASH_FREE_ALL(st_sum_row, m->containers, free);
  ST_HASH_FREE_ALL(st_sum_socket, m->sockets, free);
  ST_HASH_FREE_ALL(st_sum_dns, m->dns, free);
  st_sum_lat_free_all(&m->lat_procs);
  st_sum_lat_free_all(&m->lat_remotes);
  st_sum_lat_free_all(&m->dns_lat_procs);
  st_sum_lat_free_all(&m->dns_lat_names);
  st_story_free_all(m);
}
