/*
 * The backend vtable: every event source (live kernels, capture files, test
 * inputs) is a peer behind these few calls, as Falco's libscap engines are.
 * A backend never includes a sink or another backend; it hands events to
 * the session and lets the session decide what reaches the sinks.
 */
#ifndef SOCKTRACE_BACKEND_H
#define SOCKTRACE_BACKEND_H

#include <stdint.h>

#include "socktrace/event.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_session st_session;
typedef struct st_session_config st_session_config;
typedef struct st_backend st_backend;

typedef struct st_backend_stats {
  uint64_t events; /* records produced */
  uint64_t lost;   /* records the source dropped (ring full, buffers lost) */
  uint64_t errors; /* records that could not be decoded */
} st_backend_stats;

/*
 * Two kinds of source, as in Falco's libscap (live engines and the savefile
 * engine):
 *
 *  - A live source (ST_SOURCE_LIVE: a kernel, an interface) delivers events
 *    when they happen, either from a pollable fd (fd() returns it, the
 *    session polls it on its loop and calls poll(), which calls
 *    st_session_emit()), or from its own thread(s) with st_session_push(),
 *    which is thread-safe.
 *  - A file source (ST_SOURCE_FILE: a recording) is pulled: it offers
 *    next(), and the session owns the one loop that calls it, hands each
 *    event to the sinks, and yields to the libuv loop after a batch so that
 *    signals and timers still run during a long replay. A file has nothing
 *    to start or poll, and usually nothing to stop: st_backend_nop is the
 *    shared no-op for its start and stop.
 *
 * Call order: open -> start -> (events) -> stop -> close. open and start may
 * fail: they return a negative ST_E* code and leave one line in b->error
 * saying what failed and what to do. When a live source is exhausted or
 * fails, the backend calls st_session_backend_done(); a file source says so
 * from next().
 */
typedef enum st_source_kind {
  ST_SOURCE_LIVE = 0,
  ST_SOURCE_FILE = 1,
} st_source_kind;

/*
 * What next() answers:
 *  ST_NEXT_EVENT  *ev points at one event, owned by the backend and valid
 *                 until the next call (no copy on the way to the sinks);
 *  ST_NEXT_END    the source is exhausted: the session ends with status 0;
 *  ST_NEXT_AGAIN  no event yet, try later: for a source that waits for data
 *                 (a network stream such as NATS JetStream). The session
 *                 stops pulling and tries again when the backend's fd() (if
 *                 it has one, >= 0) is readable, when another thread calls
 *                 st_session_wake(), or after ST_PULL_RETRY_MS otherwise;
 *  negative       the source failed (an ST_E* code; b->error says why): the
 *                 session ends with that status, keeping what was delivered.
 * A damaged record is not a failure: the backend returns it as a
 * DecodeError event (5800), counts it in stats.errors, and goes on.
 */
enum { ST_NEXT_EVENT = 0, ST_NEXT_END = 1, ST_NEXT_AGAIN = 2 };
#define ST_PULL_RETRY_MS 10

typedef struct st_backend_ops {
  const char *name;
  st_source_kind kind;
  int (*open)(st_backend *b, st_session *s);
  int (*start)(st_backend *b);
  /* May hand the source's last events (a capture's open flows) to
   * st_session_emit() before returning. */
  int (*stop)(st_backend *b);
  void (*close)(st_backend *b); /* frees b */
  /* A live change of the session's level, keywords and filters (cfg is
   * the whole new configuration); may be NULL when the source cannot
   * change while it runs. On failure nothing changed and b->error says
   * why. */
  int (*update)(st_backend *b, const st_session_config *cfg);
  void (*stats)(st_backend *b, st_backend_stats *out);
  int (*fd)(st_backend *b);                        /* may be NULL; -1 when none */
  int (*poll)(st_backend *b);                      /* live only; may be NULL */
  int (*next)(st_backend *b, const st_event **ev); /* file only */
} st_backend_ops;

/* The shared no-op: start and stop of a file source. Returns 0. */
int st_backend_nop(st_backend *b);

#define ST_ERROR_MAX 512

struct st_backend {
  const st_backend_ops *ops;
  st_session *session; /* set by open */
  char error[ST_ERROR_MAX];
};

/* Writes a one-line error message into b->error (printf-style). */
void st_backend_set_error(st_backend *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
