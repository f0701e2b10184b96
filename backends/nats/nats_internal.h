/*
 * Private to the NATS backend and sink: the parsed URL, subjects, and the
 * connection both open the same way (servers, credentials, TLS, the
 * stream). Only files of backends/nats include libnats.
 */
#ifndef ST_NATS_INTERNAL_H
#define ST_NATS_INTERNAL_H

#include <nats/nats.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nats_backend.h"

#define ST_NATS_SERVERS_MAX 8

typedef struct st_nats_url {
  char servers[ST_NATS_SERVERS_MAX][280]; /* "nats://host:port" or "tls://host:port" */
  unsigned nservers;
  char user[128], password[128];
  char stream[64];
  bool tls;
} st_nats_url;

/* Parses url; 0, or ST_EINVAL with the reason in err. */
int st_nats_url_parse(const char *url, st_nats_url *out, char *err, size_t errlen);
/* A host name as one subject token: '.', '*', '>', spaces and control
 * characters become '_' ("web1.example.com" -> "web1_example_com"). */
void st_nats_host_token(const char *host, char *buf, size_t len);
/* "socktrace.<token>.<os>.<provider>.<id>" */
void st_nats_subject(const char *host_token, const st_event *ev, char *buf, size_t len);
/* "socktrace.<token>.header" */
void st_nats_header_subject(const char *host_token, char *buf, size_t len);
/* True when the subject pattern (with NATS wildcards) takes every subject
 * under prefix ("socktrace.web1"). */
bool st_nats_pattern_covers(const char *pattern, const char *prefix);

/* What the connection tells its owner, from libnats' threads. */
typedef enum st_nats_change {
  ST_NATS_CONNECTED,    /* first connection after a retried start, or back after a loss */
  ST_NATS_DISCONNECTED, /* lost; libnats is reconnecting */
  ST_NATS_CLOSED,       /* given up for good */
} st_nats_change;

typedef struct st_nats_conn {
  natsConnection *nc;
  jsCtx *js;
  st_nats_url url;
  char display[512]; /* the URL, password masked: for every message */
  void (*on_change)(void *arg, st_nats_change what);
  void *arg;
  bool publisher;     /* set by the owner: errors then say how to publish anyway */
  atomic_bool closed; /* libnats said its last word: no callback comes after */
} st_nats_conn;

/* Connects with the options' servers, credentials and TLS; libnats then
 * reconnects by itself, for ever. Returns 0 when connected, 1 when no
 * server answered yet but retry is on (on_change says when one does), or a
 * negative code with one line in err. jo: the JetStream context's options
 * (NULL for the defaults). */
int st_nats_connect(st_nats_conn *c, const st_nats_options *o, jsOptions *jo, char *err,
                    size_t errlen);
/* Makes sure the stream exists and takes socktrace.<host_token> subjects
 * (host_token NULL: socktrace.>); creates it with the options' retention
 * when create is set. Each request waits at most wait_ms. 0, or negative
 * with one line in err. *last_seq (may be NULL) gets the stream's last
 * sequence. */
int st_nats_stream_check(st_nats_conn *c, const st_nats_options *o, const char *host_token,
                         bool create, unsigned wait_ms, uint64_t *last_seq, char *err,
                         size_t errlen);
/* A copy of src owning its strings (URL, creds, TLS files; host names
 * stay the caller's); 0 or ST_ENOMEM (then nothing is held). */
int st_nats_options_copy(st_nats_options *dst, const st_nats_options *src);
void st_nats_options_free(st_nats_options *o);
/* Closes and frees the connection; returns once libnats has made its last
 * callback (at most a second), so the owner may free what they use. */
void st_nats_close(st_nats_conn *c);
/* libnats' words for s, with its last error's detail when it has one. */
void st_nats_words(natsStatus s, char *buf, size_t len);

/* The publisher's outbox: messages in publishing order, each kept until the
 * stream acknowledges it, bounded in bytes. Sequence numbers (pseq) are
 * consecutive, so a message is found from its number. One thread only. */
enum { ST_OB_QUEUED, ST_OB_SENT, ST_OB_ACKED };

typedef struct st_ob_msg {
  uint64_t pseq;
  uint64_t sent_ns; /* when it was last sent (uv_hrtime) */
  uint32_t subject_len, data_len;
  uint8_t state;
  uint8_t event; /* 1 for an event, 0 for the trace header */
  char text[];   /* subject, NUL, data, NUL */
} st_ob_msg;

typedef struct st_outbox {
  st_ob_msg **ring;
  size_t cap, head, count; /* cap is a power of two */
  size_t next_send;        /* offset from head of the first message not sent */
  size_t inflight;         /* sent, not acknowledged */
  uint64_t first_pseq;     /* pseq of ring[head] (or the next one when empty) */
  uint64_t bytes, max_bytes;
  uint64_t events; /* events held */
} st_outbox;

void st_ob_init(st_outbox *ob, uint64_t max_bytes, uint64_t first_pseq);
void st_ob_free(st_outbox *ob);
/* What a message of this size costs the outbox. */
uint64_t st_ob_cost(size_t subject_len, size_t data_len);
bool st_ob_fits(const st_outbox *ob, uint64_t cost);
/* Appends a message with the next pseq; 0 or ST_ENOMEM. */
int st_ob_push(st_outbox *ob, const char *subject, const char *data, size_t len, bool event);
/* The stream took pseq: marks it. */
void st_ob_acked(st_outbox *ob, uint64_t pseq);
/* Frees acknowledged messages from the front; returns how many events. */
uint64_t st_ob_pop_acked(st_outbox *ob);
/* The next message to send (NULL when none); st_ob_sent when it is. */
st_ob_msg *st_ob_next(st_outbox *ob);
void st_ob_sent(st_outbox *ob, st_ob_msg *m);
/* After a failure: every sent, unacknowledged message is to be sent again. */
void st_ob_rewind(st_outbox *ob);
/* The oldest message sent and not acknowledged (NULL when none). */
const st_ob_msg *st_ob_oldest_sent(const st_outbox *ob);

#endif
