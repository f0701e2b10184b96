/*
 * The record expander (backends/ebpf/expand.c) on records built here, as the
 * kernel side lays them out: what one record becomes, in which order, with
 * which endpoint, owner and addresses. No kernel, no privilege needed. Also
 * the load-error reader on libbpf logs captured from real failures.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "ebpf/ebpf_internal.h"

#define MAXEV 16

static st_event got[MAXEV];
static size_t ngot;
static ebpf_drop_names no_drops;

static void collect(void *arg, st_event *ev) {
  (void)arg;
  cr_assert_lt(ngot, MAXEV);
  got[ngot++] = *ev;
}

static ebpf_expander *new_expander(uint8_t level) {
  ngot = 0;
  ebpf_expander *x = ebpf_expander_new(&no_drops, 1000000000, collect, NULL);
  cr_assert_not_null(x);
  ebpf_expander_settings(x, level, 0);
  return x;
}

static void hdr(struct st_bpf_hdr *h, uint16_t kind, uint64_t sk, int32_t ret, uint64_t ts) {
  memset(h, 0, sizeof *h);
  h->kind = kind;
  h->sk = sk;
  h->ret = ret;
  h->ts = ts;
}

static void proc(struct st_bpf_proc *p, uint32_t pid) {
  memset(p, 0, sizeof *p);
  p->pid = pid;
  p->tid = pid + 1;
  p->ppid = 1;
  strcpy(p->comm, "client");
}

static void tcp4(struct st_bpf_sock *s) {
  s->family = 2;
  s->type = 1;
  s->protocol = 6;
  s->pad = 0;
}

static void ip4(struct st_bpf_addr *a, const char *ip, uint16_t port) {
  memset(a, 0, sizeof *a);
  a->family = 2;
  a->port = port;
  inet_pton(AF_INET, ip, a->addr);
}

static void expand(ebpf_expander *x, const void *rec, size_t size) {
  cr_assert_eq(ebpf_expand(x, rec, size), 0, "record accepted");
}

static void create(ebpf_expander *x, uint64_t sk, uint64_t ts) {
  struct st_bpf_rec_sock r = {0};
  hdr(&r.h, ST_K_CREATE, sk, 0, ts);
  proc(&r.p, 100);
  tcp4(&r.s);
  expand(x, &r, sizeof r);
}

static void close_rec(struct st_bpf_rec_close *r, uint64_t sk, uint64_t ts, uint8_t flags) {
  memset(r, 0, sizeof *r);
  hdr(&r->h, ST_K_CLOSE, sk, 0, ts);
  r->h.flags = flags;
  proc(&r->p, 100);
  tcp4(&r->s);
  r->state = ST_TCP_ESTABLISHED;
  ip4(&r->local, "10.0.0.1", 40000);
  ip4(&r->remote, "10.0.0.2", 443);
  r->c.bytes_sent = 500;
  r->c.bytes_received = 1500;
  r->c.retransmits = 2;
  r->c.rtt_us = 1234;
}

static void expect_ids(const uint16_t *ids, const uint8_t *ee, size_t n) {
  cr_assert_eq(ngot, n, "%zu events, want %zu", ngot, n);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(got[i].id, ids[i], "event %zu is %u, want %u", i, got[i].id, ids[i]);
    cr_assert_eq(got[i].enter_exit, ee[i], "event %zu enter_exit", i);
  }
}

/* One kernel close record: Cleanup, Close, then the summary, each naming
 * the connection; the summary's bytes, retransmits and RTT come from the
 * socket's own counters, and calls were not counted. */
Test(ebpf_expand, one_close_record_is_cleanup_close_summary_in_order) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff1000, 5000, ST_BPF_F_TCP_INFO);
  expand(x, &c, sizeof c);

  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CLEANUP, ST_EV_CLOSE, ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {ST_EE_EXIT, ST_EE_EXIT, ST_EE_EXIT, ST_EE_INTERNAL};
  expect_ids(ids, ee, 4);
  for (size_t i = 0; i < 4; i++) {
    cr_assert_eq(got[i].endpoint, 1);
    cr_assert_eq(got[i].pid, 100);
    cr_assert_str_eq(got[i].comm, "client");
    cr_assert_eq(got[i].os, ST_OS_LINUX);
    cr_assert_eq(got[i].backend, ST_BACKEND_EBPF);
  }
  for (size_t i = 1; i < 4; i++) {
    cr_assert_eq(got[i].ts_ns, 1000005000ull, "the record's time, on the wall clock");
    cr_assert(got[i].has & ST_HAS_LOCAL);
    cr_assert(got[i].has & ST_HAS_REMOTE);
    cr_assert_eq(got[i].local.port, 40000);
    cr_assert_eq(got[i].remote.port, 443);
  }
  const st_summary *s = &got[3].summary;
  cr_assert(got[3].has & ST_HAS_SUMMARY);
  cr_assert_eq(got[3].keywords, ST_KW_STREAM | ST_KW_SUMMARY);
  cr_assert_eq(s->bytes_sent, 500);
  cr_assert_eq(s->bytes_received, 1500);
  cr_assert_eq(s->retransmits, 2);
  cr_assert_eq(s->rtt_us, 1234);
  cr_assert(s->flags & ST_SUMMARY_NO_CALLS);
  cr_assert_eq(s->duration_ns, 4000);
  cr_assert_eq(s->final_status.code, ST_OK);
  ebpf_expander_free(x);
}

Test(ebpf_expand, an_aborting_close_reports_the_abort_first) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff1000, 5000, ST_BPF_F_TCP_INFO | ST_BPF_F_ABORTS);
  expand(x, &c, sizeof c);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_ABORT, ST_EV_CLEANUP, ST_EV_CLOSE,
                                 ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, 0, 1, 1, 2};
  expect_ids(ids, ee, 5);
  cr_assert_eq(got[1].reason, ST_ABORT_LOCAL);
  cr_assert_eq(got[1].status.code, ST_ABORTED);
  cr_assert_eq(got[4].summary.final_status.code, ST_ABORTED);
  ebpf_expander_free(x);
}

/* A datagram socket's close carries the calls the kernel counted. */
Test(ebpf_expand, a_counted_close_has_calls) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff2000, 5000, ST_BPF_F_COUNTED);
  c.s.type = 2;
  c.s.protocol = 17;
  c.c.sends = 3;
  c.c.receives = 4;
  expand(x, &c, sizeof c);
  cr_assert_eq(ngot, 3);
  cr_assert_eq(got[0].flags & ST_FLAG_PREEXISTING, ST_FLAG_PREEXISTING,
               "first met at its close: it existed before the trace");
  cr_assert_eq(got[2].summary.sends, 3);
  cr_assert_eq(got[2].summary.receives, 4);
  cr_assert_eq(got[2].summary.flags & ST_SUMMARY_NO_CALLS, 0);
  cr_assert_eq(got[2].keywords, ST_KW_DATAGRAM | ST_KW_SUMMARY);
  ebpf_expander_free(x);
}

static void connect_rec(ebpf_expander *x, uint16_t kind, uint64_t sk, int32_t ret, uint64_t ts) {
  struct st_bpf_rec_addr r = {0};
  hdr(&r.h, kind, sk, ret, ts);
  if (kind == ST_K_CONNECT)
    r.h.flags = ST_BPF_F_ENTER;
  proc(&r.p, 100);
  tcp4(&r.s);
  if (kind == ST_K_CONNECT) {
    ip4(&r.remote, "10.0.0.2", 443);
  } else {
    ip4(&r.local, "10.0.0.1", 40000);
    ip4(&r.remote, "10.0.0.2", 443);
  }
  expand(x, &r, sizeof r);
}

/* A connect's end that says the socket's state at the exit (TCP); flags
 * adds others (ST_BPF_F_ENTER: it carries its start). */
static void connect_ret_state(ebpf_expander *x, uint64_t sk, int32_t ret, uint8_t state,
                              uint32_t err, uint64_t ts, uint8_t flags) {
  struct st_bpf_rec_addr r = {0};
  hdr(&r.h, ST_K_CONNECT_RET, sk, ret, ts);
  r.h.flags = ST_BPF_F_STATE | flags;
  r.arg = state | err << 8;
  proc(&r.p, 100);
  tcp4(&r.s);
  ip4(&r.local, "10.0.0.1", 40000);
  ip4(&r.remote, "10.0.0.2", 443);
  expand(x, &r, sizeof r);
}

/* Closes sk: its summary's first error is code. */
static void expect_summary_error(ebpf_expander *x, uint64_t sk, int code) {
  struct st_bpf_rec_close c;
  close_rec(&c, sk, 10000, ST_BPF_F_TCP_INFO);
  expand(x, &c, sizeof c);
  cr_assert_eq(got[ngot - 1].summary.first_error.code, code);
}

static void conn_done(ebpf_expander *x, uint64_t sk, int32_t err, uint64_t ts) {
  struct st_bpf_rec_stack r = {0};
  hdr(&r.h, ST_K_CONN_DONE, sk, err, ts);
  r.sport = 40000;
  r.dport = 443;
  expand(x, &r, sizeof r);
}

/* On loopback the stack finishes a non-blocking connect inside the call:
 * the completion follows the call's EINPROGRESS at once. */
Test(ebpf_expand, a_connect_finished_inside_the_call) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT, 0xffff1000, 0, 2000);
  conn_done(x, 0xffff1000, 0, 2500);
  connect_rec(x, ST_K_CONNECT_RET, 0xffff1000, -115, 3000);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,
                                 ST_EV_CONNECT};
  static const uint8_t ee[] = {1, 0, 1, 3};
  expect_ids(ids, ee, 4);
  cr_assert_eq(got[2].status.code, ST_PENDING);
  cr_assert_eq(got[2].local.port, 40000, "the port the connect bound");
  cr_assert_eq(got[2].remote.port, 443);
  cr_assert_eq(got[3].status.code, ST_OK);
  ebpf_expander_free(x);
}

/* The same where the kernel sent no record of the completion (it happened
 * inside the call's own thread): the state the exit found tells it, once. */
Test(ebpf_expand, a_connect_the_exit_found_established_completes_once) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT, 0xffff1000, 0, 2000);
  connect_ret_state(x, 0xffff1000, -115, ST_TCP_ESTABLISHED, 0, 3000, 0);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,
                                 ST_EV_CONNECT};
  static const uint8_t ee[] = {1, 0, 1, 3};
  expect_ids(ids, ee, 4);
  cr_assert_eq(got[2].status.code, ST_PENDING);
  cr_assert_eq(got[3].status.code, ST_OK);
  cr_assert_eq(got[3].ts_ns, got[2].ts_ns);
  /* A late record of the same completion (the stack ended it after the
   * body returned, before the exit read the socket) adds nothing. */
  conn_done(x, 0xffff1000, 0, 3500);
  cr_assert_eq(ngot, 4);
  ebpf_expander_free(x);
}

Test(ebpf_expand, a_connect_the_exit_found_closed_is_refused_with_its_error) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT, 0xffff1000, 0, 2000);
  connect_ret_state(x, 0xffff1000, -115, ST_TCP_CLOSE, 111, 3000, 0);
  cr_assert_eq(ngot, 4);
  cr_assert_eq(got[3].id, ST_EV_CONNECT);
  cr_assert_eq(got[3].status.code, ST_REFUSED);
  expect_summary_error(x, 0xffff1000, ST_REFUSED);
  ebpf_expander_free(x);
}

/* A connect that did not wait on an unbound socket sends one record, its
 * end, carrying its start (the address asked for): the start comes first,
 * once, and a start that did come on its own is not repeated. */
Test(ebpf_expand, a_connect_end_that_carries_its_start) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_ret_state(x, 0xffff1000, -115, ST_TCP_SYN_SENT, 0, 3000, ST_BPF_F_ENTER);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR};
  static const uint8_t ee[] = {1, 0, 1};
  expect_ids(ids, ee, 3);
  cr_assert_eq(got[1].remote.port, 443, "the start names the address asked for");
  cr_assert_eq(got[1].local.family, ST_FAMILY_NONE, "an unbound socket's start has no address");
  cr_assert_eq(got[1].pid, 100);
  cr_assert_eq(got[2].status.code, ST_PENDING);
  cr_assert_eq(got[2].local.port, 40000);
  conn_done(x, 0xffff1000, 0, 9000);
  cr_assert_eq(ngot, 4);
  cr_assert_eq(got[3].status.code, ST_OK);

  /* A bound socket's start came on its own: the end adds only the end. */
  create(x, 0xffff2000, 10000);
  connect_rec(x, ST_K_CONNECT, 0xffff2000, 0, 11000);
  size_t before = ngot;
  connect_ret_state(x, 0xffff2000, -115, ST_TCP_SYN_SENT, 0, 12000, ST_BPF_F_ENTER);
  cr_assert_eq(ngot, before + 1);
  cr_assert_eq(got[before].enter_exit, 1);
  ebpf_expander_free(x);
}

/* Still connecting at the exit: the completion is the stack's to tell. */
Test(ebpf_expand, a_connect_the_exit_found_connecting_waits_for_the_stack) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT, 0xffff1000, 0, 2000);
  connect_ret_state(x, 0xffff1000, -115, ST_TCP_SYN_SENT, 0, 3000, 0);
  cr_assert_eq(ngot, 3);
  conn_done(x, 0xffff1000, -110, 9000);
  cr_assert_eq(ngot, 4);
  cr_assert_eq(got[3].status.code, ST_TIMED_OUT);
  ebpf_expander_free(x);
}

/* A connect the stack finishes later, refused: its completion carries the
 * refusal, and the summary remembers it. */
Test(ebpf_expand, a_pending_connect_completes_later) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT, 0xffff1000, 0, 2000);
  connect_rec(x, ST_K_CONNECT_RET, 0xffff1000, -115, 3000);
  cr_assert_eq(ngot, 3, "nothing until the stack answers");
  conn_done(x, 0xffff1000, -111, 9000);
  cr_assert_eq(ngot, 4);
  cr_assert_eq(got[3].id, ST_EV_CONNECT);
  cr_assert_eq(got[3].enter_exit, ST_EE_TRANSPORT);
  cr_assert_eq(got[3].status.code, ST_REFUSED);
  cr_assert_eq(got[3].pid, 100, "the stack's event belongs to the socket's owner");
  expect_summary_error(x, 0xffff1000, ST_REFUSED);
  ebpf_expander_free(x);
}

Test(ebpf_expand, a_connect_return_without_its_start_says_nothing) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  connect_rec(x, ST_K_CONNECT_RET, 0xffff1000, 0, 3000);
  cr_assert_eq(ngot, 1);
  ebpf_expander_free(x);
}

/* The kernel frees a TCP socket its process never closed (it died): Close
 * from the socket layer, then the summary with the final counters. */
Test(ebpf_expand, a_socket_never_closed_ends_at_its_destroy) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  struct st_bpf_rec_close d;
  close_rec(&d, 0xffff1000, 7000, ST_BPF_F_TCP_INFO);
  d.h.kind = ST_K_DESTROY;
  memset(&d.p, 0, sizeof d.p);
  expand(x, &d, sizeof d);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CLOSE, ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, ST_EE_AFD, 2};
  expect_ids(ids, ee, 3);
  cr_assert_eq(got[1].pid, 100, "the owner as of its last call");
  cr_assert_eq(got[2].summary.bytes_received, 1500);
  cr_assert_eq(ebpf_expander_sockets(x), 0, "forgotten");
  ebpf_expander_free(x);
}

/* The kernel reuses a freed socket's address: a new socket there is a new
 * endpoint. */
Test(ebpf_expand, a_reused_address_is_a_new_endpoint) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff1000, 2000, ST_BPF_F_TCP_INFO);
  expand(x, &c, sizeof c);
  create(x, 0xffff1000, 3000);
  cr_assert_eq(got[0].endpoint, 1);
  cr_assert_eq(got[ngot - 1].endpoint, 2);
  ebpf_expander_free(x);
}

/* A connection whose peer closes before it is accepted: the stack's event
 * belongs to the listener's owner, and the accept keeps its endpoint. */
/* Process 200 listens on 10.0.0.1:8080 (socket sk, backlog 16). */
static void listen_rec(ebpf_expander *x, uint64_t sk, uint64_t ts) {
  struct st_bpf_rec_addr l = {0};
  hdr(&l.h, ST_K_LISTEN, sk, 0, ts);
  proc(&l.p, 200);
  tcp4(&l.s);
  ip4(&l.local, "10.0.0.1", 8080);
  l.arg = 16;
  expand(x, &l, sizeof l);
}

/* The peer's FIN reached socket sk (ports local, remote). */
static void close_wait_rec(ebpf_expander *x, uint64_t sk, uint64_t ts, uint16_t sport,
                           uint16_t dport) {
  struct st_bpf_rec_stack st = {0};
  hdr(&st.h, ST_K_STATE, sk, 0, ts);
  st.arg = ST_TCP_ESTABLISHED << 8 | ST_TCP_CLOSE_WAIT;
  st.sport = sport;
  st.dport = dport;
  expand(x, &st, sizeof st);
}

Test(ebpf_expand, a_child_before_its_accept_belongs_to_the_listener) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  listen_rec(x, 0xffff1000, 1000);
  close_wait_rec(x, 0xffff2000, 2000, 8080, 50000);
  cr_assert_eq(ngot, 2);
  cr_assert_eq(got[0].id, ST_EV_LISTEN);
  cr_assert_eq(got[0].backlog, 16);
  cr_assert_eq(got[1].id, ST_EV_DISCONNECT);
  cr_assert_eq(got[1].pid, 200);
  cr_assert_eq(got[1].endpoint, 2);
  cr_assert_eq(got[1].flags & ST_FLAG_PREEXISTING, 0);

  struct st_bpf_rec_accept a = {0};
  hdr(&a.h, ST_K_ACCEPT, 0xffff1000, 0, 3000);
  proc(&a.p, 200);
  tcp4(&a.s);
  a.child = 0xffff2000;
  ip4(&a.local, "10.0.0.1", 8080);
  ip4(&a.remote, "10.0.0.9", 50000);
  expand(x, &a, sizeof a);
  cr_assert_eq(ngot, 4);
  cr_assert_eq(got[2].id, ST_EV_CREATE);
  cr_assert_eq(got[2].endpoint, 2, "the endpoint it had before its accept");
  cr_assert_eq(got[3].id, ST_EV_ACCEPT_ADDR);
  cr_assert_eq(got[3].endpoint, 1);
  cr_assert_eq(got[3].accept_endpoint, 2);
  cr_assert_eq(got[3].remote.port, 50000);
  cr_assert_eq(got[3].local.port, 8080);
  ebpf_expander_free(x);
}

/* The kernel does not say when it frees a socket its application closed:
 * a stack record at that address with other ports is a new socket's (a
 * connection waiting for its accept), not a late event of the closed one. */
Test(ebpf_expand, a_closed_sockets_address_with_other_ports_is_a_new_socket) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  listen_rec(x, 0xffff1000, 1000);
  create(x, 0xffff2000, 1500);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff2000, 2000, ST_BPF_F_TCP_INFO);
  expand(x, &c, sizeof c);
  uint64_t closed = got[ngot - 1].endpoint;
  size_t before = ngot;
  close_wait_rec(x, 0xffff2000, 3000, 8080, 50001);
  cr_assert_eq(ngot, before + 1);
  cr_assert_eq(got[before].id, ST_EV_DISCONNECT);
  cr_assert_neq(got[before].endpoint, closed, "a new endpoint, not the closed one");
  cr_assert_eq(got[before].pid, 200, "the listener's");
  /* A late event of the closed socket itself (its own ports) still is its. */
  close_rec(&c, 0xffff3000, 4000, ST_BPF_F_TCP_INFO);
  create(x, 0xffff3000, 3500);
  expand(x, &c, sizeof c);
  closed = got[ngot - 1].endpoint;
  before = ngot;
  close_wait_rec(x, 0xffff3000, 5000, c.local.port, c.remote.port);
  cr_assert_eq(ngot, before + 1);
  cr_assert_eq(got[before].endpoint, closed);
  ebpf_expander_free(x);
}

/* Level 4 makes no level-5 event, even from a record that holds one. */
Test(ebpf_expand, level_4_makes_no_verbose_events) {
  ebpf_expander *x = new_expander(ST_LEVEL_INFO);
  create(x, 0xffff1000, 1000);
  struct st_bpf_rec_stack st = {0};
  hdr(&st.h, ST_K_STATE, 0xffff1000, 0, 2000);
  st.arg = ST_TCP_ESTABLISHED << 8 | ST_TCP_CLOSE_WAIT;
  expand(x, &st, sizeof st);
  cr_assert_eq(ngot, 2);
  cr_assert_eq(got[1].id, ST_EV_DISCONNECT);
  ebpf_expander_free(x);

  x = new_expander(ST_LEVEL_VERBOSE);
  create(x, 0xffff1000, 1000);
  expand(x, &st, sizeof st);
  cr_assert_eq(ngot, 3);
  cr_assert_eq(got[1].id, ST_EV_TCP_STATE_CHANGE);
  cr_assert_eq(got[1].old_state, ST_TCP_ESTABLISHED);
  cr_assert_eq(got[1].new_state, ST_TCP_CLOSE_WAIT);
  cr_assert_eq(got[2].id, ST_EV_DISCONNECT);
  ebpf_expander_free(x);
}

Test(ebpf_expand, malformed_records_are_refused) {
  ebpf_expander *x = new_expander(ST_LEVEL_VERBOSE);
  struct st_bpf_rec_close c;
  close_rec(&c, 0xffff1000, 1000, 0);
  cr_assert_eq(ebpf_expand(x, &c, 4), -1, "shorter than a header");
  cr_assert_eq(ebpf_expand(x, &c, sizeof c.h + 8), -1, "shorter than its kind's record");
  c.h.kind = 999;
  cr_assert_eq(ebpf_expand(x, &c, sizeof c), -1, "an unknown kind");
  cr_assert_eq(ngot, 0);
  ebpf_expander_free(x);
}

/* ---- load errors --------------------------------------------------------- */

/* libbpf's warnings from loads that failed on Debian 12's 6.1 kernel. */
static const char missing_tracepoint[] =
    "libbpf: prog 'send_length': failed to find kernel BTF type ID of 'sock_send_length': -3\n"
    "libbpf: prog 'send_length': failed to prepare load attributes: -3\n"
    "libbpf: prog 'send_length': failed to load: -3\n"
    "libbpf: failed to load object 'socktrace_bpf'\n";

static const char verifier_refusal[] =
    "libbpf: prog 'kfree_skb_rx': BPF program load failed: Permission denied\n"
    "libbpf: prog 'kfree_skb_rx': -- BEGIN PROG LOAD LOG --\n"
    "reg type unsupported for arg#0 function kfree_skb_rx#1265\n"
    "0: R1=ctx(off=0,imm=0) R10=fp0\n"
    "; int BPF_PROG(kfree_skb_rx, struct sk_buff *skb, void *location,\n"
    "0: (79) r8 = *(u64 *)(r1 +24)\n"
    "func 'kfree_skb' doesn't have 4-th argument\n"
    "invalid bpf_context access off=24 size=8\n"
    "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'kfree_skb_rx': failed to load: -13\n";

Test(ebpf_expand, a_load_error_names_its_program_and_the_kernels_reason) {
  char prog[64], why[256];
  cr_assert(ebpf_load_error(missing_tracepoint, prog, sizeof prog, why, sizeof why));
  cr_assert_str_eq(prog, "send_length");
  cr_assert_str_eq(why, "failed to find kernel BTF type ID of 'sock_send_length': -3");

  cr_assert(ebpf_load_error(verifier_refusal, prog, sizeof prog, why, sizeof why));
  cr_assert_str_eq(prog, "kfree_skb_rx");
  cr_assert_str_eq(why, "func 'kfree_skb' doesn't have 4-th argument; invalid bpf_context access "
                        "off=24 size=8");

  cr_assert_not(
      ebpf_load_error("libbpf: failed to load object 'x'\n", prog, sizeof prog, why, sizeof why),
      "no program named");
}
