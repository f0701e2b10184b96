/*
 * Fixed-width numbers in a stated byte order, and a bounds-checked cursor
 * over a buffer: the one way socktrace reads file formats and wire data
 * (.sktrace blocks, .etl buffers, ETW payloads, packets). Names say the byte
 * order (st_le32 is little-endian, st_be16 big-endian, network order); the
 * host's own order and alignment never matter, every access is byte by byte.
 *
 * The cursor never reads past its end: a read that does not fit marks the
 * cursor bad and yields 0 (or NULL), and every later read does the same, so
 * a decoder reads a whole structure and asks once whether it fit. Private to
 * socktrace (core and backends); not part of the public headers.
 */
#ifndef ST_BYTES_H
#define ST_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t st_le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t st_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t st_le64(const uint8_t *p) {
  return (uint64_t)st_le32(p) | (uint64_t)st_le32(p + 4) << 32;
}

static inline uint16_t st_be16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t st_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Writers return the byte after the number, so writes chain. */
static inline uint8_t *st_put_u8(uint8_t *p, uint8_t v) {
  p[0] = v;
  return p + 1;
}

static inline uint8_t *st_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  return p + 2;
}

static inline uint8_t *st_put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  return p + 4;
}

static inline uint8_t *st_put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  return p + 8;
}

typedef struct st_cursor {
  const uint8_t *data;
  size_t len, off;
  bool bad;    /* a read did not fit: every later read yields 0 / NULL */
  size_t need; /* after the first read that did not fit: the length it
                  needed (SIZE_MAX when that overflows) */
} st_cursor;

static inline void st_cursor_init(st_cursor *c, const uint8_t *data, size_t len) {
  c->data = data;
  c->len = data ? len : 0;
  c->off = 0;
  c->bad = false;
  c->need = 0;
}

static inline size_t st_cursor_left(const st_cursor *c) {
  return c->len - c->off;
}

/* n raw bytes: a pointer into the buffer, or NULL when they do not fit. */
static inline const uint8_t *st_cursor_take(st_cursor *c, size_t n) {
  if (c->bad || n > c->len - c->off) {
    if (!c->bad)
      c->need = n > SIZE_MAX - c->off ? SIZE_MAX : c->off + n;
    c->bad = true;
    return NULL;
  }
  const uint8_t *p = c->data + c->off;
  c->off += n;
  return p;
}

static inline uint8_t st_cursor_u8(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 1);
  return p ? p[0] : 0;
}

static inline uint16_t st_cursor_le16(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 2);
  return p ? st_le16(p) : 0;
}

static inline uint32_t st_cursor_le32(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 4);
  return p ? st_le32(p) : 0;
}

static inline uint64_t st_cursor_le64(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 8);
  return p ? st_le64(p) : 0;
}

static inline uint16_t st_cursor_be16(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 2);
  return p ? st_be16(p) : 0;
}

static inline uint32_t st_cursor_be32(st_cursor *c) {
  const uint8_t *p = st_cursor_take(c, 4);
  return p ? st_be32(p) : 0;
}

#endif
