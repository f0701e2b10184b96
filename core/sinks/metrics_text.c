/*
 * The metrics sink's exposition: the Prometheus text format (0.0.4) and
 * OpenMetrics 1.0 text, which differ in a family's TYPE/HELP name (with or
 * without _total), the unit line and the closing "# EOF". Label values are
 * escaped as both formats want (backslash, quote, newline).
 */
#include <inttypes.h>
#include <string.h>

#include "internal.h"
#include "metrics_model.h"

static void label_value(st_buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      st_buf_printf(b, "\\%c", *s);
    else if (*s == '\n')
      st_buf_puts(b, "\\n");
    else
      st_buf_add(b, s, 1);
  }
}

/* {process="curl",remote="db:5432"}, container="web" for a container's
 * process, and an extra le="..." when given. */
static void labels(st_buf *b, const st_m_family *f, const st_m_series *s, const char *le) {
  const char *v[3] = {s->key.a, s->key.b, s->key.c};
  bool any = false;
  for (int i = 0; i < 3; i++) {
    if (!f->label[i])
      continue;
    st_buf_printf(b, "%s%s=\"", any ? "," : "{", f->label[i]);
    label_value(b, v[i]);
    st_buf_puts(b, "\"");
    any = true;
  }
  if (s->key.d[0]) {
    st_buf_printf(b, "%scontainer=\"", any ? "," : "{");
    label_value(b, s->key.d);
    st_buf_puts(b, "\"");
    any = true;
  }
  if (le) {
    st_buf_printf(b, "%sle=\"%s\"", any ? "," : "{", le);
    any = true;
  }
  if (any)
    st_buf_puts(b, "}");
}

/* Seconds from nanoseconds, exactly as far as a double allows. */
static void seconds(char *buf, size_t len, uint64_t ns) {
  snprintf(buf, len, "%.9g", (double)ns / 1e9);
}

static void histogram(st_buf *b, const st_m_family *f, const st_m_series *s) {
  char le[32];
  for (int i = 0; i < ST_M_BUCKETS; i++) {
    seconds(le, sizeof le, st_m_bounds_ns[i]);
    st_buf_printf(b, "%s_bucket", f->name);
    labels(b, f, s, le);
    st_buf_printf(b, " %" PRIu64 "\n", s->buckets[i]);
  }
  st_buf_printf(b, "%s_bucket", f->name);
  labels(b, f, s, "+Inf");
  st_buf_printf(b, " %" PRIu64 "\n", s->value);
  char sum[32];
  seconds(sum, sizeof sum, s->sum_ns);
  st_buf_printf(b, "%s_sum", f->name);
  labels(b, f, s, NULL);
  st_buf_printf(b, " %s\n%s_count", sum, f->name);
  labels(b, f, s, NULL);
  st_buf_printf(b, " %" PRIu64 "\n", s->value);
}

void st_m_render(const st_m_list lists[ST_M_FAMILIES], bool openmetrics, st_buf *b) {
  for (int i = 0; i < ST_M_FAMILIES; i++) {
    const st_m_family *f = &st_m_families[i];
    /* Prometheus' text format names a counter's family with _total. */
    const char *suffix = f->histogram || openmetrics ? "" : "_total";
    st_buf_printf(b, "# HELP %s%s %s.\n", f->name, suffix, f->help);
    st_buf_printf(b, "# TYPE %s%s %s\n", f->name, suffix, f->histogram ? "histogram" : "counter");
    if (openmetrics && strstr(f->name, "_seconds"))
      st_buf_printf(b, "# UNIT %s seconds\n", f->name);
    else if (openmetrics && strstr(f->name, "_bytes"))
      st_buf_printf(b, "# UNIT %s bytes\n", f->name);
    for (const st_m_series *s = lists[i].head; s; s = s->next) {
      if (f->histogram) {
        histogram(b, f, s);
        continue;
      }
      st_buf_printf(b, "%s_total", f->name);
      labels(b, f, s, NULL);
      st_buf_printf(b, " %" PRIu64 "\n", s->value);
    }
  }
  if (openmetrics)
    st_buf_puts(b, "# EOF\n");
}
