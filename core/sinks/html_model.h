/*
 * Private to the HTML report sink (html.c collects, html_page.c writes):
 * what it keeps of a trace, within stated bounds, until the session ends.
 */
#ifndef ST_SINKS_HTML_MODEL_H
#define ST_SINKS_HTML_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uthash.h>

#include "internal.h"
#include "summary_model.h"

/* Per socket the report keeps its first HTML_HEAD events, its last
 * HTML_TAIL, and up to HTML_MID notable ones (failures, resets, drops) from
 * between; the rest are counted. */
#define HTML_HEAD 32
#define HTML_MID 16
#define HTML_TAIL 16
#define HTML_LOSSES 64

/* How an event looks on the timeline, by rising severity. */
enum { H_OK, H_WARN, H_ABORT, H_RESET, H_FAIL, H_LOST, H_CLASSES };

/* A kept event: its JSON object and its text line (from the event name on),
 * in one allocation. */
typedef struct h_event {
  uint64_t ts;
  uint64_t index; /* the socket's how-manieth event */
  uint8_t cls;
  char *json, *text;
} h_event;

typedef struct h_socket {
  uint64_t endpoint, order;
  uint64_t first_ts, last_ts, n;
  uint32_t pid;
  char proc[ST_COMM_MAX + 16]; /* the summary's process key */
  st_sock_label label;
  uint8_t worst;
  bool closed;
  uint64_t rank; /* scratch: its place when sockets are shed */
  h_event head[HTML_HEAD], mid[HTML_MID];
  unsigned nhead, nmid;
  st_event *tail; /* a ring of HTML_TAIL, allocated past HTML_HEAD events */
  unsigned ntail, tail_at;
  UT_hash_handle hh;
} h_socket;

/* The sockets of one process that did not fit, folded together. */
typedef struct h_hidden {
  char proc[ST_COMM_MAX + 16];
  uint32_t pid;
  uint64_t sockets, events, failed, first_ts, last_ts;
  UT_hash_handle hh;
} h_hidden;

/* Endpoints folded while still open: their later events are counted. */
typedef struct h_gone {
  uint64_t endpoint;
  char proc[ST_COMM_MAX + 16];
  UT_hash_handle hh;
} h_gone;

typedef struct h_loss {
  uint64_t from_ns, to_ns, count;
  uint8_t where;
} h_loss;

typedef struct html_sink {
  st_out out;
  st_html_options opt;
  char source[512];
  st_trace_info info;
  bool have_info;
  st_sum_model sum;
  h_socket *sockets;
  h_hidden *hidden;
  h_gone *gone;
  uint64_t next_order, nsockets;
  uint64_t first_ts, last_ts, events;
  h_loss losses[HTML_LOSSES];
  unsigned nlosses;
  uint64_t losses_more;
  st_buf buf;
} html_sink;

/* Formats ev into a kept event (NULL strings when out of memory). */
int html_keep(h_event *k, const st_event *ev, uint64_t index, uint8_t cls, st_buf *tmp);
uint8_t html_classify(const st_event *ev);
/* Writes the page; 0 or ST_EIO / ST_ENOMEM with sink->error set. */
int html_write_page(html_sink *h, const st_counters *c);

#endif
