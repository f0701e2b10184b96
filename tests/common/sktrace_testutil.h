/*
 * Helpers for the .sktrace suites: drive the writer sink directly (no
 * session, so a test controls every event and byte), read a file back with
 * the reader, load the demo trace, and build events with every field set.
 * Header-only (static inline) so each suite takes what it uses.
 */
#ifndef ST_SKTRACE_TESTUTIL_H
#define ST_SKTRACE_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "replay/replay.h"
#include "sktrace_format.h"
#include "socktrace/sink.h"

#define SKT_DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"

static inline st_trace_info skt_info(void) {
  st_trace_info info = {.host = "test-host",
                        .os = ST_OS_LINUX,
                        .backend = ST_BACKEND_EBPF,
                        .level = 5,
                        .keywords = ST_KW_ALL,
                        .started_ns = 1795634473000000000ull};
  return info;
}

/* Writes n events through a new sink; returns end()'s status. */
static inline int skt_write(st_sktrace_options opt, const char *path, const st_event *evs, size_t n,
                            st_sktrace_stats *stats) {
  opt.path = path;
  st_sink *s;
  cr_assert_eq(st_sink_sktrace_new(&opt, &s), 0);
  st_trace_info info = skt_info();
  cr_assert_eq(s->ops->begin(s, &info), 0, "%s", s->error);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    rc = s->ops->write(s, &evs[i]);
  st_counters c = {0};
  int frc = s->ops->flush(s);
  int erc = s->ops->end(s, &c);
  if (stats)
    st_sink_sktrace_stats(s, stats);
  s->ops->close(s);
  return rc ? rc : frc ? frc : erc;
}

typedef struct skt_read_result {
  st_event *events;
  size_t n;
  int problems;
  char first_problem[320];
  char all_problems[4096];
  st_sktrace_read_stats stats;
  st_sktrace_header header;
} skt_read_result;

/* Reads a whole file; fails the test when it is not a .sktrace file. */
static inline skt_read_result skt_read(const char *path) {
  skt_read_result r;
  memset(&r, 0, sizeof r);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "open %s", path);
  st_sktrace_reader *rd;
  char err[200];
  cr_assert_eq(st_sktrace_reader_open(f, &rd, err, sizeof err), 0, "%s", err);
  size_t cap = 0;
  for (;;) {
    st_event ev;
    int rc = st_sktrace_reader_next(rd, &ev);
    if (rc == 1)
      break;
    if (rc == ST_EBADMSG) {
      const char *p = st_sktrace_reader_problem(rd);
      if (!r.problems++)
        snprintf(r.first_problem, sizeof r.first_problem, "%s", p);
      size_t used = strlen(r.all_problems);
      snprintf(r.all_problems + used, sizeof r.all_problems - used, "%s\n", p);
      continue;
    }
    cr_assert_eq(rc, 0, "reader failed: %s", st_sktrace_reader_problem(rd));
    if (r.n == cap) {
      cap = cap ? cap * 2 : 256;
      r.events = realloc(r.events, cap * sizeof *r.events);
      cr_assert_not_null(r.events);
    }
    r.events[r.n++] = ev;
  }
  st_sktrace_reader_stats(rd, &r.stats);
  r.header = *st_sktrace_reader_header(rd);
  st_sktrace_reader_free(rd);
  fclose(f);
  return r;
}

/* The demo trace's events (tests/fixtures/demo.jsonl), in order. */
static inline st_event *skt_demo_events(size_t *n) {
  char *text = st_test_read_file(SKT_DEMO, NULL);
  cr_assert_not_null(text);
  st_event *evs = calloc(256, sizeof *evs);
  *n = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char err[200];
    int rc = st_event_from_json(line, &evs[*n], err, sizeof err);
    cr_assert_geq(rc, 0, "%s", err);
    if (rc == 0)
      (*n)++;
  }
  free(text);
  return evs;
}

/* A small deterministic generator (xorshift64*). */
static inline uint64_t skt_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static inline void skt_rand_bytes(uint64_t *s, void *p, size_t n) {
  uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)skt_rand(s);
}

/* An event with every field set to random bytes (strings too, to their
 * full width, NULs included); padding stays zero. */
static inline void skt_random_event(uint64_t *s, uint8_t provider, uint16_t id, st_event *ev) {
  memset(ev, 0, sizeof *ev);
  ev->ts_ns = skt_rand(s);
  ev->provider = provider;
  ev->id = id;
  ev->level = (uint8_t)skt_rand(s);
  ev->enter_exit = (uint8_t)skt_rand(s);
  ev->os = (uint8_t)skt_rand(s);
  ev->backend = (uint8_t)skt_rand(s);
  ev->keywords = skt_rand(s);
  ev->seq = skt_rand(s);
  ev->pid = (uint32_t)skt_rand(s);
  ev->tid = (uint32_t)skt_rand(s);
  skt_rand_bytes(s, ev->comm, sizeof ev->comm);
  ev->endpoint = skt_rand(s);
  ev->has = (uint32_t)skt_rand(s);
  ev->flags = (uint32_t)skt_rand(s);
  ev->family = (uint8_t)skt_rand(s);
  ev->type = (uint8_t)skt_rand(s);
  ev->protocol = (uint16_t)skt_rand(s);
  st_addr *addrs[2] = {&ev->local, &ev->remote};
  for (int i = 0; i < 2; i++) {
    addrs[i]->family = (uint8_t)skt_rand(s);
    addrs[i]->raw_family = (uint16_t)skt_rand(s);
    addrs[i]->port = (uint16_t)skt_rand(s);
    skt_rand_bytes(s, addrs[i]->addr, sizeof addrs[i]->addr);
    skt_rand_bytes(s, addrs[i]->path, sizeof addrs[i]->path);
  }
  ev->bytes = skt_rand(s);
  ev->buffers = (uint32_t)skt_rand(s);
  ev->backlog = (uint32_t)skt_rand(s);
  ev->status = (st_status){(uint8_t)skt_rand(s), (uint8_t)skt_rand(s), (uint32_t)skt_rand(s)};
  ev->reason = (uint32_t)skt_rand(s);
  ev->option = (uint32_t)skt_rand(s);
  ev->value = skt_rand(s);
  ev->old_state = (uint8_t)skt_rand(s);
  ev->new_state = (uint8_t)skt_rand(s);
  ev->legacy_id = (uint16_t)skt_rand(s);
  ev->ppid = (uint32_t)skt_rand(s);
  ev->netns = (uint32_t)skt_rand(s);
  ev->cgroup = skt_rand(s);
  ev->accept_endpoint = skt_rand(s);
  st_summary *m = &ev->summary;
  m->bytes_sent = skt_rand(s);
  m->bytes_received = skt_rand(s);
  m->sends = skt_rand(s);
  m->receives = skt_rand(s);
  m->duration_ns = skt_rand(s);
  m->retransmits = skt_rand(s);
  m->first_error = (st_status){(uint8_t)skt_rand(s), (uint8_t)skt_rand(s), (uint32_t)skt_rand(s)};
  m->final_status = (st_status){(uint8_t)skt_rand(s), (uint8_t)skt_rand(s), (uint32_t)skt_rand(s)};
  m->flags = (uint32_t)skt_rand(s);
  m->rtt_us = (uint32_t)skt_rand(s);
  ev->lost.count = skt_rand(s);
  ev->lost.where = (uint8_t)skt_rand(s);
  ev->lost.from_ns = skt_rand(s);
  ev->lost.to_ns = skt_rand(s);
  ev->dns.id = (uint16_t)skt_rand(s);
  ev->dns.qr = (uint8_t)skt_rand(s);
  ev->dns.rcode = (uint8_t)skt_rand(s);
  ev->dns.qtype = (uint16_t)skt_rand(s);
  ev->dns.answers = (uint16_t)skt_rand(s);
  skt_rand_bytes(s, ev->dns.qname, sizeof ev->dns.qname);
  skt_rand_bytes(s, ev->detail, sizeof ev->detail);
}

/* Offsets of the blocks of a well-formed file (walks the lengths). */
static inline size_t skt_block_offsets(const char *path, long *offs, size_t max, size_t *size) {
  size_t len;
  char *data = st_test_read_file(path, &len);
  cr_assert_not_null(data);
  const uint8_t *p = (const uint8_t *)data;
  uint32_t hlen = p[12] | p[13] << 8 | p[14] << 16 | (uint32_t)p[15] << 24;
  size_t off = ST_SKTRACE_PREAMBLE + hlen + 4, n = 0;
  while (off + ST_SKTRACE_BLOCK_HDR <= len && n < max) {
    uint32_t blen = p[off + 4] | p[off + 5] << 8 | p[off + 6] << 16 | (uint32_t)p[off + 7] << 24;
    offs[n++] = (long)off;
    off += ST_SKTRACE_BLOCK_HDR + blen;
  }
  cr_assert_eq(off, len, "blocks end at the end of the file");
  free(data);
  if (size)
    *size = len;
  return n;
}

/* Seq-numbered copies of the demo events, many times over. */
static inline st_event *skt_many_events(size_t n) {
  size_t nd;
  st_event *demo = skt_demo_events(&nd);
  st_event *evs = malloc(n * sizeof *evs);
  cr_assert_not_null(evs);
  for (size_t i = 0; i < n; i++) {
    evs[i] = demo[i % nd];
    evs[i].seq = i + 1;
    evs[i].ts_ns += (i / nd) * 10000000ull;
    evs[i].endpoint += (i / nd) << 16;
  }
  free(demo);
  return evs;
}

#endif
