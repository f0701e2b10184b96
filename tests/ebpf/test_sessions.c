/*
 * Background sessions as a user drives them (start, query, update, flush,
 * stop), with real workload processes traced live: a change of level and of
 * the pid filter while tracing, recorded in the file with no gap; two
 * sessions side by side; a session killed with SIGKILL; who may control a
 * session; bad requests. Root only; under CI=true they must run.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "ebpf/live.h"

static char dir[64];

/* A control directory and output directory of the test's own. */
static void init(void) {
  snprintf(dir, sizeof dir, "/tmp/st-sessions-%d", (int)getpid());
  mkdir(dir, 0700);
}

static void fini(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

/* Runs `socktrace ARGS --control-dir DIR`; returns the exit code, output in
 * out/err (may be NULL). */
#define cli(out, err, ...) st_test_cli_dir(dir, out, err, __VA_ARGS__)

/* A process that makes one loopback TCP exchange for each 'x' it is
 * sent (live.h's held child). */
typedef held worker;

static void exchange(char cmd) {
  if (!loopback_exchange("hi"))
    _exit(3);
}

static worker worker_start(void) {
  worker w = held_start(exchange);
  cr_assert_gt(w.pid, 0);
  return w;
}

static void worker_exchange(worker *w) {
  cr_assert(held_do(w, 'x'), "the worker made its exchange");
}

static void worker_end(worker *w) {
  cr_assert(held_end(w));
}

/* The events of a recording, from `socktrace replay -f jsonl`. */
static json_t *recording(const char *path) {
  char args[300];
  snprintf(args, sizeof args, "replay %s -f jsonl", path);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "replay %s: %s", path, r.err);
  json_t *all = json_array();
  for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *ev = json_loads(line, 0, NULL);
    if (json_object_get(ev, "id"))
      json_array_append_new(all, ev);
    else
      json_decref(ev); /* the header */
  }
  st_cli_result_free(&r);
  return all;
}

static json_int_t num(json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

static const char *name_of(json_t *ev) {
  return json_string_value(json_object_get(ev, "name"));
}

/* The session hears of a level change and a pid filter change while a
 * workload runs: level-4 events before the first change, level-5 ones
 * after it, only the new pid's after the second, both changes in the file,
 * and no event missing from the source's sequence. */
Test(sessions, update_level_and_pid_filter_while_tracing, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  worker w1 = worker_start(), w2 = worker_start();
  char *err, file[200];
  snprintf(file, sizeof file, "%s/u.sktrace", dir);
  cr_assert_eq(cli(NULL, &err, "start u -l 4 -p %d -o %s", (int)w1.pid, file), 0, "%s", err);
  free(err);
  worker_exchange(&w1);
  cr_assert_eq(cli(NULL, &err, "update u -l 5"), 0, "%s", err);
  free(err);
  worker_exchange(&w1);
  cr_assert_eq(cli(NULL, &err, "update u -p %d", (int)w2.pid), 0, "%s", err);
  free(err);
  worker_exchange(&w1);
  worker_exchange(&w2);
  char *out;
  cr_assert_eq(cli(&out, &err, "stop u"), 0, "%s", err);
  cr_assert_not_null(strstr(err, "session u stopped:"), "%s", err);
  free(out);
  free(err);
  worker_end(&w1);
  worker_end(&w2);

  json_t *evs = recording(file);
  size_t i, phase = 0, changes = 0;
  json_int_t last_seq = 0;
  size_t per_phase[3] = {0}, verbose[3] = {0};
  json_t *ev;
  json_array_foreach(evs, i, ev) {
    if (strcmp(name_of(ev), "SessionChange") == 0) {
      changes++;
      phase++;
      const char *d = json_string_value(json_object_get(ev, "detail"));
      cr_assert_not_null(strstr(d, phase == 1 ? "level 4 -> 5" : "filters pid="), "%s", d);
      continue;
    }
    cr_assert_lt(phase, 3);
    json_int_t seq = num(ev, "seq");
    cr_assert_eq(seq, last_seq + 1, "event %zu: seq %lld after %lld: a gap", i, (long long)seq,
                 (long long)last_seq);
    last_seq = seq;
    per_phase[phase]++;
    verbose[phase] += num(ev, "level") == 5;
    json_int_t pid = num(ev, "pid");
    if (strcmp(name_of(ev), "EventsLost") != 0)
      cr_assert_eq(pid, phase < 2 ? w1.pid : w2.pid, "event %zu (%s) of pid %lld in phase %zu", i,
                   name_of(ev), (long long)pid, phase);
  }
  cr_assert_eq(changes, 2);
  /* report shows the changes. */
  char *rep;
  cr_assert_eq(cli(&rep, &err, "report %s", file), 0, "%s", err);
  cr_assert_not_null(strstr(rep, "Session changes"), "%s", rep);
  cr_assert_not_null(strstr(rep, "level 4 -> 5"), "%s", rep);
  cr_assert_not_null(strstr(rep, "filters pid="), "%s", rep);
  free(rep);
  free(err);
  cr_assert_gt(per_phase[0], 10);
  cr_assert_eq(verbose[0], 0, "level 4 before the change");
  cr_assert_gt(verbose[1], 0, "level 5 after it");
  cr_assert_gt(per_phase[2], 10, "the new pid's events");
  json_decref(evs);
}

/* Two sessions with different filters, side by side: each records its own
 * part of one workload, one with compressed blocks, one without. */
Test(sessions, two_sessions_record_what_each_asks_for, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  worker w = worker_start();
  char *err, all[200], verbose[200];
  snprintf(all, sizeof all, "%s/a.sktrace", dir);
  snprintf(verbose, sizeof verbose, "%s/b.sktrace", dir);
  cr_assert_eq(cli(NULL, &err, "start a -p %d -o %s", (int)w.pid, all), 0, "%s", err);
  free(err);
  cr_assert_eq(cli(NULL, &err, "start b -p %d -l 5 -e AfdSend,AfdReceive --compress none -o %s",
                   (int)w.pid, verbose),
               0, "%s", err);
  free(err);
  char *out;
  cr_assert_eq(cli(&out, &err, "query"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "Session a "), "%s", out);
  cr_assert_not_null(strstr(out, "Session b "), "%s", out);
  free(out);
  free(err);
  worker_exchange(&w);
  cr_assert_eq(cli(NULL, NULL, "stop a"), 0);
  cr_assert_eq(cli(NULL, NULL, "stop b"), 0);
  worker_end(&w);

  /* a's blocks compressed (format 2.0, the default), b's plain (1.2). */
  const char *files[] = {all, verbose};
  for (int k = 0; k < 2; k++) {
    size_t len;
    char *data = st_test_read_file(files[k], &len);
    cr_assert(data && len > 12);
    cr_expect_eq(data[8], k ? 1 : 2, "%s: format %d.%d", files[k], data[8], data[10]);
    free(data);
  }
  json_t *ea = recording(all), *eb = recording(verbose);
  size_t i, sends_a = 0, creates_b = 0;
  json_t *ev;
  json_array_foreach(ea, i, ev) sends_a += strcmp(name_of(ev), "AfdSend") == 0;
  json_array_foreach(eb, i, ev) {
    const char *n = name_of(ev);
    creates_b += strcmp(n, "AfdCreate") == 0;
    cr_assert(!strcmp(n, "AfdSend") || !strcmp(n, "AfdReceive"), "session b recorded %s", n);
  }
  cr_assert_gt(json_array_size(ea), 10);
  cr_assert_eq(sends_a, 0, "session a is at level 4");
  cr_assert_eq(json_array_size(eb), 2, "one send and one receive");
  cr_assert_eq(creates_b, 0);
  json_decref(ea);
  json_decref(eb);
}

static pid_t session_pid(const char *name) {
  char *out;
  if (cli(&out, NULL, "query %s -f json", name) != 0) {
    free(out);
    return 0;
  }
  json_t *o = json_loads(out, 0, NULL);
  pid_t pid = (pid_t)num(o, "pid");
  json_decref(o);
  free(out);
  return pid;
}

/* A session killed with SIGKILL: nothing stays attached, its file reads to
 * its last block, query says it is gone and removes its socket, and its
 * name can start again. Starting a name that runs is refused. */
Test(sessions, a_killed_session_is_gone_and_its_name_free, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  worker w = worker_start();
  char *out, *err, file[200], sock[200];
  snprintf(file, sizeof file, "%s/k.sktrace", dir);
  snprintf(sock, sizeof sock, "%s/k.sock", dir);
  cr_assert_eq(cli(NULL, NULL, "start k -p %d -o %s", (int)w.pid, file), 0);
  cr_assert_eq(cli(NULL, &err, "start k -o %s/other.sktrace", dir), 1);
  cr_assert_not_null(strstr(err, "session k is already running"), "%s", err);
  cr_assert_eq(st_test_lines(err), 1);
  free(err);
  worker_exchange(&w);
  cr_assert_eq(cli(NULL, NULL, "flush k"), 0);
  pid_t pid = session_pid("k");
  cr_assert_gt(pid, 0);
  cr_assert_eq(kill(pid, SIGKILL), 0);
  for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
    usleep(20000);

  cr_assert_eq(cli(&out, &err, "query"), 0, "%s", err);
  cr_assert_not_null(strstr(out, "Session k: gone"), "%s", out);
  cr_assert_eq(access(sock, F_OK), -1, "the stale socket is removed");
  free(out);
  free(err);
  json_t *evs = recording(file);
  cr_assert_gt(json_array_size(evs), 10, "the flushed events are readable");
  json_decref(evs);
  cr_assert_eq(cli(NULL, &err, "start k -p %d -o %s/k2.sktrace", (int)w.pid, dir), 0, "%s", err);
  free(err);
  cr_assert_eq(cli(NULL, NULL, "stop k"), 0);
  worker_end(&w);
}

/* Only root and the session's owner control it; a bad request or an
 * unknown name gets one line, and the session goes on. */
Test(sessions, strangers_and_bad_requests_are_refused, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  char *err, sock[100];
  snprintf(sock, sizeof sock, "%s/p.sock", dir);
  cr_assert_eq(cli(NULL, &err, "start p -p 1 -f null"), 0, "%s", err);
  free(err);
  /* Open the way to the socket, so only the session's own check is left. */
  chmod(dir, 0755);
  chmod(sock, 0666);
  pid_t kid = fork();
  if (kid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(3);
    char args[300];
    snprintf(args, sizeof args, "query p --control-dir %s", dir);
    st_cli_result r = st_test_cli(args);
    bool ok = r.code == 1 && strstr(r.err, "permission denied") && st_test_lines(r.err) == 1;
    if (!ok)
      fprintf(stderr, "code %d: %s", r.code, r.err);
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(kid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an unprivileged client is refused");

  /* A malformed request on the socket itself. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(write(fd, "{not json\n", 10), 10);
  char buf[512] = "";
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  cr_assert_gt(n, 0);
  cr_assert_not_null(strstr(buf, "\"ok\":false"), "%s", buf);
  cr_assert_not_null(strstr(buf, "malformed request"), "%s", buf);

  cr_assert_eq(cli(NULL, &err, "update nosuch -l 5"), 1);
  cr_assert_not_null(strstr(err, "no session named nosuch"), "%s", err);
  free(err);
  cr_assert_eq(cli(NULL, &err, "update p -l 9"), 2, "%s", err);
  free(err);
  char *out;
  cr_assert_eq(cli(&out, NULL, "query p"), 0, "the session goes on");
  free(out);
  cr_assert_eq(cli(NULL, NULL, "stop p"), 0);
}

/* Trace files are their owner's: 0600 unless --file-mode says otherwise. */
Test(sessions, trace_files_are_owner_only, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  char *err, path[200];
  struct stat sb;
  (void)err;
  char args[300];
  snprintf(path, sizeof path, "%s/mode.sktrace", dir);
  snprintf(args, sizeof args, "run -q -o %s -- true", path);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600, "mode %o", sb.st_mode & 0777);
  snprintf(path, sizeof path, "%s/mode.jsonl", dir);
  snprintf(args, sizeof args, "run -f jsonl --file-mode 0640 -o %s -- true", path);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0640, "mode %o", sb.st_mode & 0777);
  /* The sessions' directory and sockets, too. */
  cr_assert_eq(cli(NULL, &err, "start m -p 1 -f null"), 0, "%s", err);
  free(err);
  snprintf(path, sizeof path, "%s/m.sock", dir);
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600, "socket mode %o", sb.st_mode & 0777);
  cr_assert_eq(cli(NULL, NULL, "stop m"), 0);
}
