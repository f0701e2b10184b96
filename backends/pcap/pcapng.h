/*
 * A pcapng reader of our own: the blocks a capture of packets needs, with a
 * link type and a timestamp resolution per interface, so that a file
 * captured on several interfaces of different link types (Ethernet, the
 * loopback, a tunnel, Linux cooked) reads as one stream of frames. libpcap
 * refuses such files.
 *
 * Blocks read: Section Header (either byte order; a new section forgets the
 * interfaces of the last), Interface Description (link type, snap length,
 * if_tsresol, if_tsoffset), Enhanced Packet, Simple Packet (no timestamp of
 * its own: it takes the previous frame's) and the obsolete Packet block.
 * Every other block (name resolution, interface statistics, decryption
 * secrets, custom, unknown) is skipped by its length.
 *
 * Every read is bounds-checked (st_cursor); nothing here trusts a length.
 * A packet block that cannot be right (an interface the section never
 * described, data longer than its block) is skipped and counted; a file cut
 * short or whose block lengths disagree ends the reading with an error.
 * Library code: it never prints; errors are words in pcapng_error().
 */
#ifndef ST_PCAP_PCAPNG_H
#define ST_PCAP_PCAPNG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Blocks larger than this are taken for damage, not read into memory. */
#define PCAPNG_MAX_BLOCK (16u << 20)
/* Interfaces one section may describe. */
#define PCAPNG_MAX_INTERFACES 65536u

typedef struct pcapng_frame {
  uint32_t iface;      /* interface id within its section */
  uint32_t section;    /* 0 for the first section of the file */
  int linktype;        /* the interface's LINKTYPE_ value */
  uint64_t ts_ns;      /* ns since the epoch, if_tsoffset applied */
  const uint8_t *data; /* valid until the next pcapng_next() */
  uint32_t caplen, len;
} pcapng_frame;

typedef struct pcapng_stats {
  uint64_t frames;
  uint64_t bad_blocks; /* packet blocks skipped as impossible */
  uint32_t sections, interfaces;
} pcapng_stats;

typedef struct pcapng_reader pcapng_reader;

/* True when the 4 bytes at p open a pcapng file (a Section Header Block). */
bool pcapng_magic(const uint8_t *p);

/* Reads the file's first Section Header Block from f (the reader does not
 * own f). Returns 0 and *out, or a negative ST_E* code with the reason in
 * err: ST_EBADMSG (not pcapng, or a version we do not read), ST_ENOMEM. */
int pcapng_open(FILE *f, pcapng_reader **out, char *err, size_t errlen);
void pcapng_close(pcapng_reader *r);

/* The next frame: 1 and *out; 0 at the end of the file; a negative ST_E*
 * code when the file is damaged (pcapng_error() says how). */
int pcapng_next(pcapng_reader *r, pcapng_frame *out);
const char *pcapng_error(const pcapng_reader *r);
/* The words for the first packet block skipped as impossible ("" if none). */
const char *pcapng_first_bad_block(const pcapng_reader *r);
void pcapng_get_stats(const pcapng_reader *r, pcapng_stats *out);

#endif
