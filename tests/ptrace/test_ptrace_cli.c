/*
 * The ptrace backend through the CLI, as an unprivileged user inside an
 * unprivileged user and network namespace (unshare -r -n, its own
 * loopback): what a CI job in a container has. As root the test drops to
 * nobody first (setpriv), so it runs the same under root and not; what the
 * unprivileged side executes is copied to a fresh 0755 directory, since
 * the build tree may be unreachable for nobody.
 *
 * The workload (workload.c) makes one socket of each kind the backend must
 * get right; the events and their statuses are checked exactly. Static
 * musl and Go programs (no libc calls at all) get their refused connect
 * named; killing the tracer kills the traced command. `top -b -- CMD`
 * counts the same workload's connects, with ptrace and with eBPF.
 * `run --pid` attaches to a running program (attach_target.c), sees what
 * it does from then on and detaches leaving it running; a refused attach
 * says why in one line.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"

#define PT_DIR ST_SOURCE_DIR "/tests/ptrace"

static char dir[64];

/* Skips (fails under CI=true) when this machine gives no user namespace. */
static void require_userns(void) {
  if (system("unshare -r -n true >/dev/null 2>&1") == 0)
    return;
  if (st_test_in_ci())
    cr_assert_fail("unshare -r -n does not work here, and CI=true is set");
  cr_skip_test("unprivileged user namespaces are not available (unshare -r -n failed)");
}

static void sh(const char *fmt, const char *a, const char *b) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, fmt, a, b);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* A 0755 directory with the CLI, the workload and a 1777 scratch dir. */
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/st-ptrace-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  chmod(dir, 0755);
  sh("cp %s/socktrace %s/", ST_BINARY_DIR, dir);
  sh("cp %s/tests/ptrace/ptrace_workload %s/workload", ST_BINARY_DIR, dir);
  sh("cp %s/tests/ptrace/attach_target %s/target", ST_BINARY_DIR, dir);
  sh("cp %s/tests/ptrace/dns_client %s/dns", ST_BINARY_DIR, dir);
  sh("mkdir -m 1777 %s/w%s", dir, "");
}

static void teardown(void) {
  if (dir[0])
    sh("rm -rf %s%s", dir, "");
}

/* Runs script (sh) as an unprivileged user in a new user and network
 * namespace with loopback up; returns its exit code, its output in *out
 * and *err (malloc'd). */
static int unprivileged(const char *script, char **out, char **err) {
  char cmd[8192], o[] = "/tmp/st-pt-out-XXXXXX", e[] = "/tmp/st-pt-err-XXXXXX";
  close(mkstemp(o));
  close(mkstemp(e));
  chmod(o, 0666);
  chmod(e, 0666);
  snprintf(cmd, sizeof cmd,
           "%s unshare -r -n sh -c 'PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && %s' "
           ">%s 2>%s </dev/null",
           geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "", script, o,
           e);
  int st = system(cmd);
  *out = st_test_read_file(o, NULL);
  *err = st_test_read_file(e, NULL);
  unlink(o);
  unlink(e);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct ev {
  char name[40], status[24], reason[24];
  long long pid, tid;
  char endpoint[24], family[8], local[120], remote[120];
} ev;

/* The JSONL events (the header line and notes are skipped). */
static size_t parse(const char *out, ev *evs, size_t max) {
  size_t n = 0;
  const char *p = out;
  while (p && *p && n < max) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    json_t *j = json_loadb(p, len, 0, NULL);
    const char *name = j ? json_string_value(json_object_get(j, "name")) : NULL;
    if (name) {
      ev *e = &evs[n++];
      memset(e, 0, sizeof *e);
#define STR(f, k)                                                                                  \
  snprintf(e->f, sizeof e->f, "%s",                                                                \
           json_string_value(json_object_get(j, k)) ? json_string_value(json_object_get(j, k))     \
                                                    : "")
      STR(name, "name");
      STR(status, "status");
      STR(reason, "reason_name");
      STR(endpoint, "endpoint");
      STR(family, "family");
#undef STR
      char *l = json_dumps(json_object_get(j, "local"), JSON_COMPACT | JSON_ENCODE_ANY);
      char *r = json_dumps(json_object_get(j, "remote"), JSON_COMPACT | JSON_ENCODE_ANY);
      snprintf(e->local, sizeof e->local, "%s", l ? l : "");
      snprintf(e->remote, sizeof e->remote, "%s", r ? r : "");
      free(l);
      free(r);
      e->pid = json_integer_value(json_object_get(j, "pid"));
      e->tid = json_integer_value(json_object_get(j, "tid"));
    }
    json_decref(j);
    p = nl ? nl + 1 : NULL;
  }
  return n;
}

static int count(const ev *evs, size_t n, const char *name, const char *status) {
  int c = 0;
  for (size_t i = 0; i < n; i++)
    c += !strcmp(evs[i].name, name) && (!status || !strcmp(evs[i].status, status));
  return c;
}

TestSuite(ptrace_cli, .init = setup, .fini = teardown);

Test(ptrace_cli, unprivileged_workload_gives_exact_events_and_statuses) {
  require_userns();
  char script[1024], *out, *err;
  snprintf(script, sizeof script, "exec %s/socktrace run -f jsonl -- %s/workload %s/w", dir, dir,
           dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 7, "the workload's status passes through: %d\n%s", code, err);
  cr_expect_not_null(strstr(err, "tracing with ptrace instead"), "the note says why: %s", err);
  cr_expect_not_null(strstr(out, "\"backend\":\"ptrace\""));

  static ev evs[512];
  size_t n = parse(out, evs, 512);
  /* 17 sockets: 2 listeners of sorts, 3 + 2 + 2 connects, 4 accepted, 2 UDP,
   * 2 UNIX clients and a UNIX listener, fork's and thread's. */
  cr_expect_eq(count(evs, n, "AfdCreate", "ok"), 17, "%s", out);
  cr_expect_eq(count(evs, n, "AfdClose", "ok"), 17);
  cr_expect_eq(count(evs, n, "EndpointSummary", NULL), 17);
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "refused"), 3, "1, 8 and 9");
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "pending"), 2, "3 and 4");
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "ok"), 3, "2, 6 and 7");
  cr_expect_eq(count(evs, n, "AfdConnect", "ok"), 1, "3 completes");
  cr_expect_eq(count(evs, n, "AfdConnect", "refused"), 1, "4 is refused");
  cr_expect_eq(count(evs, n, "AfdAcceptWithAddress", "ok"), 4);
  cr_expect_eq(count(evs, n, "AfdListen", "ok"), 2);
  cr_expect_eq(count(evs, n, "AfdBindWithAddress", "ok"), 4);
  cr_expect_eq(count(evs, n, "AfdAbort", "reset"), 1, "7: the reset received");
  cr_expect_eq(count(evs, n, "AfdAbort", "aborted"), 1, "7: the linger-0 close");

  int udp = 0, unix_path = 0, forked = 0, threaded = 0;
  long long root = n ? evs[0].pid : 0;
  for (size_t i = 0; i < n; i++) {
    udp += !strcmp(evs[i].name, "AfdCreate") && strstr(out, "\"protocol\":\"udp\"") != NULL;
    unix_path += !strcmp(evs[i].name, "AfdBindWithAddress") && strstr(evs[i].local, "/w/sock");
    forked += !strcmp(evs[i].name, "AfdConnectWithAddress") && evs[i].pid != root;
    threaded +=
        !strcmp(evs[i].name, "AfdConnectWithAddress") && evs[i].pid == root && evs[i].tid != root;
  }
  cr_expect_gt(udp, 0, "UDP sockets");
  cr_expect_eq(unix_path, 1, "the UNIX socket's path");
  cr_expect_eq(forked, 2, "the forked child's connect, enter and exit");
  cr_expect_eq(threaded, 2, "the thread's connect, enter and exit");
  /* Each summary names its socket's final status. */
  int refused_summaries = 0;
  for (size_t i = 0; i < n; i++)
    refused_summaries += !strcmp(evs[i].name, "EndpointSummary") &&
                         strstr(out, "\"final_status\":\"refused\"") != NULL;
  cr_expect_gt(refused_summaries, 0);
  cr_expect_eq(st_test_count(out, "\"final_status\":\"refused\""), 4, "1, 4, 8, 9");
  cr_expect_eq(st_test_count(out, "\"final_status\":\"reset\""), 1, "7's client");
  free(out);
  free(err);
}

Test(ptrace_cli, level5_reports_sends_and_receives) {
  require_userns();
  char script[1024], *out, *err;
  snprintf(script, sizeof script, "exec %s/socktrace run -l 5 -f jsonl -- %s/workload %s/w", dir,
           dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 7, "%s", err);
  static ev evs[1024];
  size_t n = parse(out, evs, 1024);
  /* send/recv x2 each way in 2, sendto/recvfrom in 5; the failed recv of 7
   * (ECONNRESET) is an error at level 4 too. */
  cr_expect_eq(count(evs, n, "AfdSend", "ok"), 2, "%s", out);
  /* 7's SO_LINGER {1, 0}: SOL_SOCKET/SO_LINGER in AFD's native form. */
  cr_expect_eq(count(evs, n, "AfdOption", "ok"), 1, "%s", out);
  cr_expect_eq(st_test_count(out, "\"option\":2147549197,\"value\":1,"), 1, "%s", out);
  cr_expect_eq(count(evs, n, "AfdReceive", "ok"), 3, "recvfrom without an address too");
  cr_expect_eq(count(evs, n, "AfdReceive", "reset"), 1);
  cr_expect_eq(count(evs, n, "AfdSendToWithAddress", "ok"), 1);
  cr_expect_eq(st_test_count(out, "\"bytes_sent\":5,"), 1, "2's client sent 5 bytes");
  free(out);
  free(err);
}

/* Builds with a toolchain of the test's dependencies (tools/setup.sh);
 * skipped (failed under CI) when it is missing. */
static bool built(const char *cmd, const char *what) {
  if (system(cmd) == 0)
    return true;
  if (st_test_in_ci())
    cr_assert_fail("cannot build the %s program (tools/setup.sh installs it): %s", what, cmd);
  cr_skip_test("cannot build the %s program (run tools/setup.sh)", what);
  return false;
}

/* tests/ptrace/NAME.go built static (no cgo) as NAME_go in the test dir. */
static bool built_go(const char *name) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd %s && mkdir -p gohome && HOME=%s/gohome GOCACHE=%s/gohome/cache GOPATH=%s/gohome "
           "GOFLAGS= GO111MODULE=off CGO_ENABLED=0 go build -o %s_go " PT_DIR "/%s.go >/dev/null "
           "2>&1",
           dir, dir, dir, dir, name, name);
  return built(cmd, "Go");
}

static void expect_refused(const char *prog) {
  char script[1024], *out, *err;
  snprintf(script, sizeof script, "exec %s/socktrace run --backend ptrace -f jsonl -- %s/%s", dir,
           dir, prog);
  int code = unprivileged(script, &out, &err);
  cr_expect_eq(code, 0, "%s saw its connect refused: %s", prog, err);
  static ev evs[256];
  size_t n = parse(out, evs, 256);
  /* Blocking (musl) or non-blocking and completed later (Go). */
  int refused =
      count(evs, n, "AfdConnectWithAddress", "refused") + count(evs, n, "AfdConnect", "refused");
  cr_expect_eq(refused, 1, "%s: %s", prog, out);
  cr_expect_geq(st_test_count(out, "\"remote\":{\"addr\":\"127.0.0.1\",\"port\":9}"), 1, "%s", out);
  free(out);
  free(err);
}

Test(ptrace_cli, static_musl_program_refused_connect_is_named) {
  require_userns();
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "musl-gcc -static -O2 -o %s/refuse_musl " PT_DIR "/refuse.c", dir);
  if (!built(cmd, "static musl"))
    return;
  expect_refused("refuse_musl");
}

Test(ptrace_cli, go_program_refused_connect_is_named, .timeout = 240) {
  require_userns();
  if (!built_go("refuse"))
    return;
  expect_refused("refuse_go");
}

/* PTRACE_O_EXITKILL: a tracer killed outright takes the command with it,
 * leaving nothing stopped or running. */
Test(ptrace_cli, killing_the_tracer_kills_the_command) {
  require_userns();
  char pidfile[128], script[1024], cmdfile[128];
  snprintf(pidfile, sizeof pidfile, "%s/w/pid", dir);
  snprintf(cmdfile, sizeof cmdfile, "%s/cmd.sh", dir);
  FILE *f = fopen(cmdfile, "w");
  cr_assert_not_null(f);
  fprintf(f, "echo $$ > %s\nexec sleep 1000\n", pidfile);
  fclose(f);
  chmod(cmdfile, 0755);
  pid_t p = fork();
  if (p == 0) {
    snprintf(script, sizeof script,
             "echo $$ > %s/w/tracer; exec %s/socktrace run -q --backend ptrace -- %s", dir, dir,
             cmdfile);
    char *out, *err;
    _exit(unprivileged(script, &out, &err));
  }
  char *pid = st_test_wait_file(pidfile, "\n", 20000);
  cr_assert(pid && *pid, "the command never started");
  char tfile[128];
  snprintf(tfile, sizeof tfile, "%s/w/tracer", dir);
  char *tracer = st_test_read_file(tfile, NULL);
  cr_assert(tracer && *tracer);
  /* The tracer's pid as this namespace sees it: the shell exec'd it. */
  cr_assert_eq(kill(atoi(tracer), SIGKILL), 0);
  int st;
  waitpid(p, &st, 0);
  /* The command is gone (reaped by whoever adopted it, or a zombie). */
  char stat_path[64], *s = NULL;
  snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", atoi(pid));
  for (int i = 0; i < 500; i++) { /* its SIGKILL is already queued: a bounded wait for the state */
    free(s);
    s = st_test_read_file(stat_path, NULL);
    if (!s || strstr(s, ") Z "))
      break;
    usleep(10000);
  }
  cr_expect(!s || strstr(s, ") Z "), "the command still runs: %s", s ? s : "");
  free(s);
  free(pid);
  free(tracer);
}

/* ---- run --pid: attaching to a running program ---------------------------- */

/* Shell lines (for unprivileged()'s sh, in the scratch dir): the target
 * started on a fifo, and a function that waits until a file holds a text
 * (polling the state, bounded: exits 90 when it never comes); whatever the
 * script started is killed when it exits, failed or not. */
#define TARGET_START                                                                               \
  "cd %s/w && mkfifo in && sp= && cleanup() { kill $sp $tp 2>/dev/null; }; trap cleanup EXIT; "    \
  "until_has() { n=0; until grep -q \"$2\" \"$1\" 2>/dev/null; do "                                \
  "n=$((n+1)); [ $n -lt 3000 ] || { echo \"never: $2 in $1\" >&2; exit 90; }; sleep 0.01; done; "  \
  "}; "                                                                                            \
  "%s/target <in >target.out 2>&1 & tp=$!; exec 3>in; until_has target.out ready; "
/* The same target started under a tracer (prefix: the tracer's command
 * line, with a %s for the scratch dir), its pid (the tracer's) in tp. The
 * target runs from the scratch dir; its output shows the tracer's too. */
#define TARGET_START_UNDER(prefix)                                                                 \
  "cd %s/w && mkfifo in && sp= && cleanup() { kill $sp $tp 2>/dev/null; }; trap cleanup EXIT; "    \
  "until_has() { n=0; until grep -q \"$2\" \"$1\" 2>/dev/null; do "                                \
  "n=$((n+1)); [ $n -lt 3000 ] || { echo \"never: $2 in $1\" >&2; exit 90; }; sleep 0.01; done; "  \
  "}; " prefix "../target <in >target.out 2>&1 & tp=$!; exec 3>in; until_has target.out ready; "
/* Attaches a tracer in the background (its pid in sp) and waits until it
 * traces. */
#define ATTACH(out, err) "%s/socktrace run --pid $tp -f jsonl -o " out " 2>" err " 3>&- & sp=$!; "

Test(ptrace_cli, run_pid_attaches_sees_the_connects_and_detaches_leaving_it_running,
     .timeout = 120) {
  require_userns();
  char script[4096], *out, *err;
  /* The listener exists before the attach; the connects come after it.
   * SIGTERM detaches; the program still answers, and exits 0 at EOF. */
  snprintf(
      script, sizeof script,
      TARGET_START ATTACH(
          "ev.jsonl",
          "tr.err") "until_has tr.err \"tracing with\"; echo go >&3; until_has target.out done; "
                    "kill -TERM $sp; wait $sp; echo \"tracer=$?\"; echo ping >&3; "
                    "until_has target.out pong; exec 3>&-; wait $tp; echo \"target=$?\"; "
                    "cat ev.jsonl; cat tr.err >&2",
      dir, dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 0, "%s\n%s", out, err);
  cr_expect_not_null(strstr(out, "tracer=0\n"), "detached at SIGTERM, exit 0: %s", out);
  cr_expect_not_null(strstr(out, "target=0\n"), "the program ran on to its end: %s", out);
  cr_expect_not_null(strstr(err, "attached to a running process"), "the note: %s", err);
  static ev evs[256];
  size_t n = parse(out, evs, 256);
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "refused"), 1, "%s", out);
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "ok"), 1, "%s", out);
  cr_expect_eq(count(evs, n, "AfdAcceptWithAddress", "ok"), 1, "on the listener from before");
  cr_expect_eq(count(evs, n, "AfdCreate", "ok"), 3, "2 sockets and the accepted one");
  cr_expect_eq(count(evs, n, "EndpointSummary", NULL), 3, "the listener is still open");
  cr_expect_eq(st_test_count(out, "\"remote\":{\"addr\":\"127.0.0.1\",\"port\":9}"), 2,
               "the refused connect's enter and exit name port 9: %s", out);
  cr_expect_eq(st_test_count(out, "\"final_status\":\"refused\""), 1);
  /* The refused connect is the second thread's (it ran before the
   * attach): every thread was attached. */
  int threaded = 0;
  for (size_t i = 0; i < n; i++)
    threaded += !strcmp(evs[i].name, "AfdConnectWithAddress") &&
                !strcmp(evs[i].status, "refused") && evs[i].tid != evs[i].pid;
  cr_expect_eq(threaded, 1, "%s", out);
  free(out);
  free(err);
}

/* The tracer polls for the next stop while stops come close together
 * (tracer.c, wait_stop), and sleeps once they stop coming: a traced
 * command that has gone quiet after a burst of socket calls costs the
 * tracer no CPU. Its CPU time (all its threads, from /proc) over half a
 * second of the command's silence: a tracer that kept polling would spend
 * all of it. */
Test(ptrace_cli, a_quiet_command_costs_the_tracer_no_cpu, .timeout = 120) {
  require_userns();
  char script[4096], *out, *err;
  snprintf(script, sizeof script,
           TARGET_START_UNDER("%s/socktrace run -q --backend ptrace -f null -- ")
           /* a burst of stops (sockets, connects, an accept, closes) */
           "echo go >&3; until_has target.out done; "
           "cpu() { read -r _ _ _ _ _ _ _ _ _ _ _ _ _ u s _ </proc/$tp/stat; echo $((u + s)); }; "
           "a=$(cpu); sleep 0.5; b=$(cpu); echo \"ticks=$((b - a)) hz=$(getconf CLK_TCK)\"; "
           "exec 3>&-; wait $tp; echo \"traced=$?\"",
           dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 0, "%s\n%s", out, err);
  cr_assert_not_null(strstr(out, "traced=0\n"), "the command ran to its end: %s", out);
  const char *t = strstr(out, "ticks=");
  cr_assert_not_null(t, "%s", out);
  long ticks = atol(t + 6), hz = atol(strstr(t, "hz=") + 3);
  /* 0.5 s polling is hz / 2 ticks; a sleeping tracer takes none, or one. */
  cr_expect_leq(ticks * 20, hz, "the tracer used %ld of %ld ticks while the command was quiet",
                ticks, hz / 2);
  free(out);
  free(err);
}

/* Yama's ptrace_scope 1 (only ancestors may trace) refuses an ordinary
 * user's attach to a process it did not start: set for the check and put
 * back after it, failed or not (here, at exit and in the test's fini).
 * Only where the kernel has Yama and we are root: this project's CI hosts
 * have none, so the VM test ptrace_yama_on_linux_6_1 runs it on Debian
 * 12's kernel, with ST_TEST_REQUIRE_YAMA=1 (a missing Yama fails). */
static int yama_saved = -1;

static void yama_restore(void) {
  if (yama_saved < 0)
    return;
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "w");
  if (f) {
    fprintf(f, "%d\n", yama_saved);
    fclose(f);
  }
  yama_saved = -1;
}

static void check_yama_refusal(void) {
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
  if (!f)
    return;
  int scope = -1;
  bool read = fscanf(f, "%d", &scope) == 1;
  fclose(f);
  if (!read || !st_test_is_root() || scope == 3)
    return; /* 3 cannot be undone: the check is not made there */
  yama_saved = scope;
  atexit(yama_restore);
  f = fopen("/proc/sys/kernel/yama/ptrace_scope", "w");
  cr_assert_not_null(f);
  fprintf(f, "1\n");
  cr_assert_eq(fclose(f), 0, "cannot set ptrace_scope");
  char script[4096], cmd[8192], o[128], e[128];
  snprintf(script, sizeof script,
           TARGET_START "%s/socktrace run --pid $tp -q 2>yama.err 3>&-; echo \"yama=$?\"; "
                        "exec 3>&-; wait $tp; cat yama.err >&2",
           dir, dir, dir);
  /* Without the fifo of the first run. */
  sh("rm -f %s/w/in %s", dir, "");
  sh("rm -f %s/w/target.out %s", dir, "");
  snprintf(o, sizeof o, "%s/w/yama.stdout", dir);
  snprintf(e, sizeof e, "%s/w/yama.stderr", dir);
  /* An ordinary user in the machine's own namespaces: the target is its
   * shell's child, not the tracer's. */
  snprintf(cmd, sizeof cmd,
           "setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '%s' >%s 2>%s </dev/null",
           script, o, e);
  int st = system(cmd);
  yama_restore();
  char *out = st_test_read_file(o, NULL), *err = st_test_read_file(e, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s\n%s", out, err);
  cr_expect_not_null(strstr(out, "yama=1\n"), "%s", out);
  cr_expect_not_null(strstr(err, "ptrace_scope is 1"), "%s", err);
  cr_expect_eq(st_test_lines(err), 1, "one line: %s", err);
  free(out);
  free(err);
}

/* EPERM from the kernel, here because another tracer holds the process
 * (the first socktrace): one line saying so; the first detaches at Ctrl-C
 * (SIGINT) and the program goes on. Then Yama's refusal, where there is
 * Yama. */
Test(ptrace_cli, run_pid_refused_says_why_in_one_line, .timeout = 120) {
  require_userns();
  char script[4096], *out, *err;
  snprintf(script, sizeof script,
           TARGET_START ATTACH(
               "ev.jsonl",
               "tr.err") "until_has tr.err \"tracing with\"; "
                         "%s/socktrace run --pid $tp -q 2>second.err 3>&-; echo \"second=$?\"; "
                         "kill -INT $sp; wait $sp; echo \"tracer=$?\"; echo ping >&3; "
                         "until_has target.out pong; "
                         "exec 3>&-; wait $tp; echo \"target=$?\"; cat second.err >&2",
           dir, dir, dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 0, "%s\n%s", out, err);
  cr_expect_not_null(strstr(out, "second=1\n"), "%s", out);
  cr_expect_not_null(strstr(out, "tracer=0\n"), "%s", out);
  cr_expect_not_null(strstr(out, "target=0\n"), "%s", out);
  cr_expect_not_null(strstr(err, "traces it already"), "%s", err);
  cr_expect_eq(st_test_lines(err), 1, "one line: %s", err);
  free(out);
  free(err);
}

/* Yama's ptrace_scope 1: an ordinary user's run --pid of a process it did
 * not start is refused in one line that names ptrace_scope. */
Test(ptrace_cli, run_pid_refused_by_yama_says_why_in_one_line, .fini = yama_restore,
     .timeout = 120) {
  const char *required = getenv("ST_TEST_REQUIRE_YAMA");
  bool must = required && *required == '1';
  bool yama = access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0;
  if (!yama || !st_test_is_root()) {
    const char *why = !yama ? "this kernel has no Yama" : "setting ptrace_scope needs root";
    if (must)
      cr_assert_fail("ST_TEST_REQUIRE_YAMA=1, but %s", why);
    teardown(); /* a skipped test's fini does not run */
    cr_skip_test("%s (ctest's ptrace_yama_on_linux_6_1 runs this on Debian 12's kernel)", why);
  }
  check_yama_refusal();
}

/* ---- DNS from the program's own buffers ------------------------------------ */

/* Shell lines: resolver files naming 127.0.0.1 in the scratch dir, and the
 * responder (dns_client serve) on 127.0.0.1:53, killed when the script
 * exits; they wait until it listens. */
#define DNS_SERVE                                                                                  \
  "cd %s/w && printf \"nameserver 127.0.0.1\\noptions timeout:5 attempts:1\\n\" "                  \
  ">resolv.conf && printf \"hosts: dns\\n\" >nsswitch.conf && dp= && "                             \
  "cleanup() { kill $dp 2>/dev/null; }; trap cleanup EXIT; "                                       \
  "%s/dns serve >dns.out 2>&1 & dp=$!; "                                                           \
  "n=0; until grep -q ready dns.out; do n=$((n+1)); [ $n -lt 3000 ] || exit 90; "                  \
  "kill -0 $dp || exit 91; sleep 0.01; done; "

/* The connect events (enter and exit) to 127.0.0.9:9 that carry the name
 * that address came from. */
static int named_connects(const ev *evs, size_t n) {
  int named = 0;
  for (size_t i = 0; i < n; i++)
    named += !strcmp(evs[i].name, "AfdConnectWithAddress") &&
             strstr(evs[i].remote, "\"addr\":\"127.0.0.9\",\"port\":9,"
                                   "\"name\":\"web.socktrace.test\"") != NULL;
  return named;
}

/* glibc's getaddrinfo against a responder on 127.0.0.1:53 in the
 * namespace: the A and AAAA queries (one sendmmsg on a socket connected to
 * port 53) and their answers (recvfrom) are read from the program's
 * buffers; the answers (level 4) name the connect to 127.0.0.9 that
 * follows. */
Test(ptrace_cli, dns_answers_from_the_programs_buffers_name_its_connect, .timeout = 120) {
  require_userns();
  char script[4096], *out, *err;
  snprintf(script, sizeof script,
           DNS_SERVE "%s/socktrace run -f jsonl -- %s/dns resolve %s/w web.socktrace.test 9", dir,
           dir, dir, dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 0, "resolved, and the connect to port 9 refused: %d\n%s\n%s", code, out, err);
  static ev evs[256];
  size_t n = parse(out, evs, 256);
  /* The answers: A with 127.0.0.9, AAAA with none (queries are level 5). */
  cr_expect_eq(count(evs, n, "DnsMessage", NULL), 2, "%s", out);
  cr_expect_eq(st_test_count(out, "\"dns_qname\":\"web.socktrace.test\""), 2, "%s", out);
  cr_expect_eq(st_test_count(out, "\"dns_addrs\":[\"127.0.0.9\"]"), 1, "%s", out);
  cr_expect_eq(count(evs, n, "AfdConnectWithAddress", "refused"), 1, "%s", out);
  cr_expect_eq(named_connects(evs, n), 2, "%s", out);
  free(out);
  free(err);
}

/* Go's own resolver (no libc): write and read on a UDP socket connected to
 * port 53, in the test's namespaces with its resolver files bound over
 * /etc's (a mount namespace of its own: a Go program cannot make one for
 * itself); the answer names the connect. */
Test(ptrace_cli, go_program_dns_answer_names_its_connect, .timeout = 240) {
  require_userns();
  char script[4096], *out, *err;
  if (!built_go("resolve"))
    return;
  snprintf(script, sizeof script,
           DNS_SERVE "unshare -m sh -c \"mount --bind %s/w/resolv.conf /etc/resolv.conf && "
                     "mount --bind %s/w/nsswitch.conf /etc/nsswitch.conf && "
                     "exec %s/socktrace run -f jsonl -- %s/resolve_go\"",
           dir, dir, dir, dir, dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 0, "resolved, and the connect to port 9 refused: %d\n%s\n%s", code, out, err);
  static ev evs[256];
  size_t n = parse(out, evs, 256);
  cr_expect_eq(count(evs, n, "DnsMessage", NULL), 1, "the A answer (tcp4): %s", out);
  cr_expect_eq(st_test_count(out, "\"dns_addrs\":[\"127.0.0.9\"]"), 1, "%s", out);
  cr_expect_eq(named_connects(evs, n), 2, "%s", out);
  free(out);
  free(err);
}

/* ---- the same workload under eBPF (root) and ptrace ---------------------- */

/* What only the kernel's stack reports (the ptrace backend lists them at
 * start and does not fake them). Socket options (AfdOption, level 5) are
 * compared. */
static bool kernel_only(const char *name) {
  static const char *const names[] = {"TcpStateChange",
                                      "TcpRetransmit",
                                      "TcpResetSent",
                                      "KernelDrop",
                                      "AfdDataIndication",
                                      "AfdDatagramDrop",
                                      "AfdConnectIndicationWithAddress"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strncmp(name, names[i], strlen(names[i])))
      return true;
  return false;
}

/* Each socket's events as "name/status" lines, sorted, the sockets in the
 * order they first show (kernel-only events left out): one string. */
static char *per_socket(const ev *evs, size_t n) {
  static char eps[64][24];
  size_t neps = 0;
  for (size_t i = 0; i < n; i++) {
    if (!evs[i].endpoint[0] || kernel_only(evs[i].name))
      continue;
    size_t j = 0;
    while (j < neps && strcmp(eps[j], evs[i].endpoint))
      j++;
    if (j == neps && neps < 64)
      snprintf(eps[neps++], sizeof eps[0], "%s", evs[i].endpoint);
  }
  size_t cap = 1 << 16, used = 0;
  char *out = calloc(1, cap);
  for (size_t e = 0; e < neps; e++) {
    char *lines[128];
    size_t nl = 0;
    for (size_t i = 0; i < n && nl < 128; i++)
      if (!strcmp(evs[i].endpoint, eps[e]) && !kernel_only(evs[i].name)) {
        lines[nl] = malloc(80);
        snprintf(lines[nl++], 80, "%s/%s", evs[i].name, evs[i].status);
      }
    for (size_t a = 0; a < nl; a++) /* sorted: a reset is seen at a different point */
      for (size_t b = a + 1; b < nl; b++)
        if (strcmp(lines[a], lines[b]) > 0) {
          char *t = lines[a];
          lines[a] = lines[b];
          lines[b] = t;
        }
    used += (size_t)snprintf(out + used, cap - used, "socket %zu:", e + 1);
    for (size_t a = 0; a < nl; a++) {
      used += (size_t)snprintf(out + used, cap - used, " %s", lines[a]);
      free(lines[a]);
    }
    used += (size_t)snprintf(out + used, cap - used, "\n");
  }
  return out;
}

Test(ptrace_cli, ebpf_and_ptrace_tell_the_same_story, .timeout = 120) {
  ST_REQUIRE_ROOT();
  st_cli_result v = st_test_cli("--version");
  bool ebpf = v.out && strstr(v.out, "ebpf (");
  st_cli_result_free(&v);
  if (!ebpf) {
    if (st_test_in_ci())
      cr_assert_fail("this build has no eBPF backend, and CI=true is set");
    cr_skip_test("this build has no eBPF backend");
  }
  /* Fixed ports in a network namespace of its own, so both runs make the
   * same connections; level 5, where both count datagram bytes. */
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "unshare -n sh -c 'PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && "
           "%s/socktrace run -l 5 -f jsonl -o %s/e.jsonl -- %s/workload %s/w 40000; "
           "%s/socktrace run -l 5 --backend ptrace -f jsonl -o %s/p.jsonl -- %s/workload %s/w "
           "40000' >/dev/null 2>&1",
           dir, dir, dir, dir, dir, dir, dir, dir);
  cr_assert_eq(WEXITSTATUS(system(cmd)), 7, "%s", cmd);
  char args[512];
  snprintf(args, sizeof args, "diff %s/e.jsonl %s/p.jsonl", dir, dir);
  st_cli_result d = st_test_cli(args);
  cr_expect_eq(d.code, 0, "%s%s", d.out, d.err);
  cr_expect_not_null(strstr(d.out, "tell the same story"), "%s", d.out);
  st_cli_result_free(&d);

  char path[128];
  snprintf(path, sizeof path, "%s/e.jsonl", dir);
  char *e = st_test_read_file(path, NULL);
  snprintf(path, sizeof path, "%s/p.jsonl", dir);
  char *p = st_test_read_file(path, NULL);
  cr_assert(e && p);
  static ev ea[1024], pa[1024];
  size_t ne = parse(e, ea, 1024), np = parse(p, pa, 1024);
  char *se = per_socket(ea, ne), *sp = per_socket(pa, np);
  cr_expect_str_eq(se, sp, "per-socket events differ:\neBPF:\n%s\nptrace:\n%s", se, sp);
  free(se);
  free(sp);
  free(e);
  free(p);
}

/* ---- top -- CMD: the same workload, counted per interval ----------------- */

/* The workload's TCP connects over all of top's JSON rows (UNIX sockets are
 * not top's): 1, 4, 8 and 9 refused; 2, 3 and 7 made; 2, 3 and 7 accepted. */
typedef struct top_sums {
  long long connects, ok, refused, accepts, rows;
} top_sums;

static top_sums top_sum(const char *out) {
  top_sums s = {0};
  for (const char *p = out; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    json_t *j = json_loadb(p, len, 0, NULL);
    cr_assert_not_null(j, "standard output is only top's rows: %.*s", (int)len, p);
    s.rows++;
    s.connects += json_integer_value(json_object_get(j, "connects"));
    s.ok += json_integer_value(json_object_get(j, "ok"));
    s.refused += json_integer_value(json_object_get(json_object_get(j, "failed"), "refused"));
    s.accepts += json_integer_value(json_object_get(j, "accepts"));
    json_decref(j);
    p = nl ? nl + 1 : NULL;
  }
  return s;
}

static void expect_workload_sums(const char *out) {
  top_sums s = top_sum(out);
  cr_expect_gt(s.rows, 0, "%s", out);
  cr_expect_eq(s.connects, 7, "%s", out);
  cr_expect_eq(s.refused, 4, "%s", out);
  cr_expect_eq(s.ok, 3, "%s", out);
  cr_expect_eq(s.accepts, 3, "%s", out);
}

/* A shell that says something on both streams, then is the workload. */
static void write_cmd(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/cmd.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "#!/bin/sh\necho CMD-OUT; echo CMD-ERR >&2\nexec %s/workload %s/w \"$@\"\n", dir, dir);
  fclose(f);
  chmod(path, 0755);
}

Test(ptrace_cli, top_batch_of_a_command_counts_its_connects_and_passes_its_status, .timeout = 60) {
  require_userns();
  write_cmd();
  char script[1024], *out, *err;
  snprintf(script, sizeof script, "exec %s/socktrace top -b -d 1 -f jsonl -- %s/cmd.sh", dir, dir);
  int code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 7, "the workload's status passes through: %d\n%s", code, err);
  cr_expect_not_null(strstr(err, "tracing with ptrace instead"), "%s", err);
  cr_expect_not_null(strstr(err, "with the ptrace backend"), "%s", err);
  /* CMD's stdout went to stderr: standard output is the rows alone. */
  cr_expect_not_null(strstr(err, "CMD-OUT"), "%s", err);
  cr_expect_not_null(strstr(err, "CMD-ERR"), "%s", err);
  expect_workload_sums(out);
  free(out);
  free(err);

  /* --cmd-output: both of CMD's streams in the FILE. */
  snprintf(script, sizeof script,
           "exec %s/socktrace top -b -d 1 -f jsonl --cmd-output %s/w/cmd.out -- %s/cmd.sh", dir,
           dir, dir);
  code = unprivileged(script, &out, &err);
  cr_assert_eq(code, 7, "%s", err);
  cr_expect_null(strstr(err, "CMD-OUT"), "%s", err);
  char path[128];
  snprintf(path, sizeof path, "%s/w/cmd.out", dir);
  char *cmd_out = st_test_read_file(path, NULL);
  cr_assert_not_null(cmd_out);
  cr_expect_str_eq(cmd_out, "CMD-OUT\nCMD-ERR\n");
  expect_workload_sums(out);
  free(cmd_out);
  free(out);
  free(err);
}

Test(ptrace_cli, top_batch_of_a_command_as_root_uses_ebpf_and_counts_the_same, .timeout = 60) {
  ST_REQUIRE_ROOT();
  st_cli_result v = st_test_cli("--version");
  bool ebpf = v.out && strstr(v.out, "ebpf (");
  st_cli_result_free(&v);
  if (!ebpf) {
    if (st_test_in_ci())
      cr_assert_fail("this build has no eBPF backend, and CI=true is set");
    cr_skip_test("this build has no eBPF backend");
  }
  write_cmd();
  char cmd[1024], path[128];
  snprintf(cmd, sizeof cmd,
           "unshare -n sh -c 'PATH=$PATH:/usr/sbin:/sbin; ip link set lo up && "
           "exec %s/socktrace top -b -d 1 -f jsonl -- %s/cmd.sh' >%s/top.out 2>%s/top.err",
           dir, dir, dir, dir);
  int st = system(cmd);
  snprintf(path, sizeof path, "%s/top.err", dir);
  char *err = st_test_read_file(path, NULL);
  cr_assert_eq(WEXITSTATUS(st), 7, "the workload's status passes through\n%s", err);
  cr_expect_not_null(strstr(err, "with the ebpf backend"), "%s", err);
  cr_expect_not_null(strstr(err, "CMD-OUT"), "%s", err);
  snprintf(path, sizeof path, "%s/top.out", dir);
  char *out = st_test_read_file(path, NULL);
  expect_workload_sums(out);
  free(out);
  free(err);
}
