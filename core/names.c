/*
 * Names of everything in the schema: event ids, providers, families, TCP
 * states, reasons. Pure tables; the per-event path only indexes them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "socktrace/event.h"

typedef struct event_def {
  uint8_t provider;
  uint16_t id;
  uint8_t level;
  const char *name;
} event_def;

/* AFD ids and names follow the Windows 7+ manifest; levels the event model.
 * Send/receive families are Verbose (5); the backends raise a failed one to
 * Information (4). */
static const event_def event_defs[] = {
    {ST_PROVIDER_AFD, 1000, 4, "AfdCreate"},
    {ST_PROVIDER_AFD, 1001, 4, "AfdClose"},
    {ST_PROVIDER_AFD, 1002, 4, "AfdCleanup"},
    {ST_PROVIDER_AFD, 1003, 5, "AfdSend"},
    {ST_PROVIDER_AFD, 1004, 5, "AfdReceive"},
    {ST_PROVIDER_AFD, 1005, 5, "AfdSendTo"},
    {ST_PROVIDER_AFD, 1006, 5, "AfdReceiveFrom"},
    {ST_PROVIDER_AFD, 1007, 5, "AfdSendToWithAddress"},
    {ST_PROVIDER_AFD, 1008, 4, "AfdSendToWithAddressFailure"},
    {ST_PROVIDER_AFD, 1009, 5, "AfdReceiveFromWithAddress"},
    {ST_PROVIDER_AFD, 1010, 4, "AfdReceiveFromWithAddressFailure"},
    {ST_PROVIDER_AFD, 1011, 5, "AfdSendMessage"},
    {ST_PROVIDER_AFD, 1012, 5, "AfdReceiveMessage"},
    {ST_PROVIDER_AFD, 1013, 5, "AfdSendMessageWithAddress"},
    {ST_PROVIDER_AFD, 1014, 4, "AfdSendMessageWithAddressFailure"},
    {ST_PROVIDER_AFD, 1015, 5, "AfdReceiveMessageWithAddress"},
    {ST_PROVIDER_AFD, 1016, 4, "AfdReceiveMessageWithAddressFailure"},
    {ST_PROVIDER_AFD, 1017, 4, "AfdConnect"},
    {ST_PROVIDER_AFD, 1018, 4, "AfdConnectWithAddress"},
    {ST_PROVIDER_AFD, 1019, 4, "AfdConnectWithAddressFailure"},
    {ST_PROVIDER_AFD, 1020, 4, "AfdSuperConnect"},
    {ST_PROVIDER_AFD, 1021, 4, "AfdSuperConnectWithAddress"},
    {ST_PROVIDER_AFD, 1022, 4, "AfdSuperConnectWithAddressFailure"},
    {ST_PROVIDER_AFD, 1023, 4, "AfdAccept"},
    {ST_PROVIDER_AFD, 1024, 4, "AfdAcceptWithAddress"},
    {ST_PROVIDER_AFD, 1025, 4, "AfdAcceptWithAddressFailure"},
    {ST_PROVIDER_AFD, 1026, 4, "AfdSuperAccept"},
    {ST_PROVIDER_AFD, 1027, 4, "AfdSuperAcceptWithAddress"},
    {ST_PROVIDER_AFD, 1028, 4, "AfdSuperAcceptWithAddressFailure"},
    {ST_PROVIDER_AFD, 1029, 4, "AfdBind"},
    {ST_PROVIDER_AFD, 1030, 4, "AfdBindWithAddress"},
    {ST_PROVIDER_AFD, 1031, 4, "AfdBindWithAddressFailure"},
    {ST_PROVIDER_AFD, 1032, 2, "AfdAbort"},
    {ST_PROVIDER_AFD, 1033, 2, "AfdDatagramDropWithAddress"},
    {ST_PROVIDER_AFD, 1034, 2, "AfdDatagramDropWithAddressFailure"},
    {ST_PROVIDER_AFD, 1035, 5, "AfdOption"},
    {ST_PROVIDER_AFD, 1036, 4, "AfdTransmitFile"},
    {ST_PROVIDER_AFD, 1037, 4, "AfdListen"},
    {ST_PROVIDER_AFD, 3000, 5, "AfdConnectIndication"},
    {ST_PROVIDER_AFD, 3001, 5, "AfdConnectIndicationWithAddress"},
    {ST_PROVIDER_AFD, 3002, 5, "AfdConnectIndicationWithAddressFailure"},
    {ST_PROVIDER_AFD, 3003, 5, "AfdDataIndication"},
    {ST_PROVIDER_AFD, 3004, 5, "AfdDataIndicationWithAddress"},
    {ST_PROVIDER_AFD, 3005, 5, "AfdDataIndicationWithAddressFailure"},
    {ST_PROVIDER_AFD, 3006, 4, "AfdDisconnect"},
    {ST_PROVIDER_AFD, 3007, 5, "AfdSendBacklog"},
    {ST_PROVIDER_EXT, 5000, 5, "TcpStateChange"},
    {ST_PROVIDER_EXT, 5001, 4, "TcpRetransmit"},
    {ST_PROVIDER_EXT, 5002, 4, "TcpResetSent"},
    {ST_PROVIDER_EXT, 5003, 4, "KernelDrop"},
    {ST_PROVIDER_EXT, 5100, 4, "EndpointSummary"},
    {ST_PROVIDER_EXT, 5200, 4, "DnsMessage"},
    {ST_PROVIDER_EXT, 5800, 2, "DecodeError"},
    {ST_PROVIDER_EXT, 5900, 2, "EventsLost"},
    {ST_PROVIDER_EXT, 5901, 2, "SessionChange"},
    {ST_PROVIDER_CATALOG, 1, 4, "LspInstalled"},
    {ST_PROVIDER_CATALOG, 2, 4, "LspRemoved"},
    {ST_PROVIDER_CATALOG, 3, 4, "LspDisabled"},
    {ST_PROVIDER_CATALOG, 4, 4, "CatalogReset"},
    {ST_PROVIDER_CATALOG, 5, 4, "CatalogBypassed"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const event_def *find_def(uint8_t provider, uint16_t id) {
  /* AFD ids are dense from 1000 and 3000: index them directly. */
  if (provider == ST_PROVIDER_AFD) {
    if (id >= 1000 && id <= 1037)
      return &event_defs[id - 1000];
    if (id >= 3000 && id <= 3007)
      return &event_defs[38 + id - 3000];
    return NULL;
  }
  for (size_t i = 46; i < COUNT(event_defs); i++)
    if (event_defs[i].provider == provider && event_defs[i].id == id)
      return &event_defs[i];
  return NULL;
}

const char *st_event_name(uint8_t provider, uint16_t id) {
  const event_def *d = find_def(provider, id);
  return d ? d->name : NULL;
}

int st_event_default_level(uint8_t provider, uint16_t id) {
  const event_def *d = find_def(provider, id);
  return d ? d->level : -1;
}

int st_event_lookup(const char *name, uint8_t *provider, uint16_t *id) {
  for (size_t i = 0; i < COUNT(event_defs); i++) {
    if (strcasecmp(event_defs[i].name, name) == 0) {
      *provider = event_defs[i].provider;
      *id = event_defs[i].id;
      return 0;
    }
  }
  return ST_ENOENT;
}

void st_event_init(st_event *ev, uint8_t provider, uint16_t id) {
  memset(ev, 0, sizeof *ev);
  ev->provider = provider;
  ev->id = id;
  int level = st_event_default_level(provider, id);
  ev->level = level > 0 ? (uint8_t)level : ST_LEVEL_INFO;
}

void st_event_sink_lost(st_event *ev, uint8_t os, uint8_t backend, uint64_t count, uint64_t from_ns,
                        uint64_t to_ns) {
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  ev->ts_ns = to_ns;
  ev->os = os;
  ev->backend = backend;
  ev->keywords = ST_KW_LOSS;
  ev->has = ST_HAS_LOST;
  ev->lost.count = count;
  ev->lost.where = ST_LOST_SINK;
  ev->lost.from_ns = from_ns;
  ev->lost.to_ns = to_ns;
}

static const char *name_at(const char *const *names, size_t n, unsigned i) {
  return i < n ? names[i] : NULL;
}

static int index_of(const char *const *names, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (names[i] && strcasecmp(names[i], s) == 0)
      return (int)i;
  return -1;
}

static const char *const provider_names[] = {"afd", "catalog", "ext"};
static const char *const os_names[] = {"unknown", "linux", "windows", "macos", "wire"};
static const char *const backend_names[] = {"unknown", "ebpf",   "etw",   "preload",
                                            "pcap",    "replay", "ptrace"};
static const char *const family_names[] = {NULL, "inet", "inet6", "unix", "other"};
static const char *const type_names[] = {NULL, "stream", "dgram", "raw", "seqpacket", "other"};
static const char *const ee_names[] = {"enter", "exit", "internal", "transport", "afd"};
static const char *const tcp_state_names[] = {
    NULL,    "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
static const char *const lost_names[] = {NULL,   "kernel_ring", "etw_buffers",
                                         "sink", "queue",       "file"};

const char *st_provider_name(uint8_t p) {
  return name_at(provider_names, COUNT(provider_names), p);
}
int st_provider_lookup(const char *s) {
  return index_of(provider_names, COUNT(provider_names), s);
}
const char *st_os_name(uint8_t os) {
  const char *n = name_at(os_names, COUNT(os_names), os);
  return n ? n : "unknown";
}
int st_os_lookup(const char *s) {
  return index_of(os_names, COUNT(os_names), s);
}
const char *st_backend_kind_name(uint8_t b) {
  const char *n = name_at(backend_names, COUNT(backend_names), b);
  return n ? n : "unknown";
}
int st_backend_kind_lookup(const char *s) {
  return index_of(backend_names, COUNT(backend_names), s);
}
const char *st_family_name(uint8_t f) {
  return name_at(family_names, COUNT(family_names), f);
}
int st_family_lookup(const char *s) {
  if (strcasecmp(s, "ipv4") == 0 || strcmp(s, "4") == 0)
    return ST_FAMILY_INET;
  if (strcasecmp(s, "ipv6") == 0 || strcmp(s, "6") == 0)
    return ST_FAMILY_INET6;
  return index_of(family_names, COUNT(family_names), s);
}
const char *st_type_name(uint8_t t) {
  return name_at(type_names, COUNT(type_names), t);
}
int st_type_lookup(const char *s) {
  return index_of(type_names, COUNT(type_names), s);
}
uint8_t st_type_from_socket_type(uint32_t type) {
  switch (type) {
  case 1:
    return ST_TYPE_STREAM;
  case 2:
    return ST_TYPE_DGRAM;
  case 3:
    return ST_TYPE_RAW;
  case 5:
    return ST_TYPE_SEQPACKET;
  default:
    return ST_TYPE_OTHER;
  }
}

const char *st_enter_exit_name(uint8_t ee) {
  return name_at(ee_names, COUNT(ee_names), ee);
}
const char *st_tcp_state_name(uint8_t s) {
  return name_at(tcp_state_names, COUNT(tcp_state_names), s);
}
const char *st_lost_where_name(uint8_t w) {
  return name_at(lost_names, COUNT(lost_names), w);
}
int st_lost_where_lookup(const char *s) {
  return index_of(lost_names, COUNT(lost_names), s);
}

static const struct {
  uint16_t num;
  const char *name;
} protocols[] = {{0, "ip"},    {1, "icmp"},    {2, "igmp"},   {6, "tcp"},       {17, "udp"},
                 {41, "ipv6"}, {58, "icmpv6"}, {132, "sctp"}, {136, "udplite"}, {255, "raw"}};

const char *st_protocol_name(uint16_t p) {
  for (size_t i = 0; i < COUNT(protocols); i++)
    if (protocols[i].num == p)
      return protocols[i].name;
  return NULL;
}

int st_protocol_lookup(const char *s) {
  for (size_t i = 0; i < COUNT(protocols); i++)
    if (strcasecmp(protocols[i].name, s) == 0)
      return protocols[i].num;
  char *end;
  long v = strtol(s, &end, 10);
  if (*s && !*end && v >= 0 && v <= 65535)
    return (int)v;
  return -1;
}

const char *st_abort_reason_name(uint32_t r) {
  /* AFD_ABORT_* codes as AFD reports them in event 1032. */
  switch (r) {
  case 1:
    return "connection_terminated";
  case 2:
    return "local_abort";
  case 3:
    return "local_close";
  case 4:
    return "transport_reset";
  case 5:
    return "transport_disconnect";
  default:
    return NULL;
  }
}

const char *st_drop_reason_name(uint32_t r) {
  switch (r) {
  case 1:
    return "source_mismatch";
  case 2:
    return "no_buffer_space";
  case 3:
    return "allocation_failed";
  case 4:
    return "not_connected";
  case 5:
    return "too_large";
  default:
    return NULL;
  }
}
