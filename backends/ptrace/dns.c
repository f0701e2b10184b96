/*
 * DNS messages from the traced program's own buffers, as the eBPF side's
 * dns.bpf.h copies them: what a call moved on a socket connected to port 53
 * (glibc's resolver: connect, then sendmmsg or send and recvfrom; Go's:
 * connect, then write and read; a TCP fallback), up to ST_BPF_DNS_MAX bytes
 * of each message, in ST_K_DNS records for the shared expander, which
 * parses them (core/dns.c) and makes the DnsMessage events the session
 * joins to the connects that follow (core/dns_join.c).
 *
 * The seccomp filter cannot tell a DNS socket's data calls from any other
 * (it sees numbers, not sockets), and at level 4 data calls do not stop at
 * all. So a process that holds a DNS socket is switched to syscall stops
 * (PTRACE_SYSCALL: every call's entry and exit) for as long as it holds
 * one: its other threads are interrupted so that they switch too (Go's
 * resolver moves between threads). A resolver's socket lives for one
 * lookup, so that costs a few dozen stops per lookup; a program that keeps
 * a socket connected to port 53 pays syscall stops while it does.
 *
 * Not seen: an unconnected UDP socket's sendto to port 53 (musl's
 * resolver, dig), which the eBPF side catches, since sendto does not stop
 * at level 4; a DNS server's own sockets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "ptrace_internal.h"

#define DNS_MMSG_MAX 4 /* messages of one sendmmsg/recvmmsg read, as the eBPF side */
#define DNS_IOV_MAX 8  /* iovecs of one call read */

bool pt_syscall_stops(const pt_tracer *t, const pt_proc *p) {
  return t->attach || (p && p->dns_fds > 0);
}

/* Each thread of p but self (stopped for us now) stops once, to be resumed
 * with syscall stops. As with strace -p's attach, a thread asleep in a call
 * that the kernel does not restart (epoll_wait) sees EINTR. */
static void interrupt_threads(pt_tracer *t, const pt_proc *p, pid_t self) {
  pt_task *k, *tmp;
  HASH_ITER(hh, t->tasks, k, tmp) {
    if (k->proc == p && k->tid != self)
      ptrace(PTRACE_INTERRUPT, k->tid, 0, 0);
  }
}

void pt_dns_mark(pt_tracer *t, pt_sock *s, pid_t self) {
  s->dns = true;
  pt_proc *p, *ptmp;
  HASH_ITER(hh, t->procs, p, ptmp) {
    int n = 0;
    pt_fd *f, *ftmp;
    HASH_ITER(hh, p->fds, f, ftmp) {
      n += f->cookie == s->cookie;
    }
    if (n && !pt_syscall_stops(t, p))
      interrupt_threads(t, p, self);
    p->dns_fds += n;
  }
}

static bool is_dns_data_call(int nr) {
  return nr == __NR_sendto || nr == __NR_recvfrom || nr == __NR_sendmsg || nr == __NR_recvmsg ||
         nr == __NR_sendmmsg || nr == __NR_recvmmsg || nr == __NR_read || nr == __NR_write ||
         nr == __NR_readv || nr == __NR_writev;
}

bool pt_dns_enter(pt_tracer *t, pt_task *k, int nr, const uint64_t *args) {
  if (!is_dns_data_call(nr))
    return false;
  pt_sock *s = pt_sock_of_fd(t, k->proc, (int)args[0]);
  if (!s || !s->dns)
    return false;
  /* A peek is read again by the call that takes the message. */
  if ((nr == __NR_recvfrom && (args[3] & MSG_PEEK)) || (nr == __NR_recvmsg && (args[2] & MSG_PEEK)))
    return false;
  k->dns_nr = nr;
  memcpy(k->dns_args, args, sizeof k->dns_args);
  return true;
}

/* Up to max bytes of the first total bytes an iovec array of the tracee
 * holds (n entries at addr), into out: how many were read. */
static size_t read_iov(pid_t tid, uint64_t addr, size_t n, size_t total, uint8_t *out, size_t max) {
  struct iovec remote[DNS_IOV_MAX], local = {out, max};
  if (n > DNS_IOV_MAX)
    n = DNS_IOV_MAX;
  if (!n || !pt_read_mem(tid, addr, remote, n * sizeof *remote))
    return 0;
  size_t want = total < max ? total : max, got = 0, used = 0;
  for (; used < n && got < want; used++) {
    if (remote[used].iov_len > want - got)
      remote[used].iov_len = want - got;
    got += remote[used].iov_len;
  }
  ssize_t r = process_vm_readv(tid, &local, 1, remote, used, 0);
  return r > 0 ? (size_t)r : 0;
}

/* One message (kept of moved bytes) in a record for the expander. */
static void feed_dns(pt_tracer *t, const pt_task *k, const pt_sock *s, bool send, uint8_t call,
                     struct st_bpf_rec_dns *r, size_t kept, uint32_t moved) {
  pt_hdr(&r->h, ST_K_DNS, s->cookie, moved > INT32_MAX ? INT32_MAX : (int32_t)moved);
  pt_proc_rec(k, &r->p);
  r->s = s->s;
  r->send = send;
  r->call = call;
  r->len = (uint16_t)kept;
  r->pad = 0;
  memset(&r->local, 0, sizeof r->local);
  memset(&r->remote, 0, sizeof r->remote); /* the endpoint's, from its connect */
  pt_feed(t, r, offsetof(struct st_bpf_rec_dns, data) + kept);
}

void pt_dns_exit(pt_tracer *t, pt_task *k, int64_t ret) {
  int nr = k->dns_nr;
  const uint64_t *a = k->dns_args;
  pt_sock *s = pt_sock_of_fd(t, k->proc, (int)a[0]);
  if (!s || ret <= 0)
    return;
  static struct st_bpf_rec_dns r; /* the tracer thread's only */
  bool send = nr == __NR_sendto || nr == __NR_sendmsg || nr == __NR_sendmmsg || nr == __NR_write ||
              nr == __NR_writev;
  size_t kept;
  switch (nr) {
  case __NR_sendmmsg:
  case __NR_recvmmsg: {
    /* ret messages: one record each. */
    struct mmsghdr m[DNS_MMSG_MAX];
    size_t n = (size_t)ret < DNS_MMSG_MAX ? (size_t)ret : DNS_MMSG_MAX;
    if (!pt_read_mem(k->tid, a[1], m, n * sizeof *m))
      return;
    for (size_t i = 0; i < n; i++) {
      kept = read_iov(k->tid, (uint64_t)(uintptr_t)m[i].msg_hdr.msg_iov, m[i].msg_hdr.msg_iovlen,
                      m[i].msg_len, r.data, ST_BPF_DNS_MAX);
      feed_dns(t, k, s, send, ST_BPF_CALL_MMSG, &r, kept, m[i].msg_len);
    }
    return;
  }
  case __NR_sendmsg:
  case __NR_recvmsg: {
    struct msghdr m;
    if (!pt_read_mem(k->tid, a[1], &m, sizeof m))
      return;
    kept = read_iov(k->tid, (uint64_t)(uintptr_t)m.msg_iov, m.msg_iovlen, (size_t)ret, r.data,
                    ST_BPF_DNS_MAX);
    feed_dns(t, k, s, send, ST_BPF_CALL_MSG, &r, kept, (uint32_t)ret);
    return;
  }
  case __NR_readv:
  case __NR_writev:
    kept = read_iov(k->tid, a[1], (size_t)a[2], (size_t)ret, r.data, ST_BPF_DNS_MAX);
    feed_dns(t, k, s, send, ST_BPF_CALL_PLAIN, &r, kept, (uint32_t)ret);
    return;
  default: { /* one buffer: send, recv, sendto, recvfrom, read, write */
    struct iovec one = {(void *)(uintptr_t)a[1], (size_t)ret};
    struct iovec local = {r.data, ST_BPF_DNS_MAX};
    if (one.iov_len > ST_BPF_DNS_MAX)
      one.iov_len = ST_BPF_DNS_MAX;
    ssize_t got = process_vm_readv(k->tid, &local, 1, &one, 1, 0);
    kept = got > 0 ? (size_t)got : 0;
    feed_dns(t, k, s, send,
             nr == __NR_read || nr == __NR_write ? ST_BPF_CALL_PLAIN : ST_BPF_CALL_TO, &r, kept,
             (uint32_t)ret);
    return;
  }
  }
}
