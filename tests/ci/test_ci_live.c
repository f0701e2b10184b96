/* `diff`, --fail-on and the job summary on live recordings (root; CI=true
 * runs them): st-scenario's client traced by `socktrace run`, its server
 * started by the test outside the traced tree. Two recordings of one
 * scenario differ in pids and ephemeral ports and still tell the same
 * story; a refused connect is the one story that differs; a recording and a
 * Windows .etl of the scenario agree; --fail-on turns a clean exit into 3. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"
#include "etl/scenario_etl.h"

/* `run`'s documented exit status when --fail-on caught a socket. */
#define CLI_EXIT_FAIL_ON_TEST 3

/* A loopback port nothing listens on (free a moment ago). */
static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* `st-scenario serve port [reset]`, once it listens. */
static pid_t start_server(uint16_t port, bool reset) {
  int fds[2];
  cr_assert_eq(pipe(fds), 0);
  pid_t p = fork();
  if (p == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    char num[8];
    snprintf(num, sizeof num, "%u", port);
    execl(ST_SCENARIO, ST_SCENARIO, "serve", num, reset ? "reset" : NULL, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char ready[8] = "";
  cr_assert_gt(read(fds[0], ready, sizeof ready - 1), 0, "the server did not start");
  close(fds[0]);
  return p;
}

static void stop_server(pid_t p) {
  kill(p, SIGTERM);
  waitpid(p, NULL, 0);
}

/* Records `st-scenario STEPS` at level 5 into path. */
static void record(const char *path, const char *steps) {
  char args[1024];
  snprintf(args, sizeof args, "run -l 5 -q -o %s -- " ST_SCENARIO " %s", path, steps);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
}

/* Removes and frees a tmp_path. */
static void drop(char *path) {
  unlink(path);
  free(path);
}

static st_cli_result diff(const char *opts, const char *a, const char *b) {
  char args[1024];
  snprintf(args, sizeof args, "diff %s %s %s", opts, a, b);
  return st_test_cli(args);
}

static char *tmp_path(const char *suffix) {
  char *p = malloc(64);
  snprintf(p, 64, "/tmp/st-ci-XXXXXX");
  close(mkstemp(p));
  unlink(p);
  strcat(p, suffix);
  return p;
}

Test(ci_live, two_recordings_of_one_scenario_tell_the_same_story) {
  ST_REQUIRE_ROOT();
  uint16_t port = free_port(), closed = free_port(), udp = free_port();
  char steps[128];
  snprintf(steps, sizeof steps, "tcp:%u tcp:%u udp:%u", port, closed, udp);
  pid_t server = start_server(port, false);
  char *a = tmp_path(".sktrace"), *b = tmp_path(".sktrace");
  record(a, steps);
  usleep(200000);
  record(b, steps);
  stop_server(server);
  /* Other pids and other ephemeral ports on each side. */
  char args[512];
  snprintf(args, sizeof args, "replay -f jsonl %s", a);
  st_cli_result ja = st_test_cli(args);
  snprintf(args, sizeof args, "replay -f jsonl %s", b);
  st_cli_result jb = st_test_cli(args);
  const char *pa = strstr(ja.out, "\"pid\":"), *pb = strstr(jb.out, "\"pid\":");
  cr_assert(pa && pb);
  cr_expect_neq(atoi(pa + 6), atoi(pb + 6), "two runs, two pids");
  st_cli_result_free(&ja);
  st_cli_result_free(&jb);
  st_cli_result r = diff("", a, b);
  cr_expect_eq(r.code, 0, "%s%s", r.out, r.err);
  cr_expect_not_null(strstr(r.out, "A and B tell the same story: 3 stories"), "%s", r.out);
  st_cli_result_free(&r);
  drop(a);
  drop(b);
}

Test(ci_live, a_refused_connect_is_the_one_story_that_differs) {
  ST_REQUIRE_ROOT();
  uint16_t port = free_port(), udp = free_port();
  char steps[128], want[128];
  snprintf(steps, sizeof steps, "tcp:%u udp:%u", port, udp);
  char *a = tmp_path(".sktrace"), *b = tmp_path(".sktrace");
  pid_t server = start_server(port, false);
  record(a, steps);
  stop_server(server);
  record(b, steps); /* nothing listens now: refused */
  st_cli_result r = diff("-f jsonl", a, b);
  cr_expect_eq(r.code, 1, "%s%s", r.out, r.err);
  cr_expect_eq(st_test_lines(r.out), 2, "a header and one change:\n%s", r.out);
  snprintf(want, sizeof want,
           "\"change\":\"outcome\",\"process\":\"st-scenario\",\"role\":"
           "\"client\",\"connection\":\"-> localhost:%u\"",
           port);
  cr_expect_not_null(strstr(r.out, want), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"b\":{\"process\":\"st-scenario\",\"peer\":\"127.0.0.1:"),
                     "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\"outcomes\":{\"refused\":1}"), "%s", r.out);
  st_cli_result_free(&r);
  r = diff("", a, b);
  cr_expect_not_null(strstr(r.out, "outcome  st-scenario  client  -> localhost:"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "1 difference in 1 story; 1 story is the same"), "%s", r.out);
  st_cli_result_free(&r);
  drop(a);
  drop(b);
}

Test(ci_live, a_linux_recording_and_a_windows_etl_of_the_scenario_agree) {
  ST_REQUIRE_ROOT();
  uint16_t port = free_port(), closed = free_port(), udp = free_port();
  char steps[128];
  snprintf(steps, sizeof steps, "tcp:%u tcp:%u udp:%u", port, closed, udp);
  char *linux_trace = tmp_path(".sktrace"), *etl = tmp_path(".etl");
  pid_t server = start_server(port, false);
  record(linux_trace, steps);
  stop_server(server);
  cr_assert_eq(scenario_etl_write(etl, port, closed, udp, SCENARIO_AS_RECORDED), 0);
  st_cli_result r = diff("", linux_trace, etl);
  cr_expect_eq(r.code, 0, "%s%s", r.out, r.err);
  st_cli_result_free(&r);
  cr_assert_eq(scenario_etl_write(etl, port, closed, udp, SCENARIO_CONNECT_TIMES_OUT), 0);
  r = diff("", linux_trace, etl);
  cr_expect_eq(r.code, 1, "%s%s", r.out, r.err);
  cr_expect_not_null(strstr(r.out, "ok 1  timed_out 1"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "1 difference in 1 story; 2 stories are the same"), "%s", r.out);
  st_cli_result_free(&r);
  drop(linux_trace);
  drop(etl);
}

static int run_fail_on(const char *list, const char *cmd, char **err) {
  char args[1024];
  snprintf(args, sizeof args, "run -q --fail-on %s -- %s", list, cmd);
  st_cli_result r = st_test_cli(args);
  free(r.out);
  *err = r.err;
  return r.code;
}

Test(ci_live, fail_on_refused_reset_and_a_clean_run) {
  ST_REQUIRE_ROOT();
  uint16_t ok = free_port(), resets = free_port(), closed = free_port();
  pid_t server = start_server(ok, false), resetter = start_server(resets, true);
  char cmd[512], *err;
  snprintf(cmd, sizeof cmd, ST_SCENARIO " tcp:%u", closed);
  cr_expect_eq(run_fail_on("refused", cmd, &err), CLI_EXIT_FAIL_ON_TEST, "%s", err);
  cr_expect_not_null(strstr(err, "st-scenario -> 127.0.0.1:"), "%s", err);
  cr_expect_not_null(strstr(err, "refused 1"), "%s", err);
  cr_expect_eq(st_test_lines(err), 1, "%s", err);
  free(err);
  snprintf(cmd, sizeof cmd, ST_SCENARIO " tcp:%u", resets);
  cr_expect_eq(run_fail_on("reset", cmd, &err), CLI_EXIT_FAIL_ON_TEST, "%s", err);
  cr_expect_not_null(strstr(err, "reset 1"), "%s", err);
  free(err);
  cr_expect_eq(run_fail_on("refused,timed_out", cmd, &err), 0, "a reset is not listed: %s", err);
  free(err);
  snprintf(cmd, sizeof cmd, ST_SCENARIO " tcp:%u", ok);
  cr_expect_eq(run_fail_on("refused,timed_out,reset,dns", cmd, &err), 0, "clean: %s", err);
  cr_expect_str_eq(err, "");
  free(err);
  snprintf(cmd, sizeof cmd, "sh -c '" ST_SCENARIO " tcp:%u; exit 5'", closed);
  cr_expect_eq(run_fail_on("refused", cmd, &err), 5, "the command's own failure wins: %s", err);
  free(err);
  stop_server(server);
  stop_server(resetter);
}

Test(ci_live, run_summary_appends_to_the_github_step_summary) {
  ST_REQUIRE_ROOT();
  char *path = tmp_path(".md"), args[512], want[256];
  FILE *f = fopen(path, "w");
  fputs("# An earlier step\n", f);
  fclose(f);
  uint16_t closed = free_port();
  setenv("GITHUB_STEP_SUMMARY", path, 1);
  snprintf(args, sizeof args, "run -q --summary -- " ST_SCENARIO " tcp:%u", closed);
  st_cli_result r = st_test_cli(args);
  snprintf(args, sizeof args, "run -q -- " ST_SCENARIO " tcp:%u", closed);
  st_cli_result quiet = st_test_cli(args); /* no --summary: nothing appended */
  unsetenv("GITHUB_STEP_SUMMARY");
  cr_expect_eq(r.code, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "Network failures"), "the terminal still gets it: %s", r.out);
  char *md = st_test_read_file(path, NULL);
  cr_assert_not_null(md);
  const char *head = "# An earlier step\n### socktrace summary: " ST_SCENARIO " tcp:";
  cr_expect_eq(strncmp(md, head, strlen(head)), 0, "appended after what was there:\n%s", md);
  snprintf(want, sizeof want, "| st-scenario | client | -> 127.0.0.1:%u | refused 1 |\n", closed);
  cr_expect_not_null(strstr(md, want), "%s", md);
  cr_expect_not_null(strstr(md, "#### By process\n\n| Process | PIDs |"), "%s", md);
  const char *first = strstr(md, "### socktrace summary");
  cr_expect_null(strstr(first + 1, "### socktrace summary"), "one summary, from --summary:\n%s",
                 md);
  free(md);
  st_cli_result_free(&r);
  st_cli_result_free(&quiet);
  drop(path);
}
