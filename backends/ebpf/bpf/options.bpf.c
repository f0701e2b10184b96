/*
 * Level 5: socket options an application sets (setsockopt, and FIONBIO
 * through ioctl), as AFD's option codes where Linux has the same option.
 * Attached only at level 5: ioctl in particular runs for every device.
 */
#include "common.bpf.h"

#define FIONBIO 0x5421

static __always_inline void emit_option(int fd, __u32 option, __u64 value, long ret) {
  struct st_bpf_rec_option *r;
  struct sk_view v;
  struct sock *sk = fd_to_sock(fd);

  if (!sk || !sk_view(sk, &v) || !view_ports_ok(&v) || !kw_ok(type_kw(v.type) | ST_BPF_KW_WINSOCK))
    return;
  r = REC_NEW(struct st_bpf_rec_option, ST_K_OPTION, sk, ret);
  if (!r)
    return;
  proc_fill(&r->p);
  sk_kind(&v, &r->s);
  r->option = option;
  r->pad = 0;
  r->value = value;
  rec_submit(r);
}

SEC("tracepoint/syscalls/sys_exit_setsockopt")
int exit_setsockopt(struct trace_event_raw_sys_exit *ctx) {
  struct pt_regs rbuf, *regs;
  __u64 value = 0;
  __u32 optlen;

  if (!verbose() || !current_ok() || !(regs = syscall_regs(&rbuf)))
    return 0;
  optlen = SYS_ARG5(regs);
  bpf_probe_read_user(&value, optlen >= 8 ? 8 : 4, (void *)SYS_ARG4(regs));
  emit_option(SYS_ARG1(regs), st_bpf_afd_option(SYS_ARG2(regs), SYS_ARG3(regs)), value, ctx->ret);
  return 0;
}

/* FIONBIO cannot fail on an open socket: reported as it is asked for. */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int enter_ioctl(struct trace_event_raw_sys_enter *ctx) {
  __u32 on = 0;

  if (ctx->args[1] != FIONBIO || !verbose() || !current_ok())
    return 0;
  bpf_probe_read_user(&on, sizeof(on), (void *)ctx->args[2]);
  emit_option(ctx->args[0], 2 /* AFD option FIONBIO */, on, 0);
  return 0;
}
