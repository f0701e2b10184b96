/*
 * `socktrace top --session NAME` attached to a running background session
 * (its events through the control socket; the session's own tracer, no
 * second one): while a workload makes refused connects and loopback
 * exchanges, top's rows for the workload, summed over its intervals, are
 * the same numbers as the session's own summary of its recording for the
 * same span (the session lives exactly as long as top watches it). Root
 * only; under CI=true it must run.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "ebpf/live.h"
#include "socktrace/reader.h"
#include "summary_model.h"

#define REFUSED 5
#define EXCHANGES 3

static char dir[64];

static void init(void) {
  snprintf(dir, sizeof dir, "/tmp/st-top-session-%d", (int)getpid());
  mkdir(dir, 0700);
}

static void fini(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "%s/socktrace stop tw --control-dir %s >/dev/null 2>&1; rm -rf %s",
           ST_BINARY_DIR, dir, dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not clean up %s\n", dir);
}

/* A child that waits for 'x', then makes REFUSED refused connects and
 * EXCHANGES loopback exchanges (each with a few bytes each way), says 'd'
 * and exits. */
typedef struct worker {
  pid_t pid;
  int go, done;
} worker;

static void workload(void) {
  uint16_t closed_port;
  int l = tcp_listener(AF_INET, &closed_port);
  close(l); /* nobody listens there now: refused */
  for (int i = 0; i < REFUSED; i++) {
    int c = tcp_connect_to(AF_INET, closed_port, 0);
    if (c >= 0)
      close(c);
  }
  for (int i = 0; i < EXCHANGES; i++) {
    uint16_t port;
    char buf[16];
    int s = tcp_listener(AF_INET, &port);
    int c = tcp_connect_to(AF_INET, port, 0);
    int a = accept(s, NULL, NULL);
    if (s < 0 || c < 0 || a < 0 || send(c, "hello", 5, 0) != 5 || recv(a, buf, sizeof buf, 0) != 5 ||
        send(a, "hi", 2, 0) != 2 || recv(c, buf, sizeof buf, 0) != 2)
      _exit(3);
    close(c);
    close(a);
    close(s);
  }
}

static worker worker_start(void) {
  int a[2], b[2];
  cr_assert_eq(pipe(a), 0);
  cr_assert_eq(pipe(b), 0);
  worker w = {.pid = fork()};
  cr_assert_geq(w.pid, 0);
  if (w.pid == 0) {
    close(a[1]);
    close(b[0]);
    char c;
    if (read(a[0], &c, 1) != 1)
      _exit(2);
    workload();
    if (write(b[1], "d", 1) != 1)
      _exit(4);
    _exit(0);
  }
  close(a[0]);
  close(b[1]);
  w.go = a[1];
  w.done = b[0];
  return w;
}

/* The session's own summary of its recording: the workload's process row. */
static st_sum_row summary_row(const char *file, pid_t pid) {
  st_reader *r;
  char err[ST_ERROR_MAX];
  cr_assert_eq(st_reader_open(file, &r, err, sizeof err), 0, "%s", err);
  st_sum_model m;
  st_sum_init(&m, 1);
  const st_event *ev;
  while (st_reader_next(r, &ev) > 0)
    cr_assert_eq(st_sum_add(&m, ev), 0);
  st_reader_close(r);
  st_sum_row row = {0}, *found = NULL;
  for (st_sum_row *x = m.procs; x; x = x->hh.next)
    if (x->pid == (uint32_t)pid)
      found = x;
  cr_assert_not_null(found, "no process row for %d in the summary", (int)pid);
  row = *found;
  st_sum_free(&m);
  return row;
}

static json_int_t num(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

Test(top_session, attached_top_counts_what_the_sessions_summary_says, .init = init,
     .fini = fini, .timeout = 120) {
  ST_REQUIRE_ROOT();
  worker w = worker_start();
  char file[160], out[160], err[160], cmd[1024];
  snprintf(file, sizeof file, "%s/tw.sktrace", dir);
  snprintf(out, sizeof out, "%s/top.jsonl", dir);
  snprintf(err, sizeof err, "%s/top.err", dir);
  snprintf(cmd, sizeof cmd, "start tw -p %d -o %s --control-dir %s", (int)w.pid, file, dir);
  st_cli_result r = st_test_cli(cmd);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);

  pid_t top = fork();
  cr_assert_geq(top, 0);
  if (top == 0) {
    char bin[300], ctl[100];
    snprintf(bin, sizeof bin, "%s/socktrace", ST_BINARY_DIR);
    snprintf(ctl, sizeof ctl, "%s", dir);
    if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
      _exit(126);
    execl(bin, bin, "top", "--session", "tw", "--control-dir", ctl, "-b", "-f", "jsonl", "-d",
          "0.2", (char *)NULL);
    _exit(127);
  }
  char *said = st_test_wait_file(err, "watching session tw", 10000);
  cr_assert(said && strstr(said, "watching session tw"), "top: %s", said ? said : "");
  free(said);

  char c;
  cr_assert_eq(write(w.go, "x", 1), 1);
  cr_assert_eq(read(w.done, &c, 1), 1, "the workload ran");
  int st;
  cr_assert_eq(waitpid(w.pid, &st, 0), w.pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the workload failed");

  /* Stopping the session ends top's source: top prints its last interval
   * and exits. */
  snprintf(cmd, sizeof cmd, "stop tw --control-dir %s", dir);
  r = st_test_cli(cmd);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  cr_assert_eq(waitpid(top, &st, 0), top);
  char *top_err = st_test_read_file(err, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "top: %s", top_err);
  free(top_err);

  /* top's rows for the workload, summed over its intervals. */
  char *text = st_test_read_file(out, NULL);
  cr_assert_not_null(text);
  json_int_t connects = 0, ok = 0, refused = 0, accepts = 0, in = 0, outb = 0, rin = 0, rout = 0;
  int rows = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o, "not JSON: %s", line);
    if (num(o, "pid") == w.pid) {
      rows++;
      connects += num(o, "connects");
      ok += num(o, "ok");
      refused += num(json_object_get(o, "failed"), "refused");
      accepts += num(o, "accepts");
      in += num(o, "bytes_in");
      outb += num(o, "bytes_out");
      rin += num(o, "resets_in");
      rout += num(o, "resets_out");
    }
    json_decref(o);
  }
  free(text);
  cr_assert_gt(rows, 0, "top showed no row for the workload");

  st_sum_row want = summary_row(file, w.pid);
  cr_assert_eq(want.attempts, REFUSED + EXCHANGES);
  cr_assert_eq(want.failed[ST_REFUSED], REFUSED);
  cr_assert_eq(connects, (json_int_t)want.attempts);
  cr_assert_eq(ok, (json_int_t)want.ok);
  cr_assert_eq(refused, (json_int_t)want.failed[ST_REFUSED]);
  cr_assert_eq(accepts, (json_int_t)want.accepts);
  cr_assert_eq(accepts, EXCHANGES);
  cr_assert_eq(in, (json_int_t)want.bytes_received);
  cr_assert_eq(outb, (json_int_t)want.bytes_sent);
  cr_assert_eq(rin, (json_int_t)want.resets_in);
  cr_assert_eq(rout, (json_int_t)want.resets_out);
  close(w.go);
  close(w.done);
}
