/*
 * Private to the JetStream sink: its state, shared by the loop's side
 * (nats_sink.c: the ring, flush, end) and the publisher thread
 * (nats_publisher.c: the outbox, publishing, acknowledgements, recovery).
 */
#ifndef ST_NATS_SINK_H
#define ST_NATS_SINK_H

#include <stdatomic.h>
#include <uv.h>

#include "nats_internal.h"

/* Events between the loop and the publisher: 8192 (13 MB at 1.6 KB an
 * event), as the .sktrace writer's queue; the outbox behind it holds more. */
#define DEFAULT_QUEUE 8192u
#define DEFAULT_DRAIN_MS 10000u
#define WINDOW 4096u           /* messages in flight, unacknowledged */
#define SEND_CHUNK 128u        /* messages sent between looks at the ring */
#define ACK_BATCH 512          /* acknowledgements that wake the publisher */
#define ACK_POLL_NS 2000000ull /* how often it looks for acknowledgements otherwise */
#define ACK_WAIT_MS 5000       /* an acknowledgement later than this is a failure */
#define RETRY_MS 250           /* between attempts to resume after a failure */
#define API_WAIT_MS 1000    /* a stream request: the publisher does not read the ring meanwhile */
#define BEGIN_WAIT_MS 10000 /* ... but at the start, a cluster may take its time */
#define ROOM_WAIT_NS 10000000000ull /* a waiting source gives up after 10 s without progress */
#define FULL_WAIT_NS 20000000ull    /* how long a full ring holds a live source's loop */
/* A source that waits needs no buffer for outages: it keeps this many
 * messages ahead of the acknowledgements, which keeps memory warm. */
#define WAITING_AHEAD (2 * WINDOW)
#define JSON_MAX 16384

enum { CONN_UP = 1, CONN_DOWN = 2, CONN_CLOSED = 4 };

typedef struct nats_sink {
  st_sink base;
  st_nats_options opt;
  st_nats_conn conn;
  char token[96];         /* this host as a subject token */
  char msgid_prefix[160]; /* host:start: unique to this publisher */
  char header_json[512];
  uint8_t os, backend;

  /* The ring: the loop writes slots and head, the publisher moves tail. */
  st_event *ring;
  uint32_t cap;
  _Atomic uint64_t head, tail;
  atomic_bool waiting;                       /* the publisher sleeps (or is about to) */
  atomic_bool loop_waiting;                  /* the loop waits for room (wait_when_full) */
  _Atomic uint64_t qlost;                    /* events the loop dropped: ring full */
  uint64_t lost_pending, lost_from, lost_to; /* loop side */

  uv_mutex_t lock;
  uv_cond_t work, done, room;
  /* Under lock. */
  bool stop;
  uint64_t stop_deadline; /* uv_hrtime() after which the publisher gives up */
  uint64_t flush_req, flush_done;
  uint64_t *acks, *acks_spare;
  size_t nacks, acks_cap;
  bool ack_failed;
  bool stream_gone; /* an acknowledgement said no stream takes our subjects */
  int conn_events;  /* CONN_* since the publisher last looked */
  st_nats_stats stats;
  char last_error[ST_ERROR_MAX];

  /* The publisher thread's own (and begin()'s before it starts). */
  uv_thread_t thread;
  bool thread_on, connected, recovering, ever_connected;
  bool sent_any;    /* libnats keeps no pending list before the first publish */
  bool need_stream; /* check (create) the stream before publishing again */
  uint64_t retry_at;
  st_outbox ob;
  uint64_t olost, olost_from, olost_to; /* dropped at the outbox, not yet said */
  uint64_t published, dropped, reconnects;
  uint64_t undelivered; /* at the end: events held, never acknowledged */
  uint64_t unsaid;      /* at the end: events lost that no record in the stream says */
  char json[JSON_MAX];
} nats_sink;

/* The publisher thread (nats_publisher.c). */
void st_nats_publisher_main(void *arg);
/* libnats' callbacks: the connection came or went; a publish was
 * acknowledged or failed. */
void st_nats_on_change(void *arg, st_nats_change what);
void st_nats_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
/* An EventsLost record (where "sink") of this publisher. */
void st_nats_lost_record(nats_sink *k, uint64_t count, uint64_t from, uint64_t to, st_event *ev);
/* Takes back what libnats still waits an acknowledgement for. */
void st_nats_forget_pending(nats_sink *k);

#endif
