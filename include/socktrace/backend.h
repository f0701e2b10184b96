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
typedef struct st_backend st_backend;

typedef struct st_backend_stats {
  uint64_t events; /* records produced */
  uint64_t lost;   /* records the source dropped (ring full, buffers lost) */
  uint64_t errors; /* records that could not be decoded */
} st_backend_stats;

/*
 * Call order: open -> start -> (fd/poll or push, on the loop) -> stop ->
 * close. open and start may fail: they return a negative ST_E* code and
 * leave one line in b->error saying what failed and what to do.
 *
 * A backend delivers events either
 *  - from a pollable fd: fd() returns it, the session polls it on its loop
 *    and calls poll() when it is readable; poll() calls st_session_emit(), or
 *  - from its own thread(s) with st_session_push(), which is thread-safe, or
 *  - from start() and loop callbacks it sets up itself (a file reader).
 * When the source is exhausted (end of file) or fails, the backend calls
 * st_session_backend_done().
 */
typedef struct st_backend_ops {
  const char *name;
  int (*open)(st_backend *b, st_session *s);
  int (*start)(st_backend *b);
  int (*stop)(st_backend *b);
  void (*close)(st_backend *b); /* frees b */
  void (*stats)(st_backend *b, st_backend_stats *out);
  int (*fd)(st_backend *b);   /* may be NULL; -1 when none */
  int (*poll)(st_backend *b); /* may be NULL */
} st_backend_ops;

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
