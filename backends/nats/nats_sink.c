/*
 * The JetStream sink: a session's events published to a NATS stream, one
 * event per message in the JSON Lines form, on
 * socktrace.<host>.<os>.<provider>.<id>, after a trace header on
 * socktrace.<host>.header.
 *
 * It must never block the loop on the server: the loop only copies each
 * event into a bounded single-producer ring (as the .sktrace writer does;
 * a full ring holds it 20 ms at most, for the publisher thread, never for
 * the network); a publisher
 * thread encodes events into the outbox (nats_outbox.c) and publishes them
 * asynchronously, a window of messages in flight, each kept until the
 * stream acknowledges it. When the server goes away the outbox fills; when
 * it comes back, what was not acknowledged is sent again in order and the
 * stream drops the copies it already had (Nats-Msg-Id). What does not fit
 * is counted and, once there is room again, published as EventsLost (where
 * "sink"): a loss is never silent. Only flush() (while connected) and
 * end() wait for the server, each at most drain_ms.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nats_sink.h"

static int header_json(nats_sink *k, const st_trace_info *info) {
  char started[48];
  time_t t = (time_t)(info->started_ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(started, sizeof started, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (unsigned)(info->started_ns % 1000000000ull));
  char kw[24];
  snprintf(kw, sizeof kw, "0x%" PRIx64, info->keywords);
  json_t *h = json_pack("{ss ss ss ss si ss ss}", "socktrace", ST_VERSION, "host", info->host, "os",
                        st_os_name(info->os), "backend", st_backend_kind_name(info->backend),
                        "level", info->level, "keywords", kw, "started", started);
  char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
  json_decref(h);
  if (!text)
    return ST_ENOMEM;
  snprintf(k->header_json, sizeof k->header_json, "%s", text);
  free(text);
  return 0;
}

static int nats_begin(st_sink *s, const st_trace_info *info) {
  nats_sink *k = (nats_sink *)s;
  k->os = info->os;
  k->backend = info->backend;
  st_nats_host_token(info->host, k->token, sizeof k->token);
  /* Unique to this run (a recording replayed twice is published twice):
   * the wall clock at the start and the process. */
  uv_timeval64_t tv = {0};
  uv_gettimeofday(&tv);
  snprintf(k->msgid_prefix, sizeof k->msgid_prefix, "%s:%" PRIx64 ".%06x.%x:", k->token,
           (uint64_t)tv.tv_sec, (unsigned)tv.tv_usec, (unsigned)uv_os_getpid());
  if (header_json(k, info) < 0)
    return ST_ENOMEM;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = WINDOW * 2;
  jo.PublishAsync.AckHandler = st_nats_on_ack;
  jo.PublishAsync.AckHandlerClosure = k;
  k->conn.on_change = st_nats_on_change;
  k->conn.arg = k;
  k->conn.publisher = true;
  int rc = st_nats_connect(&k->conn, &k->opt, &jo, s->error, sizeof s->error);
  if (rc < 0)
    return rc;
  k->connected = k->ever_connected = k->stats.connected = rc == 0;
  k->recovering = rc != 0;
  if (k->connected && (rc = st_nats_stream_check(&k->conn, &k->opt, k->token, true, BEGIN_WAIT_MS,
                                                 NULL, s->error, sizeof s->error)) < 0)
    return rc;
  char subject[160];
  st_nats_header_subject(k->token, subject, sizeof subject);
  if (st_ob_push(&k->ob, subject, k->header_json, strlen(k->header_json), false) < 0)
    return ST_ENOMEM;
  if (uv_thread_create(&k->thread, st_nats_publisher_main, k) != 0) {
    snprintf(s->error, sizeof s->error, "cannot start the NATS publisher thread");
    return ST_ENOMEM;
  }
  k->thread_on = true;
  return 0;
}

/* Loop side: appends to the ring (the caller checked for space). */
static void push(nats_sink *k, uint64_t *head, const st_event *ev) {
  k->ring[*head & (k->cap - 1)] = *ev;
  (*head)++;
}

static void publish_head(nats_sink *k, uint64_t head) {
  atomic_store(&k->head, head);
  if (atomic_load(&k->waiting)) {
    uv_mutex_lock(&k->lock);
    uv_cond_signal(&k->work);
    uv_mutex_unlock(&k->lock);
  }
}

static uint64_t space(nats_sink *k, uint64_t head) {
  return k->cap - (head - atomic_load_explicit(&k->tail, memory_order_acquire));
}

/* The loop waits for a quarter of the ring: a recording's events while
 * the stream keeps taking them, a live source's FULL_WAIT_NS at most, as
 * the .sktrace writer does (the kernel's ring holds events meanwhile; the
 * publisher may just have had no CPU). */
static bool wait_for_room(nats_sink *k, uint64_t head) {
  bool live = !k->opt.wait_when_full;
  uint64_t last = atomic_load(&k->tail), start = uv_hrtime(), since = start;
  uv_mutex_lock(&k->lock);
  atomic_store(&k->loop_waiting, true);
  while (space(k, head) < k->cap / 4) {
    uint64_t waited = uv_hrtime() - start;
    if (live && waited >= FULL_WAIT_NS)
      break;
    uv_cond_timedwait(&k->room, &k->lock, live ? FULL_WAIT_NS - waited : 100000000ull);
    uint64_t t = atomic_load(&k->tail);
    if (t != last) {
      last = t;
      since = uv_hrtime();
    } else if (uv_hrtime() - since > ROOM_WAIT_NS) {
      break;
    }
  }
  atomic_store(&k->loop_waiting, false);
  uv_mutex_unlock(&k->lock);
  return space(k, head) > 0;
}

static int nats_write(st_sink *s, const st_event *ev) {
  nats_sink *k = (nats_sink *)s;
  uint64_t head = atomic_load_explicit(&k->head, memory_order_relaxed);
  uint64_t room = space(k, head);
  /* Once dropping, a live source drops until there is room again rather
   * than waiting for each event. */
  if (!room && (k->opt.wait_when_full || !k->lost_pending) && wait_for_room(k, head))
    room = space(k, head);
  if (k->lost_pending && room >= 2) {
    st_event lost;
    st_nats_lost_record(k, k->lost_pending, k->lost_from, k->lost_to, &lost);
    push(k, &head, &lost);
    k->lost_pending = 0;
    room--;
  }
  if (room && !k->lost_pending) {
    push(k, &head, ev);
    publish_head(k, head);
    return 0;
  }
  if (!k->lost_pending)
    k->lost_from = ev->ts_ns;
  k->lost_pending++;
  k->lost_to = ev->ts_ns;
  atomic_fetch_add_explicit(&k->qlost, 1, memory_order_relaxed);
  return 0;
}

/* Waits until everything pushed so far is acknowledged, at most drain_ms;
 * false when the time ran out. */
static bool wait_published(nats_sink *k) {
  if (!k->thread_on)
    return true;
  uint64_t deadline = uv_hrtime() + (uint64_t)k->opt.drain_ms * 1000000ull;
  uv_mutex_lock(&k->lock);
  uint64_t req = ++k->flush_req;
  uv_cond_signal(&k->work);
  while (k->flush_done < req && uv_hrtime() < deadline)
    uv_cond_timedwait(&k->done, &k->lock, 100000000ull);
  bool ok = k->flush_done >= req;
  uv_mutex_unlock(&k->lock);
  return ok;
}

/* The loop's own loss (ring full), said in a record once there is room:
 * at a flush or the end, when no event comes after it. */
static void push_pending_loss(nats_sink *k) {
  uint64_t head = atomic_load(&k->head);
  if (!k->lost_pending || !space(k, head))
    return;
  st_event lost;
  st_nats_lost_record(k, k->lost_pending, k->lost_from, k->lost_to, &lost);
  k->lost_pending = 0;
  push(k, &head, &lost);
  publish_head(k, head);
}

static int nats_flush(st_sink *s) {
  nats_sink *k = (nats_sink *)s;
  /* While the server is away there is nothing to wait for: the loop goes
   * on (a session's flush, the flush before end()). */
  uv_mutex_lock(&k->lock);
  bool up = k->stats.connected;
  uv_mutex_unlock(&k->lock);
  if (up && wait_published(k) && k->lost_pending) {
    push_pending_loss(k);
    wait_published(k);
  }
  /* A server that does not answer is no failure of the flush: what is held
   * stays held (query says how much), and end() accounts for it. */
  return 0;
}

static void stop_thread(nats_sink *k, uint64_t wait_ns) {
  if (!k->thread_on)
    return;
  uv_mutex_lock(&k->lock);
  k->stop = true;
  k->stop_deadline = uv_hrtime() + wait_ns;
  uv_cond_signal(&k->work);
  uv_mutex_unlock(&k->lock);
  uv_thread_join(&k->thread);
  k->thread_on = false;
}

static int nats_end(st_sink *s, const st_counters *counters) {
  nats_sink *k = (nats_sink *)s;
  bool ok = wait_published(k);
  if (ok && k->lost_pending) {
    push_pending_loss(k);
    ok = wait_published(k);
  }
  stop_thread(k, ok ? (uint64_t)k->opt.drain_ms * 1000000ull : 0);
  /* The loop's own losses never said are counted already (qlost). */
  uint64_t missing = k->undelivered + k->unsaid + k->lost_pending;
  if (!missing)
    return 0;
  uv_mutex_lock(&k->lock);
  snprintf(s->error, sizeof s->error,
           "%" PRIu64 " events could not be delivered to %.200s: no acknowledgement within %u ms "
           "at the end (%.160s)",
           missing, k->conn.display, k->opt.drain_ms,
           k->last_error[0] ? k->last_error : "the server did not answer");
  uv_mutex_unlock(&k->lock);
  return ST_EIO;
}

static void nats_close(st_sink *s) {
  nats_sink *k = (nats_sink *)s;
  stop_thread(k, 0);
  if (k->conn.js) {
    st_nats_forget_pending(k);
    uv_mutex_lock(&k->lock); /* an on_ack that was running has finished */
    uv_mutex_unlock(&k->lock);
  }
  st_nats_close(&k->conn);
  st_ob_free(&k->ob);
  uv_mutex_destroy(&k->lock);
  uv_cond_destroy(&k->work);
  uv_cond_destroy(&k->done);
  uv_cond_destroy(&k->room);
  free(k->ring);
  free(k->acks);
  free(k->acks_spare);
  st_nats_options_free(&k->opt);
  free(k);
}

static const st_sink_ops nats_ops = {.name = "nats",
                                     .begin = nats_begin,
                                     .write = nats_write,
                                     .flush = nats_flush,
                                     .end = nats_end,
                                     .close = nats_close};

void st_sink_nats_stats(st_sink *sink, st_nats_stats *out) {
  nats_sink *k = (nats_sink *)sink;
  uv_mutex_lock(&k->lock);
  *out = k->stats;
  out->lost += atomic_load(&k->qlost);
  snprintf(out->last_error, sizeof out->last_error, "%.255s", k->last_error);
  uv_mutex_unlock(&k->lock);
}

int st_sink_nats_new(const st_nats_options *opt, st_sink **sink, char *err, size_t errlen) {
  st_nats_url url;
  int rc = st_nats_url_parse(opt->url, &url, err, errlen);
  if (rc < 0)
    return rc;
  nats_sink *k = calloc(1, sizeof *k);
  if (!k)
    return ST_ENOMEM;
  k->base.ops = &nats_ops;
  if (st_nats_options_copy(&k->opt, opt) < 0) {
    free(k);
    return ST_ENOMEM;
  }
  if (!k->opt.drain_ms)
    k->opt.drain_ms = DEFAULT_DRAIN_MS;
  uint32_t q = opt->queue_events ? opt->queue_events : DEFAULT_QUEUE;
  for (k->cap = 2; k->cap < q && k->cap < (1u << 22);)
    k->cap *= 2;
  st_ob_init(&k->ob, opt->buffer_bytes ? opt->buffer_bytes : ST_NATS_DEFAULT_BUFFER, 1);
  k->ring = malloc((size_t)k->cap * sizeof *k->ring);
  bool ok = k->ring != NULL;
  int inits = 0;
  if (ok && uv_mutex_init(&k->lock) == 0 && ++inits && uv_cond_init(&k->work) == 0 && ++inits &&
      uv_cond_init(&k->done) == 0 && ++inits && uv_cond_init(&k->room) == 0) {
    *sink = &k->base;
    return 0;
  }
  if (inits >= 3)
    uv_cond_destroy(&k->done);
  if (inits >= 2)
    uv_cond_destroy(&k->work);
  if (inits >= 1)
    uv_mutex_destroy(&k->lock);
  free(k->ring);
  st_nats_options_free(&k->opt);
  free(k);
  snprintf(err, errlen, "out of memory");
  return ST_ENOMEM;
}
