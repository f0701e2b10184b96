/*
 * The ETW backend (Windows): a real-time session on the Winsock-AFD and
 * Winsock-WS2HELP providers, decoded by etw_decode.h into the portable
 * schema. Also reads the Winsock catalog for `socktrace catalog`.
 *
 * Only the Windows build defines these; the CLI includes this header under
 * ST_HAVE_ETW.
 */
#ifndef ST_BACKEND_ETW_H
#define ST_BACKEND_ETW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults sized for bursts: 64 buffers of 64 KiB up front, growing to
 * 512 (32 MiB), flushed every second. */
#define ST_ETW_DEFAULT_BUFFER_KB 64
#define ST_ETW_DEFAULT_MIN_BUFFERS 64
#define ST_ETW_DEFAULT_MAX_BUFFERS 512

typedef struct st_etw_options {
  uint32_t buffer_kb;   /* per-buffer size in KiB (4..1024); 0 = default */
  uint32_t min_buffers; /* 0 = default */
  uint32_t max_buffers; /* 0 = default */
  /* Things worth telling the user that are not errors (a stale session
   * replaced); the library never prints. May be NULL. */
  void (*notice)(const char *message, void *arg);
  void *notice_arg;
} st_etw_options;

/* The session's name (st_session_config.name) names the ETW session. */
int st_backend_etw_new(const st_etw_options *opt, st_backend **out);

/* Background sessions are ETW's own (etw_sessions_win.c): the OS records
 * Winsock-AFD and -WS2HELP into an .etl file, socktrace only controls it. */
#define ST_ETW_MAX_PIDS 8
typedef struct st_etw_session_settings {
  const char *file;     /* the .etl file the OS writes (start) */
  uint32_t max_file_mb; /* circular at this size; 0: one growing file */
  uint32_t buffer_kb, max_buffers;
  uint8_t level;
  uint64_t keywords; /* ~0: all */
  uint32_t pids[ST_ETW_MAX_PIDS];
  unsigned npids; /* the provider's process filter (Windows 8.1+) */
} st_etw_session_settings;

typedef struct st_etw_session_info {
  char name[256];
  char file[520];
  bool real_time, has_afd; /* has_afd: Winsock-AFD is enabled in it */
  uint32_t buffer_kb, buffers, max_file_mb;
  uint64_t buffers_written, events_lost, buffers_lost;
  uint64_t logger_id;
} st_etw_session_info;

/* Each returns 0 or a negative code with one line in err (ST_ENOENT: no
 * such session; ST_EEXIST: the name runs; ST_EPERM: not elevated). */
int st_etw_session_start(const char *name, const st_etw_session_settings *s, char *err,
                         size_t errlen);
int st_etw_session_query(const char *name, st_etw_session_info *out, char *err, size_t errlen);
int st_etw_session_update(const char *name, const st_etw_session_settings *s, char *err,
                          size_t errlen);
int st_etw_session_flush(const char *name, char *err, size_t errlen);
int st_etw_session_stop(const char *name, st_etw_session_info *out, char *err, size_t errlen);
/* Every ETW session on the machine (a malloc'd array the caller frees). */
int st_etw_session_list(st_etw_session_info **out, size_t *count, char *err, size_t errlen);
bool st_etw_session_has_afd(uint64_t logger_id);

/* One entry of the Winsock catalog, as `netsh winsock show catalog` shows
 * it. */
typedef enum st_winsock_entry_kind {
  ST_WINSOCK_BASE_PROVIDER,
  ST_WINSOCK_LAYERED_PROVIDER,
  ST_WINSOCK_PROTOCOL_CHAIN,
  ST_WINSOCK_NAMESPACE_PROVIDER,
} st_winsock_entry_kind;

typedef struct st_winsock_entry {
  st_winsock_entry_kind kind;
  char description[256];
  char provider_id[40]; /* {GUID} */
  char path[520];       /* provider DLL, as registered */
  uint32_t catalog_id;  /* protocols: dwCatalogEntryId; namespaces: dwNameSpace */
  int32_t version;
  int32_t family, max_addr, min_addr, socket_type, protocol;
  uint32_t service_flags, provider_flags;
  int32_t chain_len;
  uint32_t chain[7];
  int active; /* namespaces */
} st_winsock_entry;

/* Reads the catalog (protocols, then name-space providers) into a malloc'd
 * array; returns 0, or a negative code with why in err. */
int st_winsock_catalog_read(st_winsock_entry **out, size_t *count, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
