/*
 * The CLI's side of the OTLP sink (a build with libcurl and protobuf-c):
 * the options turned into the sink's, and what is said of it after the
 * run (events lost on their way to the collector).
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "otlp/otlp_sink.h"

/* The process's one OTLP output (the CLI runs one session per process). */
static st_sink *otlp_output;
static const char *otlp_url;

int cli_otlp_sink(const cli_options *o, bool wait, st_sink **out) {
  st_otlp_options so = {.url = o->output,
                        .ca_file = o->otlp.ca,
                        .buffer_bytes = o->otlp.buffer,
                        .retry = o->otlp.retry,
                        .wait_when_full = wait, /* a recording can wait; live events cannot */
                        .max_series = o->metrics_max_series};
  for (unsigned i = 0; i < o->otlp.nheaders && i < ST_OTLP_HEADERS_MAX; i++)
    so.headers[so.nheaders++] = o->otlp.headers[i];
  char err[512];
  int rc = st_sink_otlp_new(&so, out, err, sizeof err);
  if (rc < 0) {
    cli_error("%s", rc == ST_EINVAL ? err : st_strerror(rc));
    return rc;
  }
  otlp_output = *out;
  otlp_url = o->output;
  return 0;
}

void cli_otlp_report(void) {
  if (!otlp_output)
    return;
  st_otlp_stats st;
  st_sink_otlp_stats(otlp_output, &st);
  if (st.lost)
    cli_error("%" PRIu64 " events were lost on their way to %s (EventsLost records say when; "
              "--otlp-buffer holds more while the collector is away)",
              st.lost, otlp_url);
}
