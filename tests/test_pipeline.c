/* The whole pipeline without a kernel: JSONL replay -> session (level,
 * keywords, filters) -> every sink, compared byte for byte with fixtures. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "replay/replay.h"
#include "socktrace/session.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"

typedef enum { OUT_TEXT, OUT_JSONL, OUT_SUMMARY } out_kind;

typedef struct run_result {
  char *out;
  size_t len;
  st_counters counters;
  int status;
  st_backend_stats stats;
  char error[512];
} run_result;

static run_result run(const char *path, const st_session_config *cfg, out_kind kind) {
  run_result r = {0};
  FILE *mem = open_memstream(&r.out, &r.len);
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session *s;
  cr_assert_eq(st_session_new(&loop, cfg, &s), 0);
  st_backend *b;
  cr_assert_eq(st_backend_replay_jsonl_new(path, &b), 0);
  st_session_set_backend(s, b);
  st_sink *sink;
  if (kind == OUT_TEXT)
    st_sink_text_new(mem, NULL, &sink);
  else if (kind == OUT_JSONL)
    st_sink_jsonl_new(mem, &sink);
  else
    st_sink_summary_new(mem, &sink);
  st_session_add_sink(s, sink);
  r.status = st_session_start(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (!r.status)
    r.status = st_session_status(s);
  snprintf(r.error, sizeof r.error, "%s", b->error);
  b->ops->stats(b, &r.stats);
  st_session_counters(s, &r.counters);
  st_session_free(s);
  cr_assert_eq(uv_loop_close(&loop), 0, "every handle closed");
  fclose(mem);
  return r;
}

static void expect_fixture(const char *got, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/%s", ST_SOURCE_DIR, name);
  char *want = st_test_read_file(path, NULL);
  cr_assert_not_null(want, "fixture %s", path);
  if (strcmp(got, want) != 0) {
    char actual[600];
    snprintf(actual, sizeof actual, "%s/%s.actual", ST_BINARY_DIR, name);
    FILE *f = fopen(actual, "w");
    if (f) {
      fputs(got, f);
      fclose(f);
    }
    cr_assert_fail("output differs from %s (actual output written to %s)", path, actual);
  }
  free(want);
}

static const st_session_config verbose = {.level = 5};

Test(pipeline, text_matches_fixture) {
  run_result r = run(DEMO, &verbose, OUT_TEXT);
  cr_assert_eq(r.status, 0);
  expect_fixture(r.out, "demo.txt");
  cr_expect_eq(r.counters.seen, 47);
  cr_expect_eq(r.counters.delivered, 47);
  cr_expect_eq(r.counters.filtered, 0);
  cr_expect_eq(r.counters.lost, 0);
  free(r.out);
}

Test(pipeline, jsonl_matches_fixture_after_header) {
  run_result r = run(DEMO, &verbose, OUT_JSONL);
  cr_assert_eq(r.status, 0);
  char *nl = strchr(r.out, '\n');
  cr_assert_not_null(nl);
  /* The header names this host and this run's start: check its shape. */
  cr_expect(strncmp(r.out, "{\"socktrace\":\"" ST_VERSION "\",\"host\":", 26) == 0);
  cr_expect(strstr(r.out, "\"backend\":\"replay\",\"level\":5") < nl);
  expect_fixture(nl + 1, "demo.out.jsonl");
  free(r.out);
}

Test(pipeline, jsonl_round_trips) {
  /* Replaying our own JSONL output gives the same JSONL again. */
  run_result a = run(DEMO, &verbose, OUT_JSONL);
  char tmp[] = "/tmp/st-roundtrip-XXXXXX";
  int fd = mkstemp(tmp);
  cr_assert(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(a.out, f);
  fclose(f);
  run_result b = run(tmp, &verbose, OUT_JSONL);
  unlink(tmp);
  cr_expect_str_eq(strchr(b.out, '\n'), strchr(a.out, '\n'));
  free(a.out);
  free(b.out);
}

Test(pipeline, summary_matches_fixture) {
  run_result r = run(DEMO, &verbose, OUT_SUMMARY);
  cr_assert_eq(r.status, 0);
  expect_fixture(r.out, "demo.summary.txt");
  free(r.out);
}

Test(pipeline, summary_at_level_4_uses_endpoint_summaries) {
  /* Level 4 has no per-call send/receive events: bytes still add up from
   * EndpointSummary, and are not counted twice at level 5. */
  st_session_config info = {.level = 4};
  run_result r4 = run(DEMO, &info, OUT_SUMMARY);
  run_result r5 = run(DEMO, &verbose, OUT_SUMMARY);
  cr_expect(strstr(r4.out, "curl            1         3   2       1        0     5         6") !=
                NULL,
            "%s", r4.out);
  cr_expect(strstr(r5.out, "curl            1         3   2       1        0     9         6") !=
                NULL,
            "%s", r5.out);
  free(r4.out);
  free(r5.out);
}

Test(pipeline, level_and_keywords_filter) {
  st_session_config info = {.level = 4};
  run_result r = run(DEMO, &info, OUT_TEXT);
  cr_expect_null(strstr(r.out, "AfdSend "));
  cr_expect_null(strstr(r.out, "TcpStateChange"));
  cr_expect_not_null(strstr(r.out, "AfdAbort"));
  cr_expect_eq(r.counters.delivered + r.counters.filtered, r.counters.seen);
  cr_expect_eq(r.counters.filtered, 9, "the nine level-5 events");
  free(r.out);
  /* Keyword 0x1 (datagram) keeps the UDP socket's events and the
   * keyword-less ones only. */
  st_session_config dgram = {.level = 5, .keywords = ST_KW_DATAGRAM};
  r = run(DEMO, &dgram, OUT_TEXT);
  cr_expect_not_null(strstr(r.out, "AfdSendToWithAddress"));
  cr_expect_null(strstr(r.out, "AfdListen"));
  free(r.out);
}

Test(pipeline, filters_apply) {
  st_session_config cfg = {.level = 5};
  char err[128];
  cr_assert_eq(st_filter_add_pid(&cfg.filter, "4400", err, sizeof err), 0);
  run_result r = run(DEMO, &cfg, OUT_TEXT);
  cr_expect_eq(r.counters.delivered, 4, "dig's four events");
  cr_expect_null(strstr(r.out, "curl["));
  free(r.out);
  st_session_config port = {.level = 5};
  cr_assert_eq(st_filter_add_port(&port.filter, "9", err, sizeof err), 0);
  r = run(DEMO, &port, OUT_TEXT);
  /* The refused socket from its connect on: enter, exit, summary, close. */
  cr_expect_eq(r.counters.delivered, 4, "%s", r.out);
  free(r.out);
}

Test(pipeline, malformed_line_is_reported_and_the_rest_read) {
  char tmp[] = "/tmp/st-bad-XXXXXX";
  int fd = mkstemp(tmp);
  FILE *f = fdopen(fd, "w");
  fputs("{\"socktrace\":\"0.1.0\"}\n"
        "{\"ts_ns\":1000,\"provider\":\"afd\",\"id\":1000,\"pid\":7,\"comm\":\"a\"}\n"
        "{\"ts_ns\":2000,\"provider\":\"afd\",\"id\":1001,\n"
        "{\"ts_ns\":3000,\"provider\":\"afd\",\"id\":1018,\"remote\":{\"addr\":\"nope\"}}\n"
        "{\"ts_ns\":4000,\"provider\":\"afd\",\"id\":1001,\"pid\":7,\"comm\":\"a\"}\n",
        f);
  fclose(f);
  run_result r = run(tmp, &verbose, OUT_TEXT);
  unlink(tmp);
  cr_expect_eq(r.status, 0, "bad lines do not stop the replay");
  cr_expect_eq(r.stats.events, 2);
  cr_expect_eq(r.stats.errors, 2);
  cr_expect(strstr(r.error, ":3: ") == NULL && strstr(r.error, "line 3: not JSON") != NULL, "%s",
            r.error);
  cr_expect_not_null(strstr(r.out, "DecodeError line 3: not JSON"));
  cr_expect_not_null(strstr(r.out, "DecodeError line 4: bad \"remote\" address"));
  cr_expect_not_null(strstr(r.out, "a[7/0] AfdClose"));
  free(r.out);
}

Test(pipeline, missing_file_fails_at_start) {
  run_result r = run("/nonexistent/trace.jsonl", &verbose, OUT_TEXT);
  cr_expect_eq(r.status, ST_ENOENT);
  cr_expect_not_null(strstr(r.error, "cannot open /nonexistent/trace.jsonl"));
  free(r.out);
}

/* A sink whose writes fail (a full disk) stops the session with its
 * message; what was written before stays. */
static int failing_write(st_sink *s, const st_event *ev) {
  static int n;
  if (++n > 3) {
    snprintf(s->error, sizeof s->error, "cannot write: no space left on device");
    return ST_ENOSPC;
  }
  return 0;
}
static void failing_close(st_sink *s) {
  free(s);
}
static const st_sink_ops failing_ops = {
    .name = "failing", .write = failing_write, .close = failing_close};

Test(pipeline, sink_failure_stops_cleanly) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session *s;
  st_session_new(&loop, &verbose, &s);
  st_backend *b;
  st_backend_replay_jsonl_new(DEMO, &b);
  st_session_set_backend(s, b);
  st_sink *bad = calloc(1, sizeof *bad);
  bad->ops = &failing_ops;
  st_session_add_sink(s, bad);
  st_collect col = {0};
  st_sink *c;
  st_sink_collect_new(&col, &c);
  st_session_add_sink(s, c);
  cr_assert_eq(st_session_start(s), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(s), ST_ENOSPC);
  cr_expect_str_eq(st_session_error(s), "cannot write: no space left on device");
  cr_expect(col.ended, "the other sinks were flushed and ended");
  st_session_free(s);
  cr_expect_eq(uv_loop_close(&loop), 0);
  st_collect_free(&col);
}

/* Events pushed from another thread arrive in order, and a full queue is
 * counted as loss rather than growing without bound. */
typedef struct pusher {
  st_session *s;
  int n;
} pusher;

static void push_thread(void *arg) {
  pusher *p = arg;
  for (int i = 0; i < p->n; i++) {
    st_event ev;
    st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CLOSE);
    ev.seq = (uint64_t)i;
    st_session_push(p->s, &ev);
  }
}

static int nop_open(st_backend *b, st_session *s) {
  return 0;
}
static int nop_start(st_backend *b) {
  return 0;
}
static void nop_close(st_backend *b) {
  free(b);
}
static const st_backend_ops nop_ops = {
    .name = "nop", .open = nop_open, .start = nop_start, .close = nop_close};

/* A session on a fresh loop with the do-nothing backend and a collecting
 * sink: the tests drive it by hand. */
static st_session *nop_session(uv_loop_t *loop, st_collect *col) {
  uv_loop_init(loop);
  st_session *s;
  cr_assert_eq(st_session_new(loop, &verbose, &s), 0);
  st_backend *b = calloc(1, sizeof *b);
  b->ops = &nop_ops;
  st_session_set_backend(s, b);
  st_sink *c;
  st_sink_collect_new(col, &c);
  st_session_add_sink(s, c);
  return s;
}

static void on_timer(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  st_session_stop(t->data);
}

Test(pipeline, push_from_threads) {
  uv_loop_t loop;
  st_collect col = {0};
  st_session *s = nop_session(&loop, &col);
  cr_assert_eq(st_session_start(s), 0);
  pusher p = {s, 10000};
  uv_thread_t th;
  uv_thread_create(&th, push_thread, &p);
  uv_thread_join(&th);
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  t.data = s;
  uv_timer_start(&t, on_timer, 10, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_assert_eq(col.count, 10000);
  for (size_t i = 0; i < col.count; i++)
    cr_assert_eq(col.events[i].seq, i);
  st_session_free(s);
  uv_loop_close(&loop);
  st_collect_free(&col);
}

Test(pipeline, report_lost_counts) {
  uv_loop_t loop;
  st_collect col = {0};
  st_session *s = nop_session(&loop, &col);
  st_session_start(s);
  st_session_report_lost(s, 17, ST_LOST_KERNEL_RING, 100, 200);
  st_session_report_lost(s, 0, ST_LOST_KERNEL_RING, 100, 200); /* nothing to say */
  st_session_stop(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_assert_eq(col.count, 1);
  cr_expect_eq(col.events[0].id, ST_EV_EVENTS_LOST);
  cr_expect_eq(col.events[0].lost.count, 17);
  cr_expect_eq(col.counters.lost, 17);
  st_session_free(s);
  uv_loop_close(&loop);
  st_collect_free(&col);
}
