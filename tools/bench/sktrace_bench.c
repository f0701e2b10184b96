/*
 * sktrace-bench: how fast the .sktrace writer sink takes events and how
 * small they are on disk. A measurement, not a test: run it by hand
 *   build/sktrace-bench [DIR] [SECONDS-PER-RATE]
 * It drives the sink the way the session's loop does (one thread calling
 * write()), with the demo trace's events given fresh seq/ts/endpoint, and
 * prints:
 *  - flat out: the loop's cost per event, what the writer thread sustained,
 *    and what was dropped;
 *  - paced runs at fixed rates: the loss at each, so the highest loss-free
 *    rate is the writer's sustainable rate on this machine and disk;
 *  - bytes per event on disk, against the same events as JSON Lines;
 * each with compressed blocks (the default) and with plain ones.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "socktrace/sink.h"

#define POOL 4096

static st_event pool[POOL];
static size_t npool;

static int load_demo(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[8192], err[200];
  st_event demo[256];
  size_t nd = 0;
  while (fgets(line, sizeof line, f) && nd < 256)
    if (st_event_from_json(line, &demo[nd], err, sizeof err) == 0)
      nd++;
  fclose(f);
  if (!nd)
    return -1;
  for (npool = 0; npool < POOL; npool++) {
    pool[npool] = demo[npool % nd];
    /* Each copy of the demo is other sockets of other processes. */
    pool[npool].endpoint += (npool / nd) << 16;
    pool[npool].pid += (uint32_t)(npool / nd % 64);
  }
  return 0;
}

static void next_event(uint64_t i, st_event *ev) {
  *ev = pool[i % POOL];
  ev->seq = i + 1;
  ev->ts_ns = 1795634473000000000ull + i * 250;
}

typedef struct result {
  double loop_ns, seconds;
  st_sktrace_stats stats;
  long bytes;
} result;

static long file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Writes n events at rate per second (0 = as fast as possible). */
static result run(const char *path, uint64_t n, double rate, int compress) {
  result r = {0};
  st_sktrace_options opt = {.path = path, .compress = compress};
  st_sink *s;
  st_trace_info info = {.host = "bench", .os = ST_OS_LINUX, .backend = ST_BACKEND_EBPF, .level = 5};
  if (st_sink_sktrace_new(&opt, &s) || s->ops->begin(s, &info)) {
    fprintf(stderr, "sktrace-bench: cannot record to %s\n", path);
    exit(1);
  }
  uint64_t t0 = uv_hrtime(), busy = 0;
  st_event ev;
  for (uint64_t i = 0; i < n; i += 1000) {
    if (rate > 0) {
      uint64_t due = t0 + (uint64_t)((double)i / rate * 1e9);
      while (uv_hrtime() < due)
        ;
    }
    uint64_t b0 = uv_hrtime();
    for (uint64_t j = i; j < i + 1000 && j < n; j++) {
      next_event(j, &ev);
      s->ops->write(s, &ev);
    }
    busy += uv_hrtime() - b0;
  }
  st_counters c = {0};
  s->ops->flush(s);
  s->ops->end(s, &c);
  r.seconds = (double)(uv_hrtime() - t0) / 1e9;
  r.loop_ns = (double)busy / (double)n;
  st_sink_sktrace_stats(s, &r.stats);
  s->ops->close(s);
  r.bytes = file_size(path);
  return r;
}

static long jsonl_bytes(const char *path, uint64_t n) {
  FILE *f = fopen(path, "w");
  st_sink *s;
  if (!f || st_sink_jsonl_new(f, &s))
    exit(1);
  st_trace_info info = {.host = "bench", .os = ST_OS_LINUX, .backend = ST_BACKEND_EBPF, .level = 5};
  s->ops->begin(s, &info);
  st_event ev;
  for (uint64_t i = 0; i < n; i++) {
    next_event(i, &ev);
    s->ops->write(s, &ev);
  }
  s->ops->flush(s);
  s->ops->close(s);
  fclose(f);
  return file_size(path);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/var/tmp";
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  if (load_demo(ST_SOURCE_DIR "/tests/fixtures/demo.jsonl") < 0) {
    fprintf(stderr, "sktrace-bench: cannot read the demo trace\n");
    return 1;
  }
  char path[4096], jpath[4096];
  snprintf(path, sizeof path, "%s/sktrace-bench.sktrace", dir);
  snprintf(jpath, sizeof jpath, "%s/sktrace-bench.jsonl", dir);
  static const struct {
    int compress;
    const char *words;
  } modes[] = {{0, "compressed blocks (zstd 1, 256 KiB)"},
               {ST_SKTRACE_COMPRESS_NONE, "plain blocks (64 KiB)"}};
  long jb = 0;
  for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
    int compress = modes[k].compress;
    printf("%ssktrace-bench: demo events into %s, %s\n\n", k ? "\n" : "", dir, modes[k].words);

    uint64_t n = 5000000;
    result r = run(path, n, 0, compress);
    printf("flat out, %" PRIu64 " events: loop %.0f ns/event (%.2f M/s offered), "
           "writer kept %" PRIu64 " in %.2f s = %.2f M events/s, dropped %" PRIu64 " (%.1f%%)\n",
           n, r.loop_ns, 1e3 / r.loop_ns, r.stats.events, r.seconds,
           (double)r.stats.events / r.seconds / 1e6, r.stats.lost,
           100.0 * (double)r.stats.lost / (double)n);

    printf("\npaced, %.1f s each:\n", secs);
    double rates[] = {250e3, 500e3, 1e6, 1.5e6, 2e6, 3e6, 4e6};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
      uint64_t m = (uint64_t)(rates[i] * secs);
      r = run(path, m, rates[i], compress);
      printf("  %5.2f M events/s: kept %" PRIu64 ", dropped %" PRIu64 " (%.3f%%)%s\n",
             rates[i] / 1e6, r.stats.events, r.stats.lost, 100.0 * (double)r.stats.lost / (double)m,
             r.seconds > secs * 1.2 ? " (the loop could not offer this rate)" : "");
    }

    uint64_t m = 1000000;
    r = run(path, m, 0.5e6, compress);
    if (!jb)
      jb = jsonl_bytes(jpath, m);
    printf("\non disk, %" PRIu64 " events: .sktrace %ld bytes = %.1f bytes/event; JSON Lines %ld "
           "bytes = %.1f bytes/event (%.1fx smaller)\n",
           r.stats.events, r.bytes, (double)r.bytes / (double)r.stats.events, jb,
           (double)jb / (double)m, (double)jb / (double)r.bytes);
  }
  remove(path);
  remove(jpath);
  return 0;
}
