/*
 * Private to the eBPF backend: which programs load on this kernel, and
 * which are attached for the session's settings (programs.c).
 */
#ifndef ST_EBPF_PROGRAMS_H
#define ST_EBPF_PROGRAMS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "ebpf.h"
#include "socktrace/session.h"

#define EBPF_MAX_PROGRAMS 64

struct socktrace_bpf;
struct bpf_link;

/* The links of the attached programs, in the object's program order. */
typedef struct ebpf_programs {
  struct bpf_link *links[EBPF_MAX_PROGRAMS];
} ebpf_programs;

/* Before load: only programs this kernel can run load (tracing: the tracefs
 * directory, to see which syscall tracepoints exist; NULL: assume all). */
void ebpf_programs_choose(struct socktrace_bpf *s, const st_ebpf_kernel *k, const char *tracing);
/* Before load, for settings that never change: programs cfg will never
 * attach do not load either. */
void ebpf_programs_trim(struct socktrace_bpf *s, bool sock_length, const st_session_config *cfg);
/* Attaches the loaded programs cfg wants and detaches those it no longer
 * wants; the others stay as they are. On failure err says which program. */
int ebpf_programs_attach(ebpf_programs *a, struct socktrace_bpf *s, bool sock_length,
                         const st_session_config *cfg, char *err, size_t errlen);
void ebpf_programs_detach(ebpf_programs *a);
/* Whether the session wants catalog changes (the catalog keyword). */
bool ebpf_catalog_wanted(const st_session_config *cfg);
/* How many are attached now. */
size_t ebpf_programs_attached(const ebpf_programs *a);

#endif
