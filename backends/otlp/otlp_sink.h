/*
 * The OTLP/HTTP sink (-o otlp://HOST:PORT): a session's events as
 * OpenTelemetry log records and its metrics (the metrics sink's series) as
 * OTLP Sum and Histogram points, POSTed in protobuf to /v1/logs and
 * /v1/metrics by a thread of its own, off the loop.
 */
#ifndef ST_OTLP_SINK_H
#define ST_OTLP_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/sink.h"

#define ST_OTLP_HEADERS_MAX 16
#define ST_OTLP_DEFAULT_BUFFER (16ull << 20)

typedef struct st_otlp_options {
  const char *url;                          /* otlp://HOST:PORT[/PATH] or otlps://... */
  const char *headers[ST_OTLP_HEADERS_MAX]; /* "Name: value" */
  unsigned nheaders;
  const char *ca_file;   /* CA certificates to trust (otlps://) */
  uint64_t buffer_bytes; /* events held while the collector is away; 0 = 16 MiB */
  bool retry;            /* start even when the collector does not answer */
  bool wait_when_full;   /* a recording: write() waits for room (10 s without progress at most) */
  unsigned interval_ms;  /* between metrics exports; 0 = 5000 */
  unsigned drain_ms;     /* how long end() waits for the collector; 0 = 10000 */
  unsigned max_series;   /* the metrics' label sets; 0 = the metrics sink's default */
  /* The session's loop (a uv_loop_t): metrics are then exported on a timer
   * of its, also while no event comes; NULL: when an event comes after
   * interval_ms. */
  void *loop;
} st_otlp_options;

typedef struct st_otlp_stats {
  uint64_t sent;     /* events the collector took */
  uint64_t lost;     /* events dropped: buffer full, refused, or undelivered at the end */
  uint64_t buffered; /* events held now */
  uint64_t exports;  /* successful requests, logs and metrics */
  char last_error[256];
} st_otlp_stats;

/* 0, or ST_EINVAL with the reason in err (a bad URL). */
int st_sink_otlp_new(const st_otlp_options *opt, st_sink **sink, char *err, size_t errlen);
void st_sink_otlp_stats(st_sink *sink, st_otlp_stats *out);
/* "http://HOST:PORT/PATH" (https for otlps) from an otlp:// URL; 0 or ST_EINVAL. */
int st_otlp_base_url(const char *url, char *buf, size_t len);

#endif
