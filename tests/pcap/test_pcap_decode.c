/*
 * The decoder and tracker on hand-made frames: every supported link type,
 * truncated and malformed packets (counted, skipped, never a crash), the
 * flow bound, SYN timeouts, ICMPv4 cases the fixtures lack, mid-stream
 * pickup, port reuse, IPv4 fragment reassembly, and the backend's errors
 * (missing file, damaged file, bad capture filter).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_builder.h"
#include "pcap_backend.h"
#include "flow.h"
#include "pcap_testutil.h"

#define SEC 1000000000ull

/* ---- link types */

Test(pcap_decode, every_link_type) {
  uint8_t ip[64], f[128];
  size_t n = cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1000, 0, 0x02, 0);
  struct {
    int linktype;
    size_t hlen;
    uint8_t h[24];
  } cases[] = {
      {1, 14, {2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x08, 0x00}}, /* Ethernet */
      {1, 22, {2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x08, 0}},
      {0, 4, {2, 0, 0, 0}},                                              /* NULL, LE */
      {0, 4, {0, 0, 0, 2}},                                              /* NULL, BE */
      {108, 4, {0, 0, 0, 2}},                                            /* LOOP */
      {12, 0, {0}},                                                      /* DLT_RAW */
      {14, 0, {0}},                                                      /* OpenBSD RAW */
      {101, 0, {0}},                                                     /* LINKTYPE_RAW */
      {228, 0, {0}},                                                     /* IPV4 */
      {113, 16, {0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00}}, /* SLL */
      {276, 20, {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 4, 6}},             /* SLL2 */
      {9, 4, {0xff, 0x03, 0x00, 0x21}},                                  /* PPP */
      {9, 2, {0x00, 0x21}},                                              /* PPP, no addr */
      {9, 1, {0x21}},                                                    /* PPP, PFC */
      {50, 4, {0xff, 0x03, 0x00, 0x21}},                                 /* PPP serial */
      {51, 8, {0x11, 0, 0, 1, 0, 42, 0x00, 0x21}},                       /* PPPoE */
      {1, 22, {2, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x88, 0x64, 0x11, 0, 0, 1, 0, 42, 0, 0x21}},
      {104, 4, {0x0f, 0x00, 0x08, 0x00}}, /* Cisco HDLC */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy(f, cases[i].h, cases[i].hlen);
    memcpy(f + cases[i].hlen, ip, n);
    rig *r = rig_new(NULL);
    rig_frame(r, cases[i].linktype, SEC, f, cases[i].hlen + n);
    cr_expect_eq(r->ev.n, 1, "case %zu (linktype %d): one event", i, cases[i].linktype);
    if (r->ev.n)
      cr_expect(pcap_test_ev_is(&r->ev.ev[0], "10.0.0.1", 40000, "10.0.0.2", 80),
                "case %zu: the SYN's addresses", i);
    rig_free(r);
  }
}

Test(pcap_decode, non_ip_frames_are_counted_not_events) {
  rig *r = rig_new(NULL);
  uint8_t arp[60] = {0};
  cb_put16(arp + 12, 0x0806);
  rig_frame(r, 1, SEC, arp, sizeof arp);
  rig_frame(r, 147, SEC, arp, sizeof arp); /* an unknown link type */
  cr_expect_eq(r->ev.n, 0);
  cr_expect_eq(rig_stats(r).not_ip, 2);
  rig_free(r);
}

/* ---- truncated and malformed input */

Test(pcap_decode, truncated_frames_are_skipped) {
  uint8_t ip[64], f[128];
  size_t n = cb_eth(f, 0x0800, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0));
  for (size_t cut = 0; cut < n; cut++) {
    rig *r = rig_new(NULL);
    /* caplen < len: what a snap length does */
    st_pcap_tracker_packet(r->t, 1, SEC, f, (uint32_t)cut, (uint32_t)n);
    st_pcap_tracker_stats st = rig_stats(r);
    cr_expect_eq(r->ev.n, 0, "cut at %zu: no event from a partial header", cut);
    cr_expect_eq(st.truncated, 1, "cut at %zu: counted as truncated", cut);
    rig_free(r);
  }
}

Test(pcap_decode, truncated_payload_still_counts_its_wire_length) {
  rig *r = rig_new(NULL);
  uint8_t ip[1600], f[1700];
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0));
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.2", 80, "10.0.0.1", 40000, 9, 2, 0x12, 0));
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 2, 10, 0x10, 0));
  size_t n =
      cb_eth(f, 0x0800, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 2, 10, 0x18, 1400));
  st_pcap_tracker_packet(r->t, 1, 2 * SEC, f, 96, (uint32_t)n); /* snaplen 96 */
  const st_event *di = NULL;
  for (size_t i = 0; i < r->ev.n; i++)
    if (r->ev.ev[i].id == ST_EV_DATA_INDICATION_ADDR)
      di = &r->ev.ev[i];
  cr_assert(di, "the data indication is there");
  cr_expect_eq(di->bytes, 1400, "bytes from the IP length, not the snap length");
  rig_free(r);
}

Test(pcap_decode, malformed_packets_are_counted) {
  uint8_t ip[64];
  size_t n = cb_tcp(ip, "10.0.0.1", 1, "10.0.0.2", 2, 1, 0, 0x02, 0);
  uint8_t m[64];
  rig *r = rig_new(NULL);
  memcpy(m, ip, n);
  m[0] = 0x44; /* IHL 4 */
  rig_frame(r, 101, SEC, m, n);
  memcpy(m, ip, n);
  cb_put16(m + 2, 10); /* total length below the header */
  rig_frame(r, 101, SEC, m, n);
  memcpy(m, ip, n);
  m[20 + 12] = 4 << 4; /* TCP data offset 4 */
  rig_frame(r, 101, SEC, m, n);
  memcpy(m, ip, n);
  m[0] = 0x75; /* IP version 7 */
  rig_frame(r, 101, SEC, m, n);
  uint8_t u[64];
  size_t un = cb_udp(u, "10.0.0.1", 5, "10.0.0.2", 6, (const uint8_t *)"x", 1);
  cb_put16(u + 20 + 4, 3); /* UDP length below 8 */
  rig_frame(r, 101, SEC, u, un);
  cr_expect_eq(r->ev.n, 0);
  cr_expect_eq(rig_stats(r).malformed, 5);
  rig_free(r);
}

Test(pcap_decode, random_frames_never_crash) {
  static const int lts[] = {0, 1, 9, 12, 50, 51, 101, 104, 108, 113, 228, 229, 276};
  rig *r = rig_new(&(st_pcap_tracker_config){.max_flows = 8, .level = 5});
  srand(42);
  uint8_t f[256];
  for (int i = 0; i < 20000; i++) {
    size_t n = (size_t)(rand() % (int)sizeof f);
    for (size_t k = 0; k < n; k++)
      f[k] = (uint8_t)rand();
    if (n > 20 && (i & 1)) { /* mostly-valid IPv4/IPv6 headers reach deeper */
      f[0] = (i & 2) ? 0x45 : 0x60;
      f[9] = (uint8_t)((i & 4) ? 6 : 17);
      f[6] = (uint8_t)((i & 8) ? 44 : 58);
    }
    rig_frame(r, lts[i % (int)(sizeof lts / sizeof lts[0])], (uint64_t)i * SEC / 10, f, n);
  }
  st_pcap_tracker_finish(r->t);
  cr_expect_leq(rig_stats(r).flows_peak, 8);
  rig_free(r);
}

/* ---- flow behaviour */

Test(pcap_flows, memory_bound_evicts_oldest) {
  rig *r = rig_new(&(st_pcap_tracker_config){.max_flows = 10, .level = 4});
  uint8_t ip[64];
  for (int i = 0; i < 100; i++)
    rig_ip(r, SEC + (uint64_t)i, ip,
           cb_tcp(ip, "10.0.0.1", (uint16_t)(20000 + i), "10.0.0.2", 80, 1, 0, 0x02, 0));
  st_pcap_tracker_stats st = rig_stats(r);
  cr_expect_eq(st.flows_peak, 10);
  cr_expect_eq(st.flows_active, 10);
  cr_expect_eq(st.flows_evicted, 90);
  rig_free(r);
}

Test(pcap_flows, unanswered_syn_times_out) {
  for (int custom = 0; custom < 2; custom++) {
    uint64_t timeout = custom ? 5 * SEC : ST_PCAP_DEFAULT_SYN_TIMEOUT_NS;
    rig *r = rig_new(&(st_pcap_tracker_config){.syn_timeout_ns = custom ? timeout : 0, .level = 4});
    uint8_t ip[64];
    rig_ip(r, 100 * SEC, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0));
    /* unrelated traffic long after: the sweep ends the attempt */
    rig_ip(r, 200 * SEC, ip, cb_tcp(ip, "10.0.0.3", 40001, "10.0.0.4", 80, 1, 0, 0x02, 0));
    const st_event *c = NULL;
    for (size_t i = 0; i < r->ev.n && !c; i++)
      if (r->ev.ev[i].id == ST_EV_CONNECT)
        c = &r->ev.ev[i];
    cr_assert(c, "a connect completion");
    cr_expect_eq(c->status.code, ST_TIMED_OUT);
    cr_expect_eq(c->ts_ns, 100 * SEC + timeout, "at the deadline");
    rig_free(r);
  }
}

Test(pcap_flows, icmpv4_unreachable_fails_a_connect) {
  struct {
    uint8_t code;
    st_code want;
  } cases[] = {{1, ST_HOST_UNREACHABLE},
               {0, ST_NET_UNREACHABLE},
               {3, ST_REFUSED},
               {13, ST_HOST_UNREACHABLE}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
    uint8_t syn[64], icmp[128];
    size_t n = cb_tcp(syn, "10.0.0.1", 40000, "10.9.9.9", 80, 7, 0, 0x02, 0);
    rig_ip(r, SEC, syn, n);
    rig_ip(r, 2 * SEC, icmp, cb_icmp4_unreach(icmp, "10.0.0.254", "10.0.0.1", cases[i].code, syn));
    cr_assert_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT), 1);
    const st_event *c = &r->ev.ev[1];
    cr_expect_eq(c->id, ST_EV_CONNECT);
    cr_expect_eq(c->status.code, cases[i].want, "code %u", cases[i].code);
    cr_expect(strstr(c->detail, "from 10.0.0.254"), "the router is named: %s", c->detail);
    st_pcap_tracker_finish(r->t);
    cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT), 1, "no second completion");
    rig_free(r);
  }
}

Test(pcap_flows, icmpv4_frag_needed_is_not_a_failure) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  uint8_t syn[64], icmp[128];
  size_t n = cb_tcp(syn, "10.0.0.1", 40000, "10.9.9.9", 80, 7, 0, 0x02, 0);
  rig_ip(r, SEC, syn, n);
  rig_ip(r, 2 * SEC, icmp, cb_icmp4_unreach(icmp, "10.0.0.254", "10.0.0.1", 4, syn));
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT), 0);
  rig_free(r);
}

Test(pcap_flows, midstream_flow_is_flagged) {
  rig *r = rig_new(NULL);
  uint8_t ip[256];
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.2", 443, "10.0.0.1", 50000, 100, 200, 0x18, 50));
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.1", 50000, "10.0.0.2", 443, 200, 150, 0x10, 0));
  st_pcap_tracker_finish(r->t);
  cr_assert_geq(r->ev.n, 3);
  for (size_t i = 0; i < r->ev.n; i++)
    cr_expect(r->ev.ev[i].flags & ST_FLAG_MIDSTREAM, "event %zu flagged", i);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT_ADDR), 0, "no invented connect");
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ENDPOINT_SUMMARY), 2);
  /* the well-known port is taken as the server: the client is side A */
  cr_expect(pcap_test_ev_is(&r->ev.ev[0], "10.0.0.1", 50000, "10.0.0.2", 443));
  rig_free(r);
}

Test(pcap_flows, port_reuse_starts_a_new_flow) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  uint8_t ip[64];
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 81, 1000, 0, 0x02, 0));
  rig_ip(r, SEC, ip, cb_tcp(ip, "10.0.0.2", 81, "10.0.0.1", 40000, 0, 1001, 0x14, 0));
  rig_ip(r, 2 * SEC, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 81, 5000, 0, 0x02, 0));
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT_ADDR), 2);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_TCP_RETRANSMIT), 0);
  uint64_t first = r->ev.ev[0].endpoint, last = r->ev.ev[r->ev.n - 1].endpoint;
  cr_expect_neq(first, last, "a new endpoint for the new socket");
  rig_free(r);
}

Test(pcap_flows, ipv4_fragments_reassemble_out_of_order) {
  /* A DNS response (id 0x1234, 1 answer) split in two IPv4 fragments. */
  uint8_t dns[200] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  size_t dn = 12;
  const char qname[] = "\7example\3com";
  memcpy(dns + dn, qname, sizeof qname);
  dn += sizeof qname;
  cb_put16(dns + dn, 1);
  cb_put16(dns + dn + 2, 1);
  dn += 4 + 60; /* answer bytes: zeros are fine for the header counts */
  uint8_t whole[512];
  size_t wn = cb_udp(whole, "10.0.0.53", 53, "10.0.0.1", 33333, dns, dn);
  size_t l4 = wn - 20, cut = 48; /* 8-byte aligned */
  uint8_t f1[256], f2[256];
  memcpy(f1, whole, 20 + cut);
  cb_put16(f1 + 2, (uint16_t)(20 + cut));
  cb_put16(f1 + 4, 77);
  cb_put16(f1 + 6, 0x2000); /* MF, offset 0 */
  memcpy(f2, whole, 20);
  memcpy(f2 + 20, whole + 20 + cut, l4 - cut);
  cb_put16(f2 + 2, (uint16_t)(20 + l4 - cut));
  cb_put16(f2 + 4, 77);
  cb_put16(f2 + 6, (uint16_t)(cut / 8));
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  rig_ip(r, SEC, f2, 20 + l4 - cut);
  cr_expect_eq(r->ev.n, 0, "nothing until the datagram is whole");
  rig_ip(r, SEC + 1, f1, 20 + cut);
  cr_assert_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_DNS_MESSAGE), 1);
  const st_event *e = &r->ev.ev[0];
  cr_expect_eq(e->dns.id, 0x1234);
  cr_expect_eq(e->dns.qr, 1);
  cr_expect_eq(e->dns.answers, 1);
  cr_expect_str_eq(e->dns.qname, "example.com");
  cr_expect_eq(e->ts_ns, SEC + 1, "at the last fragment's time, as TShark shows it");
  cr_expect_eq(rig_stats(r).reassembled, 1);
  rig_free(r);
}

Test(pcap_flows, verbose_events_only_when_asked) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  uint8_t ip[64];
  rig_ip(r, SEC, ip, cb_udp(ip, "10.0.0.1", 5000, "10.0.0.2", 6000, (const uint8_t *)"hi", 2));
  cr_expect_eq(r->ev.n, 0, "send/receive are level 5");
  st_pcap_tracker_finish(r->t);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_ENDPOINT_SUMMARY), 2);
  cr_expect_eq(r->ev.ev[0].summary.bytes_sent, 2);
  rig_free(r);
}

/* ---- the backend's errors */

Test(pcap_backend, missing_file) {
  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r = pcap_test_run_session("/nonexistent/x.pcap", NULL, 4, &c);
  cr_expect_eq(r.status, ST_ENOENT);
  cr_expect(strstr(r.error, "cannot read capture file /nonexistent/x.pcap"), "%s", r.error);
  st_collect_free(&c);
}

Test(pcap_backend, not_a_capture) {
  char path[] = "/tmp/st_pcap_notcap_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  cr_assert_eq(write(fd, "hello, this is not a capture\n", 29), 29);
  close(fd);
  cr_expect_not(st_pcap_file_sniff(path));
  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r = pcap_test_run_session(path, NULL, 4, &c);
  cr_expect_eq(r.status, ST_EBADMSG);
  cr_expect(strstr(r.error, "is it a pcap or pcapng file?"), "%s", r.error);
  unlink(path);
  st_collect_free(&c);
}

Test(pcap_backend, damaged_file_keeps_what_was_read) {
  ST_REQUIRE_FIXTURES();
  size_t len;
  char *data = st_test_read_file(st_test_fixture("pcap/web.pcap"), &len);
  cr_assert(data);
  char path[] = "/tmp/st_pcap_cut_XXXXXX";
  int fd = mkstemp(path);
  cr_assert(fd >= 0);
  size_t keep = len - 100; /* the last record is cut short */
  cr_assert_eq(write(fd, data, keep), (ssize_t)keep);
  close(fd);
  free(data);
  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r = pcap_test_run_session(path, NULL, 4, &c);
  cr_expect_eq(r.status, ST_EBADMSG);
  cr_expect(strstr(r.error, "is damaged after 22 frames"), "%s", r.error);
  cr_expect(c.ended, "the sinks were flushed and ended");
  cr_expect_eq(pcap_test_count_status(c.events, c.count, ST_EV_CONNECT, ST_REFUSED), 1);
  cr_expect_eq(pcap_test_count(c.events, c.count, ST_EV_ENDPOINT_SUMMARY), 3,
               "every flow read so far ends with its summary");
  unlink(path);
  st_collect_free(&c);
}

Test(pcap_backend, capture_filter) {
  ST_REQUIRE_FIXTURES();
  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r =
      pcap_test_run_session(st_test_fixture("pcap/web.pcap"), "tcp port 80", 4, &c);
  cr_assert_eq(r.status, 0, "%s", r.error);
  cr_expect_eq(pcap_test_count(c.events, c.count, ST_EV_CONNECT_ADDR), 1, "only the port-80 flow");
  cr_expect_eq(pcap_test_count_status(c.events, c.count, ST_EV_CONNECT, ST_REFUSED), 0);
  st_collect_free(&c);
}

Test(pcap_backend, bad_capture_filter) {
  ST_REQUIRE_FIXTURES();
  st_collect c;
  memset(&c, 0, sizeof c);
  pcap_session_result r =
      pcap_test_run_session(st_test_fixture("pcap/web.pcap"), "tcp port eighty", 4, &c);
  cr_expect_eq(r.status, ST_EINVAL);
  cr_expect(strstr(r.error, "bad capture filter 'tcp port eighty'"), "%s", r.error);
  cr_expect_eq(strchr(r.error, '\n'), NULL, "one line");
  st_collect_free(&c);
}

Test(pcap_backend, no_source_is_invalid) {
  st_backend *b;
  st_pcap_options opt = {0};
  cr_expect_eq(st_backend_pcap_new(&opt, &b), ST_EINVAL);
  cr_expect_eq(st_backend_pcap_new(NULL, &b), ST_EINVAL);
}

/* The flow table's hash (flow.h) spreads the keys real captures have
 * (neighbouring addresses and ports) over the buckets: uthash never had to
 * stop expanding, and its chains stay near the ideal. */
Test(pcap_flows, flow_table_stays_balanced) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  uint8_t ip[64];
  char src[32];
  for (int i = 0; i < 60000; i++) {
    snprintf(src, sizeof src, "10.1.%d.%d", i / 250 % 250, i % 250);
    rig_ip(r, SEC, ip, cb_tcp(ip, src, (uint16_t)(32768 + i % 7), "10.0.0.2", 443, 1, 0, 0x02, 0));
  }
  for (int i = 0; i < 5000; i++) /* one client, many ports */
    rig_ip(r, SEC, ip, cb_tcp(ip, "10.9.9.9", (uint16_t)(1024 + i), "10.0.0.3", 80, 1, 0, 0x02, 0));
  const UT_hash_table *tbl = r->t->table->hh.tbl;
  cr_log_info("%u items, %u buckets, %u non-ideal, %u inefficient expands", tbl->num_items,
              tbl->num_buckets, tbl->nonideal_items, tbl->ineff_expands);
  cr_expect_eq(tbl->num_items, 65000);
  cr_expect_eq(tbl->noexpand, 0);
  cr_expect_leq(tbl->ineff_expands, 1);
  cr_expect_lt(tbl->nonideal_items, tbl->num_items / 4);
  rig_free(r);
}
