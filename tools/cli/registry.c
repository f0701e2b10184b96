/*
 * The one place that knows every backend by name: a table of sources, each
 * {name, kind, sniff, constructor}. A live trace takes the row named by
 * --backend (the first live row by default); a file goes to the first file
 * row whose sniff recognises it, by content before name. A file no row
 * recognises is no trace: one line says what was looked for and what the
 * file looks like instead (foreign.c). Backends are compiled in when the
 * build found what they need (ST_HAVE_*).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "replay/replay.h"
#ifdef ST_HAVE_EBPF
#include "ebpf/ebpf.h"
#endif
#ifdef ST_HAVE_PCAP
#include "pcap/pcap_backend.h"
#endif
#ifdef ST_HAVE_ETW
#include "etw/etw.h"
#endif
#ifdef ST_HAVE_ETL
#include "etw/etl_backend.h"
#endif

struct cli_source {
  const char *name;
  st_source_kind kind;
  /* File rows: true when path holds this format ("-" is standard input). */
  bool (*sniff)(const char *path);
  int (*create)(const cli_options *o, const char *path, st_backend **out);
  /* May be NULL: what the backend has to say after the run. */
  void (*report)(const cli_options *o, st_backend *b);
  const char *format; /* file rows: the format in words, for "looked for" */
};

static bool is_stdin(const char *path) {
  return strcmp(path, "-") == 0;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

#if defined(ST_HAVE_ETW) || defined(ST_HAVE_EBPF)
static void print_notice(const char *message, void *arg) {
  (void)arg;
  cli_error("note: %s", message);
}
#endif

#ifdef ST_HAVE_ETW
static int create_etw(const cli_options *o, const char *path, st_backend **out) {
  st_etw_options eo = {.buffer_kb = (uint32_t)o->etw_buffer_kb,
                       .max_buffers = (uint32_t)o->etw_buffers,
                       .notice = print_notice};
  if (o->etw_buffers && o->etw_buffers < ST_ETW_DEFAULT_MIN_BUFFERS)
    eo.min_buffers = (uint32_t)o->etw_buffers;
  return st_backend_etw_new(&eo, out);
}
#endif

#ifdef ST_HAVE_EBPF
static int create_ebpf(const cli_options *o, const char *path, st_backend **out) {
  st_ebpf_options eo = {.ring_bytes = (uint32_t)o->ring_bytes,
                        .catalog_root = o->catalog_root,
                        .notice = print_notice,
                        .debug = o->debug};
  return st_backend_ebpf_new(&eo, out);
}
#endif

#ifdef ST_HAVE_PCAP
static int create_pcap_live(const cli_options *o, const char *path, st_backend **out) {
  st_pcap_options po = {.iface = o->iface ? o->iface : "any", .bpf_filter = o->capture_filter};
  return st_backend_pcap_new(&po, out);
}

/* By content; a name ending .pcap or .pcapng that is not a capture gets
 * the capture reader's own error. */
static bool sniff_pcap(const char *path) {
  return !is_stdin(path) &&
         (st_pcap_file_sniff(path) || has_suffix(path, ".pcap") || has_suffix(path, ".pcapng"));
}

static int create_pcap_file(const cli_options *o, const char *path, st_backend **out) {
  st_pcap_options po = {.file = path};
  return st_backend_pcap_new(&po, out);
}
#endif

#ifdef ST_HAVE_ETL
static bool sniff_etl(const char *path) {
  return !is_stdin(path) && st_etl_file_sniff(path);
}

static int create_etl(const cli_options *o, const char *path, st_backend **out) {
  return st_backend_etl_new(path, out);
}

static void print_foreign(const char *guid, uint16_t id, uint8_t version, uint64_t count,
                          void *arg) {
  FILE *out = arg;
  fprintf(out, "  %s id=%u v=%u  %llu\n", guid, id, version, (unsigned long long)count);
}

static void report_etl(const cli_options *o, st_backend *b) {
  if (!o->all_providers)
    return;
  printf("\nOther providers in the file (counted, not decoded):\n");
  st_etl_backend_foreign(b, print_foreign, stdout);
}
#endif

/* The magic decides, then the name; standard input is peeked at (the
 * .sktrace magic's first byte can never start a JSON line). */
static bool sniff_sktrace(const char *path) {
  if (!is_stdin(path))
    return st_replay_is_sktrace(path) || has_suffix(path, ".sktrace");
  int c = getc(stdin);
  if (c != EOF)
    ungetc(c, stdin);
  return c == 0x89;
}

static int create_sktrace(const cli_options *o, const char *path, st_backend **out) {
  return st_backend_replay_sktrace_new(path, out);
}

/* The first non-blank line is a JSON object (st_replay_is_jsonl); on
 * standard input, which cannot be read twice, its first non-blank byte is
 * '{' (the blank ones are consumed: JSON Lines skips them anyway). */
static bool sniff_jsonl(const char *path) {
  if (!is_stdin(path))
    return st_replay_is_jsonl(path);
  int c;
  while ((c = getc(stdin)) == ' ' || c == '\t' || c == '\r' || c == '\n')
    ;
  if (c != EOF)
    ungetc(c, stdin);
  return c == '{';
}

static int create_jsonl(const cli_options *o, const char *path, st_backend **out) {
  return st_backend_replay_jsonl_new(path, out);
}

/* Live rows in order of preference (the first is the default); file rows
 * in the order their sniffs are tried. */
static const cli_source sources[] = {
#ifdef ST_HAVE_ETW
    {"etw", ST_SOURCE_LIVE, NULL, create_etw, NULL, NULL},
#endif
#ifdef ST_HAVE_EBPF
    {"ebpf", ST_SOURCE_LIVE, NULL, create_ebpf, NULL, NULL},
#endif
#ifdef ST_HAVE_PCAP
    {"pcap", ST_SOURCE_LIVE, NULL, create_pcap_live, NULL, NULL},
    {"pcap", ST_SOURCE_FILE, sniff_pcap, create_pcap_file, NULL, "a pcap or pcapng capture"},
#endif
#ifdef ST_HAVE_ETL
    {"etl", ST_SOURCE_FILE, sniff_etl, create_etl, report_etl, "a Windows .etl"},
#endif
    {"sktrace", ST_SOURCE_FILE, sniff_sktrace, create_sktrace, NULL, "an .sktrace"},
    {"jsonl", ST_SOURCE_FILE, sniff_jsonl, create_jsonl, NULL, "JSON Lines"},
};
#define NSOURCES (sizeof sources / sizeof sources[0])

/* Files whose name says what they should be when no reader took them. */
static const struct {
  const char *suffix;
  int code;
  const char *why;
} hints[] = {
#ifndef ST_HAVE_PCAP
    {".pcap", ST_ENOSYS,
     "packet captures need the pcap backend, which this build lacks (install libpcap-dev and "
     "rebuild)"},
    {".pcapng", ST_ENOSYS,
     "packet captures need the pcap backend, which this build lacks (install libpcap-dev and "
     "rebuild)"},
#endif
    {".etl", ST_EBADMSG, "not a readable .etl file (no trace header buffer at its start)"},
};

static const cli_source *live_source(const char *name) {
  for (size_t i = 0; i < NSOURCES; i++)
    if (sources[i].kind == ST_SOURCE_LIVE && (!name || strcmp(sources[i].name, name) == 0))
      return &sources[i];
  return NULL;
}

int cli_live_backend(cli_options *o, st_backend **out) {
  const cli_source *src = live_source(o->backend);
  if (!src && !o->backend) {
    cli_error("no live backend is available in this build (it needs libbpf, clang and bpftool "
              "on Linux: run tools/setup.sh and rebuild); 'socktrace replay FILE' still works");
    return ST_ENOSYS;
  }
  if (!src) {
    cli_error("backend '%s' is not available in this build (see 'socktrace --help')", o->backend);
    return ST_ENOSYS;
  }
  int rc = src->create(o, NULL, out);
  if (rc < 0)
    cli_error("cannot create the %s backend: %s", src->name, st_strerror(rc));
  else
    o->source = src;
  return rc;
}

/* Up to len bytes from the start of path (standard input for "-"); -1
 * with errno when the file cannot be read. */
static long read_head(const char *path, uint8_t *buf, size_t len) {
  FILE *f = is_stdin(path) ? stdin : fopen(path, "rb");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, len, f);
  int failed = ferror(f);
  if (f != stdin)
    fclose(f);
  if (failed) {
    errno = EIO;
    return -1;
  }
  return (long)n;
}

/* "a pcap or pcapng capture, a Windows .etl, an .sktrace or JSON Lines" */
static void formats_looked_for(char *buf, size_t len) {
  size_t n = 0, rows = 0, k = 0;
  for (size_t i = 0; i < NSOURCES; i++)
    rows += sources[i].kind == ST_SOURCE_FILE;
  buf[0] = '\0';
  for (size_t i = 0; i < NSOURCES && n < len; i++) {
    if (sources[i].kind != ST_SOURCE_FILE)
      continue;
    const char *sep = k == 0 ? "" : k + 1 == rows ? " or " : ", ";
    int w = snprintf(buf + n, len - n, "%s%s", sep, sources[i].format);
    if (w < 0)
      break;
    n += (size_t)w;
    k++;
  }
}

/* No reader recognised path: one line saying what socktrace looked for and
 * what the file looks like instead. */
static int not_a_trace(const char *path) {
  uint8_t head[512];
  long n = read_head(path, head, sizeof head);
  if (n < 0) {
    int e = errno;
    cli_error("cannot open %s: %s", path, st_strerror(-e));
    return e == ENOENT ? ST_ENOENT : ST_EIO;
  }
  char looked[160], what[160];
  formats_looked_for(looked, sizeof looked);
  cli_describe_content(head, (size_t)n, what, sizeof what);
  cli_error("%s: not a trace socktrace reads (it looked for %s); this is %s",
            is_stdin(path) ? "standard input" : path, looked, what);
  return ST_EBADMSG;
}

/* The first file row that recognises the file. A name that promises what
 * the content does not have is an error; content that none recognises is
 * no trace at all. */
static const cli_source *file_source(const char *path, int *rc) {
  for (size_t i = 0; i < NSOURCES; i++)
    if (sources[i].kind == ST_SOURCE_FILE && sources[i].sniff(path))
      return &sources[i];
  for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
    if (has_suffix(path, hints[h].suffix)) {
      cli_error("%s: %s", path, hints[h].why);
      *rc = hints[h].code;
      return NULL;
    }
  }
  *rc = not_a_trace(path);
  return NULL;
}

int cli_file_backend(cli_options *o, const char *path, st_backend **out) {
  if (cli_is_nats_url(path)) /* a stream, read like a file (nats_cli.c) */
    return cli_nats_backend(o, path, out);
  int rc = 0;
  const cli_source *src = file_source(path, &rc);
  if (!src)
    return rc;
  rc = src->create(o, path, out);
  if (rc < 0)
    cli_error("cannot read %s: %s", path, st_strerror(rc));
  else
    o->source = src;
  return rc;
}

void cli_backend_report(const cli_options *o, st_backend *b) {
  if (o->source && o->source->report)
    o->source->report(o, b);
}

/* What `socktrace events` says of an event on this machine's live backend:
 * "yes", "no (why)" or "partly (why)"; an empty string when the build has
 * no live backend that can tell. */
void cli_event_here(uint8_t provider, uint16_t id, char *buf, size_t len) {
#ifdef ST_HAVE_EBPF
  static st_ebpf_kernel k;
  static int probed; /* 0 not yet, 1 done, -1 no BTF */
  if (!probed)
    probed = st_ebpf_probe_kernel(&k) == 0 ? 1 : -1;
  if (probed < 0) {
    snprintf(buf, len, "no (this kernel has no BTF)");
    return;
  }
  const char *why = NULL;
  int a = st_ebpf_event_available(&k, provider, id, &why);
  if (a == ST_AVAIL_YES)
    snprintf(buf, len, "yes");
  else
    snprintf(buf, len, "%s (%s)", a == ST_AVAIL_PARTLY ? "partly" : "no", why ? why : "");
#else
  (void)provider;
  (void)id;
  if (len)
    buf[0] = '\0';
#endif
}
