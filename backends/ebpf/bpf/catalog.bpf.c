/*
 * Catalog changes made through the bpf() syscall: a program attached to,
 * replaced on or detached from a cgroup socket hook (BPF_PROG_ATTACH,
 * BPF_PROG_DETACH, BPF_LINK_CREATE, BPF_LINK_UPDATE, BPF_LINK_DETACH). One
 * program, on the syscall's exit: the command and the union bpf_attr the
 * caller passed are read from the registers the call was entered with, so
 * nothing is carried from enter to exit, and only calls that succeeded are
 * reported. What a program or a link was (id, name, tag, cgroup) is read
 * here, while it exists: user space may ask too late.
 *
 * It runs on bpf() calls only, never on a socket operation, and is attached
 * only when the session wants the catalog keyword. Links that go away when
 * their last file descriptor closes make no bpf() call: user space finds
 * those by looking (catalog_watch.c).
 */
#include "common.bpf.h"

#define BPF_F_REPLACE_ (1U << 2)

/* Names of the anonymous files bpf() hands out, as little-endian words. */
#define NAME8(a, b, c, d, e, f, g, h)                                                              \
  ((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 | (__u64)(e) << 32 |         \
   (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)
#define ANON_BPF_PROG NAME8('b', 'p', 'f', '-', 'p', 'r', 'o', 'g')
#define ANON_BPF_LINK NAME8('b', 'p', 'f', '_', 'l', 'i', 'n', 'k')

/* Whether fd is one of bpf()'s anonymous files of this name; its object
 * (a struct bpf_prog or bpf_link) when it is. */
static __always_inline void *bpf_object(int fd, __u64 name) {
  struct file *f = fd_file(fd);
  const unsigned char *n;
  __u64 have = 0;

  if (!f)
    return NULL;
  n = BPF_CORE_READ(f, f_path.dentry, d_name.name);
  if (bpf_probe_read_kernel(&have, sizeof(have), n) || have != name)
    return NULL;
  return BPF_CORE_READ(f, private_data);
}

static __always_inline void prog_fill(struct st_bpf_rec_catalog *r, struct bpf_prog *p) {
  if (!p)
    return;
  r->prog_id = BPF_CORE_READ(p, aux, id);
  BPF_CORE_READ_INTO(&r->prog_name, p, aux, name);
  BPF_CORE_READ_INTO(&r->tag, p, tag);
}

static __always_inline __u32 prog_id(int fd) {
  struct bpf_prog *p = bpf_object(fd, ANON_BPF_PROG);
  return p ? BPF_CORE_READ(p, aux, id) : 0;
}

/* The cgroup a directory fd names (cgroup v2: the directory's inode number
 * is the cgroup id). */
static __always_inline __u64 cgroup_of_fd(int fd) {
  struct file *f = fd_file(fd);
  return f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
}

static __always_inline bool sock_hook(__u32 attach_type) {
  return attach_type < 64 && ((1ULL << attach_type) & ST_BPF_CGROUP_SOCK_HOOKS);
}

/* Before 6.17 a cgroup link kept its hook itself, not in struct bpf_link. */
struct bpf_cgroup_link___old {
  struct bpf_link link;
  struct cgroup *cgroup;
  enum bpf_attach_type type;
} __attribute__((preserve_access_index));

/* A link on a cgroup socket hook: its id, hook, cgroup and program into r;
 * false for any other link. */
static __always_inline bool cgroup_link_fill(struct st_bpf_rec_catalog *r, int fd) {
  struct bpf_link *l = bpf_object(fd, ANON_BPF_LINK);
  struct bpf_cgroup_link *cl;

  if (!l || BPF_CORE_READ(l, type) != BPF_LINK_TYPE_CGROUP)
    return false;
  cl = (struct bpf_cgroup_link *)l;
  if (bpf_core_field_exists(l->attach_type))
    r->attach_type = BPF_CORE_READ(l, attach_type);
  else
    r->attach_type = BPF_CORE_READ((struct bpf_cgroup_link___old *)l, type);
  if (!sock_hook(r->attach_type))
    return false;
  r->link_id = BPF_CORE_READ(l, id);
  r->cgroup_id = BPF_CORE_READ(cl, cgroup, kn, id);
  if (!r->prog_id)
    prog_fill(r, BPF_CORE_READ(l, prog));
  return true;
}

SEC("tracepoint/syscalls/sys_exit_bpf")
int exit_bpf(struct trace_event_raw_sys_exit *ctx) {
  struct st_bpf_rec_catalog *r;
  struct pt_regs rbuf, *regs;
  __u32 a[5] = {}; /* the head of union bpf_attr */
  long ret = ctx->ret;
  __u64 size;
  __u32 cmd;

  if (ret < 0 || !kw_ok(ST_BPF_KW_CATALOG) || !(regs = syscall_regs(&rbuf)))
    return 0;
  cmd = SYS_ARG1(regs);
  if (cmd != ST_BPF_CMD_PROG_ATTACH && cmd != ST_BPF_CMD_PROG_DETACH &&
      cmd != ST_BPF_CMD_LINK_CREATE && cmd != ST_BPF_CMD_LINK_UPDATE &&
      cmd != ST_BPF_CMD_LINK_DETACH)
    return 0;
  if (!current_ok())
    return 0;
  size = SYS_ARG3(regs);
  if (size > sizeof(a))
    size = sizeof(a);
  barrier_var(size);
  bpf_probe_read_user(a, size, (const void *)SYS_ARG2(regs));
  /* PROG_ATTACH/DETACH and LINK_CREATE name the hook; a link's own calls
   * are followed for cgroup links only. */
  if ((cmd == ST_BPF_CMD_PROG_ATTACH || cmd == ST_BPF_CMD_PROG_DETACH ||
       cmd == ST_BPF_CMD_LINK_CREATE) &&
      !sock_hook(a[2]))
    return 0;

  r = REC_NEW(struct st_bpf_rec_catalog, ST_K_CATALOG, 0, ret);
  if (!r)
    return 0;
  __builtin_memset(&r->cmd, 0, sizeof(*r) - offsetof(struct st_bpf_rec_catalog, cmd));
  proc_fill(&r->p);
  r->cmd = cmd;
  switch (cmd) {
  case ST_BPF_CMD_PROG_ATTACH: /* target_fd, attach_bpf_fd, attach_type, flags, replace_fd */
    r->attach_type = a[2];
    r->attach_flags = a[3];
    r->cgroup_id = cgroup_of_fd(a[0]);
    prog_fill(r, bpf_object(a[1], ANON_BPF_PROG));
    if (a[3] & BPF_F_REPLACE_)
      r->old_prog_id = prog_id(a[4]);
    break;
  case ST_BPF_CMD_PROG_DETACH: /* target_fd, attach_bpf_fd (0: the one there), attach_type */
    r->attach_type = a[2];
    r->cgroup_id = cgroup_of_fd(a[0]);
    if (a[1])
      prog_fill(r, bpf_object(a[1], ANON_BPF_PROG));
    break;
  case ST_BPF_CMD_LINK_CREATE: /* prog_fd, target_fd, attach_type, flags; returns the link */
    prog_fill(r, bpf_object(a[0], ANON_BPF_PROG));
    if (!cgroup_link_fill(r, ret))
      goto drop;
    break;
  case ST_BPF_CMD_LINK_UPDATE: /* link_fd, new_prog_fd, flags, old_prog_fd */
    prog_fill(r, bpf_object(a[1], ANON_BPF_PROG));
    if (a[2] & BPF_F_REPLACE_)
      r->old_prog_id = prog_id(a[3]);
    if (!cgroup_link_fill(r, a[0]))
      goto drop;
    break;
  default: /* LINK_DETACH: link_fd */
    if (!cgroup_link_fill(r, a[0]))
      goto drop;
    break;
  }
  rec_submit(r);
  return 0;
drop:
  bpf_ringbuf_discard(r, 0);
  return 0;
}
