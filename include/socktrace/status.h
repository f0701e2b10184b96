/*
 * Status codes: the portable set that lets a Linux refusal and a Windows
 * refusal compare equal, the native code each came from, and socktrace's own
 * error returns (negative ints, as libuv does).
 *
 * The mapping tables are data about Linux and Windows, hard-coded so that a
 * trace recorded on one OS reads the same on the other: never include
 * <errno.h> values here, they differ between platforms.
 */
#ifndef SOCKTRACE_STATUS_H
#define SOCKTRACE_STATUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Portable status names (event-model.md §2). */
typedef enum st_code {
  ST_OK = 0,
  ST_PENDING,
  ST_WOULD_BLOCK,
  ST_REFUSED,
  ST_RESET,
  ST_ABORTED,
  ST_TIMED_OUT,
  ST_HOST_UNREACHABLE,
  ST_NET_UNREACHABLE,
  ST_ADDR_IN_USE,
  ST_ADDR_NOT_AVAILABLE,
  ST_ACCESS_DENIED,
  ST_NOT_CONNECTED,
  ST_SHUTDOWN,
  ST_MSG_SIZE,
  ST_NO_BUFFERS,
  ST_CANCELLED,
  ST_INVALID,
  ST_OTHER,
  /* Codes added later come after ST_OTHER: .sktrace files store the number,
   * so the numbers above never change. */
  ST_NOT_FOUND, /* no such path: a UNIX-socket connect to a file that is not there */
  ST_CODE_COUNT
} st_code;

/* What kind of native number a status carries. */
typedef enum st_status_domain {
  ST_DOMAIN_NONE = 0,     /* portable only (e.g. derived from packets) */
  ST_DOMAIN_ERRNO = 1,    /* Linux errno, positive */
  ST_DOMAIN_NTSTATUS = 2, /* Windows NTSTATUS */
  ST_DOMAIN_WINSOCK = 3,  /* Winsock error (WSAE...) */
} st_status_domain;

typedef struct st_status {
  uint8_t code;   /* st_code */
  uint8_t domain; /* st_status_domain */
  uint32_t native;
} st_status;

/* Builders: a Linux errno (sign ignored, 0 = ok), an NTSTATUS, a Winsock
 * error (0 = ok). */
st_status st_status_from_errno(int err);
st_status st_status_from_ntstatus(uint32_t ntstatus);
st_status st_status_from_winsock(int wsaerr);
st_status st_status_portable(st_code code);

const char *st_code_name(st_code code); /* "refused" */
int st_code_lookup(const char *name);   /* -1 if unknown */

/* Names of native codes; NULL when the table does not know the number. */
const char *st_errno_name(int err);        /* 111 -> "ECONNREFUSED" */
int st_errno_lookup(const char *name);     /* "ECONNREFUSED" -> 111, -1 */
const char *st_winsock_name(int wsaerr);   /* 10061 -> "WSAECONNREFUSED" */
const char *st_ntstatus_name(uint32_t nt); /* 0xC0000236 -> "STATUS_CONNECTION_REFUSED" */
uint32_t st_ntstatus_lookup(const char *name, int *found);

/* The canonical spellings of a portable code on each OS: the first errno
 * name / Winsock name / NTSTATUS name of its table row. */
const char *st_code_errno_name(st_code code);
const char *st_code_winsock_name(st_code code);
const char *st_code_ntstatus_name(st_code code);
int st_code_winsock_value(st_code code); /* 10061 for refused; 0 for ok */

/* The native name of a status (its own domain's spelling); falls back to
 * the canonical name of its code. */
const char *st_status_native_name(const st_status *s);
/* The Windows (Winsock) spelling of a status. */
const char *st_status_windows_name(const st_status *s);
/* "refused (ECONNREFUSED / WSAECONNREFUSED)"; "ok" for success. */
int st_status_format(const st_status *s, char *buf, size_t len);

/* socktrace's own error returns: negative ints. */
enum {
  ST_EINVAL = -22,
  ST_ENOMEM = -12,
  ST_ENOENT = -2,
  ST_EIO = -5,
  ST_EPERM = -1,
  ST_ENOSYS = -38,
  ST_EBUSY = -16,
  ST_ENOSPC = -28,
  ST_EBADMSG = -74,
  ST_EEXIST = -17,
};
const char *st_strerror(int err); /* for ST_E* and negated errno values */

#ifdef __cplusplus
}
#endif
#endif
