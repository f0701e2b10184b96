/*
 * The summary model's tables as views show them: the order the HTML report
 * keeps (processes by pid), a row's failures in words, and for the summary
 * on a long trace one row per program rather than per pid, ranked so the
 * rows that matter come first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "summary_model.h"

static int by_pid(st_sum_row *a, st_sum_row *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  return strcmp(a->key, b->key);
}

static int by_key(st_sum_row *a, st_sum_row *b) {
  return strcmp(a->key, b->key);
}

void st_sum_sort(st_sum_model *m) {
  HASH_SORT(m->procs, by_pid);
  HASH_SORT(m->remotes, by_key);
  HASH_SORT(m->ipc, by_key);
  HASH_SORT(m->containers, by_key);
}

uint64_t st_sum_row_failures(const st_sum_row *r, char *reasons, size_t len, uint64_t *unfinished) {
  uint64_t failed = 0;
  size_t rl = 0;
  reasons[0] = 0;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    if (!r->failed[c])
      continue;
    failed += r->failed[c];
    rl += (size_t)snprintf(reasons + rl, rl < len ? len - rl : 0, "%s%s %" PRIu64, rl ? ", " : "",
                           st_code_name((st_code)c), r->failed[c]);
  }
  uint64_t pending = r->attempts > r->ok + failed ? r->attempts - r->ok - failed : 0;
  if (pending)
    snprintf(reasons + rl, rl < len ? len - rl : 0, "%sunfinished %" PRIu64, rl ? ", " : "",
             pending);
  if (unfinished)
    *unfinished = pending;
  return failed;
}

static uint64_t row_trouble(const st_sum_row *r) {
  uint64_t failed = 0;
  for (int c = 0; c < ST_CODE_COUNT; c++)
    failed += r->failed[c];
  uint64_t pending = r->attempts > r->ok + failed ? r->attempts - r->ok - failed : 0;
  return failed + pending;
}

/* Failures first, then bytes, then activity, then by name. */
static int cmp_rank(const void *a, const void *b) {
  const st_sum_row *x = *(const st_sum_row *const *)a, *y = *(const st_sum_row *const *)b;
  uint64_t fx = row_trouble(x), fy = row_trouble(y);
  if (fx != fy)
    return fx > fy ? -1 : 1;
  uint64_t bx = x->bytes_sent + x->bytes_received, by = y->bytes_sent + y->bytes_received;
  if (bx != by)
    return bx > by ? -1 : 1;
  uint64_t ax = x->attempts + x->accepts, ay = y->attempts + y->accepts;
  if (ax != ay)
    return ax > ay ? -1 : 1;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->peer, y->peer);
}

static void merge_row(st_sum_row *into, const st_sum_row *r) {
  into->pids += r->pids;
  into->attempts += r->attempts;
  into->ok += r->ok;
  for (int c = 0; c < ST_CODE_COUNT; c++)
    into->failed[c] += r->failed[c];
  into->accepts += r->accepts;
  into->bytes_sent += r->bytes_sent;
  into->bytes_received += r->bytes_received;
  into->resets_in += r->resets_in;
  into->resets_out += r->resets_out;
}

size_t st_sum_group(const st_sum_row *table, st_sum_row ***out) {
  st_sum_row *groups = NULL;
  size_t n = 0;
  *out = NULL;
  for (const st_sum_row *r = table; r; r = r->hh.next) {
    /* A row with nothing to say (a socket that only closed) is left out. */
    if (!r->attempts && !r->accepts && !r->bytes_sent && !r->bytes_received && !r->resets_in &&
        !r->resets_out)
      continue;
    char key[sizeof r->key];
    snprintf(key, sizeof key, "%s\x1f%s", r->name, r->peer);
    st_sum_row *g = NULL;
    HASH_FIND_STR(groups, key, g);
    if (!g) {
      g = calloc(1, sizeof *g);
      if (!g)
        goto fail;
      snprintf(g->key, sizeof g->key, "%s", key);
      memcpy(g->name, r->name, sizeof g->name);
      memcpy(g->peer, r->peer, sizeof g->peer);
      HASH_ADD_STR(groups, key, g);
      n++;
    }
    merge_row(g, r);
  }
  if (!n)
    return 0;
  *out = malloc(n * sizeof **out);
  if (!*out)
    goto fail;
  size_t i = 0;
  st_sum_row *g, *tmp;
  HASH_ITER(hh, groups, g, tmp) {
    HASH_DEL(groups, g);
    (*out)[i++] = g;
  }
  qsort(*out, n, sizeof **out, cmp_rank);
  return n;
fail:
  ST_HASH_FREE_ALL(st_sum_row, groups, free);
  return 0;
}

void st_sum_rows_free(st_sum_row **rows, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(rows[i]);
  free(rows);
}
