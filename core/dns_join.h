/*
 * The DNS enrichment stage (architecture.md, "Enrichment is a core stage"):
 * between backends and sinks, for every backend alike, live or replayed.
 *
 * - A query is paired with its answer (same process, id, name and type):
 *   the answer gets the resolution's latency and, when it came without one,
 *   the server's address; its rcode becomes a portable status.
 * - A query no answer came for within the timeout becomes an event of its
 *   own (5200, status timed_out, ST_DNS_UNANSWERED).
 * - Each process's answers are remembered, bounded and TTL-aware: a later
 *   event whose remote address an answer gave carries the name asked for
 *   (remote_name). Another process's answer is the fallback (the process
 *   that resolved through a daemon: systemd-resolved's own upstream query),
 *   marked ST_FLAG_NAME_SHARED.
 *
 * Costs nothing for a trace without DNS: each entry point returns at once
 * while nothing has been learned.
 */
#ifndef ST_CORE_DNS_JOIN_H
#define ST_CORE_DNS_JOIN_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/event.h"

#define ST_DNS_TIMEOUT_MS_DEFAULT 5000

typedef struct st_dns_join st_dns_join;

/* Returns NULL when out of memory. timeout_ms 0: the default. */
st_dns_join *st_dns_join_new(uint32_t timeout_ms);
void st_dns_join_free(st_dns_join *j);

/* A DnsMessage (5200) on its way to the sinks: pairs, learns, sets its
 * status (responses) and latency. */
void st_dns_join_message(st_dns_join *j, st_event *ev);

/* Whether ev (not a DnsMessage) has a remote address a remembered answer
 * names; if so, the name is in out, with ev's other fields. Cheap when it
 * is not: no copy unless there is a name. */
bool st_dns_join_name(st_dns_join *j, const st_event *ev, st_event *out);

/* True while queries wait for their answers. */
bool st_dns_join_waiting(const st_dns_join *j);

/* Queries still unanswered at now_ns, timeout_ms after they were sent,
 * each as an event given to fn (in the order they were sent). With
 * at_end, the trace ends at now_ns: queries younger than the timeout are
 * dropped without an event (their answer may simply be after the end). */
void st_dns_join_expire(st_dns_join *j, uint64_t now_ns, bool at_end,
                        void (*fn)(void *arg, st_event *ev), void *arg);

/* What it holds (tests, --stats). */
typedef struct st_dns_join_stats {
  uint64_t names, pending, answered, unanswered, evicted;
} st_dns_join_stats;
void st_dns_join_get_stats(const st_dns_join *j, st_dns_join_stats *out);

#endif
