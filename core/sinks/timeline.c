/*
 * Timeline sink (`socktrace report --timeline`): per socket, every event in
 * order with its time relative to the socket's first event, so one
 * connection's story reads top to bottom:
 *
 *   ep=0x101 curl[4242] tcp 127.0.0.1:40000 -> 127.0.0.1:9, from 19:21:13.101030
 *     +0.000000s  AfdCreate exit ep=0x101 tcp status=ok
 *     +0.000015s  AfdConnectWithAddress enter ep=0x101 remote 127.0.0.1:9
 *
 * Sockets are listed by their first event. It is a report view: it keeps
 * one line per event until the session ends.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "internal.h"
#include "socktrace/sink.h"

typedef struct tl_line {
  uint64_t ts;
  char *text;
} tl_line;

typedef struct tl_socket {
  uint64_t endpoint;
  uint64_t first_ts, order;
  st_sock_label label;
  tl_line *lines;
  size_t n, cap;
  UT_hash_handle hh;
} tl_socket;

typedef struct timeline_sink {
  st_out out;
  tl_socket *sockets;
  uint64_t next_order;
} timeline_sink;

static tl_socket *get_socket(timeline_sink *t, const st_event *ev) {
  tl_socket *k = NULL;
  HASH_FIND(hh, t->sockets, &ev->endpoint, sizeof ev->endpoint, k);
  if (k)
    return k;
  k = calloc(1, sizeof *k);
  if (!k)
    return NULL;
  k->endpoint = ev->endpoint;
  k->first_ts = ev->ts_ns;
  k->order = t->next_order++;
  HASH_ADD(hh, t->sockets, endpoint, sizeof k->endpoint, k);
  return k;
}

static int timeline_write(st_sink *s, const st_event *ev) {
  timeline_sink *t = (timeline_sink *)s;
  tl_socket *k = get_socket(t, ev);
  if (!k)
    return ST_ENOMEM;
  if (k->n == k->cap) {
    size_t cap = k->cap ? k->cap * 2 : 16;
    tl_line *n = realloc(k->lines, cap * sizeof *n);
    if (!n)
      return ST_ENOMEM;
    k->lines = n;
    k->cap = cap;
  }
  st_buf_reset(&t->out.line);
  st_event_text_body_append(&t->out.line, ev, NULL);
  if (t->out.line.oom || !(k->lines[k->n].text = strdup(t->out.line.data ? t->out.line.data : "")))
    return ST_ENOMEM;
  k->lines[k->n++].ts = ev->ts_ns;
  if (k->n == 1 || ev->ts_ns < k->first_ts)
    k->first_ts = ev->ts_ns;
  st_sock_label_note(&k->label, ev);
  if (ev->has & ST_HAS_ACCEPT_EP) {
    /* The accepted socket's addresses are the accept's. */
    st_event child = *ev;
    child.endpoint = ev->accept_endpoint;
    tl_socket *a = get_socket(t, &child);
    if (!a)
      return ST_ENOMEM;
    st_accepted_addresses(ev, a->label.local, a->label.remote, sizeof a->label.local);
  }
  return 0;
}

static int by_first(tl_socket *a, tl_socket *b) {
  /* The socket-less events (endpoint 0) go last. */
  if ((a->endpoint == 0) != (b->endpoint == 0))
    return a->endpoint == 0 ? 1 : -1;
  if (a->first_ts != b->first_ts)
    return a->first_ts < b->first_ts ? -1 : 1;
  return a->order < b->order ? -1 : 1;
}

static int timeline_end(st_sink *s, const st_counters *c) {
  timeline_sink *t = (timeline_sink *)s;
  FILE *out = t->out.file;
  HASH_SORT(t->sockets, by_first);
  fprintf(out, "\nTimeline (per socket; times relative to its first event)\n");
  if (!t->sockets)
    fprintf(out, "  (none)\n");
  tl_socket *k, *tmp;
  HASH_ITER(hh, t->sockets, k, tmp) {
    if (!k->n)
      continue; /* named by an accept, never seen itself */
    st_buf_reset(&t->out.line);
    st_sock_label_heading(&t->out.line, k->endpoint, &k->label, k->first_ts);
    fprintf(out, "\n  %s\n", t->out.line.data ? t->out.line.data : "");
    /* Insertion sort: stable (equal times keep their order of arrival) and
     * linear on the usual, already ordered input. */
    for (size_t i = 1; i < k->n; i++) {
      tl_line x = k->lines[i];
      size_t j = i;
      for (; j > 0 && k->lines[j - 1].ts > x.ts; j--)
        k->lines[j] = k->lines[j - 1];
      k->lines[j] = x;
    }
    for (size_t i = 0; i < k->n; i++) {
      st_buf_reset(&t->out.line);
      st_timeline_offset(&t->out.line, k->lines[i].ts - k->first_ts);
      fprintf(out, "    %s  %s\n", t->out.line.data ? t->out.line.data : "", k->lines[i].text);
    }
  }
  return st_out_flush(s);
}

static void timeline_close(st_sink *s) {
  timeline_sink *t = (timeline_sink *)s;
  tl_socket *k, *tmp;
  HASH_ITER(hh, t->sockets, k, tmp) {
    HASH_DEL(t->sockets, k);
    for (size_t i = 0; i < k->n; i++)
      free(k->lines[i].text);
    free(k->lines);
    free(k);
  }
  st_out_close(s);
}

static const st_sink_ops timeline_ops = {
    .name = "timeline", .write = timeline_write, .end = timeline_end, .close = timeline_close};

int st_sink_timeline_new(FILE *out, st_sink **sink) {
  timeline_sink *t = st_out_new(sizeof *t, &timeline_ops, out, "the timeline");
  if (!t)
    return ST_ENOMEM;
  *sink = &t->out.base;
  return 0;
}
