/*
 * Summary sink: the CI-friendly view printed when a session ends. Per
 * process and per remote endpoint: connects attempted / succeeded / failed
 * by status, accepts, bytes each way, resets; then lost events.
 *
 * Rules (documented in the README):
 * - a connect is counted at AfdConnectWithAddress enter (or at its exit if
 *   the enter was not seen); its outcome is the exit status, or for
 *   `pending` the later AfdConnect completion; one never resolved is shown
 *   as `pending`;
 * - an accept is an AfdAccept(WithAddress) exit with status ok; its remote
 *   is grouped by IP (the client's ephemeral port would make one row each);
 * - bytes come from completed send/receive calls, topped up by the socket's
 *   EndpointSummary when that says more (level 4 has no per-call events);
 * - resets: AfdAbort with reason transport_reset (received) and
 *   TcpResetSent (sent);
 * - with the longest option: a connection is an endpoint with a known peer
 *   (connected or accepted); its lifetime runs from its first to its last
 *   event, or its EndpointSummary duration when that is longer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "internal.h"
#include "socktrace/sink.h"

typedef struct row {
  char key[ST_PATH_MAX + 40];
  uint32_t pid; /* process rows: sort key */
  uint64_t attempts, ok;
  uint64_t failed[ST_CODE_COUNT]; /* by portable code; ST_PENDING = unresolved */
  uint64_t accepts;
  uint64_t bytes_sent, bytes_received;
  uint64_t resets_in, resets_out;
  UT_hash_handle hh;
} row;

typedef struct ep_state {
  uint64_t endpoint;
  uint32_t pid;
  char proc[ST_COMM_MAX + 16];
  char remote[ST_PATH_MAX + 40];
  int connecting; /* an outcome is awaited */
  uint64_t call_sent, call_received;
  uint64_t first_ts, last_ts, duration_ns;
  char local[ST_PATH_MAX + 40], peer[ST_PATH_MAX + 40];
  UT_hash_handle hh;
} ep_state;

/* Closed sockets are forgotten once CLOSED_KEEP more have closed (late
 * events such as an EndpointSummary after AfdClose still find them), so
 * memory stays bounded on a long trace; the longest-lived of those
 * forgotten are kept, as copies, for the longest-lived table. */
#define CLOSED_KEEP 4096
#define LONGEST_KEEP 64

typedef struct summary_sink {
  st_out out;
  row *procs, *remotes;
  ep_state *eps;
  st_summary_options opt;
  uint64_t closed[CLOSED_KEEP];
  size_t closed_head, closed_n;
  ep_state longest[LONGEST_KEEP];
  size_t nlongest;
} summary_sink;

static row *get_row(row **table, const char *key, uint32_t pid) {
  row *r = NULL;
  HASH_FIND_STR(*table, key, r);
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r)
      return NULL;
    snprintf(r->key, sizeof r->key, "%s", key);
    r->pid = pid;
    HASH_ADD_STR(*table, key, r);
  }
  return r;
}

static void proc_key(const st_event *ev, char *buf, size_t len) {
  char comm[ST_COMM_MAX + 1];
  memcpy(comm, ev->comm, ST_COMM_MAX);
  comm[ST_COMM_MAX] = 0;
  if (!ev->pid && ev->os == ST_OS_WIRE)
    snprintf(buf, len, "(wire)");
  else
    snprintf(buf, len, "%s[%" PRIu32 "]", comm[0] ? comm : "?", ev->pid);
}

static ep_state *get_ep(summary_sink *s, const st_event *ev) {
  ep_state *e = NULL;
  uint64_t key = ev->endpoint;
  HASH_FIND(hh, s->eps, &key, sizeof key, e);
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e)
      return NULL;
    e->endpoint = key;
    HASH_ADD(hh, s->eps, endpoint, sizeof e->endpoint, e);
  }
  if (!e->first_ts || ev->ts_ns < e->first_ts)
    e->first_ts = ev->ts_ns;
  if (ev->ts_ns > e->last_ts)
    e->last_ts = ev->ts_ns;
  if (!e->proc[0] || (ev->pid && !e->pid)) {
    proc_key(ev, e->proc, sizeof e->proc);
    e->pid = ev->pid;
  }
  return e;
}

/* Both rows an event counts in: its process and its remote (if known). */
typedef struct rows2 {
  row *proc, *remote;
} rows2;

static rows2 rows_for(summary_sink *s, const ep_state *e, const char *remote) {
  rows2 r = {get_row(&s->procs, e->proc, e->pid), NULL};
  if (remote && *remote)
    r.remote = get_row(&s->remotes, remote, 0);
  return r;
}

static void count_outcome(rows2 r, const st_status *st) {
  row *both[2] = {r.proc, r.remote};
  for (int i = 0; i < 2; i++) {
    if (!both[i])
      continue;
    if (st->code == ST_OK)
      both[i]->ok++;
    else if (st->code < ST_CODE_COUNT)
      both[i]->failed[st->code]++;
  }
}

static void add(rows2 r, size_t field_offset, uint64_t n) {
  if (r.proc)
    *(uint64_t *)((char *)r.proc + field_offset) += n;
  if (r.remote)
    *(uint64_t *)((char *)r.remote + field_offset) += n;
}

static bool is_send(uint16_t id) {
  return id == ST_EV_SEND || id == ST_EV_SENDTO || id == ST_EV_SENDTO_ADDR || id == ST_EV_SENDMSG ||
         id == ST_EV_SENDMSG_ADDR;
}

static bool is_receive(uint16_t id) {
  return id == ST_EV_RECEIVE || id == ST_EV_RECEIVEFROM || id == ST_EV_RECEIVEFROM_ADDR ||
         id == ST_EV_RECEIVEMSG || id == ST_EV_RECEIVEMSG_ADDR;
}

static uint64_t lifetime(const ep_state *e) {
  uint64_t span = e->last_ts - e->first_ts;
  return e->duration_ns > span ? e->duration_ns : span;
}

static unsigned longest_max(const summary_sink *s) {
  unsigned max = s->opt.longest_max ? s->opt.longest_max : 10;
  return max < LONGEST_KEEP ? max : LONGEST_KEEP;
}

/* Keeps a copy of e if it is among the longest-lived forgotten sockets. */
static void offer_longest(summary_sink *s, const ep_state *e) {
  if (!e->peer[0])
    return;
  size_t at = s->nlongest;
  if (s->nlongest == longest_max(s)) {
    at = 0;
    for (size_t i = 1; i < s->nlongest; i++)
      if (lifetime(&s->longest[i]) < lifetime(&s->longest[at]))
        at = i;
    if (lifetime(e) <= lifetime(&s->longest[at]))
      return;
  } else {
    s->nlongest++;
  }
  s->longest[at] = *e;
  memset(&s->longest[at].hh, 0, sizeof s->longest[at].hh);
}

static void closed(summary_sink *s, uint64_t endpoint) {
  if (s->closed_n == CLOSED_KEEP) { /* forget the oldest closed socket */
    uint64_t key = s->closed[s->closed_head];
    ep_state *old = NULL;
    HASH_FIND(hh, s->eps, &key, sizeof key, old);
    if (old) {
      offer_longest(s, old);
      HASH_DEL(s->eps, old);
      free(old);
    }
    s->closed_head = (s->closed_head + 1) % CLOSED_KEEP;
    s->closed_n--;
  }
  s->closed[(s->closed_head + s->closed_n) % CLOSED_KEEP] = endpoint;
  s->closed_n++;
}

static int summary_write(st_sink *sk, const st_event *ev) {
  summary_sink *s = (summary_sink *)sk;
  if (ev->provider == ST_PROVIDER_CATALOG || !ev->endpoint)
    return 0;
  ep_state *e = get_ep(s, ev);
  if (!e)
    return ST_ENOMEM;
  char remote[sizeof e->remote] = "";
  if (ev->has & ST_HAS_REMOTE)
    st_addr_format(&ev->remote, remote, sizeof remote);
  if ((ev->has & ST_HAS_LOCAL) && ev->local.family)
    st_addr_format(&ev->local, e->local, sizeof e->local);
  if (!e->peer[0] && st_event_remote_is_peer(ev))
    memcpy(e->peer, remote, sizeof remote);
  bool ok_status = !(ev->has & ST_HAS_STATUS) || ev->status.code == ST_OK;

  if (ev->provider == ST_PROVIDER_AFD) {
    switch (ev->id) {
    case ST_EV_CONNECT_ADDR:
    case ST_EV_SUPER_CONNECT_ADDR:
      if (remote[0])
        memcpy(e->remote, remote, sizeof remote);
      if (ev->enter_exit == ST_EE_ENTER || !e->connecting) {
        if (!e->connecting)
          add(rows_for(s, e, e->remote), offsetof(row, attempts), 1);
        e->connecting = 1;
      }
      if (ev->enter_exit != ST_EE_ENTER && (ev->has & ST_HAS_STATUS) &&
          ev->status.code != ST_PENDING && ev->status.code != ST_WOULD_BLOCK) {
        count_outcome(rows_for(s, e, e->remote), &ev->status);
        e->connecting = 0;
      }
      return 0;
    case ST_EV_CONNECT:
    case ST_EV_SUPER_CONNECT:
      if (e->connecting && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING) {
        count_outcome(rows_for(s, e, e->remote), &ev->status);
        e->connecting = 0;
      }
      return 0;
    case ST_EV_ACCEPT:
    case ST_EV_ACCEPT_ADDR:
    case ST_EV_SUPER_ACCEPT:
    case ST_EV_SUPER_ACCEPT_ADDR:
      if (ev->enter_exit == ST_EE_ENTER || !ok_status)
        return 0;
      if (ev->has & ST_HAS_REMOTE) {
        st_addr_format_ip(&ev->remote, remote, sizeof remote - 2);
        strcat(remote, ":*");
      }
      add(rows_for(s, e, remote), offsetof(row, accepts), 1);
      /* The accepted socket's traffic belongs to the same client. */
      if (ev->has & ST_HAS_ACCEPT_EP) {
        st_event child = *ev;
        child.endpoint = ev->accept_endpoint;
        ep_state *c = get_ep(s, &child);
        if (c) {
          memcpy(c->remote, remote, sizeof remote);
          if (ev->has & ST_HAS_REMOTE)
            st_addr_format(&ev->remote, c->peer, sizeof c->peer);
          if (ev->has & ST_HAS_LOCAL)
            st_addr_format(&ev->local, c->local, sizeof c->local);
        }
      } else {
        memcpy(e->remote, remote, sizeof remote);
      }
      return 0;
    case ST_EV_ABORT:
      if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET)
        add(rows_for(s, e, e->remote), offsetof(row, resets_in), 1);
      return 0;
    case ST_EV_CLOSE:
      closed(s, ev->endpoint);
      return 0;
    default:
      break;
    }
    bool snd = is_send(ev->id), rcv = is_receive(ev->id);
    if ((snd || rcv) && (ev->has & ST_HAS_BYTES) && ok_status && ev->enter_exit != ST_EE_ENTER) {
      /* Datagrams name their own peer; streams use the socket's. */
      rows2 r = rows_for(s, e, remote[0] ? remote : e->remote);
      if (snd) {
        add(r, offsetof(row, bytes_sent), ev->bytes);
        e->call_sent += ev->bytes;
      } else {
        add(r, offsetof(row, bytes_received), ev->bytes);
        e->call_received += ev->bytes;
      }
    }
    return 0;
  }
  if (ev->provider == ST_PROVIDER_EXT) {
    if (ev->id == ST_EV_TCP_RESET_SENT) {
      add(rows_for(s, e, e->remote[0] ? e->remote : remote), offsetof(row, resets_out), 1);
    } else if (ev->id == ST_EV_ENDPOINT_SUMMARY && (ev->has & ST_HAS_SUMMARY)) {
      rows2 r = rows_for(s, e, e->remote[0] ? e->remote : remote);
      if (ev->summary.duration_ns > e->duration_ns)
        e->duration_ns = ev->summary.duration_ns;
      if (ev->summary.bytes_sent > e->call_sent) {
        add(r, offsetof(row, bytes_sent), ev->summary.bytes_sent - e->call_sent);
        e->call_sent = ev->summary.bytes_sent;
      }
      if (ev->summary.bytes_received > e->call_received) {
        add(r, offsetof(row, bytes_received), ev->summary.bytes_received - e->call_received);
        e->call_received = ev->summary.bytes_received;
      }
    }
  }
  return 0;
}

static int by_pid(row *a, row *b) {
  if (a->pid != b->pid)
    return a->pid < b->pid ? -1 : 1;
  return strcmp(a->key, b->key);
}

static int by_key(row *a, row *b) {
  return strcmp(a->key, b->key);
}

static void print_table(FILE *out, const char *title, const char *col, row *table) {
  fprintf(out, "\n%s\n", title);
  if (!table) {
    fprintf(out, "  (none)\n");
    return;
  }
  fprintf(out, "  %-32s %8s %6s %7s %7s %12s %12s %7s %7s  %s\n", col, "CONNECTS", "OK", "FAILED",
          "ACCEPTS", "SENT", "RECEIVED", "RST-IN", "RST-OUT", "FAILURES");
  row *r, *tmp;
  HASH_ITER(hh, table, r, tmp) {
    uint64_t failed = 0;
    char reasons[512] = "";
    size_t rl = 0;
    for (int c = 0; c < ST_CODE_COUNT; c++) {
      if (!r->failed[c])
        continue;
      failed += r->failed[c];
      rl +=
          (size_t)snprintf(reasons + rl, rl < sizeof reasons ? sizeof reasons - rl : 0,
                           "%s%s %" PRIu64, rl ? ", " : "", st_code_name((st_code)c), r->failed[c]);
    }
    uint64_t pending = r->attempts > r->ok + failed ? r->attempts - r->ok - failed : 0;
    if (pending)
      snprintf(reasons + rl, rl < sizeof reasons ? sizeof reasons - rl : 0, "%sunfinished %" PRIu64,
               rl ? ", " : "", pending);
    fprintf(out,
            "  %-32s %8" PRIu64 " %6" PRIu64 " %7" PRIu64 " %7" PRIu64 " %12" PRIu64 " %12" PRIu64
            " %7" PRIu64 " %7" PRIu64 "  %s\n",
            r->key, r->attempts, r->ok, failed, r->accepts, r->bytes_sent, r->bytes_received,
            r->resets_in, r->resets_out, reasons[0] ? reasons : "-");
  }
}

static int cmp_lifetime(const void *a, const void *b) {
  const ep_state *x = *(const ep_state *const *)a, *y = *(const ep_state *const *)b;
  uint64_t lx = lifetime(x), ly = lifetime(y);
  if (lx != ly)
    return lx > ly ? -1 : 1;
  return x->endpoint < y->endpoint ? -1 : x->endpoint > y->endpoint;
}

static void print_longest(summary_sink *s) {
  FILE *out = s->out.file;
  unsigned max = longest_max(s), n = 0;
  fprintf(out, "\nLongest-lived connections\n");
  /* Candidates: the sockets still remembered and the forgotten longest. */
  size_t cap = HASH_COUNT(s->eps) + s->nlongest, nc = 0;
  const ep_state **c = malloc((cap ? cap : 1) * sizeof *c);
  if (!c)
    return;
  ep_state *e, *tmp;
  HASH_ITER(hh, s->eps, e, tmp) {
    if (e->peer[0])
      c[nc++] = e;
  }
  for (size_t i = 0; i < s->nlongest; i++)
    c[nc++] = &s->longest[i];
  qsort(c, nc, sizeof *c, cmp_lifetime);
  for (size_t i = 0; i < nc && n < max; i++, n++) {
    const ep_state *x = c[i];
    if (!n)
      fprintf(out, "  %-24s %-18s %-48s %12s %12s %12s\n", "PROCESS", "ENDPOINT", "LOCAL -> REMOTE",
              "LIFETIME", "SENT", "RECEIVED");
    char conn[2 * sizeof x->peer + 8], ep[24];
    snprintf(conn, sizeof conn, "%s -> %s", x->local[0] ? x->local : "?", x->peer);
    snprintf(ep, sizeof ep, "0x%" PRIx64, x->endpoint);
    uint64_t ns = lifetime(x);
    fprintf(out, "  %-24s %-18s %-48s %8" PRIu64 ".%03" PRIu64 "ms %12" PRIu64 " %12" PRIu64 "\n",
            x->proc, ep, conn, ns / 1000000, ns / 1000 % 1000, x->call_sent, x->call_received);
  }
  free(c);
  if (!n)
    fprintf(out, "  (none)\n");
}

static int summary_end(st_sink *sk, const st_counters *c) {
  summary_sink *s = (summary_sink *)sk;
  HASH_SORT(s->procs, by_pid);
  HASH_SORT(s->remotes, by_key);
  FILE *out = s->out.file;
  fprintf(out,
          "\nsocktrace summary: %" PRIu64 " events seen, %" PRIu64 " shown, %" PRIu64
          " filtered out, %" PRIu64 " lost\n",
          c->seen, c->delivered, c->filtered, c->lost);
  print_table(out, "By process", "PROCESS", s->procs);
  print_table(out, "By remote endpoint", "REMOTE", s->remotes);
  if (s->opt.longest)
    print_longest(s);
  if (c->lost)
    fprintf(out, "\nLOST EVENTS: %" PRIu64 " (see EventsLost records; raise the buffer size)\n",
            c->lost);
  else
    fprintf(out, "\nLost events: 0\n");
  return st_out_flush(sk);
}

static void summary_close(st_sink *sk) {
  summary_sink *s = (summary_sink *)sk;
  row *r, *tmp;
  HASH_ITER(hh, s->procs, r, tmp) {
    HASH_DEL(s->procs, r);
    free(r);
  }
  HASH_ITER(hh, s->remotes, r, tmp) {
    HASH_DEL(s->remotes, r);
    free(r);
  }
  ep_state *e, *etmp;
  HASH_ITER(hh, s->eps, e, etmp) {
    HASH_DEL(s->eps, e);
    free(e);
  }
  st_out_close(sk);
}

static const st_sink_ops summary_ops = {
    .name = "summary", .write = summary_write, .end = summary_end, .close = summary_close};

int st_sink_summary_new_opts(FILE *out, const st_summary_options *opt, st_sink **sink) {
  summary_sink *s = st_out_new(sizeof *s, &summary_ops, out, "the summary");
  if (!s)
    return ST_ENOMEM;
  if (opt)
    s->opt = *opt;
  *sink = &s->out.base;
  return 0;
}

int st_sink_summary_new(FILE *out, st_sink **sink) {
  return st_sink_summary_new_opts(out, NULL, sink);
}
