/*
 * The Microsoft-Windows-DNS-Client decoder (3006 query called, 3008 query
 * completed, 3020 a network response) on byte fixtures laid out from the
 * provider's manifest, with the values of real Windows events: the shared
 * fixtures' DNS-Client records as the Windows event log rendered them. Each
 * record's payload is rebuilt from its rendered fields, decoded, and the
 * result compared with what Windows showed; then the whole recording goes
 * through the DNS enrichment stage as a trace would.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "dns_join.h"
#include "etw/etw_decode.h"
#include "etw_fixture.h"
#include "internal.h"
#include "socktrace/sink.h"
#include "socktrace/status.h"

static const char *field(json_t *data, const char *name) {
  json_t *v = json_object_get(data, name);
  return json_is_string(v) ? json_string_value(v) : "";
}

/* Winlogbeat leaves out empty fields: an absent string is "", a number 0. */
static uint64_t num(json_t *data, const char *name) {
  return strtoull(field(data, name), NULL, 10);
}

/* The payload of a record from its rendered fields, in template order. */
static void build(fx *f, unsigned id, json_t *d) {
  fx_init(f, 8);
  fx_utf16z(f, field(d, "QueryName"));
  fx_u32(f, (uint32_t)num(d, "QueryType"));
  if (id == 3006) {
    fx_u64(f, num(d, "QueryOptions"));
    fx_utf16z(f, field(d, "ServerList"));
    fx_u32(f, (uint32_t)num(d, "IsNetworkQuery"));
    fx_u32(f, (uint32_t)num(d, "NetworkQueryIndex"));
    fx_u32(f, (uint32_t)num(d, "InterfaceIndex"));
    fx_u32(f, (uint32_t)num(d, "IsAsyncQuery"));
  } else if (id == 3008) {
    fx_u64(f, num(d, "QueryOptions"));
    fx_u32(f, (uint32_t)num(d, "QueryStatus"));
    fx_utf16z(f, field(d, "QueryResults"));
  } else {
    fx_u32(f, (uint32_t)num(d, "NetworkIndex"));
    fx_u32(f, (uint32_t)num(d, "InterfaceIndex"));
    fx_u32(f, (uint32_t)num(d, "Status"));
    fx_utf16z(f, field(d, "QueryResults"));
  }
}

/* "2019-03-19T17:10:09.423Z" in ns since the epoch. */
static uint64_t parse_time(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  cr_assert(rest, "time %s", s);
  uint64_t ns = (uint64_t)timegm(&tm) * 1000000000ull;
  if (*rest == '.')
    ns += (uint64_t)strtoul(rest + 1, NULL, 10) * 1000000ull;
  return ns;
}

static st_etw_record header(unsigned id, json_t *r) {
  st_etw_record rec;
  memset(&rec, 0, sizeof rec);
  memcpy(rec.provider, st_etw_dns_client_guid, 16);
  rec.id = (uint16_t)id;
  rec.level = 4;
  rec.pid = (uint32_t)json_integer_value(json_object_get(r, "process_id"));
  rec.tid = (uint32_t)json_integer_value(json_object_get(r, "thread_id"));
  rec.ts_ns = parse_time(json_string_value(json_object_get(r, "@timestamp")));
  rec.pointer_size = 8;
  return rec;
}

/* The addresses of a QueryResults string, as text, IPv4 in IPv6 unmapped. */
static int result_addrs(const char *results, char out[][64], int max) {
  int n = 0;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", results);
  for (char *save = NULL, *t = strtok_r(buf, ";", &save); t && n < max;
       t = strtok_r(NULL, ";", &save)) {
    while (*t == ' ')
      t++;
    if (!*t || !strncmp(t, "type:", 5))
      continue;
    snprintf(out[n++], 64, "%s", strncmp(t, "::ffff:", 7) == 0 ? t + 7 : t);
  }
  return n;
}

typedef struct decoded {
  st_event *ev;
  size_t n, cap;
  unsigned by_id[3]; /* 3006, 3008, 3020 */
} decoded;

static void push(decoded *d, const st_event *ev) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 256;
    d->ev = realloc(d->ev, d->cap * sizeof *d->ev);
    cr_assert(d->ev);
  }
  d->ev[d->n++] = *ev;
}

/* Decodes every 3006/3008/3020 of a fixture file, checking each against
 * its rendered fields. */
static void decode_file(const char *name, decoded *out) {
  char rel[128];
  snprintf(rel, sizeof rel, "windows-dns-client/%s", name);
  FILE *f = fopen(st_test_fixture(rel), "r");
  cr_assert(f, "%s", st_test_fixture(rel));
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_error_t e;
    json_t *r = json_loads(line, 0, &e);
    cr_assert(r, "%s: %s", name, e.text);
    unsigned id = (unsigned)json_integer_value(json_object_get(r, "event_id"));
    json_t *d = json_object_get(r, "event_data");
    st_etw_record rec = header(id, r);
    fx p;
    st_event ev;
    build(&p, id, d);
    int rc = st_etw_decode(&rec, p.b, p.n, &ev, NULL);
    if (id != 3006 && id != 3008 && id != 3020) {
      cr_expect_eq(rc, ST_ETW_IGNORED, "%s: event %u is not decoded", name, id);
      json_decref(r);
      continue;
    }
    cr_assert_eq(rc, ST_ETW_DECODED, "%s: event %u: %s", name, id, ev.detail);
    out->by_id[id == 3006 ? 0 : id == 3008 ? 1 : 2]++;
    cr_expect_eq(ev.id, ST_EV_DNS_MESSAGE);
    cr_expect_eq(ev.provider, ST_PROVIDER_EXT);
    cr_expect_eq(ev.keywords, ST_KW_DNS);
    cr_expect_eq(ev.os, ST_OS_WINDOWS);
    cr_expect_eq(ev.pid, rec.pid);
    cr_expect_eq(ev.legacy_id, id);
    cr_expect(ev.dns.flags & ST_DNS_API);
    cr_expect_str_eq(ev.dns.qname, field(d, "QueryName"));
    cr_expect_eq(ev.dns.qtype, num(d, "QueryType"));
    if (id == 3006) {
      cr_expect_eq(ev.dns.qr, 0);
      cr_expect_eq(ev.level, ST_LEVEL_VERBOSE);
      cr_expect(ev.dns.flags & ST_DNS_SENT);
    } else {
      uint64_t status = num(d, id == 3008 ? "QueryStatus" : "Status");
      cr_expect_eq(ev.dns.qr, 1);
      cr_expect_eq(ev.level, ST_LEVEL_INFO);
      cr_expect(ev.has & ST_HAS_STATUS);
      cr_expect_eq(ev.status.domain, ST_DOMAIN_WIN32);
      cr_expect_eq(ev.status.native, status);
      /* What the fixtures' README says these numbers mean. */
      if (status == 0)
        cr_expect_eq(ev.status.code, ST_OK);
      else if (status == 9003)
        cr_expect_eq(ev.status.code, ST_NOT_FOUND);
      else if (status == 9002)
        cr_expect_eq(ev.status.code, ST_SERVER_FAILURE);
      else if (status == 1460)
        cr_expect_eq(ev.status.code, ST_TIMED_OUT);
      else if (status == 87)
        cr_expect_eq(ev.status.code, ST_INVALID);
      char want[8][64];
      int n = result_addrs(field(d, "QueryResults"), want, 8);
      cr_expect_eq(ev.dns.naddrs, n, "%s: %s", name, field(d, "QueryResults"));
      for (int i = 0; i < n && i < ev.dns.naddrs; i++) {
        st_addr a = {.family = ev.dns.addrs[i].family};
        char got[64];
        memcpy(a.addr, ev.dns.addrs[i].addr, sizeof a.addr);
        st_addr_format_ip(&a, got, sizeof got);
        cr_expect_str_eq(got, want[i]);
      }
    }
    push(out, &ev);
    json_decref(r);
  }
  free(line);
  fclose(f);
}

static int by_time(const void *a, const void *b) {
  const st_event *x = a, *y = b;
  return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

Test(etw_dns, real_records_decode_as_windows_rendered_them) {
  ST_REQUIRE_FIXTURES();
  decoded a = {0}, b = {0};
  decode_file("empire_mimikatz_opth.jsonl", &a);
  decode_file("empire_scm_dll_hijack_ikeext.jsonl", &b);
  /* The fixtures' README counts. */
  cr_expect_eq(a.by_id[0], 71);
  cr_expect_eq(a.by_id[1], 73);
  cr_expect_eq(a.by_id[2], 7);
  cr_expect_eq(b.by_id[0], 56);
  cr_expect_eq(b.by_id[1], 57);
  cr_expect_eq(b.by_id[2], 16);
  free(a.ev);
  free(b.ev);
}

Test(etw_dns, a_recording_pairs_queries_and_names_connects) {
  ST_REQUIRE_FIXTURES();
  decoded a = {0};
  decode_file("empire_scm_dll_hijack_ikeext.jsonl", &a);
  decode_file("empire_mimikatz_opth.jsonl", &a);
  qsort(a.ev, a.n, sizeof *a.ev, by_time);
  /* Counted here from the records themselves: completions with an earlier
   * call of the same process, name and type. */
  unsigned expect_paired = 0;
  for (size_t i = 0; i < a.n; i++) {
    if (a.ev[i].legacy_id != 3008)
      continue;
    for (size_t j = 0; j < i; j++)
      if (a.ev[j].legacy_id == 3006 && a.ev[j].pid == a.ev[i].pid &&
          a.ev[j].dns.qtype == a.ev[i].dns.qtype &&
          !strcasecmp(a.ev[j].dns.qname, a.ev[i].dns.qname)) {
        expect_paired++;
        break;
      }
  }
  st_dns_join *j = st_dns_join_new(0);
  uint32_t wec_pid = 0;
  for (size_t i = 0; i < a.n; i++) {
    st_dns_join_message(j, &a.ev[i]);
    if (a.ev[i].legacy_id == 3008 && !strcmp(a.ev[i].dns.qname, "wecserver.shire.com") &&
        a.ev[i].dns.naddrs)
      wec_pid = a.ev[i].pid;
  }
  st_dns_join_stats st;
  st_dns_join_get_stats(j, &st);
  cr_expect_gt(expect_paired, 0);
  cr_expect_leq(st.answered, expect_paired, "retries are paired once");
  cr_expect_gt(st.answered, 0);
  cr_assert_neq(wec_pid, 0, "the fixtures resolve wecserver.shire.com");

  /* A connect of that process to the answer, just after: named. */
  st_event c, named;
  st_event_init(&c, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  c.pid = wec_pid;
  c.ts_ns = a.ev[a.n - 1].ts_ns;
  c.has = ST_HAS_REMOTE;
  st_addr_parse_ip("172.18.39.102", &c.remote);
  c.remote.port = 5985;
  cr_assert(st_dns_join_name(j, &c, &named));
  cr_expect_str_eq(named.remote_name, "wecserver.shire.com");
  st_dns_join_free(j);
  free(a.ev);
}

Test(etw_dns, results_with_a_cname_and_bad_payloads) {
  json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "QueryName", "www.example.test", "QueryType",
                        "1", "QueryOptions", "0", "QueryStatus", "0", "QueryResults",
                        "type: 5 edge.cdn.test;192.0.2.7;192.0.2.8;");
  json_t *r = json_pack("{s:i, s:i, s:s}", "process_id", 4242, "thread_id", 7, "@timestamp",
                        "2024-01-02T03:04:05.006Z");
  st_etw_record rec = header(3008, r);
  fx p;
  st_event ev;
  build(&p, 3008, d);
  cr_assert_eq(st_etw_decode(&rec, p.b, p.n, &ev, NULL), ST_ETW_DECODED, "%s", ev.detail);
  cr_expect_str_eq(ev.dns.cnames, "edge.cdn.test");
  cr_expect_eq(ev.dns.naddrs, 2);
  cr_expect_eq(ev.dns.answers, 3);

  /* JSON Lines: no message id or rcode for an API's result. */
  st_buf b = {0};
  st_event_json_append(&b, &ev);
  st_buf_add(&b, "", 1);
  cr_expect(strstr(b.data, "\"dns_api\":true"), "%s", b.data);
  cr_expect_null(strstr(b.data, "dns_rcode"), "%s", b.data);
  st_buf_free(&b);

  /* Every shorter payload is a DecodeError; so is a longer one of version 0. */
  for (size_t n = 0; n < p.n; n++) {
    int rc = st_etw_decode(&rec, p.b, n, &ev, NULL);
    cr_expect_eq(rc, ST_EBADMSG, "%zu of %zu bytes", n, p.n);
    cr_expect_eq(ev.id, ST_EV_DECODE_ERROR);
  }
  fx_u32(&p, 0x5a5a5a5a);
  cr_expect_eq(st_etw_decode(&rec, p.b, p.n, &ev, NULL), ST_EBADMSG);
  /* A later version may add fields: what is known still decodes. */
  rec.version = 1;
  cr_expect_eq(st_etw_decode(&rec, p.b, p.n, &ev, NULL), ST_ETW_DECODED);
  json_decref(d);
  json_decref(r);
}
