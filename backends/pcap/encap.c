/*
 * Tunnels: the packet a user means is the one inside. MPLS label stacks
 * (ethertypes 0x8847/0x8848, Ethernet pseudowires with a control word), GRE
 * (RFC 2784/2890 with checksum, key and sequence; PPTP's enhanced GRE;
 * Ethernet over GRE 0x6558; ERSPAN types I-III), VXLAN (UDP 4789),
 * Geneve (UDP 6081, options skipped) and IPv4/IPv6 in IPv4/IPv6 (IP
 * protocols 4 and 41). Each opened tunnel is one entry of pkt_info.encap,
 * at most PKT_MAX_ENCAP deep, so a packet of nested tunnels ends.
 *
 * Like decode.c: reads only the bytes given, checks every length, keeps
 * nothing between calls. Checksums are never verified.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "decode.h"
#include "socktrace/event.h"

enum {
  ETH_IPV4 = 0x0800,
  ETH_IPV6 = 0x86dd,
  ETH_TEB = 0x6558, /* transparent Ethernet bridging: Ethernet inside */
  ETH_MPLS = 0x8847,
  ETH_MPLS_MC = 0x8848,
  ETH_PPP = 0x880b,
  ETH_ERSPAN_2 = 0x88be, /* type I without a sequence number, II with */
  ETH_ERSPAN_3 = 0x22eb,
  GRE_C = 0x8000,
  GRE_R = 0x4000,
  GRE_K = 0x2000,
  GRE_S = 0x1000,
  GRE_A = 0x0080, /* version 1: acknowledgement number present */
  UDP_VXLAN = 4789,
  UDP_GENEVE = 6081,
};

/* Enters a tunnel: the packet around it is forgotten, its tunnels kept.
 * False (and PKT_UNSUPPORTED) when the packet is nested too deep. */
static bool enter(pkt_info *out, const pkt_encap *e, pkt_verdict *v) {
  if (out->nencap >= PKT_MAX_ENCAP) {
    *v = PKT_UNSUPPORTED;
    return false;
  }
  uint8_t family = out->family;
  memset(out, 0, offsetof(pkt_info, nencap));
  out->encap[out->nencap] = *e;
  out->encap[out->nencap].outer = e->outer ? e->outer : family;
  out->nencap++;
  if (e->kind != PKT_ENCAP_MPLS) /* labels change hop by hop: not an identity */
    out->tunnel = (uint32_t)e->kind << 24 ^ (e->id & 0xffffff) ^ (e->id >> 24);
  return true;
}

/* An Ethernet frame inside a tunnel. */
static pkt_verdict inner_ether(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  if (caplen < 14)
    return PKT_TRUNCATED;
  return pkt_decode_ethertype(st_be16(p + 12), p + 14, caplen - 14, out);
}

/* What a GRE, ERSPAN or Geneve protocol type says is inside. */
static pkt_verdict by_protocol(uint16_t type, const uint8_t *p, uint32_t caplen, pkt_info *out) {
  if (type == ETH_TEB)
    return inner_ether(p, caplen, out);
  return pkt_decode_ethertype(type, p, caplen, out);
}

pkt_verdict pkt_decap_mpls(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  pkt_encap e = {.kind = PKT_ENCAP_MPLS, .has_id = true};
  uint32_t off = 0;
  for (;;) { /* each label costs 4 bytes: the frame bounds the stack */
    if (caplen < off + 4)
      return PKT_TRUNCATED;
    uint32_t entry = st_be32(p + off);
    off += 4;
    if (e.n == 0)
      e.id = entry >> 12;
    e.id2 = entry >> 12;
    if (e.n < 255)
      e.n++;
    if (entry & 0x100) /* bottom of stack */
      break;
  }
  pkt_verdict v;
  if (!enter(out, &e, &v))
    return v;
  if (caplen < off + 1)
    return PKT_TRUNCATED;
  switch (p[off] >> 4) {
  case 4:
  case 6:
    return pkt_decode_inner_ip(p + off, caplen - off, out);
  case 0: /* a pseudowire control word, then an Ethernet frame (RFC 4448) */
    if (caplen < off + 4)
      return PKT_TRUNCATED;
    return inner_ether(p + off + 4, caplen - off - 4, out);
  default:
    return PKT_NOT_IP;
  }
}

/* ERSPAN's own header, then the mirrored Ethernet frame. */
static pkt_verdict erspan(uint16_t type, bool seq, const uint8_t *p, uint32_t caplen,
                          pkt_info *out) {
  pkt_encap e = {.kind = PKT_ENCAP_ERSPAN};
  uint32_t hl = 0;
  if (type == ETH_ERSPAN_3)
    hl = 12;
  else if (seq) /* type II; type I has no header at all */
    hl = 8;
  if (caplen < hl)
    return PKT_TRUNCATED;
  if (hl) {
    e.has_id = true;
    e.id = st_be16(p + 2) & 0x3ff;
    if (type == ETH_ERSPAN_3 && (p[11] & 1)) /* O: a platform sub-header follows */
      hl += 8;
  }
  pkt_verdict v;
  if (!enter(out, &e, &v))
    return v;
  if (caplen < hl)
    return PKT_TRUNCATED;
  return inner_ether(p + hl, caplen - hl, out);
}

static pkt_verdict gre(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  if (caplen < 4)
    return PKT_TRUNCATED;
  uint16_t flags = st_be16(p), type = st_be16(p + 2);
  unsigned version = flags & 7;
  pkt_encap e = {.kind = PKT_ENCAP_GRE};
  uint32_t off = 4;
  if (version == 0) {
    if (flags & GRE_R)
      return PKT_UNSUPPORTED; /* RFC 1701 source routing: long obsolete */
    if (flags & GRE_C)
      off += 4;
    if (flags & GRE_K) {
      if (caplen < off + 4)
        return PKT_TRUNCATED;
      e.has_id = true;
      e.id = st_be32(p + off);
      off += 4;
    }
    if (flags & GRE_S)
      off += 4;
  } else if (version == 1) { /* PPTP: the key is payload length and call id */
    if (!(flags & GRE_K) || (flags & (GRE_C | GRE_R)))
      return PKT_MALFORMED;
    if (caplen < off + 4)
      return PKT_TRUNCATED;
    e.has_id = true;
    e.id = st_be16(p + off + 2);
    off += 4;
    off += (flags & GRE_S) ? 4 : 0;
    off += (flags & GRE_A) ? 4 : 0;
  } else {
    return PKT_UNSUPPORTED;
  }
  if (caplen < off)
    return PKT_TRUNCATED;
  pkt_verdict v;
  if (!enter(out, &e, &v))
    return v;
  p += off;
  caplen -= off;
  switch (type) {
  case ETH_PPP: /* address and control, then the PPP protocol */
    if (caplen >= 2 && p[0] == 0xff && p[1] == 0x03) {
      p += 2;
      caplen -= 2;
    }
    if (caplen < 2)
      return PKT_TRUNCATED;
    if (st_be16(p) == 0x0021 || st_be16(p) == 0x0057)
      return pkt_decode_inner_ip(p + 2, caplen - 2, out);
    return PKT_NOT_IP;
  case ETH_ERSPAN_2:
  case ETH_ERSPAN_3:
    return erspan(type, flags & GRE_S, p, caplen, out);
  default:
    return by_protocol(type, p, caplen, out);
  }
}

bool pkt_decap_ip_proto(uint8_t proto, const uint8_t *p, uint32_t caplen, pkt_info *out,
                        pkt_verdict *v) {
  if (proto == PKT_IPPROTO_GRE) {
    *v = gre(p, caplen, out);
    return true;
  }
  if (proto != PKT_IPPROTO_IPIP && proto != PKT_IPPROTO_IPV6)
    return false;
  pkt_encap e = {.kind = PKT_ENCAP_IPIP,
                 .inner = proto == PKT_IPPROTO_IPIP ? ST_FAMILY_INET : ST_FAMILY_INET6};
  if (!enter(out, &e, v))
    return true;
  if (caplen < 1)
    *v = PKT_TRUNCATED;
  else if ((p[0] >> 4) != (proto == PKT_IPPROTO_IPIP ? 4 : 6))
    *v = PKT_MALFORMED;
  else
    *v = pkt_decode_inner_ip(p, caplen, out);
  return true;
}

static pkt_verdict vxlan(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  pkt_encap e = {.kind = PKT_ENCAP_VXLAN, .has_id = true};
  e.id = st_be32(p + 4) >> 8;
  pkt_verdict v;
  if (!enter(out, &e, &v))
    return v;
  return inner_ether(p + 8, caplen - 8, out);
}

static pkt_verdict geneve(const uint8_t *p, uint32_t caplen, pkt_info *out) {
  uint32_t hl = 8 + (uint32_t)(p[0] & 0x3f) * 4;
  pkt_encap e = {.kind = PKT_ENCAP_GENEVE, .has_id = true};
  e.id = st_be32(p + 4) >> 8;
  pkt_verdict v;
  if (!enter(out, &e, &v))
    return v;
  if (caplen < hl)
    return PKT_TRUNCATED;
  return by_protocol(st_be16(p + 2), p + hl, caplen - hl, out);
}

bool pkt_decap_udp(uint16_t dport, const uint8_t *p, uint32_t caplen, uint32_t len, pkt_info *out,
                   pkt_verdict *v) {
  /* Too short for the header, or not what the port promises: an ordinary
   * datagram to that port. */
  if (len < 8)
    return false;
  if (caplen < 8) {
    *v = PKT_TRUNCATED;
    return true;
  }
  if (dport == UDP_VXLAN && (p[0] & 0x08)) /* I: the VNI is valid */
    *v = vxlan(p, caplen, out);
  else if (dport == UDP_GENEVE && (p[0] >> 6) == 0)
    *v = geneve(p, caplen, out);
  else
    return false;
  return true;
}

static const char *family_name(uint8_t family) {
  return family == ST_FAMILY_INET6 ? "ipv6" : "ipv4";
}

void pkt_encap_format(const pkt_info *p, char *buf, size_t len) {
  size_t n = 0;
  if (len)
    buf[0] = '\0';
  for (uint8_t i = 0; i < p->nencap && n < len; i++) {
    const pkt_encap *e = &p->encap[i];
    const char *sep = i ? " > " : "";
    int w = 0;
    switch (e->kind) {
    case PKT_ENCAP_MPLS:
      if (e->n == 1)
        w = snprintf(buf + n, len - n, "%smpls label=%u", sep, e->id);
      else
        w = snprintf(buf + n, len - n, "%smpls labels=%u%s%u", sep, e->id, e->n > 2 ? "/../" : "/",
                     e->id2);
      break;
    case PKT_ENCAP_GRE:
    case PKT_ENCAP_ERSPAN: {
      const char *name = e->kind == PKT_ENCAP_GRE ? "gre" : "erspan";
      const char *key = e->kind == PKT_ENCAP_GRE ? "key" : "session";
      if (e->has_id)
        w = snprintf(buf + n, len - n, "%s%s %s=%u", sep, name, key, e->id);
      else
        w = snprintf(buf + n, len - n, "%s%s", sep, name);
      break;
    }
    case PKT_ENCAP_VXLAN:
    case PKT_ENCAP_GENEVE:
      w = snprintf(buf + n, len - n, "%s%s vni=%u", sep,
                   e->kind == PKT_ENCAP_VXLAN ? "vxlan" : "geneve", e->id);
      break;
    default:
      w = snprintf(buf + n, len - n, "%s%s-in-%s", sep, family_name(e->inner),
                   family_name(e->outer));
      break;
    }
    if (w < 0)
      break;
    n += (size_t)w;
  }
}
