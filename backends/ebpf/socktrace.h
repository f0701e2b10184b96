/*
 * The record the kernel side (socktrace.bpf.c) writes into the BPF ring
 * buffer and the loader (decode.c) turns into an st_event: one layout, defined
 * once, shared by both sides.
 *
 * This header is compiled by clang for the BPF target as well as for the
 * host, so it must use only the kernel's fixed-size __u types and never
 * include a libc or socktrace header. The ST_BPF_HAS_* and event-id values
 * below equal the public ST_HAS_* / ST_EV_* ones; decode.c checks that at
 * compile time.
 */
#ifndef ST_EBPF_SOCKTRACE_H
#define ST_EBPF_SOCKTRACE_H

#define ST_BPF_FILTER_MAX 16
#define ST_BPF_PATH_MAX 108
#define ST_BPF_COMM_MAX 16

/* Levels and keywords (event.h). */
#define ST_BPF_LEVEL_ERROR 2
#define ST_BPF_LEVEL_INFO 4
#define ST_BPF_LEVEL_VERBOSE 5
#define ST_BPF_KW_DATAGRAM 0x1ULL
#define ST_BPF_KW_STREAM 0x2ULL
#define ST_BPF_KW_WINSOCK 0x4ULL
#define ST_BPF_KW_TRANSPORT 0x8ULL
#define ST_BPF_KW_TCP_STATE 0x100ULL
#define ST_BPF_KW_SUMMARY 0x200ULL

/* Optional-field bits (equal to ST_HAS_*). */
#define ST_BPF_HAS_FAMILY (1u << 0)
#define ST_BPF_HAS_TYPE (1u << 1)
#define ST_BPF_HAS_PROTOCOL (1u << 2)
#define ST_BPF_HAS_LOCAL (1u << 3)
#define ST_BPF_HAS_REMOTE (1u << 4)
#define ST_BPF_HAS_BYTES (1u << 5)
#define ST_BPF_HAS_BUFFERS (1u << 6)
#define ST_BPF_HAS_STATUS (1u << 7)
#define ST_BPF_HAS_REASON (1u << 8)
#define ST_BPF_HAS_BACKLOG (1u << 9)
#define ST_BPF_HAS_OPTION (1u << 10)
#define ST_BPF_HAS_STATE (1u << 11)
#define ST_BPF_HAS_ACCEPT_EP (1u << 14)
#define ST_BPF_HAS_SUMMARY (1u << 15)
#define ST_BPF_HAS_PPID (1u << 18)
#define ST_BPF_HAS_DETAIL (1u << 20) /* decode.c names rec.value (a drop reason) */

/* Flags (equal to ST_FLAG_*). */
#define ST_BPF_FLAG_PREEXISTING (1u << 0)
#define ST_BPF_FLAG_PID_GUESSED (1u << 2)

/* Where the unix path of a record belongs. */
enum { ST_BPF_PATH_NONE = 0, ST_BPF_PATH_LOCAL = 1, ST_BPF_PATH_REMOTE = 2 };

/* An IP endpoint as the kernel knows it: family is AF_INET / AF_INET6 (0 when
 * absent), port in host order, IPv4 in addr[0..3]. */
struct st_bpf_addr {
  __u16 family;
  __u16 port;
  __u8 addr[16];
};

struct st_bpf_summary {
  __u64 bytes_sent, bytes_received;
  __u64 sends, receives;
  __u64 duration_ns;
  __u64 retransmits;
  __s32 first_err; /* negative errno, 0 when none */
  __s32 final_err;
};

struct st_bpf_rec {
  __u64 ts; /* CLOCK_BOOTTIME, ns */
  __u64 endpoint;
  __u64 keywords;
  __u64 bytes;
  __u64 value;     /* option value; kernel drop reason for drops */
  __u64 accept_ep; /* accepted endpoint (1024) */
  __u32 has;       /* ST_BPF_HAS_* */
  __u32 flags;     /* ST_BPF_FLAG_* */
  __u32 pid, tid, ppid;
  __s32 err; /* status: negative errno, 0 ok */
  __u32 reason;
  __u32 backlog;
  __u32 option;
  __u32 buffers;
  __u16 id;
  __u16 protocol;
  __u16 family; /* AF_* */
  __u16 type;   /* SOCK_* */
  __u8 level;
  __u8 enter_exit;
  __u8 old_state, new_state;
  __u8 path_slot; /* ST_BPF_PATH_* */
  __u8 path_len;  /* bytes of path used (abstract names start with a NUL) */
  __u8 pad[6];
  char comm[ST_BPF_COMM_MAX];
  struct st_bpf_addr local, remote;
  union {
    char path[ST_BPF_PATH_MAX];    /* when path_slot != NONE */
    struct st_bpf_summary summary; /* when has & ST_BPF_HAS_SUMMARY */
  } u;
};

#endif
