/*
 * The Linux eBPF backend: classic tracepoints on the socket layer and the
 * TCP/IP stack, filtered in the kernel, delivered through one BPF ring
 * buffer. Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.
 */
#ifndef ST_BACKEND_EBPF_H
#define ST_BACKEND_EBPF_H

#include <stdint.h>

#include "socktrace/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_ebpf_options {
  uint32_t ring_bytes; /* ring buffer size; 0 = the session's ring_pages, else 4 MiB */
} st_ebpf_options;

/* Creates the backend (nothing is loaded until the session opens it). */
int st_backend_ebpf_new(const st_ebpf_options *opt, st_backend **out);

#ifdef __cplusplus
}
#endif
#endif
