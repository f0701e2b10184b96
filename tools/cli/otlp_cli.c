/*
 * The CLI's --otlp-* options and what an otlp:// output looks like; the
 * same in every build (otlp_link.c or otlp_none.c make the sink).
 */
#include <string.h>

#include "cli.h"

bool cli_is_otlp_url(const char *s) {
  return s && (strncmp(s, "otlp://", 7) == 0 || strncmp(s, "otlps://", 8) == 0);
}

int cli_otlp_option(cli_options *o, int opt, const char *arg) {
  cli_otlp_args *a = &o->otlp;
  switch (opt) {
  case CLI_OPT_OTLP_HEADER: {
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || strpbrk(arg, "\r\n") || a->nheaders == CLI_OTLP_HEADERS_MAX) {
      cli_error("bad --otlp-header '%s' ('Name: value', at most %d of them)", arg,
                CLI_OTLP_HEADERS_MAX);
      return -1;
    }
    a->headers[a->nheaders++] = arg;
    return 0;
  }
  case CLI_OPT_OTLP_CA:
    a->ca = arg;
    return 0;
  case CLI_OPT_OTLP_RETRY:
    a->retry = true;
    return 0;
  case CLI_OPT_OTLP_BUFFER:
    if (!cli_parse_size(arg, 65536, 1ull << 40, &a->buffer)) {
      cli_error("bad --otlp-buffer '%s' (bytes, e.g. 16M; at least 64K)", arg);
      return -1;
    }
    return 0;
  }
  return -1;
}
