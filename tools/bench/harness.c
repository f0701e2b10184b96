/*
 * st-bench: runs the loopback workloads untraced and under each tracer,
 * interleaved A/B over several repetitions, and prints for each: median wall
 * time (measured inside the workload), ratio to untraced, events captured,
 * events lost, tracer CPU time and tracer peak RSS. Table on stdout, JSON
 * with --json FILE. --throughput adds the highest loss-free rates and the
 * rate `report` reads at; --sizes the bytes per event on disk, with and
 * without compressed blocks, against `zstd -1`.
 *
 * Every tracer is a separate process attached to one held workload process,
 * so wait4() gives the tracer's own CPU and memory, not the workload's.
 * Tools that are not installed are listed as such, never faked. Each tracer
 * is one row of one table: how to start it, what it prints when it is
 * ready, and how to count what it saw (socktrace's counters come from its
 * --stats=json object, never from the words of a message).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracers.h"

#define MAX_REPS 15
#define MAX_TRACERS 32
#define READY_TIMEOUT_MS 20000
#define WORKLOAD_TIMEOUT_MS 120000
#define STOP_TIMEOUT_MS 15000

typedef struct result {
  double wall[MAX_REPS];
  double cpu[MAX_REPS];
  long rss_kb[MAX_REPS];
  long long events[MAX_REPS], lost[MAX_REPS];
  int n;
  bool failed;
  char why[160];
} result;

static const char *workloads[] = {"rr", "churn", "udp", "refused"};
#define NWORKLOADS 4

static char socktrace_bin[4096], workload_bin[4096], ptrace_floor_bin[4096], tmpdir[64];
static const char *before_bin; /* --before PATH */
static char sizes[4][64];

static void die(const char *what) {
  fprintf(stderr, "st-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static bool on_path(const char *tool) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
  return system(cmd) == 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Starts argv with stdout/stderr into files; returns the pid. */
static pid_t spawn(char *const argv[], const char *out, const char *err) {
  pid_t p = fork();
  if (p < 0)
    die("fork");
  if (p == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  return p;
}

static bool wait_ready(pid_t tracer, const char *f1, const char *f2, const char *marker) {
  for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 10) {
    const char *files[2] = {f1, f2};
    for (int i = 0; i < 2; i++) {
      char *s = bench_slurp(files[i]);
      bool found = s && strstr(s, marker);
      free(s);
      if (found)
        return true;
    }
    if (waitpid(tracer, NULL, WNOHANG) == tracer)
      return false;
    sleep_ms(10);
  }
  return false;
}

/* Waits for pid up to ms; SIGKILLs it after that. True when it exited by
 * itself. */
static bool wait_bounded(pid_t pid, int *status, struct rusage *ru, int ms) {
  for (int waited = 0;; waited += 10) {
    pid_t got = wait4(pid, status, WNOHANG, ru);
    if (got == pid)
      return true;
    if (got < 0)
      die("wait4");
    if (waited >= ms) {
      kill(pid, SIGKILL);
      wait4(pid, status, 0, ru);
      return false;
    }
    sleep_ms(10);
  }
}

/* The workload's argv (in buf's words). */
static void workload_argv(const char *only, const char *size_args, char *buf, size_t len,
                          char **argv) {
  int n = 0;
  argv[n++] = workload_bin;
  argv[n++] = "--only";
  argv[n++] = (char *)only;
  argv[n++] = "--cpu";
  argv[n++] = "1";
  snprintf(buf, len, "%s", size_args);
  for (char *tok = strtok(buf, " "); tok && n < 14; tok = strtok(NULL, " "))
    argv[n++] = tok;
  argv[n] = NULL;
}

static void record(const tracer *t, const run_files *f, double wall, const struct rusage *ru,
                   result *r);

/* A tracer that starts the workload (ptrace + seccomp): the workload's
 * report is in the tracer's stdout, its status the tracer's. */
static void run_wrapped(const tracer *t, run_files *f, const char *only, const char *size_args,
                        result *r) {
  char buf[128], *wargv[16], *argv[32] = {NULL};
  workload_argv(only, size_args, buf, sizeof buf, wargv);
  f->workload = wargv;
  t->argv(t, f, argv);
  pid_t tp = spawn(argv, f->out, f->err);
  int st;
  struct rusage ru = {0};
  if (!wait_bounded(tp, &st, &ru, WORKLOAD_TIMEOUT_MS)) {
    snprintf(r->why, sizeof r->why, "workload did not finish within %d s under %s",
             WORKLOAD_TIMEOUT_MS / 1000, t->name);
    r->failed = true;
    return;
  }
  char *out = bench_slurp(f->out);
  char *p = out ? strstr(out, "wall_s=") : NULL;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !p) {
    snprintf(r->why, sizeof r->why, "workload failed under %s", t->name);
    r->failed = true;
    free(out);
    return;
  }
  double wall = strtod(p + 7, NULL);
  free(out);
  record(t, f, wall, &ru, r);
}

/* Runs workload `only` (with size arguments) once under tracer t. */
static void run_once(const tracer *t, const char *only, const char *size_args, result *r) {
  run_files f = {
      .socktrace = socktrace_bin, .before = before_bin, .ptrace_floor = ptrace_floor_bin};
  char wout[128];
  snprintf(wout, sizeof wout, "%s/workload.out", tmpdir);
  snprintf(f.out, sizeof f.out, "%s/tracer.out", tmpdir);
  snprintf(f.err, sizeof f.err, "%s/tracer.err", tmpdir);
  snprintf(f.events, sizeof f.events, "%s/events%s", tmpdir, t->out_ext ? t->out_ext : "");
  unlink(f.events);
  /* The tracer truncates these only after fork: a stale ready marker from the
   * previous run would let the workload start before the tracer is ready. */
  unlink(f.out);
  unlink(f.err);

  if (t->wraps) {
    run_wrapped(t, &f, only, size_args, r);
    return;
  }
  /* The workload, held before exec until the tracer is ready. */
  int hold[2];
  if (pipe(hold))
    die("pipe");
  pid_t wp = fork();
  if (wp < 0)
    die("fork");
  if (wp == 0) {
    close(hold[1]);
    char go;
    if (read(hold[0], &go, 1) != 1)
      _exit(126);
    int o = open(wout, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    /* The workload on the first CPU, the tracer free to use the others. */
    char *argv[16] = {workload_bin, "--only", (char *)only, "--cpu", "1"};
    int n = 5;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", size_args);
    for (char *tok = strtok(buf, " "); tok && n < 14; tok = strtok(NULL, " "))
      argv[n++] = tok;
    argv[n] = NULL;
    execv(workload_bin, argv);
    _exit(127);
  }
  close(hold[0]);

  char pidbuf[16];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)wp);
  f.pid = pidbuf;
  pid_t tp = 0;
  char *argv[32] = {NULL};
  if (t->argv) {
    t->argv(t, &f, argv);
    tp = spawn(argv, f.out, f.err);
    if (!wait_ready(tp, f.err, t->ready_in_events ? f.events : f.out, t->ready)) {
      char *e = bench_slurp(f.err);
      snprintf(r->why, sizeof r->why, "%s did not start: %.100s", argv[0], e ? e : "");
      free(e);
      r->failed = true;
      kill(tp, SIGKILL);
      waitpid(tp, NULL, 0);
      close(hold[1]);
      waitpid(wp, NULL, 0);
      return;
    }
    sleep_ms(t->grace_ms);
  }
  if (write(hold[1], "g", 1) != 1)
    die("release");
  close(hold[1]);
  int st;
  struct rusage ru = {0};
  bool workload_ok = wait_bounded(wp, &st, &ru, WORKLOAD_TIMEOUT_MS);
  memset(&ru, 0, sizeof ru);
  if (tp) {
    sleep_ms(t->drain_ms); /* let the tracer drain */
    kill(tp, SIGINT);
    int tst;
    if (!wait_bounded(tp, &tst, &ru, STOP_TIMEOUT_MS)) {
      snprintf(r->why, sizeof r->why, "%s did not stop within %d s of SIGINT", argv[0],
               STOP_TIMEOUT_MS / 1000);
      r->failed = true;
      return;
    }
  }
  if (!workload_ok) {
    snprintf(r->why, sizeof r->why, "workload did not finish within %d s under %s",
             WORKLOAD_TIMEOUT_MS / 1000, t->name);
    r->failed = true;
    return;
  }
  char *out = bench_slurp(wout);
  char *p = out ? strstr(out, "wall_s=") : NULL;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !p) {
    snprintf(r->why, sizeof r->why, "workload failed under %s", t->name);
    r->failed = true;
    free(out);
    return;
  }
  double wall = strtod(p + 7, NULL);
  free(out);
  record(t, &f, wall, &ru, r);
}

/* One run's figures into r. */
static void record(const tracer *t, const run_files *f, double wall, const struct rusage *ru_,
                   result *r) {
  struct rusage ru = *ru_;
  long long events = -1, lost = -1;
  if (t->count)
    t->count(f, &events, &lost);
  int i = r->n++;
  r->wall[i] = wall;
  r->cpu[i] = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  r->rss_kb[i] = ru.ru_maxrss;
  r->events[i] = events;
  r->lost[i] = lost;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double tmp[MAX_REPS];
  memcpy(tmp, v, (size_t)n * sizeof *v);
  qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
  return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static long max_long(const long *v, int n) {
  long m = 0;
  for (int i = 0; i < n; i++)
    m = v[i] > m ? v[i] : m;
  return m;
}

static long long median_ll(const long long *v, int n) {
  double d[MAX_REPS];
  for (int i = 0; i < n; i++)
    d[i] = (double)v[i];
  return (long long)median(d, n);
}

/* The highest rate of events socktrace takes with no loss, into the null
 * sink and into a .sktrace file: failing sends (one event each) paced at
 * rising rates until EventsLost appears or the generator cannot keep up.
 * Then how fast `report` reads the largest file recorded. */
static void throughput(FILE *js) {
  static const long rates[] = {100000, 250000, 500000, 750000, 1000000, 1500000, 2000000, 3000000};
  /* The compressed file last: it is the one `report` reads below. */
  const tracer *sinks[] = {bench_tracer("socktrace-l4-null"), bench_tracer("socktrace-l4-plain"),
                           bench_tracer("socktrace-l4-file")};
  char file[128];
  snprintf(file, sizeof file, "%s/events.sktrace", tmpdir);
  printf("\nTHROUGHPUT (failing sends, one event each, level 4)\n");
  printf("%-20s %12s %12s %10s %8s\n", "SINK", "TARGET/s", "ACHIEVED/s", "EVENTS", "LOST");
  if (js)
    fprintf(js, ",\"throughput\":[");
  bool first = true;
  for (int k = 0; k < 3; k++) {
    long best = 0;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
      long n = rates[i] * 2 > 4000000 ? 4000000 : rates[i] * 2;
      char args[96];
      /* Above one CPU's worth, a thread per CPU: the generator must be
       * able to outrun the tracer. */
      snprintf(args, sizeof args, "--flood %ld --rate %ld --threads %d", n, rates[i],
               rates[i] > 500000 ? 2 : 1);
      result r = {0};
      run_once(sinks[k], "flood", args, &r);
      if (r.failed || !r.n) {
        printf("%-20s %12ld FAILED: %s\n", sinks[k]->name, rates[i], r.why);
        break;
      }
      double achieved = (double)n / r.wall[0];
      printf("%-20s %12ld %12.0f %10lld %8lld\n", sinks[k]->name, rates[i], achieved, r.events[0],
             r.lost[0]);
      if (js) {
        fprintf(js,
                "%s{\"sink\":\"%s\",\"target_per_s\":%ld,\"achieved_per_s\":%.0f,"
                "\"events\":%lld,\"lost\":%lld}",
                first ? "" : ",", sinks[k]->name, rates[i], achieved, r.events[0], r.lost[0]);
        first = false;
      }
      if (r.lost[0] != 0)
        break;
      best = (long)achieved;
      if (achieved < 0.9 * (double)rates[i])
        break; /* the generator, not the tracer, is the limit now */
    }
    printf("%-20s highest rate with zero loss: %ld events/s\n", sinks[k]->name, best);
  }
  if (js)
    fprintf(js, "]");

  /* `report` reading the largest recording made above. */
  struct stat st;
  if (stat(file, &st) != 0) {
    printf("report: no recording to read\n");
    return;
  }
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "%s report %s -f summary --stats=json -o /dev/null 2>%s/report.err",
           socktrace_bin, file, tmpdir);
  double t0 = now_s();
  int rc = system(cmd);
  double secs = now_s() - t0;
  char errpath[128];
  snprintf(errpath, sizeof errpath, "%s/report.err", tmpdir);
  long long seen = 0, shown, lost;
  if (!bench_socktrace_stats(errpath, &seen, &shown, &lost))
    seen = 0;
  printf("report -f summary: %lld events in %.3f s = %.0f events/s (%lld bytes, exit %d)\n", seen,
         secs, (double)seen / secs, (long long)st.st_size, rc);
  if (js)
    fprintf(js, ",\"report\":{\"events\":%llu,\"seconds\":%.4f,\"events_per_s\":%.0f}", seen, secs,
            (double)seen / secs);
}

/* Runs cmd through the shell; its wall time in seconds, or -1. */
static double timed(const char *cmd) {
  double t0 = now_s();
  return system(cmd) == 0 ? now_s() - t0 : -1;
}

static long long size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Bytes per event on disk (--sizes): request/response at level 5 (the
 * issue's 8 connections x 40,000 round trips) and churn at level 4, each
 * recorded with plain blocks and with the default compressed ones, against
 * `zstd -1` of the plain file; then how fast `report -f summary` reads each. */
static void disk_sizes(void) {
  static const struct {
    const char *workload, *level, *args;
  } runs[] = {{"rr", "5", "--rr 8 40000"}, {"churn", "4", "--churn 10000"}};
  printf("\nON DISK (socktrace run -l LEVEL -o FILE.sktrace -- workload)\n");
  printf("%-6s %5s %10s %12s %7s %12s %7s %10s %12s %7s %7s %11s %11s\n", "WORK", "LEVEL", "EVENTS",
         "PLAIN", "B/EV", "ZSTD-1", "B/EV", "EVENTS", "COMPRESSED", "B/EV", "/ZSTD1",
         "READ PLAIN/s", "READ COMP/s");
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    char plain[128], comp[128], zst[160], cmd[16384], errpath[160];
    snprintf(plain, sizeof plain, "%s/%s-plain.sktrace", tmpdir, runs[i].workload);
    snprintf(comp, sizeof comp, "%s/%s-zstd.sktrace", tmpdir, runs[i].workload);
    snprintf(zst, sizeof zst, "%s.zst", plain);
    snprintf(errpath, sizeof errpath, "%s/sizes.err", tmpdir);
    const char *files[] = {plain, comp}, *modes[] = {"none", "zstd"};
    for (int k = 0; k < 2; k++) {
      snprintf(cmd, sizeof cmd,
               "%s run -l %s -q --compress %s -o %s -- %s --only %s --cpu 1 %s >/dev/null 2>&1",
               socktrace_bin, runs[i].level, modes[k], files[k], workload_bin, runs[i].workload,
               runs[i].args);
      if (system(cmd) != 0)
        printf("%s: %s failed\n", runs[i].workload, cmd);
    }
    snprintf(cmd, sizeof cmd, "zstd -1 -q -f -o %s %s", zst, plain);
    bool have_zstd = on_path("zstd") && system(cmd) == 0;
    long long seen[2] = {0, 0}, shown, lost;
    double rate[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
      snprintf(cmd, sizeof cmd, "%s report %s -f summary --stats=json -o /dev/null 2>%s",
               socktrace_bin, files[k], errpath);
      double secs = timed(cmd);
      if (secs > 0 && bench_socktrace_stats(errpath, &seen[k], &shown, &lost))
        rate[k] = (double)seen[k] / secs;
    }
    long long pb = size_of(plain), zb = have_zstd ? size_of(zst) : -1, cb = size_of(comp);
    double ev = seen[0] > 0 ? (double)seen[0] : 1, evc = seen[1] > 0 ? (double)seen[1] : 1;
    printf("%-6s %5s %10lld %12lld %7.1f %12lld %7.1f %10lld %12lld %7.1f %6.2fx %11.0f %11.0f\n",
           runs[i].workload, runs[i].level, seen[0], pb, (double)pb / ev, zb, (double)zb / ev,
           seen[1], cb, (double)cb / evc, zb > 0 ? ((double)cb / evc) / ((double)zb / ev) : 0,
           rate[0], rate[1]);
    unlink(plain);
    unlink(comp);
    unlink(zst);
  }
}

/* Whether name is one of the comma-separated names in list. */
static bool listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; (p = strstr(p, name)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return true;
  return false;
}

static void find_self_dir(char *dir, size_t len) {
  ssize_t n = readlink("/proc/self/exe", dir, len - 1);
  if (n <= 0)
    die("readlink /proc/self/exe");
  dir[n] = 0;
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = 0;
}

int main(int argc, char **argv) {
  int reps = 5;
  bool tiny = false, tput = false, disk = false;
  const char *json_path = NULL, *only = NULL, *pick = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tiny"))
      tiny = true;
    else if (!strcmp(argv[i], "--throughput"))
      tput = true;
    else if (!strcmp(argv[i], "--sizes"))
      disk = true;
    else if (!strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--before") && i + 1 < argc)
      before_bin = argv[++i];
    else if (!strcmp(argv[i], "--tracers") && i + 1 < argc)
      pick = argv[++i];
    else {
      fprintf(stderr, "usage: st-bench [--reps N] [--tiny] [--only WORKLOAD] [--throughput]\n"
                      "                [--sizes] [--json FILE] [--before SOCKTRACE]\n"
                      "                [--tracers A,B,...]\n");
      return 2;
    }
  }
  if (reps < 1 || reps > MAX_REPS) {
    fprintf(stderr, "st-bench: --reps must be 1..%d\n", MAX_REPS);
    return 2;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "st-bench: tracers need root; run as root (sudo tools/bench/run)\n");
    return 1;
  }
  char dir[2048];
  find_self_dir(dir, sizeof dir);
  snprintf(socktrace_bin, sizeof socktrace_bin, "%s/socktrace", dir);
  snprintf(workload_bin, sizeof workload_bin, "%s/st-bench-workload", dir);
  snprintf(ptrace_floor_bin, sizeof ptrace_floor_bin, "%s/st-bench-ptrace-floor", dir);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/st-bench-XXXXXX");
  if (!mkdtemp(tmpdir))
    die("mkdtemp");
  if (tiny) {
    snprintf(sizes[0], sizeof sizes[0], "--rr 2 200");
    snprintf(sizes[1], sizeof sizes[1], "--churn 100");
    snprintf(sizes[2], sizeof sizes[2], "--udp 200");
    snprintf(sizes[3], sizeof sizes[3], "--refused 100");
  }
  if (before_bin && access(before_bin, X_OK) != 0) {
    fprintf(stderr, "st-bench: --before %s: not an executable\n", before_bin);
    return 2;
  }
  for (size_t c = 0; c < bench_ntracers; c++) {
    tracer *t = &bench_tracers[c];
    t->available = !t->tool || on_path(t->tool);
    /* Rows not asked for are left out of the table, not shown as missing. */
    t->shown = c == 0 || ((!t->before || before_bin) && (!pick || listed(pick, t->name)));
  }

  static result results[NWORKLOADS][MAX_TRACERS];
  if (bench_ntracers > MAX_TRACERS)
    die("too many tracers");
  for (int w = 0; w < NWORKLOADS; w++) {
    if (only && strcmp(only, workloads[w]))
      continue;
    for (int rep = 0; rep < reps; rep++)
      for (size_t c = 0; c < bench_ntracers; c++)
        if (bench_tracers[c].shown && bench_tracers[c].available && !results[w][c].failed)
          run_once(&bench_tracers[c], workloads[w], sizes[w], &results[w][c]);
  }

  FILE *js = json_path ? fopen(json_path, "w") : NULL;
  if (json_path && !js)
    die(json_path);
  if (js)
    fprintf(js, "{\"reps\":%d,\"tiny\":%s,\"results\":[", reps, tiny ? "true" : "false");
  bool first = true;
  printf("%-9s %-20s %10s %7s %10s %8s %9s %9s\n", "WORKLOAD", "TRACER", "WALL(s)", "RATIO",
         "EVENTS", "LOST", "CPU(s)", "RSS(MiB)");
  for (int w = 0; w < NWORKLOADS; w++) {
    if (only && strcmp(only, workloads[w]))
      continue;
    double base = results[w][0].n ? median(results[w][0].wall, results[w][0].n) : 0;
    for (size_t c = 0; c < bench_ntracers; c++) {
      result *r = &results[w][c];
      if (!bench_tracers[c].shown)
        continue;
      if (!bench_tracers[c].available) {
        printf("%-9s %-20s %s\n", workloads[w], bench_tracers[c].name, "(not installed)");
        continue;
      }
      if (r->failed || !r->n) {
        printf("%-9s %-20s FAILED: %s\n", workloads[w], bench_tracers[c].name, r->why);
        continue;
      }
      double wall = median(r->wall, r->n), cpu = median(r->cpu, r->n);
      long long ev = median_ll(r->events, r->n), lost = median_ll(r->lost, r->n);
      double rss = (double)max_long(r->rss_kb, r->n) / 1024.0;
      char evs[24] = "-", losts[24] = "-";
      if (ev >= 0)
        snprintf(evs, sizeof evs, "%lld", ev);
      if (lost >= 0)
        snprintf(losts, sizeof losts, "%lld", lost);
      printf("%-9s %-20s %10.4f %6.3fx %10s %8s %9.3f %9.1f\n", workloads[w], bench_tracers[c].name,
             wall, base > 0 ? wall / base : 0, evs, losts, c ? cpu : 0.0, c ? rss : 0.0);
      if (js) {
        fprintf(js,
                "%s{\"workload\":\"%s\",\"tracer\":\"%s\",\"wall_s\":%.6f,\"ratio\":%.4f,"
                "\"events\":%lld,\"lost\":%lld,\"cpu_s\":%.4f,\"peak_rss_mib\":%.1f}",
                first ? "" : ",", workloads[w], bench_tracers[c].name, wall,
                base > 0 ? wall / base : 0, ev, lost, c ? cpu : 0.0, c ? rss : 0.0);
        first = false;
      }
    }
  }
  if (js)
    fprintf(js, "]");
  if (tput)
    throughput(js);
  if (disk)
    disk_sizes();
  if (js) {
    fprintf(js, "}\n");
    fclose(js);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "st-bench: could not remove %s\n", tmpdir);
  /* Only our own rows decide the exit status: another tool that misbehaves
   * (bpftrace sometimes hangs on SIGINT) is shown as FAILED with its
   * reason, but is not socktrace's failure. */
  int failures = 0;
  for (int w = 0; w < NWORKLOADS; w++)
    for (size_t c = 0; c < bench_ntracers; c++)
      if (bench_tracers[c].ours)
        failures += results[w][c].failed;
  return failures ? 1 : 0;
}
