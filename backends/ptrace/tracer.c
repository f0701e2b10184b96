/*
 * The tracer's loop, in strace's shape: one waitpid(-1, __WALL) loop that
 * classifies each stop of the traced tree and resumes it.
 *
 *  - a seccomp stop (PTRACE_EVENT_SECCOMP): a socket call starts; resumed
 *    with PTRACE_SYSCALL when its end matters, else with PTRACE_CONT;
 *  - a syscall-exit stop (SIGTRAP | 0x80): the call returned;
 *  - fork, vfork, clone: the new task is traced already (auto-attach);
 *    a new process gets a copy of its parent's descriptor table;
 *  - exec: the process's name and its descriptors closed on exec;
 *  - exit (PTRACE_EVENT_EXIT, before its descriptors close): the sockets
 *    that only it held end;
 *  - a group stop (PTRACE_EVENT_STOP with a stop signal): PTRACE_LISTEN, so
 *    the task stays stopped as it would untraced; other event stops
 *    (a new task's first stop) resume at once;
 *  - a signal: delivered on resume, as if untraced.
 *
 * Call arguments and results come from PTRACE_GET_SYSCALL_INFO (5.3). The
 * tracee is seized with PTRACE_O_EXITKILL: killing the tracer kills the
 * traced tree; nothing is left stopped. The loop ends when no task is
 * left (the command and all it started have exited).
 *
 * Attached to a running process (run --pid), as strace -p is: each of its
 * threads is seized (without EXITKILL) and interrupted, and from then on
 * resumed with PTRACE_SYSCALL, since no seccomp filter can be added to a
 * running process: every call stops at its entry (the socket calls are
 * read there) and its exit. Stopping the trace cancels the loop at its
 * waitpid, where no tracee waits on us; the thread's end detaches them all
 * (the kernel clears their syscall tracing and resumes any in a stop).
 */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "ptrace_internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define OPTIONS                                                                                    \
  (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEFORK |          \
   PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)
/* A process we attach to goes on if we die. */
#define OPTIONS_ATTACH (OPTIONS & ~PTRACE_O_EXITKILL)

/* Resumes a stopped task (with a signal to deliver, or 0): to its next
 * call's entry where its process makes syscall stops (attached, or while it
 * holds a DNS socket); else to its next seccomp stop. */
static void resume(const pt_tracer *t, const pt_task *k, pid_t tid, int sig) {
  ptrace(pt_syscall_stops(t, k ? k->proc : NULL) ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0,
         (void *)(long)sig);
}

/* Tgid, PPid and Name of a task, from /proc. */
static void task_status(pid_t tid, pid_t *tgid, pid_t *ppid, char *comm) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
  FILE *f = fopen(path, "r");
  *tgid = tid;
  *ppid = 0;
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Name:\t", 6)) {
      line[strcspn(line, "\n")] = 0;
      size_t n = strnlen(line + 6, 15);
      memcpy(comm, line + 6, n);
      comm[n] = '\0';
    } else if (!strncmp(line, "Tgid:\t", 6)) {
      *tgid = atoi(line + 6);
    } else if (!strncmp(line, "PPid:\t", 6)) {
      *ppid = atoi(line + 6);
      break;
    }
  }
  fclose(f);
}

static pt_proc *proc_find(pt_tracer *t, pid_t tgid) {
  pt_proc *p = NULL;
  HASH_FIND_INT(t->procs, &tgid, p);
  return p;
}

static pt_proc *proc_new(pt_tracer *t, pid_t tgid, pid_t ppid, const char *comm) {
  pt_proc *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->tgid = tgid;
  p->ppid = ppid;
  p->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
  snprintf(p->comm, sizeof p->comm, "%s", comm);
  HASH_ADD_INT(t->procs, tgid, p);
  pt_proc *parent = proc_find(t, ppid);
  if (parent)
    pt_proc_fork(t, parent, p);
  return p;
}

static void proc_free(pt_tracer *t, pt_proc *p) {
  pt_proc_free_fds(t, p);
  if (p->pidfd >= 0)
    close(p->pidfd);
  HASH_DEL(t->procs, p);
  free(p);
}

static pt_task *task_find(pt_tracer *t, pid_t tid) {
  pt_task *k = NULL;
  HASH_FIND_INT(t->tasks, &tid, k);
  return k;
}

/* A task met for the first time (its process too, when it is new). */
static pt_task *task_get(pt_tracer *t, pid_t tid) {
  pt_task *k = task_find(t, tid);
  if (k)
    return k;
  pid_t tgid, ppid;
  char comm[16] = "";
  task_status(tid, &tgid, &ppid, comm);
  pt_proc *p = proc_find(t, tgid);
  if (!p && !(p = proc_new(t, tgid, ppid, comm)))
    return NULL;
  if (!(k = calloc(1, sizeof *k)))
    return NULL;
  k->tid = tid;
  k->proc = p;
  p->threads++;
  HASH_ADD_INT(t->tasks, tid, k);
  return k;
}

static void task_gone(pt_tracer *t, pid_t tid) {
  pt_task *k = task_find(t, tid);
  if (!k)
    return;
  pt_proc *p = k->proc;
  HASH_DEL(t->tasks, k);
  free(k);
  if (--p->threads <= 0)
    proc_free(t, p);
}

/* Seizes one thread of a running process and interrupts it: its first
 * stop starts its syscall stops. */
static int attach_one(pt_tracer *t, pid_t tid) {
  if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)OPTIONS_ATTACH) != 0)
    return -errno;
  ptrace(PTRACE_INTERRUPT, tid, 0, 0);
  return task_get(t, tid) ? 0 : -ENOMEM;
}

/* The process and every thread it has, until a pass over /proc finds no
 * new one (a thread started meanwhile by a seized thread is traced already,
 * and its seize fails). */
static int attach_all(pt_tracer *t) {
  int err = attach_one(t, t->root);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)t->root);
  for (bool more = !err; more;) {
    more = false;
    DIR *d = opendir(path);
    if (!d)
      return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
      pid_t tid = (pid_t)atoi(e->d_name);
      if (tid > 0 && !task_find(t, tid) && attach_one(t, tid) == 0)
        more = true;
    }
    closedir(d);
  }
  return err;
}

int pt_seize(pt_tracer *t) {
  if (t->attach)
    return attach_all(t);
  if (ptrace(PTRACE_SEIZE, t->root, 0, (void *)(long)OPTIONS) != 0)
    return -errno;
  return task_get(t, t->root) ? 0 : -ENOMEM;
}

/* A call that starts: read, and whether its exit is wanted. */
static bool call_start(pt_tracer *t, pt_task *k, uint32_t arch, uint64_t nr, const uint64_t *args) {
  if (!pt_call_traced(arch, (int)nr, args, t->level))
    return false;
  k->nr = (int)nr;
  memcpy(k->args, args, sizeof k->args);
  return pt_call_enter(t, k);
}

static void on_seccomp(pt_tracer *t, pt_task *k) {
  struct __ptrace_syscall_info si;
  memset(&si, 0, sizeof si);
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, k->tid, (void *)sizeof si, &si);
  /* Attached, the filter is the process's own: its calls are read at
   * their syscall-entry stops. */
  k->want_exit = !t->attach && n > 0 && si.op == PTRACE_SYSCALL_INFO_SECCOMP &&
                 call_start(t, k, si.arch, si.seccomp.nr, (const uint64_t *)si.seccomp.args);
  if (k->want_exit)
    ptrace(PTRACE_SYSCALL, k->tid, 0, 0);
  else
    resume(t, k, k->tid, 0);
}

/* A syscall stop: the exit of a call whose end matters; attached, also
 * every call's entry. */
static void on_syscall_stop(pt_tracer *t, pt_task *k) {
  struct __ptrace_syscall_info si;
  memset(&si, 0, sizeof si);
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, k->tid, (void *)sizeof si, &si);
  if (n > 0 && si.op == PTRACE_SYSCALL_INFO_ENTRY) {
    const uint64_t *args = (const uint64_t *)si.entry.args;
    /* Not attached, a call the filter traces is read at its seccomp stop,
     * which follows this one. */
    if (t->attach)
      k->want_exit = call_start(t, k, si.arch, si.entry.nr, args);
    k->dns_call = si.arch == pt_native_arch() && pt_dns_enter(t, k, (int)si.entry.nr, args);
  } else if (n > 0 && si.op == PTRACE_SYSCALL_INFO_EXIT) {
    /* A call under way when its process began syscall stops (or when we
     * attached) ends unread. */
    if (k->want_exit)
      pt_call_exit(t, k, si.exit.rval);
    if (k->dns_call)
      pt_dns_exit(t, k, si.exit.rval);
    k->want_exit = k->dns_call = false;
  }
  resume(t, k, k->tid, 0);
}

static void on_event(pt_tracer *t, pt_task *k, int event, int sig) {
  unsigned long msg = 0;
  switch (event) {
  case PTRACE_EVENT_FORK:
  case PTRACE_EVENT_VFORK:
  case PTRACE_EVENT_CLONE:
    /* The parent still waits here, so its table is as at the fork. */
    if (ptrace(PTRACE_GETEVENTMSG, k->tid, 0, &msg) == 0)
      task_get(t, (pid_t)msg);
    break;
  case PTRACE_EVENT_EXEC: {
    /* A thread that execs takes the leader's place (its old id is gone). */
    pid_t tgid, ppid;
    if (ptrace(PTRACE_GETEVENTMSG, k->tid, 0, &msg) == 0 && (pid_t)msg != k->tid)
      task_gone(t, (pid_t)msg);
    task_status(k->tid, &tgid, &ppid, k->proc->comm);
    pt_proc_exec(t, k->proc);
    break;
  }
  case PTRACE_EVENT_EXIT:
    /* The last thread's: the descriptors are still open. */
    if (++k->proc->exiting >= k->proc->threads)
      pt_proc_exit(t, k->proc);
    break;
  case PTRACE_EVENT_STOP:
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
      ptrace(PTRACE_LISTEN, k->tid, 0, 0); /* a group stop: stay stopped */
      return;
    }
    break;
  }
  resume(t, k, k->tid, 0);
}

/* The next stop. A stop is two wakeups: the tracee's stop wakes the tracer,
 * the tracer's resume wakes the tracee. When the tracer sleeps on another
 * CPU, the first is a cross-CPU wakeup (an IPI, and on a virtual machine an
 * exit to the host), which cost more than all the tracer's own work: on a
 * 2-CPU VM st-bench measured churn at level 4 at 2.47 s untouched against
 * 1.31-1.49 s polling. So while stops come close together (the previous one
 * came within PT_POLL_NS of the resume before it), the tracer polls for the
 * next one for up to PT_POLL_NS, yielding its CPU between looks (to a
 * tracee that wants it, among others), before it sleeps. A tree that is
 * not making socket calls meets one poll that finds nothing, then a sleep.
 * With one CPU to run on, or a CPU quota below two, polling could only
 * delay the tracee: never (cpus.c). */
static pid_t wait_stop(pt_tracer *t, int *st) {
  uint64_t start = t->poll ? pt_now() : 0;
  pid_t tid = 0;

  if (t->poll && t->last_gap < PT_POLL_NS) {
    while ((tid = waitpid(-1, st, __WALL | WNOHANG)) == 0 && pt_now() - start < PT_POLL_NS)
      sched_yield();
  }
  if (tid == 0)
    tid = waitpid(-1, st, __WALL);
  if (t->poll)
    t->last_gap = pt_now() - start;
  return tid;
}

void pt_loop(pt_tracer *t) {
  t->poll = pt_cpus_to_spare();
  t->last_gap = 0;
  /* Cancelled only at the waitpid (attached: the trace stops). */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  for (;;) {
    int st;
    if (t->attach)
      pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
    pid_t tid = wait_stop(t, &st);
    if (t->attach)
      pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break; /* ECHILD: nothing left */
    }
    pthread_mutex_lock(&t->lock);
    t->defer = true;
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (tid == t->root) {
        t->status = st;
        t->exited = true;
      }
      task_gone(t, tid);
    } else if (WIFSTOPPED(st)) {
      pt_task *k = task_get(t, tid);
      int sig = WSTOPSIG(st), event = st >> 16;
      if (!k)
        resume(t, NULL, tid, 0);
      else if (sig == (SIGTRAP | 0x80))
        on_syscall_stop(t, k);
      else if (event == PTRACE_EVENT_SECCOMP)
        on_seccomp(t, k);
      else if (event)
        on_event(t, k, event, sig);
      else
        resume(t, k, tid, sig); /* deliver the signal */
    }
    pt_feed_deferred(t); /* the task is resumed */
    pthread_mutex_unlock(&t->lock);
  }
}

void pt_kill_all(pt_tracer *t) {
  pt_task *k, *tmp;
  pthread_mutex_lock(&t->lock);
  HASH_ITER(hh, t->tasks, k, tmp) {
    kill(k->tid, SIGKILL);
  }
  pthread_mutex_unlock(&t->lock);
}
