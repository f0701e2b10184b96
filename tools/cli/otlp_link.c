/*
 * The CLI's side of the OTLP sink (a build with libcurl and protobuf-c):
 * the options turned into the sink's, and what is said of it after the
 * run (events lost on their way to the collector).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "otlp/otlp_sink.h"

/* The process's one OTLP output (the CLI runs one session per process). */
static st_sink *otlp_output;
static const char *otlp_url;

int cli_otlp_sink(const cli_options *o, bool wait, void *loop, st_sink **out) {
  st_otlp_options so = {.url = o->output,
                        .ca_file = o->otlp.ca,
                        .buffer_bytes = o->otlp.buffer,
                        .retry = o->otlp.retry,
                        .wait_when_full = wait, /* a recording can wait; live events cannot */
                        .max_series = o->metrics_max_series,
                        .loop = loop};
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

uint64_t cli_otlp_sent(uint64_t *lost) {
  st_otlp_stats st = {0};
  if (otlp_output)
    st_sink_otlp_stats(otlp_output, &st);
  *lost = st.lost;
  return st.sent;
}

json_t *cli_otlp_output_json(void) {
  if (!otlp_output)
    return NULL;
  st_otlp_stats st;
  st_sink_otlp_stats(otlp_output, &st);
  json_t *o = json_pack("{ss ss sI sI sI sI}", "path", otlp_url, "format", "otlp", "sent",
                        (json_int_t)st.sent, "lost", (json_int_t)st.lost, "buffered",
                        (json_int_t)st.buffered, "exports", (json_int_t)st.exports);
  if (o && st.last_error[0])
    json_object_set_new(o, "error", json_string(st.last_error));
  return o;
}
