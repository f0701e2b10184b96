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
/* Prints its tables when the session ends. */
int st_sink_summary_new(FILE *out, st_sink **sink);
/* Discards everything (benchmarks). */
int st_sink_null_new(st_sink **sink);

/* One event as a JSON object (no newline) into buf; returns the length it
 * needs, like snprintf. Shared by the jsonl sink and tools. */
int st_event_to_json(const st_event *ev, char *buf, size_t len);
/* One event as a text line (no newline). */
int st_event_to_text(const st_event *ev, const st_text_options *opt, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
