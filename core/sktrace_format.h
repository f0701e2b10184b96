/*
 * The .sktrace binary trace format (docs/sktrace-format.md): the file
 * header, blocks of compact events with a CRC32 each, and the reader that
 * walks a file and survives truncation and corruption.
 *
 * Private to core, the writer sink and the replay backend. Everything here
 * is pure data transformation: no threads, no printing. A decoder must
 * never trust a byte of its input (the fuzz target feeds it garbage).
 */
#ifndef ST_SKTRACE_FORMAT_H
#define ST_SKTRACE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"
#include "socktrace/event.h"

#define ST_SKTRACE_MAGIC "\x89SKTRACE"
#define ST_SKTRACE_MAGIC_LEN 8
/* Written with compressed blocks (2.0), and without (--compress none:
 * 1.2, which socktrace before 2.0 reads). Read: 1.x and 2.x. */
#define ST_SKTRACE_MAJOR 2
#define ST_SKTRACE_MINOR 1
#define ST_SKTRACE_PLAIN_MAJOR 1
#define ST_SKTRACE_PLAIN_MINOR 3
/* magic + major + minor + header length */
#define ST_SKTRACE_PREAMBLE 16
#define ST_SKTRACE_HEADER_MAX 65536u

#define ST_SKTRACE_BLOCK_MAGIC "SKBL"
#define ST_SKTRACE_ZBLOCK_MAGIC "SKBZ" /* 2.0: u32 uncompressed size, zstd frame */
#define ST_SKTRACE_BLOCK_HDR 12        /* magic, payload length, CRC32 */
#define ST_SKTRACE_BLOCK_FIXED 20      /* block seq, events, strings, base ts */
#define ST_SKTRACE_BLOCK_MAX (16u << 20)
#define ST_SKTRACE_BLOCK_STRINGS 16384 /* strings per block (refs are u16) */

/* What the file header says (every string NUL-terminated). */
typedef struct st_sktrace_header {
  uint16_t major, minor;
  char host[64];
  char sysname[64]; /* uname: "Linux" */
  char release[128];
  char machine[64];
  char writer[64]; /* "socktrace 0.1.0" */
  char session[64];
  char filters[512]; /* the session's filters, described in words */
  uint8_t os, backend, level;
  uint64_t keywords;
  uint64_t started_ns;    /* session start, ns since the Unix epoch (UTC) */
  uint64_t clock_wall_ns; /* one instant read on the wall clock ... */
  uint64_t clock_mono_ns; /* ... and on the monotonic clock */
  uint32_t part;          /* 0 for the first file of a rotated recording */
} st_sktrace_header;

uint32_t st_sktrace_crc32(const void *data, size_t len);

/* Appends the whole file header (preamble, fields, CRC) to out, with the
 * version h says (0.0: ST_SKTRACE_MAJOR.MINOR). */
void st_sktrace_header_encode(const st_sktrace_header *h, st_buf *out);
/* Decodes the fields that follow the preamble; 0 or ST_EBADMSG. */
int st_sktrace_header_decode(const uint8_t *p, size_t len, st_sktrace_header *h, char *err,
                             size_t errlen);

/* A block being built: a string table and event records, encoded as they
 * arrive so the finished block is a concatenation. */
typedef struct st_sktrace_block {
  st_buf strings, events;
  uint32_t nevents, nstrings;
  uint64_t base_ts, prev_ts;
  uint32_t *slots; /* open-addressing index of strings: ref, 0 = free */
  uint32_t *offs;  /* offset in strings of each string's bytes, by ref-1 */
  uint32_t *used;  /* the slot of each string, by ref-1 */
} st_sktrace_block;

int st_sktrace_block_init(st_sktrace_block *b);
void st_sktrace_block_reset(st_sktrace_block *b);
void st_sktrace_block_free(st_sktrace_block *b);
/* Adds one event. ST_ENOSPC: the string table is full (finish the block and
 * add again); ST_ENOMEM. */
int st_sktrace_block_add(st_sktrace_block *b, const st_event *ev);
/* Bytes the finished block will take, header included. */
size_t st_sktrace_block_bytes(const st_sktrace_block *b);
/* Appends the finished block (header, payload) to out. */
void st_sktrace_block_finish(const st_sktrace_block *b, uint32_t seq, st_buf *out);

/* Decodes a block payload whose CRC matched into events (*events grows as
 * needed; the caller frees it). 0 or ST_EBADMSG / ST_ENOMEM with err set. */
int st_sktrace_block_decode(const uint8_t *p, size_t len, st_event **events, size_t *cap, size_t *n,
                            char *err, size_t errlen);

/* Compressed blocks (sktrace_zblock.c): one context per writer or reader,
 * its buffers reused for every block. */
typedef struct st_sktrace_zctx st_sktrace_zctx;
bool st_sktrace_zstd_available(void);
/* level: the zstd level the writer uses (0 for a reader). ST_ENOSYS when
 * level > 0 and this build has no zstd. */
int st_sktrace_zctx_new(int level, st_sktrace_zctx **out);
void st_sktrace_zctx_free(st_sktrace_zctx *z);
/* Appends the finished block to out compressed (SKBZ), or plain (SKBL)
 * when compressing does not make it smaller. 0, ST_ENOMEM, ST_EIO. */
int st_sktrace_block_finish_z(st_sktrace_zctx *z, const st_sktrace_block *b, uint32_t seq,
                              st_buf *out);
/* Inflates the payload of an SKBZ block whose CRC matched (p: u32 size,
 * zstd frame) into z's buffer: *payload, *plen, valid until the next call.
 * Never inflates past the stated size (at most ST_SKTRACE_BLOCK_MAX).
 * 0, or ST_EBADMSG / ST_ENOMEM / ST_ENOSYS with err set. */
int st_sktrace_zblock_inflate(st_sktrace_zctx *z, const uint8_t *p, size_t len,
                              const uint8_t **payload, size_t *plen, char *err, size_t errlen);

/* The file reader. It reads sequentially (pipes work) and keeps at most one
 * block in memory. */
typedef struct st_sktrace_reader st_sktrace_reader;

typedef struct st_sktrace_read_stats {
  uint64_t events, blocks;
  uint64_t bad_blocks; /* corrupt regions skipped */
  uint64_t skipped;    /* bytes in them */
  uint64_t cut;        /* bytes of a partial last block */
} st_sktrace_read_stats;

/* Checks the magic and reads the header. ST_EBADMSG when the input is not a
 * .sktrace file (err says why). A damaged header is not fatal: next()
 * reports it first, then reads the blocks. */
int st_sktrace_reader_open(FILE *in, st_sktrace_reader **out, char *err, size_t errlen);
/* 0: *ev filled; 1: end of the trace; ST_EBADMSG: a problem was found and
 * skipped (st_sktrace_reader_problem() says what and where; call next
 * again); ST_EIO: the input failed (problem says why), stop. */
int st_sktrace_reader_next(st_sktrace_reader *r, st_event *ev);
const char *st_sktrace_reader_problem(const st_sktrace_reader *r);
const st_sktrace_header *st_sktrace_reader_header(const st_sktrace_reader *r);
void st_sktrace_reader_stats(const st_sktrace_reader *r, st_sktrace_read_stats *out);
void st_sktrace_reader_free(st_sktrace_reader *r); /* does not close the FILE */

/* True when the 4 bytes at p are a block magic (plain or compressed). */
bool st_sktrace_is_block_magic(const uint8_t *p);

/* True when the first bytes are the .sktrace magic. */
bool st_sktrace_sniff(const void *head, size_t len);

#endif
