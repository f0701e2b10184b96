/*
 * Private helpers shared by core and its sinks. Never included by backends
 * or public headers.
 */
#ifndef ST_CORE_INTERNAL_H
#define ST_CORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "socktrace/sink.h"

/* A growable text buffer that never fails mid-line: on allocation failure
 * it keeps what it has and sets oom. */
typedef struct st_buf {
  char *data;
  size_t len, cap;
  int oom;
} st_buf;

void st_buf_reset(st_buf *b);
void st_buf_free(st_buf *b);
void st_buf_add(st_buf *b, const char *s, size_t n);
void st_buf_puts(st_buf *b, const char *s);
void st_buf_printf(st_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Copies b into buf (NUL-terminated, cut to len), frees b, and returns the
 * length b had, like snprintf. */
int st_buf_take(st_buf *b, char *buf, size_t len);
/* Appends s as a JSON string literal, quotes included. */
void st_buf_json_string(st_buf *b, const char *s);

/* A sink that writes text to a FILE: the line being built, and the one way
 * a failed write or flush becomes the sink's error line ("cannot write
 * <what>: <words>"). A sink type starts with it ({st_out out; ...}), so
 * st_out_flush and st_out_close can be its ops. The FILE is never closed. */
typedef struct st_out {
  st_sink base;
  FILE *file;
  const char *what; /* what could not be written: "JSON output" */
  st_buf line;
} st_out;

/* Allocates size bytes (zeroed) of a sink type that starts with st_out and
 * sets the st_out up; NULL when out of memory. */
void *st_out_new(size_t size, const st_sink_ops *ops, FILE *file, const char *what);
/* Writes n bytes: 0, or ST_EIO with the error line. */
int st_out_write(st_out *o, const char *s, size_t n);
/* Writes what was built in o->line: ST_ENOMEM when building it ran out of
 * memory, else as st_out_write. */
int st_out_put_line(st_out *o);
/* ops->flush (and the last step of an end()): fflush, ST_EIO on failure. */
int st_out_flush(st_sink *s);
/* ops->close: frees the line and the sink. */
void st_out_close(st_sink *s);

/* "2026-11-25T19:21:13.123456789Z" (date=1) or "19:21:13.123456" (date=0),
 * always UTC. */
int st_format_utc(uint64_t ns, int date, char *buf, size_t len);
/* The same in the host's local time zone, for the text sink's option. */
int st_format_local(uint64_t ns, char *buf, size_t len);
/* Parses the RFC 3339 form written by st_format_utc; 0 or -1. */
int st_parse_utc(const char *s, uint64_t *ns);

/* One event as JSON (the jsonl sink's form), appended to b. */
struct st_event;
void st_event_json_append(st_buf *b, const struct st_event *ev);
/* One event as JSON (the jsonl sink's form) or as a text line (the text
 * sink's form), appended to b. */
void st_event_json_append(st_buf *b, const st_event *ev);
void st_event_text_append(st_buf *b, const st_event *ev, const st_text_options *opt);
/* The text line without its time and process: from the event name on. */
void st_event_text_body_append(st_buf *b, const st_event *ev, const st_text_options *opt);

/* A table for the terminal (columns fitted to their widest cell, headers
 * in capitals) or for markdown (GitHub and GitLab render it; cells are
 * escaped). Cells are copied. */
typedef struct st_table {
  unsigned ncols;
  const char *const *head; /* column titles, "Rst in" -> "RST-IN" on the terminal */
  const char *align;       /* per column: 'l' or 'r' */
  char **cells;            /* nrows * ncols */
  size_t nrows, cap;
  int oom;
} st_table;
void st_table_init(st_table *t, unsigned ncols, const char *const *head, const char *align);
void st_table_row(st_table *t, const char *const *cells);
/* row_color: per row, an ANSI colour for the whole row, or NULL. */
void st_table_text(const st_table *t, st_buf *b, const char *indent, const char *const *row_color);
void st_table_markdown(const st_table *t, st_buf *b);
void st_table_free(st_table *t);
/* Appends s with markdown's special characters escaped (and < and & as
 * entities, so no name becomes markup), on one line. */
void st_buf_markdown(st_buf *b, const char *s);

/* Empties a uthash table (handle hh) of elements of type type, each
 * released with release (free, or the owner's own). */
#define ST_HASH_FREE_ALL(type, head, release)                                                      \
  do {                                                                                             \
    type *st_el_, *st_tmp_;                                                                        \
    HASH_ITER(hh, head, st_el_, st_tmp_) {                                                         \
      HASH_DEL(head, st_el_);                                                                      \
      release(st_el_);                                                                             \
    }                                                                                              \
  } while (0)

/* How the per-socket views (timeline, HTML report) name a socket: its
 * owner and addresses, taken from the first events that carry them. */
typedef struct st_sock_label {
  char who[ST_COMM_MAX + 16]; /* "curl[4242]" */
  char proto[16];
  char local[ST_PATH_MAX + 40], remote[ST_PATH_MAX + 40];
} st_sock_label;
void st_sock_label_note(st_sock_label *k, const st_event *ev);
/* "ep=0x101 curl[4242] tcp 127.0.0.1:40000 -> 127.0.0.1:9, from
 * 19:21:13.101030" (endpoint 0: "(not tied to a socket), from ..."). */
void st_sock_label_heading(st_buf *b, uint64_t endpoint, const st_sock_label *k, uint64_t first_ts);
/* A timeline line's time: "+0.000075s" (seconds, microseconds). */
void st_timeline_offset(st_buf *b, uint64_t rel_ns);

/* True when an event's remote address is its socket's own peer: not the
 * client a listener accepted or was told about, nor the per-call address of
 * a datagram send or receive. */
/* An accept's addresses are its accepted socket's: fills local/remote
 * (when still empty) from ev. Used by the per-socket views. */
void st_accepted_addresses(const struct st_event *ev, char *local, char *remote, size_t len);

static inline int st_event_remote_is_peer(const struct st_event *ev) {
  switch (ev->id) {
  case ST_EV_ACCEPT:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_SUPER_ACCEPT:
  case ST_EV_SUPER_ACCEPT_ADDR:
  case ST_EV_CONNECT_INDICATION:
  case ST_EV_CONNECT_INDICATION_ADDR:
  case ST_EV_SENDTO_ADDR:
  case ST_EV_RECEIVEFROM_ADDR:
  case ST_EV_SENDMSG_ADDR:
  case ST_EV_RECEIVEMSG_ADDR:
  case ST_EV_DATAGRAM_DROP_ADDR:
    return 0;
  default:
    return (ev->has & ST_HAS_REMOTE) != 0;
  }
}

/* Kinds of events and statuses, as the summary (summary_model.c) and top
 * (top_model.c) count them. */
static inline bool st_ev_is_send(uint16_t id) {
  return id == ST_EV_SEND || id == ST_EV_SENDTO || id == ST_EV_SENDTO_ADDR || id == ST_EV_SENDMSG ||
         id == ST_EV_SENDMSG_ADDR;
}

static inline bool st_ev_is_receive(uint16_t id) {
  return id == ST_EV_RECEIVE || id == ST_EV_RECEIVEFROM || id == ST_EV_RECEIVEFROM_ADDR ||
         id == ST_EV_RECEIVEMSG || id == ST_EV_RECEIVEMSG_ADDR;
}

/* A call with its own peer address: a datagram send or receive. */
static inline bool st_ev_is_datagram_call(uint16_t id) {
  return id == ST_EV_SENDTO_ADDR || id == ST_EV_RECEIVEFROM_ADDR || id == ST_EV_SENDMSG_ADDR ||
         id == ST_EV_RECEIVEMSG_ADDR;
}

/* ev as a sink's EventsLost record (where "sink"): count events dropped
 * between from_ns and to_ns (stamped to_ns). */
void st_event_sink_lost(st_event *ev, uint8_t os, uint8_t backend, uint64_t count, uint64_t from_ns,
                        uint64_t to_ns);

/* A status that says a socket went wrong (not a call that must wait or was
 * interrupted). */
static inline bool st_status_is_failure(uint8_t code) {
  return code != ST_OK && code != ST_PENDING && code != ST_WOULD_BLOCK && code != ST_CANCELLED;
}

/* A DNS answer that says the name did not resolve (NXDOMAIN, SERVFAIL,
 * REFUSED, ...), or a query no answer came for. An answer's status, when
 * the session gave it one, is the judge (a Windows timeout has no rcode). */
static inline bool st_ev_is_dns_failure(const st_event *ev) {
  if (!(ev->has & ST_HAS_DNS))
    return false;
  if (ev->dns.flags & ST_DNS_UNANSWERED)
    return true;
  if (!ev->dns.qr || (ev->dns.flags & ST_DNS_SENT))
    return false; /* a query, or a server's own answer */
  if (ev->has & ST_HAS_STATUS)
    return ev->status.code != ST_OK;
  return ev->dns.rcode != 0;
}

#endif
