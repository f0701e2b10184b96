/*
 * DNS on the applications' own sockets: the messages a process sends to or
 * receives from port 53, copied (bounded) from the buffer of the call that
 * moved them, for user space to parse. Nothing here runs for a socket that
 * is not a DNS one beyond a port comparison, and nothing at all while the
 * session's keywords leave out `dns`.
 *
 * Which sockets are DNS ones:
 * - a connected socket with either port 53 (the stub resolver at
 *   127.0.0.53, a container's resolver, a TCP fallback; a DNS server's own
 *   sockets too);
 * - an unconnected UDP socket that sent to port 53 (musl, dig): marked in
 *   dns_socks so that its answers are recognised.
 * Since 6.3 the socket layer's sock_send_length / sock_recv_length see
 * every call with its socket. Before, only the syscalls do: the file
 * descriptors of DNS sockets are marked in dns_fds at connect (or at a send
 * to port 53) and read/write/readv/writev are watched for them, at the cost
 * of a counter check while no DNS socket is open. sendmmsg/recvmmsg (glibc
 * sends its A and AAAA queries with one sendmmsg) are read at their exit,
 * one record per message, on every kernel.
 */
#ifndef ST_EBPF_DNS_BPF_H
#define ST_EBPF_DNS_BPF_H

#include "common.bpf.h"

#define DNS_PORT 53
#define IPPROTO_UDP 17
#define DNS_MMSG_MAX 4 /* messages of one sendmmsg/recvmmsg read */
#define MSG_PEEK 2

/* Unconnected UDP sockets that sent to port 53, by socket. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u8);
} dns_socks SEC(".maps") __weak;

/* Before 6.3: DNS sockets by (tgid << 32 | fd). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u8);
} dns_fds SEC(".maps") __weak;

/* How many entries each map has had put in and not taken out (an LRU
 * eviction leaves it high: that costs only lookups). While zero, nothing
 * looks. */
__u64 dns_socks_n __weak = 0;
__u64 dns_fds_n __weak = 0;

static __always_inline bool dns_on(void) {
  return settings.kw_mask & ST_BPF_KW_DNS;
}

static __always_inline __u64 dns_fd_key(int fd) {
  return (bpf_get_current_pid_tgid() & ~0xffffffffULL) | (__u32)fd;
}

static __always_inline void dns_mark_fd(int fd) {
  __u64 key = dns_fd_key(fd);
  __u8 one = 1;
  if (!bpf_map_update_elem(&dns_fds, &key, &one, BPF_NOEXIST))
    __sync_fetch_and_add(&dns_fds_n, 1);
}

static __always_inline bool dns_fd_marked(int fd) {
  __u64 key = dns_fd_key(fd);
  return dns_fds_n && bpf_map_lookup_elem(&dns_fds, &key);
}

/* close(fd): forget the descriptor (and, at the socket's last close, the
 * socket). */
static __always_inline void dns_forget(int fd, __u64 sk) {
  if (dns_fds_n) {
    __u64 key = dns_fd_key(fd);
    if (!bpf_map_delete_elem(&dns_fds, &key))
      __sync_fetch_and_sub(&dns_fds_n, 1);
  }
  if (sk && dns_socks_n && !bpf_map_delete_elem(&dns_socks, &sk))
    __sync_fetch_and_sub(&dns_socks_n, 1);
}

static __always_inline void dns_mark_sock(__u64 sk) {
  __u8 one = 1;
  if (!bpf_map_update_elem(&dns_socks, &sk, &one, BPF_NOEXIST))
    __sync_fetch_and_add(&dns_socks_n, 1);
}

static __always_inline bool dns_sock_marked(__u64 sk) {
  return dns_socks_n && bpf_map_lookup_elem(&dns_socks, &sk);
}

/* Copies up to ST_BPF_DNS_MAX bytes of ret bytes spread over an iovec
 * array (at most two entries: TCP's length prefix and its message). */
static __always_inline __u32 dns_copy_iov(__u8 *data, const struct iovec *uiov, __u64 cnt,
                                          long ret) {
  __u64 left = (__u64)ret;
  __u32 off = 0;

  if (left > ST_BPF_DNS_MAX)
    left = ST_BPF_DNS_MAX;

  for (int i = 0; i < 2; i++) {
    struct iovec iov;
    __u64 n;
    if (i >= cnt || !left || bpf_probe_read_user(&iov, sizeof(iov), &uiov[i]))
      break;
    n = iov.iov_len < left ? iov.iov_len : left;
    /* Masks, not comparisons: older verifiers lose a comparison's bound
     * when the compiler spills the value first. */
    n &= ST_BPF_DNS_MAX;
    off &= ST_BPF_DNS_MAX;
    if (bpf_probe_read_user(data + off, n, iov.iov_base))
      break;
    off += n;
    left -= n;
  }
  return off;
}

static __always_inline __u32 dns_copy_buf(__u8 *data, const void *ubuf, long ret) {
  __u64 n = (__u64)ret; /* ret > 0 */

  if (n > ST_BPF_DNS_MAX)
    n = ST_BPF_DNS_MAX;
  n &= ST_BPF_DNS_MAX; /* see dns_copy_iov */
  return bpf_probe_read_user(data, n, ubuf) ? 0 : n;
}

static __always_inline struct st_bpf_rec_dns *dns_rec(struct sock *sk, long ret, bool send,
                                                      __u8 call) {
  struct st_bpf_rec_dns *r = REC_NEW(struct st_bpf_rec_dns, ST_K_DNS, sk, ret);
  struct sk_view v;

  if (!r)
    return NULL;
  proc_fill(&r->p);
  r->send = send;
  r->call = call;
  r->len = 0;
  r->pad = 0;
  if (sk_view(sk, &v)) {
    sk_kind(&v, &r->s);
    sk_addrs(sk, &v, &r->local, &r->remote);
  } else {
    __builtin_memset(&r->s, 0, sizeof(r->s));
    __builtin_memset(&r->local, 0, 2 * sizeof(r->local));
  }
  return r;
}

/* One call that moved a DNS message (not sendmmsg/recvmmsg): its bytes,
 * found from the syscall's arguments. peer: the address a sendto named
 * (family 0 when none). */
static __always_inline void dns_emit_call(struct sock *sk, struct pt_regs *regs, long ret,
                                          bool send, const struct st_bpf_addr *peer) {
  long nr = SYS_NR(regs);
  __u8 call = call_of(nr);
  struct st_bpf_rec_dns *r = dns_rec(sk, ret, send, call);

  if (!r)
    return;
  if (peer && peer->family)
    r->remote = *peer;
  if (nr == NR_READ || nr == NR_WRITE || nr == NR_SENDTO || nr == NR_RECVFROM) {
    r->len = dns_copy_buf(r->data, (void *)SYS_ARG2(regs), ret);
  } else if (nr == NR_READV || nr == NR_WRITEV) {
    r->len = dns_copy_iov(r->data, (void *)SYS_ARG2(regs), SYS_ARG3(regs), ret);
  } else if (nr == NR_SENDMSG || nr == NR_RECVMSG) {
    struct user_msghdr *m = (void *)SYS_ARG2(regs);
    struct iovec *iov = NULL;
    __u64 cnt = 0;
    bpf_probe_read_user(&iov, sizeof(iov), &m->msg_iov);
    bpf_probe_read_user(&cnt, sizeof(cnt), &m->msg_iovlen);
    r->len = dns_copy_iov(r->data, iov, cnt, ret);
  }
  rec_submit(r);
}

/* sendmmsg/recvmmsg returned ret messages: one record for each of the
 * first DNS_MMSG_MAX. */
static __always_inline void dns_emit_mmsg(struct sock *sk, struct pt_regs *regs, long ret,
                                          bool send) {
  struct mmsghdr *vec = (void *)SYS_ARG2(regs);

  for (int i = 0; i < DNS_MMSG_MAX; i++) {
    struct st_bpf_rec_dns *r;
    struct iovec *iov = NULL;
    __u64 cnt = 0;
    __u32 len = 0;
    if (i >= ret)
      break;
    bpf_probe_read_user(&len, sizeof(len), &vec[i].msg_len);
    bpf_probe_read_user(&iov, sizeof(iov), &vec[i].msg_hdr.msg_iov);
    bpf_probe_read_user(&cnt, sizeof(cnt), &vec[i].msg_hdr.msg_iovlen);
    r = dns_rec(sk, len, send, ST_BPF_CALL_MMSG);
    if (!r)
      break;
    r->len = dns_copy_iov(r->data, iov, cnt, len);
    rec_submit(r);
  }
}

/* 6.3+: sock_send_length / sock_recv_length moved ret > 0 bytes on sk.
 * Returns whether it read the address a send named into peer (zeroed by
 * the caller), for the caller to use rather than read it again. */
static __always_inline bool dns_on_length(struct sock *sk, __u16 family, __u16 protocol, long ret,
                                          bool send, struct st_bpf_addr *peer) {
  struct pt_regs rbuf, *regs;
  __u16 lport, dport;
  bool read = false;

  if (family != AF_INET && family != AF_INET6)
    return false;
  lport = sk->__sk_common.skc_num;
  dport = bpf_ntohs(sk->__sk_common.skc_dport);
  if (lport != DNS_PORT && dport != DNS_PORT) {
    if (protocol != IPPROTO_UDP || dport)
      return false;
    /* An unconnected UDP socket: a send names its peer; an answer comes
     * to a socket that sent to port 53. */
    if (send) {
      if (!(regs = syscall_regs(&rbuf)))
        return false;
      call_address(peer, regs, call_of(SYS_NR(regs)), true);
      read = true;
      if (peer->port != DNS_PORT)
        return read;
      dns_mark_sock((__u64)sk);
    } else if (!dns_sock_marked((__u64)sk)) {
      return false;
    }
  }
  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return read;
  if (call_of(SYS_NR(regs)) == ST_BPF_CALL_MMSG)
    return read; /* read at the syscall's exit, message by message */
  dns_emit_call(sk, regs, ret, send, peer);
  return read;
}

/* A send or receive syscall returned ret > 0: sendmmsg/recvmmsg on every
 * kernel; before 6.3 the others too (sock_*_length do it since). */
static __always_inline void dns_on_exit(long ret, bool send) {
  struct st_bpf_addr peer = {};
  struct pt_regs rbuf, *regs;
  struct skc_head h;
  struct sock *sk;
  __u64 flags;
  long nr;
  int fd;

  if (!current_ok() || !(regs = syscall_regs(&rbuf)))
    return;
  nr = SYS_NR(regs);
  fd = SYS_ARG1(regs);
  if (call_of(nr) == ST_BPF_CALL_MMSG) {
    /* Rare enough to look at the socket itself. */
    sk = fd_to_sock(fd);
    if (!sk || read_head(sk, &h) || (h.family != AF_INET && h.family != AF_INET6))
      return;
    if (h.num != DNS_PORT && bpf_ntohs(h.dport) != DNS_PORT && !dns_sock_marked((__u64)sk))
      return;
    dns_emit_mmsg(sk, regs, ret, send);
    return;
  }
  if (have_sock_length)
    return;
  if (!dns_fd_marked(fd)) {
    if (!send)
      return;
    call_address(&peer, regs, call_of(nr), true);
    if (peer.port != DNS_PORT)
      return;
    dns_mark_fd(fd);
  }
  flags = nr == NR_RECVFROM ? SYS_ARG4(regs) : SYS_ARG3(regs);
  if (!send && (flags & MSG_PEEK))
    return;
  sk = fd_to_sock(fd);
  if (sk)
    dns_emit_call(sk, regs, ret, send, &peer);
}

#endif
