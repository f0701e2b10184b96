/*
 * The pcapng reader on files the tests write: interfaces of different link
 * types and timestamp resolutions in one file (what libpcap refuses), both
 * byte orders, several sections, simple and obsolete packet blocks, blocks
 * that are skipped, impossible packet blocks, files cut short, and the
 * capture filter applied per link type.
 */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_builder.h"
#include "capture_samples.h"
#include "pcap_backend.h"
#include "pcap_testutil.h"

#define SEC 1000000000ull
#define T0 SAMPLE_T0
static size_t syn_ends[2]; /* where the blocks of the two SYNs end */

static char *save_temp(const capbuf *c, const char *suffix) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/st_pcapng_XXXXXX%s", suffix);
  int fd = mkstemps(path, (int)strlen(suffix));
  cr_assert(fd >= 0);
  close(fd);
  cr_assert(capbuf_save(c, path));
  return path;
}

static pcap_session_result replay(const capbuf *c, const char *filter, st_collect *out) {
  char *path = save_temp(c, ".pcapng");
  memset(out, 0, sizeof *out);
  pcap_session_result r = pcap_test_run_session(path, filter, ST_LEVEL_VERBOSE, out);
  unlink(path);
  return r;
}

static const st_event *find(const st_collect *c, uint16_t id, const char *laddr, int lport) {
  for (size_t i = 0; i < c->count; i++)
    if (c->events[i].id == id && pcap_test_ev_is(&c->events[i], laddr, lport, NULL, 0))
      return &c->events[i];
  return NULL;
}

static void expect_three_interfaces(const st_collect *c) {
  const st_event *e = find(c, ST_EV_CONNECT_ADDR, "10.0.0.1", 40000);
  cr_assert(e, "the Ethernet interface's SYN");
  cr_expect_eq(e->ts_ns, T0 * SEC + 1, "ns resolution kept");
  e = find(c, ST_EV_CONNECT, "10.0.0.1", 40000);
  cr_assert(e);
  cr_expect_eq(e->status.code, ST_OK);
  cr_expect_eq(e->ts_ns, T0 * SEC + 3);
  e = find(c, ST_EV_SENDTO_ADDR, "127.0.0.1", 5000);
  cr_assert(e, "the loopback interface's datagram");
  cr_expect_eq(e->ts_ns, T0 * SEC + 10000, "µs by default");
  cr_expect_eq(e->bytes, 4);
  e = find(c, ST_EV_CONNECT_ADDR, "192.168.1.1", 50000);
  cr_assert(e, "the raw interface's SYN");
  cr_expect_eq(e->ts_ns, T0 * SEC + SEC / 2, "binary resolution and offset: %llu",
               (unsigned long long)e->ts_ns);
  e = find(c, ST_EV_CONNECT, "192.168.1.1", 50000);
  cr_assert(e);
  cr_expect_eq(e->status.code, ST_REFUSED);
  cr_expect_eq(e->ts_ns, T0 * SEC + 500976562ull, "1/1024 s after");
}

Test(pcapng, three_interfaces_of_different_link_types) {
  capbuf c = {0};
  sample_three_interfaces(&c, false, syn_ends);
  char *path = save_temp(&c, ".pcapng");
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(path, err);
  if (!p)
    cr_log_info("libpcap refuses it: %s", err);
  else
    pcap_close(p);
  unlink(path);
  st_collect col;
  pcap_session_result r = replay(&c, NULL, &col);
  cr_assert_eq(r.status, 0, "%s", r.error);
  cr_expect_eq(r.stats.errors, 0);
  expect_three_interfaces(&col);
  st_collect_free(&col);
  capbuf_free(&c);
}

Test(pcapng, big_endian_sections_read_the_same) {
  capbuf le = {0}, be = {0};
  sample_three_interfaces(&le, false, syn_ends);
  sample_three_interfaces(&be, true, syn_ends);
  cr_assert_eq(le.len, be.len);
  cr_assert_neq(memcmp(le.data, be.data, le.len), 0);
  st_collect a, b;
  cr_assert_eq(replay(&le, NULL, &a).status, 0);
  pcap_session_result r = replay(&be, NULL, &b);
  cr_assert_eq(r.status, 0, "%s", r.error);
  expect_three_interfaces(&b);
  cr_assert_eq(a.count, b.count);
  for (size_t i = 0; i < a.count; i++)
    cr_expect_eq(memcmp(&a.events[i], &b.events[i], sizeof a.events[i]), 0, "event %zu", i);
  st_collect_free(&a);
  st_collect_free(&b);
  capbuf_free(&le);
  capbuf_free(&be);
}

Test(pcapng, cooked_and_ip_link_types) {
  static size_t (*const links[])(uint8_t *) = {sample_sll_header, sample_sll2_header, NULL, NULL};
  static const uint16_t types[] = {113, 276, 228, 229};
  capbuf c = {0};
  ng_section(&c, false);
  for (size_t i = 0; i < 4; i++)
    ng_interface(&c, false, types[i], 0, 9, 0);
  uint8_t f[256];
  for (uint32_t i = 0; i < 4; i++) {
    const char *src = i == 3 ? "fd00::1" : "10.1.0.1", *dst = i == 3 ? "fd00::2" : "10.1.0.2";
    size_t n = sample_tcp_frame(f, links[i], src, (uint16_t)(41000 + i), dst, 443, 1, 0, 0x02);
    ng_packet(&c, false, i, T0 * SEC + i, f, n, n);
  }
  st_collect col;
  pcap_session_result r = replay(&c, NULL, &col);
  cr_assert_eq(r.status, 0, "%s", r.error);
  cr_expect_eq(pcap_test_count(col.events, col.count, ST_EV_CONNECT_ADDR), 4);
  cr_expect(find(&col, ST_EV_CONNECT_ADDR, "10.1.0.1", 41001), "SLL2");
  cr_expect(find(&col, ST_EV_CONNECT_ADDR, "fd00::1", 41003), "LINKTYPE_IPV6");
  st_collect_free(&col);
  capbuf_free(&c);
}

Test(pcapng, sections_simple_and_obsolete_packets) {
  capbuf c = {0};
  uint8_t f[256];
  ng_section(&c, false);
  ng_interface(&c, false, 1, 96, -1, 0);
  size_t n = sample_eth_tcp(f, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02);
  ng_packet(&c, false, 0, T0 * 1000000, f, n, n);
  n = sample_eth_tcp(f, "10.0.0.2", 80, "10.0.0.1", 40000, 9, 2, 0x12);
  ng_simple_packet(&c, false, f, n); /* no timestamp: the previous frame's */
  /* A new section, big-endian this time: interface 0 is now raw IP. */
  ng_section(&c, true);
  ng_interface(&c, true, 101, 0, 3, 0); /* ms */
  n = cb_tcp(f, "10.0.0.1", 40000, "10.0.0.2", 80, 2, 10, 0x10, 0);
  ng_old_packet(&c, true, 0, T0 * 1000 + 5, f, n);
  st_collect col;
  pcap_session_result r = replay(&c, NULL, &col);
  cr_assert_eq(r.status, 0, "%s", r.error);
  const st_event *e = find(&col, ST_EV_CONNECT, "10.0.0.1", 40000);
  cr_assert(e, "the handshake across blocks and sections");
  cr_expect_eq(e->status.code, ST_OK);
  cr_expect_eq(e->ts_ns, T0 * SEC + 5000000, "ms resolution in the second section");
  e = find(&col, ST_EV_ACCEPT_ADDR, "10.0.0.2", 80);
  cr_assert(e);
  st_collect_free(&col);
  capbuf_free(&c);
}

Test(pcapng, impossible_packet_blocks_are_skipped_and_counted) {
  capbuf c = {0};
  uint8_t f[256];
  ng_section(&c, false);
  ng_interface(&c, false, 1, 0, -1, 0);
  size_t n = sample_eth_tcp(f, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02);
  ng_packet(&c, false, 7, T0 * 1000000, f, n, n); /* interface 7 was never described */
  uint8_t body[20] = {0};
  body[12] = 200; /* caplen 200 in a block with no data */
  ng_block(&c, false, 6, body, sizeof body);
  ng_packet(&c, false, 0, T0 * 1000000, f, n, n);
  st_collect col;
  pcap_session_result r = replay(&c, NULL, &col);
  cr_expect_eq(r.status, 0, "%s", r.error);
  cr_expect_eq(r.stats.errors, 2);
  cr_expect(strstr(r.backend_error, "names an interface the section does not describe"), "%s",
            r.backend_error);
  cr_expect_eq(pcap_test_count(col.events, col.count, ST_EV_CONNECT_ADDR), 1, "the good one");
  st_collect_free(&col);
  capbuf_free(&c);
}

Test(pcapng, a_file_cut_short_keeps_what_was_read) {
  capbuf c = {0};
  sample_three_interfaces(&c, false, syn_ends);
  capbuf shb = {0};
  ng_section(&shb, false);
  for (size_t cut = c.len - 1; cut >= shb.len; cut -= 13) {
    capbuf part = {0};
    capbuf_put(&part, c.data, cut);
    st_collect col;
    pcap_session_result r = replay(&part, NULL, &col);
    cr_expect(r.status == ST_EBADMSG || r.status == 0, "cut at %zu: %d", cut, r.status);
    if (r.status)
      cr_expect(strstr(r.error, "is damaged after"), "cut at %zu: %s", cut, r.error);
    cr_expect(col.ended, "cut at %zu: the sinks were ended", cut);
    size_t syns = (cut >= syn_ends[0]) + (cut >= syn_ends[1]);
    cr_expect_eq(pcap_test_count(col.events, col.count, ST_EV_CONNECT_ADDR), syns,
                 "cut at %zu: what was read before the cut", cut);
    st_collect_free(&col);
    capbuf_free(&part);
  }
  capbuf_free(&shb);
  capbuf_free(&c);
}

Test(pcapng, not_pcapng_after_all) {
  capbuf c = {0};
  ng_section(&c, false);
  memcpy(c.data + 8, "\x01\x02\x03\x04", 4); /* no byte-order magic */
  st_collect col;
  pcap_session_result r = replay(&c, NULL, &col);
  cr_expect_eq(r.status, ST_EBADMSG);
  cr_expect(strstr(r.error, "no byte-order magic"), "%s", r.error);
  cr_expect_eq(strchr(r.error, '\n'), NULL, "one line");
  st_collect_free(&col);
  capbuf_free(&c);
}

Test(pcapng, capture_filter_per_link_type) {
  capbuf c = {0};
  sample_three_interfaces(&c, false, syn_ends);
  st_collect col;
  pcap_session_result r = replay(&c, "tcp port 81", &col);
  cr_assert_eq(r.status, 0, "%s", r.error);
  cr_expect_eq(pcap_test_count(col.events, col.count, ST_EV_CONNECT_ADDR), 1);
  cr_expect(find(&col, ST_EV_CONNECT_ADDR, "192.168.1.1", 50000), "only the raw interface's flow");
  cr_expect_eq(pcap_test_count(col.events, col.count, ST_EV_SENDTO_ADDR), 0);
  st_collect_free(&col);
  r = replay(&c, "ether host 02:00:00:00:00:00", &col);
  cr_expect_eq(r.status, ST_EINVAL, "an Ethernet filter cannot apply to the loopback");
  cr_expect(strstr(r.error, "cannot apply to interface 1"), "%s", r.error);
  st_collect_free(&col);
  r = replay(&c, "tcp port eighty", &col);
  cr_expect_eq(r.status, ST_EINVAL);
  cr_expect(strstr(r.error, "bad capture filter 'tcp port eighty'"), "%s", r.error);
  st_collect_free(&col);
  capbuf_free(&c);
}
