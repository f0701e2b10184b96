/*
 * A running session's events as a live source (`top --session NAME`): one
 * connection to the session's control socket, {"cmd":"watch"}, its answer,
 * then one JSON event a line for as long as the session runs. The session
 * host's own tracer is the only one; this reads what it already has. An
 * EventsLost line from the host (this reader was too slow) is an event
 * like any other; the end of the stream (the session stopped) ends the
 * source.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

#define READ_CHUNK (64 << 10)
#define LINE_MAX_BYTES (1 << 20)

typedef struct watch_backend {
  st_backend base;
  char path[256], name[CLI_NAME_MAX + 1];
  int fd;
  char *buf;
  size_t len, cap;
  uint64_t events, errors;
  st_event ev;
} watch_backend;

static int connect_to(watch_backend *w) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(w->path) >= sizeof sa.sun_path) {
    st_backend_set_error(&w->base, "%s: the path is too long for a socket", w->path);
    return ST_ENAMETOOLONG;
  }
  memcpy(sa.sun_path, w->path, strlen(w->path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int rc = -errno;
    if (fd >= 0)
      close(fd);
    st_backend_set_error(&w->base,
                         rc == ST_ENOENT || rc == ST_ECONNREFUSED
                             ? "no session %s is running (see 'socktrace query')"
                             : "cannot reach session %s: %s",
                         w->name, st_strerror(rc));
    return rc;
  }
  return fd;
}

/* Reads up to one line (the answer) with the socket still blocking. */
static int read_answer(watch_backend *w) {
  for (;;) {
    char *eol = w->len ? memchr(w->buf, '\n', w->len) : NULL;
    if (eol) {
      *eol = 0;
      json_error_t je;
      json_t *a = json_loads(w->buf, 0, &je);
      int ok = json_is_true(json_object_get(a, "ok"));
      const char *err = json_string_value(json_object_get(a, "error"));
      if (!ok)
        st_backend_set_error(&w->base, "session %s refused to be watched: %s", w->name,
                             err ? err : "no answer");
      json_decref(a);
      size_t used = (size_t)(eol + 1 - w->buf);
      memmove(w->buf, eol + 1, w->len - used);
      w->len -= used;
      return ok ? 0 : ST_EINVAL;
    }
    if (w->len == w->cap)
      return ST_EMSGSIZE;
    ssize_t r = read(w->fd, w->buf + w->len, w->cap - w->len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      st_backend_set_error(&w->base, "session %s closed the connection (it may be stopping)",
                           w->name);
      return ST_EIO;
    }
    w->len += (size_t)r;
  }
}

static int watch_open(st_backend *b, st_session *s) {
  watch_backend *w = (watch_backend *)b;
  b->session = s;
  w->cap = READ_CHUNK;
  if (!(w->buf = malloc(w->cap)))
    return ST_ENOMEM;
  int fd = connect_to(w);
  if (fd < 0)
    return fd;
  w->fd = fd;
  static const char req[] = "{\"cmd\":\"watch\"}\n";
  if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
    int rc = -errno;
    st_backend_set_error(b, "cannot ask session %s for its events: %s", w->name, st_strerror(rc));
    return rc;
  }
  int rc = read_answer(w);
  if (rc < 0)
    return rc;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

static void emit_lines(watch_backend *w) {
  size_t at = 0;
  char err[256];
  for (;;) {
    char *eol = memchr(w->buf + at, '\n', w->len - at);
    if (!eol)
      break;
    *eol = 0;
    int rc = st_event_from_json(w->buf + at, &w->ev, err, sizeof err);
    if (rc == 0) {
      w->events++;
      st_session_emit(w->base.session, &w->ev);
    } else if (rc < 0 && !w->errors++) {
      st_backend_set_error(&w->base, "a bad line from session %s: %s", w->name, err);
    }
    at = (size_t)(eol + 1 - w->buf);
  }
  memmove(w->buf, w->buf + at, w->len - at);
  w->len -= at;
}

static int watch_poll(st_backend *b) {
  watch_backend *w = (watch_backend *)b;
  for (;;) {
    if (w->len == w->cap) {
      size_t cap = w->cap * 2;
      char *nb = cap <= LINE_MAX_BYTES ? realloc(w->buf, cap) : NULL;
      if (!nb) {
        st_backend_set_error(b, "a line from session %s is too long", w->name);
        return ST_EMSGSIZE;
      }
      w->buf = nb;
      w->cap = cap;
    }
    ssize_t r = read(w->fd, w->buf + w->len, w->cap - w->len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (r <= 0) { /* the session ended */
      emit_lines(w);
      st_session_backend_done(b->session, 0);
      return 0;
    }
    w->len += (size_t)r;
    emit_lines(w);
  }
}

static int watch_fd(st_backend *b) {
  return ((watch_backend *)b)->fd;
}

static void watch_stats(st_backend *b, st_backend_stats *out) {
  watch_backend *w = (watch_backend *)b;
  out->events = w->events;
  out->lost = 0; /* the host's EventsLost records say it */
  out->errors = w->errors;
}

static void watch_close(st_backend *b) {
  watch_backend *w = (watch_backend *)b;
  if (w->fd >= 0)
    close(w->fd);
  free(w->buf);
  free(w);
}

static const st_backend_ops watch_ops = {.name = "session",
                                         .kind = ST_SOURCE_LIVE,
                                         .open = watch_open,
                                         .start = st_backend_nop,
                                         .stop = st_backend_nop,
                                         .close = watch_close,
                                         .stats = watch_stats,
                                         .fd = watch_fd,
                                         .poll = watch_poll};

int cli_watch_backend(cli_options *o, const char *name, st_backend **out) {
  if (!cli_session_name_ok(name)) {
    cli_error("bad session name '%s' (1 to 64 of A-Z a-z 0-9 . _ -)", name);
    return ST_EINVAL;
  }
  watch_backend *w = calloc(1, sizeof *w);
  if (!w) {
    cli_error("out of memory");
    return ST_ENOMEM;
  }
  char dir[200];
  cli_control_dir(o, dir, sizeof dir);
  cli_control_path(dir, name, w->path, sizeof w->path);
  snprintf(w->name, sizeof w->name, "%s", name);
  w->fd = -1;
  w->base.ops = &watch_ops;
  *out = &w->base;
  return 0;
}
