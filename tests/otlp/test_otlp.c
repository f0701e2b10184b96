/*
 * -o otlp:// against an independent decoder: receiver.js decodes each
 * request with OpenTelemetry's own compiled OTLP definitions and writes it
 * as JSON. Every event of a replayed trace must come out equal to its JSON
 * Lines form, field by field; the metrics equal the Prometheus exposition
 * of the same trace; a collector away at start is one line and exit 1
 * (with --otlp-retry everything arrives once it answers); a collector
 * killed and restarted mid-export loses nothing beyond what is counted.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"
#include "otlp/otlp_sink.h"
#include "socktrace/metrics.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"
#define CLI ST_BINARY_DIR "/socktrace"

static char dir[] = "/tmp/st-otlp-XXXXXX";
static char modules[512];

/* npm's otlp-transformer 0.57.x: where tools/setup.sh --tests fetched it,
 * else into the build directory, once; a skip when npm or the network is
 * not there, a failure under CI=true. */
#define DECODER_CACHE "/var/cache/socktrace-test/otlp-node/node_modules"
#define DECODER_ROOT "/@opentelemetry/otlp-transformer/build/src/generated/root.js"
static void need_decoder(void) {
  char root[640];
  struct stat st;
  snprintf(modules, sizeof modules, "%s", DECODER_CACHE);
  snprintf(root, sizeof root, "%s" DECODER_ROOT, modules);
  if (stat(root, &st) == 0)
    return;
  snprintf(modules, sizeof modules, "%s/otlp-node/node_modules", ST_BINARY_DIR);
  snprintf(root, sizeof root, "%s" DECODER_ROOT, modules);
  if (stat(root, &st) != 0 &&
      system("npm install --no-audit --no-fund --prefix " ST_BINARY_DIR
             "/otlp-node @opentelemetry/otlp-transformer@0.57.2 >/dev/null 2>&1") != 0) {
    if (st_test_in_ci())
      cr_assert_fail("npm install @opentelemetry/otlp-transformer@0.57.2 failed under CI=true");
    ST_SKIP("npm could not install @opentelemetry/otlp-transformer@0.57.2 (the decoder)");
  }
  cr_assert_eq(stat(root, &st), 0, "%s missing after npm install", root);
}

static void setup(void) {
  cr_assert(mkdtemp(dir));
  st_test_guard_dir(dir);
  need_decoder();
}

static void teardown(void) {
  st_test_remove_dir(dir);
}

TestSuite(otlp, .init = setup, .fini = teardown, .timeout = 300);

/* A port nothing listens on (bound, then let go). */
static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
  getsockname(s, (struct sockaddr *)&a, &len);
  close(s);
  return ntohs(a.sin_port);
}

static pid_t spawn(const char *out_path, char *const argv[]) {
  pid_t p = fork();
  cr_assert(p >= 0);
  if (p == 0) {
    if (out_path) {
      FILE *f = freopen(out_path, "w", stdout);
      (void)f;
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  return p;
}

/* Starts the receiver on port (0: any), HTTPS with the PEM files
 * cert and key unless NULL; returns its pid, *port its port. */
static pid_t receiver_tls(int *port, const char *out, const char *cert, const char *key) {
  static int n;
  char pf[512], ps[16];
  snprintf(pf, sizeof pf, "%s/port.%d", dir, n++);
  snprintf(ps, sizeof ps, "%d", *port);
  char *argv[] = {"node", ST_SOURCE_DIR "/tests/otlp/receiver.js", modules, pf, (char *)out, ps,
                  NULL};
  if (cert) { /* the child inherits them; the next receiver is plain again */
    setenv("OTLP_TLS_CERT", cert, 1);
    setenv("OTLP_TLS_KEY", key, 1);
  }
  pid_t p = spawn(NULL, argv);
  unsetenv("OTLP_TLS_CERT");
  unsetenv("OTLP_TLS_KEY");
  char *text = st_test_wait_file(pf, "", 20000);
  cr_assert(text && *text, "the receiver did not start");
  *port = atoi(text);
  free(text);
  return p;
}

static pid_t receiver(int *port, const char *out) {
  return receiver_tls(port, out, NULL, NULL);
}

static int wait_exit(pid_t p) {
  int st;
  cr_assert_eq(waitpid(p, &st, 0), p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void stop(pid_t p) {
  kill(p, SIGTERM);
  waitpid(p, NULL, 0);
}

static json_t *attrs_object(json_t *attrs);

/* An OTLP AnyValue as the JSON value it came from. */
static json_t *any_value(json_t *v) {
  json_t *x;
  if ((x = json_object_get(v, "stringValue")) || (x = json_object_get(v, "doubleValue")) ||
      (x = json_object_get(v, "boolValue")))
    return json_incref(x);
  if ((x = json_object_get(v, "intValue")))
    return json_integer(strtoll(json_string_value(x), NULL, 10));
  if ((x = json_object_get(v, "kvlistValue")))
    return attrs_object(json_object_get(x, "values"));
  if ((x = json_object_get(v, "arrayValue"))) {
    json_t *a = json_array(), *e;
    size_t i;
    json_array_foreach(json_object_get(x, "values"), i, e) json_array_append_new(a, any_value(e));
    return a;
  }
  cr_assert_fail("a value the JSONL could not have: %s", json_dumps(v, 0));
  return NULL;
}

/* An OTLP attribute list as the JSON object it came from. */
static json_t *attrs_object(json_t *attrs) {
  json_t *o = json_object(), *kv;
  size_t i;
  json_array_foreach(attrs, i, kv) json_object_set_new(
      o, json_string_value(json_object_get(kv, "key")), any_value(json_object_get(kv, "value")));
  return o;
}

typedef struct decoded {
  json_t *records;  /* every log record, in arrival order */
  json_t *resource; /* the last request's resource attributes, as an object */
  json_t *metrics;  /* the last metrics request's metrics */
  int errors;
} decoded;

static decoded decode(const char *path) {
  decoded d = {json_array(), NULL, NULL, 0};
  char *text = st_test_read_file(path, NULL);
  cr_assert(text, "nothing reached the receiver");
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *j = json_loads(line, 0, NULL), *rl, *sl;
    cr_assert(j);
    d.errors += json_object_get(j, "error") != NULL;
    cr_assert_null(json_object_get(j, "error"), "the decoder: %s",
                   json_string_value(json_object_get(j, "error")));
    const char *kind = json_string_value(json_object_get(j, "kind"));
    json_t *body = json_object_get(j, "body");
    size_t i, k;
    if (!strcmp(kind, "logs")) {
      json_array_foreach(json_object_get(body, "resourceLogs"), i, rl) {
        json_decref(d.resource);
        d.resource = attrs_object(json_object_get(json_object_get(rl, "resource"), "attributes"));
        json_array_foreach(json_object_get(rl, "scopeLogs"), k, sl)
            json_array_extend(d.records, json_object_get(sl, "logRecords"));
      }
    } else {
      json_t *rm = json_array_get(json_object_get(body, "resourceMetrics"), 0);
      json_decref(d.metrics);
      d.metrics = json_incref(
          json_object_get(json_array_get(json_object_get(rm, "scopeMetrics"), 0), "metrics"));
    }
    json_decref(j);
  }
  free(text);
  return d;
}

static void decoded_free(decoded *d) {
  json_decref(d->records);
  json_decref(d->resource);
  json_decref(d->metrics);
}

/* The JSON Lines of the demo trace, events only. */
static json_t *demo_jsonl(void) {
  st_cli_result r = st_test_cli("replay " DEMO " -f jsonl");
  cr_assert_eq(r.code, 0, "%s", r.err);
  json_t *a = json_array();
  for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"))
    if (strncmp(line, "{\"socktrace\":", 13) != 0)
      json_array_append_new(a, json_loads(line, 0, NULL));
  st_cli_result_free(&r);
  return a;
}

/* As many records reached the receiver (writing to out) as the demo has
 * events. */
static void assert_every_demo_event(const char *out) {
  decoded d = decode(out);
  json_t *want = demo_jsonl();
  cr_assert_eq(json_array_size(d.records), json_array_size(want), "records %zu, events %zu",
               json_array_size(d.records), json_array_size(want));
  json_decref(want);
  decoded_free(&d);
}

static void replay_to(int port, const char *extra, int expect) {
  char args[1024];
  snprintf(args, sizeof args, "replay " DEMO " -o otlp://127.0.0.1:%d %s", port, extra);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, expect, "exit %d: %s", r.code, r.err);
  st_cli_result_free(&r);
}

Test(otlp, events_equal_the_jsonl_field_by_field) {
  char out[512];
  snprintf(out, sizeof out, "%s/logs.jsonl", dir);
  int port = 0;
  pid_t rp = receiver(&port, out);
  replay_to(port, "--otlp-header 'Authorization: Bearer t0ken'", 0);
  stop(rp);
  decoded d = decode(out);
  json_t *want = demo_jsonl();
  cr_assert_eq(json_array_size(d.records), json_array_size(want), "records %zu, events %zu",
               json_array_size(d.records), json_array_size(want));
  size_t i;
  json_t *rec;
  int warn = 0;
  json_array_foreach(d.records, i, rec) {
    json_t *got = attrs_object(json_object_get(rec, "attributes"));
    json_t *ev = json_array_get(want, i);
    char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(ev, JSON_SORT_KEYS);
    cr_assert(json_equal(got, ev), "event %zu:\n got %s\nwant %s", i, g, w);
    free(g);
    free(w);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(rec, "body"), "stringValue")),
        json_string_value(json_object_get(ev, "name")));
    cr_assert_str_eq(json_string_value(json_object_get(rec, "timeUnixNano")),
                     json_dumps(json_object_get(ev, "ts_ns"), JSON_ENCODE_ANY));
    const char *status = json_string_value(json_object_get(ev, "status"));
    bool failed = status && strcmp(status, "ok") && strcmp(status, "pending") &&
                  strcmp(status, "would_block");
    long long level = json_integer_value(json_object_get(ev, "level"));
    long long sev = json_integer_value(json_object_get(rec, "severityNumber"));
    /* ETW's levels: 1 critical, 2 error, 3 warning, 4 information, 5 verbose. */
    static const long long by_level[] = {21, 21, 17, 13, 9, 5};
    long long want_sev = by_level[level <= 5 ? level : 5];
    if (failed && want_sev < 13)
      want_sev = 13;
    cr_assert_eq(sev, want_sev, "event %zu (%s, level %lld): severity %lld", i,
                 status ? status : "-", level, sev);
    warn += sev == 13;
    json_decref(got);
  }
  cr_assert_gt(warn, 0, "the demo's failures are WARN");
  cr_assert_str_eq(json_string_value(json_object_get(d.resource, "service.name")), "socktrace");
  cr_assert_str_eq(json_string_value(json_object_get(d.resource, "os.type")), "linux");
  cr_assert(json_string_length(json_object_get(d.resource, "host.name")) > 0);
  /* The header went with every request. */
  char *text = st_test_read_file(out, NULL);
  cr_assert_eq(st_test_count(text, "\"authorization\":\"Bearer t0ken\""), st_test_lines(text));
  free(text);
  json_decref(want);
  decoded_free(&d);
}

/* The Prometheus exposition of the demo trace, as the metrics sink of a
 * --metrics endpoint renders it. */
static char *demo_exposition(void) {
  st_sink *m;
  cr_assert_eq(st_sink_metrics_new(NULL, &m), 0);
  char *text = st_test_read_file(DEMO, NULL), err[256];
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    st_event ev;
    if (st_event_from_json(line, &ev, err, sizeof err) == 0)
      m->ops->write(m, &ev);
  }
  free(text);
  char *out;
  cr_assert_gt(st_metrics_render(m, false, &out), 0);
  m->ops->close(m);
  return out;
}

static void prom_key(char *buf, size_t len, const char *name, const char *suffix, json_t *attrs) {
  int n = snprintf(buf, len, "%s%s", name, suffix);
  size_t i;
  json_t *kv;
  json_array_foreach(attrs, i, kv) n +=
      snprintf(buf + n, len - (size_t)n, "%s%s=\"%s\"", i ? "," : "{",
               json_string_value(json_object_get(kv, "key")),
               json_string_value(json_object_get(json_object_get(kv, "value"), "stringValue")));
  if (json_array_size(attrs))
    snprintf(buf + n, len - (size_t)n, "}");
}

Test(otlp, metrics_equal_the_prometheus_exposition) {
  char out[512];
  snprintf(out, sizeof out, "%s/metrics.jsonl", dir);
  int port = 0;
  pid_t rp = receiver(&port, out);
  replay_to(port, "", 0);
  stop(rp);
  decoded d = decode(out);
  cr_assert(d.metrics, "no metrics request came");
  char *prom = demo_exposition();
  size_t i, k, points = 0;
  json_t *m, *p;
  char key[1024];
  json_array_foreach(d.metrics, i, m) {
    const char *name = json_string_value(json_object_get(m, "name"));
    json_t *sum = json_object_get(m, "sum"), *hist = json_object_get(m, "histogram");
    cr_assert(name && (sum || hist));
    if (sum) {
      cr_assert(json_is_true(json_object_get(sum, "isMonotonic")));
      cr_assert_eq(json_integer_value(json_object_get(sum, "aggregationTemporality")), 2);
      json_array_foreach(json_object_get(sum, "dataPoints"), k, p) {
        prom_key(key, sizeof key, name, "_total", json_object_get(p, "attributes"));
        long long want = st_test_sample(prom, key);
        cr_assert_geq(want, 0, "%s is not in the exposition:\n%s", key, prom);
        cr_assert_eq(strtoll(json_string_value(json_object_get(p, "asInt")), NULL, 10), want, "%s",
                     key);
        points++;
      }
    } else {
      cr_assert_eq(json_integer_value(json_object_get(hist, "aggregationTemporality")), 2);
      json_array_foreach(json_object_get(hist, "dataPoints"), k, p) {
        prom_key(key, sizeof key, name, "_count", json_object_get(p, "attributes"));
        long long want = st_test_sample(prom, key);
        cr_assert_geq(want, 0, "%s is not in the exposition", key);
        long long count = strtoll(json_string_value(json_object_get(p, "count")), NULL, 10);
        cr_assert_eq(count, want, "%s", key);
        long long in_buckets = 0;
        size_t b;
        json_t *c;
        json_array_foreach(json_object_get(p, "bucketCounts"), b, c) in_buckets +=
            strtoll(json_string_value(c), NULL, 10);
        cr_assert_eq(in_buckets, count, "%s: buckets", key);
        points++;
      }
    }
  }
  /* Every series of the exposition came: one _total or _count line each. */
  size_t series = 0;
  for (char *line = strtok(prom, "\n"); line; line = strtok(NULL, "\n"))
    series += line[0] != '#' && (strstr(line, "_total") || strstr(line, "_count"));
  cr_assert_eq(points, series);
  cr_assert_gt(points, 5);
  free(prom);
  decoded_free(&d);
}

Test(otlp, collector_away_at_start) {
  int port = free_port();
  char args[512];
  snprintf(args, sizeof args, "replay " DEMO " -o otlp://127.0.0.1:%d", port);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_assert(strstr(r.err, "cannot export to the OpenTelemetry collector"), "%s", r.err);
  cr_assert(strstr(r.err, "--otlp-retry"), "%s", r.err);
  st_cli_result_free(&r);

  /* With --otlp-retry: a listener that takes the first attempt and hangs
   * up proves socktrace runs before the collector answers. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* not socktrace's */
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 4) == 0);
  char url[64];
  snprintf(url, sizeof url, "otlp://127.0.0.1:%d", port);
  char *argv[] = {CLI, "replay", DEMO, "-o", url, "--otlp-retry", NULL};
  pid_t sp = spawn("/dev/null", argv);
  int c = accept(s, NULL, NULL);
  cr_assert(c >= 0);
  close(c);
  close(s);
  char out[512];
  snprintf(out, sizeof out, "%s/retry.jsonl", dir);
  pid_t rp = receiver(&port, out);
  cr_assert_eq(wait_exit(sp), 0);
  stop(rp);
  assert_every_demo_event(out);
}

/* A trace of n events: the demo's, again and again, renumbered. */
static void big_trace(const char *path, int n) {
  char *text = st_test_read_file(DEMO, NULL);
  FILE *f = fopen(path, "w");
  cr_assert(text && f);
  char *header = strtok(text, "\n");
  fprintf(f, "%s\n", header);
  json_t *lines = json_array();
  for (char *l = strtok(NULL, "\n"); l; l = strtok(NULL, "\n"))
    json_array_append_new(lines, json_loads(l, 0, NULL));
  size_t m = json_array_size(lines);
  long long ts = 0;
  for (int i = 0; i < n; i++) {
    json_t *ev = json_deep_copy(json_array_get(lines, (size_t)i % m));
    if (!ts)
      ts = json_integer_value(json_object_get(ev, "ts_ns"));
    json_object_set_new(ev, "seq", json_integer(i + 1));
    json_object_set_new(ev, "ts_ns", json_integer(ts + i * 1000LL));
    json_object_del(ev, "ts");
    char *s = json_dumps(ev, JSON_COMPACT);
    fprintf(f, "%s\n", s);
    free(s);
    json_decref(ev);
  }
  fclose(f);
  json_decref(lines);
  free(text);
}

Test(otlp, collector_killed_mid_export) {
  enum { N = 40000 };
  char trace[512], out[512], err[512];
  snprintf(trace, sizeof trace, "%s/big.jsonl", dir);
  snprintf(out, sizeof out, "%s/killed.jsonl", dir);
  snprintf(err, sizeof err, "%s/killed.err", dir);
  big_trace(trace, N);
  int port = 0;
  pid_t rp = receiver(&port, out);
  char url[64];
  snprintf(url, sizeof url, "otlp://127.0.0.1:%d", port);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "exec %s replay %s -o %s --otlp-buffer 1M 2>%s", CLI, trace, url, err);
  char *argv[] = {"sh", "-c", cmd, NULL};
  pid_t sp = spawn("/dev/null", argv);
  /* Killed once the first batch of events came (not the empty request
   * that checks the collector is there), restarted on the same port. */
  free(st_test_wait_file(out, "\"logRecords\":[{", 60000));
  kill(rp, SIGKILL);
  waitpid(rp, NULL, 0);
  rp = receiver(&port, out);
  int code = wait_exit(sp);
  stop(rp);
  decoded d = decode(out);
  /* Events by seq (a batch the receiver took before it died may come
   * twice), and the losses the EventsLost records say. */
  char *seen = calloc(N + 1, 1);
  size_t i, events = 0;
  long long lost = 0;
  json_t *rec;
  json_array_foreach(d.records, i, rec) {
    json_t *ev = attrs_object(json_object_get(rec, "attributes"));
    if (!strcmp(json_string_value(json_object_get(ev, "name")), "EventsLost")) {
      cr_assert_str_eq(json_string_value(json_object_get(ev, "where")), "sink");
      lost += json_integer_value(json_object_get(ev, "count"));
    } else {
      long long seq = json_integer_value(json_object_get(ev, "seq"));
      cr_assert(seq >= 1 && seq <= N);
      events += !seen[seq];
      seen[seq] = 1;
    }
    json_decref(ev);
  }
  char *said = st_test_read_file(err, NULL);
  cr_assert_eq((long long)events + lost, N, "events %zu + lost %lld != %d (stderr: %s)", events,
               lost, N, said);
  if (lost) {
    char line[128];
    snprintf(line, sizeof line, "%lld events were lost on their way to", lost);
    cr_assert(strstr(said, line), "stderr: %s", said);
  } else {
    cr_assert_eq(code, 0, "%s", said);
  }
  free(said);
  free(seen);
  decoded_free(&d);
}

/* The sink itself, a buffer too small for what comes while the collector
 * is away: what does not fit is counted, said in EventsLost records, and
 * the rest delivered once the collector answers. */
Test(otlp, overflow_is_counted_and_said) {
  enum { N = 5000 };
  int port = free_port();
  char url[64], out[512];
  snprintf(url, sizeof url, "otlp://127.0.0.1:%d", port);
  snprintf(out, sizeof out, "%s/overflow.jsonl", dir);
  st_otlp_options so = {.url = url, .retry = true, .buffer_bytes = 65536, .drain_ms = 30000};
  st_sink *k;
  char err[256];
  cr_assert_eq(st_sink_otlp_new(&so, &k, err, sizeof err), 0, "%s", err);
  st_trace_info info = {.host = "overflow", .os = ST_OS_LINUX, .level = 5};
  cr_assert_eq(k->ops->begin(k, &info), 0, "%s", k->error);
  char *text = st_test_read_file(DEMO, NULL);
  st_event demo[64];
  size_t m = 0;
  for (char *l = strtok(text, "\n"); l && m < 64; l = strtok(NULL, "\n"))
    m += st_event_from_json(l, &demo[m], err, sizeof err) == 0;
  free(text);
  for (int i = 0; i < N; i++) {
    st_event ev = demo[(size_t)i % m];
    ev.seq = (uint64_t)i + 1;
    cr_assert_eq(k->ops->write(k, &ev), 0);
  }
  pid_t rp = receiver(&port, out);
  int rc = k->ops->end(k, &(st_counters){0});
  st_otlp_stats st;
  st_sink_otlp_stats(k, &st);
  cr_assert_eq(rc, 0, "%s", k->error);
  k->ops->close(k);
  stop(rp);
  cr_assert_gt(st.lost, 0, "the buffer held everything: no overflow to count");
  cr_assert_eq(st.sent + st.lost, N, "sent %llu + lost %llu", (unsigned long long)st.sent,
               (unsigned long long)st.lost);
  decoded d = decode(out);
  size_t i, events = 0;
  long long lost = 0;
  json_t *rec;
  json_array_foreach(d.records, i, rec) {
    json_t *ev = attrs_object(json_object_get(rec, "attributes"));
    if (!strcmp(json_string_value(json_object_get(ev, "name")), "EventsLost"))
      lost += json_integer_value(json_object_get(ev, "count"));
    else
      events++;
    json_decref(ev);
  }
  cr_assert_eq(events, st.sent);
  cr_assert_eq(lost, (long long)st.lost);
  decoded_free(&d);
}

/* The value of the point of metric name whose attributes are exactly
 * want (a JSON object), -1 when there is none: a Sum's asInt, a
 * Histogram's count. */
static long long otlp_point(json_t *metrics, const char *name, json_t *want) {
  size_t i, k;
  json_t *m, *p;
  json_array_foreach(metrics, i, m) {
    if (strcmp(json_string_value(json_object_get(m, "name")), name))
      continue;
    json_t *data =
        json_object_get(m, "sum") ? json_object_get(m, "sum") : json_object_get(m, "histogram");
    json_array_foreach(json_object_get(data, "dataPoints"), k, p) {
      json_t *got = attrs_object(json_object_get(p, "attributes"));
      bool same = json_equal(got, want);
      json_decref(got);
      if (same) {
        json_t *v =
            json_object_get(p, "asInt") ? json_object_get(p, "asInt") : json_object_get(p, "count");
        return strtoll(json_string_value(v), NULL, 10);
      }
    }
  }
  return -1;
}

/* A live `run` with both outputs: three refused connects are 3 in the
 * Prometheus endpoint (scraped by the traced command itself) and 3 in the
 * OTLP metrics, for the counter and for the latency histogram's count. */
Test(otlp, live_metrics_equal_the_prometheus_endpoint) {
  ST_REQUIRE_ROOT();
  int closed = free_port(), mport = free_port(), port = 0;
  char out[512], scrape[512], cmd[4096];
  snprintf(out, sizeof out, "%s/live.jsonl", dir);
  snprintf(scrape, sizeof scrape, "%s/scrape", dir);
  pid_t rp = receiver(&port, out);
  snprintf(cmd, sizeof cmd,
           "run -q --metrics 127.0.0.1:%d -o otlp://127.0.0.1:%d -- bash -c '"
           "for i in 1 2 3; do (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; done; "
           "for i in $(seq 600); do "
           "exec 3<>/dev/tcp/127.0.0.1/%d; printf \"GET /metrics HTTP/1.0\\r\\n\\r\\n\" >&3; "
           "cat <&3 >%s; exec 3<&-; "
           "grep -q \"remote=\\\"127.0.0.1:%d\\\"} 3\" %s && exit 0; "
           "sleep 0.05; done; exit 1'",
           mport, port, closed, mport, scrape, closed, scrape);
  st_cli_result r = st_test_cli(cmd);
  stop(rp);
  char *prom = st_test_read_file(scrape, NULL);
  cr_assert_eq(r.code, 0, "%s\n%s", r.err, prom ? prom : "(no scrape)");
  st_cli_result_free(&r);
  char remote[32], key[256];
  snprintf(remote, sizeof remote, "127.0.0.1:%d", closed);
  snprintf(key, sizeof key,
           "socktrace_connects_total{process=\"bash\",remote=\"%s\",status=\"refused\"}", remote);
  cr_assert_eq(st_test_sample(prom, key), 3, "%s", prom);
  snprintf(key, sizeof key,
           "socktrace_connect_duration_seconds_count{process=\"bash\",remote=\"%s\"}", remote);
  cr_assert_eq(st_test_sample(prom, key), 3, "%s", prom);
  free(prom);
  decoded d = decode(out);
  cr_assert(d.metrics, "no metrics request came");
  json_t *want = json_pack("{ss ss ss}", "process", "bash", "remote", remote, "status", "refused");
  cr_assert_eq(otlp_point(d.metrics, "socktrace_connects", want), 3);
  json_object_del(want, "status");
  cr_assert_eq(otlp_point(d.metrics, "socktrace_connect_duration_seconds", want), 3);
  json_decref(want);
  decoded_free(&d);
}

/* otlps://: the collector's certificate checked against --otlp-ca; without
 * it, a self-signed certificate is refused in one line. */
Test(otlp, otlps_with_a_private_ca) {
  char cert[512], key[512], out[512], cmd[2048];
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(out, sizeof out, "%s/tls.jsonl", dir);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
           "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
           key, cert);
  cr_assert_eq(system(cmd), 0, "openssl could not make a certificate");
  int port = 0;
  pid_t rp = receiver_tls(&port, out, cert, key);
  char args[1024];
  snprintf(args, sizeof args, "replay " DEMO " -o otlps://127.0.0.1:%d", port);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 1, "%s", r.err);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_assert(strstr(r.err, "https://127.0.0.1:"), "%s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args,
           "replay " DEMO " -o otlps://127.0.0.1:%d --otlp-ca %s --otlp-header 'X-Scope: a'", port,
           cert);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  stop(rp);
  assert_every_demo_event(out);
}

/* A background session exports its metrics on a timer, also while no
 * event comes, before it stops; query shows the output. */
Test(otlp, a_session_exports_metrics_while_it_runs) {
  ST_REQUIRE_ROOT();
  char out[512];
  snprintf(out, sizeof out, "%s/session.jsonl", dir);
  int port = 0;
  pid_t rp = receiver(&port, out);
  char name[32];
  snprintf(name, sizeof name, "otlp%d", (int)getpid() % 100000);
  char *err = NULL;
  cr_assert_eq(st_test_cli_dir(dir, NULL, &err, "start %s -o otlp://127.0.0.1:%d", name, port), 0,
               "%s", err);
  free(err);
  char *got = st_test_wait_file(out, "\"kind\":\"metrics\"", 60000);
  char *q = NULL;
  int qc = st_test_cli_dir(dir, &q, NULL, "query %s", name);
  cr_assert_eq(st_test_cli_dir(dir, NULL, NULL, "stop %s", name), 0);
  stop(rp);
  cr_assert(got && strstr(got, "\"kind\":\"metrics\""), "no metrics while the session ran");
  cr_assert_eq(qc, 0);
  char want[96];
  snprintf(want, sizeof want, "otlp://127.0.0.1:%d (otlp)", port);
  cr_assert(strstr(q, want), "%s", q);
  free(q);
  free(got);
}
