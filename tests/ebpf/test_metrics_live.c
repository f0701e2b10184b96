/*
 * --metrics on a live session, scraped by a real Prometheus server: three
 * refused connects to one port make that series 3 and the connect latency
 * histogram's count 3 in Prometheus' own HTTP API; an `update` keeps the
 * counts; a session with fewer series than remotes counts the rest under
 * "other"; a taken port is one clear line. Root and the prometheus binary
 * (Debian's package) are needed; under CI=true they must be there.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"

#define PROMETHEUS "/usr/bin/prometheus"
#define WAIT_MS 60000 /* the longest any state is waited for before failing */

static char dir[64];
static pid_t prom = -1;
static char session[16];

static void init(void) {
  snprintf(dir, sizeof dir, "/tmp/st-metrics-%d", (int)getpid());
  mkdir(dir, 0700);
}

#define cli(out, err, ...) st_test_cli_dir(dir, out, err, __VA_ARGS__)

/* Cleans up on failure too: the session, the server, the directory. */
static void fini(void) {
  if (session[0])
    cli(NULL, NULL, "stop %s", session);
  session[0] = 0;
  if (prom > 0) {
    kill(prom, SIGTERM);
    waitpid(prom, NULL, 0);
    prom = -1;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

/* A loopback port nothing listens on (it was free a moment ago). */
static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static void refused_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), -1);
  close(fd);
}

/* GET http://127.0.0.1:port/path: the body of a 200 answer (malloc'd), or
 * NULL. */
static char *http_get(uint16_t port, const char *path, const char *accept) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return NULL;
  }
  char req[2048];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
                   accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
  if (write(fd, req, (size_t)n) != n) {
    close(fd);
    return NULL;
  }
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap);
  ssize_t r;
  while ((r = read(fd, buf + len, cap - 1 - len)) > 0) {
    len += (size_t)r;
    if (len == cap - 1)
      buf = realloc(buf, cap *= 2);
  }
  close(fd);
  buf[len] = 0;
  char *body = strstr(buf, "\r\n\r\n");
  if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 9, "200", 3) != 0 || !body) {
    free(buf);
    return NULL;
  }
  memmove(buf, body + 4, strlen(body + 4) + 1);
  return buf;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of a PromQL query that gives one sample (-1: no sample yet). */
static double prom_value(uint16_t port, const char *promql) {
  char path[1024] = "/api/v1/query?query=";
  size_t n = strlen(path);
  for (const unsigned char *p = (const unsigned char *)promql; *p && n + 4 < sizeof path; p++)
    n += (size_t)snprintf(path + n, sizeof path - n,
                          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                  (*p >= '0' && *p <= '9') || *p == '_'
                              ? "%c"
                              : "%%%02X",
                          *p);
  char *body = http_get(port, path, NULL);
  double v = -1;
  json_t *j = body ? json_loads(body, 0, NULL) : NULL;
  json_t *res = json_object_get(json_object_get(j, "data"), "result");
  if (json_array_size(res) == 1)
    v = atof(
        json_string_value(json_array_get(json_object_get(json_array_get(res, 0), "value"), 1)));
  else if (json_array_size(res) > 1)
    v = -2; /* more than one series: never what the test wants */
  json_decref(j);
  free(body);
  return v;
}

/* Waits (polling Prometheus) until the query's value is want; its last value. */
static double prom_wait(uint16_t port, const char *promql, double want) {
  double v = -1;
  for (int64_t end = now_ms() + WAIT_MS; now_ms() < end; usleep(100000))
    if ((v = prom_value(port, promql)) == want)
      break;
  return v;
}

static void require_prometheus(void) {
  ST_REQUIRE_ROOT();
  if (access(PROMETHEUS, X_OK) != 0) {
    if (st_test_in_ci())
      cr_assert_fail("%s not found under CI=true (tools/setup.sh installs it)", PROMETHEUS);
    cr_skip_test("%s not found (apt-get install prometheus); skipped", PROMETHEUS);
  }
}

/* A Prometheus server scraping target every second; returns its port. */
static uint16_t prometheus_start(const char *target) {
  char conf[128], data[128], log[128], listen[64];
  snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
  snprintf(data, sizeof data, "%s/tsdb", dir);
  snprintf(log, sizeof log, "%s/prometheus.log", dir);
  FILE *f = fopen(conf, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
          "scrape_configs:\n  - job_name: socktrace\n    static_configs:\n"
          "      - targets: ['%s']\n",
          target);
  fclose(f);
  uint16_t port = free_port();
  snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%u", (unsigned)port);
  char cf[160], df[160];
  snprintf(cf, sizeof cf, "--config.file=%s", conf);
  snprintf(df, sizeof df, "--storage.tsdb.path=%s", data);
  prom = fork();
  cr_assert_geq(prom, 0);
  if (prom == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execl(PROMETHEUS, PROMETHEUS, cf, df, listen, (char *)NULL);
    _exit(127);
  }
  /* Ready, and the target scraped once (up == 1). */
  char *ready = NULL;
  for (int64_t end = now_ms() + WAIT_MS; now_ms() < end && !ready; usleep(100000))
    ready = http_get(port, "/-/ready", NULL);
  cr_assert_not_null(ready, "prometheus did not become ready; see %s", log);
  free(ready);
  cr_assert_eq(prom_wait(port, "up{job=\"socktrace\"}", 1), 1, "prometheus never scraped %s",
               target);
  return port;
}

/* The metrics address a running session's query gives. */
static void session_metrics(const char *name, char *addr, size_t len) {
  char *out = NULL, *err = NULL;
  cr_assert_eq(cli(&out, &err, "query %s -f json", name), 0, "%s", err);
  json_t *j = json_loads(out, 0, NULL);
  const char *a = json_string_value(json_object_get(j, "metrics"));
  cr_assert_not_null(a, "query shows no metrics address: %s", out);
  snprintf(addr, len, "%s", a);
  json_decref(j);
  free(out);
  free(err);
}

TestSuite(metrics_live, .init = init, .fini = fini, .timeout = 240);

Test(metrics_live, prometheus_scrapes_refused_connects) {
  require_prometheus();
  uint16_t closed = free_port();
  char *err = NULL;
  snprintf(session, sizeof session, "m%d", (int)getpid() % 100000);
  cr_assert_eq(
      cli(NULL, &err, "start %s --port %u --metrics 127.0.0.1:0", session, (unsigned)closed), 0,
      "%s", err);
  cr_assert(strstr(err, "serves metrics at http://127.0.0.1:"), "%s", err);
  free(err);
  char addr[64];
  session_metrics(session, addr, sizeof addr);
  char *out = NULL;
  cr_assert_eq(cli(&out, NULL, "query %s", session), 0);
  char line[128];
  snprintf(line, sizeof line, "  metrics  http://%s/metrics\n", addr);
  cr_assert(strstr(out, line), "%s", out);
  free(out);
  uint16_t pport = prometheus_start(addr);

  for (int i = 0; i < 3; i++)
    refused_connect(closed);
  char q[256];
  snprintf(q, sizeof q, "socktrace_connects_total{remote=\"127.0.0.1:%u\",status=\"refused\"}",
           (unsigned)closed);
  cr_assert_eq(prom_wait(pport, q, 3), 3, "%s", q);
  char h[256];
  snprintf(h, sizeof h, "socktrace_connect_duration_seconds_count{remote=\"127.0.0.1:%u\"}",
           (unsigned)closed);
  cr_assert_eq(prom_wait(pport, h, 3), 3, "%s", h);
  char b[256];
  snprintf(b, sizeof b,
           "socktrace_connect_duration_seconds_bucket{remote=\"127.0.0.1:%u\",le=\"+Inf\"}",
           (unsigned)closed);
  cr_assert_eq(prom_wait(pport, b, 3), 3, "%s", b);

  /* An update keeps the session's counts: one more makes 4, not 1. */
  cr_assert_eq(cli(NULL, NULL, "update %s -l 5", session), 0);
  refused_connect(closed);
  cr_assert_eq(prom_wait(pport, q, 4), 4, "%s after update", q);
  cr_assert_eq(prom_wait(pport, h, 4), 4, "%s after update", h);

  /* OpenMetrics when asked for. */
  unsigned mport = (unsigned)atoi(strrchr(addr, ':') + 1);
  char *om = http_get((uint16_t)mport, "/metrics", "application/openmetrics-text; version=1.0.0");
  cr_assert_not_null(om);
  size_t n = strlen(om);
  cr_assert(n > 6 && strcmp(om + n - 6, "# EOF\n") == 0);
  free(om);
}

Test(metrics_live, remotes_past_max_series_are_other) {
  ST_REQUIRE_ROOT();
  snprintf(session, sizeof session, "c%d", (int)getpid() % 100000);
  char *err = NULL;
  cr_assert_eq(cli(NULL, &err, "start %s -p %d --metrics 127.0.0.1:0 --metrics-max-series 3",
                   session, (int)getpid()),
               0, "%s", err);
  free(err);
  char addr[64];
  session_metrics(session, addr, sizeof addr);
  uint16_t mport = (uint16_t)atoi(strrchr(addr, ':') + 1);
  uint16_t first = free_port();
  refused_connect(first);
  for (int i = 0; i < 5; i++)
    refused_connect(free_port());
  /* events_total, the first remote's latency and count: the rest is other. */
  char want[160], other[] = "socktrace_connects_total{process=\"other\",remote=\"other\","
                            "status=\"refused\"} 5\n";
  snprintf(want, sizeof want,
           "socktrace_connects_total{process=\"test_metrics_li\",remote=\"127.0.0.1:%u\","
           "status=\"refused\"} 1\n",
           (unsigned)first);
  char *body = NULL;
  for (int64_t end = now_ms() + WAIT_MS; now_ms() < end; usleep(50000)) {
    free(body);
    body = http_get(mport, "/metrics", NULL);
    if (body && strstr(body, other))
      break;
  }
  cr_assert(body && strstr(body, other), "%s", body);
  cr_assert(strstr(body, want), "%s", body);
  /* Every connect has its latency: the refused ones and this test's own
   * scrapes (ok), however many were seen when this body was made. */
  long long ok = st_test_sample(body, "socktrace_connects_total{process=\"other\",remote=\"other\","
                                      "status=\"ok\"}");
  cr_assert_eq(st_test_sample(body,
                              "socktrace_connect_duration_seconds_count{process=\"other\",remote="
                              "\"other\"}"),
               5 + (ok < 0 ? 0 : ok), "%s", body);
  free(body);
}

Test(metrics_live, a_taken_port_is_one_line) {
  ST_REQUIRE_ROOT();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 1), 0);
  getsockname(fd, (struct sockaddr *)&a, &len);
  char *err = NULL;
  int code = cli(NULL, &err, "start t%d --metrics 127.0.0.1:%u", (int)getpid() % 100000,
                 (unsigned)ntohs(a.sin_port));
  close(fd);
  cr_assert_eq(code, 1);
  char want[160];
  snprintf(want, sizeof want,
           "socktrace: cannot serve metrics on 127.0.0.1:%u: the port is taken (stop what "
           "listens there or give --metrics another port)\n",
           (unsigned)ntohs(a.sin_port));
  cr_assert_str_eq(err, want);
  free(err);
}

/* `run --metrics`: the traced command scrapes its own session. Its three
 * refused connects show in the endpoint (it polls until they do: the
 * events reach the sink through the ring buffer). */
Test(metrics_live, run_serves_its_own_metrics) {
  ST_REQUIRE_ROOT();
  uint16_t closed = free_port(), port = free_port();
  char out[96], cmd[2048];
  snprintf(out, sizeof out, "%s/scrape", dir);
  snprintf(cmd, sizeof cmd,
           "run -q --metrics 127.0.0.1:%u -- bash -c '"
           "for i in 1 2 3; do (exec 3<>/dev/tcp/127.0.0.1/%u) 2>/dev/null; done; "
           "for i in $(seq 600); do "
           "exec 3<>/dev/tcp/127.0.0.1/%u; printf \"GET /metrics HTTP/1.0\\r\\n\\r\\n\" >&3; "
           "cat <&3 >%s; exec 3<&-; "
           "grep -q \"remote=\\\"127.0.0.1:%u\\\",status=\\\"refused\\\"} 3\" %s && exit 0; "
           "sleep 0.05; done; exit 1'",
           (unsigned)port, (unsigned)closed, (unsigned)port, out, (unsigned)closed, out);
  st_cli_result r = st_test_cli(cmd);
  char *got = st_test_read_file(out, NULL);
  cr_assert_eq(r.code, 0, "%s\n%s", r.err, got ? got : "(no scrape)");
  char note[96];
  snprintf(note, sizeof note, "socktrace: metrics at http://127.0.0.1:%u/metrics\n",
           (unsigned)port);
  cr_assert(strstr(r.err, note), "%s", r.err);
  char line[160];
  snprintf(line, sizeof line,
           "socktrace_connects_total{process=\"bash\",remote=\"127.0.0.1:%u\","
           "status=\"refused\"} 3\n",
           (unsigned)closed);
  cr_assert(strstr(got, line), "%s", got);
  free(got);
  st_cli_result_free(&r);
}
