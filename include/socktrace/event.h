/*
 * The socktrace event: one struct that every backend fills and every sink
 * reads. It mirrors the Winsock-AFD model (shared/spec/event-model.md): ids,
 * levels, keywords and EnterExit mean what they mean on Windows.
 *
 * This header depends on nothing but the C library. It must never grow
 * pointers into backend state: an event is a plain value that can be copied,
 * queued across threads and written to disk as it is.
 */
#ifndef SOCKTRACE_EVENT_H
#define SOCKTRACE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "socktrace/status.h"
#include "socktrace/version.h" /* ST_VERSION: generated from the build's project(VERSION) */

#ifdef __cplusplus
extern "C" {
#endif

/* The library's own version, at run time: a program may run with another
 * build of the library than the one whose headers it was compiled with.
 * st_version() is ST_VERSION_HEX's number, st_version_string() ST_VERSION. */
unsigned st_version(void);
const char *st_version_string(void);

/* Providers. */
typedef enum st_provider {
  ST_PROVIDER_AFD = 0,     /* Microsoft-Windows-Winsock-AFD */
  ST_PROVIDER_CATALOG = 1, /* Microsoft-Windows-Winsock-WS2HELP */
  ST_PROVIDER_EXT = 2,     /* socktrace extensions */
  ST_PROVIDER_COUNT
} st_provider;

/* ETW levels. A session at level L gets every event whose level is <= L. */
enum {
  ST_LEVEL_ERROR = 2,
  ST_LEVEL_WARNING = 3,
  ST_LEVEL_INFO = 4,
  ST_LEVEL_VERBOSE = 5,
};

/* AFD keyword bits, then extension bits from 0x100. */
#define ST_KW_DATAGRAM 0x1ULL
#define ST_KW_STREAM 0x2ULL
#define ST_KW_WINSOCK 0x4ULL   /* application-initiated */
#define ST_KW_TRANSPORT 0x8ULL /* transport-initiated */
#define ST_KW_TCP_STATE 0x100ULL
#define ST_KW_SUMMARY 0x200ULL
#define ST_KW_LOSS 0x400ULL
#define ST_KW_CATALOG 0x800ULL
#define ST_KW_DNS 0x1000ULL
#define ST_KW_ALL 0xffffffffffffffffULL

/* AFD EnterExit. */
enum {
  ST_EE_ENTER = 0,     /* request start */
  ST_EE_EXIT = 1,      /* request completed */
  ST_EE_INTERNAL = 2,  /* internal action */
  ST_EE_TRANSPORT = 3, /* caused by the transport (TCP/IP stack) */
  ST_EE_AFD = 4,       /* caused by the socket layer itself */
};

/* Event ids: AFD (Windows 7+ manifest numbering). */
enum {
  ST_EV_CREATE = 1000,
  ST_EV_CLOSE = 1001,
  ST_EV_CLEANUP = 1002,
  ST_EV_SEND = 1003,
  ST_EV_RECEIVE = 1004,
  ST_EV_SENDTO = 1005,
  ST_EV_RECEIVEFROM = 1006,
  ST_EV_SENDTO_ADDR = 1007,
  ST_EV_SENDTO_ADDR_FAIL = 1008,
  ST_EV_RECEIVEFROM_ADDR = 1009,
  ST_EV_RECEIVEFROM_ADDR_FAIL = 1010,
  ST_EV_SENDMSG = 1011,
  ST_EV_RECEIVEMSG = 1012,
  ST_EV_SENDMSG_ADDR = 1013,
  ST_EV_SENDMSG_ADDR_FAIL = 1014,
  ST_EV_RECEIVEMSG_ADDR = 1015,
  ST_EV_RECEIVEMSG_ADDR_FAIL = 1016,
  ST_EV_CONNECT = 1017,
  ST_EV_CONNECT_ADDR = 1018,
  ST_EV_CONNECT_ADDR_FAIL = 1019,
  ST_EV_SUPER_CONNECT = 1020,
  ST_EV_SUPER_CONNECT_ADDR = 1021,
  ST_EV_SUPER_CONNECT_ADDR_FAIL = 1022,
  ST_EV_ACCEPT = 1023,
  ST_EV_ACCEPT_ADDR = 1024,
  ST_EV_ACCEPT_ADDR_FAIL = 1025,
  ST_EV_SUPER_ACCEPT = 1026,
  ST_EV_SUPER_ACCEPT_ADDR = 1027,
  ST_EV_SUPER_ACCEPT_ADDR_FAIL = 1028,
  ST_EV_BIND = 1029,
  ST_EV_BIND_ADDR = 1030,
  ST_EV_BIND_ADDR_FAIL = 1031,
  ST_EV_ABORT = 1032,
  ST_EV_DATAGRAM_DROP_ADDR = 1033,
  ST_EV_DATAGRAM_DROP_ADDR_FAIL = 1034,
  ST_EV_OPTION = 1035,
  ST_EV_TRANSMIT_FILE = 1036,
  ST_EV_LISTEN = 1037,
  ST_EV_CONNECT_INDICATION = 3000,
  ST_EV_CONNECT_INDICATION_ADDR = 3001,
  ST_EV_CONNECT_INDICATION_ADDR_FAIL = 3002,
  ST_EV_DATA_INDICATION = 3003,
  ST_EV_DATA_INDICATION_ADDR = 3004,
  ST_EV_DATA_INDICATION_ADDR_FAIL = 3005,
  ST_EV_DISCONNECT = 3006,
  ST_EV_SEND_BACKLOG = 3007,
  /* Extensions. */
  ST_EV_TCP_STATE_CHANGE = 5000,
  ST_EV_TCP_RETRANSMIT = 5001,
  ST_EV_TCP_RESET_SENT = 5002,
  ST_EV_KERNEL_DROP = 5003,
  ST_EV_ENDPOINT_SUMMARY = 5100,
  ST_EV_DNS_MESSAGE = 5200,  /* wire-derived DNS query/answer */
  ST_EV_DECODE_ERROR = 5800, /* a backend could not decode a record */
  ST_EV_EVENTS_LOST = 5900,
  ST_EV_SESSION_CHANGE = 5901, /* a running session's level, keywords or filters changed */
  /* Catalog (WS2HELP). */
  ST_EV_CAT_LSP_INSTALLED = 1,
  ST_EV_CAT_LSP_REMOVED = 2,
  ST_EV_CAT_LSP_DISABLED = 3,
  ST_EV_CAT_RESET = 4,
  ST_EV_CAT_BYPASSED = 5,
};

/* AFD_ABORT reasons (event 1032). */
enum {
  ST_ABORT_LOCAL = 2,           /* abortive disconnect requested locally */
  ST_ABORT_TRANSPORT_RESET = 4, /* transport indicated abortive disconnect */
};

/* Values of st_event.os / .backend. */
typedef enum st_os {
  ST_OS_UNKNOWN = 0,
  ST_OS_LINUX,
  ST_OS_WINDOWS,
  ST_OS_MACOS,
  ST_OS_WIRE,
} st_os;

typedef enum st_backend_kind {
  ST_BACKEND_UNKNOWN = 0,
  ST_BACKEND_EBPF,
  ST_BACKEND_ETW,
  ST_BACKEND_PRELOAD,
  ST_BACKEND_PCAP,
  ST_BACKEND_REPLAY,
  ST_BACKEND_PTRACE, /* the unprivileged ptrace + seccomp tracer */
} st_backend_kind;

/* Portable socket family / type; protocol is the IANA number (6 tcp, 17 udp). */
enum { ST_FAMILY_NONE = 0, ST_FAMILY_INET, ST_FAMILY_INET6, ST_FAMILY_UNIX, ST_FAMILY_OTHER };
enum {
  ST_TYPE_NONE = 0,
  ST_TYPE_STREAM,
  ST_TYPE_DGRAM,
  ST_TYPE_RAW,
  ST_TYPE_SEQPACKET,
  ST_TYPE_OTHER
};

/* An endpoint address: IP + port, or a unix path (abstract names start with
 * '@'). family ST_FAMILY_NONE means "absent". For ST_FAMILY_OTHER,
 * raw_family keeps the OS's number. IPv4 uses addr[0..3]. */
#define ST_PATH_MAX 108
typedef struct st_addr {
  uint8_t family;
  uint16_t raw_family;
  uint16_t port; /* host order */
  uint8_t addr[16];
  char path[ST_PATH_MAX];
} st_addr;

/* Which optional fields an event carries (st_event.has). */
enum {
  ST_HAS_FAMILY = 1u << 0,
  ST_HAS_TYPE = 1u << 1,
  ST_HAS_PROTOCOL = 1u << 2,
  ST_HAS_LOCAL = 1u << 3,
  ST_HAS_REMOTE = 1u << 4,
  ST_HAS_BYTES = 1u << 5,
  ST_HAS_BUFFERS = 1u << 6,
  ST_HAS_STATUS = 1u << 7,
  ST_HAS_REASON = 1u << 8,
  ST_HAS_BACKLOG = 1u << 9,
  ST_HAS_OPTION = 1u << 10, /* option + value */
  ST_HAS_STATE = 1u << 11,  /* old_state + new_state (TCP states) */
  ST_HAS_CGROUP = 1u << 12,
  ST_HAS_NETNS = 1u << 13,
  ST_HAS_ACCEPT_EP = 1u << 14,
  ST_HAS_SUMMARY = 1u << 15, /* the summary block (5100) */
  ST_HAS_LOST = 1u << 16,    /* the lost block (5900) */
  ST_HAS_LEGACY_ID = 1u << 17,
  ST_HAS_PPID = 1u << 18,
  ST_HAS_DNS = 1u << 19,
  ST_HAS_DETAIL = 1u << 20,      /* free text: catalog entry, drop reason, error */
  ST_HAS_CONTAINER = 1u << 21,   /* the container (st_container) */
  ST_HAS_REMOTE_NAME = 1u << 22, /* the name a DNS answer gave the remote address */
};

/* Flags (st_event.flags). */
enum {
  ST_FLAG_PREEXISTING = 1u << 0, /* socket existed before the trace started */
  ST_FLAG_MIDSTREAM = 1u << 1,   /* wire flow picked up mid-stream */
  ST_FLAG_PID_GUESSED = 1u << 2, /* pid taken from a context that may not own the socket */
  ST_FLAG_NAME_SHARED = 1u << 3, /* remote_name came from another process's DNS answer */
};

/* st_dns.flags */
enum {
  ST_DNS_TRUNCATED = 1u << 0,  /* the message's TC bit: the answer did not fit */
  ST_DNS_PARTIAL = 1u << 1,    /* only part of the message was seen (capture limit) */
  ST_DNS_UNANSWERED = 1u << 2, /* a query no answer came for within the timeout */
  ST_DNS_SENT = 1u << 3,       /* the process sent it (else it received it; neither: the wire) */
  ST_DNS_RECEIVED = 1u << 4,
  ST_DNS_API = 1u << 5, /* a resolver API's call and result (the Windows DNS client), not a
                           message: no id or rcode; the status says how it ended */
};

/* TCP states, numbered as Linux does (1 ESTABLISHED .. 12 NEW_SYN_RECV). */
enum {
  ST_TCP_ESTABLISHED = 1,
  ST_TCP_SYN_SENT,
  ST_TCP_SYN_RECV,
  ST_TCP_FIN_WAIT1,
  ST_TCP_FIN_WAIT2,
  ST_TCP_TIME_WAIT,
  ST_TCP_CLOSE,
  ST_TCP_CLOSE_WAIT,
  ST_TCP_LAST_ACK,
  ST_TCP_LISTEN,
  ST_TCP_CLOSING,
  ST_TCP_NEW_SYN_RECV,
};

/* Where events were lost (5900). */
enum { ST_LOST_KERNEL_RING = 1, ST_LOST_ETW_BUFFERS, ST_LOST_SINK, ST_LOST_QUEUE, ST_LOST_FILE };

/* st_summary.flags */
enum {
  ST_SUMMARY_NO_CALLS = 1u << 0, /* sends/receives were not counted (TCP at level 4: the
                                    bytes come from the socket's own counters) */
};

typedef struct st_summary {
  uint64_t bytes_sent, bytes_received;
  uint64_t sends, receives;
  uint64_t duration_ns;
  uint64_t retransmits;
  st_status first_error; /* code ST_OK when there was none */
  st_status final_status;
  uint32_t flags;  /* ST_SUMMARY_* */
  uint32_t rtt_us; /* smoothed round-trip time (TCP), 0 when unknown */
} st_summary;

typedef struct st_lost {
  uint64_t count;
  uint8_t where; /* ST_LOST_* */
  uint64_t from_ns, to_ns;
} st_lost;

/* A DNS name, as text ("api.github.com"): at most 253 characters. */
#define ST_NAME_MAX 256
#define ST_DNS_ADDRS_MAX 8

/* An address a DNS answer gave: family ST_FAMILY_INET / ST_FAMILY_INET6. */
typedef struct st_dns_addr {
  uint8_t family;
  uint8_t addr[16];
} st_dns_addr;

typedef struct st_dns {
  uint16_t id;
  uint8_t qr;    /* 0 query, 1 response */
  uint8_t rcode; /* responses */
  uint16_t qtype;
  uint16_t answers;    /* answer records in the message, of every type */
  uint8_t naddrs;      /* A/AAAA answers kept in addrs (at most ST_DNS_ADDRS_MAX) */
  uint8_t flags;       /* ST_DNS_* */
  uint32_t ttl;        /* responses: the smallest TTL of the answers kept, seconds */
  uint32_t latency_us; /* responses and unanswered queries: time since the query */
  st_dns_addr addrs[ST_DNS_ADDRS_MAX];
  char qname[ST_NAME_MAX];
  char cnames[ST_NAME_MAX]; /* the CNAME chain the answer followed, space-separated */
} st_dns;

#define ST_COMM_MAX 16
#define ST_DETAIL_MAX 128

/* The container an event came from (its cgroup resolved in user space):
 * only the parts known are non-empty. */
typedef struct st_container {
  char runtime[16]; /* "docker", "containerd", "cri-o", "podman", "nspawn", "systemd" */
  char id[72];      /* the runtime's id (64 hex digits), a machine's or a unit's name */
  char name[64];    /* the runtime's name for it */
  char pod[64];     /* Kubernetes: the pod's name ... */
  char ns[64];      /* ... and namespace */
} st_container;

typedef struct st_event {
  /* Common fields. */
  uint64_t ts_ns;   /* ns since the Unix epoch, UTC */
  uint8_t provider; /* st_provider */
  uint8_t level;
  uint8_t enter_exit;
  uint8_t os;      /* st_os */
  uint8_t backend; /* st_backend_kind */
  uint16_t id;
  uint64_t keywords;
  uint64_t seq;
  uint32_t pid, tid;
  char comm[ST_COMM_MAX];
  uint64_t endpoint;
  uint32_t has;   /* ST_HAS_* */
  uint32_t flags; /* ST_FLAG_* */

  /* Optional fields, valid when their ST_HAS_ bit is set. */
  uint8_t family, type;
  uint16_t protocol;
  st_addr local, remote;
  uint64_t bytes;
  uint32_t buffers;
  uint32_t backlog;
  st_status status;
  uint32_t reason;
  uint32_t option;
  uint64_t value;
  uint8_t old_state, new_state;
  uint16_t legacy_id;
  uint32_t ppid;
  uint32_t netns;
  uint64_t cgroup;
  uint64_t accept_endpoint;
  st_summary summary;
  st_lost lost;
  st_dns dns;
  char remote_name[ST_NAME_MAX]; /* ST_HAS_REMOTE_NAME */
  char detail[ST_DETAIL_MAX];
  st_container container; /* ST_HAS_CONTAINER */
} st_event;

/* Names. All return static strings; unknown values give NULL (or "unknown"
 * where stated). */
const char *st_event_name(uint8_t provider, uint16_t id);  /* NULL if unknown */
int st_event_default_level(uint8_t provider, uint16_t id); /* -1 if unknown */
/* Looks an event up by name (case-insensitive); returns 0 and fills
 * provider/id, or ST_ENOENT. */
int st_event_lookup(const char *name, uint8_t *provider, uint16_t *id);
const char *st_provider_name(uint8_t provider);    /* "afd", "catalog", "ext" */
int st_provider_lookup(const char *name);          /* -1 if unknown */
const char *st_os_name(uint8_t os);                /* "linux", ... */
int st_os_lookup(const char *name);                /* -1 if unknown */
const char *st_backend_kind_name(uint8_t backend); /* "ebpf", ... */
int st_backend_kind_lookup(const char *name);      /* -1 if unknown */
const char *st_family_name(uint8_t family);        /* "inet", "inet6", "unix" */
int st_family_lookup(const char *name);
const char *st_type_name(uint8_t type); /* "stream", "dgram", ... */
int st_type_lookup(const char *name);
/* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3, SOCK_SEQPACKET 5: the same
 * numbers on Linux and Windows. */
uint8_t st_type_from_socket_type(uint32_t type);
const char *st_protocol_name(uint16_t protocol);   /* "tcp", "udp", NULL if unknown */
int st_protocol_lookup(const char *name);          /* number, or -1 */
const char *st_enter_exit_name(uint8_t ee);        /* "enter", "exit", ... */
const char *st_tcp_state_name(uint8_t state);      /* "ESTABLISHED", ... */
const char *st_abort_reason_name(uint32_t reason); /* "transport_reset", ... */
const char *st_drop_reason_name(uint32_t reason);  /* datagram-drop reasons */
const char *st_lost_where_name(uint8_t where);
int st_lost_where_lookup(const char *name);

/* How text shows a container: its name, else its id's first 12 characters
 * (a 64-digit id) or its whole id; "" when it has neither. */
const char *st_container_label(const st_container *c, char *buf, size_t len);
/* True when s names the container: its name, its id, or a prefix of its id
 * of at least 4 characters (as docker ps shows it). */
bool st_container_matches(const st_container *c, const char *s);

/* Fills the common fields every event needs: provider, id, level (the
 * event's default), keywords 0, everything else zero. */
void st_event_init(st_event *ev, uint8_t provider, uint16_t id);

/* Formats an address as "1.2.3.4:80", "[::1]:80", "/path" or "@abstract".
 * Returns the length written (like snprintf). */
int st_addr_format(const st_addr *a, char *buf, size_t len);
/* The event's remote as st_addr_format has it, or, when a DNS answer named
 * it, "api.github.com[140.82.112.3]:443". */
int st_event_remote_format(const st_event *ev, char *buf, size_t len);
/* Formats just the address part ("1.2.3.4", "::1"); no port. */
int st_addr_format_ip(const st_addr *a, char *buf, size_t len);
/* Parses "1.2.3.4" / "::1" into a (port untouched). Returns 0 or ST_EINVAL. */
int st_addr_parse_ip(const char *s, st_addr *a);
/* True when a and b are the same IP (v4-mapped v6 equals its v4). */
bool st_addr_ip_equal(const st_addr *a, const st_addr *b);

#ifdef __cplusplus
}
#endif
#endif
