/*
 * The live ETW consumer (Windows only): a real-time session named after the
 * socktrace session, with Microsoft-Windows-Winsock-AFD, -WS2HELP and
 * Microsoft-Windows-DNS-Client (names) enabled at the session's level and
 * keywords. ProcessTrace blocks, so it
 * runs on a worker thread that decodes each record (etw_decode.h), gives it
 * a real pid (etw_state.h) and hands it to the loop with st_session_push().
 * A loop timer turns the session's EventsLost / RealTimeBuffersLost into
 * EventsLost (5900) records.
 *
 * It must never leave a session running: stop() (Ctrl-C, an error, the end)
 * stops it, and a session of the same name left by a crashed run is stopped
 * and replaced. It never prints: errors go to b->error, notes to the
 * caller's notice callback.
 */
#include "socktrace/session.h" /* uv.h first: it brings winsock2.h before windows.h */

#include <windows.h>
#include <evntcons.h>
#include <evntrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etw.h"
#include "etw_decode.h"
#include "etw_state.h"

#define NAME_MAX_CHARS 128
#define LOST_POLL_MS 1000
/* 100 ns ticks between 1601-01-01 (FILETIME) and 1970-01-01. */
#define FILETIME_UNIX_EPOCH 116444736000000000ULL

typedef struct etw_backend {
  st_backend base;
  st_etw_options opt;
  st_session *session;
  wchar_t name[NAME_MAX_CHARS];
  char name_utf8[NAME_MAX_CHARS];
  EVENT_TRACE_PROPERTIES *props;
  size_t props_size;
  TRACEHANDLE session_handle; /* 0 when no session of ours runs */
  TRACEHANDLE trace_handle;   /* INVALID_PROCESSTRACE_HANDLE when not open */
  uv_thread_t thread;
  bool thread_on, async_on, timer_on, stopping;
  uv_async_t done_async;
  uv_timer_t lost_timer;
  volatile LONG stop_requested;
  ULONG process_status;
  st_etw_state *state; /* worker thread only */
  volatile LONG64 events, errors;
  uint64_t lost_events, lost_buffers, lost_since_ns;
  char first_error[ST_DETAIL_MAX];
  volatile LONG have_first_error;
} etw_backend;

static uint64_t now_ns(void) {
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  return t > FILETIME_UNIX_EPOCH ? (t - FILETIME_UNIX_EPOCH) * 100 : 0;
}

/* "access denied (error 5)": the system's words for a Win32 error. */
static void win_error_text(DWORD err, char *buf, size_t len) {
  char msg[256];
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
                           msg, sizeof msg, NULL);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == '.' || msg[n - 1] == ' '))
    msg[--n] = 0;
  if (n && msg[0] >= 'A' && msg[0] <= 'Z')
    msg[0] = (char)(msg[0] - 'A' + 'a');
  snprintf(buf, len, "%s (error %lu)", n ? msg : "unknown error", (unsigned long)err);
}

static void fail(etw_backend *b, DWORD err, const char *what) {
  char text[300];
  win_error_text(err, text, sizeof text);
  if (err == ERROR_ACCESS_DENIED)
    st_backend_set_error(&b->base,
                         "cannot %s the ETW session '%s': %s; run socktrace from an elevated "
                         "prompt (as administrator) or as a member of Performance Log Users",
                         what, b->name_utf8, text);
  else
    st_backend_set_error(&b->base, "cannot %s the ETW session '%s': %s", what, b->name_utf8, text);
}

/* ControlTraceW and StartTraceW write into the properties: start fresh. */
static EVENT_TRACE_PROPERTIES *fresh_props(etw_backend *b) {
  EVENT_TRACE_PROPERTIES *p = b->props;
  memset(p, 0, b->props_size);
  p->Wnode.BufferSize = (ULONG)b->props_size;
  p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
  p->Wnode.ClientContext = 1; /* QPC time stamps */
  p->LogFileMode = EVENT_TRACE_REAL_TIME_MODE;
  p->BufferSize = b->opt.buffer_kb;
  p->MinimumBuffers = b->opt.min_buffers;
  p->MaximumBuffers = b->opt.max_buffers;
  p->FlushTimer = 1;
  p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
  return p;
}

static int name_lookup(uint32_t pid, char *name, size_t len, void *arg) {
  (void)arg;
  if (pid == 4) {
    snprintf(name, len, "System");
    return 0;
  }
  HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (!h)
    return -1;
  wchar_t path[MAX_PATH];
  DWORD n = MAX_PATH;
  BOOL ok = QueryFullProcessImageNameW(h, 0, path, &n);
  CloseHandle(h);
  if (!ok)
    return -1;
  const wchar_t *base = path;
  for (const wchar_t *p = path; *p; p++)
    if (*p == L'\\' || *p == L'/')
      base = p + 1;
  return WideCharToMultiByte(CP_UTF8, 0, base, -1, name, (int)len, NULL, NULL) > 0 ? 0 : -1;
}

/* Worker thread: one record. */
static VOID WINAPI on_event(PEVENT_RECORD r) {
  etw_backend *b = r->UserContext;
  if (b->stop_requested)
    return;
  st_etw_record rec;
  memcpy(rec.provider, &r->EventHeader.ProviderId, 16);
  rec.id = r->EventHeader.EventDescriptor.Id;
  rec.version = r->EventHeader.EventDescriptor.Version;
  rec.level = r->EventHeader.EventDescriptor.Level;
  rec.opcode = r->EventHeader.EventDescriptor.Opcode;
  rec.keywords = r->EventHeader.EventDescriptor.Keyword;
  rec.pid = r->EventHeader.ProcessId;
  rec.tid = r->EventHeader.ThreadId;
  uint64_t ft = (uint64_t)r->EventHeader.TimeStamp.QuadPart;
  rec.ts_ns = ft > FILETIME_UNIX_EPOCH ? (ft - FILETIME_UNIX_EPOCH) * 100 : 0;
  USHORT flags = r->EventHeader.Flags;
  rec.pointer_size = (flags & EVENT_HEADER_FLAG_32_BIT_HEADER)   ? 4
                     : (flags & EVENT_HEADER_FLAG_64_BIT_HEADER) ? 8
                                                                 : (uint8_t)sizeof(void *);
  st_event ev;
  st_etw_info info;
  int rc = st_etw_decode(&rec, r->UserData, r->UserDataLength, &ev, &info);
  if (rc == ST_ETW_IGNORED)
    return; /* the session's own header event, other providers */
  if (rc == ST_ETW_DECODED) {
    st_etw_state_apply(b->state, &info, &ev);
    InterlockedIncrement64(&b->events);
  } else {
    InterlockedIncrement64(&b->errors);
    if (InterlockedCompareExchange(&b->have_first_error, 1, 0) == 0)
      snprintf(b->first_error, sizeof b->first_error, "%s", ev.detail);
  }
  st_session_push(b->session, &ev);
}

static ULONG WINAPI on_buffer(PEVENT_TRACE_LOGFILEW lf) {
  etw_backend *b = lf->Context;
  return b->stop_requested ? FALSE : TRUE;
}

static void worker(void *arg) {
  etw_backend *b = arg;
  b->process_status = ProcessTrace(&b->trace_handle, 1, NULL, NULL);
  uv_async_send(&b->done_async);
}

/* Loop thread: reports what the session lost since the last look. */
static void report_lost(etw_backend *b) {
  if (!b->session_handle)
    return;
  EVENT_TRACE_PROPERTIES *p = fresh_props(b);
  if (ControlTraceW(b->session_handle, NULL, p, EVENT_TRACE_CONTROL_QUERY) != ERROR_SUCCESS)
    return;
  uint64_t now = now_ns();
  /* A lost buffer held at least one event: count it as one. */
  uint64_t events = p->EventsLost, buffers = p->RealTimeBuffersLost;
  uint64_t delta = (events > b->lost_events ? events - b->lost_events : 0) +
                   (buffers > b->lost_buffers ? buffers - b->lost_buffers : 0);
  b->lost_events = events;
  b->lost_buffers = buffers;
  if (delta)
    st_session_report_lost(b->session, delta, ST_LOST_ETW_BUFFERS, b->lost_since_ns, now);
  b->lost_since_ns = now;
}

static void on_lost_timer(uv_timer_t *t) {
  report_lost(t->data);
}

static void on_done(uv_async_t *a) {
  etw_backend *b = a->data;
  if (b->stopping)
    return;
  ULONG rc = b->process_status;
  if (rc == ERROR_SUCCESS || rc == ERROR_CANCELLED) {
    st_session_backend_done(b->session, 0); /* the session was stopped from outside */
    return;
  }
  fail(b, rc, "read events from");
  st_session_backend_done(b->session, ST_EIO);
}

static int etw_open(st_backend *base, st_session *s) {
  etw_backend *b = (etw_backend *)base;
  b->session = s;
  const st_session_config *cfg = st_session_config_get(s);
  snprintf(b->name_utf8, sizeof b->name_utf8, "%s", cfg->name ? cfg->name : "socktrace");
  if (!MultiByteToWideChar(CP_UTF8, 0, b->name_utf8, -1, b->name, NAME_MAX_CHARS)) {
    st_backend_set_error(base, "bad session name '%s'", b->name_utf8);
    return ST_EINVAL;
  }
  b->props_size = sizeof(EVENT_TRACE_PROPERTIES) + sizeof b->name;
  b->props = calloc(1, b->props_size);
  b->state = st_etw_state_new(name_lookup, NULL);
  if (!b->props || !b->state)
    return ST_ENOMEM;
  st_session_info(s)->os = ST_OS_WINDOWS;
  st_session_info(s)->backend = ST_BACKEND_ETW;

  ULONG rc = StartTraceW(&b->session_handle, b->name, fresh_props(b));
  if (rc == ERROR_ALREADY_EXISTS) {
    /* A crashed run left its session: stop it and take its place. */
    ControlTraceW(0, b->name, fresh_props(b), EVENT_TRACE_CONTROL_STOP);
    if (b->opt.notice) {
      char msg[256];
      snprintf(msg, sizeof msg,
               "an ETW session named '%s' was still running (left by an earlier run?); "
               "stopped it and started a new one",
               b->name_utf8);
      b->opt.notice(msg, b->opt.notice_arg);
    }
    rc = StartTraceW(&b->session_handle, b->name, fresh_props(b));
  }
  if (rc != ERROR_SUCCESS) {
    b->session_handle = 0;
    fail(b, rc, "start");
    return rc == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
  }

  /* AFD for its keyword bits, WS2HELP for the catalog keyword, the DNS
   * client for the dns keyword. */
  st_etw_providers want = st_etw_providers_for(cfg->keywords);
  ENABLE_TRACE_PARAMETERS params;
  memset(&params, 0, sizeof params);
  params.Version = ENABLE_TRACE_PARAMETERS_VERSION_2;
  if (want.afd) {
    rc = EnableTraceEx2(b->session_handle, (const GUID *)st_etw_afd_guid,
                        EVENT_CONTROL_CODE_ENABLE_PROVIDER, cfg->level, want.afd_keywords, 0, 0,
                        &params);
    if (rc != ERROR_SUCCESS) {
      fail(b, rc, "enable Microsoft-Windows-Winsock-AFD in");
      return rc == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
    }
  }
  if (want.ws2help) {
    rc = EnableTraceEx2(b->session_handle, (const GUID *)st_etw_ws2help_guid,
                        EVENT_CONTROL_CODE_ENABLE_PROVIDER, cfg->level, 0, 0, 0, &params);
    if (rc != ERROR_SUCCESS) {
      fail(b, rc, "enable Microsoft-Windows-Winsock-WS2HELP in");
      return rc == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
    }
  }
  /* Names: the DNS client's queries (3006) are Information in its manifest
   * and must come even at level 4, to be paired with their results. */
  if (want.dns_client) {
    rc = EnableTraceEx2(b->session_handle, (const GUID *)st_etw_dns_client_guid,
                        EVENT_CONTROL_CODE_ENABLE_PROVIDER,
                        cfg->level < ST_LEVEL_INFO ? ST_LEVEL_INFO : cfg->level, 0, 0, 0, &params);
    if (rc != ERROR_SUCCESS) {
      fail(b, rc, "enable Microsoft-Windows-DNS-Client in");
      return rc == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
    }
  }
  return 0;
}

static int etw_start(st_backend *base) {
  etw_backend *b = (etw_backend *)base;
  uv_loop_t *loop = st_session_loop(b->session);
  uv_async_init(loop, &b->done_async, on_done);
  b->done_async.data = b;
  b->async_on = true;
  uv_timer_init(loop, &b->lost_timer);
  b->lost_timer.data = b;
  b->timer_on = true;
  b->lost_since_ns = now_ns();

  EVENT_TRACE_LOGFILEW lf;
  memset(&lf, 0, sizeof lf);
  lf.LoggerName = b->name;
  lf.ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD;
  lf.EventRecordCallback = on_event;
  lf.BufferCallback = on_buffer;
  lf.Context = b;
  b->trace_handle = OpenTraceW(&lf);
  if (b->trace_handle == INVALID_PROCESSTRACE_HANDLE) {
    DWORD err = GetLastError();
    fail(b, err, "open");
    return err == ERROR_ACCESS_DENIED ? ST_EPERM : ST_EIO;
  }
  if (uv_thread_create(&b->thread, worker, b) != 0) {
    st_backend_set_error(base, "cannot start the ETW reader thread");
    return ST_ENOMEM;
  }
  b->thread_on = true;
  uv_timer_start(&b->lost_timer, on_lost_timer, LOST_POLL_MS, LOST_POLL_MS);
  return 0;
}

static int etw_stop(st_backend *base) {
  etw_backend *b = (etw_backend *)base;
  if (b->stopping)
    return 0;
  b->stopping = true;
  InterlockedExchange(&b->stop_requested, 1);
  if (b->timer_on)
    uv_timer_stop(&b->lost_timer);
  report_lost(b);
  if (b->session_handle) {
    ControlTraceW(b->session_handle, NULL, fresh_props(b), EVENT_TRACE_CONTROL_STOP);
    b->session_handle = 0;
  }
  if (b->trace_handle != INVALID_PROCESSTRACE_HANDLE && b->trace_handle != 0) {
    CloseTrace(b->trace_handle); /* ProcessTrace returns */
    b->trace_handle = INVALID_PROCESSTRACE_HANDLE;
  }
  if (b->thread_on) {
    uv_thread_join(&b->thread);
    b->thread_on = false;
  }
  if (b->async_on)
    uv_close((uv_handle_t *)&b->done_async, NULL);
  if (b->timer_on)
    uv_close((uv_handle_t *)&b->lost_timer, NULL);
  if (b->have_first_error && !b->base.error[0])
    st_backend_set_error(base, "%s", b->first_error);
  return 0;
}

static void etw_close(st_backend *base) {
  etw_backend *b = (etw_backend *)base;
  if (b->session_handle)
    ControlTraceW(b->session_handle, NULL, fresh_props(b), EVENT_TRACE_CONTROL_STOP);
  st_etw_state_free(b->state);
  free(b->props);
  free(b);
}

static void etw_stats(st_backend *base, st_backend_stats *out) {
  etw_backend *b = (etw_backend *)base;
  out->events = (uint64_t)b->events;
  out->errors = (uint64_t)b->errors;
  out->lost = b->lost_events + b->lost_buffers;
}

static const st_backend_ops etw_ops = {
    .name = "etw",
    .kind = ST_SOURCE_LIVE,
    .open = etw_open,
    .start = etw_start,
    .stop = etw_stop,
    .close = etw_close,
    .stats = etw_stats,
};

static uint32_t clamp(uint32_t v, uint32_t def, uint32_t lo, uint32_t hi) {
  if (!v)
    return def;
  return v < lo ? lo : v > hi ? hi : v;
}

int st_backend_etw_new(const st_etw_options *opt, st_backend **out) {
  etw_backend *b = calloc(1, sizeof *b);
  if (!b)
    return ST_ENOMEM;
  if (opt)
    b->opt = *opt;
  b->opt.buffer_kb = clamp(b->opt.buffer_kb, ST_ETW_DEFAULT_BUFFER_KB, 4, 1024);
  b->opt.min_buffers = clamp(b->opt.min_buffers, ST_ETW_DEFAULT_MIN_BUFFERS, 2, 4096);
  b->opt.max_buffers = clamp(b->opt.max_buffers, ST_ETW_DEFAULT_MAX_BUFFERS, 2, 4096);
  if (b->opt.max_buffers < b->opt.min_buffers)
    b->opt.max_buffers = b->opt.min_buffers;
  b->trace_handle = INVALID_PROCESSTRACE_HANDLE;
  b->base.ops = &etw_ops;
  *out = &b->base;
  return 0;
}
