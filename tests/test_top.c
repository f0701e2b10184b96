/*
 * `socktrace top` without a terminal: the model's counting (connect
 * outcomes and latency percentiles per interval, resets once, a frozen
 * view keeps its interval), and batch mode's exact rows for the demo
 * recording replayed, the same as fast as it reads and at its own pace,
 * as a table and as JSON Lines.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "top_model.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"
#define MS 1000000ull
#define T0 1795634473000000000ull

static st_event connect_ev(uint64_t ts, uint64_t ep, int ee, uint8_t code, uint32_t pid,
                           const char *comm) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.ts_ns = ts;
  ev.endpoint = ep;
  ev.enter_exit = (uint8_t)ee;
  ev.pid = pid;
  snprintf(ev.comm, sizeof ev.comm, "%s", comm);
  ev.has = ST_HAS_REMOTE | ST_HAS_FAMILY;
  ev.family = ST_FAMILY_INET;
  st_addr_parse_ip("10.0.0.9", &ev.remote);
  ev.remote.port = 443;
  if (ee != ST_EE_ENTER) {
    ev.has |= ST_HAS_STATUS;
    ev.status.code = code;
  }
  return ev;
}

/* 100 connects of 1..100 ms in the first second, 2 refused in the next:
 * p50 is 50 ms and p99 99 ms (nearest rank), and each interval counts only
 * its own. */
Test(top, intervals_count_connects_and_their_latency) {
  st_top_model m;
  st_top_init(&m, 1000 * MS);
  for (uint64_t i = 1; i <= 100; i++) {
    st_event a = connect_ev(T0 + i * MS, i, ST_EE_ENTER, 0, 7, "curl");
    st_event b = connect_ev(T0 + i * MS + i * MS, i, ST_EE_EXIT, ST_OK, 7, "curl");
    cr_assert_eq(st_top_add(&m, &a, NULL), 0);
    cr_assert_eq(st_top_add(&m, &b, NULL), 0);
  }
  cr_assert(st_top_due(&m, T0 + 1001 * MS));
  st_top_close(&m);
  for (uint64_t i = 1; i <= 2; i++) {
    st_event a = connect_ev(T0 + 1100 * MS + i, 1000 + i, ST_EE_ENTER, 0, 8, "wget");
    st_event b = connect_ev(T0 + 1100 * MS + 2 * i, 1000 + i, ST_EE_EXIT, ST_REFUSED, 8, "wget");
    st_top_add(&m, &a, NULL);
    st_top_add(&m, &b, NULL);
  }
  st_top_row *rows, total;
  int n = st_top_rows(&m, ST_TOP_PROCESS, &rows, &total);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(rows[0].key, "curl");
  cr_assert_eq(rows[0].pid, 7);
  cr_assert_eq(rows[0].n.connects, 100);
  cr_assert_eq(rows[0].n.ok, 100);
  cr_assert_eq(rows[0].latencies, 100);
  cr_assert_eq(rows[0].p50_us, 50000);
  cr_assert_eq(rows[0].p99_us, 99000);
  free(rows);
  st_top_close(&m);
  n = st_top_rows(&m, ST_TOP_REMOTE, &rows, &total);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(rows[0].key, "10.0.0.9:443");
  cr_assert_eq(rows[0].n.connects, 2);
  cr_assert_eq(rows[0].n.failed[ST_REFUSED], 2);
  cr_assert_eq(rows[0].latencies, 0, "refused connects are not timed");
  char why[64];
  cr_assert_eq(st_top_failures(&rows[0].n, why, sizeof why), 2);
  cr_assert_str_eq(why, "refused 2");
  free(rows);
  st_top_free(&m);
}

/* A frozen view keeps the interval it shows while later ones are counted
 * in the totals only; a fleet's events group by their host. */
Test(top, a_frozen_view_keeps_its_interval_and_hosts_group) {
  st_top_model m;
  st_top_init(&m, 1000 * MS);
  st_event a = connect_ev(T0, 1, ST_EE_ENTER, 0, 7, "curl");
  st_top_add(&m, &a, "web1");
  st_top_close(&m);
  m.hold = true;
  st_event b = connect_ev(T0 + 1500 * MS, 1, ST_EE_ENTER, 0, 7, "curl");
  st_top_add(&m, &b, "web2");
  st_event c = connect_ev(T0 + 1500 * MS, 1, ST_EE_ENTER, 0, 7, "curl");
  st_top_add(&m, &c, "web2");
  st_top_close(&m);
  st_top_row *rows, total;
  int n = st_top_rows(&m, ST_TOP_HOST, &rows, &total);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(rows[0].key, "web1");
  cr_assert_eq(m.events, 3);
  cr_assert_eq(m.intervals, 2);
  free(rows);
  m.hold = false;
  st_event d = connect_ev(T0 + 2500 * MS, 5, ST_EE_ENTER, 0, 7, "curl");
  st_top_add(&m, &d, "web2");
  st_top_close(&m);
  n = st_top_rows(&m, ST_TOP_HOST, &rows, &total);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(rows[0].key, "web2");
  cr_assert_eq(rows[0].n.connects, 1, "the socket's connect on web2 is its own");
  free(rows);
  st_top_free(&m);
}

/* Batch mode on the demo recording: its exact table, interval by interval
 * (1 ms each), with the summary's numbers summed over them. */
static void expect_batch(const char *args, const char *expected_file, const char *speed_words) {
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s: %s", args, r.err);
  const char *file = expected_file ? expected_file : ST_SOURCE_DIR "/tests/fixtures/demo.top.txt";
  char *want = st_test_read_file(file, NULL);
  cr_assert_not_null(want, "cannot read %s", file);
  /* The source names the file as it was given. */
  char *got = calloc(1, strlen(r.out) + 1);
  const char *p = r.out;
  char *o = got;
  for (const char *hit; (hit = strstr(p, DEMO));) {
    memcpy(o, p, (size_t)(hit - p));
    o += hit - p;
    o += sprintf(o, "demo.jsonl");
    p = hit + strlen(DEMO);
  }
  strcpy(o, p);
  if (speed_words) { /* a paced run says its speed */
    char *s;
    while ((s = strstr(got, speed_words))) {
      const char *as0 = "(speed 0: as fast as it reads)";
      size_t n = strlen(speed_words), m = strlen(as0);
      memmove(s + m, s + n, strlen(s + n) + 1);
      memcpy(s, as0, m);
    }
  }
  cr_assert_str_eq(got, want, "got:\n%s", got);
  free(got);
  free(want);
  st_cli_result_free(&r);
}

Test(top, batch_table_of_a_recording_is_exact) {
  expect_batch("top -b -d 0.001 --speed 0 " DEMO, NULL, NULL);
}

Test(top, batch_rows_are_the_same_at_the_recordings_pace) {
  expect_batch("top -b -d 0.001 --speed 1 " DEMO, NULL, "(speed 1)");
}

Test(top, batch_jsonl_is_one_object_per_row_per_interval) {
  expect_batch("top -b -f jsonl -d 0.001 --speed 0 " DEMO,
               ST_SOURCE_DIR "/tests/fixtures/demo.top.jsonl", NULL);
}

/* Sorting and grouping from the command line; -n stops after N. */
Test(top, sort_group_and_iterations) {
  st_cli_result r =
      st_test_cli("top -b -f jsonl -d 0.001 --speed 0 -n 2 -g remote --sort out " DEMO);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert_eq(st_test_lines(r.out), 3, "%s", r.out);
  const char *first = strstr(r.out, "\"remote\":\"127.0.0.1:*\"");
  const char *second = strstr(r.out, "\"remote\":\"127.0.0.1:8080\"");
  cr_assert(first && second && first < second, "largest OUT first: %s", r.out);
  st_cli_result_free(&r);
}

Test(top, bad_options_say_what_is_wrong) {
  st_cli_result r = st_test_cli("top -b --sort cpu " DEMO);
  cr_assert_eq(r.code, 2);
  cr_assert_not_null(strstr(r.err, "bad --sort 'cpu'"), "%s", r.err);
  st_cli_result_free(&r);
  r = st_test_cli("top -b -f csv " DEMO);
  cr_assert_eq(r.code, 2);
  cr_assert_not_null(strstr(r.err, "not -f csv"), "%s", r.err);
  st_cli_result_free(&r);
  r = st_test_cli("top -b --speed 2");
  cr_assert_eq(r.code, 2);
  cr_assert_not_null(strstr(r.err, "--speed is for a recorded FILE"), "%s", r.err);
  st_cli_result_free(&r);
  r = st_test_cli("top -b --session no-such-session --control-dir /nonexistent");
  cr_assert_eq(r.code, 1);
  cr_assert_not_null(strstr(r.err, "no session no-such-session is running"), "%s", r.err);
  st_cli_result_free(&r);
}
