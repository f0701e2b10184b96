/*
 * `socktrace top`: a consumer of a session, not a second tracer. The
 * session's source is the live backend, a running background session (its
 * events through its control socket), a nats:// stream or a recording; a
 * sink feeds every event to the model (core/top_model.c), and each interval
 * is drawn on the full screen (top_screen_unix.c) or, in batch mode (-b,
 * or when standard output is no terminal), printed as a table or as JSON
 * Lines.
 *
 * With -- CMD the source is the live backend (eBPF as root, else ptrace,
 * as `run` picks) scoped to CMD's tree (held_child_unix.c); the trace ends
 * with the tree. CMD's output must not garble the screen: there it goes to
 * /dev/null (and its stdin is /dev/null, the keys are top's), in batch
 * mode its stdout goes to stderr so that standard output stays the table;
 * --cmd-output FILE takes both instead. Batch mode exits with CMD's status;
 * the screen stays until q, saying how CMD ended. q before CMD ends ends
 * CMD: SIGTERM (with ptrace, stopping the trace kills the tree outright).
 *
 * Whose clock closes an interval: for a recording, the events' own times
 * (the rows are the same at any --speed, 0 included); for everything else,
 * the wall clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "top.h"

#define TICK_MS 50

/* The events' clock: ns since the Unix epoch (microseconds are enough for
 * where an interval ends). */
static uint64_t wall_ns(void) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

typedef struct top_state {
  st_sink base;
  cli_options *o;
  st_top_model model;
  top_view view;
  bool ended, json, color;
  bool event_time; /* a recording: intervals on its own clock */
  unsigned long printed;
  char source[512];
  st_session *s;
  st_backend *b; /* the source: paced when a recording is read at a pace */
  bool paced;
  uv_loop_t *loop;
  uv_timer_t tick;
  uv_signal_t sigs[3];
  top_screen *screen;
  int code;
  cli_child *child; /* top -- CMD */
  bool child_ended; /* and the state says how */
  char child_state[64];
} top_state;

static void close_handles(top_state *t);

/* ---- one interval's output ---- */

static void print_batch(top_state *t) {
  st_top_row *rows, total;
  int n = top_view_rows(&t->model, &t->view, &rows, &total);
  if (n < 0) {
    cli_error("out of memory");
    t->code = 1;
    st_session_stop(t->s);
    return;
  }
  double secs = (double)(t->model.last_end_ns - t->model.last_start_ns) / 1e9;
  st_buf b = {0};
  if (t->json) {
    for (int i = 0; i < n; i++)
      top_json_row(&b, &t->model, &t->view, &rows[i]);
  } else {
    top_header(&b, &t->model, &t->view, &total, t->source, NULL);
    top_line(&b, &t->view, NULL, secs, false, 0);
    st_buf_add(&b, "\n", 1);
    for (int i = 0; i < n; i++) {
      top_line(&b, &t->view, &rows[i], secs, t->color, 0);
      st_buf_add(&b, "\n", 1);
    }
    st_buf_add(&b, "\n", 1);
  }
  fwrite(b.data ? b.data : "", 1, b.len, stdout);
  fflush(stdout);
  st_buf_free(&b);
  free(rows);
}

static void draw(top_state *t) {
  if (t->screen)
    top_screen_draw(t->screen, &t->model, t->source,
                    t->model.hold    ? "[frozen]"
                    : t->child_ended ? t->child_state
                    : t->ended       ? "[source ended]"
                                     : "");
}

/* Closes every interval that ended by now and shows it. */
static void advance(top_state *t, uint64_t now) {
  while (!t->ended && st_top_due(&t->model, now)) {
    st_top_close(&t->model);
    t->printed++;
    if (t->screen) {
      if (!t->model.hold)
        draw(t);
    } else {
      print_batch(t);
    }
    if (t->o->top.iterations && t->printed >= t->o->top.iterations) {
      t->ended = true; /* -n: done, on the screen too (as top -n is) */
      st_session_stop(t->s);
      close_handles(t);
    }
  }
}

/* ---- the sink the session feeds ---- */

static int top_write(st_sink *sk, const st_event *ev) {
  top_state *t = (top_state *)sk;
  if (t->ended)
    return 0;
  if (t->event_time && ev->ts_ns)
    advance(t, ev->ts_ns);
  if (t->ended)
    return 0;
  int rc = st_top_add(&t->model, ev, cli_nats_event_host(t->o));
  if (rc < 0)
    snprintf(sk->error, sizeof sk->error, "out of memory");
  return rc;
}

/* The source is over: its last interval, however short, is shown too. */
static int top_end(st_sink *sk, const st_counters *c) {
  top_state *t = (top_state *)sk;
  if (!t->ended && t->model.start_ns && (t->model.cur_events || !t->printed || !t->event_time)) {
    st_top_close(&t->model);
    t->printed++;
    if (t->screen)
      draw(t);
    else
      print_batch(t);
  }
  t->ended = true;
  draw(t);
  return 0;
}

static void top_sink_close(st_sink *sk) {
  (void)sk; /* the state is top's own, freed when it ends */
}

static const st_sink_ops top_sink_ops = {
    .name = "top", .write = top_write, .end = top_end, .close = top_sink_close};

/* ---- the loop's side ---- */

static void close_handles(top_state *t) {
  if (t->screen) {
    top_screen_end(t->screen);
    t->screen = NULL;
  }
  if (!uv_is_closing((uv_handle_t *)&t->tick))
    uv_close((uv_handle_t *)&t->tick, NULL);
  for (int i = 0; i < 3; i++)
    if (!uv_is_closing((uv_handle_t *)&t->sigs[i]))
      uv_close((uv_handle_t *)&t->sigs[i], NULL);
}

static void quit(void *arg) {
  top_state *t = arg;
  if (t->child)
    cli_child_kill(t->child, SIGTERM); /* it does not outlive the view */
  st_session_stop(t->s);
  close_handles(t);
}

static void redraw(void *arg) {
  draw(arg);
}

static void on_tick(uv_timer_t *h) {
  top_state *t = h->data;
  int code;
  if (t->child && !t->child_ended && cli_child_exited(t->child, &code)) {
    t->child_ended = true;
    snprintf(t->child_state, sizeof t->child_state, "[CMD exited with status %d; q quits]", code);
    draw(t);
  }
  if (t->paced)
    advance(t, cli_pace_now(t->b));
  else if (!t->event_time)
    advance(t, wall_ns());
  /* Batch mode ends with its source; the screen stays until q. */
  if (!t->screen && st_session_stopping(t->s))
    close_handles(t);
}

static void on_signal(uv_signal_t *h, int signum) {
  quit(h->data);
}

/* ---- the source ---- */

#ifndef _WIN32
/* Where CMD's output goes (see the top of the file); false after one line. */
static bool command_io(const cli_options *o, bool screen, cli_child_io *io) {
  *io = (cli_child_io){.in_fd = -1, .out_fd = -1, .err_fd = -1};
  if (o->top.cmd_output) {
    io->out_fd = open(o->top.cmd_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (io->out_fd < 0) {
      cli_error("cannot open --cmd-output %s: %s", o->top.cmd_output, st_strerror(-errno));
      return false;
    }
    io->err_fd = io->out_fd;
  } else if (screen) {
    io->out_fd = io->err_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  } else {
    io->out_fd = STDERR_FILENO;
  }
  if (screen)
    io->in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return true;
}

static void close_io(cli_child_io *io) {
  if (io->in_fd > STDERR_FILENO)
    close(io->in_fd);
  if (io->out_fd > STDERR_FILENO)
    close(io->out_fd);
}

static int open_command(top_state *t, char **cmd, bool screen) {
  cli_options *o = t->o;
  cli_child_io io;
  if (!command_io(o, screen, &io))
    return -1;
  o->is_run = true; /* the live backend as run picks it: eBPF, else ptrace */
  int rc = cli_live_backend(o, &t->b);
  if (rc == 0) {
    rc = cli_child_new(o, cmd, &io, &t->child);
    if (rc < 0)
      t->b->ops->close(t->b);
  }
  close_io(&io);
  if (rc < 0)
    return rc;
  size_t used = (size_t)snprintf(t->source, sizeof t->source, "%s", "");
  for (size_t i = 0; cmd[i] && used < 160; i++)
    used +=
        (size_t)snprintf(t->source + used, sizeof t->source - used, "%s%s", i ? " " : "", cmd[i]);
  snprintf(t->source + used, sizeof t->source - used, " (%s, level %u)", t->b->ops->name,
           o->cfg.level);
  return 0;
}
#else
static int open_command(top_state *t, char **cmd, bool screen) {
  (void)t, (void)cmd, (void)screen;
  cli_error("'top -- CMD' is not available on Windows yet; start the program, then use "
            "'socktrace top' and type its name after /");
  return -1;
}
#endif

static int open_source(top_state *t, const char *source) {
  cli_options *o = t->o;
  if (o->top.session) {
    if (!o->level_given)
      o->cfg.level = ST_LEVEL_VERBOSE; /* all the session delivers; its level is its own */
    snprintf(t->source, sizeof t->source, "session %s", o->top.session);
    return cli_watch_backend(o, o->top.session, &t->b);
  }
  if (source && cli_is_nats_url(source)) {
    o->nats.collect = true;
    if (!o->level_given)
      o->cfg.level = ST_LEVEL_VERBOSE;
    cli_shown(source, t->source, sizeof t->source);
    return cli_nats_backend(o, source, &t->b);
  }
  if (source) {
    if (!o->level_given)
      o->cfg.level = ST_LEVEL_VERBOSE; /* a recording shows all it holds */
    double speed = o->top.speed_given ? o->top.speed : 1;
    snprintf(t->source, sizeof t->source, "%s (speed %g%s)", source, speed,
             speed == 0 ? ": as fast as it reads" : "");
    t->event_time = true;
    st_backend *file;
    int rc = cli_file_backend(o, source, &file);
    if (rc < 0 || speed == 0) {
      t->b = file;
      return rc;
    }
    t->paced = true;
    return cli_pace_backend(file, speed, &t->b);
  }
  int rc = cli_live_backend(o, &t->b);
  if (rc == 0)
    snprintf(t->source, sizeof t->source, "live (%s, level %u)", t->b->ops->name, o->cfg.level);
  return rc;
}

static bool check_options(const cli_options *o, const char *source, char **cmd) {
  if (o->format && strcmp(o->format, "text") != 0 && strcmp(o->format, "jsonl") != 0) {
    cli_error("top prints text or -f jsonl, not -f %s", o->format);
    return false;
  }
  if (o->output || o->summary || o->timeline) {
    cli_error("top shows its table on the terminal: -o, --summary and --timeline are not its "
              "(record with 'socktrace trace -o FILE' and run top on the FILE)");
    return false;
  }
  if (o->top.sort && top_column_lookup(o->top.sort) < 0) {
    cli_error("bad --sort '%s' (conn, acc, failed, rst-in, rst-out, retrans, in, out, p50, p99, "
              "dns or key)",
              o->top.sort);
    return false;
  }
  if (o->top.session && source) {
    cli_error("top reads one source: a --session or a FILE or a nats:// stream, not both");
    return false;
  }
  if (o->top.cmd_output && !cmd) {
    cli_error("--cmd-output is for top -- CMD");
    return false;
  }
  if (cmd && o->top.session) {
    cli_error("top watches a --session or a command after --, not both");
    return false;
  }
  if (o->top.speed_given && (!source || cli_is_nats_url(source))) {
    cli_error("--speed is for a recorded FILE");
    return false;
  }
  return true;
}

int cli_top(cli_options *o, const char *source, char **cmd) {
  if (!check_options(o, source, cmd))
    return 2;
  top_state *t = calloc(1, sizeof *t);
  if (!t) {
    cli_error("out of memory");
    return 1;
  }
  t->o = o;
  t->base.ops = &top_sink_ops;
  t->view.grouping = o->top.grouping;
  t->view.sort = o->top.sort ? top_column_lookup(o->top.sort) : TOP_COL_FAILED;
  t->json = o->format && strcmp(o->format, "jsonl") == 0;
  bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
  bool screen = !o->top.batch && !t->json && tty;
  t->color = o->color == 1 || (o->color == -1 && tty && !t->json);
  st_top_init(&t->model, o->top.interval_ns);
  if ((cmd ? open_command(t, cmd, screen) : open_source(t, source)) < 0) {
    st_top_free(&t->model);
    free(t);
    return 1;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  t->loop = &loop;
  o->cfg.handle_signals = false; /* top's own handlers give the terminal back first */
  if (st_session_new(&loop, &o->cfg, &t->s) < 0) {
    cli_error("out of memory");
    t->b->ops->close(t->b);
    st_top_free(&t->model);
    int code = t->child ? cli_child_end(t->child, o, 1) : 1;
    free(t);
    return code;
  }
  st_session_set_backend(t->s, t->b);
  st_session_add_sink(t->s, &t->base);
  uv_timer_init(&loop, &t->tick);
  t->tick.data = t;
  static const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&loop, &t->sigs[i]);
    t->sigs[i].data = t;
    uv_signal_start(&t->sigs[i], on_signal, signals[i]);
  }
  if (st_session_start(t->s) < 0) {
    cli_error("%s", st_session_error(t->s));
    t->code = 1;
    close_handles(t);
  } else {
    if (!t->event_time)
      st_top_begin(&t->model, wall_ns());
    if (t->child && cli_child_release(t->s, &loop, t->child) != 0) {
      t->code = 1;
      quit(t);
    }
    if (screen) {
      static const top_screen_hooks hooks = {.quit = quit, .changed = redraw};
      if (top_screen_begin(&loop, &t->view, &t->model.hold, &hooks, t, &t->screen) < 0) {
        t->code = 1;
        quit(t);
      }
    } else if (t->child) {
      cli_note("tracing %s with the %s backend at level %u", cmd[0], t->b->ops->name, o->cfg.level);
    } else if (!source && !o->top.session) {
      cli_note("tracing with the %s backend at level %u (Ctrl-C to stop)", t->b->ops->name,
               o->cfg.level);
    } else if (o->top.session) {
      cli_note("watching session %s (Ctrl-C to stop)", o->top.session);
    }
    uv_timer_start(&t->tick, on_tick, TICK_MS, TICK_MS);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (t->screen)
    top_screen_end(t->screen);
  if (st_session_status(t->s) < 0 && !t->code) {
    cli_error("%s", st_session_error(t->s));
    t->code = 1;
  }
  st_counters c;
  st_session_counters(t->s, &c);
  if (o->stats == CLI_STATS_JSON)
    fprintf(stderr,
            "{\"seen\":%" PRIu64 ",\"shown\":%" PRIu64 ",\"filtered\":%" PRIu64 ",\"lost\":%" PRIu64
            "}\n",
            c.seen, c.delivered, c.filtered, c.lost);
  else if (o->stats == CLI_STATS_TEXT)
    cli_note("%" PRIu64 " events seen, %" PRIu64 " shown, %" PRIu64 " filtered out, %" PRIu64
             " lost",
             c.seen, c.delivered, c.filtered, c.lost);
  st_session_free(t->s);
  uv_loop_close(&loop);
  int code = t->child ? cli_child_end(t->child, o, t->code) : t->code;
  st_top_free(&t->model);
  free(t);
  return code;
}
