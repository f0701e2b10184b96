/*
 * The replay backend: reads a recorded trace and feeds it through the same
 * session filters and sinks as a live one. JSON Lines here; other formats
 * (.sktrace, .etl, .pcap) are their own backends.
 */
#ifndef ST_BACKEND_REPLAY_H
#define ST_BACKEND_REPLAY_H

#include <stddef.h>

#include "socktrace/backend.h"

/* path "-" reads standard input. */
int st_backend_replay_jsonl_new(const char *path, st_backend **out);

/* Parses one JSON Lines event (the jsonl sink's format). Returns 0, 1 for a
 * header object (nothing to emit), or ST_EBADMSG with a reason in err. */
int st_event_from_json(const char *line, st_event *ev, char *err, size_t errlen);

#endif
