/*
 * `socktrace run -- CMD`: trace one process tree. The child is held until
 * the session traces with its pid as the tree root (held_child_unix.c), so
 * not one of its sockets is missed; the tracer passes CMD's exit status
 * through, so `run` can wrap a CI step.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_run_command(cli_options *o, char **argv) {
  char title[256] = "";
  for (size_t i = 0, used = 0; argv[i] && used < sizeof title; i++)
    used += (size_t)snprintf(title + used, sizeof title - used, "%s%s", i ? " " : "", argv[i]);
  o->is_run = true;
  if (!o->title)
    o->title = title;
  st_backend *b;
  if (cli_live_backend(o, &b) < 0)
    return 1;
  cli_child *c;
  cli_child_io io = {.in_fd = -1, .out_fd = -1, .err_fd = -1, .forward_signals = true};
  if (cli_child_new(o, argv, &io, &c) < 0) {
    b->ops->close(b);
    return 1;
  }
  int code = cli_run_session(o, b, cli_child_release, c);
  return cli_child_end(c, o, code);
}

/* `socktrace run --pid PID`: the process's tree from now on, attached with
 * ptrace (what an unprivileged user may do where the kernel lets it: the
 * same user, no other tracer, Yama's ptrace_scope 0). Ctrl-C or SIGTERM
 * detaches and leaves the process running; the exit code is the process's
 * when it ended while traced, as run's is. */
int cli_run_attach(cli_options *o) {
  if (o->cfg.filter.npids != 1) {
    cli_error("run --pid takes one PID and no command: socktrace run --pid PID");
    return 2;
  }
  if (o->backend && strcmp(o->backend, "ptrace") != 0) {
    cli_error("run --pid attaches with ptrace; to trace a running process with %s use "
              "'socktrace trace --pid PID'",
              o->backend);
    return 2;
  }
  char title[64];
  snprintf(title, sizeof title, "process %u", o->cfg.filter.pids[0]);
  /* Its tree, not just itself: what it starts from now on too. */
  o->cfg.filter.tree_root = o->cfg.filter.pids[0];
  o->cfg.filter.npids = 0;
  o->backend = "ptrace";
  o->is_run = true;
  o->attach = true;
  o->cfg.handle_signals = true;
  o->announce = true;
  if (!o->title)
    o->title = title;
  st_backend *b;
  if (cli_live_backend(o, &b) < 0)
    return 1;
  int code = cli_run_session(o, b, NULL, NULL);
  int status;
  return cli_ptrace_status(&status) ? cli_command_exit(o, code, status) : code;
}

int cli_demo(cli_options *o) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    cli_error("cannot find my own executable to run the demo workload");
    return 1;
  }
  self[n] = 0;
  char *demo_argv[] = {self, "__demo-workload", NULL};
  o->title = "socktrace demo";
  return cli_run_command(o, demo_argv);
}
