/* The HTML report sink without a browser (tests/html/ has the browser's
 * side): hostile strings cannot leave the JSON data element, the page is
 * whole and self-contained, the demo trace gives the same bytes every time
 * and the same tables as the summary, and large traces stay bounded. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "replay/replay.h"
#include "socktrace/sink.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"
#define DATA_OPEN "<script type=\"application/json\" id=\"st-data\">"

/* Feeds events straight into a new sink; returns the page. */
typedef struct feed {
  st_sink *sink;
  FILE *mem;
  char *out;
  size_t len;
} feed;

/* f must stay where it is: the memory stream writes to f->out. */
static void feed_new(feed *f, const st_html_options *opt) {
  memset(f, 0, sizeof *f);
  f->mem = open_memstream(&f->out, &f->len);
  cr_assert_eq(st_sink_html_new(f->mem, opt, &f->sink), 0);
  st_trace_info info = {.os = ST_OS_LINUX, .backend = ST_BACKEND_EBPF, .level = 5};
  strcpy(info.host, "host<b>");
  cr_assert_eq(f->sink->ops->begin(f->sink, &info), 0);
}

static char *feed_end(feed *f, uint64_t events) {
  st_counters c = {.seen = events, .delivered = events};
  cr_assert_eq(f->sink->ops->end(f->sink, &c), 0, "%s", f->sink->error);
  f->sink->ops->close(f->sink);
  fclose(f->mem);
  return f->out;
}

static void put(feed *f, const st_event *ev) {
  cr_assert_eq(f->sink->ops->write(f->sink, ev), 0);
}

/* The JSON inside the data element, parsed. */
static json_t *page_data(const char *page, char **raw) {
  const char *at = strstr(page, DATA_OPEN);
  cr_assert_not_null(at, "the data element is there");
  at += strlen(DATA_OPEN);
  const char *end = strstr(at, "</script>");
  cr_assert_not_null(end);
  *raw = strndup(at, (size_t)(end - at));
  json_error_t err;
  json_t *root = json_loads(*raw, 0, &err);
  cr_assert_not_null(root, "valid JSON: %s at %d", err.text, err.position);
  return root;
}

static void page_free(json_t *root, char *raw, char *page) {
  json_decref(root);
  free(raw);
  free(page);
}

static st_event sock_event(uint16_t id, uint64_t ep, uint64_t ts) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, id);
  ev.ts_ns = ts;
  ev.endpoint = ep;
  ev.pid = 7;
  ev.tid = 7;
  ev.enter_exit = ST_EE_EXIT;
  memcpy(ev.comm, "client", 6);
  return ev;
}

Test(html, hostile_strings_stay_in_the_json) {
  const char *hostile = "</script><script>alert(1)</script>";
  feed f;
  feed_new(&f, &(st_html_options){.source = "<img src=x onerror=alert(1)>.jsonl"});
  st_event ev = sock_event(ST_EV_CONNECT_ADDR, 1, 1000);
  memcpy(ev.comm, "</script><scrip", 16);
  ev.has = ST_HAS_REMOTE | ST_HAS_STATUS | ST_HAS_DETAIL | ST_HAS_CONTAINER;
  ev.remote.family = ST_FAMILY_UNIX;
  strcpy(ev.remote.path, "/run/\xe2\x80\xa8&\xe2\x80\xa9<!--.sock");
  strcpy(ev.detail, hostile);
  strcpy(ev.container.name, "<img src=x onerror=alert(1)>");
  ev.status = st_status_from_errno(111);
  put(&f, &ev);
  char *page = feed_end(&f, 1), *raw;
  json_t *root = page_data(page, &raw);
  cr_expect_null(strpbrk(raw, "<>&"), "no <, > or & in the data: %s", raw);
  cr_expect_null(strstr(raw, "\xe2\x80\xa8"), "no raw U+2028");
  cr_expect_null(strstr(raw, "\xe2\x80\xa9"), "no raw U+2029");
  cr_expect_not_null(strstr(raw, "\\u003c/script\\u003e\\u003cscrip"), "escaped as \\u003c...");
  cr_expect_not_null(strstr(raw, "/run/\\u2028\\u0026\\u2029\\u003c!--.sock"));
  int closes = 0;
  for (const char *p = page; (p = strstr(p, "</script>")); p++)
    closes++;
  cr_expect_eq(closes, 3, "only the data's and the two scripts' </script>");
  cr_expect_null(strstr(page, "<img"), "no markup from the trace anywhere");
  /* The values read back unchanged. */
  cr_expect_str_eq(json_string_value(json_object_get(root, "source")),
                   "<img src=x onerror=alert(1)>.jsonl");
  json_t *host = json_object_get(json_object_get(root, "trace"), "host");
  cr_expect_str_eq(json_string_value(host), "host<b>");
  json_t *sock = json_array_get(
      json_object_get(json_array_get(json_object_get(root, "groups"), 0), "sockets"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(sock, "who")), "</script><scrip[7]");
  json_t *fields = json_array_get(json_array_get(json_object_get(sock, "ev"), 0), 4);
  cr_expect_str_eq(json_string_value(json_object_get(fields, "detail")), hostile);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(fields, "remote"), "path")),
                   "/run/\xe2\x80\xa8&\xe2\x80\xa9<!--.sock");
  page_free(root, raw, page);
}

Test(html, the_page_is_whole_and_self_contained) {
  feed f;
  feed_new(&f, NULL);
  st_event ev = sock_event(ST_EV_CREATE, 1, 1000);
  put(&f, &ev);
  char *page = feed_end(&f, 1);
  cr_expect(strncmp(page, "<!DOCTYPE html>", 15) == 0);
  cr_expect_not_null(strstr(page, "</html>"));
  cr_expect_null(strstr(page, "@@ST_"), "every part filled in");
  cr_expect_not_null(strstr(page, "Content-Security-Policy\" content=\"default-src 'none'"));
  cr_expect_not_null(strstr(page, "--fail: #d62728"), "the CSS is inlined");
  cr_expect_not_null(strstr(page, "window.stPage = {"), "the first script is inlined");
  cr_expect_not_null(strstr(page, "window.stReport = {"), "the timeline's script is inlined");
  cr_expect_null(strstr(page, "innerHTML"), "values go in with textContent");
  cr_expect_null(strstr(page, "src=\""), "nothing to load");
  cr_expect_null(strstr(page, "href=\"http"), "no link out");
  cr_expect_null(strstr(page, "@import"));
  free(page);
}

/* The demo trace's events, parsed as the JSONL replay parses them. */
static char *demo_page(void) {
  char *text = st_test_read_file(DEMO, NULL), *save = NULL, err[200];
  cr_assert_not_null(text);
  feed f;
  feed_new(&f, &(st_html_options){.source = "demo.jsonl"});
  uint64_t n = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    st_event ev;
    int rc = st_event_from_json(line, &ev, err, sizeof err);
    cr_assert_geq(rc, 0, "%s", err);
    if (rc == 0)
      put(&f, &ev), n++;
  }
  free(text);
  return feed_end(&f, n);
}

Test(html, demo_is_deterministic_and_counts_like_the_summary) {
  char *a = demo_page(), *b = demo_page(), *raw;
  cr_expect_str_eq(a, b, "the same trace gives the same bytes");
  json_t *root = page_data(a, &raw);
  json_t *totals = json_object_get(root, "totals");
  cr_expect_eq(json_integer_value(json_object_get(totals, "events")), 47);
  cr_expect_eq(json_integer_value(json_object_get(totals, "embedded")), 47);
  cr_expect_eq(json_integer_value(json_object_get(totals, "sockets")), 8);
  cr_expect_eq(json_integer_value(json_object_get(totals, "hidden_sockets")), 0);
  cr_expect_eq(json_integer_value(json_object_get(root, "span_ns")), 2787000);
  /* The summary's rows: curl[4242] 3 connects, 2 ok, 1 refused, 9 sent. */
  json_t *curl = json_array_get(json_object_get(root, "procs"), 0);
  cr_expect_str_eq(json_string_value(json_array_get(curl, 0)), "curl[4242]");
  long long want[] = {4242, 3, 2, 1, 0, 0, 9, 6, 0, 1};
  for (size_t i = 0; i < 10; i++)
    cr_expect_eq(json_integer_value(json_array_get(curl, i + 1)), want[i], "column %zu", i + 1);
  cr_expect_str_eq(json_string_value(json_array_get(curl, 11)), "refused 1");
  /* 127.0.0.1:51000, the DNS client's own port, folds into 127.0.0.1:*. */
  cr_expect_eq(json_array_size(json_object_get(root, "remotes")), 4);
  cr_expect_eq(json_array_size(json_object_get(root, "ipc")), 0);
  cr_expect_eq(json_array_size(json_object_get(root, "longest")), 5);
  /* Groups in the summary's order; the refused socket first in curl's. */
  json_t *groups = json_object_get(root, "groups");
  cr_assert_eq(json_array_size(groups), 3);
  const char *procs[] = {"curl[4242]", "demo-server[4300]", "dig[4400]"};
  for (size_t i = 0; i < 3; i++)
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(groups, i), "proc")),
                     procs[i]);
  json_t *s101 = json_array_get(json_object_get(json_array_get(groups, 0), "sockets"), 0);
  cr_expect_str_eq(json_string_value(json_object_get(s101, "ep")), "0x101");
  cr_expect_str_eq(json_string_value(json_object_get(s101, "worst")), "fail");
  cr_expect_str_eq(json_string_value(json_object_get(s101, "heading")),
                   "ep=0x101 curl[4242] tcp 127.0.0.1:40000 -> 127.0.0.1:9, from 19:21:13.101030");
  json_t *refused = json_array_get(json_object_get(s101, "ev"), 2);
  cr_expect_str_eq(json_string_value(json_array_get(refused, 1)), "fail");
  cr_expect_str_eq(json_string_value(json_array_get(refused, 3)),
                   "+0.000075s  AfdConnectWithAddress exit ep=0x101 127.0.0.1:40000 -> "
                   "127.0.0.1:9 status=refused (ECONNREFUSED / WSAECONNREFUSED)");
  json_decref(root);
  free(raw);
  free(a);
  free(b);
}

Test(html, many_sockets_fold_into_a_row_per_process) {
  feed f;
  feed_new(&f, &(st_html_options){.max_sockets = 100, .max_events = 250});
  uint64_t n = 0;
  for (uint64_t ep = 1; ep <= 5000; ep++) {
    st_event ev = sock_event(ST_EV_CREATE, ep, ep * 1000);
    put(&f, &ev), n++;
    ev = sock_event(ST_EV_CONNECT_ADDR, ep, ep * 1000 + 10);
    ev.has = ST_HAS_STATUS;
    ev.status = st_status_from_errno(ep % 100 == 0 ? 111 : 0);
    put(&f, &ev), n++;
    ev = sock_event(ST_EV_CLOSE, ep, ep * 1000 + (ep == 4321 ? 900000 : 20));
    put(&f, &ev), n++;
  }
  char *page = feed_end(&f, n), *raw;
  json_t *root = page_data(page, &raw);
  json_t *totals = json_object_get(root, "totals");
  cr_expect_eq(json_integer_value(json_object_get(totals, "sockets")), 5000);
  cr_expect_eq(json_integer_value(json_object_get(totals, "hidden_sockets")), 4900);
  cr_expect_leq(json_integer_value(json_object_get(totals, "embedded")), 250);
  json_t *group = json_array_get(json_object_get(root, "groups"), 0);
  json_t *hidden = json_object_get(group, "hidden");
  cr_expect_eq(json_integer_value(json_object_get(hidden, "sockets")), 4900);
  cr_expect_eq(json_integer_value(json_object_get(hidden, "events")), 4900 * 3);
  /* The 50 refused sockets stay, then the longest-lived, then the first. */
  json_t *socks = json_object_get(group, "sockets");
  cr_assert_eq(json_array_size(socks), 100);
  size_t failed = 0, i;
  bool long_one = false;
  json_t *s;
  json_array_foreach(socks, i, s) {
    failed += strcmp(json_string_value(json_object_get(s, "worst")), "fail") == 0;
    long_one |= strcmp(json_string_value(json_object_get(s, "ep")), "0x10e1") == 0;
    cr_expect_leq(json_array_size(json_object_get(s, "ev")), 3);
  }
  cr_expect_eq(failed, 50, "every refused socket is drawn");
  cr_expect(long_one, "the longest-lived socket is drawn");
  page_free(root, raw, page);
}

Test(html, a_long_socket_keeps_its_start_end_and_failures) {
  feed f;
  feed_new(&f, NULL);
  uint64_t n = 10000;
  for (uint64_t i = 0; i < n; i++) {
    st_event ev = sock_event(i + 1 == n ? ST_EV_CLOSE : ST_EV_SEND, 1, 1000 + i);
    ev.has = ST_HAS_BYTES | ST_HAS_STATUS;
    ev.bytes = 10;
    ev.status = st_status_from_errno(i == 5000 ? 104 : 0);
    put(&f, &ev);
  }
  char *page = feed_end(&f, n), *raw;
  json_t *root = page_data(page, &raw);
  json_t *sock = json_array_get(
      json_object_get(json_array_get(json_object_get(root, "groups"), 0), "sockets"), 0);
  json_t *ev = json_object_get(sock, "ev");
  cr_expect_eq(json_integer_value(json_object_get(sock, "n")), (json_int_t)n);
  cr_expect_eq(json_array_size(ev), 32 + 1 + 16, "the first 32, the reset, the last 16");
  cr_expect_eq(json_integer_value(json_array_get(json_array_get(ev, 31), 2)), 31);
  json_t *reset = json_array_get(ev, 32);
  cr_expect_eq(json_integer_value(json_array_get(reset, 2)), 5000);
  cr_expect_str_eq(json_string_value(json_array_get(reset, 1)), "reset");
  json_t *last = json_array_get(ev, 48);
  cr_expect_eq(json_integer_value(json_array_get(last, 2)), (json_int_t)n - 1);
  cr_expect_not_null(strstr(json_string_value(json_array_get(last, 3)), "AfdClose"));
  cr_expect_eq(json_integer_value(json_object_get(sock, "t1")), (json_int_t)n - 1);
  /* The sends still count in full in the tables. */
  json_t *proc = json_array_get(json_object_get(root, "procs"), 0);
  cr_expect_eq(json_integer_value(json_array_get(proc, 7)), (json_int_t)(n - 2) * 10);
  page_free(root, raw, page);
}

Test(html, a_write_error_is_one_clear_error) {
  FILE *full = fopen("/dev/full", "w");
  cr_assert_not_null(full);
  st_sink *sink;
  cr_assert_eq(st_sink_html_new(full, NULL, &sink), 0);
  st_event ev = sock_event(ST_EV_CREATE, 1, 1000);
  cr_assert_eq(sink->ops->write(sink, &ev), 0);
  st_counters c = {.seen = 1, .delivered = 1};
  cr_expect_eq(sink->ops->end(sink, &c), ST_EIO);
  cr_expect_not_null(strstr(sink->error, "cannot write the HTML report: no space left on device"),
                     "%s", sink->error);
  sink->ops->close(sink);
  fclose(full);
}

Test(html, losses_are_kept_with_their_time_range) {
  feed f;
  feed_new(&f, NULL);
  st_event ev = sock_event(ST_EV_CREATE, 1, 5000);
  put(&f, &ev);
  st_event lost;
  st_event_init(&lost, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  lost.ts_ns = 6000;
  lost.has = ST_HAS_LOST;
  lost.lost = (st_lost){.count = 9, .where = ST_LOST_KERNEL_RING, .from_ns = 1000, .to_ns = 6000};
  put(&f, &lost);
  char *page = feed_end(&f, 2), *raw;
  json_t *root = page_data(page, &raw);
  json_t *loss = json_array_get(json_object_get(root, "losses"), 0);
  cr_expect_eq(json_integer_value(json_object_get(loss, "t0")), -4000, "before the first event");
  cr_expect_eq(json_integer_value(json_object_get(loss, "t1")), 1000);
  cr_expect_eq(json_integer_value(json_object_get(loss, "count")), 9);
  cr_expect_str_eq(json_string_value(json_object_get(loss, "where")), "kernel_ring");
  /* The loss record is the socket-less row's, listed last. */
  json_t *groups = json_object_get(root, "groups");
  json_t *last = json_array_get(groups, json_array_size(groups) - 1);
  cr_expect_str_eq(json_string_value(json_object_get(last, "proc")), "(not tied to a socket)");
  cr_expect(json_is_null(json_object_get(last, "pid")));
  page_free(root, raw, page);
}

/* The latency table's data: the summary's percentiles, in ns, on the trace
 * with known times (tests/fixtures/latency.jsonl). */
Test(html, latency_rows_match_the_summary) {
  st_cli_result r =
      st_test_cli("report " ST_SOURCE_DIR "/tests/fixtures/latency.jsonl -f html -o -");
  cr_assert_eq(r.code, 0, "%s", r.err);
  char *raw;
  json_t *root = page_data(r.out, &raw);
  json_t *lat = json_object_get(root, "latency");
  cr_assert_eq(json_array_size(lat), 5);
  static const struct {
    const char *of, *by, *key;
    long long n, p50, p90, p99, max;
  } want[] = {
      {"connect", "process", "web", 11, 6000000, 10000000, 100000000, 100000000},
      {"connect", "remote", "10.0.0.5:5432", 10, 5000000, 9000000, 10000000, 10000000},
      {"connect", "remote", "10.0.0.6:80", 1, 100000000, 100000000, 100000000, 100000000},
      {"dns", "process", "web", 4, 4000000, 8000000, 8000000, 8000000},
      {"dns", "name", "db.example", 4, 4000000, 8000000, 8000000, 8000000},
  };
  for (size_t i = 0; i < 5; i++) {
    json_t *row = json_array_get(lat, i);
    cr_expect_str_eq(json_string_value(json_array_get(row, 0)), want[i].of);
    cr_expect_str_eq(json_string_value(json_array_get(row, 1)), want[i].by);
    cr_expect_str_eq(json_string_value(json_array_get(row, 2)), want[i].key);
    long long v[] = {want[i].n, want[i].p50, want[i].p90, want[i].p99, want[i].max};
    for (size_t j = 0; j < 5; j++)
      cr_expect_eq(json_integer_value(json_array_get(row, j + 3)), v[j], "row %zu col %zu", i,
                   j + 3);
  }
  json_decref(root);
  free(raw);
  st_cli_result_free(&r);
}

/* The By container table's rows: only when an event had a container. */
static json_t *containers_of(bool in_container, json_t **root, char **raw, char **page) {
  feed f;
  feed_new(&f, NULL);
  st_event ev = sock_event(ST_EV_CONNECT_ADDR, 1, 1000);
  ev.has = ST_HAS_REMOTE | ST_HAS_STATUS;
  st_addr_parse_ip("127.0.0.1", &ev.remote);
  ev.remote.port = 9;
  ev.status = st_status_from_errno(111);
  if (in_container) {
    ev.has |= ST_HAS_CONTAINER;
    ev.container = (st_container){"podman", "abc", "web", "", ""};
  }
  put(&f, &ev);
  *page = feed_end(&f, 1);
  *root = page_data(*page, raw);
  json_t *rows = json_object_get(*root, "containers");
  cr_assert(json_is_array(rows));
  return rows;
}

Test(html, a_by_container_table_when_events_had_containers) {
  json_t *root;
  char *raw, *page;
  json_t *rows = containers_of(true, &root, &raw, &page);
  cr_assert_eq(json_array_size(rows), 1);
  cr_expect_str_eq(json_string_value(json_array_get(json_array_get(rows, 0), 0)), "web");
  cr_expect_eq(json_integer_value(json_array_get(json_array_get(rows, 0), 4)), 1, "failed 1");
  cr_expect_not_null(strstr(page, "id=\"by-container-part\" hidden"), "shown by the script");
  page_free(root, raw, page);
  rows = containers_of(false, &root, &raw, &page);
  cr_expect_eq(json_array_size(rows), 0);
  page_free(root, raw, page);
}
