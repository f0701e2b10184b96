/*
 * The Linux eBPF backend: tracepoints on the socket calls, the socket layer
 * and the TCP/IP stack, filtered in the kernel, delivered through one BPF
 * ring buffer. Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF
 * (Linux 5.11 or newer); each program whose tracepoint this kernel lacks is
 * left out, and what that costs is said (st_ebpf_kernel_gaps).
 */
#ifndef ST_BACKEND_EBPF_H
#define ST_BACKEND_EBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_ebpf_options {
  uint32_t ring_bytes; /* ring buffer size; 0 = the session's ring_pages, else 4 MiB */
  /* Called once at start for each thing this kernel cannot give; may be
   * NULL. */
  void (*notice)(const char *message, void *arg);
  void *notice_arg;
  bool debug; /* libbpf's own messages (and the verifier's) on stderr */
} st_ebpf_options;

/* Creates the backend (nothing is loaded until the session opens it). */
int st_backend_ebpf_new(const st_ebpf_options *opt, st_backend **out);

/* What the running kernel offers, read from its BTF (no privilege needed). */
typedef struct st_ebpf_kernel {
  char release[65];      /* uname -r */
  bool btf;              /* /sys/kernel/btf/vmlinux is there */
  bool tcp_tracepoints;  /* sock:inet_sock_set_state and the tcp:* events */
  bool sock_length;      /* sock:sock_send_length / sock_recv_length (6.3) */
  bool data_ready;       /* sock:sk_data_ready */
  bool kfree_skb_sk;     /* skb:kfree_skb names the receiving socket */
  bool kfree_skb_reason; /* skb:kfree_skb gives the kernel's reason (5.17) */
  bool udp_drops;        /* udp:udp_fail_queue_rcv_skb names the socket */
  bool udp_drop_sender;  /* ... and hands over the packet */
} st_ebpf_kernel;

/* 0, or ST_ENOSYS when the kernel has no BTF (k->release is still set). */
int st_ebpf_probe_kernel(st_ebpf_kernel *k);
/* Up to max phrases, one for each thing this kernel cannot give (e.g. "no
 * AfdDataIndication (...)"); returns how many. */
size_t st_ebpf_kernel_gaps(const st_ebpf_kernel *k, const char **out, size_t max);

enum { ST_AVAIL_NO = 0, ST_AVAIL_YES = 1, ST_AVAIL_PARTLY = 2 };
/* Whether the backend reports this event on this kernel; *why says what is
 * missing (NULL when available). */
int st_ebpf_event_available(const st_ebpf_kernel *k, uint8_t provider, uint16_t id,
                            const char **why);

#ifdef __cplusplus
}
#endif
#endif
