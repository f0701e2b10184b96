/*
 * `socktrace top`'s model: events counted per interval, in cells keyed by
 * process, remote, container and host together, so that the view can
 * group the last interval by any of them (and change its mind) without
 * counting again. It counts as the summary does (summary_model.c: a
 * connect at its enter, its outcome at its completion, an accept at its
 * exit, a reset once per socket each way, bytes from the calls topped up by
 * the socket's EndpointSummary), so a session's top and its summary agree;
 * it adds retransmits, DNS failures and the connect latency (enter to
 * completion of connects that succeeded) as p50/p99 over the interval.
 * Network sockets only: UNIX sockets are IPC (the summary, too, keeps them
 * out of its process and remote tables).
 *
 * Time is the caller's: st_top_due() and st_top_close() are given the time
 * that has come, the wall clock of a live source or the events' own times
 * of a replay (then the rows do not depend on how fast it was read). It
 * only counts: it never prints. Memory is bounded: sockets are forgotten
 * ST_TOP_CLOSED_KEEP closes after they closed, and an interval holds at
 * most ST_TOP_CELLS_MAX cells (the rest count in one "(more)" cell).
 */
#ifndef ST_CORE_TOP_MODEL_H
#define ST_CORE_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "socktrace/event.h"

enum { ST_TOP_PROCESS = 0, ST_TOP_REMOTE, ST_TOP_CONTAINER, ST_TOP_HOST, ST_TOP_GROUPINGS };

#define ST_TOP_KEY_MAX (ST_PATH_MAX + 40)
#define ST_TOP_HOST_MAX 64
#define ST_TOP_CONTAINER_MAX 64
#define ST_TOP_CELLS_MAX 65536
#define ST_TOP_CLOSED_KEEP 4096
/* Latency samples kept per cell and interval; more are not sampled. */
#define ST_TOP_LAT_MAX 65536

/* What one interval counted for one group (a row of the view). */
typedef struct st_top_counts {
  uint64_t connects, ok;
  uint64_t failed[ST_CODE_COUNT]; /* connects by failed outcome */
  uint64_t accepts;
  uint64_t resets_in, resets_out, retransmits;
  uint64_t bytes_in, bytes_out;
  uint64_t dns_failures;
} st_top_counts;

typedef struct st_top_row {
  char key[ST_TOP_KEY_MAX]; /* the group: "curl", "127.0.0.1:9", a container, a host */
  uint32_t pid;             /* process rows */
  st_top_counts n;
  uint32_t p50_us, p99_us; /* connect latency; 0 when no connect succeeded */
  uint32_t latencies;      /* how many connects were timed */
} st_top_row;

typedef struct st_top_cell st_top_cell;
typedef struct st_top_socket st_top_socket;

typedef struct st_top_model {
  uint64_t interval_ns;
  uint64_t start_ns;       /* of the open interval; 0 before the first */
  st_top_cell *cur, *last; /* the open interval's cells, the last closed one's */
  size_t ncur;
  uint64_t last_start_ns, last_end_ns;
  uint64_t cur_events, cur_lost, last_events, last_lost;
  uint64_t events, lost; /* since the start */
  uint64_t intervals;    /* closed so far */
  st_top_socket *sockets;
  uint64_t closed[ST_TOP_CLOSED_KEEP][2]; /* endpoint, host id */
  size_t closed_head, closed_n;
  char (*hosts)[ST_TOP_HOST_MAX];
  uint32_t nhosts;
  bool hold; /* st_top_close keeps the last interval (a frozen view) */
} st_top_model;

void st_top_init(st_top_model *m, uint64_t interval_ns);
void st_top_free(st_top_model *m);
/* Opens the first interval at t (nothing happens once one is open). */
void st_top_begin(st_top_model *m, uint64_t t);
/* Counts one event into the open interval (opening it at the event's time
 * if none is); host names the host it came from (a fleet's stream), or is
 * NULL. 0 or ST_ENOMEM. */
int st_top_add(st_top_model *m, const st_event *ev, const char *host);
/* True when the open interval ended at or before now. */
bool st_top_due(const st_top_model *m, uint64_t now);
/* Closes the open interval: its cells become the last interval's and the
 * next interval opens where it ended. */
void st_top_close(st_top_model *m);

/* The last interval grouped: one row per group into a malloc'd array
 * (*out; the caller frees it), unsorted; total gets the sum of them all.
 * Returns how many, or ST_ENOMEM. */
int st_top_rows(const st_top_model *m, int grouping, st_top_row **out, st_top_row *total);
/* A row's failed connects, and what they were into reasons ("refused 2,
 * timed_out 1"; empty when none). */
uint64_t st_top_failures(const st_top_counts *n, char *reasons, size_t len);
const char *st_top_grouping_name(int grouping); /* "process", "remote", ... */
int st_top_grouping_lookup(const char *name);   /* -1 if unknown */

#endif
