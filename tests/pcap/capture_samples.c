/* Sample captures shared by the pcap suites and the fuzzers' seeds: see
 * capture_samples.h. */
#include "capture_samples.h"

#include <string.h>

#define SEC 1000000000ull

/* Link headers before an IPv4 packet: the header's length. */
size_t sample_null_header(uint8_t *f) { /* BSD loopback, AF_INET in host order */
  memcpy(f, (uint8_t[]){2, 0, 0, 0}, 4);
  return 4;
}

size_t sample_sll_header(uint8_t *f) {
  memset(f, 0, 16);
  cb_put16(f + 2, 1); /* ARPHRD_ETHER */
  cb_put16(f + 4, 6);
  cb_put16(f + 14, 0x0800);
  return 16;
}

size_t sample_sll2_header(uint8_t *f) {
  memset(f, 0, 20);
  cb_put16(f, 0x0800);
  cb_put32(f + 4, 3); /* interface index */
  cb_put16(f + 8, 1);
  f[11] = 6;
  return 20;
}

/* A frame: a link header (or none) then a TCP segment. */
size_t sample_tcp_frame(uint8_t *f, size_t (*link)(uint8_t *), const char *src, uint16_t sp,
                        const char *dst, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl) {
  size_t h = link ? link(f) : 0;
  return h + cb_tcp(f + h, src, sp, dst, dp, seq, ack, fl, 0);
}

size_t sample_eth_tcp(uint8_t *f, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                      uint32_t seq, uint32_t ack, uint8_t fl) {
  uint8_t ip[128];
  return cb_eth(f, 0x0800, ip, cb_tcp(ip, src, sp, dst, dp, seq, ack, fl, 0));
}

/* Three interfaces: Ethernet in ns, the loopback in µs (the default), raw
 * IP in 2^-10 s with an offset of 1000 s; between them the blocks a reader
 * must step over. */
void sample_three_interfaces(capbuf *c, bool big, size_t syn_ends[2]) {
  uint8_t f[256];
  const uint8_t nrb[] = {1, 0, 8, 0, 10, 0, 0, 2, 'w', 'e', 'b', 0, 0, 0, 0, 0};
  ng_section(c, big);
  ng_interface(c, big, 1, 262144, 9, 0);
  ng_block(c, big, 4, nrb, sizeof nrb); /* name resolution */
  ng_interface(c, big, 0, 65535, -1, 0);
  ng_interface(c, big, 101, 65535, 0x80 | 10, 1000);
  uint64_t ns = SAMPLE_T0 * SEC;
  size_t n = sample_eth_tcp(f, "10.0.0.1", 40000, "10.0.0.2", 80, 1, 0, 0x02);
  ng_packet(c, big, 0, ns + 1, f, n, n);
  syn_ends[0] = c->len;
  ng_block(c, big, 0x0BAD, (const uint8_t *)"\0\0\x7f\x00custom", 10); /* custom block */
  n = sample_eth_tcp(f, "10.0.0.2", 80, "10.0.0.1", 40000, 9, 2, 0x12);
  ng_packet(c, big, 0, ns + 2, f, n, n);
  n = sample_eth_tcp(f, "10.0.0.1", 40000, "10.0.0.2", 80, 2, 10, 0x10);
  ng_packet(c, big, 0, ns + 3, f, n, n);
  uint8_t ip[64];
  size_t h = sample_null_header(f);
  n = h + cb_udp(f + h, "127.0.0.1", 5000, "127.0.0.1", 6000, (const uint8_t *)"ping", 4);
  ng_packet(c, big, 1, SAMPLE_T0 * 1000000 + 10, f, n, n);    /* µs */
  ng_block(c, big, 0x0A, (const uint8_t *)"TLSK\0\0\0\0", 8); /* decryption secrets */
  n = cb_tcp(ip, "192.168.1.1", 50000, "192.168.1.2", 81, 7, 0, 0x02, 0);
  ng_packet(c, big, 2, (SAMPLE_T0 - 1000) * 1024 + 512, ip, n, n); /* SAMPLE_T0 + 0.5 s */
  syn_ends[1] = c->len;
  n = cb_tcp(ip, "192.168.1.2", 81, "192.168.1.1", 50000, 0, 8, 0x14, 0);
  ng_packet(c, big, 2, (SAMPLE_T0 - 1000) * 1024 + 513, ip, n, n);
  ng_block(c, big, 5, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0", 12); /* statistics */
  ng_block(c, big, 0x7777, (const uint8_t *)"future", 6);               /* unknown */
}

enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_TEB = 0x6558, ETH_MPLS = 0x8847 };

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

size_t sample_vxlan(uint8_t *f, uint32_t vni, const uint8_t *ip, size_t len) {
  uint8_t in[2048], v[2048], u[2048];
  size_t n = cb_vxlan(v, vni, in, cb_eth(in, ethertype_of(ip), ip, len));
  return cb_eth(f, ETH_IPV4, u, cb_udp(u, "192.0.2.1", 51234, "192.0.2.2", 4789, v, n));
}

static size_t wrap_vxlan(uint8_t *f, const uint8_t *ip, size_t len) {
  return sample_vxlan(f, 42, ip, len);
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
  size_t n = sample_vxlan(v, 42, ip, len) - 14; /* its IPv4 packet, without Ethernet */
  memmove(v, v + 14, n);
  n = cb_gre(g, ETH_IPV4, 1, -1, v, n);
  size_t h = cb_ipv4(o, "198.51.100.1", "198.51.100.2", 47, n);
  memcpy(o + h, g, n);
  static const uint32_t label = 16;
  return cb_eth(f, ETH_MPLS, m, cb_mpls(m, &label, 1, o, h + n));
}

const sample_tunnel SAMPLE_TUNNELS[] = {
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
const size_t SAMPLE_NTUNNELS = sizeof SAMPLE_TUNNELS / sizeof SAMPLE_TUNNELS[0];
