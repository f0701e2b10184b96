/*
 * The Vista-era Winsock-AFD events (ids 1-41, still declared on Windows 11),
 * mapped onto the Windows 7+ ids so a trace reads the same whatever AFD
 * wrote; the original id stays in legacy_id. These templates have no
 * EnterExit or Location: the mapping supplies the EnterExit that the modern
 * twin would carry.
 *
 * Layouts: Process and Endpoint are win:Pointer; IPv4 Address is a u32 in
 * network order, IPv6 a 16-byte IN6_ADDR, Port a u16 in network order;
 * FastPath is a 4-byte win:Boolean (etw-formats.md). The IPv4 and IPv6
 * twins differ only in the address width.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "etw_decode_internal.h"

/* Field kinds, in template order. */
enum {
  F_END = 0,
  F_PROCESS,   /* ptr */
  F_ENDPOINT,  /* ptr */
  F_FAMILY,    /* u32 */
  F_TYPE,      /* u32 */
  F_PROTOCOL,  /* u32 */
  F_USER_PID,  /* ptr */
  F_IPV4,      /* 4 bytes, network order */
  F_IPV6,      /* 16 bytes */
  F_PORT,      /* u16, network order */
  F_STATUS,    /* u32 NTSTATUS */
  F_REASON,    /* u32 */
  F_FAST_PATH, /* u32 Boolean */
  F_BUF_COUNT, /* u32 */
  F_BUFFER,    /* ptr */
  F_LENGTH,    /* u32: bytes */
  F_OPTION,    /* u32 */
  F_VALUE,     /* u32 */
  F_HANDLES,   /* u32 */
  F_TIMEOUT,   /* u32 */
  F_MASK,      /* u32 */
};

#define MAX_FIELDS 8

typedef struct legacy_def {
  uint16_t modern; /* the Windows 7+ id; equal to the legacy id when there is no twin */
  uint8_t enter_exit;
  bool local;   /* the address is the local one (bind) */
  bool request; /* written in the calling thread of the request */
  uint8_t fields[MAX_FIELDS];
} legacy_def;

#define P F_PROCESS, F_ENDPOINT
static const legacy_def defs[42] = {
    [1] = {1000, ST_EE_EXIT, false, true, {P, F_FAMILY, F_TYPE, F_PROTOCOL, F_USER_PID}},
    [2] = {1030, ST_EE_EXIT, true, false, {P, F_IPV4, F_PORT, F_STATUS}},
    [3] = {1030, ST_EE_EXIT, true, false, {P, F_IPV6, F_PORT, F_STATUS}},
    [4] = {1018, ST_EE_ENTER, false, true, {P, F_IPV4, F_PORT}},
    [5] = {1018, ST_EE_ENTER, false, true, {P, F_IPV6, F_PORT}},
    [6] = {1017, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [7] = {1032, ST_EE_INTERNAL, false, false, {P, F_REASON}},
    [8] = {1032, ST_EE_TRANSPORT, false, false, {P, F_REASON}},
    [9] = {1003, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [10] = {1011, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [11] = {1004, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [12] = {1006, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [13] = {1001, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [14] = {1002, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [15] = {1024, ST_EE_EXIT, false, false, {P, F_IPV4, F_PORT, F_STATUS}},
    [16] = {1024, ST_EE_EXIT, false, false, {P, F_IPV6, F_PORT, F_STATUS}},
    [17] = {1023, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [18] = {1003, ST_EE_ENTER, false, true, {P, F_FAST_PATH, F_BUF_COUNT, F_BUFFER, F_LENGTH}},
    [19] = {1004, ST_EE_ENTER, false, true, {P, F_FAST_PATH, F_BUF_COUNT, F_BUFFER, F_LENGTH}},
    [20] = {1006, ST_EE_ENTER, false, true, {P, F_FAST_PATH, F_BUF_COUNT, F_BUFFER, F_LENGTH}},
    [21] = {1007,
            ST_EE_ENTER,
            false,
            true,
            {P, F_FAST_PATH, F_BUF_COUNT, F_BUFFER, F_LENGTH, F_IPV4, F_PORT}},
    [22] = {1007,
            ST_EE_ENTER,
            false,
            true,
            {P, F_FAST_PATH, F_BUF_COUNT, F_BUFFER, F_LENGTH, F_IPV6, F_PORT}},
    [23] = {1004, ST_EE_EXIT, false, false, {P, F_BUFFER, F_LENGTH}},
    [24] = {1003, ST_EE_EXIT, false, false, {P, F_BUFFER, F_LENGTH}},
    [25] = {1011, ST_EE_EXIT, false, false, {P, F_BUFFER, F_LENGTH}},
    [26] = {1009, ST_EE_EXIT, false, false, {P, F_BUF_COUNT, F_BUFFER, F_LENGTH, F_IPV4, F_PORT}},
    [27] = {1009, ST_EE_EXIT, false, false, {P, F_BUF_COUNT, F_BUFFER, F_LENGTH, F_IPV6, F_PORT}},
    [28] = {1005, ST_EE_EXIT, false, false, {P, F_BUFFER, F_LENGTH}},
    [29] = {1035, ST_EE_AFD, false, false, {P, F_OPTION, F_VALUE}},
    [30] = {30, ST_EE_ENTER, false, true, {F_PROCESS, F_HANDLES, F_TIMEOUT}},
    [31] = {31, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [32] = {32, ST_EE_ENTER, false, true, {P, F_MASK}},
    [33] = {1033, ST_EE_TRANSPORT, false, false, {P, F_LENGTH, F_IPV4, F_PORT, F_REASON}},
    [34] = {1033, ST_EE_TRANSPORT, false, false, {P, F_LENGTH, F_IPV6, F_PORT, F_REASON}},
    [35] = {3001, ST_EE_TRANSPORT, false, false, {P, F_IPV4, F_PORT}},
    [36] = {3001, ST_EE_TRANSPORT, false, false, {P, F_IPV6, F_PORT}},
    [37] = {3003, ST_EE_TRANSPORT, false, false, {P, F_LENGTH}},
    [38] = {3004, ST_EE_TRANSPORT, false, false, {P, F_IPV4, F_PORT, F_LENGTH}},
    [39] = {3004, ST_EE_TRANSPORT, false, false, {P, F_IPV6, F_PORT, F_LENGTH}},
    [40] = {1029, ST_EE_EXIT, false, false, {P, F_STATUS}},
    [41] = {3006, ST_EE_TRANSPORT, false, false, {P}},
};
#undef P

static void detail_append(st_event *ev, const char *fmt, uint64_t v) {
  size_t n = strlen(ev->detail);
  if (n >= sizeof ev->detail - 1)
    return;
  snprintf(ev->detail + n, sizeof ev->detail - n, fmt, n ? " " : "", v);
  ev->has |= ST_HAS_DETAIL;
}

int etw_decode_afd_legacy(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                          st_etw_info *info) {
  const legacy_def *d = &defs[rec->id];
  st_cursor c;
  st_cursor_init(&c, data, len);
  etw_common(rec, ev, ST_PROVIDER_AFD, d->modern);
  ev->legacy_id = rec->id;
  ev->has |= ST_HAS_LEGACY_ID;
  if (rec->version != 0)
    return etw_fail(rec, ev, "version %u is not known to this decoder (it knows 0)", rec->version);
  ev->enter_exit = d->enter_exit;
  info->request_context = d->request;
  if (d->modern == rec->id) {
    const char *name = st_etw_extra_event_name(rec->id);
    etw_format(ev->detail, sizeof ev->detail, "%s", name ? name : "");
    ev->has |= ST_HAS_DETAIL;
  }

  st_addr *addr = d->local ? &ev->local : &ev->remote;
  bool have_ip = false;
  for (int i = 0; i < MAX_FIELDS && d->fields[i] != F_END; i++) {
    const uint8_t *p;
    switch (d->fields[i]) {
    case F_PROCESS:
      info->process = etw_ptr(&c, rec);
      break;
    case F_ENDPOINT:
      info->raw_endpoint = etw_ptr(&c, rec);
      ev->endpoint = info->raw_endpoint;
      break;
    case F_FAMILY:
      ev->family = etw_family(st_cursor_le32(&c));
      ev->has |= ST_HAS_FAMILY;
      break;
    case F_TYPE:
      ev->type = st_type_from_socket_type(st_cursor_le32(&c));
      ev->has |= ST_HAS_TYPE;
      break;
    case F_PROTOCOL:
      ev->protocol = (uint16_t)st_cursor_le32(&c);
      ev->has |= ST_HAS_PROTOCOL;
      break;
    case F_USER_PID:
      info->process_id = etw_ptr(&c, rec);
      info->has_process_id = !c.bad;
      break;
    case F_IPV4:
    case F_IPV6:
      p = st_cursor_take(&c, d->fields[i] == F_IPV4 ? 4 : 16);
      if (p) {
        addr->family = d->fields[i] == F_IPV4 ? ST_FAMILY_INET : ST_FAMILY_INET6;
        addr->raw_family = d->fields[i] == F_IPV4 ? 2 : 23;
        memcpy(addr->addr, p, d->fields[i] == F_IPV4 ? 4 : 16);
        have_ip = true;
      }
      break;
    case F_PORT:
      addr->port = st_cursor_be16(&c);
      break;
    case F_STATUS:
      etw_set_status(ev, st_cursor_le32(&c));
      break;
    case F_REASON:
      ev->reason = st_cursor_le32(&c);
      ev->has |= ST_HAS_REASON;
      break;
    case F_FAST_PATH:
      if (st_cursor_le32(&c))
        detail_append(ev, "%sfast_path", 0);
      break;
    case F_BUF_COUNT:
      ev->buffers = st_cursor_le32(&c);
      ev->has |= ST_HAS_BUFFERS;
      break;
    case F_BUFFER:
      (void)etw_ptr(&c, rec);
      break;
    case F_LENGTH:
      ev->bytes = st_cursor_le32(&c);
      ev->has |= ST_HAS_BYTES;
      break;
    case F_OPTION:
      ev->option = st_cursor_le32(&c);
      ev->has |= ST_HAS_OPTION;
      break;
    case F_VALUE:
      ev->value = st_cursor_le32(&c);
      break;
    case F_HANDLES:
      detail_append(ev, "%shandles=%" PRIu64, st_cursor_le32(&c));
      break;
    case F_TIMEOUT:
      detail_append(ev, "%stimeout=%" PRIu64, st_cursor_le32(&c));
      break;
    case F_MASK:
      detail_append(ev, "%smask=0x%" PRIx64, st_cursor_le32(&c));
      break;
    }
  }
  if (have_ip)
    ev->has |= d->local ? ST_HAS_LOCAL : ST_HAS_REMOTE;
  int rc = etw_finish(rec, &c, ev, "Vista-era");
  if (rc < 0) {
    ev->legacy_id = rec->id;
    ev->has |= ST_HAS_LEGACY_ID;
  }
  return rc;
}
