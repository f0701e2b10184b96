/*
 * The file sources of this build, in the order they are tried: the
 * backends that read files are compiled in when the build found what they
 * need (ST_HAVE_PCAP, ST_HAVE_ETL); .sktrace and JSON Lines always are. A
 * file no source recognises is no trace: one line says what was looked for
 * and what the file looks like instead (foreign.c). Library code: it never
 * prints; that line goes into the caller's buffer.
 */
#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "replay/replay.h"
#ifdef ST_HAVE_PCAP
#include "pcap/pcap_backend.h"
#endif
#ifdef ST_HAVE_ETL
#include "etw/etl_backend.h"
#endif

static bool is_stdin(const char *path) {
  return strcmp(path, "-") == 0;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

#ifdef ST_HAVE_PCAP
/* By content; a name ending .pcap or .pcapng that is not a capture gets
 * the capture reader's own error. */
static bool sniff_pcap(const char *path) {
  return !is_stdin(path) &&
         (st_pcap_file_sniff(path) || has_suffix(path, ".pcap") || has_suffix(path, ".pcapng"));
}

static int create_pcap(const char *path, st_backend **out) {
  st_pcap_options po = {.file = path};
  return st_backend_pcap_new(&po, out);
}
#endif

#ifdef ST_HAVE_ETL
static bool sniff_etl(const char *path) {
  return !is_stdin(path) && st_etl_file_sniff(path);
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

static const st_file_source sources[] = {
#ifdef ST_HAVE_PCAP
    {"pcap", "a pcap or pcapng capture", sniff_pcap, create_pcap},
#endif
#ifdef ST_HAVE_ETL
    {"etl", "a Windows .etl", sniff_etl, st_backend_etl_new},
#endif
    {"sktrace", "an .sktrace", sniff_sktrace, st_backend_replay_sktrace_new},
    {"jsonl", "JSON Lines", sniff_jsonl, st_backend_replay_jsonl_new},
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

const st_file_source *st_file_sources(size_t *count) {
  *count = NSOURCES;
  return sources;
}

/* Up to len bytes from the start of path (standard input for "-"); -1
 * with errno when the file cannot be read. */
static long read_head(const char *path, uint8_t *buf, size_t len) {
  FILE *f = is_stdin(path) ? stdin : fopen(path, "rb");
  if (!f)
    return -1;
  errno = 0;
  size_t n = fread(buf, 1, len, f);
  int failed = ferror(f) ? (errno ? errno : EIO) : 0; /* EISDIR: a directory */
  if (f != stdin)
    fclose(f);
  if (failed) {
    errno = failed;
    return -1;
  }
  return (long)n;
}

/* "a pcap or pcapng capture, a Windows .etl, an .sktrace or JSON Lines" */
static void formats_looked_for(char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < NSOURCES && n < len; i++) {
    const char *sep = i == 0 ? "" : i + 1 == NSOURCES ? " or " : ", ";
    int w = snprintf(buf + n, len - n, "%s%s", sep, sources[i].format);
    if (w < 0)
      break;
    n += (size_t)w;
  }
}

/* No source recognised path: what was looked for and what the file looks
 * like instead, or why it could not be looked at. */
static int not_a_trace(const char *path, char *err, size_t errlen) {
  uint8_t head[512];
  long n = read_head(path, head, sizeof head);
  if (n < 0) {
    int e = errno;
    snprintf(err, errlen, "cannot open %s: %s", path, st_strerror(-e));
    return e == ENOENT ? ST_ENOENT : e == EACCES ? ST_EACCES : ST_EIO;
  }
  char looked[160], what[160];
  formats_looked_for(looked, sizeof looked);
  st_describe_content(head, (size_t)n, what, sizeof what);
  snprintf(err, errlen, "%s: not a trace socktrace reads (it looked for %s); this is %s",
           is_stdin(path) ? "standard input" : path, looked, what);
  return ST_EBADMSG;
}

const st_file_source *st_file_source_find(const char *path, int *rc, char *err, size_t errlen) {
  for (size_t i = 0; i < NSOURCES; i++)
    if (sources[i].sniff(path))
      return &sources[i];
  for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
    if (has_suffix(path, hints[h].suffix)) {
      snprintf(err, errlen, "%s: %s", path, hints[h].why);
      *rc = hints[h].code;
      return NULL;
    }
  }
  *rc = not_a_trace(path, err, errlen);
  return NULL;
}
