/*
 * .etl files as a backend: a file source the session pulls. The reader
 * (etl_file.c) walks the file in time order; AFD and WS2HELP records are
 * decoded by etw_decode and given real pids by etw_state, exactly as live
 * records are. Loss the file records becomes EventsLost (5900) at the end;
 * corrupt or truncated buffers become DecodeError events naming the offset,
 * and the rest is read.
 */
#include "etl_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "bytes.h"
#include "etl_file.h"
#include "etw_decode.h"
#include "etw_state.h"
#include "zinput.h"
#include "socktrace/session.h"

typedef struct foreign {
  struct {
    uint8_t guid[16];
    uint16_t id;
    uint8_t version;
  } key;
  uint64_t count;
  UT_hash_handle hh;
} foreign;

typedef struct etl_backend {
  st_backend base;
  char *path;
  etl_reader *reader;
  st_etw_state *state;
  etl_record rec; /* read, not yet decoded (problems found first go first) */
  bool have_rec, at_end;
  st_event ev;      /* the event next() hands out */
  st_event loss[2]; /* EventsLost at the end */
  unsigned nloss, loss_given;
  uint64_t first_ns, last_ns;
  foreign *foreign;
  st_backend_stats stats;
} etl_backend;

/* The next problem the reader found, as a DecodeError in b->ev. */
static bool next_problem(etl_backend *b) {
  etl_problem p;
  if (etl_reader_problem(b->reader, &p) != 1)
    return false;
  st_event *ev = &b->ev;
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_DECODE_ERROR);
  ev->os = ST_OS_WINDOWS;
  ev->backend = ST_BACKEND_ETW;
  ev->ts_ns = b->last_ns;
  ev->has = ST_HAS_DETAIL;
  snprintf(ev->detail, sizeof ev->detail, "offset %llu: %.100s", (unsigned long long)p.offset,
           p.what);
  if (!b->stats.errors)
    st_backend_set_error(&b->base, "%s: offset %llu: %s", b->path, (unsigned long long)p.offset,
                         p.what);
  b->stats.errors++;
  return true;
}

static void count_foreign(etl_backend *b, const etl_record *rec) {
  foreign probe, *f = NULL;
  memset(&probe, 0, sizeof probe);
  memcpy(probe.key.guid, rec->provider, 16);
  probe.key.id = rec->id;
  probe.key.version = rec->version;
  HASH_FIND(hh, b->foreign, &probe.key, sizeof probe.key, f);
  if (!f) {
    f = calloc(1, sizeof *f);
    if (!f)
      return;
    f->key = probe.key;
    HASH_ADD(hh, b->foreign, key, sizeof f->key, f);
  }
  f->count++;
}

/* Decodes a record into b->ev; false when it gives no event. */
static bool decode_record(etl_backend *b, const etl_record *rec) {
  if (rec->kind != ETL_EVENT)
    return false; /* system and classic records: the container's own */
  if (!b->first_ns)
    b->first_ns = rec->time_ns;
  b->last_ns = rec->time_ns;
  if (memcmp(rec->provider, st_etw_afd_guid, 16) != 0 &&
      memcmp(rec->provider, st_etw_ws2help_guid, 16) != 0 &&
      memcmp(rec->provider, st_etw_dns_client_guid, 16) != 0) {
    count_foreign(b, rec);
    return false;
  }
  st_etw_record er = {.id = rec->id,
                      .version = rec->version,
                      .level = rec->level,
                      .opcode = rec->opcode,
                      .keywords = rec->keyword,
                      .pid = rec->pid,
                      .tid = rec->tid,
                      .ts_ns = rec->time_ns,
                      .pointer_size = rec->ptr64 ? 8 : 4};
  memcpy(er.provider, rec->provider, 16);
  st_event *ev = &b->ev;
  st_etw_info info;
  int rc = st_etw_decode(&er, rec->user_data, rec->user_len, ev, &info);
  if (rc == ST_ETW_IGNORED)
    return false;
  if (rc < 0) {
    if (!b->stats.errors)
      st_backend_set_error(&b->base, "%s: offset %llu: %s", b->path,
                           (unsigned long long)rec->file_offset, ev->detail);
    b->stats.errors++;
  } else {
    st_etw_state_apply(b->state, &info, ev);
    b->stats.events++;
  }
  return true;
}

/* What the file says it lost, as EventsLost records for the end. */
static void count_loss(etl_backend *b) {
  etl_loss loss;
  etl_reader_loss(b->reader, &loss);
  st_session *s = b->base.session;
  /* EventsLost counts events; lost buffers say events were lost without
   * saying how many, so each counts as one and the detail says so. */
  if (loss.header_events_lost)
    st_session_lost_event(s, loss.header_events_lost, ST_LOST_ETW_BUFFERS, b->first_ns, b->last_ns,
                          &b->loss[b->nloss++]);
  uint64_t buffers = loss.header_buffers_lost + loss.buffers_flagged_buffer_lost;
  if (buffers)
    st_session_lost_event(s, buffers, ST_LOST_ETW_BUFFERS, b->first_ns, b->last_ns,
                          &b->loss[b->nloss++]);
  b->stats.lost = loss.header_events_lost + buffers;
}

/* Problems the reader found come before the record it was reading; the
 * file's loss comes after its last record. */
static int etl_next(st_backend *base, const st_event **out) {
  etl_backend *b = (etl_backend *)base;
  *out = &b->ev;
  for (;;) {
    if (next_problem(b))
      return ST_NEXT_EVENT;
    if (b->have_rec) {
      b->have_rec = false;
      if (decode_record(b, &b->rec))
        return ST_NEXT_EVENT;
      continue;
    }
    if (b->at_end) {
      if (b->loss_given == b->nloss)
        return ST_NEXT_END;
      *out = &b->loss[b->loss_given++];
      return ST_NEXT_EVENT;
    }
    if (etl_reader_next(b->reader, &b->rec) == 1) {
      b->have_rec = true;
    } else {
      b->at_end = true;
      count_loss(b);
    }
  }
}

static int etl_open(st_backend *base, st_session *s) {
  etl_backend *b = (etl_backend *)base;
  char err[300];
  int rc = etl_reader_open(b->path, &b->reader, err, sizeof err);
  if (rc < 0) {
    st_backend_set_error(base, "%s", err);
    return rc;
  }
  b->state = st_etw_state_new(NULL, NULL);
  if (!b->state)
    return ST_ENOMEM;
  st_session_info(s)->backend = ST_BACKEND_REPLAY;
  st_session_info(s)->os = ST_OS_WINDOWS;
  st_trace_info *rec = st_session_recorded(s);
  rec->os = ST_OS_WINDOWS;
  rec->backend = ST_BACKEND_ETW;
  const etl_logfile *lf = etl_reader_logfile(b->reader);
  if (lf && lf->present)
    rec->started_ns = etl_filetime_to_ns(lf->start_time);
  return 0;
}

static void etl_close(st_backend *base) {
  etl_backend *b = (etl_backend *)base;
  foreign *f, *tmp;
  HASH_ITER(hh, b->foreign, f, tmp) {
    HASH_DEL(b->foreign, f);
    free(f);
  }
  etl_reader_close(b->reader);
  st_etw_state_free(b->state);
  free(b->path);
  free(b);
}

static void etl_stats(st_backend *base, st_backend_stats *out) {
  *out = ((etl_backend *)base)->stats;
}

static const st_backend_ops etl_ops = {.name = "etl",
                                       .kind = ST_SOURCE_FILE,
                                       .open = etl_open,
                                       .start = st_backend_nop,
                                       .stop = st_backend_nop,
                                       .close = etl_close,
                                       .stats = etl_stats,
                                       .next = etl_next};

int st_backend_etl_new(const char *path, st_backend **out) {
  etl_backend *b = calloc(1, sizeof *b);
  if (!b || !(b->path = strdup(path))) {
    free(b);
    return ST_ENOMEM;
  }
  b->base.ops = &etl_ops;
  *out = &b->base;
  return 0;
}

bool st_etl_file_sniff(const char *path) {
  FILE *f = st_zopen(path, NULL);
  if (!f)
    return false;
  uint8_t h[ETL_BUFFER_HEADER + 4];
  size_t n = fread(h, 1, sizeof h, f);
  st_zclose(f);
  if (n < sizeof h)
    return false;
  uint32_t size = st_le32(h);
  uint16_t type = st_le16(h + 0x36);
  /* The header buffer: type 4, sequence 0, its first record a system
   * header (type 1 or 2). */
  return size >= ETL_BUFFER_HEADER && type == 4 && (h[72 + 2] == 1 || h[72 + 2] == 2);
}

static int by_key(foreign *a, foreign *b) {
  int c = memcmp(a->key.guid, b->key.guid, 16);
  if (c)
    return c;
  if (a->key.id != b->key.id)
    return a->key.id < b->key.id ? -1 : 1;
  return (int)a->key.version - (int)b->key.version;
}

void st_etl_backend_foreign(st_backend *base, st_etl_foreign_fn fn, void *arg) {
  etl_backend *b = (etl_backend *)base;
  HASH_SORT(b->foreign, by_key);
  foreign *f, *tmp;
  HASH_ITER(hh, b->foreign, f, tmp) {
    char guid[39];
    etl_guid_format(f->key.guid, guid);
    fn(guid, f->key.id, f->key.version, f->count, arg);
  }
}
