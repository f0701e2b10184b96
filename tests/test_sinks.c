/* Sink formatting details the fixtures do not reach: JSON escaping, every
 * optional field's JSON form and its replay back, colour on request. */
#include <criterion/criterion.h>
#include <string.h>

#include "socktrace/sink.h"

static st_event full_event(void) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.ts_ns = 1795634473123456789ull;
  ev.enter_exit = 1;
  ev.seq = 42;
  ev.os = ST_OS_LINUX;
  ev.backend = ST_BACKEND_EBPF;
  ev.pid = 1234;
  ev.tid = 1235;
  memcpy(ev.comm, "we\"ird\\na\tme", 12);
  ev.endpoint = 0x1a2;
  ev.keywords = 0x6;
  ev.has = ST_HAS_FAMILY | ST_HAS_TYPE | ST_HAS_PROTOCOL | ST_HAS_LOCAL | ST_HAS_REMOTE |
           ST_HAS_STATUS | ST_HAS_PPID | ST_HAS_NETNS | ST_HAS_CGROUP | ST_HAS_CONTAINER |
           ST_HAS_DETAIL | ST_HAS_BYTES | ST_HAS_BUFFERS | ST_HAS_BACKLOG | ST_HAS_REASON |
           ST_HAS_OPTION | ST_HAS_STATE | ST_HAS_ACCEPT_EP | ST_HAS_LEGACY_ID;
  ev.family = ST_FAMILY_INET6;
  ev.type = ST_TYPE_STREAM;
  ev.protocol = 6;
  st_addr_parse_ip("2001:db8::1", &ev.local);
  ev.local.port = 40000;
  ev.remote.family = ST_FAMILY_UNIX;
  strcpy(ev.remote.path, "/run/x\x01.sock");
  ev.status = st_status_from_errno(111);
  ev.ppid = 1;
  ev.netns = 4026531840u;
  ev.cgroup = 77;
  strcpy(ev.container.runtime, "podman");
  strcpy(ev.container.id, "2f7b6f0588f7562b6e21a8241e6ddbd5fd40e79762b57a4476d71a0f27036eca");
  strcpy(ev.container.name, "ci-runner");
  strcpy(ev.container.pod, "web-0");
  strcpy(ev.container.ns, "prod");
  strcpy(ev.detail, "line\nbreak");
  ev.bytes = 5;
  ev.buffers = 1;
  ev.backlog = 3;
  ev.reason = 4;
  ev.option = 2;
  ev.value = 1;
  ev.old_state = ST_TCP_SYN_SENT;
  ev.new_state = ST_TCP_CLOSE;
  ev.accept_endpoint = 0x99;
  ev.legacy_id = 7;
  ev.flags = ST_FLAG_PREEXISTING;
  return ev;
}

Test(sinks, json_escapes_and_fields) {
  st_event ev = full_event();
  char buf[4096];
  int n = st_event_to_json(&ev, buf, sizeof buf);
  cr_assert_lt(n, (int)sizeof buf);
  cr_expect_not_null(strstr(buf, "\"comm\":\"we\\\"ird\\\\na\\tme\""), "%s", buf);
  cr_expect_not_null(strstr(buf, "\"remote\":{\"path\":\"/run/x\\u0001.sock\"}"), "%s", buf);
  cr_expect_not_null(strstr(buf, "\"local\":{\"addr\":\"2001:db8::1\",\"port\":40000}"));
  cr_expect_not_null(strstr(buf, "\"ts\":\"2026-11-25T19:21:13.123456789Z\""), "%s", buf);
  cr_expect_not_null(strstr(buf, "\"endpoint\":\"0x00000000000001a2\""));
  cr_expect_not_null(strstr(buf, "\"status\":\"refused\",\"status_native\":111,"
                                 "\"status_domain\":\"errno\",\"status_native_name\":"
                                 "\"ECONNREFUSED\",\"status_windows_name\":\"WSAECONNREFUSED\""));
  cr_expect_not_null(strstr(buf, "\"detail\":\"line\\nbreak\""));
  cr_expect_not_null(strstr(buf, "\"preexisting\":true"));
  cr_expect_null(strstr(buf, "null"));
}

Test(sinks, json_round_trips_every_field) {
  st_event ev = full_event(), back;
  char buf[4096], again[4096], err[200];
  st_event_to_json(&ev, buf, sizeof buf);
  cr_assert_eq(st_event_from_json(buf, &back, err, sizeof err), 0, "%s", err);
  st_event_to_json(&back, again, sizeof again);
  cr_expect_str_eq(again, buf);
  cr_expect_eq(back.ts_ns, ev.ts_ns);
  cr_expect_eq(back.has, ev.has);
  cr_expect_eq(back.flags, ev.flags);
  cr_expect_str_eq(back.comm, "we\"ird\\na\tme");

  st_event lost;
  st_event_init(&lost, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  lost.has = ST_HAS_LOST;
  lost.lost = (st_lost){.count = 9, .where = ST_LOST_KERNEL_RING, .from_ns = 1, .to_ns = 2};
  st_event_to_json(&lost, buf, sizeof buf);
  cr_expect_not_null(
      strstr(buf, "\"count\":9,\"where\":\"kernel_ring\",\"from_ns\":1,\"to_ns\":2"));
  cr_assert_eq(st_event_from_json(buf, &back, err, sizeof err), 0);
  cr_expect_eq(back.lost.count, 9);
  cr_expect_eq(back.lost.where, ST_LOST_KERNEL_RING);

  st_event dns;
  st_event_init(&dns, ST_PROVIDER_EXT, ST_EV_DNS_MESSAGE);
  dns.has = ST_HAS_DNS;
  dns.dns = (st_dns){.id = 0x1234, .qr = 1, .rcode = 3, .qtype = 1, .answers = 0};
  strcpy(dns.dns.qname, "nx.example");
  st_event_to_json(&dns, buf, sizeof buf);
  cr_assert_eq(st_event_from_json(buf, &back, err, sizeof err), 0);
  st_event_to_json(&back, again, sizeof again);
  cr_expect_str_eq(again, buf);

  /* A summary whose calls were not counted (TCP at level 4) has no sends or
   * receives at all, and its RTT when known. */
  st_event sum;
  st_event_init(&sum, ST_PROVIDER_EXT, ST_EV_ENDPOINT_SUMMARY);
  sum.has = ST_HAS_SUMMARY;
  sum.summary.bytes_sent = 5;
  sum.summary.flags = ST_SUMMARY_NO_CALLS;
  sum.summary.rtt_us = 250;
  st_event_to_json(&sum, buf, sizeof buf);
  cr_expect_null(strstr(buf, "\"sends\""), "%s", buf);
  cr_expect_null(strstr(buf, "\"receives\""), "%s", buf);
  cr_expect_not_null(strstr(buf, "\"rtt_us\":250"), "%s", buf);
  cr_assert_eq(st_event_from_json(buf, &back, err, sizeof err), 0);
  cr_expect_eq(back.summary.flags, ST_SUMMARY_NO_CALLS);
  cr_expect_eq(back.summary.rtt_us, 250);
  st_event_to_json(&back, again, sizeof again);
  cr_expect_str_eq(again, buf);
  st_event_to_text(&sum, &(st_text_options){0}, buf, sizeof buf);
  cr_expect_not_null(strstr(buf, "sent=5B recv=0B retrans=0 rtt=0.250ms"), "%s", buf);
}

Test(sinks, text_colour_only_when_asked) {
  st_event ev = full_event();
  char plain[2048], colour[2048];
  st_text_options on = {.color = true};
  st_event_to_text(&ev, NULL, plain, sizeof plain);
  st_event_to_text(&ev, &on, colour, sizeof colour);
  cr_expect_null(strchr(plain, '\x1b'));
  cr_expect_not_null(strstr(colour, "\x1b[31mAfdConnectWithAddress"), "failures are red");
  cr_expect_not_null(strstr(plain, "status=refused (ECONNREFUSED / WSAECONNREFUSED)"));
  cr_expect_not_null(strstr(plain, "[2001:db8::1]:40000 -> /run/x"));
  cr_expect_not_null(strstr(plain, "(pre-existing)"));
}

Test(sinks, text_names_the_unix_family_plainly) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CREATE);
  ev.has = ST_HAS_FAMILY | ST_HAS_TYPE | ST_HAS_PROTOCOL;
  ev.family = ST_FAMILY_UNIX;
  ev.type = ST_TYPE_STREAM;
  ev.protocol = 0;
  char buf[512];
  st_event_to_text(&ev, NULL, buf, sizeof buf);
  cr_expect_not_null(strstr(buf, "AfdCreate enter unix stream"), "%s", buf);
  cr_expect_null(strstr(buf, "ip/unix"), "%s", buf);
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.enter_exit = ST_EE_EXIT;
  ev.has = ST_HAS_REMOTE | ST_HAS_STATUS;
  ev.remote.family = ST_FAMILY_UNIX;
  strcpy(ev.remote.path, "/var/run/nscd/socket");
  ev.status = st_status_from_errno(-2);
  st_event_to_text(&ev, NULL, buf, sizeof buf);
  cr_expect_not_null(
      strstr(buf, "/var/run/nscd/socket status=not_found (ENOENT / ERROR_FILE_NOT_FOUND)"), "%s",
      buf);
}

Test(sinks, wire_events_say_so) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.os = ST_OS_WIRE;
  char buf[512];
  st_event_to_text(&ev, NULL, buf, sizeof buf);
  cr_expect_not_null(strstr(buf, " (wire) AfdConnectWithAddress"), "%s", buf);
  st_event_to_json(&ev, buf, sizeof buf);
  cr_expect_null(strstr(buf, "\"pid\""), "no invented pid: %s", buf);
}

/* A long trace: the summary forgets closed sockets after a while (memory
 * stays bounded) but still ranks the longest-lived ones it forgot. */
static void sock_event(st_sink *s, uint16_t id, uint64_t ep, uint64_t ts) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, id);
  ev.ts_ns = ts;
  ev.endpoint = ep;
  ev.pid = 7;
  memcpy(ev.comm, "client", 7);
  if (id == ST_EV_CONNECT_ADDR) {
    ev.enter_exit = ST_EE_EXIT;
    ev.has = ST_HAS_LOCAL | ST_HAS_REMOTE | ST_HAS_STATUS;
    st_addr_parse_ip("10.0.0.1", &ev.local);
    ev.local.port = (uint16_t)(1024 + ep % 60000);
    st_addr_parse_ip("10.0.0.2", &ev.remote);
    ev.remote.port = 443;
    ev.status = st_status_from_errno(0);
  }
  cr_assert_eq(s->ops->write(s, &ev), 0);
}

Test(sinks, summary_forgets_closed_sockets_but_keeps_the_longest) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  st_summary_options opt = {.longest = true, .longest_max = 3};
  st_sink *s;
  cr_assert_eq(st_sink_summary_new_opts(mem, &opt, &s), 0);
  for (uint64_t ep = 1; ep <= 10000; ep++) {
    uint64_t start = ep * 1000000, life = 1000;
    if (ep == 17)
      life = 5000000000ull;
    else if (ep == 4242)
      life = 7000000000ull;
    else if (ep == 9999)
      life = 6000000000ull;
    sock_event(s, ST_EV_CONNECT_ADDR, ep, start);
    sock_event(s, ST_EV_CLOSE, ep, start + life);
  }
  st_counters c = {.seen = 20000, .delivered = 20000};
  cr_assert_eq(s->ops->end(s, &c), 0);
  s->ops->close(s);
  fclose(mem);
  char *a = strstr(out, "0x1092 "), *b = strstr(out, "0x270f "), *d = strstr(out, "0x11 ");
  cr_assert(a && b && d, "the three longest, two of them long forgotten:\n%s", out);
  cr_expect(a < b && b < d, "ordered by lifetime:\n%s", out);
  cr_expect_not_null(strstr(out, "7000.000ms"));
  cr_expect_not_null(strstr(out, "client      1     10000  10000"), "%s", out);
  free(out);
}

/* Catalog changes get a table of their own, in order, with "(unknown)" for
 * a change whose process is not known; a trace without any has no table. */
static void catalog_event(st_sink *s, uint16_t id, uint32_t pid, const char *comm,
                          const char *detail) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_CATALOG, id);
  ev.ts_ns = 1795634473000000000ull + id;
  ev.keywords = ST_KW_CATALOG;
  ev.pid = ev.tid = pid;
  snprintf(ev.comm, sizeof ev.comm, "%s", comm);
  ev.has = ST_HAS_DETAIL;
  snprintf(ev.detail, sizeof ev.detail, "%s", detail);
  cr_assert_eq(s->ops->write(s, &ev), 0);
}

static char *summary_of(bool with_catalog) {
  char *out = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&out, &len);
  st_sink *s;
  cr_assert_eq(st_sink_summary_new(mem, &s), 0);
  sock_event(s, ST_EV_CONNECT_ADDR, 1, 1000);
  if (with_catalog) {
    catalog_event(s, ST_EV_CAT_LSP_INSTALLED, 42, "bpftool",
                  "cgroup/connect4 prog=57 name=mesh tag=8a3f2b1c0d9e8f7a multi cgroup=/a");
    catalog_event(s, ST_EV_CAT_LSP_REMOVED, 0, "",
                  "cgroup/connect4 prog=58 name=mesh tag=8a3f2b1c0d9e8f7a link=3 (released: last "
                  "fd closed) cgroup=/a");
  }
  st_counters c = {.seen = 3, .delivered = 3};
  cr_assert_eq(s->ops->end(s, &c), 0);
  s->ops->close(s);
  fclose(mem);
  return out;
}

Test(sinks, summary_lists_catalog_changes) {
  char *out = summary_of(true);
  const char *t = strstr(out, "\nCatalog changes\n");
  cr_assert_not_null(t, "%s", out);
  const char *a = strstr(t, " bpftool[42] "), *b = strstr(t, " (unknown) ");
  cr_assert(a && b && a < b, "%s", out);
  cr_expect_not_null(strstr(a, "LspInstalled  cgroup/connect4 prog=57 name=mesh"), "%s", out);
  cr_expect_not_null(strstr(b, "LspRemoved    cgroup/connect4 prog=58 name=mesh"), "%s", out);
  cr_expect_not_null(strstr(out, "\n  client "), "the socket tables are still there: %s", out);
  free(out);
  out = summary_of(false);
  cr_expect_null(strstr(out, "Catalog changes"), "%s", out);
  free(out);
}

/* Every text sink reports a full disk the one way (st_out): one line
 * naming what could not be written and why, and ST_EIO. */
Test(sinks, full_disk_is_one_clear_error_in_every_text_sink) {
  static const struct {
    const char *what;
    int kind;
  } sinks[] = {{"text output", 0},      {"JSON output", 1}, {"CSV output", 2},
               {"the Chrome trace", 3}, {"the summary", 4}, {"the timeline", 5}};
  for (size_t i = 0; i < sizeof sinks / sizeof sinks[0]; i++) {
    FILE *full = fopen("/dev/full", "w");
    cr_assert_not_null(full);
    /* Event sinks fail at their write, unbuffered; the summary and the
     * timeline print at the end and fail at their flush. */
    if (sinks[i].kind < 4)
      setvbuf(full, NULL, _IONBF, 0);
    st_sink *s = NULL;
    switch (sinks[i].kind) {
    case 0:
      st_sink_text_new(full, NULL, &s);
      break;
    case 1:
      st_sink_jsonl_new(full, &s);
      break;
    case 2:
      st_sink_csv_new(full, &s);
      break;
    case 3:
      st_sink_chrome_new(full, &s);
      break;
    case 4:
      st_sink_summary_new(full, &s);
      break;
    default:
      st_sink_timeline_new(full, &s);
      break;
    }
    cr_assert_not_null(s);
    st_trace_info info = {.host = "h"};
    st_event ev = full_event();
    st_counters c = {0};
    int rc = s->ops->begin ? s->ops->begin(s, &info) : 0;
    if (rc == 0)
      rc = s->ops->write(s, &ev);
    if (rc == 0 && s->ops->flush)
      rc = s->ops->flush(s);
    if (rc == 0 && s->ops->end)
      rc = s->ops->end(s, &c);
    cr_expect_eq(rc, ST_EIO, "%s", sinks[i].what);
    char want[128];
    snprintf(want, sizeof want, "cannot write %s: no space left on device", sinks[i].what);
    cr_expect(strncmp(s->error, want, strlen(want)) == 0, "%s", s->error);
    cr_expect_null(strchr(s->error, '\n'), "one line: %s", s->error);
    s->ops->close(s);
    fclose(full);
  }
}
