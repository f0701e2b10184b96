/* Connection stories and what `diff` makes of them, and the summary built
 * on them: what two runs of one scenario share (process names, roles,
 * peers, listening ports) and what they do not (pids, ephemeral ports,
 * loopback or the host's own address, a Windows ".exe"); each kind of
 * difference; and a summary that stays readable on a long trace. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "diff.h"
#include "socktrace/sink.h"
#include "story.h"
#include "summary_model.h"

typedef struct side {
  st_sum_model m;
  st_story *stories;
  int n;
  uint64_t ts;
  st_sink *sink; /* also given every event, when set */
} side;

/* The container the next events come from (NULL: the host). */
static const char *in_container;

static void add(side *s, st_event *ev) {
  ev->ts_ns = s->ts += 1000;
  if (in_container) {
    ev->has |= ST_HAS_CONTAINER;
    snprintf(ev->container.name, sizeof ev->container.name, "%s", in_container);
  }
  cr_assert_eq(st_sum_add(&s->m, ev), 0);
  if (s->sink)
    cr_assert_eq(s->sink->ops->write(s->sink, ev), 0);
}

static st_event ev_of(uint16_t id, uint32_t pid, const char *comm, uint64_t ep) {
  st_event ev;
  st_event_init(&ev, id >= 5000 ? ST_PROVIDER_EXT : ST_PROVIDER_AFD, id);
  ev.pid = pid;
  memcpy(ev.comm, comm, strnlen(comm, ST_COMM_MAX));
  ev.endpoint = ep;
  ev.enter_exit = ST_EE_EXIT;
  ev.os = ST_OS_LINUX;
  return ev;
}

static st_addr ip(const char *s, uint16_t port) {
  st_addr a = {0};
  cr_assert_eq(st_addr_parse_ip(s, &a), 0);
  a.port = port;
  return a;
}

static void create(side *s, uint32_t pid, const char *comm, uint64_t ep, uint8_t family,
                   uint8_t type) {
  st_event ev = ev_of(ST_EV_CREATE, pid, comm, ep);
  ev.has = ST_HAS_FAMILY | ST_HAS_TYPE;
  ev.family = family;
  ev.type = type;
  add(s, &ev);
}

/* A TCP client's connect from local to remote that ends with errno err,
 * then its bytes (EndpointSummary) and its close. */
static void client(side *s, uint32_t pid, const char *comm, uint64_t ep, st_addr local,
                   st_addr remote, int err, uint64_t sent, uint64_t received) {
  create(s, pid, comm, ep, remote.family, ST_TYPE_STREAM);
  st_event ev = ev_of(ST_EV_CONNECT_ADDR, pid, comm, ep);
  ev.has = ST_HAS_LOCAL | ST_HAS_REMOTE | ST_HAS_STATUS;
  ev.local = local;
  ev.remote = remote;
  ev.status = st_status_from_errno(err);
  add(s, &ev);
  ev = ev_of(ST_EV_ENDPOINT_SUMMARY, pid, comm, ep);
  ev.has = ST_HAS_SUMMARY;
  ev.summary.bytes_sent = sent;
  ev.summary.bytes_received = received;
  add(s, &ev);
  ev = ev_of(ST_EV_CLOSE, pid, comm, ep);
  add(s, &ev);
}

static void list(side *s) {
  cr_assert_eq(st_sum_finish(&s->m), 0);
  s->n = st_story_list(&s->m, &s->stories);
  cr_assert_geq(s->n, 0);
}

static void two_sides(side *a, side *b) {
  memset(a, 0, sizeof *a);
  memset(b, 0, sizeof *b);
  st_sum_init(&a->m, 0);
  st_sum_init(&b->m, 0);
}

static void side_free(side *s) {
  free(s->stories);
  st_sum_free(&s->m);
}

static st_diff_result compare(side *a, side *b, const st_diff_options *o) {
  list(a);
  list(b);
  st_diff_result r;
  st_diff_options none = {0};
  cr_assert_eq(
      st_diff_stories(a->stories, (size_t)a->n, b->stories, (size_t)b->n, o ? o : &none, &r), 0);
  return r;
}

Test(story, pids_ports_loopback_own_addresses_and_exe_do_not_count) {
  side a, b;
  two_sides(&a, &b);
  client(&a, 100, "curl", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 0, 10, 20);
  /* Another run: another pid, ephemeral port, the host's own address, the
   * Windows spelling of the name. */
  client(&b, 200, "CURL.EXE", 7, ip("10.1.2.3", 51000), ip("10.1.2.3", 5432), 0, 10, 20);
  st_diff_result r = compare(&a, &b, NULL);
  cr_assert_eq(a.n, 1);
  cr_expect_str_eq(a.stories[0].match_peer, "localhost:5432");
  cr_expect_str_eq(b.stories[0].match_peer, "localhost:5432");
  cr_expect_str_eq(b.stories[0].match_proc, "curl");
  cr_expect_str_eq(b.stories[0].peer, "10.1.2.3:5432", "as traced, for the summary");
  cr_expect_eq(r.n, 0);
  cr_expect_eq(r.stories_equal, 1);
  st_diff_result_free(&r);
  side_free(&a);
  side_free(&b);
}

Test(story, a_side_without_process_names_matches_any) {
  side a, b;
  two_sides(&a, &b);
  client(&a, 100, "curl", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 80), 0, 1, 2);
  client(&a, 101, "wget", 2, ip("127.0.0.1", 40001), ip("127.0.0.1", 80), 0, 1, 2);
  client(&b, 4242, "", 1, ip("127.0.0.1", 50000), ip("127.0.0.1", 80), 0, 1, 2);
  st_diff_result r = compare(&a, &b, NULL);
  cr_assert_eq(r.n, 1, "one of the two is matched, the other is on one side only");
  cr_expect_eq(r.changes[0].what, ST_DIFF_ONLY_A);
  st_diff_result_free(&r);
  side_free(&a);
  side_free(&b);
}

/* One story on each side that differs in one way. */
static uint8_t one_change(void (*fa)(side *), void (*fb)(side *), const st_diff_options *o) {
  side a, b;
  two_sides(&a, &b);
  fa(&a);
  fb(&b);
  st_diff_result r = compare(&a, &b, o);
  uint8_t what = r.n == 1 ? r.changes[0].what : r.n ? 0xff : 0;
  st_diff_result_free(&r);
  side_free(&a);
  side_free(&b);
  return what;
}

static void refused_once(side *s) {
  client(s, 1, "pytest", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 111, 0, 0);
}
static void refused_three_times(side *s) {
  for (uint64_t ep = 1; ep <= 3; ep++)
    client(s, 1, "pytest", ep, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 111, 0, 0);
}
static void timed_out(side *s) {
  client(s, 1, "pytest", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 110, 0, 0);
}
static void bytes_100(side *s) {
  client(s, 1, "pytest", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 0, 100, 100);
}
static void bytes_150(side *s) {
  client(s, 1, "pytest", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 5432), 0, 150, 100);
}
static void elsewhere(side *s) {
  client(s, 1, "pytest", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 6543), 0, 100, 100);
}

Test(story, each_kind_of_difference) {
  cr_expect_eq(one_change(refused_once, timed_out, NULL), ST_DIFF_OUTCOME);
  cr_expect_eq(one_change(refused_three_times, refused_once, NULL), ST_DIFF_ATTEMPTS);
  cr_expect_eq(one_change(bytes_100, bytes_150, NULL), ST_DIFF_BYTES);
  cr_expect_eq(one_change(bytes_100, bytes_100, NULL), 0);
  cr_expect_eq(one_change(bytes_100, bytes_150, &(st_diff_options){.bytes_tolerance = 50}), 0);
  cr_expect_eq(one_change(bytes_100, bytes_150, &(st_diff_options){.bytes_tolerance_pct = 40}), 0);
  cr_expect_eq(one_change(bytes_100, bytes_150, &(st_diff_options){.bytes_tolerance_pct = 10}),
               ST_DIFF_BYTES);
  cr_expect_eq(one_change(bytes_100, refused_once, NULL), ST_DIFF_OUTCOME,
               "an outcome says it all: no bytes difference beside it");
  cr_expect_eq(one_change(bytes_100, elsewhere, NULL), 0xff, "only in A and only in B");
}

/* Level 5 calls: send then receive, or receive then send. */
static void talk(side *s, bool send_first) {
  create(s, 1, "app", 1, ST_FAMILY_INET, ST_TYPE_STREAM);
  st_event ev = ev_of(ST_EV_CONNECT_ADDR, 1, "app", 1);
  ev.has = ST_HAS_REMOTE | ST_HAS_STATUS;
  ev.remote = ip("127.0.0.1", 80);
  add(s, &ev);
  for (int i = 0; i < 2; i++) {
    ev = ev_of((i == 0) == send_first ? ST_EV_SEND : ST_EV_RECEIVE, 1, "app", 1);
    ev.has = ST_HAS_BYTES | ST_HAS_STATUS;
    ev.bytes = 3;
    add(s, &ev);
  }
  ev = ev_of(ST_EV_CLOSE, 1, "app", 1);
  add(s, &ev);
}
static void send_first(side *s) {
  talk(s, true);
}
static void receive_first(side *s) {
  talk(s, false);
}

Test(story, the_order_of_steps_only_when_asked) {
  cr_expect_eq(one_change(send_first, receive_first, NULL), 0);
  cr_expect_eq(one_change(send_first, receive_first, &(st_diff_options){.order = true}),
               ST_DIFF_ORDER);
  side s = {0};
  st_sum_init(&s.m, 0);
  send_first(&s);
  list(&s);
  char steps[128];
  st_story_steps(&s.stories[0], steps, sizeof steps);
  cr_expect_str_eq(steps, "connect send receive close");
  side_free(&s);
}

/* A server: bind and listen on :8080, accept a client. Windows' accept
 * names only the client; Linux's also the local address. */
static void server(side *s, uint32_t pid, uint16_t client_port, bool accept_has_local) {
  create(s, pid, "srv", 10, ST_FAMILY_INET, ST_TYPE_STREAM);
  st_event ev = ev_of(ST_EV_BIND_ADDR, pid, "srv", 10);
  ev.has = ST_HAS_LOCAL | ST_HAS_STATUS;
  ev.local = ip("0.0.0.0", 8080);
  add(s, &ev);
  ev = ev_of(ST_EV_ACCEPT_ADDR, pid, "srv", 10);
  ev.has = ST_HAS_REMOTE | ST_HAS_STATUS | ST_HAS_ACCEPT_EP | (accept_has_local ? ST_HAS_LOCAL : 0);
  ev.remote = ip("127.0.0.1", client_port);
  ev.local = ip("127.0.0.1", 8080);
  ev.accept_endpoint = 11;
  add(s, &ev);
  ev = ev_of(ST_EV_ABORT, pid, "srv", 11);
  ev.has = ST_HAS_REASON;
  ev.reason = ST_ABORT_TRANSPORT_RESET;
  add(s, &ev);
}

Test(story, a_server_keeps_its_port_and_masks_its_clients) {
  side a, b;
  two_sides(&a, &b);
  server(&a, 10, 40000, true);
  server(&b, 20, 55555, false);
  st_diff_result r = compare(&a, &b, NULL);
  cr_assert_eq(a.n, 2, "the listener and its connection");
  char conn[256], outcome[64];
  st_story_connection(&a.stories[0], true, conn, sizeof conn);
  cr_expect_str_eq(conn, "localhost:* -> :8080");
  st_story_outcome(&a.stories[0], outcome, sizeof outcome);
  cr_expect_str_eq(outcome, "reset 1");
  st_story_connection(&a.stories[1], false, conn, sizeof conn);
  cr_expect_str_eq(conn, "listening on :8080");
  cr_expect_eq(r.n, 0);
  st_diff_result_free(&r);
  side_free(&a);
  side_free(&b);
}

Test(story, the_rst_that_refuses_a_connect_is_no_reset) {
  side s = {0};
  st_sum_init(&s.m, 0);
  client(&s, 1, "app", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 9), 111, 0, 0);
  st_event ev = ev_of(ST_EV_ABORT, 1, "app", 1); /* Windows logs one after the refusal */
  ev.has = ST_HAS_REASON;
  ev.reason = ST_ABORT_TRANSPORT_RESET;
  add(&s, &ev);
  list(&s);
  cr_expect_eq(s.stories[0].resets_in, 0);
  cr_expect_eq(s.stories[0].outcomes[ST_REFUSED], 1);
  cr_expect_eq(s.m.procs->resets_in, 0);
  side_free(&s);
}

Test(story, dns_answers_that_failed_are_counted) {
  side s = {0};
  st_sum_init(&s.m, 0);
  st_event ev = ev_of(ST_EV_DNS_MESSAGE, 0, "", 0);
  ev.has = ST_HAS_DNS;
  ev.dns.qr = 1;
  ev.dns.rcode = 3; /* NXDOMAIN */
  add(&s, &ev);
  ev.dns.rcode = 0;
  add(&s, &ev);
  cr_expect_eq(s.m.dns_failures, 1);
  side_free(&s);
}

/* A long trace's summary: 30 processes of one program, each to its own
 * remote; one program refused three times; a datagram server hearing from
 * 100 ephemeral ports; glibc's probe of an absent nscd socket. */
static char *long_trace_summary(const st_summary_options *o) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  side s = {0};
  st_sum_init(&s.m, 0);
  cr_assert_eq(st_sink_summary_new_opts(mem, o, &s.sink), 0);
  uint64_t ep = 1;
  for (uint32_t i = 0; i < 30; i++) {
    char remote[32];
    snprintf(remote, sizeof remote, "10.0.0.%u", i + 1);
    client(&s, 1000 + i, "worker", ep++, ip("10.9.9.9", (uint16_t)(40000 + i)), ip(remote, 443), 0,
           100 + i, 1000);
  }
  for (int i = 0; i < 3; i++)
    client(&s, 77, "pytest", ep++, ip("10.9.9.9", 50000), ip("10.0.0.200", 5432), 111, 0, 0);
  create(&s, 88, "dnsd", ep, ST_FAMILY_INET, ST_TYPE_DGRAM);
  st_event ev = ev_of(ST_EV_BIND_ADDR, 88, "dnsd", ep);
  ev.has = ST_HAS_LOCAL | ST_HAS_STATUS;
  ev.local = ip("127.0.0.1", 5353);
  add(&s, &ev);
  for (uint16_t p = 0; p < 100; p++) {
    ev = ev_of(ST_EV_RECEIVEFROM_ADDR, 88, "dnsd", ep);
    ev.has = ST_HAS_REMOTE | ST_HAS_BYTES | ST_HAS_STATUS;
    ev.remote = ip("127.0.0.1", (uint16_t)(33000 + p));
    ev.bytes = 40;
    add(&s, &ev);
  }
  ep++;
  for (int i = 0; i < 2; i++, ep++) {
    create(&s, 99, "curl", ep, ST_FAMILY_UNIX, ST_TYPE_STREAM);
    ev = ev_of(ST_EV_CONNECT_ADDR, 99, "curl", ep);
    ev.has = ST_HAS_REMOTE | ST_HAS_STATUS;
    ev.remote.family = ST_FAMILY_UNIX;
    strcpy(ev.remote.path, "/var/run/nscd/socket");
    ev.status = st_status_from_errno(2);
    add(&s, &ev);
  }
  st_counters c = {.seen = 1, .delivered = 1};
  cr_assert_eq(s.sink->ops->end(s.sink, &c), 0);
  s.sink->ops->close(s.sink);
  fclose(mem);
  side_free(&s);
  return out;
}

Test(story, a_long_trace_gives_a_short_summary_that_points_at_the_failure) {
  char *out = long_trace_summary(NULL);
  /* The network failure first, in words; not the nscd probe. */
  const char *fail = strstr(out, "Network failures\n");
  cr_assert_not_null(fail, "%s", out);
  cr_expect_not_null(strstr(fail, "pytest   client  -> 10.0.0.200:5432  refused 3\n\nBy process"),
                     "%s", out);
  /* One row per program, failures first. */
  cr_expect_not_null(strstr(out, "  pytest      1         3   0       3"), "%s", out);
  cr_expect_not_null(strstr(out, "  worker     30        30  30       0"), "%s", out);
  cr_expect_lt(strstr(out, "  pytest      1"), strstr(out, "  worker     30"), "%s", out);
  /* The datagram server's clients are one row; 10 of 32 remotes shown. */
  cr_expect_not_null(strstr(out, "  127.0.0.1:*"), "%s", out);
  cr_expect_eq(st_test_count(out, "127.0.0.1:33"), 0, "%s", out);
  cr_expect_not_null(strstr(out, "  ... 22 more rows (--all shows every row)\n"), "%s", out);
  /* UNIX sockets in their own table, with their portable status. */
  const char *ipc = strstr(out, "Local IPC (UNIX sockets)\n");
  cr_assert_not_null(ipc, "%s", out);
  cr_expect_not_null(strstr(ipc, "curl        1  /var/run/nscd/socket         2   0       2"), "%s",
                     ipc);
  cr_expect_not_null(strstr(ipc, "not_found 2"), "%s", ipc);
  cr_expect_null(strstr(out, "ip/unix"));
  free(out);
  out = long_trace_summary(&(st_summary_options){.all = true});
  cr_expect_null(strstr(out, "more rows"), "%s", out);
  cr_expect_eq(st_test_count(out, "  10.0.0."), 31, "every remote: %s", out);
  free(out);
}

Test(story, markdown_tables_escape_what_would_be_markup) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  side s = {0};
  st_sum_init(&s.m, 0);
  st_summary_options md = {.markdown = true, .title = "make `test` | tee"};
  cr_assert_eq(st_sink_summary_new_opts(mem, &md, &s.sink), 0);
  client(&s, 5, "a|b<i>_x", 1, ip("127.0.0.1", 40000), ip("127.0.0.1", 9), 111, 0, 0);
  st_counters c = {.seen = 4, .delivered = 4};
  cr_assert_eq(s.sink->ops->end(s.sink, &c), 0);
  s.sink->ops->close(s.sink);
  fclose(mem);
  side_free(&s);
  const char *head = "### socktrace summary: make \\`test\\` \\| tee\n";
  cr_expect_eq(strncmp(out, head, strlen(head)), 0, "%s", out);
  cr_expect_not_null(strstr(out, "| a\\|b&lt;i>\\_x | client | -> 127.0.0.1:9 | refused 1 |\n"),
                     "%s", out);
  cr_expect_not_null(strstr(out, "|---|--:|--:|"), "%s", out);
  free(out);
}

/* Two containers run the same program against the same peer: when both
 * traces name containers, their stories are told apart by container, so a
 * failure that moved from one to the other is seen; without, they merge. */
Test(story, stories_are_keyed_by_container_when_both_traces_have_them) {
  side a, b;
  two_sides(&a, &b);
  st_addr l = ip("127.0.0.1", 40000), peer = ip("127.0.0.1", 8080);
  in_container = "web";
  client(&a, 100, "curl", 1, l, peer, 111, 0, 0);
  client(&b, 300, "curl", 1, l, peer, 0, 5, 5);
  in_container = "worker";
  client(&a, 200, "curl", 2, l, peer, 0, 5, 5);
  client(&b, 400, "curl", 2, l, peer, 111, 0, 0);
  in_container = NULL;
  cr_assert_eq(st_sum_finish(&a.m), 0);
  cr_assert_eq(st_sum_finish(&b.m), 0);
  cr_assert_not_null(a.m.containers, "the model has a By container table");

  a.n = st_story_list_by(&a.m, true, &a.stories);
  b.n = st_story_list_by(&b.m, true, &b.stories);
  cr_assert_eq(a.n, 2);
  cr_expect_str_eq(a.stories[0].match_proc, "web/curl");
  cr_expect_str_eq(a.stories[1].match_proc, "worker/curl");
  st_diff_options none = {0};
  st_diff_result r;
  cr_assert_eq(st_diff_stories(a.stories, (size_t)a.n, b.stories, (size_t)b.n, &none, &r), 0);
  cr_expect_eq(r.n, 2, "web's and worker's outcomes both changed");
  st_diff_result_free(&r);
  free(a.stories);
  free(b.stories);

  /* Keyed by process alone, the two containers' curls are one story each
   * side, the same: refused 1, ok 1. */
  a.n = st_story_list(&a.m, &a.stories);
  b.n = st_story_list(&b.m, &b.stories);
  cr_assert_eq(a.n, 1);
  cr_assert_eq(st_diff_stories(a.stories, (size_t)a.n, b.stories, (size_t)b.n, &none, &r), 0);
  cr_expect_eq(r.n, 0);
  st_diff_result_free(&r);
  side_free(&a);
  side_free(&b);
}
