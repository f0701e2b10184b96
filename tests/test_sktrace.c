/* The .sktrace format: every field of every event type round-trips byte
 * for byte; the header says where the trace came from; a cut-off end, a
 * flipped byte, a damaged length or header lose only what they hit; a
 * recording killed with SIGKILL reads back up to its last flushed block.
 * Each of these holds with compressed blocks (2.0, the default) and plain
 * ones (1.2, --compress none); a 1.2 file written before 2.0 still reads. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sktrace_testutil.h"

static char dir[] = "/tmp/st-sktrace-XXXXXX";
static char path[256];

static void setup(void) {
  strcpy(dir, "/tmp/st-sktrace-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.sktrace", dir);
}

static void teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(sktrace, .init = setup, .fini = teardown);

/* The modes a test runs in: compressed (the default), then plain. */
static const int modes[] = {0, ST_SKTRACE_COMPRESS_NONE};

static void expect_same(const st_event *got, const st_event *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (memcmp(&got[i], &want[i], sizeof want[i]) != 0) {
      const uint8_t *a = (const uint8_t *)&got[i], *b = (const uint8_t *)&want[i];
      size_t at = 0;
      while (a[at] == b[at])
        at++;
      cr_assert_fail("event %zu (id %u) differs first at byte %zu of st_event", i, want[i].id, at);
    }
  }
}

Test(sktrace, every_event_type_and_field_round_trips_byte_exact) {
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  size_t cap = 4096, n = 0;
  st_event *evs = calloc(cap, sizeof *evs);
  for (int round = 0; round < 3; round++) {
    for (int p = 0; p < ST_PROVIDER_COUNT; p++) {
      for (int id = 0; id < 6000; id++) {
        if (!st_event_name((uint8_t)p, (uint16_t)id))
          continue;
        cr_assert_lt(n, cap);
        if (round == 0) {
          skt_random_event(&rng, (uint8_t)p, (uint16_t)id, &evs[n]);
        } else if (round == 1) {
          /* Only the common fields: the rest absent. */
          st_event_init(&evs[n], (uint8_t)p, (uint16_t)id);
          evs[n].ts_ns = 1795634473000000000ull + (uint64_t)n * 1000;
          evs[n].seq = n;
        } else {
          /* Realistic strings: short, NUL-terminated, repeated. */
          skt_random_event(&rng, (uint8_t)p, (uint16_t)id, &evs[n]);
          memset(evs[n].comm, 0, sizeof evs[n].comm);
          strcpy(evs[n].comm, n % 2 ? "curl" : "demo-server");
          memset(evs[n].detail, 0, sizeof evs[n].detail);
          strcpy(evs[n].detail, "same detail");
          memset(evs[n].local.path, 0, sizeof evs[n].local.path);
          strcpy(evs[n].local.path, "/run/x.sock");
        }
        n++;
      }
    }
  }
  /* Times that go backwards, jump far, and repeat. */
  evs[5].ts_ns = 0;
  evs[6].ts_ns = UINT64_MAX;
  evs[7].ts_ns = UINT64_MAX;
  st_event zero;
  memset(&zero, 0, sizeof zero);
  evs[n++] = zero;

  for (size_t m = 0; m < 2; m++) {
    st_sktrace_options opt = {.block_bytes = 4096, .compress = modes[m]};
    st_sktrace_stats stats;
    cr_assert_eq(skt_write(opt, path, evs, n, &stats), 0);
    cr_expect_eq(stats.events, n);
    cr_expect_eq(stats.lost, 0);
    cr_expect_gt(stats.blocks, 1, "several blocks");
    skt_read_result r = skt_read(path);
    cr_assert_eq(r.problems, 0, "%s", r.all_problems);
    cr_assert_eq(r.header.major, m == 0 ? 2 : 1);
    cr_assert_eq(r.n, n);
    expect_same(r.events, evs, n);
    free(r.events);
  }
  free(evs);
}

Test(sktrace, crc32_is_the_ieee_crc) {
  cr_expect_eq(st_sktrace_crc32("123456789", 9), 0xCBF43926u, "the standard check value");
  cr_expect_eq(st_sktrace_crc32("", 0), 0);
  char buf[1000];
  for (int i = 0; i < 1000; i++)
    buf[i] = (char)(i * 7);
  cr_expect_eq(st_sktrace_crc32(buf, sizeof buf), 0x114AD5FFu, "zlib.crc32 of the same bytes");
}

Test(sktrace, string_table_overflow_starts_a_new_block) {
  /* More distinct strings than one block's table holds. */
  size_t n = ST_SKTRACE_BLOCK_STRINGS + 500;
  st_event *evs = calloc(n, sizeof *evs);
  for (size_t i = 0; i < n; i++) {
    st_event_init(&evs[i], ST_PROVIDER_AFD, ST_EV_CREATE);
    snprintf(evs[i].comm, sizeof evs[i].comm, "p%zu", i);
  }
  /* More events than the writer's queue: write() waits rather than drops. */
  st_sktrace_options opt = {.block_bytes = 8u << 20, .wait_when_full = true};
  cr_assert_eq(skt_write(opt, path, evs, n, NULL), 0);
  skt_read_result r = skt_read(path);
  cr_assert_eq(r.problems, 0, "%s", r.all_problems);
  cr_assert_eq(r.n, n);
  cr_expect_geq(r.stats.blocks, 2);
  expect_same(r.events, evs, n);
  free(r.events);
  free(evs);
}

Test(sktrace, header_says_where_the_trace_came_from) {
  size_t n;
  st_event *evs = skt_demo_events(&n);
  st_sktrace_options opt = {.session = "web", .filters = "port=8080"};
  cr_assert_eq(skt_write(opt, path, evs, n, NULL), 0);
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.header.major, 2, "compressed blocks by default");
  cr_expect_eq(r.header.minor, 1);
  cr_expect_str_eq(r.header.host, "test-host");
  cr_expect_str_eq(r.header.session, "web");
  cr_expect_str_eq(r.header.filters, "port=8080");
  cr_expect_str_eq(r.header.writer, "socktrace " ST_VERSION);
  cr_expect_neq(r.header.sysname[0], 0);
  cr_expect_neq(r.header.release[0], 0);
  cr_expect_eq(r.header.os, ST_OS_LINUX);
  cr_expect_eq(r.header.backend, ST_BACKEND_EBPF);
  cr_expect_eq(r.header.level, 5);
  cr_expect_eq(r.header.keywords, ST_KW_ALL);
  cr_expect_eq(r.header.started_ns, 1795634473000000000ull);
  cr_expect_gt(r.header.clock_wall_ns, 1600000000ull * 1000000000ull, "a real UTC time");
  cr_expect_eq(r.header.part, 0);
  cr_expect_eq(r.n, n);
  free(r.events);
  free(evs);
}

static void write_many(size_t n, long *offs, size_t *nblocks, size_t *size, int compress) {
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.block_bytes = 4096, .compress = compress};
  cr_assert_eq(skt_write(opt, path, evs, n, NULL), 0);
  free(evs);
  *nblocks = skt_block_offsets(path, offs, 256, size);
  cr_assert_geq(*nblocks, 5);
}

static void patch(long off, int xor_mask) {
  FILE *f = fopen(path, "r+b");
  cr_assert_not_null(f);
  fseek(f, off, SEEK_SET);
  int c = fgetc(f);
  fseek(f, off, SEEK_SET);
  fputc(c ^ xor_mask, f);
  fclose(f);
}

/* Events of blocks other than the skipped one, in order, seq 1..n. */
static void expect_all_but_block(const skt_read_result *r, size_t n, uint64_t lo, uint64_t hi) {
  cr_expect_eq(r->n, n - (hi - lo));
  size_t i = 0;
  for (uint64_t seq = 1; seq <= n; seq++) {
    if (seq > lo && seq <= hi)
      continue;
    cr_assert_eq(r->events[i].seq, seq, "event %zu", i);
    i++;
  }
}

/* The seq range (lo, hi] the block at index k holds in an intact file. */
static void block_range(size_t k, uint64_t *lo, uint64_t *hi) {
  /* The block counts, read directly from the file. */
  long offs[256];
  size_t nb = skt_block_offsets(path, offs, 256, NULL);
  cr_assert_lt(k, nb);
  size_t size;
  char *data = st_test_read_file(path, &size);
  st_sktrace_zctx *z;
  cr_assert_eq(st_sktrace_zctx_new(0, &z), 0);
  uint64_t before = 0;
  for (size_t b = 0; b <= k; b++) {
    const uint8_t *p = (const uint8_t *)data + offs[b] + ST_SKTRACE_BLOCK_HDR;
    if (memcmp(p - ST_SKTRACE_BLOCK_HDR, ST_SKTRACE_ZBLOCK_MAGIC, 4) == 0) {
      size_t plen,
          len = (size_t)((b + 1 < nb ? offs[b + 1] : (long)size) - offs[b]) - ST_SKTRACE_BLOCK_HDR;
      char why[160];
      cr_assert_eq(st_sktrace_zblock_inflate(z, p, len, &p, &plen, why, sizeof why), 0, "%s", why);
    }
    p += 4;
    uint32_t cnt = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
    if (b == k) {
      *lo = before;
      *hi = before + cnt;
    }
    before += cnt;
  }
  st_sktrace_zctx_free(z);
  free(data);
}

static void flipped_byte(int compress) {
  size_t n = 3000, nb, size;
  long offs[256];
  write_many(n, offs, &nb, &size, compress);
  uint64_t lo, hi;
  size_t k = nb / 2;
  block_range(k, &lo, &hi);
  patch(offs[k] + (offs[k + 1] - offs[k]) / 2, 0x40); /* mid-payload */
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.problems, 1, "%s", r.all_problems);
  char want[64];
  snprintf(want, sizeof want, "corrupt block at offset %ld", offs[k]);
  cr_expect_not_null(strstr(r.first_problem, want), "%s", r.first_problem);
  cr_expect_not_null(strstr(r.first_problem, "CRC"), "%s", r.first_problem);
  expect_all_but_block(&r, n, lo, hi);
  free(r.events);
}

Test(sktrace, flipped_byte_loses_only_that_block) {
  flipped_byte(ST_SKTRACE_COMPRESS_NONE);
}

Test(sktrace, flipped_byte_in_a_compressed_block_loses_only_that_block) {
  flipped_byte(0);
}

static void damaged_length(int compress) {
  size_t n = 3000, nb, size;
  long offs[256];
  write_many(n, offs, &nb, &size, compress);
  uint64_t lo, hi;
  size_t k = 2;
  block_range(k, &lo, &hi);
  patch(offs[k] + 6, 0x7f); /* length now far past the end of the file */
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.problems, 1, "%s", r.all_problems);
  expect_all_but_block(&r, n, lo, hi);
  free(r.events);
}

Test(sktrace, damaged_block_length_loses_only_that_block) {
  damaged_length(ST_SKTRACE_COMPRESS_NONE);
}

Test(sktrace, damaged_compressed_block_length_loses_only_that_block) {
  damaged_length(0);
}

Test(sktrace, damaged_header_still_reads_every_block) {
  size_t n = 500, nb, size;
  long offs[256];
  write_many(n, offs, &nb, &size, 0);
  patch(20, 0x01);
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.problems, 1);
  cr_expect_not_null(strstr(r.first_problem, "header damaged"), "%s", r.first_problem);
  cr_expect_eq(r.n, n);
  free(r.events);
}

Test(sktrace, not_a_trace_is_refused_in_one_line) {
  FILE *f = fopen(path, "wb");
  fputs("{\"socktrace\":\"0.1.0\"}\n", f);
  fclose(f);
  f = fopen(path, "rb");
  st_sktrace_reader *rd;
  char err[200];
  cr_expect_eq(st_sktrace_reader_open(f, &rd, err, sizeof err), ST_EBADMSG);
  cr_expect_str_eq(err, "not a .sktrace trace (no magic)");
  fclose(f);
}

static void truncated_file(int compress) {
  size_t n = 3000, nb, size;
  long offs[256];
  write_many(n, offs, &nb, &size, compress);
  uint64_t lo, hi;
  block_range(nb - 1, &lo, &hi);
  /* Cut inside the last block's payload, then inside its 12-byte header. */
  long cuts[] = {offs[nb - 1] + ((long)size - offs[nb - 1]) / 2, offs[nb - 1] + 5};
  for (int c = 0; c < 2; c++) {
    cr_assert_eq(truncate(path, cuts[c]), 0);
    skt_read_result r = skt_read(path);
    cr_expect_eq(r.problems, 1, "%s", r.all_problems);
    char want[160];
    snprintf(want, sizeof want, "trace truncated: %ld bytes of an unfinished block at offset %ld",
             cuts[c] - offs[nb - 1], offs[nb - 1]);
    cr_expect_not_null(strstr(r.first_problem, want), "%s", r.first_problem);
    cr_expect_eq(r.stats.cut, (uint64_t)(cuts[c] - offs[nb - 1]));
    cr_expect_eq(r.n, lo, "every whole block read");
    free(r.events);
  }
}

Test(sktrace, truncated_file_reads_up_to_last_whole_block_and_says_how_much_was_cut) {
  truncated_file(ST_SKTRACE_COMPRESS_NONE);
}

Test(sktrace, truncated_compressed_file_reads_up_to_last_whole_block) {
  truncated_file(0);
}

static void killed(int compress) {
  int pfd[2];
  cr_assert_eq(pipe(pfd), 0);
  const size_t flushed = 1000;
  pid_t child = fork();
  cr_assert_geq(child, 0);
  if (child == 0) {
    close(pfd[0]);
    st_event *evs = skt_many_events(flushed);
    st_sktrace_options opt = {
        .path = path, .block_bytes = 4096, .flush_ms = 5, .compress = compress};
    st_sink *s;
    st_trace_info info = skt_info();
    if (st_sink_sktrace_new(&opt, &s) || s->ops->begin(s, &info))
      _exit(2);
    for (size_t i = 0; i < flushed; i++)
      s->ops->write(s, &evs[i]);
    if (s->ops->flush(s))
      _exit(3);
    if (write(pfd[1], "F", 1) != 1)
      _exit(4);
    /* Keep writing until killed: blocks go out mid-stream. */
    for (uint64_t seq = flushed + 1;; seq++) {
      st_event ev = evs[seq % flushed];
      ev.seq = seq;
      s->ops->write(s, &ev);
      if (seq % 64 == 0)
        usleep(100);
    }
  }
  close(pfd[1]);
  char c;
  cr_assert_eq(read(pfd[0], &c, 1), 1, "the child flushed");
  usleep(150 * 1000);
  kill(child, SIGKILL);
  int st;
  waitpid(child, &st, 0);
  cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  close(pfd[0]);

  skt_read_result r = skt_read(path);
  /* At most one problem: the block being written when the kill came. */
  cr_expect_leq(r.problems, 1, "%s", r.all_problems);
  if (r.problems)
    cr_expect_not_null(strstr(r.first_problem, "truncated"), "%s", r.first_problem);
  cr_assert_geq(r.n, flushed, "everything flushed before the kill is there");
  uint64_t seq = 0;
  for (size_t i = 0; i < r.n; i++) {
    if (r.events[i].id == ST_EV_EVENTS_LOST)
      continue; /* the child outran its writer: counted, in the file */
    cr_assert_gt(r.events[i].seq, seq, "in order, no duplicates");
    if (r.events[i].seq <= flushed)
      cr_assert_eq(r.events[i].seq, seq + 1, "the flushed events are all there");
    seq = r.events[i].seq;
  }
  cr_expect_gt(seq, flushed, "some events written after the flush survived too");
  free(r.events);
}

Test(sktrace, recording_killed_mid_write_reads_back_to_last_flushed_block) {
  killed(ST_SKTRACE_COMPRESS_NONE);
}

Test(sktrace, compressed_recording_killed_mid_write_keeps_every_complete_block) {
  killed(0);
}

/* got[i] and want[i] have the same JSON form, for every i < n. */
static void expect_same_events(const st_event *got, const st_event *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char a[4096], b[4096];
    st_event_to_json(&got[i], a, sizeof a);
    st_event_to_json(&want[i], b, sizeof b);
    cr_expect_str_eq(a, b, "event %zu", i);
  }
}

/* A file an older socktrace wrote reads as it did: the demo's events. */
static void old_file_reads(const char *path, uint16_t major, uint16_t minor) {
  skt_read_result r = skt_read(path);
  cr_assert_eq(r.problems, 0, "%s", r.all_problems);
  cr_expect_eq(r.header.major, major);
  cr_expect_eq(r.header.minor, minor);
  size_t n;
  st_event *demo = skt_demo_events(&n);
  cr_assert_eq(r.n, n);
  expect_same_events(r.events, demo, n);
  free(r.events);
  free(demo);
}

/* Format 1.2, made from demo.jsonl by the socktrace of commit ae820d0. */
Test(sktrace, old_format_file_from_the_fixtures_still_reads) {
  old_file_reads(ST_SOURCE_DIR "/tests/fixtures/demo.v1.2.sktrace", 1, 2);
}

/* Format 2.0 (before containers), made from demo.jsonl by the socktrace of
 * commit 89a67b6: 'socktrace replay demo.jsonl -q -o demo.v2.0.sktrace'. */
Test(sktrace, format_2_0_file_from_before_containers_still_reads) {
  old_file_reads(ST_SOURCE_DIR "/tests/fixtures/demo.v2.0.sktrace", 2, 0);
}

/* Containers (2.1 / 1.3): every part, and only some, survive a file. */
static void containers_round_trip(int compress) {
  size_t n;
  st_event *evs = skt_demo_events(&n);
  cr_assert_geq(n, 3);
  evs[0].has |= ST_HAS_CONTAINER | ST_HAS_CGROUP;
  evs[0].cgroup = 4242;
  evs[0].container = (st_container){"containerd", "c0ffee", "web", "web-7d9f", "shop"};
  evs[1].has |= ST_HAS_CONTAINER;
  evs[1].container = (st_container){"podman", "", "db", "", ""};
  st_sktrace_options opt = {.compress = compress};
  cr_assert_eq(skt_write(opt, path, evs, n, NULL), 0);
  skt_read_result r = skt_read(path);
  cr_assert_eq(r.n, n);
  expect_same_events(r.events, evs, n);
  cr_expect_str_eq(r.events[0].container.ns, "shop");
  cr_expect_str_eq(r.events[1].container.name, "db");
  cr_expect_not(r.events[2].has & ST_HAS_CONTAINER);
  free(r.events);
  free(evs);
}

Test(sktrace, containers_round_trip_compressed_and_plain) {
  containers_round_trip(0);
  containers_round_trip(ST_SKTRACE_COMPRESS_NONE);
}

Test(sktrace, compress_none_writes_format_1_3_and_levels_are_checked) {
  size_t n;
  st_event *evs = skt_demo_events(&n);
  st_sktrace_options opt = {.compress = ST_SKTRACE_COMPRESS_NONE};
  cr_assert_eq(skt_write(opt, path, evs, n, NULL), 0);
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.header.major, 1);
  cr_expect_eq(r.header.minor, 3);
  cr_expect_eq(r.n, n);
  free(r.events);
  long offs[64];
  size_t nb = skt_block_offsets(path, offs, 64, NULL);
  char *data = st_test_read_file(path, NULL);
  for (size_t b = 0; b < nb; b++)
    cr_expect_eq(memcmp(data + offs[b], ST_SKTRACE_BLOCK_MAGIC, 4), 0, "plain blocks only");
  free(data);
  st_sink *s;
  cr_expect_eq(st_sink_sktrace_new(&(st_sktrace_options){.path = path, .compress = 20}, &s),
               ST_EINVAL);
  cr_expect_eq(st_sink_sktrace_new(&(st_sktrace_options){.path = path, .compress = -2}, &s),
               ST_EINVAL);
  free(evs);
}
