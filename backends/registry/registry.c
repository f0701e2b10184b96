/*
 * The file sources of this build, in the order they are tried: the
 * backends that read files are compiled in when the build found what they
 * need (ST_HAVE_PCAP, ST_HAVE_ETL); .sktrace and JSON Lines always are.
 * Library code: it never prints; a file no reader takes gets one line in
 * the caller's buffer.
 */
#include "registry.h"

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

static const st_file_source sources[] = {
#ifdef ST_HAVE_PCAP
    {"pcap", ".pcap, .pcapng", sniff_pcap, create_pcap},
#endif
#ifdef ST_HAVE_ETL
    {"etl", "Windows .etl", sniff_etl, st_backend_etl_new},
#endif
    {"sktrace", ".sktrace", sniff_sktrace, st_backend_replay_sktrace_new},
    {"jsonl", "JSON Lines: any other file", NULL, st_backend_replay_jsonl_new},
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

const st_file_source *st_file_source_find(const char *path, int *rc, char *err, size_t errlen) {
  for (size_t i = 0; i < NSOURCES; i++)
    if (sources[i].sniff && sources[i].sniff(path))
      return &sources[i];
  for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
    if (has_suffix(path, hints[h].suffix)) {
      snprintf(err, errlen, "%s: %s", path, hints[h].why);
      *rc = hints[h].code;
      return NULL;
    }
  }
  for (size_t i = 0; i < NSOURCES; i++)
    if (!sources[i].sniff)
      return &sources[i];
  snprintf(err, errlen, "%s: no reader in this build takes this file", path);
  *rc = ST_ENOSYS;
  return NULL;
}
