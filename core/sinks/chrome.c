/*
 * Chrome / Perfetto trace-event JSON (`socktrace report -f chrome`), to
 * open a trace in ui.perfetto.dev or chrome://tracing instead of reading it:
 *  - each process is a track group (pid, named by process_name metadata);
 *  - each socket is a track in it (tid derived from the endpoint, named by
 *    thread_name metadata) holding one complete slice ("ph":"X") for the
 *    socket's lifetime and an instant ("ph":"i") per event, whose args are
 *    the event's JSON Lines object;
 *  - events tied to no socket sit on the process's track tid 0.
 * Times are microseconds from the first event (doubles cannot hold epoch
 * nanoseconds); otherData.origin_utc gives that instant. Instants stream
 * out as they come; slices and names are written when the session ends.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "internal.h"
#include "socktrace/sink.h"

typedef struct ch_socket {
  uint64_t endpoint;
  uint32_t pid, tid;
  uint64_t first_ts, last_ts;
  char proto[16], local[ST_PATH_MAX + 40], remote[ST_PATH_MAX + 40];
  UT_hash_handle hh;
} ch_socket;

typedef struct ch_process {
  uint32_t pid;
  char name[ST_COMM_MAX + 8];
  UT_hash_handle hh;
} ch_process;

/* Which endpoint owns a (pid, tid) track, to keep derived tids unique. */
typedef struct ch_track {
  uint64_t key; /* pid << 32 | tid */
  UT_hash_handle hh;
} ch_track;

typedef struct chrome_sink {
  st_out out;
  bool have_origin;
  uint64_t origin;
  uint64_t count;
  ch_socket *sockets;
  ch_process *procs;
  ch_track *tracks;
  st_trace_info info;
} chrome_sink;

/* Microseconds from the origin with nanosecond decimals. */
static void put_us(st_buf *b, const chrome_sink *c, uint64_t ns) {
  if (ns >= c->origin) {
    uint64_t d = ns - c->origin;
    st_buf_printf(b, "%" PRIu64 ".%03" PRIu64, d / 1000, d % 1000);
  } else {
    uint64_t d = c->origin - ns;
    st_buf_printf(b, "-%" PRIu64 ".%03" PRIu64, d / 1000, d % 1000);
  }
}

static int note_process(chrome_sink *c, const st_event *ev) {
  ch_process *p = NULL;
  HASH_FIND(hh, c->procs, &ev->pid, sizeof ev->pid, p);
  if (p)
    return 0;
  if (!(p = calloc(1, sizeof *p)))
    return ST_ENOMEM;
  p->pid = ev->pid;
  char comm[ST_COMM_MAX + 1];
  memcpy(comm, ev->comm, ST_COMM_MAX);
  comm[ST_COMM_MAX] = 0;
  snprintf(p->name, sizeof p->name, "%s",
           comm[0] ? comm : (ev->os == ST_OS_WIRE ? "(wire)" : "(unknown)"));
  HASH_ADD(hh, c->procs, pid, sizeof p->pid, p);
  return 0;
}

static bool track_taken(chrome_sink *c, uint32_t pid, uint32_t tid) {
  uint64_t key = (uint64_t)pid << 32 | tid;
  ch_track *t = NULL;
  HASH_FIND(hh, c->tracks, &key, sizeof key, t);
  return t != NULL;
}

static ch_socket *get_socket(chrome_sink *c, const st_event *ev) {
  ch_socket *k = NULL;
  HASH_FIND(hh, c->sockets, &ev->endpoint, sizeof ev->endpoint, k);
  if (k)
    return k;
  ch_track *t = calloc(1, sizeof *t);
  if (!t || !(k = calloc(1, sizeof *k))) {
    free(t);
    return NULL;
  }
  k->endpoint = ev->endpoint;
  k->pid = ev->pid;
  k->first_ts = k->last_ts = ev->ts_ns;
  /* tid: the endpoint's low 31 bits, moved on past a clash or 0. */
  uint32_t tid = (uint32_t)(ev->endpoint & 0x7fffffff);
  while (tid == 0 || track_taken(c, k->pid, tid))
    tid = (tid + 1) & 0x7fffffff;
  k->tid = tid;
  t->key = (uint64_t)k->pid << 32 | tid;
  HASH_ADD(hh, c->tracks, key, sizeof t->key, t);
  HASH_ADD(hh, c->sockets, endpoint, sizeof k->endpoint, k);
  return k;
}

static void note_socket(ch_socket *k, const st_event *ev) {
  if (ev->ts_ns < k->first_ts)
    k->first_ts = ev->ts_ns;
  if (ev->ts_ns > k->last_ts)
    k->last_ts = ev->ts_ns;
  if (!k->proto[0] && (ev->has & ST_HAS_PROTOCOL)) {
    const char *p = st_protocol_name(ev->protocol);
    snprintf(k->proto, sizeof k->proto, "%s", p ? p : "socket");
  }
  if (!k->local[0] && (ev->has & ST_HAS_LOCAL))
    st_addr_format(&ev->local, k->local, sizeof k->local);
  if (!k->remote[0] && st_event_remote_is_peer(ev))
    st_addr_format(&ev->remote, k->remote, sizeof k->remote);
}

static void sep(chrome_sink *c) {
  st_buf_puts(&c->out.line, c->count++ ? ",\n" : "\n");
}

static int chrome_begin(st_sink *s, const st_trace_info *info) {
  chrome_sink *c = (chrome_sink *)s;
  c->info = *info;
  st_buf_reset(&c->out.line);
  st_buf_puts(&c->out.line, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
  return st_out_put_line(&c->out);
}

static int chrome_write(st_sink *s, const st_event *ev) {
  chrome_sink *c = (chrome_sink *)s;
  if (!c->have_origin) {
    c->have_origin = true;
    c->origin = ev->ts_ns;
  }
  uint32_t pid = ev->pid, tid = 0;
  if (ev->endpoint) {
    ch_socket *k = get_socket(c, ev);
    if (!k)
      return ST_ENOMEM;
    note_socket(k, ev);
    pid = k->pid;
    tid = k->tid;
  }
  if (ev->has & ST_HAS_ACCEPT_EP) {
    /* The accepted socket's addresses are the accept's. */
    st_event child = *ev;
    child.endpoint = ev->accept_endpoint;
    ch_socket *a = get_socket(c, &child);
    if (!a)
      return ST_ENOMEM;
    st_accepted_addresses(ev, a->local, a->remote, sizeof a->local);
  }
  st_event owner = *ev;
  owner.pid = pid;
  if (pid == ev->pid && note_process(c, &owner) < 0)
    return ST_ENOMEM;
  const char *name = st_event_name(ev->provider, ev->id);
  st_buf_reset(&c->out.line);
  sep(c);
  st_buf_puts(&c->out.line, "{\"name\":");
  st_buf_json_string(&c->out.line, name ? name : "unknown");
  st_buf_printf(&c->out.line, ",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"ts\":",
                st_provider_name(ev->provider) ? st_provider_name(ev->provider) : "unknown");
  put_us(&c->out.line, c, ev->ts_ns);
  st_buf_printf(&c->out.line, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32 ",\"args\":", pid, tid);
  st_event_json_append(&c->out.line, ev);
  st_buf_puts(&c->out.line, "}");
  return st_out_put_line(&c->out);
}

static int by_track(ch_socket *a, ch_socket *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int by_pid(ch_process *a, ch_process *b) {
  return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static void socket_label(const ch_socket *k, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s%s", k->proto[0] ? k->proto : "socket", k->local[0] ? " " : "",
           k->local, k->remote[0] ? (k->local[0] ? " -> " : " peer ") : "", k->remote);
}

static int chrome_end(st_sink *s, const st_counters *counters) {
  chrome_sink *c = (chrome_sink *)s;
  HASH_SORT(c->procs, by_pid);
  HASH_SORT(c->sockets, by_track);
  st_buf *b = &c->out.line;
  st_buf_reset(b);
  ch_process *p, *ptmp;
  HASH_ITER(hh, c->procs, p, ptmp) {
    sep(c);
    st_buf_printf(
        b,
        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRIu32 ",\"args\":{\"name\":", p->pid);
    st_buf_json_string(b, p->name);
    st_buf_puts(b, "}}");
  }
  ch_socket *k, *ktmp;
  char label[2 * (ST_PATH_MAX + 40) + 32], track[sizeof label + 24];
  HASH_ITER(hh, c->sockets, k, ktmp) {
    socket_label(k, label, sizeof label);
    snprintf(track, sizeof track, "0x%" PRIx64 " %s", k->endpoint, label);
    sep(c);
    st_buf_printf(b,
                  "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
                  ",\"args\":{\"name\":",
                  k->pid, k->tid);
    st_buf_json_string(b, track);
    st_buf_puts(b, "}}");
    sep(c);
    st_buf_puts(b, "{\"name\":");
    st_buf_json_string(b, label);
    st_buf_puts(b, ",\"cat\":\"socket\",\"ph\":\"X\",\"ts\":");
    put_us(b, c, k->first_ts);
    uint64_t dur = k->last_ts - k->first_ts;
    st_buf_printf(b,
                  ",\"dur\":%" PRIu64 ".%03" PRIu64 ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32
                  ",\"args\":{\"endpoint\":\"0x%016" PRIx64 "\"}}",
                  dur / 1000, dur % 1000, k->pid, k->tid, k->endpoint);
  }
  char ts[48];
  st_format_utc(c->have_origin ? c->origin : c->info.started_ns, 1, ts, sizeof ts);
  st_buf_printf(b, "\n],\"otherData\":{\"socktrace\":\"%s\",\"host\":", ST_VERSION);
  st_buf_json_string(b, c->info.host);
  st_buf_printf(b, ",\"origin_utc\":\"%s\",\"events\":%" PRIu64 ",\"lost\":%" PRIu64 "}}\n", ts,
                counters->delivered, counters->lost);
  int rc = st_out_put_line(&c->out);
  return rc == 0 ? st_out_flush(s) : rc;
}

static void chrome_close(st_sink *s) {
  chrome_sink *c = (chrome_sink *)s;
  ch_socket *k, *ktmp;
  HASH_ITER(hh, c->sockets, k, ktmp) {
    HASH_DEL(c->sockets, k);
    free(k);
  }
  ch_process *p, *ptmp;
  HASH_ITER(hh, c->procs, p, ptmp) {
    HASH_DEL(c->procs, p);
    free(p);
  }
  ch_track *t, *ttmp;
  HASH_ITER(hh, c->tracks, t, ttmp) {
    HASH_DEL(c->tracks, t);
    free(t);
  }
  st_out_close(s);
}

static const st_sink_ops chrome_ops = {.name = "chrome",
                                       .begin = chrome_begin,
                                       .write = chrome_write,
                                       .end = chrome_end,
                                       .close = chrome_close};

int st_sink_chrome_new(FILE *out, st_sink **sink) {
  chrome_sink *c = st_out_new(sizeof *c, &chrome_ops, out, "the Chrome trace");
  if (!c)
    return ST_ENOMEM;
  *sink = &c->out.base;
  return 0;
}
