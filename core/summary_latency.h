/*
 * Latency samples by key (a process name, a remote, a DNS name) for the
 * summary's latency tables and `diff`: connect latency (a connect's enter
 * to its outcome) and DNS answer latency. Percentiles are exact (nearest
 * rank) while a key has at most ST_SUM_LAT_KEEP samples; past that a
 * uniform sample of that many is kept (a fixed-seed reservoir, so the
 * same trace gives the same figures) and the maximum stays exact.
 */
#ifndef ST_CORE_SUMMARY_LATENCY_H
#define ST_CORE_SUMMARY_LATENCY_H

#include <stdint.h>
#include <uthash.h>

#define ST_SUM_LAT_KEEP 8192
#define ST_SUM_LAT_KEY_MAX 272

typedef struct st_sum_lat {
  char key[ST_SUM_LAT_KEY_MAX];
  uint64_t n;         /* samples seen */
  uint64_t max_ns;    /* the largest, exact */
  uint32_t kept, cap; /* samples in ns */
  uint64_t *ns;
  uint64_t rng; /* the reservoir's generator */
  int sorted;
  UT_hash_handle hh;
} st_sum_lat;

typedef struct st_sum_lat_q {
  uint64_t n, p50, p90, p99, max;
} st_sum_lat_q;

/* One sample under key; 0 or ST_ENOMEM. */
int st_sum_lat_add(st_sum_lat **table, const char *key, uint64_t ns);
/* Its count, nearest-rank percentiles and maximum (sorts its samples). */
void st_sum_lat_quantiles(st_sum_lat *l, st_sum_lat_q *q);
st_sum_lat *st_sum_lat_find(st_sum_lat *table, const char *key);
/* Keys in order (for stable tables). */
void st_sum_lat_sort(st_sum_lat **table);
void st_sum_lat_free_all(st_sum_lat **table);

#endif
