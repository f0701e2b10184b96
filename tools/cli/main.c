/*
 * socktrace: the command line. One table of commands {name, synopsis and
 * help line, operand rule, handler}: main() finds the command, has
 * options.c parse the options, checks the operands against the rule and
 * runs the handler. Every failure is one line on stderr and a non-zero
 * exit (2 for a usage error).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

/* What a command takes after its options. */
typedef enum operands {
  OPERANDS_NONE,    /* nothing */
  OPERANDS_FILE,    /* exactly one FILE */
  OPERANDS_COMMAND, /* a command line of its own (options stop at it) */
  OPERANDS_NAME,    /* exactly one session NAME */
  OPERANDS_NAME_OR_NONE,
  OPERANDS_ANY, /* ignored */
} operands;

typedef struct command {
  const char *name;
  const char *synopsis; /* after "socktrace "; NULL: not in --help */
  const char *help;     /* lines of --help, '\n' between them */
  operands operands;
  bool options;       /* takes the options (options.c) */
  const char *misuse; /* the usage error when the operands are wrong */
  int (*run)(cli_options *o, int nrest, char **rest);
} command;

static int run_file(cli_options *o, int nrest, char **rest) {
  /* A recording shows everything it holds unless a level is asked for. */
  if (!o->level_given)
    o->cfg.level = ST_LEVEL_VERBOSE;
  o->input = rest[0];
  st_backend *b;
  if (cli_file_backend(o, rest[0], &b) < 0)
    return 1;
  return cli_run_session(o, b, NULL, NULL);
}

static int run_report(cli_options *o, int nrest, char **rest) {
  /* report, like tracerpt, gives the summary unless told otherwise; with
   * --timeline alone, just the timeline. */
  if (!o->format) {
    if (o->timeline)
      o->quiet = true;
    else
      o->format = "summary";
  }
  return run_file(o, nrest, rest);
}

static int run_trace(cli_options *o, int nrest, char **rest) {
  st_backend *b;
  if (cli_live_backend(o, &b) < 0)
    return 1;
  o->cfg.handle_signals = true;
  o->announce = true;
  return cli_run_session(o, b, NULL, NULL);
}

static int run_run(cli_options *o, int nrest, char **rest) {
  if (nrest == 0 && o->cfg.filter.npids)
    return cli_run_attach(o); /* run --pid PID */
  return cli_run_command(o, rest);
}

static int run_demo(cli_options *o, int nrest, char **rest) {
  return cli_demo(o);
}

/* Every event of the schema, and whether this machine's live backend
 * reports it (HERE). */
static int run_events(cli_options *o, int nrest, char **rest) {
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
  return 0;
}

static int run_catalog(cli_options *o, int nrest, char **rest) {
  return cli_catalog(o);
}

static int run_start(cli_options *o, int nrest, char **rest) {
  return cli_start(o, rest[0]);
}

static int run_query(cli_options *o, int nrest, char **rest) {
  return cli_query(o, nrest ? rest[0] : NULL);
}

static int run_update(cli_options *o, int nrest, char **rest) {
  return cli_update(o, rest[0]);
}

static int run_stop(cli_options *o, int nrest, char **rest) {
  return cli_stop(o, rest[0]);
}

static int run_flush(cli_options *o, int nrest, char **rest) {
  return cli_flush(o, rest[0]);
}

/* top -- CMD: the command comes after "--" (options stopped there). */
static bool dash_dash(int argc, char **argv) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--") == 0)
      return true;
  return false;
}

static int run_top(cli_options *o, int nrest, char **rest) {
  return cli_top(o, nrest ? rest[0] : NULL, NULL);
}

static int run_top_command(cli_options *o, int nrest, char **rest) {
  if (strcmp(rest[-1], "--") != 0) {
    cli_error("top watches a FILE or a stream, or a command after --, not both: "
              "socktrace top [OPTIONS] -- CMD [ARGS...]");
    return 2;
  }
  return cli_top(o, NULL, rest);
}

static int run_collect(cli_options *o, int nrest, char **rest) {
  return cli_collect(o, rest[0]);
}

/* diff reads its own options (diff.c): it gets the command line from
 * "diff" on. */
static int run_diff(cli_options *o, int nrest, char **rest) {
  return cli_diff(nrest + 1, rest - 1);
}

static int run_demo_workload(cli_options *o, int nrest, char **rest) {
  return cli_demo_workload();
}

static const command commands[] = {
    {"trace", "trace [OPTIONS]", "trace every process on the system", OPERANDS_NONE, true,
     "trace takes no operands; to trace one command use 'socktrace run -- CMD'", run_trace},
    {"run", "run [OPTIONS] -- CMD [ARGS...]",
     "trace CMD and its children only;\nexits with CMD's exit code;\n"
     "run --pid PID attaches to a running process\n(ptrace, same user; Ctrl-C detaches)",
     OPERANDS_COMMAND, true,
     "run needs a command (socktrace run [OPTIONS] -- CMD [ARGS...]) or a running process "
     "(socktrace run --pid PID)",
     run_run},
    {"replay", "replay [OPTIONS] FILE",
     "read a recorded trace (.sktrace, .jsonl, .pcap,\n.pcapng, .etl from Windows) or a nats:// "
     "stream",
     OPERANDS_FILE, true, "replay takes one FILE (try 'socktrace --help')", run_file},
    {"report", "report [OPTIONS] FILE",
     "turn a trace into a report, like tracerpt:\nthe summary by default (-f for others)",
     OPERANDS_FILE, true, "report takes one FILE (try 'socktrace --help')", run_report},
    {"collect", "collect [OPTIONS] nats://HOST",
     "follow a fleet's stream live, like tail -f;\nat Ctrl-C, a table by host", OPERANDS_FILE, true,
     "collect takes one nats:// URL: socktrace collect nats://HOST[:PORT][/STREAM]", run_collect},
    {"top", "top [OPTIONS] [FILE|nats://HOST]",
     "a live view of the sockets, like top: per\nprocess (or remote, container, host) connects,\n"
     "failures, accepts, resets, retransmits,\nbytes, connect latency; from the live\n"
     "backend, a --session, a stream or a FILE",
     OPERANDS_NAME_OR_NONE, true, "top takes at most one FILE or nats:// URL", run_top},
    {"top", "top [OPTIONS] -- CMD [ARGS...]",
     "the same view of CMD and its children only;\nexits with CMD's exit code", OPERANDS_COMMAND,
     true, "top -- needs a command: socktrace top [OPTIONS] -- CMD [ARGS...]", run_top_command},
    {"diff", "diff [OPTIONS] A B",
     "compare two traces (any kinds, e.g. a Windows\n.etl and a Linux .sktrace) as connection\n"
     "stories ('socktrace diff --help')",
     OPERANDS_ANY, false, NULL, run_diff},
    {"demo", "demo [OPTIONS]",
     "trace a built-in workload: a refused connect,\na loopback exchange, a UDP datagram, a reset",
     OPERANDS_NONE, true, "demo takes no operands", run_demo},
    {"start", "start NAME [OPTIONS]",
     "start a background session NAME (like logman\nstart): tracing goes on after the shell ends",
     OPERANDS_NAME, true, "start needs a session NAME: socktrace start NAME -o FILE.sktrace",
     run_start},
    {"query", "query [NAME] [-f json]", "the running sessions (or one): settings,\noutputs, counts",
     OPERANDS_NAME_OR_NONE, true, "query takes at most one session NAME", run_query},
    {"update", "update NAME [OPTIONS]",
     "change a running session's level, keywords\nor filters, without a gap", OPERANDS_NAME, true,
     "update needs a session NAME: socktrace update NAME -l 5", run_update},
    {"flush", "flush NAME", "write what a session holds to its file", OPERANDS_NAME, true,
     "flush needs a session NAME", run_flush},
    {"stop", "stop NAME", "stop a session: flush, close its outputs, say\nits counts",
     OPERANDS_NAME, true, "stop needs a session NAME", run_stop},
    {"events", "events", "list event names, ids and levels", OPERANDS_ANY, false, NULL, run_events},
    {"catalog", "catalog [-f jsonl]",
     "list the layers between applications and\nthe network stack (Winsock catalog on Windows;\n"
     "BPF programs on cgroup socket hooks,\nnftables rule sets, ld.so.preload, nsswitch\n"
     "hosts, resolv.conf, gai.conf and hosts on\nLinux)",
     OPERANDS_NONE, true, "catalog takes no operands", run_catalog},
    {"__demo-workload", NULL, NULL, OPERANDS_ANY, false, NULL, run_demo_workload},
};

#define SYNOPSIS_WIDTH 33

void cli_usage(FILE *out) {
  fputs("socktrace " ST_VERSION
        " - trace socket events the way Windows' Winsock-AFD tracing does,\n"
        "on Linux (eBPF), Windows (ETW) and from recorded files.\n"
        "\n"
        "Usage:\n",
        out);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    const command *c = &commands[i];
    if (!c->synopsis)
      continue;
    fprintf(out, "  socktrace %-*s", SYNOPSIS_WIDTH, c->synopsis);
    for (const char *h = c->help; *h; h++) {
      fputc(*h, out);
      if (*h == '\n')
        fprintf(out, "%*s", (int)strlen("  socktrace ") + SYNOPSIS_WIDTH, "");
    }
    fputc('\n', out);
  }
  fputs("  socktrace --help | --version\n", out);
  fputs(cli_options_help, out);
}

static bool operands_fit(operands rule, int n) {
  switch (rule) {
  case OPERANDS_NONE:
    return n == 0;
  case OPERANDS_FILE:
    return n == 1;
  case OPERANDS_COMMAND:
    return n > 0;
  case OPERANDS_NAME:
    return n == 1;
  case OPERANDS_NAME_OR_NONE:
    return n <= 1;
  default:
    return true;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    cli_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("socktrace %s\n", ST_VERSION);
    cli_print_backends(stdout);
    return 0;
  }
  const command *c = NULL;
  /* Two entries for top: the second, its -- CMD form. */
  bool top_cmd = strcmp(argv[1], "top") == 0 && dash_dash(argc, argv);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0] && !c; i++)
    if (strcmp(argv[1], commands[i].name) == 0 && (top_cmd == (commands[i].run == run_top_command)))
      c = &commands[i];
  if (!c) {
    cli_error("unknown command '%s' (try 'socktrace --help')", argv[1]);
    return 2;
  }
  cli_options o = {.color = -1};
  o.cfg.name = "socktrace";
  o.cfg.level = ST_LEVEL_INFO;
  int first = 1;
  if (c->options) {
    first = cli_parse_options(argc - 1, argv + 1, &o, c->operands == OPERANDS_COMMAND || top_cmd);
    if (first < 0)
      return 2;
    o.cfg.ring_pages = (uint32_t)(o.ring_bytes / 4096);
    if (o.format && strcmp(o.format, "json") == 0 && c->run != run_query) {
      cli_error("-f json is query's; events as JSON are -f jsonl");
      return 2;
    }
    if (o.timeline && o.format && strcmp(o.format, "summary") != 0 &&
        strcmp(o.format, "text") != 0) {
      cli_error("--timeline goes with the text or summary output, not -f %s", o.format);
      return 2;
    }
  }
  char **rest = argv + 1 + first;
  int nrest = argc - 1 - first;
  /* run --pid PID attaches to a running process: no command. */
  bool attach = c->run == run_run && nrest == 0 && o.cfg.filter.npids;
  if (!attach && !operands_fit(c->operands, nrest)) {
    cli_error("%s", c->misuse);
    return 2;
  }
  if (c->options && !cli_nats_check(&o, c->name, nrest ? rest[0] : NULL))
    return 2;
  return c->run(&o, nrest, rest);
}
