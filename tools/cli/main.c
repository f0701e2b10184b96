/*
 * socktrace: the command line. Parses options into a session, picks the
 * backend and sinks, runs one libuv loop, and turns every failure into one
 * line on stderr and a non-zero exit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "socktrace " ST_VERSION " - trace socket events the way Windows' Winsock-AFD tracing does,\n"
    "on Linux (eBPF), Windows (ETW) and from recorded files.\n"
    "\n"
    "Usage:\n"
    "  socktrace trace [OPTIONS]                  trace every process on the system\n"
    "  socktrace run [OPTIONS] -- CMD [ARGS...]   trace CMD and its children only;\n"
    "                                             exits with CMD's exit code\n"
    "  socktrace replay [OPTIONS] FILE            read a recorded trace (.sktrace, .jsonl, .pcap,\n"
    "                                             .pcapng, or .etl from Windows)\n"
    "  socktrace report [OPTIONS] FILE            turn a trace into a report, like tracerpt:\n"
    "                                             the summary by default (-f for others)\n"
    "  socktrace diff [OPTIONS] A B               compare two traces (any kinds, e.g. a Windows\n"
    "                                             .etl and a Linux .sktrace) as connection\n"
    "                                             stories ('socktrace diff --help')\n"
    "  socktrace demo [OPTIONS]                   trace a built-in workload: a refused connect,\n"
    "                                             a loopback exchange, a UDP datagram, a reset\n"
    "  socktrace events                           list event names, ids and levels\n"
    "  socktrace catalog                          list the layers between applications and\n"
    "                                             the network stack (Winsock catalog on Windows)\n"
    "  socktrace --help | --version\n"
    "\n"
    "What to trace:\n"
    "  -l, --level N        4 Information (default): lifecycle, failures, resets, summaries;\n"
    "                       5 Verbose: adds every send/receive, options, indications\n"
    "  -k, --keywords MASK  AFD keyword mask: a number (0x2) or names joined by commas:\n"
    "                       datagram, stream, winsock, transport, state, summary, loss, dns\n"
    "  -p, --pid PID        only this process (repeatable)\n"
    "      --port PORT      only sockets with this local or remote port (repeatable)\n"
    "      --host ADDR      only sockets with this local or remote IP address (repeatable)\n"
    "      --family F       inet, inet6 or unix (repeatable)\n"
    "      --protocol P     tcp, udp or a number (repeatable)\n"
    "  -e, --events LIST    only these events: names or ids, comma-separated\n"
    "                       (e.g. AfdConnectWithAddress,AfdAbort,1017)\n"
    "\n"
    "Where it goes:\n"
    "  -f, --format F       text (default), jsonl (one JSON object per line), csv, null\n"
    "                       (discard; with --stats to count), summary (tables and longest-\n"
    "                       lived connections; report's default), markdown (the summary as\n"
    "                       markdown tables, for CI job summaries), chrome (trace-event\n"
    "                       JSON for ui.perfetto.dev / chrome://tracing) or html (one\n"
    "                       self-contained page: tables, timeline, each socket's events)\n"
    "  -o, --output FILE    write events to FILE instead of standard output; a name ending in\n"
    "                       .sktrace records the compact binary trace (read it with replay or\n"
    "                       report); it is written by a background thread and never slows\n"
    "                       tracing: events it cannot keep up with are counted as lost\n"
    "      --max-size BYTES rotate .sktrace files at about this size (e.g. 100M), keeping\n"
    "      --max-files N    the newest N files (default 8): FILE, then FILE's .1, .2, ...\n"
    "      --block-size BYTES  .sktrace block size (default 64K)\n"
    "  -s, --summary        at the end, print the network failures, then per-process and\n"
    "                       per-remote tables (connects, failures by status, accepts, bytes,\n"
    "                       resets), UNIX sockets in their own table, lost events\n"
    "      --all            every row of the summary's tables (else each table's top 10)\n"
    "      --fail-on LIST   exit 3 when a traced socket ended in one of these ways although\n"
    "                       the command succeeded: portable statuses (refused, timed_out,\n"
    "                       reset, not_found, unfinished, ...) and dns (failed DNS answers)\n"
    "      --timeline       at the end, list each socket's events in order with times\n"
    "                       relative to its first event\n"
    "  -q, --quiet          no per-event output (use with --summary or -o)\n"
    "      --color WHEN     auto (default), always or never\n"
    "      --local-time     print local time instead of UTC in text output\n"
    "      --stats          at the end, print how many events were seen, shown, lost\n"
    "      --all-providers  replay of .etl: also list the providers it holds that are not\n"
    "                       Winsock's (by GUID, id, version, count)\n"
    "\n"
    "Live backends:\n"
    "      --backend NAME   ebpf (Linux default), etw (Windows default) or pcap (packets,\n"
    "                       no process info)\n"
    "  -i, --interface IF   interface for --backend pcap (default: any)\n"
    "      --capture-filter EXPR  pcap capture filter for --backend pcap\n"
    "      --ring-size BYTES      kernel ring buffer size for ebpf (default 4 MiB)\n"
    "      --debug                show libbpf's and the kernel verifier's messages (ebpf;\n"
    "                             also SOCKTRACE_DEBUG=1)\n"
    "      --buffer-size KB       ETW buffer size in KiB (default 64)\n"
    "      --buffers N            most ETW buffers (default 512; at least 64 are kept)\n"
    "\n"
    "Examples:\n"
    "  sudo socktrace run -- curl -s http://localhost:8080/\n"
    "  sudo socktrace trace --port 5432 -f jsonl -o pg.jsonl\n"
    "  socktrace replay pg.jsonl --summary -q\n"
    "  sudo socktrace trace -o web.sktrace --max-size 100M --max-files 4\n"
    "  socktrace report web.sktrace -f chrome -o web.json\n"
    "  socktrace report web.sktrace -f html -o web.html\n"
    "  sudo socktrace run --summary --fail-on refused,timed_out,reset,dns -- pytest\n"
    "  socktrace diff last-green.sktrace this-run.sktrace\n"
    "\n"
    "Exit status: 0 on success; CMD's status for 'run'; 1 when tracing failed or the input\n"
    "had bad records (they are reported and skipped); 2 for a usage error; 3 when CMD (or a\n"
    "replayed trace) was fine but a socket ended as --fail-on lists. 'diff': 0 the same,\n"
    "1 different, 2 an input could not be read.\n";

void cli_note(const char *fmt, ...) {
  va_list ap;
  fputs("socktrace: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  fputs("socktrace: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

enum {
  OPT_PORT = 256,
  OPT_HOST,
  OPT_FAMILY,
  OPT_PROTOCOL,
  OPT_COLOR,
  OPT_LOCAL_TIME,
  OPT_BACKEND,
  OPT_CAPTURE_FILTER,
  OPT_RING_SIZE,
  OPT_TIMELINE,
  OPT_MAX_SIZE,
  OPT_MAX_FILES,
  OPT_BLOCK_SIZE,
  OPT_STATS,
  OPT_ALL_PROVIDERS,
  OPT_BUFFER_SIZE,
  OPT_BUFFERS,
  OPT_DEBUG,
  OPT_ALL,
  OPT_FAIL_ON,
};

static const struct option long_opts[] = {
    {"level", required_argument, NULL, 'l'},
    {"keywords", required_argument, NULL, 'k'},
    {"pid", required_argument, NULL, 'p'},
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"events", required_argument, NULL, 'e'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"summary", no_argument, NULL, 's'},
    {"quiet", no_argument, NULL, 'q'},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"local-time", no_argument, NULL, OPT_LOCAL_TIME},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"interface", required_argument, NULL, 'i'},
    {"capture-filter", required_argument, NULL, OPT_CAPTURE_FILTER},
    {"ring-size", required_argument, NULL, OPT_RING_SIZE},
    {"timeline", no_argument, NULL, OPT_TIMELINE},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"max-files", required_argument, NULL, OPT_MAX_FILES},
    {"block-size", required_argument, NULL, OPT_BLOCK_SIZE},
    {"stats", no_argument, NULL, OPT_STATS},
    {"all-providers", no_argument, NULL, OPT_ALL_PROVIDERS},
    {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
    {"buffers", required_argument, NULL, OPT_BUFFERS},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"all", no_argument, NULL, OPT_ALL},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_keywords(const char *s, uint64_t *out) {
  static const struct {
    const char *name;
    uint64_t bit;
  } names[] = {{"datagram", ST_KW_DATAGRAM}, {"stream", ST_KW_STREAM},
               {"winsock", ST_KW_WINSOCK},   {"transport", ST_KW_TRANSPORT},
               {"state", ST_KW_TCP_STATE},   {"summary", ST_KW_SUMMARY},
               {"loss", ST_KW_LOSS},         {"catalog", ST_KW_CATALOG},
               {"dns", ST_KW_DNS},           {"all", ST_KW_ALL}};
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (*s && !*end && !errno && v) {
    *out = v;
    return 0;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  uint64_t mask = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",|", &save); t; t = strtok_r(NULL, ",|", &save)) {
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
      if (strcasecmp(t, names[i].name) == 0)
        break;
    if (i == sizeof names / sizeof names[0])
      return -1;
    mask |= names[i].bit;
  }
  if (!mask)
    return -1;
  *out = mask;
  return 0;
}

/* "4096", "64K", "100M", "2G" -> bytes; false when malformed or out of
 * [min, max]. */
static bool parse_size(const char *s, unsigned long long min, unsigned long long max,
                       unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s)
    return false;
  if (*end == 'k' || *end == 'K')
    v <<= 10, end++;
  else if (*end == 'm' || *end == 'M')
    v <<= 20, end++;
  else if (*end == 'g' || *end == 'G')
    v <<= 30, end++;
  if (*end || v < min || v > max)
    return false;
  *out = v;
  return true;
}

/* Parses options after the subcommand; returns the index of the first
 * operand, or -1 after printing a usage error. */
static int parse_options(int argc, char **argv, cli_options *o, bool stop_at_operand) {
  char err[256];
  int c;
  optind = 1;
  /* `run` stops at its command so CMD's own options stay CMD's. */
  const char *spec = stop_at_operand ? "+l:k:p:e:f:o:sqi:h" : "l:k:p:e:f:o:sqi:h";
  while ((c = getopt_long(argc, argv, spec, long_opts, NULL)) != -1) {
    int rc = 0;
    switch (c) {
    case 'l': {
      char *end;
      long l = strtol(optarg, &end, 10);
      if (*end || l < 1 || l > 5) {
        cli_error("bad level '%s' (use 4 for Information or 5 for Verbose)", optarg);
        return -1;
      }
      o->cfg.level = (uint8_t)l;
      o->level_given = true;
      break;
    }
    case 'k':
      if (parse_keywords(optarg, &o->cfg.keywords) != 0) {
        cli_error("bad keywords '%s' (a number like 0x6, or names: datagram,stream,winsock,"
                  "transport,state,summary,loss,dns)",
                  optarg);
        return -1;
      }
      break;
    case 'p':
      rc = st_filter_add_pid(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_PORT:
      rc = st_filter_add_port(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_HOST:
      rc = st_filter_add_host(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_FAMILY:
      rc = st_filter_add_family(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_PROTOCOL:
      rc = st_filter_add_protocol(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case 'e':
      rc = st_filter_add_events(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case 'f':
      if (strcmp(optarg, "text") && strcmp(optarg, "jsonl") && strcmp(optarg, "csv") &&
          strcmp(optarg, "summary") && strcmp(optarg, "markdown") && strcmp(optarg, "chrome") &&
          strcmp(optarg, "html") && strcmp(optarg, "null")) {
        cli_error("bad format '%s' (use text, jsonl, csv, summary, markdown, chrome, html or null)",
                  optarg);
        return -1;
      }
      o->format = optarg;
      break;
    case 'o':
      o->output = optarg;
      break;
    case 's':
      o->summary = true;
      break;
    case 'q':
      o->quiet = true;
      break;
    case OPT_COLOR:
      if (strcmp(optarg, "auto") == 0)
        o->color = -1;
      else if (strcmp(optarg, "always") == 0)
        o->color = 1;
      else if (strcmp(optarg, "never") == 0)
        o->color = 0;
      else {
        cli_error("bad --color '%s' (use auto, always or never)", optarg);
        return -1;
      }
      break;
    case OPT_LOCAL_TIME:
      o->local_time = true;
      break;
    case OPT_STATS:
      o->stats = true;
      break;
    case OPT_ALL_PROVIDERS:
      o->all_providers = true;
      break;
    case OPT_DEBUG:
      o->debug = true;
      break;
    case OPT_ALL:
      o->all = true;
      break;
    case OPT_FAIL_ON:
      if (cli_fail_on_parse(optarg, o) < 0)
        return -1;
      break;
    case OPT_BACKEND:
      o->backend = optarg;
      break;
    case 'i':
      o->iface = optarg;
      break;
    case OPT_CAPTURE_FILTER:
      o->capture_filter = optarg;
      break;
    case OPT_RING_SIZE: {
      unsigned long long v;
      if (!parse_size(optarg, 4096, 1ull << 30, &v)) {
        cli_error("bad --ring-size '%s' (bytes, e.g. 4M; between 4K and 1G)", optarg);
        return -1;
      }
      o->ring_bytes = (unsigned long)v;
      break;
    }
    case OPT_TIMELINE:
      o->timeline = true;
      break;
    case OPT_MAX_SIZE: {
      unsigned long long v;
      if (!parse_size(optarg, 16 << 10, 1ull << 50, &v)) {
        cli_error("bad --max-size '%s' (bytes, e.g. 100M; at least 16K)", optarg);
        return -1;
      }
      o->max_size = v;
      break;
    }
    case OPT_MAX_FILES: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (*end || v < 1 || v > 1000) {
        cli_error("bad --max-files '%s' (a number from 1 to 1000)", optarg);
        return -1;
      }
      o->max_files = (unsigned)v;
      break;
    }
    case OPT_BLOCK_SIZE: {
      unsigned long long v;
      if (!parse_size(optarg, 4096, 8u << 20, &v)) {
        cli_error("bad --block-size '%s' (bytes, e.g. 64K; between 4K and 8M)", optarg);
        return -1;
      }
      o->block_size = (uint32_t)v;
      break;
    }
    case OPT_BUFFER_SIZE:
    case OPT_BUFFERS: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 0);
      unsigned long lo = c == OPT_BUFFER_SIZE ? 4 : 2, hi = c == OPT_BUFFER_SIZE ? 1024 : 4096;
      if (*end || v < lo || v > hi) {
        cli_error("bad --%s '%s' (a number from %lu to %lu)",
                  c == OPT_BUFFER_SIZE ? "buffer-size" : "buffers", optarg, lo, hi);
        return -1;
      }
      if (c == OPT_BUFFER_SIZE)
        o->etw_buffer_kb = v;
      else
        o->etw_buffers = v;
      break;
    }
    case 'h':
      fputs(usage, stdout);
      exit(0);
    default:
      cli_error("try 'socktrace --help'");
      return -1;
    }
    if (rc < 0) {
      cli_error("%s", err);
      return -1;
    }
  }
  return optind;
}

int cli_run_session(cli_options *o, st_backend *b, cli_hook after_start, void *arg) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  FILE *out = stdout;
  if (o->output && strcmp(o->output, "-") != 0 && !cli_is_sktrace_path(o->output)) {
    out = fopen(o->output, "w");
    if (!out) {
      cli_error("cannot open %s for writing: %s", o->output, strerror(errno));
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
  st_sink *sktrace = NULL;
  int code = 0;
  if (cli_ci_begin(o) < 0 || cli_add_sinks(o, s, out, &sktrace) < 0) {
    code = 1;
  } else if (st_session_start(s) < 0) {
    cli_error("%s", st_session_error(s));
    code = 1;
  } else {
    if (o->announce)
      cli_note("tracing with the %s backend at level %u (Ctrl-C to stop)", b->ops->name,
               o->cfg.level);
    if (after_start)
      code = after_start(s, &loop, arg);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  st_backend_stats stats = {0};
  if (b->ops->stats)
    b->ops->stats(b, &stats);
  if (st_session_status(s) < 0 && code == 0) {
    cli_error("%s", st_session_error(s));
    code = 1;
  } else if (stats.errors) {
    cli_error("%llu bad record%s skipped; first: %s", (unsigned long long)stats.errors,
              stats.errors == 1 ? "" : "s", b->error);
    if (code == 0)
      code = 1;
  }
  st_counters c;
  st_session_counters(s, &c);
  if (o->stats)
    cli_note("%llu events seen, %llu shown, %llu filtered out, %llu lost",
             (unsigned long long)c.seen, (unsigned long long)c.delivered,
             (unsigned long long)c.filtered, (unsigned long long)c.lost);
  if (c.lost && !o->summary)
    cli_error(o->announce ? "%llu events were lost (see the EventsLost records; raise --ring-size)"
                          : "the recording says %llu events were lost (see its EventsLost records)",
              (unsigned long long)c.lost);
  cli_backend_report(o, b);
  if (sktrace)
    cli_report_writer(sktrace, o->output);
  st_session_free(s);
  uv_loop_close(&loop);
  if (out != stdout && fclose(out) != 0 && code == 0) {
    cli_error("cannot write %s: %s", o->output, strerror(errno));
    code = 1;
  }
  return cli_ci_end(o, code);
}

/* Every event of the schema, and whether this machine's live backend
 * reports it (HERE). */
static void list_events(void) {
  char here[160];
  cli_event_here(ST_PROVIDER_AFD, ST_EV_CREATE, here, sizeof here);
  bool show = here[0] != '\0';
  printf("%-9s %-6s %-5s %-38s%s\n", "PROVIDER", "ID", "LEVEL", "NAME", show ? "HERE" : "");
  for (int p = 0; p < ST_PROVIDER_COUNT; p++) {
    for (int id = 0; id < 6000; id++) {
      const char *n = st_event_name((uint8_t)p, (uint16_t)id);
      if (!n)
        continue;
      if (show)
        cli_event_here((uint8_t)p, (uint16_t)id, here, sizeof here);
      printf("%-9s %-6d %-5d %-38s%s\n", st_provider_name((uint8_t)p), id,
             st_event_default_level((uint8_t)p, (uint16_t)id), n, show ? here : "");
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("socktrace %s\n", ST_VERSION);
    return 0;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "__demo-workload") == 0)
    return cli_demo_workload();
  if (strcmp(cmd, "events") == 0) {
    list_events();
    return 0;
  }
  if (strcmp(cmd, "diff") == 0)
    return cli_diff(argc - 1, argv + 1);
  if (strcmp(cmd, "catalog") == 0) {
    cli_options co = {.color = -1};
    if (argc > 2) {
      cli_error("catalog takes no operands");
      return 2;
    }
    return cli_catalog(&co);
  }
  cli_options o = {.color = -1};
  o.cfg.name = "socktrace";
  o.cfg.level = ST_LEVEL_INFO;
  int first = parse_options(argc - 1, argv + 1, &o, strcmp(cmd, "run") == 0);
  if (first < 0)
    return 2;
  char **rest = argv + 1 + first;
  int nrest = argc - 1 - first;
  o.cfg.ring_pages = (uint32_t)(o.ring_bytes / 4096);

  if (o.timeline && o.format && strcmp(o.format, "summary") != 0 && strcmp(o.format, "text") != 0) {
    cli_error("--timeline goes with the text or summary output, not -f %s", o.format);
    return 2;
  }
  if (strcmp(cmd, "replay") == 0 || strcmp(cmd, "report") == 0) {
    /* A recording shows everything it holds unless a level is asked for. */
    if (!o.level_given)
      o.cfg.level = ST_LEVEL_VERBOSE;
    if (nrest != 1) {
      cli_error("%s takes one FILE (try 'socktrace --help')", cmd);
      return 2;
    }
    /* report, like tracerpt, gives the summary unless told otherwise; with
     * --timeline alone, just the timeline. */
    if (strcmp(cmd, "report") == 0 && !o.format) {
      if (o.timeline)
        o.quiet = true;
      else
        o.format = "summary";
    }
    o.input = rest[0];
    st_backend *b;
    if (cli_file_backend(&o, rest[0], &b) < 0)
      return 1;
    return cli_run_session(&o, b, NULL, NULL);
  }
  if (strcmp(cmd, "trace") == 0) {
    if (nrest) {
      cli_error("trace takes no operands; to trace one command use 'socktrace run -- CMD'");
      return 2;
    }
    st_backend *b;
    if (cli_live_backend(&o, &b) < 0)
      return 1;
    o.cfg.handle_signals = true;
    o.announce = true;
    return cli_run_session(&o, b, NULL, NULL);
  }
  if (strcmp(cmd, "run") == 0) {
    if (!nrest) {
      cli_error("run needs a command: socktrace run [OPTIONS] -- CMD [ARGS...]");
      return 2;
    }
    return cli_run_command(&o, rest);
  }
  if (strcmp(cmd, "demo") == 0) {
    if (nrest) {
      cli_error("demo takes no operands");
      return 2;
    }
    return cli_demo(&o);
  }
  cli_error("unknown command '%s' (try 'socktrace --help')", cmd);
  return 2;
}
