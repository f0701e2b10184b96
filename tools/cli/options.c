/*
 * The command line's options: the words that explain them (--help) and the
 * parser that turns them into cli_options, with a one-line usage error for
 * anything it cannot take. Which command runs is main.c's business.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "top_model.h"

const char cli_options_help[] =
    "\n"
    "What to trace:\n"
    "  -l, --level N        4 Information (default): lifecycle, failures, resets, summaries;\n"
    "                       5 Verbose: adds every send/receive, options, indications\n"
    "  -k, --keywords MASK  AFD keyword mask: a number (0x2) or names joined by commas:\n"
    "                       datagram, stream, winsock, transport, state, summary, loss, dns,\n"
    "                       catalog (changes to the catalog: BPF programs on cgroup socket\n"
    "                       hooks, nftables rule sets, ld.so.preload, nsswitch hosts,\n"
    "                       resolv.conf, gai.conf, hosts; on Windows the WS2HELP provider)\n"
    "  -p, --pid PID        only this process (repeatable)\n"
    "      --port PORT      only sockets with this local or remote port (repeatable)\n"
    "      --host ADDR      only sockets with this local or remote IP address (repeatable);\n"
    "                       of a nats:// stream, a name selects that publisher's events\n"
    "      --family F       inet, inet6 or unix (repeatable)\n"
    "      --protocol P     tcp, udp or a number (repeatable)\n"
    "      --container C    only events of this container: its name, id or id prefix\n"
    "                       (repeatable; see 'Containers' in the README)\n"
    "  -e, --events LIST    only these events: names or ids, comma-separated\n"
    "                       (e.g. AfdConnectWithAddress,AfdAbort,1017)\n"
    "      --dns-timeout S  a DNS query with no answer after S seconds (default 5) is\n"
    "                       reported as unanswered (DnsMessage, status timed_out)\n"
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
    "                       report); a background thread writes it: when it falls behind,\n"
    "                       tracing waits at most 20 ms, then counts what it drops as lost\n"
    "      --max-size BYTES rotate .sktrace files at about this size (e.g. 100M), keeping\n"
    "      --max-files N    the newest N files (default 8): FILE, then FILE's .1, .2, ...\n"
    "      --block-size BYTES  .sktrace block size before compression (default 256K,\n"
    "                       64K with --compress none)\n"
    "      --compress C     .sktrace blocks: zstd (default; level 1), zstd:LEVEL (1-19:\n"
    "                       smaller, slower) or none (format 1.3, for socktrace before 2.0)\n"
    "  -s, --summary        at the end, print the network failures, then per-process and\n"
    "                       per-remote tables (connects, failures by status, accepts, bytes,\n"
    "                       resets), UNIX sockets in their own table, lost events\n"
    "      --all            every row of the summary's tables (else each table's top 10)\n"
    "      --fail-on LIST   exit 3 when a traced socket ended in one of these ways although\n"
    "                       the command succeeded: portable statuses (refused, timed_out,\n"
    "                       reset, not_found, unfinished, ...) and dns (failed DNS answers);\n"
    "                       lost: exit 4 when events were lost (the recording is incomplete)\n"
    "      --timeline       at the end, list each socket's events in order with times\n"
    "                       relative to its first event\n"
    "  -q, --quiet          no per-event output on the terminal (-o FILE still gets it)\n"
    "      --color WHEN     auto (default), always or never\n"
    "      --local-time     print local time instead of UTC in text output\n"
    "      --stats          at the end, print how many events were seen, shown, lost\n"
    "      --stats=json     the same as one JSON object, the last line on stderr (for\n"
    "                       scripts: seen, shown, filtered, lost, and the backend's and\n"
    "                       the .sktrace writer's own counts)\n"
    "      --all-providers  replay of .etl: also list the providers it holds that are not\n"
    "                       Winsock's (by GUID, id, version, count)\n"
    "      --file-mode MODE permissions of the files written (default 0600: traces say who\n"
    "                       talks to whom, so only their owner reads them)\n"
    "      --metrics ADDR   start, trace, run: serve Prometheus metrics (counters, connect,\n"
    "                       DNS and RTT latency histograms) at http://ADDR/metrics while the\n"
    "                       session runs; ADDR is IP:PORT or :PORT (loopback)\n"
    "      --metrics-max-series N  label sets kept one each (default 4000); the rest is\n"
    "                       counted under process and remote \"other\"\n"
    "\n"
    "top [FILE|nats://HOST] or top -- CMD (a live view; the full screen on a terminal):\n"
    "  -d, --delay SECONDS  the interval (default 1; e.g. 0.5)\n"
    "  -b, --batch          print the table every interval instead (also when standard\n"
    "                       output is no terminal); -f jsonl: one object per row\n"
    "  -n, --iterations N   stop after N intervals\n"
    "  -g, --group KEY      process (default), remote, container or host\n"
    "      --sort COLUMN    conn, acc, failed, rst-in, rst-out, retrans, in, out, p50, p99,\n"
    "                       dns or key (default failed; largest first)\n"
    "      --session NAME   watch a running session's events (no second tracer)\n"
    "      --speed N        a recording at N times its pace (default 1; 0: as fast as it\n"
    "                       reads, intervals still on its own clock)\n"
    "      --cmd-output FILE top -- CMD: CMD's stdout and stderr go to FILE (default:\n"
    "                       /dev/null on the full screen; in batch mode CMD's stdout goes\n"
    "                       to stderr, leaving standard output to the table)\n"
    "\n"
    "Sessions (start, query, update, stop, flush):\n"
    "      --control-dir DIR    where the sessions' control sockets are (default\n"
    "                           /run/socktrace for root; also SOCKTRACE_RUN_DIR)\n"
    "      --foreground         start: keep the session in this process (for systemd)\n"
    "      --config FILE        start: more options from FILE (words, # comments)\n"
    "      --clear-filters      update: drop the filters the update does not name\n"
    "  -f json                  query: the sessions as JSON\n"
    "\n"
    "OpenTelemetry (see the README's Metrics and OpenTelemetry section):\n"
    "  -o otlp://HOST:PORT[/PATH] (otlps:// for TLS): events as log records and metrics\n"
    "                             as OTLP metrics, OTLP/HTTP protobuf to a collector\n"
    "      --otlp-header 'NAME: VALUE'  an HTTP header for each request (repeatable: tokens)\n"
    "      --otlp-ca FILE         CA certificates to trust for otlps://\n"
    "      --otlp-buffer BYTES    events held while the collector is away (default 16M)\n"
    "      --otlp-retry           start even when the collector does not answer\n"
    "Fleets (NATS JetStream; see the README's Fleets section):\n"
    "  -o nats://[USER:PASS@]HOST[:PORT][,HOST[:PORT]...][/STREAM]\n"
    "                       publish the events to a JetStream stream (default SOCKTRACE,\n"
    "                       created if absent) on socktrace.<host>.<os>.<provider>.<id>;\n"
    "                       tls:// for TLS; with -f, the events also go to standard output\n"
    "      --host-name NAME the host name the trace carries (default: this machine's)\n"
    "      --nats-creds FILE      a NATS .creds file (user JWT and NKey seed)\n"
    "      --nats-tls-ca FILE     CA certificates to trust (turns TLS on)\n"
    "      --nats-tls-cert FILE, --nats-tls-key FILE  a client certificate and its key\n"
    "      --nats-retry           start even when no server answers; deliver when one does\n"
    "      --nats-buffer BYTES    what is held while the server is away (default 64M); more\n"
    "                             is counted and published as EventsLost when it is back\n"
    "      --nats-replicas N, --nats-max-age DURATION, --nats-max-bytes BYTES\n"
    "                             a stream socktrace creates: replicas (default 1), how long\n"
    "                             and how much it keeps (default 7d and 1G, oldest first)\n"
    "  replay|report|collect nats://HOST[:PORT]/STREAM: read a stream (replay: to its end;\n"
    "                       collect: follows it, then a table by host)\n"
    "      --since TIME     from this time: a duration back (10m, 2h) or 2026-11-25T19:21:13Z\n"
    "      --since-seq N    from this stream sequence\n"
    "\n"
    "Live backends:\n"
    "      --backend NAME   ebpf (Linux default), ptrace (Linux, no root: run -- CMD and\n"
    "                       run --pid PID only;\n"
    "                       run picks it when eBPF cannot load), etw (Windows default)\n"
    "                       or pcap (packets, no process info)\n"
    "  -i, --interface IF   interface for --backend pcap (default: any)\n"
    "      --capture-filter EXPR  pcap capture filter for --backend pcap\n"
    "      --ring-size BYTES      kernel ring buffer size for ebpf (default 4 MiB)\n"
    "      --debug                show libbpf's and the kernel verifier's messages (ebpf;\n"
    "                             also SOCKTRACE_DEBUG=1)\n"
    "      --trace-self           keep socktrace's own sockets (its sessions' control\n"
    "                             connections and their clients, its name lookups, its\n"
    "                             nats:// publishing) in the trace; left out by default\n"
    "      --catalog-root DIR     read the catalog's files under DIR instead of / (ebpf and\n"
    "                             catalog; also SOCKTRACE_CATALOG_ROOT)\n"
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
    "  sudo socktrace start fleet -o nats://nats1:4222,nats2:4222,nats3:4222\n"
    "  socktrace report nats://nats1:4222 --since 10m --host web3\n"
    "  sudo socktrace run --summary --fail-on refused,timed_out,reset,dns -- pytest\n"
    "  socktrace diff last-green.sktrace this-run.sktrace\n"
    "\n"
    "Exit status: 0 on success; CMD's status for 'run' when CMD failed; 1 when tracing failed\n"
    "or the input had bad records (they are reported and skipped); 2 for a usage error; 3 when\n"
    "CMD (or a replayed trace) was fine but a socket ended as --fail-on lists; 4 when the\n"
    "recording is incomplete (it stopped on a write error such as a full disk, or events were\n"
    "lost and --fail-on lists lost). 'diff': 0 the same, 1 different, 2 an input could not\n"
    "be read.\n";

enum {
  OPT_PORT = 256,
  OPT_HOST,
  OPT_FAMILY,
  OPT_PROTOCOL,
  OPT_CONTAINER,
  OPT_COLOR,
  OPT_LOCAL_TIME,
  OPT_BACKEND,
  OPT_CAPTURE_FILTER,
  OPT_RING_SIZE,
  OPT_TIMELINE,
  OPT_MAX_SIZE,
  OPT_MAX_FILES,
  OPT_BLOCK_SIZE,
  OPT_COMPRESS,
  OPT_STATS,
  OPT_ALL_PROVIDERS,
  OPT_BUFFER_SIZE,
  OPT_BUFFERS,
  OPT_DEBUG,
  OPT_FILE_MODE,
  OPT_CONTROL_DIR,
  OPT_FOREGROUND,
  OPT_CONFIG,
  OPT_CLEAR_FILTERS,
  OPT_CATALOG_ROOT,
  OPT_TRACE_SELF,
  OPT_ALL,
  OPT_FAIL_ON,
  OPT_DNS_TIMEOUT,
  OPT_SORT,
  OPT_SESSION,
  OPT_SPEED,
  OPT_METRICS,
  OPT_METRICS_MAX_SERIES,
  OPT_CMD_OUTPUT,
};

static const struct option long_opts[] = {
    {"level", required_argument, NULL, 'l'},
    {"keywords", required_argument, NULL, 'k'},
    {"pid", required_argument, NULL, 'p'},
    {"port", required_argument, NULL, OPT_PORT},
    {"host", required_argument, NULL, OPT_HOST},
    {"family", required_argument, NULL, OPT_FAMILY},
    {"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"metrics-max-series", required_argument, NULL, OPT_METRICS_MAX_SERIES},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"container", required_argument, NULL, OPT_CONTAINER},
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
    {"compress", required_argument, NULL, OPT_COMPRESS},
    {"stats", optional_argument, NULL, OPT_STATS},
    {"all-providers", no_argument, NULL, OPT_ALL_PROVIDERS},
    {"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
    {"buffers", required_argument, NULL, OPT_BUFFERS},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"all", no_argument, NULL, OPT_ALL},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"file-mode", required_argument, NULL, OPT_FILE_MODE},
    {"control-dir", required_argument, NULL, OPT_CONTROL_DIR},
    {"foreground", no_argument, NULL, OPT_FOREGROUND},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"clear-filters", no_argument, NULL, OPT_CLEAR_FILTERS},
    {"nats-creds", required_argument, NULL, CLI_OPT_NATS_CREDS},
    {"nats-tls-ca", required_argument, NULL, CLI_OPT_NATS_TLS_CA},
    {"nats-tls-cert", required_argument, NULL, CLI_OPT_NATS_TLS_CERT},
    {"nats-tls-key", required_argument, NULL, CLI_OPT_NATS_TLS_KEY},
    {"nats-retry", no_argument, NULL, CLI_OPT_NATS_RETRY},
    {"nats-buffer", required_argument, NULL, CLI_OPT_NATS_BUFFER},
    {"nats-replicas", required_argument, NULL, CLI_OPT_NATS_REPLICAS},
    {"nats-max-age", required_argument, NULL, CLI_OPT_NATS_MAX_AGE},
    {"nats-max-bytes", required_argument, NULL, CLI_OPT_NATS_MAX_BYTES},
    {"otlp-header", required_argument, NULL, CLI_OPT_OTLP_HEADER},
    {"otlp-ca", required_argument, NULL, CLI_OPT_OTLP_CA},
    {"otlp-buffer", required_argument, NULL, CLI_OPT_OTLP_BUFFER},
    {"otlp-retry", no_argument, NULL, CLI_OPT_OTLP_RETRY},
    {"since", required_argument, NULL, CLI_OPT_SINCE},
    {"since-seq", required_argument, NULL, CLI_OPT_SINCE_SEQ},
    {"host-name", required_argument, NULL, CLI_OPT_HOST_NAME},
    {"catalog-root", required_argument, NULL, OPT_CATALOG_ROOT},
    {"delay", required_argument, NULL, 'd'},
    {"batch", no_argument, NULL, 'b'},
    {"iterations", required_argument, NULL, 'n'},
    {"group", required_argument, NULL, 'g'},
    {"sort", required_argument, NULL, OPT_SORT},
    {"session", required_argument, NULL, OPT_SESSION},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"trace-self", no_argument, NULL, OPT_TRACE_SELF},
    {"cmd-output", required_argument, NULL, OPT_CMD_OUTPUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cli_parse_keywords(const char *s, uint64_t *out) {
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

bool cli_parse_size(const char *s, unsigned long long min, unsigned long long max,
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

int cli_parse_options(int argc, char **argv, cli_options *o, bool stop_at_operand) {
  char err[256];
  int c;
  optind = 1;
  /* `run` stops at its command so CMD's own options stay CMD's. */
  const char *spec = stop_at_operand ? "+l:k:p:e:f:o:sqi:hd:bn:g:" : "l:k:p:e:f:o:sqi:hd:bn:g:";
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
      if (cli_parse_keywords(optarg, &o->cfg.keywords) != 0) {
        cli_error("bad keywords '%s' (a number like 0x6, or names: datagram,stream,winsock,"
                  "transport,state,summary,loss,catalog,dns)",
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
      if (rc < 0 && cli_nats_host(o, optarg, err))
        rc = 0; /* a publisher's name: only a nats:// stream has them */
      break;
    case OPT_FAMILY:
      rc = st_filter_add_family(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_PROTOCOL:
      rc = st_filter_add_protocol(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case OPT_CONTAINER:
      rc = st_filter_add_container(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case 'e':
      rc = st_filter_add_events(&o->cfg.filter, optarg, err, sizeof err);
      break;
    case 'f':
      if (strcmp(optarg, "text") && strcmp(optarg, "jsonl") && strcmp(optarg, "csv") &&
          strcmp(optarg, "summary") && strcmp(optarg, "markdown") && strcmp(optarg, "chrome") &&
          strcmp(optarg, "html") && strcmp(optarg, "null") && strcmp(optarg, "json")) {
        cli_error("bad format '%s' (use text, jsonl, csv, summary, markdown, chrome, html or "
                  "null; json for query)",
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
      if (!optarg || strcmp(optarg, "text") == 0)
        o->stats = CLI_STATS_TEXT;
      else if (strcmp(optarg, "json") == 0)
        o->stats = CLI_STATS_JSON;
      else {
        cli_error("bad --stats '%s' (use --stats or --stats=json)", optarg);
        return -1;
      }
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
    case OPT_FILE_MODE: {
      char *end;
      unsigned long m = strtoul(optarg, &end, 8);
      if (*end || !*optarg || m > 0777 || !(m & 0600)) {
        cli_error("bad --file-mode '%s' (octal permissions the owner can read and write, e.g. "
                  "0640)",
                  optarg);
        return -1;
      }
      o->file_mode = (unsigned)m;
      break;
    }
    case OPT_CONTROL_DIR:
      o->control_dir = optarg;
      break;
    case OPT_FOREGROUND:
      o->foreground = true;
      break;
    case OPT_CONFIG:
      o->config = optarg;
      break;
    case OPT_CLEAR_FILTERS:
      o->clear_filters = true;
      break;
    case OPT_TRACE_SELF:
      o->trace_self = true;
      break;
    case OPT_CATALOG_ROOT:
      o->catalog_root = optarg;
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
    case OPT_DNS_TIMEOUT: {
      char *end;
      double v = strtod(optarg, &end);
      if (end == optarg || *end || !(v >= 0.001 && v <= 3600)) {
        cli_error("bad --dns-timeout '%s' (seconds, e.g. 5 or 0.5; at most 3600)", optarg);
        return -1;
      }
      o->cfg.dns_timeout_ms = (uint32_t)(v * 1000 + 0.5);
      break;
    }
    case OPT_METRICS:
      if (cli_metrics_check(optarg) < 0)
        return -1;
      o->metrics = optarg;
      break;
    case OPT_METRICS_MAX_SERIES: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end || v < 1 || v > 1000000) {
        cli_error("bad --metrics-max-series '%s' (a number from 1 to 1000000)", optarg);
        return -1;
      }
      o->metrics_max_series = (unsigned)v;
      break;
    }
    case OPT_RING_SIZE: {
      unsigned long long v;
      if (!cli_parse_size(optarg, 4096, 1ull << 30, &v)) {
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
      if (!cli_parse_size(optarg, 16 << 10, 1ull << 50, &v)) {
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
      if (!cli_parse_size(optarg, 4096, 8u << 20, &v)) {
        cli_error("bad --block-size '%s' (bytes, e.g. 64K; between 4K and 8M)", optarg);
        return -1;
      }
      o->block_size = (uint32_t)v;
      break;
    }
    case OPT_COMPRESS: {
      char *end = NULL;
      long v = 0;
      if (strcmp(optarg, "none") == 0)
        v = ST_SKTRACE_COMPRESS_NONE;
      else if (strcmp(optarg, "zstd") == 0)
        v = ST_SKTRACE_COMPRESS_DEFAULT;
      else if (strncmp(optarg, "zstd:", 5) == 0)
        v = strtol(optarg + 5, &end, 10);
      if (v == 0 || (end && (*end || end == optarg + 5 || v < 1 || v > ST_SKTRACE_COMPRESS_MAX))) {
        cli_error("bad --compress '%s' (none, zstd or zstd:LEVEL with LEVEL 1 to %d)", optarg,
                  ST_SKTRACE_COMPRESS_MAX);
        return -1;
      }
      o->compress = (int)v;
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
    case 'd':
    case OPT_SPEED: {
      char *end;
      double v = strtod(optarg, &end);
      bool delay = c == 'd';
      if (end == optarg || *end || !(delay ? v >= 0.001 && v <= 3600 : v >= 0 && v <= 1e6)) {
        cli_error(delay ? "bad --delay '%s' (seconds, e.g. 1 or 0.5; from 0.001 to 3600)"
                        : "bad --speed '%s' (a factor, e.g. 1, 10 or 0 for as fast as it reads)",
                  optarg);
        return -1;
      }
      if (delay)
        o->top.interval_ns = (uint64_t)(v * 1e9 + 0.5);
      else
        o->top.speed = v, o->top.speed_given = true;
      break;
    }
    case 'b':
      o->top.batch = true;
      break;
    case OPT_CMD_OUTPUT:
      o->top.cmd_output = optarg;
      break;
    case 'n': {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (*end || !*optarg || v < 1) {
        cli_error("bad --iterations '%s' (a number from 1)", optarg);
        return -1;
      }
      o->top.iterations = v;
      break;
    }
    case 'g':
      o->top.grouping = st_top_grouping_lookup(optarg);
      if (o->top.grouping < 0) {
        cli_error("bad --group '%s' (use process, remote, container or host)", optarg);
        return -1;
      }
      break;
    case OPT_SORT:
      o->top.sort = optarg;
      break;
    case OPT_SESSION:
      o->top.session = optarg;
      break;
    case 'h':
      cli_usage(stdout);
      exit(0);
    default:
      if (c >= CLI_OPT_OTLP_FIRST && c < CLI_OPT_OTLP_END) {
        if (cli_otlp_option(o, c, optarg) < 0)
          return -1;
        break;
      }
      if (c >= CLI_OPT_NATS_FIRST && c < CLI_OPT_NATS_END) {
        if (cli_nats_option(o, c, optarg) < 0)
          return -1;
        break;
      }
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
