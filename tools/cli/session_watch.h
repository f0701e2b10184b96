/*
 * A session host's watchers (session_watch_unix.c): the clients that asked
 * for the session's events with {"cmd":"watch"}, fed by a sink of the
 * session, never allowed to stall it.
 */
#ifndef ST_CLI_SESSION_WATCH_H
#define ST_CLI_SESSION_WATCH_H

#include <jansson.h>
#include <uv.h>

#include "socktrace/session.h"

typedef struct cli_watchers cli_watchers;

/* The watchers and their sink (cli_watch_sink), which the session owns
 * once added to it. */
int cli_watch_sink_new(st_session *s, cli_watchers **out);
st_sink *cli_watch_sink(cli_watchers *ws);
/* A client (process pid) whose answer was sent: from now on it gets every
 * event as a JSON line, but those of its own process and of the host's:
 * at level 5 each line sent and read would be an event to send again.
 * on_closed is its handle's close callback. */
int cli_watch_add(cli_watchers *ws, uv_stream_t *stream, uint32_t pid,
                  void (*on_closed)(uv_handle_t *));
/* The client went away (or the session ends): closes its stream. */
void cli_watch_remove(cli_watchers *ws, uv_stream_t *stream);
void cli_watch_close_all(cli_watchers *ws);
/* For query: {"watchers":N,"dropped":N}. */
json_t *cli_watch_json(const cli_watchers *ws);

#endif
