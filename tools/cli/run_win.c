/*
 * `socktrace run` and `demo` on Windows. Scoping a trace to one process
 * tree needs parent pids that AFD's events do not carry, and the demo
 * workload is POSIX code, so the Windows build says so plainly instead of
 * tracing something else. `socktrace trace --pid PID` scopes to a process.
 */
#include "cli.h"

int cli_run_command(cli_options *o, char **argv) {
  (void)o;
  (void)argv;
  cli_error("'run' is not available on Windows yet; start the program, then use "
            "'socktrace trace --pid PID'");
  return 2;
}

int cli_run_attach(cli_options *o) {
  (void)o;
  cli_error("'run --pid' is not available on Windows; use 'socktrace trace --pid PID'");
  return 2;
}

/* top -- CMD stops at its open_command on Windows: none of these run. */
int cli_child_new(cli_options *o, char **argv, const cli_child_io *io, cli_child **out) {
  return -1;
}

int cli_child_release(st_session *s, uv_loop_t *loop, void *child) {
  return 1;
}

bool cli_child_exited(const cli_child *c, int *code) {
  return false;
}

void cli_child_kill(cli_child *c, int sig) {}

int cli_child_end(cli_child *c, cli_options *o, int code) {
  return code;
}

int cli_demo(cli_options *o) {
  (void)o;
  cli_error("'demo' is not available on Windows yet; try 'socktrace trace' and run a client");
  return 2;
}

int cli_demo_workload(void) {
  return 2;
}
