/*
 * The publisher's outbox: every message from the moment it is encoded to
 * the moment JetStream acknowledges it, in publishing order. It is what
 * rides out a server restart: after a failure the unacknowledged messages
 * are sent again, in order, and the stream drops the copies it already
 * has (each carries a Nats-Msg-Id). Bounded in bytes; the caller decides
 * what happens to a message that does not fit. Used by one thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "nats_internal.h"

void st_ob_init(st_outbox *ob, uint64_t max_bytes, uint64_t first_pseq) {
  memset(ob, 0, sizeof *ob);
  ob->max_bytes = max_bytes;
  ob->first_pseq = first_pseq;
}

static st_ob_msg **at(const st_outbox *ob, size_t i) {
  return &ob->ring[(ob->head + i) & (ob->cap - 1)];
}

void st_ob_free(st_outbox *ob) {
  for (size_t i = 0; i < ob->count; i++)
    free(*at(ob, i));
  free(ob->ring);
  memset(ob, 0, sizeof *ob);
}

uint64_t st_ob_cost(size_t subject_len, size_t data_len) {
  return sizeof(st_ob_msg) + sizeof(st_ob_msg *) + subject_len + data_len + 2;
}

bool st_ob_fits(const st_outbox *ob, uint64_t cost) {
  return ob->bytes + cost <= ob->max_bytes;
}

static int grow(st_outbox *ob) {
  size_t cap = ob->cap ? ob->cap * 2 : 1024;
  st_ob_msg **ring = malloc(cap * sizeof *ring);
  if (!ring)
    return ST_ENOMEM;
  for (size_t i = 0; i < ob->count; i++)
    ring[i] = *at(ob, i);
  free(ob->ring);
  ob->ring = ring;
  ob->cap = cap;
  ob->head = 0;
  return 0;
}

int st_ob_push(st_outbox *ob, const char *subject, const char *data, size_t len, bool event) {
  if (ob->count == ob->cap && grow(ob) < 0)
    return ST_ENOMEM;
  size_t sl = strlen(subject);
  st_ob_msg *m = malloc(sizeof *m + sl + len + 2);
  if (!m)
    return ST_ENOMEM;
  m->pseq = ob->first_pseq + ob->count;
  m->sent_ns = 0;
  m->subject_len = (uint32_t)sl;
  m->data_len = (uint32_t)len;
  m->state = ST_OB_QUEUED;
  m->event = event;
  memcpy(m->text, subject, sl + 1);
  memcpy(m->text + sl + 1, data, len);
  m->text[sl + 1 + len] = 0;
  *at(ob, ob->count++) = m;
  ob->bytes += st_ob_cost(sl, len);
  ob->events += event;
  return 0;
}

void st_ob_acked(st_outbox *ob, uint64_t pseq) {
  if (pseq < ob->first_pseq || pseq - ob->first_pseq >= ob->count)
    return; /* already gone: a late or repeated acknowledgement */
  st_ob_msg *m = *at(ob, (size_t)(pseq - ob->first_pseq));
  if (m->state == ST_OB_SENT)
    ob->inflight--;
  m->state = ST_OB_ACKED;
}

uint64_t st_ob_pop_acked(st_outbox *ob) {
  uint64_t events = 0;
  while (ob->count && (*at(ob, 0))->state == ST_OB_ACKED) {
    st_ob_msg *m = *at(ob, 0);
    ob->bytes -= st_ob_cost(m->subject_len, m->data_len);
    events += m->event;
    free(m);
    ob->head = (ob->head + 1) & (ob->cap - 1);
    ob->count--;
    ob->first_pseq++;
    if (ob->next_send)
      ob->next_send--;
  }
  ob->events -= events;
  return events;
}

st_ob_msg *st_ob_next(st_outbox *ob) {
  while (ob->next_send < ob->count) {
    st_ob_msg *m = *at(ob, ob->next_send);
    if (m->state == ST_OB_QUEUED)
      return m;
    ob->next_send++; /* acknowledged already (an ack that crossed a resend) */
  }
  return NULL;
}

void st_ob_sent(st_outbox *ob, st_ob_msg *m) {
  if (m->state == ST_OB_QUEUED) {
    m->state = ST_OB_SENT;
    ob->inflight++;
  }
  ob->next_send++;
}

void st_ob_rewind(st_outbox *ob) {
  for (size_t i = 0; i < ob->count; i++) {
    st_ob_msg *m = *at(ob, i);
    if (m->state == ST_OB_SENT)
      m->state = ST_OB_QUEUED;
  }
  ob->inflight = 0;
  ob->next_send = 0;
}

const st_ob_msg *st_ob_oldest_sent(const st_outbox *ob) {
  for (size_t i = 0; i < ob->next_send && i < ob->count && ob->inflight; i++) {
    const st_ob_msg *m = *at(ob, i);
    if (m->state == ST_OB_SENT)
      return m;
  }
  return NULL;
}
