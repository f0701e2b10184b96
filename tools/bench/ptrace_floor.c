/*
 * st-bench-ptrace-floor: the least a tracer of the ptrace backend's kind
 * does, for st-bench's row "ptrace-floor". It runs CMD under the backend's
 * own level-4 seccomp filter (filter.c: the calls that stop are the ones
 * socktrace's stop at) and stops where the backend stops: every traced
 * call at its seccomp stop, and at its exit too unless it is a close (read
 * at its start). At each stop it reads the call (PTRACE_GET_SYSCALL_INFO)
 * and resumes, polling for the next stop as the backend does where it does
 * (cpus.c). It reads no socket and builds no event: what `ptrace-l4` costs
 * above this row is the backend's own work; this row is the cost of the
 * stops themselves, which exact results need (a call's result is known
 * only at its exit) and no ptrace tracer avoids.
 *
 *   st-bench-ptrace-floor [-o FILE] -- CMD [ARGS...]
 *
 * FILE gets the number of stops. Exits with CMD's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace.h"
#include "ptrace_internal.h"

#define OPTIONS                                                                                    \
  (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |         \
   PTRACE_O_TRACECLONE | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)

int main(int argc, char **argv) {
  const char *out = NULL;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (!strcmp(argv[i], "-o") && i + 1 < argc)
      out = argv[++i];
  if (i + 1 >= argc) {
    fprintf(stderr, "usage: st-bench-ptrace-floor [-o FILE] -- CMD [ARGS...]\n");
    return 2;
  }
  char **cmd = argv + i + 1;

  /* CMD waits on a pipe until it is seized, then takes the filter. */
  int hold[2];
  if (pipe(hold) != 0)
    return 125;
  pid_t root = fork();
  if (root < 0)
    return 125;
  if (root == 0) {
    char go;
    close(hold[1]);
    if (read(hold[0], &go, 1) != 1)
      _exit(126);
    if (st_ptrace_child_prepare(4) != 0) {
      perror("st-bench-ptrace-floor: seccomp");
      _exit(126);
    }
    execvp(cmd[0], cmd);
    _exit(127);
  }
  close(hold[0]);
  if (ptrace(PTRACE_SEIZE, root, 0, (void *)(long)OPTIONS) != 0) {
    perror("st-bench-ptrace-floor: PTRACE_SEIZE");
    kill(root, SIGKILL);
    return 125;
  }
  if (write(hold[1], "g", 1) != 1)
    return 125;
  close(hold[1]);

  bool poll = pt_cpus_to_spare();
  uint64_t last_gap = 0, stops = 0;
  int status = 0;
  for (;;) {
    int st;
    pid_t tid = 0;
    uint64_t start = pt_now();
    if (poll && last_gap < PT_POLL_NS)
      while ((tid = waitpid(-1, &st, __WALL | WNOHANG)) == 0 && pt_now() - start < PT_POLL_NS)
        sched_yield();
    if (tid == 0)
      tid = waitpid(-1, &st, __WALL);
    last_gap = pt_now() - start;
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break; /* no task left */
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (tid == root)
        status = st;
      continue;
    }
    if (!WIFSTOPPED(st))
      continue;
    int sig = WSTOPSIG(st), event = st >> 16;
    struct __ptrace_syscall_info si;
    if (sig == (SIGTRAP | 0x80)) { /* a call's exit */
      stops++;
      ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si);
      ptrace(PTRACE_CONT, tid, 0, 0);
    } else if (event == PTRACE_EVENT_SECCOMP) { /* a call's start */
      stops++;
      memset(&si, 0, sizeof si);
      ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof si, &si);
      bool exit_wanted = si.op == PTRACE_SYSCALL_INFO_SECCOMP && si.seccomp.nr != __NR_close;
      ptrace(exit_wanted ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0, 0);
    } else if (event == PTRACE_EVENT_STOP &&
               (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)) {
      ptrace(PTRACE_LISTEN, tid, 0, 0); /* a group stop */
    } else if (event) {
      ptrace(PTRACE_CONT, tid, 0, 0);
    } else {
      ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig); /* deliver it */
    }
  }
  if (out) {
    FILE *f = fopen(out, "w");
    if (f) {
      fprintf(f, "%llu\n", (unsigned long long)stops);
      fclose(f);
    }
  }
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
