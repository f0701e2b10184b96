/*
 * top's table: the columns (their titles, widths and --sort names), the
 * rows of the last interval grouped, filtered and sorted as the view asks,
 * and each line as the screen and batch mode print it (text, or JSON for
 * -f jsonl). Rates are per second of the interval; the other columns are
 * counts in it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "top.h"

static const struct {
  const char *name, *title;
  int width;
} columns[TOP_COLS] = {
    {"key", "", 0},          {"conn", "CONN/S", 7},     {"acc", "ACC/S", 6},
    {"rst-in", "RST-IN", 7}, {"rst-out", "RST-OUT", 8}, {"retrans", "RETRANS", 8},
    {"in", "IN/S", 7},       {"out", "OUT/S", 7},       {"p50", "P50", 7},
    {"p99", "P99", 7},       {"dns", "DNS-FAIL", 9},    {"failed", "FAILED", 0},
};

int top_column_lookup(const char *name) {
  for (int c = 0; c < TOP_COLS; c++)
    if (strcasecmp(name, columns[c].name) == 0)
      return c;
  return -1;
}

const char *top_column_title(int col) {
  return col == TOP_COL_KEY ? "KEY" : columns[col].title;
}

static double value(const st_top_row *r, int col) {
  const st_top_counts *n = &r->n;
  switch (col) {
  case TOP_COL_CONN:
    return (double)n->connects;
  case TOP_COL_ACC:
    return (double)n->accepts;
  case TOP_COL_RST_IN:
    return (double)n->resets_in;
  case TOP_COL_RST_OUT:
    return (double)n->resets_out;
  case TOP_COL_RETRANS:
    return (double)n->retransmits;
  case TOP_COL_IN:
    return (double)n->bytes_in;
  case TOP_COL_OUT:
    return (double)n->bytes_out;
  case TOP_COL_P50:
    return r->p50_us;
  case TOP_COL_P99:
    return r->p99_us;
  case TOP_COL_DNS:
    return (double)n->dns_failures;
  case TOP_COL_FAILED:
    return (double)st_top_failures(n, NULL, 0);
  default:
    return 0;
  }
}

static const top_view *sort_view; /* qsort has no argument; one sort at a time */

/* The column, largest first (or smallest with 'r'); ties by key and pid,
 * so that equal rows keep one order from one interval to the next. */
static int cmp_rows(const void *a, const void *b) {
  const st_top_row *x = a, *y = b;
  int col = sort_view->sort;
  int d = 0;
  if (col != TOP_COL_KEY) {
    double vx = value(x, col), vy = value(y, col);
    d = vx > vy ? -1 : vx < vy;
    if (col == TOP_COL_FAILED && !d) /* then the busiest */
      d = x->n.connects > y->n.connects ? -1 : x->n.connects < y->n.connects;
    if (sort_view->ascending)
      d = -d;
  }
  if (!d)
    d = strcmp(x->key, y->key);
  if (col == TOP_COL_KEY && sort_view->ascending)
    d = -d;
  if (!d)
    d = x->pid < y->pid ? -1 : x->pid > y->pid;
  return d;
}

/* needle in hay, case aside (strcasestr is GNU's, not Windows'). */
static bool contains(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return true;
  return n == 0;
}

static bool matches(const top_view *v, const st_top_row *r) {
  if (!v->filter[0])
    return true;
  char pid[16];
  snprintf(pid, sizeof pid, "%" PRIu32, r->pid);
  return contains(r->key, v->filter) || (r->pid && strcmp(pid, v->filter) == 0);
}

int top_view_rows(const st_top_model *m, const top_view *v, st_top_row **rows, st_top_row *total) {
  int n = st_top_rows(m, v->grouping, rows, total);
  if (n < 0)
    return n;
  int kept = 0;
  for (int i = 0; i < n; i++)
    if (matches(v, &(*rows)[i]))
      (*rows)[kept++] = (*rows)[i];
  sort_view = v;
  qsort(*rows, (size_t)kept, sizeof **rows, cmp_rows);
  return kept;
}

/* ---- cells ---- */

static void rate(char *buf, size_t len, uint64_t count, double seconds) {
  double v = seconds > 0 ? (double)count / seconds : 0;
  if (v == (double)(uint64_t)v || v >= 100)
    snprintf(buf, len, "%.0f", v);
  else
    snprintf(buf, len, "%.1f", v);
}

static void bytes_rate(char *buf, size_t len, uint64_t count, double seconds) {
  static const char units[] = "KMGT";
  double v = seconds > 0 ? (double)count / seconds : 0;
  if (v < 1024) {
    rate(buf, len, count, seconds);
    return;
  }
  int u = -1;
  while (v >= 1024 && u < 3)
    v /= 1024, u++;
  snprintf(buf, len, "%.1f%c", v, units[u]);
}

static void latency(char *buf, size_t len, uint32_t us, bool timed) {
  if (!timed)
    snprintf(buf, len, "-");
  else if (us < 1000)
    snprintf(buf, len, "%" PRIu32 "us", us);
  else if (us < 1000000)
    snprintf(buf, len, "%.1fms", us / 1e3);
  else
    snprintf(buf, len, "%.2fs", us / 1e6);
}

static void count(char *buf, size_t len, uint64_t n) {
  snprintf(buf, len, "%" PRIu64, n);
}

static int key_width(int grouping) {
  return grouping == ST_TOP_REMOTE ? 26 : grouping == ST_TOP_PROCESS ? 24 : 22;
}

static const char *key_title(int grouping) {
  switch (grouping) {
  case ST_TOP_REMOTE:
    return "REMOTE";
  case ST_TOP_CONTAINER:
    return "CONTAINER";
  case ST_TOP_HOST:
    return "HOST";
  default:
    return "    PID PROCESS";
  }
}

/* Adds one cell, padded to width (left-aligned for the key, right for the
 * numbers), in colour when asked; the line's visible length in *used. */
static void cell(st_buf *b, unsigned *used, const char *text, int width, bool left,
                 const char *color) {
  int n = (int)strlen(text);
  int pad = width > n ? width - n : 0;
  if (*used)
    st_buf_add(b, " ", 1), (*used)++;
  if (!left)
    st_buf_printf(b, "%*s", pad, "");
  if (color)
    st_buf_puts(b, color);
  st_buf_puts(b, text);
  if (color)
    st_buf_puts(b, "\033[0m");
  if (left)
    st_buf_printf(b, "%*s", pad, "");
  *used += (unsigned)(n + pad);
}

void top_line(st_buf *b, const top_view *v, const st_top_row *r, double seconds, bool color,
              unsigned width) {
  st_buf line = {0};
  unsigned used = 0;
  char text[ST_TOP_KEY_MAX + 32];
  /* The sort column's title is marked, so the keys' effect shows. */
  for (int c = 0; c < TOP_COLS; c++) {
    const char *paint = NULL;
    if (!r) {
      const char *t = c == TOP_COL_KEY ? key_title(v->grouping) : columns[c].title;
      snprintf(text, sizeof text, "%s%s", t, c == v->sort ? (v->ascending ? "^" : "*") : "");
      if (c == TOP_COL_KEY && v->grouping == ST_TOP_PROCESS && c == v->sort)
        snprintf(text, sizeof text, "    PID PROCESS%s", v->ascending ? "^" : "*");
    } else {
      const st_top_counts *n = &r->n;
      switch (c) {
      case TOP_COL_KEY:
        if (v->grouping == ST_TOP_PROCESS)
          snprintf(text, sizeof text, "%7" PRIu32 " %s", r->pid, r->key);
        else
          snprintf(text, sizeof text, "%s", r->key);
        break;
      case TOP_COL_CONN:
        rate(text, sizeof text, n->connects, seconds);
        break;
      case TOP_COL_ACC:
        rate(text, sizeof text, n->accepts, seconds);
        break;
      case TOP_COL_RST_IN:
        count(text, sizeof text, n->resets_in);
        paint = n->resets_in ? "\033[31m" : NULL;
        break;
      case TOP_COL_RST_OUT:
        count(text, sizeof text, n->resets_out);
        paint = n->resets_out ? "\033[31m" : NULL;
        break;
      case TOP_COL_RETRANS:
        count(text, sizeof text, n->retransmits);
        paint = n->retransmits ? "\033[33m" : NULL;
        break;
      case TOP_COL_IN:
        bytes_rate(text, sizeof text, n->bytes_in, seconds);
        break;
      case TOP_COL_OUT:
        bytes_rate(text, sizeof text, n->bytes_out, seconds);
        break;
      case TOP_COL_P50:
        latency(text, sizeof text, r->p50_us, r->latencies > 0);
        break;
      case TOP_COL_P99:
        latency(text, sizeof text, r->p99_us, r->latencies > 0);
        break;
      case TOP_COL_DNS:
        count(text, sizeof text, n->dns_failures);
        paint = n->dns_failures ? "\033[31m" : NULL;
        break;
      case TOP_COL_FAILED:
        if (!st_top_failures(n, text, sizeof text))
          snprintf(text, sizeof text, "-");
        else
          paint = "\033[31m";
        break;
      }
    }
    int w = c == TOP_COL_KEY ? key_width(v->grouping) : columns[c].width;
    /* Cut what will not fit on the screen, the last column included. */
    if (width && used + 1 + (unsigned)strlen(text) > width && c != TOP_COL_KEY) {
      if (used + 1 >= width)
        break;
      text[width - used - 1] = 0;
    }
    if (c == TOP_COL_KEY && (int)strlen(text) > w)
      text[w] = 0;
    cell(&line, &used, text, w, c == TOP_COL_KEY || c == TOP_COL_FAILED, color && r ? paint : NULL);
  }
  /* No trailing blanks: batch lines compare exactly. */
  while (line.len && line.data[line.len - 1] == ' ')
    line.len--;
  st_buf_add(b, line.data ? line.data : "", line.len);
  st_buf_free(&line);
}

void top_header(st_buf *b, const st_top_model *m, const top_view *v, const st_top_row *total,
                const char *source, const char *state) {
  char from[40], to[40], fails[160], p50[16], p99[16];
  double secs = (double)(m->last_end_ns - m->last_start_ns) / 1e9;
  st_format_utc(m->last_start_ns, 1, from, sizeof from);
  st_format_utc(m->last_end_ns, 0, to, sizeof to);
  /* Milliseconds are enough for a header. */
  char *dot = strchr(from, '.');
  if (dot)
    snprintf(dot + 4, sizeof from - (size_t)(dot + 4 - from), "Z");
  dot = strchr(to, '.');
  if (dot)
    dot[4] = 0;
  uint64_t failed = st_top_failures(&total->n, fails, sizeof fails);
  char conn[16], acc[16], in[16], out[16];
  rate(conn, sizeof conn, total->n.connects, secs);
  rate(acc, sizeof acc, total->n.accepts, secs);
  bytes_rate(in, sizeof in, total->n.bytes_in, secs);
  bytes_rate(out, sizeof out, total->n.bytes_out, secs);
  latency(p50, sizeof p50, total->p50_us, total->latencies > 0);
  latency(p99, sizeof p99, total->p99_us, total->latencies > 0);
  st_buf_printf(b, "socktrace top - %s to %s (%gs)%s%s  source: %s\n", from, to, secs,
                state && *state ? "  " : "", state ? state : "", source);
  st_buf_printf(b,
                "Totals: conn/s %s, failed %" PRIu64 "%s%s%s, acc/s %s, rst in %" PRIu64
                " out %" PRIu64 ", retrans %" PRIu64 ", in/s %s, out/s %s, p50 %s, p99 %s, "
                "dns-fail %" PRIu64 "\n",
                conn, failed, failed ? " (" : "", fails, failed ? ")" : "", acc, total->n.resets_in,
                total->n.resets_out, total->n.retransmits, in, out, p50, p99,
                total->n.dns_failures);
  st_buf_printf(b,
                "Events: %" PRIu64 " in the interval, %" PRIu64 " in all; lost %" PRIu64
                " in the interval, %" PRIu64 " in all; grouped by %s%s%s\n",
                m->last_events, m->events, m->last_lost, m->lost, st_top_grouping_name(v->grouping),
                v->filter[0] ? "; filter: " : "", v->filter);
}

void top_json_row(st_buf *b, const st_top_model *m, const top_view *v, const st_top_row *r) {
  char ts[40];
  st_format_utc(m->last_start_ns, 1, ts, sizeof ts);
  st_buf_printf(b, "{\"ts\":\"%s\",\"ts_ns\":%" PRIu64 ",\"seconds\":%g,\"group\":\"%s\",", ts,
                m->last_start_ns, (double)(m->last_end_ns - m->last_start_ns) / 1e9,
                st_top_grouping_name(v->grouping));
  if (v->grouping == ST_TOP_PROCESS)
    st_buf_printf(b, "\"pid\":%" PRIu32 ",", r->pid);
  st_buf_printf(b, "\"%s\":", st_top_grouping_name(v->grouping));
  st_buf_json_string(b, r->key);
  const st_top_counts *n = &r->n;
  st_buf_printf(b, ",\"connects\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"failed\":{", n->connects, n->ok);
  bool first = true;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    if (!n->failed[c] || c == ST_OK)
      continue;
    st_buf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", st_code_name((st_code)c), n->failed[c]);
    first = false;
  }
  st_buf_printf(b,
                "},\"accepts\":%" PRIu64 ",\"resets_in\":%" PRIu64 ",\"resets_out\":%" PRIu64
                ",\"retransmits\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
                ",\"dns_failures\":%" PRIu64,
                n->accepts, n->resets_in, n->resets_out, n->retransmits, n->bytes_in, n->bytes_out,
                n->dns_failures);
  if (r->latencies)
    st_buf_printf(b, ",\"connect_p50_us\":%" PRIu32 ",\"connect_p99_us\":%" PRIu32, r->p50_us,
                  r->p99_us);
  st_buf_puts(b, "}\n");
}
