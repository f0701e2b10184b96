/*
 * `diff`'s latency comparison: a remote whose connects, or a DNS name whose
 * answers, take ST_DIFF_SLOWER times longer in B than in A (their medians,
 * as the summary computes them), and at least ST_DIFF_SLOWER_FLOOR_NS in B,
 * is a change worth reporting even when every connection tells the same
 * story.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "summary_model.h"

static int compare(st_sum_lat **a, st_sum_lat *b, uint8_t kind, st_diff_result *r, size_t *cap) {
  st_sum_lat_sort(a);
  for (st_sum_lat *x = *a; x; x = x->hh.next) {
    st_sum_lat *y = st_sum_lat_find(b, x->key);
    st_sum_lat_q qa, qb;
    st_sum_lat_quantiles(x, &qa);
    st_sum_lat_quantiles(y, &qb);
    if (!y || !qa.p50 || qb.p50 / ST_DIFF_SLOWER < qa.p50 || qb.p50 < ST_DIFF_SLOWER_FLOOR_NS)
      continue;
    if (r->nslower == *cap) {
      size_t c = *cap ? *cap * 2 : 8;
      st_diff_slower *p = realloc(r->slower, c * sizeof *p);
      if (!p)
        return ST_ENOMEM;
      r->slower = p;
      *cap = c;
    }
    st_diff_slower *s = &r->slower[r->nslower++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    snprintf(s->key, sizeof s->key, "%s", x->key);
    s->a_p50_ns = qa.p50;
    s->b_p50_ns = qb.p50;
    s->a_n = qa.n;
    s->b_n = qb.n;
  }
  return 0;
}

int st_diff_latency(st_sum_model *a, st_sum_model *b, st_diff_result *r) {
  size_t cap = r->nslower;
  int rc = compare(&a->lat_remotes, b->lat_remotes, ST_DIFF_SLOWER_CONNECT, r, &cap);
  if (rc == 0)
    rc = compare(&a->dns_lat_names, b->dns_lat_names, ST_DIFF_SLOWER_DNS, r, &cap);
  return rc;
}
