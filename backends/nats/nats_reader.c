/*
 * Reading a JetStream stream back: a fleet's events into the same filters
 * and sinks as any trace. A pulled source (backend.h): a reader thread
 * takes messages from an ordered consumer (ephemeral, in stream order, no
 * acknowledgements; libnats recreates it where it left off after a
 * reconnect), decodes them and fills a batch; next() hands the batch out
 * and answers ST_NEXT_AGAIN while the thread waits for the server.
 *
 * replay reads from a point (a time, a sequence, or the first message) to
 * the stream's end as it was at the start; collect (follow) goes on until
 * the session stops. Publisher headers (socktrace.<host>.header) are read
 * for the host they name, never handed on as events. A message that does
 * not decode is a DecodeError event, counted, and reading goes on.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nats_internal.h"
#include "socktrace/session.h"

#define BATCH 1024
#define NEXT_WAIT_MS 200
#define API_WAIT_MS 10000 /* stream and consumer requests */
/* A replay whose consumer has nothing more for it before the end: a
 * replica still catching up; waited for this long, then an error. */
#define STALL_MS 30000

typedef struct slot {
  st_event ev;
  const char *host; /* interned: lives as long as the backend */
} slot;

/* A publisher: its subject token and, once a header said it, its name. */
typedef struct host_name {
  char *token, *name;
  bool asked; /* its last header was asked for */
} host_name;

typedef struct nats_reader {
  st_backend base;
  st_nats_options opt;
  st_nats_conn conn;
  char names[ST_NATS_HOSTS_MAX][64];  /* the --host names */
  char tokens[ST_NATS_HOSTS_MAX][96]; /* the same as subject tokens */
  char filter[160];                   /* the consumer's subject filter */
  uint64_t end_seq;                   /* replay: the last sequence to read (see last_of_ours) */
  bool end_exact;                     /* end_seq is the last message of ours, not the stream's */
  natsSubscription *sub;
  st_session *session;

  uv_mutex_t lock;
  uv_cond_t space;
  /* Under lock: the batch being filled, and how reading ended. */
  slot *fill;
  size_t nfill;
  bool done, stop, loop_waiting;
  int status;
  st_backend_stats stats;

  /* The reader thread's own. */
  uv_thread_t thread;
  bool thread_on;
  host_name *hosts; /* interned: the host of each event points into it */
  size_t nhosts;
  char *text; /* a message's data, NUL-terminated */
  size_t text_cap;

  /* The loop's own. */
  slot *drain;
  size_t ndrain, idrain;
  const char *cur_host;
} nats_reader;

/* ---- the reader thread ---- */

static host_name *host_of(nats_reader *r, const char *tok, size_t n) {
  for (size_t i = 0; i < r->nhosts; i++)
    if (strlen(r->hosts[i].token) == n && memcmp(r->hosts[i].token, tok, n) == 0)
      return &r->hosts[i];
  host_name *h = realloc(r->hosts, (r->nhosts + 1) * sizeof *h);
  if (!h)
    return NULL;
  r->hosts = h;
  h[r->nhosts].name = NULL;
  h[r->nhosts].asked = false;
  if (!(h[r->nhosts].token = strndup(tok, n)))
    return NULL;
  return &h[r->nhosts++];
}

/* A publisher's header: the host name its token stands for. */
static void learn_host(nats_reader *r, const char *tok, size_t n, natsMsg *m) {
  json_t *o = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
  const char *name = json_string_value(json_object_get(o, "host"));
  char token[96];
  if (name)
    st_nats_host_token(name, token, sizeof token);
  host_name *h =
      name && strlen(token) == n && memcmp(token, tok, n) == 0 ? host_of(r, tok, n) : NULL;
  if (h && !h->name)
    h->name = strdup(name);
  json_decref(o);
}

/* The host an event is from, as its publisher's header named it (else as
 * its subject token: web1.example.com is web1_example_com there). A host
 * whose header came before where reading began: its last header is asked
 * for, once. */
static const char *intern(nats_reader *r, const char *tok, size_t n) {
  host_name *h = host_of(r, tok, n);
  if (h && !h->name && !h->asked) {
    h->asked = true;
    char subject[160];
    natsMsg *m = NULL;
    st_nats_header_subject(h->token, subject, sizeof subject);
    if (js_GetLastMsg(&m, r->conn.js, r->conn.url.stream, subject, NULL, NULL) == NATS_OK) {
      learn_host(r, tok, n, m);
      natsMsg_Destroy(m);
    }
  }
  return !h ? "?" : h->name ? h->name : h->token;
}

static bool wanted(const nats_reader *r, const char *tok, size_t n) {
  if (r->opt.nhosts <= 1)
    return true; /* none, or the consumer's own filter took care of it */
  for (unsigned i = 0; i < r->opt.nhosts; i++)
    if (strlen(r->tokens[i]) == n && memcmp(r->tokens[i], tok, n) == 0)
      return true;
  return false;
}

/* Hands the batch over when full; waits while the loop has not taken the
 * previous one. False when told to stop. */
static bool add_slot(nats_reader *r, const st_event *ev, const char *host, bool error) {
  uv_mutex_lock(&r->lock);
  while (r->nfill == BATCH && !r->stop)
    uv_cond_wait(&r->space, &r->lock);
  bool ok = !r->stop;
  if (ok) {
    r->fill[r->nfill].ev = *ev;
    r->fill[r->nfill++].host = host;
    if (error)
      r->stats.errors++;
    else
      r->stats.events++;
  }
  bool wake = r->loop_waiting;
  r->loop_waiting = false;
  uv_mutex_unlock(&r->lock);
  if (wake)
    st_session_wake(r->session);
  return ok;
}

static void finish(nats_reader *r, int status) {
  uv_mutex_lock(&r->lock);
  r->done = true;
  if (!r->status)
    r->status = status;
  uv_mutex_unlock(&r->lock);
  st_session_wake(r->session);
}

/* One message: a header (remembered, not handed on) or an event. */
static bool take(nats_reader *r, natsMsg *m, uint64_t seq) {
  const char *subject = natsMsg_GetSubject(m);
  const char *tok = subject + strlen(ST_NATS_SUBJECT_ROOT ".");
  if (strncmp(subject, ST_NATS_SUBJECT_ROOT ".", strlen(ST_NATS_SUBJECT_ROOT ".")) != 0)
    return true; /* not ours: another publisher's subject in the stream */
  const char *dot = strchr(tok, '.');
  size_t n = dot ? (size_t)(dot - tok) : strlen(tok);
  if (!dot || !wanted(r, tok, n))
    return true;
  if (strcmp(dot, ".header") == 0) {
    learn_host(r, tok, n, m);
    return true;
  }
  size_t len = (size_t)natsMsg_GetDataLength(m);
  if (len + 1 > r->text_cap) {
    char *t = realloc(r->text, len + 1);
    if (!t)
      return true;
    r->text = t;
    r->text_cap = len + 1;
  }
  memcpy(r->text, natsMsg_GetData(m), len);
  r->text[len] = 0;
  st_event ev;
  char why[200];
  int rc = st_event_from_json(r->text, &ev, why, sizeof why);
  if (rc == 1)
    return true; /* a header object on an event subject: nothing to hand on */
  if (rc < 0) {
    st_event_init(&ev, ST_PROVIDER_EXT, ST_EV_DECODE_ERROR);
    ev.backend = ST_BACKEND_REPLAY;
    ev.has = ST_HAS_DETAIL;
    snprintf(ev.detail, sizeof ev.detail, "stream sequence %" PRIu64 ": %.90s", seq, why);
    uv_mutex_lock(&r->lock);
    if (!r->stats.errors)
      st_backend_set_error(&r->base, "%s: stream sequence %" PRIu64 " (%s): %s", r->conn.display,
                           seq, subject, why);
    uv_mutex_unlock(&r->lock);
  }
  return add_slot(r, &ev, intern(r, tok, n), rc < 0);
}

/* Replay: whether the consumer has nothing more for us by its own count:
 * nothing pending, and every message it delivered already taken. -1 while
 * it does not answer. */
static int replay_drained(nats_reader *r, uint64_t taken_seq) {
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  if (natsSubscription_GetConsumerInfo(&ci, r->sub, NULL, &jerr) != NATS_OK)
    return -1;
  int drained = ci->NumPending == 0 && ci->Delivered.Stream <= taken_seq;
  jsConsumerInfo_Destroy(ci);
  return drained;
}

static void reader_main(void *arg) {
  nats_reader *r = arg;
  /* A replay ends at its last sequence (end_seq), never after a quiet
   * spell: a loaded machine or a cluster's leader change holds delivery
   * back for seconds, and a consumer on a replica still catching up says
   * nothing is pending while the stream has more. Only when the last
   * message of ours could not be asked for (end_exact false) does the
   * consumer's count end it. */
  uint64_t taken_seq = 0;
  int stalled_ms = 0;
  for (;;) {
    uv_mutex_lock(&r->lock);
    bool stop = r->stop;
    uv_mutex_unlock(&r->lock);
    if (stop)
      break;
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, r->sub, NEXT_WAIT_MS);
    if (s == NATS_TIMEOUT && !r->opt.follow) {
      int drained = replay_drained(r, taken_seq);
      if (drained == 1 && !r->end_exact)
        break;
      stalled_ms = drained != 0 ? stalled_ms + NEXT_WAIT_MS : 0;
      if (stalled_ms >= STALL_MS) {
        uv_mutex_lock(&r->lock);
        st_backend_set_error(&r->base,
                             "%s: stream %s delivered up to sequence %" PRIu64 " of %" PRIu64
                             " and no more for %d s; check its servers (nats stream info %s)",
                             r->conn.display, r->conn.url.stream, taken_seq, r->end_seq,
                             STALL_MS / 1000, r->conn.url.stream);
        uv_mutex_unlock(&r->lock);
        finish(r, ST_EIO);
        return;
      }
      continue;
    }
    if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER || s == NATS_MISMATCH)
      continue; /* the ordered consumer mends gaps by itself */
    if (s != NATS_OK) {
      char words[300];
      st_nats_words(s, words, sizeof words);
      uv_mutex_lock(&r->lock);
      st_backend_set_error(&r->base, "%s: reading stream %s: %s", r->conn.display,
                           r->conn.url.stream, words);
      uv_mutex_unlock(&r->lock);
      finish(r, ST_EIO);
      return;
    }
    stalled_ms = 0;
    jsMsgMetaData *meta = NULL;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
    }
    if (seq > taken_seq)
      taken_seq = seq;
    bool past = !r->opt.follow && seq > r->end_seq;
    bool ok = past || take(r, m, seq);
    natsMsg_Destroy(m);
    if (!ok)
      break;
    if (!r->opt.follow && (past || seq >= r->end_seq))
      break;
  }
  finish(r, 0);
}

/* ---- the session's side ---- */

static int reader_next(st_backend *b, const st_event **out) {
  nats_reader *r = (nats_reader *)b;
  if (r->idrain == r->ndrain) {
    uv_mutex_lock(&r->lock);
    if (r->nfill) {
      slot *t = r->drain;
      r->drain = r->fill;
      r->fill = t;
      r->ndrain = r->nfill;
      r->nfill = 0;
      r->idrain = 0;
      uv_cond_signal(&r->space);
    } else if (r->done) {
      int status = r->status;
      uv_mutex_unlock(&r->lock);
      return status < 0 ? status : ST_NEXT_END;
    } else {
      r->loop_waiting = true;
      uv_mutex_unlock(&r->lock);
      return ST_NEXT_AGAIN;
    }
    uv_mutex_unlock(&r->lock);
  }
  slot *sl = &r->drain[r->idrain++];
  r->cur_host = sl->host;
  *out = &sl->ev;
  return ST_NEXT_EVENT;
}

const char *st_backend_nats_host(st_backend *b) {
  const char *h = ((nats_reader *)b)->cur_host;
  return h ? h : "";
}

/* What the trace says it is: the one host's own header when one host is
 * read, else the stream's name. */
static void set_info(nats_reader *r, st_trace_info *info) {
  info->backend = ST_BACKEND_REPLAY;
  snprintf(info->host, sizeof info->host, "%s",
           r->opt.nhosts == 1 ? r->names[0] : r->conn.url.stream);
  if (r->opt.nhosts != 1)
    return;
  char subject[160];
  st_nats_header_subject(r->tokens[0], subject, sizeof subject);
  natsMsg *m = NULL;
  if (js_GetLastMsg(&m, r->conn.js, r->conn.url.stream, subject, NULL, NULL) != NATS_OK)
    return;
  json_t *h = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
  const char *os = json_string_value(json_object_get(h, "os"));
  int v = os ? st_os_lookup(os) : -1;
  if (v >= 0)
    info->os = (uint8_t)v;
  json_decref(h);
  natsMsg_Destroy(m);
}

static int subscribe(nats_reader *r, char *err, size_t errlen) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = r->conn.url.stream;
  so.Ordered = true;
  jsConsumerConfig *cc = &so.Config;
  if (r->opt.since_seq) {
    cc->DeliverPolicy = js_DeliverByStartSequence;
    cc->OptStartSeq = r->opt.since_seq;
  } else if (r->opt.since_ns) {
    cc->DeliverPolicy = js_DeliverByStartTime;
    cc->OptStartTime = (int64_t)r->opt.since_ns;
  } else {
    cc->DeliverPolicy = r->opt.new_only ? js_DeliverNew : js_DeliverAll;
  }
  /* A cluster that just lost a node may take a while to place the
   * consumer: ask again rather than give up at the first timeout. */
  jsErrCode jerr = 0;
  natsStatus s = NATS_TIMEOUT;
  for (int attempt = 0; attempt < 3 && s == NATS_TIMEOUT; attempt++)
    s = js_SubscribeSync(&r->sub, r->conn.js, r->filter, NULL, &so, &jerr);
  if (s != NATS_OK) {
    char words[300];
    st_nats_words(s, words, sizeof words);
    snprintf(err, errlen, "%.200s: cannot read stream %s: %.200s", r->conn.display,
             r->conn.url.stream, words);
    return ST_EIO;
  }
  natsSubscription_SetPendingLimits(r->sub, 1 << 20, 256 << 20);
  if (r->opt.follow || (r->end_exact && !r->opt.since_ns))
    return 0;
  /* Nothing to read at all (no message of these hosts from a time on, or
   * the last one not known): the replay ends now rather than waiting for
   * a message that never comes. */
  jsConsumerInfo *ci = NULL;
  if (natsSubscription_GetConsumerInfo(&ci, r->sub, NULL, NULL) == NATS_OK) {
    if (ci->NumPending == 0 && ci->Delivered.Stream == 0)
      r->end_seq = 0;
    jsConsumerInfo_Destroy(ci);
  }
  return 0;
}

/* Replay: the sequence of the stream's last message under the consumer's
 * filter, asked of the stream's leader, so that the replay knows where it
 * ends (end_exact). When the server cannot say, the stream's last sequence
 * stays the bound and the consumer's count ends the replay. */
static void last_of_ours(nats_reader *r) {
  natsMsg *m = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetLastMsg(&m, r->conn.js, r->conn.url.stream, r->filter, NULL, &jerr);
  if (s == NATS_OK) {
    uint64_t last = natsMsg_GetSequence(m);
    if (last && last <= r->end_seq) {
      r->end_seq = last;
      r->end_exact = true;
    }
    natsMsg_Destroy(m);
  } else if (jerr == JSNoMessageFoundErr) {
    r->end_seq = 0; /* nothing of ours in the stream */
  }
}

static int reader_open(st_backend *b, st_session *s) {
  nats_reader *r = (nats_reader *)b;
  r->session = s;
  r->conn.arg = r;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = API_WAIT_MS;
  int rc = st_nats_connect(&r->conn, &r->opt, &jo, b->error, sizeof b->error);
  if (rc == 1) {
    /* Reading cannot begin without the stream: wait for a server as long
     * as a connection attempt takes. */
    for (int i = 0; i < 200 && natsConnection_Status(r->conn.nc) != NATS_CONN_STATUS_CONNECTED; i++)
      nats_Sleep(10);
  }
  if (rc < 0)
    return rc;
  rc = st_nats_stream_check(&r->conn, &r->opt, NULL, false, API_WAIT_MS, &r->end_seq, b->error,
                            sizeof b->error);
  if (rc < 0)
    return rc;
  if (r->opt.nhosts == 1)
    snprintf(r->filter, sizeof r->filter, ST_NATS_SUBJECT_ROOT ".%s.>", r->tokens[0]);
  else
    snprintf(r->filter, sizeof r->filter, ST_NATS_SUBJECT_ROOT ".>");
  set_info(r, st_session_info(s));
  if (!r->opt.follow && r->end_seq)
    last_of_ours(r);
  if (!r->opt.follow && (!r->end_seq || r->opt.since_seq > r->end_seq)) {
    r->done = true; /* an empty stream, or a start past its end */
    return 0;
  }
  return subscribe(r, b->error, sizeof b->error);
}

static int reader_start(st_backend *b) {
  nats_reader *r = (nats_reader *)b;
  if (r->done || (!r->opt.follow && !r->end_seq)) {
    r->done = true;
    return 0;
  }
  if (uv_thread_create(&r->thread, reader_main, r) != 0) {
    st_backend_set_error(b, "cannot start the NATS reader thread");
    return ST_ENOMEM;
  }
  r->thread_on = true;
  return 0;
}

static int reader_stop(st_backend *b) {
  nats_reader *r = (nats_reader *)b;
  if (r->thread_on) {
    uv_mutex_lock(&r->lock);
    r->stop = true;
    uv_cond_signal(&r->space);
    uv_mutex_unlock(&r->lock);
    uv_thread_join(&r->thread);
    r->thread_on = false;
  }
  if (r->sub) {
    natsSubscription_Unsubscribe(r->sub); /* the server forgets the consumer now */
    natsSubscription_Destroy(r->sub);
    r->sub = NULL;
  }
  return 0;
}

static void reader_close(st_backend *b) {
  nats_reader *r = (nats_reader *)b;
  reader_stop(b);
  st_nats_close(&r->conn);
  for (size_t i = 0; i < r->nhosts; i++) {
    free(r->hosts[i].token);
    free(r->hosts[i].name);
  }
  free(r->hosts);
  free(r->text);
  free(r->fill);
  free(r->drain);
  uv_mutex_destroy(&r->lock);
  uv_cond_destroy(&r->space);
  st_nats_options_free(&r->opt);
  free(r);
}

static void reader_stats(st_backend *b, st_backend_stats *out) {
  nats_reader *r = (nats_reader *)b;
  uv_mutex_lock(&r->lock);
  *out = r->stats;
  uv_mutex_unlock(&r->lock);
}

static const st_backend_ops reader_ops = {.name = "nats",
                                          .kind = ST_SOURCE_FILE,
                                          .open = reader_open,
                                          .start = reader_start,
                                          .stop = reader_stop,
                                          .close = reader_close,
                                          .stats = reader_stats,
                                          .next = reader_next};

int st_backend_nats_new(const st_nats_options *opt, st_backend **out, char *err, size_t errlen) {
  st_nats_url url;
  int rc = st_nats_url_parse(opt->url, &url, err, errlen);
  if (rc < 0)
    return rc;
  nats_reader *r = calloc(1, sizeof *r);
  if (!r)
    return ST_ENOMEM;
  r->base.ops = &reader_ops;
  if (st_nats_options_copy(&r->opt, opt) < 0) {
    free(r);
    return ST_ENOMEM;
  }
  r->opt.nhosts = opt->nhosts < ST_NATS_HOSTS_MAX ? opt->nhosts : ST_NATS_HOSTS_MAX;
  for (unsigned i = 0; i < r->opt.nhosts; i++) {
    snprintf(r->names[i], sizeof r->names[i], "%s", opt->hosts[i]);
    st_nats_host_token(opt->hosts[i], r->tokens[i], sizeof r->tokens[i]);
    r->opt.hosts[i] = r->names[i];
  }
  r->fill = malloc(BATCH * sizeof *r->fill);
  r->drain = malloc(BATCH * sizeof *r->drain);
  int inits = 0;
  if (!r->fill || !r->drain || uv_mutex_init(&r->lock) != 0 || !++inits ||
      uv_cond_init(&r->space) != 0) {
    if (inits)
      uv_mutex_destroy(&r->lock);
    st_nats_options_free(&r->opt);
    free(r->fill);
    free(r->drain);
    free(r);
    return ST_ENOMEM;
  }
  *out = &r->base;
  return 0;
}
