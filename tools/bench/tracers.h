/*
 * The tracers st-bench runs the workloads under, one table row each: how
 * to start it, what it prints once it traces, and how to count what it
 * saw. harness.c runs them; adding a tracer is adding a row here.
 */
#ifndef ST_BENCH_TRACERS_H
#define ST_BENCH_TRACERS_H

#include <stdbool.h>
#include <stddef.h>

/* One run's files and names: the tracer's stdout and stderr, where it
 * writes its events (socktrace -o, strace -o, bpftrace -o), the workload's
 * pid as text and the socktrace binary. */
typedef struct run_files {
  char out[128], err[128], events[160];
  const char *pid;
  const char *socktrace;
  const char *before;       /* --before: a socktrace from before a change, or NULL */
  const char *ptrace_floor; /* st-bench-ptrace-floor, beside st-bench */
  char *const *workload;    /* the workload's argv, for wrapping tracers */
} run_files;

typedef struct tracer tracer;
struct tracer {
  const char *name;
  const char *tool; /* must be on PATH; NULL: always there */
  bool ours;        /* untraced and socktrace: their failures fail st-bench */
  /* The tracer starts the workload itself (argv ends with it): a tracer
   * that cannot attach to a running process (ptrace + seccomp). Its CPU
   * figure then includes the workload's. */
  bool wraps;
  bool before;         /* runs the --before binary (shown only with --before) */
  const char *args[8]; /* socktrace's options, or bpftrace's script in args[0] */
  const char *out_ext; /* suffix of the events file socktrace writes; NULL: none */
  /* Fills argv (NULL-terminated, at most 32); NULL for the untraced row. */
  void (*argv)(const tracer *t, const run_files *f, char **argv);
  const char *ready;    /* what the tracer prints once it traces */
  bool ready_in_events; /* ... into its events file rather than stdout/stderr */
  int grace_ms;         /* more waiting after that (bpftrace says it early) */
  int drain_ms;         /* after the workload, before SIGINT */
  /* Events seen and lost, from what the tracer left; -1 when unknown. */
  void (*count)(const run_files *f, long long *events, long long *lost);
  bool available;
  bool shown; /* asked for: --tracers names it (or no --tracers), --before given for before rows */
};

extern tracer bench_tracers[];
extern const size_t bench_ntracers;
/* The row named name (the throughput test picks its sinks by name). */
const tracer *bench_tracer(const char *name);

/* A whole file as a string (NULL when it cannot be read); the caller frees. */
char *bench_slurp(const char *path);
/* socktrace's --stats=json object, the last line of its stderr in path. */
bool bench_socktrace_stats(const char *path, long long *seen, long long *shown, long long *lost);

#endif
