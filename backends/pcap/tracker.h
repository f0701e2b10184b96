/*
 * The wire flow tracker: turns captured frames into Winsock-AFD events.
 *
 * Its whole input is (link type, timestamp, bytes, captured length, wire
 * length) per frame, and its output goes through one callback, so it runs
 * the same under a session, in tests and in the fuzzer. It never reads the
 * clock: time is the packets' time, which is what makes a replay of a file
 * deterministic. It never invents a process: pid 0, no comm, os "wire".
 */
#ifndef ST_PCAP_TRACKER_H
#define ST_PCAP_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/event.h"

#define ST_PCAP_DEFAULT_MAX_FLOWS 65536u
#define ST_PCAP_DEFAULT_SYN_TIMEOUT_NS (30ull * 1000000000ull)
/* Quiet flows end after these. Memory is bounded by max_flows (the least
 * recently active flow makes room), so these only decide when a quiet
 * socket is declared gone: long, because a quiet UDP socket (NBNS, NTP) is
 * usually still the same socket when it speaks again minutes later. */
#define ST_PCAP_DEFAULT_IDLE_TIMEOUT_NS (600ull * 1000000000ull)
#define ST_PCAP_DEFAULT_UDP_TIMEOUT_NS (600ull * 1000000000ull)
/* A closed TCP flow is kept this long (2 MSL) so that late retransmitted
 * FINs and ACKs are recognised instead of starting a new flow. */
#define ST_PCAP_DEFAULT_LINGER_NS (120ull * 1000000000ull)

typedef void (*st_pcap_emit_fn)(void *ctx, const st_event *ev);
/* A reader that pulls events (a capture file) gives the tracker a queue:
 * each event is then built in place at its end (no copy) instead of being
 * handed to emit; the reader empties it (len = 0) as it hands them out.
 * When the queue cannot grow, the event goes to emit as usual. */
typedef struct st_pcap_queue {
  st_event *events;
  size_t len, cap;
} st_pcap_queue;

typedef struct st_pcap_tracker_config {
  uint32_t max_flows;       /* flows tracked at once; 0 = default */
  uint64_t syn_timeout_ns;  /* unanswered SYN -> timed_out; 0 = default */
  uint64_t idle_timeout_ns; /* quiet TCP flow ends; 0 = default */
  uint64_t udp_timeout_ns;  /* quiet UDP flow ends; 0 = default */
  uint64_t linger_ns;       /* closed TCP flow kept; 0 = default */
  uint8_t level;            /* highest level worth building; 0 = 5 */
} st_pcap_tracker_config;

typedef struct st_pcap_tracker_stats {
  uint64_t packets;        /* frames given to the tracker */
  uint64_t not_ip;         /* frames without IPv4/IPv6 (ARP, STP, ...) */
  uint64_t truncated;      /* frames whose headers the snap length cut: skipped */
  uint64_t malformed;      /* impossible lengths or fields: skipped */
  uint64_t unsupported;    /* IP, but not TCP/UDP/ICMP */
  uint64_t fragments;      /* IP fragments seen */
  uint64_t reassembled;    /* datagrams rebuilt from fragments */
  uint64_t frag_dropped;   /* fragmented datagrams never completed */
  uint64_t icmp_matched;   /* ICMP errors matched to a tracked flow */
  uint64_t icmp_unmatched; /* ICMP errors quoting a flow not in the capture (UDP ones
                              still fail that flow, picked up mid-stream) */
  uint64_t stray;          /* TCP segments that belong to no flow (lone RST) */
  uint64_t tcp_flows, udp_flows;
  uint64_t flows_expired; /* ended by a timeout */
  uint64_t flows_evicted; /* ended early because max_flows was reached */
  uint64_t dns_messages, dns_malformed;
  uint64_t events;
  uint64_t first_ts_ns, last_ts_ns; /* of the frames seen */
  uint32_t flows_active, flows_peak;
} st_pcap_tracker_stats;

typedef struct st_pcap_tracker st_pcap_tracker;

/* Returns NULL when out of memory. cfg may be NULL (all defaults). */
st_pcap_tracker *st_pcap_tracker_new(const st_pcap_tracker_config *cfg, st_pcap_emit_fn emit,
                                     void *ctx);
void st_pcap_tracker_free(st_pcap_tracker *t);
/* q, or NULL to hand every event to emit again. */
void st_pcap_tracker_set_queue(st_pcap_tracker *t, st_pcap_queue *q);

/* One captured frame. linktype is pcap_datalink()'s value. */
void st_pcap_tracker_packet(st_pcap_tracker *t, int linktype, uint64_t ts_ns, const uint8_t *bytes,
                            uint32_t caplen, uint32_t len);

/* Ends the flows whose timeouts passed by now_ns (packet or wall time). */
void st_pcap_tracker_expire(st_pcap_tracker *t, uint64_t now_ns);

/* End of capture: unanswered SYNs time out and every flow ends with its
 * summary. The tracker stays usable (it is then empty). */
void st_pcap_tracker_finish(st_pcap_tracker *t);
/* One step of that: ends the oldest flow; false when none was left. A
 * pulled reader hands on one flow's events before ending the next. */
bool st_pcap_tracker_finish_one(st_pcap_tracker *t);

void st_pcap_tracker_get_stats(const st_pcap_tracker *t, st_pcap_tracker_stats *out);

#endif
