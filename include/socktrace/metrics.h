/*
 * The metrics sink: counters and latency histograms kept from the events a
 * session delivers, for a Prometheus endpoint (or any other exposition) to
 * render. It keeps a bounded number of series: past max_series, a new
 * process or remote is counted under the label value "other", never
 * dropped. Everything here runs on the session's loop thread.
 */
#ifndef SOCKTRACE_METRICS_H
#define SOCKTRACE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_METRICS_MAX_SERIES_DEFAULT 4000

typedef struct st_metrics_options {
  unsigned max_series; /* label sets kept one each; 0 = ST_METRICS_MAX_SERIES_DEFAULT */
} st_metrics_options;

int st_sink_metrics_new(const st_metrics_options *opt, st_sink **sink);

/* The exposition of every series: the Prometheus text format 0.0.4, or
 * OpenMetrics 1.0 text (openmetrics). *out is malloc'ed and NUL-terminated
 * (the caller frees it); returns its length or ST_ENOMEM. */
int st_metrics_render(st_sink *sink, bool openmetrics, char **out);

typedef struct st_metrics_stats {
  uint64_t series;     /* label sets kept, the "other" ones included */
  uint64_t overflowed; /* observations counted under "other" for want of room */
  uint64_t events;     /* events the sink saw */
} st_metrics_stats;
void st_metrics_get_stats(st_sink *sink, st_metrics_stats *out);

/* One series, for an exporter that is not Prometheus text (OTLP). A
 * histogram's buckets are cumulative, bounds in nanoseconds; the last
 * bucket (+Inf) is count. Strings live until the sink's next write. */
#define ST_METRICS_BUCKETS 17
/* Label slots: process, remote (or port), status (direction, where), and
 * container (set only on a series of a container's process). */
#define ST_METRICS_LABELS 4
typedef struct st_metrics_point {
  const char *name; /* a counter's without _total */
  const char *help;
  bool histogram;
  const char *label[ST_METRICS_LABELS], *value[ST_METRICS_LABELS]; /* label NULL: none there */
  uint64_t count; /* a counter's value; a histogram's count */
  uint64_t sum_ns;
  const uint64_t *buckets; /* ST_METRICS_BUCKETS, cumulative */
} st_metrics_point;
extern const uint64_t st_metrics_bounds_ns[ST_METRICS_BUCKETS];
/* Calls fn for every series, family by family, oldest first. Loop thread. */
void st_metrics_each(st_sink *sink, void (*fn)(void *arg, const st_metrics_point *p), void *arg);

/* The Content-Type header value of each form. */
#define ST_METRICS_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ST_METRICS_OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

#ifdef __cplusplus
}
#endif
#endif
