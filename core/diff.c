/*
 * Matching two lists of connection stories and naming what differs
 * (diff.h). Both lists come sorted by their matching key (role, family,
 * peer, own port, process), so a story whose process is unknown sits
 * beside the stories it may match.
 */
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "internal.h"

const char *st_diff_what_name(uint8_t what, bool words) {
  switch (what) {
  case ST_DIFF_ONLY_A:
    return words ? "only in A" : "only_a";
  case ST_DIFF_ONLY_B:
    return words ? "only in B" : "only_b";
  case ST_DIFF_OUTCOME:
    return "outcome";
  case ST_DIFF_ATTEMPTS:
    return "attempts";
  case ST_DIFF_BYTES:
    return "bytes";
  case ST_DIFF_ORDER:
    return "order";
  default:
    return "?";
  }
}

/* The key without its process: what must match when a side does not know
 * its processes. */
static size_t rest_len(const st_story *s) {
  return strlen(s->key) - strlen(s->match_proc);
}

static bool same_rest(const st_story *a, const st_story *b) {
  size_t n = rest_len(a);
  return n == rest_len(b) && strncmp(a->key, b->key, n) == 0;
}

/* The first story of b (sorted) whose key is at least key[0..n). */
static size_t lower_bound(const st_story *b, size_t nb, const char *key, size_t n) {
  size_t lo = 0, hi = nb;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strncmp(b[mid].key, key, n) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Pairs a's stories with b's: first those with the same key, then those
 * that differ only in a process one side does not know. match[i] is b's
 * index for a[i], or SIZE_MAX. */
static void pair(const st_story *a, size_t na, const st_story *b, size_t nb, size_t *match,
                 bool *taken) {
  for (size_t i = 0, j = 0; i < na; i++) {
    match[i] = SIZE_MAX;
    while (j < nb && strcmp(b[j].key, a[i].key) < 0)
      j++;
    if (j < nb && strcmp(b[j].key, a[i].key) == 0 && !taken[j]) {
      match[i] = j;
      taken[j] = true;
    }
  }
  for (size_t i = 0; i < na; i++) {
    if (match[i] != SIZE_MAX)
      continue;
    for (size_t j = lower_bound(b, nb, a[i].key, rest_len(&a[i])); j < nb; j++) {
      if (!same_rest(&a[i], &b[j]))
        break;
      if (!taken[j] && (!a[i].match_proc[0] || !b[j].match_proc[0])) {
        match[i] = j;
        taken[j] = true;
        break;
      }
    }
  }
}

static bool beyond(const st_diff_options *o, uint64_t x, uint64_t y) {
  uint64_t d = x > y ? x - y : y - x, big = x > y ? x : y;
  if (d <= o->bytes_tolerance)
    return false;
  return !(o->bytes_tolerance_pct && d * 100 <= (uint64_t)o->bytes_tolerance_pct * big);
}

/* ST_DIFF_* bits (1 << what) for a matched pair. */
static unsigned compare(const st_diff_options *o, const st_story *a, const st_story *b) {
  unsigned what = 0;
  bool same_set = (a->dns_failures > 0) == (b->dns_failures > 0);
  bool same_counts = a->dns_failures == b->dns_failures;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    same_set &= (a->outcomes[c] > 0) == (b->outcomes[c] > 0);
    same_counts &= a->outcomes[c] == b->outcomes[c];
  }
  if (!same_set || (a->attempts == b->attempts && !same_counts))
    what |= 1u << ST_DIFF_OUTCOME;
  if (a->attempts != b->attempts)
    what |= 1u << ST_DIFF_ATTEMPTS;
  /* A connection that ended otherwise moved other bytes and took other
   * steps: its outcome says it all. */
  if (what & (1u << ST_DIFF_OUTCOME))
    return what;
  if (a->bytes_known && b->bytes_known &&
      (beyond(o, a->bytes_sent, b->bytes_sent) || beyond(o, a->bytes_received, b->bytes_received)))
    what |= 1u << ST_DIFF_BYTES;
  if (o->order && a->nsteps && b->nsteps &&
      (a->nsteps != b->nsteps || memcmp(a->steps, b->steps, a->nsteps) != 0))
    what |= 1u << ST_DIFF_ORDER;
  return what;
}

static const char *change_key(const st_diff_change *c) {
  return c->a ? c->a->key : c->b->key;
}

static int cmp_change(const void *x, const void *y) {
  const st_diff_change *a = x, *b = y;
  int c = strcmp(change_key(a), change_key(b));
  return c ? c : (int)a->what - (int)b->what;
}

static int push(st_diff_result *r, size_t *cap, uint8_t what, const st_story *a,
                const st_story *b) {
  if (r->n == *cap) {
    size_t n = *cap ? 2 * *cap : 16;
    st_diff_change *c = realloc(r->changes, n * sizeof *c);
    if (!c)
      return ST_ENOMEM;
    r->changes = c;
    *cap = n;
  }
  r->changes[r->n++] = (st_diff_change){what, a, b};
  return 0;
}

int st_diff_stories(const st_story *a, size_t na, const st_story *b, size_t nb,
                    const st_diff_options *o, st_diff_result *r) {
  memset(r, 0, sizeof *r);
  size_t *match = malloc((na ? na : 1) * sizeof *match), cap = 0;
  bool *taken = calloc(nb ? nb : 1, sizeof *taken);
  int rc = match && taken ? 0 : ST_ENOMEM;
  if (rc == 0)
    pair(a, na, b, nb, match, taken);
  for (size_t i = 0; rc == 0 && i < na; i++) {
    if (match[i] == SIZE_MAX) {
      rc = push(r, &cap, ST_DIFF_ONLY_A, &a[i], NULL);
      r->stories_differ++;
      continue;
    }
    unsigned what = compare(o, &a[i], &b[match[i]]);
    if (what)
      r->stories_differ++;
    else
      r->stories_equal++;
    for (uint8_t w = ST_DIFF_OUTCOME; rc == 0 && w <= ST_DIFF_ORDER; w++)
      if (what & (1u << w))
        rc = push(r, &cap, w, &a[i], &b[match[i]]);
  }
  for (size_t j = 0; rc == 0 && j < nb; j++) {
    if (!taken[j]) {
      rc = push(r, &cap, ST_DIFF_ONLY_B, NULL, &b[j]);
      r->stories_differ++;
    }
  }
  free(match);
  free(taken);
  if (rc < 0) {
    st_diff_result_free(r);
    return rc;
  }
  if (r->n)
    qsort(r->changes, r->n, sizeof *r->changes, cmp_change);
  return 0;
}

void st_diff_result_free(st_diff_result *r) {
  free(r->changes);
  free(r->slower);
  memset(r, 0, sizeof *r);
}
