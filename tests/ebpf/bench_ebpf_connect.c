/*
 * Cost of tracing a loopback TCP connect at level 4: N connect+accept+close
 * rounds untraced, then the same rounds under a live session scoped to this
 * process, and the difference divided by the events the trace produced.
 * Not a test: a figure for the issue and the performance budget.
 *
 * Usage: bench_ebpf_connect [ROUNDS [LEVEL]]   (root; LEVEL defaults to 4)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ebpf/live.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rounds(int lfd, uint16_t port, int n) {
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    int c = tcp_connect_to(AF_INET, port, 0);
    int s = accept(lfd, NULL, NULL);
    close(c);
    close(s);
  }
  return now_s() - t0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2000;
  int level = argc > 2 ? atoi(argv[2]) : 4;
  uint16_t port;
  int lfd = tcp_listener(AF_INET, &port);
  if (lfd < 0 || n <= 0)
    return 1;
  rounds(lfd, port, n / 4); /* warm up */
  double base = rounds(lfd, port, n);

  /* A ring large enough that nothing is lost while the loop is not run. */
  live l;
  st_session_config cfg = {.level = (uint8_t)level};
  if (live_start(&l, &cfg, 64u << 20) < 0) {
    fprintf(stderr, "bench: %s\n", st_session_error(l.s));
    return 1;
  }
  double traced = rounds(lfd, port, n);
  live_stop(&l);
  size_t events = l.c.count;
  printf("rounds %d: untraced %.1f us/round, traced %.1f us/round, %zu events (%.1f/round), "
         "lost %llu\n",
         n, base / n * 1e6, traced / n * 1e6, events, (double)events / n,
         (unsigned long long)l.c.counters.lost);
  printf("overhead %.0f ns/event (%.1f%% per round)\n", (traced - base) / (double)events * 1e9,
         (traced - base) / base * 100.0);
  live_free(&l);
  close(lfd);
  return 0;
}
