/*
 * A session host's watchers (docs/sessions.md, "watch"): clients such as
 * `socktrace top --session NAME` that asked for the session's events. A
 * sink of the session writes each event as a JSON line to every watcher
 * on the session's own loop. It must never stall the session: a watcher
 * whose unsent lines pass WATCH_BACKLOG_MAX bytes (a slow or stuck client)
 * loses the next events, which are counted and told to it as one
 * EventsLost record (where "sink") once it has room again. No watcher, no
 * cost beyond a test.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "internal.h"
#include "session_watch.h"

#define WATCH_BACKLOG_MAX (4u << 20)

typedef struct watcher {
  uv_stream_t *stream;
  uint32_t pid;
  void (*on_closed)(uv_handle_t *);
  uint64_t dropped, dropped_from, dropped_to; /* not yet told */
  uint64_t dropped_all;
  struct watcher *next;
} watcher;

struct cli_watchers {
  st_sink base;
  st_session *session;
  uint32_t self;
  watcher *list;
  uint64_t dropped;
  st_buf line;
};

static void on_written(uv_write_t *w, int status) {
  free(w->data);
  free(w);
}

/* Sends one line, copying only what the socket does not take at once. */
static void send_line(watcher *w, const char *s, size_t n) {
  uv_buf_t b = uv_buf_init((char *)s, (unsigned)n);
  int done = uv_stream_get_write_queue_size(w->stream) ? 0 : uv_try_write(w->stream, &b, 1);
  if (done < 0)
    done = 0; /* EAGAIN: queue it all; a broken pipe shows on the read side */
  if ((size_t)done == n)
    return;
  uv_write_t *req = malloc(sizeof *req);
  char *copy = malloc(n - (size_t)done);
  if (!req || !copy) {
    free(req);
    free(copy);
    return;
  }
  memcpy(copy, s + done, n - (size_t)done);
  req->data = copy;
  b = uv_buf_init(copy, (unsigned)(n - (size_t)done));
  if (uv_write(req, w->stream, &b, 1, on_written) < 0) {
    free(copy);
    free(req);
  }
}

static void tell_dropped(cli_watchers *ws, watcher *w) {
  st_event ev;
  st_session_lost_event(ws->session, w->dropped, ST_LOST_SINK, w->dropped_from, w->dropped_to, &ev);
  snprintf(ev.detail, sizeof ev.detail, "the watcher read too slowly");
  ev.has |= ST_HAS_DETAIL;
  st_buf b = {0};
  st_event_json_append(&b, &ev);
  st_buf_add(&b, "\n", 1);
  if (!b.oom)
    send_line(w, b.data, b.len);
  st_buf_free(&b);
  w->dropped = 0;
}

static int watch_write(st_sink *sk, const st_event *ev) {
  cli_watchers *ws = (cli_watchers *)sk;
  if (!ws->list || ev->pid == ws->self)
    return 0;
  st_buf_reset(&ws->line);
  st_event_json_append(&ws->line, ev);
  st_buf_add(&ws->line, "\n", 1);
  if (ws->line.oom)
    return 0;
  for (watcher *w = ws->list; w; w = w->next) {
    if (w->pid && ev->pid == w->pid)
      continue;
    if (uv_stream_get_write_queue_size(w->stream) > WATCH_BACKLOG_MAX) {
      if (!w->dropped++)
        w->dropped_from = ev->ts_ns;
      w->dropped_to = ev->ts_ns;
      w->dropped_all++;
      ws->dropped++;
      continue;
    }
    if (w->dropped)
      tell_dropped(ws, w);
    send_line(w, ws->line.data, ws->line.len);
  }
  return 0;
}

static void watch_close(st_sink *sk) {
  cli_watchers *ws = (cli_watchers *)sk;
  cli_watch_close_all(ws);
  st_buf_free(&ws->line);
  free(ws);
}

static const st_sink_ops watch_ops = {.name = "watch", .write = watch_write, .close = watch_close};

int cli_watch_sink_new(st_session *s, cli_watchers **out) {
  cli_watchers *ws = calloc(1, sizeof *ws);
  if (!ws)
    return ST_ENOMEM;
  ws->base.ops = &watch_ops;
  ws->session = s;
  ws->self = (uint32_t)getpid();
  *out = ws;
  return 0;
}

st_sink *cli_watch_sink(cli_watchers *ws) {
  return &ws->base;
}

int cli_watch_add(cli_watchers *ws, uv_stream_t *stream, uint32_t pid,
                  void (*on_closed)(uv_handle_t *)) {
  watcher *w = calloc(1, sizeof *w);
  if (!w)
    return ST_ENOMEM;
  w->stream = stream;
  w->pid = pid;
  w->on_closed = on_closed;
  w->next = ws->list;
  ws->list = w;
  return 0;
}

void cli_watch_remove(cli_watchers *ws, uv_stream_t *stream) {
  for (watcher **p = &ws->list; *p; p = &(*p)->next) {
    if ((*p)->stream == stream) {
      watcher *w = *p;
      *p = w->next;
      if (!uv_is_closing((uv_handle_t *)w->stream))
        uv_close((uv_handle_t *)w->stream, w->on_closed);
      free(w);
      return;
    }
  }
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  watcher *w = req->data;
  if (!uv_is_closing((uv_handle_t *)w->stream))
    uv_close((uv_handle_t *)w->stream, w->on_closed);
  free(w);
  free(req);
}

/* The session's end: each watcher first gets what is queued for it, then
 * the end of the stream. */
void cli_watch_close_all(cli_watchers *ws) {
  while (ws->list) {
    watcher *w = ws->list;
    ws->list = w->next;
    if (w->dropped)
      tell_dropped(ws, w); /* its last word: what it missed since it was last told */
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req) {
      req->data = w;
      if (uv_shutdown(req, w->stream, on_shutdown) == 0)
        continue;
      free(req);
    }
    if (!uv_is_closing((uv_handle_t *)w->stream))
      uv_close((uv_handle_t *)w->stream, w->on_closed);
    free(w);
  }
}

json_t *cli_watch_json(const cli_watchers *ws) {
  json_int_t n = 0;
  for (const watcher *w = ws->list; w; w = w->next)
    n++;
  return json_pack("{sI sI}", "watchers", n, "dropped", (json_int_t)ws->dropped);
}
