/* The .etl reader on files laid out byte by byte by etl_builder: 32- and
 * 64-bit records, extended items, out-of-order buffers from two
 * processors, a compressed buffer, truncation and corruption. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl/etl_builder.h"
#include "etw/etl_file.h"
#include "etw/etl_xpress.h"

static char path[] = "/tmp/st-etl-XXXXXX";

/* The test's file, removed when it ends (failed, too): a test that builds
 * twice writes a second file, the first one is removed then. */
static void remove_tmp(void) {
  if (!strstr(path, "XXXXXX"))
    unlink(path);
  strcpy(path, "/tmp/st-etl-XXXXXX");
}

TestSuite(etl_built, .fini = remove_tmp);

static void write_tmp(const eb_file *f) {
  remove_tmp();
  close(mkstemp(path));
  cr_assert_eq(eb_write(f, path), 0);
}

/* Two processors; buffers stored in flush order, not by cpu or sequence:
 * cpu1 seq2, cpu0 seq1, cpu0 seq3. Events carry their qpc as user data. */
static void build(eb_file *f, bool ptr64, bool compressed) {
  eb_begin(f, ptr64, compressed, 3, 1);
  eb_buffer b;
  uint8_t user[16];
  eb_buffer_init(&b, 1, 2);
  for (int64_t q = 15; q <= 45; q += 10) { /* qpc offsets 15, 25, 35, 45 */
    memcpy(user, &q, 8);
    eb_add_event(&b, ptr64, EB_AFD_GUID, 1000, 0, 4, 0x6, 40, 41, EB_QPC0 + q, 0, user, 8);
  }
  eb_add_buffer(f, &b, 0x2 /* events lost */);
  eb_buffer_init(&b, 0, 1);
  for (int64_t q = 10; q <= 30; q += 10) {
    memcpy(user, &q, 8);
    eb_add_event(&b, ptr64, q == 20 ? EB_OTHER_GUID : EB_AFD_GUID, 1001, 0, 4, 0x6, 40, 42,
                 EB_QPC0 + q, q == 20 ? 2 : 0, user, 8);
  }
  eb_add_buffer(f, &b, 0);
  eb_buffer_init(&b, 0, 3);
  for (int64_t q = 40; q <= 50; q += 10) {
    memcpy(user, &q, 8);
    eb_add_event(&b, ptr64, EB_AFD_GUID, 1002, 0, 4, 0x6, 40, 42, EB_QPC0 + q, 0, user, 8);
  }
  eb_add_buffer(f, &b, 0x1);
  write_tmp(f);
}

static void expect_timeline(bool ptr64, bool compressed) {
  eb_file f;
  build(&f, ptr64, compressed);
  etl_reader *r;
  char err[256];
  cr_assert_eq(etl_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  const etl_logfile *l = etl_reader_logfile(r);
  cr_expect(l->present);
  cr_expect_eq(l->pointer_size, ptr64 ? 8 : 4);
  cr_expect_eq(l->perf_freq, EB_PERF_FREQ);
  cr_expect_eq(l->start_time, EB_START_FILETIME);
  cr_expect_eq(l->events_lost, 3);
  cr_expect_eq(l->buffers_lost, 1);
  cr_expect_str_eq(l->logger_name, "sock");
  cr_expect_str_eq(l->logfile_name, "C:\\sock.etl");
  cr_expect_eq(etl_reader_buffer_count(r), 4);
  etl_record rec;
  cr_assert_eq(etl_reader_next(r, &rec), 1);
  cr_expect_eq(rec.kind, ETL_SYSTEM, "the logfile header record comes first");
  int64_t want[] = {10, 15, 20, 25, 30, 35, 40, 45, 50};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    cr_assert_eq(etl_reader_next(r, &rec), 1, "event %zu", i);
    cr_expect_eq(rec.kind, ETL_EVENT);
    cr_expect_eq(rec.ptr64, ptr64);
    cr_expect_eq(rec.header_type, ptr64 ? 0x13 : 0x12);
    cr_expect_eq(rec.timestamp, EB_QPC0 + want[i], "merged by time: %zu", i);
    cr_expect_eq(rec.time_ns, (uint64_t)(EB_START_FILETIME - 116444736000000000ll) * 100 +
                                  (uint64_t)want[i] * 100);
    cr_assert_eq(rec.user_len, 8);
    int64_t q;
    memcpy(&q, rec.user_data, 8);
    cr_expect_eq(q, want[i], "user data after the extended items");
    if (want[i] == 20) {
      cr_expect_eq(rec.n_ext, 2);
      cr_expect_eq(rec.ext[0].type, 11);
      cr_expect_eq(rec.ext[0].linkage, 1);
      cr_expect_eq(rec.ext[1].type, 12);
      cr_expect_eq(rec.ext[1].data_size, 8);
      cr_expect_eq(rec.provider[0], 1);
    } else {
      cr_expect_eq(rec.n_ext, 0);
      cr_expect_eq(memcmp(rec.provider, EB_AFD_GUID, 16), 0);
    }
    cr_expect_eq(rec.pid, 40);
    cr_expect_eq(rec.opcode, 1);
  }
  cr_expect_eq(etl_reader_next(r, &rec), 0);
  etl_problem p;
  cr_expect_eq(etl_reader_problem(r, &p), 0, "%s", p.what);
  etl_loss loss;
  etl_reader_loss(r, &loss);
  cr_expect_eq(loss.header_events_lost, 3);
  cr_expect_eq(loss.header_buffers_lost, 1);
  cr_expect_eq(loss.buffers_flagged_events_lost, 1);
  etl_reader_close(r);
  unlink(path);
  eb_free(&f);
}

Test(etl_built, records_64bit) {
  expect_timeline(true, false);
}

Test(etl_built, records_32bit) {
  expect_timeline(false, false);
}

Test(etl_built, compressed_buffers) {
  expect_timeline(true, true);
}

Test(etl_built, truncated_file_keeps_whole_buffers) {
  eb_file f;
  build(&f, true, false);
  f.len -= 1000; /* the last buffer is cut */
  write_tmp(&f);
  etl_reader *r;
  char err[256];
  cr_assert_eq(etl_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  etl_problem p;
  cr_assert_eq(etl_reader_problem(r, &p), 1);
  cr_expect_eq(p.offset, 3 * EB_BUFFER_SIZE);
  cr_expect_not_null(strstr(p.what, "truncated buffer"), "%s", p.what);
  int n = 0;
  etl_record rec;
  while (etl_reader_next(r, &rec) == 1)
    n += rec.kind == ETL_EVENT;
  cr_expect_eq(n, 7, "the two whole event buffers");
  etl_reader_close(r);
  unlink(path);
  eb_free(&f);
}

Test(etl_built, corrupt_buffer_and_record_are_skipped) {
  eb_file f;
  build(&f, true, false);
  /* Buffer 1 (cpu1): a BufferSize of 3. Buffer 2: its second record's
   * size runs past the buffer. */
  f.data[EB_BUFFER_SIZE] = 3;
  f.data[EB_BUFFER_SIZE + 1] = 0;
  size_t rec2 = 2 * EB_BUFFER_SIZE + 72 + 88;
  f.data[rec2] = 0xF0;
  f.data[rec2 + 1] = 0xFF;
  write_tmp(&f);
  etl_reader *r;
  char err[256];
  cr_assert_eq(etl_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  int n = 0;
  etl_record rec;
  while (etl_reader_next(r, &rec) == 1)
    n += rec.kind == ETL_EVENT;
  cr_expect_eq(n, 3, "first record of buffer 2 + buffer 3's two");
  etl_problem p;
  cr_assert_eq(etl_reader_problem(r, &p), 1);
  cr_expect_eq(p.offset, EB_BUFFER_SIZE);
  cr_expect_not_null(strstr(p.what, "corrupt buffer header"), "%s", p.what);
  cr_assert_eq(etl_reader_problem(r, &p), 1);
  cr_expect_eq(p.offset, rec2);
  cr_expect_not_null(strstr(p.what, "corrupt record"), "%s", p.what);
  etl_reader_close(r);
  unlink(path);
  eb_free(&f);
}

Test(etl_built, not_an_etl_file) {
  remove_tmp();
  int fd = mkstemp(path);
  cr_assert_eq(write(fd, "hello, world", 12), 12);
  close(fd);
  etl_reader *r;
  char err[256];
  cr_expect_lt(etl_reader_open(path, &r, err, sizeof err), 0);
  cr_expect_not_null(strstr(err, "not an .etl file"), "%s", err);
  unlink(path);
}

Test(xpress, round_trip_with_long_matches) {
  static uint8_t in[70000], comp[140000], out[70000];
  srand(7);
  size_t n = 0;
  /* Literals, short matches, a run needing the half-byte, byte and 16-bit
   * length forms, and a 32-bit one. */
  for (int i = 0; i < 500; i++)
    in[n++] = (uint8_t)rand();
  for (int i = 0; i < 12; i++)
    in[n++] = in[i];
  for (int i = 0; i < 30; i++)
    in[n++] = 'a';
  for (int i = 0; i < 300; i++)
    in[n++] = 'b';
  for (int i = 0; i < 66000; i++)
    in[n++] = 'c';
  for (int i = 0; i < 100; i++)
    in[n++] = (uint8_t)rand();
  size_t c = eb_xpress_compress(in, n, comp, sizeof comp);
  cr_assert_gt(c, 0);
  cr_expect_lt(c, n / 10);
  long got = st_xpress_decompress(comp, c, out, sizeof out);
  cr_assert_eq(got, (long)n);
  cr_expect_eq(memcmp(in, out, n), 0);
}

Test(xpress, malformed_input_is_refused_safely) {
  uint8_t out[64];
  /* A match whose distance reaches before the output's start. */
  const uint8_t bad_dist[] = {0, 0, 0, 0x80, 0xF8, 0xFF};
  cr_expect_eq(st_xpress_decompress(bad_dist, sizeof bad_dist, out, sizeof out), -1);
  /* A match word cut short. */
  const uint8_t cut[] = {0, 0, 0, 0x40, 'x', 0x08};
  cr_expect_eq(st_xpress_decompress(cut, sizeof cut, out, sizeof out), -1);
  /* Random bytes never write past the output. */
  uint8_t rnd[256], small[16];
  srand(1);
  for (int t = 0; t < 2000; t++) {
    for (size_t i = 0; i < sizeof rnd; i++)
      rnd[i] = (uint8_t)rand();
    long got = st_xpress_decompress(rnd, (size_t)(rand() % 256), small, sizeof small);
    cr_assert_leq(got, (long)sizeof small);
  }
}
