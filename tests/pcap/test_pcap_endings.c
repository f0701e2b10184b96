/*
 * How connections and datagrams end, on exchanges the tests build: a RST
 * after a FIN (either side's, one or both FINs) is an abort for the side
 * that receives it until both FINs are acknowledged, a RST after that is
 * stray; an ICMP unreachable quoting a datagram the capture does not hold
 * fails that datagram's socket, flagged mid-stream.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_builder.h"
#include "pcap_testutil.h"

#define SEC 1000000000ull

static const char *const C = "10.0.0.1", *const S = "10.0.0.2";

typedef struct seg {
  bool from_client;
  uint32_t seq, ack;
  uint8_t flags;
  size_t plen;
} seg;

/* A TLS-like connection: handshake, request, response. */
static const seg OPEN[] = {{true, 100, 0, 0x02, 0},
                           {false, 500, 101, 0x12, 0},
                           {true, 101, 501, 0x10, 0},
                           {true, 101, 501, 0x18, 30},
                           {false, 501, 131, 0x18, 40}};

static size_t segment(uint8_t *ip, const seg *g) {
  return g->from_client ? cb_tcp(ip, C, 40000, S, 443, g->seq, g->ack, g->flags, g->plen)
                        : cb_tcp(ip, S, 443, C, 40000, g->seq, g->ack, g->flags, g->plen);
}

/* The open connection, then the ending given; the tracker finished. */
static rig *play(const seg *end, size_t n) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = ST_LEVEL_INFO});
  uint64_t ts = SEC;
  uint8_t ip[256];
  for (size_t i = 0; i < sizeof OPEN / sizeof OPEN[0]; i++)
    rig_ip(r, ts++, ip, segment(ip, &OPEN[i]));
  for (size_t i = 0; i < n; i++)
    rig_ip(r, ts++, ip, segment(ip, &end[i]));
  st_pcap_tracker_finish(r->t);
  return r;
}

static const st_event *find(const rig *r, uint16_t id, const char *laddr) {
  for (size_t i = 0; i < r->ev.n; i++)
    if (r->ev.ev[i].id == id &&
        pcap_test_ev_is(&r->ev.ev[i], laddr, laddr == C ? 40000 : 443, NULL, 0))
      return &r->ev.ev[i];
  return NULL;
}

/* One abort, on the receiver; its summary ends in reset, the sender's not. */
static void expect_abort_on(const rig *r, const char *receiver, uint8_t sender_state) {
  const char *sender = receiver == C ? S : C;
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ABORT), 1);
  const st_event *a = find(r, ST_EV_ABORT, receiver);
  cr_assert(a, "the abort is on the side that received the RST");
  cr_expect_eq(a->reason, ST_ABORT_TRANSPORT_RESET);
  cr_expect_eq(a->status.code, ST_RESET);
  const st_event *rs = find(r, ST_EV_TCP_RESET_SENT, sender);
  cr_assert(rs, "the sender sent the reset");
  cr_expect_eq(rs->old_state, sender_state, "sender state %u", rs->old_state);
  const st_event *sum = find(r, ST_EV_ENDPOINT_SUMMARY, receiver);
  cr_assert(sum);
  cr_expect_eq(sum->summary.final_status.code, ST_RESET, "not a clean close");
  sum = find(r, ST_EV_ENDPOINT_SUMMARY, sender);
  cr_assert(sum);
  cr_expect_eq(sum->summary.final_status.code, ST_OK);
}

Test(pcap_endings, client_fin_then_server_rst_is_an_abort) {
  const seg end[] = {{true, 131, 541, 0x11, 0}, {false, 541, 132, 0x14, 0}};
  rig *r = play(end, 2);
  expect_abort_on(r, C, ST_TCP_CLOSE_WAIT);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_DISCONNECT), 1, "the client's FIN");
  rig_free(r);
}

Test(pcap_endings, server_fin_then_client_rst_is_an_abort) {
  const seg end[] = {{false, 541, 131, 0x11, 0}, {true, 131, 0, 0x04, 0}};
  rig *r = play(end, 2);
  expect_abort_on(r, S, ST_TCP_CLOSE_WAIT);
  rig_free(r);
}

Test(pcap_endings, rst_before_the_last_fin_is_acknowledged_is_an_abort) {
  /* Both FINs, the server's not acknowledged (LAST_ACK): the client's RST
   * (data arrived after it closed) ends the connection. */
  const seg end[] = {
      {true, 131, 541, 0x11, 0}, {false, 541, 132, 0x11, 0}, {true, 132, 0, 0x04, 0}};
  rig *r = play(end, 3);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CLEANUP), 2, "both FINs were seen");
  expect_abort_on(r, S, ST_TCP_TIME_WAIT);
  rig_free(r);
}

Test(pcap_endings, rst_after_a_complete_close_is_stray) {
  const seg end[] = {{true, 131, 541, 0x11, 0},
                     {false, 541, 132, 0x11, 0},
                     {true, 132, 542, 0x10, 0},
                     {false, 542, 0, 0x04, 0}};
  rig *r = play(end, 4);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ABORT), 0, "TIME_WAIT: nothing to end");
  cr_expect_eq(rig_stats(r).stray, 1);
  const st_event *sum = find(r, ST_EV_ENDPOINT_SUMMARY, C);
  cr_assert(sum);
  cr_expect_eq(sum->summary.final_status.code, ST_OK);
  rig_free(r);
}

Test(pcap_endings, a_second_rst_is_stray) {
  const seg end[] = {
      {true, 131, 541, 0x11, 0}, {false, 541, 132, 0x14, 0}, {false, 541, 132, 0x14, 0}};
  rig *r = play(end, 3);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ABORT), 1);
  cr_expect_eq(rig_stats(r).stray, 1);
  rig_free(r);
}

/* The same FIN-then-RST exchange in a capture file, through a session. */
Test(pcap_endings, fin_then_rst_from_a_capture_file) {
  capbuf c = {0};
  pcap_file_header(&c, 101);
  const seg end[] = {{true, 131, 541, 0x11, 0}, {false, 541, 132, 0x14, 0}};
  uint8_t ip[256];
  uint64_t ts = 1700000000ull * SEC;
  for (size_t i = 0; i < sizeof OPEN / sizeof OPEN[0]; i++)
    pcap_record(&c, ts += 1000, ip, segment(ip, &OPEN[i]));
  for (size_t i = 0; i < 2; i++)
    pcap_record(&c, ts += 1000, ip, segment(ip, &end[i]));
  char path[] = "/tmp/st_finrst_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  close(fd);
  cr_assert(capbuf_save(&c, path));
  st_collect col;
  memset(&col, 0, sizeof col);
  pcap_session_result res = pcap_test_run_session(path, NULL, ST_LEVEL_INFO, &col);
  unlink(path);
  cr_assert_eq(res.status, 0, "%s", res.error);
  size_t aborts = 0;
  for (size_t i = 0; i < col.count; i++)
    if (col.events[i].id == ST_EV_ABORT) {
      aborts++;
      cr_expect(pcap_test_ev_is(&col.events[i], C, 40000, S, 443), "on the client");
      cr_expect_eq(col.events[i].ts_ns, ts, "at the RST's time");
    }
  cr_expect_eq(aborts, 1);
  st_collect_free(&col);
  capbuf_free(&c);
}

/* ---- ICMP unreachable for a datagram the capture does not hold */

Test(pcap_endings, orphan_icmp_unreachable_fails_the_quoted_datagram) {
  struct {
    uint8_t code;
    st_code want;
  } cases[] = {{3, ST_REFUSED}, {1, ST_HOST_UNREACHABLE}, {0, ST_NET_UNREACHABLE}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    rig *r = rig_new(&(st_pcap_tracker_config){.level = ST_LEVEL_INFO});
    uint8_t dgram[128], icmp[256];
    cb_udp(dgram, "10.0.0.1", 5353, "10.0.0.9", 9999, (const uint8_t *)"hello", 5);
    /* only the answer was captured (a capture filtered to icmp) */
    rig_ip(r, 2 * SEC, icmp,
           cb_icmp4_unreach(icmp, "10.0.0.254", "10.0.0.1", cases[k].code, dgram));
    st_pcap_tracker_finish(r->t);
    cr_assert_geq(r->ev.n, 1, "code %u", cases[k].code);
    const st_event *e = &r->ev.ev[0];
    cr_expect_eq(e->id, ST_EV_RECEIVEFROM_ADDR);
    cr_expect_eq(e->status.code, cases[k].want, "code %u", cases[k].code);
    cr_expect(pcap_test_ev_is(e, "10.0.0.1", 5353, "10.0.0.9", 9999), "the quoted 5-tuple");
    cr_expect_eq(e->protocol, 17);
    cr_expect(e->flags & ST_FLAG_MIDSTREAM, "flagged mid-stream");
    cr_expect(strstr(e->detail, "from 10.0.0.254"), "%s", e->detail);
    cr_expect_eq(e->ts_ns, 2 * SEC);
    cr_assert_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ENDPOINT_SUMMARY), 1, "the sender only");
    const st_event *sum = &r->ev.ev[r->ev.n - 1];
    cr_expect_eq(sum->summary.first_error.code, cases[k].want);
    cr_expect(sum->flags & ST_FLAG_MIDSTREAM);
    st_pcap_tracker_stats st = rig_stats(r);
    cr_expect_eq(st.icmp_unmatched, 1);
    cr_expect_eq(st.icmp_matched, 0);
    rig_free(r);
  }
}

Test(pcap_endings, later_datagrams_join_the_orphan_flow) {
  rig *r = rig_new(NULL);
  uint8_t dgram[128], icmp[256];
  size_t n = cb_udp(dgram, "10.0.0.1", 5353, "10.0.0.9", 9999, (const uint8_t *)"hello", 5);
  rig_ip(r, SEC, icmp, cb_icmp4_unreach(icmp, "10.0.0.9", "10.0.0.1", 3, dgram));
  rig_ip(r, 2 * SEC, dgram, n); /* the capture caught up */
  st_pcap_tracker_finish(r->t);
  st_pcap_tracker_stats st = rig_stats(r);
  cr_expect_eq(st.udp_flows, 1, "one socket");
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_SENDTO_ADDR), 1);
  rig_free(r);
}

Test(pcap_endings, orphan_icmp_quoting_tcp_stays_unmatched) {
  rig *r = rig_new(NULL);
  uint8_t seg[128], icmp[256];
  cb_tcp(seg, "10.0.0.1", 40000, "10.0.0.9", 80, 1, 0, 0x02, 0);
  rig_ip(r, SEC, icmp, cb_icmp4_unreach(icmp, "10.0.0.254", "10.0.0.1", 1, seg));
  st_pcap_tracker_finish(r->t);
  cr_expect_eq(r->ev.n, 0, "a quoted segment of an unseen connection proves no socket state");
  cr_expect_eq(rig_stats(r).icmp_unmatched, 1);
  rig_free(r);
}
