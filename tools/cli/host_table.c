/*
 * The fleet's table: one row per host, printed when the session ends
 * (`collect`, and `--summary` of a stream). Each host's events are counted
 * by a summary model of their own (core/summary_model.c), so a row says
 * what the summary's process rows say, summed over that host: connects by
 * outcome, accepts, bytes, resets, failures by status, lost events; then
 * each host's processes whose connects failed. Which
 * host an event is from, the event cannot say: host_of asks the source.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "summary_model.h"

#define HOST_NAME_MAX_LEN 64

typedef struct host_row {
  char name[HOST_NAME_MAX_LEN];
  uint64_t events, lost;
  st_sum_model model;
} host_row;

typedef struct host_table {
  st_sink base;
  FILE *out;
  const char *(*host_of)(void *arg);
  void *arg;
  host_row **rows;
  size_t nrows;
} host_table;

static host_row *row_of(host_table *t, const char *name) {
  for (size_t i = 0; i < t->nrows; i++)
    if (strcmp(t->rows[i]->name, name) == 0)
      return t->rows[i];
  host_row **rows = realloc(t->rows, (t->nrows + 1) * sizeof *rows);
  host_row *r = rows ? calloc(1, sizeof *r) : NULL;
  if (rows)
    t->rows = rows;
  if (!r)
    return NULL;
  snprintf(r->name, sizeof r->name, "%s", name);
  st_sum_init(&r->model, 1);
  t->rows[t->nrows++] = r;
  return r;
}

static int table_write(st_sink *s, const st_event *ev) {
  host_table *t = (host_table *)s;
  const char *name = t->host_of(t->arg);
  host_row *r = row_of(t, name && *name ? name : "?");
  if (!r)
    return ST_ENOMEM;
  r->events++;
  if (ev->id == ST_EV_EVENTS_LOST && ev->provider == ST_PROVIDER_EXT && (ev->has & ST_HAS_LOST))
    r->lost += ev->lost.count;
  return st_sum_add(&r->model, ev);
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(host_row *const *)a)->name, (*(host_row *const *)b)->name);
}

/* A host's process rows, summed; failures by status in words. */
static void print_row(FILE *out, host_row *h) {
  st_sum_row total = {0};
  for (st_sum_row *r = h->model.procs; r; r = r->hh.next) {
    total.attempts += r->attempts;
    total.ok += r->ok;
    for (int c = 0; c < ST_CODE_COUNT; c++)
      total.failed[c] += r->failed[c];
    total.accepts += r->accepts;
    total.bytes_sent += r->bytes_sent;
    total.bytes_received += r->bytes_received;
    total.resets_in += r->resets_in;
    total.resets_out += r->resets_out;
  }
  char reasons[512];
  uint64_t failed = st_sum_row_failures(&total, reasons, sizeof reasons, NULL);
  fprintf(out,
          "  %-24s %9" PRIu64 " %8" PRIu64 " %6" PRIu64 " %7" PRIu64 " %7" PRIu64 " %12" PRIu64
          " %12" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64 "  %s\n",
          h->name, h->events, total.attempts, total.ok, failed, total.accepts, total.bytes_sent,
          total.bytes_received, total.resets_in, total.resets_out, h->lost,
          reasons[0] ? reasons : "-");
}

/* Which processes failed where: each host's programs whose connects
 * failed, most failures first, at most FAILING_MAX a host ("which hosts
 * saw refused connects, and from which processes?"). */
#define FAILING_MAX 5
static void print_failing(host_table *t) {
  bool any = false;
  char reasons[512];
  for (size_t i = 0; i < t->nrows; i++) {
    st_sum_row **rows;
    size_t n = st_sum_group(t->rows[i]->model.procs, &rows), shown = 0, more = 0;
    for (size_t j = 0; j < n; j++) {
      uint64_t failed = st_sum_row_failures(rows[j], reasons, sizeof reasons, NULL);
      if (!failed)
        continue;
      if (shown == FAILING_MAX) {
        more++;
        continue;
      }
      if (!any)
        fprintf(t->out, "\nFailing processes by host\n  %-24s %-20s %6s %8s %7s  %s\n", "HOST",
                "PROCESS", "PIDS", "CONNECTS", "FAILED", "FAILURES");
      any = true;
      shown++;
      fprintf(t->out, "  %-24s %-20s %6u %8" PRIu64 " %7" PRIu64 "  %s\n", t->rows[i]->name,
              rows[j]->name, rows[j]->pids, rows[j]->attempts, failed, reasons[0] ? reasons : "-");
    }
    if (more)
      fprintf(t->out, "  %-24s (%zu more process%s)\n", t->rows[i]->name, more,
              more == 1 ? "" : "es");
    st_sum_rows_free(rows, n);
  }
}

static int table_end(st_sink *s, const st_counters *c) {
  host_table *t = (host_table *)s;
  qsort(t->rows, t->nrows, sizeof *t->rows, by_name);
  fprintf(t->out, "\nBy host\n");
  if (!t->nrows)
    fprintf(t->out, "  (none)\n");
  else
    fprintf(t->out, "  %-24s %9s %8s %6s %7s %7s %12s %12s %7s %7s %7s  %s\n", "HOST", "EVENTS",
            "CONNECTS", "OK", "FAILED", "ACCEPTS", "SENT", "RECEIVED", "RST-IN", "RST-OUT", "LOST",
            "FAILURES");
  for (size_t i = 0; i < t->nrows; i++)
    print_row(t->out, t->rows[i]);
  print_failing(t);
  if (fflush(t->out) != 0) {
    snprintf(s->error, sizeof s->error, "cannot write the table by host");
    return ST_EIO;
  }
  return 0;
}

static void table_close(st_sink *s) {
  host_table *t = (host_table *)s;
  for (size_t i = 0; i < t->nrows; i++) {
    st_sum_free(&t->rows[i]->model);
    free(t->rows[i]);
  }
  free(t->rows);
  free(t);
}

static const st_sink_ops table_ops = {
    .name = "hosts", .write = table_write, .end = table_end, .close = table_close};

int cli_host_table_new(FILE *out, const char *(*host_of)(void *arg), void *arg, st_sink **sink) {
  host_table *t = calloc(1, sizeof *t);
  if (!t)
    return ST_ENOMEM;
  t->base.ops = &table_ops;
  t->out = out;
  t->host_of = host_of;
  t->arg = arg;
  *sink = &t->base;
  return 0;
}
