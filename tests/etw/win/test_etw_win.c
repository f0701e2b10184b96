/*
 * The ETW backend on Windows (run under wine by the cross build): the
 * portable decoder and state give the same answers compiled for Windows,
 * the live consumer fails cleanly where ETW cannot be read (wine's stubs,
 * or no administrator rights) and leaves nothing running, and the Winsock
 * catalog can be read. Prints "N passed, N failed".
 */
#include "socktrace/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etw/etw.h"
#include "etw/etw_state.h"
#include "etw_fixture.h"

static int passed, failed;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (cond) {                                                                                    \
      passed++;                                                                                    \
    } else {                                                                                       \
      failed++;                                                                                    \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                       \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
    }                                                                                              \
  } while (0)

static void decoder_matches_linux(void) {
  static const uint8_t ip[4] = {127, 0, 0, 1};
  static const size_t want[2] = {60, 48}; /* 1018 IPv4: 64-bit, 32-bit */
  static const uint8_t ptrs[2] = {8, 4};
  for (int i = 0; i < 2; i++) {
    fx f;
    fx_init(&f, ptrs[i]);
    fx_base(&f, 1, 9, FX_PROCESS, FX_ENDPOINT);
    fx_ptr(&f, 0);
    fx_u32(&f, 0);
    fx_u32(&f, 0xC0000236);
    fx_sockaddr_in(&f, ip, 8080);
    CHECK(f.n == want[i], "1018 is %u bytes", (unsigned)f.n);
    st_etw_record r = fx_afd(1018, ptrs[i]);
    st_event ev;
    int rc = st_etw_decode(&r, f.b, f.n, &ev, NULL);
    CHECK(rc == 0, "decode: %s", ev.detail);
    CHECK(ev.remote.port == 8080 && ev.status.code == ST_REFUSED, "port %u", ev.remote.port);
    rc = st_etw_decode(&r, f.b, f.n - 1, &ev, NULL);
    CHECK(rc == ST_EBADMSG && ev.id == ST_EV_DECODE_ERROR, "short payload");
  }
}

static void state_resolves_owner(void) {
  st_etw_state *st = st_etw_state_new(NULL, NULL);
  fx f;
  fx_create(&f, 8, FX_PROCESS, FX_ENDPOINT, 4242);
  st_etw_record r = fx_afd(1000, 8);
  st_etw_info info;
  st_event ev;
  CHECK(st_etw_decode(&r, f.b, f.n, &ev, &info) == 0, "create");
  st_etw_state_apply(st, &info, &ev);
  fx_init(&f, 8);
  fx_base(&f, 1, 2, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  r = fx_afd(1001, 8);
  r.pid = 4;
  CHECK(st_etw_decode(&r, f.b, f.n, &ev, &info) == 0, "close");
  st_etw_state_apply(st, &info, &ev);
  CHECK(ev.pid == 4242 && !(ev.flags & ST_FLAG_PID_GUESSED), "pid %u", (unsigned)ev.pid);
  st_etw_state_free(st);
}

/* Under wine, StartTraceW succeeds and OpenTraceW fails: the session must
 * fail to start with a clear message and close every handle. On a real
 * Windows with rights it starts; then it must stop cleanly. */
static void consumer_fails_cleanly_or_runs(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg = {.name = "socktrace-test", .level = 4};
  st_session *s;
  CHECK(st_session_new(&loop, &cfg, &s) == 0, "session");
  st_backend *b;
  CHECK(st_backend_etw_new(NULL, &b) == 0, "backend");
  st_session_set_backend(s, b);
  int rc = st_session_start(s);
  if (rc < 0) {
    const char *msg = st_session_error(s);
    printf("consumer: %s\n", msg);
    CHECK(strstr(msg, "ETW session 'socktrace-test'") != NULL, "message names the session");
    CHECK(rc == ST_EPERM || rc == ST_EIO, "rc %d", rc);
  } else {
    st_session_stop(s);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  st_session_free(s);
  CHECK(uv_loop_close(&loop) == 0, "every handle closed");
}

static void catalog_reads(void) {
  st_winsock_entry *e = NULL;
  size_t n = 0;
  char err[256] = "";
  int rc = st_winsock_catalog_read(&e, &n, err, sizeof err);
  printf("catalog: rc %d, %u entries%s%s\n", rc, (unsigned)n, err[0] ? ": " : "", err);
  CHECK(rc == 0 || err[0], "a failure says why");
  free(e);
}

int main(void) {
  decoder_matches_linux();
  state_resolves_owner();
  consumer_fails_cleanly_or_runs();
  catalog_reads();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
