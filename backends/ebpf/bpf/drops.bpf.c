/*
 * Packets the stack dropped on a socket's way in. Newer kernels' skb:kfree_skb
 * names the receiving socket (rx_sk) and the kernel's reason. Before that,
 * only UDP's queue failures (udp:udp_fail_queue_rcv_skb) name a socket, and
 * hand over the packet only on newer kernels; on older ones (6.1) the
 * kfree_skb that frees the packet just before it, on the same CPU, gives
 * its size, sender and reason. The loader picks the programs this kernel
 * can run.
 */
#include "common.bpf.h"

/* The source of a dropped datagram, from its IP and UDP headers; returns
 * its destination port. */
static __always_inline __u16 skb_source(struct st_bpf_addr *a, const struct sk_buff *skb,
                                        __u16 family) {
  unsigned char *head = skb->head;
  __u16 nh = skb->network_header, th = skb->transport_header, ports[2] = {};

  if (family == AF_INET) {
    bpf_probe_read_kernel(a->addr, 4, head + nh + offsetof(struct iphdr, saddr));
  } else if (family == AF_INET6) {
    bpf_probe_read_kernel(a->addr, 16, head + nh + offsetof(struct ipv6hdr, saddr));
  } else {
    return 0;
  }
  bpf_probe_read_kernel(ports, sizeof(ports), head + th);
  a->family = family;
  a->port = bpf_ntohs(ports[0]);
  return bpf_ntohs(ports[1]);
}

/* A packet freed by kfree_skb, kept for the UDP queue failure that follows
 * it on the same CPU (kernels whose udp_fail_queue_rcv_skb has no packet). */
struct drop_stash {
  __u64 ts;
  __s32 reason;
  __u32 bytes;
  __u16 to_port; /* matched against the socket's port */
  __u16 pad;
  struct st_bpf_addr from;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct drop_stash);
} drop_stash SEC(".maps");

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define STASH_NS 100000000 /* the two tracepoints follow each other at once */

static __always_inline void emit_drop(const struct sock *sk, __s32 reason, __u8 flags, __u32 bytes,
                                      const struct st_bpf_addr *from) {
  struct st_bpf_rec_drop *r;
  __u16 family = sk->__sk_common.skc_family;

  if (!family_ok(family) || !sk_traced(sk) ||
      !port_ok(sk->__sk_common.skc_num, bpf_ntohs(sk->__sk_common.skc_dport)))
    return;
  r = REC_NEW(struct st_bpf_rec_drop, ST_K_DROP, sk, reason);
  if (!r)
    return;
  r->h.flags = flags;
  r->s.family = family;
  r->s.type = sk->sk_type;
  r->s.protocol = sk->sk_protocol;
  r->s.pad = 0;
  r->pad = 0;
  r->bytes = bytes;
  r->remote = *from;
  rec_submit(r);
}

static __always_inline void emit_skb_drop(const struct sock *sk, const struct sk_buff *skb,
                                          __s32 reason, __u8 flags) {
  struct st_bpf_addr from = {};
  if (skb && sk->sk_type == SOCK_DGRAM)
    skb_source(&from, skb, sk->__sk_common.skc_family);
  emit_drop(sk, reason, flags, skb ? skb->len : 0, &from);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_rx, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
             struct sock *rx_sk) {
  if (!rx_sk || reason <= bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
    return 0;
  emit_skb_drop(rx_sk, skb, reason, 0);
  return 0;
}

SEC("tp_btf/udp_fail_queue_rcv_skb")
int BPF_PROG(udp_queue_fail_skb, int rc, struct sock *sk, struct sk_buff *skb) {
  emit_skb_drop(sk, skb, rc, ST_BPF_F_QUEUE_FAIL);
  return 0;
}

/* Kernels with a drop reason but no rx_sk: a receive-buffer drop's packet,
 * for the UDP queue failure that follows. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_stash, struct sk_buff *skb, void *location, enum skb_drop_reason reason) {
  __u32 zero = 0;
  struct drop_stash *st;
  __u16 proto;

  if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_RCVBUFF) &&
      reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_PROTO_MEM))
    return 0;
  st = bpf_map_lookup_elem(&drop_stash, &zero);
  if (!st)
    return 0;
  proto = bpf_ntohs(skb->protocol);
  __builtin_memset(&st->from, 0, sizeof(st->from));
  st->to_port = skb_source(&st->from, skb,
                           proto == ETH_P_IP     ? AF_INET
                           : proto == ETH_P_IPV6 ? AF_INET6
                                                 : 0);
  st->bytes = skb->len;
  st->reason = reason;
  st->ts = bpf_ktime_get_ns();
  return 0;
}

SEC("tp_btf/udp_fail_queue_rcv_skb")
int BPF_PROG(udp_queue_fail, int rc, struct sock *sk) {
  struct st_bpf_addr none = {};
  __u32 zero = 0;
  struct drop_stash *st = bpf_map_lookup_elem(&drop_stash, &zero);

  if (st && st->ts && st->to_port == sk->__sk_common.skc_num &&
      bpf_ktime_get_ns() - st->ts < STASH_NS) {
    st->ts = 0;
    emit_drop(sk, st->reason, 0, st->bytes, &st->from);
    return 0;
  }
  emit_drop(sk, rc, ST_BPF_F_QUEUE_FAIL, 0, &none);
  return 0;
}
