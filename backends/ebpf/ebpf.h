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
  /* Where the catalog's files are looked for: "" or NULL = "/", else a
   * directory standing in for it (DIR/etc/ld.so.preload, ...); NULL also
   * reads $SOCKTRACE_CATALOG_ROOT. */
  const char *catalog_root;
  /* Called once at start for each thing this kernel cannot give; may be
   * NULL. */
  void (*notice)(const char *message, void *arg);
  void *notice_arg;
  bool debug; /* libbpf's own messages (and the verifier's) on stderr */
  /* The session's settings never change (no `update`): programs they will
   * never attach are not loaded, which saves their verification at start. */
  bool fixed;
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
  bool rdonly_cast;      /* the bpf_rdonly_cast kfunc (6.2): sockets read in place */
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

/* ---- the Linux catalog -----------------------------------------------------
 * What can change how a program's sockets behave without the program
 * knowing, the questions Windows' Winsock catalog answers: BPF programs on
 * cgroup socket hooks, nftables rule sets, preloaded interposers,
 * name-service providers and resolver configuration. `socktrace catalog`
 * lists it; with the catalog
 * keyword a trace reports its changes as catalog events (LspInstalled,
 * LspRemoved, LspDisabled, CatalogReset). */
typedef enum st_linux_catalog_kind {
  ST_LCAT_BPF = 0,  /* a BPF program on a cgroup socket hook */
  ST_LCAT_NFT,      /* an nftables table of this network namespace */
  ST_LCAT_PRELOAD,  /* a library in /etc/ld.so.preload (the files from here on) */
  ST_LCAT_NSS,      /* a hosts: provider in /etc/nsswitch.conf */
  ST_LCAT_RESOLVER, /* a resolver line of /etc/resolv.conf */
  ST_LCAT_GAI,      /* an address-selection rule of /etc/gai.conf */
  ST_LCAT_HOSTS,    /* a line of /etc/hosts */
  ST_LCAT_KIND_COUNT
} st_linux_catalog_kind;

/* A program on a cgroup socket hook. */
typedef struct st_linux_catalog_bpf {
  uint32_t attach_type;      /* enum bpf_attach_type */
  uint32_t attach_flags;     /* BPF_F_ALLOW_OVERRIDE 1, BPF_F_ALLOW_MULTI 2 (0: exclusive) */
  uint32_t prog_id, link_id; /* link_id 0: attached with BPF_PROG_ATTACH */
  uint64_t cgroup_id;
  char cgroup[256]; /* path under the cgroup v2 mount, "/" its root */
  char name[16];    /* the program's name */
  char tag[17];     /* its tag, hex */
} st_linux_catalog_bpf;

typedef struct st_linux_catalog_entry {
  uint8_t kind;             /* st_linux_catalog_kind */
  bool unread;              /* not an entry: this kind could not be read, text says why */
  char source[256];         /* the file, the hook ("cgroup/connect4"), or "nftables" */
  char text[256];           /* the entry: a library, a provider, a line; a BPF program or an
                               nftables table in words */
  st_linux_catalog_bpf bpf; /* ST_LCAT_BPF */
} st_linux_catalog_entry;

/* How a program is attached: "multi", "override", "exclusive" (the
 * BPF_PROG_ATTACH flags) or "link=ID". */
void st_linux_catalog_bpf_mode(const st_linux_catalog_bpf *b, char *out, size_t len);

/* Reads the catalog (root as st_ebpf_options.catalog_root) into a malloc'd
 * array the caller frees. Returns 0, or a negative code with err saying
 * what could not be read first (the BPF programs and the rule sets need
 * root); the entries that could be read are returned either way, and an
 * unread entry for each kind that could not be. */
int st_linux_catalog_read(const char *root, st_linux_catalog_entry **out, size_t *count, char *err,
                          size_t errlen);
/* A kind's title ("Preloaded interposers"). */
const char *st_linux_catalog_title(uint8_t kind);
/* Where a kind is read: its file under root, for ST_LCAT_BPF where cgroup
 * v2 is mounted ("" when it is not), for ST_LCAT_NFT the namespace. */
void st_linux_catalog_path(const char *root, uint8_t kind, char *out, size_t len);
/* The catalog event (id: ST_EV_CAT_*) an entry makes: provider catalog,
 * keyword catalog, the entry in detail ("SOURCE ENTRY"), the cgroup id for
 * BPF programs. Time and process are left to the caller. */
void st_linux_catalog_event(const st_linux_catalog_entry *e, uint16_t id, st_event *ev);

#ifdef __cplusplus
}
#endif
#endif
