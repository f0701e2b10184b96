/*
 * DNS before Linux 6.3 (dns.bpf.h): read, write, readv and writev on the
 * descriptors of DNS sockets, which the socket layer's tracepoints see
 * since 6.3. Go's resolver and glibc's TCP fallback use these calls. Each
 * program looks at a counter first: while no DNS socket is open, that is
 * all it does.
 */
#include "dns.bpf.h"

static __always_inline int dns_rw(long ret, bool send) {
  struct pt_regs rbuf, *regs;
  struct sock *sk;
  int fd;

  if (ret <= 0 || !dns_fds_n || !dns_on() || !(regs = syscall_regs(&rbuf)))
    return 0;
  fd = SYS_ARG1(regs);
  if (!dns_fd_marked(fd) || !current_ok())
    return 0;
  sk = fd_to_sock(fd);
  if (sk)
    dns_emit_call(sk, regs, ret, send, NULL);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int dns_exit_read(struct trace_event_raw_sys_exit *ctx) {
  return dns_rw(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_write")
int dns_exit_write(struct trace_event_raw_sys_exit *ctx) {
  return dns_rw(ctx->ret, true);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int dns_exit_readv(struct trace_event_raw_sys_exit *ctx) {
  return dns_rw(ctx->ret, false);
}

SEC("tracepoint/syscalls/sys_exit_writev")
int dns_exit_writev(struct trace_event_raw_sys_exit *ctx) {
  return dns_rw(ctx->ret, true);
}
