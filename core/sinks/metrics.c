/*
 * The metrics sink (socktrace/metrics.h): from each event it counts
 * connects by process, remote and outcome, accepts, resets, retransmits,
 * bytes, DNS answers, lost events, and observes connect latency (the
 * connect's enter to its completion, per socket), DNS latency (the DNS
 * join's) and TCP RTT at close in histograms. Series are bounded: past
 * max_series a new process or remote is counted under "other". Sockets
 * whose connect is in flight are bounded too (ST_M_PENDING_MAX): past it a
 * completion is still counted, without a duration.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "metrics_model.h"

#define ST_M_PENDING_MAX 32768

const st_m_family st_m_families[ST_M_FAMILIES] = {
    [ST_M_CONNECTS] = {"socktrace_connects",
                       "Connects completed, by process, remote and status",
                       false,
                       {"process", "remote", "status"}},
    [ST_M_CONNECT_DURATION] = {"socktrace_connect_duration_seconds",
                               "Time from a connect's start to its completion",
                               true,
                               {"process", "remote", NULL}},
    [ST_M_ACCEPTS] = {"socktrace_accepts",
                      "Connections accepted, by process and local port",
                      false,
                      {"process", "port", NULL}},
    [ST_M_RESETS] = {"socktrace_resets",
                     "TCP resets, received (in) or sent (out)",
                     false,
                     {"process", "remote", "direction"}},
    [ST_M_RETRANSMITS] = {"socktrace_retransmits",
                          "TCP segments retransmitted",
                          false,
                          {"process", "remote", NULL}},
    [ST_M_SENT_BYTES] = {"socktrace_sent_bytes", "Bytes sent", false, {"process", "remote", NULL}},
    [ST_M_RECEIVED_BYTES] = {"socktrace_received_bytes",
                             "Bytes received",
                             false,
                             {"process", "remote", NULL}},
    [ST_M_DNS_QUERIES] = {"socktrace_dns_queries",
                          "DNS queries answered or not, by status",
                          false,
                          {"process", NULL, "status"}},
    [ST_M_DNS_DURATION] = {"socktrace_dns_duration_seconds",
                           "Time from a DNS query to its answer",
                           true,
                           {"process", NULL, NULL}},
    [ST_M_TCP_RTT] = {"socktrace_tcp_rtt_seconds",
                      "Smoothed TCP round-trip time at close",
                      true,
                      {"process", "remote", NULL}},
    [ST_M_EVENTS] = {"socktrace_events", "Events seen", false, {NULL, NULL, NULL}},
    [ST_M_EVENTS_LOST] = {"socktrace_events_lost",
                          "Events lost, by where they were lost",
                          false,
                          {NULL, NULL, "where"}},
};

const uint64_t st_m_bounds_ns[ST_M_BUCKETS] = {
    50000ull,     100000ull,     250000ull,     500000ull,     1000000ull,    2500000ull,
    5000000ull,   10000000ull,   25000000ull,   50000000ull,   100000000ull,  250000000ull,
    500000000ull, 1000000000ull, 2500000000ull, 5000000000ull, 10000000000ull};

/* A socket whose connect was seen: when it started and how it ended. */
enum { PENDING, DONE };
typedef struct pending {
  uint64_t endpoint;
  uint64_t start_ns;
  uint8_t state;
  uint8_t code;          /* st_code of the completion */
  st_m_series *duration; /* its latency series (process and remote) */
  UT_hash_handle hh;
} pending;

typedef struct metrics_sink {
  st_sink base;
  unsigned max_series;
  uint64_t nseries, overflowed, events;
  st_m_series *table;
  st_m_list lists[ST_M_FAMILIES];
  pending *pending;
  unsigned npending;
  st_m_series *seen;  /* socktrace_events_total, fed by the sink's own count */
  char container[64]; /* the event being counted's container ("": none) */
} metrics_sink;

/* Zero-filled to the end: keys are hashed and compared as bytes. */
static void copy(char *dst, size_t len, const char *src) {
  memset(dst, 0, len);
  if (src)
    memcpy(dst, src, strnlen(src, len - 1));
}

static st_m_series *find_key(metrics_sink *m, const st_m_key *k) {
  st_m_series *s = NULL;
  HASH_FIND(hh, m->table, k, sizeof *k, s);
  return s;
}

/* The series of these labels; past max_series, the "other" one. NULL only
 * when out of memory. */
static st_m_series *series(metrics_sink *m, int family, const char *a, const char *b,
                           const char *c) {
  st_m_key k;
  memset(&k, 0, sizeof k); /* the key is hashed as bytes, padding included */
  k.family = (uint8_t)family;
  const st_m_family *f = &st_m_families[family];
  if (f->label[0]) {
    copy(k.a, sizeof k.a, a);
    copy(k.d, sizeof k.d, m->container);
  }
  if (f->label[1])
    copy(k.b, sizeof k.b, b);
  if (f->label[2])
    copy(k.c, sizeof k.c, c);
  st_m_series *s = find_key(m, &k);
  if (s)
    return s;
  if (m->nseries >= m->max_series) {
    m->overflowed++;
    if (f->label[0])
      copy(k.a, sizeof k.a, "other");
    if (f->label[1])
      copy(k.b, sizeof k.b, "other");
    if ((s = find_key(m, &k)))
      return s;
  }
  if (!(s = calloc(1, sizeof *s)))
    return NULL;
  s->key = k;
  HASH_ADD(hh, m->table, key, sizeof s->key, s);
  st_m_list *l = &m->lists[family];
  if (l->tail)
    l->tail->next = s;
  else
    l->head = s;
  l->tail = s;
  m->nseries++;
  return s;
}

static void count(st_m_series *s, uint64_t n) {
  if (s)
    s->value += n;
}

static void observe(st_m_series *s, uint64_t ns) {
  if (!s)
    return;
  s->value++;
  s->sum_ns += ns;
  for (int i = 0; i < ST_M_BUCKETS; i++)
    if (ns <= st_m_bounds_ns[i])
      s->buckets[i]++;
}

/* "name:port" where a DNS answer named the remote, else its address. */
static void remote_label(const st_event *ev, char *buf, size_t len) {
  buf[0] = 0;
  if ((ev->has & ST_HAS_REMOTE_NAME) && ev->remote_name[0] && (ev->has & ST_HAS_REMOTE) &&
      ev->remote.port)
    snprintf(buf, len, "%s:%u", ev->remote_name, (unsigned)ev->remote.port);
  else if (ev->has & ST_HAS_REMOTE_NAME)
    snprintf(buf, len, "%s", ev->remote_name);
  else if (ev->has & ST_HAS_REMOTE)
    st_addr_format(&ev->remote, buf, len);
}

static pending *pending_get(metrics_sink *m, uint64_t endpoint) {
  pending *p = NULL;
  HASH_FIND(hh, m->pending, &endpoint, sizeof endpoint, p);
  return p;
}

static pending *pending_add(metrics_sink *m, uint64_t endpoint) {
  if (m->npending >= ST_M_PENDING_MAX)
    return NULL;
  pending *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->endpoint = endpoint;
  HASH_ADD(hh, m->pending, endpoint, sizeof p->endpoint, p);
  m->npending++;
  return p;
}

static void pending_del(metrics_sink *m, pending *p) {
  HASH_DEL(m->pending, p);
  free(p);
  m->npending--;
}

static bool in_flight(const st_status *st) {
  return st->code == ST_PENDING || st->code == ST_WOULD_BLOCK;
}

static void connect_event(metrics_sink *m, const st_event *ev) {
  char remote[ST_M_LABEL_MAX];
  pending *p = ev->endpoint ? pending_get(m, ev->endpoint) : NULL;
  if (ev->enter_exit == ST_EE_ENTER && ev->id != ST_EV_CONNECT) {
    if (!p && ev->endpoint)
      p = pending_add(m, ev->endpoint);
    if (!p)
      return;
    remote_label(ev, remote, sizeof remote);
    p->state = PENDING;
    p->start_ns = ev->ts_ns;
    p->duration = series(m, ST_M_CONNECT_DURATION, ev->comm, remote, NULL);
    return;
  }
  if (!(ev->has & ST_HAS_STATUS) || in_flight(&ev->status))
    return;
  if (p && p->state == DONE)
    return; /* the other completion event of the same connect */
  const char *status = st_code_name((st_code)ev->status.code);
  if (p && p->duration) {
    /* Its labels are the ones the connect started with. */
    count(series(m, ST_M_CONNECTS, p->duration->key.a, p->duration->key.b, status), 1);
    observe(p->duration, ev->ts_ns >= p->start_ns ? ev->ts_ns - p->start_ns : 0);
  } else {
    remote_label(ev, remote, sizeof remote);
    count(series(m, ST_M_CONNECTS, ev->comm, remote, status), 1);
  }
  if (!p && ev->endpoint)
    p = pending_add(m, ev->endpoint);
  if (p) {
    p->state = DONE;
    p->code = ev->status.code;
  }
}

static bool is_send(uint16_t id) {
  return id == ST_EV_SEND || id == ST_EV_SENDTO || id == ST_EV_SENDTO_ADDR || id == ST_EV_SENDMSG ||
         id == ST_EV_SENDMSG_ADDR;
}

static bool is_receive(uint16_t id) {
  return id == ST_EV_RECEIVE || id == ST_EV_RECEIVEFROM || id == ST_EV_RECEIVEFROM_ADDR ||
         id == ST_EV_RECEIVEMSG || id == ST_EV_RECEIVEMSG_ADDR;
}

/* The remote of a socket's event, or the one its connect named. */
static const char *socket_remote(metrics_sink *m, const st_event *ev, char *buf, size_t len) {
  remote_label(ev, buf, len);
  if (!buf[0] && ev->endpoint) {
    pending *p = pending_get(m, ev->endpoint);
    if (p && p->duration)
      return p->duration->key.b;
  }
  return buf;
}

static void summary_event(metrics_sink *m, const st_event *ev) {
  char remote[ST_M_LABEL_MAX];
  const char *r = socket_remote(m, ev, remote, sizeof remote);
  /* Counted call by call unless the calls were not seen. */
  if (ev->summary.flags & ST_SUMMARY_NO_CALLS) {
    if (ev->summary.bytes_sent)
      count(series(m, ST_M_SENT_BYTES, ev->comm, r, NULL), ev->summary.bytes_sent);
    if (ev->summary.bytes_received)
      count(series(m, ST_M_RECEIVED_BYTES, ev->comm, r, NULL), ev->summary.bytes_received);
  }
  if (ev->summary.rtt_us)
    observe(series(m, ST_M_TCP_RTT, ev->comm, r, NULL), (uint64_t)ev->summary.rtt_us * 1000);
}

static void dns_event(metrics_sink *m, const st_event *ev) {
  bool unanswered = ev->dns.flags & ST_DNS_UNANSWERED;
  if (!ev->dns.qr && !unanswered)
    return; /* a query: counted with its answer */
  if (ev->dns.qr && (ev->dns.flags & ST_DNS_SENT))
    return; /* a server's answer, not a query this host made */
  const char *status = unanswered ? "unanswered"
                       : (ev->has & ST_HAS_STATUS)
                           ? st_code_name((st_code)ev->status.code)
                           : st_code_name((st_code)st_status_from_dns_rcode(ev->dns.rcode).code);
  count(series(m, ST_M_DNS_QUERIES, ev->comm, NULL, status), 1);
  if (!unanswered && ev->dns.latency_us)
    observe(series(m, ST_M_DNS_DURATION, ev->comm, NULL, NULL),
            (uint64_t)ev->dns.latency_us * 1000);
}

/* A reset is counted unless it is a connect's refusal (counted there). */
static void reset_event(metrics_sink *m, const st_event *ev, const char *direction) {
  pending *p = ev->endpoint ? pending_get(m, ev->endpoint) : NULL;
  if (p && (p->state == PENDING || p->code != ST_OK))
    return;
  char remote[ST_M_LABEL_MAX];
  count(series(m, ST_M_RESETS, ev->comm, socket_remote(m, ev, remote, sizeof remote), direction),
        1);
}

static int metrics_write(st_sink *s, const st_event *ev) {
  metrics_sink *m = (metrics_sink *)s;
  m->events++;
  m->container[0] = '\0';
  if (ev->has & ST_HAS_CONTAINER)
    st_container_label(&ev->container, m->container, sizeof m->container);
  if (ev->provider == ST_PROVIDER_EXT) {
    char remote[ST_M_LABEL_MAX];
    switch (ev->id) {
    case ST_EV_TCP_RETRANSMIT:
      count(
          series(m, ST_M_RETRANSMITS, ev->comm, socket_remote(m, ev, remote, sizeof remote), NULL),
          1);
      break;
    case ST_EV_TCP_RESET_SENT:
      reset_event(m, ev, "out");
      break;
    case ST_EV_ENDPOINT_SUMMARY:
      if (ev->has & ST_HAS_SUMMARY)
        summary_event(m, ev);
      break;
    case ST_EV_DNS_MESSAGE:
      if (ev->has & ST_HAS_DNS)
        dns_event(m, ev);
      break;
    case ST_EV_EVENTS_LOST:
      if (ev->has & ST_HAS_LOST)
        count(series(m, ST_M_EVENTS_LOST, NULL, NULL, st_lost_where_name(ev->lost.where)),
              ev->lost.count);
      break;
    default:
      break;
    }
    return 0;
  }
  if (ev->provider != ST_PROVIDER_AFD)
    return 0;
  bool ok = !(ev->has & ST_HAS_STATUS) || ev->status.code == ST_OK;
  switch (ev->id) {
  case ST_EV_CONNECT:
  case ST_EV_CONNECT_ADDR:
  case ST_EV_SUPER_CONNECT:
  case ST_EV_SUPER_CONNECT_ADDR:
    connect_event(m, ev);
    return 0;
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_SUPER_ACCEPT_ADDR:
    if (ev->enter_exit != ST_EE_ENTER && ok) {
      char port[8] = "";
      if (ev->has & ST_HAS_LOCAL)
        snprintf(port, sizeof port, "%u", (unsigned)ev->local.port);
      count(series(m, ST_M_ACCEPTS, ev->comm, port, NULL), 1);
    }
    return 0;
  case ST_EV_ABORT:
    if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET)
      reset_event(m, ev, "in");
    return 0;
  case ST_EV_CLOSE: {
    pending *p = ev->endpoint ? pending_get(m, ev->endpoint) : NULL;
    if (p)
      pending_del(m, p);
    return 0;
  }
  default:
    break;
  }
  if ((ev->has & ST_HAS_BYTES) && ok && ev->bytes && ev->enter_exit != ST_EE_ENTER &&
      (is_send(ev->id) || is_receive(ev->id))) {
    char remote[ST_M_LABEL_MAX];
    count(series(m, is_send(ev->id) ? ST_M_SENT_BYTES : ST_M_RECEIVED_BYTES, ev->comm,
                 socket_remote(m, ev, remote, sizeof remote), NULL),
          ev->bytes);
  }
  return 0;
}

static void metrics_close(st_sink *s) {
  metrics_sink *m = (metrics_sink *)s;
  st_m_series *e, *t;
  HASH_ITER(hh, m->table, e, t) {
    HASH_DEL(m->table, e);
    free(e);
  }
  pending *p, *pt;
  HASH_ITER(hh, m->pending, p, pt) {
    HASH_DEL(m->pending, p);
    free(p);
  }
  free(m);
}

static const st_sink_ops metrics_ops = {
    .name = "metrics", .write = metrics_write, .close = metrics_close};

int st_sink_metrics_new(const st_metrics_options *opt, st_sink **sink) {
  metrics_sink *m = calloc(1, sizeof *m);
  if (!m)
    return ST_ENOMEM;
  m->base.ops = &metrics_ops;
  m->max_series = opt && opt->max_series ? opt->max_series : ST_METRICS_MAX_SERIES_DEFAULT;
  if (!(m->seen = series(m, ST_M_EVENTS, NULL, NULL, NULL))) {
    free(m);
    return ST_ENOMEM;
  }
  *sink = &m->base;
  return 0;
}

int st_metrics_render(st_sink *sink, bool openmetrics, char **out) {
  metrics_sink *m = (metrics_sink *)sink;
  st_buf b = {0};
  m->seen->value = m->events;
  st_m_render(m->lists, openmetrics, &b);
  if (b.oom || !b.data) {
    st_buf_free(&b);
    return ST_ENOMEM;
  }
  *out = b.data;
  return (int)b.len;
}

void st_metrics_get_stats(st_sink *sink, st_metrics_stats *out) {
  metrics_sink *m = (metrics_sink *)sink;
  out->series = m->nseries;
  out->overflowed = m->overflowed;
  out->events = m->events;
}

void st_metrics_each(st_sink *sink, void (*fn)(void *arg, const st_metrics_point *p), void *arg) {
  metrics_sink *m = (metrics_sink *)sink;
  m->seen->value = m->events;
  for (int i = 0; i < ST_M_FAMILIES; i++) {
    const st_m_family *f = &st_m_families[i];
    for (const st_m_series *s = m->lists[i].head; s; s = s->next) {
      const char *v[3] = {s->key.a, s->key.b, s->key.c};
      st_metrics_point p = {.name = f->name,
                            .help = f->help,
                            .histogram = f->histogram,
                            .count = s->value,
                            .sum_ns = s->sum_ns,
                            .buckets = s->buckets};
      for (int j = 0; j < 3; j++) {
        p.label[j] = f->label[j];
        p.value[j] = f->label[j] ? v[j] : NULL;
      }
      p.label[3] = s->key.d[0] ? "container" : NULL;
      p.value[3] = s->key.d[0] ? s->key.d : NULL;
      fn(arg, &p);
    }
  }
}
