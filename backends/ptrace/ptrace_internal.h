/*
 * Private to the ptrace backend: what the backend (ptrace.c), the tracer's
 * loop (tracer.c), the socket calls (calls.c), the connect watcher
 * (watch.c) and the filter (filter.c) share.
 */
#ifndef ST_PTRACE_INTERNAL_H
#define ST_PTRACE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "ebpf/ebpf_internal.h"
#include "socktrace/backend.h" /* st_session, not session.h: uv.h brings glibc's tcp.h */

/* A descriptor of a traced process that refers to a socket we know. */
typedef struct pt_fd {
  int fd; /* key */
  uint64_t cookie;
  UT_hash_handle hh;
} pt_fd;

/* A socket, by its cookie: how many descriptors of the traced tree hold it
 * (its last close ends it) and what it is. */
typedef struct pt_sock {
  uint64_t cookie; /* key */
  int holders;
  struct st_bpf_sock s;
  uint32_t backlog;
  bool connected; /* connect() or accept() gave it a peer */
  bool dns;       /* connected to port 53: its messages are read (dns.c) */
  int watch_fd;   /* our duplicate while a connect is pending (-1: none) */
  UT_hash_handle hh;
} pt_sock;

/* A traced process: its descriptor table, shared by its threads. */
typedef struct pt_proc {
  pid_t tgid; /* key */
  pid_t ppid;
  int pidfd;
  int threads;
  int exiting; /* threads that reached their exit stop */
  char comm[16];
  pt_fd *fds;
  int dns_fds; /* descriptors of DNS sockets: while any, its threads make syscall stops */
  UT_hash_handle hh;
} pt_proc;

/* A traced thread, and the call it is inside (between its seccomp stop and
 * its exit stop). */
typedef struct pt_task {
  pid_t tid; /* key */
  pt_proc *proc;
  int nr;
  uint64_t args[6];
  uint64_t cookie; /* the socket of the call's descriptor (0: none) */
  bool want_exit;  /* the call's exit is to be read */
  bool to_dns;     /* the connect under way is to port 53 */
  /* A data call on a DNS socket, between its entry and exit stops. */
  bool dns_call;
  int dns_nr;
  uint64_t dns_args[6];
  UT_hash_handle hh;
} pt_task;

typedef struct pt_tracer {
  pid_t root;
  uint8_t level;
  /* run --pid: a running process, attached (no seccomp filter: every call
   * stops at its entry and exit); stopping the trace detaches from it. */
  bool attach;
  pt_task *tasks;
  pt_proc *procs;
  pt_sock *socks;
  /* The expander and the events it makes: used from the tracer's thread and
   * the watcher's, one at a time. */
  pthread_mutex_t lock;
  ebpf_expander *x;
  /* Records made while a stop is handled, fed once the tracee is resumed
   * (pt_feed_deferred), before the lock is let go: each a size_t, then the
   * record. */
  bool defer;
  uint8_t *deferred;
  size_t ndeferred, deferred_cap;
  int epoll_fd; /* pending connects (watch.c) */
  int stop_fd;  /* eventfd: the watcher ends */
  /* Events made but not yet handed to the session: handed over in batches
   * (at PT_BATCH_MAX, or by the watcher PT_BATCH_MS after the first), so
   * the loop thread wakes once per batch rather than once per stop. */
  st_event *batch;
  size_t nbatch;
  int kick_fd; /* eventfd: the batch is no longer empty */
  st_session *session;
  bool quit;
  bool exited;
  int status; /* the root's wait status */
  /* Poll for the next stop before sleeping (tracer.c, wait_stop): whether
   * to (more than one CPU), and how long the last wait took. */
  bool poll;
  uint64_t last_gap;
} pt_tracer;

#define PT_POLL_NS 100000

/* cpus.c: the CPUs a cgroup quota on the way up from this process's
 * cgroups allows (0: no quota); root prefixes every path read (a test's
 * tree, "" for the system's). */
double pt_cgroup_cpus(const char *root);
/* Whether this process may use two CPUs at once (affinity and quota). */
bool pt_cpus_to_spare(void);

#define PT_BATCH_MAX 512
#define PT_BATCH_MS 5
#define PT_KICK UINT64_MAX /* the kick eventfd's epoll tag (0: the stop eventfd) */
/* Hands the batch to the session (under the lock). */
void pt_flush(pt_tracer *t);

/* filter.c: whether a call (of this ABI, number and arguments) is one the
 * level reads: what the seccomp filter stops at. */
bool pt_call_traced(uint32_t arch, int nr, const uint64_t *args, uint8_t level);
/* AUDIT_ARCH_* of the calls the numbers here are of. */
uint32_t pt_native_arch(void);

/* calls.c */
uint64_t pt_now(void);
/* At the call's seccomp stop: true when its exit stop is wanted. */
bool pt_call_enter(pt_tracer *t, pt_task *k);
/* At its exit stop, with the call's return value. */
void pt_call_exit(pt_tracer *t, pt_task *k, int64_t ret);
/* The process's sockets that only it held end with it (at its exit
 * stop, while its descriptors are still open). */
void pt_proc_exit(pt_tracer *t, pt_proc *p);
/* After an exec: descriptors closed on exec are forgotten. */
void pt_proc_exec(pt_tracer *t, pt_proc *p);
/* A new process gets a copy of its parent's table. */
void pt_proc_fork(pt_tracer *t, pt_proc *parent, pt_proc *child);
void pt_proc_free_fds(pt_tracer *t, pt_proc *p);
pt_sock *pt_sock_find(pt_tracer *t, uint64_t cookie);
/* Feeds one record to the expander (under the lock); while t->defer, at
 * pt_feed_deferred. */
void pt_feed(pt_tracer *t, const void *rec, size_t size);
void pt_feed_deferred(pt_tracer *t);
/* The tracee's memory (all len bytes, or false). */
bool pt_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len);
pt_sock *pt_sock_of_fd(pt_tracer *t, pt_proc *p, int fd);
/* A record's header (now) and the calling thread. */
void pt_hdr(struct st_bpf_hdr *h, uint16_t kind, uint64_t sk, int32_t ret);
void pt_proc_rec(const pt_task *k, struct st_bpf_proc *p);

/* dns.c: the messages of sockets connected to port 53, read from the
 * tracee's buffers. A process that holds one makes syscall stops (every
 * call, entry and exit) until it closes it, since the seccomp filter
 * cannot tell its data calls from others. */
/* A socket connected to port 53 (by thread self, stopped). */
void pt_dns_mark(pt_tracer *t, pt_sock *s, pid_t self);
/* Whether the process's threads are to make syscall stops now. */
bool pt_syscall_stops(const pt_tracer *t, const pt_proc *p);
/* At a call's syscall-entry stop: true when it moves data on a DNS socket
 * (its exit is read). */
bool pt_dns_enter(pt_tracer *t, pt_task *k, int nr, const uint64_t *args);
void pt_dns_exit(pt_tracer *t, pt_task *k, int64_t ret);

/* watch.c: a non-blocking connect's completion, from our duplicate of the
 * socket. */
void pt_watch_add(pt_tracer *t, pt_sock *s, int dup_fd, const struct st_bpf_proc *p);
/* Reports the completion now if the socket has finished connecting (before
 * a later call on it is reported); cancel drops the watch. */
void pt_watch_check(pt_tracer *t, pt_sock *s, bool cancel);
void *pt_watch_thread(void *arg);

/* tracer.c: the loop; returns when no traced task is left (attached, it
 * can also be cancelled, at its waitpid only: the thread's end detaches the
 * kernel's tracees, which go on running). */
int pt_seize(pt_tracer *t);
void pt_loop(pt_tracer *t);
void pt_kill_all(pt_tracer *t);

#endif
