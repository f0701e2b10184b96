/*
 * Summary sink: the CI-friendly view printed when a session ends. Per
 * process and per remote endpoint: connects attempted / succeeded / failed
 * by status, accepts, bytes each way, resets; the catalog changes, when
 * there were any; then lost events. With the longest option, the
 * longest-lived connections. The counting rules live
 * in the model it shares with the HTML report (core/summary_model.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "socktrace/sink.h"
#include "summary_model.h"

typedef struct summary_sink {
  st_out out;
  st_summary_options opt;
  st_sum_model model;
} summary_sink;

static int summary_write(st_sink *sk, const st_event *ev) {
  return st_sum_add(&((summary_sink *)sk)->model, ev);
}

static void print_table(FILE *out, const char *title, const char *col, st_sum_row *table) {
  fprintf(out, "\n%s\n", title);
  if (!table) {
    fprintf(out, "  (none)\n");
    return;
  }
  fprintf(out, "  %-32s %8s %6s %7s %7s %12s %12s %7s %7s  %s\n", col, "CONNECTS", "OK", "FAILED",
          "ACCEPTS", "SENT", "RECEIVED", "RST-IN", "RST-OUT", "FAILURES");
  for (st_sum_row *r = table; r; r = r->hh.next) {
    char reasons[512];
    uint64_t failed = st_sum_row_failures(r, reasons, sizeof reasons, NULL);
    fprintf(out,
            "  %-32s %8" PRIu64 " %6" PRIu64 " %7" PRIu64 " %7" PRIu64 " %12" PRIu64 " %12" PRIu64
            " %7" PRIu64 " %7" PRIu64 "  %s\n",
            r->key, r->attempts, r->ok, failed, r->accepts, r->bytes_sent, r->bytes_received,
            r->resets_in, r->resets_out, reasons[0] ? reasons : "-");
  }
}

static void print_longest(summary_sink *s) {
  FILE *out = s->out.file;
  fprintf(out, "\nLongest-lived connections\n");
  const st_sum_socket **c;
  size_t n = st_sum_longest(&s->model, &c);
  for (size_t i = 0; i < n; i++) {
    const st_sum_socket *x = c[i];
    if (!i)
      fprintf(out, "  %-24s %-18s %-48s %12s %12s %12s\n", "PROCESS", "ENDPOINT", "LOCAL -> REMOTE",
              "LIFETIME", "SENT", "RECEIVED");
    char conn[2 * sizeof x->peer + 8], ep[24];
    snprintf(conn, sizeof conn, "%s -> %s", x->local[0] ? x->local : "?", x->peer);
    snprintf(ep, sizeof ep, "0x%" PRIx64, x->endpoint);
    uint64_t ns = st_sum_lifetime(x);
    fprintf(out, "  %-24s %-18s %-48s %8" PRIu64 ".%03" PRIu64 "ms %12" PRIu64 " %12" PRIu64 "\n",
            x->proc, ep, conn, ns / 1000000, ns / 1000 % 1000, x->call_sent, x->call_received);
  }
  free(c);
  if (!n)
    fprintf(out, "  (none)\n");
}

static void print_catalog(FILE *out, const st_sum_model *m) {
  fprintf(out, "\nCatalog changes\n");
  fprintf(out, "  %-15s %-24s %-15s %s\n", "TIME", "PROCESS", "EVENT", "ENTRY");
  for (uint64_t i = 0; i < m->ncatalog && i < ST_SUM_CATALOG_KEEP; i++) {
    const st_sum_catalog *c = &m->catalog[i];
    char ts[48];
    const char *name = st_event_name(ST_PROVIDER_CATALOG, c->id);
    st_format_utc(c->ts_ns, 0, ts, sizeof ts);
    fprintf(out, "  %-15s %-24s %-15s %s\n", ts, c->proc, name ? name : "?", c->detail);
  }
  if (m->ncatalog > ST_SUM_CATALOG_KEEP)
    fprintf(out, "  ... and %" PRIu64 " more (the events have them all)\n",
            m->ncatalog - ST_SUM_CATALOG_KEEP);
}

static int summary_end(st_sink *sk, const st_counters *c) {
  summary_sink *s = (summary_sink *)sk;
  st_sum_sort(&s->model);
  FILE *out = s->out.file;
  fprintf(out,
          "\nsocktrace summary: %" PRIu64 " events seen, %" PRIu64 " shown, %" PRIu64
          " filtered out, %" PRIu64 " lost\n",
          c->seen, c->delivered, c->filtered, c->lost);
  print_table(out, "By process", "PROCESS", s->model.procs);
  print_table(out, "By remote endpoint", "REMOTE", s->model.remotes);
  if (s->model.ncatalog)
    print_catalog(out, &s->model);
  if (s->opt.longest)
    print_longest(s);
  if (c->lost)
    fprintf(out, "\nLOST EVENTS: %" PRIu64 " (see EventsLost records; raise the buffer size)\n",
            c->lost);
  else
    fprintf(out, "\nLost events: 0\n");
  return st_out_flush(sk);
}

static void summary_close(st_sink *sk) {
  summary_sink *s = (summary_sink *)sk;
  st_sum_free(&s->model);
  st_out_close(sk);
}

static const st_sink_ops summary_ops = {
    .name = "summary", .write = summary_write, .end = summary_end, .close = summary_close};

int st_sink_summary_new_opts(FILE *out, const st_summary_options *opt, st_sink **sink) {
  summary_sink *s = st_out_new(sizeof *s, &summary_ops, out, "the summary");
  if (!s)
    return ST_ENOMEM;
  if (opt)
    s->opt = *opt;
  st_sum_init(&s->model, s->opt.longest_max);
  *sink = &s->out.base;
  return 0;
}

int st_sink_summary_new(FILE *out, st_sink **sink) {
  return st_sink_summary_new_opts(out, NULL, sink);
}
