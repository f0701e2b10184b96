/*
 * st-bench-workload: a fixed, repeatable socket workload on loopback for
 * measuring what a tracer costs. It times itself (monotonic clock, inside
 * the process) so tracer start-up is not counted, and prints one line per
 * workload:
 *   churn    N TCP connect/accept/close cycles
 *   rr       K persistent TCP connections doing M 64-byte round trips each
 *   udp      N UDP request/response datagram pairs
 *   refused  N connects to a closed port
 *   flood    N failing sends (one level-4 event each), paced at --rate per
 *            second when given, from --threads T threads (one per CPU in
 *            turn): the harness's throughput probe
 * Only loopback addresses are used. Sizes are options; defaults finish in
 * seconds on 2 cores.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "st-bench-workload: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

static int tcp_listener(uint16_t *port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, backlog) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    die("listen");
  *port = ntohs(a.sin_port);
  return fd;
}

static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static int read_full(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* --- churn ------------------------------------------------------------ */
typedef struct churn_arg {
  int listener;
  long n;
} churn_arg;

static void *churn_server(void *p) {
  churn_arg *a = p;
  for (long i = 0; i < a->n; i++) {
    int s = accept(a->listener, NULL, NULL);
    if (s < 0)
      die("accept");
    /* The server closes first, so TIME_WAIT lands on the listener's side
     * and repeated runs never run out of client ephemeral ports. */
    close(s);
  }
  return NULL;
}

static double run_churn(long n) {
  uint16_t port;
  churn_arg a = {tcp_listener(&port, 128), n};
  pthread_t th;
  double t0 = now();
  pthread_create(&th, NULL, churn_server, &a);
  for (long i = 0; i < n; i++) {
    int c = tcp_connect(port);
    char b;
    (void)recv(c, &b, 1, 0); /* the server's FIN */
    close(c);
  }
  pthread_join(th, NULL);
  double t = now() - t0;
  close(a.listener);
  return t;
}

/* --- request/response ------------------------------------------------- */
typedef struct rr_conn {
  int fd;
  long m;
} rr_conn;

static void *rr_echo(void *p) {
  rr_conn *c = p;
  char buf[64];
  for (long i = 0; i < c->m; i++) {
    if (read_full(c->fd, buf, sizeof buf) || send(c->fd, buf, sizeof buf, 0) != sizeof buf)
      die("echo");
  }
  close(c->fd);
  return NULL;
}

static void *rr_client(void *p) {
  rr_conn *c = p;
  char buf[64] = {0};
  for (long i = 0; i < c->m; i++) {
    if (send(c->fd, buf, sizeof buf, 0) != sizeof buf || read_full(c->fd, buf, sizeof buf))
      die("request");
  }
  close(c->fd);
  return NULL;
}

static double run_rr(long k, long m) {
  uint16_t port;
  int l = tcp_listener(&port, 128);
  rr_conn *srv = calloc((size_t)k, sizeof *srv), *cli = calloc((size_t)k, sizeof *cli);
  pthread_t *ths = calloc((size_t)k * 2, sizeof *ths);
  for (long i = 0; i < k; i++) {
    cli[i].fd = tcp_connect(port);
    cli[i].m = m;
    srv[i].fd = accept(l, NULL, NULL);
    srv[i].m = m;
    int one = 1;
    setsockopt(srv[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  double t0 = now();
  for (long i = 0; i < k; i++) {
    pthread_create(&ths[2 * i], NULL, rr_echo, &srv[i]);
    pthread_create(&ths[2 * i + 1], NULL, rr_client, &cli[i]);
  }
  for (long i = 0; i < 2 * k; i++)
    pthread_join(ths[i], NULL);
  double t = now() - t0;
  close(l);
  free(srv);
  free(cli);
  free(ths);
  return t;
}

/* --- udp -------------------------------------------------------------- */
typedef struct udp_arg {
  int fd;
  long n;
} udp_arg;

static void *udp_echo(void *p) {
  udp_arg *a = p;
  char buf[64];
  struct sockaddr_in from;
  for (long i = 0; i < a->n; i++) {
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(a->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (r < 0 || sendto(a->fd, buf, (size_t)r, 0, (struct sockaddr *)&from, len) != r)
      die("udp echo");
  }
  return NULL;
}

static double run_udp(long n) {
  int s = socket(AF_INET, SOCK_DGRAM, 0), c = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (s < 0 || c < 0 || bind(s, (struct sockaddr *)&a, sizeof a) ||
      getsockname(s, (struct sockaddr *)&a, &len))
    die("udp socket");
  udp_arg arg = {s, n};
  pthread_t th;
  char buf[64] = {0};
  double t0 = now();
  pthread_create(&th, NULL, udp_echo, &arg);
  for (long i = 0; i < n; i++) {
    if (sendto(c, buf, sizeof buf, 0, (struct sockaddr *)&a, sizeof a) != sizeof buf ||
        recvfrom(c, buf, sizeof buf, 0, NULL, NULL) != sizeof buf)
      die("udp request");
  }
  pthread_join(th, NULL);
  double t = now() - t0;
  close(s);
  close(c);
  return t;
}

/* --- refused ---------------------------------------------------------- */
static double run_refused(long n) {
  uint16_t port;
  int probe = tcp_listener(&port, 1);
  close(probe); /* now nobody listens there */
  struct sockaddr_in a = loopback(port);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      die("socket");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 || errno != ECONNREFUSED)
      die("expected a refused connect");
    close(fd);
  }
  return now() - t0;
}

/* --- flood ------------------------------------------------------------ */
typedef struct flooder {
  pthread_t thread;
  long n, rate;
  int cpu; /* -1: where it is */
  double t0;
} flooder;

static void *flood_thread(void *arg) {
  flooder *f = arg;
  if (f->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(f->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  /* A TCP socket that never connected: every send fails at once with
   * EPIPE, and each failure is one event at level 4. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  char b = 0;
  for (long i = 0; i < f->n; i++) {
    if (f->rate > 0)
      while (now() - f->t0 < (double)i / (double)f->rate)
        ;
    if (send(fd, &b, 1, MSG_NOSIGNAL) >= 0)
      die("expected a failing send");
  }
  close(fd);
  return NULL;
}

/* n failing sends from `threads` threads of this process (one per CPU in
 * turn), rate per second in all; one thread alone stays where it is. */
static double run_flood(long n, long rate, long threads) {
  flooder f[64];
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads > 64)
    threads = 64;
  double t0 = now();
  for (long i = 0; i < threads; i++) {
    f[i] = (flooder){.n = n / threads + (i < n % threads),
                     .rate = rate / threads,
                     .cpu = threads > 1 ? (int)(i % ncpu) : -1,
                     .t0 = t0};
    if (pthread_create(&f[i].thread, NULL, flood_thread, &f[i]) != 0)
      die("pthread_create");
  }
  for (long i = 0; i < threads; i++)
    pthread_join(f[i].thread, NULL);
  return now() - t0;
}

static void report(const char *name, long ops, double secs, int json) {
  if (json)
    printf("{\"workload\":\"%s\",\"ops\":%ld,\"wall_s\":%.6f,\"ops_per_s\":%.1f}\n", name, ops,
           secs, (double)ops / secs);
  else
    printf("workload=%s ops=%ld wall_s=%.6f ops_per_s=%.1f\n", name, ops, secs, (double)ops / secs);
  fflush(stdout);
}

static long arg_long(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || v <= 0) {
    fprintf(stderr, "st-bench-workload: bad number '%s'\n", s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  long churn = 10000, rr_k = 4, rr_m = 25000, udp = 50000, refused = 10000, flood = 0, rate = 0,
       threads = 1;
  const char *only = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--churn") && i + 1 < argc)
      churn = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--rr") && i + 2 < argc) {
      rr_k = arg_long(argv[++i]);
      rr_m = arg_long(argv[++i]);
    } else if (!strcmp(argv[i], "--udp") && i + 1 < argc)
      udp = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--refused") && i + 1 < argc)
      refused = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--flood") && i + 1 < argc)
      flood = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
      rate = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = arg_long(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      only = argv[++i];
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--cpu") && i + 1 < argc) {
      /* Every thread on one CPU: ping-pong becomes a direct switch instead
       * of a cross-CPU wakeup, whose latency on a VM varies run to run. */
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((int)arg_long(argv[++i]) - 1, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0)
        die("sched_setaffinity");
    } else {
      fprintf(stderr, "usage: st-bench-workload [--churn N] [--rr K M] [--udp N] [--refused N]\n"
                      "                         [--flood N [--rate PER_S] [--threads T]]\n"
                      "                         [--cpu N (1-based)]\n"
                      "                         [--only churn|rr|udp|refused|flood] [--json]\n");
      return 2;
    }
  }
  if (!only || !strcmp(only, "churn"))
    report("churn", churn, run_churn(churn), json);
  if (!only || !strcmp(only, "rr"))
    report("rr", rr_k * rr_m, run_rr(rr_k, rr_m), json);
  if (!only || !strcmp(only, "udp"))
    report("udp", udp, run_udp(udp), json);
  if (!only || !strcmp(only, "refused"))
    report("refused", refused, run_refused(refused), json);
  if (flood && (!only || !strcmp(only, "flood")))
    report("flood", flood, run_flood(flood, rate, threads), json);
  return 0;
}
