/*
 * Background sessions on Windows are ETW's own (etw.h): StartTrace makes a
 * session that records Microsoft-Windows-Winsock-AFD (and -WS2HELP) into an
 * .etl file with the OS's own writer, ControlTrace queries, flushes and
 * stops it, EnableTraceEx2 changes its level, keywords and process filter
 * in place. Nothing of socktrace runs while such a session traces, and
 * `socktrace replay` reads the file. Sessions that others started (logman,
 * wpr) are listed when they have Winsock-AFD enabled.
 *
 * Never prints: errors go to err, in one line.
 */
#include <windows.h>
#include <evntcons.h>
#include <evntrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etw.h"
#include "etw_decode.h"

#ifndef EVENT_FILTER_TYPE_PID
#define EVENT_FILTER_TYPE_PID 0x80000004 /* Windows 8.1 */
#endif

#define MAX_SESSIONS 64
#define NAME_CHARS 1024
#define FILE_CHARS 1024
#define PROPS_SIZE (sizeof(EVENT_TRACE_PROPERTIES) + (NAME_CHARS + FILE_CHARS) * sizeof(wchar_t))

static void win_words(DWORD e, char *buf, size_t len) {
  char msg[256];
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0,
                           msg, sizeof msg, NULL);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == '.' || msg[n - 1] == ' '))
    msg[--n] = 0;
  if (n && msg[0] >= 'A' && msg[0] <= 'Z')
    msg[0] = (char)(msg[0] - 'A' + 'a');
  snprintf(buf, len, "%s (error %lu)", n ? msg : "unknown error", (unsigned long)e);
}

static int fail(DWORD e, const char *what, const char *name, char *err, size_t errlen) {
  char words[300];
  win_words(e, words, sizeof words);
  snprintf(err, errlen, "cannot %s the ETW session '%s': %s%s", what, name, words,
           e == ERROR_ACCESS_DENIED ? "; run from an elevated prompt (as administrator) or as a "
                                      "member of Performance Log Users"
                                    : "");
  if (e == ERROR_WMI_INSTANCE_NOT_FOUND || e == ERROR_NOT_FOUND)
    return ST_ENOENT;
  if (e == ERROR_ALREADY_EXISTS)
    return ST_EEXIST;
  return e == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
}

static bool to_wide(const char *s, wchar_t *out, int chars) {
  return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, chars) > 0;
}

static void to_utf8(const wchar_t *s, char *out, int len) {
  if (WideCharToMultiByte(CP_UTF8, 0, s, -1, out, len, NULL, NULL) <= 0)
    out[0] = 0;
}

static EVENT_TRACE_PROPERTIES *props_new(void) {
  EVENT_TRACE_PROPERTIES *p = calloc(1, PROPS_SIZE);
  if (!p)
    return NULL;
  p->Wnode.BufferSize = PROPS_SIZE;
  p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
  p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
  p->LogFileNameOffset = sizeof(EVENT_TRACE_PROPERTIES) + NAME_CHARS * sizeof(wchar_t);
  return p;
}

static void info_from(const EVENT_TRACE_PROPERTIES *p, st_etw_session_info *i) {
  memset(i, 0, sizeof *i);
  to_utf8((const wchar_t *)((const char *)p + p->LoggerNameOffset), i->name, sizeof i->name);
  if (p->LogFileNameOffset)
    to_utf8((const wchar_t *)((const char *)p + p->LogFileNameOffset), i->file, sizeof i->file);
  i->real_time = (p->LogFileMode & EVENT_TRACE_REAL_TIME_MODE) != 0;
  i->buffer_kb = p->BufferSize;
  i->buffers = p->NumberOfBuffers;
  i->buffers_written = p->BuffersWritten;
  i->events_lost = p->EventsLost;
  i->buffers_lost = p->RealTimeBuffersLost + p->LogBuffersLost;
  i->max_file_mb = p->MaximumFileSize;
  i->logger_id = (uint64_t)p->Wnode.HistoricalContext;
}

/* Enables a provider on a session with this level and keywords, or
 * disables it (on false). */
static ULONG set_provider(TRACEHANDLE h, const uint8_t guid[16], bool on, UCHAR level,
                          ULONGLONG keywords, ENABLE_TRACE_PARAMETERS *params) {
  if (!on)
    return EnableTraceEx2(h, (const GUID *)guid, EVENT_CONTROL_CODE_DISABLE_PROVIDER, 0, 0, 0, 0,
                          NULL);
  return EnableTraceEx2(h, (const GUID *)guid, EVENT_CONTROL_CODE_ENABLE_PROVIDER, level, keywords,
                        0, 0, params);
}

/* Level, keywords and the pid filter for AFD, WS2HELP and the DNS client,
 * on a session. */
static int enable(TRACEHANDLE h, const char *name, const st_etw_session_settings *s, char *err,
                  size_t errlen) {
  ENABLE_TRACE_PARAMETERS params;
  EVENT_FILTER_DESCRIPTOR filter;
  ULONG pids[ST_ETW_MAX_PIDS];
  memset(&params, 0, sizeof params);
  params.Version = ENABLE_TRACE_PARAMETERS_VERSION_2;
  if (s->npids) {
    for (unsigned i = 0; i < s->npids && i < ST_ETW_MAX_PIDS; i++)
      pids[i] = s->pids[i];
    filter.Ptr = (ULONGLONG)(uintptr_t)pids;
    filter.Size = (ULONG)(s->npids * sizeof(ULONG));
    filter.Type = EVENT_FILTER_TYPE_PID;
    params.EnableFilterDesc = &filter;
    params.FilterDescCount = 1;
  }
  /* A provider the keywords do not want is switched off (an update may
   * drop it); disabling one that was not on is harmless. The DNS client's
   * queries and results (names for the recording, see etw_consumer_win.c)
   * come at Information at least. */
  st_etw_providers want = st_etw_providers_for(s->keywords);
  ULONG rc = set_provider(h, st_etw_afd_guid, want.afd, s->level, want.afd_keywords, &params);
  if (rc != ERROR_SUCCESS && want.afd)
    return fail(rc, "enable Microsoft-Windows-Winsock-AFD in", name, err, errlen);
  rc = set_provider(h, st_etw_ws2help_guid, want.ws2help, s->level, 0, &params);
  if (rc != ERROR_SUCCESS && want.ws2help)
    return fail(rc, "enable Microsoft-Windows-Winsock-WS2HELP in", name, err, errlen);
  rc = set_provider(h, st_etw_dns_client_guid, want.dns_client,
                    s->level < ST_LEVEL_INFO ? ST_LEVEL_INFO : s->level, 0, &params);
  if (rc != ERROR_SUCCESS && want.dns_client)
    return fail(rc, "enable Microsoft-Windows-DNS-Client in", name, err, errlen);
  return 0;
}

int st_etw_session_start(const char *name, const st_etw_session_settings *s, char *err,
                         size_t errlen) {
  wchar_t wname[NAME_CHARS], wfile[FILE_CHARS];
  if (!to_wide(name, wname, NAME_CHARS) || !to_wide(s->file, wfile, FILE_CHARS)) {
    snprintf(err, errlen, "cannot start the ETW session '%s': the name or file is too long", name);
    return ST_EINVAL;
  }
  EVENT_TRACE_PROPERTIES *p = props_new();
  if (!p)
    return ST_ENOMEM;
  p->Wnode.ClientContext = 1; /* QPC time stamps */
  /* A file of its own, written by the OS; circular at its maximum size, so
   * a long session keeps the newest events. */
  p->LogFileMode =
      s->max_file_mb ? EVENT_TRACE_FILE_MODE_CIRCULAR : EVENT_TRACE_FILE_MODE_SEQUENTIAL;
  p->MaximumFileSize = s->max_file_mb;
  p->BufferSize = s->buffer_kb ? s->buffer_kb : ST_ETW_DEFAULT_BUFFER_KB;
  p->MinimumBuffers = ST_ETW_DEFAULT_MIN_BUFFERS;
  p->MaximumBuffers = s->max_buffers ? s->max_buffers : ST_ETW_DEFAULT_MAX_BUFFERS;
  p->FlushTimer = 1;
  wcscpy((wchar_t *)((char *)p + p->LogFileNameOffset), wfile);
  TRACEHANDLE h = 0;
  ULONG rc = StartTraceW(&h, wname, p);
  free(p);
  if (rc != ERROR_SUCCESS)
    return fail(rc, "start", name, err, errlen);
  int r = enable(h, name, s, err, errlen);
  if (r < 0) {
    EVENT_TRACE_PROPERTIES *q = props_new();
    if (q) {
      ControlTraceW(h, NULL, q, EVENT_TRACE_CONTROL_STOP);
      free(q);
    }
  }
  return r;
}

static int control(const char *name, ULONG code, const char *what, st_etw_session_info *out,
                   char *err, size_t errlen) {
  wchar_t wname[NAME_CHARS];
  if (!to_wide(name, wname, NAME_CHARS)) {
    snprintf(err, errlen, "bad ETW session name '%s'", name);
    return ST_EINVAL;
  }
  EVENT_TRACE_PROPERTIES *p = props_new();
  if (!p)
    return ST_ENOMEM;
  ULONG rc = ControlTraceW(0, wname, p, code);
  if (rc == ERROR_SUCCESS && out)
    info_from(p, out);
  free(p);
  return rc == ERROR_SUCCESS ? 0 : fail(rc, what, name, err, errlen);
}

int st_etw_session_query(const char *name, st_etw_session_info *out, char *err, size_t errlen) {
  int rc = control(name, EVENT_TRACE_CONTROL_QUERY, "query", out, err, errlen);
  if (rc == 0)
    out->has_afd = st_etw_session_has_afd(out->logger_id);
  return rc;
}

int st_etw_session_flush(const char *name, char *err, size_t errlen) {
  return control(name, EVENT_TRACE_CONTROL_FLUSH, "flush", NULL, err, errlen);
}

int st_etw_session_stop(const char *name, st_etw_session_info *out, char *err, size_t errlen) {
  return control(name, EVENT_TRACE_CONTROL_STOP, "stop", out, err, errlen);
}

int st_etw_session_update(const char *name, const st_etw_session_settings *s, char *err,
                          size_t errlen) {
  st_etw_session_info i;
  int rc = st_etw_session_query(name, &i, err, errlen);
  if (rc < 0)
    return rc;
  /* A query's HistoricalContext is the session's handle. */
  return enable((TRACEHANDLE)i.logger_id, name, s, err, errlen);
}

typedef ULONG(WINAPI *enum_guids_fn)(TRACE_QUERY_INFO_CLASS, PVOID, ULONG, PVOID, ULONG, PULONG);

/* Whether the session with this logger id has Winsock-AFD enabled: the
 * provider's instances say which sessions enable it. Looked up at run
 * time: wine has no EnumerateTraceGuidsEx (then: not known, false). */
bool st_etw_session_has_afd(uint64_t logger_id) {
  HMODULE adv = GetModuleHandleA("advapi32.dll");
  enum_guids_fn enum_guids =
      adv ? (enum_guids_fn)(void (*)(void))GetProcAddress(adv, "EnumerateTraceGuidsEx") : NULL;
  ULONG size = 0;
  GUID g;
  if (!enum_guids)
    return false;
  memcpy(&g, st_etw_afd_guid, sizeof g);
  ULONG rc = enum_guids(TraceGuidQueryInfo, &g, sizeof g, NULL, 0, &size);
  if (rc != ERROR_INSUFFICIENT_BUFFER || !size)
    return false;
  char *buf = malloc(size);
  if (!buf)
    return false;
  bool found = false;
  rc = enum_guids(TraceGuidQueryInfo, &g, sizeof g, buf, size, &size);
  if (rc == ERROR_SUCCESS) {
    TRACE_GUID_INFO *gi = (TRACE_GUID_INFO *)buf;
    TRACE_PROVIDER_INSTANCE_INFO *pi = (TRACE_PROVIDER_INSTANCE_INFO *)(gi + 1);
    for (ULONG k = 0; k < gi->InstanceCount && !found; k++) {
      TRACE_ENABLE_INFO *e = (TRACE_ENABLE_INFO *)(pi + 1);
      for (ULONG j = 0; j < pi->EnableCount; j++)
        if ((uint64_t)e[j].LoggerId == (logger_id & 0xffff))
          found = true;
      if (!pi->NextOffset)
        break;
      pi = (TRACE_PROVIDER_INSTANCE_INFO *)((char *)pi + pi->NextOffset);
    }
  }
  free(buf);
  return found;
}

int st_etw_session_list(st_etw_session_info **out, size_t *count, char *err, size_t errlen) {
  EVENT_TRACE_PROPERTIES *props[MAX_SESSIONS];
  ULONG n = 0;
  *out = NULL;
  *count = 0;
  for (int i = 0; i < MAX_SESSIONS; i++) {
    props[i] = props_new();
    if (!props[i]) {
      for (int j = 0; j < i; j++)
        free(props[j]);
      return ST_ENOMEM;
    }
  }
  ULONG rc = QueryAllTracesW(props, MAX_SESSIONS, &n);
  int r = 0;
  if (rc != ERROR_SUCCESS && rc != ERROR_MORE_DATA) {
    r = fail(rc, "list", "(all)", err, errlen);
  } else if (n) {
    *out = calloc(n, sizeof **out);
    if (!*out)
      r = ST_ENOMEM;
    for (ULONG i = 0; i < n && *out; i++) {
      info_from(props[i], &(*out)[i]);
      (*out)[i].has_afd = st_etw_session_has_afd((*out)[i].logger_id);
    }
    if (*out)
      *count = n;
  }
  for (int i = 0; i < MAX_SESSIONS; i++)
    free(props[i]);
  return r;
}
