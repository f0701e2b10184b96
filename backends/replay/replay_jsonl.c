/*
 * Replay of JSON Lines traces: a file source the session pulls, one event
 * per next(). A malformed line becomes a DecodeError event naming the
 * line; the rest is still read. A file whose first line is no JSON object
 * is not JSON Lines at all (st_replay_is_jsonl): the registry says what it
 * is instead of reporting every "line" of it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "zinput.h"
#include "socktrace/session.h"

#define MAX_LINE (1u << 20)

/* A UTF-8 byte-order mark, as editors on Windows write it. */
static const char BOM[] = "\xef\xbb\xbf";

typedef struct replay_backend {
  st_backend base;
  char *path;
  FILE *in;
  st_event ev; /* the event next() hands out */
  char *line;
  size_t line_cap;
  uint64_t lineno;
  /* The first line, read at open for the header; when it was an event,
   * next() takes it before reading on. */
  bool held, held_too_long;
  long held_len;
  st_backend_stats stats;
} replay_backend;

static void decode_error(replay_backend *r, const char *why) {
  st_event *ev = &r->ev;
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_DECODE_ERROR);
  ev->backend = ST_BACKEND_REPLAY;
  ev->has = ST_HAS_DETAIL;
  /* The detail field is short: a long reason is cut and ends in "..."; the
   * backend's error line keeps it whole. */
  int n =
      snprintf(ev->detail, sizeof ev->detail, "line %llu: %s", (unsigned long long)r->lineno, why);
  if (n >= (int)sizeof ev->detail)
    memcpy(ev->detail + sizeof ev->detail - 4, "...", 4);
  if (!r->stats.errors)
    st_backend_set_error(&r->base, "%s: line %llu: %s", r->path, (unsigned long long)r->lineno,
                         why);
  r->stats.errors++;
}

/* Reads one line of any length into r->line; returns its length or -1 at
 * end of file. A line longer than MAX_LINE is consumed and reported. */
static long read_line(replay_backend *r, bool *too_long) {
  size_t len = 0;
  int c;
  *too_long = false;
  while ((c = getc(r->in)) != EOF) {
    if (c == '\n')
      break;
    if (len + 2 > r->line_cap) {
      if (r->line_cap >= MAX_LINE) {
        *too_long = true;
        continue;
      }
      size_t cap = r->line_cap ? r->line_cap * 2 : 4096;
      char *n = realloc(r->line, cap);
      if (!n) {
        *too_long = true;
        continue;
      }
      r->line = n;
      r->line_cap = cap;
    }
    r->line[len++] = (char)c;
  }
  if (c == EOF && len == 0 && !*too_long)
    return -1;
  if (r->line)
    r->line[len] = 0;
  return (long)len;
}

/* The next line, counted, without line 1's byte-order mark; -1 at the end
 * of the file (or on a read error: ferror says which). */
static long next_line(replay_backend *r, bool *too_long) {
  long n = read_line(r, too_long);
  if (n < 0)
    return n;
  r->lineno++;
  if (r->lineno == 1 && n >= 3 && memcmp(r->line, BOM, 3) == 0) {
    memmove(r->line, r->line + 3, (size_t)n - 2);
    n -= 3;
  }
  return n;
}

static bool blank(const replay_backend *r, long n) {
  return n == 0 || (n == 1 && r->line[0] == '\r');
}

static int replay_next(st_backend *b, const st_event **out) {
  replay_backend *r = (replay_backend *)b;
  *out = &r->ev;
  for (;;) {
    bool too_long = r->held_too_long;
    long n = r->held ? r->held_len : next_line(r, &too_long);
    r->held = false;
    if (n < 0) {
      if (!ferror(r->in))
        return ST_NEXT_END;
      st_backend_set_error(b, "cannot read %s: %s", r->path, st_strerror(-errno));
      return ST_EIO;
    }
    if (too_long) {
      decode_error(r, "line too long; skipped");
      return ST_NEXT_EVENT;
    }
    if (blank(r, n))
      continue;
    char why[200];
    int rc = st_event_from_json(r->line, &r->ev, why, sizeof why);
    if (rc == 1)
      continue; /* the header */
    if (rc < 0)
      decode_error(r, why);
    else
      r->stats.events++;
    return ST_NEXT_EVENT;
  }
}

static int replay_open(st_backend *b, st_session *s) {
  replay_backend *r = (replay_backend *)b;
  r->in = st_zopen(r->path, NULL);
  if (!r->in) {
    st_backend_set_error(b, "cannot open %s: %s", r->path, st_strerror(-errno));
    return ST_ENOENT;
  }
  st_session_info(s)->backend = ST_BACKEND_REPLAY;
  /* The header, when the trace starts with one (after blank lines), says
   * where it was recorded; any other first line is kept for next(). */
  do
    r->held_len = next_line(r, &r->held_too_long);
  while (r->held_len >= 0 && !r->held_too_long && blank(r, r->held_len));
  if (r->held_len < 0)
    return 0; /* empty, or a read error that next() reports */
  char why[200];
  if (!r->held_too_long &&
      st_trace_info_from_json(r->line, st_session_recorded(s), why, sizeof why) == 0)
    return 0;
  r->held = true;
  return 0;
}

static void replay_close(st_backend *b) {
  replay_backend *r = (replay_backend *)b;
  st_zclose(r->in);
  free(r->line);
  free(r->path);
  free(r);
}

static void replay_stats(st_backend *b, st_backend_stats *out) {
  *out = ((replay_backend *)b)->stats;
}

static const st_backend_ops replay_ops = {.name = "replay-jsonl",
                                          .kind = ST_SOURCE_FILE,
                                          .open = replay_open,
                                          .start = st_backend_nop,
                                          .stop = st_backend_nop,
                                          .close = replay_close,
                                          .stats = replay_stats,
                                          .next = replay_next};

int st_backend_replay_jsonl_new(const char *path, st_backend **out) {
  replay_backend *r = calloc(1, sizeof *r);
  if (!r || !(r->path = strdup(path))) {
    free(r);
    return ST_ENOMEM;
  }
  r->base.ops = &replay_ops;
  *out = &r->base;
  return 0;
}

bool st_replay_is_jsonl(const char *path) {
  FILE *f = st_zopen(path, NULL);
  if (!f)
    return false;
  char *line = NULL;
  size_t len = 0, cap = 0;
  int c = getc(f);
  for (int i = 0; i < 3 && c == (unsigned char)BOM[i]; i++) /* the mark, byte by byte */
    c = getc(f);
  while (c == ' ' || c == '\t' || c == '\r' || c == '\n')
    c = getc(f);
  bool object = false;
  if (c == '{') {
    for (; c != EOF && c != '\n' && len < MAX_LINE; c = getc(f)) {
      if (len == cap) {
        cap = cap ? cap * 2 : 4096;
        char *n = realloc(line, cap);
        if (!n)
          break;
        line = n;
      }
      line[len++] = (char)c;
    }
    json_error_t err;
    json_t *o = line ? json_loadb(line, len, 0, &err) : NULL;
    object = json_is_object(o);
    json_decref(o);
  }
  free(line);
  st_zclose(f);
  return object;
}
