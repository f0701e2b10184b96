/*
 * ETW decoder entry point and the Windows 7+ Winsock-AFD events (1000-1037,
 * 3000-3007). Layouts are the manifest templates as written down in
 * shared/spec/etw-formats.md: packed, little-endian, win:Pointer 4 or 8
 * bytes as the record header says. Dispatch is on Id (+ Version), never on
 * Opcode: real traces carry opcodes other than the manifest's.
 *
 * Every template is read through a bounds-checked cursor, and the payload
 * must be exactly as long as the template says (AddressLen included):
 * shorter or longer is a DecodeError, because a length that does not match
 * means the layout is not what we think it is.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "etw_decode_internal.h"

const uint8_t st_etw_afd_guid[16] = {0x23, 0x68, 0x3c, 0xe5, 0xb8, 0x7b, 0xbb, 0x44,
                                     0x90, 0xdc, 0x3f, 0x86, 0x09, 0x0d, 0x48, 0xa6};
const uint8_t st_etw_ws2help_guid[16] = {0x9a, 0x5f, 0xc2, 0xd5, 0x47, 0x4d, 0x3e, 0x49,
                                         0x91, 0x84, 0x40, 0xdd, 0x39, 0x7a, 0x00, 0x4d};

st_etw_providers st_etw_providers_for(uint64_t keywords) {
  st_etw_providers p = {false, 0, false, false};
  bool all = keywords == 0 || keywords == ST_KW_ALL;
  p.afd = all || (keywords & 0xff) != 0;
  p.afd_keywords = all ? 0 : keywords & 0xff;
  p.ws2help = all || (keywords & ST_KW_CATALOG) != 0;
  p.dns_client = all || (keywords & ST_KW_DNS) != 0;
  return p;
}

/* Windows address families as AFD reports them. */
#define WIN_AF_UNIX 1
#define WIN_AF_INET 2
#define WIN_AF_INET6 23

/* Locations of the inner events of one nested send() (etw-formats.md):
 * 3047 enter, 3056 inner enter, 3073 inner exit, 3051 exit, all with the
 * same length. Only the outer pair counts. */
static const uint32_t nested_send_locations[] = {3056, 3073};

/* Payload shapes of the Windows 7+ templates, after the common base
 * (EnterExit u32, Location u32, Process ptr, Endpoint ptr). */
typedef enum afd_shape {
  SH_NONE = 0,     /* not an AFD id this table knows */
  SH_CREATE,       /* 1000 */
  SH_STATUS,       /* Status */
  SH_BUFFERS,      /* BufferCount, Buffer, BufferLength, Status */
  SH_BUFFERS_ADDR, /* ... AddressLen, Address */
  SH_CONNECT_ADDR, /* Buffer, BufferLength, Status, AddressLen, Address */
  SH_ACCEPT_ADDR,  /* ... AcceptEndpoint, CurrentBacklog */
  SH_BIND_ADDR,    /* Status, AddressLen, Address */
  SH_ABORT,        /* Reason */
  SH_DROP_ADDR,    /* Buffer, BufferLength, AddressLen, Address, Reason */
  SH_OPTION,       /* Option, Value, Status */
  SH_LISTEN,       /* Backlog, Status */
  SH_CONNIND_ADDR, /* Status, AddressLen, Address, CurrentBacklog */
  SH_DATAIND,      /* Buffer, BufferLength */
  SH_DATAIND_ADDR, /* Buffer, BufferLength, AddressLen, Address */
  SH_SEND_BACKLOG, /* SendBacklog */
  SH_FAILURE,      /* *WithAddressFailure: the base, then Status when present */
} afd_shape;

static afd_shape shape_of(uint16_t id) {
  switch (id) {
  case 1000:
    return SH_CREATE;
  case 1001:
  case 1002:
  case 1017:
  case 1020:
  case 1023:
  case 1026:
  case 1029:
  case 1036:
  case 3000:
  case 3006:
    return SH_STATUS;
  case 1003:
  case 1004:
  case 1005:
  case 1006:
  case 1011:
  case 1012:
    return SH_BUFFERS;
  case 1007:
  case 1009:
  case 1013:
  case 1015:
    return SH_BUFFERS_ADDR;
  case 1018:
  case 1021:
    return SH_CONNECT_ADDR;
  case 1024:
  case 1027:
    return SH_ACCEPT_ADDR;
  case 1030:
    return SH_BIND_ADDR;
  case 1032:
    return SH_ABORT;
  case 1033:
    return SH_DROP_ADDR;
  case 1035:
    return SH_OPTION;
  case 1037:
    return SH_LISTEN;
  case 3001:
    return SH_CONNIND_ADDR;
  case 3003:
    return SH_DATAIND;
  case 3004:
    return SH_DATAIND_ADDR;
  case 3007:
    return SH_SEND_BACKLOG;
  case 1008:
  case 1010:
  case 1014:
  case 1016:
  case 1019:
  case 1022:
  case 1025:
  case 1028:
  case 1031:
  case 1034:
  case 3002:
  case 3005:
    return SH_FAILURE;
  default:
    return SH_NONE;
  }
}

static bool is_send_recv(uint16_t id) {
  return id >= ST_EV_SEND && id <= ST_EV_RECEIVEMSG_ADDR_FAIL;
}

static bool is_send(uint16_t id) {
  switch (id) {
  case ST_EV_SEND:
  case ST_EV_SENDTO:
  case ST_EV_SENDTO_ADDR:
  case ST_EV_SENDMSG:
  case ST_EV_SENDMSG_ADDR:
    return true;
  default:
    return false;
  }
}

/* AFD ids with no place in the schema: passed through by id and name. */
static const struct {
  uint16_t id;
  const char *name;
} extra_names[] = {
    {30, "AfdSelectPosted"},
    {31, "AfdSelectCompleted"},
    {32, "AfdEventSelect"},
    {4000, "AfdRioCreateRegistrationDomain"},
    {4001, "AfdRioCleanupRegistrationDomain"},
    {4002, "AfdRioCreateCq"},
    {4003, "AfdRioDestroyCq"},
    {4004, "AfdRioCleanupCq"},
    {4005, "AfdRioResizeCq"},
    {4006, "AfdRioCreateRqPair"},
    {4007, "AfdRioCloseRioState"},
    {4008, "AfdRioCleanupRioState"},
    {4009, "AfdRioResizeRqPair"},
    {4010, "AfdRioRegisterBuffer"},
    {4011, "AfdRioDeregisterBuffer"},
    {4012, "AfdRioCleanupBuffer"},
    {4013, "AfdRioValidateBufferId"},
    {4014, "AfdRioRangeCheck"},
    {4015, "AfdRioSendReceive"},
    {4016, "AfdNrtCreate"},
    {4017, "AfdNrtClose"},
    {4018, "AfdRioNotifyCq"},
    {4019, "AfdAcceptPause"},
    {4020, "AfdRioValidateBufferSharing"},
};

const char *st_etw_extra_event_name(uint16_t id) {
  for (size_t i = 0; i < sizeof extra_names / sizeof extra_names[0]; i++)
    if (extra_names[i].id == id)
      return extra_names[i].name;
  return NULL;
}

/* Reads a NUL-terminated UTF-16LE string into UTF-8 (truncated to out's
 * size). A string without its NUL inside the payload is a short read. */
void etw_read_utf16z(st_cursor *c, char *out, size_t outlen) {
  size_t o = 0;
  for (;;) {
    uint32_t u = st_cursor_le16(c);
    if (c->bad || u == 0)
      break;
    if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate needs its low half */
      size_t save = c->off;
      uint32_t lo = st_cursor_le16(c);
      if (!c->bad && lo >= 0xDC00 && lo <= 0xDFFF) {
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      } else {
        if (!c->bad)
          c->off = save;
        u = 0xFFFD;
      }
      if (c->bad)
        break;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      u = 0xFFFD;
    }
    uint8_t enc[4];
    size_t n;
    if (u < 0x80) {
      enc[0] = (uint8_t)u;
      n = 1;
    } else if (u < 0x800) {
      enc[0] = (uint8_t)(0xC0 | (u >> 6));
      enc[1] = (uint8_t)(0x80 | (u & 0x3F));
      n = 2;
    } else if (u < 0x10000) {
      enc[0] = (uint8_t)(0xE0 | (u >> 12));
      enc[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
      enc[2] = (uint8_t)(0x80 | (u & 0x3F));
      n = 3;
    } else {
      enc[0] = (uint8_t)(0xF0 | (u >> 18));
      enc[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
      enc[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
      enc[3] = (uint8_t)(0x80 | (u & 0x3F));
      n = 4;
    }
    if (outlen && o + n < outlen) {
      memcpy(out + o, enc, n);
      o += n;
    }
  }
  if (outlen)
    out[o] = 0;
}

void etw_common(const st_etw_record *rec, st_event *ev, uint8_t provider, uint16_t id) {
  st_event_init(ev, provider, id);
  ev->ts_ns = rec->ts_ns;
  ev->os = ST_OS_WINDOWS;
  ev->backend = ST_BACKEND_ETW;
  ev->pid = rec->pid;
  ev->tid = rec->tid;
  /* The header's level is the provider's truth; 0 (LogAlways) and values
   * past Verbose keep the schema's default. */
  if (rec->level >= ST_LEVEL_ERROR - 1 && rec->level <= ST_LEVEL_VERBOSE)
    ev->level = rec->level;
  /* The top 16 keyword bits are ETW's own (channels, event log). */
  ev->keywords = rec->keywords & 0x0000ffffffffffffULL;
}

static const char *record_name(const st_etw_record *rec, char *buf, size_t len) {
  const char *name = NULL;
  if (memcmp(rec->provider, st_etw_afd_guid, 16) == 0) {
    name = st_event_name(ST_PROVIDER_AFD, rec->id);
    if (!name)
      name = st_etw_extra_event_name(rec->id);
    snprintf(buf, len, "%s %u", name ? name : "AFD", rec->id);
  } else if (memcmp(rec->provider, st_etw_dns_client_guid, 16) == 0) {
    snprintf(buf, len, "DNS-Client %u", rec->id);
  } else {
    name = st_event_name(ST_PROVIDER_CATALOG, rec->id);
    snprintf(buf, len, "%s %u", name ? name : "WS2HELP", rec->id);
  }
  return buf;
}

void etw_format(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

int etw_fail(const st_etw_record *rec, st_event *ev, const char *fmt, ...) {
  st_event_init(ev, ST_PROVIDER_EXT, ST_EV_DECODE_ERROR);
  ev->ts_ns = rec->ts_ns;
  ev->os = ST_OS_WINDOWS;
  ev->backend = ST_BACKEND_ETW;
  ev->pid = rec->pid;
  ev->tid = rec->tid;
  ev->has = ST_HAS_DETAIL;
  char name[64], why[ST_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  etw_format(ev->detail, sizeof ev->detail, "%s v%u (%u-bit): %s",
             record_name(rec, name, sizeof name), rec->version, rec->pointer_size * 8u, why);
  return ST_EBADMSG;
}

int etw_finish(const st_etw_record *rec, st_cursor *c, st_event *ev, const char *what) {
  if (c->bad)
    return etw_fail(rec, ev, "%s payload is %zu bytes, the template needs %s%zu", what, c->len,
                    c->need == SIZE_MAX ? "more than " : "",
                    c->need == SIZE_MAX ? c->len : c->need);
  if (st_cursor_left(c))
    return etw_fail(rec, ev, "%s payload is %zu bytes, %zu more than the template's %zu", what,
                    c->len, st_cursor_left(c), c->off);
  return ST_ETW_DECODED;
}

void etw_set_status(st_event *ev, uint32_t ntstatus) {
  ev->status = st_status_from_ntstatus(ntstatus);
  ev->has |= ST_HAS_STATUS;
}

int st_etw_sockaddr(const uint8_t *p, size_t len, st_addr *out) {
  memset(out, 0, sizeof *out);
  if (len == 0)
    return 0;
  if (len < 2)
    return ST_EBADMSG;
  uint16_t family = st_le16(p);
  out->raw_family = family;
  switch (family) {
  case WIN_AF_INET:
    if (len < 8)
      return ST_EBADMSG;
    out->family = ST_FAMILY_INET;
    out->port = st_be16(p + 2);
    memcpy(out->addr, p + 4, 4);
    return 0;
  case WIN_AF_INET6:
    if (len < 24)
      return ST_EBADMSG;
    out->family = ST_FAMILY_INET6;
    out->port = st_be16(p + 2);
    memcpy(out->addr, p + 8, 16);
    return 0;
  case WIN_AF_UNIX: {
    out->family = ST_FAMILY_UNIX;
    const uint8_t *path = p + 2;
    size_t n = len - 2, o = 0, i = 0;
    if (n && path[0] == 0) { /* abstract name */
      out->path[o++] = '@';
      i = 1;
    }
    for (; i < n && path[i] && o < sizeof out->path - 1; i++)
      out->path[o++] = (char)path[i];
    out->path[o] = 0;
    return 0;
  }
  default:
    out->family = ST_FAMILY_OTHER;
    return 0;
  }
}

/* Reads AddressLen then the address into a; a bad blob fails the decode. */
static int read_address(const st_etw_record *rec, st_cursor *c, st_event *ev, st_addr *a,
                        uint32_t has_bit) {
  uint32_t alen = st_cursor_le32(c);
  const uint8_t *blob = st_cursor_take(c, alen);
  if (!blob)
    return 0; /* the short read is reported by etw_finish */
  if (st_etw_sockaddr(blob, alen, a) != 0)
    return etw_fail(rec, ev, "AddressLen %u is too short for address family %u", alen,
                    alen >= 2 ? (unsigned)st_le16(blob) : 0u);
  if (a->family != ST_FAMILY_NONE)
    ev->has |= has_bit;
  return 0;
}

uint8_t etw_family(uint32_t af) {
  switch (af) {
  case WIN_AF_INET:
    return ST_FAMILY_INET;
  case WIN_AF_INET6:
    return ST_FAMILY_INET6;
  case WIN_AF_UNIX:
    return ST_FAMILY_UNIX;
  default:
    return ST_FAMILY_OTHER;
  }
}

static void set_bytes(st_event *ev, uint32_t n) {
  ev->bytes = n;
  ev->has |= ST_HAS_BYTES;
}

static int decode_shape(const st_etw_record *rec, afd_shape shape, st_cursor *c, st_event *ev,
                        st_etw_info *info) {
  int rc = 0;
  switch (shape) {
  case SH_CREATE: {
    uint32_t af = st_cursor_le32(c), type = st_cursor_le32(c), proto = st_cursor_le32(c);
    info->process_id = etw_ptr(c, rec);
    info->has_process_id = !c->bad;
    etw_set_status(ev, st_cursor_le32(c));
    ev->family = etw_family(af);
    ev->type = st_type_from_socket_type(type);
    ev->protocol = (uint16_t)proto;
    ev->has |= ST_HAS_FAMILY | ST_HAS_TYPE | ST_HAS_PROTOCOL;
    if (ev->family == ST_FAMILY_OTHER) {
      etw_format(ev->detail, sizeof ev->detail, "address family %u", af);
      ev->has |= ST_HAS_DETAIL;
    }
    break;
  }
  case SH_STATUS:
    etw_set_status(ev, st_cursor_le32(c));
    break;
  case SH_BUFFERS:
  case SH_BUFFERS_ADDR:
    ev->buffers = st_cursor_le32(c);
    ev->has |= ST_HAS_BUFFERS;
    (void)etw_ptr(c, rec);
    set_bytes(ev, st_cursor_le32(c));
    etw_set_status(ev, st_cursor_le32(c));
    if (shape == SH_BUFFERS_ADDR)
      rc = read_address(rec, c, ev, &ev->remote, ST_HAS_REMOTE);
    break;
  case SH_CONNECT_ADDR:
  case SH_ACCEPT_ADDR: {
    (void)etw_ptr(c, rec);
    uint32_t n = st_cursor_le32(c);
    if (n) /* ConnectEx / AcceptEx data sent or received with the call */
      set_bytes(ev, n);
    etw_set_status(ev, st_cursor_le32(c));
    rc = read_address(rec, c, ev, &ev->remote, ST_HAS_REMOTE);
    if (shape == SH_ACCEPT_ADDR) {
      ev->accept_endpoint = etw_ptr(c, rec);
      ev->backlog = st_cursor_le32(c);
      ev->has |= ST_HAS_ACCEPT_EP | ST_HAS_BACKLOG;
    }
    break;
  }
  case SH_BIND_ADDR:
    etw_set_status(ev, st_cursor_le32(c));
    rc = read_address(rec, c, ev, &ev->local, ST_HAS_LOCAL);
    break;
  case SH_ABORT:
    ev->reason = st_cursor_le32(c);
    ev->has |= ST_HAS_REASON;
    break;
  case SH_DROP_ADDR:
    (void)etw_ptr(c, rec);
    set_bytes(ev, st_cursor_le32(c));
    rc = read_address(rec, c, ev, &ev->remote, ST_HAS_REMOTE);
    ev->reason = st_cursor_le32(c);
    ev->has |= ST_HAS_REASON;
    break;
  case SH_OPTION:
    ev->option = st_cursor_le32(c);
    ev->value = st_cursor_le32(c);
    ev->has |= ST_HAS_OPTION;
    etw_set_status(ev, st_cursor_le32(c));
    break;
  case SH_LISTEN:
    ev->backlog = st_cursor_le32(c);
    ev->has |= ST_HAS_BACKLOG;
    etw_set_status(ev, st_cursor_le32(c));
    break;
  case SH_CONNIND_ADDR:
    etw_set_status(ev, st_cursor_le32(c));
    rc = read_address(rec, c, ev, &ev->remote, ST_HAS_REMOTE);
    ev->backlog = st_cursor_le32(c);
    ev->has |= ST_HAS_BACKLOG;
    break;
  case SH_DATAIND:
  case SH_DATAIND_ADDR:
    (void)etw_ptr(c, rec);
    set_bytes(ev, st_cursor_le32(c));
    if (shape == SH_DATAIND_ADDR)
      rc = read_address(rec, c, ev, &ev->remote, ST_HAS_REMOTE);
    break;
  case SH_SEND_BACKLOG:
    ev->backlog = st_cursor_le32(c);
    ev->has |= ST_HAS_BACKLOG;
    break;
  case SH_FAILURE:
    if (st_cursor_left(c) == 4)
      etw_set_status(ev, st_cursor_le32(c));
    break;
  case SH_NONE:
    break;
  }
  return rc;
}

int etw_decode_afd(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                   st_etw_info *info) {
  st_cursor c;
  st_cursor_init(&c, data, len);
  afd_shape shape = shape_of(rec->id);
  etw_common(rec, ev, ST_PROVIDER_AFD, rec->id);
  if (shape == SH_NONE) {
    /* RIO, name resolution and ids this table does not know: the id and
     * the name, nothing read from a payload we have no template for. */
    const char *name = st_etw_extra_event_name(rec->id);
    etw_format(ev->detail, sizeof ev->detail, "%s (%zu bytes not decoded)",
               name ? name : "unknown AFD event", len);
    ev->has |= ST_HAS_DETAIL;
    return ST_ETW_DECODED;
  }
  if (rec->version != 0)
    return etw_fail(rec, ev, "version %u is not known to this decoder (it knows 0)", rec->version);

  ev->enter_exit = (uint8_t)st_cursor_le32(&c);
  uint32_t location = st_cursor_le32(&c);
  ev->seq = location;
  info->process = etw_ptr(&c, rec);
  info->raw_endpoint = etw_ptr(&c, rec);
  ev->endpoint = info->raw_endpoint;
  info->request_context = ev->enter_exit == ST_EE_ENTER;

  int rc = decode_shape(rec, shape, &c, ev, info);
  if (rc < 0)
    return rc;
  rc = etw_finish(rec, &c, ev, "");
  if (rc < 0)
    return rc;

  if (is_send(rec->id)) {
    for (size_t i = 0; i < sizeof nested_send_locations / sizeof nested_send_locations[0]; i++) {
      if (location != nested_send_locations[i])
        continue;
      /* Keep the event (Windows shows it) but count its bytes once: the
       * outer exit carries the request's total. */
      info->nested = true;
      ev->has &= ~(uint32_t)ST_HAS_BYTES;
      etw_format(ev->detail, sizeof ev->detail, "nested send, %" PRIu64 " bytes counted once",
                 ev->bytes);
      ev->has |= ST_HAS_DETAIL;
    }
  }
  /* A failed send or receive is Information, not Verbose (event-model.md). */
  if (is_send_recv(rec->id) && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_OK &&
      ev->status.code != ST_PENDING && ev->level > ST_LEVEL_INFO)
    ev->level = ST_LEVEL_INFO;
  return ST_ETW_DECODED;
}

int st_etw_decode(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev,
                  st_etw_info *info) {
  st_etw_info scratch;
  if (!info)
    info = &scratch;
  memset(info, 0, sizeof *info);
  if (!data)
    len = 0;
  if (memcmp(rec->provider, st_etw_ws2help_guid, 16) == 0)
    return etw_decode_ws2help(rec, data, len, ev);
  if (memcmp(rec->provider, st_etw_dns_client_guid, 16) == 0)
    return etw_decode_dns_client(rec, data, len, ev);
  if (memcmp(rec->provider, st_etw_afd_guid, 16) != 0)
    return ST_ETW_IGNORED;
  if (rec->pointer_size != 4 && rec->pointer_size != 8)
    return etw_fail(rec, ev, "pointer size %u (the header says neither 32 nor 64 bits)",
                    rec->pointer_size);
  if (rec->id >= 1 && rec->id <= 41)
    return etw_decode_afd_legacy(rec, data, len, ev, info);
  return etw_decode_afd(rec, data, len, ev, info);
}
