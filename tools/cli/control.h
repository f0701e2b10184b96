/*
 * Background sessions' control channel (docs/sessions.md): a UNIX socket per
 * session in one directory, one JSON request and one JSON answer per
 * connection, each a single line. The session host serves it
 * (session_host_unix.c); start/query/update/stop/flush are its clients
 * (sessions_unix.c). Windows has ETW's own sessions instead.
 */
#ifndef ST_CLI_CONTROL_H
#define ST_CLI_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define CLI_NAME_MAX 64
#define CLI_REQUEST_MAX (64 << 10)

/* Root's sessions' directory. */
#define CLI_ROOT_CONTROL_DIR "/run/socktrace"

/* A session name: 1 to 64 of [A-Za-z0-9._-], not starting with a dot. */
bool cli_session_name_ok(const char *name);
/* The sockets' directory: --control-dir, else $SOCKTRACE_RUN_DIR, else
 * /run/socktrace for root and $XDG_RUNTIME_DIR/socktrace (or
 * /tmp/socktrace-UID) for others. */
void cli_control_dir(const cli_options *o, char *buf, size_t len);
/* DIR/NAME.sock. */
void cli_control_path(const char *dir, const char *name, char *buf, size_t len);
/* Makes the directory (0700) when it is missing. */
int cli_control_dir_make(const char *dir, char *err, size_t errlen);

/* Sends req on a fresh connection to path and reads one answer. Returns 0
 * with *answer (the caller decrefs it), ST_ENOENT when there is no such
 * socket, ST_ECONNREFUSED when nobody listens on it (the session died), or
 * another negative code; err says what failed. */
int cli_control_request(const char *path, json_t *req, json_t **answer, char *err, size_t errlen);

/* The filters of a request ("filters": {"pid": ["42"], ...}) added to f by
 * the same parsers the command line uses; which kinds it named in *kinds
 * (CLI_FILTER_* bits). */
enum {
  CLI_FILTER_PID = 1 << 0,
  CLI_FILTER_PORT = 1 << 1,
  CLI_FILTER_HOST = 1 << 2,
  CLI_FILTER_FAMILY = 1 << 3,
  CLI_FILTER_PROTOCOL = 1 << 4,
  CLI_FILTER_EVENTS = 1 << 5,
  CLI_FILTER_CONTAINER = 1 << 6,
};
int cli_filter_from_json(json_t *filters, st_filter *f, unsigned *kinds, char *err, size_t errlen);
/* The kinds f has, as such an object. */
json_t *cli_filter_to_json(const st_filter *f);

#endif
