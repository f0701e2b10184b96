/*
 * HTML report sink (`socktrace report FILE -f html -o report.html`): one
 * self-contained page per trace, written when the session ends. This file
 * collects what the page shows; html_page.c writes it.
 *
 * Memory and the page stay bounded on any trace: at most max_sockets
 * sockets are drawn one row each (when 1.5 times as many are held, the
 * least notable go: the longest-lived tenth stays, then failures, resets,
 * aborts and drops taking turns, then the longest-lived); the others are
 * folded into one row per process that says how many are hidden. Per socket it keeps HTML_HEAD +
 * HTML_MID + HTML_TAIL events (html_model.h), and the page embeds at most max_events of those with
 * their fields. The summary tables come from the summary sink's model, so they count exactly as `-f
 * summary` does.
 */
#include <stdlib.h>
#include <string.h>

#include "html_model.h"
#include "socktrace/sink.h"

uint8_t html_classify(const st_event *ev) {
  if (ev->provider == ST_PROVIDER_EXT) {
    switch (ev->id) {
    case ST_EV_EVENTS_LOST:
      return H_LOST;
    case ST_EV_TCP_RESET_SENT:
      return H_ABORT;
    case ST_EV_TCP_RETRANSMIT:
    case ST_EV_KERNEL_DROP:
    case ST_EV_DECODE_ERROR:
      return H_WARN;
    default:
      break;
    }
  } else if (ev->provider == ST_PROVIDER_AFD) {
    if (ev->id == ST_EV_ABORT)
      return (ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET ? H_RESET
                                                                                 : H_ABORT;
    if (ev->id == ST_EV_DATAGRAM_DROP_ADDR)
      return H_WARN;
  }
  if (!(ev->has & ST_HAS_STATUS))
    return H_OK;
  switch (ev->status.code) {
  case ST_OK:
  case ST_PENDING:
  case ST_WOULD_BLOCK:
    return H_OK;
  case ST_RESET:
  case ST_ABORTED:
    return H_RESET;
  default:
    return H_FAIL;
  }
}

int html_keep(h_event *k, const st_event *ev, uint64_t index, uint8_t cls, st_buf *tmp) {
  st_buf_reset(tmp);
  st_event_json_append(tmp, ev);
  size_t json_len = tmp->len;
  st_buf_add(tmp, "", 1); /* the NUL between the two strings */
  st_event_text_body_append(tmp, ev, NULL);
  k->ts = ev->ts_ns;
  k->index = index;
  k->cls = cls;
  k->json = k->text = NULL;
  if (tmp->oom || !(k->json = malloc(tmp->len + 1)))
    return ST_ENOMEM;
  memcpy(k->json, tmp->data, tmp->len + 1);
  k->text = k->json + json_len + 1;
  return 0;
}

static void free_socket(h_socket *k) {
  for (unsigned i = 0; i < k->nhead; i++)
    free(k->head[i].json);
  for (unsigned i = 0; i < k->nmid; i++)
    free(k->mid[i].json);
  free(k->tail);
  free(k);
}

static uint64_t life(const h_socket *k) {
  return k->last_ts - k->first_ts;
}

/* Within one kind of outcome: the longest-lived, then the earliest. */
static int by_kind_then_life(const void *a, const void *b) {
  const h_socket *x = *(h_socket *const *)a, *y = *(h_socket *const *)b;
  if (x->worst != y->worst)
    return x->worst > y->worst ? -1 : 1;
  if (life(x) != life(y))
    return life(x) > life(y) ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int by_life(const void *a, const void *b) {
  const h_socket *x = *(h_socket *const *)a, *y = *(h_socket *const *)b;
  if (life(x) != life(y))
    return life(x) > life(y) ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* rank: 0 for the longest-lived tenth of the kept ones; then notable
 * sockets taking turns by kind (the first failure, the first reset, ...,
 * the second failure, ...), so no kind crowds out the others; then the
 * rest by lifetime. */
static int by_rank(const void *a, const void *b) {
  const h_socket *x = *(h_socket *const *)a, *y = *(h_socket *const *)b;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  if (x->worst != y->worst)
    return x->worst > y->worst ? -1 : 1;
  return by_life(a, b);
}

static void rank_sockets(h_socket **all, size_t m, size_t keep) {
  qsort(all, m, sizeof *all, by_life);
  for (size_t i = 0; i < m; i++)
    all[i]->rank = i < keep / 10 ? 0 : UINT64_MAX;
  qsort(all, m, sizeof *all, by_kind_then_life);
  uint64_t in_kind = 0;
  for (size_t i = 0; i < m; i++) {
    in_kind = i && all[i]->worst == all[i - 1]->worst ? in_kind + 1 : 0;
    if (all[i]->rank)
      all[i]->rank = all[i]->worst == H_OK ? (uint64_t)m + 1 + in_kind : 1 + in_kind;
  }
  qsort(all, m, sizeof *all, by_rank);
}

static int fold(html_sink *h, h_socket *k) {
  h_hidden *g = NULL;
  HASH_FIND_STR(h->hidden, k->proc, g);
  if (!g) {
    if (!(g = calloc(1, sizeof *g)))
      return ST_ENOMEM;
    memcpy(g->proc, k->proc, sizeof g->proc);
    g->pid = k->pid;
    g->first_ts = k->first_ts;
    HASH_ADD_STR(h->hidden, proc, g);
  }
  g->sockets++;
  g->events += k->n;
  g->failed += k->worst >= H_ABORT;
  if (k->first_ts < g->first_ts)
    g->first_ts = k->first_ts;
  if (k->last_ts > g->last_ts)
    g->last_ts = k->last_ts;
  if (!k->closed) {
    h_gone *x = calloc(1, sizeof *x);
    if (!x)
      return ST_ENOMEM;
    x->endpoint = k->endpoint;
    memcpy(x->proc, k->proc, sizeof x->proc);
    HASH_ADD(hh, h->gone, endpoint, sizeof x->endpoint, x);
  }
  return 0;
}

/* Folds all but the max_sockets most interesting sockets. */
static int html_shed(html_sink *h, unsigned keep) {
  size_t n = HASH_COUNT(h->sockets), m = 0;
  h_socket **all = malloc((n ? n : 1) * sizeof *all), *k, *tmp;
  if (!all)
    return ST_ENOMEM;
  HASH_ITER(hh, h->sockets, k, tmp) {
    if (k->endpoint) /* the socket-less events always stay */
      all[m++] = k;
  }
  int rc = 0;
  if (m > keep) {
    rank_sockets(all, m, keep);
    for (size_t i = keep; i < m; i++) {
      if (rc == 0)
        rc = fold(h, all[i]);
      HASH_DEL(h->sockets, all[i]);
      free_socket(all[i]);
    }
  }
  free(all);
  return rc;
}

static h_socket *get_socket(html_sink *h, const st_event *ev, int *rc) {
  h_socket *k = NULL;
  HASH_FIND(hh, h->sockets, &ev->endpoint, sizeof ev->endpoint, k);
  if (k)
    return k;
  if (HASH_COUNT(h->sockets) >= h->opt.max_sockets + h->opt.max_sockets / 2 + 1 &&
      (*rc = html_shed(h, h->opt.max_sockets)) < 0)
    return NULL;
  if (!(k = calloc(1, sizeof *k))) {
    *rc = ST_ENOMEM;
    return NULL;
  }
  k->endpoint = ev->endpoint;
  k->order = h->next_order++;
  k->first_ts = k->last_ts = ev->ts_ns;
  h->nsockets += ev->endpoint != 0;
  HASH_ADD(hh, h->sockets, endpoint, sizeof k->endpoint, k);
  return k;
}

/* Keeps ev among k's events: the first ones, then a ring of the last ones
 * whose notable leavers fill the middle. */
static int keep_event(html_sink *h, h_socket *k, const st_event *ev, uint8_t cls) {
  uint64_t index = k->n++;
  if (k->nhead < HTML_HEAD)
    return html_keep(&k->head[k->nhead++], ev, index, cls, &h->buf);
  if (!k->tail && !(k->tail = malloc(HTML_TAIL * sizeof *k->tail)))
    return ST_ENOMEM;
  if (k->ntail == HTML_TAIL) {
    const st_event *old = &k->tail[k->tail_at];
    uint8_t old_cls = html_classify(old);
    if (old_cls != H_OK && k->nmid < HTML_MID) {
      int rc = html_keep(&k->mid[k->nmid++], old, index - HTML_TAIL, old_cls, &h->buf);
      if (rc < 0)
        return rc;
    }
    k->tail[k->tail_at] = *ev;
    k->tail_at = (k->tail_at + 1) % HTML_TAIL;
  } else {
    k->tail[k->ntail++] = *ev;
  }
  return 0;
}

static void note_process(h_socket *k, const st_event *ev) {
  if (!k->proc[0] || (ev->pid && !k->pid)) {
    st_sum_proc_key(ev, k->proc, sizeof k->proc);
    k->pid = ev->pid;
  }
}

static void note_loss(html_sink *h, const st_event *ev) {
  if (!(ev->has & ST_HAS_LOST))
    return;
  if (h->nlosses == HTML_LOSSES) {
    h->losses_more += ev->lost.count;
    return;
  }
  h_loss *l = &h->losses[h->nlosses++];
  l->count = ev->lost.count;
  l->where = ev->lost.where;
  l->from_ns = ev->lost.from_ns ? ev->lost.from_ns : ev->ts_ns;
  l->to_ns = ev->lost.to_ns > l->from_ns ? ev->lost.to_ns : l->from_ns;
}

/* An event of a socket folded while open: counted with its process. */
static bool gone_event(html_sink *h, const st_event *ev) {
  h_gone *x = NULL;
  if (!h->gone || !ev->endpoint)
    return false;
  HASH_FIND(hh, h->gone, &ev->endpoint, sizeof ev->endpoint, x);
  if (!x)
    return false;
  h_hidden *g = NULL;
  HASH_FIND_STR(h->hidden, x->proc, g);
  if (g) {
    g->events++;
    if (ev->ts_ns > g->last_ts)
      g->last_ts = ev->ts_ns;
  }
  if (ev->provider == ST_PROVIDER_AFD && ev->id == ST_EV_CLOSE) {
    HASH_DEL(h->gone, x);
    free(x);
  }
  return true;
}

static int html_write(st_sink *s, const st_event *ev) {
  html_sink *h = (html_sink *)s;
  int rc = st_sum_add(&h->sum, ev);
  if (rc < 0)
    return rc;
  if (!h->events++ || ev->ts_ns < h->first_ts)
    h->first_ts = ev->ts_ns;
  if (ev->ts_ns > h->last_ts)
    h->last_ts = ev->ts_ns;
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_EVENTS_LOST)
    note_loss(h, ev);
  if (gone_event(h, ev))
    return 0;
  h_socket *k = get_socket(h, ev, &rc);
  if (!k)
    return rc;
  if (ev->ts_ns < k->first_ts || !k->n)
    k->first_ts = ev->ts_ns;
  if (ev->ts_ns > k->last_ts)
    k->last_ts = ev->ts_ns;
  uint8_t cls = html_classify(ev);
  if (cls > k->worst)
    k->worst = cls;
  if (ev->provider == ST_PROVIDER_AFD && ev->id == ST_EV_CLOSE)
    k->closed = true;
  st_sock_label_note(&k->label, ev);
  note_process(k, ev);
  if ((rc = keep_event(h, k, ev, cls)) < 0)
    return rc;
  if (ev->has & ST_HAS_ACCEPT_EP) {
    /* The accepted socket's addresses and owner are the accept's. */
    st_event child = *ev;
    child.endpoint = ev->accept_endpoint;
    if (gone_event(h, &child))
      return 0;
    h_socket *a = get_socket(h, &child, &rc);
    if (!a)
      return rc;
    st_accepted_addresses(ev, a->label.local, a->label.remote, sizeof a->label.local);
    note_process(a, ev);
  }
  return 0;
}

static int html_begin(st_sink *s, const st_trace_info *info) {
  html_sink *h = (html_sink *)s;
  h->info = *info;
  h->have_info = true;
  return 0;
}

static int html_end(st_sink *s, const st_counters *c) {
  html_sink *h = (html_sink *)s;
  int rc = html_shed(h, h->opt.max_sockets);
  if (rc == 0)
    rc = html_write_page(h, c);
  return rc == 0 ? st_out_flush(s) : rc;
}

static void html_close(st_sink *s) {
  html_sink *h = (html_sink *)s;
  ST_HASH_FREE_ALL(h_socket, h->sockets, free_socket);
  ST_HASH_FREE_ALL(h_hidden, h->hidden, free);
  ST_HASH_FREE_ALL(h_gone, h->gone, free);
  st_sum_free(&h->sum);
  st_buf_free(&h->buf);
  st_out_close(s);
}

static const st_sink_ops html_ops = {
    .name = "html", .begin = html_begin, .write = html_write, .end = html_end, .close = html_close};

int st_sink_html_new(FILE *out, const st_html_options *opt, st_sink **sink) {
  html_sink *h = st_out_new(sizeof *h, &html_ops, out, "the HTML report");
  if (!h)
    return ST_ENOMEM;
  if (opt)
    h->opt = *opt;
  snprintf(h->source, sizeof h->source, "%s", h->opt.source ? h->opt.source : "");
  h->opt.source = h->source;
  if (!h->opt.max_sockets)
    h->opt.max_sockets = 1000;
  if (!h->opt.max_events)
    h->opt.max_events = 25000;
  st_sum_init(&h->sum, 10);
  *sink = &h->out.base;
  return 0;
}
