/*
 * The tracker's private state: the flow table (uthash, keyed by the
 * unordered 4-tuple), its LRU list for expiry and the memory bound, and the
 * helpers that build events for one side of a flow. Shared by flow.c (the
 * table and flow endings) and tracker.c (the per-protocol logic).
 */
#ifndef ST_PCAP_FLOW_H
#define ST_PCAP_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Flow keys have a fixed size: hashed 8 bytes at a time (a multiply and a
 * shift per word, then murmur3's finaliser so that the low bits uthash uses
 * for buckets depend on every byte) instead of uthash's default, which
 * reads them one byte at a time and cost a fifth of a replay. */
static inline unsigned flow_key_hash(const void *key, size_t len) {
  const unsigned char *p = key;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;
  for (; len >= 8; p += 8, len -= 8) {
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 31;
  }
  w = 0;
  memcpy(&w, p, len);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return (unsigned)h;
}
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = flow_key_hash((keyptr), (keylen)))
#include <uthash.h>

#include "decode.h"
#include "frag.h"
#include "tracker.h"

/* TCP flow states, from the wire's point of view. */
enum {
  FLOW_SYN_SENT = 1, /* SYN seen, no answer yet */
  FLOW_SYN_RCVD,     /* SYN-ACK seen, waiting for the initiator's ACK */
  FLOW_OPEN,         /* established (or picked up mid-stream); UDP flows */
  FLOW_CLOSED,       /* refused, reset, failed, or FIN both ways: lingering */
};

/* Why a flow leaves the table. */
typedef enum flow_end_reason {
  FLOW_END_TIMEOUT,
  FLOW_END_FINISH,  /* end of capture */
  FLOW_END_EVICTED, /* table full */
  FLOW_END_REUSED,  /* a new SYN on the same 4-tuple */
} flow_end_reason;

typedef struct flow_key {
  uint32_t tunnel; /* pkt_info.tunnel: 0 outside any tunnel */
  uint8_t family, proto;
  uint16_t port[2];
  uint8_t addr[2][16];
} flow_key;

typedef struct flow_side {
  uint8_t addr[16];
  uint16_t port;
  bool exists; /* a socket is known to be there (it sent, or accepted) */
  /* TCP sequence tracking */
  bool seq_valid;
  bool fin_reported;
  bool fin_acked; /* the peer acknowledged that FIN */
  uint64_t endpoint;
  uint32_t isn, nextseq;
  uint32_t fin_end; /* the sequence number after the FIN */
  /* counters for the summary */
  uint64_t bytes, msgs, retrans;
  bool failed;
  st_status first_error, final_status;
} flow_side;

typedef struct flow {
  flow_key key;
  UT_hash_handle hh;
  struct flow *lru_prev, *lru_next;
  flow_side side[2]; /* 0: initiator (or best guess), 1: passive side */
  uint8_t family, proto, state;
  bool reset;     /* a RST ended it */
  uint32_t flags; /* ST_FLAG_MIDSTREAM */
  uint64_t first_ts, last_ts;
  /* The tunnels it came through ("vxlan vni=42"), every event's detail;
   * NULL for the many flows outside any tunnel, which pay 8 bytes. */
  char *encap;
} flow;

struct st_pcap_tracker {
  st_pcap_tracker_config cfg;
  st_pcap_emit_fn emit;
  st_pcap_queue *queue; /* may be NULL: events are built in scratch */
  void *ctx;
  st_event scratch;
  flow *table; /* uthash head */
  flow *lru_head, *lru_tail;
  pkt_reasm *reasm;
  uint64_t next_serial;
  uint64_t now;          /* timestamp of the frame being processed */
  uint64_t last_emit_ts; /* events never go back in time */
  uint64_t next_sweep;
  st_pcap_tracker_stats stats;
};

/* Table. flow_lookup finds pkt's flow (by tunnel, family, protocol,
 * addresses and ports) and sets *side to the side that sent pkt. */
flow *flow_lookup(st_pcap_tracker *t, const pkt_info *pkt, int *side);
/* New flow; the initiator is pkt's source when src_is_initiator. NULL when
 * out of memory. */
flow *flow_create(st_pcap_tracker *t, const pkt_info *pkt, bool src_is_initiator, uint32_t flags);
void flow_touch(st_pcap_tracker *t, flow *f);
void flow_end(st_pcap_tracker *t, flow *f, flow_end_reason why);

/* Events. flow_event starts an event for side s at the end of the queue
 * (or in the tracker's scratch) with the common and per-flow fields;
 * tracker_emit applies the tracker's level, stamps the time and hands it
 * on. An event started and not emitted is simply dropped. */
st_event *flow_event(st_pcap_tracker *t, const flow *f, int s, uint8_t provider, uint16_t id,
                     uint8_t enter_exit, uint64_t keywords);
void tracker_emit(st_pcap_tracker *t, st_event *ev);
bool tracker_wants(const st_pcap_tracker *t, uint8_t level);
/* Sets an event's detail to text, followed by the flow's tunnels. */
void flow_detail(st_event *ev, const flow *f, const char *text);
/* Records an error status on a side (first error kept for the summary). */
void side_fail(flow_side *side, st_status st);
/* Emits the connect completion (1017) for the initiator. */
void flow_connect_done(st_pcap_tracker *t, flow *f, st_status st, const char *detail);

#endif
