/*
 * Private to the ETW decoder's files: the helpers every provider's decoder
 * shares. Not for the consumer or the state.
 */
#ifndef ST_ETW_DECODE_INTERNAL_H
#define ST_ETW_DECODE_INTERNAL_H

#include "bytes.h"
#include "etw_decode.h"

/* printf-checked helpers; mingw's C99 stdio (__USE_MINGW_ANSI_STDIO, set by
 * the toolchain file) takes %zu, so check against gnu_printf there. */
#if defined(__MINGW32__)
#define ETW_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define ETW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ETW_PRINTF(f, a)
#endif

/* Fills the common fields from the record header. */
void etw_common(const st_etw_record *rec, st_event *ev, uint8_t provider, uint16_t id);

/* Turns ev into a DecodeError (5800) for this record, detail from fmt;
 * returns ST_EBADMSG. */
int etw_fail(const st_etw_record *rec, st_event *ev, const char *fmt, ...) ETW_PRINTF(3, 4);

/* Ends a decode: a short or oversized payload becomes a DecodeError. */
int etw_finish(const st_etw_record *rec, st_cursor *c, st_event *ev, const char *what);

/* printf into a fixed buffer, truncating: details are best-effort text. */
void etw_format(char *buf, size_t len, const char *fmt, ...) ETW_PRINTF(3, 4);

/* Windows' address family numbers to the schema's (socket types are
 * st_type_from_socket_type: the same numbers everywhere). */
uint8_t etw_family(uint32_t af);

void etw_set_status(st_event *ev, uint32_t ntstatus);

/* Reads a NUL-terminated UTF-16LE string (win:UnicodeString) into UTF-8,
 * truncated to out's size. A string without its NUL inside the payload is
 * a short read. */
void etw_read_utf16z(st_cursor *c, char *out, size_t outlen);

/* win:Pointer: 4 or 8 bytes, as the record header says. */
static inline uint64_t etw_ptr(st_cursor *c, const st_etw_record *rec) {
  return rec->pointer_size == 4 ? st_cursor_le32(c) : st_cursor_le64(c);
}

int etw_decode_afd(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                   st_etw_info *info);
int etw_decode_afd_legacy(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                          st_etw_info *info);
int etw_decode_ws2help(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev);
int etw_decode_dns_client(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev);

#endif
