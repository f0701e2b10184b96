/*
 * DNS message header and first question, as carried in an st_dns. Only
 * reads the given bytes; compression pointers are followed with a hop
 * limit so that a looping name cannot hang the decoder.
 */
#ifndef ST_PCAP_DNS_H
#define ST_PCAP_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/event.h"

/* Parses one DNS message (no TCP length prefix). Returns false when it is
 * too short or its question cannot be read. */
bool pkt_dns_parse(const uint8_t *p, uint32_t len, st_dns *out);

#endif
