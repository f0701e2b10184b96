/*
 * Summary sink: the CI-friendly view printed when a session ends, as text
 * or as markdown tables for a job summary. The network failures come first
 * (one line per program and peer: "curl client -> 10.0.0.5:5432 refused
 * 3"), then per process (one row per program, with its number of pids) and
 * per remote endpoint (a peer's own ports collapsed): connects by outcome,
 * accepts, bytes each way, resets; then UNIX sockets in a table of their
 * own; the catalog changes, when there were any; then lost events. On a
 * long trace each table shows its top rows, failures first and then by
 * volume, and says how many it left out. With the longest option, the
 * longest-lived connections. The counting rules live in the model it
 * shares with the HTML report and `diff` (core/summary_model.c,
 * core/story.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "socktrace/sink.h"
#include "story.h"
#include "summary_model.h"

typedef struct summary_sink {
  st_out out; /* the summary is built in out.line and written at the end */
  st_summary_options opt;
  st_sum_model model;
} summary_sink;

enum { T_PROCS, T_REMOTES, T_IPC, T_CONTAINERS };

static int summary_write(st_sink *sk, const st_event *ev) {
  return st_sum_add(&((summary_sink *)sk)->model, ev);
}

static const char *num(char *buf, uint64_t v) {
  snprintf(buf, 24, "%" PRIu64, v);
  return buf;
}

/* How many of n rows a table shows. */
static size_t shown(const summary_sink *s, size_t n) {
  size_t top = s->opt.top ? s->opt.top : 10;
  return s->opt.all || n <= top ? n : top;
}

/* A section: its title and table, a count of the rows left out, or a word
 * saying there is nothing. */
static void section(summary_sink *s, const char *title, const st_table *t, size_t more,
                    const char *none) {
  st_buf *b = &s->out.line;
  if (s->opt.markdown) {
    st_buf_printf(b, "\n#### %s\n\n", title);
    if (!t->nrows) {
      st_buf_printf(b, "_%s_\n", none);
      return;
    }
    st_table_markdown(t, b);
    if (more)
      st_buf_printf(b, "\n_%" PRIu64 " more rows (`--all` shows every row)._\n", (uint64_t)more);
    return;
  }
  st_buf_printf(b, "\n%s\n", title);
  if (!t->nrows) {
    st_buf_printf(b, "  (%s)\n", none);
    return;
  }
  st_table_text(t, b, "  ", NULL);
  if (more)
    st_buf_printf(b, "  ... %" PRIu64 " more rows (--all shows every row)\n", (uint64_t)more);
}

static int by_failures(const void *a, const void *b) {
  const st_story *x = *(const st_story *const *)a, *y = *(const st_story *const *)b;
  uint64_t fx = st_story_failures(x), fy = st_story_failures(y);
  if (fx != fy)
    return fx > fy ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* Network stories that ended badly, worst first. */
static int failures_section(summary_sink *s) {
  st_story *all = NULL;
  int n = st_story_list(&s->model, &all);
  if (n < 0)
    return n;
  const st_story **bad = malloc(((size_t)n + 1) * sizeof *bad);
  if (!bad) {
    free(all);
    return ST_ENOMEM;
  }
  size_t nbad = 0;
  for (int i = 0; i < n; i++)
    if (!all[i].ipc && st_story_failures(&all[i]))
      bad[nbad++] = &all[i];
  qsort(bad, nbad, sizeof *bad, by_failures);
  static const char *const head[] = {"Process", "Role", "Connection", "Outcome"};
  st_table t;
  st_table_init(&t, 4, head, "llll");
  for (size_t i = 0; i < shown(s, nbad); i++) {
    char conn[2 * ST_SUM_KEY_MAX], outcome[512];
    st_story_connection(bad[i], false, conn, sizeof conn);
    st_story_outcome(bad[i], outcome, sizeof outcome);
    const char *cells[] = {st_story_process(bad[i]), st_role_name(bad[i]->role), conn, outcome};
    st_table_row(&t, cells);
  }
  section(s, "Network failures", &t, nbad - shown(s, nbad), "none");
  st_table_free(&t);
  free(bad);
  free(all);
  return 0;
}

static int by_dns_count(const void *a, const void *b) {
  const st_sum_dns *x = *(const st_sum_dns *const *)a, *y = *(const st_sum_dns *const *)b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->key, y->key);
}

/* Lookups that failed: NXDOMAIN, SERVFAIL, REFUSED, no answer in time. Only
 * when there were some. */
static int dns_section(summary_sink *s) {
  size_t n = HASH_COUNT(s->model.dns), i = 0;
  if (!n)
    return 0;
  const st_sum_dns **rows = malloc(n * sizeof *rows);
  if (!rows)
    return ST_ENOMEM;
  for (const st_sum_dns *r = s->model.dns; r; r = r->hh.next)
    rows[i++] = r;
  qsort(rows, n, sizeof *rows, by_dns_count);
  static const char *const head[] = {"Process", "Query", "Server", "Outcome", "Count", "Waited"};
  st_table t;
  st_table_init(&t, 6, head, "llllrr");
  for (i = 0; i < shown(s, n); i++) {
    char count[32], waited[32];
    snprintf(count, sizeof count, "%" PRIu64, rows[i]->count);
    if (rows[i]->waited_us >= 1000000)
      snprintf(waited, sizeof waited, "%.1f s", rows[i]->waited_us / 1e6);
    else if (rows[i]->waited_us)
      snprintf(waited, sizeof waited, "%.1f ms", rows[i]->waited_us / 1e3);
    else
      snprintf(waited, sizeof waited, "-");
    const char *cells[] = {rows[i]->process, rows[i]->query, rows[i]->server,
                           rows[i]->outcome, count,          waited};
    st_table_row(&t, cells);
  }
  section(s, "DNS failures", &t, n - shown(s, n) + s->model.dns_more, "none");
  st_table_free(&t);
  free(rows);
  return 0;
}

/* What a running session was told to change, and when (only when it was). */
static void changes_section(summary_sink *s) {
  const st_sum_model *m = &s->model;
  if (!m->nchanges)
    return;
  static const char *const head[] = {"Time (UTC)", "Change"};
  st_table t;
  st_table_init(&t, 2, head, "ll");
  size_t n = m->nchanges < ST_SUM_CHANGES_MAX ? m->nchanges : ST_SUM_CHANGES_MAX;
  for (size_t i = 0; i < n; i++) {
    char when[48];
    st_format_utc(m->changes[i].ts_ns, 1, when, sizeof when);
    const char *cells[] = {when, m->changes[i].detail};
    st_table_row(&t, cells);
  }
  section(s, "Session changes", &t, m->nchanges - n, "none");
  st_table_free(&t);
}

static void rows_section(summary_sink *s, const char *title, const st_sum_row *table, int kind) {
  static const char *const procs[] = {"Process", "PIDs",    "Connects", "OK",
                                      "Failed",  "Accepts", "Sent",     "Received",
                                      "RST in",  "RST out", "Failures"};
  static const char *const remotes[] = {"Remote", "Connects", "OK",     "Failed",  "Accepts",
                                        "Sent",   "Received", "RST in", "RST out", "Failures"};
  static const char *const ipc[] = {"Process", "PIDs",    "Path", "Connects", "OK",
                                    "Failed",  "Accepts", "Sent", "Received", "Failures"};
  static const char *const containers[] = {"Container", "Connects", "OK",       "Failed",
                                           "Accepts",   "Sent",     "Received", "RST in",
                                           "RST out",   "Failures"};
  st_table t;
  if (kind == T_PROCS)
    st_table_init(&t, 11, procs, "lrrrrrrrrrl");
  else if (kind == T_REMOTES)
    st_table_init(&t, 10, remotes, "lrrrrrrrrl");
  else if (kind == T_CONTAINERS)
    st_table_init(&t, 10, containers, "lrrrrrrrrl");
  else
    st_table_init(&t, 10, ipc, "lrlrrrrrrl");
  st_sum_row **rows;
  size_t n = st_sum_group(table, &rows);
  for (size_t i = 0; i < shown(s, n); i++) {
    const st_sum_row *r = rows[i];
    char reasons[512], v[10][24];
    uint64_t failed = st_sum_row_failures(r, reasons, sizeof reasons, NULL);
    const char *counts[] = {num(v[0], r->attempts),   num(v[1], r->ok),
                            num(v[2], failed),        num(v[3], r->accepts),
                            num(v[4], r->bytes_sent), num(v[5], r->bytes_received),
                            num(v[6], r->resets_in),  num(v[7], r->resets_out)};
    const char *why = reasons[0] ? reasons : "-";
    if (kind == T_PROCS) {
      const char *pids = r->pids ? num(v[8], r->pids) : "-";
      const char *cells[] = {r->name,   pids,      counts[0], counts[1], counts[2], counts[3],
                             counts[4], counts[5], counts[6], counts[7], why};
      st_table_row(&t, cells);
    } else if (kind == T_REMOTES || kind == T_CONTAINERS) {
      const char *cells[] = {r->peer,   counts[0], counts[1], counts[2], counts[3],
                             counts[4], counts[5], counts[6], counts[7], why};
      st_table_row(&t, cells);
    } else {
      const char *pids = r->pids ? num(v[8], r->pids) : "-";
      const char *cells[] = {r->name,   pids,      r->peer,   counts[0], counts[1],
                             counts[2], counts[3], counts[4], counts[5], why};
      st_table_row(&t, cells);
    }
  }
  section(s, title, &t, n - shown(s, n), "none");
  st_table_free(&t);
  st_sum_rows_free(rows, n);
}

static void longest_section(summary_sink *s) {
  static const char *const head[] = {"Process",  "Endpoint", "Local -> remote",
                                     "Lifetime", "Sent",     "Received"};
  st_table t;
  st_table_init(&t, 6, head, "lllrrr");
  const st_sum_socket **c;
  size_t n = st_sum_longest(&s->model, &c);
  for (size_t i = 0; i < n; i++) {
    const st_sum_socket *x = c[i];
    char conn[2 * sizeof x->peer + 8], ep[24], life[48], v[2][24];
    snprintf(conn, sizeof conn, "%s -> %s", x->local[0] ? x->local : "?", x->peer);
    snprintf(ep, sizeof ep, "0x%" PRIx64, x->endpoint);
    uint64_t ns = st_sum_lifetime(x);
    snprintf(life, sizeof life, "%" PRIu64 ".%03" PRIu64 "ms", ns / 1000000, ns / 1000 % 1000);
    const char *cells[] = {
        x->proc, ep, conn, life, num(v[0], x->call_sent), num(v[1], x->call_received)};
    st_table_row(&t, cells);
  }
  free(c);
  section(s, "Longest-lived connections", &t, 0, "none");
  st_table_free(&t);
}

static const char *ms(char *buf, uint64_t ns) {
  snprintf(buf, 24, "%" PRIu64 ".%03" PRIu64 "ms", ns / 1000000, ns / 1000 % 1000);
  return buf;
}

/* A latency table (connects or DNS answers, by process or by peer): only
 * when the trace had such latencies. */
static void latency_section(summary_sink *s, const char *title, st_sum_lat **table,
                            const char *what, const char *count) {
  if (!*table)
    return;
  const char *const head[] = {what, count, "p50", "p90", "p99", "Max"};
  st_table t;
  st_table_init(&t, 6, head, "lrrrrr");
  st_sum_lat_sort(table);
  size_t n = HASH_COUNT(*table), i = 0;
  for (st_sum_lat *l = *table; l && i < shown(s, n); l = l->hh.next, i++) {
    st_sum_lat_q q;
    st_sum_lat_quantiles(l, &q);
    char v[5][24];
    const char *cells[] = {l->key,          num(v[0], q.n),  ms(v[1], q.p50),
                           ms(v[2], q.p90), ms(v[3], q.p99), ms(v[4], q.max)};
    st_table_row(&t, cells);
  }
  section(s, title, &t, n - shown(s, n), "none");
  st_table_free(&t);
}

/* Catalog changes in the order they came (the first ST_SUM_CATALOG_KEEP;
 * the rest counted). */
static void catalog_section(summary_sink *s) {
  static const char *const head[] = {"Time (UTC)", "Process", "Event", "Entry"};
  st_table t;
  st_table_init(&t, 4, head, "llll");
  const st_sum_model *m = &s->model;
  for (uint64_t i = 0; i < m->ncatalog && i < ST_SUM_CATALOG_KEEP; i++) {
    const st_sum_catalog *c = &m->catalog[i];
    char ts[48];
    const char *name = st_event_name(ST_PROVIDER_CATALOG, c->id);
    st_format_utc(c->ts_ns, 0, ts, sizeof ts);
    const char *cells[] = {ts, c->proc, name ? name : "?", c->detail};
    st_table_row(&t, cells);
  }
  uint64_t more = m->ncatalog > ST_SUM_CATALOG_KEEP ? m->ncatalog - ST_SUM_CATALOG_KEEP : 0;
  section(s, "Catalog changes", &t, 0, "none");
  if (more)
    st_buf_printf(&s->out.line,
                  s->opt.markdown ? "\n_%" PRIu64 " more (the events have them all)._\n"
                                  : "  ... and %" PRIu64 " more (the events have them all)\n",
                  more);
  st_table_free(&t);
}

static int summary_end(st_sink *sk, const st_counters *c) {
  summary_sink *s = (summary_sink *)sk;
  st_buf *b = &s->out.line;
  int rc = st_sum_finish(&s->model);
  if (s->opt.markdown) {
    st_buf_puts(b, "### socktrace summary");
    if (s->opt.title && s->opt.title[0]) {
      st_buf_puts(b, ": ");
      st_buf_markdown(b, s->opt.title);
    }
    st_buf_puts(b, "\n\n");
  } else {
    st_buf_puts(b, "\nsocktrace summary: ");
  }
  st_buf_printf(
      b, "%" PRIu64 " events seen, %" PRIu64 " shown, %" PRIu64 " filtered out, %" PRIu64 " lost\n",
      c->seen, c->delivered, c->filtered, c->lost);
  if (rc == 0)
    rc = failures_section(s);
  if (rc == 0)
    rc = dns_section(s);
  changes_section(s);
  rows_section(s, "By process", s->model.procs, T_PROCS);
  rows_section(s, "By remote endpoint", s->model.remotes, T_REMOTES);
  if (s->model.containers)
    rows_section(s, "By container", s->model.containers, T_CONTAINERS);
  if (s->model.ipc)
    rows_section(s, "Local IPC (UNIX sockets)", s->model.ipc, T_IPC);
  latency_section(s, "Connect latency by process", &s->model.lat_procs, "Process", "Connects");
  latency_section(s, "Connect latency by remote", &s->model.lat_remotes, "Remote", "Connects");
  latency_section(s, "DNS latency by process", &s->model.dns_lat_procs, "Process", "Answers");
  latency_section(s, "DNS latency by name", &s->model.dns_lat_names, "Name", "Answers");
  if (s->model.ncatalog)
    catalog_section(s);
  if (s->opt.longest)
    longest_section(s);
  if (c->lost)
    st_buf_printf(
        b, "\n%sLOST EVENTS: %" PRIu64 "%s (see EventsLost records; raise the buffer size)\n",
        s->opt.markdown ? "**" : "", c->lost, s->opt.markdown ? "**" : "");
  else
    st_buf_puts(b, "\nLost events: 0\n");
  if (rc == 0)
    rc = st_out_put_line(&s->out);
  if (rc == ST_ENOMEM)
    snprintf(sk->error, sizeof sk->error, "cannot build the summary: %s", st_strerror(rc));
  return rc < 0 ? rc : st_out_flush(sk);
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
