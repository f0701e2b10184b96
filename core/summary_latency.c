/*
 * Latency samples by key (summary_latency.h): a growing array per key up to
 * ST_SUM_LAT_KEEP samples, then a reservoir, so memory stays bounded on any
 * trace while small traces get exact percentiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socktrace/status.h"
#include "summary_latency.h"

st_sum_lat *st_sum_lat_find(st_sum_lat *table, const char *key) {
  st_sum_lat *l = NULL;
  HASH_FIND_STR(table, key, l);
  return l;
}

int st_sum_lat_add(st_sum_lat **table, const char *key, uint64_t ns) {
  st_sum_lat *l = st_sum_lat_find(*table, key);
  if (!l) {
    if (!(l = calloc(1, sizeof *l)))
      return ST_ENOMEM;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->rng = 0x9e3779b97f4a7c15ull;
    HASH_ADD_STR(*table, key, l);
  }
  l->n++;
  l->sorted = 0;
  if (ns > l->max_ns)
    l->max_ns = ns;
  if (l->kept < ST_SUM_LAT_KEEP) {
    if (l->kept == l->cap) {
      uint32_t cap = l->cap ? l->cap * 2 : 16;
      uint64_t *p = realloc(l->ns, cap * sizeof *p);
      if (!p)
        return ST_ENOMEM;
      l->ns = p;
      l->cap = cap;
    }
    l->ns[l->kept++] = ns;
    return 0;
  }
  /* Reservoir: the n-th sample replaces a kept one with probability KEEP/n. */
  l->rng = l->rng * 6364136223846793005ull + 1442695040888963407ull;
  uint64_t j = (l->rng >> 11) % l->n;
  if (j < ST_SUM_LAT_KEEP)
    l->ns[j] = ns;
  return 0;
}

static int by_ns(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% of them at or below. */
static uint64_t rank(const st_sum_lat *l, unsigned p) {
  uint64_t r = ((uint64_t)l->kept * p + 99) / 100;
  return l->ns[r ? r - 1 : 0];
}

void st_sum_lat_quantiles(st_sum_lat *l, st_sum_lat_q *q) {
  memset(q, 0, sizeof *q);
  if (!l || !l->kept)
    return;
  if (!l->sorted) {
    qsort(l->ns, l->kept, sizeof *l->ns, by_ns);
    l->sorted = 1;
  }
  q->n = l->n;
  q->p50 = rank(l, 50);
  q->p90 = rank(l, 90);
  q->p99 = rank(l, 99);
  q->max = l->max_ns;
}

static int by_key(st_sum_lat *a, st_sum_lat *b) {
  return strcmp(a->key, b->key);
}

void st_sum_lat_sort(st_sum_lat **table) {
  HASH_SORT(*table, by_key);
}

void st_sum_lat_free_all(st_sum_lat **table) {
  st_sum_lat *l, *t;
  HASH_ITER(hh, *table, l, t) {
    HASH_DEL(*table, l);
    free(l->ns);
    free(l);
  }
}
