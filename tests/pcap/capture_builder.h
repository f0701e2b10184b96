/*
 * Captures the tests write themselves: frames byte by byte (IPv4/IPv6,
 * TCP, UDP, ICMP, Ethernet, and the tunnels around them) and the files
 * around frames (classic pcap, pcapng in either byte order with any
 * blocks). Shared by the pcap suites and the fuzzers' seed writer, so a
 * seed is exactly what a test reads. Checksums are left 0: the decoder
 * never checks them.
 */
#ifndef ST_CAPTURE_BUILDER_H
#define ST_CAPTURE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- frames: each writes at b and returns the length written */

void cb_put16(uint8_t *p, uint16_t v);
void cb_put32(uint8_t *p, uint32_t v);

/* An IPv4 / IPv6 header for l4len bytes of protocol proto. */
size_t cb_ipv4(uint8_t *b, const char *src, const char *dst, uint8_t proto, size_t l4len);
size_t cb_ipv6(uint8_t *b, const char *src, const char *dst, uint8_t proto, size_t l4len);
/* IP + TCP (+ plen zero bytes of payload); the family follows the addresses. */
size_t cb_tcp(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
              uint32_t seq, uint32_t ack, uint8_t flags, size_t plen);
/* IP + UDP + payload. */
size_t cb_udp(uint8_t *b, const char *src, uint16_t sport, const char *dst, uint16_t dport,
              const uint8_t *payload, size_t plen);
/* IPv4 + ICMP destination unreachable quoting the first 28 bytes of pkt. */
size_t cb_icmp4_unreach(uint8_t *b, const char *src, const char *dst, uint8_t code,
                        const uint8_t *pkt);
/* An Ethernet frame of the given type around l3. */
size_t cb_eth(uint8_t *b, uint16_t type, const uint8_t *l3, size_t len);

/* ---- tunnels around a packet (inner) of len bytes */

/* An MPLS label stack of n labels (the last one bottom of stack). */
size_t cb_mpls(uint8_t *b, const uint32_t *labels, size_t n, const uint8_t *inner, size_t len);
/* A GRE header (version 0) of protocol type; key and seq when >= 0. */
size_t cb_gre(uint8_t *b, uint16_t type, int64_t key, int64_t seq, const uint8_t *inner,
              size_t len);
/* A VXLAN header for an inner Ethernet frame (the UDP payload). */
size_t cb_vxlan(uint8_t *b, uint32_t vni, const uint8_t *inner, size_t len);
/* A Geneve header of protocol type with optlen bytes of options. */
size_t cb_geneve(uint8_t *b, uint32_t vni, uint16_t type, size_t optlen, const uint8_t *inner,
                 size_t len);

/* ---- files */

typedef struct capbuf {
  uint8_t *data;
  size_t len, cap;
} capbuf;

void capbuf_put(capbuf *c, const void *p, size_t n);
void capbuf_free(capbuf *c);
/* Writes the bytes to path; false on failure. */
bool capbuf_save(const capbuf *c, const char *path);

/* Classic pcap: the file header, then records (microsecond timestamps). */
void pcap_file_header(capbuf *c, uint32_t linktype);
void pcap_record(capbuf *c, uint64_t ts_ns, const uint8_t *frame, size_t len);

/* pcapng blocks, in the byte order big says. tsresol < 0 leaves the
 * option out (microseconds); tsoffset 0 leaves it out. */
void ng_section(capbuf *c, bool big);
void ng_interface(capbuf *c, bool big, uint16_t linktype, uint32_t snaplen, int tsresol,
                  int64_t tsoffset);
/* An Enhanced Packet Block; ts in the interface's units. */
void ng_packet(capbuf *c, bool big, uint32_t iface, uint64_t ts, const uint8_t *frame,
               size_t caplen, size_t len);
void ng_simple_packet(capbuf *c, bool big, const uint8_t *frame, size_t len);
/* The obsolete Packet Block (type 2). */
void ng_old_packet(capbuf *c, bool big, uint16_t iface, uint64_t ts, const uint8_t *frame,
                   size_t len);
/* Any other block: its body as given (padded to 4 bytes). */
void ng_block(capbuf *c, bool big, uint32_t type, const uint8_t *body, size_t len);

#endif
