/*
 * A portable reader for Windows .etl trace files (no Windows headers): it
 * walks buffers, records and extended-data items, decodes the
 * TRACE_LOGFILE_HEADER, decompresses compressed buffers, and returns the
 * records of all processors merged into one time-ordered stream. Layouts
 * are in shared/spec/etw-formats.md.
 *
 * It never trusts a length from the file: a corrupt or truncated buffer or
 * record is reported as a problem (with its file offset) and skipped.
 * Memory is bounded: one buffer per processor is held at a time.
 */
#ifndef ST_ETL_FILE_H
#define ST_ETL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ETL_BUFFER_HEADER 72

/* Buffer flags (BufferFlag @0x34). */
enum {
  ETL_BUF_FLUSH = 0x1,
  ETL_BUF_EVENTS_LOST = 0x2,
  ETL_BUF_BUFFER_LOST = 0x4,
  ETL_BUF_COMPRESSED = 0x40,
};

typedef struct etl_buffer {
  uint64_t file_offset;
  uint32_t buffer_size, saved_offset, offset;
  int64_t timestamp;
  uint64_t sequence;
  uint16_t processor, logger_id;
  uint32_t state;
  uint16_t flag, type;
} etl_buffer;

typedef struct etl_logfile {
  bool present;
  uint32_t buffer_size;
  uint8_t version[4];
  uint32_t build; /* ProviderVersion */
  uint32_t processors;
  int64_t end_time, boot_time, start_time; /* FILETIME */
  uint32_t timer_resolution, max_file_size, log_file_mode, buffers_written, start_buffers;
  uint32_t pointer_size, events_lost, cpu_mhz, buffers_lost, clock_type;
  int64_t perf_freq;
  int64_t qpc0;                             /* the header record's timestamp */
  char logger_name[128], logfile_name[260]; /* UTF-8 */
} etl_logfile;

/* Record header types (byte 2 of a record). */
enum {
  ETL_HT_SYSTEM32 = 0x01,
  ETL_HT_SYSTEM64 = 0x02,
  ETL_HT_COMPACT32 = 0x03,
  ETL_HT_COMPACT64 = 0x04,
  ETL_HT_FULL32 = 0x0A,
  ETL_HT_INSTANCE32 = 0x0B,
  ETL_HT_PERFINFO32 = 0x10,
  ETL_HT_PERFINFO64 = 0x11,
  ETL_HT_EVENT32 = 0x12,
  ETL_HT_EVENT64 = 0x13,
  ETL_HT_FULL64 = 0x14,
  ETL_HT_INSTANCE64 = 0x15,
};

typedef enum etl_record_kind { ETL_SYSTEM, ETL_EVENT, ETL_CLASSIC, ETL_PERFINFO } etl_record_kind;

typedef struct etl_ext_item {
  uint16_t size, type, linkage, data_size;
  uint32_t offset; /* from the record's start */
} etl_ext_item;

#define ETL_MAX_EXT 16

typedef struct etl_record {
  uint32_t buffer_index; /* in file order */
  uint64_t file_offset;  /* of the record (for compressed buffers: of its buffer) */
  uint8_t header_type, marker;
  uint16_t size;
  etl_record_kind kind;
  bool ptr64; /* pointers in the payload are 8 bytes */
  int64_t timestamp;
  uint64_t time_ns; /* Unix ns, from the logfile clock */
  uint32_t pid, tid;
  uint16_t hook_id; /* system, perfinfo records */
  /* EVENT_HEADER records: */
  uint16_t flags, property;
  uint8_t provider[16]; /* GUID bytes as stored */
  uint16_t id;
  uint8_t version, channel, level, opcode;
  uint16_t task;
  uint64_t keyword;
  unsigned n_ext;
  etl_ext_item ext[ETL_MAX_EXT];
  const uint8_t *user_data; /* payload after the header (and extended items) */
  uint32_t user_len;
} etl_record;

typedef struct etl_problem {
  uint64_t offset;
  char what[200];
} etl_problem;

typedef struct etl_reader etl_reader;

/* Opens path and reads the buffer index and logfile header. On failure
 * returns a negative code with one line in err. */
int etl_reader_open(const char *path, etl_reader **out, char *err, size_t errlen);
/* The same on an open, seekable stream, which the reader then owns (and
 * closes, also on failure); name is used in messages. */
int etl_reader_open_stream(FILE *f, const char *name, etl_reader **out, char *err, size_t errlen);
void etl_reader_close(etl_reader *r);

const etl_logfile *etl_reader_logfile(const etl_reader *r);
size_t etl_reader_buffer_count(const etl_reader *r);
const etl_buffer *etl_reader_buffer(const etl_reader *r, size_t i); /* file order */

/* The next record of the merged timeline: 1, or 0 at the end. Problems met
 * on the way are queued for etl_reader_problem(). */
int etl_reader_next(etl_reader *r, etl_record *rec);
/* Pops the oldest queued problem: 1, or 0 when none. */
int etl_reader_problem(etl_reader *r, etl_problem *p);

/* Loss the file records: the header's EventsLost and BuffersLost, and the
 * number of buffers flagged events-lost / buffer-lost. */
typedef struct etl_loss {
  uint64_t header_events_lost, header_buffers_lost;
  uint64_t buffers_flagged_events_lost, buffers_flagged_buffer_lost;
} etl_loss;
void etl_reader_loss(const etl_reader *r, etl_loss *out);

/* FILETIME (100 ns since 1601) to Unix ns; 0 for times before 1970. */
uint64_t etl_filetime_to_ns(int64_t ft);
/* "{0CD1C309-0878-4515-83DB-749843B3F5C9}" from stored GUID bytes. */
void etl_guid_format(const uint8_t g[16], char out[39]);

#endif
