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

#include "socktrace/backend.h"

typedef struct st_file_source {
  const char *name; /* "pcap", "etl", "sktrace", "jsonl" */
  const char *what; /* in words, for --version: ".pcap, .pcapng" */
  /* True when path holds this format ("-" is standard input); NULL for
   * the last resort, which takes any file. */
  bool (*sniff)(const char *path);
  int (*create)(const char *path, st_backend **out);
} st_file_source;

/* This build's file sources, in the order their sniffs are tried. */
const st_file_source *st_file_sources(size_t *count);

/* The source that reads path: the first whose sniff recognises it, else the
 * last resort, unless the name promises what this build cannot read or the
 * content does not hold (then NULL, *rc a negative ST_E* code and one line
 * in err naming the file, saying why and what to do). */
const st_file_source *st_file_source_find(const char *path, int *rc, char *err, size_t errlen);

#endif
