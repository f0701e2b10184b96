/*
 * The JetStream sink's publisher thread: events from the loop's ring
 * encoded into the outbox (nats_outbox.c), published asynchronously with a
 * window of messages in flight, acknowledgements applied, and after a
 * failure (a lost connection, a failed or late acknowledgement) everything
 * unacknowledged sent again in order. It never waits for the server for
 * long: the ring is read on every turn, whatever the connection does.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nats_sink.h"

/* ---- from libnats' threads ---- */

void st_nats_on_change(void *arg, st_nats_change what) {
  nats_sink *k = arg;
  uv_mutex_lock(&k->lock);
  k->conn_events |= what == ST_NATS_CONNECTED      ? CONN_UP
                    : what == ST_NATS_DISCONNECTED ? CONN_DOWN
                                                   : CONN_CLOSED;
  uv_cond_signal(&k->work);
  uv_mutex_unlock(&k->lock);
}

/* Each acknowledgement (or failure) of an asynchronous publish: the pseq
 * is the Nats-Msg-Id's last part. The publisher applies them. */
void st_nats_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
  nats_sink *k = closure;
  const char *id = NULL;
  uint64_t pseq = 0;
  if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id && strrchr(id, ':'))
    pseq = strtoull(strrchr(id, ':') + 1, NULL, 10);
  natsMsg_Destroy(msg);
  uv_mutex_lock(&k->lock);
  if (pae) {
    k->ack_failed = true;
    if (pae->Err == NATS_NO_RESPONDERS || pae->ErrCode == JSStreamNotFoundErr)
      k->stream_gone = true;
    snprintf(k->last_error, sizeof k->last_error, "%s",
             pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
  } else if (pseq) {
    if (k->nacks == k->acks_cap) {
      size_t cap = k->acks_cap ? k->acks_cap * 2 : 4096;
      uint64_t *a = realloc(k->acks, cap * sizeof *a);
      uint64_t *b = a ? realloc(k->acks_spare, cap * sizeof *b) : NULL;
      if (a)
        k->acks = a;
      if (b) {
        k->acks_spare = b;
        k->acks_cap = cap;
      }
    }
    if (k->nacks < k->acks_cap)
      k->acks[k->nacks++] = pseq;
    else
      k->ack_failed = true; /* no memory to note it: it will be resent and deduplicated */
  }
  /* Waking the publisher for each acknowledgement would cost a context
   * switch each; while messages are in flight it looks every ACK_POLL_NS. */
  if (pae || k->nacks % ACK_BATCH == 0)
    uv_cond_signal(&k->work);
  uv_mutex_unlock(&k->lock);
}

/* ---- the publisher thread ---- */

void st_nats_lost_record(nats_sink *k, uint64_t count, uint64_t from, uint64_t to, st_event *ev) {
  st_event_sink_lost(ev, k->os, k->backend, count, from, to);
}

/* Encodes ev into k->json; its length, or 0 when it cannot be encoded. */
static size_t encode(nats_sink *k, const st_event *ev, char *subject, size_t slen) {
  int n = st_event_to_json(ev, k->json, sizeof k->json);
  if (n <= 0 || (size_t)n >= sizeof k->json)
    return 0;
  st_nats_subject(k->token, ev, subject, slen);
  return (size_t)n;
}

/* An EventsLost record of this sink's own (the loop's, from the ring). */
static bool own_lost_record(const st_event *ev) {
  return ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_EVENTS_LOST &&
         (ev->has & ST_HAS_LOST) && ev->lost.where == ST_LOST_SINK;
}

/* An event that does not fit is counted, to be said in the next
 * EventsLost record. A record of the loop's that does not fit is folded
 * into it: its events were counted when the loop dropped them. */
static void drop(nats_sink *k, const st_event *ev) {
  bool carried = own_lost_record(ev);
  uint64_t from = carried ? ev->lost.from_ns : ev->ts_ns;
  if (!k->olost || from < k->olost_from)
    k->olost_from = from;
  if (!k->olost || ev->ts_ns > k->olost_to)
    k->olost_to = ev->ts_ns;
  k->olost += carried ? ev->lost.count : 1;
  k->dropped += !carried;
}

/* Pushes the EventsLost record of what the outbox dropped, when it fits
 * with room for more (bytes more after it); true when it did. */
static bool say_lost(nats_sink *k, uint64_t more) {
  st_event lost;
  char subject[256];
  char keep[JSON_MAX];
  size_t kept = strlen(k->json);
  memcpy(keep, k->json, kept + 1);
  st_nats_lost_record(k, k->olost, k->olost_from, k->olost_to, &lost);
  size_t n = encode(k, &lost, subject, sizeof subject);
  /* Not an event of the trace: published and held counts leave it out. */
  bool ok = n && st_ob_fits(&k->ob, st_ob_cost(strlen(subject), n) + more) &&
            st_ob_push(&k->ob, subject, k->json, n, false) == 0;
  if (ok)
    k->olost = 0;
  memcpy(k->json, keep, kept + 1);
  return ok;
}

/* Moves events from the ring into the outbox; returns the new tail. A
 * loss is said (EventsLost) before the first event that fits again. */
static uint64_t intake(nats_sink *k, uint64_t tail) {
  uint64_t head = atomic_load_explicit(&k->head, memory_order_acquire), start = tail;
  char subject[256];
  for (; tail != head; tail++) {
    const st_event *ev = &k->ring[tail & (k->cap - 1)];
    size_t n = encode(k, ev, subject, sizeof subject);
    if (!n) {
      drop(k, ev);
      continue;
    }
    uint64_t cost = st_ob_cost(strlen(subject), n);
    if (k->opt.wait_when_full && k->ob.count >= WAITING_AHEAD)
      break;
    if (k->olost)
      say_lost(k, cost);
    if (!k->olost && st_ob_fits(&k->ob, cost) &&
        st_ob_push(&k->ob, subject, k->json, n, !own_lost_record(ev)) == 0)
      continue;
    if (k->opt.wait_when_full)
      break; /* the source waits for room */
    drop(k, ev);
  }
  /* A loss with no event after it is said as soon as there is room. */
  if (k->olost && tail == head)
    say_lost(k, 0);
  if (tail != start) {
    atomic_store_explicit(&k->tail, tail, memory_order_release);
    /* A waiting loop is woken when a quarter of the ring is free, not for
     * each slot: that would be a context switch per event. */
    if (atomic_load(&k->loop_waiting) && (head - tail) <= k->cap * 3 / 4) {
      uv_mutex_lock(&k->lock);
      uv_cond_signal(&k->room);
      uv_mutex_unlock(&k->lock);
    }
  }
  return tail;
}

static void note_error(nats_sink *k, const char *fmt, const char *what) {
  uv_mutex_lock(&k->lock);
  snprintf(k->last_error, sizeof k->last_error, fmt, what);
  uv_mutex_unlock(&k->lock);
}

/* Publishes what waits, up to the window. A failed publish starts a
 * recovery. A live source's events waiting in the ring come first: when a
 * burst outruns publishing, they wait encoded in the outbox (64 MiB), not
 * in the ring's few thousand slots, so the thread goes back to intake
 * every SEND_CHUNK messages while the ring fills. */
static void send_window(nats_sink *k, uint64_t tail) {
  st_ob_msg *m;
  unsigned sent = 0;
  while (k->ob.inflight < WINDOW && (m = st_ob_next(&k->ob))) {
    if (++sent % SEND_CHUNK == 0 && !k->opt.wait_when_full &&
        atomic_load_explicit(&k->head, memory_order_acquire) - tail > k->cap / 8)
      return;
    natsMsg *msg = NULL;
    char id[200];
    snprintf(id, sizeof id, "%s%" PRIu64, k->msgid_prefix, m->pseq);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id;
    natsStatus s =
        natsMsg_Create(&msg, m->text, NULL, m->text + m->subject_len + 1, (int)m->data_len);
    if (s == NATS_OK)
      s = js_PublishMsgAsync(k->conn.js, &msg, &po);
    natsMsg_Destroy(msg); /* nothing when libnats took it */
    if (s != NATS_OK) {
      note_error(k, "cannot publish: %s", natsStatus_GetText(s));
      k->recovering = true;
      return;
    }
    m->sent_ns = uv_hrtime();
    st_ob_sent(&k->ob, m);
    k->sent_any = true;
  }
}

/* Takes back what libnats still waits an acknowledgement for: none of it
 * comes to on_ack any more. */
void st_nats_forget_pending(nats_sink *k) {
  natsMsgList pending;
  if (k->sent_any && js_PublishAsyncGetPendingList(&pending, k->conn.js) == NATS_OK)
    natsMsgList_Destroy(&pending);
}

/* After a failure (a lost connection, a failed or late acknowledgement):
 * takes back what libnats still waits for, makes sure the stream is there
 * when there is reason to doubt it (a first connection, a server that
 * answered that nothing takes our subjects), and sends everything
 * unacknowledged again, in order. The stream check blocks for at most
 * API_WAIT_MS; nothing else here waits for the server. */
static void recover(nats_sink *k) {
  st_nats_forget_pending(k);
  st_ob_rewind(&k->ob);
  char err[ST_ERROR_MAX];
  if (k->need_stream && st_nats_stream_check(&k->conn, &k->opt, k->token, true, API_WAIT_MS, NULL,
                                             err, sizeof err) < 0) {
    note_error(k, "%s", err);
    k->retry_at = uv_hrtime() + RETRY_MS * 1000000ull;
    return;
  }
  k->need_stream = false;
  k->recovering = false;
}

static void apply_acks(nats_sink *k, const uint64_t *acks, size_t n) {
  for (size_t i = 0; i < n; i++)
    st_ob_acked(&k->ob, acks[i]);
  k->published += st_ob_pop_acked(&k->ob);
}

void st_nats_publisher_main(void *arg) {
  nats_sink *k = arg;
  uint64_t tail = 0;
  uv_mutex_lock(&k->lock);
  for (;;) {
    uint64_t *acks = k->acks;
    size_t nacks = k->nacks;
    k->acks = k->acks_spare;
    k->acks_spare = acks;
    k->nacks = 0;
    bool failed = k->ack_failed;
    k->ack_failed = false;
    k->need_stream |= k->stream_gone;
    k->stream_gone = false;
    int ev = k->conn_events;
    k->conn_events = 0;
    uint64_t req = k->flush_req;
    uv_mutex_unlock(&k->lock);

    apply_acks(k, acks, nacks);
    if (ev & (CONN_DOWN | CONN_CLOSED)) {
      k->connected = false;
      k->recovering = true;
    }
    if (ev & CONN_UP) {
      k->need_stream |= !k->ever_connected; /* a start with --nats-retry */
      k->reconnects += k->ever_connected && !k->connected;
      k->connected = k->recovering = k->ever_connected = true;
      k->retry_at = 0;
    }
    const st_ob_msg *oldest = st_ob_oldest_sent(&k->ob);
    if (failed || (oldest && uv_hrtime() - oldest->sent_ns > ACK_WAIT_MS * 1000000ull)) {
      if (!failed)
        note_error(k, "%s", "no acknowledgement from the stream in time");
      /* A stream without a leader (a cluster electing one) fails every
       * message at once: resend after a pause, not in a loop. */
      if (!k->recovering)
        k->retry_at = uv_hrtime() + RETRY_MS * 1000000ull;
      k->recovering = true;
    }
    if (k->recovering && k->connected && uv_hrtime() >= k->retry_at)
      recover(k);
    tail = intake(k, tail);
    if (k->connected && !k->recovering)
      send_window(k, tail);

    uv_mutex_lock(&k->lock);
    uint64_t head = atomic_load(&k->head);
    bool idle = head == tail && !k->ob.count && !k->olost;
    k->stats.published = k->published;
    k->stats.lost = k->dropped + k->undelivered;
    k->stats.buffered = k->ob.events + (head - tail);
    k->stats.buffer_bytes = k->ob.bytes;
    k->stats.reconnects = k->reconnects;
    k->stats.connected = k->connected && !k->recovering;
    if (idle && req != k->flush_done) {
      k->flush_done = req;
      uv_cond_broadcast(&k->done);
    }
    if (k->stop && (idle || uv_hrtime() >= k->stop_deadline))
      break;
    bool busy = k->nacks || k->ack_failed || k->conn_events || k->flush_req != req ||
                (k->connected && !k->recovering && st_ob_next(&k->ob) && k->ob.inflight < WINDOW);
    if (!busy) {
      /* Sleep until the loop pushes (it signals when it sees waiting), an
       * acknowledgement comes, or a retry is due. */
      atomic_store(&k->waiting, true);
      bool more = atomic_load(&k->head) != tail &&
                  (!k->opt.wait_when_full ||
                   (st_ob_fits(&k->ob, st_ob_cost(64, 1024)) && k->ob.count < WAITING_AHEAD));
      uint64_t nap = k->recovering    ? RETRY_MS * 1000000ull
                     : k->ob.inflight ? ACK_POLL_NS
                                      : 200000000ull;
      if (!more)
        uv_cond_timedwait(&k->work, &k->lock, nap);
      atomic_store(&k->waiting, false);
    }
  }
  /* What never reached the stream is lost, and said so (end()): the
   * events held, and the losses no record in the stream says. */
  uint64_t head = atomic_load(&k->head);
  k->undelivered = k->ob.events;
  k->unsaid = k->olost;
  for (; tail != head; tail++) {
    const st_event *ev = &k->ring[tail & (k->cap - 1)];
    if (own_lost_record(ev))
      k->unsaid += ev->lost.count;
    else
      k->undelivered++;
  }
  k->stats.lost = k->dropped + k->undelivered;
  k->stats.buffered = 0;
  uv_mutex_unlock(&k->lock);
}
