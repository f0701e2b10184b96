/*
 * The session: one backend, many sinks, one libuv loop. Everything here runs
 * on the loop thread except st_session_push(), which only touches the
 * mutex-guarded queue and wakes the loop.
 *
 * st_session_emit() is the per-event hot path: DNS enrichment (names on
 * remotes, query/answer pairing: dns_join.h), level, keywords, filters,
 * counters, sinks. Keep it free of allocation and I/O of its own.
 *
 * A file source is pulled here (backend.h): the one loop that calls its
 * next(), hands each event on, and yields to the libuv loop after a batch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_join.h"
#include "socktrace/session.h"

/* Events queued by other threads beyond this are counted as lost rather
 * than letting a stalled loop eat memory. */
#define PUSH_QUEUE_MAX (1u << 20)
#define MAX_SINKS 16
/* Events pulled from a file source per loop turn: large enough that the
 * turn's own cost vanishes, small enough that a signal is seen at once. */
#define PULL_BATCH 4096
/* How often unanswered DNS queries are looked for: on the loop's clock for
 * a live source, on the events' for a file. */
#define DNS_CHECK_MS 250

struct st_session {
  uv_loop_t *loop;
  st_session_config cfg;
  st_filter filter;         /* cfg.filter less what the backend applies itself */
  unsigned backend_filters; /* ST_FILTERED_* the backend applies */
  st_backend *backend;
  st_sink *sinks[MAX_SINKS];
  unsigned nsinks;
  st_filter_state *fstate;
  bool filter_active;
  uint32_t ignored[ST_IGNORE_PIDS]; /* st_session_ignore_pid: 0 = none */
  unsigned nignored;
  char ignored_comm[ST_COMM_MAX]; /* st_session_ignore_comm: "" = none */
  st_ours_fn ours;
  void *ours_arg;
  struct {
    uint32_t pid;
    bool ours;
  } verdicts[ST_IGNORE_PIDS]; /* ours()'s answers, by pid: 0 = none */
  unsigned nverdicts;
  st_counters counters;
  st_trace_info info;
  st_trace_info recorded; /* what a file source's recording says of itself */
  st_dns_join *dns;
  uint64_t last_ts, dns_checked_ts; /* a file source's event time */
  uv_timer_t dns_timer;             /* a live source: unanswered queries */
  bool dns_timer_on;

  uv_poll_t poll;
  uv_async_t async;
  uv_signal_t sigint, sigterm;
  uv_idle_t pull;    /* file source: pulling */
  uv_timer_t retry;  /* file source without an fd: ST_NEXT_AGAIN */
  bool pull_waiting; /* after ST_NEXT_AGAIN, until data or the retry */
  bool poll_on, async_on, signals_on, pull_on, retry_on;
  bool started, stopping, stopped, backend_open;

  uv_mutex_t qlock;
  st_event *queue;
  size_t qlen, qcap;
  uint64_t qlost, qlost_from, qlost_to;

  int status;
  char error[ST_ERROR_MAX];
};

int st_backend_nop(st_backend *b) {
  return 0;
}

void st_backend_set_error(st_backend *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->error, sizeof b->error, fmt, ap);
  va_end(ap);
}

static void set_error(st_session *s, int status, const char *fmt, ...) {
  if (s->status)
    return; /* keep the first failure: later ones are consequences */
  s->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap);
  va_end(ap);
}

static uint64_t now_ns(void) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static void update_filter_active(st_session *s) {
  const st_filter *f = &s->filter;
  s->filter_active = f->npids || f->tree_root || f->nports || f->nhosts || f->families ||
                     f->nprotocols || f->nevents || f->ncontainers;
}

/* The filter the session itself applies: cfg's, less what the backend
 * applies in its source. */
static void set_session_filter(st_session *s) {
  s->filter = s->cfg.filter;
  if (s->backend_filters & ST_FILTERED_PID)
    s->filter.npids = 0;
  if (s->backend_filters & ST_FILTERED_TREE)
    s->filter.tree_root = 0;
  update_filter_active(s);
}

void st_session_backend_filters(st_session *s, unsigned kinds) {
  s->backend_filters = kinds;
  set_session_filter(s);
}

int st_session_new(uv_loop_t *loop, const st_session_config *cfg, st_session **out) {
  st_session *s = calloc(1, sizeof *s);
  if (!s)
    return ST_ENOMEM;
  s->loop = loop;
  s->cfg = *cfg;
  if (!s->cfg.level)
    s->cfg.level = ST_LEVEL_INFO;
  if (!s->cfg.keywords)
    s->cfg.keywords = ST_KW_ALL;
  s->dns = st_dns_join_new(s->cfg.dns_timeout_ms);
  if (!s->dns) {
    free(s);
    return ST_ENOMEM;
  }
  if (!s->cfg.name)
    s->cfg.name = "socktrace";
  set_session_filter(s);
  s->fstate = st_filter_state_new();
  if (!s->fstate || uv_mutex_init(&s->qlock) != 0) {
    st_filter_state_free(s->fstate);
    st_dns_join_free(s->dns);
    free(s);
    return ST_ENOMEM;
  }
  size_t hl = sizeof s->info.host;
  if (uv_os_gethostname(s->info.host, &hl) != 0)
    snprintf(s->info.host, sizeof s->info.host, "unknown");
#ifdef _WIN32
  s->info.os = ST_OS_WINDOWS;
#elif defined(__APPLE__)
  s->info.os = ST_OS_MACOS;
#else
  s->info.os = ST_OS_LINUX;
#endif
  s->info.level = s->cfg.level;
  s->info.keywords = s->cfg.keywords;
  *out = s;
  return 0;
}

void st_session_set_backend(st_session *s, st_backend *b) {
  s->backend = b;
}

void st_session_add_sink(st_session *s, st_sink *sink) {
  if (s->nsinks < MAX_SINKS)
    s->sinks[s->nsinks++] = sink;
  else
    sink->ops->close(sink);
}

const st_session_config *st_session_config_get(const st_session *s) {
  return &s->cfg;
}
uv_loop_t *st_session_loop(const st_session *s) {
  return s->loop;
}
void st_session_counters(const st_session *s, st_counters *out) {
  *out = s->counters;
}
int st_session_status(const st_session *s) {
  return s->status;
}
const char *st_session_error(const st_session *s) {
  return s->error;
}
st_trace_info *st_session_info(st_session *s) {
  return &s->info;
}
st_trace_info *st_session_recorded(st_session *s) {
  return &s->recorded;
}

static void deliver(st_session *s, const st_event *ev) {
  for (unsigned i = 0; i < s->nsinks; i++) {
    st_sink *k = s->sinks[i];
    int rc = k->ops->write(k, ev);
    if (rc < 0) {
      set_error(s, rc, "%s", k->error[0] ? k->error : st_strerror(rc));
      st_session_stop(s);
      return;
    }
  }
}

void st_session_ignore_pid(st_session *s, uint32_t pid) {
  for (unsigned i = 0; i < ST_IGNORE_PIDS; i++)
    if (s->ignored[i] == pid)
      return;
  s->ignored[s->nignored++ % ST_IGNORE_PIDS] = pid;
}

void st_session_ignore_comm(st_session *s, const char *comm, st_ours_fn ours, void *arg) {
  snprintf(s->ignored_comm, sizeof s->ignored_comm, "%s", comm ? comm : "");
  s->ours = ours;
  s->ours_arg = arg;
  s->nverdicts = 0;
  memset(s->verdicts, 0, sizeof s->verdicts);
}

/* A process with the ignored name: the tracer's own, or a user's program
 * that happens to share the name? Asked once per process. */
static bool ours_by_name(st_session *s, uint32_t pid) {
  if (!s->ours || !pid)
    return true;
  for (unsigned i = 0; i < ST_IGNORE_PIDS; i++)
    if (s->verdicts[i].pid == pid)
      return s->verdicts[i].ours;
  bool ours = s->ours(pid, s->ours_arg) != 0; /* -1, cannot tell: the name decides */
  unsigned k = s->nverdicts++ % ST_IGNORE_PIDS;
  s->verdicts[k].pid = pid;
  s->verdicts[k].ours = ours;
  return ours;
}

static bool ignored(st_session *s, const st_event *ev) {
  if (s->ignored_comm[0] && strncmp(ev->comm, s->ignored_comm, sizeof ev->comm) == 0 &&
      ours_by_name(s, ev->pid))
    return true;
  for (unsigned i = 0; ev->pid && s->nignored && i < ST_IGNORE_PIDS; i++)
    if (s->ignored[i] == ev->pid)
      return true;
  return false;
}

/* Level, keywords, filters, sinks. */
static void pass(st_session *s, const st_event *ev) {
  if (ignored(s, ev)) {
    s->counters.filtered++;
    return;
  }
  /* ETW's rule: an event passes the keyword mask when it has no keyword or
   * shares a bit with the mask. */
  if (ev->level > s->cfg.level || (ev->keywords && !(ev->keywords & s->cfg.keywords)) ||
      (s->filter_active && !st_filter_match(&s->filter, s->fstate, ev))) {
    s->counters.filtered++;
    return;
  }
  s->counters.delivered++;
  deliver(s, ev);
}

static void on_unanswered(void *arg, st_event *ev) {
  st_session *s = arg;
  if (s->stopped)
    return;
  s->counters.seen++;
  pass(s, ev);
}

void st_session_emit(st_session *s, const st_event *ev) {
  if (s->stopped)
    return;
  s->counters.seen++;
  if (ev->id == ST_EV_EVENTS_LOST && ev->provider == ST_PROVIDER_EXT && (ev->has & ST_HAS_LOST))
    s->counters.lost += ev->lost.count;
  /* A file's queries time out on the file's clock. */
  if (!s->dns_timer_on) {
    s->last_ts = ev->ts_ns;
    if (ev->ts_ns >= s->dns_checked_ts + DNS_CHECK_MS * 1000000ull && st_dns_join_waiting(s->dns)) {
      s->dns_checked_ts = ev->ts_ns;
      st_dns_join_expire(s->dns, ev->ts_ns, false, on_unanswered, s);
    }
  }
  st_event copy;
  if (ev->id == ST_EV_DNS_MESSAGE && ev->provider == ST_PROVIDER_EXT) {
    copy = *ev;
    st_dns_join_message(s->dns, &copy);
    ev = &copy;
  } else if (st_dns_join_name(s->dns, ev, &copy)) {
    ev = &copy;
  }
  pass(s, ev);
}

void st_session_lost_event(const st_session *s, uint64_t count, uint8_t where, uint64_t from_ns,
                           uint64_t to_ns, st_event *ev) {
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  ev->ts_ns = to_ns ? to_ns : now_ns();
  ev->os = s->info.os;
  ev->backend = s->info.backend;
  ev->keywords = ST_KW_LOSS;
  ev->has = ST_HAS_LOST;
  ev->lost.count = count;
  ev->lost.where = where;
  ev->lost.from_ns = from_ns;
  ev->lost.to_ns = to_ns;
}

void st_session_report_lost(st_session *s, uint64_t count, uint8_t where, uint64_t from_ns,
                            uint64_t to_ns) {
  if (!count)
    return;
  st_event ev;
  st_session_lost_event(s, count, where, from_ns, to_ns, &ev);
  st_session_emit(s, &ev);
}

int st_session_push(st_session *s, const st_event *ev) {
  int rc = 0;
  uv_mutex_lock(&s->qlock);
  if (s->qlen == s->qcap) {
    size_t cap = s->qcap ? s->qcap * 2 : 256;
    st_event *n = cap <= PUSH_QUEUE_MAX ? realloc(s->queue, cap * sizeof *n) : NULL;
    if (n) {
      s->queue = n;
      s->qcap = cap;
    }
  }
  if (s->qlen < s->qcap) {
    s->queue[s->qlen++] = *ev;
  } else {
    if (!s->qlost)
      s->qlost_from = ev->ts_ns;
    s->qlost++;
    s->qlost_to = ev->ts_ns;
    rc = ST_ENOMEM;
  }
  uv_mutex_unlock(&s->qlock);
  if (s->async_on)
    uv_async_send(&s->async);
  return rc;
}

/* Takes the whole pushed queue under the lock, then emits without it. */
static void drain_queue(st_session *s) {
  for (;;) {
    uv_mutex_lock(&s->qlock);
    st_event *q = s->queue;
    size_t n = s->qlen;
    uint64_t lost = s->qlost, from = s->qlost_from, to = s->qlost_to;
    s->queue = NULL;
    s->qlen = s->qcap = 0;
    s->qlost = 0;
    uv_mutex_unlock(&s->qlock);
    if (!n && !lost) {
      free(q);
      return;
    }
    for (size_t i = 0; i < n; i++)
      st_session_emit(s, &q[i]);
    free(q);
    st_session_report_lost(s, lost, ST_LOST_QUEUE, from, to);
  }
}

/* A live source: what it holds now (its kernel ring, events pushed from
 * its thread) goes to the sinks, without waiting for its next wakeup. */
static void read_source(st_session *s) {
  if (s->backend->ops->poll && !s->backend->ops->next)
    s->backend->ops->poll(s->backend);
  drain_queue(s);
}

/* A live source's queries time out on the clock, once what the source
 * holds has been read: an answer waiting in a kernel ring is no timeout. */
static void on_dns_timer(uv_timer_t *h) {
  st_session *s = h->data;
  if (!st_dns_join_waiting(s->dns) || s->stopping)
    return;
  read_source(s);
  st_dns_join_expire(s->dns, now_ns(), false, on_unanswered, s);
}

static void resume_pull(st_session *s);

static void on_async(uv_async_t *h) {
  st_session *s = h->data;
  drain_queue(s);
  resume_pull(s);
}

void st_session_wake(st_session *s) {
  if (s->async_on)
    uv_async_send(&s->async);
}

/* ---- pulling a file source ---- */

static void fail_backend(st_session *s, int rc) {
  set_error(s, rc, "%s", s->backend->error[0] ? s->backend->error : st_strerror(rc));
  st_session_stop(s);
}

static void wait_for_data(st_session *s);

static void on_pull(uv_idle_t *h) {
  st_session *s = h->data;
  int (*next)(st_backend *, const st_event **) = s->backend->ops->next;
  for (unsigned i = 0; i < PULL_BATCH; i++) {
    const st_event *ev;
    int rc = next(s->backend, &ev);
    if (rc == ST_NEXT_EVENT) {
      st_session_emit(s, ev);
      if (s->stopping)
        return; /* a sink failed */
    } else if (rc == ST_NEXT_AGAIN) {
      wait_for_data(s);
      return;
    } else {
      st_session_backend_done(s, rc == ST_NEXT_END ? 0 : rc);
      return;
    }
  }
}

static void resume_pull(st_session *s) {
  if (!s->pull_waiting || s->stopping)
    return;
  s->pull_waiting = false;
  if (s->poll_on)
    uv_poll_stop(&s->poll);
  if (s->retry_on)
    uv_timer_stop(&s->retry);
  uv_idle_start(&s->pull, on_pull);
}

static void on_pull_ready(uv_poll_t *h, int status, int events) {
  st_session *s = h->data;
  if (status < 0)
    fail_backend(s, status);
  else
    resume_pull(s);
}

static void on_retry(uv_timer_t *h) {
  resume_pull(h->data);
}

static void wait_for_data(st_session *s) {
  uv_idle_stop(&s->pull);
  s->pull_waiting = true;
  if (s->poll_on) {
    int rc = uv_poll_start(&s->poll, UV_READABLE, on_pull_ready);
    if (rc < 0)
      fail_backend(s, rc);
    return;
  }
  if (!s->retry_on) {
    uv_timer_init(s->loop, &s->retry);
    s->retry.data = s;
    s->retry_on = true;
  }
  uv_timer_start(&s->retry, on_retry, ST_PULL_RETRY_MS, 0);
}

static int start_pull(st_session *s) {
  uv_idle_init(s->loop, &s->pull);
  s->pull.data = s;
  s->pull_on = true;
  return uv_idle_start(&s->pull, on_pull);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  st_session *s = h->data;
  if (s->stopping)
    return;
  int rc = status < 0 ? status : s->backend->ops->poll(s->backend);
  if (rc < 0)
    fail_backend(s, rc);
}

static void on_signal(uv_signal_t *h, int signum) {
  st_session_stop(h->data);
}

int st_session_start(st_session *s) {
  if (!s->backend) {
    set_error(s, ST_EINVAL, "no backend: nothing to trace");
    return ST_EINVAL;
  }
  if (s->backend->ops->kind == ST_SOURCE_FILE && !s->backend->ops->next) {
    set_error(s, ST_EINVAL, "the %s backend is a file source without next()",
              s->backend->ops->name);
    return ST_EINVAL;
  }
  s->info.started_ns = now_ns();
  const st_backend_ops *ops = s->backend->ops;
  s->backend->session = s;
  int rc = ops->open(s->backend, s);
  if (rc < 0) {
    set_error(s, rc, "%s", s->backend->error[0] ? s->backend->error : st_strerror(rc));
    return rc;
  }
  s->backend_open = true;
  for (unsigned i = 0; i < s->nsinks; i++) {
    st_sink *k = s->sinks[i];
    if (k->ops->begin && (rc = k->ops->begin(k, &s->info)) < 0) {
      set_error(s, rc, "%s", k->error[0] ? k->error : st_strerror(rc));
      return rc;
    }
  }
  uv_async_init(s->loop, &s->async, on_async);
  s->async.data = s;
  s->async_on = true;
  if (s->cfg.handle_signals) {
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    s->signals_on = true;
  }
  if (ops->kind == ST_SOURCE_LIVE) {
    uv_timer_init(s->loop, &s->dns_timer);
    s->dns_timer.data = s;
    uv_timer_start(&s->dns_timer, on_dns_timer, DNS_CHECK_MS, DNS_CHECK_MS);
    s->dns_timer_on = true;
  }
  s->started = true;
  rc = ops->start(s->backend);
  if (rc < 0) {
    set_error(s, rc, "%s", s->backend->error[0] ? s->backend->error : st_strerror(rc));
    st_session_stop(s);
    return rc;
  }
  bool pulled = ops->kind == ST_SOURCE_FILE;
  int fd = ops->fd ? ops->fd(s->backend) : -1;
  if (fd >= 0 && !s->stopping) {
    rc = uv_poll_init(s->loop, &s->poll, fd);
    if (rc == 0) {
      s->poll.data = s;
      s->poll_on = true;
      /* A file source's fd is watched only while it waits for data. */
      if (!pulled)
        rc = uv_poll_start(&s->poll, UV_READABLE, on_poll);
    }
  }
  if (rc == 0 && pulled && !s->stopping)
    rc = start_pull(s);
  if (rc < 0) {
    set_error(s, rc, "cannot watch the backend: %s", st_strerror(rc));
    st_session_stop(s);
    return rc;
  }
  return 0;
}

void st_session_backend_done(st_session *s, int status) {
  if (status < 0)
    set_error(s, status, "%s",
              s->backend && s->backend->error[0] ? s->backend->error : st_strerror(status));
  st_session_stop(s);
}

/* "level 4 -> 5; keywords 0x6 -> all; filters pid=1 -> pid=2" */
static void describe_change(const st_session_config *a, const st_session_config *b, char *buf,
                            size_t len) {
  char fa[200], fb[200];
  size_t n = 0;
  buf[0] = 0;
  if (a->level != b->level)
    n += (size_t)snprintf(buf + n, len - n, "level %u -> %u", a->level, b->level);
  if (a->keywords != b->keywords && n < len)
    n += (size_t)snprintf(buf + n, len - n, "%skeywords 0x%llx -> 0x%llx", n ? "; " : "",
                          (unsigned long long)a->keywords, (unsigned long long)b->keywords);
  st_filter_describe(&a->filter, fa, sizeof fa);
  st_filter_describe(&b->filter, fb, sizeof fb);
  if (strcmp(fa, fb) != 0 && n < len)
    n += (size_t)snprintf(buf + n, len - n, "%sfilters %s -> %s", n ? "; " : "", fa, fb);
  if (!n)
    snprintf(buf, len, "no change");
}

int st_session_update(st_session *s, const st_session_config *cfg) {
  st_session_config next = s->cfg;
  next.level = cfg->level ? cfg->level : ST_LEVEL_INFO;
  next.keywords = cfg->keywords ? cfg->keywords : ST_KW_ALL;
  next.filter = cfg->filter;
  if (!s->backend || !s->backend->ops->update) {
    snprintf(s->error, sizeof s->error, "the %s source cannot change while it runs",
             s->backend ? s->backend->ops->name : "session's");
    return ST_ENOSYS;
  }
  if (s->stopping) {
    snprintf(s->error, sizeof s->error, "the session is stopping");
    return ST_EINVAL;
  }
  /* What the source made under the old settings comes first, so the
   * change record stands between the two in every output. */
  read_source(s);
  int rc = s->backend->ops->update(s->backend, &next);
  if (rc < 0) {
    snprintf(s->error, sizeof s->error, "%s",
             s->backend->error[0] ? s->backend->error : st_strerror(rc));
    return rc;
  }
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_EXT, ST_EV_SESSION_CHANGE);
  ev.ts_ns = now_ns();
  ev.os = s->info.os;
  ev.backend = s->info.backend;
  ev.has = ST_HAS_DETAIL;
  describe_change(&s->cfg, &next, ev.detail, sizeof ev.detail);
  s->cfg = next;
  set_session_filter(s);
  /* A change is part of the record whatever the filters: like a loss. */
  s->counters.seen++;
  s->counters.delivered++;
  deliver(s, &ev);
  return 0;
}

bool st_session_stopping(const st_session *s) {
  return s->stopping;
}

int st_session_flush(st_session *s) {
  /* Everything traced so far, also what still waits in the source. */
  if (s->backend && s->started && !s->stopping)
    read_source(s);
  for (unsigned i = 0; i < s->nsinks && !s->stopped; i++) {
    st_sink *k = s->sinks[i];
    int rc = k->ops->flush ? k->ops->flush(k) : 0;
    if (rc < 0) {
      snprintf(s->error, sizeof s->error, "%s", k->error[0] ? k->error : st_strerror(rc));
      return rc;
    }
  }
  return 0;
}

void st_session_stop(st_session *s) {
  if (s->stopping)
    return;
  s->stopping = true;
  if (s->poll_on)
    uv_poll_stop(&s->poll);
  if (s->pull_on)
    uv_idle_stop(&s->pull);
  if (s->retry_on)
    uv_timer_stop(&s->retry);
  /* The backend may emit its last events (ring drain, loss) while it stops. */
  if (s->backend_open && s->backend->ops->stop)
    s->backend->ops->stop(s->backend);
  drain_queue(s);
  /* Queries left unanswered, by the trace's end. */
  if (st_dns_join_waiting(s->dns))
    st_dns_join_expire(s->dns, s->dns_timer_on ? now_ns() : s->last_ts, true, on_unanswered, s);
  s->stopped = true;
  if (s->started) {
    for (unsigned i = 0; i < s->nsinks; i++) {
      st_sink *k = s->sinks[i];
      int rc = 0;
      if (k->ops->flush)
        rc = k->ops->flush(k);
      if (rc == 0 && k->ops->end)
        rc = k->ops->end(k, &s->counters);
      if (rc < 0)
        set_error(s, rc, "%s", k->error[0] ? k->error : st_strerror(rc));
    }
  }
  if (s->poll_on)
    uv_close((uv_handle_t *)&s->poll, NULL);
  if (s->pull_on)
    uv_close((uv_handle_t *)&s->pull, NULL);
  if (s->retry_on)
    uv_close((uv_handle_t *)&s->retry, NULL);
  if (s->async_on)
    uv_close((uv_handle_t *)&s->async, NULL);
  if (s->dns_timer_on)
    uv_close((uv_handle_t *)&s->dns_timer, NULL);
  if (s->signals_on) {
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
  }
}

void st_session_free(st_session *s) {
  if (!s)
    return;
  if (s->backend) {
    if (s->backend_open && !s->stopping && s->backend->ops->stop)
      s->backend->ops->stop(s->backend);
    s->backend->ops->close(s->backend);
  }
  for (unsigned i = 0; i < s->nsinks; i++)
    s->sinks[i]->ops->close(s->sinks[i]);
  st_filter_state_free(s->fstate);
  st_dns_join_free(s->dns);
  uv_mutex_destroy(&s->qlock);
  free(s->queue);
  free(s);
}
