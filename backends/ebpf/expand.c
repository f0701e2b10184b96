/*
 * Turns the kernel side's compact records (socktrace.h) into st_events.
 *
 * The kernel names a socket by its struct sock address and says only what
 * it alone knows; this file keeps what follows from the records: each
 * socket's endpoint number (unique within the trace, even when the kernel
 * reuses an address), its owner as of its last call (stack events, raised
 * in any context, are attributed to it), its addresses, its connect state
 * and its first and last error. It expands one record into the events the
 * schema has for it: a close into Abort (when the close resets), Cleanup,
 * Close and EndpointSummary; a connect's return into its exit and, when the
 * stack finished the connect inside the call, its completion.
 *
 * Pure data work: no BPF calls, no I/O. Memory is bounded: sockets are
 * forgotten at close (TCP: when the kernel frees them) and the oldest go
 * first when the table is full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "dns.h"
#include "ebpf_internal.h"

_Static_assert(ST_BPF_COMM_MAX == ST_COMM_MAX, "comm sizes differ");
_Static_assert(ST_BPF_KW_DATAGRAM == ST_KW_DATAGRAM && ST_BPF_KW_STREAM == ST_KW_STREAM &&
                   ST_BPF_KW_WINSOCK == ST_KW_WINSOCK && ST_BPF_KW_TRANSPORT == ST_KW_TRANSPORT &&
                   ST_BPF_KW_CATALOG == ST_KW_CATALOG && ST_BPF_KW_DNS == ST_KW_DNS,
               "socktrace.h keywords must equal event.h's");
_Static_assert(ST_BPF_LEVEL_INFO == ST_LEVEL_INFO && ST_BPF_LEVEL_VERBOSE == ST_LEVEL_VERBOSE &&
                   ST_BPF_LEVEL_ERROR == ST_LEVEL_ERROR,
               "socktrace.h levels must equal event.h's");

#define MAX_SOCKETS 65536
#define CLOSED_KEPT 4096 /* closed TCP sockets remembered for their late stack events */
#define AF_UNIX_ 1
#define AF_INET_ 2
#define AF_INET6_ 10
#define SOCK_DGRAM_ 2
#define TCP_ 6
#define E_AGAIN 11
#define E_CONNABORTED 103
#define E_CONNRESET 104
#define E_INPROGRESS 115

enum {
  EP_PREEXISTING = 1 << 0,
  EP_CONNECTING = 1 << 1, /* inside connect() */
  EP_CONN_DONE = 1 << 2,  /* the stack finished the connect inside connect() */
  EP_CONN_PENDING = 1 << 3,
  EP_LISTENER = 1 << 4,
  EP_CLOSED = 1 << 5,
  EP_ABORTED = 1 << 6, /* the local abort was already reported */
};

typedef struct ebpf_lport {
  uint16_t port;
  uint64_t sk;
  UT_hash_handle hh;
} ebpf_lport;

typedef struct ebpf_ep {
  uint64_t sk; /* key */
  uint64_t endpoint;
  uint64_t created_ns;
  uint32_t pid, tid, ppid;
  uint64_t cgroup; /* the owner's cgroup at its last call (0: not known) */
  char comm[ST_COMM_MAX];
  uint16_t family, type, protocol;
  uint16_t flags;
  int32_t conn_err, first_err, final_err;
  uint64_t bytes_sent, bytes_received, sends, receives; /* from data records */
  struct st_bpf_addr local, remote, conn_to;
  char *path, *peer; /* a unix socket's bound path and the path it connected to */
  uint8_t path_len, peer_len;
  struct dns_stream *dns[2]; /* DNS over TCP, being reassembled: [0] received, [1] sent */
  UT_hash_handle hh;
} ebpf_ep;

/* One direction of a DNS-over-TCP connection: messages framed by a 2-byte
 * length, which the application may read or write in any pieces. */
typedef struct dns_stream {
  uint8_t prefix[2];
  uint8_t prefix_have;
  uint32_t msg_len, msg_have, msg_kept;
  uint8_t msg[ST_BPF_DNS_MAX];
} dns_stream;

struct ebpf_expander {
  ebpf_ep *eps;          /* by sk, in insertion order */
  ebpf_lport *listeners; /* by port */
  struct {
    uint64_t sk, endpoint;
  } closed[CLOSED_KEPT]; /* a ring of the TCP sockets closed last */
  unsigned closed_next;
  uint64_t next_endpoint;
  int64_t boot_to_real;
  uint8_t level;
  uint64_t kw_mask;
  const ebpf_drop_names *drops;
  ebpf_emit_fn emit;
  void *arg;
};

ebpf_expander *ebpf_expander_new(const ebpf_drop_names *drops, int64_t boot_to_real,
                                 ebpf_emit_fn emit, void *arg) {
  ebpf_expander *x = calloc(1, sizeof *x);
  if (!x)
    return NULL;
  x->drops = drops;
  x->boot_to_real = boot_to_real;
  x->level = ST_LEVEL_INFO;
  x->kw_mask = ST_KW_ALL;
  x->emit = emit;
  x->arg = arg;
  return x;
}

void ebpf_expander_settings(ebpf_expander *x, uint8_t level, uint64_t kw_mask) {
  x->level = level;
  x->kw_mask = kw_mask ? kw_mask : ST_KW_ALL;
}

static void listener_remove(ebpf_expander *x, const struct ebpf_ep *e);

static void ep_free(ebpf_expander *x, ebpf_ep *e) {
  if (e->flags & EP_LISTENER)
    listener_remove(x, e);
  HASH_DEL(x->eps, e);
  free(e->path);
  free(e->peer);
  free(e->dns[0]);
  free(e->dns[1]);
  free(e);
}

void ebpf_expander_free(ebpf_expander *x) {
  if (!x)
    return;
  ebpf_ep *e, *tmp;
  HASH_ITER(hh, x->eps, e, tmp) {
    ep_free(x, e);
  }
  ebpf_lport *p, *ptmp;
  HASH_ITER(hh, x->listeners, p, ptmp) {
    HASH_DEL(x->listeners, p);
    free(p);
  }
  free(x);
}

size_t ebpf_expander_sockets(const ebpf_expander *x) {
  return HASH_COUNT(x->eps);
}

/* ---- sockets ------------------------------------------------------------- */

static ebpf_ep *ep_find(ebpf_expander *x, uint64_t sk) {
  ebpf_ep *e = NULL;
  HASH_FIND(hh, x->eps, &sk, sizeof sk, e);
  return e;
}

/* A new endpoint for sk (replacing what the address meant before). */
static ebpf_ep *ep_new(ebpf_expander *x, uint64_t sk, uint64_t ts, bool preexisting) {
  ebpf_ep *e = ep_find(x, sk);
  if (e)
    ep_free(x, e);
  while (HASH_COUNT(x->eps) >= MAX_SOCKETS)
    ep_free(x, x->eps); /* the oldest */
  e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  e->sk = sk;
  e->endpoint = ++x->next_endpoint;
  e->created_ns = ts;
  e->flags = preexisting ? EP_PREEXISTING : 0;
  HASH_ADD(hh, x->eps, sk, sizeof e->sk, e);
  return e;
}

/* The endpoint of a socket a call names; one met first here existed before
 * the trace. */
static ebpf_ep *ep_get(ebpf_expander *x, uint64_t sk, uint64_t ts) {
  ebpf_ep *e = ep_find(x, sk);
  return e ? e : ep_new(x, sk, ts, true);
}

static void ep_owner(ebpf_ep *e, const struct st_bpf_proc *p) {
  e->pid = p->pid;
  e->tid = p->tid;
  e->ppid = p->ppid;
  e->cgroup = p->cgroup;
  memcpy(e->comm, p->comm, ST_COMM_MAX);
  e->comm[ST_COMM_MAX - 1] = '\0';
}

static void ep_kind(ebpf_ep *e, const struct st_bpf_sock *s) {
  e->family = s->family;
  e->type = s->type;
  e->protocol = s->protocol;
}

static void ep_error(ebpf_ep *e, int32_t err) {
  if (err >= 0)
    return;
  e->final_err = err;
  if (!e->first_err)
    e->first_err = err;
}

/* Listening sockets by port (the newest wins when several share one). */
static void listener_add(ebpf_expander *x, uint16_t port, uint64_t sk) {
  ebpf_lport *p = NULL;
  HASH_FIND(hh, x->listeners, &port, sizeof port, p);
  if (!p) {
    p = calloc(1, sizeof *p);
    if (!p)
      return;
    p->port = port;
    HASH_ADD(hh, x->listeners, port, sizeof p->port, p);
  }
  p->sk = sk;
}

static void listener_remove(ebpf_expander *x, const ebpf_ep *e) {
  ebpf_lport *p = NULL;
  uint16_t port = e->local.port;
  HASH_FIND(hh, x->listeners, &port, sizeof port, p);
  if (p && p->sk == e->sk) {
    HASH_DEL(x->listeners, p);
    free(p);
  }
}

/* The listener of a connection met before its accept: the endpoint that
 * listens on its local port. */
static ebpf_ep *listener_of(ebpf_expander *x, uint16_t port) {
  ebpf_lport *p = NULL;
  HASH_FIND(hh, x->listeners, &port, sizeof port, p);
  return p ? ep_find(x, p->sk) : NULL;
}

/* The endpoint of a stack record: a known socket, or a connection whose
 * listener is known (before its accept), else none. */
/* The endpoint a stack record about sk (with these ports, 0: unknown)
 * belongs to. A closed socket is kept for its late stack events, but the
 * kernel does not say when it frees one, so its address may already be a
 * new socket's the application has not been told of yet (a connection
 * waiting to be accepted): other ports than the closed one had say so. */
static ebpf_ep *ep_find_live(ebpf_expander *x, uint64_t sk, uint16_t lport, uint16_t rport) {
  ebpf_ep *e = ep_find(x, sk);
  if (e && (e->flags & EP_CLOSED) && lport && rport && e->local.port && e->remote.port &&
      (lport != e->local.port || rport != e->remote.port)) {
    ep_free(x, e);
    return NULL;
  }
  return e;
}

static ebpf_ep *ep_stack(ebpf_expander *x, uint64_t sk, uint64_t ts, uint16_t lport,
                         uint16_t rport) {
  ebpf_ep *e = ep_find_live(x, sk, lport, rport);
  if (e || !sk)
    return e;
  ebpf_ep *l = listener_of(x, lport);
  if (!l)
    return NULL;
  e = ep_new(x, sk, ts, false);
  if (!e)
    return NULL;
  e->pid = l->pid;
  e->tid = l->tid;
  e->ppid = l->ppid;
  e->cgroup = l->cgroup;
  memcpy(e->comm, l->comm, ST_COMM_MAX);
  e->family = l->family;
  e->type = l->type;
  e->protocol = l->protocol;
  return e;
}

/* ---- events -------------------------------------------------------------- */

static uint8_t family_of(uint16_t af) {
  switch (af) {
  case 0:
    return ST_FAMILY_NONE;
  case AF_UNIX_:
    return ST_FAMILY_UNIX;
  case AF_INET_:
    return ST_FAMILY_INET;
  case AF_INET6_:
    return ST_FAMILY_INET6;
  default:
    return ST_FAMILY_OTHER;
  }
}

static st_status status_of(int32_t err) {
  return st_status_from_errno(err < 0 ? -err : err);
}

static uint64_t type_kw(uint16_t type) {
  return type == SOCK_DGRAM_ ? ST_KW_DATAGRAM : ST_KW_STREAM;
}

static void ip_addr(const struct st_bpf_addr *a, st_addr *out) {
  memset(out, 0, sizeof *out);
  out->family = family_of(a->family);
  out->raw_family = a->family;
  out->port = a->port;
  memcpy(out->addr, a->addr, sizeof out->addr);
}

/* Abstract names (a leading NUL) are shown with '@'. */
static void unix_path(const char *p, unsigned len, st_addr *out) {
  memset(out, 0, sizeof *out);
  out->family = ST_FAMILY_UNIX;
  out->raw_family = AF_UNIX_;
  if (len > ST_BPF_PATH_MAX)
    len = ST_BPF_PATH_MAX;
  if (len && p[0] == '\0') {
    out->path[0] = '@';
    size_t n = len - 1 < ST_PATH_MAX - 2 ? len - 1 : ST_PATH_MAX - 2;
    memcpy(out->path + 1, p + 1, n);
    for (size_t i = 1; i <= n; i++)
      if (!out->path[i])
        out->path[i] = '@'; /* embedded NULs, as ss(8) shows them */
    out->path[n + 1] = '\0';
    return;
  }
  size_t n = strnlen(p, len);
  if (n > ST_PATH_MAX - 1)
    n = ST_PATH_MAX - 1;
  memcpy(out->path, p, n);
  out->path[n] = '\0';
}

static bool wanted(const ebpf_expander *x, uint8_t level, uint64_t kw) {
  return level <= x->level && (kw & x->kw_mask);
}

/* A fresh event of endpoint e (or of no socket when e is NULL). */
static void ev_start(const ebpf_expander *x, st_event *ev, uint16_t id, uint8_t level, uint8_t ee,
                     uint64_t kw, uint64_t ts, const ebpf_ep *e) {
  st_event_init(ev, id >= 5000 ? ST_PROVIDER_EXT : ST_PROVIDER_AFD, id);
  ev->ts_ns = (uint64_t)((int64_t)ts + x->boot_to_real);
  ev->level = level;
  ev->keywords = kw;
  ev->enter_exit = ee;
  ev->os = ST_OS_LINUX;
  ev->backend = ST_BACKEND_EBPF;
  if (!e)
    return;
  ev->endpoint = e->endpoint;
  ev->pid = e->pid;
  ev->tid = e->tid;
  memcpy(ev->comm, e->comm, ST_COMM_MAX);
  if (e->ppid) {
    ev->ppid = e->ppid;
    ev->has |= ST_HAS_PPID;
  }
  /* Stack events too: the socket's owner's cgroup, never the task that
   * happened to run when the stack raised them. */
  if (e->cgroup) {
    ev->cgroup = e->cgroup;
    ev->has |= ST_HAS_CGROUP;
  }
  if (e->flags & EP_PREEXISTING)
    ev->flags |= ST_FLAG_PREEXISTING;
  if (e->family) {
    ev->family = family_of(e->family);
    ev->type = st_type_from_socket_type(e->type);
    ev->protocol = e->protocol;
    ev->has |= ST_HAS_FAMILY | ST_HAS_TYPE | ST_HAS_PROTOCOL;
  }
}

static void ev_status(st_event *ev, int32_t err) {
  ev->status = status_of(err < 0 ? err : 0);
  ev->has |= ST_HAS_STATUS;
}

static void ev_local(st_event *ev, const struct st_bpf_addr *a) {
  if (!a->family)
    return;
  ip_addr(a, &ev->local);
  ev->has |= ST_HAS_LOCAL;
}

static void ev_remote(st_event *ev, const struct st_bpf_addr *a) {
  if (!a->family)
    return;
  ip_addr(a, &ev->remote);
  ev->has |= ST_HAS_REMOTE;
}

/* The socket's addresses as last known: IP, or its bound unix path. */
static void ev_addrs(st_event *ev, const ebpf_ep *e) {
  if (e->family == AF_UNIX_) {
    if (e->path) {
      unix_path(e->path, e->path_len, &ev->local);
      ev->has |= ST_HAS_LOCAL;
    }
    if (e->peer) {
      unix_path(e->peer, e->peer_len, &ev->remote);
      ev->has |= ST_HAS_REMOTE;
    }
    return;
  }
  ev_local(ev, &e->local);
  ev_remote(ev, &e->remote);
}

static void emit(ebpf_expander *x, st_event *ev) {
  x->emit(x->arg, ev);
}

/* An event that carries only a status, with the socket's addresses. */
static void emit_status(ebpf_expander *x, const ebpf_ep *e, uint16_t id, uint8_t level, uint8_t ee,
                        uint64_t kw, uint64_t ts, int32_t err) {
  st_event ev;
  if (!wanted(x, level, kw))
    return;
  ev_start(x, &ev, id, level, ee, kw, ts, e);
  ev_addrs(&ev, e);
  ev_status(&ev, err);
  emit(x, &ev);
}

static void emit_connect_done(ebpf_expander *x, const ebpf_ep *e, uint64_t ts, int32_t err) {
  emit_status(x, e, ST_EV_CONNECT, ST_LEVEL_INFO, ST_EE_TRANSPORT, ST_KW_STREAM | ST_KW_TRANSPORT,
              ts, err);
}

/* The application aborts: the RST goes out at once (linger on with a zero
 * timeout, or unread data), reported before the stack's reaction. */
static void emit_local_abort(ebpf_expander *x, ebpf_ep *e, uint64_t ts, uint8_t ee) {
  st_event ev;
  uint64_t kw = ST_KW_STREAM | ST_KW_WINSOCK;
  e->flags |= EP_ABORTED;
  e->final_err = -E_CONNABORTED;
  if (!wanted(x, ST_LEVEL_ERROR, kw))
    return;
  ev_start(x, &ev, ST_EV_ABORT, ST_LEVEL_ERROR, ee, kw, ts, e);
  ev_addrs(&ev, e);
  ev.reason = ST_ABORT_LOCAL;
  ev.has |= ST_HAS_REASON;
  ev_status(&ev, -E_CONNABORTED);
  emit(x, &ev);
}

/* The socket's summary: counters from the kernel's record, calls from the
 * data records when the kernel did not count them. */
static void emit_summary(ebpf_expander *x, const ebpf_ep *e, uint64_t ts, uint8_t flags,
                         const struct st_bpf_counts *c) {
  uint64_t kw = type_kw(e->type) | ST_KW_SUMMARY;
  st_summary *s;
  st_event ev;

  if (!wanted(x, ST_LEVEL_INFO, kw))
    return;
  ev_start(x, &ev, ST_EV_ENDPOINT_SUMMARY, ST_LEVEL_INFO, ST_EE_INTERNAL, kw, ts, e);
  ev_addrs(&ev, e);
  ev.has |= ST_HAS_SUMMARY;
  s = &ev.summary;
  if (flags & ST_BPF_F_TCP_INFO) {
    s->bytes_sent = c->bytes_sent;
    s->bytes_received = c->bytes_received;
    s->retransmits = c->retransmits;
    s->rtt_us = c->rtt_us;
  } else if (flags & ST_BPF_F_COUNTED) {
    s->bytes_sent = c->bytes_sent;
    s->bytes_received = c->bytes_received;
  } else {
    s->bytes_sent = e->bytes_sent;
    s->bytes_received = e->bytes_received;
  }
  if (flags & ST_BPF_F_COUNTED) {
    s->sends = c->sends;
    s->receives = c->receives;
  } else if (x->level >= ST_LEVEL_VERBOSE) {
    s->sends = e->sends;
    s->receives = e->receives;
  } else {
    s->flags |= ST_SUMMARY_NO_CALLS;
  }
  s->duration_ns = ts - e->created_ns;
  s->first_error = status_of(e->first_err);
  s->final_status = status_of(e->final_err);
  emit(x, &ev);
}

/* ---- records ------------------------------------------------------------- */

static const char *rec_path(const struct st_bpf_hdr *h, size_t rec_size, size_t size) {
  if (!h->path_len || size < rec_size + h->path_len)
    return NULL;
  return (const char *)h + rec_size;
}

/* Remembers a unix path (the socket's own, or its peer's). */
static void keep_path(char **dst, uint8_t *dst_len, const char *p, uint8_t len) {
  if (!p || !len)
    return;
  if (!*dst) {
    *dst = malloc(ST_BPF_PATH_MAX);
    if (!*dst)
      return;
  }
  if (len > ST_BPF_PATH_MAX)
    len = ST_BPF_PATH_MAX;
  memcpy(*dst, p, len);
  *dst_len = len;
}

static void remember_path(ebpf_ep *e, const char *p, uint8_t len) {
  keep_path(&e->path, &e->path_len, p, len);
}

static void on_create(ebpf_expander *x, const struct st_bpf_rec_sock *r) {
  uint64_t kw = type_kw(r->s.type) | ST_KW_WINSOCK;
  ebpf_ep *e = NULL, none = {0};
  st_event ev;

  if (r->h.sk) {
    e = ep_new(x, r->h.sk, r->h.ts, false);
    if (!e)
      return;
    ep_owner(e, &r->p);
    ep_kind(e, &r->s);
  } else {
    ep_owner(&none, &r->p);
    ep_kind(&none, &r->s);
  }
  if (!wanted(x, ST_LEVEL_INFO, kw))
    return;
  ev_start(x, &ev, ST_EV_CREATE, ST_LEVEL_INFO, ST_EE_EXIT, kw, r->h.ts, e ? e : &none);
  ev_status(&ev, r->h.ret);
  emit(x, &ev);
}

/* bind, listen, connect and its return: a call with addresses. */
static void on_addr_call(ebpf_expander *x, const struct st_bpf_rec_addr *r, size_t size) {
  const char *path = rec_path(&r->h, sizeof *r, size);
  uint64_t kw = type_kw(r->s.type) | ST_KW_WINSOCK;
  ebpf_ep *e = ep_get(x, r->h.sk, r->h.ts);
  int32_t ret = r->h.ret;
  bool done_inside = false;
  int32_t done_err = 0;
  uint16_t id;
  uint8_t ee = ST_EE_EXIT;
  st_event ev;

  if (!e)
    return;
  ep_owner(e, &r->p);
  ep_kind(e, &r->s);
  switch (r->h.kind) {
  case ST_K_BIND:
    id = ST_EV_BIND_ADDR;
    if (path)
      remember_path(e, path, r->h.path_len);
    else
      e->local = r->local;
    break;
  case ST_K_LISTEN:
    id = ST_EV_LISTEN;
    if (path)
      remember_path(e, path, r->h.path_len);
    else
      e->local = r->local;
    if (ret == 0 && !path) {
      e->flags |= EP_LISTENER;
      listener_add(x, e->local.port, e->sk);
    }
    break;
  case ST_K_CONNECT:
    id = ST_EV_CONNECT_ADDR;
    ee = ST_EE_ENTER;
    e->flags = (e->flags | EP_CONNECTING) & ~(EP_CONN_DONE | EP_CONN_PENDING);
    e->conn_to = r->remote;
    keep_path(&e->peer, &e->peer_len, path, r->h.path_len);
    if (r->local.family)
      e->local = r->local;
    break;
  default: /* ST_K_CONNECT_RET */
    if (!(e->flags & EP_CONNECTING) && (r->h.flags & ST_BPF_F_ENTER)) {
      /* A connect that did not wait sent its start with its end (the
       * socket had no address of its own yet). */
      struct st_bpf_rec_addr start = *r;
      start.h.kind = ST_K_CONNECT;
      start.h.flags = ST_BPF_F_ENTER;
      start.h.ret = 0;
      memset(&start.local, 0, sizeof start.local);
      on_addr_call(x, &start, sizeof start);
    }
    if (!(e->flags & EP_CONNECTING))
      return; /* its start was not traced (filtered, or lost) */
    id = ST_EV_CONNECT_ADDR;
    done_inside = e->flags & EP_CONN_DONE;
    done_err = e->conn_err;
    /* Ended inside the call without a record of its own: the state the
     * exit found tells how. */
    if (!done_inside && ret == -E_INPROGRESS && (r->h.flags & ST_BPF_F_STATE) &&
        (r->arg & 0xff) != ST_TCP_SYN_SENT && (r->arg & 0xff) != ST_TCP_SYN_RECV) {
      done_inside = true;
      done_err = (r->arg & 0xff) == ST_TCP_CLOSE ? -(int32_t)(r->arg >> 8) : 0;
      ep_error(e, done_err);
    }
    e->flags &= ~(EP_CONNECTING | EP_CONN_DONE);
    if (ret == -E_INPROGRESS && !done_inside)
      e->flags |= EP_CONN_PENDING;
    if (ret != -E_INPROGRESS)
      ep_error(e, ret);
    if (r->local.family)
      e->local = r->local;
    if (r->remote.family)
      e->remote = r->remote;
    break;
  }
  if (!wanted(x, ST_LEVEL_INFO, kw))
    return;
  ev_start(x, &ev, id, ST_LEVEL_INFO, ee, kw, r->h.ts, e);
  if (id == ST_EV_CONNECT_ADDR) {
    ev_local(&ev, &e->local);
    if (e->family == AF_UNIX_ && e->peer) {
      unix_path(e->peer, e->peer_len, &ev.remote);
      ev.has |= ST_HAS_REMOTE;
    } else {
      ev_remote(&ev, &e->conn_to);
    }
  } else if (path) {
    unix_path(path, r->h.path_len, &ev.local);
    ev.has |= ST_HAS_LOCAL;
  } else {
    ev_local(&ev, &r->local);
    ev_remote(&ev, &r->remote);
  }
  if (id == ST_EV_LISTEN) {
    ev.backlog = r->arg;
    ev.has |= ST_HAS_BACKLOG;
  }
  if (ee != ST_EE_ENTER)
    ev_status(&ev, ret);
  emit(x, &ev);
  /* On loopback the stack often finishes a non-blocking connect before
   * connect() returns EINPROGRESS: its completion follows at once. */
  if (r->h.kind == ST_K_CONNECT_RET && ret == -E_INPROGRESS && done_inside)
    emit_connect_done(x, e, r->h.ts, done_err);
}

static void on_accept(ebpf_expander *x, const struct st_bpf_rec_accept *r, size_t size) {
  const char *path = rec_path(&r->h, sizeof *r, size);
  uint64_t kw = type_kw(r->s.type) | ST_KW_WINSOCK;
  ebpf_ep *l = ep_get(x, r->h.sk, r->h.ts), *n = NULL;
  int32_t ret = r->h.ret;
  st_event ev;

  if (!l)
    return;
  ep_owner(l, &r->p);
  ep_kind(l, &r->s);
  if (path)
    remember_path(l, path, r->h.path_len);
  if (r->child) {
    /* Made by the stack when the handshake finished, or before the trace:
     * either way it is new to the application now. */
    n = ep_find(x, r->child);
    if (!n || (n->flags & EP_CLOSED)) /* a closed socket's address, reused */
      n = ep_new(x, r->child, r->h.ts, false);
    if (!n)
      return;
    n->flags &= ~EP_PREEXISTING;
    ep_owner(n, &r->p);
    ep_kind(n, &r->s);
    n->local = r->local;
    n->remote = r->remote;
    remember_path(n, path, r->h.path_len);
    if (wanted(x, ST_LEVEL_INFO, kw)) {
      ev_start(x, &ev, ST_EV_CREATE, ST_LEVEL_INFO, ST_EE_EXIT, kw, r->h.ts, n);
      ev_addrs(&ev, n);
      ev_status(&ev, 0);
      emit(x, &ev);
    }
  }
  uint8_t level = ret == -E_AGAIN ? ST_LEVEL_VERBOSE : ST_LEVEL_INFO;
  if (!wanted(x, level, kw))
    return;
  ev_start(x, &ev, ST_EV_ACCEPT_ADDR, level, ST_EE_EXIT, kw, r->h.ts, l);
  ev_local(&ev, &l->local);
  ev.backlog = r->backlog;
  ev.has |= ST_HAS_BACKLOG;
  if (n) {
    ev_remote(&ev, &r->remote);
    ev.accept_endpoint = n->endpoint;
    ev.has |= ST_HAS_ACCEPT_EP;
  }
  if (path) {
    unix_path(path, r->h.path_len, &ev.local);
    ev.has |= ST_HAS_LOCAL;
  }
  ev_status(&ev, ret);
  emit(x, &ev);
}

static void on_shutdown(ebpf_expander *x, const struct st_bpf_rec_sock *r) {
  ebpf_ep *e = ep_get(x, r->h.sk, r->h.ts);
  if (!e)
    return;
  ep_owner(e, &r->p);
  ep_kind(e, &r->s);
  emit_status(x, e, ST_EV_CLEANUP, ST_LEVEL_INFO, ST_EE_EXIT, type_kw(e->type) | ST_KW_WINSOCK,
              r->h.ts, r->h.ret);
}

/* The socket is gone for the application: Abort (when the close resets),
 * Cleanup, Close, then its summary. A TCP socket is remembered until the
 * kernel frees it, so late stack events (the FIN handshake, resets) keep
 * its endpoint. */
static void on_close(ebpf_expander *x, const struct st_bpf_rec_close *r) {
  ebpf_ep *e = ep_get(x, r->h.sk, r->h.ts);
  uint64_t kw;

  if (!e)
    return;
  ep_owner(e, &r->p);
  ep_kind(e, &r->s);
  if (r->local.family)
    e->local = r->local;
  if (r->remote.family)
    e->remote = r->remote;
  kw = type_kw(e->type) | ST_KW_WINSOCK;
  if (r->h.flags & ST_BPF_F_ABORTS)
    emit_local_abort(x, e, r->h.ts, ST_EE_ENTER);
  emit_status(x, e, ST_EV_CLEANUP, ST_LEVEL_INFO, ST_EE_EXIT, kw, r->h.ts, 0);
  emit_status(x, e, ST_EV_CLOSE, ST_LEVEL_INFO, ST_EE_EXIT, kw, r->h.ts, 0);
  emit_summary(x, e, r->h.ts, r->h.flags, &r->c);
  e->flags |= EP_CLOSED;
  if (e->protocol != TCP_ || e->family == AF_UNIX_) {
    ep_free(x, e);
    return;
  }
  /* The kernel tells no more of a socket its application closed, so the
   * oldest closed one is forgotten when another closes. */
  unsigned i = x->closed_next++ % CLOSED_KEPT;
  ebpf_ep *old = x->closed[i].sk ? ep_find(x, x->closed[i].sk) : NULL;
  if (old && old->endpoint == x->closed[i].endpoint && (old->flags & EP_CLOSED))
    ep_free(x, old);
  x->closed[i].sk = e->sk;
  x->closed[i].endpoint = e->endpoint;
}

/* The kernel freed a TCP socket; one its process never closed (it died)
 * ends here. */
static void on_destroy(ebpf_expander *x, const struct st_bpf_rec_close *r) {
  ebpf_ep *e = ep_find(x, r->h.sk);
  if (!e)
    return;
  if (!(e->flags & EP_CLOSED)) {
    if (r->local.family)
      e->local = r->local;
    if (r->remote.family)
      e->remote = r->remote;
    emit_status(x, e, ST_EV_CLOSE, ST_LEVEL_INFO, ST_EE_AFD, ST_KW_STREAM | ST_KW_WINSOCK, r->h.ts,
                e->final_err);
    emit_summary(x, e, r->h.ts, r->h.flags, &r->c);
  }
  ep_free(x, e);
}

static void on_option(ebpf_expander *x, const struct st_bpf_rec_option *r) {
  uint64_t kw = type_kw(r->s.type) | ST_KW_WINSOCK;
  ebpf_ep *e = ep_get(x, r->h.sk, r->h.ts);
  st_event ev;

  if (!e)
    return;
  ep_owner(e, &r->p);
  ep_kind(e, &r->s);
  if (!wanted(x, ST_LEVEL_VERBOSE, kw))
    return;
  ev_start(x, &ev, ST_EV_OPTION, ST_LEVEL_VERBOSE, ST_EE_EXIT, kw, r->h.ts, e);
  ev_addrs(&ev, e);
  ev.option = r->option;
  ev.value = r->value;
  ev.has |= ST_HAS_OPTION;
  ev_status(&ev, r->h.ret);
  emit(x, &ev);
}

static uint16_t data_id(const struct st_bpf_rec_data *r) {
  bool addr = r->remote.family != 0;
  if (r->send) {
    if (r->call == ST_BPF_CALL_TO)
      return addr ? ST_EV_SENDTO_ADDR : ST_EV_SEND;
    if (r->call == ST_BPF_CALL_MSG)
      return addr ? ST_EV_SENDMSG_ADDR : ST_EV_SENDMSG;
    return r->call == ST_BPF_CALL_MMSG ? ST_EV_SENDMSG : ST_EV_SEND;
  }
  if (r->call == ST_BPF_CALL_TO)
    return addr ? ST_EV_RECEIVEFROM_ADDR : ST_EV_RECEIVE;
  if (r->call == ST_BPF_CALL_MSG)
    return addr ? ST_EV_RECEIVEMSG_ADDR : ST_EV_RECEIVEMSG;
  return r->call == ST_BPF_CALL_MMSG ? ST_EV_RECEIVEMSG : ST_EV_RECEIVE;
}

static void on_data(ebpf_expander *x, const struct st_bpf_rec_data *r) {
  uint64_t kw = type_kw(r->s.type) | ST_KW_WINSOCK;
  ebpf_ep *e = ep_get(x, r->h.sk, r->h.ts);
  int32_t ret = r->h.ret;
  st_event ev;

  if (!e)
    return;
  ep_owner(e, &r->p);
  ep_kind(e, &r->s);
  if (ret >= 0) {
    if (r->send) {
      e->bytes_sent += (uint64_t)ret;
      e->sends++;
    } else {
      if (!(r->h.flags & ST_BPF_F_PEEK))
        e->bytes_received += (uint64_t)ret;
      e->receives++;
    }
  } else if (ret != -E_AGAIN) {
    ep_error(e, ret);
  }
  uint8_t level = ret >= 0 || ret == -E_AGAIN ? ST_LEVEL_VERBOSE : ST_LEVEL_INFO;
  if (!wanted(x, level, kw))
    return;
  ev_start(x, &ev, data_id(r), level, ST_EE_EXIT, kw, r->h.ts, e);
  ev_addrs(&ev, e);
  if (r->remote.family) {
    ip_addr(&r->remote, &ev.remote);
    ev.has |= ST_HAS_REMOTE;
  }
  ev.bytes = ret > 0 ? (uint64_t)ret : 0;
  ev.buffers = 1;
  ev.has |= ST_HAS_BYTES | ST_HAS_BUFFERS;
  ev_status(&ev, ret);
  emit(x, &ev);
}

static void on_conn_done(ebpf_expander *x, const struct st_bpf_rec_stack *r) {
  ebpf_ep *e = ep_find(x, r->h.sk);
  if (!e)
    return;
  ep_error(e, r->h.ret);
  if (e->flags & EP_CONN_PENDING) {
    e->flags &= ~EP_CONN_PENDING;
    emit_connect_done(x, e, r->h.ts, r->h.ret);
  } else if (e->flags & EP_CONNECTING) {
    e->conn_err = r->h.ret;
    e->flags |= EP_CONN_DONE;
  }
}

static void on_state(ebpf_expander *x, const struct st_bpf_rec_stack *r) {
  uint8_t old = r->arg >> 8, new = r->arg & 0xff;
  uint64_t kw = ST_KW_STREAM | ST_KW_TRANSPORT;
  ebpf_ep *e = ep_stack(x, r->h.sk, r->h.ts, r->sport, r->dport);
  st_event ev;

  if (!e)
    return;
  if (wanted(x, ST_LEVEL_VERBOSE, kw | ST_KW_TCP_STATE)) {
    ev_start(x, &ev, ST_EV_TCP_STATE_CHANGE, ST_LEVEL_VERBOSE, ST_EE_TRANSPORT,
             kw | ST_KW_TCP_STATE, r->h.ts, e);
    ev_addrs(&ev, e);
    ev.old_state = old;
    ev.new_state = new;
    ev.has |= ST_HAS_STATE;
    emit(x, &ev);
  }
  if (new == ST_TCP_CLOSE_WAIT)
    emit_status(x, e, ST_EV_DISCONNECT, ST_LEVEL_INFO, ST_EE_TRANSPORT, kw, r->h.ts, 0);
}

/* A stack event with the addresses the record brought. */
static void flow_event(ebpf_expander *x, st_event *ev, const ebpf_ep *e,
                       const struct st_bpf_rec_flow *r, uint16_t id, uint8_t level, uint64_t kw) {
  ev_start(x, ev, id, level, ST_EE_TRANSPORT, kw, r->h.ts, e);
  ev_local(ev, &r->local);
  ev_remote(ev, &r->remote);
}

static void on_reset_recv(ebpf_expander *x, const struct st_bpf_rec_flow *r) {
  uint64_t kw = ST_KW_STREAM | ST_KW_TRANSPORT;
  ebpf_ep *e = ep_stack(x, r->h.sk, r->h.ts, r->local.port, r->remote.port);
  st_event ev;

  if (!e)
    return;
  ep_error(e, -E_CONNRESET);
  if (!wanted(x, ST_LEVEL_ERROR, kw))
    return;
  flow_event(x, &ev, e, r, ST_EV_ABORT, ST_LEVEL_ERROR, kw);
  ev.reason = ST_ABORT_TRANSPORT_RESET;
  ev.has |= ST_HAS_REASON;
  ev_status(&ev, -E_CONNRESET);
  emit(x, &ev);
}

static void on_reset_sent(ebpf_expander *x, const struct st_bpf_rec_flow *r) {
  uint64_t kw = ST_KW_STREAM | ST_KW_TRANSPORT;
  ebpf_ep *e = r->h.sk ? ep_stack(x, r->h.sk, r->h.ts, r->local.port, r->remote.port) : NULL;
  st_event ev;

  if (r->h.sk && !e)
    return;
  /* Not an answer to a segment and not seen at close(): an abort by other
   * means (connect(AF_UNSPEC), a keepalive or user timeout). */
  if (e && (r->h.flags & ST_BPF_F_NO_SEGMENT) && !(e->flags & EP_ABORTED))
    emit_local_abort(x, e, r->h.ts, ST_EE_AFD);
  if (!wanted(x, ST_LEVEL_INFO, kw))
    return;
  flow_event(x, &ev, e, r, ST_EV_TCP_RESET_SENT, ST_LEVEL_INFO, kw);
  if (!e) {
    ev.pid = r->pid;
    memcpy(ev.comm, r->comm, ST_COMM_MAX);
    ev.comm[ST_COMM_MAX - 1] = '\0';
    ev.flags |= ST_FLAG_PID_GUESSED;
  }
  ev.old_state = ev.new_state = (uint8_t)r->arg;
  ev.has |= ST_HAS_STATE;
  emit(x, &ev);
}

static void on_retransmit(ebpf_expander *x, const struct st_bpf_rec_flow *r) {
  uint64_t kw = ST_KW_STREAM | ST_KW_TRANSPORT;
  ebpf_ep *e = ep_stack(x, r->h.sk, r->h.ts, r->local.port, r->remote.port);
  st_event ev;

  if (!e || !wanted(x, ST_LEVEL_INFO, kw))
    return;
  flow_event(x, &ev, e, r, ST_EV_TCP_RETRANSMIT, ST_LEVEL_INFO, kw);
  ev.old_state = ev.new_state = (uint8_t)r->arg;
  ev.has |= ST_HAS_STATE;
  emit(x, &ev);
}

/* A connection reached a listener: its connect indication, and the new
 * socket belongs to the listener's owner until its accept. */
static void on_child(ebpf_expander *x, const struct st_bpf_rec_flow *r) {
  uint64_t kw = ST_KW_STREAM | ST_KW_TRANSPORT;
  ebpf_ep *l = listener_of(x, r->local.port);
  st_event ev;

  if (!l)
    return;
  /* A new socket: one closed at this address before (kept for its late
   * stack events) is another endpoint. */
  ebpf_ep *old = ep_find(x, r->h.sk);
  if (old && (old->flags & EP_CLOSED))
    ep_free(x, old);
  ebpf_ep *c = ep_stack(x, r->h.sk, r->h.ts, r->local.port, r->remote.port);
  if (c) {
    c->local = r->local;
    c->remote = r->remote;
  }
  if (!wanted(x, ST_LEVEL_VERBOSE, kw))
    return;
  flow_event(x, &ev, l, r, ST_EV_CONNECT_INDICATION_ADDR, ST_LEVEL_VERBOSE, kw);
  ev.backlog = r->arg;
  ev.has |= ST_HAS_BACKLOG;
  emit(x, &ev);
}

static void on_data_ready(ebpf_expander *x, const struct st_bpf_rec_stack *r) {
  ebpf_ep *e = ep_find_live(x, r->h.sk, r->sport, r->dport);
  st_event ev;

  if (!e)
    return;
  uint64_t kw = type_kw(e->type) | ST_KW_TRANSPORT;
  if (!wanted(x, ST_LEVEL_VERBOSE, kw))
    return;
  ev_start(x, &ev, ST_EV_DATA_INDICATION, ST_LEVEL_VERBOSE, ST_EE_TRANSPORT, kw, r->h.ts, e);
  ev_addrs(&ev, e);
  if (e->protocol == TCP_ && e->family != AF_UNIX_) {
    ev.bytes = r->arg;
    ev.has |= ST_HAS_BYTES;
  }
  emit(x, &ev);
}

/* AFD's datagram-drop reasons (1033) for the kernel's, by name. */
static uint32_t afd_drop_reason(const char *name) {
  if (!name)
    return 0;
  if (!strcmp(name, "SOCKET_RCVBUFF") || !strcmp(name, "PROTO_MEM") ||
      !strcmp(name, "SOCKET_BACKLOG"))
    return 2; /* no buffer space */
  if (!strcmp(name, "NOMEM"))
    return 3; /* allocation failed */
  if (!strcmp(name, "PKT_TOO_BIG"))
    return 5; /* too large */
  return 0;
}

static void on_drop(ebpf_expander *x, const struct st_bpf_rec_drop *r) {
  bool dgram = r->s.type == SOCK_DGRAM_;
  uint64_t kw = type_kw(r->s.type) | ST_KW_TRANSPORT;
  uint8_t level = dgram ? ST_LEVEL_ERROR : ST_LEVEL_INFO;
  ebpf_ep *e = ep_find(x, r->h.sk);
  const char *name = NULL;
  st_event ev;

  if (!e || !wanted(x, level, kw))
    return;
  ev_start(x, &ev, dgram ? ST_EV_DATAGRAM_DROP_ADDR : ST_EV_KERNEL_DROP, level, ST_EE_TRANSPORT, kw,
           r->h.ts, e);
  ev.bytes = r->bytes;
  ev.has |= ST_HAS_BYTES | ST_HAS_REASON | ST_HAS_DETAIL;
  if (r->h.flags & ST_BPF_F_QUEUE_FAIL) {
    /* udp_fail_queue_rcv_skb: the receive queue refused it (-ENOMEM: the
     * buffer is full; -ENOBUFS: no memory to charge). */
    ev.reason = r->h.ret == -12 || r->h.ret == -105 ? 2 : 0;
    snprintf(ev.detail, sizeof ev.detail, "%s",
             r->h.ret == -12    ? "SOCKET_RCVBUFF"
             : r->h.ret == -105 ? "PROTO_MEM"
                                : "udp queue failure");
  } else {
    uint32_t reason = (uint32_t)r->h.ret;
    name = reason < x->drops->count ? x->drops->names[reason] : NULL;
    ev.reason = dgram ? afd_drop_reason(name) : reason;
    if (name)
      snprintf(ev.detail, sizeof ev.detail, "%s", name);
    else
      snprintf(ev.detail, sizeof ev.detail, "drop reason %u", reason);
  }
  if (dgram)
    ev_remote(&ev, &r->remote);
  emit(x, &ev);
}

/* ---- DNS ---------------------------------------------------------------- */

/* One DNS message (kept bytes of wire_len) a process sent or received. */
static void emit_dns(ebpf_expander *x, const ebpf_ep *e, const struct st_bpf_rec_dns *r,
                     const uint8_t *msg, uint32_t kept, uint32_t wire_len) {
  st_event ev;
  st_dns d;
  if (!st_dns_parse(msg, kept, wire_len, &d))
    return;
  /* Queries are level 5, answers level 4; both reach the session, which
   * pairs them (latency, unanswered queries) before its level applies. */
  uint8_t level = d.qr ? ST_LEVEL_INFO : ST_LEVEL_VERBOSE;
  ev_start(x, &ev, ST_EV_DNS_MESSAGE, level, ST_EE_TRANSPORT, ST_KW_DNS, r->h.ts, e);
  ev_local(&ev, &r->local);
  if (!(ev.has & ST_HAS_LOCAL))
    ev_local(&ev, &e->local);
  ev_remote(&ev, &r->remote);
  if (!(ev.has & ST_HAS_REMOTE))
    ev_remote(&ev, &e->remote);
  ev.dns = d;
  ev.dns.flags |= r->send ? ST_DNS_SENT : ST_DNS_RECEIVED;
  ev.bytes = wire_len;
  ev.has |= ST_HAS_DNS | ST_HAS_BYTES;
  emit(x, &ev);
}

/* Feeds what one call moved on a DNS-over-TCP socket (kept of n bytes
 * were copied) to its direction's reassembly; each complete message is
 * emitted. Bytes not copied lose the framing: the stream starts over. */
static void dns_tcp_feed(ebpf_expander *x, ebpf_ep *e, const struct st_bpf_rec_dns *r,
                         const uint8_t *p, uint32_t kept, uint32_t n) {
  dns_stream **slot = &e->dns[r->send ? 1 : 0];
  if (!*slot && !(*slot = calloc(1, sizeof **slot)))
    return;
  dns_stream *d = *slot;
  for (uint32_t i = 0; i < n;) {
    if (d->prefix_have < 2) {
      if (i >= kept) {
        d->prefix_have = 0;
        return;
      }
      d->prefix[d->prefix_have++] = p[i++];
      if (d->prefix_have == 2) {
        d->msg_len = (uint32_t)d->prefix[0] << 8 | d->prefix[1];
        d->msg_have = d->msg_kept = 0;
        if (!d->msg_len)
          d->prefix_have = 0;
      }
      continue;
    }
    uint32_t take = n - i < d->msg_len - d->msg_have ? n - i : d->msg_len - d->msg_have;
    uint32_t avail = i < kept ? kept - i : 0;
    uint32_t copy = take < avail ? take : avail;
    if (d->msg_kept == d->msg_have) { /* what is kept is the message's start */
      uint32_t room = (uint32_t)sizeof d->msg - d->msg_kept;
      uint32_t c = copy < room ? copy : room;
      memcpy(d->msg + d->msg_kept, p + i, c);
      d->msg_kept += c;
    }
    d->msg_have += take;
    i += take;
    if (d->msg_have == d->msg_len) {
      emit_dns(x, e, r, d->msg, d->msg_kept, d->msg_len);
      d->prefix_have = 0;
    }
  }
}

static void on_dns(ebpf_expander *x, const struct st_bpf_rec_dns *r) {
  ebpf_ep *e;
  if (!(x->kw_mask & ST_KW_DNS) || r->h.ret <= 0)
    return;
  if (!(e = ep_get(x, r->h.sk, r->h.ts)))
    return;
  ep_owner(e, &r->p);
  if (r->s.family)
    ep_kind(e, &r->s);
  uint32_t kept = r->len < ST_BPF_DNS_MAX ? r->len : ST_BPF_DNS_MAX;
  if (r->s.protocol == TCP_)
    dns_tcp_feed(x, e, r, r->data, kept, (uint32_t)r->h.ret);
  else
    emit_dns(x, e, r, r->data, kept, (uint32_t)r->h.ret);
}

/* Sizes of each kind's record. */
static size_t rec_size(uint16_t kind) {
  switch (kind) {
  case ST_K_CREATE:
  case ST_K_SHUTDOWN:
    return sizeof(struct st_bpf_rec_sock);
  case ST_K_BIND:
  case ST_K_LISTEN:
  case ST_K_CONNECT:
  case ST_K_CONNECT_RET:
    return sizeof(struct st_bpf_rec_addr);
  case ST_K_ACCEPT:
    return sizeof(struct st_bpf_rec_accept);
  case ST_K_CLOSE:
  case ST_K_DESTROY:
    return sizeof(struct st_bpf_rec_close);
  case ST_K_OPTION:
    return sizeof(struct st_bpf_rec_option);
  case ST_K_DATA:
    return sizeof(struct st_bpf_rec_data);
  case ST_K_CONN_DONE:
  case ST_K_STATE:
  case ST_K_DATA_READY:
    return sizeof(struct st_bpf_rec_stack);
  case ST_K_RESET_RECV:
  case ST_K_RESET_SENT:
  case ST_K_RETRANSMIT:
  case ST_K_CHILD:
    return sizeof(struct st_bpf_rec_flow);
  case ST_K_DROP:
    return sizeof(struct st_bpf_rec_drop);
  case ST_K_DNS:
    return offsetof(struct st_bpf_rec_dns, data);
  default:
    return 0;
  }
}

int ebpf_expand(ebpf_expander *x, const void *data, size_t size) {
  const struct st_bpf_hdr *h = data;
  size_t need;

  if (size < sizeof *h || !(need = rec_size(h->kind)) || size < need)
    return -1;
  switch (h->kind) {
  case ST_K_CREATE:
    on_create(x, data);
    break;
  case ST_K_BIND:
  case ST_K_LISTEN:
  case ST_K_CONNECT:
  case ST_K_CONNECT_RET:
    on_addr_call(x, data, size);
    break;
  case ST_K_ACCEPT:
    on_accept(x, data, size);
    break;
  case ST_K_SHUTDOWN:
    on_shutdown(x, data);
    break;
  case ST_K_CLOSE:
    on_close(x, data);
    break;
  case ST_K_DESTROY:
    on_destroy(x, data);
    break;
  case ST_K_OPTION:
    on_option(x, data);
    break;
  case ST_K_DATA:
    on_data(x, data);
    break;
  case ST_K_CONN_DONE:
    on_conn_done(x, data);
    break;
  case ST_K_STATE:
    on_state(x, data);
    break;
  case ST_K_RESET_RECV:
    on_reset_recv(x, data);
    break;
  case ST_K_RESET_SENT:
    on_reset_sent(x, data);
    break;
  case ST_K_RETRANSMIT:
    on_retransmit(x, data);
    break;
  case ST_K_CHILD:
    on_child(x, data);
    break;
  case ST_K_DATA_READY:
    on_data_ready(x, data);
    break;
  case ST_K_DROP:
    on_drop(x, data);
    break;
  case ST_K_DNS:
    if (size < offsetof(struct st_bpf_rec_dns, data) + ((const struct st_bpf_rec_dns *)data)->len)
      return -1;
    on_dns(x, data);
    break;
  }
  return 0;
}
