/*
 * libFuzzer target for compressed .sktrace blocks (format 2.0; built with
 * -DST_FUZZ=ON, run by tools/fuzz.sh). Each input is tried four ways:
 *  - as an SKBZ payload as it is (u32 stated size, then a corrupted frame);
 *  - compressed for real, with a stated size off by the first byte (a lying
 *    size): it must be refused unless it is the truth;
 *  - wrapped in a file with a matching CRC, so the reader's inflate and
 *    decode path runs on it, not only its CRC check;
 * and once per run, decompression bombs: a frame of more zeros than the
 * block limit, stated as the limit, and one with no content size, must be
 * refused without inflating past the stated size. Nothing may crash, leak,
 * hang or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bytes.h"
#include "fuzz_sktrace_read.h"
#include "sktrace_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static st_sktrace_zctx *z;

static void decode(const uint8_t *p, size_t n) {
  st_event *evs = NULL;
  size_t cap = 0, got = 0;
  char err[200];
  st_sktrace_block_decode(p, n, &evs, &cap, &got, err, sizeof err);
  free(evs);
}

/* Inflates p (u32 size, frame) and decodes what comes out; 0 when it
 * inflated. */
static int inflate_and_decode(const uint8_t *p, size_t n) {
  const uint8_t *payload;
  size_t plen;
  char err[200];
  int rc = st_sktrace_zblock_inflate(z, p, n, &payload, &plen, err, sizeof err);
  if (rc == 0) {
    if (plen != st_le32(p))
      __builtin_trap(); /* inflated to other than the stated size */
    decode(payload, plen);
  }
  return rc;
}

/* A stated size and a frame, in one buffer: what an SKBZ block holds. */
static uint8_t *with_size(uint32_t stated, const void *frame, size_t flen) {
  uint8_t *p = malloc(4 + flen);
  if (!p)
    abort();
  st_put_le32(p, stated);
  memcpy(p + 4, frame, flen);
  return p;
}

static void bombs(void) {
  size_t big = ST_SKTRACE_BLOCK_MAX + 65536;
  uint8_t *zeros = calloc(1, big);
  size_t cap = ZSTD_compressBound(big);
  uint8_t *frame = malloc(cap);
  if (!zeros || !frame)
    abort();
  /* With its content size in the frame header, stated as the limit. */
  size_t flen = ZSTD_compress(frame, cap, zeros, big, 1);
  uint8_t *p = with_size(ST_SKTRACE_BLOCK_MAX, frame, flen);
  if (inflate_and_decode(p, 4 + flen) == 0)
    __builtin_trap();
  free(p);
  /* Without a content size (streamed), stated smaller than it inflates. */
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ZSTD_outBuffer o = {frame, cap, 0};
  ZSTD_inBuffer in = {zeros, big, 0};
  ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue);
  ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(c);
  p = with_size(1u << 20, frame, o.pos);
  if (inflate_and_decode(p, 4 + o.pos) == 0)
    __builtin_trap();
  free(p);
  free(frame);
  free(zeros);
}

/* A file: a header, then data as one SKBZ block whose CRC matches. */
static void as_file(const uint8_t *data, size_t size) {
  st_buf b = {0};
  st_sktrace_header h = {.host = "fuzz"};
  st_sktrace_header_encode(&h, &b);
  uint8_t head[ST_SKTRACE_BLOCK_HDR];
  memcpy(head, ST_SKTRACE_ZBLOCK_MAGIC, 4);
  st_put_le32(st_put_le32(head + 4, (uint32_t)size), st_sktrace_crc32(data, size));
  st_buf_add(&b, (const char *)head, sizeof head);
  st_buf_add(&b, (const char *)data, size);
  if (!b.oom)
    fuzz_sktrace_read_file((const uint8_t *)b.data, b.len);
  st_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!z) {
    if (st_sktrace_zctx_new(0, &z) < 0)
      abort();
    bombs();
  }
  inflate_and_decode(data, size);
  if (size >= 1) {
    /* The rest as a plain payload, compressed, its size told with a lie
     * of the first byte's value (0: the truth). */
    size_t len = size - 1, cap = ZSTD_compressBound(len);
    uint8_t *frame = malloc(cap ? cap : 1);
    if (!frame)
      abort();
    size_t flen = ZSTD_compress(frame, cap, data + 1, len, 1);
    if (!ZSTD_isError(flen)) {
      uint32_t stated = (uint32_t)len + (uint32_t)(int8_t)data[0];
      uint8_t *p = with_size(stated, frame, flen);
      int rc = inflate_and_decode(p, 4 + flen);
      bool may = stated == len && len >= ST_SKTRACE_BLOCK_FIXED;
      if ((rc == 0) != may)
        __builtin_trap(); /* a lie believed, or the truth refused */
      as_file(p, 4 + flen);
      free(p);
    }
    free(frame);
  }
  as_file(data, size);
  return 0;
}
