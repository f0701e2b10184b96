/*
 * A small writer of AFD / WS2HELP user data, laid out exactly as the
 * manifest templates say (shared/spec/etw-formats.md): packed,
 * little-endian, win:Pointer 4 or 8 bytes, win:Boolean 4 bytes, sockaddr
 * blobs of AddressLen bytes. Shared by the Criterion suites, the Windows-side
 * test and the fuzz target's seeds; header-only so each can include it.
 */
#ifndef ST_TEST_ETW_FIXTURE_H
#define ST_TEST_ETW_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "etw/etw_decode.h"

typedef struct fx {
  uint8_t b[1024];
  size_t n;
  uint8_t ptr; /* 4 or 8 */
} fx;

static inline void fx_init(fx *f, uint8_t ptr) {
  memset(f, 0, sizeof *f);
  f->ptr = ptr;
}
static inline void fx_u8(fx *f, uint8_t v) {
  if (f->n < sizeof f->b)
    f->b[f->n++] = v;
}
static inline void fx_u16(fx *f, uint16_t v) {
  fx_u8(f, (uint8_t)v);
  fx_u8(f, (uint8_t)(v >> 8));
}
static inline void fx_be16(fx *f, uint16_t v) {
  fx_u8(f, (uint8_t)(v >> 8));
  fx_u8(f, (uint8_t)v);
}
static inline void fx_u32(fx *f, uint32_t v) {
  fx_u16(f, (uint16_t)v);
  fx_u16(f, (uint16_t)(v >> 16));
}
static inline void fx_u64(fx *f, uint64_t v) {
  fx_u32(f, (uint32_t)v);
  fx_u32(f, (uint32_t)(v >> 32));
}
/* win:Pointer; a 32-bit record keeps the low half. */
static inline void fx_ptr(fx *f, uint64_t v) {
  if (f->ptr == 4)
    fx_u32(f, (uint32_t)v);
  else
    fx_u64(f, v);
}
static inline void fx_raw(fx *f, const void *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    fx_u8(f, ((const uint8_t *)p)[i]);
}
/* The base of every 1000-3007 event. */
static inline void fx_base(fx *f, uint32_t ee, uint32_t location, uint64_t process,
                           uint64_t endpoint) {
  fx_u32(f, ee);
  fx_u32(f, location);
  fx_ptr(f, process);
  fx_ptr(f, endpoint);
}
/* AddressLen (16) + SOCKADDR_IN. */
static inline void fx_sockaddr_in(fx *f, const uint8_t ip[4], uint16_t port) {
  fx_u32(f, 16);
  fx_u16(f, 2);
  fx_be16(f, port);
  fx_raw(f, ip, 4);
  fx_u64(f, 0); /* sin_zero */
}
/* AddressLen (28) + SOCKADDR_IN6 (Windows AF_INET6 = 23). */
static inline void fx_sockaddr_in6(fx *f, const uint8_t ip[16], uint16_t port, uint32_t scope) {
  fx_u32(f, 28);
  fx_u16(f, 23);
  fx_be16(f, port);
  fx_u32(f, 0); /* flowinfo */
  fx_raw(f, ip, 16);
  fx_u32(f, scope);
}
/* AddressLen + SOCKADDR_UN with a NUL-terminated path. */
static inline void fx_sockaddr_un(fx *f, const char *path) {
  size_t n = strlen(path) + 1;
  fx_u32(f, (uint32_t)(2 + n));
  fx_u16(f, 1);
  fx_raw(f, path, n);
}
/* A NUL-terminated UTF-16LE string from ASCII. */
static inline void fx_utf16z(fx *f, const char *s) {
  for (; *s; s++)
    fx_u16(f, (uint8_t)*s);
  fx_u16(f, 0);
}

/* A whole 1000 (AfdCreate) exit: TCP over IPv4 created for pid. */
static inline void fx_create(fx *f, uint8_t ptr, uint64_t process, uint64_t endpoint,
                             uint32_t pid) {
  fx_init(f, ptr);
  fx_base(f, 1, 1, process, endpoint);
  fx_u32(f, 2);
  fx_u32(f, 1);
  fx_u32(f, 6);
  fx_ptr(f, pid);
  fx_u32(f, 0);
}

static inline st_etw_record fx_record(const uint8_t guid[16], uint16_t id, uint8_t ptr) {
  st_etw_record r;
  memset(&r, 0, sizeof r);
  memcpy(r.provider, guid, 16);
  r.id = id;
  r.level = 4;
  r.opcode = 0;
  r.keywords = 0x8000000000000006ULL;
  r.pid = 4;
  r.tid = 88;
  r.ts_ns = 1795634473123456789ULL;
  r.pointer_size = ptr;
  return r;
}

static inline st_etw_record fx_afd(uint16_t id, uint8_t ptr) {
  return fx_record(st_etw_afd_guid, id, ptr);
}

#define FX_PROCESS 0xffffa50612345080ULL
#define FX_ENDPOINT 0xffffa50687654320ULL

#endif
