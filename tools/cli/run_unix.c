/*
 * `socktrace run -- CMD`: trace one process tree. The child is forked first
 * and held on a pipe until the session is tracing with the child's pid as
 * the tree root, so not one of its sockets is missed; then it execs CMD.
 * The tracer passes CMD's exit status through, so `run` can wrap a CI step.
 *
 * With the ptrace backend the tracer thread seizes the held child, and the
 * child installs the seccomp filter that makes it stop at socket calls
 * before it execs; the backend then reaps the tree itself (a waitpid here
 * would take its ptrace stops) and says how CMD ended.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#ifdef ST_HAVE_PTRACE
#include "ptrace/ptrace.h"
#endif

/* Late stack events (a RST answered after the child's exit, TIME_WAIT
 * transitions) get this long to arrive after the child is gone. */
#define GRACE_MS 100

typedef struct run_state {
  pid_t child;
  int release_fd; /* write end of the hold pipe */
  int status;     /* waitpid status */
  bool exited;
  bool ptrace;    /* the backend reaps the child */
  st_session *session;
  uv_signal_t sigchld, sigint, sigterm;
  uv_timer_t grace;
} run_state;

static void close_handles(run_state *r) {
  if (uv_is_closing((uv_handle_t *)&r->sigint))
    return;
  uv_close((uv_handle_t *)&r->sigchld, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
}

static void on_grace(uv_timer_t *t) {
  run_state *r = t->data;
  uv_close((uv_handle_t *)&r->grace, NULL);
  st_session_stop(r->session);
}

static void on_sigchld(uv_signal_t *h, int sig) {
  run_state *r = h->data;
  int st;
  if (r->exited || waitpid(r->child, &st, WNOHANG) != r->child)
    return;
  r->exited = true;
  r->status = st;
  close_handles(r);
  uv_timer_init(h->loop, &r->grace);
  r->grace.data = r;
  uv_timer_start(&r->grace, on_grace, GRACE_MS, 0);
}

/* Ctrl-C reaches the child through the terminal; a signal sent to the
 * tracer alone is passed on. Either way the trace ends when the child does. */
static void on_stop_signal(uv_signal_t *h, int sig) {
  run_state *r = h->data;
  if (!r->exited)
    kill(r->child, sig);
}

static int release_child(st_session *s, uv_loop_t *loop, void *arg) {
  run_state *r = arg;
  r->session = s;
  uv_signal_init(loop, &r->sigchld);
  uv_signal_init(loop, &r->sigint);
  uv_signal_init(loop, &r->sigterm);
  r->sigchld.data = r->sigint.data = r->sigterm.data = r;
  if (!r->ptrace)
    uv_signal_start(&r->sigchld, on_sigchld, SIGCHLD);
  uv_signal_start(&r->sigint, on_stop_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_stop_signal, SIGTERM);
  if (r->ptrace) {
    /* The backend ends the session when the tree is gone; these only pass
     * signals on meanwhile. */
    uv_unref((uv_handle_t *)&r->sigint);
    uv_unref((uv_handle_t *)&r->sigterm);
  }
  if (write(r->release_fd, "go", 2) != 2) {
    cli_error("cannot start the command: %s", st_strerror(-errno));
    return 1;
  }
  close(r->release_fd);
  r->release_fd = -1;
  /* The child may have exited before the handler was installed. */
  if (!r->ptrace)
    on_sigchld(&r->sigchld, SIGCHLD);
  return 0;
}

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
  bool use_ptrace = o->source && strcmp(o->source, "ptrace") == 0;
  int hold[2];
  if (pipe(hold) != 0) {
    cli_error("cannot create a pipe: %s", st_strerror(-errno));
    b->ops->close(b);
    return 1;
  }
  uint8_t level = o->cfg.level;
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) {
    cli_error("cannot fork: %s", st_strerror(-errno));
    b->ops->close(b);
    return 1;
  }
  if (child == 0) {
    close(hold[1]);
    char go[2];
    /* EOF without "go" means the tracer failed to start: do not run. */
    if (read(hold[0], go, 2) != 2)
      _exit(127);
    close(hold[0]);
#ifdef ST_HAVE_PTRACE
    int err = use_ptrace ? st_ptrace_child_prepare(level) : 0;
    if (err < 0) {
      fprintf(stderr, "socktrace: cannot install the seccomp filter: %s\n", st_strerror(err));
      _exit(127);
    }
#else
    (void)level;
#endif
    execvp(argv[0], argv);
    fprintf(stderr, "socktrace: cannot run %s: %s\n", argv[0], st_strerror(-errno));
    _exit(127);
  }
  close(hold[0]);
  run_state r = {.child = child, .release_fd = hold[1], .ptrace = use_ptrace};
  o->cfg.filter.tree_root = (uint32_t)child;
  int code = cli_run_session(o, b, release_child, &r);
  if (use_ptrace) {
    r.exited = cli_ptrace_status(&r.status); /* the backend reaped it */
    if (r.release_fd >= 0) {
      close(r.release_fd);
      r.release_fd = -1;
      waitpid(child, NULL, 0); /* never seized: it exits 127 unrun */
      return code ? code : 1;
    }
  }
  bool released = r.release_fd < 0;
  if (!released)
    close(r.release_fd); /* the child sees EOF and exits 127 without running */
  if (!r.exited && waitpid(child, &r.status, 0) == child)
    r.exited = true;
  if (!released || !r.exited)
    return code ? code : 1;
  int traced = code, cmd = 0;
  if (WIFEXITED(r.status))
    cmd = WEXITSTATUS(r.status);
  else if (WIFSIGNALED(r.status))
    cmd = 128 + WTERMSIG(r.status);
  /* The command's own failure wins; then an incomplete recording, a
   * tracing failure, and --fail-on (socktrace(1), EXIT STATUS). */
  if (cmd != 0)
    return cmd;
  if (o->incomplete)
    return CLI_EXIT_INCOMPLETE;
  if (traced != 0 && traced != CLI_EXIT_FAIL_ON)
    return 1;
  return o->fail_hit ? CLI_EXIT_FAIL_ON : 0;
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
