/*
 * IP fragment reassembly (IPv4 and IPv6), enough to see the transport
 * header and payload of a fragmented datagram as TShark does: a datagram
 * counts once, when its last missing fragment arrives.
 *
 * Memory is bounded: a fixed number of datagrams in progress, each at most
 * 64 KiB, each dropped after a timeout in packet time. Overlapping or
 * inconsistent fragments drop the datagram rather than guess.
 */
#ifndef ST_PCAP_FRAG_H
#define ST_PCAP_FRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"

typedef struct pkt_reasm pkt_reasm;

pkt_reasm *pkt_reasm_new(void);
void pkt_reasm_free(pkt_reasm *r);

/* Adds a fragment of the packet described by pkt (family, src, dst and
 * pkt->frag). When it completes a datagram, returns true with *data /
 * *len pointing at the reassembled transport bytes (valid until the next
 * call) and *proto its protocol. */
bool pkt_reasm_add(pkt_reasm *r, const pkt_info *pkt, uint64_t ts_ns, const uint8_t **data,
                   uint32_t *len, uint8_t *proto);

/* Datagrams dropped unfinished (timeout, overlap, table full). */
uint64_t pkt_reasm_dropped(const pkt_reasm *r);

#endif
