/*
 * Private to the socktrace CLI: the parsed command line and the pieces the
 * subcommands share. The CLI is the one place that speaks to the user.
 */
#ifndef ST_CLI_H
#define ST_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "socktrace/session.h"
#include "summary_model.h"

/* A trace read into the summary model (model.c): for --fail-on, and for
 * each side of `diff`. */
typedef struct cli_model {
  st_sum_model sum;
  st_trace_info info;
  bool has_info;
  st_counters counters;
  uint64_t events;
  uint8_t lost_where; /* where the first EventsLost says it lost events */
} cli_model;

/* Fleets: NATS JetStream outputs and streams (nats_cli.c). */
#define CLI_NATS_HOSTS_MAX 16
typedef struct cli_nats_args {
  const char *creds, *tls_ca, *tls_cert, *tls_key;
  bool retry;
  unsigned long long buffer, max_bytes, max_age_ns;
  unsigned replicas;
  unsigned long long since_ns, since_seq;
  const char *host_name;                 /* --host-name: the host this trace says it is from */
  const char *hosts[CLI_NATS_HOSTS_MAX]; /* --host NAME: publishers of a stream */
  unsigned nhosts;
  char host_error[160]; /* why the first --host NAME is no address, for other inputs */
  bool collect;         /* `collect`: follow the stream */
  st_backend *reader;   /* the stream being read, when it is one */
} cli_nats_args;
enum {
  CLI_OPT_NATS_FIRST = 1000,
  CLI_OPT_NATS_CREDS = CLI_OPT_NATS_FIRST,
  CLI_OPT_NATS_TLS_CA,
  CLI_OPT_NATS_TLS_CERT,
  CLI_OPT_NATS_TLS_KEY,
  CLI_OPT_NATS_RETRY,
  CLI_OPT_NATS_BUFFER,
  CLI_OPT_NATS_REPLICAS,
  CLI_OPT_NATS_MAX_AGE,
  CLI_OPT_NATS_MAX_BYTES,
  CLI_OPT_SINCE,
  CLI_OPT_SINCE_SEQ,
  CLI_OPT_HOST_NAME,
  CLI_OPT_NATS_END
};

/* OpenTelemetry: -o otlp://HOST:PORT (otlp_cli.c, otlp_link.c). */
#define CLI_OTLP_HEADERS_MAX 16
typedef struct cli_otlp_args {
  const char *headers[CLI_OTLP_HEADERS_MAX]; /* --otlp-header 'Name: value' */
  unsigned nheaders;
  const char *ca;            /* --otlp-ca FILE */
  unsigned long long buffer; /* --otlp-buffer BYTES */
  bool retry;                /* --otlp-retry */
} cli_otlp_args;
enum {
  CLI_OPT_OTLP_FIRST = 1100,
  CLI_OPT_OTLP_HEADER = CLI_OPT_OTLP_FIRST,
  CLI_OPT_OTLP_CA,
  CLI_OPT_OTLP_BUFFER,
  CLI_OPT_OTLP_RETRY,
  CLI_OPT_OTLP_END
};

/* `top` (top.c): how often, how many, from where, as what. */
typedef struct cli_top_args {
  bool batch;               /* -b: the table every interval, not the full screen */
  unsigned long iterations; /* -n: stop after this many intervals; 0 = never */
  uint64_t interval_ns;     /* -d SECONDS */
  double speed;             /* --speed: a recording's pace; 0 = as fast as it reads */
  bool speed_given;
  int grouping;           /* -g: ST_TOP_* */
  const char *sort;       /* --sort COLUMN */
  const char *session;    /* --session NAME: a running session's events */
  const char *cmd_output; /* --cmd-output FILE: where `top -- CMD` puts CMD's output */
} cli_top_args;

typedef struct cli_options {
  st_session_config cfg;
  const char *output;  /* -o FILE, NULL = stdout */
  const char *format;  /* text | jsonl | csv | summary | chrome | html */
  const char *input;   /* the FILE of replay/report, named in the HTML report */
  const char *backend; /* --backend NAME, NULL = the OS default */
  const char *iface;   /* -i IFACE (pcap) */
  const char *capture_filter;
  bool summary;
  bool quiet;
  int stats;     /* CLI_STATS_*: counters on stderr at the end */
  bool announce; /* say on stderr when live tracing has started */
  int color;     /* -1 auto, 0 never, 1 always */
  bool local_time;
  bool level_given;   /* -l was on the command line */
  bool all_providers; /* --all-providers: list undecoded providers of an .etl */
  bool debug;         /* --debug: libbpf's own messages on stderr */
  unsigned long ring_bytes;
  bool timeline;               /* --timeline: per-socket event lists at the end */
  uint64_t max_size;           /* --max-size: rotate .sktrace files at this size */
  unsigned max_files;          /* --max-files */
  uint32_t block_size;         /* --block-size of .sktrace blocks */
  int compress;                /* --compress: 0 default, ST_SKTRACE_COMPRESS_NONE, zstd level */
  unsigned long etw_buffer_kb; /* --buffer-size (ETW), 0 = default */
  unsigned long etw_buffers;   /* --buffers (ETW), 0 = default */
  const char *source;          /* the registry row the backend came from: "ebpf", "etl" ... */
  unsigned file_mode;          /* --file-mode of outputs; 0 = 0600 */
  const char *control_dir;     /* --control-dir of background sessions */
  bool foreground;             /* start --foreground: the session in this process */
  bool hosted;                 /* a `start` session: `update` may change its settings */
  bool clear_filters;          /* update --clear-filters */
  const char *config;          /* start --config FILE */
  cli_nats_args nats;          /* nats:// outputs and streams */
  cli_otlp_args otlp;          /* otlp:// outputs */
  cli_top_args top;            /* top's own options */
  const char *catalog_root;    /* --catalog-root DIR: the catalog's files under DIR */
  bool all;                    /* --all: every row of the summary's tables */
  uint32_t fail_on;            /* --fail-on: bit (1 << st_code) per status */
  bool fail_on_dns;            /* --fail-on dns */
  bool fail_on_lost;           /* --fail-on lost: lost events make the recording incomplete */
  bool trace_self;             /* --trace-self: keep socktrace's own sockets in the trace */
  bool attach;                 /* run --pid: the ptrace backend attaches to a running process */
  bool is_run;                 /* run / demo / top -- CMD: one command's tree, which the ptrace
                                  backend may trace; run's summary also goes to
                                  $GITHUB_STEP_SUMMARY */
  const char *title;           /* what was traced, for the markdown summary's heading */
  const char *metrics;         /* --metrics ADDR: serve /metrics there */
  unsigned metrics_max_series; /* --metrics-max-series; 0 = the sink's default */
  /* Set while a session runs (ci.c). */
  cli_model *fail_model;
  bool fail_hit;
  bool incomplete; /* the recording is cut short (write error, or lost with --fail-on lost) */
  FILE *step_summary;
} cli_options;

/* `run`'s exit status when the command succeeded but a traced socket ended
 * as --fail-on lists. */
#define CLI_EXIT_FAIL_ON 3
/* trace, run and replay: the recording is incomplete (it stopped on a
 * write error such as a full disk, or events were lost and --fail-on lists
 * lost), and for run the command itself succeeded. */
#define CLI_EXIT_INCOMPLETE 4

enum { CLI_STATS_NONE, CLI_STATS_TEXT, CLI_STATS_JSON };

/* Options (options.c): parses the options after the command; returns the
 * index of the first operand, or -1 after printing a usage error. With
 * stop_at_operand, options end at the first operand (run's CMD keeps its
 * own). cli_options_help is --help's text after the list of commands. */
int cli_parse_options(int argc, char **argv, cli_options *o, bool stop_at_operand);
extern const char cli_options_help[];
/* "4096", "64K", "100M", "2G" -> bytes; false when malformed or out of
 * [min, max]. */
bool cli_parse_size(const char *s, unsigned long long min, unsigned long long max,
                    unsigned long long *out);
/* -k's words ("stream,winsock", "0x6") to a keyword mask; 0 or -1. */
int cli_parse_keywords(const char *s, uint64_t *out);
/* --help (main.c): the commands from the command table, then the options. */
void cli_usage(FILE *out);

/* Print "socktrace: <message>" on stderr (one line): an error, or a note
 * such as "tracing ..." that tools (and the benchmark) wait for. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void cli_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Backend registry (registry.c): a live backend by --backend's name (the
 * build's default without it), or the file backend that recognises path.
 * Each returns 0 (and sets o->source) or a negative code after printing one
 * clear line. */
int cli_live_backend(cli_options *o, st_backend **out);
/* How the command the ptrace backend traced ended (its wait status);
 * false when it did not (or another backend ran). */
bool cli_ptrace_status(int *status);
int cli_file_backend(cli_options *o, const char *path, st_backend **out);
/* Whether the live backend reports an event on this machine ("yes", "no
 * (why)", "partly (why)"; empty when the build cannot tell). */
void cli_event_here(uint8_t provider, uint16_t id, char *buf, size_t len);
/* What a backend has to say after the run (--all-providers for .etl). */
void cli_backend_report(const cli_options *o, st_backend *b);
/* --version: the live backends and file readers this build has. */
void cli_print_backends(FILE *out);

/* Builds the session with the sinks the options ask for; runs it to the end
 * on a fresh loop. before_run, if set, is called after the session started
 * (run uses it to release the child). Returns the process exit code. */
typedef int (*cli_hook)(st_session *s, uv_loop_t *loop, void *arg);
int cli_run_session(cli_options *o, st_backend *b, cli_hook after_start, void *arg);

/* Sinks (output.c). cli_add_sinks adds what the options ask for; a
 * .sktrace output's sink is returned in *sktrace (else NULL). A source that
 * can wait (a file, not a live kernel) makes the .sktrace writer wait
 * rather than drop events when its queue is full. */
bool cli_is_sktrace_path(const char *path);
/* True when -o names a file the CLI opens itself (not -, .sktrace, nats://). */
bool cli_output_is_file(const char *path);
/* -o FILE for writing, owner-only (0600) unless --file-mode; NULL after one
 * line saying why not. */
FILE *cli_open_output(const cli_options *o);
int cli_add_sinks(cli_options *o, st_session *s, const st_backend *b, FILE *out, st_sink **sktrace);
/* --metrics (metrics_http.c): the metrics sink behind an HTTP server on
 * loop, listening from the session's start to its end (one line when it
 * cannot: the port taken). check: 0, or -1 after one line when ADDR is no
 * address. address: where it listens, NULL when it does not. */
int cli_metrics_sink(const cli_options *o, uv_loop_t *loop, st_sink **out);
int cli_metrics_check(const char *spec);
const char *cli_metrics_address(void);
/* Says (one line) how many events the .sktrace writer dropped, if any. */
void cli_report_writer(st_sink *sktrace, const char *path);

/* The model sink (model.c) adds every event to m (which the caller owns)
 * and keeps the trace's header and counters. */
int cli_model_sink_new(cli_model *m, st_sink **out);

/* CI (ci.c). */
/* --fail-on LIST: portable statuses and "dns"; 0, or -1 after one line. */
int cli_fail_on_parse(const char *list, cli_options *o);
/* Around a session: begin makes the --fail-on model and opens
 * $GITHUB_STEP_SUMMARY for run --summary; add_sinks adds their sinks; end
 * says which sockets --fail-on caught (setting o->fail_hit), closes what
 * begin opened and returns the exit code (CLI_EXIT_FAIL_ON for a clean
 * replay whose sockets failed). */
int cli_ci_begin(cli_options *o);
void cli_ci_add_sinks(cli_options *o, st_session *s);
int cli_ci_end(cli_options *o, int code);
/* A live session leaves socktrace's own sockets out (unless --trace-self):
 * this process's (its name lookups, a session's side of its control
 * connections, nats:// publishing) and those of every process named
 * socktrace that runs this same program (a session's clients; the demo's
 * workload has its own name). A user's program that is only named
 * socktrace is kept. */
void cli_ignore_self(st_session *s);
/* Whether process pid runs this program: 1 yes, 0 no, -1 cannot tell (it
 * is gone, or the OS does not say). An st_ours_fn. */
int cli_runs_this_program(uint32_t pid, void *arg);

/* `diff A B` (diff.c): its own options; returns the exit code. */
int cli_diff(int argc, char **argv);

/* The command `run -- CMD` and `top -- CMD` trace (held_child_unix.c):
 * cli_child_new forks it held, after the live backend is open (o->source
 * says whether ptrace reaps it), and makes it the filter's tree root;
 * cli_child_release is the session's after-start hook that lets it exec;
 * cli_child_end, after the loop, collects it (and frees c) and returns
 * the exit code: CMD's, or code when CMD never ran. */
typedef struct cli_child cli_child;
typedef struct cli_child_io {
  int in_fd, out_fd, err_fd; /* CMD's stdin, stdout, stderr; -1: inherited */
  bool forward_signals;      /* SIGINT and SIGTERM to the tracer go on to CMD */
} cli_child_io;
int cli_child_new(cli_options *o, char **argv, const cli_child_io *io, cli_child **out);
int cli_child_release(st_session *s, uv_loop_t *loop, void *child);
/* Whether CMD has ended, and its exit code (128 + N for signal N). */
bool cli_child_exited(const cli_child *c, int *code);
/* Sends sig to CMD if it runs. */
void cli_child_kill(cli_child *c, int sig);
int cli_child_end(cli_child *c, cli_options *o, int code);
/* The exit code of a run whose command ended with wait status status, the
 * session's code being code. */
int cli_command_exit(const cli_options *o, int code, int status);

/* Subcommand `run` and the demo (run_unix.c / demo_workload.c). */
int cli_run_command(cli_options *o, char **argv);
/* `run --pid PID` (no CMD): attach to a running process with ptrace until
 * it exits or Ctrl-C/SIGTERM detaches. */
int cli_run_attach(cli_options *o);
/* `demo`: runs this executable's hidden __demo-workload under `run`. */
int cli_demo(cli_options *o);
int cli_demo_workload(void);

/* Background sessions (sessions_unix.c / sessions_win.c): start, query,
 * update, stop and flush, like logman's. The host (session_host_unix.c)
 * runs the session NAME with its control socket at path, its log at log. */
int cli_start(cli_options *o, const char *name);
int cli_query(cli_options *o, const char *name);
int cli_update(cli_options *o, const char *name);
int cli_stop(cli_options *o, const char *name);
int cli_flush(cli_options *o, const char *name);
int cli_session_host(cli_options *o, const char *name, const char *path, const char *log);

/* Fleets (nats_cli.c): the options above CLI_OPT_NATS_FIRST, and a --host
 * that is no address (a publisher's name; only a nats:// stream has them). */
int cli_nats_option(cli_options *o, int opt, const char *arg);
bool cli_nats_host(cli_options *o, const char *name, const char *why);
/* Options that only a stream takes, given to a command without one: one
 * line, false. */
bool cli_nats_check(const cli_options *o, const char *command, const char *operand);
/* A stream URL's "?host=NAME&since=10m&since-seq=N": --host, --since and
 * --since-seq for that stream alone (diff reads two). base gets the URL
 * without it; query (the caller's, kept while the options are used) holds
 * the names. 0, or -1 after one line. */
int cli_nats_url_query(cli_options *o, const char *url, char *base, size_t len, char *query,
                       size_t qlen);
bool cli_is_nats_url(const char *s);
/* OpenTelemetry (otlp_cli.c): the --otlp-* options; an otlp:// or otlps://
 * output; its sink (otlp_link.c, or otlp_none.c that refuses it in a build
 * without libcurl and libprotobuf-c) and what is said of it after the run. */
int cli_otlp_option(cli_options *o, int opt, const char *arg);
bool cli_is_otlp_url(const char *s);
int cli_otlp_sink(const cli_options *o, bool wait, void *loop, st_sink **out);
void cli_otlp_report(void);
/* Events the collector took (and *lost, those lost on the way); the
 * output as query shows it (NULL without an otlp:// output). */
uint64_t cli_otlp_sent(uint64_t *lost);
struct json_t *cli_otlp_output_json(void);
/* An output or input fit to print: a URL's password masked. */
void cli_shown(const char *path, char *buf, size_t len);
/* The stream reader (replay/report nats://...), the publishing sink (-o
 * nats://...) and the extra views of a stream (the table by host). Each
 * says why in one line when it fails (also when this build has no NATS). */
int cli_nats_backend(cli_options *o, const char *url, st_backend **out);
/* wait: the source can wait for the stream (a file), not a live kernel. */
int cli_nats_sink(const cli_options *o, bool wait, st_sink **out);
void cli_nats_add_views(const cli_options *o, st_session *s, FILE *view);
/* `collect nats://...`: follows the stream until Ctrl-C. */
int cli_collect(cli_options *o, const char *url);
/* After the run: a line if events were lost on their way to the stream;
 * for --stats=json, ',"nats":{...}' (empty without a NATS output). */
void cli_nats_report(void);
int cli_nats_stats_json(char *buf, size_t len);
/* For query: the NATS output's counts (NULL without one). */
struct json_t;
struct json_t *cli_nats_output_json(const char *path);
uint64_t cli_nats_published(uint64_t *lost);
/* A table by host at the end: host_of names the host of the event being
 * written (host_table.c). */
int cli_host_table_new(FILE *out, const char *(*host_of)(void *arg), void *arg, st_sink **sink);

/* `top [SOURCE]` (top.c): a live view of the sockets, from the live
 * backend, a running session (--session), a nats:// stream, a recorded
 * FILE or, with cmd (top -- CMD), one command's process tree; the full
 * screen on a terminal (top_screen_unix.c), else (or with -b) the table
 * every interval. */
int cli_top(cli_options *o, const char *source, char **cmd);
/* A running session's events through its control socket (watch_backend_unix.c):
 * a live source for top; 0, or a negative code after one line. */
int cli_watch_backend(cli_options *o, const char *name, st_backend **out);
/* A recording read at its recorded pace times speed (top_pace.c): wraps
 * the file source inner; pace_now is the recording's time that has come. */
int cli_pace_backend(st_backend *inner, double speed, st_backend **out);
uint64_t cli_pace_now(st_backend *paced);
/* The host of the event being read from a nats:// stream (NULL for other
 * sources). */
const char *cli_nats_event_host(const cli_options *o);

/* `catalog`: what sits between applications and the network stack, like
 * `netsh winsock show catalog` (catalog_win.c / catalog_unix.c). */
int cli_catalog(cli_options *o);

#endif
