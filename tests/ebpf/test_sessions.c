/*
 * Background sessions as a user drives them (start, query, update, flush,
 * stop), with real workload processes traced live: a change of level and of
 * the pid filter while tracing, recorded in the file with no gap; two
 * sessions side by side; a session killed with SIGKILL; who may control a
 * session; bad requests. And the tests' own cleanup: a test killed
 * mid-way leaves no session behind. Root only; under CI=true they must run.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"
#include "ebpf/live.h"

static char dir[64];

/* A control directory and output directory of the test's own; the
 * sessions started in it are stopped and it is removed when the test
 * ends, failed or killed too (common/cleanup.h). */
static void init(void) {
  snprintf(dir, sizeof dir, "/tmp/st-sessions-%d", (int)getpid());
  mkdir(dir, 0700);
  st_test_guard_dir(dir);
}

static void fini(void) {
  st_test_remove_dir(dir);
}

/* Runs `socktrace ARGS --control-dir DIR`; returns the exit code, output in
 * out/err (may be NULL). */
#define cli(out, err, ...) st_test_cli_dir(dir, out, err, __VA_ARGS__)

/* A process that makes one loopback TCP exchange for each 'x' it is
 * sent (live.h's held child). */
typedef held worker;

static void exchange(char cmd) {
  (void)cmd;
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
  const char *bin = st_test_cli_for_anyone(); /* the build may be under a 0700 home */
  pid_t kid = fork();
  if (kid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(3);
    char args[300];
    snprintf(args, sizeof args, "query p --control-dir %s", dir);
    st_cli_result r = st_test_cli_run(bin, "/dev/null", args);
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

/* The test of the tests: a test process killed while its session runs
 * (as a Criterion timeout or a crash would) leaves neither the session nor
 * its directory behind. */
Test(sessions, a_test_killed_mid_way_leaves_nothing_behind) {
  ST_REQUIRE_ROOT();
  char killed[64], args[200];
  snprintf(killed, sizeof killed, "/tmp/st-sessions-killed-%d", (int)getpid());
  snprintf(args, sizeof args, "start g -p 1 -f null --control-dir %s", killed);
  int ready[2];
  cr_assert_eq(pipe(ready), 0);
  pid_t kid = fork();
  cr_assert_geq(kid, 0);
  if (kid == 0) { /* a test: its directory guarded as init() does, a session in it */
    mkdir(killed, 0700);
    st_test_guard_dir(killed);
    st_cli_result r = st_test_cli(args);
    if (write(ready[1], r.code == 0 ? "y" : "n", 1) != 1)
      _exit(2);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c = 0;
  cr_assert_eq(read(ready[0], &c, 1), 1);
  close(ready[0]);
  cr_assert_eq(c, 'y', "the session started");
  snprintf(args, sizeof args, "query g -f json --control-dir %s", killed);
  st_cli_result q = st_test_cli(args);
  json_t *o = json_loads(q.out ? q.out : "", 0, NULL);
  pid_t session = (pid_t)num(o, "pid");
  json_decref(o);
  st_cli_result_free(&q);
  cr_assert_gt(session, 0, "the session runs");
  cr_assert_eq(kill(kid, SIGKILL), 0);
  waitpid(kid, NULL, 0);
  bool left = true;
  for (int i = 0; i < 2000 && left; i++) {
    left = kill(session, 0) == 0 || access(killed, F_OK) == 0;
    if (left)
      usleep(10000);
  }
  bool runs = kill(session, 0) == 0, there = access(killed, F_OK) == 0;
  if (left) { /* the test failed: its own cleanup, then the verdict */
    kill(session, SIGKILL);
    st_test_remove_dir(killed);
  }
  cr_assert_not(runs, "session %d still runs after its test was killed", (int)session);
  cr_assert_not(there, "%s is still there after its test was killed", killed);
}

/* A stranger asking after a root session (in root's directory, the
 * default) is told it is not theirs, not that nothing runs. */
Test(sessions, a_stranger_is_told_a_root_session_is_not_theirs) {
  ST_REQUIRE_ROOT();
  char name[64], args[300];
  snprintf(name, sizeof name, "st-stranger-%d", (int)getpid());
  snprintf(args, sizeof args, "start %s -p 1 -f null", name);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  const char *bin = st_test_cli_for_anyone();
  int p[2];
  cr_assert_eq(pipe(p), 0);
  pid_t kid = fork();
  if (kid == 0) {
    close(p[0]);
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(3);
    unsetenv("SOCKTRACE_RUN_DIR");
    unsetenv("XDG_RUNTIME_DIR");
    char what[2][300];
    for (int i = 0; i < 2; i++) {
      snprintf(args, sizeof args, i ? "update %s -l 4" : "query %s", name);
      st_cli_result q = st_test_cli_run(bin, "/dev/null", args);
      snprintf(what[i], sizeof what[i], "%d %s", q.code, q.err ? q.err : "");
      st_cli_result_free(&q);
    }
    dprintf(p[1], "%s%s", what[0], what[1]);
    _exit(0);
  }
  close(p[1]);
  char said[700] = "";
  size_t n = 0;
  ssize_t k;
  while (n < sizeof said - 1 && (k = read(p[0], said + n, sizeof said - 1 - n)) > 0)
    n += (size_t)k;
  close(p[0]);
  waitpid(kid, NULL, 0);
  snprintf(args, sizeof args, "stop %s", name);
  r = st_test_cli(args);
  st_cli_result_free(&r);
  st_test_end_processes_in(name); /* should stop have failed */
  cr_assert_eq(st_test_count(said, "1 socktrace: "), 2, "query and update refused: %s", said);
  cr_assert_eq(st_test_count(said, "not yours"), 2, "%s", said);
  cr_assert_null(strstr(said, "is running ('socktrace query'"), "%s", said);
}

/* Events of socktrace itself in a recording: of the session's process, or
 * of a process that used the session's control socket (its clients: query,
 * flush, stop; other programs named socktrace, such as other checkouts'
 * tests running beside this one, are not this session's). */
static bool names_control_dir(json_t *ev) {
  char *text = json_dumps(ev, JSON_COMPACT);
  bool yes = text && strstr(text, dir);
  free(text);
  return yes;
}

static size_t own_events(const char *path, pid_t session) {
  json_t *evs = recording(path), *ev, *clients = json_object();
  size_t i, n = 0;
  char key[24];
  json_array_foreach(evs, i, ev) {
    if (names_control_dir(ev)) {
      snprintf(key, sizeof key, "%lld", (long long)num(ev, "pid"));
      json_object_set_new(clients, key, json_true());
    }
  }
  json_array_foreach(evs, i, ev) {
    snprintf(key, sizeof key, "%lld", (long long)num(ev, "pid"));
    n += num(ev, "pid") == session || json_object_get(clients, key);
  }
  json_decref(clients);
  json_decref(evs);
  return n;
}

/* A session's trace leaves out its own control traffic (its side and its
 * clients') and its own lookups; --trace-self keeps them. */
static size_t session_with_clients(const char *name, const char *extra) {
  char file[200];
  snprintf(file, sizeof file, "%s/%s.sktrace", dir, name);
  char *err;
  cr_assert_eq(cli(NULL, &err, "start %s -l 5 -o %s %s", name, file, extra), 0, "%s", err);
  free(err);
  pid_t pid = session_pid(name);
  cr_assert_gt(pid, 0);
  for (int i = 0; i < 3; i++) {
    char *out;
    cr_assert_eq(cli(&out, NULL, "query %s", name), 0);
    free(out);
  }
  cr_assert_eq(cli(NULL, NULL, "flush %s", name), 0);
  cr_assert_eq(cli(NULL, NULL, "stop %s", name), 0);
  return own_events(file, pid);
}

Test(sessions, a_session_leaves_its_own_traffic_out, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  size_t own = session_with_clients("quiet", "");
  cr_assert_eq(own, 0, "%zu events of socktrace itself in its trace", own);
  size_t kept = session_with_clients("loud", "--trace-self");
  cr_assert_gt(kept, 0, "--trace-self keeps the control connections");
}

/* A user's program that is only named socktrace is not socktrace: its
 * events stay in the trace (what is left out is a process running
 * socktrace's own program). The worker renames itself and stays alive until
 * the session has stopped, so it is there to be asked about. */
static void exchange_as_socktrace(char cmd) {
  (void)cmd;
  prctl(PR_SET_NAME, "socktrace");
  exchange(cmd);
}

Test(sessions, a_program_merely_named_socktrace_is_traced, .init = init, .fini = fini) {
  ST_REQUIRE_ROOT();
  char file[200], *err;
  snprintf(file, sizeof file, "%s/named.sktrace", dir);
  cr_assert_eq(cli(NULL, &err, "start named -o %s", file), 0, "%s", err);
  free(err);
  worker w = held_start(exchange_as_socktrace);
  cr_assert_gt(w.pid, 0);
  worker_exchange(&w);
  cr_assert_eq(cli(NULL, NULL, "stop named"), 0);
  worker_end(&w);
  json_t *evs = recording(file), *ev;
  size_t i, named = 0, creates = 0;
  json_array_foreach(evs, i, ev) {
    if (num(ev, "pid") != w.pid)
      continue;
    const char *comm = json_string_value(json_object_get(ev, "comm"));
    named += comm && strcmp(comm, "socktrace") == 0;
    creates += strcmp(name_of(ev), "AfdCreate") == 0;
  }
  json_decref(evs);
  cr_assert_gt(named, 0, "the events of a program named socktrace are in the trace");
  cr_assert_gt(creates, 0, "its loopback sockets are in the trace");
}
