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
#include "pcap_testutil.h"

#define SEC 1000000000ull

enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_TEB = 0x6558, ETH_MPLS = 0x8847 };

/* Builds the tunnelled frame around an inner IP packet; returns its length. */
typedef size_t (*wrap_fn)(uint8_t *f, const uint8_t *ip, size_t len);

static uint16_t ethertype_of(const uint8_t *ip) {
  return (ip[0] >> 4) == 6 ? ETH_IPV6 : ETH_IPV4;
}

static size_t wrap_mpls2(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t m[2048];
  static const uint32_t labels[] = {16, 17};
  return cb_eth(f, ETH_MPLS, m, cb_mpls(m, labels, 2, ip, len));
}

static size_t wrap_mpls_pw(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t in[2048], m[2048];
  size_t n = cb_eth(in + 4, ethertype_of(ip), ip, len);
  memset(in, 0, 4); /* the pseudowire control word */
  static const uint32_t labels[] = {100, 200, 300};
  return cb_eth(f, ETH_MPLS, m, cb_mpls(m, labels, 3, in, n + 4));
}

static size_t wrap_gre_key(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t g[2048], o[2048];
  size_t n = cb_gre(g, ethertype_of(ip), 5, 77, ip, len);
  size_t h = cb_ipv4(o, "198.51.100.1", "198.51.100.2", 47, n);
  memcpy(o + h, g, n);
  return cb_eth(f, ETH_IPV4, o, h + n);
}

static size_t wrap_gre_ether(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t in[2048], g[2048], o[2048];
  size_t n = cb_gre(g, ETH_TEB, -1, -1, in, cb_eth(in, ethertype_of(ip), ip, len));
  size_t h = cb_ipv6(o, "2001:db8::1", "2001:db8::2", 47, n);
  memcpy(o + h, g, n);
  return cb_eth(f, ETH_IPV6, o, h + n);
}

static size_t wrap_erspan(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t in[2048], g[2048], o[2048];
  size_t n = cb_eth(in + 8, ethertype_of(ip), ip, len);
  memset(in, 0, 8);
  cb_put16(in, 0x1000);     /* version 1 (type II) */
  cb_put16(in + 2, 0x0009); /* session 9 */
  n = cb_gre(g, 0x88be, -1, 1, in, n + 8);
  size_t h = cb_ipv4(o, "198.51.100.1", "198.51.100.2", 47, n);
  memcpy(o + h, g, n);
  return cb_eth(f, ETH_IPV4, o, h + n);
}

static size_t vxlan_around(uint8_t *f, uint32_t vni, const uint8_t *ip, size_t len) {
  uint8_t in[2048], v[2048], u[2048];
  size_t n = cb_vxlan(v, vni, in, cb_eth(in, ethertype_of(ip), ip, len));
  return cb_eth(f, ETH_IPV4, u, cb_udp(u, "192.0.2.1", 51234, "192.0.2.2", 4789, v, n));
}

static size_t wrap_vxlan(uint8_t *f, const uint8_t *ip, size_t len) {
  return vxlan_around(f, 42, ip, len);
}

static size_t wrap_geneve(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t in[2048], v[2048], u[2048];
  size_t n = cb_geneve(v, 7, ETH_TEB, 8, in, cb_eth(in, ethertype_of(ip), ip, len));
  return cb_eth(f, ETH_IPV6, u, cb_udp(u, "2001:db8::a", 40000, "2001:db8::b", 6081, v, n));
}

static size_t wrap_geneve_ip(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t v[2048], u[2048];
  size_t n = cb_geneve(v, 8, ethertype_of(ip), 0, ip, len);
  return cb_eth(f, ETH_IPV4, u, cb_udp(u, "192.0.2.1", 40000, "192.0.2.2", 6081, v, n));
}

static size_t ip_in(uint8_t *f, bool outer_v6, const uint8_t *ip, size_t len) {
  uint8_t o[2048];
  uint8_t proto = (ip[0] >> 4) == 6 ? 41 : 4;
  size_t h = outer_v6 ? cb_ipv6(o, "2001:db8::1", "2001:db8::2", proto, len)
                      : cb_ipv4(o, "203.0.113.1", "203.0.113.2", proto, len);
  memcpy(o + h, ip, len);
  return cb_eth(f, outer_v6 ? ETH_IPV6 : ETH_IPV4, o, h + len);
}

static size_t wrap_ip_in_ipv4(uint8_t *f, const uint8_t *ip, size_t len) {
  return ip_in(f, false, ip, len);
}

static size_t wrap_ip_in_ipv6(uint8_t *f, const uint8_t *ip, size_t len) {
  return ip_in(f, true, ip, len);
}

/* MPLS, then GRE, then VXLAN. */
static size_t wrap_nested(uint8_t *f, const uint8_t *ip, size_t len) {
  uint8_t v[2048], g[2048], o[2048], m[2048];
  size_t n = vxlan_around(v, 42, ip, len) - 14; /* its IPv4 packet, without Ethernet */
  memmove(v, v + 14, n);
  n = cb_gre(g, ETH_IPV4, 1, -1, v, n);
  size_t h = cb_ipv4(o, "198.51.100.1", "198.51.100.2", 47, n);
  memcpy(o + h, g, n);
  static const uint32_t label = 16;
  return cb_eth(f, ETH_MPLS, m, cb_mpls(m, &label, 1, o, h + n));
}

typedef struct tunnel_case {
  const char *name;
  wrap_fn wrap;
  const char *detail;
} tunnel_case;

static const tunnel_case CASES[] = {
    {"mpls", wrap_mpls2, "mpls labels=16/17"},
    {"mpls pseudowire", wrap_mpls_pw, "mpls labels=100/../300"},
    {"gre key", wrap_gre_key, "gre key=5"},
    {"ethernet over gre", wrap_gre_ether, "gre"},
    {"erspan", wrap_erspan, "gre > erspan session=9"},
    {"vxlan", wrap_vxlan, "vxlan vni=42"},
    {"geneve", wrap_geneve, "geneve vni=7"},
    {"geneve ip", wrap_geneve_ip, "geneve vni=8"},
    {"ip in ipv4", wrap_ip_in_ipv4, "ipvX-in-ipv4"}, /* X: the inner packet's version */
    {"ip in ipv6", wrap_ip_in_ipv6, "ipvX-in-ipv6"},
    {"nested", wrap_nested, "mpls label=16 > gre key=1 > vxlan vni=42"},
};

/* A whole TCP connection (handshake, data, FIN both ways) through a tunnel. */
static void connection(rig *r, wrap_fn wrap, const char *c, const char *s) {
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
  for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
    for (int v6 = 0; v6 < 2; v6++) {
      const char *c = v6 ? "fd00::1" : "10.0.0.1", *s = v6 ? "fd00::2" : "10.0.0.2";
      rig *r = rig_new(NULL);
      connection(r, CASES[k].wrap, c, s);
      const evlist *l = &r->ev;
      const char *name = CASES[k].name;
      char want[64];
      snprintf(want, sizeof want, "%s", CASES[k].detail);
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
  for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
    uint8_t ip[128], f[2048];
    size_t n = CASES[k].wrap(f, ip, cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0));
    for (size_t cut = 0; cut < n; cut++) {
      rig *r = rig_new(NULL);
      st_pcap_tracker_packet(r->t, 1, SEC, f, (uint32_t)cut, (uint32_t)n);
      cr_expect_eq(r->ev.n, 0, "%s cut at %zu: no event from a partial header", CASES[k].name, cut);
      cr_expect_eq(rig_stats(r).truncated, 1, "%s cut at %zu", CASES[k].name, cut);
      rig_free(r);
    }
  }
}

Test(pcap_encap, overlays_keep_their_flows_apart) {
  rig *r = rig_new(NULL);
  uint8_t ip[128], f[2048];
  size_t n = cb_tcp(ip, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02, 0);
  rig_frame(r, 1, SEC, f, vxlan_around(f, 42, ip, n));
  rig_frame(r, 1, SEC, f, vxlan_around(f, 43, ip, n)); /* another tenant, same addresses */
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
  rig_frame(r, 1, SEC, f, vxlan_around(f, 42, dgram, n));
  n = cb_icmp4_unreach(icmp, "10.0.0.9", "10.0.0.1", 3, dgram);
  rig_frame(r, 1, 2 * SEC, f, vxlan_around(f, 42, icmp, n));
  cr_assert_eq(pcap_test_count_status(r->ev.ev, r->ev.n, ST_EV_RECEIVEFROM_ADDR, ST_REFUSED), 1);
  const st_event *e = &r->ev.ev[0];
  cr_expect(strstr(e->detail, "ICMP destination unreachable code 3"), "%s", e->detail);
  cr_expect(strstr(e->detail, "; vxlan vni=42"), "%s", e->detail);
  cr_expect_eq(e->flags & ST_FLAG_MIDSTREAM, 0, "the datagram was seen");
  rig_free(r);
}
