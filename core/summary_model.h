/*
 * The summary's model: per process and per remote endpoint, connects by
 * outcome, accepts, bytes each way and resets; per socket, what the
 * longest-lived table needs; the catalog changes, in order. The summary sink prints it as text and
 * the HTML report embeds it, so both views count the same way (the rules are in summary_model.c).
 * It only counts: it never prints.
 */
#ifndef ST_CORE_SUMMARY_MODEL_H
#define ST_CORE_SUMMARY_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "socktrace/event.h"

/* One row of the by-process or by-remote table. */
typedef struct st_sum_row {
  char key[ST_PATH_MAX + 40];
  uint32_t pid; /* process rows: sort key */
  uint64_t attempts, ok;
  uint64_t failed[ST_CODE_COUNT]; /* by portable code; ST_PENDING = unresolved */
  uint64_t accepts;
  uint64_t bytes_sent, bytes_received;
  uint64_t resets_in, resets_out;
  UT_hash_handle hh;
} st_sum_row;

/* What the model knows of one socket. */
typedef struct st_sum_socket {
  uint64_t endpoint;
  uint32_t pid;
  char proc[ST_COMM_MAX + 16];
  char remote[ST_PATH_MAX + 40];
  int connecting; /* an outcome is awaited */
  uint64_t call_sent, call_received;
  uint64_t first_ts, last_ts, duration_ns;
  char local[ST_PATH_MAX + 40], peer[ST_PATH_MAX + 40];
  UT_hash_handle hh;
} st_sum_socket;

/* Closed sockets are forgotten once ST_SUM_CLOSED_KEEP more have closed
 * (late events such as an EndpointSummary after AfdClose still find them),
 * so memory stays bounded on a long trace; the longest-lived of those
 * forgotten are kept, as copies, for the longest-lived table. */
#define ST_SUM_CLOSED_KEEP 4096
#define ST_SUM_LONGEST_KEEP 64
/* Catalog changes listed (the first ones; the rest are counted). */
#define ST_SUM_CATALOG_KEEP 64

/* A catalog change (an LSP installed, a cgroup hook's program removed...). */
typedef struct st_sum_catalog {
  uint64_t ts_ns;
  uint16_t id;
  char proc[ST_COMM_MAX + 16];
  char detail[ST_DETAIL_MAX];
} st_sum_catalog;

typedef struct st_sum_model {
  st_sum_row *procs, *remotes;
  st_sum_socket *sockets;
  unsigned longest_max;
  uint64_t closed[ST_SUM_CLOSED_KEEP];
  size_t closed_head, closed_n;
  st_sum_socket longest[ST_SUM_LONGEST_KEEP];
  size_t nlongest;
  st_sum_catalog catalog[ST_SUM_CATALOG_KEEP];
  uint64_t ncatalog; /* all seen; the first ST_SUM_CATALOG_KEEP are kept */
} st_sum_model;

/* longest_max: rows of the longest-lived table (0 = 10, at most 64). */
void st_sum_init(st_sum_model *m, unsigned longest_max);
void st_sum_free(st_sum_model *m);
/* Counts one event; 0 or ST_ENOMEM. */
int st_sum_add(st_sum_model *m, const st_event *ev);
/* Orders the tables: processes by pid, remotes by key. */
void st_sum_sort(st_sum_model *m);

/* The process key of an event: "comm[pid]", or "(wire)" for packets. */
void st_sum_proc_key(const st_event *ev, char *buf, size_t len);
/* A row's failed connects (returned) and, into reasons, what they were:
 * "refused 1, unfinished 2" (empty when none). *unfinished gets the
 * attempts that never resolved. */
uint64_t st_sum_row_failures(const st_sum_row *r, char *reasons, size_t len, uint64_t *unfinished);
/* A connection's lifetime: first to last event, or its EndpointSummary
 * duration when longer. */
uint64_t st_sum_lifetime(const st_sum_socket *k);
/* The longest-lived connections (sockets with a peer), longest first, at
 * most longest_max: a malloc'd array into *out (the caller frees it);
 * returns how many, or 0 with *out NULL. */
size_t st_sum_longest(st_sum_model *m, const st_sum_socket ***out);

#endif
