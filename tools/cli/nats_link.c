/*
 * The CLI's side of the NATS backend and sink (a build with libnats): the
 * options turned into the backend's, the reader, the publishing sink and
 * the table by host, and what is said of the sink after the run and in
 * query. A URL's password is masked in all of it.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "nats/nats_backend.h"

/* The process's one NATS output, for what is said after the run and for
 * query (the CLI runs one session per process). */
static st_sink *nats_output;
static char nats_output_shown[512];

void cli_shown(const char *path, char *buf, size_t len) {
  if (cli_is_nats_url(path))
    st_nats_url_mask(path, buf, len);
  else
    snprintf(buf, len, "%s", path ? path : "");
}

static void nats_options(const cli_options *o, const char *url, st_nats_options *no) {
  const cli_nats_args *n = &o->nats;
  memset(no, 0, sizeof *no);
  no->url = url;
  no->creds = n->creds;
  no->tls_ca = n->tls_ca;
  no->tls_cert = n->tls_cert;
  no->tls_key = n->tls_key;
  no->retry = n->retry;
  no->replicas = n->replicas;
  no->max_age_ns = n->max_age_ns;
  no->max_bytes = n->max_bytes;
  no->buffer_bytes = n->buffer;
  no->since_ns = n->since_ns;
  no->since_seq = n->since_seq;
  no->follow = n->collect;
  no->new_only = n->collect && !n->since_ns && !n->since_seq;
  for (unsigned i = 0; i < n->nhosts && i < ST_NATS_HOSTS_MAX; i++)
    no->hosts[no->nhosts++] = n->hosts[i];
}

static const char *reader_host(void *arg) {
  return st_backend_nats_host(arg);
}

const char *cli_nats_event_host(const cli_options *o) {
  return o->nats.reader ? st_backend_nats_host(o->nats.reader) : NULL;
}

int cli_nats_backend(cli_options *o, const char *url, st_backend **out) {
  st_nats_options no;
  char err[512], base[1024], query[512];
  /* What the URL's query says holds for this stream only. */
  cli_nats_args given = o->nats;
  if (cli_nats_url_query(o, url, base, sizeof base, query, sizeof query) < 0) {
    o->nats = given;
    return ST_EINVAL;
  }
  nats_options(o, base, &no);
  int rc = st_backend_nats_new(&no, out, err, sizeof err);
  o->nats = given;
  if (rc < 0) {
    cli_error("%s", rc == ST_EINVAL ? err : st_strerror(rc));
    return rc;
  }
  o->nats.reader = *out;
  static char shown[512]; /* where the trace came from, in the HTML report */
  cli_shown(url, shown, sizeof shown);
  o->input = shown;
  return 0;
}

int cli_nats_sink(const cli_options *o, bool wait, st_sink **out) {
  st_nats_options no;
  char err[512];
  nats_options(o, o->output, &no);
  /* A recording can wait for the stream; live events cannot. */
  no.wait_when_full = wait;
  int rc = st_sink_nats_new(&no, out, err, sizeof err);
  if (rc < 0) {
    cli_error("%s", rc == ST_EINVAL ? err : st_strerror(rc));
    return rc;
  }
  nats_output = *out;
  cli_shown(o->output, nats_output_shown, sizeof nats_output_shown);
  return 0;
}

void cli_nats_add_views(const cli_options *o, st_session *s, FILE *view) {
  st_sink *sink;
  if (o->nats.reader && (o->summary || o->nats.collect) &&
      cli_host_table_new(view, reader_host, o->nats.reader, &sink) == 0)
    st_session_add_sink(s, sink);
}

void cli_nats_report(void) {
  if (!nats_output)
    return;
  st_nats_stats st;
  st_sink_nats_stats(nats_output, &st);
  if (st.lost)
    cli_error("%" PRIu64 " events were lost on their way to %s (the stream's EventsLost records "
              "say when; --nats-buffer holds more while the server is away)",
              st.lost, nats_output_shown);
}

int cli_nats_stats_json(char *buf, size_t len) {
  if (!nats_output || !len)
    return 0;
  st_nats_stats st;
  st_sink_nats_stats(nats_output, &st);
  int n = snprintf(buf, len,
                   ",\"nats\":{\"published\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"buffered\":%" PRIu64
                   ",\"reconnects\":%" PRIu64 "}",
                   st.published, st.lost, st.buffered, st.reconnects);
  return n > 0 && (size_t)n < len ? n : 0;
}

json_t *cli_nats_output_json(const char *path) {
  if (!nats_output)
    return NULL;
  st_nats_stats st;
  st_sink_nats_stats(nats_output, &st);
  json_t *o =
      json_pack("{ss ss sI sI sI sI sI sb}", "path", nats_output_shown, "format", "nats",
                "published", (json_int_t)st.published, "lost", (json_int_t)st.lost, "buffered",
                (json_int_t)st.buffered, "buffer_bytes", (json_int_t)st.buffer_bytes, "reconnects",
                (json_int_t)st.reconnects, "connected", st.connected);
  if (o && st.last_error[0])
    json_object_set_new(o, "error", json_string(st.last_error));
  return o;
}

uint64_t cli_nats_published(uint64_t *lost) {
  st_nats_stats st = {0};
  if (nats_output)
    st_sink_nats_stats(nats_output, &st);
  *lost = st.lost;
  return st.published;
}
