/* The socktrace command line as a user runs it: exit codes, one-line
 * errors, and the README's replay examples. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"

Test(cli, help_and_version) {
  st_cli_result r = st_test_cli("--help");
  cr_expect_eq(r.code, 0);
  cr_expect_not_null(strstr(r.out, "socktrace run [OPTIONS] -- CMD"));
  cr_expect_not_null(strstr(r.out, "--summary"));
  r = st_test_cli("--version");
  cr_expect_eq(r.code, 0);
  /* The version, then what this build reads and traces with. */
  cr_expect_eq(strncmp(r.out, "socktrace " ST_VERSION "\n", strlen("socktrace " ST_VERSION "\n")),
               0, "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\nlive backends:"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\nfile readers: "), "%s", r.out);
  cr_expect_not_null(strstr(r.out, " sktrace (an .sktrace)"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\n.sktrace format: reads 1.0-1.3 and 2.0-2.1 (zstd-compressed "
                                   "blocks); writes 2.1 (zstd level 1 by default), 1.3 with "
                                   "--compress none\n"),
                     "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\ncompressed inputs: gzip, zstd, xz"), "%s", r.out);
  r = st_test_cli("");
  cr_expect_eq(r.code, 2, "no command is a usage error");
}

Test(cli, replay_text_and_jsonl) {
  st_cli_result r = st_test_cli("replay " DEMO " -f text");
  cr_expect_eq(r.code, 0, "%s", r.err);
  char *want = st_test_read_file(ST_SOURCE_DIR "/tests/fixtures/demo.txt", NULL);
  cr_expect_str_eq(r.out, want);
  free(want);
  r = st_test_cli("replay " DEMO " -f jsonl");
  cr_expect_eq(r.code, 0);
  want = st_test_read_file(ST_SOURCE_DIR "/tests/fixtures/demo.out.jsonl", NULL);
  cr_expect_str_eq(strchr(r.out, '\n') + 1, want);
  free(want);
}

Test(cli, replay_summary) {
  st_cli_result r = st_test_cli("replay " DEMO " --summary -q");
  cr_expect_eq(r.code, 0);
  char *want = st_test_read_file(ST_SOURCE_DIR "/tests/fixtures/demo.summary.txt", NULL);
  cr_expect_str_eq(r.out, want);
  free(want);
}

Test(cli, output_file) {
  char path[] = "/tmp/st-cli-o-XXXXXX";
  close(mkstemp(path));
  char args[256];
  snprintf(args, sizeof args, "replay " DEMO " -f jsonl -o %s", path);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0);
  cr_expect_str_eq(r.out, "");
  char *got = st_test_read_file(path, NULL);
  cr_expect_eq(st_test_lines(got), 48);
  free(got);
  unlink(path);
}

/* -q quiets the terminal only: the file -o names still gets every event,
 * and --summary's table still reaches the terminal. */
Test(cli, quiet_output_file_still_gets_the_events) {
  char path[] = "/tmp/st-cli-q-XXXXXX";
  close(mkstemp(path));
  char args[256];
  snprintf(args, sizeof args, "replay " DEMO " -q --summary -f jsonl -o %s", path);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0);
  cr_expect(strstr(r.out, "socktrace summary:") != NULL, "no summary on the terminal: %s", r.out);
  char *got = st_test_read_file(path, NULL);
  cr_expect_eq(st_test_lines(got), 48);
  free(got);
  unlink(path);
}

/* replay of a JSON Lines file holding text. */
static st_cli_result replay_text(const char *text) {
  char path[] = "/tmp/st-cli-bad-XXXXXX";
  FILE *f = fdopen(mkstemp(path), "w");
  fputs(text, f);
  fclose(f);
  char args[256];
  snprintf(args, sizeof args, "replay %s", path);
  st_cli_result r = st_test_cli(args);
  unlink(path);
  return r;
}

#define CREATE_LINE "{\"ts_ns\":1,\"provider\":\"afd\",\"id\":1000,\"pid\":3,\"comm\":\"x\"}\n"
#define CLOSE_LINE "{\"ts_ns\":2,\"provider\":\"afd\",\"id\":1001,\"pid\":3,\"comm\":\"x\"}\n"

Test(cli, malformed_input_one_line_nonzero_rest_processed) {
  st_cli_result r = replay_text(CREATE_LINE "garbage\n" CLOSE_LINE);
  cr_expect_eq(r.code, 1);
  cr_expect_eq(st_test_lines(r.err), 1, "one line: %s", r.err);
  cr_expect_not_null(strstr(r.err, "line 2"), "%s", r.err);
  cr_expect_not_null(strstr(r.out, "AfdCreate"));
  cr_expect_not_null(strstr(r.out, "AfdClose"));
}

Test(cli, usage_errors_are_one_line_exit_2) {
  const char *bad[] = {"replay " DEMO " --port 99999",
                       "replay " DEMO " -l 9",
                       "replay " DEMO " -e AfdNope",
                       "replay " DEMO " -f xml",
                       "replay " DEMO " --host nohost",
                       "replay",
                       "frobnicate",
                       "replay " DEMO " -k bogus"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    st_cli_result r = st_test_cli(bad[i]);
    cr_expect_eq(r.code, 2, "%s -> %d", bad[i], r.code);
    cr_expect_eq(st_test_lines(r.err), 1, "%s: %s", bad[i], r.err);
    cr_expect(strncmp(r.err, "socktrace: ", 11) == 0, "%s", r.err);
  }
}

Test(cli, missing_file_one_line_exit_1) {
  st_cli_result r = st_test_cli("replay /nonexistent.jsonl");
  cr_expect_eq(r.code, 1);
  cr_expect_str_eq(r.err, "socktrace: cannot open /nonexistent.jsonl: no such file or directory\n");
}

Test(cli, events_list) {
  st_cli_result r = st_test_cli("events");
  cr_expect_eq(r.code, 0);
  cr_expect_not_null(strstr(r.out, "afd       1018   4     AfdConnectWithAddress"));
  cr_expect_not_null(strstr(r.out, "ext       5900   2     EventsLost"));
}

Test(cli, filters_on_the_command_line) {
  st_cli_result r = st_test_cli("replay " DEMO " --port 9 -f text");
  cr_expect_eq(r.code, 0);
  cr_expect_eq(st_test_lines(r.out), 4, "%s", r.out);
  r = st_test_cli("replay " DEMO " -e AfdAbort,TcpResetSent");
  cr_expect_eq(st_test_lines(r.out), 3, "%s", r.out);
}

/* Runs args and expects exit code and the fixture's text on stdout, with
 * the source tree's path taken out of the output. */
static void expect_output(const char *args, int code, const char *fixture) {
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, code, "%s: %s", args, r.err);
  const char *root = ST_SOURCE_DIR "/";
  for (char *p; (p = strstr(r.out, root));)
    memmove(p, p + strlen(root), strlen(p + strlen(root)) + 1);
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/%s", ST_SOURCE_DIR, fixture);
  char *want = st_test_read_file(path, NULL);
  cr_expect_str_eq(r.out, want, "%s", fixture);
  free(want);
  st_cli_result_free(&r);
}

/* The summary in markdown, for CI job summaries. */
Test(cli, report_markdown_matches_fixture) {
  expect_output("report " DEMO " -f markdown", 0, "demo.summary.md");
}

#define CHANGED ST_SOURCE_DIR "/tests/fixtures/demo.changed.jsonl"

Test(cli, diff_of_a_trace_with_itself_is_empty) {
  st_cli_result r = st_test_cli("diff " DEMO " " DEMO);
  cr_expect_eq(r.code, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "A and B tell the same story: 6 stories, no differences"), "%s",
                     r.out);
  st_cli_result_free(&r);
}

/* demo.changed.jsonl is the demo from another run (other pids and
 * ephemeral ports) where the refused connect timed out, the client sent
 * 500 bytes instead of 5, and 3 events were lost. */
Test(cli, diff_markdown_matches_fixture) {
  expect_output("diff -f markdown " DEMO " " CHANGED, 1, "demo.diff.md");
}

Test(cli, diff_says_loss_first_and_takes_a_tolerance) {
  st_cli_result r = st_test_cli("diff --color always --bytes-tolerance 600 " DEMO " " CHANGED);
  cr_expect_eq(r.code, 1, "%s", r.err);
  const char *loss = strstr(r.out, "B lost 3 events (kernel_ring)"),
             *table = strstr(r.out, "CHANGE");
  cr_assert(loss && table, "%s", r.out);
  cr_expect_lt(loss, table, "the loss comes before the changes:\n%s", r.out);
  cr_expect_null(strstr(r.out, "bytes"), "within the tolerance:\n%s", r.out);
  cr_expect_not_null(strstr(r.out, "\x1b[33m  outcome"), "changes in colour:\n%s", r.out);
  st_cli_result_free(&r);
  r = st_test_cli("diff -f jsonl --bytes-tolerance 5% " DEMO " " CHANGED);
  cr_expect_eq(st_test_lines(r.out), 4, "a header and three changes:\n%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"lost\":3,\"lost_where\":\"kernel_ring\""), "%s", r.out);
  st_cli_result_free(&r);
}

Test(cli, diff_bad_input_is_one_line_exit_2) {
  const char *bad[] = {"diff " DEMO " /nonexistent.jsonl",
                       "diff " DEMO " " ST_SOURCE_DIR "/README.md",
                       "diff " DEMO,
                       "diff -f xml " DEMO " " DEMO,
                       "diff --bytes-tolerance lots " DEMO " " DEMO,
                       "diff " DEMO " /dev/null"};
  const char *names[] = {"/nonexistent.jsonl", "README.md", "two traces", "xml", "lots",
                         "/dev/null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    st_cli_result r = st_test_cli(bad[i]);
    cr_expect_eq(r.code, 2, "%s -> %d", bad[i], r.code);
    cr_expect_eq(st_test_lines(r.err), 1, "%s: %s", bad[i], r.err);
    cr_expect_not_null(strstr(r.err, names[i]), "%s: %s", bad[i], r.err);
    cr_expect_str_eq(r.out, "", "%s", bad[i]);
    st_cli_result_free(&r);
  }
}

Test(cli, fail_on_a_recording) {
  st_cli_result r = st_test_cli("replay -q --fail-on refused " DEMO);
  cr_expect_eq(r.code, 3, "%s", r.err);
  cr_expect_str_eq(r.err, "socktrace: sockets ended as --fail-on lists: curl -> 127.0.0.1:9 "
                          "refused 1\n");
  st_cli_result_free(&r);
  r = st_test_cli("replay -q --fail-on timed_out,dns,not_found " DEMO);
  cr_expect_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  r = st_test_cli("replay -q --fail-on ok " DEMO);
  cr_expect_eq(r.code, 2, "%s", r.err);
  st_cli_result_free(&r);
}

/* The registry picks a file's reader by content before name: the same
 * output whatever the file is called, and from standard input. */
static char *replay_out(const char *in, const char *path) {
  char args[1024];
  snprintf(args, sizeof args, "replay %s -f jsonl", path);
  st_cli_result r = in ? st_test_cli_stdin(in, args) : st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s: %s", path, r.err);
  free(r.err);
  char *nl = r.out ? strchr(r.out, '\n') : NULL; /* the header names this run */
  char *body = strdup(nl ? nl + 1 : "");
  free(r.out);
  return body;
}

static void expect_same_by_content(const char *path, const char *alias) {
  unlink(alias);
  cr_assert_eq(symlink(path, alias), 0);
  char *want = replay_out(NULL, path), *got = replay_out(NULL, alias);
  cr_expect_str_eq(got, want, "%s read as %s", alias, path);
  cr_expect_gt(strlen(want), 0);
  free(want);
  free(got);
  unlink(alias);
}

/* Outputs are made owner-only (0600), but only files: `-o /dev/null` or a
 * FIFO keeps its mode (a chmod of /dev/null locks every other user out).
 * A FIFO with a reader stands in for /dev/null. */
Test(cli, output_that_is_not_a_file_keeps_its_mode) {
  char dir[] = "/tmp/st-cli-fifo-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  const char *names[] = {"events", "events.sktrace"};
  for (size_t i = 0; i < 2; i++) {
    char fifo[300], args[600], cmd[700];
    snprintf(fifo, sizeof fifo, "%s/%s", dir, names[i]);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    cr_assert_eq(chmod(fifo, 0644), 0);
    snprintf(cmd, sizeof cmd, "cat %s > %s/read.%zu &", fifo, dir, i);
    cr_assert_eq(system(cmd), 0);
    snprintf(args, sizeof args, "replay " DEMO " -o %s", fifo);
    st_cli_result r = st_test_cli(args);
    cr_expect_eq(r.code, 0, "%s: %s", args, r.err);
    struct stat sb;
    cr_assert_eq(stat(fifo, &sb), 0);
    cr_expect_eq(sb.st_mode & 0777, 0644, "%s: mode %o", names[i], sb.st_mode & 0777);
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

Test(cli, registry_reads_by_content_and_from_stdin) {
  char dir[] = "/tmp/st-cli-reg-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char sk[300], alias[300], args[600];
  snprintf(sk, sizeof sk, "%s/demo.sktrace", dir);
  snprintf(args, sizeof args, "replay " DEMO " -o %s", sk);
  cr_assert_eq(st_test_cli(args).code, 0);
  snprintf(alias, sizeof alias, "%s/demo.data", dir);
  expect_same_by_content(DEMO, alias);
  expect_same_by_content(sk, alias);
  char *want = replay_out(NULL, DEMO);
  char *a = replay_out(DEMO, "-"), *b = replay_out(sk, "-");
  cr_expect_str_eq(a, want, "JSON Lines on standard input");
  cr_expect_str_eq(b, want, ".sktrace on standard input (by its magic)");
  free(want);
  free(a);
  free(b);
  unlink(sk);
  rmdir(dir);
}

Test(cli, registry_reads_captures_and_etl_by_content) {
  ST_REQUIRE_FIXTURES();
  char pcap[512], etl[512];
  snprintf(pcap, sizeof pcap, "%s", st_test_fixture("pcap/tcp-handshake-nano.pcap"));
  snprintf(etl, sizeof etl, "%s", st_test_fixture("etl/AMSITrace.etl"));
  /* A directory of its own: other checkouts may run this test at once. */
  char dir[] = "/tmp/st-cli-reg-XXXXXX", alias[300];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(alias, sizeof alias, "%s/capture.bin", dir);
  expect_same_by_content(pcap, alias);
  snprintf(alias, sizeof alias, "%s/trace.bin", dir);
  expect_same_by_content(etl, alias);
  rmdir(dir);
}

Test(cli, registry_names_that_promise_other_content) {
  char path[] = "/tmp/st-cli-reg-XXXXXX.etl";
  int fd = mkstemps(path, 4);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "not an etl file\n", 16), 16);
  close(fd);
  char args[300];
  snprintf(args, sizeof args, "replay %s", path);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 1);
  char want[400];
  snprintf(want, sizeof want,
           "socktrace: %s: not a readable .etl file (no trace header buffer at its start)\n", path);
  cr_expect_str_eq(r.err, want);
  unlink(path);
}

/* --stats=json: the counters as one JSON object, the last line on stderr. */
Test(cli, stats_as_json) {
  st_cli_result r = st_test_cli("replay " DEMO " -f null --stats=json --port 8080");
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  json_error_t e;
  json_t *o = json_loads(r.err, 0, &e);
  cr_assert_not_null(o, "%s: %s", e.text, r.err);
  json_int_t seen = json_integer_value(json_object_get(o, "seen"));
  json_int_t shown = json_integer_value(json_object_get(o, "shown"));
  json_int_t filtered = json_integer_value(json_object_get(o, "filtered"));
  cr_expect_eq(seen, 47);
  cr_expect_eq(shown + filtered, seen);
  cr_expect_gt(filtered, 0, "--port filtered some");
  cr_expect_eq(json_integer_value(json_object_get(o, "lost")), 0);
  json_t *b = json_object_get(o, "backend");
  cr_expect_str_eq(json_string_value(json_object_get(b, "name")), "replay-jsonl");
  cr_expect_eq(json_integer_value(json_object_get(b, "events")), 47);
  json_decref(o);
  st_cli_result_free(&r);
  r = st_test_cli("replay " DEMO " --stats=yaml");
  cr_expect_eq(r.code, 2);
  cr_expect_str_eq(r.err, "socktrace: bad --stats 'yaml' (use --stats or --stats=json)\n");
  st_cli_result_free(&r);
}

/* ---- files that are no trace at all: one line, exit 1, nothing read */

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  cr_assert_eq(fwrite(p, 1, n, f), n);
  fclose(f);
}

static void expect_not_a_trace(const char *cmd, const char *path, const char *stdin_from,
                               const char *what) {
  char args[600];
  snprintf(args, sizeof args, "%s %s", cmd, path);
  st_cli_result r = stdin_from ? st_test_cli_stdin(stdin_from, args) : st_test_cli(args);
  cr_expect_eq(r.code, 1, "%s: exit %d", args, r.code);
  cr_expect_eq(st_test_lines(r.err), 1, "%s: one line: %s", args, r.err);
  cr_expect_not_null(strstr(r.err, "not a trace socktrace reads (it looked for a pcap or pcapng "
                                   "capture"),
                     "%s: %s", args, r.err);
  cr_expect_not_null(strstr(r.err, what), "%s: says '%s': %s", args, what, r.err);
  cr_expect_str_eq(r.out, "", "%s: nothing read, no summary", args);
  st_cli_result_free(&r);
}

Test(cli, files_that_are_no_trace_say_so_in_one_line) {
  char dir[] = "/tmp/st-cli-foreign-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[400], cmd[1200];
  static uint8_t noise[100000];
  srand(7);
  for (size_t i = 0; i < sizeof noise; i++)
    noise[i] = (uint8_t)rand();
  noise[0] = 0x93; /* no magic by chance */
  static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                'I',  'H', 'D', 'R', 0,    0,    0,    1,    0, 0, 0, 1};
  static const uint8_t zip[30] = {'P', 'K', 3, 4, 20};
  const struct {
    const char *name;
    const void *bytes;
    size_t len;
    const char *what;
  } files[] = {
      {"noise.bin", noise, sizeof noise, "this is binary data starting 93 "},
      {"trace.jsonl", "", 0, "this is empty"},
      {"picture.png", png, sizeof png, "this is a PNG image"},
      {"trace.zip", zip, sizeof zip, "this is a zip archive: extract the trace from it first"},
      {"trace.json", "[\n {\"id\": 1000}\n]\n", 18, "this is a JSON array, not JSON Lines"},
      {"pretty.json", "{\n  \"id\": 1000\n}\n", 16, "JSON whose first line is not a whole object"},
      {"trace.csv", "ts,provider,id\n", 15, "this is text starting \"ts,provider,id\""},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
    write_bytes(path, files[i].bytes, files[i].len);
    expect_not_a_trace("report", path, NULL, files[i].what);
    expect_not_a_trace("replay", path, NULL, files[i].what);
    unlink(path);
  }
  /* gzip'd text that is no trace (a gzip'd trace reads: test_zinput.c),
   * and an executable */
  snprintf(path, sizeof path, "%s/trace.csv.gz", dir);
  snprintf(cmd, sizeof cmd, "printf 'ts,provider,id\\n' | gzip -c > %s", path);
  cr_assert_eq(system(cmd), 0);
  expect_not_a_trace("report", path, NULL,
                     "this is gzip data holding text starting \"ts,provider,id\"");
  expect_not_a_trace("replay", "-", path,
                     "this is gzip data holding text starting \"ts,provider,id\"");
  unlink(path);
  snprintf(path, sizeof path, "%s/socktrace", ST_BINARY_DIR);
  expect_not_a_trace("report", path, NULL, "this is an ELF executable");
  expect_not_a_trace("replay", "-", "/dev/null", "this is empty");
  rmdir(dir);
}

/* How much must look like JSON Lines: the first non-blank line a JSON
 * object (after a UTF-8 byte-order mark); bad lines after it are each
 * reported and the rest is read, as before. */
Test(cli, json_lines_with_a_mark_and_bad_lines_still_read) {
  st_cli_result r = replay_text("\xef\xbb\xbf\n\n" CREATE_LINE "\x89PNG not an event\n" CLOSE_LINE);
  cr_expect_eq(r.code, 1);
  cr_expect_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_expect_not_null(strstr(r.err, "1 bad record skipped; first: "), "%s", r.err);
  cr_expect_not_null(strstr(r.err, "line 4"), "%s", r.err);
  cr_expect_not_null(strstr(r.out, "AfdCreate"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "AfdClose"));
  st_cli_result_free(&r);
}

/* --compress on -o FILE.sktrace: the default and zstd:LEVEL write 2.0
 * files with compressed blocks, none a 1.2 file; each replays as the demo;
 * a bad value is a usage error in one line. */
Test(cli, compress_option_on_sktrace_outputs) {
  char dir[] = "/tmp/st-cli-compress-XXXXXX", args[512], path[300];
  cr_assert_not_null(mkdtemp(dir));
  static const struct {
    const char *opt;
    uint8_t major, minor;
  } cases[] = {{"", 2, 1}, {"--compress zstd:9", 2, 1}, {"--compress none", 1, 3}};
  st_cli_result want = st_test_cli("replay " DEMO " -f jsonl");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(path, sizeof path, "%s/t%zu.sktrace", dir, i);
    snprintf(args, sizeof args, "replay " DEMO " -q %s -o %s", cases[i].opt, path);
    st_cli_result r = st_test_cli(args);
    cr_assert_eq(r.code, 0, "%s: %s", args, r.err);
    st_cli_result_free(&r);
    size_t len;
    uint8_t *data = (uint8_t *)st_test_read_file(path, &len);
    cr_assert(data && len > 12);
    cr_expect_eq(data[8], cases[i].major, "%s", args);
    cr_expect_eq(data[10], cases[i].minor, "%s", args);
    free(data);
    snprintf(args, sizeof args, "replay %s -f jsonl", path);
    r = st_test_cli(args);
    cr_expect_eq(r.code, 0, "%s", r.err);
    cr_expect_str_eq(strchr(r.out, '\n') + 1, strchr(want.out, '\n') + 1, "%s", cases[i].opt);
    st_cli_result_free(&r);
    unlink(path);
  }
  st_cli_result_free(&want);
  static const char *const bad[] = {"zstd:0", "zstd:20", "zstd:", "gzip", "zstd:x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(path, sizeof path, "%s/bad.sktrace", dir);
    snprintf(args, sizeof args, "replay " DEMO " -q --compress %s -o %s", bad[i], path);
    st_cli_result r = st_test_cli(args);
    cr_expect_eq(r.code, 2, "%s", args);
    cr_expect_eq(st_test_lines(r.err), 1, "%s", r.err);
    cr_expect_not_null(strstr(r.err, "bad --compress"), "%s", r.err);
    st_cli_result_free(&r);
  }
  rmdir(dir);
}

/* Latency on a trace with known times (tests/fixtures/latency.jsonl: ten
 * connects to one remote taking 1..10 ms, one to another taking 100 ms,
 * four DNS answers taking 2, 4, 6 and 8 ms): nearest-rank percentiles in
 * the summary; in latency.slow.jsonl the first remote's connects take ten
 * times as long and the answers twelve times, which `diff` reports (and
 * not the other way round). */
#define LATENCY ST_SOURCE_DIR "/tests/fixtures/latency.jsonl"
#define SLOWER ST_SOURCE_DIR "/tests/fixtures/latency.slow.jsonl"

Test(cli, latency_percentiles_in_the_summary) {
  expect_output("report " LATENCY " -f summary", 0, "latency.summary.txt");
}

/* A trace of one connect to 10.0.0.5:5432 that took connect_ns. */
static void one_connect(const char *path, long connect_ns) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  const char *ev = "{\"ts_ns\":%lld,\"provider\":\"afd\",\"name\":\"%s\",\"pid\":7,\"tid\":7,"
                   "\"comm\":\"web\",\"level\":4,\"enter_exit\":%d,\"endpoint\":\"0x1\","
                   "\"remote\":{\"addr\":\"10.0.0.5\",\"port\":5432},\"status\":\"ok\"}\n";
  long long t = 1795634473000000000LL;
  fprintf(f, ev, t, "AfdCreate", 1);
  fprintf(f, ev, t + 1000, "AfdConnectWithAddress", 0);
  fprintf(f, ev, t + 1000 + connect_ns, "AfdConnectWithAddress", 1);
  fprintf(f, ev, t + 2000 + connect_ns, "AfdClose", 1);
  fclose(f);
}

/* 10x slower counts where B's median reaches a millisecond, not below. */
Test(cli, diff_slower_only_from_a_millisecond) {
  char a[] = "/tmp/st-cli-lat-a-XXXXXX", b[] = "/tmp/st-cli-lat-b-XXXXXX";
  close(mkstemp(a));
  close(mkstemp(b));
  char args[256];
  snprintf(args, sizeof args, "diff %s %s", a, b);
  one_connect(a, 5000);
  one_connect(b, 62000);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "5 us to 62 us is no change: %s", r.out);
  st_cli_result_free(&r);
  one_connect(a, 100000);
  one_connect(b, 1500000);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 1, "0.1 ms to 1.5 ms is: %s", r.out);
  cr_expect_not_null(strstr(r.out, "1 latency 10x slower"), "%s", r.out);
  st_cli_result_free(&r);
  unlink(a);
  unlink(b);
}

Test(cli, diff_reports_ten_times_slower) {
  expect_output("diff " LATENCY " " SLOWER, 1, "latency.diff.txt");
  expect_output("diff -f markdown " LATENCY " " SLOWER, 1, "latency.diff.md");
  st_cli_result r = st_test_cli("diff " SLOWER " " LATENCY);
  cr_expect_eq(r.code, 0, "faster is no difference: %s", r.out);
  st_cli_result_free(&r);
}
