/*
 * Compressed .sktrace blocks (format 2.0, docs/sktrace-format.md): a block
 * whose payload is one zstd frame, stored with the payload's uncompressed
 * size and a CRC32 of both, so a damaged block is found before it is
 * inflated and still loses only itself.
 *
 * The writer compresses a finished block straight from its string table and
 * records (no copy of the plain block, no CRC over it: the CRC covers what
 * is on disk). The reader inflates into a buffer of exactly the stated
 * size, which bounds what a lying or hostile frame can make it allocate.
 * One context per writer or reader, reused for every block: no allocation
 * per block once the buffers have grown.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "sktrace_format.h"

#ifdef ST_HAVE_ZSTD
#include <zstd.h>
#endif

struct st_sktrace_zctx {
  int level;
  uint8_t *buf; /* compressed output (writer) or inflated payload (reader) */
  size_t cap;
#ifdef ST_HAVE_ZSTD
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
#endif
};

bool st_sktrace_zstd_available(void) {
#ifdef ST_HAVE_ZSTD
  return true;
#else
  return false;
#endif
}

int st_sktrace_zctx_new(int level, st_sktrace_zctx **out) {
  *out = NULL;
#ifndef ST_HAVE_ZSTD
  if (level > 0)
    return ST_ENOSYS;
#endif
  st_sktrace_zctx *z = calloc(1, sizeof *z);
  if (!z)
    return ST_ENOMEM;
  z->level = level;
  *out = z;
  return 0;
}

void st_sktrace_zctx_free(st_sktrace_zctx *z) {
  if (!z)
    return;
#ifdef ST_HAVE_ZSTD
  ZSTD_freeCCtx(z->cctx);
  ZSTD_freeDCtx(z->dctx);
#endif
  free(z->buf);
  free(z);
}

#ifdef ST_HAVE_ZSTD
static bool reserve(st_sktrace_zctx *z, size_t need) {
  if (need <= z->cap)
    return true;
  uint8_t *n = realloc(z->buf, need);
  if (!n)
    return false;
  z->buf = n;
  z->cap = need;
  return true;
}

/* Feeds one piece of the payload to the frame; false on a zstd error. */
static bool feed(ZSTD_CCtx *c, ZSTD_outBuffer *o, const void *p, size_t n, ZSTD_EndDirective end) {
  ZSTD_inBuffer in = {p, n, 0};
  for (;;) {
    size_t left = ZSTD_compressStream2(c, o, &in, end);
    if (ZSTD_isError(left))
      return false;
    if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
      return true;
    if (o->pos == o->size)
      return false; /* cannot happen: the output holds the bound */
  }
}
#endif

int st_sktrace_block_finish_z(st_sktrace_zctx *z, const st_sktrace_block *b, uint32_t seq,
                              st_buf *out) {
#ifdef ST_HAVE_ZSTD
  uint8_t fixed[ST_SKTRACE_BLOCK_FIXED];
  st_put_le64(st_put_le32(st_put_le32(st_put_le32(fixed, seq), b->nevents), b->nstrings),
              b->base_ts);
  size_t plain = st_sktrace_block_bytes(b) - ST_SKTRACE_BLOCK_HDR;
  size_t head = ST_SKTRACE_BLOCK_HDR + 4;
  if (!reserve(z, head + ZSTD_compressBound(plain)))
    return ST_ENOMEM;
  if (!z->cctx) {
    if (!(z->cctx = ZSTD_createCCtx()))
      return ST_ENOMEM;
    ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, z->level);
  }
  ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_only);
  /* The frame then says its content size too, which a reader checks. */
  ZSTD_CCtx_setPledgedSrcSize(z->cctx, plain);
  ZSTD_outBuffer o = {z->buf + head, z->cap - head, 0};
  if (!feed(z->cctx, &o, fixed, sizeof fixed, ZSTD_e_continue) ||
      !feed(z->cctx, &o, b->strings.data, b->strings.len, ZSTD_e_continue) ||
      !feed(z->cctx, &o, b->events.data, b->events.len, ZSTD_e_end))
    return ST_EIO;
  /* A block that does not shrink is stored plain. */
  if (4 + o.pos >= plain) {
    st_sktrace_block_finish(b, seq, out);
    return out->oom ? ST_ENOMEM : 0;
  }
  uint8_t *h = z->buf;
  memcpy(h, ST_SKTRACE_ZBLOCK_MAGIC, 4);
  st_put_le32(h + ST_SKTRACE_BLOCK_HDR, (uint32_t)plain);
  uint32_t len = (uint32_t)(4 + o.pos);
  st_put_le32(st_put_le32(h + 4, len), st_sktrace_crc32(h + ST_SKTRACE_BLOCK_HDR, len));
  st_buf_add(out, (const char *)h, ST_SKTRACE_BLOCK_HDR + len);
  return out->oom ? ST_ENOMEM : 0;
#else
  (void)z;
  (void)b;
  (void)seq;
  (void)out;
  return ST_ENOSYS;
#endif
}

int st_sktrace_zblock_inflate(st_sktrace_zctx *z, const uint8_t *p, size_t len,
                              const uint8_t **payload, size_t *plen, char *err, size_t errlen) {
  if (len < 4) {
    snprintf(err, errlen, "compressed block too short");
    return ST_EBADMSG;
  }
  uint32_t size = st_le32(p);
  if (size < ST_SKTRACE_BLOCK_FIXED || size > ST_SKTRACE_BLOCK_MAX) {
    snprintf(err, errlen, "impossible uncompressed size %u", size);
    return ST_EBADMSG;
  }
#ifdef ST_HAVE_ZSTD
  const uint8_t *frame = p + 4;
  size_t flen = len - 4;
  unsigned long long said = ZSTD_getFrameContentSize(frame, flen);
  if (said == ZSTD_CONTENTSIZE_ERROR) {
    snprintf(err, errlen, "not a zstd frame");
    return ST_EBADMSG;
  }
  if (said != ZSTD_CONTENTSIZE_UNKNOWN && said != size) {
    snprintf(err, errlen, "the frame holds %llu bytes, the block says %u", said, size);
    return ST_EBADMSG;
  }
  if (!reserve(z, size)) {
    snprintf(err, errlen, "out of memory inflating a %u-byte block", size);
    return ST_ENOMEM;
  }
  if (!z->dctx && !(z->dctx = ZSTD_createDCtx())) {
    snprintf(err, errlen, "out of memory");
    return ST_ENOMEM;
  }
  /* Into exactly the stated size: a frame that would inflate further fails
   * here instead of growing anything. */
  size_t got = ZSTD_decompressDCtx(z->dctx, z->buf, size, frame, flen);
  if (ZSTD_isError(got)) {
    snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(got));
    return ST_EBADMSG;
  }
  if (got != size) {
    snprintf(err, errlen, "inflated to %zu bytes, the block says %u", got, size);
    return ST_EBADMSG;
  }
  *payload = z->buf;
  *plen = got;
  return 0;
#else
  (void)z;
  (void)payload;
  (void)plen;
  snprintf(err, errlen,
           "zstd-compressed block, and this build has no zstd (install libzstd-dev and rebuild)");
  return ST_ENOSYS;
#endif
}
