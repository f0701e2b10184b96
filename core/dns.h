/*
 * The one DNS message parser (RFC 1035 section 4.1), shared by every
 * backend that sees DNS bytes: packet captures and the eBPF backend's copies
 * of what applications sent and received.
 *
 * It reads the header, the first question and the answer section: A and
 * AAAA addresses, the CNAME chain and the smallest TTL. Only the given bytes
 * are read; compression pointers are followed with a hop limit so that a
 * looping name cannot hang it. A message cut short after its question (a
 * capture limit) still parses, with ST_DNS_PARTIAL set.
 */
#ifndef ST_CORE_DNS_H
#define ST_CORE_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/event.h"

/* DNS record types. */
enum { ST_DNS_A = 1, ST_DNS_CNAME = 5, ST_DNS_AAAA = 28 };
/* Response codes (RFC 1035, 2136). */
enum {
  ST_DNS_NOERROR = 0,
  ST_DNS_FORMERR = 1,
  ST_DNS_SERVFAIL = 2,
  ST_DNS_NXDOMAIN = 3,
  ST_DNS_NOTIMP = 4,
  ST_DNS_REFUSED = 5,
};

/* Parses one DNS message (no TCP length prefix) of len bytes; wire_len is
 * the message's real length when only len bytes of it were captured (0:
 * len is all of it). Returns false when it is too short or its question
 * cannot be read. */
bool st_dns_parse(const uint8_t *p, uint32_t len, uint32_t wire_len, st_dns *out);

/* "A", "AAAA", "HTTPS", ...; NULL for a type without a name here. */
const char *st_dns_type_name(uint16_t qtype);
/* "NOERROR", "NXDOMAIN", ...; NULL when unknown. */
const char *st_dns_rcode_name(uint8_t rcode);

#endif
