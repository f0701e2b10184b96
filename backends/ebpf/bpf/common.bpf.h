/*
 * What every kernel-side file of the eBPF backend shares: the ring buffer,
 * the session's settings, the filters and the record helpers. The files are
 * compiled one by one and linked into one object (bpftool gen object); the
 * maps and settings below are __weak definitions, so the linker keeps one
 * of each.
 *
 * Hot path rules: a program checks what it can from its arguments before it
 * touches memory, touches a map only when it has something to say, and
 * sends records that carry what only the kernel knows (socktrace.h).
 * Settings user space may change while tracing (level, keywords, filters)
 * live in writable global data; facts about the kernel found at load time
 * are const volatile, so the verifier drops the branches that cannot run.
 */
#ifndef ST_EBPF_COMMON_BPF_H
#define ST_EBPF_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "socktrace.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define EAGAIN 11
#define EINPROGRESS 115
#define ENOSYS 38
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define O_NONBLOCK 00004000

/* ---- settings ------------------------------------------------------------ */

/* What the session asks for (socktrace.h); user space may rewrite it while
 * tracing. */
volatile struct st_bpf_settings settings __weak = {
    .kw_mask = ~0ULL,
    .level = ST_BPF_LEVEL_INFO,
};

/* Found by the loader on this kernel. */
const volatile __u64 wakeup_bytes __weak = 0;     /* wake the reader at this much waiting */
const volatile bool have_task_pt_regs __weak = 0; /* bpf_task_pt_regs() (5.15) */
const volatile __u32 thread_size __weak = 16384;  /* THREAD_SIZE, for pt_regs before 5.15 */
const volatile bool count_datagrams __weak = 0;   /* UDP/unix calls counted (6.3+) */
const volatile bool have_sock_length __weak = 0;  /* sock_send/recv_length (6.3+) */
/* bpf_get_current_task_btf() (5.11): the task read in place; before it, by
 * copy (CO-RE reads). Whether the kernel has it is a CO-RE relocation (the
 * helper's id in the kernel's own enum), a constant at load: the verifier
 * removes the branch not taken, so 5.10 never sees the helper it lacks. */
#define have_task_btf bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)

/* &socket_file_ops, learned from the first socket file seen (its inode
 * says it is one; every socket file has these operations): from then on
 * one read tells a socket from other files. Learned here rather than read
 * from /proc/kallsyms at start, which cost about 40 ms of CPU, and works
 * where kallsyms hides addresses. */
__u64 socket_file_ops __weak = 0;

/* ---- maps ---------------------------------------------------------------- */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20); /* the loader sets the real size */
} events SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps") __weak;

/* Calls and bytes of datagram and unix sockets (TCP keeps its own), by
 * socket, read at close. A socket is counted in one of DGRAM_WAYS slots of
 * the set its address hashes to (dgram_sets, as traced_sets: a datagram's
 * count costs an inlined lookup and a few compares, where the LRU hash
 * map's lookup and first insert cost 100 ns a datagram); one whose set is
 * full is counted in dgram_counts, looked at only while that holds
 * something. A slot is emptied at close and, for a socket that died
 * without one, when a new socket takes its address. */
struct st_bpf_dgram_counts {
  __u64 bytes_sent, bytes_received, sends, receives;
};
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, struct st_bpf_dgram_counts);
} dgram_counts SEC(".maps") __weak;

/* Entries put into dgram_counts (an LRU eviction leaves it high: that
 * costs only lookups). */
__u64 dgram_counts_n __weak = 0;

#define DGRAM_SETS 4096 /* a power of two */
#define DGRAM_WAYS 4
struct dgram_set {
  __u64 sk[DGRAM_WAYS];
  struct st_bpf_dgram_counts c[DGRAM_WAYS];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, DGRAM_SETS);
  __type(key, __u32);
  __type(value, struct dgram_set);
} dgram_sets SEC(".maps") __weak;

/* Scoped sessions (pid, tree or container filter): the sockets of traced
 * processes, so that stack events, which run in any context, report only
 * those, with the owner's cgroup under a container filter (else 0). A
 * socket is kept in one of TRACED_WAYS slots of the set its address hashes
 * to (an array: a look, an insert and a delete each cost an inlined lookup
 * and a few compares, where a hash map's insert and delete cost 150-200
 * ns); one whose set is full goes to the traced hash map (value: the
 * cgroup), which is looked at only while it holds something. */
#define TRACED_SETS 16384 /* a power of two */
#define TRACED_WAYS 4
struct traced_set {
  __u64 sk[TRACED_WAYS];
  __u64 cg[TRACED_WAYS];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, TRACED_SETS);
  __type(key, __u32);
  __type(value, struct traced_set);
} traced_sets SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32768);
  __type(key, __u64);
  __type(value, __u64);
} traced SEC(".maps") __weak;

/* Entries put into traced and not taken out (see dns_socks_n). */
__u64 traced_n __weak = 0;

/* TCP listeners (of traced processes, in a scoped session) by
 * (netns inode << 16 | port): a new connection reports its listener's
 * backlog and, in a scoped session, is traced when its listener is. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u64);
} listeners SEC(".maps") __weak;

/* Tgids of the traced process tree (seeded with the filter's root). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, __u8);
} tree SEC(".maps") __weak;

/* A container filter's cgroups of no interest (user space adds each one
 * as it resolves it to another container, or to none). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);
  __type(value, __u8);
} cgroup_skip SEC(".maps") __weak;

/* Kernels before 6.13 count file references in f_count. */
struct file___old {
  atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* ---- filters ------------------------------------------------------------- */

static __always_inline bool verbose(void) {
  return settings.level >= ST_BPF_LEVEL_VERBOSE;
}

static __always_inline bool kw_ok(__u64 kw) {
  return kw & settings.kw_mask;
}

static __always_inline bool pid_ok(__u32 tgid) {
  __u32 n = settings.n_pids;
  if (n) {
    bool hit = false;
    for (int i = 0; i < ST_BPF_FILTER_MAX; i++) {
      if (i >= n)
        break;
      if (settings.pids[i] == tgid)
        hit = true;
    }
    if (!hit)
      return false;
  }
  if (settings.tree_on && !bpf_map_lookup_elem(&tree, &tgid))
    return false;
  return true;
}

static __always_inline bool current_ok(void) {
  if (!settings.scoped)
    return true;
  if (settings.cgroup_skip_on) {
    __u64 cg = bpf_get_current_cgroup_id();
    if (bpf_map_lookup_elem(&cgroup_skip, &cg))
      return false;
  }
  return pid_ok(bpf_get_current_pid_tgid() >> 32);
}

/* Ports not known yet (an unbound socket) pass: core filters what is left. */
static __always_inline bool port_ok(__u16 a, __u16 b) {
  __u32 n = settings.n_ports;
  if (!n || (!a && !b))
    return true;
  for (int i = 0; i < ST_BPF_FILTER_MAX; i++) {
    if (i >= n)
      break;
    if ((a && settings.ports[i] == a) || (b && settings.ports[i] == b))
      return true;
  }
  return false;
}

static __always_inline bool family_ok(__u16 family) {
  __u32 m = settings.family_mask;
  if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
    return false;
  return !m || (m & (1u << family));
}

static __always_inline __u64 type_kw(__u16 type) {
  return type == SOCK_DGRAM ? ST_BPF_KW_DATAGRAM : ST_BPF_KW_STREAM;
}

/* A pointer's bits as a plain number: a BTF program's socket is a pointer
 * to the verifier, which allows no arithmetic on it (nor reading it back
 * from the stack in parts); a copy gives a number. */
static __always_inline __u64 ptr_bits(__u64 p) {
  __u64 n = 0;
  bpf_probe_read_kernel(&n, sizeof(n), &p);
  return n;
}

/* The set a socket's address belongs to (slab addresses share their low
 * bits: a multiplicative hash spreads them). */
static __always_inline struct traced_set *traced_set_of(__u64 sk) {
  __u32 idx = (ptr_bits(sk) * 0x9E3779B97F4A7C15ULL) >> 50;
  return bpf_map_lookup_elem(&traced_sets, &idx);
}

static __always_inline int traced_way(const struct traced_set *s, __u64 sk) {
  for (int i = 0; i < TRACED_WAYS; i++)
    if (s->sk[i] == sk)
      return i;
  return -1;
}

/* A traced socket's owner cgroup (in its set's slot or the overflow map);
 * NULL when the socket is not traced. */
static __always_inline __u64 *traced_cg(__u64 sk) {
  struct traced_set *s = traced_set_of(sk);
  int i;

  if (s && (i = traced_way(s, sk)) >= 0 && i < TRACED_WAYS)
    return &s->cg[i];
  return traced_n ? bpf_map_lookup_elem(&traced, &sk) : NULL;
}

/* Scoped sessions: is this socket one of the traced processes'? Under a
 * container filter, not when its owner's cgroup was judged out since (it
 * may have been marked before, and closed while its close went unseen). */
static __always_inline bool sk_traced(const void *sk) {
  __u64 *cg;

  if (!settings.scoped)
    return true;
  cg = traced_cg((__u64)sk);
  if (!cg)
    return false;
  return !settings.cgroup_skip_on || !*cg || !bpf_map_lookup_elem(&cgroup_skip, cg);
}

/* A socket of a traced process, owned by cgroup cg (0: not known). fresh:
 * just made (not in the hash map; its set is looked at anyway, which costs
 * next to nothing). Two CPUs putting two sockets of one set into the same
 * free slot at the same instant would lose one (5.10 has no
 * compare-and-swap); the second look below catches all but a write landing
 * between it and the return. */
static __always_inline void sk_mark_traced_by(const void *sk, bool fresh, __u64 cg) {
  __u64 key = (__u64)sk;
  struct traced_set *s;

  if (!settings.scoped || !sk)
    return;
  s = traced_set_of(key);
  if (s && traced_way(s, key) >= 0)
    return;
  if (!fresh && traced_n && bpf_map_lookup_elem(&traced, &key))
    return;
  if (s) {
    for (int i = 0; i < TRACED_WAYS; i++) {
      if (s->sk[i])
        continue;
      s->cg[i] = cg;
      s->sk[i] = key;
      if (*(volatile __u64 *)&s->sk[i] == key)
        return;
    }
  }
  if (!bpf_map_update_elem(&traced, &key, &cg, BPF_NOEXIST))
    __sync_fetch_and_add(&traced_n, 1);
}

/* The same, from the owner's own call. */
static __always_inline void sk_mark_traced(const void *sk, bool fresh) {
  if (settings.scoped)
    sk_mark_traced_by(sk, fresh, settings.cgroup_skip_on ? bpf_get_current_cgroup_id() : 0);
}

static __always_inline void sk_forget(const void *sk) {
  __u64 key = (__u64)sk;
  struct traced_set *s;
  int i;

  if (!settings.scoped)
    return;
  s = traced_set_of(key);
  if (s && (i = traced_way(s, key)) >= 0 && i < TRACED_WAYS) {
    s->sk[i] = 0;
    return;
  }
  if (traced_n && !bpf_map_delete_elem(&traced, &key))
    __sync_fetch_and_sub(&traced_n, 1);
}

/* TCP sockets their application closed (close() saw the last reference go
 * and sent the socket's record), kept until the kernel frees them: the
 * free (tcp_destroy_sock) then has nothing to say and returns without a
 * record. Set-associative like traced_sets: marking and taking cost a few
 * compares, where a record cost about 250 ns at each end of every
 * connection. A socket whose set is full is not marked, and its free sends
 * the record user space drops (what every free did before). */
#define CLOSED_SETS 4096 /* a power of two */
#define CLOSED_WAYS 4
struct closed_set {
  __u64 sk[CLOSED_WAYS];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CLOSED_SETS);
  __type(key, __u32);
  __type(value, struct closed_set);
} closed_sets SEC(".maps") __weak;

static __always_inline struct closed_set *closed_set_of(__u64 sk) {
  __u32 idx = (ptr_bits(sk) * 0x9E3779B97F4A7C15ULL) >> 52;
  return bpf_map_lookup_elem(&closed_sets, &idx);
}

/* close() sent sk's record: its free is to be quiet. */
static __always_inline void closed_mark(__u64 sk) {
  struct closed_set *s = closed_set_of(sk);

  if (!s)
    return;
  for (int i = 0; i < CLOSED_WAYS; i++) {
    if (s->sk[i])
      continue;
    s->sk[i] = sk;
    /* Two CPUs that took one slot at once: the socket overwritten stays
     * unmarked (its free sends a record); no socket is marked that was
     * not closed. */
    if (*(volatile __u64 *)&s->sk[i] == sk)
      return;
  }
}

/* The kernel frees sk: was it marked (and is it no longer)? */
static __always_inline bool closed_take(__u64 sk) {
  struct closed_set *s = closed_set_of(sk);

  if (!s)
    return false;
  for (int i = 0; i < CLOSED_WAYS; i++) {
    if (s->sk[i] == sk) {
      s->sk[i] = 0;
      return true;
    }
  }
  return false;
}

static __always_inline struct dgram_set *dgram_set_of(__u64 sk) {
  __u32 idx = (ptr_bits(sk) * 0x9E3779B97F4A7C15ULL) >> 52;
  return bpf_map_lookup_elem(&dgram_sets, &idx);
}

/* The counts of datagram or unix socket sk; with make, a slot taken for it
 * when it has none. NULL: none (or no room). */
static __always_inline struct st_bpf_dgram_counts *dgram_slot(__u64 sk, bool make) {
  struct dgram_set *s = dgram_set_of(sk);
  struct st_bpf_dgram_counts *c;

  if (s) {
    for (int i = 0; i < DGRAM_WAYS; i++)
      if (s->sk[i] == sk)
        return &s->c[i];
    for (int i = 0; make && i < DGRAM_WAYS; i++) {
      if (s->sk[i])
        continue;
      /* A free slot's counts are zero (dgram_take). Two CPUs taking one
       * slot for two new sockets in the same instant would share it; the
       * look back catches all but a write between it and the return. */
      s->sk[i] = sk;
      if (*(volatile __u64 *)&s->sk[i] == sk)
        return &s->c[i];
    }
  }
  if (dgram_counts_n && (c = bpf_map_lookup_elem(&dgram_counts, &sk)))
    return c;
  if (!make)
    return NULL;
  struct st_bpf_dgram_counts zero = {};
  if (!bpf_map_update_elem(&dgram_counts, &sk, &zero, BPF_NOEXIST))
    __sync_fetch_and_add(&dgram_counts_n, 1);
  return bpf_map_lookup_elem(&dgram_counts, &sk);
}

/* Takes sk's counts out (into out, when given), emptying its slot. */
static __always_inline bool dgram_take(__u64 sk, struct st_bpf_dgram_counts *out) {
  struct dgram_set *s = dgram_set_of(sk);
  struct st_bpf_dgram_counts *c;

  if (s) {
    for (int i = 0; i < DGRAM_WAYS; i++) {
      if (s->sk[i] != sk)
        continue;
      if (out)
        *out = s->c[i];
      __builtin_memset(&s->c[i], 0, sizeof(s->c[i]));
      s->sk[i] = 0;
      return true;
    }
  }
  if (!dgram_counts_n || !(c = bpf_map_lookup_elem(&dgram_counts, &sk)))
    return false;
  if (out)
    *out = *c;
  if (!bpf_map_delete_elem(&dgram_counts, &sk))
    __sync_fetch_and_sub(&dgram_counts_n, 1);
  return true;
}

/* ---- records ------------------------------------------------------------- */

static __always_inline void count_lost(void) {
  __u32 zero = 0;
  __u64 *c = bpf_map_lookup_elem(&lost, &zero);
  if (c)
    *c += 1;
}

/* Reserves a record of the given type, header filled; NULL (counted as
 * lost) when the ring is full. */
#define REC_NEW(type, kind_, sk_, ret_) ((type *)rec_new(sizeof(type), kind_, (__u64)(sk_), ret_))

static __always_inline void *rec_new(__u64 size, __u16 kind, __u64 sk, __s32 ret) {
  struct st_bpf_hdr *h = bpf_ringbuf_reserve(&events, size, 0);
  if (!h) {
    count_lost();
    return NULL;
  }
  h->ts = bpf_ktime_get_boot_ns();
  h->sk = sk;
  h->kind = kind;
  h->flags = 0;
  h->path_len = 0;
  h->ret = ret;
  return h;
}

/* Wakes the reader only once a quarter of the ring waits: a wakeup per
 * record costs an IPI and a context switch, more than the record itself.
 * User space also drains the ring on a short timer. */
static __always_inline void rec_submit(void *r) {
  __u64 flags = 0;
  if (wakeup_bytes)
    flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                          : BPF_RB_NO_WAKEUP;
  bpf_ringbuf_submit(r, flags);
}

/* The calling thread and its cgroup (one helper call, no map). */
static __always_inline void proc_fill(struct st_bpf_proc *p) {
  if (have_task_btf) {
    struct task_struct *t = bpf_get_current_task_btf();
    /* What bpf_get_current_pid_tgid() returns, read where it reads it.
     * Not the cgroup (t->cgroups->dfl_cgrp->kn->id): 30 ns a record less,
     * but verifying that walk in every program took 0.1 s more CPU at
     * start. */
    p->pid = t->tgid;
    p->tid = t->pid;
    p->cgroup = bpf_get_current_cgroup_id();
    p->ppid = t->real_parent->tgid;
    /* The name in place, four loads where bpf_get_current_comm() is a
     * helper call; the kernel keeps it NUL-padded (set_task_comm). */
    for (int i = 0; i < ST_BPF_COMM_MAX / 4; i++)
      ((__u32 *)p->comm)[i] = ((const __u32 *)t->comm)[i];
  } else {
    __u64 id = bpf_get_current_pid_tgid();
    p->cgroup = bpf_get_current_cgroup_id();
    p->pid = id >> 32;
    p->tid = (__u32)id;
    p->ppid = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_parent, tgid);
    bpf_get_current_comm(p->comm, sizeof(p->comm));
  }
}

/* ---- syscall arguments at exit ------------------------------------------- */

/* The user registers the syscall was entered with: its arguments are still
 * there at exit (x86-64: di, si, dx, r10, r8, r9; arm64: orig_x0, x1..x5).
 * NULL when they cannot be read. */
static __always_inline struct pt_regs *syscall_regs(struct pt_regs *buf) {
  if (have_task_pt_regs) /* 5.15+: read in place */
    return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
  struct task_struct *t = (struct task_struct *)bpf_get_current_task();
  void *regs = (struct pt_regs *)(BPF_CORE_READ(t, stack) + thread_size) - 1;
  return bpf_probe_read_kernel(buf, sizeof(*buf), regs) ? NULL : buf;
}

#if defined(__TARGET_ARCH_x86)
#define SYS_ARG1(r) ((r)->di)
#define SYS_ARG2(r) ((r)->si)
#define SYS_ARG3(r) ((r)->dx)
#define SYS_ARG4(r) ((r)->r10)
#define SYS_ARG5(r) ((r)->r8)
#define SYS_ARG6(r) ((r)->r9)
#define SYS_NR(r) ((r)->orig_ax)
/* The syscall's body is still running: the entry code sets ax to -ENOSYS
 * and only the body's return replaces it (before the exit tracepoint). */
#define SYS_IN_BODY(r) ((r)->ax == (unsigned long)-ENOSYS)
#elif defined(__TARGET_ARCH_arm64)
#define SYS_ARG1(r) ((r)->orig_x0)
#define SYS_ARG2(r) ((r)->regs[1])
#define SYS_ARG3(r) ((r)->regs[2])
#define SYS_ARG4(r) ((r)->regs[3])
#define SYS_ARG5(r) ((r)->regs[4])
#define SYS_ARG6(r) ((r)->regs[5])
#define SYS_NR(r) ((r)->syscallno)
#define SYS_IN_BODY(r) false /* x0 is the first argument until the body returns */
#else
#error "syscall arguments: x86-64 and arm64 only"
#endif

/* Syscall numbers of the data calls (the syscall exits read them). */
#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#define NR_RECVMMSG 299
#define NR_SENDMMSG 307
#define NR_CONNECT 42
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ 63
#define NR_WRITE 64
#define NR_READV 65
#define NR_WRITEV 66
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define NR_SENDMSG 211
#define NR_RECVMSG 212
#define NR_RECVMMSG 243
#define NR_SENDMMSG 269
#define NR_CONNECT 203
#endif

/* Which data call a syscall number is. */
static __always_inline __u8 call_of(long nr) {
  if (nr == NR_SENDTO || nr == NR_RECVFROM)
    return ST_BPF_CALL_TO;
  if (nr == NR_SENDMSG || nr == NR_RECVMSG)
    return ST_BPF_CALL_MSG;
  if (nr == NR_SENDMMSG || nr == NR_RECVMMSG)
    return ST_BPF_CALL_MMSG;
  return ST_BPF_CALL_PLAIN;
}

/* ---- sockets ------------------------------------------------------------- */

/* The open file of fd in the current process (NULL when none). The task's
 * file table is read directly (BTF); the file pointer by copy. */
static __always_inline struct file *fd_file(int fd) {
  struct file **fds;
  struct file *f = NULL;

  if (fd < 0)
    return NULL;
  if (have_task_btf) {
    struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
    if ((unsigned int)fd >= fdt->max_fds)
      return NULL;
    fds = fdt->fd;
  } else {
    struct fdtable *fdt = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), files, fdt);
    if ((unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
      return NULL;
    fds = BPF_CORE_READ(fdt, fd);
  }
  bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
  return f;
}

/* The open file of fd in the current process, when it is a socket. */
static __always_inline struct file *fd_to_file(int fd) {
  struct file *f = fd_file(fd);

  __u64 ops = socket_file_ops;

  if (!f)
    return NULL;
  if (ops) {
    if ((__u64)BPF_CORE_READ(f, f_op) != ops)
      return NULL;
  } else if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK) {
    return NULL;
  } else {
    socket_file_ops = (__u64)BPF_CORE_READ(f, f_op);
  }
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

/* The head of struct sock_common, the same on every kernel: IPv4
 * addresses, ports, family and state, read in one copy. */
struct skc_head {
  __u32 daddr, rcv_saddr, hash;
  __u16 dport, num, family;
  __u8 state, pad;
};

/* What the syscall programs read of a socket (a plain address there, not a
 * BTF pointer: each read is a copy, so they are few and wide). */
struct sk_view {
  struct skc_head h;
  __u16 type, protocol;
};

static __always_inline int read_head(struct sock *sk, struct skc_head *h) {
  if (bpf_core_field_offset(struct sock_common, skc_state) == offsetof(struct skc_head, state) &&
      bpf_core_field_offset(struct sock_common, skc_num) == offsetof(struct skc_head, num))
    return bpf_probe_read_kernel(h, sizeof(*h), sk);
  __builtin_memset(h, 0, sizeof(*h)); /* a layout this code does not know */
  BPF_CORE_READ_INTO(&h->daddr, sk, __sk_common.skc_daddr);
  BPF_CORE_READ_INTO(&h->rcv_saddr, sk, __sk_common.skc_rcv_saddr);
  BPF_CORE_READ_INTO(&h->dport, sk, __sk_common.skc_dport);
  BPF_CORE_READ_INTO(&h->num, sk, __sk_common.skc_num);
  BPF_CORE_READ_INTO(&h->family, sk, __sk_common.skc_family);
  BPF_CORE_READ_INTO(&h->state, sk, __sk_common.skc_state);
  return 0;
}

/* sk_type and sk_protocol sit side by side (in either order). */
static __always_inline void read_type_protocol(struct sock *sk, __u16 *type, __u16 *protocol) {
  __u32 ot = bpf_core_field_offset(struct sock, sk_type);
  __u32 op = bpf_core_field_offset(struct sock, sk_protocol);
  __u16 two[2] = {};

  if (op == ot + 2) {
    bpf_probe_read_kernel(two, sizeof(two), (char *)sk + ot);
    *type = two[0];
    *protocol = two[1];
  } else if (ot == op + 2) {
    bpf_probe_read_kernel(two, sizeof(two), (char *)sk + op);
    *protocol = two[0];
    *type = two[1];
  } else {
    *type = BPF_CORE_READ(sk, sk_type);
    *protocol = BPF_CORE_READ(sk, sk_protocol);
  }
}

/* A socket of a family the tracer follows, read; false otherwise. */
static __always_inline bool sk_view(struct sock *sk, struct sk_view *v) {
  if (read_head(sk, &v->h) || !family_ok(v->h.family))
    return false;
  read_type_protocol(sk, &v->type, &v->protocol);
  return true;
}

/* ---- the same, read in place (6.2+) ------------------------------------------
 *
 * bpf_rdonly_cast() (a kfunc since 6.2, which the verifier turns into a
 * register move) makes a kernel address a read-only BTF pointer: the
 * fields above are then plain loads the JIT guards, where each read above
 * is a helper call (about 30 ns each here; enter_connect went from 645 to
 * 564 ns a call with its four). A kernel without it (or without kfunc calls
 * from tracepoint programs: 5.10) must not even see the call, so the
 * programs that walk fd -> file -> socket come in pairs (syscalls.bpf.c,
 * name_c the cast one), and the loader loads one of each (probe.c). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define CAST(type, p) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

/* A socket call's two programs: name reads sockets by copy, name_c in place
 * (common.bpf.h); the loader loads one of them (programs.c). */
#define SOCKET_CALL(name, sec, ctx_type, body)                                                     \
  SEC(sec)                                                                                         \
  int name(ctx_type *ctx) {                                                                        \
    return body(ctx, false);                                                                       \
  }                                                                                                \
  SEC(sec)                                                                                         \
  int name##_c(ctx_type *ctx) {                                                                    \
    return body(ctx, true);                                                                        \
  }

static __always_inline struct file *fd_to_file_c(int fd, const bool cast) {
  struct file *f, *bf;
  __u64 ops = socket_file_ops;

  if (!cast)
    return fd_to_file(fd);
  f = fd_file(fd);
  if (!f)
    return NULL;
  bf = CAST(struct file, f);
  if (ops) {
    if ((__u64)bf->f_op != ops)
      return NULL;
  } else if ((bf->f_inode->i_mode & S_IFMT) != S_IFSOCK) {
    return NULL;
  } else {
    socket_file_ops = (__u64)bf->f_op;
  }
  return bf;
}

static __always_inline struct sock *file_to_sock_c(struct file *f, const bool cast) {
  if (!cast)
    return file_to_sock(f);
  return CAST(struct socket, f->private_data)->sk;
}

static __always_inline struct sock *fd_to_sock_c(int fd, const bool cast) {
  struct file *f = fd_to_file_c(fd, cast);
  return f ? file_to_sock_c(f, cast) : NULL;
}

/* A connect on this socket file returns at once: a datagram socket's, or a
 * non-blocking one's. */
static __always_inline bool connect_at_once(struct file *f, const struct sk_view *v,
                                            const bool cast) {
  if (v->type == SOCK_DGRAM)
    return true;
  return (cast ? f->f_flags : BPF_CORE_READ(f, f_flags)) & O_NONBLOCK;
}

static __always_inline bool file_last_ref_c(struct file *f, const bool cast) {
  if (!cast)
    return file_last_ref(f);
  if (bpf_core_field_exists(f->f_ref))
    return f->f_ref.refcnt.counter == 0;
  return ((struct file___old *)f)->f_count.counter == 1;
}

static __always_inline int read_head_c(struct sock *sk, struct skc_head *h, const bool cast) {
  if (!cast)
    return read_head(sk, h);
  h->daddr = sk->__sk_common.skc_daddr;
  h->rcv_saddr = sk->__sk_common.skc_rcv_saddr;
  h->hash = 0;
  h->dport = sk->__sk_common.skc_dport;
  h->num = sk->__sk_common.skc_num;
  h->family = sk->__sk_common.skc_family;
  h->state = sk->__sk_common.skc_state;
  h->pad = 0;
  return 0;
}

static __always_inline bool sk_view_c(struct sock *sk, struct sk_view *v, const bool cast) {
  if (!cast)
    return sk_view(sk, v);
  read_head_c(sk, &v->h, true);
  if (!family_ok(v->h.family))
    return false;
  v->type = sk->sk_type;
  v->protocol = sk->sk_protocol;
  return true;
}

static __always_inline void sk_kind(const struct sk_view *v, struct st_bpf_sock *s) {
  s->family = v->h.family;
  s->type = v->type;
  s->protocol = v->protocol;
  s->pad = 0;
}

static __always_inline __u16 sk_lport(struct sock *sk) {
  return BPF_CORE_READ(sk, __sk_common.skc_num);
}

static __always_inline bool view_ports_ok(const struct sk_view *v) {
  return !settings.n_ports || port_ok(v->h.num, bpf_ntohs(v->h.dport));
}

/* Local and remote address of a socket as the view has them. */
static __always_inline void sk_addrs(struct sock *sk, const struct sk_view *v,
                                     struct st_bpf_addr *l, struct st_bpf_addr *r) {
  __u16 family = v->h.family;

  __builtin_memset(l, 0, sizeof(*l));
  __builtin_memset(r, 0, sizeof(*r));
  if (family == AF_INET) {
    *(__u32 *)l->addr = v->h.rcv_saddr;
    *(__u32 *)r->addr = v->h.daddr;
  } else if (family == AF_INET6) {
    BPF_CORE_READ_INTO(&l->addr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO(&r->addr, sk, __sk_common.skc_v6_daddr);
  } else {
    return;
  }
  l->port = v->h.num;
  r->port = bpf_ntohs(v->h.dport);
  l->family = l->port ? family : 0;
  r->family = r->port ? family : 0;
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

/* A sockaddr the application passed: an IP into a; returns its family. */
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

/* A receive that returns its sender's address (recvfrom/recvmsg given room
 * for one): the address is in user memory only once the call returns. */
static __always_inline bool recv_wants_address(struct pt_regs *regs, __u8 call) {
  void *name = NULL;

  if (call == ST_BPF_CALL_TO)
    return SYS_ARG5(regs) != 0;
  if (call != ST_BPF_CALL_MSG)
    return false;
  bpf_probe_read_user(&name, sizeof(name), &((struct user_msghdr *)SYS_ARG2(regs))->msg_name);
  return name != NULL;
}

/* The address a sendto/sendmsg named, or a recvfrom/recvmsg returned. */
static __always_inline void call_address(struct st_bpf_addr *a, struct pt_regs *regs, __u8 call,
                                         bool send) {
  void *ua = NULL;
  int ulen = 0;

  if (call == ST_BPF_CALL_TO) {
    ua = (void *)SYS_ARG5(regs);
    /* recv() and a connected socket's recvfrom pass no address: reading
     * the NULL length pointer would take a fault, 2.5 us a call. */
    if (!ua)
      return;
    if (send)
      ulen = SYS_ARG6(regs);
    else
      bpf_probe_read_user(&ulen, sizeof(ulen), (void *)SYS_ARG6(regs));
  } else if (call == ST_BPF_CALL_MSG) {
    struct user_msghdr *m = (void *)SYS_ARG2(regs);
    bpf_probe_read_user(&ua, sizeof(ua), &m->msg_name);
    bpf_probe_read_user(&ulen, sizeof(ulen), &m->msg_namelen);
  }
  if (ua)
    user_sockaddr(a, ua, ulen);
}

#endif
