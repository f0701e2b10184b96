/*
 * Helpers for the pcap backend suites: run a capture through the tracker
 * alone or through a whole session, and look events up by id, status and
 * addresses.
 */
#ifndef ST_PCAP_TESTUTIL_H
#define ST_PCAP_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/testutil.h"
#include "tracker.h"

typedef struct evlist {
  st_event *ev;
  size_t n, cap;
} evlist;

void evlist_push(evlist *l, const st_event *ev);
void evlist_free(evlist *l);
/* The tracker's emit callback: ctx is an evlist. */
void evlist_collect(void *ctx, const st_event *ev);

/* A tracker fed frame by frame, collecting its events. cfg NULL: level 5. */
typedef struct rig {
  st_pcap_tracker *t;
  evlist ev;
} rig;
rig *rig_new(const st_pcap_tracker_config *cfg);
void rig_frame(rig *r, int linktype, uint64_t ts, const uint8_t *f, size_t len);
/* An IPv4 or IPv6 packet as an Ethernet frame. */
void rig_ip(rig *r, uint64_t ts, const uint8_t *ip, size_t len);
st_pcap_tracker_stats rig_stats(rig *r);
void rig_free(rig *r);

/* Feeds every frame of a capture file to a fresh tracker, then finishes it.
 * Returns 0, or -1 when libpcap cannot open the file. */
int pcap_test_run_tracker(const char *path, uint8_t level, evlist *out,
                          st_pcap_tracker_stats *stats);

/* Replays a capture through st_session with the pcap backend (capture
 * filter optional) and a collecting sink; checks that the loop ends with
 * every handle closed. */
typedef struct pcap_session_result {
  int status;
  char error[512];
  char backend_error[512]; /* what the backend said, also after a good run */
  st_backend_stats stats;
  st_counters counters;
} pcap_session_result;
pcap_session_result pcap_test_run_session(const char *path, const char *filter, uint8_t level,
                                          st_collect *out);

/* "1.2.3.4:80" / "[::1]:80" for an event's local or remote address. */
const char *pcap_test_addr(const st_addr *a, char *buf, size_t len);
/* True when ev's local is (laddr, lport) and its remote (raddr, rport);
 * NULL raddr matches any remote. */
bool pcap_test_ev_is(const st_event *ev, const char *laddr, int lport, const char *raddr,
                     int rport);
size_t pcap_test_count(const st_event *evs, size_t n, uint16_t id);
size_t pcap_test_count_status(const st_event *evs, size_t n, uint16_t id, st_code code);

/* "1128727430.350788000" -> ns since the epoch. */
uint64_t pcap_test_parse_epoch(const char *s);

#endif
