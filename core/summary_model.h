/*
 * The summary's model: per process and per remote endpoint (network
 * sockets) or per process and path (UNIX sockets), connects by outcome,
 * accepts, bytes each way and resets; per socket, what the longest-lived
 * table and the connection stories (story.h) need; the catalog changes, in
 * order. The summary sink prints it, the HTML report embeds it and `diff`
 * compares its stories, so every view counts the same way (the rules are
 * in summary_model.c). It only counts: it never prints.
 */
#ifndef ST_CORE_SUMMARY_MODEL_H
#define ST_CORE_SUMMARY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "socktrace/event.h"
#include "summary_latency.h"

#define ST_SUM_KEY_MAX (ST_PATH_MAX + 40)
#define ST_SUM_PROC_MAX (ST_COMM_MAX + 16)

/* One row of the by-process, by-remote, by-container or local-IPC table. */
typedef struct st_sum_row {
  char key[ST_SUM_PROC_MAX + ST_SUM_KEY_MAX];
  char name[ST_SUM_PROC_MAX]; /* the process without its pid ("" in remote rows) */
  char peer[ST_SUM_KEY_MAX];  /* the remote, or a UNIX socket's path ("" in process rows) */
  uint32_t pid;               /* process rows: sort key */
  uint32_t pids;              /* rows grouped by name: how many pids */
  uint64_t attempts, ok;
  uint64_t failed[ST_CODE_COUNT]; /* by portable code; ST_PENDING = unresolved */
  uint64_t accepts;
  uint64_t bytes_sent, bytes_received;
  uint64_t resets_in, resets_out;
  UT_hash_handle hh;
} st_sum_row;

/* Steps of a socket's life in the order they happened, for `diff --order`
 * (repeats collapse: many sends are one "send"). */
enum {
  ST_STEP_CONNECT = 1,
  ST_STEP_ACCEPT,
  ST_STEP_SEND,
  ST_STEP_RECEIVE,
  ST_STEP_FIN, /* the peer's disconnect */
  ST_STEP_RESET,
  ST_STEP_CLOSE,
};
#define ST_SUM_STEPS 16
#define ST_SUM_NO_CODE 0xff /* no connect outcome yet */

/* What the model knows of one socket. */
typedef struct st_sum_socket {
  uint64_t endpoint;
  uint32_t pid;
  char proc[ST_SUM_PROC_MAX];  /* "comm[pid]" */
  char name[ST_COMM_MAX + 1];  /* comm alone; "" when no process is known */
  char remote[ST_SUM_KEY_MAX]; /* its row key in the remote or IPC table */
  char container[64];          /* its row key in the container table ("": none) */
  int connecting;              /* an outcome is awaited */
  uint64_t call_sent, call_received;
  uint64_t first_ts, last_ts, duration_ns;
  char local[ST_SUM_KEY_MAX], peer[ST_SUM_KEY_MAX];
  /* What its story needs (story.c). */
  uint8_t family, type;
  bool listener, accepted, bound, service, wire;
  bool datagram_ops, has_bytes, established, folded, own_learned;
  uint8_t connect_code; /* the last connect's outcome, or ST_SUM_NO_CODE */
  uint8_t end_code;     /* the first failure after it was set up (ST_OK: none) */
  uint8_t setup_code;   /* a failed bind or listen (ST_OK: none) */
  uint8_t reset_in, reset_out;
  uint32_t connects;         /* connect attempts */
  uint64_t connect_start_ns; /* the pending connect's enter (0: not seen) */
  uint32_t dns_failed;
  st_addr peer_addr, local_addr;
  char peer_name[ST_SUM_KEY_MAX]; /* the peer's DNS name, when an answer gave it */
  uint8_t nsteps;
  uint8_t steps[ST_SUM_STEPS];
  UT_hash_handle hh;
} st_sum_socket;

/* Closed sockets are forgotten once ST_SUM_CLOSED_KEEP more have closed
 * (late events such as an EndpointSummary after AfdClose still find them),
 * so memory stays bounded on a long trace; the longest-lived of those
 * forgotten are kept, as copies, for the longest-lived table, and every
 * forgotten socket is first told to its story. */
#define ST_SUM_CLOSED_KEEP 4096
#define ST_SUM_LONGEST_KEEP 64
#define ST_SUM_CHANGES_MAX 32
/* Catalog changes listed (the first ones; the rest are counted). */
#define ST_SUM_CATALOG_KEEP 64

/* A catalog change (an LSP installed, a cgroup hook's program removed...). */
typedef struct st_sum_catalog {
  uint64_t ts_ns;
  uint16_t id;
  char proc[ST_SUM_PROC_MAX];
  char detail[ST_DETAIL_MAX];
} st_sum_catalog;

/* The host's own addresses, learned from the local side of its sockets. */
#define ST_SUM_OWN_MAX 32

struct st_story;

/* One row of the DNS failures table: a process's failed lookups of one
 * name and type from one server, by outcome. */
#define ST_SUM_DNS_MAX 1024
typedef struct st_sum_dns {
  char key[ST_SUM_PROC_MAX + ST_NAME_MAX + 128];
  char process[ST_COMM_MAX + 1];
  char query[ST_NAME_MAX + 12]; /* "api.example.com A" */
  char server[64];              /* "127.0.0.53:53", "(resolver)" for an API's results */
  char outcome[64];             /* "not_found (NXDOMAIN)", "no answer" */
  uint64_t count;
  uint32_t waited_us; /* the longest wait */
  UT_hash_handle hh;
} st_sum_dns;

typedef struct st_sum_model {
  st_sum_row *procs, *remotes, *ipc;
  st_sum_row *containers; /* by container (name or short id); empty when no event had one */
  st_sum_socket *sockets;
  unsigned longest_max;
  uint64_t closed[ST_SUM_CLOSED_KEEP];
  size_t closed_head, closed_n;
  st_sum_socket longest[ST_SUM_LONGEST_KEEP];
  size_t nlongest;
  st_sum_catalog catalog[ST_SUM_CATALOG_KEEP];
  uint64_t ncatalog;            /* all seen; the first ST_SUM_CATALOG_KEEP are kept */
  struct st_story *stories;     /* story.c */
  uint64_t stories_folded_away; /* sockets past the story limit, told to a catch-all */
  st_addr own[ST_SUM_OWN_MAX];
  size_t nown;
  uint64_t dns_failures; /* DNS answers with an error code, queries with no answer */
  st_sum_dns *dns;       /* those failures, by process, query, server and outcome */
  /* A running session's changes of level, keywords or filters (5901), in
   * order: the first ST_SUM_CHANGES_MAX, and how many there were. */
  struct {
    uint64_t ts_ns;
    char detail[ST_DETAIL_MAX];
  } changes[ST_SUM_CHANGES_MAX];
  size_t nchanges;
  uint64_t dns_more; /* failures past ST_SUM_DNS_MAX rows */
  /* Connect latency (enter to outcome) by process name and by remote, and
   * DNS answer latency by process name and by name looked up. */
  st_sum_lat *lat_procs, *lat_remotes, *dns_lat_procs, *dns_lat_names;
  bool finished;
} st_sum_model;

/* longest_max: rows of the longest-lived table (0 = 10, at most 64). */
void st_sum_init(st_sum_model *m, unsigned longest_max);
void st_sum_free(st_sum_model *m);
/* Counts one event; 0 or ST_ENOMEM. */
int st_sum_add(st_sum_model *m, const st_event *ev);
/* The trace is over: every socket still remembered is told to its story.
 * Call once, before listing stories; the tables stay as they are. */
int st_sum_finish(st_sum_model *m);
/* Orders the tables: processes by pid, remotes and IPC rows by key. */
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

/* For readable tables on long traces: a table's rows merged by name and
 * peer (one row per program, with how many pids it had), ranked failures
 * first, then by bytes, then by activity; rows that counted nothing (a
 * socket that only closed) are left out. A malloc'd array of malloc'd
 * rows into *out; returns how many (0 with *out NULL when empty or out of
 * memory). Free with st_sum_rows_free. */
size_t st_sum_group(const st_sum_row *table, st_sum_row ***out);
void st_sum_rows_free(st_sum_row **rows, size_t n);

#endif
