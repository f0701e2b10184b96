/*
 * The ptrace backend's vtable: open makes the expander (the eBPF backend's,
 * fed with records the tracer builds), start runs the tracer on a thread of
 * its own (ptrace requests must come from the thread that attached) and the
 * connect watcher on another; their events reach the session through the
 * thread-safe st_session_push(), in batches, in the order they were made
 * (both threads make them under one lock). When the traced tree is gone, the tracer
 * thread says so on an eventfd the session polls, and poll() ends the
 * session. A ptrace tracer loses nothing: the tracee waits while its call
 * is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "ptrace.h"
#include "ptrace_internal.h"
#include "socktrace/session.h"

typedef struct ptrace_backend {
  st_backend base;
  st_ptrace_options opt;
  pt_tracer t;
  pthread_t tracer, watcher;
  bool tracer_on, watcher_on;
  sem_t started;
  int seize_err;
  int done_fd; /* eventfd: the traced tree is gone */
  uint64_t seq, events;
  bool in_container; /* the command's container, read once at open */
  st_container container;
} ptrace_backend;

/* What a call-level tracer cannot see: the stack's own work between calls. */
static const char *const gaps[] = {
    ("no TcpStateChange, TcpRetransmit, TcpResetSent, KernelDrop, DatagramDrop or "
     "DataIndication (the TCP/IP stack's work between calls is not seen without eBPF)"),
    "no ConnectIndication (a connection is seen when it is accepted)",
    "Disconnect and a received reset are reported when the application closes the socket",
    ("DNS messages only on sockets connected to port 53 (glibc's and Go's resolvers), not an "
     "unconnected sendto to port 53 (musl's resolver, dig)"),
};

/* What differs when attached to a running process (run --pid). */
static const char *const attach_gaps[] = {
    ("attached to a running process: every system call it makes stops twice (no seccomp "
     "filter can be added to it), so it runs slower than under 'run -- CMD'"),
    "sockets opened before the attach are seen from their first traced call on",
};

size_t st_ptrace_gaps(const char **out, size_t max) {
  size_t n = sizeof gaps / sizeof gaps[0];
  for (size_t i = 0; i < n && i < max; i++)
    out[i] = gaps[i];
  return n < max ? n : max;
}

int st_ptrace_event_available(uint8_t provider, uint16_t id, const char **why) {
  *why = NULL;
  if (provider == ST_PROVIDER_CATALOG) {
    *why = "the catalog's changes need the eBPF backend";
    return 0;
  }
  switch (id) {
  case ST_EV_TCP_STATE_CHANGE:
  case ST_EV_TCP_RETRANSMIT:
  case ST_EV_TCP_RESET_SENT:
  case ST_EV_KERNEL_DROP:
  case ST_EV_DATAGRAM_DROP_ADDR:
  case ST_EV_DATA_INDICATION:
  case ST_EV_CONNECT_INDICATION_ADDR:
    *why = "the stack's own work: needs the eBPF backend";
    return 0;
  case ST_EV_DNS_MESSAGE:
    *why = "on sockets connected to port 53 (glibc, Go), not musl's unconnected sendto";
    return 2;
  case ST_EV_DISCONNECT:
  case ST_EV_ABORT:
    *why = "seen when the application closes the socket";
    return 2;
  case ST_EV_CREATE:
  case ST_EV_CLOSE:
  case ST_EV_CLEANUP:
  case ST_EV_SEND:
  case ST_EV_RECEIVE:
  case ST_EV_SENDTO_ADDR:
  case ST_EV_RECEIVEFROM_ADDR:
  case ST_EV_SENDMSG:
  case ST_EV_RECEIVEMSG:
  case ST_EV_SENDMSG_ADDR:
  case ST_EV_RECEIVEMSG_ADDR:
  case ST_EV_CONNECT:
  case ST_EV_CONNECT_ADDR:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_BIND_ADDR:
  case ST_EV_LISTEN:
  case ST_EV_ENDPOINT_SUMMARY:
  case ST_EV_OPTION:
  case ST_EV_EVENTS_LOST:
  case ST_EV_SESSION_CHANGE:
    return 1;
  default:
    *why = "not reported on Linux";
    return 0;
  }
}

/* The eBPF backend needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) in the
 * initial user namespace, and BTF. */
bool st_ptrace_ebpf_possible(char *why, size_t len) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long eff = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "CapEff:", 7))
      eff = strtoull(line + 7, NULL, 16);
  if (f)
    fclose(f);
  bool caps = (eff & (1ull << 21)) /* CAP_SYS_ADMIN */ ||
              ((eff & (1ull << 39)) && (eff & (1ull << 38))); /* CAP_BPF, CAP_PERFMON */
  bool init_ns = true;
  if ((f = fopen("/proc/self/uid_map", "r"))) {
    unsigned long a, b, c;
    init_ns = fscanf(f, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295ul;
    fclose(f);
  }
  if (!caps || !init_ns) {
    snprintf(why, len, "%s",
             !caps ? "eBPF needs root or CAP_BPF and CAP_PERFMON"
                   : "eBPF cannot load inside a user namespace (its capabilities do not count)");
    return false;
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    snprintf(why, len, "this kernel has no BTF (/sys/kernel/btf/vmlinux), which eBPF needs");
    return false;
  }
  return true;
}

/* Events the expander makes from what this backend synthesizes at close
 * (a state it read late) but cannot time: not reported, rather than
 * reported wrong. */
static void on_event(void *arg, st_event *ev) {
  ptrace_backend *b = arg;
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_TCP_STATE_CHANGE)
    return;
  ev->backend = ST_BACKEND_PTRACE;
  ev->seq = ++b->seq;
  /* The whole tree runs where the command does (it is socktrace's child). */
  ev->has &= ~(uint32_t)ST_HAS_CGROUP;
  if (b->in_container) {
    ev->container = b->container;
    ev->has |= ST_HAS_CONTAINER;
  }
  b->events++;
  pt_tracer *t = &b->t;
  t->batch[t->nbatch++] = *ev;
  if (t->nbatch == 1) {
    uint64_t one = 1;
    if (write(t->kick_fd, &one, sizeof one) != sizeof one)
      pt_flush(t);
  }
  if (t->nbatch == PT_BATCH_MAX)
    pt_flush(t);
}

void pt_flush(pt_tracer *t) {
  for (size_t i = 0; i < t->nbatch; i++)
    st_session_push(t->session, &t->batch[i]);
  t->nbatch = 0;
}

static int64_t boot_to_real(void) {
  struct timespec r, m;
  clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(CLOCK_BOOTTIME, &m);
  return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

static int pt_open(st_backend *base, st_session *s) {
  ptrace_backend *b = (ptrace_backend *)base;
  const st_session_config *cfg = st_session_config_get(s);
  static const ebpf_drop_names no_drops;

  base->session = s;
  st_session_info(s)->os = ST_OS_LINUX;
  st_session_info(s)->backend = ST_BACKEND_PTRACE;
  /* Only the command's tree is traced: the tree filter holds by itself. */
  st_session_backend_filters(s, ST_FILTERED_TREE);
  b->t.root = (pid_t)cfg->filter.tree_root;
  b->t.level = cfg->level ? cfg->level : ST_LEVEL_INFO;
  b->t.attach = b->opt.attach;
  if (!b->t.root) {
    st_backend_set_error(base, "the ptrace backend traces a command: use 'socktrace run -- CMD'");
    return ST_EINVAL;
  }
  b->in_container = st_container_of_pid((uint32_t)b->t.root, &b->container);
  b->t.x = ebpf_expander_new(&no_drops, boot_to_real(), on_event, b);
  b->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  b->t.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  b->t.stop_fd = eventfd(0, EFD_CLOEXEC);
  b->t.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  b->t.batch = malloc(PT_BATCH_MAX * sizeof *b->t.batch);
  b->t.session = s;
  if (!b->t.x || b->done_fd < 0 || b->t.epoll_fd < 0 || b->t.stop_fd < 0 || b->t.kick_fd < 0 ||
      !b->t.batch) {
    st_backend_set_error(base, "cannot set up the ptrace tracer: %s", st_strerror(-errno));
    return ST_ENOMEM;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  epoll_ctl(b->t.epoll_fd, EPOLL_CTL_ADD, b->t.stop_fd, &ev);
  struct epoll_event kick = {.events = EPOLLIN, .data.u64 = PT_KICK};
  epoll_ctl(b->t.epoll_fd, EPOLL_CTL_ADD, b->t.kick_fd, &kick);
  ebpf_expander_settings(b->t.x, b->t.level, cfg->keywords);
  return 0;
}

static void *tracer_main(void *arg) {
  ptrace_backend *b = arg;
  sigset_t all;
  sigfillset(&all);
  /* The loop thread handles signals, SIGCHLD too. Left unblocked here,
   * where the kernel would drop each stop's SIGCHLD, st-bench measured the
   * traced tree at twice the cost (refused at level 4: 16.3x against 8.5x
   * untraced, churn 7.7x against 5.9x, one --reps 5 run each). */
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  pthread_mutex_lock(&b->t.lock);
  b->seize_err = pt_seize(&b->t);
  pthread_mutex_unlock(&b->t.lock);
  sem_post(&b->started);
  if (!b->seize_err)
    pt_loop(&b->t);
  pthread_mutex_lock(&b->t.lock);
  pt_flush(&b->t); /* the last batch, before the session hears of the end */
  pthread_mutex_unlock(&b->t.lock);
  uint64_t one = 1;
  if (write(b->done_fd, &one, sizeof one) != sizeof one)
    return NULL;
  return NULL;
}

static void *watcher_main(void *arg) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  return pt_watch_thread(arg);
}

/* A line from /proc/PID/status ("TracerPid:", "Uid:"): its first number,
 * or -1. */
static long status_field(pid_t pid, const char *key) {
  char path[64], line[256];
  long v = -1;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key))) {
      v = strtol(line + strlen(key), NULL, 10);
      break;
    }
  if (f)
    fclose(f);
  return v;
}

/* Why the kernel refused to let us attach to pid, and what to do: the
 * first of the known reasons that holds. */
static void attach_error(st_backend *base, pid_t pid, int err) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  if (err == -ESRCH || stat(path, &st) != 0) {
    st_backend_set_error(base, "cannot attach to process %d: no such process", (int)pid);
    return;
  }
  long tracer = status_field(pid, "TracerPid:");
  long uid = status_field(pid, "Uid:");
  int yama = -1;
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
  if (f && fscanf(f, "%d", &yama) != 1)
    yama = -1;
  if (f)
    fclose(f);
  if (err != -EPERM)
    st_backend_set_error(base, "cannot attach to process %d with ptrace: %s", (int)pid,
                         st_strerror(err));
  else if (tracer > 0)
    st_backend_set_error(base,
                         "cannot attach to process %d: process %ld traces it already (a debugger "
                         "or strace); detach that first",
                         (int)pid, tracer);
  else if (uid >= 0 && (uid_t)uid != getuid() && getuid() != 0)
    st_backend_set_error(base,
                         "cannot attach to process %d: it belongs to user %ld, not to you; run "
                         "as that user (or as root, which uses eBPF: 'socktrace trace -p %d')",
                         (int)pid, uid, (int)pid);
  else if (yama >= 1)
    st_backend_set_error(
        base,
        "cannot attach to process %d: Yama's ptrace_scope is %d (%s); start the program under "
        "'socktrace run -- CMD' instead%s",
        (int)pid, yama,
        yama == 1   ? "only a process's ancestors may trace it"
        : yama == 2 ? "only root may attach"
                    : "no process may attach",
        yama == 3 ? "" : ", or as root set /proc/sys/kernel/yama/ptrace_scope to 0");
  else if (st.st_uid != getuid() && getuid() != 0)
    st_backend_set_error(base,
                         "cannot attach to process %d: it is not dumpable (setuid, or it made "
                         "itself so), which forbids ptrace; start it under 'socktrace run -- "
                         "CMD' instead",
                         (int)pid);
  else
    st_backend_set_error(base,
                         "cannot attach to process %d: the kernel refused ptrace (a container's "
                         "seccomp profile or a security module forbids it: allow ptrace, e.g. "
                         "docker --cap-add SYS_PTRACE, or start it under 'socktrace run -- CMD')",
                         (int)pid);
}

static int pt_start(st_backend *base) {
  ptrace_backend *b = (ptrace_backend *)base;
  if (pthread_create(&b->watcher, NULL, watcher_main, &b->t) != 0) {
    st_backend_set_error(base, "cannot start the connect watcher thread");
    return ST_ENOMEM;
  }
  b->watcher_on = true;
  if (pthread_create(&b->tracer, NULL, tracer_main, b) != 0) {
    st_backend_set_error(base, "cannot start the tracer thread");
    return ST_ENOMEM;
  }
  b->tracer_on = true;
  while (sem_wait(&b->started) != 0 && errno == EINTR)
    ;
  if (b->seize_err) {
    if (b->t.attach)
      attach_error(base, b->t.root, b->seize_err);
    else
      st_backend_set_error(base,
                           "cannot trace the command with ptrace: %s (a container's seccomp "
                           "profile, Yama or no_new_privs policy may forbid it; allow ptrace, or "
                           "run as root to use eBPF)",
                           st_strerror(b->seize_err));
    return b->seize_err;
  }
  /* Said once tracing works (not before a refusal's one line). */
  for (size_t i = 0; b->opt.notice && i < sizeof gaps / sizeof gaps[0]; i++)
    b->opt.notice(gaps[i], b->opt.notice_arg);
  for (size_t i = 0; b->opt.notice && b->t.attach && i < sizeof attach_gaps / sizeof *attach_gaps;
       i++)
    b->opt.notice(attach_gaps[i], b->opt.notice_arg);
  return 0;
}

static int pt_backend_fd(st_backend *base) {
  return ((ptrace_backend *)base)->done_fd;
}

static int pt_poll(st_backend *base) {
  ptrace_backend *b = (ptrace_backend *)base;
  uint64_t v;
  if (read(b->done_fd, &v, sizeof v) == sizeof v)
    st_session_backend_done(base->session, 0);
  return 0;
}

static int pt_stop(st_backend *base) {
  ptrace_backend *b = (ptrace_backend *)base;
  if (b->tracer_on) {
    /* Stopped before the command ended: it does not outlive the trace
     * (as PTRACE_O_EXITKILL would have it if we died). Attached, the
     * process goes on: the tracer thread's end detaches it. */
    if (b->t.attach)
      pthread_cancel(b->tracer);
    else
      pt_kill_all(&b->t);
    pthread_join(b->tracer, NULL);
    b->tracer_on = false;
    pthread_mutex_lock(&b->t.lock);
    pt_flush(&b->t); /* a cancelled loop left its last batch */
    pthread_mutex_unlock(&b->t.lock);
    if (b->t.exited && b->opt.exited)
      b->opt.exited(b->t.status, b->opt.exited_arg);
  }
  if (b->watcher_on) {
    uint64_t one = 1;
    if (write(b->t.stop_fd, &one, sizeof one) == sizeof one)
      pthread_join(b->watcher, NULL);
    b->watcher_on = false;
  }
  return 0;
}

static void pt_close(st_backend *base) {
  ptrace_backend *b = (ptrace_backend *)base;
  pt_stop(base);
  pt_task *k, *kt;
  HASH_ITER(hh, b->t.tasks, k, kt) {
    HASH_DEL(b->t.tasks, k);
    free(k);
  }
  pt_proc *p, *pp;
  HASH_ITER(hh, b->t.procs, p, pp) {
    pt_proc_free_fds(&b->t, p);
    if (p->pidfd >= 0)
      close(p->pidfd);
    HASH_DEL(b->t.procs, p);
    free(p);
  }
  pt_sock *s, *st;
  HASH_ITER(hh, b->t.socks, s, st) {
    if (s->watch_fd >= 0)
      close(s->watch_fd);
    HASH_DEL(b->t.socks, s);
    free(s);
  }
  ebpf_expander_free(b->t.x);
  int fds[] = {b->done_fd, b->t.epoll_fd, b->t.stop_fd, b->t.kick_fd};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  free(b->t.batch);
  free(b->t.deferred);
  sem_destroy(&b->started);
  pthread_mutex_destroy(&b->t.lock);
  free(b);
}

static void pt_stats(st_backend *base, st_backend_stats *out) {
  out->events = ((ptrace_backend *)base)->events;
}

static const st_backend_ops ptrace_ops = {
    .name = "ptrace",
    .kind = ST_SOURCE_LIVE,
    .open = pt_open,
    .start = pt_start,
    .stop = pt_stop,
    .close = pt_close,
    .stats = pt_stats,
    .fd = pt_backend_fd,
    .poll = pt_poll,
};

int st_backend_ptrace_new(const st_ptrace_options *opt, st_backend **out) {
  ptrace_backend *b = calloc(1, sizeof *b);
  if (!b)
    return ST_ENOMEM;
  b->base.ops = &ptrace_ops;
  if (opt)
    b->opt = *opt;
  b->done_fd = b->t.epoll_fd = b->t.stop_fd = b->t.kick_fd = -1;
  pthread_mutex_init(&b->t.lock, NULL);
  sem_init(&b->started, 0, 0);
  *out = &b->base;
  return 0;
}
