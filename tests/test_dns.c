/*
 * DNS in core: the message parser (answers, CNAME chains, cut-off
 * messages), the DNS status domain, the enrichment stage (pairing,
 * unanswered queries, names on remotes) and the fields' round trip through
 * .sktrace and JSON Lines.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "dns.h"
#include "dns_join.h"
#include "internal.h"
#include "sktrace_format.h"
#include "socktrace/sink.h"
#include "socktrace/status.h"

/* ---- building messages -------------------------------------------------- */

typedef struct msg {
  uint8_t b[1024];
  size_t n;
} msg;

static void put16(msg *m, unsigned v) {
  m->b[m->n++] = (uint8_t)(v >> 8);
  m->b[m->n++] = (uint8_t)v;
}

static void put32(msg *m, uint32_t v) {
  put16(m, v >> 16);
  put16(m, v & 0xffff);
}

static void put_name(msg *m, const char *name) {
  while (*name) {
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    m->b[m->n++] = (uint8_t)len;
    memcpy(m->b + m->n, name, len);
    m->n += len;
    name += len + (dot ? 1 : 0);
  }
  m->b[m->n++] = 0;
}

static void header(msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an) {
  m->n = 0;
  put16(m, id);
  put16(m, flags);
  put16(m, qd);
  put16(m, an);
  put16(m, 0);
  put16(m, 0);
}

/* A record whose owner is a pointer to offset 12 (the question's name). */
static void rr_ptr(msg *m, unsigned type, uint32_t ttl, const void *rdata, unsigned rdlen) {
  put16(m, 0xc00c);
  put16(m, type);
  put16(m, 1);
  put32(m, ttl);
  put16(m, rdlen);
  memcpy(m->b + m->n, rdata, rdlen);
  m->n += rdlen;
}

/* www.example.test CNAME edge.cdn.test; edge.cdn.test CNAME e1.cdn.test;
 * e1.cdn.test A 192.0.2.7 and A 192.0.2.8, AAAA 2001:db8::7. */
static void cname_answer(msg *m) {
  header(m, 0xbeef, 0x8180, 1, 5);
  put_name(m, "www.example.test");
  put16(m, 1);
  put16(m, 1);
  msg r = {.n = 0};
  put_name(&r, "edge.cdn.test");
  rr_ptr(m, ST_DNS_CNAME, 300, r.b, (unsigned)r.n);
  size_t edge = m->n - r.n; /* where edge.cdn.test's name is */
  /* edge.cdn.test CNAME e1.<pointer to cdn.test> */
  put16(m, 0xc000 | (unsigned)edge);
  put16(m, ST_DNS_CNAME);
  put16(m, 1);
  put32(m, 120);
  put16(m, 5);
  m->b[m->n++] = 2;
  m->b[m->n++] = 'e';
  m->b[m->n++] = '1';
  put16(m, 0xc000 | (unsigned)(edge + 5)); /* "cdn.test" inside edge.cdn.test */
  size_t e1 = m->n - 5;
  static const uint8_t a1[4] = {192, 0, 2, 7}, a2[4] = {192, 0, 2, 8};
  static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  unsigned types[3] = {ST_DNS_A, ST_DNS_A, ST_DNS_AAAA};
  const uint8_t *data[3] = {a1, a2, a6};
  unsigned lens[3] = {4, 4, 16};
  uint32_t ttls[3] = {60, 30, 90};
  for (int i = 0; i < 3; i++) {
    put16(m, 0xc000 | (unsigned)e1);
    put16(m, types[i]);
    put16(m, 1);
    put32(m, ttls[i]);
    put16(m, lens[i]);
    memcpy(m->b + m->n, data[i], lens[i]);
    m->n += lens[i];
  }
}

Test(dns_parse, answers_with_a_cname_chain) {
  msg m;
  st_dns d;
  cname_answer(&m);
  cr_assert(st_dns_parse(m.b, (uint32_t)m.n, 0, &d));
  cr_expect_eq(d.id, 0xbeef);
  cr_expect_eq(d.qr, 1);
  cr_expect_eq(d.rcode, 0);
  cr_expect_eq(d.qtype, 1);
  cr_expect_eq(d.answers, 5);
  cr_expect_str_eq(d.qname, "www.example.test");
  cr_expect_str_eq(d.cnames, "edge.cdn.test e1.cdn.test");
  cr_assert_eq(d.naddrs, 3);
  cr_expect_eq(d.addrs[0].family, ST_FAMILY_INET);
  cr_expect_eq(memcmp(d.addrs[0].addr, (uint8_t[]){192, 0, 2, 7}, 4), 0);
  cr_expect_eq(memcmp(d.addrs[1].addr, (uint8_t[]){192, 0, 2, 8}, 4), 0);
  cr_expect_eq(d.addrs[2].family, ST_FAMILY_INET6);
  cr_expect_eq(d.addrs[2].addr[15], 7);
  cr_expect_eq(d.ttl, 30, "the smallest TTL of the answers");
  cr_expect_eq(d.flags & (ST_DNS_PARTIAL | ST_DNS_TRUNCATED), 0);
}

Test(dns_parse, a_message_cut_short_keeps_what_came) {
  msg m;
  st_dns d;
  cname_answer(&m);
  /* Cut inside the last (AAAA) record: the two A records are kept. */
  cr_assert(st_dns_parse(m.b, (uint32_t)m.n - 6, (uint32_t)m.n, &d));
  cr_expect(d.flags & ST_DNS_PARTIAL);
  cr_expect_eq(d.naddrs, 2);
  cr_expect_str_eq(d.qname, "www.example.test");
  /* Cut inside the question: not a message. */
  cr_expect_not(st_dns_parse(m.b, 20, (uint32_t)m.n, &d));
}

Test(dns_parse, nxdomain_truncated_and_loops) {
  msg m;
  st_dns d;
  header(&m, 7, 0x8383, 1, 0); /* response, TC, NXDOMAIN */
  put_name(&m, "nx.example.test");
  put16(&m, 28);
  put16(&m, 1);
  cr_assert(st_dns_parse(m.b, (uint32_t)m.n, 0, &d));
  cr_expect_eq(d.rcode, ST_DNS_NXDOMAIN);
  cr_expect_eq(d.qtype, 28);
  cr_expect(d.flags & ST_DNS_TRUNCATED);
  cr_expect_eq(d.naddrs, 0);

  /* An answer whose owner points at itself must not hang the parser. */
  header(&m, 8, 0x8180, 1, 1);
  put_name(&m, "a.test");
  put16(&m, 1);
  put16(&m, 1);
  size_t self = m.n;
  put16(&m, 0xc000 | (unsigned)self);
  cr_assert(st_dns_parse(m.b, (uint32_t)m.n, 0, &d));
  cr_expect(d.flags & ST_DNS_PARTIAL);
  cr_expect_eq(d.naddrs, 0);
}

Test(dns_parse, type_names) {
  cr_expect_str_eq(st_dns_type_name(1), "A");
  cr_expect_str_eq(st_dns_type_name(28), "AAAA");
  cr_expect_str_eq(st_dns_type_name(65), "HTTPS");
  cr_expect_null(st_dns_type_name(4242));
}

/* ---- statuses ------------------------------------------------------------ */

Test(dns_status, rcodes_and_windows_errors) {
  st_status s = st_status_from_dns_rcode(3);
  cr_expect_eq(s.code, ST_NOT_FOUND);
  cr_expect_eq(s.domain, ST_DOMAIN_DNS);
  cr_expect_str_eq(st_status_native_name(&s), "NXDOMAIN");
  cr_expect_str_eq(st_status_windows_name(&s), "DNS_ERROR_RCODE_NAME_ERROR");
  cr_expect_eq(st_status_from_dns_rcode(2).code, ST_SERVER_FAILURE);
  cr_expect_str_eq(st_code_name(ST_SERVER_FAILURE), "server_failure");
  cr_expect_eq(st_status_from_dns_rcode(5).code, ST_REFUSED);
  cr_expect_eq(st_status_from_dns_rcode(0).code, ST_OK);
  cr_expect_eq(st_status_from_dns_rcode(15).code, ST_OTHER);

  s = st_status_from_win32(9003);
  cr_expect_eq(s.code, ST_NOT_FOUND);
  cr_expect_str_eq(st_status_native_name(&s), "DNS_ERROR_RCODE_NAME_ERROR");
  cr_expect_eq(st_status_from_win32(1460).code, ST_TIMED_OUT);
  cr_expect_eq(st_status_from_win32(9501).code, ST_OK, "no records of the type is no failure");
  cr_expect_eq(st_status_from_win32(0).code, ST_OK);
}

/* ---- the enrichment stage ------------------------------------------------ */

#define MS 1000000ull

static st_event dns_event(uint64_t ts, uint32_t pid, unsigned id, bool answer, const char *qname,
                          unsigned flags) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_EXT, ST_EV_DNS_MESSAGE);
  ev.ts_ns = ts;
  ev.pid = pid;
  ev.has = ST_HAS_DNS | ST_HAS_REMOTE;
  ev.keywords = ST_KW_DNS;
  ev.level = answer ? 4 : 5;
  st_addr_parse_ip("127.0.0.53", &ev.remote);
  ev.remote.port = 53;
  ev.dns.id = (uint16_t)id;
  ev.dns.qr = answer;
  ev.dns.qtype = 1;
  ev.dns.flags = (uint8_t)flags;
  snprintf(ev.dns.qname, sizeof ev.dns.qname, "%s", qname);
  return ev;
}

static void add_v4(st_event *ev, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  st_dns_addr *x = &ev->dns.addrs[ev->dns.naddrs++];
  x->family = ST_FAMILY_INET;
  x->addr[0] = a;
  x->addr[1] = b;
  x->addr[2] = c;
  x->addr[3] = d;
}

static st_event connect_event(uint64_t ts, uint32_t pid, const char *ip, uint16_t port) {
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.ts_ns = ts;
  ev.pid = pid;
  ev.keywords = ST_KW_STREAM | ST_KW_WINSOCK;
  ev.has = ST_HAS_REMOTE;
  cr_assert_eq(st_addr_parse_ip(ip, &ev.remote), 0);
  ev.remote.port = port;
  return ev;
}

typedef struct got {
  st_event ev[8];
  int n;
} got;

static void keep(void *arg, st_event *ev) {
  got *g = arg;
  if (g->n < 8)
    g->ev[g->n++] = *ev;
}

Test(dns_join, pairs_an_answer_and_names_the_connect) {
  st_dns_join *j = st_dns_join_new(0);
  st_event q = dns_event(1000 * MS, 42, 0x1111, false, "API.Example.test", ST_DNS_SENT);
  st_event a = dns_event(1003 * MS, 42, 0x1111, true, "api.example.test", ST_DNS_RECEIVED);
  a.has &= ~ST_HAS_REMOTE; /* unconnected socket: the server comes from the query */
  a.dns.ttl = 60;
  add_v4(&a, 140, 82, 112, 3);
  st_dns_join_message(j, &q);
  cr_expect(st_dns_join_waiting(j));
  st_dns_join_message(j, &a);
  cr_expect_not(st_dns_join_waiting(j));
  cr_expect_eq(a.dns.latency_us, 3000);
  cr_expect(a.has & ST_HAS_STATUS);
  cr_expect_eq(a.status.code, ST_OK);
  cr_expect(a.has & ST_HAS_REMOTE, "the server is the query's");
  cr_expect_eq(a.remote.port, 53);

  st_event out, c = connect_event(1004 * MS, 42, "140.82.112.3", 443);
  cr_assert(st_dns_join_name(j, &c, &out));
  cr_expect_str_eq(out.remote_name, "api.example.test");
  cr_expect(out.has & ST_HAS_REMOTE_NAME);
  cr_expect_eq(out.flags & ST_FLAG_NAME_SHARED, 0);
  char text[128];
  st_event_remote_format(&out, text, sizeof text);
  cr_expect_str_eq(text, "api.example.test[140.82.112.3]:443");

  /* Another process: the name is shared, and says so. */
  c = connect_event(1005 * MS, 43, "140.82.112.3", 443);
  cr_assert(st_dns_join_name(j, &c, &out));
  cr_expect(out.flags & ST_FLAG_NAME_SHARED);
  /* A dual-stack socket's v4-mapped peer is the same address. */
  c = connect_event(1005 * MS, 42, "::ffff:140.82.112.3", 443);
  cr_expect(st_dns_join_name(j, &c, &out));
  /* Past TTL + grace: forgotten. */
  c = connect_event(1000 * MS + 60000 * MS + 61000 * MS, 42, "140.82.112.3", 443);
  cr_expect_not(st_dns_join_name(j, &c, &out));
  /* An address no answer gave. */
  c = connect_event(1005 * MS, 42, "140.82.112.4", 443);
  cr_expect_not(st_dns_join_name(j, &c, &out));
  st_dns_join_free(j);
}

Test(dns_join, a_servers_answers_name_nothing) {
  st_dns_join *j = st_dns_join_new(0);
  st_event a = dns_event(1000 * MS, 7, 1, true, "x.test", ST_DNS_SENT);
  add_v4(&a, 10, 0, 0, 1);
  st_dns_join_message(j, &a);
  st_event out, c = connect_event(1001 * MS, 7, "10.0.0.1", 80);
  cr_expect_not(st_dns_join_name(j, &c, &out));
  cr_expect(a.has & ST_HAS_STATUS, "a status all the same");
  st_dns_join_free(j);
}

Test(dns_join, failures_get_their_status) {
  st_dns_join *j = st_dns_join_new(0);
  st_event a = dns_event(1000 * MS, 7, 1, true, "nx.test", ST_DNS_RECEIVED);
  a.dns.rcode = 3;
  st_dns_join_message(j, &a);
  cr_expect_eq(a.status.code, ST_NOT_FOUND);
  a.dns.rcode = 2;
  a.has &= ~ST_HAS_STATUS;
  st_dns_join_message(j, &a);
  cr_expect_eq(a.status.code, ST_SERVER_FAILURE);
  st_dns_join_free(j);
}

Test(dns_join, unanswered_after_the_timeout_and_retries_count_from_the_first) {
  st_dns_join *j = st_dns_join_new(300);
  got g = {.n = 0};
  st_event q = dns_event(1000 * MS, 9, 0x2222, false, "silent.test", ST_DNS_SENT);
  st_dns_join_message(j, &q);
  st_event retry = dns_event(1200 * MS, 9, 0x2222, false, "silent.test", ST_DNS_SENT);
  st_dns_join_message(j, &retry);
  st_dns_join_expire(j, 1299 * MS, false, keep, &g);
  cr_expect_eq(g.n, 0, "not yet");
  st_dns_join_expire(j, 1300 * MS, false, keep, &g);
  cr_assert_eq(g.n, 1);
  cr_expect_eq(g.ev[0].ts_ns, 1300 * MS);
  cr_expect(g.ev[0].dns.flags & ST_DNS_UNANSWERED);
  cr_expect_eq(g.ev[0].status.code, ST_TIMED_OUT);
  cr_expect_eq(g.ev[0].level, ST_LEVEL_INFO);
  cr_expect_eq(g.ev[0].dns.latency_us, 300000);
  cr_expect_str_eq(g.ev[0].dns.qname, "silent.test");
  cr_expect_eq(g.ev[0].pid, 9);
  st_dns_join_expire(j, 1600 * MS, false, keep, &g);
  cr_expect_eq(g.n, 1, "reported once");
  /* A late answer still gets its latency. */
  st_event a = dns_event(2000 * MS, 9, 0x2222, true, "silent.test", ST_DNS_RECEIVED);
  st_dns_join_message(j, &a);
  cr_expect_eq(a.dns.latency_us, 1000000);
  cr_expect_not(st_dns_join_waiting(j));
  st_dns_join_free(j);
}

Test(dns_join, at_the_end_young_queries_are_dropped_old_ones_reported) {
  st_dns_join *j = st_dns_join_new(1000);
  got g = {.n = 0};
  st_event old = dns_event(1000 * MS, 9, 1, false, "old.test", 0);
  st_event young = dns_event(2500 * MS, 9, 2, false, "young.test", 0);
  st_dns_join_message(j, &old);
  st_dns_join_message(j, &young);
  st_dns_join_expire(j, 3000 * MS, true, keep, &g);
  cr_assert_eq(g.n, 1);
  cr_expect_str_eq(g.ev[0].dns.qname, "old.test");
  cr_expect_not(st_dns_join_waiting(j));
  st_dns_join_free(j);
}

Test(dns_join, a_recorded_unanswered_event_settles_its_query) {
  st_dns_join *j = st_dns_join_new(1000);
  got g = {.n = 0};
  st_event q = dns_event(1000 * MS, 9, 1, false, "s.test", ST_DNS_SENT);
  st_dns_join_message(j, &q);
  st_event u = q;
  u.ts_ns = 2000 * MS;
  u.dns.flags |= ST_DNS_UNANSWERED;
  st_dns_join_message(j, &u);
  st_dns_join_expire(j, 5000 * MS, true, keep, &g);
  cr_expect_eq(g.n, 0, "not reported twice");
  st_dns_join_free(j);
}

/* ---- round trips --------------------------------------------------------- */

static st_event rich_answer(void) {
  st_event a = dns_event(1234567890123ull, 42, 0xabcd, true, "www.example.test", ST_DNS_RECEIVED);
  add_v4(&a, 192, 0, 2, 7);
  st_dns_addr *x = &a.dns.addrs[a.dns.naddrs++];
  x->family = ST_FAMILY_INET6;
  x->addr[0] = 0x20;
  x->addr[15] = 7;
  a.dns.ttl = 30;
  a.dns.latency_us = 3100;
  a.dns.answers = 4;
  a.dns.flags |= ST_DNS_PARTIAL;
  snprintf(a.dns.cnames, sizeof a.dns.cnames, "edge.cdn.test e1.cdn.test");
  a.status = st_status_from_dns_rcode(0);
  a.has |= ST_HAS_STATUS;
  return a;
}

static void expect_same_dns(const st_event *a, const st_event *b) {
  cr_expect_eq(b->dns.id, a->dns.id);
  cr_expect_eq(b->dns.naddrs, a->dns.naddrs);
  cr_expect_eq(memcmp(b->dns.addrs, a->dns.addrs, sizeof a->dns.addrs[0] * a->dns.naddrs), 0);
  cr_expect_eq(b->dns.ttl, a->dns.ttl);
  cr_expect_eq(b->dns.latency_us, a->dns.latency_us);
  cr_expect_eq(b->dns.flags, a->dns.flags);
  cr_expect_str_eq(b->dns.cnames, a->dns.cnames);
  cr_expect_str_eq(b->dns.qname, a->dns.qname);
}

Test(dns_roundtrip, sktrace_block) {
  st_sktrace_block blk;
  cr_assert_eq(st_sktrace_block_init(&blk), 0);
  st_event a = rich_answer();
  st_event c = connect_event(1234567899999ull, 42, "192.0.2.7", 443);
  snprintf(c.remote_name, sizeof c.remote_name, "www.example.test");
  c.has |= ST_HAS_REMOTE_NAME;
  c.flags |= ST_FLAG_NAME_SHARED;
  cr_assert_eq(st_sktrace_block_add(&blk, &a), 0);
  cr_assert_eq(st_sktrace_block_add(&blk, &c), 0);
  st_buf out = {0};
  st_sktrace_block_finish(&blk, 0, &out);
  st_event *evs = NULL;
  size_t cap = 0, n = 0;
  char err[128];
  cr_assert_eq(st_sktrace_block_decode((const uint8_t *)out.data + ST_SKTRACE_BLOCK_HDR,
                                       out.len - ST_SKTRACE_BLOCK_HDR, &evs, &cap, &n, err,
                                       sizeof err),
               0, "%s", err);
  cr_assert_eq(n, 2);
  expect_same_dns(&a, &evs[0]);
  cr_expect_str_eq(evs[1].remote_name, "www.example.test");
  cr_expect(evs[1].has & ST_HAS_REMOTE_NAME);
  cr_expect(evs[1].flags & ST_FLAG_NAME_SHARED);
  free(evs);
  st_buf_free(&out);
  st_sktrace_block_free(&blk);
}

Test(dns_roundtrip, json_lines) {
  st_event a = rich_answer(), b;
  st_buf buf = {0};
  st_event_json_append(&buf, &a);
  st_buf_add(&buf, "", 1);
  char err[128];
  cr_assert_eq(st_event_from_json(buf.data, &b, err, sizeof err), 0, "%s", err);
  cr_expect(strstr(buf.data, "\"dns_addrs\":[\"192.0.2.7\",\"2000::7\"]"), "%s", buf.data);
  cr_expect(strstr(buf.data, "\"dns_cnames\":[\"edge.cdn.test\",\"e1.cdn.test\"]"), "%s", buf.data);
  expect_same_dns(&a, &b);
  st_buf_free(&buf);

  st_event c = connect_event(1, 42, "192.0.2.7", 443);
  snprintf(c.remote_name, sizeof c.remote_name, "www.example.test");
  c.has |= ST_HAS_REMOTE_NAME;
  memset(&buf, 0, sizeof buf);
  st_event_json_append(&buf, &c);
  st_buf_add(&buf, "", 1);
  cr_expect(
      strstr(buf.data,
             "\"remote\":{\"addr\":\"192.0.2.7\",\"port\":443,\"name\":\"www.example.test\"}"),
      "%s", buf.data);
  cr_assert_eq(st_event_from_json(buf.data, &b, err, sizeof err), 0, "%s", err);
  cr_expect_str_eq(b.remote_name, "www.example.test");
  st_buf_free(&buf);
}

/* ---- a recorded trace, replayed: names, the DNS failures table ----------- */

/* A trace of curl resolving three names (one answered, one NXDOMAIN, one
 * never) and connecting to the answer, written as JSON Lines without any
 * name on the connect: replay must learn it from the answer. */
static void write_trace(const char *path) {
  st_event evs[6];
  int n = 0;
  evs[n] = dns_event(1000 * MS, 42, 1, false, "api.example.test", ST_DNS_SENT);
  evs[n].endpoint = 1;
  n++;
  evs[n] = dns_event(1031 * MS, 42, 1, true, "api.example.test", ST_DNS_RECEIVED);
  evs[n].endpoint = 1;
  evs[n].dns.ttl = 60;
  add_v4(&evs[n], 140, 82, 112, 3);
  n++;
  evs[n] = dns_event(1040 * MS, 42, 2, false, "nx.example.test", ST_DNS_SENT);
  evs[n].endpoint = 2;
  n++;
  evs[n] = dns_event(1045 * MS, 42, 2, true, "nx.example.test", ST_DNS_RECEIVED);
  evs[n].endpoint = 2;
  evs[n].dns.rcode = 3;
  n++;
  evs[n] = dns_event(1050 * MS, 42, 3, false, "silent.example.test", ST_DNS_SENT);
  evs[n].endpoint = 3;
  n++;
  evs[n] = connect_event(9000 * MS, 42, "140.82.112.3", 443);
  evs[n].endpoint = 4;
  evs[n].enter_exit = ST_EE_EXIT;
  evs[n].status = st_status_from_errno(110);
  evs[n].has |= ST_HAS_STATUS;
  n++;
  FILE *f = fopen(path, "w");
  cr_assert(f);
  for (int i = 0; i < n; i++) {
    snprintf(evs[i].comm, sizeof evs[i].comm, "curl");
    evs[i].os = ST_OS_LINUX;
    evs[i].backend = ST_BACKEND_EBPF;
    st_buf b = {0};
    st_event_json_append(&b, &evs[i]);
    fprintf(f, "%.*s\n", (int)b.len, b.data);
    st_buf_free(&b);
  }
  fclose(f);
}

Test(dns_replay, a_recording_names_its_connects_and_lists_its_failed_lookups) {
  char path[] = "/tmp/socktrace-dns-replay-XXXXXX.jsonl";
  int fd = mkstemps(path, 6);
  cr_assert(fd >= 0);
  close(fd);
  write_trace(path);

  char args[256];
  snprintf(args, sizeof args, "replay -f jsonl %s", path);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_expect(strstr(r.out, "\"remote\":{\"addr\":\"140.82.112.3\",\"port\":443,"
                          "\"name\":\"api.example.test\"}"),
            "%s", r.out);
  cr_expect(strstr(r.out, "\"dns_unanswered\":true"), "silent.example.test timed out");
  cr_expect(strstr(r.out, "\"status\":\"not_found\""), "NXDOMAIN has its status");
  cr_expect(strstr(r.out, "\"dns_latency_us\":31000"), "%s", r.out);
  st_cli_result_free(&r);

  snprintf(args, sizeof args, "report %s", path);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_expect(strstr(r.out, "DNS failures"), "%s", r.out);
  cr_expect(strstr(r.out, "nx.example.test A"), "%s", r.out);
  cr_expect(strstr(r.out, "not_found (NXDOMAIN)"), "%s", r.out);
  cr_expect(strstr(r.out, "silent.example.test A"), "%s", r.out);
  cr_expect(strstr(r.out, "no answer"), "%s", r.out);
  cr_expect(strstr(r.out, "api.example.test[140.82.112.3]:443"), "the remote table: %s", r.out);
  cr_expect(strstr(r.out, "-> api.example.test:443"), "the failure's story: %s", r.out);
  st_cli_result_free(&r);

  /* Level 4 hides the queries, not what they taught. */
  snprintf(args, sizeof args, "replay -f jsonl -l 4 -k stream,winsock %s", path);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_expect_null(strstr(r.out, "DnsMessage"), "%s", r.out);
  cr_expect(strstr(r.out, "\"name\":\"api.example.test\""), "%s", r.out);
  st_cli_result_free(&r);
  unlink(path);
}
