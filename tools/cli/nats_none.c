/*
 * A build without libnats: every nats:// output or stream is refused in
 * one line that says how to get them; nothing else changes.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define NO_NATS                                                                                    \
  "nats:// streams need the NATS client library, which this build lacks (install libnats-dev "     \
  "and rebuild)"

/* Without the URL parser: nothing between the scheme and the last '@'. */
void cli_shown(const char *path, char *buf, size_t len) {
  const char *at = cli_is_nats_url(path) ? strrchr(path, '@') : NULL;
  if (at)
    snprintf(buf, len, "%.*s***%s", (int)(strstr(path, "://") + 3 - path), path, at);
  else
    snprintf(buf, len, "%s", path ? path : "");
}

int cli_nats_backend(cli_options *o, const char *url, st_backend **out) {
  cli_error(NO_NATS);
  return ST_ENOSYS;
}

int cli_nats_sink(const cli_options *o, bool wait, st_sink **out) {
  cli_error(NO_NATS);
  return ST_ENOSYS;
}

void cli_nats_add_views(const cli_options *o, st_session *s, FILE *view) {}

void cli_nats_report(void) {}

int cli_nats_stats_json(char *buf, size_t len) {
  return 0;
}

struct json_t *cli_nats_output_json(const char *path) {
  return NULL;
}

uint64_t cli_nats_published(uint64_t *lost) {
  *lost = 0;
  return 0;
}

const char *cli_nats_event_host(const cli_options *o) {
  return NULL;
}
