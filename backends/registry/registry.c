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
#include "sktrace_format.h"
#include "zinput.h"
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
 * .sktrace magic's first byte can never start a JSON line), decompressed
 * when it is compressed (zinput.h). */
static bool sniff_sktrace(const char *path) {
  if (!is_stdin(path))
    return st_replay_is_sktrace(path) || has_suffix(path, ".sktrace");
  FILE *in = st_zopen("-", NULL);
  int c = getc(in);
  if (c != EOF)
    ungetc(c, in);
  return c == 0x89;
}

/* The first non-blank line is a JSON object (st_replay_is_jsonl); on
 * standard input, which cannot be read twice, its first non-blank byte is
 * '{' (the blank ones are consumed: JSON Lines skips them anyway). */
static bool sniff_jsonl(const char *path) {
  if (!is_stdin(path))
    return st_replay_is_jsonl(path);
  FILE *in = st_zopen("-", NULL);
  int c;
  while ((c = getc(in)) == ' ' || c == '\t' || c == '\r' || c == '\n')
    ;
  if (c != EOF)
    ungetc(c, in);
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

/* Up to len bytes from the start of path (standard input for "-"),
 * decompressed when it is compressed (*kind says how); -1 with errno when
 * the file cannot be read. */
static long read_head(const char *path, uint8_t *buf, size_t len, st_zkind *kind, bool *damaged) {
  FILE *f = st_zopen(path, kind);
  if (!f)
    return -1;
  errno = 0;
  size_t n = fread(buf, 1, len, f);
  int failed = ferror(f) ? (errno ? errno : EIO) : 0; /* EISDIR: a directory */
  st_zclose(f);
  if (failed && *kind != ST_Z_NONE) {
    /* What it held up to the damage; the caller says it is damaged. */
    *damaged = true;
    return (long)n;
  }
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
  st_zkind kind;
  bool damaged = false;
  long n = read_head(path, head, sizeof head, &kind, &damaged);
  if (n < 0) {
    int e = errno;
    if (e == ESPIPE) /* a pipe by name (<(...)): its start was read by the sniffing */
      snprintf(err, errlen,
               "cannot read %s: a pipe is read once, so give it on standard input instead "
               "(socktrace replay - < ...)",
               path);
    else
      snprintf(err, errlen, "cannot open %s: %s", path, st_strerror(-e));
    return e == ENOENT ? ST_ENOENT : e == EACCES ? ST_EACCES : ST_EIO;
  }
  char looked[160], what[160];
  formats_looked_for(looked, sizeof looked);
  if (damaged && n == 0) {
    snprintf(err, errlen, "%s: %s data that does not decompress (damaged or cut short)",
             is_stdin(path) ? "standard input" : path, st_zkind_name(kind));
    return ST_EBADMSG;
  }
  st_describe_content(head, (size_t)n, what, sizeof what);
  snprintf(err, errlen, "%s: not a trace socktrace reads (it looked for %s); this is %s%s%s",
           is_stdin(path) ? "standard input" : path, looked, st_zkind_name(kind),
           kind != ST_Z_NONE ? " data holding " : "", what);
  return ST_EBADMSG;
}

void st_formats_describe(char *buf, size_t len) {
  bool z = st_sktrace_zstd_available();
  char plain[96] = "";
  if (z)
    snprintf(plain, sizeof plain, " (zstd level 1 by default), %d.%d with --compress none",
             ST_SKTRACE_PLAIN_MAJOR, ST_SKTRACE_PLAIN_MINOR);
  int n = snprintf(buf, len, ".sktrace format: reads %d.0-%d.%d and %d.0-%d.%d%s; writes %d.%d%s\n",
                   ST_SKTRACE_PLAIN_MAJOR, ST_SKTRACE_PLAIN_MAJOR, ST_SKTRACE_PLAIN_MINOR,
                   ST_SKTRACE_MAJOR, ST_SKTRACE_MAJOR, ST_SKTRACE_MINOR,
                   z ? " (zstd-compressed blocks)" : " (plain blocks only: no zstd in this build)",
                   z ? ST_SKTRACE_MAJOR : ST_SKTRACE_PLAIN_MAJOR,
                   z ? ST_SKTRACE_MINOR : ST_SKTRACE_PLAIN_MINOR, plain);
  if (n < 0 || (size_t)n >= len)
    return;
  if (st_zinput_supported(ST_Z_GZIP))
    snprintf(buf + n, len - (size_t)n,
             "compressed inputs: gzip, zstd, xz (recognised by content, read as streamed)\n");
  else
    snprintf(buf + n, len - (size_t)n, "compressed inputs: none (decompress them first)\n");
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
