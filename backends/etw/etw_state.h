/*
 * What the ETW backend remembers between records, so that every event
 * carries a real pid and a stable endpoint:
 *
 *  - AFD's Process is a kernel EPROCESS address. A create (1000) carries the
 *    owner's ProcessId, and a request's enter event is written in the
 *    caller's thread, so both teach the table Process -> pid. Other events
 *    (completions, transport indications) may run in any context: their
 *    header pid is used only when nothing better is known, and the event is
 *    marked ST_FLAG_PID_GUESSED.
 *  - AFD's Endpoint is a kernel address that is reused after a close. The
 *    endpoint id of a reused address gets a generation in its top 16 bits,
 *    so one trace never shows two sockets under one id.
 *  - A socket seen first by an event other than its create existed before
 *    the session started: ST_FLAG_PREEXISTING.
 *
 * Portable and single-threaded: the consumer applies it on the thread that
 * decodes. Memory grows with the number of distinct processes and socket
 * addresses seen, not with the number of events.
 */
#ifndef ST_ETW_STATE_H
#define ST_ETW_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "etw_decode.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Looks a process name up by pid (the live consumer asks Windows; tests
 * pass a fake). Writes a NUL-terminated name and returns 0, or returns
 * non-zero when the process is unknown. */
typedef int (*st_etw_name_fn)(uint32_t pid, char *name, size_t len, void *arg);

typedef struct st_etw_state st_etw_state;

/* name_fn may be NULL (no process names). Returns NULL when out of memory. */
st_etw_state *st_etw_state_new(st_etw_name_fn name_fn, void *arg);
void st_etw_state_free(st_etw_state *st);

/* Rewrites ev (just decoded, with info) in place: pid, tid, comm, endpoint,
 * accept_endpoint, flags. */
void st_etw_state_apply(st_etw_state *st, const st_etw_info *info, st_event *ev);

/* What the table holds (tests, stats). */
size_t st_etw_state_processes(const st_etw_state *st);
size_t st_etw_state_endpoints(const st_etw_state *st);

#ifdef __cplusplus
}
#endif
#endif
