/*
 * The socket calls of a traced process, turned into the eBPF backend's
 * records (ebpf/socktrace.h) for the shared expander: what the kernel side
 * reads from a struct sock, this file reads from the socket itself. A
 * socket's descriptor is duplicated into the tracer with pidfd_getfd(2),
 * and the duplicate answers SO_COOKIE (the socket's identity, the record's
 * key), getsockname/getpeername and TCP_INFO; a call's own arguments
 * (addresses, the values it returns through pointers) are read from the
 * tracee's memory with process_vm_readv(2).
 *
 * Which descriptors are sockets is learnt from the calls that make them
 * (socket, socketpair, accept, the dup family), so a close of a file costs
 * one stop and no work; each socket counts the descriptors that hold it,
 * so that only its last close (or the exit of its last holder) ends it, as
 * the kernel side's last-reference test does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ptrace_internal.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

uint64_t pt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pt_feed(pt_tracer *t, const void *rec, size_t size) {
  /* While the tracer handles a stop, kept (in order) until the tracee is
   * resumed: expanding them is the tracer's work, not the tracee's wait. */
  if (t->defer) {
    size_t need = t->ndeferred + sizeof(size_t) + size;
    if (need > t->deferred_cap) {
      size_t cap = need * 2;
      uint8_t *n = realloc(t->deferred, cap);
      if (!n) {
        ebpf_expand(t->x, rec, size); /* out of memory: now, in order */
        return;
      }
      t->deferred = n;
      t->deferred_cap = cap;
    }
    memcpy(t->deferred + t->ndeferred, &size, sizeof size);
    memcpy(t->deferred + t->ndeferred + sizeof size, rec, size);
    t->ndeferred = need;
    return;
  }
  ebpf_expand(t->x, rec, size);
}

void pt_feed_deferred(pt_tracer *t) {
  for (size_t off = 0; off < t->ndeferred;) {
    size_t size;
    memcpy(&size, t->deferred + off, sizeof size);
    ebpf_expand(t->x, t->deferred + off + sizeof size, size);
    off += sizeof size + size;
  }
  t->ndeferred = 0;
  t->defer = false;
}

/* ---- the tracee's descriptors and memory ---------------------------------- */

static int dup_of(const pt_proc *p, int fd) {
  if (p->pidfd < 0 || fd < 0)
    return -1;
  return (int)syscall(SYS_pidfd_getfd, p->pidfd, fd, 0);
}

bool pt_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len) {
  struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
  if (!addr || !len)
    return false;
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static uint64_t cookie_of(int d) {
  uint64_t c = 0;
  socklen_t len = sizeof c;
  if (getsockopt(d, SOL_SOCKET, SO_COOKIE, &c, &len) != 0)
    return 0;
  return c;
}

static int sockopt_int(int d, int level, int name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(d, level, name, &v, &len) != 0)
    return 0;
  return v;
}

static void kind_of(int d, struct st_bpf_sock *s) {
  s->family = (uint16_t)sockopt_int(d, SOL_SOCKET, SO_DOMAIN);
  s->type = (uint16_t)sockopt_int(d, SOL_SOCKET, SO_TYPE);
  s->protocol = (uint16_t)sockopt_int(d, SOL_SOCKET, SO_PROTOCOL);
  s->pad = 0;
}

/* A sockaddr as the records carry it: an IP endpoint, or a unix path. */
static void from_sockaddr(const struct sockaddr_storage *ss, socklen_t len, struct st_bpf_addr *a,
                          char *path, uint8_t *path_len) {
  memset(a, 0, sizeof *a);
  if (len < sizeof(sa_family_t))
    return;
  if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const void *)ss;
    a->family = AF_INET;
    a->port = ntohs(in->sin_port);
    memcpy(a->addr, &in->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const void *)ss;
    a->family = AF_INET6;
    a->port = ntohs(in6->sin6_port);
    memcpy(a->addr, &in6->sin6_addr, 16);
  } else if (ss->ss_family == AF_UNIX && path && path_len) {
    const struct sockaddr_un *un = (const void *)ss;
    size_t n = len - offsetof(struct sockaddr_un, sun_path);
    if (n > ST_BPF_PATH_MAX)
      n = ST_BPF_PATH_MAX;
    if (n && un->sun_path[0]) /* a path: up to its NUL; abstract: all of it */
      n = strnlen(un->sun_path, n);
    memcpy(path, un->sun_path, n);
    *path_len = (uint8_t)n;
  }
}

static void name_of(int d, bool peer, struct st_bpf_addr *a, char *path, uint8_t *path_len) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(a, 0, sizeof *a);
  if ((peer ? getpeername(d, (void *)&ss, &len) : getsockname(d, (void *)&ss, &len)) != 0)
    return;
  from_sockaddr(&ss, len, a, path, path_len);
}

static void addr_arg(pid_t tid, uint64_t ptr, uint64_t len, struct st_bpf_addr *a, char *path,
                     uint8_t *path_len) {
  struct sockaddr_storage ss;
  memset(a, 0, sizeof *a);
  if (len > sizeof ss)
    len = sizeof ss;
  if (pt_read_mem(tid, ptr, &ss, (size_t)len))
    from_sockaddr(&ss, (socklen_t)len, a, path, path_len);
}

/* ---- the table of sockets -------------------------------------------------- */

pt_sock *pt_sock_find(pt_tracer *t, uint64_t cookie) {
  pt_sock *s = NULL;
  HASH_FIND(hh, t->socks, &cookie, sizeof cookie, s);
  return s;
}

static pt_fd *fd_find(pt_proc *p, int fd) {
  pt_fd *f = NULL;
  HASH_FIND_INT(p->fds, &fd, f);
  return f;
}

pt_sock *pt_sock_of_fd(pt_tracer *t, pt_proc *p, int fd) {
  pt_fd *f = fd_find(p, fd);
  return f ? pt_sock_find(t, f->cookie) : NULL;
}

static void sock_release(pt_tracer *t, pt_sock *s) {
  if (--s->holders > 0)
    return;
  pt_watch_check(t, s, true);
  HASH_DEL(t->socks, s);
  free(s);
}

static void fd_drop(pt_tracer *t, pt_proc *p, int fd) {
  pt_fd *f = fd_find(p, fd);
  if (!f)
    return;
  pt_sock *s = pt_sock_find(t, f->cookie);
  HASH_DEL(p->fds, f);
  free(f);
  if (s && s->dns)
    p->dns_fds--;
  if (s)
    sock_release(t, s);
}

/* fd of p now holds s (fd is free in the table). */
static void fd_add(pt_proc *p, int fd, pt_sock *s) {
  pt_fd *f = calloc(1, sizeof *f);
  if (!f)
    return;
  f->fd = fd;
  f->cookie = s->cookie;
  HASH_ADD_INT(p->fds, fd, f);
  s->holders++;
  if (s->dns)
    p->dns_fds++;
}

/* What socket(2)'s arguments say a new socket is, where they say it fully
 * (the kernel's default protocol of an IP stream or datagram socket, a unix
 * socket): false to ask the socket. */
static bool kind_from_args(const uint64_t *args, struct st_bpf_sock *s) {
  int family = (int)args[0], type = (int)(args[1] & 0xf), proto = (int)args[2];
  memset(s, 0, sizeof *s);
  s->family = (uint16_t)family;
  s->type = (uint16_t)type;
  if (family == AF_UNIX) {
    s->protocol = (uint16_t)proto;
    return true;
  }
  if (family != AF_INET && family != AF_INET6)
    return false;
  if (type == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP))
    s->protocol = IPPROTO_TCP;
  else if (type == SOCK_DGRAM && (proto == 0 || proto == IPPROTO_UDP))
    s->protocol = IPPROTO_UDP;
  else
    return false;
  return true;
}

/* fd now holds the socket of duplicate d (a new one, or one the table
 * knows); kind says what a new one is (NULL: ask it). */
static pt_sock *fd_bind(pt_tracer *t, pt_proc *p, int fd, int d, const struct st_bpf_sock *kind,
                        bool *fresh) {
  uint64_t cookie = cookie_of(d);
  if (!cookie)
    return NULL;
  fd_drop(t, p, fd);
  pt_sock *s = pt_sock_find(t, cookie);
  if (fresh)
    *fresh = !s;
  if (!s) {
    if (!(s = calloc(1, sizeof *s)))
      return NULL;
    s->cookie = cookie;
    s->watch_fd = -1;
    if (kind)
      s->s = *kind;
    else
      kind_of(d, &s->s);
    HASH_ADD(hh, t->socks, cookie, sizeof s->cookie, s);
  }
  fd_add(p, fd, s);
  return s;
}

/* The socket a call names; one this table has not met (inherited,
 * received over a unix socket, or opened before we attached) is learnt now,
 * connected if it has a peer. */
static pt_sock *sock_arg(pt_tracer *t, pt_proc *p, int fd) {
  pt_sock *s = pt_sock_of_fd(t, p, fd);
  if (s)
    return s;
  int d = dup_of(p, fd);
  if (d < 0)
    return NULL;
  bool fresh = false;
  s = fd_bind(t, p, fd, d, NULL, &fresh);
  if (s && fresh) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    s->connected = getpeername(d, (void *)&ss, &len) == 0;
  }
  close(d);
  return s;
}

/* The socket of a call that only concerns known sockets (close, data,
 * SO_ERROR): attached to a running process, any socket, since those it
 * opened before are met first here. */
static pt_sock *sock_known(pt_tracer *t, pt_proc *p, int fd) {
  return t->attach ? sock_arg(t, p, fd) : pt_sock_of_fd(t, p, fd);
}

void pt_proc_fork(pt_tracer *t, pt_proc *parent, pt_proc *child) {
  pt_fd *f, *tmp;
  HASH_ITER(hh, parent->fds, f, tmp) {
    pt_sock *s = pt_sock_find(t, f->cookie);
    if (s)
      fd_add(child, f->fd, s);
  }
}

void pt_proc_free_fds(pt_tracer *t, pt_proc *p) {
  pt_fd *f, *tmp;
  HASH_ITER(hh, p->fds, f, tmp) {
    fd_drop(t, p, f->fd);
  }
}

/* ---- records ----------------------------------------------------------------- */

void pt_proc_rec(const pt_task *k, struct st_bpf_proc *p) {
  memset(p, 0, sizeof *p);
  p->pid = (uint32_t)k->proc->tgid;
  p->tid = (uint32_t)k->tid;
  p->ppid = (uint32_t)k->proc->ppid;
  memcpy(p->comm, k->proc->comm, ST_BPF_COMM_MAX);
}

void pt_hdr(struct st_bpf_hdr *h, uint16_t kind, uint64_t sk, int32_t ret) {
  h->ts = pt_now();
  h->sk = sk;
  h->kind = kind;
  h->ret = ret;
}

/* An address record with a unix path after it. */
typedef struct addr_rec {
  struct st_bpf_rec_addr r;
  char path[ST_BPF_PATH_MAX];
} addr_rec;

static void feed_addr(pt_tracer *t, addr_rec *a) {
  pt_feed(t, &a->r, sizeof a->r + a->r.h.path_len);
}

static void addr_start(addr_rec *a, const pt_task *k, uint16_t kind, const pt_sock *s,
                       int32_t ret) {
  memset(a, 0, sizeof *a);
  pt_hdr(&a->r.h, kind, s->cookie, ret);
  pt_proc_rec(k, &a->r.p);
  a->r.s = s->s;
}

/* What TCP_INFO and the socket's queues say at its close, as the kernel
 * side's tcp_counts() and close_aborts() read them from the socket. */
static void tcp_close_info(int d, struct st_bpf_rec_close *r) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(d, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
    return;
  r->state = ti.tcpi_state;
  r->c.bytes_sent = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans;
  int queued = 0;
  if ((r->state == ST_TCP_ESTABLISHED || r->state == ST_TCP_CLOSE_WAIT) &&
      ioctl(d, SIOCOUTQNSD, &queued) == 0 && queued > 0)
    r->c.bytes_sent += (uint64_t)queued;
  r->c.bytes_received = ti.tcpi_bytes_received;
  /* The peer's FIN (or a reset: the kernel marks both done) took one. */
  if (r->c.bytes_received &&
      (r->state == ST_TCP_CLOSE_WAIT || r->state == ST_TCP_CLOSING || r->state == ST_TCP_LAST_ACK ||
       r->state == ST_TCP_TIME_WAIT || r->state == ST_TCP_CLOSE))
    r->c.bytes_received--;
  r->c.retransmits = ti.tcpi_total_retrans;
  r->c.rtt_us = ti.tcpi_rtt;
  r->h.flags = ST_BPF_F_TCP_INFO;
  int unread = 0;
  struct linger lg = {0};
  socklen_t lglen = sizeof lg;
  bool aborts = r->state != ST_TCP_CLOSE && r->state != ST_TCP_LISTEN &&
                ioctl(d, SIOCINQ, &unread) == 0 && unread > 0;
  if (!aborts && r->state != ST_TCP_CLOSE && r->state != ST_TCP_LISTEN &&
      getsockopt(d, SOL_SOCKET, SO_LINGER, &lg, &lglen) == 0)
    aborts = lg.l_onoff && !lg.l_linger;
  if (aborts)
    r->h.flags |= ST_BPF_F_ABORTS;
}

/* The socket's end: the reset or the peer's close the application met
 * (seen now: a call-level tracer learns them late), then the close with
 * what the socket says of itself (d < 0: it is gone, nothing to read). */
static void feed_close(pt_tracer *t, const pt_task *k, pt_sock *s, int d) {
  struct st_bpf_rec_close r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_CLOSE, s->cookie, 0);
  pt_proc_rec(k, &r.p);
  r.s = s->s;
  pt_watch_check(t, s, true);
  if (d >= 0 && s->s.family != AF_UNIX) {
    name_of(d, false, &r.local, NULL, NULL);
    name_of(d, true, &r.remote, NULL, NULL);
    if (s->s.protocol == IPPROTO_TCP)
      tcp_close_info(d, &r);
  }
  if (s->s.protocol == IPPROTO_TCP && s->s.family != AF_UNIX && s->connected) {
    if (r.state == ST_TCP_CLOSE) {
      struct st_bpf_rec_flow f;
      memset(&f, 0, sizeof f);
      pt_hdr(&f.h, ST_K_RESET_RECV, s->cookie, 0);
      f.pid = r.p.pid;
      memcpy(f.comm, r.p.comm, ST_BPF_COMM_MAX);
      f.local = r.local;
      f.remote = r.remote;
      pt_feed(t, &f, sizeof f);
    } else if (r.state == ST_TCP_CLOSE_WAIT || r.state == ST_TCP_LAST_ACK) {
      struct st_bpf_rec_stack st;
      memset(&st, 0, sizeof st);
      pt_hdr(&st.h, ST_K_STATE, s->cookie, 0);
      st.arg = ST_TCP_ESTABLISHED << 8 | ST_TCP_CLOSE_WAIT;
      st.sport = r.local.port;
      st.dport = r.remote.port;
      pt_feed(t, &st, sizeof st);
    }
  }
  r.h.ts = pt_now();
  pt_feed(t, &r, sizeof r);
}

/* ---- calls -------------------------------------------------------------------- */

static bool is_data_call(int nr) {
  return nr == __NR_sendto || nr == __NR_recvfrom || nr == __NR_sendmsg || nr == __NR_recvmsg ||
         nr == __NR_sendmmsg || nr == __NR_recvmmsg || nr == __NR_read || nr == __NR_write ||
         nr == __NR_readv || nr == __NR_writev;
}

/* Level 5: an option set (setsockopt's exit, or ioctl(FIONBIO), which
 * cannot fail on an open socket, at its start), as an AfdOption. */
static void feed_option(pt_tracer *t, const pt_task *k, const pt_sock *s, uint32_t option,
                        uint64_t value, int32_t ret) {
  struct st_bpf_rec_option r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_OPTION, s->cookie, ret);
  pt_proc_rec(k, &r.p);
  r.s = s->s;
  r.option = option;
  r.value = value;
  pt_feed(t, &r, sizeof r);
}

bool pt_call_enter(pt_tracer *t, pt_task *k) {
  pt_proc *p = k->proc;
  int fd = (int)k->args[0];
  pt_sock *s;

  k->cookie = 0;
  switch (k->nr) {
  case __NR_socket:
  case __NR_socketpair:
  case __NR_dup:
  case __NR_dup3:
#ifdef __NR_dup2
  case __NR_dup2:
#endif
  case __NR_fcntl:
    return true;
  case __NR_close:
    /* Read and ended at its start, as the kernel side does (one stop, not
     * two: a close of a valid descriptor does not fail). */
    if ((s = sock_known(t, p, fd))) {
      pt_watch_check(t, s, false);
      if (s->holders == 1) {
        int d = dup_of(p, fd);
        feed_close(t, k, s, d);
        if (d >= 0)
          close(d);
      }
      fd_drop(t, p, fd);
    }
    return false;
  case __NR_getsockopt:
  case __NR_setsockopt:
    s = sock_known(t, p, fd);
    break;
  case __NR_ioctl: { /* FIONBIO */
    uint32_t on = 0;
    if ((s = sock_known(t, p, fd)) && pt_read_mem(k->tid, k->args[2], &on, sizeof on))
      feed_option(t, k, s, 2 /* AFD's FIONBIO */, on, 0);
    return false;
  }
  case __NR_connect:
    s = sock_arg(t, p, fd);
    if (s) {
      addr_rec a;
      addr_start(&a, k, ST_K_CONNECT, s, 0);
      addr_arg(k->tid, k->args[1], k->args[2], &a.r.remote, a.path, &a.r.h.path_len);
      feed_addr(t, &a);
      s->connected = false;
      k->to_dns =
          a.r.remote.port == 53 && (a.r.remote.family == AF_INET || a.r.remote.family == AF_INET6);
    }
    break;
  default:
    if (is_data_call(k->nr))
      s = sock_known(t, p, fd);
    else
      s = sock_arg(t, p, fd); /* bind, listen, accept, shutdown */
    break;
  }
  if (!s)
    return false;
  k->cookie = s->cookie;
  pt_watch_check(t, s, false); /* a completion comes before the call that follows it */
  return true;
}

static void on_socket(pt_tracer *t, pt_task *k, int fd, bool created) {
  int d = dup_of(k->proc, fd);
  struct st_bpf_sock kind;
  bool known = k->nr == __NR_socket && kind_from_args(k->args, &kind);
  pt_sock *s = d >= 0 ? fd_bind(t, k->proc, fd, d, known ? &kind : NULL, NULL) : NULL;
  if (d >= 0)
    close(d);
  if (!s || !created)
    return;
  struct st_bpf_rec_sock r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_CREATE, s->cookie, 0);
  pt_proc_rec(k, &r.p);
  r.s = s->s;
  pt_feed(t, &r, sizeof r);
}

static void on_socket_failed(pt_tracer *t, pt_task *k, int32_t ret) {
  struct st_bpf_rec_sock r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_CREATE, 0, ret);
  pt_proc_rec(k, &r.p);
  r.s.family = (uint16_t)k->args[0];
  r.s.type = (uint16_t)(k->args[1] & 0xf);
  r.s.protocol = (uint16_t)k->args[2];
  pt_feed(t, &r, sizeof r);
}

static void on_dup(pt_tracer *t, pt_task *k, int64_t ret) {
  pt_sock *s = pt_sock_of_fd(t, k->proc, (int)k->args[0]);
  if (ret < 0 || (int)ret == (int)k->args[0])
    return;
  fd_drop(t, k->proc, (int)ret); /* dup2 onto a socket closes it */
  if (s)
    fd_add(k->proc, (int)ret, s);
}

static void on_connect_exit(pt_tracer *t, pt_task *k, pt_sock *s, int32_t ret) {
  int d = dup_of(k->proc, (int)k->args[0]);
  addr_rec a;
  addr_start(&a, k, ST_K_CONNECT_RET, s, ret);
  if (d >= 0 && s->s.family != AF_UNIX) {
    name_of(d, false, &a.r.local, NULL, NULL);
    name_of(d, true, &a.r.remote, NULL, NULL);
  }
  feed_addr(t, &a);
  if (ret == 0)
    s->connected = true;
  if ((ret == 0 || ret == -EINPROGRESS) && k->to_dns && !s->dns)
    pt_dns_mark(t, s, k->tid);
  if (ret == -EINPROGRESS && d >= 0) {
    pt_watch_add(t, s, d, &a.r.p);
    pt_watch_check(t, s, false); /* loopback often finishes inside the call */
  } else if (d >= 0) {
    close(d);
  }
}

static void on_accept_exit(pt_tracer *t, pt_task *k, pt_sock *l, int64_t ret) {
  struct {
    struct st_bpf_rec_accept r;
    char path[ST_BPF_PATH_MAX];
  } a;
  memset(&a, 0, sizeof a);
  pt_hdr(&a.r.h, ST_K_ACCEPT, l->cookie, ret < 0 ? (int32_t)ret : 0);
  pt_proc_rec(k, &a.r.p);
  a.r.s = l->s;
  a.r.backlog = l->backlog;
  if (ret >= 0) {
    int d = dup_of(k->proc, (int)ret);
    /* An accepted socket is of its listener's family, type and protocol. */
    pt_sock *n = d >= 0 ? fd_bind(t, k->proc, (int)ret, d, &l->s, NULL) : NULL;
    if (n) {
      n->connected = true;
      a.r.child = n->cookie;
      name_of(d, false, &a.r.local, a.path, &a.r.h.path_len);
      if (l->s.family != AF_UNIX)
        name_of(d, true, &a.r.remote, NULL, NULL);
    }
    if (d >= 0)
      close(d);
  }
  pt_feed(t, &a, sizeof a.r + a.r.h.path_len);
}

/* The application's own getsockopt(SO_ERROR): how its pending connect
 * ended when that was a failure (the socket keeps the error for it). */
static void on_so_error(pt_tracer *t, pt_task *k, pt_sock *s, int64_t ret) {
  int err = 0;
  if (ret != 0 || s->watch_fd < 0 || !pt_read_mem(k->tid, k->args[3], &err, sizeof err))
    return;
  if (!err) {
    pt_watch_check(t, s, false);
    return;
  }
  struct st_bpf_rec_stack r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_CONN_DONE, s->cookie, -err);
  pt_feed(t, &r, sizeof r);
  pt_watch_check(t, s, true);
}

static void on_data(pt_tracer *t, pt_task *k, pt_sock *s, int64_t ret) {
  struct st_bpf_rec_data r;
  memset(&r, 0, sizeof r);
  pt_hdr(&r.h, ST_K_DATA, s->cookie, ret > INT32_MAX ? INT32_MAX : (int32_t)ret);
  pt_proc_rec(k, &r.p);
  r.s = s->s;
  switch (k->nr) {
  case __NR_sendto:
    r.send = 1;
    r.call = ST_BPF_CALL_TO;
    if (k->args[4])
      addr_arg(k->tid, k->args[4], k->args[5], &r.remote, NULL, NULL);
    break;
  case __NR_recvfrom:
    r.call = ST_BPF_CALL_TO;
    if (k->args[3] & MSG_PEEK)
      r.h.flags |= ST_BPF_F_PEEK;
    if (k->args[4] && ret >= 0) {
      socklen_t len = 0;
      if (pt_read_mem(k->tid, k->args[5], &len, sizeof len))
        addr_arg(k->tid, k->args[4], len, &r.remote, NULL, NULL);
    }
    break;
  case __NR_sendmsg:
  case __NR_recvmsg: {
    struct msghdr m;
    r.send = k->nr == __NR_sendmsg;
    r.call = ST_BPF_CALL_MSG;
    if (!r.send && (k->args[2] & MSG_PEEK))
      r.h.flags |= ST_BPF_F_PEEK;
    if (ret >= 0 && pt_read_mem(k->tid, k->args[1], &m, sizeof m) && m.msg_name)
      addr_arg(k->tid, (uint64_t)(uintptr_t)m.msg_name, m.msg_namelen, &r.remote, NULL, NULL);
    break;
  }
  case __NR_sendmmsg:
  case __NR_recvmmsg:
    r.send = k->nr == __NR_sendmmsg;
    r.call = ST_BPF_CALL_MMSG;
    break;
  default: /* read, write, readv, writev */
    r.send = k->nr == __NR_write || k->nr == __NR_writev;
    r.call = ST_BPF_CALL_PLAIN;
    break;
  }
  if (s->s.family == AF_UNIX || s->s.protocol == IPPROTO_TCP)
    memset(&r.remote, 0, sizeof r.remote); /* the kernel side names no peer there */
  pt_feed(t, &r, sizeof r);
}

void pt_call_exit(pt_tracer *t, pt_task *k, int64_t ret) {
  pt_proc *p = k->proc;
  int32_t r32 = ret < INT32_MIN ? INT32_MIN : ret > INT32_MAX ? INT32_MAX : (int32_t)ret;
  pt_sock *s = k->cookie ? pt_sock_find(t, k->cookie) : NULL;

  switch (k->nr) {
  case __NR_socket:
    if (ret >= 0)
      on_socket(t, k, (int)ret, true);
    else
      on_socket_failed(t, k, r32);
    return;
  case __NR_socketpair: {
    int sv[2];
    if (ret == 0 && pt_read_mem(k->tid, k->args[3], sv, sizeof sv)) {
      on_socket(t, k, sv[0], true);
      on_socket(t, k, sv[1], true);
    }
    return;
  }
  case __NR_dup:
  case __NR_dup3:
#ifdef __NR_dup2
  case __NR_dup2:
#endif
  case __NR_fcntl:
    on_dup(t, k, ret);
    return;
  }
  if (!s)
    return;
  switch (k->nr) {
  case __NR_bind: {
    addr_rec a;
    addr_start(&a, k, ST_K_BIND, s, r32);
    addr_arg(k->tid, k->args[1], k->args[2], &a.r.local, a.path, &a.r.h.path_len);
    feed_addr(t, &a);
    break;
  }
  case __NR_listen: {
    addr_rec a;
    int d = dup_of(p, (int)k->args[0]);
    addr_start(&a, k, ST_K_LISTEN, s, r32);
    a.r.arg = (uint32_t)k->args[1];
    if (d >= 0) {
      name_of(d, false, &a.r.local, a.path, &a.r.h.path_len);
      close(d);
    }
    if (ret == 0)
      s->backlog = a.r.arg;
    feed_addr(t, &a);
    break;
  }
  case __NR_connect:
    on_connect_exit(t, k, s, r32);
    break;
#ifdef __NR_accept
  case __NR_accept:
#endif
  case __NR_accept4:
    on_accept_exit(t, k, s, ret);
    break;
  case __NR_shutdown: {
    struct st_bpf_rec_sock r;
    memset(&r, 0, sizeof r);
    pt_hdr(&r.h, ST_K_SHUTDOWN, s->cookie, r32);
    pt_proc_rec(k, &r.p);
    r.s = s->s;
    r.arg = (uint32_t)k->args[1];
    pt_feed(t, &r, sizeof r);
    break;
  }
  case __NR_getsockopt:
    on_so_error(t, k, s, ret);
    break;
  case __NR_setsockopt: {
    uint64_t value = 0;
    pt_read_mem(k->tid, k->args[3], &value, k->args[4] >= 8 ? 8 : 4);
    feed_option(t, k, s, st_bpf_afd_option((uint32_t)k->args[1], (uint32_t)k->args[2]), value, r32);
    break;
  }
  default:
    if (is_data_call(k->nr))
      on_data(t, k, s, ret);
    break;
  }
}

void pt_proc_exit(pt_tracer *t, pt_proc *p) {
  pt_task k = {.tid = p->tgid, .proc = p};
  pt_fd *f, *tmp;
  HASH_ITER(hh, p->fds, f, tmp) {
    pt_sock *s = pt_sock_find(t, f->cookie);
    if (s && s->holders == 1) {
      int d = dup_of(p, f->fd);
      feed_close(t, &k, s, d);
      if (d >= 0)
        close(d);
    }
    fd_drop(t, p, f->fd);
  }
}

void pt_proc_exec(pt_tracer *t, pt_proc *p) {
  pt_task k = {.tid = p->tgid, .proc = p};
  pt_fd *f, *tmp;
  HASH_ITER(hh, p->fds, f, tmp) {
    int d = dup_of(p, f->fd);
    uint64_t cookie = d >= 0 ? cookie_of(d) : 0;
    if (d >= 0)
      close(d);
    if (cookie == f->cookie)
      continue;
    /* Closed on exec: gone before we could look at it. */
    pt_sock *s = pt_sock_find(t, f->cookie);
    if (s && s->holders == 1)
      feed_close(t, &k, s, -1);
    fd_drop(t, p, f->fd);
  }
}
