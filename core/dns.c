/*
 * DNS message decoding (RFC 1035 section 4.1): header counts, flags, the
 * first question and the answers. Names are written as TShark shows them:
 * labels joined by dots, no trailing dot, "<Root>" for the root,
 * non-printable bytes as \xNN.
 */
#include "dns.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"

#define DNS_MAX_HOPS 16

/* Appends text to the name; false when it would not fit. */
static bool name_put(char *out, size_t *n, const char *s, size_t len) {
  if (*n + len + 1 > ST_NAME_MAX)
    return false;
  memcpy(out + *n, s, len);
  *n += len;
  out[*n] = 0;
  return true;
}

/* Reads the name at *off; on success *off is just past it (past the first
 * pointer when the name is compressed). */
static bool read_name(const uint8_t *p, uint32_t len, uint32_t *off, char *out) {
  size_t n = 0;
  out[0] = 0;
  uint32_t o = *off;
  uint32_t after = 0;
  unsigned hops = 0;
  for (;;) {
    if (o >= len)
      return false;
    uint8_t l = p[o];
    if (l == 0) {
      o++;
      break;
    }
    if ((l & 0xc0) == 0xc0) {
      if (o + 1 >= len || ++hops > DNS_MAX_HOPS)
        return false;
      if (!after)
        after = o + 2;
      o = ((uint32_t)(l & 0x3f) << 8) | p[o + 1];
      continue;
    }
    if (l & 0xc0) /* extended label types: not supported */
      return false;
    if (o + 1 + l > len)
      return false;
    if (n && !name_put(out, &n, ".", 1))
      return false;
    for (uint32_t i = 0; i < l; i++) {
      uint8_t c = p[o + 1 + i];
      char esc[5];
      if (c > 0x20 && c < 0x7f) {
        if (!name_put(out, &n, (const char *)&c, 1))
          return false;
      } else {
        snprintf(esc, sizeof esc, "\\x%02x", c);
        if (!name_put(out, &n, esc, 4))
          return false;
      }
    }
    o += 1u + l;
  }
  if (n == 0)
    name_put(out, &n, "<Root>", 6);
  *off = after ? after : o;
  return true;
}

/* Adds a CNAME target to the space-separated chain (dropped when the
 * chain is full: the addresses matter more). */
static void chain_add(st_dns *d, const char *name) {
  size_t n = strlen(d->cnames), len = strlen(name);
  if (n + (n ? 1 : 0) + len + 1 > sizeof d->cnames)
    return;
  if (n)
    d->cnames[n++] = ' ';
  memcpy(d->cnames + n, name, len + 1);
}

static void ttl_take(st_dns *d, uint32_t ttl, bool *first) {
  if (*first || ttl < d->ttl)
    d->ttl = ttl;
  *first = false;
}

/* Reads the answer section from off; a record cut short by the capture
 * limit ends it with ST_DNS_PARTIAL. */
static void read_answers(const uint8_t *p, uint32_t len, uint32_t off, st_dns *d) {
  char name[ST_NAME_MAX];
  bool first = true;
  for (unsigned i = 0; i < d->answers; i++) {
    if (!read_name(p, len, &off, name) || off + 10 > len) {
      d->flags |= ST_DNS_PARTIAL;
      return;
    }
    uint16_t type = st_be16(p + off), klass = st_be16(p + off + 2);
    uint32_t ttl = st_be32(p + off + 4);
    uint16_t rdlen = st_be16(p + off + 8);
    off += 10;
    if (off + rdlen > len) {
      d->flags |= ST_DNS_PARTIAL;
      return;
    }
    if (klass == 1 && type == ST_DNS_A && rdlen == 4 && d->naddrs < ST_DNS_ADDRS_MAX) {
      st_dns_addr *a = &d->addrs[d->naddrs++];
      a->family = ST_FAMILY_INET;
      memcpy(a->addr, p + off, 4);
      ttl_take(d, ttl, &first);
    } else if (klass == 1 && type == ST_DNS_AAAA && rdlen == 16 && d->naddrs < ST_DNS_ADDRS_MAX) {
      st_dns_addr *a = &d->addrs[d->naddrs++];
      a->family = ST_FAMILY_INET6;
      memcpy(a->addr, p + off, 16);
      ttl_take(d, ttl, &first);
    } else if (type == ST_DNS_CNAME) {
      uint32_t at = off;
      if (read_name(p, off + rdlen, &at, name))
        chain_add(d, name);
      ttl_take(d, ttl, &first);
    }
    off += rdlen;
  }
}

bool st_dns_parse(const uint8_t *p, uint32_t len, uint32_t wire_len, st_dns *out) {
  memset(out, 0, sizeof *out);
  if (len < 12)
    return false;
  uint16_t flags = st_be16(p + 2);
  uint16_t qdcount = st_be16(p + 4);
  out->id = st_be16(p);
  out->qr = (uint8_t)(flags >> 15);
  out->rcode = (uint8_t)(flags & 0x0f);
  out->answers = st_be16(p + 6);
  if (flags & 0x0200)
    out->flags |= ST_DNS_TRUNCATED;
  if (wire_len > len)
    out->flags |= ST_DNS_PARTIAL;
  if (qdcount == 0)
    return true;
  uint32_t off = 12;
  if (!read_name(p, len, &off, out->qname))
    return false;
  if (off + 4 > len)
    return false;
  out->qtype = st_be16(p + off);
  off += 4;
  /* Further questions (never seen in practice) are skipped. */
  char skip[ST_NAME_MAX];
  for (unsigned i = 1; i < qdcount; i++) {
    if (!read_name(p, len, &off, skip) || off + 4 > len) {
      out->flags |= ST_DNS_PARTIAL;
      return true;
    }
    off += 4;
  }
  if (out->qr)
    read_answers(p, len, off, out);
  return true;
}

const char *st_dns_type_name(uint16_t qtype) {
  switch (qtype) {
  case 1:
    return "A";
  case 2:
    return "NS";
  case 5:
    return "CNAME";
  case 6:
    return "SOA";
  case 12:
    return "PTR";
  case 15:
    return "MX";
  case 16:
    return "TXT";
  case 28:
    return "AAAA";
  case 33:
    return "SRV";
  case 64:
    return "SVCB";
  case 65:
    return "HTTPS";
  case 255:
    return "ANY";
  default:
    return NULL;
  }
}
