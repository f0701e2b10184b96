/*
 * Packet decoding: link layers, IPv4/IPv6 (with extension headers), TCP,
 * UDP, ICMP and ICMPv6; tunnels are handed to encap.c on the way. Pure
 * functions over a byte range: every read is checked against the captured
 * length first, nothing is allocated, nothing is remembered between calls.
 */
#include "decode.h"

#include <stddef.h>
#include <string.h>

#include "bytes.h"
#include "socktrace/event.h"

enum {
  ETH_IPV4 = 0x0800,
  ETH_IPV6 = 0x86dd,
  ETH_VLAN = 0x8100,
  ETH_QINQ = 0x88a8,
  ETH_QINQ_OLD = 0x9100,
  ETH_PPPOE_SESSION = 0x8864,
  ETH_MPLS = 0x8847,
  ETH_MPLS_MC = 0x8848,
  PPP_IPV4 = 0x0021,
  PPP_IPV6 = 0x0057,
};

/* Link types, as DLT values (what pcap_datalink() returns on this build)
 * and LINKTYPE numbers from file headers where they differ. */
enum {
  LT_NULL = 0,
  LT_EN10MB = 1,
  LT_PPP = 9,
  LT_RAW_12 = 12, /* DLT_RAW on most systems; also LINKTYPE 12 in old files */
  LT_RAW_14 = 14, /* DLT_RAW on OpenBSD */
  LT_PPP_SERIAL = 50,
  LT_PPP_ETHER = 51,
  LT_RAW = 101,
  LT_C_HDLC = 104,
  LT_LOOP = 108,
  LT_LINUX_SLL = 113,
  LT_IPV4 = 228,
  LT_IPV6 = 229,
  LT_LINUX_SLL2 = 276,
};

enum { UDP_VXLAN = 4789, UDP_GENEVE = 6081 };

/* A PPP frame starting at its protocol field (address/control optional). */
static pkt_verdict by_ppp(const uint8_t *p, uint32_t len, pkt_info *out) {
  if (len >= 2 && p[0] == 0xff && p[1] == 0x03) {
    p += 2;
    len -= 2;
  }
  if (len < 1)
    return PKT_TRUNCATED;
  uint16_t proto;
  if (p[0] & 1) { /* protocol-field compression: one byte */
    proto = p[0];
    p += 1;
    len -= 1;
  } else {
    if (len < 2)
      return PKT_TRUNCATED;
    proto = st_be16(p);
    p += 2;
    len -= 2;
  }
  if (proto != PPP_IPV4 && proto != PPP_IPV6)
    return PKT_NOT_IP;
  return pkt_decode_inner_ip(p, len, out);
}

/* PPPoE session header (RFC 2516): ver/type, code, session, length. */
static pkt_verdict by_pppoe(const uint8_t *p, uint32_t len, pkt_info *out) {
  if (len < 6)
    return PKT_TRUNCATED;
  return by_ppp(p + 6, len - 6, out);
}

pkt_verdict pkt_decode_ethertype(uint16_t type, const uint8_t *p, uint32_t len, pkt_info *out) {
  /* Stacked VLAN tags: bounded by the frame, each costs 4 bytes. */
  while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
    if (len < 4)
      return PKT_TRUNCATED;
    type = st_be16(p + 2);
    p += 4;
    len -= 4;
  }
  if (type == ETH_PPPOE_SESSION)
    return by_pppoe(p, len, out);
  if (type == ETH_MPLS || type == ETH_MPLS_MC)
    return pkt_decap_mpls(p, len, out);
  if (type != ETH_IPV4 && type != ETH_IPV6)
    return PKT_NOT_IP;
  return pkt_decode_inner_ip(p, len, out);
}

/* BSD loopback: the address family in the capturing host's byte order
 * (LT_NULL) or in network order (LT_LOOP). IPv6 has several values. */
static bool null_family_is_ip(uint32_t af) {
  return af == 2 || af == 10 || af == 23 || af == 24 || af == 28 || af == 30;
}

/* The network-layer packet of a frame, decoded into out. */
static pkt_verdict by_link(int linktype, const uint8_t *f, uint32_t caplen, pkt_info *out) {
  switch (linktype) {
  case LT_EN10MB:
    if (caplen < 14)
      return PKT_TRUNCATED;
    return pkt_decode_ethertype(st_be16(f + 12), f + 14, caplen - 14, out);
  case LT_NULL:
  case LT_LOOP: {
    if (caplen < 4)
      return PKT_TRUNCATED;
    uint32_t be = st_be32(f);
    uint32_t le = st_le32(f);
    if (!null_family_is_ip(be) && !null_family_is_ip(le))
      return PKT_NOT_IP;
    return pkt_decode_inner_ip(f + 4, caplen - 4, out);
  }
  case LT_RAW_12:
  case LT_RAW_14:
  case LT_RAW:
  case LT_IPV4:
  case LT_IPV6:
    return pkt_decode_inner_ip(f, caplen, out);
  case LT_LINUX_SLL:
    if (caplen < 16)
      return PKT_TRUNCATED;
    return pkt_decode_ethertype(st_be16(f + 14), f + 16, caplen - 16, out);
  case LT_LINUX_SLL2:
    if (caplen < 20)
      return PKT_TRUNCATED;
    return pkt_decode_ethertype(st_be16(f), f + 20, caplen - 20, out);
  case LT_PPP:
  case LT_PPP_SERIAL:
    return by_ppp(f, caplen, out);
  case LT_PPP_ETHER:
    return by_pppoe(f, caplen, out);
  case LT_C_HDLC:
    if (caplen < 4)
      return PKT_TRUNCATED;
    return pkt_decode_ethertype(st_be16(f + 2), f + 4, caplen - 4, out);
  default:
    return PKT_NOT_IP;
  }
}

/* A fresh pkt_info; the tunnel entries past nencap are never read, so the
 * per-frame cost stays that of the fields before them. */
static void clear(pkt_info *out) {
  memset(out, 0, offsetof(pkt_info, encap));
  out->tunnel = 0;
}

pkt_verdict pkt_decode_frame(int linktype, const uint8_t *f, uint32_t caplen, pkt_info *out) {
  clear(out);
  return by_link(linktype, f, caplen, out);
}

pkt_verdict pkt_decode_transport(uint8_t proto, const uint8_t *p, uint32_t caplen, uint32_t len,
                                 pkt_info *out) {
  if (caplen > len)
    caplen = len;
  out->proto = proto;
  uint32_t hl;
  switch (proto) {
  case PKT_IPPROTO_TCP:
    if (len < 20)
      return PKT_MALFORMED;
    if (caplen < 20)
      return PKT_TRUNCATED;
    hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > len)
      return PKT_MALFORMED;
    if (hl > caplen)
      return PKT_TRUNCATED;
    out->sport = st_be16(p);
    out->dport = st_be16(p + 2);
    out->seq = st_be32(p + 4);
    out->ack = st_be32(p + 8);
    out->tcp_flags = p[13];
    break;
  case PKT_IPPROTO_UDP: {
    if (len < 8)
      return PKT_MALFORMED;
    if (caplen < 8)
      return PKT_TRUNCATED;
    hl = 8;
    uint16_t ulen = st_be16(p + 4);
    /* 0 is legal for IPv6 jumbograms; otherwise trust the smaller length. */
    if (ulen != 0) {
      if (ulen < 8)
        return PKT_MALFORMED;
      if (ulen < len) {
        len = ulen;
        if (caplen > len)
          caplen = len;
      }
    }
    out->sport = st_be16(p);
    out->dport = st_be16(p + 2);
    pkt_verdict v;
    if ((out->dport == UDP_VXLAN || out->dport == UDP_GENEVE) &&
        pkt_decap_udp(out->dport, p + 8, caplen - 8, len - 8, out, &v))
      return v;
    break;
  }
  case PKT_IPPROTO_ICMP:
  case PKT_IPPROTO_ICMPV6:
    /* type, code, checksum, and 4 bytes of rest-of-header */
    if (len < 8)
      return PKT_MALFORMED;
    if (caplen < 8)
      return PKT_TRUNCATED;
    hl = 8;
    out->icmp_type = p[0];
    out->icmp_code = p[1];
    break;
  default: {
    pkt_verdict v;
    if (pkt_decap_ip_proto(proto, p, caplen, out, &v))
      return v;
    return PKT_UNSUPPORTED;
  }
  }
  out->payload = p + hl;
  out->payload_len = len - hl;
  out->payload_caplen = caplen - hl;
  return PKT_OK;
}

pkt_verdict pkt_ipv6_walk(const uint8_t *p, uint32_t caplen, uint8_t *next, uint32_t *off,
                          pkt_frag *frag) {
  uint32_t o = *off;
  /* Each header is at least 8 bytes, so the loop ends with the packet. */
  for (;;) {
    switch (*next) {
    case 0:   /* hop-by-hop */
    case 43:  /* routing */
    case 60:  /* destination options */
    case 135: /* mobility */
      if (caplen < o + 2)
        return PKT_TRUNCATED;
      *next = p[o];
      o += 8u + (uint32_t)p[o + 1] * 8u;
      break;
    case 51: /* AH: length in 4-byte units, minus 2 */
      if (caplen < o + 2)
        return PKT_TRUNCATED;
      *next = p[o];
      o += ((uint32_t)p[o + 1] + 2u) * 4u;
      break;
    case 44: { /* fragment */
      if (caplen < o + 8)
        return PKT_TRUNCATED;
      uint16_t offflags = st_be16(p + o + 2);
      frag->next = p[o];
      frag->offset = (uint32_t)(offflags & 0xfff8);
      frag->more = offflags & 1;
      frag->id = st_be32(p + o + 4);
      o += 8;
      if (frag->offset == 0 && !frag->more) { /* atomic fragment: a whole packet */
        *next = frag->next;
        break;
      }
      if (o > caplen)
        return PKT_TRUNCATED;
      frag->data = p + o;
      frag->len = caplen - o;
      *off = o;
      return PKT_FRAGMENT;
    }
    default:
      if (o > caplen)
        return PKT_TRUNCATED;
      *off = o;
      return PKT_OK;
    }
  }
}

/* Reads the IP header into out; sets *l4off, *proto and *l4len (the
 * transport length the header claims). Shared by packets and quotes. */
static pkt_verdict ip_header(const uint8_t *p, uint32_t caplen, bool quoted, pkt_info *out,
                             uint32_t *l4off, uint8_t *proto, uint32_t *l4len) {
  if (caplen < 1)
    return PKT_TRUNCATED;
  unsigned version = p[0] >> 4;
  if (version == 4) {
    if (caplen < 20)
      return PKT_TRUNCATED;
    uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4;
    uint32_t total = st_be16(p + 2);
    if (hl < 20)
      return PKT_MALFORMED;
    if (hl > caplen)
      return PKT_TRUNCATED;
    /* Segmentation offload on the capturing host can leave 0 here. */
    if (total == 0 && !quoted)
      total = caplen;
    if (total < hl)
      return PKT_MALFORMED;
    out->family = ST_FAMILY_INET;
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    *proto = p[9];
    *l4off = hl;
    *l4len = total - hl;
    uint16_t offflags = st_be16(p + 6);
    if ((offflags & 0x3fff) != 0) {
      out->frag.id = st_be16(p + 4);
      out->frag.offset = (uint32_t)(offflags & 0x1fff) * 8;
      out->frag.more = (offflags & 0x2000) != 0;
      out->frag.next = p[9];
      out->frag.data = p + hl;
      uint32_t have = caplen < total ? caplen : total;
      out->frag.len = have - hl;
      out->frag.cut = caplen < total;
      if (quoted && out->frag.offset == 0)
        return PKT_OK; /* a first fragment still carries the ports */
      return PKT_FRAGMENT;
    }
    return PKT_OK;
  }
  if (version == 6) {
    if (caplen < 40)
      return PKT_TRUNCATED;
    uint32_t plen = st_be16(p + 4);
    if (plen == 0 && !quoted) /* jumbogram or offload: use what is there */
      plen = caplen - 40;
    out->family = ST_FAMILY_INET6;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    uint8_t next = p[6];
    uint32_t off = 40;
    uint32_t end = 40 + plen;
    uint32_t lim = caplen < end ? caplen : end;
    pkt_verdict v = pkt_ipv6_walk(p, lim, &next, &off, &out->frag);
    if (v == PKT_FRAGMENT) {
      out->frag.cut = caplen < end;
      if (quoted && out->frag.offset == 0) {
        /* the first fragment of a quoted datagram: ports follow */
        *proto = out->frag.next;
        *l4off = off;
        *l4len = end > off ? end - off : 0;
        return PKT_OK;
      }
      return v;
    }
    if (v != PKT_OK)
      return v;
    if (off > end)
      return PKT_MALFORMED;
    *proto = next;
    *l4off = off;
    *l4len = end - off;
    return PKT_OK;
  }
  return PKT_MALFORMED;
}

pkt_verdict pkt_decode_ip(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  clear(out);
  return pkt_decode_inner_ip(p, caplen, out);
}

pkt_verdict pkt_decode_inner_ip(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  uint32_t off, l4len;
  uint8_t proto;
  pkt_verdict v = ip_header(p, caplen, false, out, &off, &proto, &l4len);
  if (v != PKT_OK)
    return v;
  return pkt_decode_transport(proto, p + off, caplen - off, l4len, out);
}

pkt_verdict pkt_decode_quoted(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  memset(out, 0, sizeof *out);
  uint32_t off, l4len;
  uint8_t proto;
  pkt_verdict v = ip_header(p, caplen, true, out, &off, &proto, &l4len);
  if (v != PKT_OK)
    return v;
  out->proto = proto;
  /* RFC 792 / 4443 guarantee at least 8 bytes of the transport header. */
  if (proto != PKT_IPPROTO_TCP && proto != PKT_IPPROTO_UDP)
    return PKT_UNSUPPORTED;
  if (caplen < off + 4)
    return PKT_TRUNCATED;
  out->sport = st_be16(p + off);
  out->dport = st_be16(p + off + 2);
  if (proto == PKT_IPPROTO_TCP && caplen >= off + 8)
    out->seq = st_be32(p + off + 4);
  return PKT_OK;
}
