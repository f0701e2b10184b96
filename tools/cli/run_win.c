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

int cli_demo(cli_options *o) {
  (void)o;
  cli_error("'demo' is not available on Windows yet; try 'socktrace trace' and run a client");
  return 2;
}

int cli_demo_workload(void) {
  return 2;
}
