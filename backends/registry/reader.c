/*
 * The reader API (socktrace/reader.h): a file source from the registry,
 * pulled directly, without a loop. The source still gets a session to talk
 * to, since that is what backends know (st_session_info, the recorded
 * header, st_session_emit): a session that is never started, at level 5
 * with no filter, whose one sink keeps what comes out of it until next()
 * hands it out. Every pulled event goes through that session, as replay's
 * do, so the reader's events are replay's: DNS answers name the remotes
 * after them, and queries left unanswered become events of their own. File
 * sources are pulled and never use the loop, so the session has none.
 * Library code: never prints, never exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "socktrace/reader.h"
#include "socktrace/session.h"

struct st_reader {
  const st_file_source *source;
  st_backend *backend;
  st_session *session;
  st_trace_info header;
  /* Events the source emitted to the session, handed out before pulling
   * again (spill[head..len)). */
  st_event *spill;
  size_t head, len, cap;
  bool ended; /* next() said end or failed; the source is stopped */
  int status; /* what next() answers once ended: 0 or a negative code */
  char error[ST_ERROR_MAX];
};

typedef struct spill_sink {
  st_sink base;
  st_reader *reader;
} spill_sink;

static int spill_write(st_sink *s, const st_event *ev) {
  st_reader *r = ((spill_sink *)s)->reader;
  if (r->len == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    st_event *n = realloc(r->spill, cap * sizeof *n);
    if (!n) {
      snprintf(s->error, sizeof s->error, "reader: out of memory");
      return ST_ENOMEM;
    }
    r->spill = n;
    r->cap = cap;
  }
  r->spill[r->len++] = *ev;
  return 0;
}

static void spill_close(st_sink *s) {
  free(s);
}

static const st_sink_ops spill_ops = {.name = "reader", .write = spill_write, .close = spill_close};

static void say(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void say(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || !errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* A session for the source to talk to: level 5 (a capture derives every
 * event it can), every keyword, no filter, and the spill sink. */
static int make_session(st_reader *r) {
  st_session_config cfg = {.name = "reader", .level = ST_LEVEL_VERBOSE};
  int rc = st_session_new(NULL, &cfg, &r->session);
  if (rc < 0)
    return rc;
  spill_sink *k = calloc(1, sizeof *k);
  if (!k)
    return ST_ENOMEM;
  k->base.ops = &spill_ops;
  k->reader = r;
  st_session_add_sink(r->session, &k->base);
  return 0;
}

int st_reader_open(const char *path, st_reader **out, char *err, size_t errlen) {
  *out = NULL;
  if (!path) {
    say(err, errlen, "no file to read");
    return ST_EINVAL;
  }
  st_reader *r = calloc(1, sizeof *r);
  if (!r) {
    say(err, errlen, "%s: %s", path, st_strerror(ST_ENOMEM));
    return ST_ENOMEM;
  }
  int rc = 0;
  r->source = st_file_source_find(path, &rc, r->error, sizeof r->error);
  if (!r->source) {
    say(err, errlen, "%s", r->error);
    st_reader_close(r);
    return rc;
  }
  if ((rc = r->source->create(path, &r->backend)) < 0 || (rc = make_session(r)) < 0) {
    say(err, errlen, "%s: %s", path, st_strerror(rc));
    st_reader_close(r);
    return rc;
  }
  r->backend->session = r->session;
  rc = r->backend->ops->open(r->backend, r->session);
  if (rc < 0) {
    say(err, errlen, "%s", r->backend->error[0] ? r->backend->error : st_strerror(rc));
    r->ended = true; /* nothing to stop */
    st_reader_close(r);
    return rc;
  }
  r->header = *st_session_recorded(r->session);
  /* A format that says nothing of where it comes from has one origin,
   * which its backend gives itself: a capture is the wire's, seen by pcap,
   * with every event derived (level 5). A replayed recording is not its
   * own origin: what its file does not say stays unknown. */
  const st_trace_info *self = st_session_info(r->session);
  if (!r->header.os && !r->header.backend && self->backend != ST_BACKEND_REPLAY) {
    r->header.os = self->os;
    r->header.backend = self->backend;
    r->header.level = self->level;
  }
  *out = r;
  return 0;
}

const st_trace_info *st_reader_header(const st_reader *r) {
  return &r->header;
}

const char *st_reader_format(const st_reader *r) {
  return r->source->name;
}

int st_reader_next(st_reader *r, const st_event **ev) {
  for (;;) {
    if (r->head < r->len) {
      *ev = &r->spill[r->head++];
      return 1;
    }
    r->head = r->len = 0;
    if (r->ended)
      return r->status;
    const st_event *e;
    int rc = r->backend->ops->next(r->backend, &e);
    if (rc == ST_NEXT_EVENT) {
      st_session_emit(r->session, e); /* into the spill, DNS names joined */
      if ((rc = st_session_status(r->session)) == 0)
        continue;
    }
    if (rc == ST_NEXT_AGAIN)
      return ST_EAGAIN; /* a source that waits for data: try again later */
    /* The end, or a failure: the source may hand its last events to the
     * session as it stops, and the session its unanswered DNS queries; they
     * come out before the end is told. */
    r->ended = true;
    r->status = rc == ST_NEXT_END ? 0 : rc;
    if (rc < 0)
      snprintf(r->error, sizeof r->error, "%s",
               st_session_status(r->session) < 0 ? st_session_error(r->session)
               : r->backend->error[0]            ? r->backend->error
                                                 : st_strerror(rc));
    if (r->backend->ops->stop)
      r->backend->ops->stop(r->backend);
    st_session_stop(r->session);
  }
}

void st_reader_stats(const st_reader *r, st_backend_stats *out) {
  memset(out, 0, sizeof *out);
  if (r->backend->ops->stats)
    r->backend->ops->stats(r->backend, out);
}

const char *st_reader_error(const st_reader *r) {
  return r->error[0] ? r->error : r->backend->error;
}

void st_reader_close(st_reader *r) {
  if (!r)
    return;
  if (r->backend) {
    if (!r->ended && r->backend->ops->stop)
      r->backend->ops->stop(r->backend);
    r->backend->ops->close(r->backend);
  }
  st_session_free(r->session);
  free(r->spill);
  free(r);
}
