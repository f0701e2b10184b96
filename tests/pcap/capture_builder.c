/* Captures the tests write themselves: see capture_builder.h. */
#include "capture_builder.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cb_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

void cb_put32(uint8_t *p, uint32_t v) {
  cb_put16(p, (uint16_t)(v >> 16));
  cb_put16(p + 2, (uint16_t)v);
}

static bool is_v6(const char *addr) {
  return strchr(addr, ':') != NULL;
}

size_t cb_ipv4(uint8_t *b, const char *src, const char *dst, uint8_t proto, size_t l4len) {
  memset(b, 0, 20);
  b[0] = 0x45;
  cb_put16(b + 2, (uint16_t)(20 + l4len));
  b[8] = 64;
  b[9] = proto;
  inet_pton(AF_INET, src, b + 12);
  inet_pton(AF_INET, dst, b + 16);
  return 20;
}

size_t cb_ipv6(uint8_t *b, const char *src, const char *dst, uint8_t proto, size_t l4len) {
  memset(b, 0, 40);
  b[0] = 0x60;
  cb_put16(b + 4, (uint16_t)l4len);
  b[6] = proto;
  b[7] = 64;
  inet_pton(AF_INET6, src, b + 8);
  inet_pton(AF_INET6, dst, b + 24);
  return 40;
}

static size_t ip_header(uint8_t *b, const char *src, const char *dst, uint8_t proto, size_t l4len) {
  return is_v6(src) ? cb_ipv6(b, src, dst, proto, l4len) : cb_ipv4(b, src, dst, proto, l4len);
}

size_t cb_tcp(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
              uint32_t seq, uint32_t ack, uint8_t flags, size_t plen) {
  size_t o = ip_header(b, src, dst, 6, 20 + plen);
  uint8_t *t = b + o;
  memset(t, 0, 20 + plen);
  cb_put16(t, sport);
  cb_put16(t + 2, dport);
  cb_put32(t + 4, seq);
  cb_put32(t + 8, ack);
  t[12] = 5 << 4;
  t[13] = flags;
  cb_put16(t + 14, 65535);
  return o + 20 + plen;
}

size_t cb_udp(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
              const uint8_t *payload, size_t plen) {
  size_t o = ip_header(b, src, dst, 17, 8 + plen);
  uint8_t *u = b + o;
  cb_put16(u, sport);
  cb_put16(u + 2, dport);
  cb_put16(u + 4, (uint16_t)(8 + plen));
  cb_put16(u + 6, 0);
  memmove(u + 8, payload, plen);
  return o + 8 + plen;
}

size_t cb_icmp4_unreach(uint8_t *b, const char *src, const char *dst, uint8_t code,
                        const uint8_t *pkt) {
  size_t o = cb_ipv4(b, src, dst, 1, 8 + 28);
  uint8_t *i = b + o;
  memset(i, 0, 8);
  i[0] = 3;
  i[1] = code;
  memcpy(i + 8, pkt, 28);
  return o + 8 + 28;
}

size_t cb_eth(uint8_t *b, uint16_t type, const uint8_t *l3, size_t len) {
  memmove(b + 14, l3, len);
  memset(b, 0, 12);
  b[0] = 0x02;
  b[6] = 0x02;
  cb_put16(b + 12, type);
  return 14 + len;
}

size_t cb_mpls(uint8_t *b, const uint32_t *labels, size_t n, const uint8_t *inner, size_t len) {
  memmove(b + 4 * n, inner, len);
  for (size_t i = 0; i < n; i++)
    cb_put32(b + 4 * i, labels[i] << 12 | (i + 1 == n ? 0x100u : 0) | 64);
  return 4 * n + len;
}

size_t cb_gre(uint8_t *b, uint16_t type, int64_t key, int64_t seq, const uint8_t *inner,
              size_t len) {
  size_t hl = 4 + (key >= 0 ? 4 : 0) + (seq >= 0 ? 4 : 0);
  memmove(b + hl, inner, len);
  cb_put16(b, (uint16_t)((key >= 0 ? 0x2000 : 0) | (seq >= 0 ? 0x1000 : 0)));
  cb_put16(b + 2, type);
  size_t o = 4;
  if (key >= 0) {
    cb_put32(b + o, (uint32_t)key);
    o += 4;
  }
  if (seq >= 0)
    cb_put32(b + o, (uint32_t)seq);
  return hl + len;
}

size_t cb_vxlan(uint8_t *b, uint32_t vni, const uint8_t *inner, size_t len) {
  memmove(b + 8, inner, len);
  memset(b, 0, 8);
  b[0] = 0x08;
  cb_put32(b + 4, vni << 8);
  return 8 + len;
}

size_t cb_geneve(uint8_t *b, uint32_t vni, uint16_t type, size_t optlen, const uint8_t *inner,
                 size_t len) {
  size_t hl = 8 + optlen;
  memmove(b + hl, inner, len);
  memset(b, 0, hl);
  b[0] = (uint8_t)(optlen / 4);
  cb_put16(b + 2, type);
  cb_put32(b + 4, vni << 8);
  if (optlen >= 4) { /* one option: class 0x0102, type 0x80, its length in words */
    cb_put16(b + 8, 0x0102);
    b[10] = 0x80;
    b[11] = (uint8_t)(optlen / 4 - 1);
  }
  return hl + len;
}

/* ---- files */

void capbuf_put(capbuf *c, const void *p, size_t n) {
  if (c->len + n > c->cap) {
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < c->len + n)
      cap *= 2;
    c->data = realloc(c->data, cap);
    if (!c->data)
      abort();
    c->cap = cap;
  }
  memcpy(c->data + c->len, p, n);
  c->len += n;
}

void capbuf_free(capbuf *c) {
  free(c->data);
  memset(c, 0, sizeof *c);
}

bool capbuf_save(const capbuf *c, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return false;
  bool ok = fwrite(c->data, 1, c->len, f) == c->len;
  return fclose(f) == 0 && ok;
}

static void put_le32(capbuf *c, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  capbuf_put(c, b, 4);
}

void pcap_file_header(capbuf *c, uint32_t linktype) {
  put_le32(c, 0xa1b2c3d4);
  put_le32(c, 2 | 4u << 16); /* version 2.4 */
  put_le32(c, 0);
  put_le32(c, 0);
  put_le32(c, 262144);
  put_le32(c, linktype);
}

void pcap_record(capbuf *c, uint64_t ts_ns, const uint8_t *frame, size_t len) {
  put_le32(c, (uint32_t)(ts_ns / 1000000000u));
  put_le32(c, (uint32_t)(ts_ns % 1000000000u / 1000u));
  put_le32(c, (uint32_t)len);
  put_le32(c, (uint32_t)len);
  capbuf_put(c, frame, len);
}

static void put_u16(capbuf *c, bool big, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(big ? v >> 8 : v), (uint8_t)(big ? v : v >> 8)};
  capbuf_put(c, b, 2);
}

static void put_u32(capbuf *c, bool big, uint32_t v) {
  if (big) {
    put_u16(c, true, (uint16_t)(v >> 16));
    put_u16(c, true, (uint16_t)v);
  } else {
    put_u16(c, false, (uint16_t)v);
    put_u16(c, false, (uint16_t)(v >> 16));
  }
}

static void pad4(capbuf *c, size_t n) {
  static const uint8_t zero[4];
  capbuf_put(c, zero, (4 - n % 4) % 4);
}

/* A block whose body the caller wrote after *start: its lengths. */
static size_t block_open(capbuf *c, bool big, uint32_t type) {
  size_t start = c->len;
  put_u32(c, big, type);
  put_u32(c, big, 0); /* patched by block_close */
  return start;
}

static void block_close(capbuf *c, bool big, size_t start) {
  uint32_t total = (uint32_t)(c->len - start + 4);
  put_u32(c, big, total);
  capbuf tmp = {0};
  put_u32(&tmp, big, total);
  memcpy(c->data + start + 4, tmp.data, 4);
  capbuf_free(&tmp);
}

void ng_section(capbuf *c, bool big) {
  size_t s = block_open(c, big, 0x0A0D0D0A);
  put_u32(c, big, 0x1A2B3C4D);
  put_u16(c, big, 1);
  put_u16(c, big, 0);
  put_u32(c, big, 0xffffffff); /* section length unknown */
  put_u32(c, big, 0xffffffff);
  put_u16(c, big, 4); /* shb_userappl */
  put_u16(c, big, 9);
  capbuf_put(c, "socktrace", 9);
  pad4(c, 9);
  put_u32(c, big, 0); /* opt_endofopt */
  block_close(c, big, s);
}

void ng_interface(capbuf *c, bool big, uint16_t linktype, uint32_t snaplen, int tsresol,
                  int64_t tsoffset) {
  size_t s = block_open(c, big, 1);
  put_u16(c, big, linktype);
  put_u16(c, big, 0);
  put_u32(c, big, snaplen);
  put_u16(c, big, 2); /* if_name */
  put_u16(c, big, 3);
  capbuf_put(c, "if0", 3);
  pad4(c, 3);
  if (tsresol >= 0) {
    uint8_t v = (uint8_t)tsresol;
    put_u16(c, big, 9);
    put_u16(c, big, 1);
    capbuf_put(c, &v, 1);
    pad4(c, 1);
  }
  if (tsoffset) {
    put_u16(c, big, 14);
    put_u16(c, big, 8);
    uint64_t v = (uint64_t)tsoffset;
    put_u32(c, big, (uint32_t)(big ? v >> 32 : v));
    put_u32(c, big, (uint32_t)(big ? v : v >> 32));
  }
  put_u32(c, big, 0);
  block_close(c, big, s);
}

/* Timestamp, captured and wire lengths, then the frame, padded: the tail
 * the enhanced and the obsolete packet blocks share. */
static void put_stamped_frame(capbuf *c, bool big, uint64_t ts, const uint8_t *frame, size_t caplen,
                              size_t len) {
  put_u32(c, big, (uint32_t)(ts >> 32));
  put_u32(c, big, (uint32_t)ts);
  put_u32(c, big, (uint32_t)caplen);
  put_u32(c, big, (uint32_t)len);
  capbuf_put(c, frame, caplen);
  pad4(c, caplen);
}

void ng_packet(capbuf *c, bool big, uint32_t iface, uint64_t ts, const uint8_t *frame,
               size_t caplen, size_t len) {
  size_t s = block_open(c, big, 6);
  put_u32(c, big, iface);
  put_stamped_frame(c, big, ts, frame, caplen, len);
  put_u16(c, big, 2); /* epb_flags: inbound */
  put_u16(c, big, 4);
  put_u32(c, big, 1);
  put_u32(c, big, 0);
  block_close(c, big, s);
}

void ng_simple_packet(capbuf *c, bool big, const uint8_t *frame, size_t len) {
  size_t s = block_open(c, big, 3);
  put_u32(c, big, (uint32_t)len);
  capbuf_put(c, frame, len);
  pad4(c, len);
  block_close(c, big, s);
}

void ng_old_packet(capbuf *c, bool big, uint16_t iface, uint64_t ts, const uint8_t *frame,
                   size_t len) {
  size_t s = block_open(c, big, 2);
  put_u16(c, big, iface);
  put_u16(c, big, 0); /* drops */
  put_stamped_frame(c, big, ts, frame, len, len);
  block_close(c, big, s);
}

void ng_block(capbuf *c, bool big, uint32_t type, const uint8_t *body, size_t len) {
  size_t s = block_open(c, big, type);
  capbuf_put(c, body, len);
  pad4(c, len);
  block_close(c, big, s);
}
