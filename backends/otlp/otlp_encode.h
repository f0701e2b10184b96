/*
 * Private to the OTLP sink: events and metrics into the protobuf bodies of
 * ExportLogsServiceRequest and ExportMetricsServiceRequest.
 */
#ifndef ST_OTLP_ENCODE_H
#define ST_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "socktrace/metrics.h"
#include "socktrace/sink.h"

typedef struct st_otlp_resource {
  char host[64];
  const char *os; /* "linux", "windows" */
} st_otlp_resource;

/* The request for n events: *out is malloc'ed (the caller frees it);
 * returns its length, or a negative code. */
long st_otlp_encode_logs(const st_otlp_resource *r, const st_event *ev, size_t n, uint8_t **out);
/* The request for every series of a metrics sink, start_ns the session's
 * start (cumulative points), now_ns the time of the points. */
long st_otlp_encode_metrics(const st_otlp_resource *r, st_sink *metrics, uint64_t start_ns,
                            uint64_t now_ns, uint8_t **out);

#endif
