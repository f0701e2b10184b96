/*
 * Stateless packet decoding for the pcap backend: link layer -> IPv4/IPv6
 * -> TCP/UDP/ICMP headers, and the header quoted inside an ICMP error.
 *
 * Everything here reads only the bytes it is given, bounds-checks every
 * access and never allocates: it must survive any input (fuzzed). Checksums
 * are never verified (captures taken on the sending host carry bad ones).
 */
#ifndef ST_PCAP_DECODE_H
#define ST_PCAP_DECODE_H

#include <stdbool.h>
#include <stdint.h>

enum {
  PKT_IPPROTO_ICMP = 1,
  PKT_IPPROTO_TCP = 6,
  PKT_IPPROTO_UDP = 17,
  PKT_IPPROTO_ICMPV6 = 58,
};

enum {
  PKT_TH_FIN = 0x01,
  PKT_TH_SYN = 0x02,
  PKT_TH_RST = 0x04,
  PKT_TH_PSH = 0x08,
  PKT_TH_ACK = 0x10,
};

/* Decoder verdicts. */
typedef enum pkt_verdict {
  PKT_OK = 0,
  PKT_NOT_IP,     /* a frame we do not derive events from (ARP, STP, ...) */
  PKT_TRUNCATED,  /* headers cut by the snap length */
  PKT_MALFORMED,  /* lengths or fields that cannot be right */
  PKT_FRAGMENT,   /* an IP fragment: see pkt_info.frag */
  PKT_UNSUPPORTED /* IP, but a protocol we do not track */
} pkt_verdict;

/* An IP fragment, as found in the packet. */
typedef struct pkt_frag {
  uint32_t id;
  uint32_t offset; /* bytes */
  bool more;
  bool cut;     /* the capture holds less than the fragment */
  uint8_t next; /* protocol of the reassembled payload */
  const uint8_t *data;
  uint32_t len;
} pkt_frag;

/* One decoded IP packet. Pointers point into the caller's buffer. */
typedef struct pkt_info {
  uint8_t family; /* ST_FAMILY_INET / ST_FAMILY_INET6 */
  uint8_t proto;  /* IANA protocol of the transport header */
  uint8_t src[16], dst[16];
  uint16_t sport, dport;
  /* TCP */
  uint32_t seq, ack;
  uint8_t tcp_flags;
  /* ICMP / ICMPv6 */
  uint8_t icmp_type, icmp_code;
  /* Transport payload: len is what the packet says it carries, caplen what
   * the capture holds (caplen <= len). */
  const uint8_t *payload;
  uint32_t payload_len, payload_caplen;
  pkt_frag frag;
} pkt_info;

/* Finds the network-layer packet in a frame of the given link type (a DLT
 * value as pcap_datalink() returns it, or a LINKTYPE number). Returns
 * PKT_OK and sets *l3 / *l3len, PKT_NOT_IP, or PKT_TRUNCATED. */
pkt_verdict pkt_decode_link(int linktype, const uint8_t *frame, uint32_t caplen, const uint8_t **l3,
                            uint32_t *l3len);

/* Decodes an IPv4 or IPv6 packet and its transport header. */
pkt_verdict pkt_decode_ip(const uint8_t *p, uint32_t caplen, pkt_info *out);

/* Decodes a transport header of protocol proto whose IP header was already
 * read into out (family, src, dst); used for reassembled datagrams. len is
 * the wire length, caplen what is present. */
pkt_verdict pkt_decode_transport(uint8_t proto, const uint8_t *p, uint32_t caplen, uint32_t len,
                                 pkt_info *out);

/* Walks IPv6 extension headers starting at p with next header *next; on
 * PKT_OK, *off is the offset of the transport header and *next its
 * protocol. A fragment header fills frag and returns PKT_FRAGMENT. */
pkt_verdict pkt_ipv6_walk(const uint8_t *p, uint32_t caplen, uint8_t *next, uint32_t *off,
                          pkt_frag *frag);

/* Reads the IP header (+ the first 8 bytes of transport) quoted in an ICMP
 * destination-unreachable message. Only family, proto, addresses and ports
 * are filled. */
pkt_verdict pkt_decode_quoted(const uint8_t *p, uint32_t caplen, pkt_info *out);

#endif
