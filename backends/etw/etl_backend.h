/*
 * The .etl replay backend: Windows trace files (logman, WPR, xperf) read on
 * any OS. AFD and WS2HELP records go through the same decoder and PID
 * table as the live ETW consumer; other providers are counted and skipped.
 */
#ifndef ST_ETL_BACKEND_H
#define ST_ETL_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/backend.h"

int st_backend_etl_new(const char *path, st_backend **out);
/* True when the file starts like an .etl file (a plausible header buffer). */
bool st_etl_file_sniff(const char *path);

/* Records of providers socktrace does not decode, by provider, id and
 * version (for `--all-providers`): calls fn once per kind, sorted. */
typedef void (*st_etl_foreign_fn)(const char *guid, uint16_t id, uint8_t version, uint64_t count,
                                  void *arg);
void st_etl_backend_foreign(st_backend *b, st_etl_foreign_fn fn, void *arg);

#endif
