/*
 * The flow table: lookup by unordered 4-tuple, an LRU list ordered by the
 * last packet's time (expiry walks it from the oldest end and stops at the
 * first flow that is too young), the max_flows bound (the oldest flow is
 * ended to make room), and the end of a flow: pending connects resolve and
 * each side that had a socket gets its EndpointSummary (5100).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "socktrace/status.h"

/* Room for a flow's tunnels in words: PKT_MAX_ENCAP of them, each short. */
#define ENCAP_MAX 96

static int side_cmp(const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp) {
  int c = memcmp(a, b, 16);
  if (c)
    return c;
  return ap < bp ? -1 : ap > bp;
}

static void make_key(flow_key *k, const pkt_info *p) {
  memset(k, 0, sizeof *k);
  k->tunnel = p->tunnel;
  k->family = p->family;
  k->proto = p->proto;
  int lo = side_cmp(p->src, p->sport, p->dst, p->dport) <= 0 ? 0 : 1;
  memcpy(k->addr[lo], p->src, 16);
  k->port[lo] = p->sport;
  memcpy(k->addr[!lo], p->dst, 16);
  k->port[!lo] = p->dport;
}

flow *flow_lookup(st_pcap_tracker *t, const pkt_info *p, int *side) {
  flow_key k;
  make_key(&k, p);
  flow *f = NULL;
  HASH_FIND(hh, t->table, &k, sizeof k, f);
  if (f)
    *side = side_cmp(f->side[0].addr, f->side[0].port, p->src, p->sport) == 0 ? 0 : 1;
  return f;
}

static void lru_unlink(st_pcap_tracker *t, flow *f) {
  if (f->lru_prev)
    f->lru_prev->lru_next = f->lru_next;
  else
    t->lru_head = f->lru_next;
  if (f->lru_next)
    f->lru_next->lru_prev = f->lru_prev;
  else
    t->lru_tail = f->lru_prev;
  f->lru_prev = f->lru_next = NULL;
}

static void lru_append(st_pcap_tracker *t, flow *f) {
  f->lru_prev = t->lru_tail;
  f->lru_next = NULL;
  if (t->lru_tail)
    t->lru_tail->lru_next = f;
  else
    t->lru_head = f;
  t->lru_tail = f;
}

void flow_touch(st_pcap_tracker *t, flow *f) {
  f->last_ts = t->now;
  if (t->lru_tail != f) {
    lru_unlink(t, f);
    lru_append(t, f);
  }
}

flow *flow_create(st_pcap_tracker *t, const pkt_info *pkt, bool src_is_initiator, uint32_t flags) {
  if (t->stats.flows_active >= t->cfg.max_flows && t->lru_head) {
    t->stats.flows_evicted++;
    flow_end(t, t->lru_head, FLOW_END_EVICTED);
  }
  flow *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  make_key(&f->key, pkt);
  if (pkt->nencap && (f->encap = malloc(ENCAP_MAX)))
    pkt_encap_format(pkt, f->encap, ENCAP_MAX);
  f->family = pkt->family;
  f->proto = pkt->proto;
  f->flags = flags;
  f->state = FLOW_OPEN;
  f->first_ts = f->last_ts = t->now;
  int a = src_is_initiator ? 0 : 1;
  memcpy(f->side[a].addr, pkt->src, 16);
  f->side[a].port = pkt->sport;
  memcpy(f->side[!a].addr, pkt->dst, 16);
  f->side[!a].port = pkt->dport;
  uint64_t serial = ++t->next_serial;
  for (int s = 0; s < 2; s++) {
    f->side[s].endpoint = (serial << 1) | (uint64_t)s;
    f->side[s].final_status = st_status_portable(ST_OK);
    f->side[s].first_error = st_status_portable(ST_OK);
  }
  HASH_ADD(hh, t->table, key, sizeof f->key, f);
  lru_append(t, f);
  if (f->proto == PKT_IPPROTO_TCP)
    t->stats.tcp_flows++;
  else
    t->stats.udp_flows++;
  if (++t->stats.flows_active > t->stats.flows_peak)
    t->stats.flows_peak = t->stats.flows_active;
  return f;
}

bool tracker_wants(const st_pcap_tracker *t, uint8_t level) {
  return level <= t->cfg.level;
}

static void fill_addr(st_addr *a, uint8_t family, const uint8_t *ip, uint16_t port) {
  memset(a, 0, sizeof *a);
  a->family = family;
  a->port = port;
  memcpy(a->addr, ip, family == ST_FAMILY_INET ? 4 : 16);
}

static bool queue_grow(st_pcap_queue *q) {
  size_t cap = q->cap ? q->cap * 2 : 16;
  st_event *n = realloc(q->events, cap * sizeof *n);
  if (!n)
    return false;
  q->events = n;
  q->cap = cap;
  return true;
}

st_event *flow_event(st_pcap_tracker *t, const flow *f, int s, uint8_t provider, uint16_t id,
                     uint8_t enter_exit, uint64_t keywords) {
  st_event *ev = &t->scratch;
  st_pcap_queue *q = t->queue;
  if (q && (q->len < q->cap || queue_grow(q)))
    ev = &q->events[q->len];
  st_event_init(ev, provider, id);
  ev->ts_ns = t->now;
  ev->os = ST_OS_WIRE;
  ev->backend = ST_BACKEND_PCAP;
  ev->enter_exit = enter_exit;
  bool tcp = f->proto == PKT_IPPROTO_TCP;
  ev->keywords = keywords | (tcp ? ST_KW_STREAM : ST_KW_DATAGRAM);
  ev->endpoint = f->side[s].endpoint;
  ev->flags = f->flags;
  ev->family = f->family;
  ev->type = tcp ? ST_TYPE_STREAM : ST_TYPE_DGRAM;
  ev->protocol = f->proto;
  fill_addr(&ev->local, f->family, f->side[s].addr, f->side[s].port);
  fill_addr(&ev->remote, f->family, f->side[!s].addr, f->side[!s].port);
  ev->has = ST_HAS_FAMILY | ST_HAS_TYPE | ST_HAS_PROTOCOL | ST_HAS_LOCAL | ST_HAS_REMOTE;
  if (f->encap) {
    snprintf(ev->detail, sizeof ev->detail, "%s", f->encap);
    ev->has |= ST_HAS_DETAIL;
  }
  return ev;
}

void flow_detail(st_event *ev, const flow *f, const char *text) {
  snprintf(ev->detail, sizeof ev->detail, "%s%s%s", text, f->encap ? "; " : "",
           f->encap ? f->encap : "");
  ev->has |= ST_HAS_DETAIL;
}

void tracker_emit(st_pcap_tracker *t, st_event *ev) {
  if (!tracker_wants(t, ev->level))
    return;
  if (ev->ts_ns < t->last_emit_ts)
    ev->ts_ns = t->last_emit_ts;
  t->last_emit_ts = ev->ts_ns;
  t->stats.events++;
  if (ev == &t->scratch)
    t->emit(t->ctx, ev);
  else
    t->queue->len++; /* built in place at the queue's end */
}

void side_fail(flow_side *side, st_status st) {
  if (!side->failed)
    side->first_error = st;
  side->failed = true;
  side->final_status = st;
}

void flow_connect_done(st_pcap_tracker *t, flow *f, st_status st, const char *detail) {
  st_event *ev;
  ev = flow_event(t, f, 0, ST_PROVIDER_AFD, ST_EV_CONNECT, ST_EE_TRANSPORT, ST_KW_TRANSPORT);
  ev->status = st;
  ev->has |= ST_HAS_STATUS;
  if (detail)
    flow_detail(ev, f, detail);
  if (st.code != ST_OK)
    side_fail(&f->side[0], st);
  f->side[0].exists = true;
  tracker_emit(t, ev);
}

static void flow_summary(st_pcap_tracker *t, const flow *f, int s) {
  const flow_side *me = &f->side[s], *peer = &f->side[!s];
  st_event *ev;
  ev = flow_event(t, f, s, ST_PROVIDER_EXT, ST_EV_ENDPOINT_SUMMARY, ST_EE_INTERNAL, ST_KW_SUMMARY);
  ev->summary.bytes_sent = me->bytes;
  ev->summary.bytes_received = peer->bytes;
  ev->summary.sends = me->msgs;
  ev->summary.receives = peer->msgs;
  ev->summary.duration_ns = f->last_ts - f->first_ts;
  ev->summary.retransmits = me->retrans;
  ev->summary.first_error = me->first_error;
  ev->summary.final_status = me->final_status;
  ev->status = me->final_status;
  ev->has |= ST_HAS_SUMMARY | ST_HAS_STATUS;
  tracker_emit(t, ev);
}

void flow_end(st_pcap_tracker *t, flow *f, flow_end_reason why) {
  if (f->proto == PKT_IPPROTO_TCP && why != FLOW_END_EVICTED) {
    if (f->state == FLOW_SYN_SENT)
      flow_connect_done(t, f, st_status_portable(ST_TIMED_OUT), "no answer to SYN");
    else if (f->state == FLOW_SYN_RCVD) /* the initiator's ACK was not captured */
      flow_connect_done(t, f, st_status_portable(ST_OK), NULL);
  }
  for (int s = 0; s < 2; s++)
    if (f->side[s].exists)
      flow_summary(t, f, s);
  HASH_DEL(t->table, f);
  lru_unlink(t, f);
  t->stats.flows_active--;
  free(f->encap);
  free(f);
}

static uint64_t flow_timeout(const st_pcap_tracker *t, const flow *f) {
  if (f->proto != PKT_IPPROTO_TCP)
    return t->cfg.udp_timeout_ns;
  switch (f->state) {
  case FLOW_SYN_SENT:
    return t->cfg.syn_timeout_ns;
  case FLOW_CLOSED:
    return t->cfg.linger_ns;
  default:
    return t->cfg.idle_timeout_ns;
  }
}

void st_pcap_tracker_expire(st_pcap_tracker *t, uint64_t now_ns) {
  uint64_t shortest = t->cfg.syn_timeout_ns;
  if (t->cfg.linger_ns < shortest)
    shortest = t->cfg.linger_ns;
  if (t->cfg.idle_timeout_ns < shortest)
    shortest = t->cfg.idle_timeout_ns;
  if (t->cfg.udp_timeout_ns < shortest)
    shortest = t->cfg.udp_timeout_ns;
  uint64_t saved = t->now;
  flow *f = t->lru_head;
  while (f && now_ns >= f->last_ts + shortest) {
    flow *next = f->lru_next;
    uint64_t deadline = f->last_ts + flow_timeout(t, f);
    if (now_ns >= deadline) {
      t->now = deadline;
      t->stats.flows_expired++;
      flow_end(t, f, FLOW_END_TIMEOUT);
    }
    f = next;
  }
  t->now = saved;
}

void st_pcap_tracker_set_queue(st_pcap_tracker *t, st_pcap_queue *q) {
  t->queue = q;
}

bool st_pcap_tracker_finish_one(st_pcap_tracker *t) {
  if (!t->lru_head)
    return false;
  t->now = t->stats.last_ts_ns;
  flow_end(t, t->lru_head, FLOW_END_FINISH);
  return true;
}

void st_pcap_tracker_finish(st_pcap_tracker *t) {
  /* Oldest first, so that summaries come out in the order flows went quiet. */
  while (st_pcap_tracker_finish_one(t))
    ;
}

st_pcap_tracker *st_pcap_tracker_new(const st_pcap_tracker_config *cfg, st_pcap_emit_fn emit,
                                     void *ctx) {
  st_pcap_tracker *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  if (cfg)
    t->cfg = *cfg;
  if (!t->cfg.max_flows)
    t->cfg.max_flows = ST_PCAP_DEFAULT_MAX_FLOWS;
  if (!t->cfg.syn_timeout_ns)
    t->cfg.syn_timeout_ns = ST_PCAP_DEFAULT_SYN_TIMEOUT_NS;
  if (!t->cfg.idle_timeout_ns)
    t->cfg.idle_timeout_ns = ST_PCAP_DEFAULT_IDLE_TIMEOUT_NS;
  if (!t->cfg.udp_timeout_ns)
    t->cfg.udp_timeout_ns = ST_PCAP_DEFAULT_UDP_TIMEOUT_NS;
  if (!t->cfg.linger_ns)
    t->cfg.linger_ns = ST_PCAP_DEFAULT_LINGER_NS;
  if (!t->cfg.level)
    t->cfg.level = ST_LEVEL_VERBOSE;
  t->emit = emit;
  t->ctx = ctx;
  t->reasm = pkt_reasm_new();
  if (!t->reasm) {
    free(t);
    return NULL;
  }
  return t;
}

void st_pcap_tracker_free(st_pcap_tracker *t) {
  if (!t)
    return;
  flow *f, *tmp;
  HASH_ITER(hh, t->table, f, tmp) {
    HASH_DEL(t->table, f);
    free(f->encap);
    free(f);
  }
  pkt_reasm_free(t->reasm);
  free(t);
}

void st_pcap_tracker_get_stats(const st_pcap_tracker *t, st_pcap_tracker_stats *out) {
  *out = t->stats;
  out->frag_dropped = pkt_reasm_dropped(t->reasm);
}
