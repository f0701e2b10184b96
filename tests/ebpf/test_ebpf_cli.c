/* The CLI with the live eBPF backend, as a user runs it: `run` passes the
 * command's exit status through and follows the whole process tree (also
 * through a parent that makes no socket), `trace` stops cleanly on SIGINT
 * and prints its summary, and `demo` shows the four cases it promises. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/testutil.h"

#define CLI ST_BINARY_DIR "/socktrace"

static int run_cli(const char *args, char **out, char **err) {
  st_cli_result r = st_test_cli(args);
  *out = r.out;
  *err = r.err;
  return r.code;
}

Test(ebpf_cli, run_passes_the_exit_status_through) {
  ST_REQUIRE_ROOT();
  char *out, *err;
  cr_expect_eq(run_cli("run -q -- sh -c 'exit 3'", &out, &err), 3, "%s", err);
  free(out);
  free(err);
  cr_expect_eq(run_cli("run -q -- /nonexistent-command", &out, &err), 127);
  cr_expect_not_null(strstr(err, "cannot run /nonexistent-command"), "%s", err);
  free(out);
  free(err);
}

Test(ebpf_cli, run_follows_a_grandchild_whose_parent_makes_no_socket) {
  ST_REQUIRE_ROOT();
  char *out, *err;
  /* sh -> sh -> the demo workload: neither shell makes a socket. */
  int code =
      run_cli("run -f jsonl -- sh -c 'sh -c \"" CLI " __demo-workload; true\"; true'", &out, &err);
  cr_expect_eq(code, 0, "%s", err);
  cr_expect_geq(st_test_count(out, "\"name\":\"AfdConnectWithAddress\""), 6, "%s", err);
  cr_expect_geq(st_test_count(out, "\"status\":\"refused\""), 1);
  free(out);
  free(err);
}

Test(ebpf_cli, demo_shows_refused_exchange_datagram_and_reset) {
  ST_REQUIRE_ROOT();
  char *out, *err;
  cr_assert_eq(run_cli("demo -l 5 -f jsonl", &out, &err), 0, "%s", err);
  cr_expect_not_null(strstr(out, "\"status_native_name\":\"ECONNREFUSED\""), "refused connect");
  cr_expect_not_null(strstr(out, "\"name\":\"AfdAcceptWithAddress\""), "loopback exchange");
  cr_expect_not_null(strstr(out, "\"name\":\"AfdSendToWithAddress\""), "UDP datagram");
  cr_expect_not_null(strstr(out, "\"reason_name\":\"transport_reset\""), "reset received");
  cr_expect_not_null(strstr(out, "\"name\":\"TcpResetSent\""), "reset sent");
  free(out);
  free(err);
}

Test(ebpf_cli, trace_stops_on_sigint_with_its_summary) {
  ST_REQUIRE_ROOT();
  char o[] = "/tmp/st-ecli-trace-XXXXXX", e[] = "/tmp/st-ecli-trace-e-XXXXXX";
  int ofd = mkstemp(o), efd = mkstemp(e);
  pid_t p = fork();
  if (p == 0) {
    dup2(ofd, 1);
    dup2(efd, 2);
    execl(CLI, CLI, "trace", "-q", "--summary", "--port", "9", (char *)NULL);
    _exit(127);
  }
  /* Wait for "tracing with ..." on stderr, then stop it. */
  char *note = st_test_wait_file(e, "tracing with", 10000);
  cr_assert_not_null(note && strstr(note, "tracing with"), "never started: %s", note);
  kill(p, SIGINT);
  int st;
  waitpid(p, &st, 0);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
  char *out = st_test_read_file(o, NULL);
  cr_expect_not_null(strstr(out, "socktrace summary:"), "%s", out);
  cr_expect_not_null(strstr(out, "Lost events: 0"), "%s", out);
  free(out);
  free(note);
  close(ofd);
  close(efd);
  unlink(o);
  unlink(e);
}
