/*
 * st-bench's table of tracers (tracers.h): socktrace at two levels into
 * three sinks, and the tools users know. strace writes to a file and
 * bpftrace either prints a line per event to a file ("bpftrace") or only
 * counts in kernel maps, printed when it exits ("bpftrace-count"), so their
 * events can be counted; tcpdump counts packets received by its filter.
 */
#include "tracers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *bench_slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap + 1);
  size_t r;
  while ((r = fread(b + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap)
      b = realloc(b, (cap *= 2) + 1);
  }
  fclose(f);
  b[n] = 0;
  return b;
}

static long long count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  long long n = 0;
  int c;
  while ((c = getc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

bool bench_socktrace_stats(const char *path, long long *seen, long long *shown, long long *lost) {
  char *err = bench_slurp(path);
  char *line = err ? strrchr(err, '{') : NULL;
  /* The object is one line; find its start. */
  while (line && line > err && line[-1] != '\n')
    line--;
  json_t *o = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  free(err);
  if (!json_is_object(o)) {
    json_decref(o);
    return false;
  }
  *seen = json_integer_value(json_object_get(o, "seen"));
  *shown = json_integer_value(json_object_get(o, "shown"));
  *lost = json_integer_value(json_object_get(o, "lost"));
  json_decref(o);
  return true;
}

/* ---- how each tracer starts ---- */

static void socktrace_argv(const tracer *t, const run_files *f, char **argv) {
  int n = 0;
  argv[n++] = (char *)f->socktrace;
  argv[n++] = "trace";
  argv[n++] = "--stats=json";
  argv[n++] = "-p";
  argv[n++] = (char *)f->pid;
  for (int i = 0; t->args[i]; i++)
    argv[n++] = (char *)t->args[i];
  if (t->out_ext) {
    argv[n++] = "-o";
    argv[n++] = (char *)f->events;
  }
  argv[n] = NULL;
}

/* `top` live in batch mode: the same backend, its rows each second (into
 * the run's stdout file) instead of every event. */
static void top_argv(const tracer *t, const run_files *f, char **argv) {
  int n = 0;
  argv[n++] = (char *)f->socktrace;
  argv[n++] = "top";
  argv[n++] = "-b";
  argv[n++] = "--stats=json";
  argv[n++] = "-p";
  argv[n++] = (char *)f->pid;
  for (int i = 0; t->args[i]; i++)
    argv[n++] = (char *)t->args[i];
  argv[n] = NULL;
}

/* The binary from before a change may predate --stats=json: it is asked for
 * the words, which every version prints. */
static void before_argv(const tracer *t, const run_files *f, char **argv) {
  int n = 0;
  argv[n++] = (char *)f->before;
  argv[n++] = "trace";
  argv[n++] = "--stats";
  argv[n++] = "-p";
  argv[n++] = (char *)f->pid;
  for (int i = 0; t->args[i]; i++)
    argv[n++] = (char *)t->args[i];
  if (t->out_ext) {
    argv[n++] = "-o";
    argv[n++] = (char *)f->events;
  }
  argv[n] = NULL;
}

static void strace_argv(const tracer *t, const run_files *f, char **argv) {
  const char *a[] = {"strace", "-f", "-e", "trace=network,close", "-o", f->events, "-p", f->pid};
  size_t n = sizeof a / sizeof a[0];
  memcpy(argv, a, sizeof a);
  argv[n] = NULL;
}

/* Wrapping tracers: the tracer's words, then the workload's argv. */
static void wrap_argv(const char *const *a, size_t n, const run_files *f, char **argv) {
  memcpy(argv, a, n * sizeof *a);
  for (int i = 0; f->workload[i] && n < 31; i++)
    argv[n++] = f->workload[i];
  argv[n] = NULL;
}

static void socktrace_run_argv(const tracer *t, const run_files *f, char **argv) {
  const char *a[16] = {t->before ? f->before : f->socktrace,
                       "run",
                       "--stats=json",
                       "--backend",
                       "ptrace",
                       "-o",
                       f->events};
  size_t n = 7;
  for (int i = 0; t->args[i] && n < 14; i++)
    a[n++] = t->args[i];
  a[n++] = "--";
  wrap_argv(a, n, f, argv);
}

/* The stops alone (ptrace_floor.c). */
static void ptrace_floor_argv(const tracer *t, const run_files *f, char **argv) {
  (void)t;
  const char *a[] = {f->ptrace_floor, "-o", f->events, "--"};
  wrap_argv(a, sizeof a / sizeof a[0], f, argv);
}

static void strace_seccomp_argv(const tracer *t, const run_files *f, char **argv) {
  const char *a[] = {"strace", "-f", "--seccomp-bpf", "-e", "trace=network", "-o", f->events};
  wrap_argv(a, sizeof a / sizeof a[0], f, argv);
}

/* The same with close, which the ptrace backend stops at (a socket's end):
 * the same calls stopped at, for comparison. */
static void strace_seccomp_close_argv(const tracer *t, const run_files *f, char **argv) {
  const char *a[] = {"strace", "-f", "--seccomp-bpf", "-e", "trace=network,close", "-o", f->events};
  wrap_argv(a, sizeof a / sizeof a[0], f, argv);
}

static void bpftrace_argv(const tracer *t, const run_files *f, char **argv) {
  const char *a[] = {"bpftrace", "-o", f->events, "-e", t->args[0], f->pid};
  size_t n = sizeof a / sizeof a[0];
  memcpy(argv, a, sizeof a);
  argv[n] = NULL;
}

static void tcpdump_argv(const tracer *t, const run_files *f, char **argv) {
  /* -Z root: run as another user, tcpdump chowns its -w file, /dev/null too. */
  const char *a[] = {"tcpdump", "-Z", "root", "-i", "lo", "-n", "-w", "/dev/null", "tcp or udp"};
  size_t n = sizeof a / sizeof a[0];
  memcpy(argv, a, sizeof a);
  argv[n] = NULL;
}

/* ---- how each tracer's events are counted ---- */

static void count_socktrace(const run_files *f, long long *events, long long *lost) {
  long long seen;
  if (!bench_socktrace_stats(f->err, &seen, events, lost))
    *events = *lost = -1;
}

static void count_before(const run_files *f, long long *events, long long *lost) {
  char *err = bench_slurp(f->err);
  char *s = err ? strstr(err, "events seen, ") : NULL;
  long long shown, filtered, l;
  *events = *lost = -1;
  if (s && sscanf(s, "events seen, %lld shown, %lld filtered out, %lld lost", &shown, &filtered,
                  &l) == 3) {
    *events = shown;
    *lost = l;
  }
  free(err);
}

/* ptrace-floor: the number of stops it wrote. */
static void count_stops(const run_files *f, long long *events, long long *lost) {
  char *s = bench_slurp(f->events);
  *events = s ? atoll(s) : -1;
  *lost = 0;
  free(s);
}

static void count_strace(const run_files *f, long long *events, long long *lost) {
  *events = count_lines(f->events);
  *lost = 0;
}

/* bpftrace says "Lost N events" on stderr when its perf buffer overflows. */
static long long bpftrace_lost(const run_files *f) {
  char *err = bench_slurp(f->err);
  char *s = err ? strstr(err, "Lost ") : NULL;
  long long lost = s ? atoll(s + 5) : 0;
  free(err);
  return lost;
}

static void count_bpftrace_lines(const run_files *f, long long *events, long long *lost) {
  *events = count_lines(f->events) - 1; /* minus "Attaching N probes..." */
  *lost = bpftrace_lost(f);
}

/* The maps bpftrace prints at exit: "@[tracepoint:...]: N" per probe. */
static void count_bpftrace_maps(const run_files *f, long long *events, long long *lost) {
  char *out = bench_slurp(f->events);
  *events = out ? 0 : -1;
  for (char *line = out; line && *line;) {
    char *eol = strchr(line, '\n');
    char *v = strncmp(line, "@[", 2) == 0 ? strstr(line, "]: ") : NULL;
    if (v && (!eol || v < eol))
      *events += atoll(v + 3);
    line = eol ? eol + 1 : NULL;
  }
  free(out);
  *lost = bpftrace_lost(f);
}

/* Counted in the kernel: tcpdump hands packets to user space in blocks, so
 * "captured" lags behind at the moment it is stopped. */
static long long number_before(const char *text, const char *what) {
  const char *s = text ? strstr(text, what) : NULL;
  if (!s)
    return -1;
  while (s > text && s[-1] >= '0' && s[-1] <= '9')
    s--;
  return atoll(s);
}

static void count_tcpdump(const run_files *f, long long *events, long long *lost) {
  char *err = bench_slurp(f->err);
  *events = number_before(err, " packets received by filter");
  *lost = number_before(err, " packets dropped by kernel");
  free(err);
}

/* ---- the table ---- */

/* The tracepoints socktrace's own hooks correspond to, for bpftrace. */
#define BT_SYSCALLS                                                                                \
  "tracepoint:syscalls:sys_enter_socket,tracepoint:syscalls:sys_exit_socket,"                      \
  "tracepoint:syscalls:sys_enter_connect,tracepoint:syscalls:sys_exit_connect,"                    \
  "tracepoint:syscalls:sys_exit_accept4,tracepoint:syscalls:sys_exit_accept,"                      \
  "tracepoint:syscalls:sys_enter_bind,tracepoint:syscalls:sys_enter_listen,"                       \
  "tracepoint:syscalls:sys_enter_close "
#define BT_STATE "tracepoint:sock:inet_sock_set_state "
/* Since Linux 6.3: where they are missing bpftrace cannot attach, and the
 * row is FAILED. */
#define BT_LENGTH "tracepoint:sock:sock_send_length,tracepoint:sock:sock_recv_length "
#define BT_TCP                                                                                     \
  "tracepoint:tcp:tcp_send_reset,tracepoint:tcp:tcp_receive_reset,"                                \
  "tracepoint:tcp:tcp_retransmit_skb "
#define BT_PID "/pid == $1/ "

static const char bpftrace_print[] = BT_SYSCALLS BT_PID
    "{ printf(\"%d %s %d\\n\", tid, probe, args->__syscall_nr); }\n" BT_STATE BT_PID
    "{ printf(\"%d state %d %d\\n\", tid, args->oldstate, args->newstate); }\n" BT_LENGTH BT_PID
    "{ printf(\"%d %s %d\\n\", tid, probe, args->ret); }\n" BT_TCP
    "{ printf(\"%s\\n\", probe); }\n";

/* The same probes and predicates, counted in kernel maps: no printf. */
static const char bpftrace_count[] = BT_SYSCALLS BT_PID
    "{ @[probe] = count(); }\n" BT_STATE BT_PID "{ @[probe] = count(); }\n" BT_LENGTH BT_PID
    "{ @[probe] = count(); }\n" BT_TCP "{ @[probe] = count(); }\n";

/* socktrace at a level into a sink; its counts come from --stats=json. */
#define SOCKTRACE(row, ext, ...)                                                                   \
  {                                                                                                \
    .name = row, .ours = true, .args = {__VA_ARGS__, NULL}, .out_ext = ext,                        \
    .argv = socktrace_argv, .ready = "tracing with", .drain_ms = 50, .count = count_socktrace      \
  }

/* The same, with the --before binary. */
#define BEFORE(row, ext, ...)                                                                      \
  {                                                                                                \
    .name = row, .ours = true, .before = true, .args = {__VA_ARGS__, NULL}, .out_ext = ext,        \
    .argv = before_argv, .ready = "tracing with", .drain_ms = 50, .count = count_before            \
  }

tracer bench_tracers[] = {
    {.name = "untraced", .ours = true},
    SOCKTRACE("socktrace-l4-null", NULL, "-l", "4", "-f", "null"),
    BEFORE("before-l4-null", NULL, "-l", "4", "-f", "null"),
    {.name = "socktrace-l4-top",
     .ours = true,
     .args = {"-l", "4", "-d", "1", NULL},
     .argv = top_argv,
     .ready = "tracing with",
     .drain_ms = 50,
     .count = count_socktrace},
    SOCKTRACE("socktrace-l4-file", ".sktrace", "-l", "4"),
    BEFORE("before-l4-file", ".sktrace", "-l", "4"),
    SOCKTRACE("socktrace-l5-file", ".sktrace", "-l", "5"),
    /* Blocks stored plain (format 1.3), against the compressed default. */
    SOCKTRACE("socktrace-l4-plain", ".sktrace", "-l", "4", "--compress", "none"),
    SOCKTRACE("socktrace-l5-plain", ".sktrace", "-l", "5", "--compress", "none"),
    BEFORE("before-l5-file", ".sktrace", "-l", "5"),
    SOCKTRACE("socktrace-l4-jsonl", ".jsonl", "-l", "4", "-f", "jsonl"),
    BEFORE("before-l4-jsonl", ".jsonl", "-l", "4", "-f", "jsonl"),
    SOCKTRACE("socktrace-l5-jsonl", ".jsonl", "-l", "5", "-f", "jsonl"),
    /* The metrics sink's cost per event: the null sink with --metrics
     * (nothing scrapes it; port 0 takes a free one). */
    SOCKTRACE("socktrace-l4-metrics", NULL, "-l", "4", "-f", "null", "--metrics", "127.0.0.1:0"),
    SOCKTRACE("socktrace-l5-metrics", NULL, "-l", "5", "-f", "null", "--metrics", "127.0.0.1:0"),
    SOCKTRACE("socktrace-l5-null", NULL, "-l", "5", "-f", "null"),
    {.name = "strace",
     .tool = "strace",
     .argv = strace_argv,
     .ready = "attached",
     .drain_ms = 200,
     .count = count_strace},
    /* Unprivileged tracers that start the workload themselves. */
    {.name = "ptrace-l4",
     .ours = true,
     .wraps = true,
     .args = {"-l", "4", NULL},
     .argv = socktrace_run_argv,
     .count = count_socktrace},
    /* The same with the --before binary (one that has the ptrace backend). */
    {.name = "before-ptrace-l4",
     .ours = true,
     .before = true,
     .wraps = true,
     .args = {"-l", "4", NULL},
     .argv = socktrace_run_argv,
     .count = count_socktrace},
    {.name = "ptrace-l5",
     .ours = true,
     .wraps = true,
     .args = {"-l", "5", NULL},
     .argv = socktrace_run_argv,
     .count = count_socktrace},
    /* The same stops as ptrace-l4 and nothing else: the floor of any
     * tracer of its kind. Its events are its stops. */
    {.name = "ptrace-floor",
     .ours = true,
     .wraps = true,
     .argv = ptrace_floor_argv,
     .count = count_stops},
    {.name = "strace-seccomp",
     .tool = "strace",
     .wraps = true,
     .argv = strace_seccomp_argv,
     .count = count_strace},
    {.name = "strace-seccomp-close",
     .tool = "strace",
     .wraps = true,
     .argv = strace_seccomp_close_argv,
     .count = count_strace},
    /* bpftrace says "Attaching" before it attaches, and its output to a
     * file is block-buffered, so no later line can be waited for: a grace. */
    {.name = "bpftrace",
     .tool = "bpftrace",
     .args = {bpftrace_print},
     .argv = bpftrace_argv,
     .ready = "Attaching",
     .ready_in_events = true,
     .grace_ms = 1000,
     .drain_ms = 200,
     .count = count_bpftrace_lines},
    {.name = "bpftrace-count",
     .tool = "bpftrace",
     .args = {bpftrace_count},
     .argv = bpftrace_argv,
     .ready = "Attaching",
     .ready_in_events = true,
     .grace_ms = 1000,
     .drain_ms = 200,
     .count = count_bpftrace_maps},
    {.name = "tcpdump",
     .tool = "tcpdump",
     .argv = tcpdump_argv,
     .ready = "listening on",
     .drain_ms = 200,
     .count = count_tcpdump},
};
const size_t bench_ntracers = sizeof bench_tracers / sizeof bench_tracers[0];

const tracer *bench_tracer(const char *name) {
  for (size_t i = 0; i < bench_ntracers; i++)
    if (strcmp(bench_tracers[i].name, name) == 0)
      return &bench_tracers[i];
  return NULL;
}
