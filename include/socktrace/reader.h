/*
 * Reading socktrace traces in your own programs, as libpcap reads
 * captures: open any file socktrace reads, whatever wrote it (.sktrace,
 * JSON Lines, .pcap / .pcapng, Windows .etl; told apart by content, not by
 * name; .sktrace files with compressed blocks, and any of these compressed
 * whole with gzip, zstd or xz, read as they are), read its header, pull its events one at a time as
 * st_event (the schema in event.h), turn each into JSON or a text line, close.
 *
 *   st_reader *r;
 *   char err[ST_ERROR_MAX];
 *   if (st_reader_open(path, &r, err, sizeof err) < 0)
 *     return fprintf(stderr, "%s\n", err), 1;
 *   const st_event *ev;
 *   int rc;
 *   while ((rc = st_reader_next(r, &ev)) > 0)
 *     ... ev->id, st_event_name(ev->provider, ev->id), ev->status ...
 *   if (rc < 0)
 *     fprintf(stderr, "%s\n", st_reader_error(r));
 *   st_reader_close(r);
 *
 * No loop, no threads, nothing printed: every call that can fail returns a
 * negative ST_E* code (status.h), which st_strerror() and st_err_name()
 * turn into words, and leaves one line saying what failed in the error
 * buffer or st_reader_error(). A reader is used from one thread at a time;
 * separate readers are independent. man 3 libsocktrace says the same with
 * a complete program.
 */
#ifndef SOCKTRACE_READER_H
#define SOCKTRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"
#include "socktrace/event.h"
#include "socktrace/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_reader st_reader;

/* Opens path ("-" reads standard input: .sktrace or JSON Lines, either
 * compressed too) and reads its header; a gzip, zstd or xz file is
 * decompressed as it is read. Returns 0 and *out, or a negative code with
 * one line in err (err may be NULL): ST_ENOENT / ST_EACCES / ST_EIO (the
 * file cannot be read), ST_EBADMSG (not a trace this library reads: err
 * says what was looked for and what the file is instead, such as "a zip
 * archive: extract the trace from it first" or "gzip data that does not
 * decompress"; or a name that promises a format the content does not have),
 * ST_ENOSYS (a format this build of the library was made without, such as
 * packet captures without libpcap), ST_ENOMEM. */
int st_reader_open(const char *path, st_reader **out, char *err, size_t errlen);

/* Where the trace was recorded, as the file says: host, os (st_os),
 * backend (st_backend_kind: the one that recorded it, e.g. ebpf, not this
 * reader), level, keywords and start (started_ns). What a format does not
 * state is 0 or empty: a packet capture names no host; for captures, os
 * is wire and backend pcap. */
const st_trace_info *st_reader_header(const st_reader *r);

/* What the file holds: "sktrace", "jsonl", "pcap" or "etl". */
const char *st_reader_format(const st_reader *r);

/* The next event: returns 1 and points *ev at it (owned by the reader,
 * valid until the next call), 0 at the end of the trace, or a negative
 * code when reading failed (ST_EIO: st_reader_error() says why; the
 * events before were good). Every event of the file is returned, at every
 * level: filter as you like. A damaged record is not a failure: it comes
 * as a DecodeError event (provider ST_PROVIDER_EXT, id ST_EV_DECODE_ERROR,
 * the problem in ev->detail) and reading goes on. */
int st_reader_next(st_reader *r, const st_event **ev);

/* Counts so far: events read, records lost by the recording's source, and
 * damaged records skipped (each was a DecodeError event). */
void st_reader_stats(const st_reader *r, st_backend_stats *out);

/* One line about the last failure or the first damaged record; "" when
 * there was neither. */
const char *st_reader_error(const st_reader *r);

/* Closes the file and frees the reader (NULL is fine). */
void st_reader_close(st_reader *r);

/* To print events, see sink.h: st_event_to_json() (one JSON object, the
 * JSON Lines form) and st_event_to_text() (the text sink's line); and
 * event.h for names: st_event_name(), st_code_name(ev->status.code) ... */

#ifdef __cplusplus
}
#endif
#endif
