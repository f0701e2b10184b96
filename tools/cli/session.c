/*
 * Running one session to its end for a command: the output file, the
 * sinks, the loop, and what is said afterwards (the errors, --fail-on,
 * --stats in words or as JSON, what the backend and the .sktrace writer
 * report).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* --stats=json: one object, counters only, so scripts never parse words. */
static void stats_json(const st_counters *c, const st_backend *b, const st_backend_stats *bs,
                       st_sink *sktrace, char *buf, size_t len) {
  int n = snprintf(buf, len,
                   "{\"seen\":%" PRIu64 ",\"shown\":%" PRIu64 ",\"filtered\":%" PRIu64
                   ",\"lost\":%" PRIu64 ",\"backend\":{\"name\":\"%s\",\"events\":%" PRIu64
                   ",\"lost\":%" PRIu64 ",\"errors\":%" PRIu64 "}",
                   c->seen, c->delivered, c->filtered, c->lost, b->ops->name, bs->events, bs->lost,
                   bs->errors);
  if (sktrace && n > 0 && (size_t)n < len) {
    st_sktrace_stats w;
    st_sink_sktrace_stats(sktrace, &w);
    n += snprintf(buf + n, len - (size_t)n,
                  ",\"sktrace\":{\"events\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"blocks\":%" PRIu64
                  ",\"bytes\":%" PRIu64 ",\"files\":%u}",
                  w.events, w.lost, w.blocks, w.bytes, (unsigned)w.files);
  }
  if (n > 0 && (size_t)n < len)
    n += cli_nats_stats_json(buf + n, len - (size_t)n);
  if (n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, "}");
}

void cli_ignore_self(st_session *s) {
  st_session_ignore_pid(s, (uint32_t)uv_os_getpid());
  st_session_ignore_comm(s, "socktrace", cli_runs_this_program, NULL);
}

int cli_run_session(cli_options *o, st_backend *b, cli_hook after_start, void *arg) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  FILE *out = stdout;
  if (cli_output_is_file(o->output)) {
    out = cli_open_output(o);
    if (!out) {
      b->ops->close(b);
      uv_loop_close(&loop);
      return 1;
    }
  }
  st_session *s = NULL;
  if (st_session_new(&loop, &o->cfg, &s) < 0) {
    cli_error("out of memory");
    b->ops->close(b);
    return 1;
  }
  st_session_set_backend(s, b);
  if (!o->trace_self && b->ops->kind != ST_SOURCE_FILE)
    cli_ignore_self(s);
  st_sink *sktrace = NULL;
  int code = 0;
  bool started = false;
  if (cli_ci_begin(o) < 0 || cli_add_sinks(o, s, b, out, &sktrace) < 0) {
    code = 1;
  } else if (st_session_start(s) < 0) {
    cli_error("%s", st_session_error(s));
    code = 1;
  } else {
    started = true;
    if (o->announce)
      cli_note("tracing with the %s backend at level %u (Ctrl-C to stop)", b->ops->name,
               o->cfg.level);
    if (cli_metrics_address())
      cli_note("metrics at http://%s/metrics", cli_metrics_address());
    if (after_start)
      code = after_start(s, &loop, arg);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  st_backend_stats stats = {0};
  if (b->ops->stats)
    b->ops->stats(b, &stats);
  /* A recording that stopped on a write error (the sink says why, and the
   * session stopped with its words) is incomplete, not failed to start. */
  bool write_failed = started && sktrace && sktrace->error[0];
  o->incomplete = write_failed;
  if (st_session_status(s) < 0 && code == 0) {
    cli_error("%s", st_session_error(s));
    code = write_failed ? CLI_EXIT_INCOMPLETE : 1;
  } else if (stats.errors) {
    cli_error("%llu bad record%s skipped; first: %s", (unsigned long long)stats.errors,
              stats.errors == 1 ? "" : "s", b->error);
    if (code == 0)
      code = 1;
  }
  st_counters c;
  st_session_counters(s, &c);
  char json[512] = "";
  if (o->stats == CLI_STATS_JSON)
    stats_json(&c, b, &stats, sktrace, json, sizeof json);
  if (o->stats == CLI_STATS_TEXT)
    cli_note("%llu events seen, %llu shown, %llu filtered out, %llu lost",
             (unsigned long long)c.seen, (unsigned long long)c.delivered,
             (unsigned long long)c.filtered, (unsigned long long)c.lost);
  if (c.lost && !o->summary)
    cli_error(o->announce ? "%llu events were lost (see the EventsLost records; raise --ring-size)"
                          : "the recording says %llu events were lost (see its EventsLost records)",
              (unsigned long long)c.lost);
  cli_backend_report(o, b);
  st_sktrace_stats wst = {0};
  if (sktrace) {
    cli_report_writer(sktrace, o->output);
    st_sink_sktrace_stats(sktrace, &wst);
  }
  if (o->fail_on_lost && (c.lost || wst.lost)) {
    cli_error("the recording is incomplete: %llu events lost (--fail-on lost)",
              (unsigned long long)(c.lost + wst.lost));
    o->incomplete = true;
  }
  cli_nats_report();
  cli_otlp_report();
  st_session_free(s);
  uv_loop_close(&loop);
  errno = 0;
  if (out != stdout && (ferror(out) | fclose(out)) != 0 && started) {
    cli_error("cannot write %s: %s; the recording is incomplete", o->output,
              st_strerror(errno ? -errno : ST_EIO));
    o->incomplete = true;
  }
  if (o->incomplete && (code == 0 || code == 1))
    code = CLI_EXIT_INCOMPLETE;
  code = cli_ci_end(o, code);
  if (json[0]) {
    fprintf(stderr, "%s\n", json);
    fflush(stderr);
  }
  return code;
}
