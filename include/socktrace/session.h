/*
 * A tracing session: level, keyword mask, filters, one backend and any
 * number of sinks, driven by one libuv loop (the ETW control model). The
 * session owns nothing global: the caller owns the loop.
 */
#ifndef SOCKTRACE_SESSION_H
#define SOCKTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "socktrace/backend.h"
#include "socktrace/event.h"
#include "socktrace/sink.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_FILTER_MAX 16

/* Filters: kinds combine with AND, values of one kind with OR. An empty kind
 * matches everything. */
typedef struct st_filter {
  uint32_t pids[ST_FILTER_MAX];
  unsigned npids;
  uint32_t tree_root;            /* 0 = no process-tree filter */
  uint16_t ports[ST_FILTER_MAX]; /* local or remote */
  unsigned nports;
  st_addr hosts[ST_FILTER_MAX]; /* local or remote IP */
  unsigned nhosts;
  uint32_t families; /* bit (1 << ST_FAMILY_*); 0 = any */
  uint16_t protocols[ST_FILTER_MAX];
  unsigned nprotocols;
  struct {
    uint8_t provider;
    uint16_t id;
  } events[ST_FILTER_MAX * 4];
  unsigned nevents;
  char containers[ST_FILTER_MAX][72]; /* a container's name, id or id prefix */
  unsigned ncontainers;
} st_filter;

/* Parsers for the CLI's filter options; each returns 0 or ST_EINVAL with a
 * message in err. Values append to the filter. */
int st_filter_add_pid(st_filter *f, const char *s, char *err, size_t errlen);
int st_filter_add_port(st_filter *f, const char *s, char *err, size_t errlen);
int st_filter_add_host(st_filter *f, const char *s, char *err, size_t errlen);
int st_filter_add_family(st_filter *f, const char *s, char *err, size_t errlen);
int st_filter_add_protocol(st_filter *f, const char *s, char *err, size_t errlen);
/* A container's name, its id or the first 4 or more digits of its id. */
int st_filter_add_container(st_filter *f, const char *s, char *err, size_t errlen);
/* Comma-separated event names or numeric ids. */
int st_filter_add_events(st_filter *f, const char *s, char *err, size_t errlen);

/* The filters in words ("pid=42 port=80 family=inet", or "none"); returns
 * the length written. */
int st_filter_describe(const st_filter *f, char *buf, size_t len);

/* What matching remembers between events: the pids of the process tree
 * (filter->tree_root) and, per endpoint, the family, protocol and addresses
 * seen so far, so that an AfdClose (which carries no address) still matches
 * a --port filter its socket's connect matched. */
typedef struct st_filter_state st_filter_state;
st_filter_state *st_filter_state_new(void);
void st_filter_state_free(st_filter_state *st);

/* Pure matching (no level/keywords): used by the session and tests. state
 * may be NULL (then nothing is remembered). */
bool st_filter_match(const st_filter *f, st_filter_state *state, const st_event *ev);

typedef struct st_session_config {
  const char *name;  /* session name (ETW session name on Windows) */
  uint8_t level;     /* 2..5; 0 means 4 */
  uint64_t keywords; /* 0 means all */
  st_filter filter;
  bool handle_signals; /* stop cleanly on SIGINT/SIGTERM */
  uint32_t ring_pages; /* backend ring/buffer size hint; 0 = default */
  /* A DNS query with no answer after this long is reported unanswered;
   * 0 = 5000 ms. */
  uint32_t dns_timeout_ms;
} st_session_config;

typedef struct st_session st_session;

int st_session_new(uv_loop_t *loop, const st_session_config *cfg, st_session **out);
/* The session takes ownership of backends and sinks added to it. */
void st_session_set_backend(st_session *s, st_backend *b);
void st_session_add_sink(st_session *s, st_sink *sink);
/* Leaves the events of process pid out (counted as filtered): a live
 * tracer's own process, whose sockets would otherwise be in its own
 * trace. Keeps the last ST_IGNORE_PIDS. */
#define ST_IGNORE_PIDS 32
void st_session_ignore_pid(st_session *s, uint32_t pid);
/* The same for the tracer's other processes, such as the clients of a
 * session: a process whose command name (comm) is comm and that ours(pid)
 * says is the tracer (1: it runs the tracer's program, 0: it does not, -1:
 * it cannot tell, e.g. the process is gone; then the name decides). A user
 * program that merely has the same name is kept. ours is asked once per
 * process (the answer is kept for the last ST_IGNORE_PIDS processes), and
 * only for events whose comm matches; ours == NULL: the name decides. */
typedef int (*st_ours_fn)(uint32_t pid, void *arg);
void st_session_ignore_comm(st_session *s, const char *comm, st_ours_fn ours, void *arg);
/* Opens and starts the backend, begins the sinks. On failure returns a
 * negative code; st_session_error() says why in one line. */
int st_session_start(st_session *s);
/* Changes a running session's level, keywords and filters (cfg's other
 * fields are ignored) without detaching from its source: the backend applies
 * what it filters itself (its update op), the session the rest, from the
 * next event on. A SessionChange event (5901) saying what changed goes to
 * every sink, so recordings show it. Returns 0, ST_ENOSYS when the source
 * cannot change while it runs (a file), or the backend's failure (then
 * nothing changed; st_session_error() says why). */
int st_session_update(st_session *s, const st_session_config *cfg);
/* Reads what a live source holds so far, then flushes every sink (a
 * .sktrace file gets its current block written). */
int st_session_flush(st_session *s);

/* Stops the backend, flushes and ends every sink, closes the session's
 * handles so the loop can finish. Safe to call more than once. */
void st_session_stop(st_session *s);
void st_session_free(st_session *s);

/* Loop thread only: one event from the backend. Applies level, keywords and
 * filters, counts, and hands the event to every sink. */
void st_session_emit(st_session *s, const st_event *ev);
/* Any thread: queues a copy of the event and wakes the loop. */
int st_session_push(st_session *s, const st_event *ev);
/* Loop thread: the source lost count events between from_ns and to_ns;
 * emits EventsLost (5900). */
void st_session_report_lost(st_session *s, uint64_t count, uint8_t where, uint64_t from_ns,
                            uint64_t to_ns);
/* Fills ev with that EventsLost record without emitting it (a file backend
 * returns it from next()). */
void st_session_lost_event(const st_session *s, uint64_t count, uint8_t where, uint64_t from_ns,
                           uint64_t to_ns, st_event *ev);
/* Any thread: a file source that answered ST_NEXT_AGAIN has data now; the
 * session pulls again on its loop. */
void st_session_wake(st_session *s);
/* The backend's source is finished (status 0) or failed (negative; the
 * backend's error says why). The session stops. */
void st_session_backend_done(st_session *s, int status);

const st_session_config *st_session_config_get(const st_session *s);
uv_loop_t *st_session_loop(const st_session *s);
void st_session_counters(const st_session *s, st_counters *out);
/* True once the session is stopping or stopped (asked to, or its source or
 * a sink failed). */
bool st_session_stopping(const st_session *s);
/* Status the session ended with: 0, or the backend's / a sink's failure. */
int st_session_status(const st_session *s);
const char *st_session_error(const st_session *s);
/* A backend that applies some filter kinds itself (in the kernel) says so
 * at open; the session then does not apply them again. The process tree in
 * particular cannot be re-checked from events alone: a grandchild whose
 * parent made no socket has a ppid the session never saw. */
enum { ST_FILTERED_PID = 1u << 0, ST_FILTERED_TREE = 1u << 1 };
void st_session_backend_filters(st_session *s, unsigned kinds);

/* Trace info given to sinks; the backend may set os/backend at open. */
st_trace_info *st_session_info(st_session *s);
/* What a recording says about where it came from: a file source fills it
 * at open with what the file states (the host, OS, backend and level it
 * was recorded with; fields the file does not state stay 0 or empty),
 * while st_session_info() describes this session (a replay). Live sources
 * leave it empty. The reader API (reader.h) gives it as a trace's header. */
st_trace_info *st_session_recorded(st_session *s);

#ifdef __cplusplus
}
#endif
#endif
