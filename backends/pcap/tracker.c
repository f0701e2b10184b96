/*
 * Per-packet logic of the flow tracker: what each TCP segment, UDP datagram
 * and ICMP error means for the sockets at both ends, as Winsock-AFD events.
 *
 * TCP: SYN -> AfdConnectWithAddress (enter) for the initiator; SYN-ACK then
 * the initiator's ACK -> AfdConnect ok + AfdAcceptWithAddress for the
 * passive side; RST answering a SYN -> refused; RST later -> AfdAbort
 * (transport reset) for the receiver; FIN -> AfdDisconnect for the peer,
 * both FINs -> AfdCleanup for both; sequence analysis -> TcpRetransmit.
 * UDP: send/receive per datagram; ICMP unreachable quoting a datagram or a
 * SYN -> that flow's failure (a datagram not in the capture: a failure on a
 * flow picked up mid-stream). DNS on port 53 -> DnsMessage.
 */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "dns.h"
#include "flow.h"
#include "socktrace/status.h"

#define SWEEP_INTERVAL_NS 1000000000ull

static bool seq_lt(uint32_t a, uint32_t b) {
  return (int32_t)(a - b) < 0;
}

/* DnsMessage (5200) for one message sent by side s. */
static void emit_dns(st_pcap_tracker *t, const flow *f, int s, const uint8_t *msg, uint32_t len) {
  st_event *ev;
  ev = flow_event(t, f, s, ST_PROVIDER_EXT, ST_EV_DNS_MESSAGE, ST_EE_TRANSPORT, ST_KW_DNS);
  if (!st_dns_parse(msg, len, 0, &ev->dns)) {
    t->stats.dns_malformed++;
    return;
  }
  t->stats.dns_messages++;
  ev->bytes = len;
  ev->has |= ST_HAS_DNS | ST_HAS_BYTES;
  tracker_emit(t, ev);
}

static bool is_dns(const pkt_info *p) {
  return p->sport == 53 || p->dport == 53;
}

/* DNS over TCP: length-prefixed messages wholly inside this segment. */
static void tcp_dns(st_pcap_tracker *t, const flow *f, int s, const pkt_info *p) {
  uint32_t off = 0;
  while (off + 2 <= p->payload_caplen) {
    uint32_t mlen = st_be16(p->payload + off);
    if (mlen == 0 || off + 2 + mlen > p->payload_caplen)
      break;
    emit_dns(t, f, s, p->payload + off + 2, mlen);
    off += 2 + mlen;
  }
}

static void tcp_established(st_pcap_tracker *t, flow *f) {
  f->state = FLOW_OPEN;
  flow_connect_done(t, f, st_status_portable(ST_OK), NULL);
  f->side[1].exists = true;
  st_event *ev;
  ev = flow_event(t, f, 1, ST_PROVIDER_AFD, ST_EV_ACCEPT_ADDR, ST_EE_EXIT, ST_KW_WINSOCK);
  ev->status = st_status_portable(ST_OK);
  ev->accept_endpoint = f->side[1].endpoint;
  ev->has |= ST_HAS_STATUS | ST_HAS_ACCEPT_EP;
  tracker_emit(t, ev);
}

/* Sequence analysis as TShark does it: a segment that occupies sequence
 * space (data, SYN or FIN) and starts below the highest sequence already
 * seen from its sender is a retransmission, unless it is a keep-alive. */
static bool tcp_seq_update(flow_side *me, const pkt_info *p) {
  bool syn = p->tcp_flags & PKT_TH_SYN, fin = p->tcp_flags & PKT_TH_FIN;
  uint32_t seglen = p->payload_len + syn + fin;
  if (p->tcp_flags & PKT_TH_RST)
    return false;
  if (!me->seq_valid) {
    me->seq_valid = true;
    me->isn = p->seq;
    me->nextseq = p->seq + seglen;
    return false;
  }
  bool retrans = false;
  if (seglen > 0 && seq_lt(p->seq, me->nextseq)) {
    bool keepalive = seglen <= 1 && !syn && !fin && p->seq == me->nextseq - 1;
    retrans = !keepalive;
  }
  if (seq_lt(me->nextseq, p->seq + seglen))
    me->nextseq = p->seq + seglen;
  return retrans;
}

/* Both FINs were seen and one is not acknowledged yet (LAST_ACK, CLOSING):
 * the connection is not over, and a RST still ends it abortively. */
static bool fin_unacked(const flow *f) {
  const flow_side *a = &f->side[0], *b = &f->side[1];
  return !f->reset && a->fin_reported && b->fin_reported && !(a->fin_acked && b->fin_acked);
}

/* Side s's TCP state as far as the wire shows it. */
static uint8_t tcp_state_of(const flow *f, int s) {
  const flow_side *me = &f->side[s], *peer = &f->side[!s];
  switch (f->state) {
  case FLOW_SYN_SENT:
    return s == 0 ? ST_TCP_SYN_SENT : ST_TCP_LISTEN;
  case FLOW_SYN_RCVD:
    return s == 0 ? ST_TCP_SYN_SENT : ST_TCP_SYN_RECV;
  case FLOW_CLOSED:
    if (!fin_unacked(f))
      return ST_TCP_CLOSE;
    return me->fin_acked ? ST_TCP_TIME_WAIT : ST_TCP_LAST_ACK;
  default:
    if (me->fin_reported)
      return me->fin_acked ? ST_TCP_FIN_WAIT2 : ST_TCP_FIN_WAIT1;
    return peer->fin_reported ? ST_TCP_CLOSE_WAIT : ST_TCP_ESTABLISHED;
  }
}

/* A RST from side s. Before establishment it answers a connect; after it,
 * in any state until both FINs are acknowledged, it is an abort for the
 * side that receives it (the client sent FIN and the server answered RST:
 * not a clean close). */
static void tcp_reset(st_pcap_tracker *t, flow *f, int s) {
  if (f->state == FLOW_CLOSED && !fin_unacked(f)) {
    t->stats.stray++;
    return;
  }
  if (f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RCVD) {
    /* The passive side refusing, or the initiator giving up. */
    flow_connect_done(t, f, st_status_portable(s == 1 ? ST_REFUSED : ST_ABORTED),
                      s == 1 ? "SYN answered by RST" : "initiator reset its own connect");
    f->state = FLOW_CLOSED;
    return;
  }
  st_event *ev;
  ev = flow_event(t, f, s, ST_PROVIDER_EXT, ST_EV_TCP_RESET_SENT, ST_EE_TRANSPORT, ST_KW_TRANSPORT);
  ev->old_state = ev->new_state = tcp_state_of(f, s);
  ev->has |= ST_HAS_STATE;
  tracker_emit(t, ev);
  ev = flow_event(t, f, !s, ST_PROVIDER_AFD, ST_EV_ABORT, ST_EE_TRANSPORT, ST_KW_TRANSPORT);
  ev->reason = ST_ABORT_TRANSPORT_RESET;
  ev->status = st_status_portable(ST_RESET);
  ev->has |= ST_HAS_REASON | ST_HAS_STATUS;
  side_fail(&f->side[!s], ev->status);
  f->side[!s].exists = true;
  tracker_emit(t, ev);
  f->state = FLOW_CLOSED;
  f->reset = true;
}

/* A new flow from a segment that is not the first SYN: picked up
 * mid-stream. The side with a well-known port is taken as the server. */
static flow *tcp_midstream(st_pcap_tracker *t, const pkt_info *p) {
  bool src_initiates;
  if (p->tcp_flags & PKT_TH_SYN)
    src_initiates = false; /* a SYN-ACK: its receiver initiated */
  else if ((p->sport < 1024) != (p->dport < 1024))
    src_initiates = p->dport < 1024;
  else
    src_initiates = true;
  flow *f = flow_create(t, p, src_initiates, ST_FLAG_MIDSTREAM);
  if (f) /* both ends evidently have sockets; no connect was seen */
    f->side[0].exists = f->side[1].exists = true;
  return f;
}

static void tcp_packet(st_pcap_tracker *t, const pkt_info *p) {
  uint8_t fl = p->tcp_flags;
  bool syn = fl & PKT_TH_SYN, ack = fl & PKT_TH_ACK, rst = fl & PKT_TH_RST;
  bool fin = fl & PKT_TH_FIN;
  int s = 0;
  flow *f = flow_lookup(t, p, &s);
  if (f && f->state == FLOW_CLOSED && syn && !ack && s == 0 && f->side[0].seq_valid &&
      p->seq != f->side[0].isn) {
    flow_end(t, f, FLOW_END_REUSED); /* the port was reused for a new connect */
    f = NULL;
  }
  if (!f) {
    if (rst) {
      t->stats.stray++;
      return;
    }
    if (syn && !ack) {
      f = flow_create(t, p, true, 0);
      if (!f)
        return;
      f->state = FLOW_SYN_SENT;
      f->side[0].exists = true;
      st_event *ev;
      ev = flow_event(t, f, 0, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR, ST_EE_ENTER, ST_KW_WINSOCK);
      tracker_emit(t, ev);
    } else if (!(f = tcp_midstream(t, p))) {
      return;
    }
    flow_lookup(t, p, &s);
  }
  flow_touch(t, f);
  flow_side *me = &f->side[s];
  bool retrans = tcp_seq_update(me, p);
  if (retrans) {
    me->retrans++;
    st_event *ev;
    ev = flow_event(t, f, s, ST_PROVIDER_EXT, ST_EV_TCP_RETRANSMIT, ST_EE_TRANSPORT,
                    ST_KW_TRANSPORT);
    ev->old_state = ev->new_state = tcp_state_of(f, s);
    ev->bytes = p->payload_len;
    ev->has |= ST_HAS_STATE | ST_HAS_BYTES;
    tracker_emit(t, ev);
  }
  if (rst) {
    tcp_reset(t, f, s);
    return;
  }
  flow_side *peer = &f->side[!s];
  if (ack && peer->fin_reported && !seq_lt(p->ack, peer->fin_end))
    peer->fin_acked = true;
  if (f->state == FLOW_SYN_SENT && s == 1 && syn && ack)
    f->state = FLOW_SYN_RCVD;
  else if (f->state == FLOW_SYN_RCVD && s == 0 && ack && !syn)
    tcp_established(t, f);
  if (f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RCVD)
    return; /* data and FIN count once the connection exists */
  /* A retransmission's data was counted the first time; its flags may
   * still be news (the first FIN may have come before the handshake). */
  if (p->payload_len > 0 && !retrans) {
    me->bytes += p->payload_len;
    me->msgs++;
    if (tracker_wants(t, ST_LEVEL_VERBOSE)) {
      st_event *ev;
      ev = flow_event(t, f, !s, ST_PROVIDER_AFD, ST_EV_DATA_INDICATION_ADDR, ST_EE_TRANSPORT,
                      ST_KW_TRANSPORT);
      ev->bytes = p->payload_len;
      ev->has |= ST_HAS_BYTES;
      tracker_emit(t, ev);
    }
    if (is_dns(p))
      tcp_dns(t, f, s, p);
  }
  if (fin && !me->fin_reported && f->state != FLOW_CLOSED) {
    me->fin_reported = true;
    me->fin_end = p->seq + p->payload_len + 1u + (syn ? 1u : 0u);
    st_event *ev;
    ev = flow_event(t, f, !s, ST_PROVIDER_AFD, ST_EV_DISCONNECT, ST_EE_TRANSPORT, ST_KW_TRANSPORT);
    ev->status = st_status_portable(ST_OK);
    ev->has |= ST_HAS_STATUS;
    tracker_emit(t, ev);
    if (f->side[!s].fin_reported) {
      for (int i = 0; i < 2; i++) {
        ev = flow_event(t, f, i, ST_PROVIDER_AFD, ST_EV_CLEANUP, ST_EE_TRANSPORT, ST_KW_TRANSPORT);
        ev->status = st_status_portable(ST_OK);
        ev->has |= ST_HAS_STATUS;
        tracker_emit(t, ev);
      }
      f->state = FLOW_CLOSED;
    }
  }
}

static bool is_unicast(uint8_t family, const uint8_t *ip) {
  if (family == ST_FAMILY_INET6)
    return ip[0] != 0xff;
  if ((ip[0] & 0xf0) == 0xe0)
    return false;
  return !(ip[0] == 255 && ip[1] == 255 && ip[2] == 255 && ip[3] == 255);
}

static void udp_packet(st_pcap_tracker *t, const pkt_info *p) {
  int s = 0;
  flow *f = flow_lookup(t, p, &s);
  if (!f) {
    if (!(f = flow_create(t, p, true, 0)))
      return;
    s = 0;
  }
  flow_touch(t, f);
  flow_side *me = &f->side[s];
  me->exists = true;
  me->bytes += p->payload_len;
  me->msgs++;
  bool unicast = is_unicast(p->family, p->dst);
  if (unicast)
    f->side[!s].exists = true;
  if (tracker_wants(t, ST_LEVEL_VERBOSE)) {
    st_event *ev;
    ev = flow_event(t, f, s, ST_PROVIDER_AFD, ST_EV_SENDTO_ADDR, ST_EE_EXIT, ST_KW_WINSOCK);
    ev->bytes = p->payload_len;
    ev->status = st_status_portable(ST_OK);
    ev->has |= ST_HAS_BYTES | ST_HAS_STATUS;
    tracker_emit(t, ev);
    if (unicast) {
      ev = flow_event(t, f, !s, ST_PROVIDER_AFD, ST_EV_RECEIVEFROM_ADDR, ST_EE_EXIT, ST_KW_WINSOCK);
      ev->bytes = p->payload_len;
      ev->status = st_status_portable(ST_OK);
      ev->has |= ST_HAS_BYTES | ST_HAS_STATUS;
      tracker_emit(t, ev);
    }
  }
  if (is_dns(p))
    emit_dns(t, f, s, p->payload, p->payload_caplen);
}

/* What a connect or send would fail with, by ICMP code (as Linux maps
 * them: icmp_err_convert, icmpv6_err_convert). ST_OK: not an error for
 * the socket (fragmentation needed is path-MTU discovery). */
static st_code icmp_status(uint8_t family, uint8_t code) {
  if (family == ST_FAMILY_INET6) {
    switch (code) {
    case 0: /* no route */
      return ST_NET_UNREACHABLE;
    case 1: /* administratively prohibited */
    case 5: /* source address failed policy */
    case 6: /* reject route */
      return ST_ACCESS_DENIED;
    case 4: /* port unreachable */
      return ST_REFUSED;
    default: /* beyond scope, address unreachable */
      return ST_HOST_UNREACHABLE;
    }
  }
  switch (code) {
  case 0:
  case 6:
  case 9:
  case 11: /* net unreachable / unknown / prohibited / TOS */
    return ST_NET_UNREACHABLE;
  case 2: /* protocol unreachable */
  case 5: /* source route failed */
    return ST_OTHER;
  case 3:
    return ST_REFUSED;
  case 4:
    return ST_OK;
  default:
    return ST_HOST_UNREACHABLE;
  }
}

static void icmp_packet(st_pcap_tracker *t, const pkt_info *p) {
  bool v6 = p->proto == PKT_IPPROTO_ICMPV6;
  if (p->icmp_type != (v6 ? 1 : 3))
    return; /* only destination unreachable tells a socket anything */
  st_code code = icmp_status(p->family, p->icmp_code);
  if (code == ST_OK)
    return;
  pkt_info q;
  if (pkt_decode_quoted(p->payload, p->payload_caplen, &q) != PKT_OK || q.family != p->family) {
    t->stats.icmp_unmatched++;
    return;
  }
  int s = 0;
  q.tunnel = p->tunnel; /* the quote travelled the same tunnel */
  flow *f = flow_lookup(t, &q, &s);
  if (!f && q.proto == PKT_IPPROTO_UDP) {
    /* The datagram is not in the capture (filtered to ICMP, or started
     * late), but the quote names its socket: a flow picked up mid-stream,
     * its sender first. A quoted TCP segment says nothing so certain. */
    f = flow_create(t, &q, true, ST_FLAG_MIDSTREAM);
    if (f)
      f->side[0].exists = true;
  }
  if (!f) {
    t->stats.icmp_unmatched++;
    return;
  }
  /* Matched: the capture holds what it answers (an orphan's flow may see
   * a second unreachable before any datagram). */
  if (f->proto == PKT_IPPROTO_UDP && f->side[s].msgs == 0)
    t->stats.icmp_unmatched++;
  else
    t->stats.icmp_matched++;
  flow_touch(t, f);
  char detail[ST_DETAIL_MAX], from[64];
  st_addr router;
  memset(&router, 0, sizeof router);
  router.family = p->family;
  memcpy(router.addr, p->src, 16);
  st_addr_format_ip(&router, from, sizeof from);
  snprintf(detail, sizeof detail, "%s destination unreachable code %u from %s",
           v6 ? "ICMPv6" : "ICMP", p->icmp_code, from);
  st_status st = st_status_portable(code);
  if (f->proto == PKT_IPPROTO_TCP) {
    /* Only a connect in progress fails; on an open connection Linux and
     * Windows treat unreachables as soft errors. */
    if (s == 0 && (f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RCVD)) {
      flow_connect_done(t, f, st, detail);
      f->state = FLOW_CLOSED;
    }
    return;
  }
  st_event *ev;
  ev = flow_event(t, f, s, ST_PROVIDER_AFD, ST_EV_RECEIVEFROM_ADDR, ST_EE_TRANSPORT,
                  ST_KW_TRANSPORT);
  ev->level = ST_LEVEL_INFO; /* a failed receive is Information, not Verbose */
  ev->status = st;
  ev->bytes = 0;
  flow_detail(ev, f, detail);
  ev->has |= ST_HAS_STATUS | ST_HAS_BYTES;
  side_fail(&f->side[s], st);
  tracker_emit(t, ev);
}

static void dispatch(st_pcap_tracker *t, const pkt_info *p) {
  switch (p->proto) {
  case PKT_IPPROTO_TCP:
    tcp_packet(t, p);
    break;
  case PKT_IPPROTO_UDP:
    udp_packet(t, p);
    break;
  case PKT_IPPROTO_ICMP:
  case PKT_IPPROTO_ICMPV6:
    if ((p->proto == PKT_IPPROTO_ICMPV6) == (p->family == ST_FAMILY_INET6))
      icmp_packet(t, p);
    break;
  default:
    t->stats.unsupported++;
  }
}

/* A fragment: when it completes its datagram, decode that as a packet. */
static void fragment(st_pcap_tracker *t, pkt_info *p) {
  t->stats.fragments++;
  const uint8_t *data;
  uint32_t len;
  uint8_t proto;
  if (!pkt_reasm_add(t->reasm, p, t->now, &data, &len, &proto))
    return;
  t->stats.reassembled++;
  uint32_t off = 0;
  if (p->family == ST_FAMILY_INET6) {
    pkt_frag inner;
    if (pkt_ipv6_walk(data, len, &proto, &off, &inner) != PKT_OK) {
      t->stats.malformed++;
      return;
    }
  }
  pkt_verdict v = pkt_decode_transport(proto, data + off, len - off, len - off, p);
  if (v == PKT_OK)
    dispatch(t, p);
  else if (v == PKT_NOT_IP)
    t->stats.not_ip++;
  else if (v == PKT_UNSUPPORTED || v == PKT_FRAGMENT)
    t->stats.unsupported++; /* a fragment inside a reassembled tunnel packet: not rebuilt */
  else
    t->stats.malformed++;
}

void st_pcap_tracker_packet(st_pcap_tracker *t, int linktype, uint64_t ts_ns, const uint8_t *bytes,
                            uint32_t caplen, uint32_t len) {
  t->stats.packets++;
  if (!t->stats.first_ts_ns)
    t->stats.first_ts_ns = ts_ns;
  if (ts_ns > t->stats.last_ts_ns)
    t->stats.last_ts_ns = ts_ns;
  if (ts_ns >= t->next_sweep) {
    st_pcap_tracker_expire(t, ts_ns);
    t->next_sweep = ts_ns + SWEEP_INTERVAL_NS;
  }
  t->now = ts_ns;
  if (caplen > len)
    caplen = len;
  pkt_info p;
  pkt_verdict v = pkt_decode_frame(linktype, bytes, caplen, &p);
  switch (v) {
  case PKT_OK:
    dispatch(t, &p);
    break;
  case PKT_FRAGMENT:
    fragment(t, &p);
    break;
  case PKT_NOT_IP:
    t->stats.not_ip++;
    break;
  case PKT_TRUNCATED:
    t->stats.truncated++;
    break;
  case PKT_MALFORMED:
    t->stats.malformed++;
    break;
  case PKT_UNSUPPORTED:
    t->stats.unsupported++;
    break;
  }
}
