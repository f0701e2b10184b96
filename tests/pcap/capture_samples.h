/*
 * Sample captures built with capture_builder, shared by the pcap suites and
 * the fuzzers' seed writer (tests/fuzz/pcap_seeds.c): a pcapng with three
 * interfaces of different link types and timestamp resolutions, and one
 * wrapper per kind of tunnel the decoder opens.
 */
#ifndef ST_CAPTURE_SAMPLES_H
#define ST_CAPTURE_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture_builder.h"

#define SAMPLE_T0 1700000000ull /* seconds: the samples' epoch */

/* Link headers before an IPv4 packet; each returns its length. */
size_t sample_null_header(uint8_t *f);
size_t sample_sll_header(uint8_t *f);
size_t sample_sll2_header(uint8_t *f);
/* A link header (link NULL: none) then a TCP segment. */
size_t sample_tcp_frame(uint8_t *f, size_t (*link)(uint8_t *), const char *src, uint16_t sp,
                        const char *dst, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl);
/* An Ethernet frame of a TCP segment. */
size_t sample_eth_tcp(uint8_t *f, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                      uint32_t seq, uint32_t ack, uint8_t fl);

/* Interface 0 Ethernet in ns (a handshake 10.0.0.1:40000 -> 10.0.0.2:80 at
 * SAMPLE_T0 s + 1, 2, 3 ns), 1 the BSD loopback in µs (a datagram
 * 127.0.0.1:5000 -> :6000 at + 10 µs), 2 raw IP in 2^-10 s with an offset
 * of 1000 s (a SYN 192.168.1.1:50000 -> 192.168.1.2:81 at + 0.5 s refused
 * 1/1024 s later); name resolution, custom, decryption-secrets, statistics
 * and unknown blocks between them. syn_ends[i]: where the block of the
 * i-th SYN ends in c. */
void sample_three_interfaces(capbuf *c, bool big, size_t syn_ends[2]);

/* An Ethernet frame carrying ip (IPv4 or IPv6) through a tunnel. */
typedef size_t (*sample_wrap_fn)(uint8_t *f, const uint8_t *ip, size_t len);
typedef struct sample_tunnel {
  const char *name;
  sample_wrap_fn wrap;
  const char *detail; /* what the events say ("ipvX": the inner version) */
} sample_tunnel;
extern const sample_tunnel SAMPLE_TUNNELS[];
extern const size_t SAMPLE_NTUNNELS;
/* ip in VXLAN (UDP 192.0.2.1:51234 -> 192.0.2.2:4789) in Ethernet. */
size_t sample_vxlan(uint8_t *f, uint32_t vni, const uint8_t *ip, size_t len);

#endif
