/*
 * A recording read at its recorded pace (`top FILE --speed N`): a file
 * source wrapped so that next() hands out an event only once its time, N
 * times faster than it was recorded, has come on the wall clock, and
 * answers "again" until then (the session tries again shortly). The
 * events and their order are the file's; only when they come changes.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct pace {
  st_backend base;
  st_backend *inner;
  double speed;
  uint64_t first_ts, wall0;
  const st_event *held; /* the inner source's next event, not yet due */
} pace;

static uint64_t wall_ns(void) {
  return uv_hrtime();
}

static int pace_open(st_backend *b, st_session *s) {
  pace *p = (pace *)b;
  p->inner->session = s;
  int rc = p->inner->ops->open(p->inner, s);
  if (rc < 0)
    memcpy(b->error, p->inner->error, sizeof b->error);
  return rc;
}

static int pace_start(st_backend *b) {
  pace *p = (pace *)b;
  return p->inner->ops->start(p->inner);
}

static int pace_stop(st_backend *b) {
  pace *p = (pace *)b;
  return p->inner->ops->stop(p->inner);
}

static void pace_close(st_backend *b) {
  pace *p = (pace *)b;
  p->inner->ops->close(p->inner);
  free(p);
}

static void pace_stats(st_backend *b, st_backend_stats *out) {
  pace *p = (pace *)b;
  if (p->inner->ops->stats)
    p->inner->ops->stats(p->inner, out);
  memcpy(b->error, p->inner->error, sizeof b->error);
}

uint64_t cli_pace_now(st_backend *b) {
  pace *p = (pace *)b;
  if (!p->first_ts)
    return 0;
  return p->first_ts + (uint64_t)((double)(wall_ns() - p->wall0) * p->speed);
}

static int pace_next(st_backend *b, const st_event **ev) {
  pace *p = (pace *)b;
  if (!p->held) {
    int rc = p->inner->ops->next(p->inner, &p->held);
    if (rc != ST_NEXT_EVENT) {
      p->held = NULL;
      if (rc < 0)
        memcpy(b->error, p->inner->error, sizeof b->error);
      return rc;
    }
    if (!p->first_ts && p->held->ts_ns) {
      p->first_ts = p->held->ts_ns;
      p->wall0 = wall_ns();
    }
  }
  if (p->held->ts_ns > p->first_ts && cli_pace_now(b) < p->held->ts_ns)
    return ST_NEXT_AGAIN;
  *ev = p->held;
  p->held = NULL;
  return ST_NEXT_EVENT;
}

static const st_backend_ops pace_ops = {.name = "replay",
                                        .kind = ST_SOURCE_FILE,
                                        .open = pace_open,
                                        .start = pace_start,
                                        .stop = pace_stop,
                                        .close = pace_close,
                                        .stats = pace_stats,
                                        .next = pace_next};

int cli_pace_backend(st_backend *inner, double speed, st_backend **out) {
  pace *p = calloc(1, sizeof *p);
  if (!p) {
    inner->ops->close(inner);
    return ST_ENOMEM;
  }
  p->base.ops = &pace_ops;
  p->inner = inner;
  p->speed = speed;
  *out = &p->base;
  return 0;
}
