/* The reader API (socktrace/reader.h): every format the CLI replays reads
 * the same through it (the same events, the same JSON), its header says
 * where the trace was recorded, and failures are codes with words. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "socktrace/reader.h"

#define FIX ST_SOURCE_DIR "/tests/fixtures/"

/* Every event of path as JSON Lines, through the reader. */
static char *read_all_json(const char *path, st_backend_stats *stats) {
  st_reader *r;
  char err[ST_ERROR_MAX];
  int rc = st_reader_open(path, &r, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: %s", path, err);
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  const st_event *ev;
  char line[8192];
  while ((rc = st_reader_next(r, &ev)) > 0) {
    cr_assert_lt(st_event_to_json(ev, line, sizeof line), (int)sizeof line);
    fprintf(mem, "%s\n", line);
  }
  cr_expect_eq(rc, 0, "%s: %s", path, st_reader_error(r));
  st_reader_stats(r, stats);
  st_reader_close(r);
  fclose(mem);
  return out;
}

/* The CLI's `replay FILE -f jsonl` without its header line. */
static char *replay_json(const char *path) {
  char args[1024];
  snprintf(args, sizeof args, "replay '%s' -f jsonl", path);
  st_cli_result r = st_test_cli(args);
  char *body = strchr(r.out, '\n');
  cr_assert_not_null(body, "no output from socktrace %s: %s", args, r.err);
  char *copy = strdup(body + 1);
  st_cli_result_free(&r);
  return copy;
}

static void same_as_replay(const char *path, const char *format) {
  st_reader *r;
  cr_assert_eq(st_reader_open(path, &r, NULL, 0), 0, "%s", path);
  cr_expect_str_eq(st_reader_format(r), format);
  st_reader_close(r);
  st_backend_stats stats;
  char *got = read_all_json(path, &stats), *want = replay_json(path);
  cr_expect_neq(got[0], 0, "%s: no events", path);
  cr_expect_str_eq(got, want, "%s reads differently through the reader", path);
  free(got);
  free(want);
}

Test(reader, jsonl_header_and_events) {
  st_reader *r;
  char err[ST_ERROR_MAX] = "";
  cr_assert_eq(st_reader_open(FIX "demo.jsonl", &r, err, sizeof err), 0, "%s", err);
  const st_trace_info *h = st_reader_header(r);
  cr_expect_str_eq(h->host, "demo-host");
  cr_expect_eq(h->os, ST_OS_LINUX);
  cr_expect_eq(h->backend, ST_BACKEND_EBPF);
  cr_expect_eq(h->level, 5);
  cr_expect_eq(h->keywords, ST_KW_ALL);
  cr_expect_eq(h->started_ns, 1795634473100000000ull);
  /* Each event as a text line is the text sink's line. */
  char *want = st_test_read_file(FIX "demo.txt", NULL);
  cr_assert_not_null(want);
  char *line = want;
  const st_event *ev;
  int rc, n = 0;
  while ((rc = st_reader_next(r, &ev)) > 0) {
    char text[1024];
    st_event_to_text(ev, NULL, text, sizeof text);
    char *nl = strchr(line, '\n');
    cr_assert_not_null(nl, "more events than demo.txt has lines");
    *nl = 0;
    cr_expect_str_eq(text, line, "event %d", n);
    line = nl + 1;
    n++;
  }
  cr_expect_eq(rc, 0);
  cr_expect_eq(n, 47);
  cr_expect_eq(st_reader_next(r, &ev), 0, "the end stays the end");
  st_backend_stats st;
  st_reader_stats(r, &st);
  cr_expect_eq(st.events, 47);
  cr_expect_eq(st.errors, 0);
  cr_expect_str_eq(st_reader_error(r), "");
  st_reader_close(r);
  free(want);
}

Test(reader, every_format_reads_as_replay_does) {
  same_as_replay(FIX "demo.jsonl", "jsonl");
  char dir[] = "/tmp/st-reader-XXXXXX", path[256], args[512];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/demo.sktrace", dir);
  snprintf(args, sizeof args, "replay %sdemo.jsonl -q -o %s", FIX, path);
  st_cli_result c = st_test_cli(args);
  cr_assert_eq(c.code, 0, "%s", c.err);
  st_cli_result_free(&c);
  same_as_replay(path, "sktrace");
  /* A .sktrace says what recorded it: here a replay at level 5. */
  st_reader *r;
  cr_assert_eq(st_reader_open(path, &r, NULL, 0), 0);
  cr_expect_eq(st_reader_header(r)->backend, ST_BACKEND_REPLAY);
  cr_expect_eq(st_reader_header(r)->level, 5);
  cr_expect_neq(st_reader_header(r)->host[0], 0);
  st_reader_close(r);
  unlink(path);
  rmdir(dir);
}

Test(reader, captures_and_etl_read_as_replay_does) {
  ST_REQUIRE_FIXTURES();
  char pcap[512], etl[512];
  snprintf(pcap, sizeof pcap, "%s", st_test_fixture("pcap/dns_tcp.pcap"));
  snprintf(etl, sizeof etl, "%s", st_test_fixture("etl/AMSITrace.etl"));
  st_reader *r;
  if (st_reader_open(pcap, &r, NULL, 0) == ST_ENOSYS) {
    cr_log_warn("this build reads no packet captures (no libpcap): not checked");
  } else {
    st_reader_close(r);
    same_as_replay(pcap, "pcap");
    cr_assert_eq(st_reader_open(pcap, &r, NULL, 0), 0);
    cr_expect_eq(st_reader_header(r)->os, ST_OS_WIRE);
    cr_expect_eq(st_reader_header(r)->backend, ST_BACKEND_PCAP);
    cr_expect_str_eq(st_reader_header(r)->host, "", "a capture names no host");
    st_reader_close(r);
  }
  same_as_replay(etl, "etl");
  st_reader *e;
  cr_assert_eq(st_reader_open(etl, &e, NULL, 0), 0);
  cr_expect_eq(st_reader_header(e)->os, ST_OS_WINDOWS);
  cr_expect_eq(st_reader_header(e)->backend, ST_BACKEND_ETW);
  st_reader_close(e);
}

Test(reader, failures_are_codes_with_words) {
  st_reader *r = (st_reader *)1;
  char err[ST_ERROR_MAX];
  int rc = st_reader_open("/nonexistent/trace.jsonl", &r, err, sizeof err);
  cr_expect_eq(rc, ST_ENOENT);
  cr_expect_null(r);
  cr_expect_not_null(strstr(err, "/nonexistent/trace.jsonl"), "%s", err);
  cr_expect_str_eq(st_err_name(rc), "ENOENT");
  cr_expect_str_eq(st_strerror(rc), "no such file or directory");

  char dir[] = "/tmp/st-reader-XXXXXX", path[256];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/bad.etl", dir);
  FILE *f = fopen(path, "w");
  fputs("not an etl file\n", f);
  fclose(f);
  rc = st_reader_open(path, &r, err, sizeof err);
  cr_expect_eq(rc, ST_EBADMSG);
  cr_expect_not_null(strstr(err, "not a readable .etl file"), "%s", err);
  unlink(path);

  /* A compressed file that does not decompress: what it is, damaged. */
  static const uint8_t gzip[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  snprintf(path, sizeof path, "%s/trace.jsonl.gz", dir);
  f = fopen(path, "wb");
  fwrite(gzip, 1, sizeof gzip, f);
  fclose(f);
  rc = st_reader_open(path, &r, err, sizeof err);
  cr_expect_eq(rc, ST_EBADMSG);
  cr_expect_null(r);
  cr_expect_not_null(strstr(err, "gzip data that does not decompress (damaged or cut short)"), "%s",
                     err);
  unlink(path);
  rc = st_reader_open(dir, &r, err, sizeof err);
  cr_expect_lt(rc, 0, "a directory is no trace");
  cr_expect_not_null(strstr(err, dir), "%s", err);

  /* A damaged line is an event saying so, and reading goes on. */
  snprintf(path, sizeof path, "%s/damaged.jsonl", dir);
  f = fopen(path, "w");
  fputs("{\"socktrace\":\"0.1.0\",\"host\":\"h\"}\n"
        "{not json\n"
        "{\"ts_ns\":1,\"provider\":\"afd\",\"name\":\"AfdClose\",\"endpoint\":\"0x1\"}\n",
        f);
  fclose(f);
  cr_assert_eq(st_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(st_reader_header(r)->host, "h");
  cr_expect_eq(st_reader_header(r)->backend, 0, "the header does not say");
  const st_event *ev;
  cr_assert_eq(st_reader_next(r, &ev), 1);
  cr_expect_eq(ev->id, ST_EV_DECODE_ERROR);
  cr_expect_not_null(strstr(ev->detail, "line 2"), "%s", ev->detail);
  cr_assert_eq(st_reader_next(r, &ev), 1);
  cr_expect_eq(ev->id, ST_EV_CLOSE);
  cr_expect_eq(st_reader_next(r, &ev), 0);
  st_backend_stats st;
  st_reader_stats(r, &st);
  cr_expect_eq(st.errors, 1);
  cr_expect_not_null(strstr(st_reader_error(r), "line 2"), "%s", st_reader_error(r));
  st_reader_close(r);
  unlink(path);

  /* A trace without a header: its first event is not lost. */
  snprintf(path, sizeof path, "%s/headless.jsonl", dir);
  f = fopen(path, "w");
  fputs("{\"ts_ns\":1,\"provider\":\"afd\",\"name\":\"AfdCreate\",\"endpoint\":\"0x1\"}\n", f);
  fclose(f);
  cr_assert_eq(st_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(st_reader_header(r)->host, "");
  cr_assert_eq(st_reader_next(r, &ev), 1);
  cr_expect_eq(ev->id, ST_EV_CREATE);
  cr_expect_eq(st_reader_next(r, &ev), 0);
  st_reader_close(r);
  st_reader_close(NULL);
  unlink(path);
  rmdir(dir);
}

Test(reader, version_at_run_time_is_the_headers) {
  cr_expect_str_eq(st_version_string(), ST_VERSION);
  cr_expect_eq(st_version(), (unsigned)ST_VERSION_HEX);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", ST_VERSION_MAJOR, ST_VERSION_MINOR, ST_VERSION_PATCH);
  cr_expect_str_eq(ST_VERSION, want);
}
