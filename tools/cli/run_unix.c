/*
 * `socktrace run -- CMD`: trace one process tree. The child is held until
 * the session traces with its pid as the tree root (held_child_unix.c), so
 * not one of its sockets is missed; the tracer passes CMD's exit status
 * through, so `run` can wrap a CI step.
 */
#include <stdio.h>
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
