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
  ST_NOT_FOUND,      /* no such path, or no such name (DNS NXDOMAIN) */
  ST_SERVER_FAILURE, /* a server could not answer (DNS SERVFAIL) */
  ST_CODE_COUNT
} st_code;

/* What kind of native number a status carries. */
typedef enum st_status_domain {
  ST_DOMAIN_NONE = 0,     /* portable only (e.g. derived from packets) */
  ST_DOMAIN_ERRNO = 1,    /* Linux errno, positive */
  ST_DOMAIN_NTSTATUS = 2, /* Windows NTSTATUS */
  ST_DOMAIN_WINSOCK = 3,  /* Winsock error (WSAE...) */
  ST_DOMAIN_DNS = 4,      /* DNS response code (RFC 1035: 3 NXDOMAIN) */
  ST_DOMAIN_WIN32 = 5,    /* Windows system error (DNS_ERROR_RCODE_NAME_ERROR 9003) */
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
/* A DNS response code (0 = ok) and a Windows system error, such as the
 * DNS client's QueryStatus (0 = ok). */
st_status st_status_from_dns_rcode(uint8_t rcode);
st_status st_status_from_win32(uint32_t err);

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

/* socktrace's own error returns: negative ints, as libuv's are. Each row is
 * XX(name, value, words): the value is the negated Linux errno of that name
 * (written out, not taken from <errno.h>, like the tables above), so a
 * negated errno from a Linux system call or from libuv on Unix is already
 * one of these codes. The classic values (below 35) are the same in every C
 * library, the Windows one included. libuv.h's UV_ERRNO_MAP is the model. */
#define ST_ERRNO_MAP(XX)                                                                           \
  XX(EPERM, -1, "operation not permitted")                                                         \
  XX(ENOENT, -2, "no such file or directory")                                                      \
  XX(ESRCH, -3, "no such process")                                                                 \
  XX(EINTR, -4, "interrupted system call")                                                         \
  XX(EIO, -5, "input/output error")                                                                \
  XX(ENXIO, -6, "no such device or address")                                                       \
  XX(E2BIG, -7, "argument list too long")                                                          \
  XX(ENOEXEC, -8, "exec format error")                                                             \
  XX(EBADF, -9, "bad file descriptor")                                                             \
  XX(ECHILD, -10, "no child processes")                                                            \
  XX(EAGAIN, -11, "resource temporarily unavailable")                                              \
  XX(ENOMEM, -12, "out of memory")                                                                 \
  XX(EACCES, -13, "permission denied")                                                             \
  XX(EFAULT, -14, "bad address in system call argument")                                           \
  XX(ENOTBLK, -15, "block device required")                                                        \
  XX(EBUSY, -16, "busy")                                                                           \
  XX(EEXIST, -17, "already exists")                                                                \
  XX(EXDEV, -18, "cross-device link not permitted")                                                \
  XX(ENODEV, -19, "no such device")                                                                \
  XX(ENOTDIR, -20, "not a directory")                                                              \
  XX(EISDIR, -21, "illegal operation on a directory")                                              \
  XX(EINVAL, -22, "invalid argument")                                                              \
  XX(ENFILE, -23, "file table overflow")                                                           \
  XX(EMFILE, -24, "too many open files")                                                           \
  XX(ENOTTY, -25, "inappropriate ioctl for device")                                                \
  XX(ETXTBSY, -26, "text file is busy")                                                            \
  XX(EFBIG, -27, "file too large")                                                                 \
  XX(ENOSPC, -28, "no space left on device")                                                       \
  XX(ESPIPE, -29, "invalid seek")                                                                  \
  XX(EROFS, -30, "read-only file system")                                                          \
  XX(EMLINK, -31, "too many links")                                                                \
  XX(EPIPE, -32, "broken pipe")                                                                    \
  XX(EDOM, -33, "numerical argument out of domain")                                                \
  XX(ERANGE, -34, "result too large")                                                              \
  XX(EDEADLK, -35, "resource deadlock avoided")                                                    \
  XX(ENAMETOOLONG, -36, "name too long")                                                           \
  XX(ENOLCK, -37, "no locks available")                                                            \
  XX(ENOSYS, -38, "not supported on this system")                                                  \
  XX(ENOTEMPTY, -39, "directory not empty")                                                        \
  XX(ELOOP, -40, "too many symbolic links encountered")                                            \
  XX(ENOMSG, -42, "no message of desired type")                                                    \
  XX(EIDRM, -43, "identifier removed")                                                             \
  XX(ECHRNG, -44, "channel number out of range")                                                   \
  XX(EL2NSYNC, -45, "level 2 not synchronized")                                                    \
  XX(EL3HLT, -46, "level 3 halted")                                                                \
  XX(EL3RST, -47, "level 3 reset")                                                                 \
  XX(ELNRNG, -48, "link number out of range")                                                      \
  XX(EUNATCH, -49, "protocol driver not attached")                                                 \
  XX(ENOCSI, -50, "no CSI structure available")                                                    \
  XX(EL2HLT, -51, "level 2 halted")                                                                \
  XX(EBADE, -52, "invalid exchange")                                                               \
  XX(EBADR, -53, "invalid request descriptor")                                                     \
  XX(EXFULL, -54, "exchange full")                                                                 \
  XX(ENOANO, -55, "no anode")                                                                      \
  XX(EBADRQC, -56, "invalid request code")                                                         \
  XX(EBADSLT, -57, "invalid slot")                                                                 \
  XX(EBFONT, -59, "bad font file format")                                                          \
  XX(ENOSTR, -60, "device not a stream")                                                           \
  XX(ENODATA, -61, "no data available")                                                            \
  XX(ETIME, -62, "timer expired")                                                                  \
  XX(ENOSR, -63, "out of streams resources")                                                       \
  XX(ENONET, -64, "machine is not on the network")                                                 \
  XX(ENOPKG, -65, "package not installed")                                                         \
  XX(EREMOTE, -66, "object is remote")                                                             \
  XX(ENOLINK, -67, "link has been severed")                                                        \
  XX(EADV, -68, "advertise error")                                                                 \
  XX(ESRMNT, -69, "srmount error")                                                                 \
  XX(ECOMM, -70, "communication error on send")                                                    \
  XX(EPROTO, -71, "protocol error")                                                                \
  XX(EMULTIHOP, -72, "multihop attempted")                                                         \
  XX(EDOTDOT, -73, "RFS specific error")                                                           \
  XX(EBADMSG, -74, "malformed input")                                                              \
  XX(EOVERFLOW, -75, "value too large for defined data type")                                      \
  XX(ENOTUNIQ, -76, "name not unique on network")                                                  \
  XX(EBADFD, -77, "file descriptor in bad state")                                                  \
  XX(EREMCHG, -78, "remote address changed")                                                       \
  XX(ELIBACC, -79, "can not access a needed shared library")                                       \
  XX(ELIBBAD, -80, "accessing a corrupted shared library")                                         \
  XX(ELIBSCN, -81, ".lib section in a.out corrupted")                                              \
  XX(ELIBMAX, -82, "attempting to link in too many shared libraries")                              \
  XX(ELIBEXEC, -83, "cannot exec a shared library directly")                                       \
  XX(EILSEQ, -84, "illegal byte sequence")                                                         \
  XX(ERESTART, -85, "interrupted system call should be restarted")                                 \
  XX(ESTRPIPE, -86, "streams pipe error")                                                          \
  XX(EUSERS, -87, "too many users")                                                                \
  XX(ENOTSOCK, -88, "socket operation on non-socket")                                              \
  XX(EDESTADDRREQ, -89, "destination address required")                                            \
  XX(EMSGSIZE, -90, "message too long")                                                            \
  XX(EPROTOTYPE, -91, "protocol wrong type for socket")                                            \
  XX(ENOPROTOOPT, -92, "protocol not available")                                                   \
  XX(EPROTONOSUPPORT, -93, "protocol not supported")                                               \
  XX(ESOCKTNOSUPPORT, -94, "socket type not supported")                                            \
  XX(EOPNOTSUPP, -95, "operation not supported")                                                   \
  XX(EPFNOSUPPORT, -96, "protocol family not supported")                                           \
  XX(EAFNOSUPPORT, -97, "address family not supported")                                            \
  XX(EADDRINUSE, -98, "address already in use")                                                    \
  XX(EADDRNOTAVAIL, -99, "address not available")                                                  \
  XX(ENETDOWN, -100, "network is down")                                                            \
  XX(ENETUNREACH, -101, "network is unreachable")                                                  \
  XX(ENETRESET, -102, "network dropped connection on reset")                                       \
  XX(ECONNABORTED, -103, "software caused connection abort")                                       \
  XX(ECONNRESET, -104, "connection reset by peer")                                                 \
  XX(ENOBUFS, -105, "no buffer space available")                                                   \
  XX(EISCONN, -106, "socket is already connected")                                                 \
  XX(ENOTCONN, -107, "socket is not connected")                                                    \
  XX(ESHUTDOWN, -108, "cannot send after transport endpoint shutdown")                             \
  XX(ETOOMANYREFS, -109, "too many references: cannot splice")                                     \
  XX(ETIMEDOUT, -110, "connection timed out")                                                      \
  XX(ECONNREFUSED, -111, "connection refused")                                                     \
  XX(EHOSTDOWN, -112, "host is down")                                                              \
  XX(EHOSTUNREACH, -113, "host is unreachable")                                                    \
  XX(EALREADY, -114, "connection already in progress")                                             \
  XX(EINPROGRESS, -115, "operation now in progress")                                               \
  XX(ESTALE, -116, "stale file handle")                                                            \
  XX(EUCLEAN, -117, "structure needs cleaning")                                                    \
  XX(ENOTNAM, -118, "not a XENIX named type file")                                                 \
  XX(ENAVAIL, -119, "no XENIX semaphores available")                                               \
  XX(EISNAM, -120, "is a named type file")                                                         \
  XX(EREMOTEIO, -121, "remote I/O error")                                                          \
  XX(EDQUOT, -122, "disk quota exceeded")                                                          \
  XX(ENOMEDIUM, -123, "no medium found")                                                           \
  XX(EMEDIUMTYPE, -124, "wrong medium type")                                                       \
  XX(ECANCELED, -125, "operation canceled")                                                        \
  XX(ENOKEY, -126, "required key not available")                                                   \
  XX(EKEYEXPIRED, -127, "key has expired")                                                         \
  XX(EKEYREVOKED, -128, "key has been revoked")                                                    \
  XX(EKEYREJECTED, -129, "key was rejected by service")                                            \
  XX(EOWNERDEAD, -130, "owner died")                                                               \
  XX(ENOTRECOVERABLE, -131, "state not recoverable")                                               \
  XX(ERFKILL, -132, "operation not possible due to RF-kill")

enum {
#define ST_ERRNO_ENUM(name, value, words) ST_##name = value,
  ST_ERRNO_MAP(ST_ERRNO_ENUM)
#undef ST_ERRNO_ENUM
};

/* Words for an error code: every ST_E* code, every libuv code (on Windows
 * libuv's codes are its own, not negated errno), 0 ("success"); anything
 * else is "unknown error -N". Never NULL; the text of an unknown code lives
 * in a per-thread buffer until the next call on that thread. */
const char *st_strerror(int err);
/* The code's name: "ENOENT", "EOF" (libuv's own), "OK" for 0, "UNKNOWN"
 * for anything else. */
const char *st_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
