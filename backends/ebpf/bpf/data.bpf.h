/*
 * What the data path's programs share (data.bpf.c, and the pairs of
 * syscalls.bpf.c that read sockets in place: one object file holds every
 * program that calls bpf_rdonly_cast, which bpftool's linker cannot merge
 * from two). See data.bpf.c.
 */
#ifndef ST_EBPF_DATA_BPF_H
#define ST_EBPF_DATA_BPF_H

#include "dns.bpf.h"

/* Level 4 wants a failed call (a would-block is not a failure). */
static __always_inline bool worth_reporting(long ret) {
  return verbose() || (ret < 0 && ret != -EAGAIN);
}

static __always_inline void emit_data(struct sock *sk, const struct st_bpf_sock *s, long ret,
                                      bool send, __u8 call, const struct st_bpf_addr *a,
                                      bool peek) {
  struct st_bpf_rec_data *r = REC_NEW(struct st_bpf_rec_data, ST_K_DATA, sk, ret);
  if (!r)
    return;
  proc_fill(&r->p);
  r->s = *s;
  r->send = send;
  r->call = call;
  __builtin_memset(r->pad, 0, sizeof(r->pad));
  r->remote = *a;
  if (peek)
    r->h.flags = ST_BPF_F_PEEK;
  rec_submit(r);
}

/* ---- the syscalls (before 6.3; recvfrom/recvmsg with an address always) --- */

static __always_inline int sys_data(long ret, bool send, const bool cast) {
  struct st_bpf_addr a = {};
  struct st_bpf_sock s;
  struct sk_view v;
  struct pt_regs rbuf, *regs;
  struct sock *sk;
  __u64 flags;
  __u8 call;

  /* Since 6.3 sock_*_length reported the call; what is left here is a
   * receive's sender address and sendmmsg/recvmmsg's DNS messages. Told
   * first: a TCP receive used to cost 440 ns here at level 5, for nothing. */
  if (have_sock_length && have_task_pt_regs) { /* 6.3 has both */
    regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    call = call_of(SYS_NR(regs));
    if (call != ST_BPF_CALL_MMSG && (send || ret < 0 || !recv_wants_address(regs, call)))
      return 0;
  }
  if (ret > 0 && dns_on())
    dns_on_exit(ret, send);
  if (!worth_reporting(ret) || !current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  call = call_of(SYS_NR(regs));
  if (have_sock_length && (send || ret < 0 || call == ST_BPF_CALL_MMSG))
    return 0; /* sock_*_length reported it */
  sk = fd_to_sock_c(SYS_ARG1(regs), cast);
  if (!sk || !sk_view_c(sk, &v, cast))
    return 0;
  sk_kind(&v, &s);
  if (have_sock_length && s.type != SOCK_DGRAM)
    return 0;
  if (ret >= 0 && !kw_ok(type_kw(s.type) | ST_BPF_KW_WINSOCK))
    return 0;
  if (send || ret >= 0)
    call_address(&a, regs, call, send);
  if (!view_ports_ok(&v) && !port_ok(0, a.port))
    return 0;
  flags = call == ST_BPF_CALL_TO ? SYS_ARG4(regs) : SYS_ARG3(regs);
  emit_data(sk, &s, ret, send, call, &a, !send && call != ST_BPF_CALL_MMSG && (flags & MSG_PEEK));
  return 0;
}

#endif
