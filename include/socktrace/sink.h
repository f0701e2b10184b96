/*
 * The sink vtable and the built-in sinks. Sinks receive events that already
 * passed the session's level, keyword and filter checks; they never know
 * which backend produced them. A sink must not block the loop for long.
 */
#ifndef SOCKTRACE_SINK_H
#define SOCKTRACE_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "socktrace/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a trace says about where it came from (the JSONL header object). */
typedef struct st_trace_info {
  char host[64];
  uint8_t os;      /* st_os */
  uint8_t backend; /* st_backend_kind */
  uint8_t level;
  uint64_t keywords;
  uint64_t started_ns;
} st_trace_info;

/* Per-session counters. seen = filtered + delivered; lost = events the
 * sources or sinks dropped (the sum of every EventsLost count). */
typedef struct st_counters {
  uint64_t seen;
  uint64_t filtered;
  uint64_t delivered;
  uint64_t lost;
} st_counters;

typedef struct st_sink st_sink;

typedef struct st_sink_ops {
  const char *name;
  int (*begin)(st_sink *s, const st_trace_info *info); /* may be NULL */
  int (*write)(st_sink *s, const st_event *ev);
  int (*flush)(st_sink *s);                            /* may be NULL */
  int (*end)(st_sink *s, const st_counters *counters); /* may be NULL */
  void (*close)(st_sink *s);                           /* frees s */
} st_sink_ops;

struct st_sink {
  const st_sink_ops *ops;
  char error[512];
};

/* Built-in sinks. They write to out and never close it. */
typedef struct st_text_options {
  bool color;      /* ANSI colours (the CLI turns this on for a TTY) */
  bool local_time; /* print local time instead of UTC */
} st_text_options;
int st_sink_text_new(FILE *out, const st_text_options *opt, st_sink **sink);
int st_sink_jsonl_new(FILE *out, st_sink **sink);
/* Prints its tables when the session ends: the network failures (by
 * program and peer), then per process (grouped by name) and per remote
 * endpoint, then UNIX sockets in a table of their own. */
int st_sink_summary_new(FILE *out, st_sink **sink);
typedef struct st_summary_options {
  bool longest;         /* add the longest-lived connections table */
  unsigned longest_max; /* its rows; 0 = 10 */
  bool markdown;        /* markdown tables (GitHub and GitLab job summaries) */
  bool all;             /* every row; else each table's top rows and a count of the rest */
  unsigned top;         /* rows per table when not all; 0 = 10 */
  const char *title;    /* markdown: what was traced, in the heading; may be NULL */
} st_summary_options;
int st_sink_summary_new_opts(FILE *out, const st_summary_options *opt, st_sink **sink);
/* Per socket, its events in order with times relative to its first event;
 * printed when the session ends (it keeps every event's line until then). */
int st_sink_timeline_new(FILE *out, st_sink **sink);
/* One CSV row per event (RFC 4180), with a header row. */
int st_sink_csv_new(FILE *out, st_sink **sink);
/* Chrome / Perfetto trace-event JSON: a track group per process, a track per
 * socket with its lifetime as a slice and its events as instants. */
int st_sink_chrome_new(FILE *out, st_sink **sink);
/* One self-contained HTML page per trace (no network, no external files):
 * where it came from, the summary tables, a zoomable timeline of every
 * socket (one row each, grouped by process) and each socket's events.
 * Written when the session ends. It stays bounded on any trace: past
 * max_sockets, the least notable sockets are folded into one row per
 * process, and at most max_events events are embedded with their fields. */
typedef struct st_html_options {
  const char *source;   /* where the trace came from (a file name); may be NULL */
  unsigned max_sockets; /* sockets drawn one row each; 0 = 1000 */
  unsigned max_events;  /* events embedded with their fields; 0 = 25000 */
} st_html_options;
int st_sink_html_new(FILE *out, const st_html_options *opt, st_sink **sink);
/* The .sktrace binary trace writer (docs/sktrace-format.md): the loop only
 * copies events into a bounded queue; a writer thread encodes them into
 * CRC-checked blocks and writes a block when it reaches block_bytes or is
 * flush_ms old. When the queue is full, write() waits up to full_wait_ms
 * for the writer (a live source's kernel ring holds events meanwhile); what
 * still finds no room is counted, and an EventsLost (5900, where "sink")
 * record follows in the file. With wait_when_full, for sources that can
 * wait (a file being replayed), write() waits as long as it takes and
 * nothing is dropped. A
 * write error (disk full) stops the recording: the next write() or end()
 * returns ST_EIO with one line in sink->error, and every block written
 * before stays readable. */
typedef struct st_sktrace_options {
  const char *path;      /* the file; when rotating, the newest one */
  uint64_t max_size;     /* rotate before a file grows past this; 0 = never */
  unsigned max_files;    /* files kept when rotating, this one included; 0 = 8 */
  uint32_t block_bytes;  /* target block size before compression; 0 = 256 KiB
                            compressed, 64 KiB plain (less for small max_size) */
  uint32_t flush_ms;     /* longest an event waits in a partial block; 0 = 1000 */
  uint32_t queue_events; /* queue between the loop and the writer; 0 = 8192 */
  const char *session;   /* session name for the header; may be NULL */
  const char *filters;   /* the session's filters in words, for the header */
  unsigned mode;         /* permissions of the files it makes; 0 = 0600 (owner only) */
  int32_t full_wait_ms;  /* longest wait for room in the queue; 0 = 20, < 0 = none */
  bool wait_when_full;   /* write() waits for room instead of dropping */
  /* Each block compressed with zstd at this level (format 2.0): 0 = the
   * default (ST_SKTRACE_COMPRESS_DEFAULT, or none in a build without
   * zstd), 1..19, or ST_SKTRACE_COMPRESS_NONE: plain blocks (format 1.2,
   * which socktrace before 2.0 reads too). */
  int compress;
} st_sktrace_options;
#define ST_SKTRACE_COMPRESS_NONE (-1)
#define ST_SKTRACE_COMPRESS_DEFAULT 1
#define ST_SKTRACE_COMPRESS_MAX 19
int st_sink_sktrace_new(const st_sktrace_options *opt, st_sink **sink);

typedef struct st_sktrace_stats {
  uint64_t events; /* events written to disk */
  uint64_t lost;   /* events dropped: queue full, or after a write error */
  uint64_t blocks; /* blocks written */
  uint64_t bytes;  /* bytes written, headers included */
  uint32_t files;  /* files opened (1 + rotations) */
} st_sktrace_stats;
/* Counters of an sktrace sink (any thread; exact after end()). */
void st_sink_sktrace_stats(st_sink *sink, st_sktrace_stats *out);

/* Discards everything (benchmarks). */
int st_sink_null_new(st_sink **sink);

/* One event as a JSON object (no newline) into buf; returns the length it
 * needs, like snprintf. Shared by the jsonl sink and tools. */
int st_event_to_json(const st_event *ev, char *buf, size_t len);
/* The inverse: one event from a JSON Lines line (the jsonl sink's form).
 * Returns 0, 1 for the header object (no event), or ST_EBADMSG with a
 * reason in err. */
int st_event_from_json(const char *line, st_event *ev, char *err, size_t errlen);
/* A JSON Lines trace's header object (its first line: {"socktrace":...})
 * into info; what the line does not state stays 0 or empty. Returns 0, or
 * ST_EBADMSG with a reason in err when the line is not such a header. */
int st_trace_info_from_json(const char *line, st_trace_info *info, char *err, size_t errlen);
/* One event as a text line (no newline). */
int st_event_to_text(const st_event *ev, const st_text_options *opt, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
