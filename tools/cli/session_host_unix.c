/*
 * The session host: `socktrace start NAME` turned into a process of its
 * own that owns one session (backend, sinks, loop) and serves the session's
 * control socket on the same loop (docs/sessions.md). It outlives the shell
 * that started it; start returns once tracing is attached, or after the
 * one line that says why it is not.
 *
 * Who may talk to it: root, and the user who started it (checked with the
 * peer's credentials on every connection); its socket is 0600 in a 0700
 * directory besides. A malformed request gets an error answer, never a
 * crash, and the session goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "session_watch.h"

#define READY_MARK "\001ready "
#define RATE_WINDOW 5 /* seconds the current rate is measured over */

typedef struct host {
  cli_options *o;
  const char *name;
  char path[256], log[256];
  uv_loop_t loop;
  st_session *s;
  st_backend *b;
  st_sink *sktrace;
  cli_watchers *watch; /* clients of {"cmd":"watch"} */
  FILE *out;
  uv_pipe_t server;
  uv_signal_t sigterm, sigint;
  uv_timer_t tick;
  uid_t owner;
  uint64_t started_ns;
  uint64_t seen[RATE_WINDOW + 1]; /* events seen, one sample a second */
  unsigned ticks;
  bool closing;
} host;

typedef struct client {
  uv_pipe_t pipe;
  host *h;
  char *buf;
  size_t len;
  bool answered, stop_after;
  bool watching; /* asked for the events: stays open after its answer */
  pid_t pid;     /* the peer's process */
} client;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- what a session says about itself ---- */

static json_t *counters_json(host *h) {
  st_counters c;
  st_session_counters(h->s, &c);
  json_t *o =
      json_pack("{sI sI sI sI}", "seen", (json_int_t)c.seen, "shown", (json_int_t)c.delivered,
                "filtered", (json_int_t)c.filtered, "lost", (json_int_t)c.lost);
  uint64_t written = c.delivered, nats_lost = 0;
  if (cli_is_nats_url(h->o->output)) {
    written = cli_nats_published(&nats_lost);
    json_object_set_new(o, "lost", json_integer((json_int_t)(c.lost + nats_lost)));
  } else if (cli_is_otlp_url(h->o->output)) {
    written = cli_otlp_sent(&nats_lost);
    json_object_set_new(o, "lost", json_integer((json_int_t)(c.lost + nats_lost)));
  }
  if (h->sktrace) {
    st_sktrace_stats w;
    st_sink_sktrace_stats(h->sktrace, &w);
    written = w.events;
    json_object_set_new(o, "lost", json_integer((json_int_t)(c.lost + w.lost)));
  }
  json_object_set_new(o, "written", json_integer((json_int_t)written));
  return o;
}

static json_t *outputs_json(host *h) {
  cli_options *o = h->o;
  json_t *a = json_array();
  if (!o->output)
    return a;
  json_t *stream = cli_nats_output_json(o->output);
  if (!stream)
    stream = cli_otlp_output_json();
  if (stream) { /* its password masked */
    json_array_append_new(a, stream);
    return a;
  }
  json_t *out = json_pack("{ss ss}", "path", o->output, "format",
                          h->sktrace ? "sktrace" : (o->format ? o->format : "text"));
  if (h->sktrace) {
    st_sktrace_stats w;
    st_sink_sktrace_stats(h->sktrace, &w);
    json_object_set_new(out, "bytes", json_integer((json_int_t)w.bytes));
    json_object_set_new(out, "files", json_integer((json_int_t)w.files));
    json_object_set_new(out, "max_size", json_integer((json_int_t)o->max_size));
    json_object_set_new(out, "max_files", json_integer(o->max_files ? o->max_files : 8));
  }
  json_array_append_new(a, out);
  return a;
}

static json_t *session_json(host *h) {
  const st_session_config *cfg = st_session_config_get(h->s);
  char filters[512], kw[32], started[64];
  struct passwd *pw = getpwuid(h->owner);
  st_filter_describe(&cfg->filter, filters, sizeof filters);
  if (cfg->keywords == ST_KW_ALL)
    snprintf(kw, sizeof kw, "all");
  else
    snprintf(kw, sizeof kw, "0x%" PRIx64, cfg->keywords);
  time_t t = (time_t)(h->started_ns / 1000000000ull);
  strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  unsigned span = h->ticks < RATE_WINDOW ? h->ticks : RATE_WINDOW;
  double rate = span ? (double)(h->seen[h->ticks % (RATE_WINDOW + 1)] -
                                h->seen[(h->ticks - span) % (RATE_WINDOW + 1)]) /
                           span
                     : 0;
  json_t *o = json_pack("{ss si si ss ss sI ss si ss ss so so so sf}", "name", h->name, "pid",
                        (int)getpid(), "uid", (int)h->owner, "owner", pw ? pw->pw_name : "?",
                        "started", started, "started_ns", (json_int_t)h->started_ns, "backend",
                        h->b->ops->name, "level", cfg->level, "keywords", kw, "filters", filters,
                        "filter", cli_filter_to_json(&cfg->filter), "outputs", outputs_json(h),
                        "events", counters_json(h), "rate", rate);
  json_object_set_new(o, "state", json_string(st_session_stopping(h->s) ? "stopped" : "running"));
  if (h->watch)
    json_object_set_new(o, "watch", cli_watch_json(h->watch));
  if (st_session_status(h->s) < 0)
    json_object_set_new(o, "error", json_string(st_session_error(h->s)));
  if (cli_metrics_address())
    json_object_set_new(o, "metrics", json_string(cli_metrics_address()));
  return o;
}

/* ---- requests ---- */

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return json_pack("{sb ss}", "ok", 0, "error", msg);
}

static json_t *ok(json_t *session) {
  return json_pack("{sb so}", "ok", 1, "session", session);
}

/* update: the level, keywords and the filter kinds it names replace the
 * session's; "clear_filters" drops the other kinds first. */
static json_t *do_update(host *h, json_t *req) {
  st_session_config cfg = *st_session_config_get(h->s);
  json_t *level = json_object_get(req, "level"), *kw = json_object_get(req, "keywords");
  char err[256] = "";
  if (level) {
    if (!json_is_integer(level) || json_integer_value(level) < 1 || json_integer_value(level) > 5)
      return fail("\"level\" must be a number from 1 to 5");
    cfg.level = (uint8_t)json_integer_value(level);
  }
  if (kw) {
    if (!json_is_string(kw) || cli_parse_keywords(json_string_value(kw), &cfg.keywords) < 0)
      return fail("bad \"keywords\" (a number like \"0x6\", or names: datagram,stream,...)");
  }
  st_filter given = {0};
  unsigned kinds = 0;
  if (cli_filter_from_json(json_object_get(req, "filters"), &given, &kinds, err, sizeof err) < 0)
    return fail("%s", err);
  if (json_is_true(json_object_get(req, "clear_filters")))
    memset(&cfg.filter, 0, sizeof cfg.filter);
  st_filter *f = &cfg.filter;
  if (kinds & CLI_FILTER_PID) {
    memcpy(f->pids, given.pids, sizeof f->pids);
    f->npids = given.npids;
  }
  if (kinds & CLI_FILTER_PORT) {
    memcpy(f->ports, given.ports, sizeof f->ports);
    f->nports = given.nports;
  }
  if (kinds & CLI_FILTER_HOST) {
    memcpy(f->hosts, given.hosts, sizeof f->hosts);
    f->nhosts = given.nhosts;
  }
  if (kinds & CLI_FILTER_FAMILY)
    f->families = given.families;
  if (kinds & CLI_FILTER_PROTOCOL) {
    memcpy(f->protocols, given.protocols, sizeof f->protocols);
    f->nprotocols = given.nprotocols;
  }
  if (kinds & CLI_FILTER_EVENTS) {
    memcpy(f->events, given.events, sizeof f->events);
    f->nevents = given.nevents;
  }
  if (kinds & CLI_FILTER_CONTAINER) {
    memcpy(f->containers, given.containers, sizeof f->containers);
    f->ncontainers = given.ncontainers;
  }
  if (st_session_update(h->s, &cfg) < 0)
    return fail("cannot update session %s: %s", h->name, st_session_error(h->s));
  return ok(session_json(h));
}

static json_t *handle(client *c, const char *line) {
  host *h = c->h;
  json_error_t je;
  json_t *req = json_loads(line, 0, &je);
  json_t *ans;
  const char *cmd = json_string_value(json_object_get(req, "cmd"));
  if (!json_is_object(req))
    ans = fail("malformed request: %s (one JSON object per line)", je.text);
  else if (!cmd)
    ans = fail("malformed request: no \"cmd\" (query, update, flush, stop or watch)");
  else if (strcmp(cmd, "query") == 0)
    ans = ok(session_json(h));
  else if (strcmp(cmd, "update") == 0)
    ans = do_update(h, req);
  else if (strcmp(cmd, "flush") == 0)
    ans = st_session_flush(h->s) < 0
              ? fail("cannot flush session %s: %s", h->name, st_session_error(h->s))
              : ok(session_json(h));
  else if (strcmp(cmd, "watch") == 0) {
    ans = st_session_stopping(h->s) ? fail("session %s is stopping", h->name) : ok(session_json(h));
    c->watching = !st_session_stopping(h->s);
  } else if (strcmp(cmd, "stop") == 0) {
    st_session_stop(h->s);
    ans = ok(session_json(h));
    c->stop_after = true;
  } else
    ans = fail("unknown \"cmd\" \"%s\" (query, update, flush, stop or watch)", cmd);
  json_decref(req);
  return ans;
}

static void host_close(host *h);

static void on_client_closed(uv_handle_t *hd) {
  client *c = hd->data;
  free(c->buf);
  free(c);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

static void on_written(uv_write_t *w, int status) {
  client *c = w->data;
  bool stop = c->stop_after;
  host *h = c->h;
  free(w);
  if (c->watching)
    return; /* its stream is the watchers' now */
  uv_close((uv_handle_t *)&c->pipe, on_client_closed);
  if (stop)
    host_close(h);
}

static void answer(client *c, json_t *ans) {
  char *text = json_dumps(ans, JSON_COMPACT);
  json_decref(ans);
  c->answered = true;
  size_t n = text ? strlen(text) : 0;
  char *line = malloc(n + 2);
  uv_write_t *w = malloc(sizeof *w);
  if (!text || !line || !w) {
    free(text);
    free(line);
    free(w);
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
    return;
  }
  memcpy(line, text, n);
  line[n] = '\n';
  free(text);
  /* The buffer lives as long as the write: it is freed with the client. */
  free(c->buf);
  c->buf = line;
  uv_buf_t b = uv_buf_init(line, (unsigned)n + 1);
  w->data = c;
  if (uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0) {
    free(w);
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
    return;
  }
  /* A watcher stays: the events after this answer are all its own (the
   * loop emits none between the two); reading tells when it goes. */
  if (c->watching) {
    if (cli_watch_add(c->h->watch, (uv_stream_t *)&c->pipe, (uint32_t)c->pid, on_client_closed) ==
        0)
      uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    else
      c->watching = false; /* closed once the answer is out */
  }
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf) {
  static char slab[4096];
  buf->base = slab;
  buf->len = sizeof slab;
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  client *c = st->data;
  if (c->answered) {
    if (n < 0 && c->watching)
      cli_watch_remove(c->h->watch, st);
    return;
  }
  if (n > 0) {
    char *nb =
        c->len + (size_t)n <= CLI_REQUEST_MAX ? realloc(c->buf, c->len + (size_t)n + 1) : NULL;
    if (!nb) {
      uv_read_stop(st);
      answer(c, fail("request too long (at most %d bytes)", CLI_REQUEST_MAX));
      return;
    }
    c->buf = nb;
    memcpy(c->buf + c->len, buf->base, (size_t)n);
    c->len += (size_t)n;
    c->buf[c->len] = 0;
  }
  char *eol = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
  if (eol || n == UV_EOF) {
    uv_read_stop(st);
    if (eol)
      *eol = 0;
    answer(c, c->buf ? handle(c, c->buf) : fail("empty request"));
  } else if (n < 0) {
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
  }
}

/* Root or the session's owner: anyone else gets an error answer. */
static bool allowed(host *h, client *c, char *why, size_t len) {
  uv_os_fd_t fd;
  struct ucred cr;
  socklen_t sl = sizeof cr;
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl) < 0) {
    snprintf(why, len, "cannot tell who is asking");
    return false;
  }
  c->pid = cr.pid;
  if (cr.uid == 0 || cr.uid == h->owner)
    return true;
  snprintf(why, len,
           "permission denied: session %s belongs to uid %u (only it and root may control it)",
           h->name, (unsigned)h->owner);
  return false;
}

static void on_connection(uv_stream_t *server, int status) {
  host *h = server->data;
  if (status < 0)
    return;
  client *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->h = h;
  uv_pipe_init(&h->loop, &c->pipe, 0);
  c->pipe.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
    return;
  }
  char why[256];
  if (!allowed(h, c, why, sizeof why)) {
    answer(c, fail("%s", why));
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ---- the host's life ---- */

static void host_close(host *h) {
  if (h->closing)
    return;
  h->closing = true;
  st_session_stop(h->s);
  if (h->watch)
    cli_watch_close_all(h->watch); /* they read the end of the stream */
  unlink(h->path);
  uv_close((uv_handle_t *)&h->server, NULL);
  uv_close((uv_handle_t *)&h->tick, NULL);
  uv_close((uv_handle_t *)&h->sigterm, NULL);
  uv_close((uv_handle_t *)&h->sigint, NULL);
}

static void on_stop_signal(uv_signal_t *sig, int signum) {
  host_close(sig->data);
}

/* A second's sample of the counters; a session that stopped by itself (a
 * full disk, a failed source) ends its host. */
static void on_tick(uv_timer_t *t) {
  host *h = t->data;
  st_counters c;
  st_session_counters(h->s, &c);
  h->seen[++h->ticks % (RATE_WINDOW + 1)] = c.seen;
  if (st_session_stopping(h->s)) {
    if (st_session_status(h->s) < 0)
      cli_error("session %s stopped: %s", h->name, st_session_error(h->s));
    host_close(h);
  }
}

static int serve(host *h) {
  int rc;
  mode_t old = umask(077);
  uv_pipe_init(&h->loop, &h->server, 0);
  h->server.data = h;
  rc = uv_pipe_bind(&h->server, h->path);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&h->server, 16, on_connection);
  umask(old);
  if (rc < 0) {
    cli_error("cannot serve session %s on %s: %s", h->name, h->path, st_strerror(rc));
    return rc;
  }
  chmod(h->path, 0600);
  return 0;
}

/* Runs the session until it is stopped. ready_fd: where to say it is
 * tracing (-1 in the foreground). */
static int host_run(host *h, int ready_fd) {
  cli_options *o = h->o;
  int code = 1;
  signal(SIGPIPE, SIG_IGN); /* a client gone before its answer is no reason to die */
  uv_loop_init(&h->loop);
  h->owner = getuid();
  o->hosted = true;
  if (cli_live_backend(o, &h->b) < 0)
    return 1;
  if (cli_output_is_file(o->output) && !(h->out = cli_open_output(o))) {
    h->b->ops->close(h->b);
    return 1;
  }
  o->cfg.name = h->name;
  o->cfg.handle_signals = false;
  if (st_session_new(&h->loop, &o->cfg, &h->s) < 0) {
    cli_error("out of memory");
    h->b->ops->close(h->b);
    return 1;
  }
  st_session_set_backend(h->s, h->b);
  if (!o->trace_self)
    cli_ignore_self(h->s);
  if (cli_add_sinks(o, h->s, h->b, h->out ? h->out : stdout, &h->sktrace) < 0)
    goto out;
  if (cli_watch_sink_new(h->s, &h->watch) < 0) {
    cli_error("out of memory");
    goto out;
  }
  st_session_add_sink(h->s, cli_watch_sink(h->watch));
  if (st_session_start(h->s) < 0) {
    cli_error("%s", st_session_error(h->s));
    goto out;
  }
  h->started_ns = now_ns();
  if (serve(h) < 0) {
    st_session_stop(h->s);
    goto out;
  }
  uv_signal_init(&h->loop, &h->sigterm);
  uv_signal_init(&h->loop, &h->sigint);
  h->sigterm.data = h->sigint.data = h;
  uv_signal_start(&h->sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&h->sigint, on_stop_signal, SIGINT);
  uv_timer_init(&h->loop, &h->tick);
  h->tick.data = h;
  uv_timer_start(&h->tick, on_tick, 1000, 1000);
  /* Before the ready mark: `start` passes it on. */
  if (cli_metrics_address())
    cli_note("session %s serves metrics at http://%s/metrics", h->name, cli_metrics_address());
  if (ready_fd >= 0) {
    char msg[64];
    int n = snprintf(msg, sizeof msg, READY_MARK "%d\n", (int)getpid());
    if (write(ready_fd, msg, (size_t)n) != n)
      goto out;
    /* From here on the host's words go to its log. */
    int log = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    dup2(log >= 0 ? log : open("/dev/null", O_WRONLY), STDERR_FILENO);
    if (log >= 0)
      close(log);
    close(ready_fd);
  } else {
    cli_note("session %s tracing with the %s backend at level %u (pid %d)", h->name,
             h->b->ops->name, o->cfg.level, (int)getpid());
  }
  uv_run(&h->loop, UV_RUN_DEFAULT);
  code = st_session_status(h->s) < 0 ? 1 : 0;
out:
  if (!h->closing)
    unlink(h->path);
  struct stat sb;
  if (stat(h->log, &sb) == 0 && sb.st_size == 0)
    unlink(h->log); /* nothing to tell */
  if (h->sktrace)
    cli_report_writer(h->sktrace, o->output);
  st_session_free(h->s);
  uv_loop_close(&h->loop);
  if (h->out && fclose(h->out) != 0)
    code = 1;
  return code;
}

int cli_session_host(cli_options *o, const char *name, const char *path, const char *log) {
  host h = {.o = o, .name = name};
  snprintf(h.path, sizeof h.path, "%s", path);
  snprintf(h.log, sizeof h.log, "%s", log);
  if (o->foreground)
    return host_run(&h, -1);

  int p[2];
  if (pipe(p) < 0) {
    cli_error("cannot start session %s: %s", name, st_strerror(-errno));
    return 1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    cli_error("cannot start session %s: %s", name, st_strerror(-errno));
    return 1;
  }
  if (pid == 0) {
    /* A session leader's child: no terminal, not the shell's job. */
    close(p[0]);
    setsid();
    signal(SIGHUP, SIG_IGN);
    if (fork() != 0)
      _exit(0);
    int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(p[1], STDERR_FILENO); /* start-up errors go back to `start` */
    if (null > 2)
      close(null);
    if (chdir("/") != 0)
      _exit(1);
    _exit(host_run(&h, p[1]));
  }
  close(p[1]);
  /* The host's own words until it says it is ready; then `start` is done. */
  char buf[1024];
  size_t len = 0;
  int ready_pid = 0;
  for (;;) {
    ssize_t r = read(p[0], buf + len, sizeof buf - 1 - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
    buf[len] = 0;
    char *mark = strstr(buf, READY_MARK);
    if (mark) {
      fwrite(buf, 1, (size_t)(mark - buf), stderr);
      ready_pid = atoi(mark + strlen(READY_MARK));
      break;
    }
    char *nl = strrchr(buf, '\n');
    if (nl) {
      fwrite(buf, 1, (size_t)(nl + 1 - buf), stderr);
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len);
    } else if (len == sizeof buf - 1) {
      fwrite(buf, 1, len, stderr);
      len = 0;
    }
  }
  close(p[0]);
  waitpid(pid, NULL, 0);
  if (!ready_pid)
    return 1;
  char shown[512];
  cli_shown(o->output, shown, sizeof shown);
  cli_note("session %s started (pid %d): tracing with level %u%s%s", name, ready_pid, o->cfg.level,
           o->output ? " into " : "", shown);
  return 0;
}
