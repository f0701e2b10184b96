/*
 * Non-blocking connects: connect() returned EINPROGRESS and the socket
 * finishes later, between calls. The tracer keeps a duplicate of the
 * socket and a thread waits for it to become writable (epoll), then asks
 * TCP_INFO how it went: established is reported at once; a failure is not
 * read from SO_ERROR, which would take the error from the application, but
 * reported when the application asks for it (its getsockopt(SO_ERROR)
 * stops), or when it closes the socket. Any call on the socket first
 * checks its pending connect, so the completion is reported before the
 * calls that follow it.
 *
 * The same thread hands the events over in batches (pt_flush), a few
 * milliseconds after the first of a batch was made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ptrace_internal.h"

void pt_watch_add(pt_tracer *t, pt_sock *s, int d, const struct st_bpf_proc *p) {
  (void)p;
  if (s->watch_fd >= 0)
    close(s->watch_fd);
  s->watch_fd = d;
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.u64 = s->cookie};
  epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, d, &ev);
}

static void feed_done(pt_tracer *t, pt_sock *s, int err) {
  struct st_bpf_rec_stack r;
  memset(&r, 0, sizeof r);
  r.h.ts = pt_now();
  r.h.sk = s->cookie;
  r.h.kind = ST_K_CONN_DONE;
  r.h.ret = -err;
  pt_feed(t, &r, sizeof r);
  if (!err)
    s->connected = true;
}

/* 0 still connecting, 1 connected, -1 failed (the error waits in the
 * socket). */
static int connect_state(int d, const pt_sock *s) {
  struct pollfd pf = {.fd = d, .events = POLLOUT};
  if (poll(&pf, 1, 0) <= 0)
    return 0;
  if (s->s.protocol != IPPROTO_TCP || s->s.family == AF_UNIX)
    return pf.revents & POLLERR ? -1 : 1;
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  if (getsockopt(d, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
    return 0;
  if (ti.tcpi_state == ST_TCP_SYN_SENT)
    return 0;
  return ti.tcpi_state == ST_TCP_CLOSE ? -1 : 1;
}

void pt_watch_check(pt_tracer *t, pt_sock *s, bool cancel) {
  int d = s->watch_fd;
  if (d < 0)
    return;
  int st = connect_state(d, s);
  if (st == 1) {
    feed_done(t, s, 0);
  } else if (st == -1 && cancel) {
    /* The application is done with the socket: its error is ours to read. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(d, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
      feed_done(t, s, err);
  } else if (!cancel) {
    return;
  }
  close(d);
  s->watch_fd = -1;
}

void *pt_watch_thread(void *arg) {
  pt_tracer *t = arg;
  struct epoll_event evs[16];
  bool batch = false; /* a batch waits to be handed over */
  for (;;) {
    int n = epoll_wait(t->epoll_fd, evs, 16, batch ? PT_BATCH_MS : -1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return NULL;
    if (n == 0) {
      pthread_mutex_lock(&t->lock);
      pt_flush(t);
      pthread_mutex_unlock(&t->lock);
      batch = false;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 0)
        return NULL; /* the stop eventfd */
      if (evs[i].data.u64 == PT_KICK) {
        uint64_t v;
        batch = read(t->kick_fd, &v, sizeof v) == sizeof v || batch;
        continue;
      }
      pthread_mutex_lock(&t->lock);
      pt_sock *s = pt_sock_find(t, evs[i].data.u64);
      if (s && s->watch_fd >= 0)
        pt_watch_check(t, s, false);
      pthread_mutex_unlock(&t->lock);
    }
  }
}
