/*
 * The replay backend: reads a recorded trace and feeds it through the same
 * session filters and sinks as a live one: JSON Lines and .sktrace here;
 * other formats (.etl, .pcap) are their own backends.
 */
#ifndef ST_BACKEND_REPLAY_H
#define ST_BACKEND_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "socktrace/backend.h"

/* path "-" reads standard input. */
int st_backend_replay_jsonl_new(const char *path, st_backend **out);
/* True when the file looks like JSON Lines: its first line that is not
 * blank (after an optional UTF-8 byte-order mark) is a whole JSON object.
 * Later bad lines do not matter here: the reader reports each one. */
bool st_replay_is_jsonl(const char *path);

/* .sktrace binary traces (docs/sktrace-format.md); path "-" reads standard
 * input. A damaged or truncated file is read as far as it can be: each
 * problem becomes a DecodeError event and counts in stats.errors. */
int st_backend_replay_sktrace_new(const char *path, st_backend **out);
/* True when the file starts with the .sktrace magic. */
bool st_replay_is_sktrace(const char *path);

#endif
