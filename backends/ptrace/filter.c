/*
 * The seccomp filter the traced tree runs under: SECCOMP_RET_TRACE (a
 * ptrace stop) for the socket calls the level needs, SECCOMP_RET_ALLOW for
 * every other call, so a program that is not talking to the network runs
 * untouched. Level 4 stops at the calls that make, name, connect and end
 * sockets and at those that copy descriptors (to know a socket's last
 * close); level 5 adds the data calls (read and write too: Go's net
 * package and many servers move socket data with them) and the options
 * set (setsockopt, ioctl FIONBIO only: AfdOption). fcntl stops only when
 * it duplicates a descriptor, getsockopt only for SO_ERROR. A call made
 * through another ABI than the native one (a 32-bit program) always stops
 * (its numbers differ) and is not read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ptrace.h"
#include "ptrace_internal.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "the ptrace backend knows the syscall ABI of x86-64 and arm64 only"
#endif

static const int level4_calls[] = {
    __NR_socket,  __NR_socketpair, __NR_bind,  __NR_listen, __NR_connect,
    __NR_accept4, __NR_shutdown,   __NR_close, __NR_dup,    __NR_dup3,
#ifdef __NR_accept
    __NR_accept,
#endif
#ifdef __NR_dup2
    __NR_dup2,
#endif
};

static const int level5_calls[] = {
    __NR_sendto, __NR_recvfrom, __NR_sendmsg, __NR_recvmsg, __NR_sendmmsg,   __NR_recvmmsg,
    __NR_read,   __NR_write,    __NR_readv,   __NR_writev,  __NR_setsockopt,
};

#define FIONBIO 0x5421

#define N4 (sizeof level4_calls / sizeof level4_calls[0])
#define N5 (sizeof level5_calls / sizeof level5_calls[0])
#define MAX_INSNS (N4 + N5 + 32)

uint32_t pt_native_arch(void) {
  return NATIVE_ARCH;
}

bool pt_call_traced(uint32_t arch, int nr, const uint64_t *args, uint8_t level) {
  if (arch != NATIVE_ARCH)
    return false; /* its numbers are not these */
  for (size_t i = 0; i < N4; i++)
    if (level4_calls[i] == nr)
      return true;
  if (nr == __NR_fcntl)
    return (uint32_t)args[1] == 0 /* F_DUPFD */ || (uint32_t)args[1] == 1030 /* F_DUPFD_CLOEXEC */;
  if (nr == __NR_getsockopt)
    return (uint32_t)args[1] == 1 /* SOL_SOCKET */ && (uint32_t)args[2] == 4 /* SO_ERROR */;
  if (nr == __NR_ioctl)
    return level >= 5 && (uint32_t)args[1] == FIONBIO;
  if (level >= 5)
    for (size_t i = 0; i < N5; i++)
      if (level5_calls[i] == nr)
        return true;
  return false;
}

int st_ptrace_child_prepare(uint8_t level) {
  struct sock_filter f[MAX_INSNS];
  size_t n = 0, calls = N4 + (level >= 5 ? N5 : 0);

  /* arch != native: trace (the numbers below do not apply) */
  f[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  f[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  /* fcntl: only F_DUPFD and F_DUPFD_CLOEXEC (skip 4 when not fcntl) */
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, 0, 4);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                        offsetof(struct seccomp_data, args[1]));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0 /* F_DUPFD */, 1, 0);
  f[n++] =
      (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1030 /* F_DUPFD_CLOEXEC */, 0, 1);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  /* Any other call, or an fcntl that does not duplicate (which matches
   * nothing below): the number again, then the list. */
  f[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  /* Level 5: ioctl only for FIONBIO (AfdOption; ioctl runs for every
   * device), then the number again (skip 4 when not ioctl). */
  if (level >= 5) {
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 4);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, args[1]));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FIONBIO, 0, 1);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
    f[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  }
  /* getsockopt: only SOL_SOCKET/SO_ERROR, how an application learns how its
   * non-blocking connect ended (and reading it ourselves would take the
   * answer from it). */
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getsockopt, 0, 5);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                        offsetof(struct seccomp_data, args[1]));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1 /* SOL_SOCKET */, 0, 3);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                        offsetof(struct seccomp_data, args[2]));
  f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4 /* SO_ERROR */, 0, 1);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  f[n++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (size_t i = 0; i < calls; i++) {
    int nr = i < N4 ? level4_calls[i] : level5_calls[i - N4];
    /* match: jump to the TRACE return after the list */
    f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr,
                                        (uint8_t)(calls - i), 0);
    n++;
  }
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -errno;
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
    return -errno;
  return 0;
}
