/*
 * The data path: sends and receives. Level 5 reports every call; level 4
 * only failed ones. The calls of datagram and unix sockets are counted for
 * their summaries where the socket layer's tracepoints are (TCP keeps its
 * own counters, read at close).
 *
 * Since Linux 6.3 the socket layer has sock:sock_send_length and
 * sock:sock_recv_length, which see every path (send*, recv*, read, write,
 * io_uring). Older kernels have only the syscalls: sendto, sendmsg,
 * sendmmsg, recvfrom, recvmsg, recvmmsg (read/write on a socket are not
 * seen there). A receive's sender address reaches user memory only when the
 * syscall returns, so recvfrom/recvmsg with an address on a datagram socket
 * is reported from the syscall's exit on every kernel.
 *
 * DNS messages (dns.bpf.h) are looked for here too, before anything else
 * decides the call is not worth a record.
 */
#include "data.bpf.h"

/* A datagram or unix socket's call, counted for its summary. */
static __always_inline void count_call(struct sock *sk, long ret, bool send) {
  struct st_bpf_dgram_counts *c = dgram_slot((__u64)sk, true);

  if (!c)
    return;
  if (send) {
    __sync_fetch_and_add(&c->sends, 1);
    __sync_fetch_and_add(&c->bytes_sent, ret);
  } else {
    __sync_fetch_and_add(&c->receives, 1);
    __sync_fetch_and_add(&c->bytes_received, ret);
  }
}

/* ---- sock_send_length / sock_recv_length (6.3+) -------------------------- */

static __always_inline int sock_length(struct sock *sk, long ret, int flags, bool send) {
  struct st_bpf_addr a = {};
  struct st_bpf_sock s;
  struct pt_regs rbuf, *regs;
  __u8 call = ST_BPF_CALL_PLAIN;
  bool have_peer = false;

  s.family = sk->__sk_common.skc_family;
  s.protocol = sk->sk_protocol;
  /* TCP counts its own bytes; the others' calls are counted here for their
   * summaries, at every level. */
  if (count_datagrams && ret > 0 && s.protocol != IPPROTO_TCP && family_ok(s.family) &&
      current_ok() && !(flags & MSG_PEEK))
    count_call(sk, ret, send);
  if (ret > 0 && dns_on() && !(flags & MSG_PEEK))
    have_peer = dns_on_length(sk, s.family, s.protocol, ret, send, &a);
  if (!worth_reporting(ret))
    return 0;
  if (!family_ok(s.family) || !current_ok())
    return 0;
  s.type = sk->sk_type;
  s.pad = 0;
  if (ret >= 0 && !kw_ok(type_kw(s.type) | ST_BPF_KW_WINSOCK))
    return 0;
  if ((regs = syscall_regs(&rbuf))) {
    call = call_of(SYS_NR(regs));
    /* The exit of recvfrom/recvmsg reports a datagram with its sender. */
    if (!send && ret >= 0 && s.type == SOCK_DGRAM && recv_wants_address(regs, call))
      return 0;
    if (send && !have_peer)
      call_address(&a, regs, call, true);
  }
  if (!port_ok(sk->__sk_common.skc_num, bpf_ntohs(sk->__sk_common.skc_dport)) &&
      !port_ok(0, a.port))
    return 0;
  emit_data(sk, &s, ret, send, call, &a, flags & MSG_PEEK);
  return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(send_length, struct sock *sk, int ret, int flags) {
  return sock_length(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_length, struct sock *sk, int ret, int flags) {
  return sock_length(sk, ret, flags, false);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(struct trace_event_raw_sys_exit *ctx) {
  return sys_data(ctx->ret, true, false);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx) {
  return sys_data(ctx->ret, true, false);
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int exit_sendmmsg(struct trace_event_raw_sys_exit *ctx) {
  return sys_data(ctx->ret, true, false);
}

SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int exit_recvmmsg(struct trace_event_raw_sys_exit *ctx) {
  return sys_data(ctx->ret, false, false);
}

/* ---- level 5: data indications (sock:sk_data_ready, 6.4+) ----------------- */

SEC("tp_btf/sk_data_ready")
int BPF_PROG(data_ready, struct sock *sk) {
  struct st_bpf_rec_stack *r;
  __u16 family = sk->__sk_common.skc_family, type = sk->sk_type;
  __u32 waiting = 0;

  if (!verbose() || !family_ok(family) || sk->__sk_common.skc_state == TCP_LISTEN)
    return 0; /* a listener's data is a connection */
  if (!kw_ok(type_kw(type) | ST_BPF_KW_TRANSPORT) || !sk_traced(sk))
    return 0;
  if (!port_ok(sk->__sk_common.skc_num, bpf_ntohs(sk->__sk_common.skc_dport)))
    return 0;
  if (sk->sk_protocol == IPPROTO_TCP && family != AF_UNIX) {
    struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
    if (tp)
      waiting = tp->rcv_nxt - tp->copied_seq;
  }
  r = REC_NEW(struct st_bpf_rec_stack, ST_K_DATA_READY, sk, 0);
  if (!r)
    return 0;
  r->arg = waiting;
  r->sport = sk->__sk_common.skc_num;
  r->dport = bpf_ntohs(sk->__sk_common.skc_dport);
  rec_submit(r);
  return 0;
}
