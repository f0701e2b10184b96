/*
 * `socktrace top`'s full screen in a real terminal: tmux runs it on a
 * pseudo-terminal (120x40) and `tmux capture-pane` reads what it shows.
 * The workload is a recording the test writes, read at its own pace: each
 * second "alpha" makes one more refused connect than the second before and
 * "beta" two connects that succeed in 1 ms, so every interval's rows are
 * known. The test waits for each screen state by polling the pane, never
 * for a time: the counts per interval, the sort, grouping and filter keys,
 * a resize, and the terminal given back on q and on SIGTERM; and `top --
 * CMD`: its rows, never its output.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/testutil.h"

#define T0 1795634473000000000ull /* 2026-11-25T19:21:13Z */
#define WAIT_MS 15000

static char dir[64], session[32], trace[128];

static bool have_tmux(void) {
  return system("command -v tmux >/dev/null 2>&1") == 0;
}

#define REQUIRE_TMUX()                                                                             \
  do {                                                                                             \
    if (!have_tmux()) {                                                                            \
      if (st_test_in_ci())                                                                         \
        cr_assert_fail("tmux is missing under CI=true (tools/setup.sh installs it)");              \
      cr_skip_test("tmux is missing (apt-get install tmux); skipped");                             \
    }                                                                                              \
  } while (0)

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void event(FILE *f, uint64_t ts, const char *name, int ee, unsigned pid, const char *comm,
                  unsigned ep, const char *extra) {
  static unsigned seq;
  fprintf(f,
          "{\"ts_ns\":%llu,\"provider\":\"afd\",\"name\":\"%s\",\"seq\":%u,\"os\":\"linux\","
          "\"backend\":\"ebpf\",\"pid\":%u,\"tid\":%u,\"comm\":\"%s\",\"level\":4,"
          "\"keywords\":\"0x6\",\"enter_exit\":%d,\"endpoint\":\"0x%x\",\"family\":\"inet\","
          "\"type\":\"stream\",\"protocol\":\"tcp\"%s}\n",
          (unsigned long long)ts, name, ++seq, pid, pid, comm, ee, ep, extra);
}

/* Four seconds: in second s, alpha's s+1 refused connects to port 9 and
 * beta's two connects to port 80, each done in 1 ms. */
static void write_workload(void) {
  FILE *f = fopen(trace, "w");
  cr_assert_not_null(f);
  fprintf(f, "{\"socktrace\":\"0.1.0\",\"host\":\"screen\",\"os\":\"linux\",\"backend\":\"ebpf\","
             "\"level\":4,\"keywords\":\"0xffffffffffffffff\","
             "\"started\":\"2026-11-25T19:21:13.000000000Z\"}\n");
  unsigned ep = 1;
  for (uint64_t s = 0; s < 4; s++) {
    uint64_t at = T0 + s * 1000000000ull;
    for (uint64_t k = 0; k <= s; k++, ep++) {
      uint64_t t = at + k * 10000000ull;
      event(f, t, "AfdConnectWithAddress", 0, 100, "alpha", ep,
            ",\"remote\":{\"addr\":\"127.0.0.1\",\"port\":9}");
      event(f, t + 100000, "AfdConnectWithAddress", 1, 100, "alpha", ep,
            ",\"remote\":{\"addr\":\"127.0.0.1\",\"port\":9},\"status\":\"refused\"");
    }
    for (uint64_t k = 0; k < 2; k++, ep++) {
      uint64_t t = at + 500000000ull + k * 10000000ull;
      event(f, t, "AfdConnectWithAddress", 0, 200, "beta", ep,
            ",\"remote\":{\"addr\":\"127.0.0.1\",\"port\":80}");
      event(f, t + 1000000, "AfdConnectWithAddress", 1, 200, "beta", ep,
            ",\"remote\":{\"addr\":\"127.0.0.1\",\"port\":80},\"status\":\"ok\"");
    }
  }
  fclose(f);
}

static void init(void) {
  snprintf(dir, sizeof dir, "/tmp/st-top-screen-%d", (int)getpid());
  snprintf(session, sizeof session, "sttop%d", (int)getpid());
  snprintf(trace, sizeof trace, "%s/workload.jsonl", dir);
  mkdir(dir, 0700);
}

static void fini(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "tmux kill-session -t %s 2>/dev/null; rm -rf %s", session, dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not clean up %s\n", dir);
}

/* Runs top ARGS in a fresh 120x40 terminal; afterwards the shell says how
 * top exited and whether the terminal is back in canonical mode. */
static void start_top(const char *args) {
  sh("tmux new-session -d -s %s -x 120 -y 40 \"%s/socktrace top %s; echo EXITED rc=\\$?; "
     "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; "
     "echo; sleep 600\"",
     session, ST_BINARY_DIR, args);
}

/* What the pane shows now (malloc'd). */
static char *screen(void) {
  char path[160], cmd[300];
  snprintf(path, sizeof path, "%s/pane.txt", dir);
  snprintf(cmd, sizeof cmd, "tmux capture-pane -p -t %s > %s", session, path);
  cr_assert_eq(system(cmd), 0);
  return st_test_read_file(path, NULL);
}

typedef bool (*screen_test)(const char *s, const void *arg);

static bool has(const char *s, const void *needle) {
  return strstr(s, needle) != NULL;
}

/* Polls the pane until test holds; fails with the last screen. */
static char *wait_screen(screen_test test, const void *arg, const char *what) {
  char *s = NULL;
  for (int waited = 0; waited <= WAIT_MS; waited += 20) {
    free(s);
    s = screen();
    if (s && test(s, arg))
      return s;
    usleep(20000);
  }
  cr_assert_fail("the screen never showed %s; it shows:\n%s", what, s ? s : "(nothing)");
  return NULL;
}

static char *wait_for(const char *needle) {
  return wait_screen(has, needle, needle);
}

/* The line of the screen that holds needle ("" when none). */
static const char *line_with(const char *s, const char *needle, char *buf, size_t len) {
  const char *p = strstr(s, needle);
  buf[0] = 0;
  if (!p)
    return buf;
  while (p > s && p[-1] != '\n')
    p--;
  const char *e = strchr(p, '\n');
  snprintf(buf, len, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
  return buf;
}

/* alpha's row with "refused N": the interval of second N. */
typedef struct row_want {
  const char *key, *cell;
} row_want;

static bool row_shows(const char *s, const void *arg) {
  const row_want *w = arg;
  char line[512];
  line_with(s, w->key, line, sizeof line);
  return line[0] && strstr(line, w->cell);
}

static void key(const char *k) {
  sh("tmux send-keys -t %s %s", session, k);
}

Test(top_screen, rows_per_interval_keys_resize_and_quit, .init = init, .fini = fini,
     .timeout = 60) {
  REQUIRE_TMUX();
  write_workload();
  char args[256];
  snprintf(args, sizeof args, "-d 1 --speed 1 %s", trace);
  start_top(args);
  /* Each interval in turn: alpha one more refused connect, beta two in 1 ms. */
  char cell[32];
  for (int s = 1; s <= 4; s++) {
    snprintf(cell, sizeof cell, "refused %d", s);
    row_want a = {"    100 alpha", cell};
    char *scr = wait_screen(row_shows, &a, cell);
    char line[512];
    line_with(scr, "    200 beta", line, sizeof line);
    cr_assert(strstr(line, "      2 ") && strstr(line, "1.0ms   1.0ms"), "beta: %s", line);
    /* Sorted by failures: alpha above beta. */
    cr_assert_lt(strstr(scr, "alpha"), strstr(scr, "beta"), "%s", scr);
    free(scr);
  }
  free(wait_for("[source ended]"));
  /* r: the least failing first. */
  key("r");
  char *scr = wait_for("FAILED^");
  cr_assert_lt(strstr(scr, "beta"), strstr(scr, "alpha"), "%s", scr);
  free(scr);
  /* g: rows per remote. */
  key("g");
  scr = wait_for("REMOTE");
  row_want nine = {"127.0.0.1:9 ", "refused 4"};
  cr_assert(row_shows(scr, &nine), "%s", scr);
  cr_assert_not_null(strstr(scr, "127.0.0.1:80 "), "%s", scr);
  free(scr);
  /* /80 Enter: only what matches. */
  key("/ 8 0 Enter");
  scr = wait_for("filter: 80");
  cr_assert_null(strstr(scr, "127.0.0.1:9 "), "%s", scr);
  cr_assert_not_null(strstr(scr, "127.0.0.1:80 "), "%s", scr);
  free(scr);
  /* A resize: drawn again whole at the new size, once. */
  sh("tmux resize-window -t %s -x 80 -y 20", session);
  scr = wait_for("keys: q quit, space freeze, g group, < > sort,");
  cr_assert_eq(strncmp(scr, "socktrace top - ", 16), 0, "the header first: %s", scr);
  cr_assert_eq(st_test_count(scr, "socktrace top - "), 1, "%s", scr);
  cr_assert_eq(st_test_count(scr, "Totals: "), 1, "%s", scr);
  for (const char *l = scr; *l;) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    cr_assert_leq(n, 80, "a line wider than the terminal: %.*s", (int)n, l);
    l += n + (e ? 1 : 0);
  }
  cr_assert_not_null(strstr(scr, "127.0.0.1:80 "), "%s", scr);
  free(scr);
  /* q: the shell's screen again, the terminal in canonical mode. */
  key("q");
  free(wait_for("EXITED rc=0"));
  scr = wait_for("icanon"); /* stty's words come after */
  cr_assert_null(strstr(scr, "socktrace top - "), "the alternate screen is gone: %s", scr);
  char line[512];
  line_with(scr, "icanon", line, sizeof line);
  cr_assert_not_null(strstr(line, "icanon"), "%s", scr);
  cr_assert_null(strstr(line, "-icanon"), "still raw: %s", line);
  cr_assert_null(strstr(line, "-echo"), "still no echo: %s", line);
  free(scr);
}

/* SIGTERM (and SIGINT, SIGHUP: the same handler) gives the terminal back. */
Test(top_screen, a_signal_gives_the_terminal_back, .init = init, .fini = fini, .timeout = 60) {
  REQUIRE_TMUX();
  write_workload();
  char args[256];
  snprintf(args, sizeof args, "--speed 0 %s", trace);
  start_top(args);
  free(wait_for("[source ended]"));
  /* top is the pane's shell's one child. */
  char path[160], cmd[400];
  snprintf(path, sizeof path, "%s/pid", dir);
  snprintf(cmd, sizeof cmd,
           "p=$(tmux display -p -t %s '#{pane_pid}'); cat /proc/$p/task/$p/children > %s", session,
           path);
  cr_assert_eq(system(cmd), 0);
  char *pids = st_test_read_file(path, NULL);
  int pid = pids ? atoi(pids) : 0;
  free(pids);
  cr_assert_gt(pid, 0);
  cr_assert_eq(kill(pid, SIGTERM), 0);
  free(wait_for("EXITED rc="));
  char *scr = wait_for("icanon");
  cr_assert_null(strstr(scr, "socktrace top - "), "%s", scr);
  char line[512];
  line_with(scr, "icanon", line, sizeof line);
  cr_assert_null(strstr(line, "-icanon"), "still raw: %s", scr);
  free(scr);
}

/* top -- CMD: CMD's rows (bash makes three refused connects through
 * /dev/tcp, in its own process), none of CMD's output on the screen, the
 * view kept after CMD exits with its status said, q gives the terminal
 * back and exits with CMD's status. */
Test(top_screen, a_command_shows_its_rows_not_its_output, .init = init, .fini = fini,
     .timeout = 60) {
  REQUIRE_TMUX();
  char path[160];
  snprintf(path, sizeof path, "%s/cmd.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("#!/bin/bash\necho CMD-SAYS-OUT; echo CMD-SAYS-ERR >&2\n"
        "for i in 1 2 3; do { : <>/dev/tcp/127.0.0.1/9; } 2>/dev/null; done\nexit 3\n",
        f);
  fclose(f);
  chmod(path, 0755);
  char args[256];
  snprintf(args, sizeof args, "-d 1 -- %s", path);
  start_top(args);
  row_want w = {" cmd.sh ", "refused 3"};
  char *scr = wait_screen(row_shows, &w, "cmd.sh's row with refused 3");
  free(scr);
  scr = wait_for("[CMD exited with status 3; q quits]");
  cr_assert(row_shows(scr, &w), "the rows stay: %s", scr);
  cr_assert_null(strstr(scr, "CMD-SAYS"), "CMD's output garbles the screen: %s", scr);
  free(scr);
  key("q");
  free(wait_for("EXITED rc=3"));
  scr = wait_for("icanon");
  cr_assert_null(strstr(scr, "socktrace top - "), "the alternate screen is gone: %s", scr);
  cr_assert_null(strstr(scr, "CMD-SAYS"), "%s", scr);
  char line[512];
  line_with(scr, "icanon", line, sizeof line);
  cr_assert_null(strstr(line, "-icanon"), "still raw: %s", line);
  cr_assert_null(strstr(line, "-echo"), "still no echo: %s", line);
  free(scr);
}
