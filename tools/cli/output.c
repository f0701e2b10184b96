/*
 * Where a session's events go: the sinks the options ask for (-f, -o,
 * --summary, --timeline, a .sktrace file, and CI's from ci.c), and the
 * filters described in words for the .sktrace header. Knows every sink by name; never prints
 * except through cli_error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

FILE *cli_open_output(const cli_options *o) {
#ifdef _WIN32
  /* Windows: the file inherits its directory's ACL. */
  FILE *w = fopen(o->output, "w");
  if (!w)
    cli_error("cannot open %s for writing: %s", o->output, st_strerror(-errno));
  return w;
#else
  /* Traces say which programs talk to whom: their owner's alone unless
   * --file-mode says otherwise, also when the file was there before. */
  mode_t mode = o->file_mode ? o->file_mode : 0600;
  int fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    cli_error("cannot open %s for writing: %s", o->output, st_strerror(-errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  /* Only a file: -o /dev/null (or a FIFO) must keep its mode, or every
   * other user of the machine loses /dev/null. */
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fchmod(fd, mode) < 0 && errno != EPERM)
    cli_error("note: cannot set the mode of %s: %s", o->output, st_strerror(-errno));
  return f;
#endif
}

bool cli_is_sktrace_path(const char *path) {
  size_t n = path ? strlen(path) : 0, m = strlen(".sktrace");
  return n > m && strcmp(path + n - m, ".sktrace") == 0;
}

bool cli_output_is_file(const char *path) {
  return path && strcmp(path, "-") != 0 && !cli_is_sktrace_path(path) && !cli_is_nats_url(path) &&
         !cli_is_otlp_url(path);
}

static st_sink *event_sink(const cli_options *o, FILE *out) {
  st_sink *sink = NULL;
  const char *f = o->format ? o->format : "text";
  if (strcmp(f, "null") == 0) {
    st_sink_null_new(&sink);
  } else if (strcmp(f, "jsonl") == 0) {
    st_sink_jsonl_new(out, &sink);
  } else if (strcmp(f, "csv") == 0) {
    st_sink_csv_new(out, &sink);
  } else if (strcmp(f, "chrome") == 0) {
    st_sink_chrome_new(out, &sink);
  } else if (strcmp(f, "html") == 0) {
    st_html_options ho = {.source = o->input};
    st_sink_html_new(out, &ho, &sink);
  } else if (strcmp(f, "summary") == 0 || strcmp(f, "markdown") == 0) {
    /* The markdown heading names the file, not where it lies. */
    const char *title = o->input ? o->input : o->title;
    for (const char *p = title; p && *p; p++)
      if ((*p == '/' || *p == '\\') && o->input && p[1])
        title = p + 1;
    st_summary_options so = {
        .longest = true, .markdown = strcmp(f, "markdown") == 0, .all = o->all, .title = title};
    st_sink_summary_new_opts(out, &so, &sink);
  } else {
    st_text_options to = {.color = o->color == 1 ||
                                   (o->color == -1 && out == stdout && isatty(fileno(stdout))),
                          .local_time = o->local_time};
    st_sink_text_new(out, &to, &sink);
  }
  return sink;
}

int cli_add_sinks(cli_options *o, st_session *s, const st_backend *b, FILE *out,
                  st_sink **sktrace) {
  *sktrace = NULL;
  if (o->nats.host_name)
    snprintf(st_session_info(s)->host, sizeof st_session_info(s)->host, "%s", o->nats.host_name);
  if (cli_is_otlp_url(o->output)) {
    st_sink *sink = NULL;
    if (cli_otlp_sink(o, b->ops->kind == ST_SOURCE_FILE, st_session_loop(s), &sink) < 0)
      return ST_EINVAL;
    st_session_add_sink(s, sink);
    /* A collector is no terminal: -f shows the events here as well. */
    if (o->format && !o->quiet && (sink = event_sink(o, out)))
      st_session_add_sink(s, sink);
  } else if (cli_is_nats_url(o->output)) {
    st_sink *sink = NULL;
    if (cli_nats_sink(o, b->ops->kind == ST_SOURCE_FILE, &sink) < 0)
      return ST_EINVAL;
    st_session_add_sink(s, sink);
    /* A stream is no terminal: -f shows the events here as well. */
    if (o->format && !o->quiet && (sink = event_sink(o, out)))
      st_session_add_sink(s, sink);
  } else if (cli_is_sktrace_path(o->output)) {
    char filters[512];
    st_filter_describe(&o->cfg.filter, filters, sizeof filters);
    st_sktrace_options so = {.path = o->output,
                             .max_size = o->max_size,
                             .max_files = o->max_files,
                             .block_bytes = o->block_size,
                             .compress = o->compress,
                             .session = o->cfg.name,
                             .filters = filters,
                             .mode = o->file_mode,
                             .wait_when_full = b->ops->kind == ST_SOURCE_FILE};
    int rc = st_sink_sktrace_new(&so, sktrace);
    if (rc < 0) {
      cli_error("cannot record to %s: %s", o->output, st_strerror(rc));
      return rc;
    }
    st_session_add_sink(s, *sktrace);
  } else if (!o->quiet || out != stdout) {
    /* -q quiets the terminal; a file named by -o still gets the events. */
    st_sink *sink = event_sink(o, out);
    if (!sink) {
      cli_error("out of memory");
      return ST_ENOMEM;
    }
    st_session_add_sink(s, sink);
  }
  /* The extra views go to the terminal. */
  FILE *view = stdout;
  st_sink *sink = NULL;
  st_summary_options so = {.all = o->all};
  if (o->summary && st_sink_summary_new_opts(view, &so, &sink) == 0)
    st_session_add_sink(s, sink);
  cli_ci_add_sinks(o, s);
  if (o->timeline && st_sink_timeline_new(view, &sink) == 0)
    st_session_add_sink(s, sink);
  cli_nats_add_views(o, s, view);
  /* Last: its server listens from its begin(), which no later sink's
   * failure may leave listening. */
  if (o->metrics) {
    if (cli_metrics_sink(o, st_session_loop(s), &sink) < 0)
      return ST_ENOMEM;
    st_session_add_sink(s, sink);
  }
  return 0;
}

void cli_report_writer(st_sink *sktrace, const char *path) {
  st_sktrace_stats st;
  st_sink_sktrace_stats(sktrace, &st);
  if (st.lost && sktrace->error[0])
    cli_error("%" PRIu64 " events were not recorded in %s: they came after the write error above",
              st.lost, path);
  else if (st.lost)
    cli_error("%" PRIu64 " events were dropped by the %s writer (it could not keep up with "
              "them; an EventsLost record in the file says when)",
              st.lost, path);
}
