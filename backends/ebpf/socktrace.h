/*
 * The records the kernel side (the files in bpf/) writes into the BPF ring buffer
 * and user space (expand.c) turns into st_events: one layout, defined once,
 * shared by both sides.
 *
 * Records are compact and say only what the kernel alone knows. A record
 * names its socket by the kernel's struct sock address; user space keeps the
 * table of sockets (endpoint number, owner, addresses, connect state) and
 * expands records into schema events: one close record becomes Cleanup,
 * Close and EndpointSummary; a connect's completion is matched to its call.
 * Stack records (raised in softirq or on another task) carry no owner:
 * user space knows whose socket it is.
 *
 * This header is compiled by clang for the BPF target as well as for the
 * host, so it uses only the kernel's fixed-size __u types and never includes
 * a libc or socktrace header. The level and keyword values equal event.h's;
 * expand.c checks that at compile time.
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
#define ST_BPF_KW_CATALOG 0x800ULL
#define ST_BPF_KW_DNS 0x1000ULL

/* Bytes of a DNS message copied from the application's buffer (2^10 - 1,
 * so that a mask bounds a length for every verifier): a UDP answer fits
 * (512, or EDNS's common 1232 cut at this); the parser reads what there is.
 * The record's buffer is twice this so the verifier can see that a second
 * iovec's copy stays inside it. */
#define ST_BPF_DNS_MAX 1023

/* What the session asks for. The kernel side reads it from writable global
 * data, so user space may change it while tracing. */
struct st_bpf_settings {
  __u64 kw_mask;
  __u32 level;
  __u32 scoped; /* a pid or tree filter: only traced sockets report */
  __u32 tree_on;
  __u32 n_pids;
  __u32 pids[ST_BPF_FILTER_MAX];
  __u32 n_ports;
  __u32 family_mask; /* bits 1 << AF_*; 0 = any */
  __u16 ports[ST_BPF_FILTER_MAX];
  /* A container filter (with scoped): calls from a cgroup in the
   * cgroup_skip map, which user space fills with the cgroups it resolved to
   * another container or none, are not reported. */
  __u32 cgroup_skip_on;
};

/* Record kinds. */
enum st_bpf_kind {
  ST_K_CREATE = 1,  /* socket() returned: st_bpf_rec_sock */
  ST_K_BIND,        /* bind() returned: st_bpf_rec_addr (the address asked for) */
  ST_K_LISTEN,      /* listen() returned: st_bpf_rec_addr, arg = backlog */
  ST_K_CONNECT,     /* connect() called: st_bpf_rec_addr (the peer named) */
  ST_K_CONNECT_RET, /* connect() returned: st_bpf_rec_addr (the socket's addresses) */
  ST_K_ACCEPT,      /* accept() returned: st_bpf_rec_accept */
  ST_K_SHUTDOWN,    /* shutdown() returned: st_bpf_rec_sock, arg = how */
  ST_K_CLOSE,       /* the last close() of a socket: st_bpf_rec_close */
  ST_K_OPTION,      /* setsockopt() / ioctl(FIONBIO) returned: st_bpf_rec_option */
  ST_K_DATA,        /* a send or receive: st_bpf_rec_data */
  ST_K_CONN_DONE,   /* TCP left SYN_SENT: st_bpf_rec_stack, ret = 0 or -error */
  ST_K_STATE,       /* TCP state change: st_bpf_rec_stack, arg = old << 8 | new */
  ST_K_RESET_RECV,  /* RST received on a connection: st_bpf_rec_flow */
  ST_K_RESET_SENT,  /* RST sent: st_bpf_rec_flow, arg = state */
  ST_K_RETRANSMIT,  /* st_bpf_rec_flow, arg = state */
  ST_K_DESTROY,     /* the kernel freed a TCP socket: st_bpf_rec_close (no owner) */
  ST_K_DATA_READY,  /* data reached a socket: st_bpf_rec_stack, arg = bytes waiting */
  ST_K_DROP,        /* the stack dropped a packet of a socket: st_bpf_rec_drop */
  ST_K_CHILD,       /* a connection reached a listener: st_bpf_rec_flow, sk = the child,
                       arg = the listener's backlog */
  ST_K_CATALOG,     /* a bpf() call changed a cgroup socket hook: st_bpf_rec_catalog */
  ST_K_DNS,         /* a DNS message sent or received (port 53): st_bpf_rec_dns */
  ST_K_COUNT
};

/* st_bpf_hdr.flags */
enum {
  ST_BPF_F_ENTER = 1 << 0,      /* the record is the start of a call (else its end); on a
                                   connect's end: also its start, remote = the address asked
                                   for (a connect that did not wait) */
  ST_BPF_F_ABORTS = 1 << 1,     /* close: TCP will reset the connection (linger 0, unread data) */
  ST_BPF_F_COUNTED = 1 << 2,    /* close: the kernel counted calls (sends/receives are valid) */
  ST_BPF_F_TCP_INFO = 1 << 3,   /* close: bytes, retransmits and RTT come from the TCP socket */
  ST_BPF_F_NO_SEGMENT = 1 << 4, /* reset sent: not an answer to a segment (an abort) */
  ST_BPF_F_QUEUE_FAIL = 1 << 5, /* drop: a UDP queue failure, ret = its -errno */
  ST_BPF_F_PEEK = 1 << 6,       /* data: MSG_PEEK, nothing was consumed */
  ST_BPF_F_STATE = 1 << 7,      /* connect's end (TCP): arg = the socket's state at the exit
                                   | its pending error << 8 */
};

/* Every record starts with this. ts is CLOCK_BOOTTIME in ns. */
struct st_bpf_hdr {
  __u64 ts;
  __u64 sk; /* the socket's kernel address: user space's key (0: none) */
  __u16 kind;
  __u8 flags;
  __u8 path_len; /* bytes of the unix path that follows the record (0: none) */
  __s32 ret;     /* the call's result: -errno, a count, 0 */
};

/* An IP endpoint: family AF_INET / AF_INET6 (0 when absent), port in host
 * order, IPv4 in addr[0..3]. */
struct st_bpf_addr {
  __u16 family;
  __u16 port;
  __u8 addr[16];
};

/* The thread a syscall record comes from, and its cgroup (v2 id, the
 * cgroupfs inode number) at the call: user space names the container from
 * it. Stack records have none: their socket's owner's is kept with the
 * endpoint in user space. */
struct st_bpf_proc {
  __u64 cgroup;
  __u32 pid, tid, ppid;
  char comm[ST_BPF_COMM_MAX];
};

/* What kind of socket: AF_*, SOCK_*, IPPROTO_*. */
struct st_bpf_sock {
  __u16 family, type, protocol, pad;
};

struct st_bpf_rec_sock {
  struct st_bpf_hdr h;
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u32 arg;
  __u32 pad;
};

/* An address-carrying call (bind, listen, connect); a unix path, when the
 * socket is AF_UNIX, follows the record (h.path_len bytes). */
struct st_bpf_rec_addr {
  struct st_bpf_hdr h;
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u32 arg;
  __u32 pad;
  struct st_bpf_addr local, remote;
};

struct st_bpf_rec_accept {
  struct st_bpf_hdr h; /* sk: the listener */
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u32 backlog;
  __u32 pad;
  __u64 child; /* the accepted socket (0 when accept failed) */
  struct st_bpf_addr local, remote;
};

/* What a socket did, read from the kernel when it closes. */
struct st_bpf_counts {
  __u64 bytes_sent, bytes_received;
  __u64 sends, receives; /* valid with ST_BPF_F_COUNTED */
  __u32 retransmits;
  __u32 rtt_us; /* smoothed RTT, 0 when unknown */
};

struct st_bpf_rec_close {
  struct st_bpf_hdr h;
  struct st_bpf_proc p; /* zero in ST_K_DESTROY */
  struct st_bpf_sock s;
  __u32 state; /* TCP state at close */
  __u32 pad;
  struct st_bpf_addr local, remote;
  struct st_bpf_counts c;
};

struct st_bpf_rec_option {
  struct st_bpf_hdr h;
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u32 option; /* AFD option code */
  __u32 pad;
  __u64 value;
};

/* AFD's option code for a socket option Linux has too (SOL_SOCKET 1:
 * SO_OOBINLINE 10, SO_RCVBUF 8, SO_SNDBUF 7; IPPROTO_IPV6 41: IPV6_V6ONLY
 * 26); others keep their native level and name as 0x80000000 | level << 16
 * | name. Used by the kernel side and by the ptrace backend. */
static inline __attribute__((always_inline)) __u32 st_bpf_afd_option(__u32 level, __u32 name) {
  if (level == 1 && name == 10)
    return 1;
  if (level == 1 && name == 8)
    return 6;
  if (level == 1 && name == 7)
    return 7;
  if (level == 41 && name == 26)
    return 0xD;
  return 0x80000000u | (level & 0x7fff) << 16 | (name & 0xffff);
}

/* st_bpf_rec_data.call */
enum { ST_BPF_CALL_PLAIN = 0, ST_BPF_CALL_TO, ST_BPF_CALL_MSG, ST_BPF_CALL_MMSG };

struct st_bpf_rec_data {
  struct st_bpf_hdr h; /* ret: bytes, or -errno */
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u8 send; /* 1 send, 0 receive */
  __u8 call; /* ST_BPF_CALL_* */
  __u8 pad[6];
  struct st_bpf_addr remote; /* sendto/recvfrom's address, family 0 when none */
};

/* Raised by the TCP/IP stack, not by a call: no owner, the ports to find a
 * socket user space has not met yet (a child before accept). */
struct st_bpf_rec_stack {
  struct st_bpf_hdr h;
  __u32 arg;
  __u16 sport, dport;
};

/* A stack event with the connection's addresses (rare ones, and those that
 * may be about a socket user space has not met). */
struct st_bpf_rec_flow {
  struct st_bpf_hdr h; /* sk 0: no full socket (a reset for a closed port) */
  __u32 arg;
  __u32 pid;                  /* the current process, for events of no socket (a guess) */
  char comm[ST_BPF_COMM_MAX]; /* its name, likewise */
  struct st_bpf_addr local, remote;
};

/* A DNS message an application sent or received on a socket to or from
 * port 53 (or a UDP socket that sent to port 53): the first len bytes of
 * what the call moved (h.ret bytes). For TCP, what one call moved: a length
 * prefix, a message, or both (user space reassembles). */
struct st_bpf_rec_dns {
  struct st_bpf_hdr h;
  struct st_bpf_proc p;
  struct st_bpf_sock s;
  __u8 send; /* 1 sent, 0 received */
  __u8 call; /* ST_BPF_CALL_* */
  __u16 len; /* bytes in data */
  __u32 pad;
  struct st_bpf_addr local, remote; /* remote: the peer, family 0 when not known */
  __u8 data[2 * (ST_BPF_DNS_MAX + 1)];
};

struct st_bpf_rec_drop {
  struct st_bpf_hdr h; /* ret: the kernel's drop reason (0: a UDP queue failure) */
  struct st_bpf_sock s;
  __u32 bytes;
  __u32 pad;
  struct st_bpf_addr remote; /* the datagram's sender, family 0 when unknown */
};

/* The cgroup socket hooks, as bits 1 << enum bpf_attach_type (the kernel's
 * ABI): 0-3 skb ingress/egress, sock_create, sock_ops; 8-15 bind4/6,
 * connect4/6, post_bind4/6, sendmsg4/6; 19-22 recvmsg4/6, getsockopt,
 * setsockopt; 29-32 getpeername4/6, getsockname4/6; 34 sock_release;
 * 49-53 the unix connect, sendmsg, recvmsg, getpeername, getsockname
 * hooks (6.7). */
#define ST_BPF_CGROUP_SOCK_HOOKS 0x3e0005e078ff0fULL

/* The bpf() commands the catalog follows (enum bpf_cmd). */
enum {
  ST_BPF_CMD_PROG_ATTACH = 8,
  ST_BPF_CMD_PROG_DETACH = 9,
  ST_BPF_CMD_LINK_CREATE = 28,
  ST_BPF_CMD_LINK_UPDATE = 29,
  ST_BPF_CMD_LINK_DETACH = 34,
};

/* A bpf() call that attached, replaced or detached a program on a cgroup
 * socket hook (h.ret: the call's result, a link's fd for LINK_CREATE). What
 * a program and a link were is read in the kernel while they exist: a
 * program detached and closed a moment later can no longer be asked. */
struct st_bpf_rec_catalog {
  struct st_bpf_hdr h;
  struct st_bpf_proc p;
  __u32 cmd;          /* ST_BPF_CMD_* */
  __u32 attach_type;  /* enum bpf_attach_type */
  __u32 attach_flags; /* PROG_ATTACH's flags (BPF_F_ALLOW_MULTI, BPF_F_REPLACE, ...) */
  __u32 link_id;      /* the link created, updated or detached (0: none) */
  __u64 cgroup_id;    /* the cgroup (0: not known) */
  __u32 prog_id;      /* the program attached, put in or detached (0: not known) */
  __u32 old_prog_id;  /* the program replaced (BPF_F_REPLACE; 0: not said) */
  char prog_name[16];
  __u8 tag[8];
};

#endif
