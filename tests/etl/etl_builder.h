/*
 * Test helper: lays out .etl files byte by byte as Windows writes them
 * (etw-formats.md): a header buffer with the TRACE_LOGFILE_HEADER, then
 * event buffers of EVENT_HEADER records, 32- or 64-bit, optionally with
 * extended items, optionally compressed with a small XPRESS encoder.
 */
#ifndef ST_ETL_BUILDER_H
#define ST_ETL_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EB_BUFFER_SIZE 4096
#define EB_PERF_FREQ 10000000ll
#define EB_START_FILETIME 133000000000000000ll /* 2022-06-18T...Z */
#define EB_QPC0 1000000ll

typedef struct eb_file {
  uint8_t *data;
  size_t len, cap;
  bool ptr64;
  bool compressed;
} eb_file;

typedef struct eb_buffer {
  uint8_t data[EB_BUFFER_SIZE];
  size_t pos;
  uint16_t processor;
  uint64_t sequence;
} eb_buffer;

/* Starts a file whose header buffer holds the logfile header. */
void eb_begin(eb_file *f, bool ptr64, bool compressed, uint32_t events_lost, uint32_t buffers_lost);
void eb_buffer_init(eb_buffer *b, uint16_t processor, uint64_t sequence);
/* Appends an EVENT_HEADER record; qpc is the raw timestamp. ext_items > 0
 * adds that many extended items (8 bytes of data each). Returns false when
 * the buffer is full. */
bool eb_add_event(eb_buffer *b, bool ptr64, const uint8_t provider[16], uint16_t id,
                  uint8_t version, uint8_t level, uint64_t keyword, uint32_t pid, uint32_t tid,
                  int64_t qpc, int ext_items, const uint8_t *user, size_t user_len);
/* Appends the buffer to the file (compressed if the file is, unless
 * plain), with the given flags. */
void eb_add_buffer(eb_file *f, eb_buffer *b, uint16_t flags);
void eb_free(eb_file *f);
int eb_write(const eb_file *f, const char *path);

/* XPRESS (plain LZ77) encoder: returns the compressed length. */
size_t eb_xpress_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

extern const uint8_t EB_AFD_GUID[16];
extern const uint8_t EB_OTHER_GUID[16];

#endif
