/*
 * Kernel side of the eBPF backend: classic tracepoints only (this kernel
 * family has no kprobes and refuses BPF trampolines), one BPF ring buffer,
 * CO-RE reads through a vmlinux.h generated at build time.
 *
 * Every socket the tracer sees gets a sock_info entry keyed by its struct
 * sock pointer: a per-trace endpoint number (never reused within a trace),
 * its owner (pid/tid/comm, refreshed by each syscall on it) so that events
 * raised in softirq context are attributed to the owner and never to
 * whoever the CPU was running, and the counters of its EndpointSummary.
 *
 * This is a hot path: programs stay short and flat, check level and filters
 * before they touch the ring, and never loop over anything unbounded.
 * Filtered events must never reach the ring buffer.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "socktrace.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define EAGAIN 11
#define ECONNABORTED 103
#define ECONNRESET 104
#define EINPROGRESS 115
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define FIONBIO 0x5421
#define MSG_PEEK 2
#define SOL_SOCKET 1
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_OOBINLINE 10
#define IPPROTO_IPV6 41
#define IPV6_V6ONLY 26

/* x86-64 syscall numbers that tell which send/recv call a data event is. */
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#define NR_RECVMMSG 299
#define NR_SENDMMSG 307

/* Event ids (event.h). */
enum {
  EV_CREATE = 1000,
  EV_CLOSE = 1001,
  EV_CLEANUP = 1002,
  EV_SEND = 1003,
  EV_RECEIVE = 1004,
  EV_SENDTO_ADDR = 1007,
  EV_RECEIVEFROM_ADDR = 1009,
  EV_SENDMSG = 1011,
  EV_RECEIVEMSG = 1012,
  EV_SENDMSG_ADDR = 1013,
  EV_RECEIVEMSG_ADDR = 1015,
  EV_CONNECT = 1017,
  EV_CONNECT_ADDR = 1018,
  EV_ACCEPT_ADDR = 1024,
  EV_BIND_ADDR = 1030,
  EV_ABORT = 1032,
  EV_DATAGRAM_DROP_ADDR = 1033,
  EV_OPTION = 1035,
  EV_LISTEN = 1037,
  EV_CONNECT_INDICATION_ADDR = 3001,
  EV_DATA_INDICATION = 3003,
  EV_DISCONNECT = 3006,
  EV_TCP_STATE_CHANGE = 5000,
  EV_TCP_RETRANSMIT = 5001,
  EV_TCP_RESET_SENT = 5002,
  EV_KERNEL_DROP = 5003,
  EV_ENDPOINT_SUMMARY = 5100,
};
enum { EE_ENTER = 0, EE_EXIT = 1, EE_INTERNAL = 2, EE_TRANSPORT = 3, EE_AFD = 4 };

/* Filters, set by the loader between open and load. */
const volatile __u8 max_level = ST_BPF_LEVEL_INFO;
const volatile __u64 kw_mask = ~0ULL;
const volatile __u32 filter_pids[ST_BPF_FILTER_MAX] = {};
const volatile __u32 n_pids = 0;
const volatile bool tree_on = false;
const volatile __u16 filter_ports[ST_BPF_FILTER_MAX] = {};
const volatile __u32 n_ports = 0;
const volatile __u32 family_mask = 0; /* bits 1 << AF_*; 0 = any */
/* Wake the reader only once this much is waiting (0: on every record). A
 * wakeup per record costs an IPI and a context switch, more than the
 * record itself; user space also drains the ring on a short timer. */
const volatile __u64 wakeup_bytes = 0;

/* Endpoint numbers of this trace; 0 means "no socket". */
__u64 next_endpoint = 0;

enum {
  SI_PREEXISTING = 1 << 0,
  SI_CONNECTING = 1 << 1,   /* inside connect() */
  SI_CONN_DONE = 1 << 2,    /* the stack finished the connect inside connect() */
  SI_CONN_PENDING = 1 << 3, /* connect() returned EINPROGRESS, stack not done */
  SI_ESTABLISHED = 1 << 4,
  SI_LISTENER = 1 << 5,
  SI_CLOSING = 1 << 6, /* inside the close() that drops the last reference */
  SI_CLOSED = 1 << 7,
  SI_DESTROYED = 1 << 8,
  SI_ABORTED = 1 << 9, /* the local abort was already reported */
};

struct owner {
  __u32 tgid, tid, ppid;
  char comm[ST_BPF_COMM_MAX];
};

struct sock_info {
  __u64 endpoint;
  __u64 created_ns;
  __u64 bytes_sent, bytes_received, sends, receives, retransmits;
  struct owner owner;
  __s32 first_err, final_err, conn_err;
  __u32 flags;
  __u16 family, type, protocol;
};

/* A syscall between its enter and exit tracepoints, keyed by thread id. */
enum {
  CALL_SOCKET = 1,
  CALL_BIND,
  CALL_LISTEN,
  CALL_CONNECT,
  CALL_ACCEPT,
  CALL_CLOSE,
  CALL_SHUTDOWN,
  CALL_SETSOCKOPT,
  CALL_IOCTL,
  CALL_RECVFROM,
  CALL_RECVMSG
};

struct call {
  __u64 sk;
  __u64 uptr;     /* user sockaddr (bind/connect/recvfrom) or msghdr (recvmsg) */
  __u64 ulen_ptr; /* recvfrom's addrlen pointer */
  __u64 value;    /* option value, recv byte count */
  __s32 fd;
  __u32 arg, arg2, arg3;
  __u32 ulen;
  __u16 kind;
  struct st_bpf_addr addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20); /* the loader sets the real size */
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32768);
  __type(key, __u64);
  __type(value, struct sock_info);
} socks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, struct call);
} calls SEC(".maps");

/* Listening sockets by (netns inode << 16 | port): a new child connection
 * belongs to the owner of its listener. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u64);
} listeners SEC(".maps");

/* Tgids of the traced process tree (seeded with filter.tree_root). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, __u8);
} tree SEC(".maps");

/* Kernels before 6.13 count file references in f_count. */
struct file___old {
  atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* ---- filters ---------------------------------------------------------- */

static __always_inline bool want(__u8 level, __u64 kw) {
  return level <= max_level && (kw & kw_mask);
}

static __always_inline bool pid_ok(__u32 tgid) {
  if (n_pids) {
    bool hit = false;
    for (int i = 0; i < ST_BPF_FILTER_MAX; i++) {
      if (i >= n_pids)
        break;
      if (filter_pids[i] == tgid)
        hit = true;
    }
    if (!hit)
      return false;
  }
  if (tree_on && !bpf_map_lookup_elem(&tree, &tgid))
    return false;
  return true;
}

/* Ports not known yet (an unbound socket) pass: core filters what is left. */
static __always_inline bool port_ok(__u16 a, __u16 b) {
  if (!n_ports || (!a && !b))
    return true;
  for (int i = 0; i < ST_BPF_FILTER_MAX; i++) {
    if (i >= n_ports)
      break;
    if ((a && filter_ports[i] == a) || (b && filter_ports[i] == b))
      return true;
  }
  return false;
}

static __always_inline bool family_ok(__u16 family) {
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
    return false;
  return !family_mask || (family_mask & (1u << family));
}

static __always_inline __u64 type_kw(__u16 type) {
  return type == SOCK_DGRAM ? ST_BPF_KW_DATAGRAM : ST_BPF_KW_STREAM;
}

static __always_inline bool sk_ports_ok(struct sock *sk) {
  if (!n_ports)
    return true;
  __u16 l = BPF_CORE_READ(sk, __sk_common.skc_num);
  __u16 r = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  return port_ok(l, r);
}

/* ---- sockets and owners ----------------------------------------------- */

static __always_inline void owner_fill(struct owner *o, __u64 id) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();

  o->tgid = id >> 32;
  o->tid = (__u32)id;
  o->ppid = BPF_CORE_READ(t, real_parent, tgid);
  bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Refreshes a socket's owner to the current thread. The same thread as
 * last time has nothing new to say: this runs on every send and receive,
 * so it skips the parent read and the comm copy then. */
static __always_inline void owner_current(struct owner *o) {
  __u64 id = bpf_get_current_pid_tgid();

  if (o->tgid == id >> 32 && o->tid == (__u32)id)
    return;
  owner_fill(o, id);
}

static __always_inline struct file *fd_to_file(int fd) {
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
  struct file **fds;
  struct file *f = NULL;

  if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
    return NULL;
  fds = BPF_CORE_READ(fdt, fd);
  bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
  if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
    return NULL;
  return f;
}

static __always_inline struct sock *file_to_sock(struct file *f) {
  struct socket *so = BPF_CORE_READ(f, private_data);
  return BPF_CORE_READ(so, sk);
}

static __always_inline struct sock *fd_to_sock(int fd) {
  struct file *f = fd_to_file(fd);
  return f ? file_to_sock(f) : NULL;
}

static __always_inline bool file_last_ref(struct file *f) {
  if (bpf_core_field_exists(f->f_ref))
    return BPF_CORE_READ(f, f_ref.refcnt.counter) == 0; /* file_ref_t counts from 0 */
  struct file___old *fo = (void *)f;
  return BPF_CORE_READ(fo, f_count.counter) == 1;
}

static __always_inline __u64 listener_key(struct sock *sk, __u16 port) {
  __u64 ns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
  return ns << 16 | port;
}

/*
 * The socket's entry, created when absent (fresh: the socket was just made,
 * so it gets a new endpoint even if its address was used before). A socket
 * first met here other than at creation existed before the trace. Returns
 * NULL for families the tracer does not follow.
 */
static __always_inline struct sock_info *sock_get(struct sock *sk, bool fresh) {
  __u64 key = (__u64)sk;
  struct sock_info *si;
  struct sock_info n = {};

  if (!sk)
    return NULL;
  if (!fresh) {
    si = bpf_map_lookup_elem(&socks, &key);
    if (si)
      return si;
  }
  n.family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (!family_ok(n.family))
    return NULL;
  n.type = BPF_CORE_READ(sk, sk_type);
  n.protocol = BPF_CORE_READ(sk, sk_protocol);
  n.endpoint = __sync_fetch_and_add(&next_endpoint, 1) + 1;
  n.created_ns = bpf_ktime_get_boot_ns();
  n.flags = fresh ? 0 : SI_PREEXISTING;
  owner_fill(&n.owner, bpf_get_current_pid_tgid());
  bpf_map_update_elem(&socks, &key, &n, BPF_ANY);
  return bpf_map_lookup_elem(&socks, &key);
}

static __always_inline struct sock_info *sock_find(const void *sk) {
  __u64 key = (__u64)sk;
  return bpf_map_lookup_elem(&socks, &key);
}

static __always_inline bool is_tcp(const struct sock_info *si) {
  return si->protocol == IPPROTO_TCP && si->family != AF_UNIX;
}

/* ---- records ---------------------------------------------------------- */

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64 *c = bpf_map_lookup_elem(&lost, &zero);
  if (c)
    *c += 1;
}

static __always_inline void rec_submit(void *r) {
  __u64 flags = 0;

  if (wakeup_bytes)
    flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                          : BPF_RB_NO_WAKEUP;
  bpf_ringbuf_submit(r, flags);
}

static __always_inline struct st_bpf_rec *rec_new(__u16 id, __u8 level, __u8 ee, __u64 kw) {
  struct st_bpf_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

  if (!r) {
    count_lost();
    return NULL;
  }
  __builtin_memset(r, 0, offsetof(struct st_bpf_rec, u));
  r->ts = bpf_ktime_get_boot_ns();
  r->id = id;
  r->level = level;
  r->enter_exit = ee;
  r->keywords = kw;
  return r;
}

static __always_inline void rec_owner(struct st_bpf_rec *r, const struct owner *o) {
  r->pid = o->tgid;
  r->tid = o->tid;
  r->ppid = o->ppid;
  if (o->ppid)
    r->has |= ST_BPF_HAS_PPID;
  __builtin_memcpy(r->comm, o->comm, sizeof(r->comm));
}

/* Endpoint, owner, family/type/protocol of a socket's record. */
static __always_inline void rec_sock(struct st_bpf_rec *r, const struct sock_info *si) {
  r->endpoint = si->endpoint;
  rec_owner(r, &si->owner);
  if (si->flags & SI_PREEXISTING)
    r->flags |= ST_BPF_FLAG_PREEXISTING;
  r->family = si->family;
  r->type = si->type;
  r->protocol = si->protocol;
  r->has |= ST_BPF_HAS_FAMILY | ST_BPF_HAS_TYPE | ST_BPF_HAS_PROTOCOL;
}

static __always_inline void rec_status(struct st_bpf_rec *r, long err) {
  r->err = err < 0 ? err : 0;
  r->has |= ST_BPF_HAS_STATUS;
}

/* Local and remote address as the socket has them now. */
static __always_inline void rec_sk_addrs(struct st_bpf_rec *r, struct sock *sk, __u16 family) {
  if (family == AF_INET) {
    BPF_CORE_READ_INTO(&r->local.addr, sk, __sk_common.skc_rcv_saddr);
    BPF_CORE_READ_INTO(&r->remote.addr, sk, __sk_common.skc_daddr);
  } else if (family == AF_INET6) {
    BPF_CORE_READ_INTO(&r->local.addr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&r->remote.addr, sk, __sk_common.skc_v6_daddr);
  } else {
    return;
  }
  r->local.family = r->remote.family = family;
  r->local.port = BPF_CORE_READ(sk, __sk_common.skc_num);
  r->remote.port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  if (r->local.port)
    r->has |= ST_BPF_HAS_LOCAL;
  if (r->remote.port)
    r->has |= ST_BPF_HAS_REMOTE;
}

/* The bound path of a unix socket (an accepted socket shares its
 * listener's). */
static __always_inline void rec_unix_path(struct st_bpf_rec *r, struct sock *sk, __u8 slot) {
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
  bpf_probe_read_kernel(r->u.path, sizeof(r->u.path), &a->name[0].sun_path);
  r->path_slot = slot;
  r->path_len = len;
  r->has |= slot == ST_BPF_PATH_LOCAL ? ST_BPF_HAS_LOCAL : ST_BPF_HAS_REMOTE;
}

/* An IP address from a struct sockaddr_in / sockaddr_in6 image. */
static __always_inline void addr_from_sockaddr(struct st_bpf_addr *a, const __u8 *sa) {
  __u16 family = *(__u16 *)sa;

  if (family == AF_INET) {
    __builtin_memcpy(a->addr, sa + 4, 4);
  } else if (family == AF_INET6) {
    __builtin_memcpy(a->addr, sa + 8, 16);
  } else {
    return;
  }
  a->family = family;
  a->port = bpf_ntohs(*(__u16 *)(sa + 2));
}

/* A sockaddr the application passed (bind/connect/sendto): IP into a; the
 * family is returned so unix callers can read the path with
 * rec_user_path. */
static __always_inline __u16 user_sockaddr(struct st_bpf_addr *a, const void *uaddr, __u32 len) {
  __u8 sa[28] = {};
  __u64 n = len;

  barrier_var(n);
  if (!uaddr || n < 2)
    return 0;
  if (n > sizeof(sa))
    n = sizeof(sa);
  bpf_probe_read_user(sa, n, uaddr);
  addr_from_sockaddr(a, sa);
  return *(__u16 *)sa;
}

static __always_inline void rec_user_path(struct st_bpf_rec *r, const void *uaddr, __u32 len,
                                          __u8 slot) {
  __u64 n = len;

  barrier_var(n);
  if (!uaddr || n <= 2)
    return;
  n -= 2;
  if (n > ST_BPF_PATH_MAX)
    n = ST_BPF_PATH_MAX;
  bpf_probe_read_user(r->u.path, n, (const char *)uaddr + 2);
  r->path_slot = slot;
  r->path_len = n;
  r->has |= slot == ST_BPF_PATH_LOCAL ? ST_BPF_HAS_LOCAL : ST_BPF_HAS_REMOTE;
}

/* Addresses carried by the tcp/sock tracepoints (saddr/daddr/_v6 arrays). */
static __always_inline void rec_tp_addrs(struct st_bpf_rec *r, __u16 family, __u16 sport,
                                         __u16 dport, const __u8 *s4, const __u8 *d4,
                                         const __u8 *s6, const __u8 *d6) {
  /* The verifier refuses derived context pointers: copy, don't load. */
  if (family == AF_INET) {
    bpf_probe_read_kernel(r->local.addr, 4, s4);
    bpf_probe_read_kernel(r->remote.addr, 4, d4);
  } else if (family == AF_INET6) {
    bpf_probe_read_kernel(r->local.addr, 16, s6);
    bpf_probe_read_kernel(r->remote.addr, 16, d6);
  } else {
    return;
  }
  r->local.family = r->remote.family = family;
  r->local.port = sport;
  r->remote.port = dport;
  r->has |= ST_BPF_HAS_LOCAL | ST_BPF_HAS_REMOTE;
}

#define REC_TP_ADDRS(r, ctx)                                                                       \
  rec_tp_addrs(r, (ctx)->family, (ctx)->sport, (ctx)->dport, (ctx)->saddr, (ctx)->daddr,           \
               (ctx)->saddr_v6, (ctx)->daddr_v6)

static __always_inline void emit_summary(struct sock_info *si) {
  __u64 kw = type_kw(si->type) | ST_BPF_KW_SUMMARY;
  struct st_bpf_rec *r;

  if (!want(ST_BPF_LEVEL_INFO, kw))
    return;
  r = rec_new(EV_ENDPOINT_SUMMARY, ST_BPF_LEVEL_INFO, EE_INTERNAL, kw);
  if (!r)
    return;
  rec_sock(r, si);
  r->has |= ST_BPF_HAS_SUMMARY;
  r->u.summary.bytes_sent = si->bytes_sent;
  r->u.summary.bytes_received = si->bytes_received;
  r->u.summary.sends = si->sends;
  r->u.summary.receives = si->receives;
  r->u.summary.duration_ns = r->ts - si->created_ns;
  r->u.summary.retransmits = si->retransmits;
  r->u.summary.first_err = si->first_err;
  r->u.summary.final_err = si->final_err;
  rec_submit(r);
}

/* One socket event from a syscall, attributed to the calling thread. */
static __always_inline struct st_bpf_rec *sys_rec(struct sock_info *si, struct sock *sk, __u16 id,
                                                  __u8 level, __u8 ee, __u64 kw) {
  struct st_bpf_rec *r = rec_new(id, level, ee, kw);

  if (!r)
    return NULL;
  rec_sock(r, si);
  rec_sk_addrs(r, sk, si->family);
  return r;
}

static __always_inline void call_put(__u16 kind, struct call *c) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  c->kind = kind;
  bpf_map_update_elem(&calls, &tid, c, BPF_ANY);
}

/* Takes the call this thread started; false when none of that kind. */
static __always_inline bool call_take(__u16 kind, struct call *out) {
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  struct call *c = bpf_map_lookup_elem(&calls, &tid);

  if (!c)
    return false;
  __builtin_memcpy(out, c, sizeof(*out));
  bpf_map_delete_elem(&calls, &tid);
  return out->kind == kind;
}

static __always_inline bool current_ok(void) {
  return pid_ok(bpf_get_current_pid_tgid() >> 32);
}

/* The socket of fd for a syscall by the current thread, its owner
 * refreshed. */
static __always_inline struct sock_info *sys_sock(struct sock *sk) {
  struct sock_info *si = sock_get(sk, false);
  if (si)
    owner_current(&si->owner);
  return si;
}

/* An application-initiated event on a socket, when level, keywords and
 * ports let it through. */
static __always_inline struct st_bpf_rec *sys_event(struct sock_info *si, struct sock *sk, __u16 id,
                                                    __u8 level, __u8 ee) {
  __u64 kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;

  if (!want(level, kw) || !sk_ports_ok(sk))
    return NULL;
  return sys_rec(si, sk, id, level, ee, kw);
}

static __always_inline void submit_status(struct st_bpf_rec *r, long err) {
  rec_status(r, err);
  rec_submit(r);
}

/* The exit half of a syscall on a socket fd: the call this thread started
 * and its socket, owner refreshed. */
static __always_inline struct sock_info *exit_sock(__u16 kind, struct call *c, struct sock **sk) {
  if (!call_take(kind, c))
    return NULL;
  *sk = fd_to_sock(c->fd);
  return sys_sock(*sk);
}

/* A socket event that carries only a status (cleanup, close, completion). */
static __always_inline void emit_status(struct sock_info *si, struct sock *sk, __u16 id, __u8 level,
                                        __u8 ee, __u64 kw, long err) {
  struct st_bpf_rec *r;

  if (!want(level, kw) || !sk_ports_ok(sk))
    return;
  r = sys_rec(si, sk, id, level, ee, kw);
  if (!r)
    return;
  submit_status(r, err);
}

/* The peer a connect() named: an IP from the call, or a unix path. */
static __always_inline void rec_call_remote(struct st_bpf_rec *r, const struct call *c) {
  if (c->arg == AF_UNIX) {
    rec_user_path(r, (void *)c->uptr, c->ulen, ST_BPF_PATH_REMOTE);
  } else if (c->addr.family) {
    r->remote = c->addr;
    r->has |= ST_BPF_HAS_REMOTE;
  }
}

/* ---- socket() --------------------------------------------------------- */

SEC("tracepoint/syscalls/sys_enter_socket")
int enter_socket(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};

  if (!family_ok(ctx->args[0]) || !current_ok())
    return 0;
  c.arg = ctx->args[0];
  c.arg2 = ctx->args[1] & 0xf;
  c.arg3 = ctx->args[2];
  call_put(CALL_SOCKET, &c);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_socket")
int exit_socket(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si = NULL;
  struct st_bpf_rec *r;
  long ret = ctx->ret;
  __u64 kw;

  if (!call_take(CALL_SOCKET, &c))
    return 0;
  if (ret >= 0)
    si = sock_get(fd_to_sock(ret), true);
  kw = type_kw(c.arg2) | ST_BPF_KW_WINSOCK;
  if (!want(ST_BPF_LEVEL_INFO, kw))
    return 0;
  r = rec_new(EV_CREATE, ST_BPF_LEVEL_INFO, EE_EXIT, kw);
  if (!r)
    return 0;
  if (si) {
    rec_sock(r, si);
  } else {
    struct owner o;
    owner_fill(&o, bpf_get_current_pid_tgid());
    rec_owner(r, &o);
    r->family = c.arg;
    r->type = c.arg2;
    r->protocol = c.arg3;
    r->has |= ST_BPF_HAS_FAMILY | ST_BPF_HAS_TYPE | ST_BPF_HAS_PROTOCOL;
  }
  submit_status(r, ret);
  return 0;
}

/* ---- bind() / listen() / shutdown() ----------------------------------- */

SEC("tracepoint/syscalls/sys_enter_bind")
int enter_bind(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};

  if (!current_ok())
    return 0;
  c.fd = ctx->args[0];
  c.uptr = ctx->args[1];
  c.ulen = ctx->args[2];
  c.arg = user_sockaddr(&c.addr, (void *)c.uptr, c.ulen);
  call_put(CALL_BIND, &c);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int exit_bind(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;
  __u64 kw;

  si = exit_sock(CALL_BIND, &c, &sk);
  if (!si)
    return 0;
  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  if (!want(ST_BPF_LEVEL_INFO, kw) || !port_ok(c.addr.port, 0))
    return 0;
  r = sys_rec(si, sk, EV_BIND_ADDR, ST_BPF_LEVEL_INFO, EE_EXIT, kw);
  if (!r)
    return 0;
  if (c.arg == AF_UNIX) {
    rec_user_path(r, (void *)c.uptr, c.ulen, ST_BPF_PATH_LOCAL);
  } else if (ctx->ret < 0 || !(r->has & ST_BPF_HAS_LOCAL)) {
    r->local = c.addr; /* what was asked for; the socket has no address */
    if (c.addr.family)
      r->has |= ST_BPF_HAS_LOCAL;
  }
  submit_status(r, ctx->ret);
  return 0;
}

/* listen(), shutdown(): fd plus one integer. */
static __always_inline int enter_fd_arg(struct trace_event_raw_sys_enter *ctx, __u16 kind) {
  struct call c = {};

  if (!current_ok())
    return 0;
  c.fd = ctx->args[0];
  c.arg = ctx->args[1];
  call_put(kind, &c);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx) {
  return enter_fd_arg(ctx, CALL_LISTEN);
}

SEC("tracepoint/syscalls/sys_exit_listen")
int exit_listen(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;

  si = exit_sock(CALL_LISTEN, &c, &sk);
  if (!si)
    return 0;
  if (ctx->ret == 0 && si->family != AF_UNIX) {
    __u64 key = listener_key(sk, BPF_CORE_READ(sk, __sk_common.skc_num));
    __u64 val = (__u64)sk;
    si->flags |= SI_LISTENER;
    bpf_map_update_elem(&listeners, &key, &val, BPF_ANY);
  }
  r = sys_event(si, sk, EV_LISTEN, ST_BPF_LEVEL_INFO, EE_EXIT);
  if (!r)
    return 0;
  if (si->family == AF_UNIX)
    rec_unix_path(r, sk, ST_BPF_PATH_LOCAL);
  r->backlog = c.arg;
  r->has |= ST_BPF_HAS_BACKLOG;
  submit_status(r, ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_shutdown")
int enter_shutdown(struct trace_event_raw_sys_enter *ctx) {
  return enter_fd_arg(ctx, CALL_SHUTDOWN);
}

SEC("tracepoint/syscalls/sys_exit_shutdown")
int exit_shutdown(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si;
  struct sock *sk;

  si = exit_sock(CALL_SHUTDOWN, &c, &sk);
  if (si)
    emit_status(si, sk, EV_CLEANUP, ST_BPF_LEVEL_INFO, EE_EXIT,
                type_kw(si->type) | ST_BPF_KW_WINSOCK, ctx->ret);
  return 0;
}

/* ---- connect() -------------------------------------------------------- */

static __always_inline void emit_connect_done(struct sock_info *si, struct sock *sk, long err) {
  emit_status(si, sk, EV_CONNECT, ST_BPF_LEVEL_INFO, EE_TRANSPORT,
              ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT, err);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;
  __u64 kw;

  if (!current_ok())
    return 0;
  c.fd = ctx->args[0];
  sk = fd_to_sock(c.fd);
  si = sys_sock(sk);
  if (!si)
    return 0;
  c.sk = (__u64)sk;
  c.uptr = ctx->args[1];
  c.ulen = ctx->args[2];
  c.arg = user_sockaddr(&c.addr, (void *)c.uptr, c.ulen);
  si->flags = (si->flags | SI_CONNECTING) & ~(SI_CONN_DONE | SI_CONN_PENDING);
  call_put(CALL_CONNECT, &c);

  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  if (!want(ST_BPF_LEVEL_INFO, kw) || !port_ok(BPF_CORE_READ(sk, __sk_common.skc_num), c.addr.port))
    return 0;
  r = sys_rec(si, sk, EV_CONNECT_ADDR, ST_BPF_LEVEL_INFO, EE_ENTER, kw);
  if (!r)
    return 0;
  rec_call_remote(r, &c);
  rec_submit(r);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;
  long ret = ctx->ret;
  bool done_inside;
  __s32 done_err;
  __u64 kw;

  if (!call_take(CALL_CONNECT, &c))
    return 0;
  sk = (struct sock *)c.sk;
  si = sock_find(sk);
  if (!si)
    return 0;
  done_inside = si->flags & SI_CONN_DONE;
  done_err = si->conn_err;
  si->flags &= ~(SI_CONNECTING | SI_CONN_DONE);
  if (ret == -EINPROGRESS && !done_inside)
    si->flags |= SI_CONN_PENDING;
  if (ret < 0 && ret != -EINPROGRESS) {
    si->final_err = ret;
    if (!si->first_err)
      si->first_err = ret;
  }

  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  if (!want(ST_BPF_LEVEL_INFO, kw) || !port_ok(BPF_CORE_READ(sk, __sk_common.skc_num), c.addr.port))
    return 0;
  r = sys_rec(si, sk, EV_CONNECT_ADDR, ST_BPF_LEVEL_INFO, EE_EXIT, kw);
  if (!r)
    return 0;
  rec_call_remote(r, &c);
  submit_status(r, ret);
  /* On loopback the stack often finishes a non-blocking connect before
   * connect() returns EINPROGRESS: report the completion right after. */
  if (ret == -EINPROGRESS && done_inside)
    emit_connect_done(si, sk, done_err);
  return 0;
}

/* ---- accept() --------------------------------------------------------- */

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx) {
  return enter_fd_arg(ctx, CALL_ACCEPT);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx) {
  return enter_fd_arg(ctx, CALL_ACCEPT);
}

static __always_inline int exit_accept_common(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *lsi, *nsi = NULL;
  struct st_bpf_rec *r;
  struct sock *lsk, *nsk = NULL;
  long ret = ctx->ret;
  __u8 level;
  __u64 kw;

  if (!call_take(CALL_ACCEPT, &c))
    return 0;
  lsk = fd_to_sock(c.fd);
  lsi = sys_sock(lsk);
  if (!lsi)
    return 0;
  kw = type_kw(lsi->type) | ST_BPF_KW_WINSOCK;
  if (ret >= 0) {
    nsk = fd_to_sock(ret);
    nsi = sock_get(nsk, false);
    if (!nsi)
      return 0;
    /* Made by the stack when the handshake finished, or before the trace:
     * either way it is new to the application now. */
    nsi->flags &= ~SI_PREEXISTING;
    owner_current(&nsi->owner);
    if (want(ST_BPF_LEVEL_INFO, kw) && sk_ports_ok(nsk)) {
      r = sys_rec(nsi, nsk, EV_CREATE, ST_BPF_LEVEL_INFO, EE_EXIT, kw);
      if (r) {
        if (nsi->family == AF_UNIX)
          rec_unix_path(r, nsk, ST_BPF_PATH_LOCAL);
        rec_status(r, 0);
        rec_submit(r);
      }
    }
  }
  level = ret >= 0 || ret == -EAGAIN ? ST_BPF_LEVEL_VERBOSE : ST_BPF_LEVEL_INFO;
  if (ret >= 0)
    level = ST_BPF_LEVEL_INFO;
  if (!want(level, kw) || !sk_ports_ok(lsk))
    return 0;
  r = sys_rec(lsi, lsk, EV_ACCEPT_ADDR, level, EE_EXIT, kw);
  if (!r)
    return 0;
  r->backlog = BPF_CORE_READ(lsk, sk_ack_backlog);
  r->has |= ST_BPF_HAS_BACKLOG;
  if (nsi) {
    struct st_bpf_addr peer = {};
    if (nsi->family == AF_INET || nsi->family == AF_INET6) {
      peer.family = nsi->family;
      peer.port = bpf_ntohs(BPF_CORE_READ(nsk, __sk_common.skc_dport));
      if (nsi->family == AF_INET)
        BPF_CORE_READ_INTO(&peer.addr, nsk, __sk_common.skc_daddr);
      else
        BPF_CORE_READ_INTO(&peer.addr, nsk, __sk_common.skc_v6_daddr);
      r->remote = peer;
      r->has |= ST_BPF_HAS_REMOTE;
    }
    r->accept_ep = nsi->endpoint;
    r->has |= ST_BPF_HAS_ACCEPT_EP;
  }
  if (lsi->family == AF_UNIX)
    rec_unix_path(r, lsk, ST_BPF_PATH_LOCAL);
  submit_status(r, ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx) {
  return exit_accept_common(ctx);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx) {
  return exit_accept_common(ctx);
}

/* ---- close() ---------------------------------------------------------- */

/* The application aborts: the RST goes out at once (linger on with a zero
 * timeout, or unread data), reported before the stack's reaction. */
static __always_inline void emit_local_abort(struct sock_info *si, struct sock *sk, __u8 ee) {
  __u64 kw = ST_BPF_KW_STREAM | ST_BPF_KW_WINSOCK;
  struct st_bpf_rec *r;

  si->flags |= SI_ABORTED;
  si->final_err = -ECONNABORTED;
  if (!want(ST_BPF_LEVEL_ERROR, kw) || !sk_ports_ok(sk))
    return;
  r = sys_rec(si, sk, EV_ABORT, ST_BPF_LEVEL_ERROR, ee, kw);
  if (!r)
    return;
  r->reason = 2; /* abortive disconnect requested locally */
  r->has |= ST_BPF_HAS_REASON;
  submit_status(r, -ECONNABORTED);
}

static __always_inline bool close_aborts(struct sock *sk) {
  struct tcp_sock *tp = (struct tcp_sock *)sk;
  int state = BPF_CORE_READ(sk, __sk_common.skc_state);
  unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
  __u32 unread;

  if (state == TCP_CLOSE || state == TCP_LISTEN)
    return false;
  /* Unread data (not the peer's FIN, which also takes a sequence number)
   * makes tcp_close() reset the connection. */
  unread = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
  if (unread && (state == TCP_CLOSE_WAIT || state == TCP_CLOSING || state == TCP_LAST_ACK))
    unread--;
  if (unread)
    return true;
  return (flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_LINGER))) &&
         !BPF_CORE_READ(sk, sk_lingertime);
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};
  struct sock_info *si;
  struct file *f;
  struct sock *sk;

  if (!current_ok())
    return 0;
  f = fd_to_file(ctx->args[0]);
  if (!f || !file_last_ref(f))
    return 0;
  sk = file_to_sock(f);
  si = sys_sock(sk);
  if (!si)
    return 0;
  si->flags |= SI_CLOSING;
  c.sk = (__u64)sk;
  call_put(CALL_CLOSE, &c);
  if (is_tcp(si) && close_aborts(sk))
    emit_local_abort(si, sk, EE_ENTER);
  return 0;
}

/* The socket is gone for the application: Cleanup, Close, then its summary.
 * A TCP socket's entry lives on until tcp_destroy_sock, so late stack events
 * (FIN handshake, resets) keep its endpoint. */
SEC("tracepoint/syscalls/sys_exit_close")
int exit_close(struct trace_event_raw_sys_exit *ctx) {
  struct call c;
  struct sock_info *si;
  struct sock *sk;
  __u64 kw;

  if (!call_take(CALL_CLOSE, &c))
    return 0;
  sk = (struct sock *)c.sk;
  si = sock_find(sk);
  if (!si)
    return 0;
  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  emit_status(si, sk, EV_CLEANUP, ST_BPF_LEVEL_INFO, EE_EXIT, kw, ctx->ret);
  emit_status(si, sk, EV_CLOSE, ST_BPF_LEVEL_INFO, EE_EXIT, kw, ctx->ret);
  if (sk_ports_ok(sk))
    emit_summary(si);
  si->flags |= SI_CLOSED;
  if (si->flags & SI_LISTENER) {
    __u64 key = listener_key(sk, BPF_CORE_READ(sk, __sk_common.skc_num));
    bpf_map_delete_elem(&listeners, &key);
  }
  if (!is_tcp(si) || (si->flags & SI_DESTROYED))
    bpf_map_delete_elem(&socks, &c.sk);
  return 0;
}

/* ---- setsockopt() / ioctl(FIONBIO): level 5 --------------------------- */

SEC("tracepoint/syscalls/sys_enter_setsockopt")
int enter_setsockopt(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};
  __u32 optlen = ctx->args[4];

  if (max_level < ST_BPF_LEVEL_VERBOSE || !current_ok())
    return 0;
  c.fd = ctx->args[0];
  c.arg = ctx->args[1];
  c.arg2 = ctx->args[2];
  bpf_probe_read_user(&c.value, optlen >= 8 ? 8 : 4, (void *)ctx->args[3]);
  call_put(CALL_SETSOCKOPT, &c);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int enter_ioctl(struct trace_event_raw_sys_enter *ctx) {
  struct call c = {};

  if (ctx->args[1] != FIONBIO || max_level < ST_BPF_LEVEL_VERBOSE || !current_ok())
    return 0;
  c.fd = ctx->args[0];
  c.arg = 2; /* AFD option FIONBIO */
  bpf_probe_read_user(&c.value, 4, (void *)ctx->args[2]);
  call_put(CALL_IOCTL, &c);
  return 0;
}

/* AFD's option codes where Linux has the same option; others keep the
 * native level and name as 0x80000000 | level << 16 | name. */
static __always_inline __u32 afd_option(__u32 level, __u32 name) {
  if (level == SOL_SOCKET && name == SO_OOBINLINE)
    return 1;
  if (level == SOL_SOCKET && name == SO_RCVBUF)
    return 6;
  if (level == SOL_SOCKET && name == SO_SNDBUF)
    return 7;
  if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
    return 0xD;
  return 0x80000000u | (level & 0x7fff) << 16 | (name & 0xffff);
}

static __always_inline int exit_option(struct trace_event_raw_sys_exit *ctx, __u16 kind) {
  struct call c;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;

  si = exit_sock(kind, &c, &sk);
  if (!si)
    return 0;
  r = sys_event(si, sk, EV_OPTION, ST_BPF_LEVEL_VERBOSE, EE_EXIT);
  if (!r)
    return 0;
  r->option = kind == CALL_IOCTL ? c.arg : afd_option(c.arg, c.arg2);
  r->value = c.value;
  r->has |= ST_BPF_HAS_OPTION;
  submit_status(r, ctx->ret);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_setsockopt")
int exit_setsockopt(struct trace_event_raw_sys_exit *ctx) {
  return exit_option(ctx, CALL_SETSOCKOPT);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int exit_ioctl(struct trace_event_raw_sys_exit *ctx) {
  return exit_option(ctx, CALL_IOCTL);
}

/* ---- data: sock_send_length / sock_recv_length ------------------------ */

/* The syscall the current thread is in, and its user registers (x86-64:
 * arguments in di, si, dx, r10, r8, r9). Elsewhere every data event is a
 * plain send/receive. */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG2(regs) BPF_CORE_READ(regs, si)
#define SYSCALL_ARG5(regs) BPF_CORE_READ(regs, r8)
#define SYSCALL_ARG6(regs) BPF_CORE_READ(regs, r9)
#else
#define SYSCALL_ARG2(regs) 0
#define SYSCALL_ARG5(regs) 0
#define SYSCALL_ARG6(regs) 0
#endif

static __always_inline long current_syscall(struct pt_regs **regs) {
#if defined(__TARGET_ARCH_x86)
  *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  return BPF_CORE_READ(*regs, orig_ax);
#else
  *regs = NULL;
  return -1;
#endif
}

static __always_inline bool is_would_block(long ret) {
  return ret == -EAGAIN;
}

SEC("tracepoint/sock/sock_send_length")
int send_length(struct trace_event_raw_sock_msg_length *ctx) {
  struct sock *sk = ctx->sk;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct pt_regs *regs;
  struct st_bpf_addr to = {};
  long ret = ctx->ret, nr;
  __u16 id = EV_SEND;
  __u8 level;
  __u64 kw;

  if (!family_ok(ctx->family) || !current_ok())
    return 0;
  si = sys_sock(sk);
  if (!si)
    return 0;
  if (ret >= 0) {
    __sync_fetch_and_add(&si->bytes_sent, ret);
    __sync_fetch_and_add(&si->sends, 1);
  } else if (!is_would_block(ret)) {
    si->final_err = ret;
    if (!si->first_err)
      si->first_err = ret;
  }
  level = ret >= 0 || is_would_block(ret) ? ST_BPF_LEVEL_VERBOSE : ST_BPF_LEVEL_INFO;
  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  if (!want(level, kw))
    return 0;

  nr = current_syscall(&regs);
  if (nr == NR_SENDTO) {
    void *ua = (void *)SYSCALL_ARG5(regs);
    if (ua) {
      user_sockaddr(&to, ua, SYSCALL_ARG6(regs));
      id = EV_SENDTO_ADDR;
    }
  } else if (nr == NR_SENDMSG) {
    struct user_msghdr *m = (void *)SYSCALL_ARG2(regs);
    void *ua = NULL;
    int ulen = 0;
    bpf_probe_read_user(&ua, sizeof(ua), &m->msg_name);
    bpf_probe_read_user(&ulen, sizeof(ulen), &m->msg_namelen);
    id = EV_SENDMSG;
    if (ua) {
      user_sockaddr(&to, ua, ulen);
      id = EV_SENDMSG_ADDR;
    }
  } else if (nr == NR_SENDMMSG) {
    id = EV_SENDMSG;
  }
  if (!sk_ports_ok(sk) && !port_ok(0, to.port))
    return 0;

  r = sys_rec(si, sk, id, level, EE_EXIT, kw);
  if (!r)
    return 0;
  if (to.family) {
    r->remote = to;
    r->has |= ST_BPF_HAS_REMOTE;
  }
  r->bytes = ret > 0 ? ret : 0;
  r->buffers = 1;
  r->has |= ST_BPF_HAS_BYTES | ST_BPF_HAS_BUFFERS;
  submit_status(r, ret);
  return 0;
}

SEC("tracepoint/sock/sock_recv_length")
int recv_length(struct trace_event_raw_sock_msg_length *ctx) {
  struct sock *sk = ctx->sk;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct pt_regs *regs;
  long ret = ctx->ret, nr;
  __u16 id = EV_RECEIVE;
  __u8 level;
  __u64 kw;

  if (!family_ok(ctx->family) || !current_ok())
    return 0;
  si = sys_sock(sk);
  if (!si)
    return 0;
  if (ret >= 0) {
    if (!(ctx->flags & MSG_PEEK))
      __sync_fetch_and_add(&si->bytes_received, ret);
    __sync_fetch_and_add(&si->receives, 1);
  } else if (!is_would_block(ret)) {
    si->final_err = ret;
    if (!si->first_err)
      si->first_err = ret;
  }
  level = ret >= 0 || is_would_block(ret) ? ST_BPF_LEVEL_VERBOSE : ST_BPF_LEVEL_INFO;
  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  if (!want(level, kw) || !sk_ports_ok(sk))
    return 0;

  nr = current_syscall(&regs);
  if (nr == NR_RECVFROM || nr == NR_RECVMSG) {
    void *ua = (void *)SYSCALL_ARG5(regs);
    struct call c = {};
    if (nr == NR_RECVMSG) {
      struct user_msghdr *m = (void *)SYSCALL_ARG2(regs);
      bpf_probe_read_user(&ua, sizeof(ua), &m->msg_name);
      c.uptr = (__u64)m;
      id = EV_RECEIVEMSG;
    } else {
      c.uptr = (__u64)ua;
      c.ulen_ptr = SYSCALL_ARG6(regs);
    }
    /* The sender's address reaches user memory only when the syscall
     * returns: the exit tracepoint sends this one. */
    if (ua && ret >= 0 && si->type == SOCK_DGRAM) {
      c.sk = (__u64)sk;
      c.value = ret;
      call_put(nr == NR_RECVMSG ? CALL_RECVMSG : CALL_RECVFROM, &c);
      return 0;
    }
  } else if (nr == NR_RECVMMSG) {
    id = EV_RECEIVEMSG;
  }

  r = sys_rec(si, sk, id, level, EE_EXIT, kw);
  if (!r)
    return 0;
  r->bytes = ret > 0 ? ret : 0;
  r->buffers = 1;
  r->has |= ST_BPF_HAS_BYTES | ST_BPF_HAS_BUFFERS;
  submit_status(r, ret);
  return 0;
}

static __always_inline int exit_recv_addr(struct trace_event_raw_sys_exit *ctx, __u16 kind) {
  struct call c;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk;
  struct st_bpf_addr from = {};
  void *ua = NULL;
  int ulen = 0;
  __u64 kw;

  if (!call_take(kind, &c))
    return 0;
  sk = (struct sock *)c.sk;
  si = sock_find(sk);
  if (!si)
    return 0;
  if (kind == CALL_RECVMSG) {
    struct user_msghdr *m = (void *)c.uptr;
    bpf_probe_read_user(&ua, sizeof(ua), &m->msg_name);
    bpf_probe_read_user(&ulen, sizeof(ulen), &m->msg_namelen);
  } else {
    ua = (void *)c.uptr;
    bpf_probe_read_user(&ulen, sizeof(ulen), (void *)c.ulen_ptr);
  }
  if (ctx->ret >= 0)
    user_sockaddr(&from, ua, ulen);
  if (!sk_ports_ok(sk) && !port_ok(0, from.port))
    return 0;
  kw = type_kw(si->type) | ST_BPF_KW_WINSOCK;
  r = sys_rec(si, sk, kind == CALL_RECVMSG ? EV_RECEIVEMSG_ADDR : EV_RECEIVEFROM_ADDR,
              ST_BPF_LEVEL_VERBOSE, EE_EXIT, kw);
  if (!r)
    return 0;
  if (from.family) {
    r->remote = from;
    r->has |= ST_BPF_HAS_REMOTE;
  }
  r->bytes = c.value;
  r->buffers = 1;
  r->has |= ST_BPF_HAS_BYTES | ST_BPF_HAS_BUFFERS;
  submit_status(r, 0);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(struct trace_event_raw_sys_exit *ctx) {
  return exit_recv_addr(ctx, CALL_RECVFROM);
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx) {
  return exit_recv_addr(ctx, CALL_RECVMSG);
}

/* ---- the TCP/IP stack: attributed to the socket's owner --------------- */

/* A stack event on a known socket, addresses from the tracepoint. */
static __always_inline struct st_bpf_rec *stack_rec(struct sock_info *si, __u16 id, __u8 level,
                                                    __u8 ee, __u64 kw) {
  struct st_bpf_rec *r = rec_new(id, level, ee, kw);
  if (r)
    rec_sock(r, si);
  return r;
}

/* A child connection finished its handshake: it belongs to its listener's
 * owner, whoever the CPU happens to be running. */
static __always_inline void child_established(struct trace_event_raw_inet_sock_set_state *ctx,
                                              struct sock *sk) {
  __u64 key = listener_key(sk, ctx->sport);
  __u64 *lsk = bpf_map_lookup_elem(&listeners, &key);
  struct sock_info *lsi, n = {};
  struct st_bpf_rec *r;
  __u64 skey = (__u64)sk, kw;

  if (!lsk)
    return;
  lsi = sock_find((void *)*lsk);
  if (!lsi)
    return;
  n.endpoint = __sync_fetch_and_add(&next_endpoint, 1) + 1;
  n.created_ns = bpf_ktime_get_boot_ns();
  n.family = ctx->family;
  n.type = SOCK_STREAM;
  n.protocol = IPPROTO_TCP;
  n.flags = SI_ESTABLISHED;
  n.owner = lsi->owner;
  bpf_map_update_elem(&socks, &skey, &n, BPF_ANY);

  kw = ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT;
  if (!want(ST_BPF_LEVEL_VERBOSE, kw) || !port_ok(ctx->sport, ctx->dport))
    return;
  r = stack_rec(lsi, EV_CONNECT_INDICATION_ADDR, ST_BPF_LEVEL_VERBOSE, EE_TRANSPORT, kw);
  if (!r)
    return;
  REC_TP_ADDRS(r, ctx);
  r->backlog = BPF_CORE_READ((struct sock *)*lsk, sk_ack_backlog);
  r->has |= ST_BPF_HAS_BACKLOG;
  rec_submit(r);
}

SEC("tracepoint/sock/inet_sock_set_state")
int set_state(struct trace_event_raw_inet_sock_set_state *ctx) {
  struct sock *sk = (struct sock *)ctx->skaddr;
  int old = ctx->oldstate, new = ctx->newstate;
  struct sock_info *si;
  struct st_bpf_rec *r;
  __u64 kw = ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT;

  if (ctx->protocol != IPPROTO_TCP)
    return 0;
  si = sock_find(sk);
  if (!si) {
    if (old == TCP_SYN_RECV && new == TCP_ESTABLISHED)
      child_established(ctx, sk);
    return 0;
  }
  if (!port_ok(ctx->sport, ctx->dport))
    goto track;
  if (want(ST_BPF_LEVEL_VERBOSE, kw | ST_BPF_KW_TCP_STATE)) {
    r = stack_rec(si, EV_TCP_STATE_CHANGE, ST_BPF_LEVEL_VERBOSE, EE_TRANSPORT,
                  kw | ST_BPF_KW_TCP_STATE);
    if (r) {
      REC_TP_ADDRS(r, ctx);
      r->old_state = old;
      r->new_state = new;
      r->has |= ST_BPF_HAS_STATE;
      rec_submit(r);
    }
  }
  if (new == TCP_CLOSE_WAIT && want(ST_BPF_LEVEL_INFO, kw)) {
    r = stack_rec(si, EV_DISCONNECT, ST_BPF_LEVEL_INFO, EE_TRANSPORT, kw);
    if (r) {
      REC_TP_ADDRS(r, ctx);
      rec_status(r, 0);
      rec_submit(r);
    }
  }
track:
  if (new == TCP_ESTABLISHED)
    si->flags |= SI_ESTABLISHED;
  if (old == TCP_SYN_SENT) {
    /* The stack stored the connect's error in sk_err before it closed. */
    __s32 err = new == TCP_ESTABLISHED ? 0 : -BPF_CORE_READ(sk, sk_err);
    if (err) {
      si->final_err = err;
      if (!si->first_err)
        si->first_err = err;
    }
    if (si->flags & SI_CONN_PENDING) {
      si->flags &= ~SI_CONN_PENDING;
      emit_connect_done(si, sk, err);
    } else if (si->flags & SI_CONNECTING) {
      si->conn_err = err;
      si->flags |= SI_CONN_DONE;
    }
  }
  return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int receive_reset(struct trace_event_raw_tcp_event_sk *ctx) {
  struct sock_info *si = sock_find(ctx->skaddr);
  struct st_bpf_rec *r;
  __u64 kw = ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT;

  /* A reset answering our SYN is a refused connect, reported by 1017/1018. */
  if (!si || !(si->flags & SI_ESTABLISHED))
    return 0;
  si->final_err = -ECONNRESET;
  if (!si->first_err)
    si->first_err = -ECONNRESET;
  if (!want(ST_BPF_LEVEL_ERROR, kw) || !port_ok(ctx->sport, ctx->dport))
    return 0;
  r = stack_rec(si, EV_ABORT, ST_BPF_LEVEL_ERROR, EE_TRANSPORT, kw);
  if (!r)
    return 0;
  REC_TP_ADDRS(r, ctx);
  r->reason = 4; /* transport indicated abortive disconnect */
  r->has |= ST_BPF_HAS_REASON;
  submit_status(r, -ECONNRESET);
  return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int send_reset(struct trace_event_raw_tcp_send_reset *ctx) {
  struct sock_info *si = ctx->skaddr ? sock_find(ctx->skaddr) : NULL;
  struct st_bpf_addr l = {}, rem = {};
  struct st_bpf_rec *r;
  __u64 kw = ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT;
  __u8 sa[28];

  bpf_probe_read_kernel(sa, sizeof(sa), ctx->saddr);
  addr_from_sockaddr(&l, sa);
  bpf_probe_read_kernel(sa, sizeof(sa), ctx->daddr);
  addr_from_sockaddr(&rem, sa);
  if (!port_ok(l.port, rem.port))
    return 0;
  /* No socket of ours (a reset for a closed port, a time-wait socket):
   * only an unscoped session can take it, with a guessed pid. */
  if (!si && (n_pids || tree_on))
    return 0;
  /* Not an answer to a segment and not seen at close(): an abort by other
   * means (connect(AF_UNSPEC), a keepalive or user timeout). */
  if (si && !ctx->skbaddr && !(si->flags & SI_ABORTED))
    emit_local_abort(si, (struct sock *)ctx->skaddr, EE_AFD);
  if (!want(ST_BPF_LEVEL_INFO, kw))
    return 0;
  r = rec_new(EV_TCP_RESET_SENT, ST_BPF_LEVEL_INFO, EE_TRANSPORT, kw);
  if (!r)
    return 0;
  if (si) {
    rec_sock(r, si);
  } else {
    struct owner o;
    owner_fill(&o, bpf_get_current_pid_tgid());
    rec_owner(r, &o);
    r->flags |= ST_BPF_FLAG_PID_GUESSED;
  }
  r->local = l;
  r->remote = rem;
  if (l.family)
    r->has |= ST_BPF_HAS_LOCAL | ST_BPF_HAS_REMOTE;
  r->old_state = r->new_state = ctx->state;
  r->has |= ST_BPF_HAS_STATE;
  rec_submit(r);
  return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int retransmit(struct trace_event_raw_tcp_retransmit_skb *ctx) {
  struct sock_info *si = sock_find(ctx->skaddr);
  struct st_bpf_rec *r;
  __u64 kw = ST_BPF_KW_STREAM | ST_BPF_KW_TRANSPORT;

  if (!si)
    return 0;
  __sync_fetch_and_add(&si->retransmits, 1);
  if (!want(ST_BPF_LEVEL_INFO, kw) || !port_ok(ctx->sport, ctx->dport))
    return 0;
  r = stack_rec(si, EV_TCP_RETRANSMIT, ST_BPF_LEVEL_INFO, EE_TRANSPORT, kw);
  if (!r)
    return 0;
  REC_TP_ADDRS(r, ctx);
  r->old_state = r->new_state = ctx->state;
  r->has |= ST_BPF_HAS_STATE;
  rec_submit(r);
  return 0;
}

/* The kernel frees a TCP socket. One the application closed is forgotten;
 * one it never closed (its process died) ends here. */
SEC("tracepoint/tcp/tcp_destroy_sock")
int destroy_sock(struct trace_event_raw_tcp_event_sk *ctx) {
  __u64 key = (__u64)ctx->skaddr;
  struct sock_info *si = bpf_map_lookup_elem(&socks, &key);
  struct st_bpf_rec *r;
  __u64 kw = type_kw(SOCK_STREAM) | ST_BPF_KW_WINSOCK;

  if (!si)
    return 0;
  if ((si->flags & (SI_CLOSING | SI_CLOSED)) == SI_CLOSING) {
    si->flags |= SI_DESTROYED; /* close() is still running: it forgets us */
    return 0;
  }
  if (!(si->flags & SI_CLOSED) && want(ST_BPF_LEVEL_INFO, kw) && port_ok(ctx->sport, ctx->dport)) {
    r = stack_rec(si, EV_CLOSE, ST_BPF_LEVEL_INFO, EE_AFD, kw);
    if (r) {
      rec_status(r, si->final_err);
      rec_submit(r);
    }
    emit_summary(si);
  }
  if (si->flags & SI_LISTENER) {
    __u64 lkey = listener_key((struct sock *)ctx->skaddr, ctx->sport);
    bpf_map_delete_elem(&listeners, &lkey);
  }
  bpf_map_delete_elem(&socks, &key);
  return 0;
}

/* ---- level 5: data indications ---------------------------------------- */

SEC("tracepoint/sock/sk_data_ready")
int data_ready(struct trace_event_raw_sk_data_ready *ctx) {
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk = (struct sock *)ctx->skaddr;
  __u64 kw;

  if (max_level < ST_BPF_LEVEL_VERBOSE)
    return 0;
  si = sock_find(sk);
  if (!si || (si->flags & SI_LISTENER)) /* a listener's data is a connection */
    return 0;
  kw = type_kw(si->type) | ST_BPF_KW_TRANSPORT;
  if (!want(ST_BPF_LEVEL_VERBOSE, kw) || !sk_ports_ok(sk))
    return 0;
  r = stack_rec(si, EV_DATA_INDICATION, ST_BPF_LEVEL_VERBOSE, EE_TRANSPORT, kw);
  if (!r)
    return 0;
  rec_sk_addrs(r, sk, si->family);
  if (is_tcp(si)) {
    struct tcp_sock *tp = (struct tcp_sock *)sk;
    r->bytes = BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq);
    r->has |= ST_BPF_HAS_BYTES;
  }
  rec_submit(r);
  return 0;
}

/* ---- drops ------------------------------------------------------------ */

/* AFD's datagram-drop reasons (1033) for the kernel's. */
static __always_inline __u32 afd_drop_reason(__u32 reason) {
  if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_RCVBUFF) ||
      reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_PROTO_MEM) ||
      reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_SOCKET_BACKLOG))
    return 2; /* no buffer space */
  if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOMEM))
    return 3; /* allocation failed */
  if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_PKT_TOO_BIG))
    return 5; /* too large */
  return 0;
}

/* The source of a dropped datagram, from its IP and UDP headers. */
static __always_inline void skb_source(struct st_bpf_addr *a, struct sk_buff *skb, __u16 family) {
  unsigned char *head = BPF_CORE_READ(skb, head);
  __u16 nh = BPF_CORE_READ(skb, network_header);
  __u16 th = BPF_CORE_READ(skb, transport_header);
  __u16 sport = 0;

  if (family == AF_INET) {
    bpf_probe_read_kernel(a->addr, 4, head + nh + offsetof(struct iphdr, saddr));
  } else if (family == AF_INET6) {
    bpf_probe_read_kernel(a->addr, 16, head + nh + offsetof(struct ipv6hdr, saddr));
  } else {
    return;
  }
  bpf_probe_read_kernel(&sport, 2, head + th);
  a->family = family;
  a->port = bpf_ntohs(sport);
}

SEC("tracepoint/skb/kfree_skb")
int kfree_skb(struct trace_event_raw_kfree_skb *ctx) {
  __u32 reason = ctx->reason;
  struct sock_info *si;
  struct st_bpf_rec *r;
  struct sock *sk = ctx->rx_sk;
  bool dgram;
  __u64 kw;

  if (!sk || reason <= bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
    return 0;
  si = sock_find(sk);
  if (!si)
    return 0;
  dgram = si->type == SOCK_DGRAM;
  kw = type_kw(si->type) | ST_BPF_KW_TRANSPORT;
  if (!want(dgram ? ST_BPF_LEVEL_ERROR : ST_BPF_LEVEL_INFO, kw) || !sk_ports_ok(sk))
    return 0;
  r = stack_rec(si, dgram ? EV_DATAGRAM_DROP_ADDR : EV_KERNEL_DROP,
                dgram ? ST_BPF_LEVEL_ERROR : ST_BPF_LEVEL_INFO, EE_TRANSPORT, kw);
  if (!r)
    return 0;
  r->bytes = BPF_CORE_READ((struct sk_buff *)ctx->skbaddr, len);
  r->value = reason;
  r->reason = dgram ? afd_drop_reason(reason) : reason;
  r->has |= ST_BPF_HAS_BYTES | ST_BPF_HAS_REASON | ST_BPF_HAS_DETAIL;
  if (dgram) {
    skb_source(&r->remote, ctx->skbaddr, si->family);
    if (r->remote.family)
      r->has |= ST_BPF_HAS_REMOTE;
  }
  rec_submit(r);
  return 0;
}

/* ---- the traced process tree ------------------------------------------ */

SEC("tracepoint/sched/sched_process_fork")
int process_fork(struct trace_event_raw_sched_process_fork *ctx) {
  __u32 parent = bpf_get_current_pid_tgid() >> 32, child = ctx->child_pid;
  __u8 one = 1;

  if (tree_on && bpf_map_lookup_elem(&tree, &parent))
    bpf_map_update_elem(&tree, &child, &one, BPF_ANY);
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int process_exit(struct trace_event_raw_sched_process_exit *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32, tid = (__u32)id;

  if (!tree_on)
    return 0;
  if (tid != tgid)
    bpf_map_delete_elem(&tree, &tid);
  if (ctx->group_dead)
    bpf_map_delete_elem(&tree, &tgid);
  return 0;
}
