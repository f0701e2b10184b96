/*
 * The pcap backend: wire-derived socket events from a live interface or a
 * .pcap / .pcapng file, through libpcap. Events carry os "wire", backend
 * "pcap", pid 0 and no comm: packets say nothing about processes, and this
 * backend never guesses one.
 */
#ifndef ST_PCAP_BACKEND_H
#define ST_PCAP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_pcap_options {
  const char *file;        /* offline: .pcap / .pcapng; NULL for live */
  const char *iface;       /* live: interface name ("lo") */
  const char *bpf_filter;  /* capture filter expression, may be NULL */
  uint32_t max_flows;      /* 0 = default bound */
  uint64_t syn_timeout_ns; /* 0 = default: unanswered SYN -> timed_out */
} st_pcap_options;

/* Creates the backend; nothing is opened until the session starts it.
 * Returns 0, ST_EINVAL (no file and no interface) or ST_ENOMEM. */
int st_backend_pcap_new(const st_pcap_options *opt, st_backend **out);

/* True if the file starts with a pcap or pcapng magic number. */
bool st_pcap_file_sniff(const char *path);

#ifdef __cplusplus
}
#endif
#endif
