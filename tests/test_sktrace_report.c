/* From a recorded .sktrace to the views a user reads: the demo trace goes
 * JSONL -> session -> .sktrace, then .sktrace -> session -> summary,
 * timeline, CSV and Chrome outputs compared with fixtures; and the CLI's
 * `replay x.sktrace` and `report` as a user runs them. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sktrace_testutil.h"
#include "socktrace/session.h"

#define CLI ST_BINARY_DIR "/socktrace"
#define FIX ST_SOURCE_DIR "/tests/fixtures/"

static char dir[] = "/tmp/st-sktr-XXXXXX";
static char trace[256];

typedef enum { V_SUMMARY, V_TIMELINE, V_CSV, V_CHROME, V_JSONL, V_TEXT } view;

/* Runs one file through a session into one sink; returns the output. */
static char *run(st_backend *b, view v, const char *sktrace_out, st_session **keep) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg = {.level = 5};
  st_session *s;
  cr_assert_eq(st_session_new(&loop, &cfg, &s), 0);
  /* The JSONL replay keeps this machine's name; pin it for fixtures. */
  snprintf(st_session_info(s)->host, sizeof st_session_info(s)->host, "demo-host");
  st_session_set_backend(s, b);
  st_sink *sink = NULL;
  st_summary_options so = {.longest = true};
  if (sktrace_out) {
    st_sktrace_options o = {.path = sktrace_out, .block_bytes = 4096};
    cr_assert_eq(st_sink_sktrace_new(&o, &sink), 0);
  } else if (v == V_SUMMARY) {
    st_sink_summary_new_opts(mem, &so, &sink);
  } else if (v == V_TIMELINE) {
    st_sink_timeline_new(mem, &sink);
  } else if (v == V_CSV) {
    st_sink_csv_new(mem, &sink);
  } else if (v == V_CHROME) {
    st_sink_chrome_new(mem, &sink);
  } else if (v == V_JSONL) {
    st_sink_jsonl_new(mem, &sink);
  } else {
    st_sink_text_new(mem, NULL, &sink);
  }
  st_session_add_sink(s, sink);
  cr_assert_eq(st_session_start(s), 0, "%s", st_session_error(s));
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_assert_eq(st_session_status(s), 0, "%s", st_session_error(s));
  if (keep)
    *keep = s;
  else
    st_session_free(s);
  cr_assert_eq(uv_loop_close(&loop), 0);
  fclose(mem);
  return out;
}

static void setup(void) {
  strcpy(dir, "/tmp/st-sktr-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(trace, sizeof trace, "%s/demo.sktrace", dir);
  st_backend *b;
  cr_assert_eq(st_backend_replay_jsonl_new(SKT_DEMO, &b), 0);
  free(run(b, V_TEXT, trace, NULL));
}

static void teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(sktrace_report, .init = setup, .fini = teardown);

static char *view_of_trace(view v) {
  st_backend *b;
  cr_assert_eq(st_backend_replay_sktrace_new(trace, &b), 0);
  return run(b, v, NULL, NULL);
}

static void expect_fixture(const char *got, const char *name) {
  char *want = st_test_read_file(name, NULL);
  cr_assert_not_null(want, "fixture %s", name);
  if (strcmp(got, want) != 0) {
    char actual[600];
    snprintf(actual, sizeof actual, "%s/%s.actual", ST_BINARY_DIR, strrchr(name, '/') + 1);
    FILE *f = fopen(actual, "w");
    if (f) {
      fputs(got, f);
      fclose(f);
    }
    cr_assert_fail("output differs from %s (actual output written to %s)", name, actual);
  }
  free(want);
}

Test(sktrace_report, replay_of_sktrace_equals_replay_of_jsonl) {
  char *got = view_of_trace(V_JSONL);
  expect_fixture(strchr(got, '\n') + 1, FIX "demo.out.jsonl");
  cr_expect_not_null(strstr(got, "\"host\":\"demo-host\""),
                     "the header comes from the recording: %.80s", got);
  free(got);
  got = view_of_trace(V_TEXT);
  expect_fixture(got, FIX "demo.txt");
  free(got);
}

Test(sktrace_report, summary_matches_fixture) {
  char *got = view_of_trace(V_SUMMARY);
  expect_fixture(got, FIX "demo.report.txt");
  free(got);
}

Test(sktrace_report, timeline_matches_fixture) {
  char *got = view_of_trace(V_TIMELINE);
  expect_fixture(got, FIX "demo.timeline.txt");
  free(got);
}

Test(sktrace_report, csv_matches_fixture) {
  char *got = view_of_trace(V_CSV);
  expect_fixture(got, FIX "demo.csv");
  free(got);
}

Test(sktrace_report, chrome_matches_fixture_and_is_a_valid_trace) {
  char *got = view_of_trace(V_CHROME);
  expect_fixture(got, FIX "demo.chrome.json");
  json_error_t err;
  json_t *root = json_loads(got, 0, &err);
  cr_assert_not_null(root, "valid JSON: %s (line %d)", err.text, err.line);
  json_t *evs = json_object_get(root, "traceEvents");
  cr_assert(json_is_array(evs));
  size_t i, slices = 0, instants = 0, threads = 0, procs = 0;
  json_t *e;
  json_array_foreach(evs, i, e) {
    const char *ph = json_string_value(json_object_get(e, "ph"));
    cr_assert_not_null(ph);
    cr_assert(json_is_integer(json_object_get(e, "pid")), "every event has a pid");
    if (strcmp(ph, "X") == 0) {
      slices++;
      cr_assert(json_is_number(json_object_get(e, "dur")));
      cr_assert(json_is_integer(json_object_get(e, "tid")));
    } else if (strcmp(ph, "i") == 0) {
      instants++;
      cr_assert(json_is_object(json_object_get(e, "args")));
    } else if (strcmp(ph, "M") == 0) {
      const char *n = json_string_value(json_object_get(e, "name"));
      threads += strcmp(n, "thread_name") == 0;
      procs += strcmp(n, "process_name") == 0;
    }
  }
  cr_expect_eq(instants, 47, "one instant per event");
  cr_expect_eq(slices, 8, "one lifetime slice per socket");
  cr_expect_eq(threads, 8, "one named track per socket");
  cr_expect_eq(procs, 3, "curl, demo-server, dig");
  json_decref(root);
  free(got);
}

/* ---- the CLI ---- */

Test(sktrace_report, cli_records_replays_and_reports) {
  char args[1024], rec[300];
  snprintf(rec, sizeof rec, "%s/cli.sktrace", dir);
  snprintf(args, sizeof args, "replay " SKT_DEMO " -o %s", rec);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_expect_str_eq(r.out, "");

  snprintf(args, sizeof args, "replay %s -f text", rec);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  char *want = st_test_read_file(FIX "demo.txt", NULL);
  cr_expect_str_eq(r.out, want);
  free(want);

  snprintf(args, sizeof args, "report %s", rec);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  want = st_test_read_file(FIX "demo.report.txt", NULL);
  cr_expect_str_eq(r.out, want, "report's default is the summary");
  free(want);

  snprintf(args, sizeof args, "report %s --port 9 -f csv", rec);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  cr_expect_eq(st_test_lines(r.out), 5, "header + the 4 events of the refused connect: %s", r.out);

  char json[300];
  snprintf(json, sizeof json, "%s/out.json", dir);
  snprintf(args, sizeof args, "report %s -f chrome -o %s", rec, json);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  json_error_t err;
  json_t *root = json_load_file(json, 0, &err);
  cr_expect_not_null(root, "%s", err.text);
  json_decref(root);

  snprintf(args, sizeof args, "report %s --timeline", rec);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  want = st_test_read_file(FIX "demo.timeline.txt", NULL);
  cr_expect_str_eq(r.out, want);
  free(want);

  snprintf(args, sizeof args, "replay - -f jsonl < %s", rec);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "%s %s | tail -n +2 | cmp -s - " FIX "demo.out.jsonl", CLI, args);
  cr_expect_eq(system(cmd), 0, "standard input is sniffed too");
}

Test(sktrace_report, cli_damaged_trace_one_line_exit_1_rest_read) {
  char args[1024], rec[300];
  snprintf(rec, sizeof rec, "%s/big.sktrace", dir);
  size_t n = 3000;
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.block_bytes = 4096};
  cr_assert_eq(skt_write(opt, rec, evs, n, NULL), 0);
  free(evs);
  long offs[256];
  size_t nb = skt_block_offsets(rec, offs, 256, NULL);
  FILE *f = fopen(rec, "r+b");
  fseek(f, offs[1] + 40, SEEK_SET);
  fputc(0xff, f);
  fclose(f);
  cr_assert_eq(truncate(rec, offs[nb - 1] + 77), 0);

  snprintf(args, sizeof args, "report %s -f jsonl", rec);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 1);
  cr_expect_eq(st_test_lines(r.err), 1, "one line: %s", r.err);
  char want[600];
  snprintf(want, sizeof want,
           "socktrace: 2 bad records skipped; first: %s: corrupt block at offset %ld", rec,
           offs[1]);
  cr_expect(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
  /* Both problems are DecodeError events in the output, in place. */
  cr_expect_not_null(strstr(r.out, "\"name\":\"DecodeError\""));
  cr_expect_not_null(strstr(r.out, "trace truncated: 77 bytes"), "%s", r.out);
  cr_expect_gt(st_test_lines(r.out), 2000, "the rest is read");
}

Test(sktrace_report, cli_replay_into_a_trace_keeps_every_event) {
  /* Far more events than the writer's queue holds: a replayed file is read
   * as fast as the disk allows, and the writer makes it wait, never drops. */
  char args[1024], rec[300], out[300];
  snprintf(rec, sizeof rec, "%s/many.sktrace", dir);
  snprintf(out, sizeof out, "%s/copy.sktrace", dir);
  size_t n = 100000;
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.wait_when_full = true};
  cr_assert_eq(skt_write(opt, rec, evs, n, NULL), 0);
  free(evs);
  snprintf(args, sizeof args, "replay %s -o %s", rec, out);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  skt_read_result got = skt_read(out);
  cr_expect_eq(got.problems, 0, "%s", got.all_problems);
  cr_expect_eq(got.n, n, "no event dropped, no EventsLost record");
  free(got.events);
}

Test(sktrace_report, cli_options_and_usage_errors) {
  const char *bad[] = {"report",
                       "report a b",
                       "report " SKT_DEMO " -f xml",
                       "report " SKT_DEMO " --max-size 1K",
                       "report " SKT_DEMO " --max-files 0",
                       "report " SKT_DEMO " -f jsonl --timeline"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    st_cli_result r = st_test_cli(bad[i]);
    cr_expect_eq(r.code, 2, "%s -> %d", bad[i], r.code);
    cr_expect_eq(st_test_lines(r.err), 1, "%s: %s", bad[i], r.err);
  }
  st_cli_result r = st_test_cli("replay " SKT_DEMO " -o /nonexistent-dir/x.sktrace");
  cr_expect_eq(r.code, 1);
  cr_expect_str_eq(
      r.err, "socktrace: cannot create /nonexistent-dir/x.sktrace: no such file or directory\n");
  r = st_test_cli("--help");
  cr_expect_not_null(strstr(r.out, "socktrace report [OPTIONS] FILE"));
  cr_expect_not_null(strstr(r.out, "--max-size"));
}
