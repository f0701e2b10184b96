/*
 * Status mapping: Linux errno, Winsock errors and NTSTATUS to the portable
 * set, and back to names. The numbers are facts about each OS, written out
 * here (not taken from the host's headers) so a trace reads the same
 * everywhere. The first row of each code in each domain is its canonical
 * spelling.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "socktrace/status.h"

typedef struct native_row {
  uint8_t code;
  uint8_t domain;
  uint32_t value;
  const char *name;
} native_row;

#define E(c, v, n)                                                                                 \
  { c, ST_DOMAIN_ERRNO, v, n }
#define W(c, v, n)                                                                                 \
  { c, ST_DOMAIN_WINSOCK, v, n }
#define N(c, v, n)                                                                                 \
  { c, ST_DOMAIN_NTSTATUS, v, n }
#define D(c, v, n)                                                                                 \
  { c, ST_DOMAIN_DNS, v, n }
#define X(c, v, n)                                                                                 \
  { c, ST_DOMAIN_WIN32, v, n }

static const native_row rows[] = {
    /* Linux errno (asm-generic numbering, as on x86-64 and arm64). */
    E(ST_OK, 0, "OK"),
    E(ST_PENDING, 115, "EINPROGRESS"),
    E(ST_PENDING, 114, "EALREADY"),
    E(ST_WOULD_BLOCK, 11, "EAGAIN"),
    E(ST_REFUSED, 111, "ECONNREFUSED"),
    E(ST_RESET, 104, "ECONNRESET"),
    E(ST_RESET, 102, "ENETRESET"),
    E(ST_ABORTED, 103, "ECONNABORTED"),
    E(ST_TIMED_OUT, 110, "ETIMEDOUT"),
    E(ST_HOST_UNREACHABLE, 113, "EHOSTUNREACH"),
    E(ST_HOST_UNREACHABLE, 112, "EHOSTDOWN"),
    E(ST_NET_UNREACHABLE, 101, "ENETUNREACH"),
    E(ST_NET_UNREACHABLE, 100, "ENETDOWN"),
    E(ST_ADDR_IN_USE, 98, "EADDRINUSE"),
    E(ST_ADDR_NOT_AVAILABLE, 99, "EADDRNOTAVAIL"),
    E(ST_ACCESS_DENIED, 13, "EACCES"),
    E(ST_ACCESS_DENIED, 1, "EPERM"),
    E(ST_NOT_CONNECTED, 107, "ENOTCONN"),
    E(ST_NOT_CONNECTED, 89, "EDESTADDRREQ"),
    E(ST_SHUTDOWN, 32, "EPIPE"),
    E(ST_SHUTDOWN, 108, "ESHUTDOWN"),
    E(ST_MSG_SIZE, 90, "EMSGSIZE"),
    E(ST_NO_BUFFERS, 105, "ENOBUFS"),
    E(ST_NO_BUFFERS, 12, "ENOMEM"),
    E(ST_NO_BUFFERS, 24, "EMFILE"),
    E(ST_NO_BUFFERS, 23, "ENFILE"),
    E(ST_CANCELLED, 4, "EINTR"),
    E(ST_CANCELLED, 125, "ECANCELED"),
    E(ST_INVALID, 22, "EINVAL"),
    E(ST_INVALID, 9, "EBADF"),
    E(ST_INVALID, 88, "ENOTSOCK"),
    E(ST_INVALID, 97, "EAFNOSUPPORT"),
    E(ST_INVALID, 14, "EFAULT"),
    E(ST_INVALID, 106, "EISCONN"),
    E(ST_INVALID, 95, "EOPNOTSUPP"),
    E(ST_INVALID, 93, "EPROTONOSUPPORT"),
    E(ST_INVALID, 94, "ESOCKTNOSUPPORT"),
    E(ST_INVALID, 91, "EPROTOTYPE"),
    E(ST_INVALID, 92, "ENOPROTOOPT"),
    E(ST_INVALID, 96, "EPFNOSUPPORT"),
    E(ST_NOT_FOUND, 2, "ENOENT"),
    E(ST_OTHER, 5, "EIO"),
    E(ST_OTHER, 16, "EBUSY"),
    E(ST_OTHER, 17, "EEXIST"),
    E(ST_OTHER, 28, "ENOSPC"),
    E(ST_OTHER, 38, "ENOSYS"),
    E(ST_OTHER, 74, "EBADMSG"),
    E(ST_OTHER, 71, "EPROTO"),

    /* Winsock (winerror.h). WSAEWOULDBLOCK is would_block when it stands
     * alone; pending is its reading for a connect in progress. */
    W(ST_OK, 0, "NO_ERROR"),
    W(ST_PENDING, 997, "WSA_IO_PENDING"),
    W(ST_PENDING, 10036, "WSAEINPROGRESS"),
    W(ST_PENDING, 10037, "WSAEALREADY"),
    W(ST_WOULD_BLOCK, 10035, "WSAEWOULDBLOCK"),
    W(ST_REFUSED, 10061, "WSAECONNREFUSED"),
    W(ST_RESET, 10054, "WSAECONNRESET"),
    W(ST_RESET, 10052, "WSAENETRESET"),
    W(ST_ABORTED, 10053, "WSAECONNABORTED"),
    W(ST_TIMED_OUT, 10060, "WSAETIMEDOUT"),
    W(ST_HOST_UNREACHABLE, 10065, "WSAEHOSTUNREACH"),
    W(ST_HOST_UNREACHABLE, 10064, "WSAEHOSTDOWN"),
    W(ST_NET_UNREACHABLE, 10051, "WSAENETUNREACH"),
    W(ST_NET_UNREACHABLE, 10050, "WSAENETDOWN"),
    W(ST_ADDR_IN_USE, 10048, "WSAEADDRINUSE"),
    W(ST_ADDR_NOT_AVAILABLE, 10049, "WSAEADDRNOTAVAIL"),
    W(ST_ACCESS_DENIED, 10013, "WSAEACCES"),
    W(ST_NOT_CONNECTED, 10057, "WSAENOTCONN"),
    W(ST_NOT_CONNECTED, 10039, "WSAEDESTADDRREQ"),
    W(ST_SHUTDOWN, 10058, "WSAESHUTDOWN"),
    W(ST_MSG_SIZE, 10040, "WSAEMSGSIZE"),
    W(ST_NO_BUFFERS, 10055, "WSAENOBUFS"),
    W(ST_NO_BUFFERS, 10024, "WSAEMFILE"),
    W(ST_NO_BUFFERS, 8, "WSA_NOT_ENOUGH_MEMORY"),
    W(ST_CANCELLED, 10004, "WSAEINTR"),
    W(ST_CANCELLED, 995, "WSA_OPERATION_ABORTED"),
    W(ST_CANCELLED, 10103, "WSAECANCELLED"),
    W(ST_INVALID, 10022, "WSAEINVAL"),
    W(ST_INVALID, 10038, "WSAENOTSOCK"),
    W(ST_INVALID, 10047, "WSAEAFNOSUPPORT"),
    W(ST_INVALID, 10014, "WSAEFAULT"),
    W(ST_INVALID, 10009, "WSAEBADF"),
    W(ST_INVALID, 10056, "WSAEISCONN"),
    W(ST_INVALID, 10045, "WSAEOPNOTSUPP"),
    W(ST_INVALID, 10043, "WSAEPROTONOSUPPORT"),
    W(ST_INVALID, 10044, "WSAESOCKTNOSUPPORT"),
    W(ST_INVALID, 10041, "WSAEPROTOTYPE"),
    W(ST_INVALID, 10042, "WSAENOPROTOOPT"),
    W(ST_INVALID, 10046, "WSAEPFNOSUPPORT"),
    /* Winsock has no WSAE* code for a missing path; the Win32 errors that
     * name it are what a Windows program sees for one. */
    W(ST_NOT_FOUND, 2, "ERROR_FILE_NOT_FOUND"),
    W(ST_NOT_FOUND, 3, "ERROR_PATH_NOT_FOUND"),
    W(ST_OTHER, 10093, "WSANOTINITIALISED"),
    W(ST_OTHER, 10101, "WSAEDISCON"),

    /* NTSTATUS (ntstatus.h). */
    N(ST_OK, 0x00000000, "STATUS_SUCCESS"),
    N(ST_PENDING, 0x00000103, "STATUS_PENDING"),
    N(ST_WOULD_BLOCK, 0xC00000D8, "STATUS_CANT_WAIT"),
    N(ST_REFUSED, 0xC0000236, "STATUS_CONNECTION_REFUSED"),
    N(ST_REFUSED, 0xC000023F, "STATUS_PORT_UNREACHABLE"),
    N(ST_RESET, 0xC000020D, "STATUS_CONNECTION_RESET"),
    N(ST_RESET, 0xC000013C, "STATUS_REMOTE_DISCONNECT"),
    N(ST_RESET, 0xC000020C, "STATUS_CONNECTION_DISCONNECTED"),
    N(ST_ABORTED, 0xC0000241, "STATUS_CONNECTION_ABORTED"),
    N(ST_ABORTED, 0xC000013B, "STATUS_LOCAL_DISCONNECT"),
    N(ST_TIMED_OUT, 0xC00000B5, "STATUS_IO_TIMEOUT"),
    N(ST_HOST_UNREACHABLE, 0xC000023D, "STATUS_HOST_UNREACHABLE"),
    N(ST_HOST_UNREACHABLE, 0xC0000350, "STATUS_HOST_DOWN"),
    N(ST_NET_UNREACHABLE, 0xC000023C, "STATUS_NETWORK_UNREACHABLE"),
    N(ST_NET_UNREACHABLE, 0xC000023E, "STATUS_PROTOCOL_UNREACHABLE"),
    N(ST_ADDR_IN_USE, 0xC000020A, "STATUS_ADDRESS_ALREADY_EXISTS"),
    N(ST_ADDR_IN_USE, 0xC0000043, "STATUS_SHARING_VIOLATION"),
    N(ST_ADDR_NOT_AVAILABLE, 0xC0000207, "STATUS_INVALID_ADDRESS_COMPONENT"),
    N(ST_ADDR_NOT_AVAILABLE, 0xC0000141, "STATUS_INVALID_ADDRESS"),
    N(ST_ACCESS_DENIED, 0xC0000022, "STATUS_ACCESS_DENIED"),
    N(ST_NOT_CONNECTED, 0xC0000140, "STATUS_INVALID_CONNECTION"),
    N(ST_NOT_CONNECTED, 0xC000023A, "STATUS_CONNECTION_INVALID"),
    N(ST_SHUTDOWN, 0xC00000B0, "STATUS_PIPE_DISCONNECTED"),
    N(ST_MSG_SIZE, 0x80000005, "STATUS_BUFFER_OVERFLOW"),
    N(ST_NO_BUFFERS, 0xC000009A, "STATUS_INSUFFICIENT_RESOURCES"),
    N(ST_NO_BUFFERS, 0xC0000017, "STATUS_NO_MEMORY"),
    N(ST_CANCELLED, 0xC0000120, "STATUS_CANCELLED"),
    N(ST_INVALID, 0xC000000D, "STATUS_INVALID_PARAMETER"),
    N(ST_INVALID, 0xC0000008, "STATUS_INVALID_HANDLE"),
    N(ST_INVALID, 0xC00000BB, "STATUS_NOT_SUPPORTED"),
    N(ST_INVALID, 0xC0000024, "STATUS_OBJECT_TYPE_MISMATCH"),
    N(ST_NOT_FOUND, 0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND"),
    N(ST_NOT_FOUND, 0xC000003A, "STATUS_OBJECT_PATH_NOT_FOUND"),
    N(ST_OTHER, 0xC0000001, "STATUS_UNSUCCESSFUL"),
    N(ST_OTHER, 0xC0000023, "STATUS_BUFFER_TOO_SMALL"),

    /* DNS response codes (RFC 1035, 2136, 6895). */
    D(ST_OK, 0, "NOERROR"),
    D(ST_INVALID, 1, "FORMERR"),
    D(ST_SERVER_FAILURE, 2, "SERVFAIL"),
    D(ST_NOT_FOUND, 3, "NXDOMAIN"),
    D(ST_INVALID, 4, "NOTIMP"),
    D(ST_REFUSED, 5, "REFUSED"),
    D(ST_OTHER, 6, "YXDOMAIN"),
    D(ST_OTHER, 7, "YXRRSET"),
    D(ST_OTHER, 8, "NXRRSET"),
    D(ST_OTHER, 9, "NOTAUTH"),
    D(ST_OTHER, 10, "NOTZONE"),

    /* Windows system errors as the DNS client reports them (winerror.h):
     * DNS_ERROR_RCODE_* is 9000 + the response code. */
    X(ST_OK, 0, "ERROR_SUCCESS"),
    X(ST_NOT_FOUND, 9003, "DNS_ERROR_RCODE_NAME_ERROR"),
    X(ST_SERVER_FAILURE, 9002, "DNS_ERROR_RCODE_SERVER_FAILURE"),
    X(ST_REFUSED, 9005, "DNS_ERROR_RCODE_REFUSED"),
    X(ST_INVALID, 9001, "DNS_ERROR_RCODE_FORMAT_ERROR"),
    X(ST_INVALID, 9004, "DNS_ERROR_RCODE_NOT_IMPLEMENTED"),
    X(ST_TIMED_OUT, 1460, "ERROR_TIMEOUT"),
    X(ST_OK, 9501, "DNS_INFO_NO_RECORDS"), /* the name is there, without records of the type */
    X(ST_NOT_FOUND, 11001, "WSAHOST_NOT_FOUND"),
    X(ST_NOT_FOUND, 1168, "ERROR_NOT_FOUND"),
    X(ST_INVALID, 87, "ERROR_INVALID_PARAMETER"),
    X(ST_INVALID, 123, "ERROR_INVALID_NAME"),
    X(ST_INVALID, 9560, "DNS_ERROR_INVALID_NAME_CHAR"),
    X(ST_CANCELLED, 1223, "ERROR_CANCELLED"),
};

#define NROWS (sizeof rows / sizeof rows[0])

static const char *const code_names[ST_CODE_COUNT] = {"ok",
                                                      "pending",
                                                      "would_block",
                                                      "refused",
                                                      "reset",
                                                      "aborted",
                                                      "timed_out",
                                                      "host_unreachable",
                                                      "net_unreachable",
                                                      "addr_in_use",
                                                      "addr_not_available",
                                                      "access_denied",
                                                      "not_connected",
                                                      "shutdown",
                                                      "msg_size",
                                                      "no_buffers",
                                                      "cancelled",
                                                      "invalid",
                                                      "other",
                                                      "not_found",
                                                      "server_failure"};

static const native_row *find_value(uint8_t domain, uint32_t value) {
  for (size_t i = 0; i < NROWS; i++)
    if (rows[i].domain == domain && rows[i].value == value && rows[i].name)
      return &rows[i];
  return NULL;
}

static const native_row *find_canonical(uint8_t domain, st_code code) {
  if (code == ST_OTHER)
    return NULL; /* "other" has no one spelling: its native code speaks */
  for (size_t i = 0; i < NROWS; i++)
    if (rows[i].domain == domain && rows[i].code == code && rows[i].name)
      return &rows[i];
  return NULL;
}

st_status st_status_from_errno(int err) {
  uint32_t v = (uint32_t)(err < 0 ? -err : err);
  const native_row *r = find_value(ST_DOMAIN_ERRNO, v);
  st_status s = {r ? r->code : ST_OTHER, ST_DOMAIN_ERRNO, v};
  return s;
}

st_status st_status_from_winsock(int wsaerr) {
  uint32_t v = (uint32_t)wsaerr;
  const native_row *r = find_value(ST_DOMAIN_WINSOCK, v);
  st_status s = {r ? r->code : ST_OTHER, ST_DOMAIN_WINSOCK, v};
  return s;
}

st_status st_status_from_ntstatus(uint32_t nt) {
  const native_row *r = find_value(ST_DOMAIN_NTSTATUS, nt);
  uint8_t code;
  if (r)
    code = r->code;
  else /* Unlisted success and informational codes (severity 0 or 1) are ok. */
    code = (nt >> 31) == 0 ? ST_OK : ST_OTHER;
  st_status s = {code, ST_DOMAIN_NTSTATUS, nt};
  return s;
}

st_status st_status_from_dns_rcode(uint8_t rcode) {
  const native_row *r = find_value(ST_DOMAIN_DNS, rcode);
  st_status s = {r ? r->code : ST_OTHER, ST_DOMAIN_DNS, rcode};
  return s;
}

st_status st_status_from_win32(uint32_t err) {
  const native_row *r = find_value(ST_DOMAIN_WIN32, err);
  st_status s = {r ? r->code : ST_OTHER, ST_DOMAIN_WIN32, err};
  return s;
}

st_status st_status_portable(st_code code) {
  st_status s = {(uint8_t)code, ST_DOMAIN_NONE, 0};
  return s;
}

const char *st_code_name(st_code code) {
  return (unsigned)code < ST_CODE_COUNT ? code_names[code] : "other";
}

int st_code_lookup(const char *name) {
  for (int i = 0; i < ST_CODE_COUNT; i++)
    if (strcasecmp(code_names[i], name) == 0)
      return i;
  return -1;
}

const char *st_errno_name(int err) {
  const native_row *r = find_value(ST_DOMAIN_ERRNO, (uint32_t)(err < 0 ? -err : err));
  return r ? r->name : NULL;
}

int st_errno_lookup(const char *name) {
  for (size_t i = 0; i < NROWS; i++)
    if (rows[i].domain == ST_DOMAIN_ERRNO && rows[i].name && strcmp(rows[i].name, name) == 0)
      return (int)rows[i].value;
  return -1;
}

const char *st_winsock_name(int wsaerr) {
  const native_row *r = find_value(ST_DOMAIN_WINSOCK, (uint32_t)wsaerr);
  return r ? r->name : NULL;
}

const char *st_ntstatus_name(uint32_t nt) {
  const native_row *r = find_value(ST_DOMAIN_NTSTATUS, nt);
  return r ? r->name : NULL;
}

uint32_t st_ntstatus_lookup(const char *name, int *found) {
  for (size_t i = 0; i < NROWS; i++) {
    if (rows[i].domain == ST_DOMAIN_NTSTATUS && rows[i].name && strcmp(rows[i].name, name) == 0) {
      *found = 1;
      return rows[i].value;
    }
  }
  *found = 0;
  return 0;
}

const char *st_code_errno_name(st_code code) {
  const native_row *r = find_canonical(ST_DOMAIN_ERRNO, code);
  return r ? r->name : NULL;
}

const char *st_code_winsock_name(st_code code) {
  /* A connect in progress is WSAEWOULDBLOCK to a Winsock programmer. */
  if (code == ST_PENDING)
    return "WSAEWOULDBLOCK";
  const native_row *r = find_canonical(ST_DOMAIN_WINSOCK, code);
  return r ? r->name : NULL;
}

const char *st_code_ntstatus_name(st_code code) {
  const native_row *r = find_canonical(ST_DOMAIN_NTSTATUS, code);
  return r ? r->name : NULL;
}

int st_code_winsock_value(st_code code) {
  if (code == ST_PENDING)
    return 10035;
  const native_row *r = find_canonical(ST_DOMAIN_WINSOCK, code);
  return r ? (int)r->value : 0;
}

const char *st_status_native_name(const st_status *s) {
  const native_row *r = NULL;
  if (s->domain != ST_DOMAIN_NONE)
    r = find_value(s->domain, s->native);
  if (r)
    return r->name;
  switch (s->domain) {
  case ST_DOMAIN_ERRNO:
    return st_code_errno_name((st_code)s->code);
  case ST_DOMAIN_WINSOCK:
    return st_code_winsock_name((st_code)s->code);
  case ST_DOMAIN_NTSTATUS:
    return st_code_ntstatus_name((st_code)s->code);
  default:
    return NULL;
  }
}

const char *st_status_windows_name(const st_status *s) {
  if (s->domain == ST_DOMAIN_WINSOCK || s->domain == ST_DOMAIN_WIN32) {
    const native_row *r = find_value(s->domain, s->native);
    if (r)
      return r->name;
  }
  if (s->domain == ST_DOMAIN_DNS && s->native) {
    /* What the Windows DNS client reports for this response code. */
    const native_row *r = find_value(ST_DOMAIN_WIN32, 9000 + s->native);
    if (r)
      return r->name;
  }
  return st_code_winsock_name((st_code)s->code);
}

int st_status_format(const st_status *s, char *buf, size_t len) {
  const char *code = st_code_name((st_code)s->code);
  if (s->code == ST_OK)
    return snprintf(buf, len, "ok");
  const char *native = NULL;
  if (s->domain != ST_DOMAIN_NONE) {
    const native_row *r = find_value(s->domain, s->native);
    native = r ? r->name : NULL;
  }
  const char *win = st_status_windows_name(s);
  char numbuf[24];
  if (!native && s->domain != ST_DOMAIN_NONE) {
    snprintf(numbuf, sizeof numbuf, s->domain == ST_DOMAIN_NTSTATUS ? "0x%08X" : "%u", s->native);
    native = numbuf;
  }
  if (native && win && strcmp(native, win) != 0)
    return snprintf(buf, len, "%s (%s / %s)", code, native, win);
  if (native)
    return snprintf(buf, len, "%s (%s)", code, native);
  if (win)
    return snprintf(buf, len, "%s (%s)", code, win);
  return snprintf(buf, len, "%s", code);
}
