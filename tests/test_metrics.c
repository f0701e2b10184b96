/*
 * The metrics sink on built events: what a refused and a successful connect
 * count (each once, whichever completion events the backend gave), where a
 * latency falls in the histogram, remotes named by DNS, resets that are a
 * connect's refusal, DNS answers, lost events, the bound on series (the
 * rest counted under "other"), and both exposition formats.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "socktrace/metrics.h"

static st_sink *sink;

static void fini(void) {
  if (sink)
    sink->ops->close(sink);
  sink = NULL;
}

static void make(unsigned max_series) {
  st_metrics_options o = {.max_series = max_series};
  cr_assert_eq(st_sink_metrics_new(&o, &sink), 0);
}

static st_event ev(uint16_t id, uint8_t ee, uint64_t endpoint, uint64_t ts_us) {
  st_event e;
  st_event_init(&e, ST_PROVIDER_AFD, id);
  e.enter_exit = ee;
  e.endpoint = endpoint;
  e.ts_ns = 1700000000000000000ull + ts_us * 1000;
  e.pid = 42;
  snprintf(e.comm, sizeof e.comm, "curl");
  return e;
}

static void remote(st_event *e, const char *ip, uint16_t port) {
  e->has |= ST_HAS_REMOTE;
  e->remote.family = ST_FAMILY_INET;
  st_addr_parse_ip(ip, &e->remote);
  e->remote.port = port;
}

static void status(st_event *e, st_code code) {
  e->has |= ST_HAS_STATUS;
  e->status = st_status_portable(code);
}

static void put(const st_event *e) {
  cr_assert_eq(sink->ops->write(sink, e), 0);
}

static char *render(bool om) {
  char *out = NULL;
  cr_assert_gt(st_metrics_render(sink, om, &out), 0);
  return out;
}

/* A blocking connect refused after 300 us: enter, the completion (1017),
 * then the syscall's exit with the same status. */
static void refused(uint64_t endpoint, const char *ip, uint16_t port) {
  st_event e = ev(ST_EV_CONNECT_ADDR, ST_EE_ENTER, endpoint, 0);
  remote(&e, ip, port);
  put(&e);
  e = ev(ST_EV_CONNECT, ST_EE_TRANSPORT, endpoint, 300);
  status(&e, ST_REFUSED);
  put(&e);
  /* The RST that refused it is no reset of its own. */
  e = ev(ST_EV_ABORT, ST_EE_TRANSPORT, endpoint, 301);
  e.has |= ST_HAS_REASON;
  e.reason = ST_ABORT_TRANSPORT_RESET;
  put(&e);
  e = ev(ST_EV_CONNECT_ADDR, ST_EE_EXIT, endpoint, 310);
  remote(&e, ip, port);
  status(&e, ST_REFUSED);
  put(&e);
  e = ev(ST_EV_CLOSE, ST_EE_EXIT, endpoint, 400);
  put(&e);
}

TestSuite(metrics, .fini = fini);

Test(metrics, refused_connects_count_once_with_their_latency) {
  make(0);
  for (uint64_t i = 1; i <= 3; i++)
    refused(i, "127.0.0.1", 9);
  char *t = render(false);
  cr_assert_eq(st_test_sample(t, "socktrace_connects_total{process=\"curl\",remote=\"127.0.0.1:9\","
                                 "status=\"refused\"}"),
               3, "%s", t);
  const char *h = "socktrace_connect_duration_seconds";
  char k[256];
  snprintf(k, sizeof k, "%s_count{process=\"curl\",remote=\"127.0.0.1:9\"}", h);
  cr_assert_eq(st_test_sample(t, k), 3);
  /* 300 us: above 250 us, within 500 us. */
  snprintf(k, sizeof k, "%s_bucket{process=\"curl\",remote=\"127.0.0.1:9\",le=\"0.00025\"}", h);
  cr_assert_eq(st_test_sample(t, k), 0);
  snprintf(k, sizeof k, "%s_bucket{process=\"curl\",remote=\"127.0.0.1:9\",le=\"0.0005\"}", h);
  cr_assert_eq(st_test_sample(t, k), 3);
  snprintf(k, sizeof k, "%s_bucket{process=\"curl\",remote=\"127.0.0.1:9\",le=\"+Inf\"}", h);
  cr_assert_eq(st_test_sample(t, k), 3);
  cr_assert(strstr(t, "socktrace_connect_duration_seconds_sum{process=\"curl\",remote=\"127.0.0.1:"
                      "9\"} 0.0009\n"),
            "%s", t);
  cr_assert_null(strstr(t, "socktrace_resets_total{"), "%s", t);
  cr_assert_eq(st_test_sample(t, "socktrace_events_total"), 15);
  cr_assert(strstr(t, "# TYPE socktrace_connects_total counter\n"));
  cr_assert(strstr(t, "# TYPE socktrace_connect_duration_seconds histogram\n"));
  cr_assert_null(strstr(t, "# EOF"));
  free(t);
}

Test(metrics, nonblocking_connect_named_by_dns) {
  make(0);
  st_event e = ev(ST_EV_CONNECT_ADDR, ST_EE_ENTER, 7, 0);
  remote(&e, "140.82.112.3", 443);
  e.has |= ST_HAS_REMOTE_NAME;
  snprintf(e.remote_name, sizeof e.remote_name, "api.github.com");
  put(&e);
  e.enter_exit = ST_EE_EXIT;
  e.ts_ns += 20000;
  status(&e, ST_PENDING); /* EINPROGRESS: not an end */
  put(&e);
  st_event done = ev(ST_EV_CONNECT, ST_EE_TRANSPORT, 7, 12000); /* 12 ms */
  status(&done, ST_OK);
  put(&done);
  /* A reset on an established connection counts, under its connect's remote. */
  st_event rst = ev(ST_EV_ABORT, ST_EE_TRANSPORT, 7, 50000);
  rst.has |= ST_HAS_REASON;
  rst.reason = ST_ABORT_TRANSPORT_RESET;
  put(&rst);
  char *t = render(false);
  cr_assert_eq(
      st_test_sample(t, "socktrace_connects_total{process=\"curl\",remote=\"api.github.com:443\","
                        "status=\"ok\"}"),
      1, "%s", t);
  cr_assert_eq(
      st_test_sample(t, "socktrace_connect_duration_seconds_bucket{process=\"curl\",remote=\"api."
                        "github.com:443\",le=\"0.01\"}"),
      0);
  cr_assert_eq(
      st_test_sample(t, "socktrace_connect_duration_seconds_bucket{process=\"curl\",remote=\"api."
                        "github.com:443\",le=\"0.025\"}"),
      1);
  cr_assert_eq(
      st_test_sample(t, "socktrace_resets_total{process=\"curl\",remote=\"api.github.com:443\","
                        "direction=\"in\"}"),
      1, "%s", t);
  free(t);
}

Test(metrics, dns_bytes_rtt_and_lost) {
  make(0);
  st_event e;
  st_event_init(&e, ST_PROVIDER_EXT, ST_EV_DNS_MESSAGE);
  snprintf(e.comm, sizeof e.comm, "curl");
  e.has = ST_HAS_DNS;
  e.dns.qr = 1;
  e.dns.flags = ST_DNS_RECEIVED;
  e.dns.latency_us = 3000;
  put(&e);
  e.dns.rcode = 3; /* NXDOMAIN */
  e.dns.latency_us = 40000;
  put(&e);
  e.dns.qr = 0; /* the queries themselves count with their answers */
  put(&e);
  st_event s;
  st_event_init(&s, ST_PROVIDER_EXT, ST_EV_ENDPOINT_SUMMARY);
  snprintf(s.comm, sizeof s.comm, "curl");
  s.has = ST_HAS_SUMMARY;
  remote(&s, "10.0.0.1", 80);
  s.summary.flags = ST_SUMMARY_NO_CALLS;
  s.summary.bytes_sent = 100;
  s.summary.bytes_received = 5000;
  s.summary.rtt_us = 800;
  put(&s);
  st_event l;
  st_event_init(&l, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  l.has = ST_HAS_LOST;
  l.lost.count = 17;
  l.lost.where = ST_LOST_KERNEL_RING;
  put(&l);
  char *t = render(false);
  cr_assert_eq(st_test_sample(t, "socktrace_dns_queries_total{process=\"curl\",status=\"ok\"}"), 1,
               "%s", t);
  cr_assert_eq(
      st_test_sample(t, "socktrace_dns_queries_total{process=\"curl\",status=\"not_found\"}"), 1,
      "%s", t);
  cr_assert_eq(st_test_sample(t, "socktrace_dns_duration_seconds_count{process=\"curl\"}"), 2);
  cr_assert_eq(
      st_test_sample(t, "socktrace_dns_duration_seconds_bucket{process=\"curl\",le=\"0.005\"}"), 1);
  cr_assert_eq(
      st_test_sample(t, "socktrace_sent_bytes_total{process=\"curl\",remote=\"10.0.0.1:80\"}"),
      100);
  cr_assert_eq(
      st_test_sample(t, "socktrace_received_bytes_total{process=\"curl\",remote=\"10.0.0.1:80\"}"),
      5000);
  cr_assert_eq(st_test_sample(t,
                              "socktrace_tcp_rtt_seconds_bucket{process=\"curl\",remote=\"10.0.0.1:"
                              "80\",le=\"0.001\"}"),
               1);
  cr_assert_eq(st_test_sample(t, "socktrace_events_lost_total{where=\"kernel_ring\"}"), 17, "%s",
               t);
  free(t);
}

/* More remotes than series: each counted, the rest under "other", and the
 * series stop growing. */
Test(metrics, series_are_bounded_and_the_rest_is_other) {
  make(10);
  char ip[32];
  for (unsigned i = 0; i < 5000; i++) {
    snprintf(ip, sizeof ip, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    st_event e = ev(ST_EV_CONNECT_ADDR, ST_EE_EXIT, 100 + i, i);
    remote(&e, ip, 80);
    status(&e, ST_REFUSED);
    put(&e);
    e = ev(ST_EV_CLOSE, ST_EE_EXIT, 100 + i, i);
    put(&e);
  }
  st_metrics_stats st;
  st_metrics_get_stats(sink, &st);
  /* events_total, 9 remotes, then "other". */
  cr_assert_eq(st.series, 11, "%llu", (unsigned long long)st.series);
  cr_assert_eq(st.overflowed, 5000 - 9);
  char *t = render(false);
  cr_assert_eq(
      st_test_sample(
          t, "socktrace_connects_total{process=\"other\",remote=\"other\",status=\"refused\"}"),
      5000 - 9, "%s", t);
  cr_assert_eq(
      st_test_sample(t, "socktrace_connects_total{process=\"curl\",remote=\"10.0.0.0:80\",status="
                        "\"refused\"}"),
      1);
  free(t);
}

Test(metrics, openmetrics_and_escaping) {
  make(0);
  st_event e = ev(ST_EV_CONNECT_ADDR, ST_EE_EXIT, 1, 0);
  snprintf(e.comm, sizeof e.comm, "a\"b\\c");
  remote(&e, "127.0.0.1", 1);
  status(&e, ST_REFUSED);
  put(&e);
  char *t = render(true);
  cr_assert(strstr(t, "# TYPE socktrace_connects counter\n"), "%s", t);
  cr_assert(strstr(t, "# UNIT socktrace_connect_duration_seconds seconds\n"));
  cr_assert(strstr(t, "socktrace_connects_total{process=\"a\\\"b\\\\c\",remote=\"127.0.0.1:1\","
                      "status=\"refused\"} 1\n"),
            "%s", t);
  size_t n = strlen(t);
  cr_assert(n > 6 && strcmp(t + n - 6, "# EOF\n") == 0);
  free(t);
}

/* Series of a container's process carry its name as a container label,
 * apart from the host's same process; st_metrics_each says it too. */
static void label_seen(void *arg, const st_metrics_point *p) {
  int *seen = arg;
  if (strcmp(p->name, "socktrace_connects") == 0 && p->label[3] &&
      strcmp(p->label[3], "container") == 0 && strcmp(p->value[3], "web") == 0)
    (*seen)++;
}

Test(metrics, a_containers_series_have_its_label) {
  make(0);
  refused(1, "127.0.0.1", 9); /* the host's curl */
  st_event e = ev(ST_EV_CONNECT_ADDR, ST_EE_EXIT, 2, 500);
  e.has |= ST_HAS_CONTAINER;
  snprintf(e.container.runtime, sizeof e.container.runtime, "podman");
  snprintf(e.container.name, sizeof e.container.name, "web");
  remote(&e, "127.0.0.1", 9);
  status(&e, ST_REFUSED);
  put(&e);
  char *t = render(false);
  cr_expect_eq(st_test_sample(t, "socktrace_connects_total{process=\"curl\",remote=\"127.0.0.1:9\","
                                 "status=\"refused\"}"),
               1, "%s", t);
  cr_expect_eq(st_test_sample(t, "socktrace_connects_total{process=\"curl\",remote=\"127.0.0.1:9\","
                                 "status=\"refused\",container=\"web\"}"),
               1, "%s", t);
  free(t);
  int seen = 0;
  st_metrics_each(sink, label_seen, &seen);
  cr_expect_eq(seen, 1);
}
