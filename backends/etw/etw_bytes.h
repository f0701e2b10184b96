/*
 * A bounds-checked little-endian reader over one ETW payload. Every read
 * checks the remaining length first and, on a short payload, latches an
 * error instead of touching memory past the end: the decoder reads a whole
 * template, then asks once whether it fit. Never assumes the host's pointer
 * size or byte order.
 */
#ifndef ST_ETW_BYTES_H
#define ST_ETW_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct etw_cursor {
  const uint8_t *data;
  size_t len, off;
  uint8_t ptr_size; /* 4 or 8, from the record header */
  bool short_read;  /* a read ran past the end */
  size_t need;      /* after a short read: the length that read needed */
} etw_cursor;

static inline void etw_cursor_init(etw_cursor *c, const uint8_t *data, size_t len,
                                   uint8_t ptr_size) {
  c->data = data;
  c->len = data ? len : 0;
  c->off = 0;
  c->ptr_size = ptr_size;
  c->short_read = false;
  c->need = 0;
}

static inline bool etw_have(etw_cursor *c, size_t n) {
  if (c->short_read)
    return false;
  if (n > c->len - c->off) {
    c->short_read = true;
    c->need = n > SIZE_MAX - c->off ? SIZE_MAX : c->off + n;
    return false;
  }
  return true;
}

static inline uint8_t etw_u8(etw_cursor *c) {
  if (!etw_have(c, 1))
    return 0;
  return c->data[c->off++];
}

static inline uint16_t etw_u16(etw_cursor *c) {
  if (!etw_have(c, 2))
    return 0;
  const uint8_t *p = c->data + c->off;
  c->off += 2;
  return (uint16_t)(p[0] | (p[1] << 8));
}

/* A u16 stored in network order (ports in the Vista-era templates). */
static inline uint16_t etw_be16(etw_cursor *c) {
  if (!etw_have(c, 2))
    return 0;
  const uint8_t *p = c->data + c->off;
  c->off += 2;
  return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t etw_u32(etw_cursor *c) {
  if (!etw_have(c, 4))
    return 0;
  const uint8_t *p = c->data + c->off;
  c->off += 4;
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t etw_u64(etw_cursor *c) {
  uint64_t lo = etw_u32(c);
  uint64_t hi = etw_u32(c);
  return lo | (hi << 32);
}

/* win:Pointer: 4 or 8 bytes as the record says. */
static inline uint64_t etw_ptr(etw_cursor *c) {
  return c->ptr_size == 4 ? etw_u32(c) : etw_u64(c);
}

/* n raw bytes; returns a pointer into the payload or NULL on a short read. */
static inline const uint8_t *etw_bytes(etw_cursor *c, size_t n) {
  if (!etw_have(c, n))
    return NULL;
  const uint8_t *p = c->data + c->off;
  c->off += n;
  return p;
}

static inline size_t etw_left(const etw_cursor *c) {
  return c->len - c->off;
}

#endif
