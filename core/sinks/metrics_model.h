/*
 * Private to the metrics sink: its families (name, help, labels, kind) and
 * its series, shared by the accounting (metrics.c) and the exposition
 * (metrics_text.c).
 */
#ifndef ST_METRICS_MODEL_H
#define ST_METRICS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <uthash.h>

#include "socktrace/metrics.h"

enum {
  ST_M_CONNECTS,
  ST_M_CONNECT_DURATION,
  ST_M_ACCEPTS,
  ST_M_RESETS,
  ST_M_RETRANSMITS,
  ST_M_SENT_BYTES,
  ST_M_RECEIVED_BYTES,
  ST_M_DNS_QUERIES,
  ST_M_DNS_DURATION,
  ST_M_TCP_RTT,
  ST_M_EVENTS,
  ST_M_EVENTS_LOST,
  ST_M_FAMILIES
};

/* Label slots: a (process) and b (remote, port) are the unbounded ones,
 * folded into "other" when there is no room; c (status, direction, where)
 * has few values and is kept. A NULL name: the family has no such label. */
typedef struct st_m_family {
  const char *name; /* without _total: the OpenMetrics family name */
  const char *help;
  bool histogram; /* else a counter */
  const char *label[3];
} st_m_family;
extern const st_m_family st_m_families[ST_M_FAMILIES];

/* Histogram bounds in seconds, as nanoseconds: 50 us to 10 s. */
#define ST_M_BUCKETS ST_METRICS_BUCKETS
#define st_m_bounds_ns st_metrics_bounds_ns /* public: an exporter needs them */

#define ST_M_LABEL_MAX 272 /* a DNS name and ":65535" */

typedef struct st_m_key {
  uint8_t family;
  char a[ST_COMM_MAX];
  char b[ST_M_LABEL_MAX];
  char c[24];
  char d[64]; /* the process's container ("": none), on process-labelled families */
} st_m_key;

typedef struct st_m_series {
  st_m_key key;
  uint64_t value;  /* counters; histograms: the count */
  uint64_t sum_ns; /* histograms */
  uint64_t buckets[ST_M_BUCKETS];
  struct st_m_series *next; /* the family's list, oldest first */
  UT_hash_handle hh;
} st_m_series;

typedef struct st_m_list {
  st_m_series *head, *tail;
} st_m_list;

/* Appends the exposition of every family to *out. */
struct st_buf;
void st_m_render(const st_m_list lists[ST_M_FAMILIES], bool openmetrics, struct st_buf *out);

#endif
