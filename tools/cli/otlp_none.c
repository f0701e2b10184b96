/*
 * A build without libcurl and libprotobuf-c: an otlp:// output is refused
 * in one line that says how to get it; nothing else changes.
 */
#include "cli.h"

int cli_otlp_sink(const cli_options *o, bool wait, void *loop, st_sink **out) {
  (void)o;
  (void)wait;
  (void)loop;
  (void)out;
  cli_error("otlp:// outputs need libcurl and protobuf-c, which this build lacks (install "
            "libcurl4-openssl-dev, libprotobuf-c-dev and protobuf-c-compiler, and rebuild)");
  return ST_ENOSYS;
}

void cli_otlp_report(void) {}

uint64_t cli_otlp_sent(uint64_t *lost) {
  *lost = 0;
  return 0;
}

struct json_t *cli_otlp_output_json(void) {
  return NULL;
}
