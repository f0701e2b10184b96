/*
 * The command `run -- CMD` and `top -- CMD` trace: forked first and held
 * on a pipe until the session is tracing with the child's pid as the tree
 * root, so not one of its sockets is missed; released by the session's
 * after-start hook; its exit status collected at the end.
 *
 * With the ptrace backend the tracer thread seizes the held child, and the
 * child installs the seccomp filter that makes it stop at socket calls
 * before it execs; the backend then reaps the tree itself (a waitpid here
 * would take its ptrace stops), ends the session when the tree is gone and
 * says how CMD ended. Otherwise SIGCHLD tells, and the session ends a
 * short grace after.
 */
#include <errno.h>
#include <fcntl.h>
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

struct cli_child {
  pid_t pid;
  int release_fd; /* write end of the hold pipe */
  int status;     /* wait status */
  bool exited;
  bool ptrace; /* the backend reaps the child */
  bool forward_signals;
  st_session *session;
  uv_signal_t sigchld, sigint, sigterm;
  uv_timer_t grace;
};

static void close_handles(cli_child *c) {
  if (uv_is_closing((uv_handle_t *)&c->sigint))
    return;
  uv_close((uv_handle_t *)&c->sigchld, NULL);
  uv_close((uv_handle_t *)&c->sigint, NULL);
  uv_close((uv_handle_t *)&c->sigterm, NULL);
}

static void on_grace(uv_timer_t *t) {
  cli_child *c = t->data;
  uv_close((uv_handle_t *)&c->grace, NULL);
  st_session_stop(c->session);
}

static void on_sigchld(uv_signal_t *h, int sig) {
  cli_child *c = h->data;
  int st;
  if (c->exited || waitpid(c->pid, &st, WNOHANG) != c->pid)
    return;
  c->exited = true;
  c->status = st;
  close_handles(c);
  uv_timer_init(h->loop, &c->grace);
  c->grace.data = c;
  uv_timer_start(&c->grace, on_grace, GRACE_MS, 0);
}

/* Ctrl-C reaches the child through the terminal; a signal sent to the
 * tracer alone is passed on. Either way the trace ends when the child does. */
static void on_stop_signal(uv_signal_t *h, int sig) {
  cli_child_kill(h->data, sig);
}

/* Makes fd the child's target (an inherited one when fd < 0). */
static void redirect(int fd, int target) {
  if (fd >= 0 && fd != target)
    dup2(fd, target);
}

int cli_child_new(cli_options *o, char **argv, const cli_child_io *io, cli_child **out) {
  cli_child *c = calloc(1, sizeof *c);
  int hold[2];
  if (!c || pipe(hold) != 0) {
    cli_error("cannot start the command: %s", c ? st_strerror(-errno) : "out of memory");
    free(c);
    return -1;
  }
  c->ptrace = o->source && strcmp(o->source, "ptrace") == 0;
  c->forward_signals = io->forward_signals;
  uint8_t level = o->cfg.level;
  bool use_ptrace = c->ptrace;
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) {
    cli_error("cannot fork: %s", st_strerror(-errno));
    close(hold[0]);
    close(hold[1]);
    free(c);
    return -1;
  }
  if (child == 0) {
    close(hold[1]);
    char go[2];
    /* EOF without "go" means the tracer failed to start: do not run. */
    if (read(hold[0], go, 2) != 2)
      _exit(127);
    close(hold[0]);
    redirect(io->in_fd, STDIN_FILENO);
    redirect(io->out_fd, STDOUT_FILENO);
    redirect(io->err_fd, STDERR_FILENO);
#ifdef ST_HAVE_PTRACE
    int err = use_ptrace ? st_ptrace_child_prepare(level) : 0;
    if (err < 0) {
      fprintf(stderr, "socktrace: cannot install the seccomp filter: %s\n", st_strerror(err));
      _exit(127);
    }
#else
    (void)level;
    (void)use_ptrace;
#endif
    execvp(argv[0], argv);
    fprintf(stderr, "socktrace: cannot run %s: %s\n", argv[0], st_strerror(-errno));
    _exit(127);
  }
  close(hold[0]);
  c->pid = child;
  c->release_fd = hold[1];
  o->cfg.filter.tree_root = (uint32_t)child;
  *out = c;
  return 0;
}

int cli_child_release(st_session *s, uv_loop_t *loop, void *arg) {
  cli_child *c = arg;
  c->session = s;
  uv_signal_init(loop, &c->sigchld);
  uv_signal_init(loop, &c->sigint);
  uv_signal_init(loop, &c->sigterm);
  c->sigchld.data = c->sigint.data = c->sigterm.data = c;
  if (!c->ptrace)
    uv_signal_start(&c->sigchld, on_sigchld, SIGCHLD);
  if (c->forward_signals) {
    uv_signal_start(&c->sigint, on_stop_signal, SIGINT);
    uv_signal_start(&c->sigterm, on_stop_signal, SIGTERM);
  }
  if (c->ptrace) {
    /* The backend ends the session when the tree is gone; these only pass
     * signals on meanwhile. */
    uv_unref((uv_handle_t *)&c->sigint);
    uv_unref((uv_handle_t *)&c->sigterm);
  }
  if (write(c->release_fd, "go", 2) != 2) {
    cli_error("cannot start the command: %s", st_strerror(-errno));
    return 1;
  }
  close(c->release_fd);
  c->release_fd = -1;
  /* The child may have exited before the handler was installed. */
  if (!c->ptrace)
    on_sigchld(&c->sigchld, SIGCHLD);
  return 0;
}

void cli_child_kill(cli_child *c, int sig) {
  int st;
  if (c->release_fd < 0 && !c->exited && !(c->ptrace && cli_ptrace_status(&st)))
    kill(c->pid, sig);
}

/* A wait status as an exit code, the shell's way. */
static int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

bool cli_child_exited(const cli_child *c, int *code) {
  int st = c->status;
  bool exited = c->exited || (c->ptrace && cli_ptrace_status(&st));
  if (exited)
    *code = exit_code(st);
  return exited;
}

int cli_child_end(cli_child *c, cli_options *o, int code) {
  pid_t child = c->pid;
  bool released = c->release_fd < 0;
  if (!released)
    close(c->release_fd); /* the child sees EOF and exits 127 without running */
  if (c->ptrace && released) {
    c->exited = cli_ptrace_status(&c->status); /* the backend reaped it */
  } else if (!c->exited && waitpid(child, &c->status, 0) == child) {
    c->exited = true; /* with ptrace: never seized, it exits 127 unrun */
  }
  bool exited = c->exited;
  int status = c->status;
  free(c);
  if (!released || !exited)
    return code ? code : 1;
  return cli_command_exit(o, code, status);
}

int cli_command_exit(const cli_options *o, int code, int status) {
  int cmd = exit_code(status);
  /* The command's own failure wins; then an incomplete recording, a
   * tracing failure, and --fail-on (socktrace(1), EXIT STATUS). */
  if (cmd != 0)
    return cmd;
  if (o->incomplete)
    return CLI_EXIT_INCOMPLETE;
  if (code != 0 && code != CLI_EXIT_FAIL_ON)
    return 1;
  return o->fail_hit ? CLI_EXIT_FAIL_ON : 0;
}
