/*
 * Replay of .sktrace binary traces: a file source the session pulls, one
 * event per next(). Damage the reader finds (a corrupt block, a cut-off
 * end) becomes a DecodeError event with the offset, and the first one
 * becomes the backend's error line; the rest of the file is still read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "sktrace_format.h"
#include "zinput.h"
#include "socktrace/session.h"

typedef struct sktrace_replay {
  st_backend base;
  char *path;
  FILE *in;
  st_sktrace_reader *reader;
  st_event ev; /* the event next() hands out */
  uint64_t last_ts;
  st_backend_stats stats;
} sktrace_replay;

bool st_replay_is_sktrace(const char *path) {
  FILE *f = st_zopen(path, NULL); /* a compressed file by what it holds */
  if (!f)
    return false;
  char head[ST_SKTRACE_MAGIC_LEN];
  size_t n = fread(head, 1, sizeof head, f);
  st_zclose(f);
  return st_sktrace_sniff(head, n);
}

static void decode_error(sktrace_replay *r, const char *why) {
  st_event *ev = &r->ev;
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_DECODE_ERROR);
  ev->ts_ns = r->last_ts;
  ev->backend = ST_BACKEND_REPLAY;
  ev->has = ST_HAS_DETAIL;
  snprintf(ev->detail, sizeof ev->detail, "%s", why);
  if (!r->stats.errors)
    st_backend_set_error(&r->base, "%s: %s", r->path, why);
  r->stats.errors++;
}

static int sk_next(st_backend *b, const st_event **out) {
  sktrace_replay *r = (sktrace_replay *)b;
  int rc = st_sktrace_reader_next(r->reader, &r->ev);
  if (rc == 0) {
    r->stats.events++;
    r->last_ts = r->ev.ts_ns;
  } else if (rc == ST_EBADMSG) {
    decode_error(r, st_sktrace_reader_problem(r->reader));
  } else if (rc < 0) {
    st_backend_set_error(b, "cannot read %s: %s", r->path, st_sktrace_reader_problem(r->reader));
    return ST_EIO;
  } else {
    return ST_NEXT_END;
  }
  *out = &r->ev;
  return ST_NEXT_EVENT;
}

static int sk_open(st_backend *b, st_session *s) {
  sktrace_replay *r = (sktrace_replay *)b;
  r->in = st_zopen(r->path, NULL);
  if (!r->in) {
    st_backend_set_error(b, "cannot open %s: %s", r->path, st_strerror(-errno));
    return ST_ENOENT;
  }
  char err[200];
  int rc = st_sktrace_reader_open(r->in, &r->reader, err, sizeof err);
  if (rc < 0) {
    st_backend_set_error(b, "%s: %s", r->path, err);
    return rc;
  }
  /* The trace says where it came from; the replay is the backend now. */
  const st_sktrace_header *h = st_sktrace_reader_header(r->reader);
  st_trace_info *info = st_session_info(s);
  if (h->host[0])
    snprintf(info->host, sizeof info->host, "%s", h->host);
  if (h->os)
    info->os = h->os;
  if (h->started_ns)
    info->started_ns = h->started_ns;
  info->backend = ST_BACKEND_REPLAY;
  st_trace_info *rec = st_session_recorded(s);
  snprintf(rec->host, sizeof rec->host, "%s", h->host);
  rec->os = h->os;
  rec->backend = h->backend;
  rec->level = h->level;
  rec->keywords = h->keywords;
  rec->started_ns = h->started_ns;
  return 0;
}

static void sk_close(st_backend *b) {
  sktrace_replay *r = (sktrace_replay *)b;
  st_sktrace_reader_free(r->reader);
  st_zclose(r->in);
  free(r->path);
  free(r);
}

static void sk_stats(st_backend *b, st_backend_stats *out) {
  *out = ((sktrace_replay *)b)->stats;
}

static const st_backend_ops sktrace_replay_ops = {.name = "replay-sktrace",
                                                  .kind = ST_SOURCE_FILE,
                                                  .open = sk_open,
                                                  .start = st_backend_nop,
                                                  .stop = st_backend_nop,
                                                  .close = sk_close,
                                                  .stats = sk_stats,
                                                  .next = sk_next};

int st_backend_replay_sktrace_new(const char *path, st_backend **out) {
  sktrace_replay *r = calloc(1, sizeof *r);
  if (!r || !(r->path = strdup(path))) {
    free(r);
    return ST_ENOMEM;
  }
  r->base.ops = &sktrace_replay_ops;
  *out = &r->base;
  return 0;
}
