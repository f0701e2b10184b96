/*
 * The socket calls an application makes: socket, bind, listen, connect,
 * accept, shutdown and the last close of a socket, from the syscall
 * tracepoints every kernel has. Each sends one record from the calling
 * thread; the call's arguments are read at exit from the registers the
 * syscall was entered with, so no map carries them from enter to exit.
 * connect is the exception: its start is an event of its own.
 */
#include "data.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* A record from a syscall, about socket sk (which may be NULL). */
#define SYS_REC(type, kind, sk, ret)                                                               \
  ({                                                                                               \
    type *r_ = REC_NEW(type, kind, sk, ret);                                                       \
    if (r_)                                                                                        \
      proc_fill(&r_->p);                                                                           \
    r_;                                                                                            \
  })

/* The same with room for a unix path after the record. */
static __always_inline void *sys_rec_path(__u64 size, __u16 kind, struct sock *sk, __s32 ret) {
  struct st_bpf_rec_sock *r = rec_new(size + ST_BPF_PATH_MAX, kind, (__u64)sk, ret);
  if (r)
    proc_fill(&r->p);
  return r;
}

/* The path a unix socket is bound to (an accepted socket shares its
 * listener's), after the record of size sz. */
static __always_inline void unix_bound_path(struct st_bpf_hdr *h, __u64 sz, struct sock *sk) {
  struct unix_sock *u = (struct unix_sock *)sk;
  struct unix_address *a = BPF_CORE_READ(u, addr);
  int len;

  if (!a)
    return;
  len = BPF_CORE_READ(a, len) - 2;
  if (len <= 0)
    return;
  if (len > ST_BPF_PATH_MAX)
    len = ST_BPF_PATH_MAX;
  bpf_probe_read_kernel((char *)h + sz, ST_BPF_PATH_MAX, &a->name[0].sun_path);
  h->path_len = len;
}

/* A path from a sockaddr_un the application passed. */
static __always_inline void unix_user_path(struct st_bpf_hdr *h, __u64 sz, const void *uaddr,
                                           __u32 ulen) {
  __u64 n = ulen;

  barrier_var(n);
  if (!uaddr || n <= 2)
    return;
  n -= 2;
  if (n > ST_BPF_PATH_MAX)
    n = ST_BPF_PATH_MAX;
  bpf_probe_read_user((char *)h + sz, n, (const char *)uaddr + 2);
  h->path_len = n;
}

/* ---- socket() ------------------------------------------------------------ */

static __always_inline int exit_socket_body(struct trace_event_raw_sys_exit *ctx, const bool cast) {
  struct st_bpf_rec_sock *r;
  struct st_bpf_sock s = {};
  struct pt_regs rbuf, *regs;
  struct sock *sk = NULL;
  long ret = ctx->ret;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  s.family = SYS_ARG1(regs);
  s.type = SYS_ARG2(regs) & 0xf;
  s.protocol = SYS_ARG3(regs);
  if (!family_ok(s.family))
    return 0;
  if (ret >= 0) {
    sk = fd_to_sock_c(ret, cast);
    if (sk)
      s.protocol = cast ? sk->sk_protocol : BPF_CORE_READ(sk, sk_protocol); /* what 0 chose */
  }
  r = SYS_REC(struct st_bpf_rec_sock, ST_K_CREATE, sk, ret < 0 ? ret : 0);
  if (!r)
    return 0;
  r->s = s;
  r->arg = r->pad = 0;
  rec_submit(r);
  sk_mark_traced(sk, true);
  /* A socket that died unclosed at this address left its counts. */
  if (count_datagrams && sk && s.protocol != IPPROTO_TCP)
    dgram_take((__u64)sk, NULL);
  return 0;
}

SOCKET_CALL(exit_socket, "tracepoint/syscalls/sys_exit_socket", struct trace_event_raw_sys_exit,
            exit_socket_body)

/* ---- bind() / listen() / shutdown() -------------------------------------- */

static __always_inline int exit_bind_body(struct trace_event_raw_sys_exit *ctx, const bool cast) {
  struct st_bpf_rec_addr *r;
  struct st_bpf_addr want = {};
  struct sk_view v;
  struct pt_regs rbuf, *regs;
  struct sock *sk;
  void *uaddr;
  __u32 ulen;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  sk = fd_to_sock_c(SYS_ARG1(regs), cast);
  if (!sk || !sk_view_c(sk, &v, cast))
    return 0;
  uaddr = (void *)SYS_ARG2(regs);
  ulen = SYS_ARG3(regs);
  if (v.h.family == AF_UNIX) {
    r = sys_rec_path(sizeof(*r), ST_K_BIND, sk, ctx->ret);
    if (!r)
      return 0;
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
    unix_user_path(&r->h, sizeof(*r), uaddr, ulen);
  } else {
    user_sockaddr(&want, uaddr, ulen);
    if (!port_ok(want.port, 0))
      return 0;
    r = SYS_REC(struct st_bpf_rec_addr, ST_K_BIND, sk, ctx->ret);
    if (!r)
      return 0;
    sk_addrs(sk, &v, &r->local, &r->remote);
    if (ctx->ret < 0 || !r->local.family)
      r->local = want; /* what was asked for; the socket has no address */
  }
  sk_kind(&v, &r->s);
  r->arg = 0;
  rec_submit(r);
  sk_mark_traced(sk, false);
  return 0;
}

SOCKET_CALL(exit_bind, "tracepoint/syscalls/sys_exit_bind", struct trace_event_raw_sys_exit,
            exit_bind_body)

static __always_inline __u64 listener_key(struct sock *sk, __u16 port) {
  __u64 ns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  return ns << 16 | port;
}

static __always_inline int exit_listen_body(struct trace_event_raw_sys_exit *ctx, const bool cast) {
  struct st_bpf_rec_addr *r;
  struct sk_view v;
  struct pt_regs rbuf, *regs;
  struct sock *sk;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  sk = fd_to_sock_c(SYS_ARG1(regs), cast);
  if (!sk || !sk_view_c(sk, &v, cast) || !view_ports_ok(&v))
    return 0;
  if (v.h.family == AF_UNIX) {
    r = sys_rec_path(sizeof(*r), ST_K_LISTEN, sk, ctx->ret);
    if (!r)
      return 0;
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
    unix_bound_path(&r->h, sizeof(*r), sk);
  } else {
    r = SYS_REC(struct st_bpf_rec_addr, ST_K_LISTEN, sk, ctx->ret);
    if (!r)
      return 0;
    sk_addrs(sk, &v, &r->local, &r->remote);
  }
  sk_kind(&v, &r->s);
  r->arg = SYS_ARG2(regs);
  rec_submit(r);
  sk_mark_traced(sk, false);
  if (ctx->ret == 0 && v.h.family != AF_UNIX && v.protocol == IPPROTO_TCP) {
    __u64 key = listener_key(sk, v.h.num), val = (__u64)sk;
    bpf_map_update_elem(&listeners, &key, &val, BPF_ANY);
  }
  return 0;
}

SOCKET_CALL(exit_listen, "tracepoint/syscalls/sys_exit_listen", struct trace_event_raw_sys_exit,
            exit_listen_body)

static __always_inline int exit_shutdown_body(struct trace_event_raw_sys_exit *ctx,
                                              const bool cast) {
  struct st_bpf_rec_sock *r;
  struct sk_view v;
  struct pt_regs rbuf, *regs;
  struct sock *sk;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  sk = fd_to_sock_c(SYS_ARG1(regs), cast);
  if (!sk || !sk_view_c(sk, &v, cast) || !view_ports_ok(&v))
    return 0;
  r = SYS_REC(struct st_bpf_rec_sock, ST_K_SHUTDOWN, sk, ctx->ret);
  if (!r)
    return 0;
  sk_kind(&v, &r->s);
  r->arg = SYS_ARG2(regs);
  rec_submit(r);
  return 0;
}

SOCKET_CALL(exit_shutdown, "tracepoint/syscalls/sys_exit_shutdown", struct trace_event_raw_sys_exit,
            exit_shutdown_body)

/* ---- connect() ----------------------------------------------------------- */

static __always_inline int enter_connect_body(struct trace_event_raw_sys_enter *ctx,
                                              const bool cast) {
  struct st_bpf_rec_addr *r;
  struct st_bpf_addr to = {};
  struct sk_view v;
  struct file *f;
  struct sock *sk;
  void *uaddr = (void *)ctx->args[1];
  __u32 ulen = ctx->args[2];

  if (!current_ok())
    return 0;
  f = fd_to_file_c(ctx->args[0], cast);
  sk = f ? file_to_sock_c(f, cast) : NULL;
  if (!sk || !sk_view_c(sk, &v, cast))
    return 0;
  /* An unbound socket's connect that does not wait (Go's, node's, curl's,
   * a resolver's UDP one) returns at once: its exit record carries its
   * start too, one record where there were two (about 250 ns). A bound
   * socket's start is sent here, as it has an address of its own to say. */
  if (v.h.family != AF_UNIX && !v.h.num && connect_at_once(f, &v, cast)) {
    sk_mark_traced(sk, false);
    return 0;
  }
  if (v.h.family == AF_UNIX) {
    r = sys_rec_path(sizeof(*r), ST_K_CONNECT, sk, 0);
    if (!r)
      return 0;
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
    unix_user_path(&r->h, sizeof(*r), uaddr, ulen);
  } else {
    user_sockaddr(&to, uaddr, ulen);
    if (!port_ok(v.h.num, to.port))
      return 0;
    r = SYS_REC(struct st_bpf_rec_addr, ST_K_CONNECT, sk, 0);
    if (!r)
      return 0;
    sk_addrs(sk, &v, &r->local, &r->remote);
    r->remote = to;
  }
  r->h.flags = ST_BPF_F_ENTER;
  sk_kind(&v, &r->s);
  r->arg = 0;
  rec_submit(r);
  sk_mark_traced(sk, false);
  return 0;
}

SOCKET_CALL(enter_connect, "tracepoint/syscalls/sys_enter_connect",
            struct trace_event_raw_sys_enter, enter_connect_body)

/* The socket's addresses now: the local port the connect bound. */
static __always_inline int exit_connect_body(struct trace_event_raw_sys_exit *ctx,
                                             const bool cast) {
  struct st_bpf_rec_addr *r;
  struct st_bpf_addr to = {};
  struct sk_view v;
  struct pt_regs rbuf, *regs;
  struct file *f;
  struct sock *sk;
  bool start;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  f = fd_to_file_c(SYS_ARG1(regs), cast);
  sk = f ? file_to_sock_c(f, cast) : NULL;
  if (!sk || !sk_view_c(sk, &v, cast))
    return 0;
  /* A connect that did not wait may have sent no start (enter_connect):
   * this record carries it, with the address asked for. User space uses
   * it when no start came (the socket was unbound). */
  start = v.h.family != AF_UNIX && connect_at_once(f, &v, cast);
  if (start) {
    user_sockaddr(&to, (void *)SYS_ARG2(regs), SYS_ARG3(regs));
    start = port_ok(v.h.num, to.port);
  }
  /* Before 6.3 a DNS socket is known by its descriptor (dns.bpf.h). */
  if (!have_sock_length && bpf_ntohs(v.h.dport) == DNS_PORT && dns_on() &&
      (ctx->ret == 0 || ctx->ret == -EINPROGRESS))
    dns_mark_fd(SYS_ARG1(regs));
  r = SYS_REC(struct st_bpf_rec_addr, ST_K_CONNECT_RET, sk, ctx->ret);
  if (!r)
    return 0;
  sk_kind(&v, &r->s);
  r->arg = 0;
  /* A TCP connect the stack ended inside the call sent no record of its
   * end (tcp.bpf.c, in_own_connect): the socket's state tells it. */
  if (v.protocol == IPPROTO_TCP && v.h.family != AF_UNIX) {
    r->h.flags = ST_BPF_F_STATE;
    r->arg = v.h.state;
    if (v.h.state == TCP_CLOSE)
      r->arg |= (__u32)(cast ? sk->sk_err : BPF_CORE_READ(sk, sk_err)) << 8;
  }
  sk_addrs(sk, &v, &r->local, &r->remote);
  if (start) {
    r->h.flags |= ST_BPF_F_ENTER;
    r->remote = to;
  }
  rec_submit(r);
  return 0;
}

SOCKET_CALL(exit_connect, "tracepoint/syscalls/sys_exit_connect", struct trace_event_raw_sys_exit,
            exit_connect_body)

/* ---- accept() ------------------------------------------------------------ */

static __always_inline int exit_accept_common(struct trace_event_raw_sys_exit *ctx,
                                              const bool cast) {
  struct st_bpf_rec_accept *r;
  struct sock *lsk, *nsk = NULL;
  struct sk_view v, nv = {};
  struct pt_regs rbuf, *regs;
  long ret = ctx->ret;

  if (ret == -EAGAIN && !verbose())
    return 0;
  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  lsk = fd_to_sock_c(SYS_ARG1(regs), cast);
  if (!lsk || !sk_view_c(lsk, &v, cast))
    return 0;
  if (ret >= 0) {
    nsk = fd_to_sock_c(ret, cast);
    if (nsk && read_head_c(nsk, &nv.h, cast))
      nsk = NULL;
  }
  if (!view_ports_ok(nsk ? &nv : &v))
    return 0;
  if (v.h.family == AF_UNIX) {
    r = sys_rec_path(sizeof(*r), ST_K_ACCEPT, lsk, ret < 0 ? ret : 0);
    if (!r)
      return 0;
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
    unix_bound_path(&r->h, sizeof(*r), lsk);
  } else {
    r = SYS_REC(struct st_bpf_rec_accept, ST_K_ACCEPT, lsk, ret < 0 ? ret : 0);
    if (!r)
      return 0;
    if (nsk)
      sk_addrs(nsk, &nv, &r->local, &r->remote);
    else
      __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
  }
  sk_kind(&v, &r->s);
  r->backlog = cast ? lsk->sk_ack_backlog : BPF_CORE_READ(lsk, sk_ack_backlog);
  r->pad = 0;
  r->child = (__u64)nsk;
  rec_submit(r);
  /* In a scoped session the handshake's end has marked it already
   * (child_established): a look costs less than a second insert. */
  sk_mark_traced(nsk, false);
  if (count_datagrams && nsk && v.h.family == AF_UNIX)
    dgram_take((__u64)nsk, NULL); /* see exit_socket */
  return 0;
}

SOCKET_CALL(exit_accept, "tracepoint/syscalls/sys_exit_accept", struct trace_event_raw_sys_exit,
            exit_accept_common)

SOCKET_CALL(exit_accept4, "tracepoint/syscalls/sys_exit_accept4", struct trace_event_raw_sys_exit,
            exit_accept_common)

/* ---- close() ------------------------------------------------------------- */

/* What close reads of a TCP socket. */
struct tcp_fields {
  __u64 bytes_sent, bytes_retrans, bytes_received;
  __u32 write_seq, snd_nxt, rcv_nxt, copied_seq, total_retrans, srtt_us;
};

/* The span of struct tcp_sock that holds them, copied in one read: nine
 * reads of their own cost about 25 ns each. Per CPU: close runs in process
 * context, never nested on one CPU. */
#define TCP_SPAN_MAX 1024
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8[TCP_SPAN_MAX]);
} tcp_span SEC(".maps");

#define TCP_OFF(f) bpf_core_field_offset(struct tcp_sock, f)
#define TCP_SPAN(f, lo, hi)                                                                        \
  do {                                                                                             \
    __u32 o_ = TCP_OFF(f), e_ = o_ + bpf_core_field_size(struct tcp_sock, f);                      \
    if (o_ < lo)                                                                                   \
      lo = o_;                                                                                     \
    if (e_ > hi)                                                                                   \
      hi = e_;                                                                                     \
  } while (0)
#define TCP_GET(t, buf, lo, f) ((t)->f = *(typeof((t)->f) *)((buf) + TCP_OFF(f) - (lo)))

static __always_inline void tcp_read(struct sock *sk, struct tcp_fields *t) {
  struct tcp_sock *tp = (struct tcp_sock *)sk;
  __u32 lo = TCP_OFF(bytes_sent), hi = lo + 8, zero = 0;
  __u8 *buf;

  /* Offsets are constants at load: the verifier folds all of this. */
  TCP_SPAN(bytes_retrans, lo, hi);
  TCP_SPAN(bytes_received, lo, hi);
  TCP_SPAN(write_seq, lo, hi);
  TCP_SPAN(snd_nxt, lo, hi);
  TCP_SPAN(rcv_nxt, lo, hi);
  TCP_SPAN(copied_seq, lo, hi);
  TCP_SPAN(total_retrans, lo, hi);
  TCP_SPAN(srtt_us, lo, hi);
  lo &= ~7u;
  buf = bpf_map_lookup_elem(&tcp_span, &zero);
  if (buf && hi - lo <= TCP_SPAN_MAX && !bpf_probe_read_kernel(buf, hi - lo, (char *)tp + lo)) {
    TCP_GET(t, buf, lo, bytes_sent);
    TCP_GET(t, buf, lo, bytes_retrans);
    TCP_GET(t, buf, lo, bytes_received);
    TCP_GET(t, buf, lo, write_seq);
    TCP_GET(t, buf, lo, snd_nxt);
    TCP_GET(t, buf, lo, rcv_nxt);
    TCP_GET(t, buf, lo, copied_seq);
    TCP_GET(t, buf, lo, total_retrans);
    TCP_GET(t, buf, lo, srtt_us);
    return;
  }
  t->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
  t->bytes_retrans = BPF_CORE_READ(tp, bytes_retrans);
  t->bytes_received = BPF_CORE_READ(tp, bytes_received);
  t->write_seq = BPF_CORE_READ(tp, write_seq);
  t->snd_nxt = BPF_CORE_READ(tp, snd_nxt);
  t->rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
  t->copied_seq = BPF_CORE_READ(tp, copied_seq);
  t->total_retrans = BPF_CORE_READ(tp, total_retrans);
  t->srtt_us = BPF_CORE_READ(tp, srtt_us);
}

/* Unread data, or linger on with a zero timeout, makes tcp_close() reset
 * the connection instead of closing it. */
static __always_inline bool close_aborts(struct sock *sk, int state, const struct tcp_fields *t,
                                         unsigned long flags) {
  __u32 unread;

  if (state == TCP_CLOSE || state == TCP_LISTEN)
    return false;
  /* The peer's FIN also takes a sequence number; it is not data. */
  unread = t->rcv_nxt - t->copied_seq;
  if (unread && (state == TCP_CLOSE_WAIT || state == TCP_CLOSING || state == TCP_LAST_ACK))
    unread--;
  if (unread)
    return true;
  return (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_LINGER))) &&
         !BPF_CORE_READ(sk, sk_lingertime);
}

/* What a TCP socket sent and received, from its own counters: bytes that
 * left (retransmissions once) plus what still waits to leave; bytes that
 * arrived, less the peer's FIN. */
static __always_inline void tcp_counts(int state, const struct tcp_fields *t, unsigned long flags,
                                       struct st_bpf_counts *c) {
  c->bytes_sent = t->bytes_sent - t->bytes_retrans;
  if (state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT) {
    __s32 queued = t->write_seq - t->snd_nxt;
    if (queued > 0)
      c->bytes_sent += queued;
  }
  c->bytes_received = t->bytes_received;
  if (c->bytes_received && (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE))))
    c->bytes_received--;
  c->retransmits = t->total_retrans;
  c->rtt_us = t->srtt_us >> 3;
}

static __always_inline int enter_close_body(struct trace_event_raw_sys_enter *ctx,
                                            const bool cast) {
  struct st_bpf_rec_close *r;
  struct sk_view v;
  struct file *f;
  struct sock *sk;
  __u64 key;

  if (!current_ok())
    return 0;
  f = fd_to_file_c(ctx->args[0], cast);
  if (!f)
    return 0;
  if (dns_fds_n | dns_socks_n)
    dns_forget(ctx->args[0], file_last_ref_c(f, cast) ? (__u64)file_to_sock_c(f, cast) : 0);
  if (!file_last_ref_c(f, cast))
    return 0;
  sk = file_to_sock_c(f, cast);
  if (!sk || !sk_view_c(sk, &v, cast) || !view_ports_ok(&v))
    return 0;
  r = SYS_REC(struct st_bpf_rec_close, ST_K_CLOSE, sk, 0);
  if (!r)
    return 0;
  sk_kind(&v, &r->s);
  r->pad = 0;
  __builtin_memset(&r->c, 0, sizeof(r->c));
  sk_addrs(sk, &v, &r->local, &r->remote);
  key = (__u64)sk;
  if (v.protocol == IPPROTO_TCP && v.h.family != AF_UNIX) {
    struct tcp_fields t;
    unsigned long flags =
        cast ? sk->__sk_common.skc_flags : BPF_CORE_READ(sk, __sk_common.skc_flags);
    r->state = v.h.state;
    tcp_read(sk, &t);
    tcp_counts(r->state, &t, flags, &r->c);
    r->h.flags = ST_BPF_F_TCP_INFO | (close_aborts(sk, r->state, &t, flags) ? ST_BPF_F_ABORTS : 0);
    if (r->state == TCP_LISTEN) {
      __u64 lkey = listener_key(sk, v.h.num);
      bpf_map_delete_elem(&listeners, &lkey);
    }
    closed_mark(key);
  } else {
    r->state = 0;
    if (count_datagrams) {
      struct st_bpf_dgram_counts d;
      if (dgram_take(key, &d)) {
        r->c.bytes_sent = d.bytes_sent;
        r->c.bytes_received = d.bytes_received;
        r->c.sends = d.sends;
        r->c.receives = d.receives;
      }
      r->h.flags = ST_BPF_F_COUNTED;
    }
    sk_forget(sk);
  }
  rec_submit(r);
  return 0;
}

SOCKET_CALL(enter_close, "tracepoint/syscalls/sys_enter_close", struct trace_event_raw_sys_enter,
            enter_close_body)

/* ---- recvfrom() / recvmsg(): a datagram's sender (data.bpf.h) ----------- */

static __always_inline int exit_recv_body(struct trace_event_raw_sys_exit *ctx, const bool cast) {
  return sys_data(ctx->ret, false, cast);
}

SOCKET_CALL(exit_recvfrom, "tracepoint/syscalls/sys_exit_recvfrom", struct trace_event_raw_sys_exit,
            exit_recv_body)

SOCKET_CALL(exit_recvmsg, "tracepoint/syscalls/sys_exit_recvmsg", struct trace_event_raw_sys_exit,
            exit_recv_body)
