/* The .etl container reader against real files written by Windows, with
 * EXPECTED.json (computed independently) as the oracle: every buffer
 * header, the logfile header, record counts per header type and hook,
 * event counts per provider/id/version, the first EVENT_HEADER record, and
 * the first event's time. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "etw/etl_file.h"

static json_t *expected_for(const char *file) {
  static json_t *all;
  if (!all) {
    json_error_t e;
    all = json_load_file(st_test_fixture("etl/EXPECTED.json"), 0, &e);
    cr_assert_not_null(all, "EXPECTED.json: %s", e.text);
  }
  json_t *f = json_object_get(all, file);
  cr_assert_not_null(f, "%s not in EXPECTED.json", file);
  return f;
}

static long long jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  cr_assert(json_is_integer(v), "field %s", k);
  return json_integer_value(v);
}

static unsigned long long jhex(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  cr_assert_not_null(s, "field %s", k);
  return strtoull(s, NULL, 16);
}

/* "2020-07-14T12:04:31.138736Z" from a FILETIME, as EXPECTED.json writes
 * it (microseconds). */
static void filetime_iso(int64_t ft, char *buf, size_t len) {
  uint64_t ns = etl_filetime_to_ns(ft);
  char tmp[32];
  time_t secs = (time_t)(ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%06lluZ", tmp, (unsigned long long)(ns % 1000000000ull / 1000));
}

static void check_file(const char *name) {
  ST_REQUIRE_FIXTURES();
  char path[1024];
  snprintf(path, sizeof path, "etl/%s", name);
  json_t *exp = expected_for(name);
  etl_reader *r;
  char err[256];
  cr_assert_eq(etl_reader_open(st_test_fixture(path), &r, err, sizeof err), 0, "%s", err);

  /* Buffers, in file order. */
  json_t *bufs = json_object_get(exp, "buffers");
  cr_assert_eq(etl_reader_buffer_count(r), json_array_size(bufs), "%s buffer count", name);
  for (size_t i = 0; i < json_array_size(bufs); i++) {
    json_t *e = json_array_get(bufs, i);
    const etl_buffer *b = etl_reader_buffer(r, i);
    cr_expect_eq(b->file_offset, (uint64_t)jint(e, "file_offset"), "%s buf %zu", name, i);
    cr_expect_eq(b->buffer_size, jint(e, "BufferSize"), "%s buf %zu", name, i);
    cr_expect_eq(b->saved_offset, jint(e, "SavedOffset"), "%s buf %zu", name, i);
    cr_expect_eq(b->offset, jint(e, "Offset"), "%s buf %zu", name, i);
    cr_expect_eq(b->sequence, (uint64_t)jint(e, "SequenceNumber"), "%s buf %zu", name, i);
    cr_expect_eq(b->processor, jint(e, "ProcessorIndex"), "%s buf %zu", name, i);
    cr_expect_eq(b->logger_id, jint(e, "LoggerId"), "%s buf %zu", name, i);
    cr_expect_eq(b->state, jint(e, "State"), "%s buf %zu", name, i);
    cr_expect_eq(b->flag, jhex(e, "BufferFlag"), "%s buf %zu", name, i);
    cr_expect_eq(b->type, jint(e, "BufferType"), "%s buf %zu", name, i);
  }

  /* The logfile header. */
  json_t *lh = json_object_get(exp, "trace_logfile_header");
  const etl_logfile *l = etl_reader_logfile(r);
  cr_assert(l->present);
  char iso[64], ver[16];
  cr_expect_eq(l->buffer_size, jint(lh, "BufferSize"));
  snprintf(ver, sizeof ver, "%02x%02x%02x%02x", l->version[0], l->version[1], l->version[2],
           l->version[3]);
  cr_expect_str_eq(ver, json_string_value(json_object_get(lh, "Version_bytes")));
  cr_expect_eq(l->build, jint(lh, "ProviderVersion(build)"));
  cr_expect_eq(l->processors, jint(lh, "NumberOfProcessors"));
  filetime_iso(l->end_time, iso, sizeof iso);
  cr_expect_str_eq(iso, json_string_value(json_object_get(lh, "EndTime")));
  cr_expect_eq(l->timer_resolution, jint(lh, "TimerResolution"));
  cr_expect_eq(l->max_file_size, jint(lh, "MaximumFileSize"));
  cr_expect_eq(l->log_file_mode, jhex(lh, "LogFileMode"));
  cr_expect_eq(l->buffers_written, jint(lh, "BuffersWritten"));
  cr_expect_eq(l->start_buffers, jint(lh, "StartBuffers"));
  cr_expect_eq(l->pointer_size, jint(lh, "PointerSize"));
  cr_expect_eq(l->events_lost, jint(lh, "EventsLost"));
  cr_expect_eq(l->cpu_mhz, jint(lh, "CpuSpeedInMHz"));
  filetime_iso(l->boot_time, iso, sizeof iso);
  cr_expect_str_eq(iso, json_string_value(json_object_get(lh, "BootTime")));
  cr_expect_eq(l->perf_freq, jint(lh, "PerfFreq"));
  filetime_iso(l->start_time, iso, sizeof iso);
  cr_expect_str_eq(iso, json_string_value(json_object_get(lh, "StartTime")));
  cr_expect_eq(l->clock_type, jint(lh, "ReservedFlags(clock type)"));
  cr_expect_eq(l->buffers_lost, jint(lh, "BuffersLost"));
  cr_expect_str_eq(l->logger_name, json_string_value(json_object_get(lh, "LoggerName")));
  cr_expect_str_eq(l->logfile_name, json_string_value(json_object_get(lh, "LogFileName")));
  json_t *he = json_object_get(exp, "header_event");
  cr_expect_eq(l->qpc0, jint(he, "qpc_at_start"));

  /* Every record of the merged timeline: counts by kind and provider. */
  json_t *counts = json_object(), *by_provider = json_object();
  etl_record rec, first_ev = {0};
  bool have_first = false;
  uint64_t first_key = UINT64_MAX, last_ts_by_time = 0, n_event = 0;
  bool header_seen = false;
  int64_t prev_ts = INT64_MIN;
  while (etl_reader_next(r, &rec) == 1) {
    char key[128];
    cr_expect_geq(rec.timestamp, prev_ts, "%s: merged records are in time order", name);
    prev_ts = rec.timestamp;
    if (rec.kind == ETL_SYSTEM) {
      snprintf(key, sizeof key, "system(hdrtype=%u) hook 0x%x", rec.header_type, rec.hook_id);
      if (rec.hook_id == 0 && !header_seen) {
        header_seen = true;
        cr_expect_eq(rec.header_type, jint(he, "system_header_type"));
        cr_expect_eq(rec.size, jint(he, "size"));
      }
    } else if (rec.kind == ETL_EVENT) {
      snprintf(key, sizeof key, "event_header(hdrtype=%u)", rec.header_type);
      char guid[39], pk[96];
      etl_guid_format(rec.provider, guid);
      snprintf(pk, sizeof pk, "%s id=%u v=%u", guid, rec.id, rec.version);
      json_t *c = json_object_get(by_provider, pk);
      json_object_set_new(by_provider, pk, json_integer(c ? json_integer_value(c) + 1 : 1));
      n_event++;
      /* The first EVENT_HEADER record in file order. */
      uint64_t k = rec.file_offset;
      if (k < first_key) {
        first_key = k;
        first_ev = rec;
        have_first = true;
      }
    } else {
      snprintf(key, sizeof key, "other(hdrtype=%u)", rec.header_type);
    }
    json_t *c = json_object_get(counts, key);
    json_object_set_new(counts, key, json_integer(c ? json_integer_value(c) + 1 : 1));
    last_ts_by_time = rec.time_ns;
  }
  (void)last_ts_by_time;
  cr_expect(json_equal(counts, json_object_get(exp, "record_counts")), "%s record counts: %s", name,
            json_dumps(counts, JSON_COMPACT));
  cr_expect(json_equal(by_provider, json_object_get(exp, "events_by_provider_id")),
            "%s provider counts: %s", name, json_dumps(by_provider, JSON_COMPACT));
  cr_expect_eq(n_event, (uint64_t)jint(exp, "event_header_records"));

  /* The first EVENT_HEADER record, field by field. */
  json_t *fe = json_object_get(exp, "first_event_header_record");
  cr_assert(have_first);
  cr_expect_eq(first_ev.buffer_index, jint(fe, "buffer_index"));
  cr_expect_eq(first_ev.file_offset, (uint64_t)jint(fe, "offset_in_file"));
  cr_expect_eq(first_ev.size, jint(fe, "Size"));
  cr_expect_eq(first_ev.header_type, jhex(fe, "HeaderType"));
  cr_expect_eq(first_ev.marker, jhex(fe, "MarkerFlags"));
  cr_expect_eq(first_ev.flags, jhex(fe, "Flags"));
  cr_expect_eq(first_ev.property, jhex(fe, "EventProperty"));
  cr_expect_eq(first_ev.tid, jint(fe, "ThreadId"));
  cr_expect_eq(first_ev.pid, jint(fe, "ProcessId"));
  cr_expect_eq(first_ev.timestamp, jint(fe, "TimeStamp"));
  char guid[39];
  etl_guid_format(first_ev.provider, guid);
  cr_expect_str_eq(guid, json_string_value(json_object_get(fe, "ProviderId")));
  cr_expect_eq(first_ev.id, jint(fe, "Id"));
  cr_expect_eq(first_ev.version, jint(fe, "Version"));
  cr_expect_eq(first_ev.channel, jint(fe, "Channel"));
  cr_expect_eq(first_ev.level, jint(fe, "Level"));
  cr_expect_eq(first_ev.opcode, jint(fe, "Opcode"));
  cr_expect_eq(first_ev.task, jint(fe, "Task"));
  cr_expect_eq(first_ev.keyword, jhex(fe, "Keyword"));
  json_t *items = json_object_get(fe, "ExtendedItems");
  cr_assert_eq(first_ev.n_ext, json_array_size(items));
  for (size_t i = 0; i < first_ev.n_ext; i++) {
    json_t *it = json_array_get(items, i);
    cr_expect_eq(first_ev.ext[i].size, jint(it, "ItemLen"));
    cr_expect_eq(first_ev.ext[i].type, jint(it, "ExtType"));
    cr_expect_eq(first_ev.ext[i].linkage, jint(it, "Linkage"));
    cr_expect_eq(first_ev.ext[i].data_size, jint(it, "DataSize"));
  }
  /* first_ev.user_data is no longer valid here: compare through offsets. */
  cr_expect_eq(first_ev.size - first_ev.user_len, jint(fe, "UserDataOffset"));
  cr_expect_eq(first_ev.user_len, jint(fe, "UserDataLength"));

  /* Its time: StartTime + (TimeStamp - Q0) * 10^7 / PerfFreq, in 100 ns. */
  int64_t t100 = l->start_time + (first_ev.timestamp - l->qpc0) * 10000000ll / l->perf_freq;
  cr_expect_eq(first_ev.time_ns, etl_filetime_to_ns(t100), "%s first event time", name);

  etl_problem p;
  cr_expect_eq(etl_reader_problem(r, &p), 0, "%s: unexpected problem at %llu: %s", name,
               (unsigned long long)p.offset, p.what);
  etl_loss loss;
  etl_reader_loss(r, &loss);
  cr_expect_eq(loss.header_events_lost, (uint64_t)jint(lh, "EventsLost"));
  json_decref(counts);
  json_decref(by_provider);
  etl_reader_close(r);
}

Test(etl_fixtures, lxcore_kernel) {
  check_file("lxcore_kernel.etl");
}

Test(etl_fixtures, amsi_trace) {
  check_file("AMSITrace.etl");
}

Test(etl_fixtures, powershell) {
  check_file("powershell.etl");
}

/* The user data of the first EVENT_HEADER record starts with the bytes
 * EXPECTED.json lists. Read separately, since record pointers only live
 * until the next call. */
Test(etl_fixtures, first_user_data_bytes) {
  ST_REQUIRE_FIXTURES();
  const char *names[] = {"lxcore_kernel.etl", "AMSITrace.etl", "powershell.etl"};
  for (int f = 0; f < 3; f++) {
    char path[256];
    snprintf(path, sizeof path, "etl/%s", names[f]);
    json_t *fe = json_object_get(expected_for(names[f]), "first_event_header_record");
    etl_reader *r;
    char err[256];
    cr_assert_eq(etl_reader_open(st_test_fixture(path), &r, err, sizeof err), 0);
    etl_record rec;
    bool found = false;
    while (!found && etl_reader_next(r, &rec) == 1) {
      if (rec.kind != ETL_EVENT || rec.file_offset != (uint64_t)jint(fe, "offset_in_file"))
        continue;
      char hex[80] = "";
      for (uint32_t i = 0; i < 32 && i < rec.user_len; i++)
        sprintf(hex + 2 * i, "%02x", rec.user_data[i]);
      cr_expect_str_eq(hex, json_string_value(json_object_get(fe, "UserDataFirst32Hex")), "%s",
                       names[f]);
      found = true;
    }
    cr_expect(found, "%s", names[f]);
    etl_reader_close(r);
  }
}
