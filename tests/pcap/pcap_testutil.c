/* Helpers for the pcap suites: see pcap_testutil.h. */
#include "pcap_testutil.h"

#include <criterion/criterion.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "capture_builder.h"
#include "pcap_backend.h"

void evlist_push(evlist *l, const st_event *ev) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
    if (!l->ev)
      abort();
  }
  l->ev[l->n++] = *ev;
}

void evlist_free(evlist *l) {
  free(l->ev);
  memset(l, 0, sizeof *l);
}

void evlist_collect(void *ctx, const st_event *ev) {
  evlist_push(ctx, ev);
}

rig *rig_new(const st_pcap_tracker_config *cfg) {
  rig *r = calloc(1, sizeof *r);
  st_pcap_tracker_config c = cfg ? *cfg : (st_pcap_tracker_config){.level = ST_LEVEL_VERBOSE};
  r->t = st_pcap_tracker_new(&c, evlist_collect, &r->ev);
  cr_assert(r->t);
  return r;
}

void rig_frame(rig *r, int linktype, uint64_t ts, const uint8_t *f, size_t len) {
  st_pcap_tracker_packet(r->t, linktype, ts, f, (uint32_t)len, (uint32_t)len);
}

void rig_ip(rig *r, uint64_t ts, const uint8_t *ip, size_t len) {
  uint8_t f[2048];
  rig_frame(r, 1, ts, f, cb_eth(f, (ip[0] >> 4) == 6 ? 0x86dd : 0x0800, ip, len));
}

st_pcap_tracker_stats rig_stats(rig *r) {
  st_pcap_tracker_stats st;
  st_pcap_tracker_get_stats(r->t, &st);
  return st;
}

void rig_free(rig *r) {
  st_pcap_tracker_free(r->t);
  evlist_free(&r->ev);
  free(r);
}

typedef struct feed {
  st_pcap_tracker *t;
  int linktype;
  bool nano;
} feed;

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  feed *f = (feed *)user;
  uint64_t ts =
      (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * (f->nano ? 1u : 1000u);
  st_pcap_tracker_packet(f->t, f->linktype, ts, bytes, h->caplen, h->len);
}

int pcap_test_run_tracker(const char *path, uint8_t level, evlist *out,
                          st_pcap_tracker_stats *stats) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p)
    return -1;
  st_pcap_tracker_config cfg = {.level = level};
  feed f = {.t = st_pcap_tracker_new(&cfg, evlist_collect, out),
            .linktype = pcap_datalink(p),
            .nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO};
  pcap_loop(p, -1, on_frame, (u_char *)&f);
  pcap_close(p);
  st_pcap_tracker_finish(f.t);
  if (stats)
    st_pcap_tracker_get_stats(f.t, stats);
  st_pcap_tracker_free(f.t);
  return 0;
}

pcap_session_result pcap_test_run_session(const char *path, const char *filter, uint8_t level,
                                          st_collect *out) {
  pcap_session_result r;
  memset(&r, 0, sizeof r);
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.level = level;
  st_session *s = NULL;
  if ((r.status = st_session_new(&loop, &cfg, &s)) < 0)
    return r;
  st_backend *b = NULL;
  st_pcap_options opt = {.file = path, .bpf_filter = filter};
  if ((r.status = st_backend_pcap_new(&opt, &b)) < 0) {
    st_session_free(s);
    return r;
  }
  st_session_set_backend(s, b);
  st_sink *sink;
  st_sink_collect_new(out, &sink);
  st_session_add_sink(s, sink);
  r.status = st_session_start(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (!r.status)
    r.status = st_session_status(s);
  snprintf(r.error, sizeof r.error, "%s", st_session_error(s) ? st_session_error(s) : "");
  b->ops->stats(b, &r.stats);
  snprintf(r.backend_error, sizeof r.backend_error, "%s", b->error);
  st_session_counters(s, &r.counters);
  st_session_free(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0, "every handle closed");
  return r;
}

const char *pcap_test_addr(const st_addr *a, char *buf, size_t len) {
  st_addr_format(a, buf, len);
  return buf;
}

static bool addr_is(const st_addr *a, const char *ip, int port) {
  st_addr want;
  memset(&want, 0, sizeof want);
  if (st_addr_parse_ip(ip, &want) != 0)
    return false;
  return a->family == want.family && a->port == port && st_addr_ip_equal(a, &want);
}

bool pcap_test_ev_is(const st_event *ev, const char *laddr, int lport, const char *raddr,
                     int rport) {
  if (!addr_is(&ev->local, laddr, lport))
    return false;
  return !raddr || addr_is(&ev->remote, raddr, rport);
}

size_t pcap_test_count(const st_event *evs, size_t n, uint16_t id) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += evs[i].id == id;
  return c;
}

size_t pcap_test_count_status(const st_event *evs, size_t n, uint16_t id, st_code code) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += evs[i].id == id && (evs[i].has & ST_HAS_STATUS) && evs[i].status.code == code;
  return c;
}

uint64_t pcap_test_parse_epoch(const char *s) {
  uint64_t sec = 0, frac = 0;
  const char *p = s;
  while (*p >= '0' && *p <= '9')
    sec = sec * 10 + (uint64_t)(*p++ - '0');
  if (*p == '.')
    p++;
  int digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 9) {
    frac = frac * 10 + (uint64_t)(*p++ - '0');
    digits++;
  }
  while (digits++ < 9)
    frac *= 10;
  return sec * 1000000000ull + frac;
}
