/*
 * NATS JetStream: a fleet's traces in one stream. The sink publishes a
 * session's events (one event per message, in the JSON Lines form) on
 * subjects socktrace.<host>.<os>.<provider>.<id>; the backend reads a
 * stream back, from a point in time or a sequence to its end (replay) or
 * on and on (collect). Both speak to the server through libnats (the NATS C
 * client); this header names no libnats type, so the CLI needs none.
 */
#ifndef ST_BACKEND_NATS_H
#define ST_BACKEND_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"
#include "socktrace/sink.h"

#define ST_NATS_DEFAULT_STREAM "SOCKTRACE"
#define ST_NATS_SUBJECT_ROOT "socktrace"
#define ST_NATS_DEFAULT_PORT 4222
/* A stream socktrace creates keeps events for 7 days, at most 1 GiB (the
 * oldest go first), on disk, one replica, unless told otherwise. */
#define ST_NATS_DEFAULT_MAX_AGE_NS (7ull * 24 * 3600 * 1000000000ull)
#define ST_NATS_DEFAULT_MAX_BYTES (1ull << 30)
/* What a publisher holds while the server is away: 64 MiB of messages. */
#define ST_NATS_DEFAULT_BUFFER (64ull << 20)
#define ST_NATS_HOSTS_MAX 16

typedef struct st_nats_options {
  const char *url;    /* nats://[user[:pass]@]host[:port][,host[:port]...][/STREAM]; tls:// too */
  const char *creds;  /* a .creds file (JWT + NKey seed); NULL = none */
  const char *tls_ca; /* CA certificates to trust; implies TLS */
  const char *tls_cert, *tls_key; /* a client certificate and its key */
  bool retry;                     /* keep trying when no server answers at start */
  unsigned connect_timeout_ms;    /* 0 = 2000 */
  /* The stream, when socktrace creates it. */
  unsigned replicas;   /* 0 = 1 */
  uint64_t max_age_ns; /* 0 = ST_NATS_DEFAULT_MAX_AGE_NS */
  uint64_t max_bytes;  /* 0 = ST_NATS_DEFAULT_MAX_BYTES */
  /* Publishing. */
  uint64_t buffer_bytes; /* messages held for the server; 0 = ST_NATS_DEFAULT_BUFFER */
  uint32_t queue_events; /* between the loop and the publisher thread; 0 = 8192 */
  /* A pulled source (a recording) may wait for room instead of dropping:
   * the loop then waits while the stream keeps up, up to 10 s without
   * progress. A live source never waits. */
  bool wait_when_full;
  unsigned drain_ms; /* at the end, how long to wait for the server; 0 = 10000 */
  /* Reading. */
  bool follow;                          /* collect: on and on; else up to the end at start */
  uint64_t since_seq;                   /* from this stream sequence (0 = the first) */
  uint64_t since_ns;                    /* from this time (ns since the epoch; 0 = the first) */
  bool new_only;                        /* collect without a start: only what comes from now on */
  const char *hosts[ST_NATS_HOSTS_MAX]; /* only these publishers; none = all */
  unsigned nhosts;
} st_nats_options;

/* True when s names a NATS stream (nats:// or tls://). */
bool st_nats_is_url(const char *s);
/* The URL fit to print: the password replaced by ***. */
void st_nats_url_mask(const char *url, char *buf, size_t len);

/* The publishing sink. On a bad URL returns ST_EINVAL with the reason in
 * err; everything else (no server, no JetStream) is begin()'s error. */
int st_sink_nats_new(const st_nats_options *opt, st_sink **sink, char *err, size_t errlen);

typedef struct st_nats_stats {
  uint64_t published; /* events the stream acknowledged */
  uint64_t lost;      /* events dropped: queue or buffer full, or undelivered at the end */
  uint64_t buffered;  /* events held, waiting for an acknowledgement */
  uint64_t buffer_bytes;
  uint64_t reconnects; /* times the connection came back */
  bool connected;
  char last_error[256]; /* the last thing that went wrong, in words ("" when none) */
} st_nats_stats;
void st_sink_nats_stats(st_sink *sink, st_nats_stats *out);

/* The reading backend (a pulled source: next() answers ST_NEXT_AGAIN while
 * it waits for the server). */
int st_backend_nats_new(const st_nats_options *opt, st_backend **out, char *err, size_t errlen);
/* The publisher (host name) of the event next() returned last. */
const char *st_backend_nats_host(st_backend *b);

#endif
