/*
 * The unprivileged Linux backend: `socktrace run -- CMD` traces CMD's tree
 * with ptrace, the tree stopping only at the socket calls the session's
 * level needs (a seccomp filter that returns SECCOMP_RET_TRACE for them, as
 * strace --seccomp-bpf does). The tracer is CMD's parent and needs no
 * capability, so it works in containers, CI jobs and rootless shells where
 * the eBPF backend cannot load. What it learns is turned into the eBPF
 * backend's records and fed to the same expander, so both give the same
 * events for the same program; what only the kernel's stack sees
 * (st_ptrace_gaps) is not reported.
 */
#ifndef ST_BACKEND_PTRACE_H
#define ST_BACKEND_PTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_ptrace_options {
  /* Called once at start for each thing this backend cannot give; may be
   * NULL. */
  void (*notice)(const char *message, void *arg);
  void *notice_arg;
  /* Called once on the loop thread when the trace ends after the traced
   * command exited, with its wait status (the backend reaps it). */
  void (*exited)(int status, void *arg);
  void *exited_arg;
  /* `run --pid`: attach to the running process cfg.filter.tree_root (of
   * the same user) and all its threads instead of a held child; stopping
   * the trace detaches and leaves it running. */
  bool attach;
} st_ptrace_options;

/* Creates the backend. It traces the process the session's tree filter
 * names (cfg.filter.tree_root), which must be a child of this process held
 * before its exec: open seizes it, and the child must call
 * st_ptrace_child_prepare() before it execs. With opt->attach, the process
 * runs already: start attaches to it, stop detaches. */
int st_backend_ptrace_new(const st_ptrace_options *opt, st_backend **out);

/* In the child, after the tracer seized it and before exec: installs the
 * seccomp filter that stops the child's tree at the socket calls of this
 * level (no_new_privs is set first, as an unprivileged filter needs).
 * Async-signal-safe. Returns 0 or -errno. */
int st_ptrace_child_prepare(uint8_t level);

/* Whether this machine lets an unprivileged process load the eBPF backend:
 * false with why ("needs root or CAP_BPF and CAP_PERFMON", ...) when it
 * cannot. */
bool st_ptrace_ebpf_possible(char *why, size_t len);

/* What this backend cannot see, one phrase each; returns how many. */
size_t st_ptrace_gaps(const char **out, size_t max);

/* Whether this backend reports an event (ST_AVAIL_* of ebpf.h: 0 no, 1 yes,
 * 2 partly); *why says what is missing. */
int st_ptrace_event_available(uint8_t provider, uint16_t id, const char **why);

#ifdef __cplusplus
}
#endif
#endif
