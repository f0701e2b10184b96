/*
 * Every real capture in shared/fixtures/pcap, replayed through a session
 * with the pcap backend, compared with EXPECTED.json (TShark's view of the
 * same files, computed independently). Nothing is hard-coded per file: the
 * expected numbers are read at test time.
 *
 * How TShark's counts map onto socktrace's events:
 *  - connects: streams with a SYN from A and a SYN-ACK from B -> one
 *    AfdConnect ok (1017) each; every stream with a SYN -> one
 *    AfdConnectWithAddress (1018) at the SYN's exact time;
 *  - refused (outcome "refused") -> 1017 refused; SYN never answered ->
 *    1017 timed_out at the end of the capture;
 *  - ICMP errors whose quoted datagram is in the capture (answers_frame
 *    set) -> one failure event on that flow with the ICMP code's status;
 *    those quoting a UDP flow not in the capture (answers_frame null) ->
 *    the same failure on a flow of the quoted 4-tuple picked up mid-stream
 *    (counted in the tracker's icmp_unmatched); so socktrace has one more
 *    UDP flow than TShark's conversations for each such 4-tuple, which
 *    TShark's tables leave out (they do not count quoted headers);
 *  - resets after establishment -> one AfdAbort (1032) on the receiver;
 *  - FINs -> one AfdDisconnect (3006) per direction; both -> AfdCleanup;
 *  - tcp.analysis.retransmission -> TcpRetransmit (5001), one per frame;
 *  - TCP/UDP conversations -> flows (distinct endpoints), UDP frames per
 *    direction -> AfdSendToWithAddress (1007) per direction;
 *  - unicast DNS (port 53) -> DnsMessage (5200), in frame order.
 * Deliberate differences are explained where they are asserted.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <string.h>

#include "pcap_backend.h"
#include "pcap_testutil.h"

/* The fixture files; test_every_fixture_is_listed keeps this in step with
 * the directory and EXPECTED.json. */
static const char *const FIXTURES[] = {
    "web.pcap",
    "irc-353.pcap",
    "ftp_ipv6.pcap",
    "http_curl_http_09.pcap",
    "socks.pcap",
    "tcp_retransmit-fast009.pcap",
    "tcp_fin_retransmission.pcap",
    "smb_smb_v2_only_non_zero_reserved1.pcap",
    "communityid_icmp6.pcap",
    "conn-size.pcap",
    "wikipedia.pcap",
    "dns_tcp.pcap",
    "ipv6-fragmented-dns.pcap",
    "dns_ech.pcap",
    "pcapng-multi-interface.pcapng",
    "smb_smb2-zero-byte-error-ioctl.pcapng",
    "tcp-handshake-nano.pcap",
    "ospf.pcap",
};
#define NFIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

static json_t *load_expected(void) {
  json_error_t jerr;
  json_t *root = json_load_file(st_test_fixture("pcap/EXPECTED.json"), 0, &jerr);
  cr_assert(root, "EXPECTED.json: %s (line %d)", jerr.text, jerr.line);
  return root;
}

static int jint(const json_t *o, const char *key) {
  return (int)json_integer_value(json_object_get(o, key));
}

static const char *jstr(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

static int outcome(const json_t *x, const char *name) {
  return jint(json_object_get(x, "tcp_stream_outcomes"), name);
}

/* The events of the flow between a and b, from a's side (local == a). */
static size_t count_from(const st_event *ev, size_t n, uint16_t id, const char *a, int ap,
                         const char *b, int bp) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ev[i].id == id && pcap_test_ev_is(&ev[i], a, ap, b, bp);
  return c;
}

static const st_event *find_from(const st_event *ev, size_t n, uint16_t id, const char *a, int ap,
                                 const char *b, int bp) {
  for (size_t i = 0; i < n; i++)
    if (ev[i].id == id && pcap_test_ev_is(&ev[i], a, ap, b, bp))
      return &ev[i];
  return NULL;
}

static size_t distinct_flows(const st_event *ev, size_t n, uint16_t protocol) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    if (ev[i].protocol != protocol || !(ev[i].has & ST_HAS_PROTOCOL))
      continue;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = ev[j].protocol == protocol && (ev[j].endpoint >> 1) == (ev[i].endpoint >> 1);
    c += !seen;
  }
  return c;
}

static bool is_icmp_failure(const st_event *e) {
  return (e->has & ST_HAS_DETAIL) && strncmp(e->detail, "ICMP", 4) == 0;
}

/* Linux's mapping, as the backend documents it. */
static st_code icmp_code_status(bool v6, int code) {
  if (v6)
    return code == 0 ? ST_NET_UNREACHABLE : code == 4 ? ST_REFUSED : ST_HOST_UNREACHABLE;
  return code == 3 ? ST_REFUSED : code == 0 ? ST_NET_UNREACHABLE : ST_HOST_UNREACHABLE;
}

static void check_common_fields(const char *name, const st_event *ev, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const st_event *e = &ev[i];
    cr_expect_eq(e->os, ST_OS_WIRE, "%s: event %zu os", name, i);
    cr_expect_eq(e->backend, ST_BACKEND_PCAP, "%s: event %zu backend", name, i);
    cr_expect_eq(e->pid, 0, "%s: a wire event never has a pid", name);
    cr_expect_eq(e->comm[0], 0, "%s: a wire event never has a comm", name);
    cr_expect(e->endpoint != 0, "%s: event %zu has an endpoint", name, i);
    if (i)
      cr_expect_geq(e->ts_ns, ev[i - 1].ts_ns, "%s: events in time order (%zu)", name, i);
    /* Endpoint identity: one endpoint, one (local, remote) pair. */
    for (size_t j = 0; j < i; j++) {
      if (ev[j].endpoint != e->endpoint)
        continue;
      cr_expect(memcmp(&ev[j].local, &e->local, sizeof e->local) == 0 &&
                    memcmp(&ev[j].remote, &e->remote, sizeof e->remote) == 0,
                "%s: endpoint 0x%llx keeps its addresses", name, (unsigned long long)e->endpoint);
      break;
    }
  }
}

static void check_tcp(const char *name, const json_t *x, const st_event *ev, size_t n) {
  const json_t *streams = json_object_get(x, "tcp_streams");
  size_t i;
  const json_t *s;
  size_t syns = 0, handshakes = 0, disconnects = 0;
  json_array_foreach(streams, i, s) {
    const char *a = jstr(s, "a_addr"), *b = jstr(s, "b_addr");
    int ap = jint(s, "a_port"), bp = jint(s, "b_port");
    const char *oc = jstr(s, "outcome");
    bool syn = jint(s, "syn_a") > 0, synack = jint(s, "synack_b") > 0;
    syns += syn;
    handshakes += syn && synack;
    if (syn) {
      /* The connect request carries the SYN's own time, to the ns. */
      const st_event *c = find_from(ev, n, ST_EV_CONNECT_ADDR, a, ap, b, bp);
      cr_expect(c, "%s: stream %zu has its AfdConnectWithAddress", name, i);
      if (c) {
        cr_expect_eq(c->ts_ns, pcap_test_parse_epoch(jstr(s, "first_time_epoch")),
                     "%s: stream %zu connect time", name, i);
        cr_expect_eq(c->enter_exit, ST_EE_ENTER);
        cr_expect_eq(c->flags & ST_FLAG_MIDSTREAM, 0);
      }
      cr_expect_eq(count_from(ev, n, ST_EV_CONNECT, a, ap, b, bp), 1,
                   "%s: stream %zu has exactly one connect completion", name, i);
    }
    if (syn && synack)
      cr_expect_eq(count_from(ev, n, ST_EV_ACCEPT_ADDR, b, bp, a, ap), 1,
                   "%s: stream %zu accepted on the passive side", name, i);
    if (strcmp(oc, "no_syn_in_capture") == 0) {
      const st_event *any = find_from(ev, n, ST_EV_ENDPOINT_SUMMARY, a, ap, b, bp);
      if (!any)
        any = find_from(ev, n, ST_EV_ENDPOINT_SUMMARY, b, bp, a, ap);
      cr_expect(any && (any->flags & ST_FLAG_MIDSTREAM), "%s: stream %zu was picked up mid-stream",
                name, i);
    }
    if (strcmp(oc, "established_then_reset") == 0) {
      /* The abort lands on the side that received the RST. */
      if (jint(s, "rst_a"))
        cr_expect_eq(count_from(ev, n, ST_EV_ABORT, b, bp, a, ap), 1, "%s: stream %zu abort on B",
                     name, i);
      if (jint(s, "rst_b") && !jint(s, "rst_a"))
        cr_expect_eq(count_from(ev, n, ST_EV_ABORT, a, ap, b, bp), 1, "%s: stream %zu abort on A",
                     name, i);
    }
    bool opened = (syn && synack) || strcmp(oc, "no_syn_in_capture") == 0;
    if (opened)
      disconnects += (size_t)(jint(s, "fin_a") > 0) + (size_t)(jint(s, "fin_b") > 0);
    /* Payload: the summary counts each byte once; retransmitted bytes are
     * on the TcpRetransmit events. Together they are TShark's tcp.len sum. */
    const char *sides[2][2] = {{a, b}, {b, a}};
    int ports[2][2] = {{ap, bp}, {bp, ap}};
    const char *keys[2] = {"payload_bytes_a", "payload_bytes_b"};
    for (int k = 0; k < 2; k++) {
      uint64_t bytes = 0;
      for (size_t e = 0; e < n; e++) {
        if (!pcap_test_ev_is(&ev[e], sides[k][0], ports[k][0], sides[k][1], ports[k][1]))
          continue;
        if (ev[e].id == ST_EV_TCP_RETRANSMIT)
          bytes += ev[e].bytes;
        if (ev[e].id == ST_EV_ENDPOINT_SUMMARY)
          bytes += ev[e].summary.bytes_sent;
      }
      cr_expect_eq(bytes, (uint64_t)jint(s, keys[k]), "%s: stream %zu %s: %llu", name, i, keys[k],
                   (unsigned long long)bytes);
    }
  }
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_CONNECT_ADDR), syns, "%s: connect requests", name);
  cr_expect_eq(pcap_test_count_status(ev, n, ST_EV_CONNECT, ST_OK), handshakes,
               "%s: successful connects", name);
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_ACCEPT_ADDR), handshakes, "%s: accepts", name);
  size_t refused = 0;
  for (size_t e = 0; e < n; e++)
    refused +=
        ev[e].id == ST_EV_CONNECT && ev[e].status.code == ST_REFUSED && !is_icmp_failure(&ev[e]);
  cr_expect_eq(refused, (size_t)outcome(x, "refused"), "%s: refused connects", name);
  cr_expect_eq(pcap_test_count_status(ev, n, ST_EV_CONNECT, ST_TIMED_OUT),
               (size_t)outcome(x, "syn_unanswered"), "%s: unanswered SYNs", name);
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_ABORT), (size_t)outcome(x, "established_then_reset"),
               "%s: resets after establishment", name);
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_DISCONNECT), disconnects,
               "%s: FINs (one disconnect per direction)", name);
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_CLEANUP),
               2 * (size_t)outcome(x, "established_then_fin_both"), "%s: FIN closes", name);
  const json_t *counts = json_object_get(x, "counts");
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_TCP_RETRANSMIT),
               (size_t)jint(counts, "tcp_retransmission"), "%s: retransmissions", name);
  uint64_t summary_retrans = 0;
  for (size_t e = 0; e < n; e++)
    if (ev[e].id == ST_EV_ENDPOINT_SUMMARY)
      summary_retrans += ev[e].summary.retransmits;
  cr_expect_eq(summary_retrans, (uint64_t)jint(counts, "tcp_retransmission"),
               "%s: retransmissions in the summaries", name);
  cr_expect_eq(distinct_flows(ev, n, 6), json_array_size(json_object_get(x, "tcp_conversations")),
               "%s: TCP flows", name);
}

/* Does an entry of list (conversations, or quotes) join a and b, either way? */
static bool joins(const json_t *list, size_t upto, const char *ak, const char *apk, const char *bk,
                  const char *bpk, const char *a, int ap, const char *b, int bp) {
  size_t i;
  const json_t *c;
  json_array_foreach(list, i, c) {
    if (i >= upto)
      break;
    const char *ca = jstr(c, ak), *cb = jstr(c, bk);
    int cap = jint(c, apk), cbp = jint(c, bpk);
    if ((!strcmp(ca, a) && cap == ap && !strcmp(cb, b) && cbp == bp) ||
        (!strcmp(ca, b) && cap == bp && !strcmp(cb, a) && cbp == ap))
      return true;
  }
  return false;
}

/* UDP flows socktrace has and TShark's conversations leave out: the
 * distinct 4-tuples of ICMP errors quoting a datagram not in the capture. */
static size_t orphan_udp_flows(const json_t *x) {
  const json_t *convs = json_object_get(x, "udp_conversations");
  size_t extra = 0;
  for (int v6 = 0; v6 < 2; v6++) {
    json_t *quotes = json_array();
    const json_t *list =
        json_object_get(x, v6 ? "icmpv6_dest_unreachable" : "icmp_dest_unreachable");
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) {
      const json_t *q = json_object_get(m, "quoted");
      if (!json_is_null(json_object_get(m, "answers_frame")) || jint(q, "proto") != 17 ||
          (!v6 && jint(m, "code") == 4))
        continue;
      const char *src = jstr(q, "src"), *dst = jstr(q, "dst");
      int sp = jint(q, "sport"), dp = jint(q, "dport");
      if (!joins(convs, SIZE_MAX, "a_addr", "a_port", "b_addr", "b_port", src, sp, dst, dp) &&
          !joins(quotes, SIZE_MAX, "src", "sport", "dst", "dport", src, sp, dst, dp))
        extra++;
      json_array_append(quotes, (json_t *)q);
    }
    json_decref(quotes);
  }
  return extra;
}

static void check_udp(const char *name, const json_t *x, const st_event *ev, size_t n) {
  const json_t *convs = json_object_get(x, "udp_conversations");
  cr_expect_eq(distinct_flows(ev, n, 17), json_array_size(convs) + orphan_udp_flows(x),
               "%s: UDP flows", name);
  size_t i;
  const json_t *c;
  json_array_foreach(convs, i, c) {
    const char *a = jstr(c, "a_addr"), *b = jstr(c, "b_addr");
    int ap = jint(c, "a_port"), bp = jint(c, "b_port");
    cr_expect_eq(count_from(ev, n, ST_EV_SENDTO_ADDR, a, ap, b, bp),
                 (size_t)jint(c, "frames_a_to_b"), "%s: UDP %s:%d -> %s:%d", name, a, ap, b, bp);
    cr_expect_eq(count_from(ev, n, ST_EV_SENDTO_ADDR, b, bp, a, ap),
                 (size_t)jint(c, "frames_b_to_a"), "%s: UDP %s:%d <- %s:%d", name, a, ap, b, bp);
  }
}

static void check_icmp(const char *name, const json_t *x, const st_event *ev, size_t n,
                       const st_pcap_tracker_stats *st) {
  size_t matched = 0, unmatched = 0, orphans = 0;
  for (int v6 = 0; v6 < 2; v6++) {
    const json_t *list =
        json_object_get(x, v6 ? "icmpv6_dest_unreachable" : "icmp_dest_unreachable");
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m) {
      int code = jint(m, "code");
      if (!v6 && code == 4)
        continue; /* fragmentation needed: path MTU, not a failure */
      const json_t *q = json_object_get(m, "quoted");
      bool orphan = json_is_null(json_object_get(m, "answers_frame"));
      if (orphan) {
        unmatched++;
        if (jint(q, "proto") != 17)
          continue; /* a quoted TCP segment of an unseen flow: nothing certain */
        orphans++;
      } else {
        matched++;
      }
      const char *src = jstr(q, "src"), *dst = jstr(q, "dst");
      int sp = jint(q, "sport"), dp = jint(q, "dport");
      const st_event *e = NULL;
      for (size_t k = 0; k < n && !e; k++)
        if (is_icmp_failure(&ev[k]) && pcap_test_ev_is(&ev[k], src, sp, dst, dp))
          e = &ev[k];
      cr_expect(e, "%s: ICMP frame %d failed its flow", name, jint(m, "frame"));
      if (e) {
        cr_expect_eq(e->status.code, icmp_code_status(v6, code), "%s: ICMP frame %d status", name,
                     jint(m, "frame"));
        cr_expect_eq(e->id, jint(q, "proto") == 6 ? ST_EV_CONNECT : ST_EV_RECEIVEFROM_ADDR);
        cr_expect_eq((e->flags & ST_FLAG_MIDSTREAM) != 0, orphan,
                     "%s: ICMP frame %d: mid-stream exactly when the datagram is not captured",
                     name, jint(m, "frame"));
      }
    }
  }
  size_t failures = 0;
  for (size_t k = 0; k < n; k++)
    failures += is_icmp_failure(&ev[k]);
  cr_expect_eq(failures, matched + orphans, "%s: ICMP failures", name);
  cr_expect_eq(st->icmp_matched, matched, "%s: ICMP errors matched", name);
  cr_expect_eq(st->icmp_unmatched, unmatched, "%s: ICMP errors quoting unseen flows", name);
}

/* The session's own "no answer within 5 s" events (the DNS stage), not the
 * tracker's. */
static size_t unanswered_count(const st_event *ev, size_t n) {
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    u += ev[i].id == ST_EV_DNS_MESSAGE && (ev[i].dns.flags & ST_DNS_UNANSWERED);
  return u;
}

/* How many of the capture's queries waited more than 5 s for an answer,
 * counted from the tracker's messages: the first try of each (id, name,
 * type) against the first answer to it. */
static size_t unanswered_expected(const st_event *ev, size_t n) {
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    const st_dns *q = &ev[i].dns;
    if (ev[i].id != ST_EV_DNS_MESSAGE || q->qr)
      continue;
    bool retry = false, answered = false;
    for (size_t j = 0; j < i && !retry; j++)
      retry = ev[j].id == ST_EV_DNS_MESSAGE && !ev[j].dns.qr && ev[j].dns.id == q->id &&
              ev[j].dns.qtype == q->qtype && !strcmp(ev[j].dns.qname, q->qname);
    for (size_t j = i + 1; j < n && !answered; j++)
      answered = ev[j].id == ST_EV_DNS_MESSAGE && ev[j].dns.qr && ev[j].dns.id == q->id &&
                 !strcmp(ev[j].dns.qname, q->qname) && ev[j].ts_ns <= ev[i].ts_ns + 5000000000ull;
    u += !retry && !answered;
  }
  return u;
}

static void check_dns(const char *name, const json_t *x, const st_event *ev, size_t n) {
  const json_t *dns = json_object_get(x, "dns");
  size_t k = 0, i;
  const json_t *d;
  cr_expect_eq(pcap_test_count(ev, n, ST_EV_DNS_MESSAGE) - unanswered_count(ev, n),
               json_array_size(dns), "%s: DNS", name);
  json_array_foreach(dns, i, d) {
    while (k < n && (ev[k].id != ST_EV_DNS_MESSAGE || (ev[k].dns.flags & ST_DNS_UNANSWERED)))
      k++;
    if (k == n)
      break;
    const st_dns *m = &ev[k].dns;
    bool response = strcmp(jstr(d, "qr"), "response") == 0;
    cr_expect_eq(m->id, strtol(jstr(d, "id"), NULL, 16), "%s: DNS %zu id", name, i);
    cr_expect_eq(m->qr, response, "%s: DNS %zu qr", name, i);
    cr_expect_str_eq(m->qname, jstr(d, "qname"), "%s: DNS %zu qname", name, i);
    cr_expect_eq(m->qtype, jint(d, "qtype"), "%s: DNS %zu qtype", name, i);
    cr_expect_eq(ev[k].protocol, strcmp(jstr(d, "transport"), "tcp") == 0 ? 6 : 17);
    if (response) {
      cr_expect_eq(m->rcode, jint(d, "rcode"), "%s: DNS %zu rcode", name, i);
      cr_expect_eq(m->answers, jint(d, "answers"), "%s: DNS %zu answers", name, i);
    }
    k++;
  }
}

static void check_times(const char *name, const json_t *x, const st_event *ev, size_t n,
                        const st_pcap_tracker_stats *st) {
  uint64_t first = pcap_test_parse_epoch(jstr(x, "first_frame_time_epoch"));
  uint64_t last = pcap_test_parse_epoch(jstr(x, "last_frame_time_epoch"));
  cr_expect_eq(st->first_ts_ns, first, "%s: first frame time %llu", name,
               (unsigned long long)st->first_ts_ns);
  cr_expect_eq(st->last_ts_ns, last, "%s: last frame time", name);
  for (size_t i = 0; i < n; i++)
    cr_expect(ev[i].ts_ns >= first && ev[i].ts_ns <= last, "%s: event %zu inside the capture", name,
              i);
  /* When frame 1 is a SYN or a DNS message, the first event is at its time. */
  bool frame1 = false;
  size_t i;
  const json_t *s;
  json_array_foreach(json_object_get(x, "tcp_streams"), i, s) frame1 |=
      jint(s, "first_frame") == 1 && jint(s, "syn_a") > 0;
  json_array_foreach(json_object_get(x, "dns"), i, s) frame1 |= jint(s, "frame") == 1;
  if (frame1 && n)
    cr_expect_eq(ev[0].ts_ns, first, "%s: first event at frame 1's time, to the ns", name);
}

static void check_fixture(const char *name) {
  ST_REQUIRE_FIXTURES();
  json_t *root = load_expected();
  const json_t *x = json_object_get(json_object_get(root, "files"), name);
  cr_assert(x, "%s is not in EXPECTED.json", name);
  char rel[256];
  snprintf(rel, sizeof rel, "pcap/%s", name);
  const char *path = st_test_fixture(rel);

  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r = pcap_test_run_session(path, NULL, ST_LEVEL_VERBOSE, &c);
  cr_assert_eq(r.status, 0, "%s: %s", name, r.error);
  cr_expect(c.ended, "%s: the sink was ended", name);
  evlist l;
  memset(&l, 0, sizeof l);
  st_pcap_tracker_stats st;
  cr_assert_eq(pcap_test_run_tracker(path, ST_LEVEL_VERBOSE, &l, &st), 0);
  /* ... and one event of its own for each query unanswered after 5 s. */
  size_t unanswered = unanswered_count(c.events, c.count);
  cr_expect_eq(unanswered, unanswered_expected(l.ev, l.n), "%s: unanswered DNS queries", name);
  /* The fixtures' README: query 0x9f91's answer is lost; it is asked again
   * 5 s later. */
  if (!strcmp(name, "ipv6-fragmented-dns.pcap"))
    cr_expect_eq(unanswered, 1, "%s: query 0x9f91 waited more than 5 s", name);
  cr_expect_eq(l.n + unanswered, c.count, "%s: the session delivers every tracker event", name);
  cr_expect_eq(r.stats.events + unanswered, c.count, "%s: backend stats count the events", name);
  cr_expect_eq(st.truncated + st.malformed, 0, "%s: no decode errors in a good capture", name);
  cr_expect_eq(r.stats.errors, 0, "%s", name);
  cr_expect_eq(st.packets, (uint64_t)jint(json_object_get(x, "counts"), "packets"),
               "%s: every frame read", name);

  check_common_fields(name, c.events, c.count);
  check_tcp(name, x, c.events, c.count);
  check_udp(name, x, c.events, c.count);
  check_icmp(name, x, c.events, c.count, &st);
  check_dns(name, x, c.events, c.count);
  check_times(name, x, c.events, c.count, &st);

  evlist_free(&l);
  st_collect_free(&c);
  json_decref(root);
}

typedef struct fixture_param {
  unsigned index;
} fixture_param;

ParameterizedTestParameters(pcap_fixtures, matches_tshark) {
  static fixture_param params[NFIXTURES];
  for (unsigned i = 0; i < NFIXTURES; i++)
    params[i].index = i;
  return cr_make_param_array(fixture_param, params, NFIXTURES);
}

ParameterizedTest(fixture_param *p, pcap_fixtures, matches_tshark) {
  cr_log_info("fixture %s", FIXTURES[p->index]);
  check_fixture(FIXTURES[p->index]);
}

static bool listed(const char *name) {
  for (size_t i = 0; i < NFIXTURES; i++)
    if (strcmp(FIXTURES[i], name) == 0)
      return true;
  return false;
}

Test(pcap_fixtures, every_fixture_is_listed) {
  ST_REQUIRE_FIXTURES();
  DIR *d = opendir(st_test_fixture("pcap"));
  cr_assert(d, "cannot list %s", st_test_fixture("pcap"));
  struct dirent *de;
  size_t captures = 0;
  while ((de = readdir(d))) {
    size_t len = strlen(de->d_name);
    bool capture = (len > 5 && strcmp(de->d_name + len - 5, ".pcap") == 0) ||
                   (len > 7 && strcmp(de->d_name + len - 7, ".pcapng") == 0);
    if (!capture)
      continue;
    captures++;
    cr_expect(listed(de->d_name), "%s is not tested: add it to FIXTURES", de->d_name);
    char rel[512];
    snprintf(rel, sizeof rel, "pcap/%s", de->d_name);
    cr_expect(st_pcap_file_sniff(st_test_fixture(rel)), "%s sniffs as a capture", de->d_name);
  }
  closedir(d);
  cr_expect_eq(captures, NFIXTURES);
  json_t *root = load_expected();
  cr_expect_eq(json_object_size(json_object_get(root, "files")), NFIXTURES);
  json_decref(root);
}
