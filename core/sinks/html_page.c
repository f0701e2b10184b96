/*
 * Writes the HTML report: the page, its CSS and its two scripts (files in
 * core/sinks/html/, embedded at build time), and the trace as one JSON
 * document in a <script type="application/json"> element. Every byte of
 * that JSON passes through put_safe, which turns '<', '>', '&', U+2028 and
 * U+2029 into \u escapes: no value from the trace (a process named
 * "</script><script>...") can end the element or become markup. The page
 * inserts those values with textContent only.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "html_model.h"
#include "socktrace/sink.h"

/* Generated from core/sinks/html/ by cmake/embed.cmake. */
extern const char st_html_page[], st_html_css[], st_html_js[], st_html_timeline_js[];

static const char *const class_names[H_CLASSES] = {"ok", "warn", "abort", "reset", "fail", "lost"};

static int put_raw(html_sink *h, const char *s, size_t n) {
  return st_out_write(&h->out, s, n);
}

/* JSON text into a <script> element, escaped for that context. */
static int put_safe(html_sink *h, const char *s, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *rep = NULL;
    size_t len = 1;
    if (c == '<')
      rep = "\\u003c";
    else if (c == '>')
      rep = "\\u003e";
    else if (c == '&')
      rep = "\\u0026";
    else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
             ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9))
      rep = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", len = 3;
    if (!rep)
      continue;
    if (put_raw(h, s + run, i - run) < 0 || put_raw(h, rep, 6) < 0)
      return ST_EIO;
    i += len - 1;
    run = i + 1;
  }
  return put_raw(h, s + run, n - run);
}

/* Writes the buffer (JSON) safely and empties it. */
static int flush_json(html_sink *h) {
  st_buf *b = &h->buf;
  if (b->oom)
    return ST_ENOMEM;
  int rc = put_safe(h, b->data ? b->data : "", b->len);
  st_buf_reset(b);
  return rc;
}

static void json_key_str(st_buf *b, const char *key, const char *value) {
  st_buf_printf(b, "\"%s\":", key);
  st_buf_json_string(b, value);
}

static void json_header(html_sink *h, const st_counters *c) {
  st_buf *b = &h->buf;
  st_buf_printf(b, "{\"socktrace\":\"%s\",", ST_VERSION);
  json_key_str(b, "source", h->source);
  if (h->have_info) {
    const char *os = st_os_name(h->info.os), *be = st_backend_kind_name(h->info.backend);
    st_buf_puts(b, ",\"trace\":{");
    json_key_str(b, "host", h->info.host);
    st_buf_printf(b,
                  ",\"os\":\"%s\",\"backend\":\"%s\",\"level\":%u,\"keywords\":\"0x%" PRIx64 "\"",
                  os ? os : "unknown", be ? be : "unknown", h->info.level, h->info.keywords);
    if (h->info.started_ns) {
      char ts[48];
      st_format_utc(h->info.started_ns, 1, ts, sizeof ts);
      st_buf_printf(b, ",\"started\":\"%s\"", ts);
    }
    st_buf_puts(b, "}");
  }
  char origin[48];
  st_format_utc(h->first_ts, 1, origin, sizeof origin);
  st_buf_printf(
      b, ",\"origin\":{\"utc\":\"%s\",\"s\":%" PRIu64 ",\"ns\":%" PRIu64 "},\"span_ns\":%" PRIu64,
      origin, h->first_ts / 1000000000u, h->first_ts % 1000000000u, h->last_ts - h->first_ts);
  st_buf_printf(b,
                ",\"counts\":{\"seen\":%" PRIu64 ",\"shown\":%" PRIu64 ",\"filtered\":%" PRIu64
                ",\"lost\":%" PRIu64 "},\"losses\":[",
                c->seen, c->delivered, c->filtered, c->lost);
  for (unsigned i = 0; i < h->nlosses; i++) {
    const h_loss *l = &h->losses[i];
    const char *where = st_lost_where_name(l->where);
    /* A loss may start before the first event that reached us. */
    int64_t t0 = (int64_t)(l->from_ns - h->first_ts), t1 = (int64_t)(l->to_ns - h->first_ts);
    st_buf_printf(
        b, "%s{\"t0\":%" PRId64 ",\"t1\":%" PRId64 ",\"count\":%" PRIu64 ",\"where\":\"%s\"}",
        i ? "," : "", t0, t1, l->count, where ? where : "unknown");
  }
  st_buf_printf(b,
                "],\"losses_more\":%" PRIu64
                ",\"limits\":{\"sockets\":%u,\"events\":%u,\"head\":%d,\"mid\":%d,\"tail\":%d}",
                h->losses_more, h->opt.max_sockets, h->opt.max_events, HTML_HEAD, HTML_MID,
                HTML_TAIL);
}

static void json_rows(st_buf *b, const char *name, st_sum_row *table) {
  st_buf_printf(b, ",\"%s\":[", name);
  for (st_sum_row *r = table; r; r = r->hh.next) {
    char reasons[512];
    uint64_t unfinished;
    uint64_t failed = st_sum_row_failures(r, reasons, sizeof reasons, &unfinished);
    st_buf_puts(b, r == table ? "[" : ",[");
    st_buf_json_string(b, r->key);
    st_buf_printf(b,
                  ",%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                  ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
                  r->pid, r->attempts, r->ok, failed, unfinished, r->accepts, r->bytes_sent,
                  r->bytes_received, r->resets_in, r->resets_out);
    st_buf_json_string(b, reasons);
    st_buf_puts(b, "]");
  }
  st_buf_puts(b, "]");
}

static void json_longest(html_sink *h) {
  st_buf *b = &h->buf;
  const st_sum_socket **c;
  size_t n = st_sum_longest(&h->sum, &c);
  st_buf_puts(b, ",\"longest\":[");
  for (size_t i = 0; i < n; i++) {
    st_buf_puts(b, i ? ",[" : "[");
    st_buf_json_string(b, c[i]->proc);
    st_buf_printf(b, ",\"0x%" PRIx64 "\",", c[i]->endpoint);
    st_buf_json_string(b, c[i]->local[0] ? c[i]->local : "?");
    st_buf_puts(b, ",");
    st_buf_json_string(b, c[i]->peer);
    st_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", st_sum_lifetime(c[i]),
                  c[i]->call_sent, c[i]->call_received);
  }
  st_buf_puts(b, "]");
  free(c);
}

static size_t kept(const h_socket *k) {
  return k->nhead + k->nmid + k->ntail;
}

/* The most events per socket that keeps the page within max_events. */
static size_t per_socket_cap(html_sink *h, h_socket **all, size_t n) {
  size_t lo = 0, hi = HTML_HEAD + HTML_MID + HTML_TAIL;
  while (lo < hi) {
    size_t mid = (lo + hi + 1) / 2, sum = 0;
    for (size_t i = 0; i < n; i++)
      sum += kept(all[i]) < mid ? kept(all[i]) : mid;
    if (sum <= h->opt.max_events)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* A socket's kept events in time order (the tail formatted now); ev must
 * hold kept(k) entries; returns how many, or ST_ENOMEM. */
static int gather(h_socket *k, h_event *ev, h_event *fresh, unsigned *nfresh) {
  size_t n = 0;
  st_buf tmp = {0};
  for (unsigned i = 0; i < k->nhead; i++)
    ev[n++] = k->head[i];
  for (unsigned i = 0; i < k->nmid; i++)
    ev[n++] = k->mid[i];
  uint64_t first_tail = k->n - k->ntail;
  for (unsigned i = 0; i < k->ntail; i++) {
    const st_event *e = &k->tail[(k->tail_at + i) % HTML_TAIL];
    if (html_keep(&fresh[i], e, first_tail + i, html_classify(e), &tmp) < 0) {
      st_buf_free(&tmp);
      return ST_ENOMEM;
    }
    ev[n++] = fresh[i];
    (*nfresh)++;
  }
  st_buf_free(&tmp);
  /* Insertion sort by time, stable: the timeline's order. */
  for (size_t i = 1; i < n; i++) {
    h_event x = ev[i];
    size_t j = i;
    for (; j > 0 && ev[j - 1].ts > x.ts; j--)
      ev[j] = ev[j - 1];
    ev[j] = x;
  }
  return (int)n;
}

/* Marks which of n events to embed when only cap fit: notable ones
 * first, then from both ends. */
static void choose(const h_event *ev, size_t n, size_t cap, bool *sel) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    sel[i] = n <= cap;
  if (n <= cap)
    return;
  for (size_t i = 0; i < n && count < cap; i++)
    if (ev[i].cls != H_OK)
      sel[i] = true, count++;
  for (size_t lo = 0, hi = n; count < cap && lo < hi;) {
    if (!sel[lo])
      sel[lo] = true, count++;
    lo++;
    if (count < cap && lo < hi && !sel[hi - 1])
      sel[hi - 1] = true, count++;
    hi--;
  }
}

static int json_socket(html_sink *h, h_socket *k, size_t cap, uint64_t *embedded) {
  st_buf *b = &h->buf;
  h_event ev[HTML_HEAD + HTML_MID + HTML_TAIL], fresh[HTML_TAIL];
  bool sel[HTML_HEAD + HTML_MID + HTML_TAIL];
  unsigned nfresh = 0;
  int n = gather(k, ev, fresh, &nfresh);
  st_buf_printf(b, "{\"ep\":\"0x%" PRIx64 "\",", k->endpoint);
  json_key_str(b, "who", k->label.who);
  st_buf_puts(b, ",");
  json_key_str(b, "proto", k->label.proto);
  st_buf_puts(b, ",");
  json_key_str(b, "local", k->label.local);
  st_buf_puts(b, ",");
  json_key_str(b, "remote", k->label.remote);
  st_buf_printf(b,
                ",\"t0\":%" PRIu64 ",\"t1\":%" PRIu64 ",\"n\":%" PRIu64
                ",\"worst\":\"%s\",\"closed\":%s,\"heading\":",
                k->first_ts - h->first_ts, k->last_ts - h->first_ts, k->n, class_names[k->worst],
                k->closed ? "true" : "false");
  st_buf heading = {0};
  st_sock_label_heading(&heading, k->endpoint, &k->label, k->first_ts);
  st_buf_json_string(b, heading.data ? heading.data : "");
  st_buf_free(&heading);
  st_buf_puts(b, ",\"ev\":[");
  if (n > 0)
    choose(ev, (size_t)n, cap, sel);
  for (int i = 0, first = 1; i < n; i++) {
    if (!sel[i])
      continue;
    st_buf_printf(b, "%s[%" PRIu64 ",\"%s\",%" PRIu64 ",", first ? "" : ",", ev[i].ts - h->first_ts,
                  class_names[ev[i].cls], ev[i].index);
    st_buf line = {0};
    st_timeline_offset(&line, ev[i].ts - k->first_ts);
    st_buf_puts(&line, "  ");
    st_buf_puts(&line, ev[i].text);
    st_buf_json_string(b, line.data ? line.data : "");
    st_buf_free(&line);
    st_buf_printf(b, ",%s]", ev[i].json);
    first = 0;
    (*embedded)++;
  }
  st_buf_puts(b, "]}");
  for (unsigned i = 0; i < nfresh; i++)
    free(fresh[i].json);
  return n < 0 ? n : flush_json(h);
}

/* Groups in the summary's process order; the socket-less events last. */
static int by_group(const void *a, const void *b) {
  const h_socket *x = *(h_socket *const *)a, *y = *(h_socket *const *)b;
  if ((x->endpoint == 0) != (y->endpoint == 0))
    return x->endpoint == 0 ? 1 : -1;
  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  int c = strcmp(x->proc, y->proc);
  if (c)
    return c;
  if (x->first_ts != y->first_ts)
    return x->first_ts < y->first_ts ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int by_hidden(h_hidden *a, h_hidden *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  return strcmp(a->proc, b->proc);
}

/* Where a kept socket's group stands against a hidden group: < 0 before,
 * 0 the same process, > 0 after (no socket left, or the socket-less row). */
static int group_cmp(const h_socket *k, const h_hidden *g) {
  if (!k || !k->endpoint)
    return g ? 1 : -1;
  if (!g)
    return -1;
  if (k->pid != g->pid)
    return k->pid < g->pid ? -1 : 1;
  return strcmp(k->proc, g->proc);
}

static bool same_group(const h_socket *a, const h_socket *b) {
  return (a->endpoint == 0) == (b->endpoint == 0) && a->pid == b->pid &&
         strcmp(a->proc, b->proc) == 0;
}

static void json_hidden(st_buf *b, const h_hidden *g, uint64_t origin) {
  st_buf_printf(b,
                ",\"hidden\":{\"sockets\":%" PRIu64 ",\"events\":%" PRIu64 ",\"failed\":%" PRIu64
                ",\"t0\":%" PRIu64 ",\"t1\":%" PRIu64 "}",
                g->sockets, g->events, g->failed, g->first_ts - origin, g->last_ts - origin);
}

typedef struct page_totals {
  uint64_t embedded, hidden_sockets, hidden_events;
} page_totals;

/* One process's group: its kept sockets from all[*i], its hidden row. */
static int json_group(html_sink *h, h_socket **all, size_t n, size_t *i, h_hidden **g, size_t cap,
                      page_totals *t) {
  st_buf *b = &h->buf;
  const h_socket *lead = *i < n ? all[*i] : NULL;
  int c = group_cmp(lead, *g);
  if (c <= 0 && !lead->endpoint) {
    st_buf_puts(b, "{\"proc\":\"(not tied to a socket)\",\"pid\":null");
  } else {
    st_buf_puts(b, "{");
    json_key_str(b, "proc", c <= 0 ? lead->proc : (*g)->proc);
    st_buf_printf(b, ",\"pid\":%" PRIu32, c <= 0 ? lead->pid : (*g)->pid);
  }
  if (c >= 0) {
    json_hidden(b, *g, h->first_ts);
    t->hidden_sockets += (*g)->sockets;
    t->hidden_events += (*g)->events;
    *g = (*g)->hh.next;
  }
  st_buf_puts(b, ",\"sockets\":[");
  int rc = flush_json(h);
  for (size_t first = *i; rc == 0 && c <= 0 && *i < n && same_group(all[*i], lead); (*i)++) {
    if (*i > first)
      st_buf_puts(b, ",");
    rc = json_socket(h, all[*i], cap, &t->embedded);
  }
  st_buf_puts(b, "]}");
  return rc;
}

static int json_groups(html_sink *h, page_totals *t) {
  size_t n = 0, kmax = HASH_COUNT(h->sockets);
  h_socket **all = malloc((kmax ? kmax : 1) * sizeof *all), *k, *tmp;
  if (!all)
    return ST_ENOMEM;
  HASH_ITER(hh, h->sockets, k, tmp) {
    if (k->n) /* named by an accept, never seen itself */
      all[n++] = k;
  }
  qsort(all, n, sizeof *all, by_group);
  HASH_SORT(h->hidden, by_hidden);
  size_t cap = per_socket_cap(h, all, n), i = 0;
  h_hidden *g = h->hidden;
  st_buf_puts(&h->buf, ",\"groups\":[");
  int rc = 0;
  for (int ngroups = 0; rc == 0 && (i < n || g); ngroups++) {
    if (ngroups)
      st_buf_puts(&h->buf, ",");
    rc = json_group(h, all, n, &i, &g, cap, t);
  }
  st_buf_puts(&h->buf, "]");
  free(all);
  return rc;
}

/* "latency": [of, by, key, count, p50, p90, p99, max] rows, in ns. */
static void json_latency(html_sink *h) {
  static const struct {
    const char *of, *by;
    size_t offset;
  } tables[] = {
      {"connect", "process", offsetof(st_sum_model, lat_procs)},
      {"connect", "remote", offsetof(st_sum_model, lat_remotes)},
      {"dns", "process", offsetof(st_sum_model, dns_lat_procs)},
      {"dns", "name", offsetof(st_sum_model, dns_lat_names)},
  };
  st_buf *b = &h->buf;
  bool first = true;
  st_buf_puts(b, ",\"latency\":[");
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
    st_sum_lat **t = (st_sum_lat **)((char *)&h->sum + tables[i].offset);
    st_sum_lat_sort(t);
    for (st_sum_lat *l = *t; l; l = l->hh.next) {
      st_sum_lat_q q;
      st_sum_lat_quantiles(l, &q);
      st_buf_printf(b, "%s[\"%s\",\"%s\",", first ? "" : ",", tables[i].of, tables[i].by);
      st_buf_json_string(b, l->key);
      st_buf_printf(b, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", q.n, q.p50,
                    q.p90, q.p99, q.max);
      first = false;
    }
  }
  st_buf_puts(b, "]");
}

static int put_data(html_sink *h, const st_counters *c) {
  page_totals t = {0};
  st_buf_reset(&h->buf); /* it held the last event formatted */
  json_header(h, c);
  st_sum_sort(&h->sum);
  json_rows(&h->buf, "procs", h->sum.procs);
  json_rows(&h->buf, "remotes", h->sum.remotes);
  json_rows(&h->buf, "ipc", h->sum.ipc);
  json_rows(&h->buf, "containers", h->sum.containers);
  json_longest(h);
  json_latency(h);
  int rc = json_groups(h, &t);
  if (rc == 0)
    st_buf_printf(&h->buf,
                  ",\"totals\":{\"events\":%" PRIu64 ",\"sockets\":%" PRIu64
                  ",\"embedded\":%" PRIu64 ",\"hidden_sockets\":%" PRIu64
                  ",\"hidden_events\":%" PRIu64 "}}",
                  h->events, h->nsockets, t.embedded, t.hidden_sockets, t.hidden_events);
  return rc ? rc : flush_json(h);
}

int html_write_page(html_sink *h, const st_counters *c) {
  static const struct {
    const char *marker;
    const char *text; /* NULL: the data */
  } parts[] = {{"@@ST_CSS@@", st_html_css},
               {"@@ST_JS@@", st_html_js},
               {"@@ST_TIMELINE_JS@@", st_html_timeline_js},
               {"@@ST_DATA@@", NULL}};
  const size_t nparts = sizeof parts / sizeof parts[0];
  const char *p = st_html_page;
  int rc = 0;
  while (rc == 0 && *p) {
    const char *at = strstr(p, "@@ST_");
    size_t i = 0;
    while (at && i < nparts && strncmp(at, parts[i].marker, strlen(parts[i].marker)) != 0)
      i++;
    if (!at || i == nparts) { /* no (known) marker left */
      rc = put_raw(h, p, strlen(p));
      break;
    }
    rc = put_raw(h, p, (size_t)(at - p));
    if (rc == 0)
      rc = parts[i].text ? put_raw(h, parts[i].text, strlen(parts[i].text)) : put_data(h, c);
    p = at + strlen(parts[i].marker);
  }
  return rc;
}
