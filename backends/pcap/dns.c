/*
 * DNS message decoding (RFC 1035 section 4.1): header counts, flags and the
 * first question. Names are written as TShark shows them: labels joined by
 * dots, no trailing dot, "<Root>" for the root, non-printable bytes as \xNN.
 */
#include "dns.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"

#define DNS_MAX_HOPS 16

/* Appends text to the name; false when it would not fit. */
static bool name_put(char *out, size_t *n, const char *s, size_t len) {
  if (*n + len + 1 > sizeof(((st_dns *)0)->qname))
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

bool pkt_dns_parse(const uint8_t *p, uint32_t len, st_dns *out) {
  memset(out, 0, sizeof *out);
  if (len < 12)
    return false;
  uint16_t flags = st_be16(p + 2);
  uint16_t qdcount = st_be16(p + 4);
  out->id = st_be16(p);
  out->qr = (uint8_t)(flags >> 15);
  out->rcode = (uint8_t)(flags & 0x0f);
  out->answers = st_be16(p + 6);
  if (qdcount == 0)
    return true;
  uint32_t off = 12;
  if (!read_name(p, len, &off, out->qname))
    return false;
  if (off + 4 > len)
    return false;
  out->qtype = st_be16(p + off);
  return true;
}
