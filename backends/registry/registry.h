/*
 * The table of file sources: every kind of trace socktrace reads, each
 * {name, sniff, constructor}, recognised by content before name. The CLI
 * (replay, report) and the reader API (reader.h) both open files through
 * it, so a file reads the same everywhere. Live sources need the CLI's
 * options and stay in its own table (tools/cli/registry.c).
 *
 * Private to socktrace: not installed, not part of the library's ABI.
 */
#ifndef ST_REGISTRY_H
#define ST_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"

typedef struct st_file_source {
  const char *name;   /* "pcap", "etl", "sktrace", "jsonl" */
  const char *format; /* in words: "a pcap or pcapng capture" */
  /* True when path holds this format ("-" is standard input). */
  bool (*sniff)(const char *path);
  int (*create)(const char *path, st_backend **out);
} st_file_source;

/* This build's file sources, in the order their sniffs are tried. */
const st_file_source *st_file_sources(size_t *count);

/* The source that reads path: the first whose sniff recognises it. When
 * none does, NULL, *rc a negative ST_E* code and one line in err naming the
 * file and saying why: a name that promises what this build cannot read or
 * the content does not hold, a file that cannot be opened (ST_ENOENT,
 * ST_EIO), or no trace at all (ST_EBADMSG: what was looked for, and what
 * the file looks like instead). */
const st_file_source *st_file_source_find(const char *path, int *rc, char *err, size_t errlen);

/* For --version, in words, one line each: the .sktrace format versions
 * this build reads and writes, and the compressed inputs it opens. */
void st_formats_describe(char *buf, size_t len);

/* What the first n bytes of a file that is no trace look like, in words a
 * user can act on ("gzip data: decompress it first (gunzip)"), in buf. */
void st_describe_content(const uint8_t *head, size_t n, char *buf, size_t len);

#endif
