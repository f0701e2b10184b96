/*
 * Connection stories: a trace told per program and peer rather than per
 * socket and pid, so that two traces of the same scenario (another run,
 * another machine, another OS) read the same. A story is every socket of
 * one process name in one role with one peer: "curl, client, to
 * 127.0.0.1:5432", with how many attempts, how each ended (portable
 * status), bytes each way, resets, time, and the steps of its first socket.
 *
 * Stories are built by the summary model (summary_model.c) as it forgets a
 * socket or finishes; the summary prints the failing ones and `diff`
 * compares two lists of them. Listing normalises what differs between runs
 * of one scenario: pids are dropped, a peer's own (ephemeral) ports are
 * masked while listening ports are kept, loopback and the host's own
 * addresses read "localhost", and a Windows ".exe" or a name's case do not
 * count.
 */
#ifndef ST_CORE_STORY_H
#define ST_CORE_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "summary_model.h"

enum { ST_ROLE_NONE = 0, ST_ROLE_CLIENT, ST_ROLE_SERVER, ST_ROLE_DATAGRAM };

/* Distinct stories a model keeps; sockets past it are told to one
 * catch-all story per process and role (peer "(more peers)"). */
#define ST_STORY_MAX 65536

typedef struct st_story {
  char key[ST_SUM_PROC_MAX + 3 * ST_SUM_KEY_MAX]; /* role, family, process, peer, local */
  char proc[ST_COMM_MAX + 1];                     /* as traced; "" when unknown */
  char container[64]; /* its sockets' container (name or short id); "" when none */
  uint8_t role;       /* ST_ROLE_* */
  bool ipc;           /* UNIX sockets */
  bool listening;     /* a listener: no peer */
  bool wire;          /* from packets: no process */
  bool peer_masked;   /* the peer's port is its own: '*' */
  bool named;         /* the peer is a DNS name ("api.example.com:443"): it matches as it is */
  st_addr peer_addr;  /* the first socket's peer */
  char peer[ST_SUM_KEY_MAX];  /* as traced: "127.0.0.1:9", "10.0.0.2:*" */
  char local[ST_SUM_KEY_MAX]; /* a server's own port or path: ":8080" */
  /* Set by st_story_list: what matches across traces. */
  char match_proc[64 + ST_COMM_MAX + 2]; /* "curl", "web/curl" ("" matches any process) */
  char match_peer[ST_SUM_KEY_MAX];       /* "localhost:5432" */
  uint64_t sockets, attempts;
  uint64_t outcomes[ST_CODE_COUNT]; /* how each socket ended; ST_PENDING: never resolved */
  uint64_t bytes_sent, bytes_received;
  bool bytes_known; /* some event counted bytes (level 5 calls or an EndpointSummary) */
  uint64_t resets_in, resets_out, dns_failures;
  uint64_t first_ts, duration_ns;
  uint8_t nsteps;
  uint8_t steps[ST_SUM_STEPS]; /* of its first socket */
  UT_hash_handle hh;
} st_story;

/* Tells a socket to its story (once; later calls do nothing). 0 or
 * ST_ENOMEM. A socket that never did anything (no connect, bind, accept,
 * peer or data) has no story. */
int st_story_fold(st_sum_model *m, st_sum_socket *k);
void st_story_free_all(st_sum_model *m);

/* The model's stories, normalised and merged (two raw stories may read the
 * same, e.g. 127.0.0.1:80 and the host's own 10.0.0.5:80), sorted by what
 * matches: a malloc'd array into *out. Returns how many, or ST_ENOMEM.
 * Call st_sum_finish first. */
int st_story_list(const st_sum_model *m, st_story **out);
/* The same; by_container: a story's process is its container and process
 * ("web/curl"), so that stories match by container name (`diff` when both
 * traces have containers). */
int st_story_list_by(const st_sum_model *m, bool by_container, st_story **out);

/* True for 127.0.0.0/8, ::1 and their v4-mapped forms. */
bool st_story_loopback(const st_addr *a);

const char *st_role_name(uint8_t role); /* "client", "server", "datagram" */
const char *st_step_name(uint8_t step); /* "connect", "send", ... */
/* How many sockets of the story ended badly (or DNS answers that failed). */
uint64_t st_story_failures(const st_story *s);
/* "ok 2, refused 1"; "unfinished" for connects that never resolved. */
int st_story_outcome(const st_story *s, char *buf, size_t len);
/* "connect send receive close". */
int st_story_steps(const st_story *s, char *buf, size_t len);
/* Who talked to whom, as traced or (normalised) as it matches:
 * "-> 127.0.0.1:9" (client), "127.0.0.1:* -> :8080" (served),
 * "listening on :8080", "-> ?" when the peer is unknown. */
int st_story_connection(const st_story *s, bool normalised, char *buf, size_t len);
/* The process as shown: its name, "(wire)" for packets, "?" when unknown. */
const char *st_story_process(const st_story *s);

#endif
