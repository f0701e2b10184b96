/*
 * `socktrace diff A B`: reads two traces of any kind socktrace reads (each
 * through its file backend, into the summary model), compares their
 * connection stories (core/diff.c) and says what differs. Exit 0 when they
 * tell the same story, 1 when they differ, 2 when an input cannot be read
 * or compared (one line naming the file and the problem).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diff.h"

static const char diff_usage[] =
    "Usage: socktrace diff [OPTIONS] A B\n"
    "Compares two traces (.sktrace, .jsonl, .etl, .pcap, .pcapng, in any pairing) told as\n"
    "connection stories: process name, role, peer, how each connection ended, bytes.\n"
    "A trace can be a fleet's nats:// stream, one host of it with ?host=NAME (README, Fleets).\n"
    "  -f, --format F           text (default), jsonl or markdown\n"
    "  -o, --output FILE        write the comparison to FILE\n"
    "      --bytes-tolerance N  byte counts within N (e.g. 512, 4K) or N% do not differ\n"
    "      --order              also compare the order of each connection's steps\n"
    "      --color WHEN         auto (default), always or never\n"
    "Exit status: 0 the same, 1 different, 2 an input could not be read.\n";

typedef struct diff_args {
  int format;
  const char *output;
  int color; /* -1 auto */
  st_diff_options opt;
} diff_args;

enum { D_TOLERANCE = 256, D_ORDER, D_COLOR };

static bool parse_tolerance(const char *s, st_diff_options *o) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s)
    return false;
  if (*end == '%' && !end[1] && v <= 100) {
    o->bytes_tolerance_pct = (unsigned)v;
    return true;
  }
  unsigned shift = *end == 'k' || *end == 'K' ? 10 : *end == 'm' || *end == 'M' ? 20 : 0;
  if (shift)
    end++;
  if (*end || v > (1ull << 40))
    return false;
  o->bytes_tolerance = v << shift;
  return true;
}

static int parse_args(int argc, char **argv, diff_args *d) {
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"bytes-tolerance", required_argument, NULL, D_TOLERANCE},
                                       {"order", no_argument, NULL, D_ORDER},
                                       {"color", required_argument, NULL, D_COLOR},
                                       {"colour", required_argument, NULL, D_COLOR},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
    if (c == 'f' && strcmp(optarg, "text") == 0) {
      d->format = ST_DIFF_TEXT;
    } else if (c == 'f' && strcmp(optarg, "jsonl") == 0) {
      d->format = ST_DIFF_JSONL;
    } else if (c == 'f' && strcmp(optarg, "markdown") == 0) {
      d->format = ST_DIFF_MARKDOWN;
    } else if (c == 'f') {
      cli_error("bad diff format '%s' (use text, jsonl or markdown)", optarg);
      return -1;
    } else if (c == 'o') {
      d->output = optarg;
    } else if (c == D_TOLERANCE) {
      if (!parse_tolerance(optarg, &d->opt)) {
        cli_error("bad --bytes-tolerance '%s' (bytes such as 512 or 4K, or a percentage: 5%%)",
                  optarg);
        return -1;
      }
    } else if (c == D_ORDER) {
      d->opt.order = true;
    } else if (c == D_COLOR) {
      d->color = strcmp(optarg, "always") == 0 ? 1 : strcmp(optarg, "never") == 0 ? 0 : -1;
      if (d->color == -1 && strcmp(optarg, "auto") != 0) {
        cli_error("bad --color '%s' (use auto, always or never)", optarg);
        return -1;
      }
    } else if (c == 'h') {
      fputs(diff_usage, stdout);
      exit(0);
    } else {
      cli_error("try 'socktrace diff --help'");
      return -1;
    }
  }
  if (argc - optind != 2) {
    cli_error("diff takes two traces: socktrace diff [OPTIONS] A B");
    return -1;
  }
  return optind;
}

/* Reads one trace into m; 0, or -1 after one line naming the file (as
 * shown: a stream's password masked). */
static int read_trace(const char *path, const char *shown, cli_model *m) {
  cli_options o = {.color = 0};
  o.cfg.level = ST_LEVEL_VERBOSE;
  st_backend *b;
  if (cli_file_backend(&o, path, &b) < 0)
    return -1;
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session *s = NULL;
  st_sink *sink = NULL;
  int rc = -1;
  if (st_session_new(&loop, &o.cfg, &s) < 0 || cli_model_sink_new(m, &sink) < 0) {
    cli_error("out of memory");
    b->ops->close(b);
    st_session_free(s);
    uv_loop_close(&loop);
    return -1;
  }
  st_session_set_backend(s, b);
  st_session_add_sink(s, sink);
  if (st_session_start(s) == 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  st_backend_stats stats = {0};
  if (b->ops->stats)
    b->ops->stats(b, &stats);
  const char *why = st_session_error(s);
  if (st_session_status(s) < 0)
    cli_error("%s%s%s", strstr(why, shown) ? "" : shown, strstr(why, shown) ? "" : ": ", why);
  else if (stats.errors)
    cli_error("%s%s%s (%llu bad record%s: a partial trace is not compared)",
              strstr(b->error, shown) ? "" : shown, strstr(b->error, shown) ? "" : ": ", b->error,
              (unsigned long long)stats.errors, stats.errors == 1 ? "" : "s");
  else if (!m->counters.seen)
    cli_error("%s: holds no socket events; nothing to compare", shown);
  else
    rc = 0;
  st_session_free(s);
  uv_loop_close(&loop);
  return rc;
}

int cli_diff(int argc, char **argv) {
  diff_args d = {.format = ST_DIFF_TEXT, .color = -1};
  int first = parse_args(argc, argv, &d);
  if (first < 0)
    return 2;
  const char *path[2] = {argv[first], argv[first + 1]};
  char shown[2][512];
  for (int i = 0; i < 2; i++)
    cli_shown(path[i], shown[i], sizeof shown[i]);
  cli_model m[2];
  st_story *stories[2] = {NULL, NULL};
  int n[2] = {0, 0}, code = 2;
  for (int i = 0; i < 2; i++) {
    memset(&m[i], 0, sizeof m[i]);
    st_sum_init(&m[i].sum, 0);
  }
  FILE *out = stdout;
  st_diff_result r = {0};
  for (int i = 0; i < 2; i++)
    if (read_trace(path[i], shown[i], &m[i]) < 0)
      goto done;
  /* Both traces name containers: stories match by container and process. */
  bool by_container = m[0].sum.containers && m[1].sum.containers;
  for (int i = 0; i < 2; i++) {
    n[i] = st_story_list_by(&m[i].sum, by_container, &stories[i]);
    if (n[i] < 0) {
      cli_error("out of memory");
      goto done;
    }
  }
  if (st_diff_stories(stories[0], (size_t)n[0], stories[1], (size_t)n[1], &d.opt, &r) < 0 ||
      st_diff_latency(&m[0].sum, &m[1].sum, &r) < 0) {
    cli_error("out of memory");
    goto done;
  }
  /* Owner-only, as every output socktrace writes (it names who talked to
   * whom). */
  cli_options oo = {.output = d.output};
  if (d.output && !(out = cli_open_output(&oo))) {
    out = stdout;
    goto done;
  }
  st_diff_side side[2];
  for (int i = 0; i < 2; i++)
    side[i] = (st_diff_side){.file = shown[i],
                             .info = m[i].has_info ? &m[i].info : NULL,
                             .stories = (size_t)n[i],
                             .events = m[i].counters.seen,
                             .lost = m[i].counters.lost,
                             .lost_where = m[i].lost_where};
  bool color = d.format == ST_DIFF_TEXT &&
               (d.color == 1 || (d.color == -1 && out == stdout && isatty(fileno(stdout))));
  int rc = st_diff_write(out, d.format, color, &side[0], &side[1], &r);
  if (out != stdout && fclose(out) != 0 && rc == 0)
    rc = ST_EIO;
  out = stdout;
  if (rc < 0)
    cli_error("cannot write the comparison to %s: %s", d.output ? d.output : "standard output",
              rc == ST_EIO ? st_strerror(-errno) : st_strerror(rc));
  else
    code = r.n || r.nslower ? 1 : 0;
done:
  if (out != stdout)
    fclose(out);
  st_diff_result_free(&r);
  for (int i = 0; i < 2; i++) {
    free(stories[i]);
    st_sum_free(&m[i].sum);
  }
  return code;
}
