/*
 * Tunnels on frames the tests build: MPLS label stacks, GRE (key,
 * sequence, Ethernet inside, ERSPAN), VXLAN, Geneve (options), IPv4/IPv6
 * in IPv4/IPv6, nested tunnels, the depth bound, tunnels cut short, and
 * that the inner flow is what gets events, each saying how it travelled.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "capture_builder.h"
#include "capture_samples.h"
#include "pcap_testutil.h"

#define SEC 1000000000ull

/* A whole TCP connection (handshake, data, FIN both ways) through a tunnel. */
static void connection(rig *r, sample_wrap_fn wrap, const char *c, const char *s) {
  struct {
    bool from_client;
    uint32_t seq, ack;
    uint8_t flags;
    size_t plen;
  } segs[] = {{true, 100, 0, 0x02, 0},   {false, 500, 101, 0x12, 0}, {true, 101, 501, 0x10, 0},
              {true, 101, 501, 0x18, 5}, {false, 501, 106, 0x11, 0}, {true, 106, 502, 0x11, 0},
              {false, 502, 107, 0x10, 0}};
  for (size_t i = 0; i < sizeof segs / sizeof segs[0]; i++) {
    uint8_t ip[256], f[2048];
    size_t n =
        segs[i].from_client
            ? cb_tcp(ip, c, 40000, s, 80, segs[i].seq, segs[i].ack, segs[i].flags, segs[i].plen)
            : cb_tcp(ip, s, 80, c, 40000, segs[i].seq, segs[i].ack, segs[i].flags, segs[i].plen);
    rig_frame(r, 1, SEC * (i + 1), f, wrap(f, ip, n));
  }
  st_pcap_tracker_finish(r->t);
}

Test(pcap_encap, the_inner_connection_is_what_the_user_means) {
  for (size_t k = 0; k < SAMPLE_NTUNNELS; k++) {
    for (int v6 = 0; v6 < 2; v6++) {
      const char *c = v6 ? "fd00::1" : "10.0.0.1", *s = v6 ? "fd00::2" : "10.0.0.2";
      rig *r = rig_new(NULL);
      connection(r, SAMPLE_TUNNELS[k].wrap, c, s);
      const evlist *l = &r->ev;
      const char *name = SAMPLE_TUNNELS[k].name;
      char want[64];
      snprintf(want, sizeof want, "%s", SAMPLE_TUNNELS[k].detail);
      char *x = strstr(want, "ipvX");
      if (x)
        x[3] = v6 ? '6' : '4';
      cr_expect_eq(pcap_test_count_status(l->ev, l->n, ST_EV_CONNECT, ST_OK), 1, "%s v6=%d", name,
                   v6);
      cr_expect_eq(pcap_test_count(l->ev, l->n, ST_EV_ACCEPT_ADDR), 1, "%s", name);
      cr_expect_eq(pcap_test_count(l->ev, l->n, ST_EV_CLEANUP), 2, "%s: FIN both ways", name);
      cr_expect_eq(pcap_test_count(l->ev, l->n, ST_EV_ENDPOINT_SUMMARY), 2, "%s", name);
      for (size_t i = 0; i < l->n; i++) {
        const st_event *e = &l->ev[i];
        cr_expect(pcap_test_ev_is(e, c, 40000, s, 80) || pcap_test_ev_is(e, s, 80, c, 40000),
                  "%s: event %zu is the inner flow's", name, i);
        cr_expect_str_eq(e->detail, want, "%s: event %zu says how it travelled", name, i);
      }
      const st_event *sum = &l->ev[l->n - 1];
      cr_expect_eq(sum->summary.bytes_sent + l->ev[l->n - 2].summary.bytes_sent, 5, "%s", name);
      st_pcap_tracker_stats st = rig_stats(r);
      cr_expect_eq(st.truncated + st.malformed + st.not_ip + st.unsupported, 0, "%s", name);
      cr_expect_eq(st.udp_flows, 0, "%s: no flow for the tunnel itself", name);
      rig_free(r);
    }
  }
}

Test(pcap_encap, tunnels_cut_short_are_truncated_never_read_beyond) {
  for (size_t k = 0; k < SAMPLE_NTUNNELS; k++) {
    uint8_t ip[128], f[2048];
    size_t n =
        SAMPLE_TUNNELS[k].wrap(f, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0));
    for (size_t cut = 0; cut < n; cut++) {
      rig *r = rig_new(NULL);
      st_pcap_tracker_packet(r->t, 1, SEC, f, (uint32_t)cut, (uint32_t)n);
      cr_expect_eq(r->ev.n, 0, "%s cut at %zu: no event from a partial header",
                   SAMPLE_TUNNELS[k].name, cut);
      cr_expect_eq(rig_stats(r).truncated, 1, "%s cut at %zu", SAMPLE_TUNNELS[k].name, cut);
      rig_free(r);
    }
  }
}

Test(pcap_encap, overlays_keep_their_flows_apart) {
  rig *r = rig_new(NULL);
  uint8_t ip[128], f[2048];
  size_t n = cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0);
  rig_frame(r, 1, SEC, f, sample_vxlan(f, 42, ip, n));
  rig_frame(r, 1, SEC, f, sample_vxlan(f, 43, ip, n)); /* another tenant, same addresses */
  rig_ip(r, SEC, ip, n);                               /* and the same SYN outside any tunnel */
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_CONNECT_ADDR), 3);
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_TCP_RETRANSMIT), 0, "not a retransmit");
  cr_expect_str_eq(r->ev.ev[1].detail, "vxlan vni=43");
  cr_expect_eq(r->ev.ev[2].has & ST_HAS_DETAIL, 0, "the plain SYN says nothing of tunnels");
  rig_free(r);
}

Test(pcap_encap, nesting_is_bounded) {
  uint8_t a[4096], b[4096];
  size_t n = cb_tcp(a, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0);
  for (int depth = 1; depth <= 6; depth++) {
    size_t h = cb_ipv4(b, "203.0.113.1", "203.0.113.2", 4, n);
    memcpy(b + h, a, n);
    n += h;
    memcpy(a, b, n);
    rig *r = rig_new(NULL);
    rig_ip(r, SEC, a, n);
    cr_expect_eq(r->ev.n, depth <= 4 ? 1 : 0, "depth %d", depth);
    cr_expect_eq(rig_stats(r).unsupported, depth <= 4 ? 0 : 1, "depth %d", depth);
    rig_free(r);
  }
}

Test(pcap_encap, not_quite_a_tunnel_is_an_ordinary_datagram) {
  rig *r = rig_new(NULL);
  uint8_t ip[128];
  const uint8_t no_vni[8] = {0}; /* VXLAN's I flag clear */
  rig_ip(r, SEC, ip, cb_udp(ip, "192.0.2.1", 5000, "192.0.2.2", 4789, no_vni, sizeof no_vni));
  rig_ip(r, SEC, ip, cb_udp(ip, "192.0.2.1", 5000, "192.0.2.2", 6081, (const uint8_t *)"ab", 2));
  cr_expect_eq(pcap_test_count(r->ev.ev, r->ev.n, ST_EV_SENDTO_ADDR), 2);
  rig_free(r);
}

Test(pcap_encap, icmp_inside_a_tunnel_fails_the_inner_datagram) {
  rig *r = rig_new(&(st_pcap_tracker_config){.level = 4});
  uint8_t dgram[128], icmp[256], f[2048];
  size_t n = cb_udp(dgram, "10.0.0.1", 5353, "10.0.0.9", 9999, (const uint8_t *)"hello", 5);
  rig_frame(r, 1, SEC, f, sample_vxlan(f, 42, dgram, n));
  n = cb_icmp4_unreach(icmp, "10.0.0.9", "10.0.0.1", 3, dgram);
  rig_frame(r, 1, 2 * SEC, f, sample_vxlan(f, 42, icmp, n));
  cr_assert_eq(pcap_test_count_status(r->ev.ev, r->ev.n, ST_EV_RECEIVEFROM_ADDR, ST_REFUSED), 1);
  const st_event *e = &r->ev.ev[0];
  cr_expect(strstr(e->detail, "ICMP destination unreachable code 3"), "%s", e->detail);
  cr_expect(strstr(e->detail, "; vxlan vni=42"), "%s", e->detail);
  cr_expect_eq(e->flags & ST_FLAG_MIDSTREAM, 0, "the datagram was seen");
  rig_free(r);
}
