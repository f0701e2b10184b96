/*
 * Reading a trace into the summary model (core/summary_model.c) rather than
 * printing it: the sink behind `diff` (one model per side) and --fail-on.
 * It also keeps where the trace came from and what it lost.
 */
#include <stdlib.h>

#include "cli.h"

typedef struct model_sink {
  st_sink base;
  cli_model *m;
} model_sink;

static int model_begin(st_sink *sk, const st_trace_info *info) {
  cli_model *m = ((model_sink *)sk)->m;
  m->info = *info;
  m->has_info = true;
  return 0;
}

static int model_write(st_sink *sk, const st_event *ev) {
  cli_model *m = ((model_sink *)sk)->m;
  /* Where the events came from, as they say (a replay's header names the
   * replay backend). */
  if (!m->events++ && ev->os) {
    m->info.os = ev->os;
    m->info.backend = ev->backend;
  }
  if (ev->id == ST_EV_EVENTS_LOST && ev->provider == ST_PROVIDER_EXT && !m->lost_where &&
      (ev->has & ST_HAS_LOST))
    m->lost_where = ev->lost.where;
  int rc = st_sum_add(&m->sum, ev);
  if (rc < 0)
    snprintf(sk->error, sizeof sk->error, "out of memory");
  return rc;
}

static int model_end(st_sink *sk, const st_counters *c) {
  cli_model *m = ((model_sink *)sk)->m;
  m->counters = *c;
  int rc = st_sum_finish(&m->sum);
  if (rc < 0)
    snprintf(sk->error, sizeof sk->error, "out of memory");
  return rc;
}

static void model_close(st_sink *sk) {
  free(sk);
}

static const st_sink_ops model_ops = {.name = "model",
                                      .begin = model_begin,
                                      .write = model_write,
                                      .end = model_end,
                                      .close = model_close};

int cli_model_sink_new(cli_model *m, st_sink **out) {
  model_sink *s = calloc(1, sizeof *s);
  if (!s)
    return ST_ENOMEM;
  s->base.ops = &model_ops;
  s->m = m;
  *out = &s->base;
  return 0;
}
