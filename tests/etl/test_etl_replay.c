/* A hand-built .etl with Winsock-AFD records (payloads laid out per
 * etw-formats.md, 64-bit plain and 32-bit compressed) replays through the
 * ETW decoder and PID table into exactly the expected socktrace events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "etl/etl_builder.h"
#include "etw/etl_backend.h"
#include "socktrace/session.h"

#define PROCESS 0x82345000ull /* fits 32-bit records too */
#define ENDPOINT 0x98765000ull

typedef struct payload {
  uint8_t b[128];
  size_t n;
  bool ptr64;
} payload;

static void u32(payload *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p->b[p->n++] = (uint8_t)(v >> (8 * i));
}
static void ptr(payload *p, uint64_t v) {
  for (int i = 0; i < (p->ptr64 ? 8 : 4); i++)
    p->b[p->n++] = (uint8_t)(v >> (8 * i));
}
static void base(payload *p, bool ptr64, uint32_t enter_exit, uint32_t location) {
  p->n = 0;
  p->ptr64 = ptr64;
  u32(p, enter_exit);
  u32(p, location);
  ptr(p, PROCESS);
  ptr(p, ENDPOINT);
}
/* SOCKADDR_IN 127.0.0.1:port (family 2, port in network order). */
static void sockaddr_in(payload *p, uint16_t port) {
  const uint8_t sa[16] = {2, 0, (uint8_t)(port >> 8), (uint8_t)port, 127, 0, 0, 1};
  u32(p, 16);
  memcpy(p->b + p->n, sa, 16);
  p->n += 16;
}

static void add(eb_buffer *b, bool ptr64, uint16_t id, int64_t q, int ext, payload *p) {
  cr_assert(eb_add_event(b, ptr64, EB_AFD_GUID, id, 0, 4, 0x8000000000000006ull, 4242, 4243,
                         EB_QPC0 + q, ext, p->b, p->n));
}

static void build(const char *path, bool ptr64, bool compressed) {
  eb_file f;
  eb_begin(&f, ptr64, compressed, 0, 0);
  eb_buffer b;
  payload p;
  eb_buffer_init(&b, 0, 1);
  base(&p, ptr64, 1, 1);
  u32(&p, 2);    /* AF_INET */
  u32(&p, 1);    /* SOCK_STREAM */
  u32(&p, 6);    /* IPPROTO_TCP */
  ptr(&p, 4242); /* ProcessId */
  u32(&p, 0);    /* STATUS_SUCCESS */
  add(&b, ptr64, 1000, 10, 0, &p);
  base(&p, ptr64, 0, 2);
  ptr(&p, 0);     /* Buffer */
  u32(&p, 0);     /* BufferLength */
  u32(&p, 0x103); /* STATUS_PENDING */
  sockaddr_in(&p, 8080);
  add(&b, ptr64, 1018, 20, 2, &p); /* with extended items */
  eb_add_buffer(&f, &b, 0);
  eb_buffer_init(&b, 1, 2);
  base(&p, ptr64, 1, 3);
  ptr(&p, 0);
  u32(&p, 0);
  u32(&p, 0xC0000236); /* STATUS_CONNECTION_REFUSED */
  sockaddr_in(&p, 8080);
  add(&b, ptr64, 1018, 30, 0, &p);
  base(&p, ptr64, 3, 4);
  u32(&p, 4); /* transport-indicated abortive disconnect */
  add(&b, ptr64, 1032, 40, 0, &p);
  base(&p, ptr64, 1, 5);
  u32(&p, 0);
  add(&b, ptr64, 1001, 50, 0, &p);
  eb_add_buffer(&f, &b, 0);
  cr_assert_eq(eb_write(&f, path), 0);
  eb_free(&f);
}

static char *replay_jsonl(const char *path) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg = {.level = 5};
  st_session *s;
  st_session_new(&loop, &cfg, &s);
  st_backend *b;
  cr_assert(st_etl_file_sniff(path));
  cr_assert_eq(st_backend_etl_new(path, &b), 0);
  st_session_set_backend(s, b);
  st_sink *sink;
  st_sink_jsonl_new(mem, &sink);
  st_session_add_sink(s, sink);
  cr_assert_eq(st_session_start(s), 0, "%s", st_session_error(s));
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(s), 0, "%s", st_session_error(s));
  st_session_free(s);
  uv_loop_close(&loop);
  fclose(mem);
  /* Drop the header line (host and start time of this run). */
  char *body = strdup(strchr(out, '\n') + 1);
  free(out);
  return body;
}

static void expect_fixture(bool ptr64, bool compressed) {
  char path[] = "/tmp/st-etl-afd-XXXXXX";
  close(mkstemp(path));
  build(path, ptr64, compressed);
  char *got = replay_jsonl(path);
  unlink(path);
  char *want = st_test_read_file(ST_SOURCE_DIR "/tests/fixtures/etl_afd.jsonl", NULL);
  cr_assert_not_null(want);
  if (strcmp(got, want) != 0)
    cr_expect_fail("ptr64=%d compressed=%d:\n%s", ptr64, compressed, got);
  free(got);
  free(want);
}

/* The fixture: create (pid 4242 from ProcessId), connect enter (pending)
 * and exit (refused, STATUS_CONNECTION_REFUSED), abort reason 4, close; one
 * endpoint throughout, times StartTime + qpc delta, 127.0.0.1:8080. */
Test(etl_replay, afd_records_64bit_plain) {
  expect_fixture(true, false);
}

Test(etl_replay, afd_records_32bit_compressed) {
  expect_fixture(false, true);
}

Test(etl_replay, afd_records_64bit_compressed) {
  expect_fixture(true, true);
}

/* The CLI on real and damaged .etl files. */

Test(etl_cli, real_file_loss_and_other_providers) {
  ST_REQUIRE_FIXTURES();
  char args[1024];
  snprintf(args, sizeof args, "replay %s --all-providers -f jsonl",
           st_test_fixture("etl/AMSITrace.etl"));
  st_cli_result r = st_test_cli(args);
  char *out = r.out, *err = r.err;
  cr_expect_eq(r.code, 0, "%s", err);
  cr_expect_not_null(strstr(out, "\"name\":\"EventsLost\""), "%s", out);
  cr_expect_not_null(strstr(out, "\"count\":3,\"where\":\"etw_buffers\""), "%s", out);
  cr_expect_not_null(strstr(out, "{8E805EB3-6A8F-4A1E-90FA-A831D94E54A1} id=0 v=0  19"), "%s", out);
  cr_expect_not_null(strstr(err, "the recording says 3 events were lost"), "%s", err);
  free(out);
  free(err);
}

Test(etl_cli, truncated_file_reads_what_is_whole) {
  char path[] = "/tmp/st-etl-cut-XXXXXX";
  close(mkstemp(path));
  build(path, true, false);
  cr_assert_eq(truncate(path, 2 * EB_BUFFER_SIZE + 100), 0);
  char args[256];
  snprintf(args, sizeof args, "replay %s", path);
  st_cli_result r = st_test_cli(args);
  char *out = r.out, *err = r.err;
  int code = r.code;
  unlink(path);
  cr_expect_eq(code, 1, "damaged input exits 1");
  cr_expect_not_null(strstr(err, "offset 8192: truncated buffer"), "%s", err);
  cr_expect_eq(strchr(err, '\n') - err + 1, (long)strlen(err), "one line: %s", err);
  cr_expect_not_null(strstr(out, "AfdConnectWithAddress enter"), "the first buffer is read");
  free(out);
  free(err);
}
