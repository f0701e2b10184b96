/*
 * Private to the eBPF backend: what the loader (ebpf.c), the kernel probe
 * (probe.c) and the record expander (expand.c) share. Nothing outside
 * backends/ebpf includes this.
 */
#ifndef ST_EBPF_INTERNAL_H
#define ST_EBPF_INTERNAL_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/event.h"
#include "socktrace.h"

struct btf;
typedef struct st_ebpf_kernel st_ebpf_kernel;

/* Names of the kernel's skb drop reasons, read from its BTF (probe.c),
 * copied: the BTF (megabytes) need not stay. */
typedef struct ebpf_drop_names {
  const char **names;
  uint32_t count;
} ebpf_drop_names;

void ebpf_drop_names_load(ebpf_drop_names *d, struct btf *vmlinux);
void ebpf_drop_names_free(ebpf_drop_names *d);

/* st_ebpf_probe_kernel on a BTF already loaded (NULL: none). */
int ebpf_kernel_probe_btf(const struct btf *btf, st_ebpf_kernel *k);

/* Why a load failed, from libbpf's log: the program that failed and the
 * kernel's (or libbpf's) words for it. False when the log names no
 * program. */
bool ebpf_load_error(const char *log, char *prog, size_t prog_len, char *why, size_t why_len);

/* The record expander (expand.c): kernel records in, schema events out. */
typedef struct ebpf_expander ebpf_expander;
typedef void (*ebpf_emit_fn)(void *arg, st_event *ev);
/* boot_to_real converts the kernel's CLOCK_BOOTTIME stamps to wall-clock
 * time; emit receives every event (the expander reuses ev afterwards). */
ebpf_expander *ebpf_expander_new(const ebpf_drop_names *drops, int64_t boot_to_real,
                                 ebpf_emit_fn emit, void *arg);
/* The session's level and keywords: events beyond them are not made. */
void ebpf_expander_settings(ebpf_expander *x, uint8_t level, uint64_t kw_mask);
/* One ring record; -1 when it is malformed (too short, unknown kind). */
int ebpf_expand(ebpf_expander *x, const void *rec, size_t size);
/* Sockets it remembers now. */
size_t ebpf_expander_sockets(const ebpf_expander *x);
void ebpf_expander_free(ebpf_expander *x);

#endif
