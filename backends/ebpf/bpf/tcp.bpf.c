/*
 * The TCP/IP stack: state changes, connect completions, resets,
 * retransmits and the end of a TCP socket. These run in whatever context
 * the stack is in (softirq, a timer, another process), so records carry no
 * owner: user space knows whose socket it is. BTF-typed raw tracepoints
 * (tp_btf) hand over the socket itself, read without helper calls, and cost
 * less than the classic tracepoints' record building.
 */
#include "common.bpf.h"

static __always_inline __u16 lport(const struct sock *sk) {
  return sk->__sk_common.skc_num;
}

static __always_inline __u16 rport(const struct sock *sk) {
  return bpf_ntohs(sk->__sk_common.skc_dport);
}

/* Addresses from the socket's common part (full, request and time-wait
 * sockets all have it). */
static __always_inline void skc_addrs(const struct sock *sk, struct st_bpf_addr *l,
                                      struct st_bpf_addr *r) {
  __u16 family = sk->__sk_common.skc_family;

  __builtin_memset(l, 0, sizeof(*l));
  __builtin_memset(r, 0, sizeof(*r));
  if (family == AF_INET) {
    *(__u32 *)l->addr = sk->__sk_common.skc_rcv_saddr;
    *(__u32 *)r->addr = sk->__sk_common.skc_daddr;
  } else if (family == AF_INET6) {
    for (int i = 0; i < 4; i++) {
      ((__u32 *)l->addr)[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
      ((__u32 *)r->addr)[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
    }
  } else {
    return;
  }
  l->family = r->family = family;
  l->port = lport(sk);
  r->port = rport(sk);
}

/* Addresses of the segment a reset answers, seen from our side. */
static __always_inline void skb_addrs(const struct sk_buff *skb, struct st_bpf_addr *l,
                                      struct st_bpf_addr *r) {
  unsigned char *head = skb->head;
  __u16 nh = skb->network_header, th = skb->transport_header;
  __u8 ver = 0;
  __u16 ports[2] = {};

  __builtin_memset(l, 0, sizeof(*l));
  __builtin_memset(r, 0, sizeof(*r));
  bpf_probe_read_kernel(&ver, 1, head + nh);
  ver >>= 4;
  if (ver == 4) {
    bpf_probe_read_kernel(r->addr, 4, head + nh + offsetof(struct iphdr, saddr));
    bpf_probe_read_kernel(l->addr, 4, head + nh + offsetof(struct iphdr, daddr));
    l->family = r->family = AF_INET;
  } else if (ver == 6) {
    bpf_probe_read_kernel(r->addr, 16, head + nh + offsetof(struct ipv6hdr, saddr));
    bpf_probe_read_kernel(l->addr, 16, head + nh + offsetof(struct ipv6hdr, daddr));
    l->family = r->family = AF_INET6;
  } else {
    return;
  }
  bpf_probe_read_kernel(ports, sizeof(ports), head + th);
  r->port = bpf_ntohs(ports[0]);
  l->port = bpf_ntohs(ports[1]);
}

static __always_inline struct st_bpf_rec_stack *stack_rec(const struct sock *sk, __u16 kind,
                                                          __s32 ret, __u32 arg) {
  struct st_bpf_rec_stack *r = REC_NEW(struct st_bpf_rec_stack, kind, sk, ret);
  if (r) {
    r->arg = arg;
    r->sport = lport(sk);
    r->dport = rport(sk);
  }
  return r;
}

static __always_inline struct st_bpf_rec_flow *flow_rec(const struct sock *sk, __u16 kind,
                                                        __u32 arg) {
  struct st_bpf_rec_flow *r = REC_NEW(struct st_bpf_rec_flow, kind, sk, 0);
  if (r) {
    r->arg = arg;
    r->pid = 0;
    __builtin_memset(r->comm, 0, sizeof(r->comm));
    skc_addrs(sk, &r->local, &r->remote);
  }
  return r;
}

static __always_inline bool stack_ok(const struct sock *sk) {
  return sk_traced(sk) && port_ok(lport(sk), rport(sk));
}

static __always_inline __u64 child_listener_key(const struct sock *sk) {
  __u64 ns = sk->__sk_common.skc_net.net->ns.inum;
  return ns << 16 | lport(sk);
}

/* A connection finished its handshake on a listener: at level 5 a connect
 * indication; in a scoped session the child is traced when its listener
 * is. */
static __always_inline void child_established(const struct sock *sk) {
  __u64 key = child_listener_key(sk);
  __u64 *lsk = bpf_map_lookup_elem(&listeners, &key);
  struct st_bpf_rec_flow *r;

  /* A listener that died without closing leaves a stale entry behind. */
  if (!lsk || BPF_CORE_READ((struct sock *)*lsk, __sk_common.skc_state) != TCP_LISTEN)
    return;
  /* Softirq: the child's owner is its listener's, not the current task. */
  __u64 *owner = settings.scoped ? traced_cg(*lsk) : NULL;
  sk_mark_traced_by(sk, true, owner ? *owner : 0);
  if (!verbose() || !kw_ok(ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT) ||
      !port_ok(lport(sk), rport(sk)))
    return;
  r = flow_rec(sk, ST_K_CHILD, BPF_CORE_READ((struct sock *)*lsk, sk_ack_backlog));
  if (r)
    rec_submit(r);
}

/* The stack ends a connect inside the connect() call of the socket's own
 * thread (on loopback it does, before the call returns or sleeps): the
 * call's exit reads the outcome from the socket (ST_BPF_F_STATE), so no
 * record is needed here. Not once the body has returned: the exit may have
 * read the socket already. */
static __always_inline bool in_own_connect(const struct sock *sk) {
  struct pt_regs *regs;
  struct socket *so;

  if (!have_task_pt_regs)
    return false;
  regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  if (SYS_NR(regs) != NR_CONNECT || !SYS_IN_BODY(regs))
    return false;
  so = sk->sk_socket;
  return so && (__u64)so->file == (__u64)fd_file(SYS_ARG1(regs));
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(set_state, const struct sock *sk, const int old, const int new) {
  struct st_bpf_rec_stack *r;
  bool v = verbose();

  if (sk->sk_protocol != IPPROTO_TCP)
    return 0;
  /* Level 4 wants a connect's end, the peer's FIN and new connections of a
   * scoped session's listeners; everything else returns here. */
  if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED) {
    if (v || settings.scoped)
      child_established(sk);
    return 0;
  }
  if (!v && old != TCP_SYN_SENT && new != TCP_CLOSE_WAIT)
    return 0;
  if (!stack_ok(sk))
    return 0;
  if (old == TCP_SYN_SENT && !in_own_connect(sk)) {
    r = stack_rec(sk, ST_K_CONN_DONE, new == TCP_ESTABLISHED ? 0 : -sk->sk_err, 0);
    if (r)
      rec_submit(r);
  }
  if (v || new == TCP_CLOSE_WAIT) {
    r = stack_rec(sk, ST_K_STATE, 0, (__u32)old << 8 | new);
    if (r)
      rec_submit(r);
  }
  return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(receive_reset, struct sock *sk) {
  struct st_bpf_rec_flow *r;

  /* A reset answering our SYN is a refused connect, told by connect. */
  if (sk->__sk_common.skc_state == TCP_SYN_SENT || !stack_ok(sk))
    return 0;
  r = flow_rec(sk, ST_K_RESET_RECV, sk->__sk_common.skc_state);
  if (r)
    rec_submit(r);
  return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(send_reset, const struct sock *sk, const struct sk_buff *skb) {
  struct st_bpf_rec_flow *r;
  bool full = false;
  __u32 state = 0;

  if (sk) {
    state = sk->__sk_common.skc_state;
    full = state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV;
  }
  /* No socket of ours (a closed port, a time-wait socket): only an
   * unscoped session takes it, with the current process as a guess. */
  if (full ? !sk_traced(sk) : settings.scoped)
    return 0;
  r = REC_NEW(struct st_bpf_rec_flow, ST_K_RESET_SENT, full ? sk : 0, 0);
  if (!r)
    return 0;
  r->arg = state;
  r->pid = 0;
  __builtin_memset(r->comm, 0, sizeof(r->comm));
  if (!full) {
    r->pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(r->comm, sizeof(r->comm));
  }
  if (sk) {
    skc_addrs(sk, &r->local, &r->remote);
    /* Closing released the port number; the socket still has its port. */
    if (full && !r->local.port)
      r->local.port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
  } else if (skb)
    skb_addrs(skb, &r->local, &r->remote);
  else
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
  if (!skb)
    r->h.flags = ST_BPF_F_NO_SEGMENT; /* an abort by other means than close */
  if (!port_ok(r->local.port, r->remote.port)) {
    bpf_ringbuf_discard(r, 0);
    return 0;
  }
  rec_submit(r);
  return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(retransmit, const struct sock *sk, const struct sk_buff *skb) {
  struct st_bpf_rec_flow *r;

  if (!stack_ok(sk))
    return 0;
  r = flow_rec(sk, ST_K_RETRANSMIT, sk->__sk_common.skc_state);
  if (r)
    rec_submit(r);
  return 0;
}

/* The kernel frees a TCP socket. One its application closed has been
 * told, and close() marked it (closed_mark): nothing to send. One it never
 * closed (its process died) ends here, with its final counters. A closed
 * one close() could not mark sends its record too; user space drops it
 * (the expander saw the socket closed). The mark is taken before anything
 * else, so that no mark outlives its socket. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(destroy_sock, struct sock *sk) {
  struct st_bpf_rec_close *r;
  struct tcp_sock *tp;

  if (closed_take((__u64)sk)) {
    sk_forget(sk);
    return 0;
  }
  if (!sk_traced(sk))
    return 0;
  sk_forget(sk);
  if (!port_ok(lport(sk), rport(sk)))
    return 0;
  r = REC_NEW(struct st_bpf_rec_close, ST_K_DESTROY, sk, 0);
  if (!r)
    return 0;
  __builtin_memset(&r->p, 0, sizeof(r->p));
  r->s.family = sk->__sk_common.skc_family;
  r->s.type = sk->sk_type;
  r->s.protocol = IPPROTO_TCP;
  r->s.pad = 0;
  r->state = sk->__sk_common.skc_state;
  r->pad = 0;
  skc_addrs(sk, &r->local, &r->remote);
  __builtin_memset(&r->c, 0, sizeof(r->c));
  tp = bpf_skc_to_tcp_sock(sk);
  if (tp) {
    r->c.bytes_sent = tp->bytes_sent - tp->bytes_retrans;
    r->c.bytes_received = tp->bytes_received;
    if (r->c.bytes_received &&
        (sk->__sk_common.skc_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
      r->c.bytes_received--; /* the peer's FIN */
    r->c.retransmits = tp->total_retrans;
    r->c.rtt_us = tp->srtt_us >> 3;
    r->h.flags = ST_BPF_F_TCP_INFO;
  }
  rec_submit(r);
  return 0;
}
