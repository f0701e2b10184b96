/*
 * Stateless packet decoding for the pcap backend: link layer -> IPv4/IPv6
 * -> TCP/UDP/ICMP headers, and the header quoted inside an ICMP error.
 * Tunnels (MPLS, GRE, VXLAN, Geneve, IP-in-IP; encap.c) are opened on the
 * way: the packet decoded is the innermost one, and the layers it came
 * through are listed in pkt_info.encap.
 *
 * Everything here reads only the bytes it is given, bounds-checks every
 * access and never allocates: it must survive any input (fuzzed). Checksums
 * are never verified (captures taken on the sending host carry bad ones).
 */
#ifndef ST_PCAP_DECODE_H
#define ST_PCAP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  PKT_IPPROTO_ICMP = 1,
  PKT_IPPROTO_IPIP = 4,
  PKT_IPPROTO_TCP = 6,
  PKT_IPPROTO_UDP = 17,
  PKT_IPPROTO_IPV6 = 41,
  PKT_IPPROTO_GRE = 47,
  PKT_IPPROTO_ICMPV6 = 58,
};

/* Tunnels opened at most, outermost first; a packet nested deeper is
 * PKT_UNSUPPORTED. */
#define PKT_MAX_ENCAP 4

typedef enum pkt_encap_kind {
  PKT_ENCAP_MPLS = 1, /* id: top label, id2: bottom label, n: labels */
  PKT_ENCAP_GRE,      /* id: key (has_id when present) */
  PKT_ENCAP_VXLAN,    /* id: VNI */
  PKT_ENCAP_GENEVE,   /* id: VNI */
  PKT_ENCAP_IPIP,     /* IPv4 or IPv6 in IPv4 or IPv6: outer/inner family */
  PKT_ENCAP_ERSPAN,   /* id: session (type II/III) */
} pkt_encap_kind;

typedef struct pkt_encap {
  uint8_t kind;         /* pkt_encap_kind */
  uint8_t outer, inner; /* IPIP: ST_FAMILY_INET / ST_FAMILY_INET6 */
  uint8_t n;
  bool has_id;
  uint32_t id, id2;
} pkt_encap;

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
  /* Tunnels the packet came through, outermost first. tunnel identifies
   * the innermost tunnel that is the same both ways (VNI, GRE key, kind),
   * 0 when none: a flow is keyed by it, so that the same addresses in two
   * overlays (or a packet seen both inside and outside its tunnel) are
   * different flows. MPLS labels change hop by hop and are left out. */
  uint8_t nencap;
  pkt_encap encap[PKT_MAX_ENCAP];
  uint32_t tunnel;
} pkt_info;

/* Decodes a frame of the given link type (a DLT value as pcap_datalink()
 * returns it, or a LINKTYPE number): link layer, tunnels, IP, transport. */
pkt_verdict pkt_decode_frame(int linktype, const uint8_t *frame, uint32_t caplen, pkt_info *out);

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

/* "vxlan vni=42", "mpls label=16 > gre key=5": the tunnels of a packet,
 * outermost first; "" when none. */
void pkt_encap_format(const pkt_info *p, char *buf, size_t len);

/* Between decode.c and encap.c: the rest of a packet from its Ethernet
 * type (VLAN tags, PPPoE and MPLS included), or an IP packet, decoded into
 * out without clearing it (encap.c clears what a tunnel hides, and keeps
 * the tunnels). */
pkt_verdict pkt_decode_ethertype(uint16_t type, const uint8_t *p, uint32_t caplen, pkt_info *out);
pkt_verdict pkt_decode_inner_ip(const uint8_t *p, uint32_t caplen, pkt_info *out);
/* Opens the tunnel a transport header of protocol proto starts (IP-in-IP,
 * GRE) or a UDP payload (caplen of len bytes) to port dport carries
 * (VXLAN, Geneve), and decodes
 * what is inside into out. False when it is no tunnel we know: the caller
 * then decodes the header as it is. */
bool pkt_decap_ip_proto(uint8_t proto, const uint8_t *p, uint32_t caplen, pkt_info *out,
                        pkt_verdict *v);
bool pkt_decap_udp(uint16_t dport, const uint8_t *p, uint32_t caplen, uint32_t len, pkt_info *out,
                   pkt_verdict *v);
/* An MPLS label stack and the IP packet under it. */
pkt_verdict pkt_decap_mpls(const uint8_t *p, uint32_t caplen, pkt_info *out);

#endif
