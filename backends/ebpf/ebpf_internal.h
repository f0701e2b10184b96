/*
 * Private to the eBPF backend: the loader's state and the record decoder
 * it shares with decode.c. Nothing outside backends/ebpf includes this.
 */
#ifndef ST_EBPF_INTERNAL_H
#define ST_EBPF_INTERNAL_H

#include <linux/types.h>
#include <stdint.h>

#include "socktrace/event.h"
#include "socktrace.h"

/* Names of the kernel's skb drop reasons, read from its BTF. */
typedef struct ebpf_drop_names {
  struct btf *btf; /* owns the strings */
  const char **names;
  uint32_t count;
} ebpf_drop_names;

void ebpf_drop_names_load(ebpf_drop_names *d);
void ebpf_drop_names_free(ebpf_drop_names *d);

/* Turns one ring record into an event. boot_to_real converts the kernel's
 * CLOCK_BOOTTIME stamps to wall-clock time. */
void ebpf_decode(const struct st_bpf_rec *r, int64_t boot_to_real, const ebpf_drop_names *drops,
                 st_event *ev);

#endif
