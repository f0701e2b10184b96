/*
 * Text helpers for sinks: a growable buffer, JSON string escaping, and UTC
 * time formatting done by arithmetic (no gmtime) so output is the same on
 * every OS and independent of the host's time zone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void st_buf_reset(st_buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = 0;
}

void st_buf_free(st_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

static int grow(st_buf *b, size_t need) {
  if (b->len + need + 1 <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + need + 1)
    cap *= 2;
  char *n = realloc(b->data, cap);
  if (!n) {
    b->oom = 1;
    return -1;
  }
  b->data = n;
  b->cap = cap;
  return 0;
}

int st_buf_take(st_buf *b, char *buf, size_t len) {
  int n = (int)b->len;
  if (len) {
    size_t c = b->len < len - 1 ? b->len : len - 1;
    if (b->data)
      memcpy(buf, b->data, c);
    buf[c] = 0;
  }
  st_buf_free(b);
  return n;
}

void st_buf_add(st_buf *b, const char *s, size_t n) {
  if (grow(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void st_buf_puts(st_buf *b, const char *s) {
  st_buf_add(b, s, strlen(s));
}

void st_buf_printf(st_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof tmp) {
    st_buf_add(b, tmp, (size_t)n);
    return;
  }
  if (grow(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void st_buf_json_string(st_buf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  st_buf_add(b, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    st_buf_add(b, run, (size_t)(s - run));
    run = s + 1;
    switch (c) {
    case '"':
      st_buf_add(b, "\\\"", 2);
      break;
    case '\\':
      st_buf_add(b, "\\\\", 2);
      break;
    case '\n':
      st_buf_add(b, "\\n", 2);
      break;
    case '\t':
      st_buf_add(b, "\\t", 2);
      break;
    case '\r':
      st_buf_add(b, "\\r", 2);
      break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      st_buf_add(b, u, 6);
    }
    }
  }
  st_buf_add(b, run, (size_t)(s - run));
  st_buf_add(b, "\"", 1);
}

/* Days since 1970-01-01 to civil date (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yy + (*m <= 2));
}

static int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

int st_format_utc(uint64_t ns, int date, char *buf, size_t len) {
  uint64_t secs = ns / 1000000000ull;
  unsigned frac = (unsigned)(ns % 1000000000ull);
  unsigned sod = (unsigned)(secs % 86400);
  int y;
  unsigned mo, d;
  civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
  if (date)
    return snprintf(buf, len, "%04d-%02u-%02uT%02u:%02u:%02u.%09uZ", y, mo, d, sod / 3600,
                    sod / 60 % 60, sod % 60, frac);
  return snprintf(buf, len, "%02u:%02u:%02u.%06u", sod / 3600, sod / 60 % 60, sod % 60,
                  frac / 1000);
}

int st_format_local(uint64_t ns, char *buf, size_t len) {
  time_t t = (time_t)(ns / 1000000000ull);
  struct tm tm;
#ifdef _WIN32
  localtime_s(&tm, &t);
#else
  localtime_r(&t, &tm);
#endif
  return snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (unsigned)(ns % 1000000000ull / 1000));
}

int st_parse_utc(const char *s, uint64_t *ns) {
  int y;
  unsigned mo, d, h, mi, sec, n = 0;
  char frac[16] = {0};
  if (sscanf(s, "%4d-%2u-%2uT%2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &sec, (int *)&n) != 6)
    return -1;
  s += n;
  uint64_t f = 0;
  if (*s == '.') {
    s++;
    int i = 0;
    while (*s >= '0' && *s <= '9') {
      if (i < 9)
        frac[i++] = *s;
      s++;
    }
    while (i < 9)
      frac[i++] = '0';
    f = strtoull(frac, NULL, 10);
  }
  if (*s != 'Z' || s[1] || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  int64_t days = days_from_civil(y, mo, d);
  if (days < 0)
    return -1;
  *ns = ((uint64_t)days * 86400 + h * 3600 + mi * 60 + sec) * 1000000000ull + f;
  return 0;
}

void st_accepted_addresses(const st_event *ev, char *local, char *remote, size_t len) {
  if (!local[0] && (ev->has & ST_HAS_LOCAL))
    st_addr_format(&ev->local, local, len);
  if (!remote[0] && (ev->has & ST_HAS_REMOTE))
    st_addr_format(&ev->remote, remote, len);
}
