/*
 * st-bench: runs the loopback workloads untraced and under each tracer,
 * interleaved A/B over several repetitions, and prints for each: median wall
 * time (measured inside the workload), ratio to untraced, events captured,
 * events lost, tracer CPU time and tracer peak RSS. Table on stdout, JSON
 * with --json FILE.
 *
 * Every tracer is a separate process attached to one held workload process,
 * so wait4() gives the tracer's own CPU and memory, not the workload's.
 * Tools that are not installed are listed as such, never faked.
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

#define MAX_REPS 15
#define READY_TIMEOUT_MS 20000
#define WORKLOAD_TIMEOUT_MS 120000
#define STOP_TIMEOUT_MS 15000

enum kind { UNTRACED, SOCKTRACE, STRACE, BPFTRACE, TCPDUMP };

typedef struct config {
  const char *name;
  enum kind kind;
  const char *args[8]; /* socktrace options */
  const char *out_ext; /* socktrace output file suffix, NULL for none */
  bool available;
} config;

typedef struct result {
  double wall[MAX_REPS];
  double cpu[MAX_REPS];
  long rss_kb[MAX_REPS];
  long long events[MAX_REPS], lost[MAX_REPS];
  int n;
  bool failed;
  char why[160];
} result;

static config configs[] = {
    {"untraced", UNTRACED, {NULL}, NULL, true},
    {"socktrace-l4-null", SOCKTRACE, {"-l", "4", "-f", "null", NULL}, NULL, true},
    {"socktrace-l4-file", SOCKTRACE, {"-l", "4", NULL}, ".sktrace", true},
    {"socktrace-l5-file", SOCKTRACE, {"-l", "5", NULL}, ".sktrace", true},
    {"socktrace-l5-jsonl", SOCKTRACE, {"-l", "5", "-f", "jsonl", NULL}, ".jsonl", true},
    {"strace", STRACE, {NULL}, NULL, true},
    {"bpftrace", BPFTRACE, {NULL}, NULL, true},
    {"tcpdump", TCPDUMP, {NULL}, NULL, true},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static const char *workloads[] = {"rr", "churn", "udp", "refused"};
#define NWORKLOADS 4

static char socktrace_bin[4096], workload_bin[4096], tmpdir[64];
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

static char *slurp(const char *path) {
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
      char *s = slurp(files[i]);
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

static const char bpftrace_prog[] =
    "tracepoint:syscalls:sys_enter_socket,tracepoint:syscalls:sys_exit_socket,"
    "tracepoint:syscalls:sys_enter_connect,tracepoint:syscalls:sys_exit_connect,"
    "tracepoint:syscalls:sys_exit_accept4,tracepoint:syscalls:sys_exit_accept,"
    "tracepoint:syscalls:sys_enter_bind,tracepoint:syscalls:sys_enter_listen,"
    "tracepoint:syscalls:sys_enter_close "
    "/pid == $1/ { printf(\"%d %s %d\\n\", tid, probe, args->__syscall_nr); }\n"
    "tracepoint:sock:inet_sock_set_state /pid == $1/ "
    "{ printf(\"%d state %d %d\\n\", tid, args->oldstate, args->newstate); }\n"
    "tracepoint:sock:sock_send_length,tracepoint:sock:sock_recv_length /pid == $1/ "
    "{ printf(\"%d %s %d\\n\", tid, probe, args->ret); }\n"
    "tracepoint:tcp:tcp_send_reset,tracepoint:tcp:tcp_receive_reset,"
    "tracepoint:tcp:tcp_retransmit_skb { printf(\"%s\\n\", probe); }\n";

/* Runs workload `only` (with size arguments) once under config c. */
static void run_once(const config *c, const char *only, const char *size_args, result *r) {
  char wout[128], tout[128], terr[128], evfile[160];
  snprintf(wout, sizeof wout, "%s/workload.out", tmpdir);
  snprintf(tout, sizeof tout, "%s/tracer.out", tmpdir);
  snprintf(terr, sizeof terr, "%s/tracer.err", tmpdir);
  snprintf(evfile, sizeof evfile, "%s/events%s", tmpdir, c->out_ext ? c->out_ext : "");
  unlink(evfile);
  /* The tracer truncates these only after fork: a stale ready marker from the
   * previous run would let the workload start before the tracer is ready. */
  unlink(tout);
  unlink(terr);

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
    for (char *t = strtok(buf, " "); t && n < 14; t = strtok(NULL, " "))
      argv[n++] = t;
    argv[n] = NULL;
    execv(workload_bin, argv);
    _exit(127);
  }
  close(hold[0]);

  char pidbuf[16];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)wp);
  pid_t tp = 0;
  const char *marker = NULL;
  char *argv[32];
  int n = 0;
  switch (c->kind) {
  case UNTRACED:
    break;
  case SOCKTRACE:
    argv[n++] = socktrace_bin;
    argv[n++] = "trace";
    argv[n++] = "--stats";
    argv[n++] = "-p";
    argv[n++] = pidbuf;
    for (int i = 0; c->args[i]; i++)
      argv[n++] = (char *)c->args[i];
    if (c->out_ext) {
      argv[n++] = "-o";
      argv[n++] = evfile;
    }
    marker = "tracing with";
    break;
  case STRACE:
    argv[n++] = "strace";
    argv[n++] = "-f";
    argv[n++] = "-e";
    argv[n++] = "trace=network,close";
    argv[n++] = "-o";
    argv[n++] = evfile;
    argv[n++] = "-p";
    argv[n++] = pidbuf;
    marker = "attached";
    break;
  case BPFTRACE:
    argv[n++] = "bpftrace";
    argv[n++] = "-o";
    argv[n++] = evfile;
    argv[n++] = "-e";
    argv[n++] = (char *)bpftrace_prog;
    argv[n++] = pidbuf;
    marker = "Attaching"; /* printed before attaching: see the grace below */
    break;
  case TCPDUMP:
    argv[n++] = "tcpdump";
    argv[n++] = "-i";
    argv[n++] = "lo";
    argv[n++] = "-n";
    argv[n++] = "-w";
    argv[n++] = "/dev/null";
    argv[n++] = "tcp or udp";
    marker = "listening on";
    break;
  }
  argv[n] = NULL;
  if (c->kind != UNTRACED) {
    tp = spawn(argv, tout, terr);
    if (!wait_ready(tp, terr, c->kind == BPFTRACE ? evfile : tout, marker)) {
      char *e = slurp(terr);
      snprintf(r->why, sizeof r->why, "%s did not start: %.100s", argv[0], e ? e : "");
      free(e);
      r->failed = true;
      kill(tp, SIGKILL);
      waitpid(tp, NULL, 0);
      close(hold[1]);
      waitpid(wp, NULL, 0);
      return;
    }
  }
  /* bpftrace says "Attaching" before it attaches, and its output to a file
   * is block-buffered, so no later line can be waited for: give it time. */
  if (c->kind == BPFTRACE)
    sleep_ms(1000);
  if (write(hold[1], "g", 1) != 1)
    die("release");
  close(hold[1]);
  int st;
  struct rusage ru = {0};
  bool workload_ok = wait_bounded(wp, &st, &ru, WORKLOAD_TIMEOUT_MS);
  memset(&ru, 0, sizeof ru);
  if (tp) {
    sleep_ms(c->kind == SOCKTRACE ? 50 : 200); /* let the tracer drain */
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
             WORKLOAD_TIMEOUT_MS / 1000, c->name);
    r->failed = true;
    return;
  }
  char *out = slurp(wout);
  double wall = -1;
  char *p = out ? strstr(out, "wall_s=") : NULL;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !p) {
    snprintf(r->why, sizeof r->why, "workload failed under %s", c->name);
    r->failed = true;
    free(out);
    return;
  }
  wall = strtod(p + 7, NULL);
  free(out);

  long long events = -1, lost = -1;
  char *err = slurp(terr);
  switch (c->kind) {
  case SOCKTRACE: {
    char *s = err ? strstr(err, "events seen, ") : NULL;
    unsigned long long shown, filtered, l;
    if (s && sscanf(s, "events seen, %llu shown, %llu filtered out, %llu lost", &shown, &filtered,
                    &l) == 3) {
      events = (long long)shown;
      lost = (long long)l;
    }
    break;
  }
  case STRACE:
    events = count_lines(evfile);
    lost = 0;
    break;
  case BPFTRACE: {
    events = count_lines(evfile) - 1; /* minus "Attaching N probes..." */
    char *s = err ? strstr(err, "Lost ") : NULL;
    lost = s ? atoll(s + 5) : 0;
    break;
  }
  case TCPDUMP: {
    /* Counted in the kernel: tcpdump hands packets to user space in blocks,
     * so "captured" lags behind at the moment it is stopped. */
    char *s = err ? strstr(err, " packets received by filter") : NULL;
    if (s) {
      while (s > err && s[-1] >= '0' && s[-1] <= '9')
        s--;
      events = atoll(s);
    }
    char *d = err ? strstr(err, " packets dropped by kernel") : NULL;
    if (d) {
      while (d > err && d[-1] >= '0' && d[-1] <= '9')
        d--;
      lost = atoll(d);
    }
    break;
  }
  default:
    break;
  }
  free(err);
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
  const config *sinks[] = {&configs[1], &configs[2]}; /* l4 null, l4 .sktrace */
  char file[128];
  snprintf(file, sizeof file, "%s/events.sktrace", tmpdir);
  printf("\nTHROUGHPUT (failing sends, one event each, level 4)\n");
  printf("%-20s %12s %12s %10s %8s\n", "SINK", "TARGET/s", "ACHIEVED/s", "EVENTS", "LOST");
  if (js)
    fprintf(js, ",\"throughput\":[");
  bool first = true;
  for (int k = 0; k < 2; k++) {
    long best = 0;
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
      long n = rates[i] * 2 > 4000000 ? 4000000 : rates[i] * 2;
      char args[96];
      snprintf(args, sizeof args, "--flood %ld --rate %ld", n, rates[i]);
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
  snprintf(cmd, sizeof cmd, "%s report %s -f summary --stats -o /dev/null 2>%s/report.err",
           socktrace_bin, file, tmpdir);
  double t0 = now_s();
  int rc = system(cmd);
  double secs = now_s() - t0;
  char errpath[128];
  snprintf(errpath, sizeof errpath, "%s/report.err", tmpdir);
  char *err = slurp(errpath);
  unsigned long long seen = 0;
  char *p = err ? strstr(err, "socktrace: ") : NULL;
  if (p)
    sscanf(p, "socktrace: %llu events seen", &seen);
  free(err);
  printf("report -f summary: %llu events in %.3f s = %.0f events/s (%lld bytes, exit %d)\n", seen,
         secs, (double)seen / secs, (long long)st.st_size, rc);
  if (js)
    fprintf(js, ",\"report\":{\"events\":%llu,\"seconds\":%.4f,\"events_per_s\":%.0f}", seen, secs,
            (double)seen / secs);
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
  bool tiny = false, tput = false;
  const char *json_path = NULL, *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--tiny"))
      tiny = true;
    else if (!strcmp(argv[i], "--throughput"))
      tput = true;
    else if (!strcmp(argv[i], "--json") && i + 1 < argc)
      json_path = argv[++i];
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else {
      fprintf(stderr, "usage: st-bench [--reps N] [--tiny] [--only WORKLOAD] [--throughput]\n"
                      "                [--json FILE]\n");
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
  snprintf(tmpdir, sizeof tmpdir, "/tmp/st-bench-XXXXXX");
  if (!mkdtemp(tmpdir))
    die("mkdtemp");
  if (tiny) {
    snprintf(sizes[0], sizeof sizes[0], "--rr 2 200");
    snprintf(sizes[1], sizeof sizes[1], "--churn 100");
    snprintf(sizes[2], sizeof sizes[2], "--udp 200");
    snprintf(sizes[3], sizeof sizes[3], "--refused 100");
  }
  configs[5].available = on_path("strace");
  configs[6].available = on_path("bpftrace");
  configs[7].available = on_path("tcpdump");

  static result results[NWORKLOADS][NCONFIGS];
  for (int w = 0; w < NWORKLOADS; w++) {
    if (only && strcmp(only, workloads[w]))
      continue;
    for (int rep = 0; rep < reps; rep++)
      for (size_t c = 0; c < NCONFIGS; c++)
        if (configs[c].available && !results[w][c].failed)
          run_once(&configs[c], workloads[w], sizes[w], &results[w][c]);
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
    for (size_t c = 0; c < NCONFIGS; c++) {
      result *r = &results[w][c];
      if (!configs[c].available) {
        printf("%-9s %-20s %s\n", workloads[w], configs[c].name, "(not installed)");
        continue;
      }
      if (r->failed || !r->n) {
        printf("%-9s %-20s FAILED: %s\n", workloads[w], configs[c].name, r->why);
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
      printf("%-9s %-20s %10.4f %6.3fx %10s %8s %9.3f %9.1f\n", workloads[w], configs[c].name, wall,
             base > 0 ? wall / base : 0, evs, losts, c ? cpu : 0.0, c ? rss : 0.0);
      if (js) {
        fprintf(js,
                "%s{\"workload\":\"%s\",\"tracer\":\"%s\",\"wall_s\":%.6f,\"ratio\":%.4f,"
                "\"events\":%lld,\"lost\":%lld,\"cpu_s\":%.4f,\"peak_rss_mib\":%.1f}",
                first ? "" : ",", workloads[w], configs[c].name, wall, base > 0 ? wall / base : 0,
                ev, lost, c ? cpu : 0.0, c ? rss : 0.0);
        first = false;
      }
    }
  }
  if (js)
    fprintf(js, "]");
  if (tput)
    throughput(js);
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
    for (size_t c = 0; c < NCONFIGS; c++)
      if (configs[c].kind == UNTRACED || configs[c].kind == SOCKTRACE)
        failures += results[w][c].failed;
  return failures ? 1 : 0;
}
