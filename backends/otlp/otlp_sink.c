/*
 * The OTLP/HTTP sink. The loop only copies each event into a bounded queue
 * (and counts it into the sink's own metrics); a sender thread takes
 * batches from its front, encodes them (otlp_encode.c) and POSTs them
 * with libcurl, and removes a batch only once the collector took it. A
 * failure (refused, timed out, 5xx, 429) keeps the batch and retries with
 * backoff: a collector that restarts loses nothing that fit in the
 * buffer. What does not fit is counted and said in an EventsLost record
 * (where "sink") once there is room, as the NATS sink does. Metrics are
 * snapshotted on the loop every interval_ms and at the end; only the
 * newest snapshot waits to be sent (they are cumulative).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "internal.h"
#include "otlp_encode.h"
#include "otlp_sink.h"

#define BATCH 512
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define TIMEOUT_MS 10000L
#define ROOM_WAIT_NS 10000000000ull /* a waiting source gives up after 10 s without progress */

typedef struct otlp_sink {
  st_sink base;
  st_otlp_options opt;
  char url[512], logs_url[600], metrics_url[600];
  st_otlp_resource res;
  struct curl_slist *headers;
  CURL *curl; /* the sender thread's, once it runs */
  st_sink *metrics;
  uint64_t start_ns, next_metrics;
  uv_timer_t timer; /* on opt.loop: metrics every interval_ms */
  bool timer_on;
  uint8_t os, backend;

  uv_mutex_t lock;
  uv_cond_t work, done;
  /* Under lock: the queue, a ring of events grown up to max_events. */
  st_event *q;
  size_t qcap, qhead, qcount, max_events;
  uint8_t *mbody; /* the newest metrics request not sent yet */
  long mlen;
  bool stop, busy;
  uint64_t stop_deadline;
  uint64_t lost_pending, lost_from, lost_to; /* dropped, not said yet */
  st_otlp_stats stats;

  uv_thread_t thread;
  bool thread_on;
} otlp_sink;

int st_otlp_base_url(const char *url, char *buf, size_t len) {
  bool tls = strncmp(url, "otlps://", 8) == 0;
  if (!tls && strncmp(url, "otlp://", 7) != 0)
    return ST_EINVAL;
  const char *rest = url + (tls ? 8 : 7);
  if (!*rest || *rest == '/' || strchr(rest, '@'))
    return ST_EINVAL;
  size_t n = strlen(rest);
  while (n && rest[n - 1] == '/')
    n--;
  int w = snprintf(buf, len, "%s://%.*s", tls ? "https" : "http", (int)n, rest);
  return w > 0 && (size_t)w < len ? 0 : ST_EINVAL;
}

/* ---- the sender thread ---- */

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

/* POSTs body; 0 when taken, 1 when to retry, 2 when refused for good
 * (a 4xx other than 429: sending it again would not help). */
static int post(otlp_sink *k, CURL *c, const char *url, const uint8_t *body, long len, char *err,
                size_t errlen) {
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, len);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300)
    return 0;
  snprintf(err, errlen, "the collector answered HTTP %ld", status);
  (void)k;
  return status >= 400 && status < 500 && status != 429 && status != 408 ? 2 : 1;
}

static CURL *curl_new(otlp_sink *k) {
  CURL *c = curl_easy_init();
  if (!c)
    return NULL;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  if (k->opt.ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, k->opt.ca_file);
  return c;
}

/* Under lock: the EventsLost record of what was dropped since the last. */
static void lost_record(otlp_sink *k, st_event *ev) {
  st_event_sink_lost(ev, k->os, k->backend, k->lost_pending, k->lost_from, k->lost_to);
  k->lost_pending = 0;
}

/* Under lock: appends ev (the caller checked for room). */
static void enqueue(otlp_sink *k, const st_event *ev) {
  k->q[(k->qhead + k->qcount) % k->qcap] = *ev;
  k->qcount++;
}

/* Under lock: room for one more, growing the ring up to max_events (one
 * more is kept for the EventsLost record). */
static bool room(otlp_sink *k, size_t more) {
  if (k->qcount + more <= k->qcap)
    return true;
  if (k->qcount + more > k->max_events + 1)
    return false;
  size_t cap = k->qcap ? k->qcap * 2 : 1024;
  if (cap > k->max_events + 1)
    cap = k->max_events + 1;
  st_event *q = malloc(cap * sizeof *q);
  if (!q)
    return false;
  for (size_t i = 0; i < k->qcount; i++)
    q[i] = k->q[(k->qhead + i) % k->qcap];
  free(k->q);
  k->q = q;
  k->qcap = cap;
  k->qhead = 0;
  return k->qcount + more <= k->qcap;
}

static void note(otlp_sink *k, const char *err) {
  uv_mutex_lock(&k->lock);
  snprintf(k->stats.last_error, sizeof k->stats.last_error, "%s", err);
  uv_mutex_unlock(&k->lock);
}

/* One turn: a batch of events, then the metrics. 0 when all went (or
 * there was nothing), 1 when something is to be retried. */
static int send_once(otlp_sink *k, CURL *c) {
  st_event batch[BATCH];
  char err[256];
  uv_mutex_lock(&k->lock);
  size_t n = k->qcount < BATCH ? k->qcount : BATCH;
  for (size_t i = 0; i < n; i++)
    batch[i] = k->q[(k->qhead + i) % k->qcap];
  uint8_t *mbody = k->mbody;
  long mlen = k->mlen;
  k->mbody = NULL;
  uv_mutex_unlock(&k->lock);
  int rc = 0;
  if (n) {
    uint8_t *body = NULL;
    long len = st_otlp_encode_logs(&k->res, batch, n, &body);
    int r = len < 0 ? 2 : post(k, c, k->logs_url, body, len, err, sizeof err);
    free(body);
    if (len < 0)
      snprintf(err, sizeof err, "cannot encode events: %s", st_strerror((int)len));
    uv_mutex_lock(&k->lock);
    if (r != 1) {
      uint64_t events = 0;
      for (size_t i = 0; i < n; i++)
        events += !(batch[i].provider == ST_PROVIDER_EXT && batch[i].id == ST_EV_EVENTS_LOST &&
                    batch[i].lost.where == ST_LOST_SINK);
      k->qhead = (k->qhead + n) % k->qcap;
      k->qcount -= n;
      uv_cond_broadcast(&k->done); /* room: for a waiting loop */
      if (r == 0) {
        k->stats.sent += events;
        k->stats.exports++;
      } else {
        k->stats.lost += events;
      }
    }
    if (r)
      snprintf(k->stats.last_error, sizeof k->stats.last_error, "%s", err);
    uv_mutex_unlock(&k->lock);
    rc = r == 1;
  }
  if (mbody && !rc) {
    int r = post(k, c, k->metrics_url, mbody, mlen, err, sizeof err);
    if (r)
      note(k, err);
    if (r == 1) {
      rc = 1;
    } else {
      uv_mutex_lock(&k->lock);
      k->stats.exports += r == 0;
      uv_mutex_unlock(&k->lock);
    }
  }
  if (mbody) {
    uv_mutex_lock(&k->lock);
    if (rc && !k->mbody) { /* kept for the retry unless a newer one came */
      k->mbody = mbody;
      k->mlen = mlen;
      mbody = NULL;
    }
    uv_mutex_unlock(&k->lock);
    free(mbody);
  }
  return rc;
}

static void sender_main(void *arg) {
  otlp_sink *k = arg;
  CURL *c = k->curl;
  unsigned backoff = 0;
  uv_mutex_lock(&k->lock);
  for (;;) {
    while (!k->stop && !k->qcount && !k->mbody) {
      uv_cond_broadcast(&k->done);
      uv_cond_wait(&k->work, &k->lock);
    }
    if (!k->qcount && !k->mbody)
      break; /* stopping, everything sent */
    if (k->stop && uv_hrtime() > k->stop_deadline)
      break;
    k->busy = true;
    uv_mutex_unlock(&k->lock);
    int rc = send_once(k, c);
    uv_mutex_lock(&k->lock);
    k->busy = false;
    if (!rc) {
      backoff = 0;
      continue;
    }
    /* Backoff: doubled each failure, at most BACKOFF_MAX_MS; a stop
     * wakes it. */
    backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
    if (backoff > BACKOFF_MAX_MS)
      backoff = BACKOFF_MAX_MS;
    if (k->stop && uv_hrtime() + backoff * 1000000ull > k->stop_deadline)
      break;
    uv_cond_timedwait(&k->work, &k->lock, backoff * 1000000ull);
  }
  uv_cond_broadcast(&k->done);
  uv_mutex_unlock(&k->lock);
}

/* ---- the loop's side ---- */

static void snapshot_metrics(otlp_sink *k, uint64_t now_ns) {
  uint8_t *body = NULL;
  long len = st_otlp_encode_metrics(&k->res, k->metrics, k->start_ns, now_ns, &body);
  if (len < 0)
    return; /* out of memory: the next snapshot has it all (cumulative) */
  uv_mutex_lock(&k->lock);
  free(k->mbody);
  k->mbody = body;
  k->mlen = len;
  uv_cond_signal(&k->work);
  uv_mutex_unlock(&k->lock);
}

static uint64_t wall_ns(void) {
  uv_timeval64_t tv = {0};
  uv_gettimeofday(&tv);
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static void on_timer(uv_timer_t *t) {
  snapshot_metrics(t->data, wall_ns());
}

static int otlp_begin(st_sink *s, const st_trace_info *info) {
  otlp_sink *k = (otlp_sink *)s;
  k->os = info->os;
  k->backend = info->backend;
  snprintf(k->res.host, sizeof k->res.host, "%s", info->host);
  k->res.os = st_os_name(info->os);
  k->start_ns = info->started_ns ? info->started_ns : wall_ns();
  k->next_metrics = uv_hrtime() + k->opt.interval_ms * 1000000ull;
  int rc = k->metrics->ops->begin ? k->metrics->ops->begin(k->metrics, info) : 0;
  if (rc < 0)
    return rc;
  if (!(k->curl = curl_new(k))) {
    snprintf(s->error, sizeof s->error, "cannot start libcurl");
    return ST_ENOMEM;
  }
  /* Is the collector there? An empty request says, unless told to wait. */
  if (!k->opt.retry) {
    uint8_t *body = NULL;
    long len = st_otlp_encode_logs(&k->res, NULL, 0, &body);
    char err[256] = "out of memory";
    int r = len < 0 ? 1 : post(k, k->curl, k->logs_url, body, len, err, sizeof err);
    free(body);
    if (r) {
      snprintf(s->error, sizeof s->error,
               "cannot export to the OpenTelemetry collector at %.240s: %.100s (start it, or "
               "pass --otlp-retry to deliver once it answers)",
               k->logs_url, err);
      return ST_EIO;
    }
  }
  if (uv_thread_create(&k->thread, sender_main, k) != 0) {
    snprintf(s->error, sizeof s->error, "cannot start the OTLP sender thread");
    return ST_ENOMEM;
  }
  k->thread_on = true;
  if (k->opt.loop && uv_timer_init(k->opt.loop, &k->timer) == 0) {
    k->timer.data = k;
    uv_timer_start(&k->timer, on_timer, k->opt.interval_ms, k->opt.interval_ms);
    uv_unref((uv_handle_t *)&k->timer); /* the session ends when its source does */
    k->timer_on = true;
  }
  return 0;
}

/* Under lock: waits until there is room for more events, as long as the
 * sender makes progress (ROOM_WAIT_NS at most without); false when not. */
static bool wait_room(otlp_sink *k, size_t more) {
  uint64_t since = uv_hrtime();
  size_t last = k->qcount;
  while (!room(k, more) && k->thread_on) {
    uv_cond_timedwait(&k->done, &k->lock, 100000000ull);
    if (k->qcount < last) {
      last = k->qcount;
      since = uv_hrtime();
    } else if (uv_hrtime() - since > ROOM_WAIT_NS) {
      break;
    }
  }
  return room(k, more);
}

static int otlp_write(st_sink *s, const st_event *ev) {
  otlp_sink *k = (otlp_sink *)s;
  k->metrics->ops->write(k->metrics, ev);
  uv_mutex_lock(&k->lock);
  /* A recording waits for the collector; once dropping, a source drops
   * until there is room again rather than waiting for each event. */
  if (k->opt.wait_when_full && !k->lost_pending && !room(k, 1))
    wait_room(k, 1);
  if (k->lost_pending && room(k, 2)) {
    st_event lost;
    lost_record(k, &lost);
    enqueue(k, &lost);
  }
  if (!k->lost_pending && room(k, 1)) {
    enqueue(k, ev);
    uv_cond_signal(&k->work);
  } else {
    if (!k->lost_pending)
      k->lost_from = ev->ts_ns;
    k->lost_pending++;
    k->lost_to = ev->ts_ns;
    k->stats.lost++;
  }
  uv_mutex_unlock(&k->lock);
  uint64_t now = k->timer_on ? 0 : uv_hrtime();
  if (!k->timer_on && now >= k->next_metrics) {
    k->next_metrics = now + k->opt.interval_ms * 1000000ull;
    snapshot_metrics(k, wall_ns());
  }
  return 0;
}

static void stop_thread(otlp_sink *k, uint64_t wait_ns) {
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

static int otlp_end(st_sink *s, const st_counters *counters) {
  otlp_sink *k = (otlp_sink *)s;
  (void)counters;
  if (k->timer_on) { /* the loop runs the close before the sink is freed */
    uv_close((uv_handle_t *)&k->timer, NULL);
    k->timer_on = false;
  }
  uv_mutex_lock(&k->lock);
  /* The last loss is said too: the sender makes room for its record. */
  if (k->lost_pending && wait_room(k, 1)) {
    st_event lost;
    lost_record(k, &lost);
    enqueue(k, &lost);
    uv_cond_signal(&k->work);
  }
  uv_mutex_unlock(&k->lock);
  snapshot_metrics(k, wall_ns());
  stop_thread(k, (uint64_t)k->opt.drain_ms * 1000000ull);
  uv_mutex_lock(&k->lock);
  uint64_t undelivered = 0;
  for (size_t i = 0; i < k->qcount; i++) {
    const st_event *ev = &k->q[(k->qhead + i) % k->qcap];
    undelivered += !(ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_EVENTS_LOST &&
                     ev->lost.where == ST_LOST_SINK);
  }
  k->stats.lost += undelivered;
  k->qcount = 0;
  bool metrics_left = k->mbody != NULL;
  if (undelivered || metrics_left)
    snprintf(s->error, sizeof s->error,
             "%" PRIu64 " events%s could not be delivered to %.200s within %u ms at the end "
             "(%.120s)",
             undelivered, metrics_left ? " and the last metrics" : "", k->url, k->opt.drain_ms,
             k->stats.last_error[0] ? k->stats.last_error : "the collector did not answer");
  uv_mutex_unlock(&k->lock);
  return undelivered || metrics_left ? ST_EIO : 0;
}

static void otlp_close(st_sink *s) {
  otlp_sink *k = (otlp_sink *)s;
  stop_thread(k, 0);
  if (k->curl)
    curl_easy_cleanup(k->curl);
  curl_slist_free_all(k->headers);
  k->metrics->ops->close(k->metrics);
  uv_mutex_destroy(&k->lock);
  uv_cond_destroy(&k->work);
  uv_cond_destroy(&k->done);
  free(k->q);
  free(k->mbody);
  free(k);
}

static const st_sink_ops otlp_ops = {
    .name = "otlp", .begin = otlp_begin, .write = otlp_write, .end = otlp_end, .close = otlp_close};

void st_sink_otlp_stats(st_sink *sink, st_otlp_stats *out) {
  otlp_sink *k = (otlp_sink *)sink;
  uv_mutex_lock(&k->lock);
  *out = k->stats;
  out->buffered = k->qcount;
  uv_mutex_unlock(&k->lock);
}

/* libcurl's global state, once, before any thread uses it. */
static void curl_init(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

int st_sink_otlp_new(const st_otlp_options *opt, st_sink **sink, char *err, size_t errlen) {
  char base[512];
  if (st_otlp_base_url(opt->url, base, sizeof base) < 0) {
    snprintf(err, errlen, "%.200s is no OTLP address: otlp://HOST:PORT[/PATH] or otlps://...",
             opt->url);
    return ST_EINVAL;
  }
  static uv_once_t once = UV_ONCE_INIT;
  uv_once(&once, curl_init);
  otlp_sink *k = calloc(1, sizeof *k);
  if (!k)
    return ST_ENOMEM;
  k->base.ops = &otlp_ops;
  k->opt = *opt;
  if (!k->opt.interval_ms)
    k->opt.interval_ms = 5000;
  if (!k->opt.drain_ms)
    k->opt.drain_ms = 10000;
  k->max_events =
      (opt->buffer_bytes ? opt->buffer_bytes : ST_OTLP_DEFAULT_BUFFER) / sizeof(st_event);
  if (k->max_events < 16)
    k->max_events = 16;
  snprintf(k->url, sizeof k->url, "%s", base);
  snprintf(k->logs_url, sizeof k->logs_url, "%s/v1/logs", base);
  snprintf(k->metrics_url, sizeof k->metrics_url, "%s/v1/metrics", base);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
  for (unsigned i = 0; h && i < opt->nheaders; i++) {
    struct curl_slist *n = curl_slist_append(h, opt->headers[i]);
    if (!n) {
      curl_slist_free_all(h);
      h = NULL;
    }
    h = n;
  }
  st_metrics_options mo = {.max_series = opt->max_series};
  if (!h || st_sink_metrics_new(&mo, &k->metrics) < 0) {
    curl_slist_free_all(h);
    free(k);
    return ST_ENOMEM;
  }
  k->headers = h;
  uv_mutex_init(&k->lock);
  uv_cond_init(&k->work);
  uv_cond_init(&k->done);
  *sink = &k->base;
  return 0;
}
