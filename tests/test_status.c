/* Status mapping: every row of the event model's table, from each OS's
 * native code to the portable name and back to both spellings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <uv.h>

#include "socktrace/status.h"

typedef struct row {
  st_code code;
  const char *name;
  int errnos[4];
  const char *errno_names[4];
  int wsa; /* canonical Winsock value */
  const char *wsa_name;
  uint32_t nt; /* an NTSTATUS of the row */
  const char *nt_name;
} row;

/* The table of event-model.md §2. */
static const row rows[] = {
    {ST_OK, "ok", {0}, {"OK"}, 0, "NO_ERROR", 0x0, "STATUS_SUCCESS"},
    {ST_PENDING,
     "pending",
     {115, 114},
     {"EINPROGRESS", "EALREADY"},
     10035,
     "WSAEWOULDBLOCK",
     0x103,
     "STATUS_PENDING"},
    {ST_WOULD_BLOCK,
     "would_block",
     {11},
     {"EAGAIN"},
     10035,
     "WSAEWOULDBLOCK",
     0xC00000D8,
     "STATUS_CANT_WAIT"},
    {ST_REFUSED,
     "refused",
     {111},
     {"ECONNREFUSED"},
     10061,
     "WSAECONNREFUSED",
     0xC0000236,
     "STATUS_CONNECTION_REFUSED"},
    {ST_RESET,
     "reset",
     {104},
     {"ECONNRESET"},
     10054,
     "WSAECONNRESET",
     0xC000020D,
     "STATUS_CONNECTION_RESET"},
    {ST_ABORTED,
     "aborted",
     {103},
     {"ECONNABORTED"},
     10053,
     "WSAECONNABORTED",
     0xC0000241,
     "STATUS_CONNECTION_ABORTED"},
    {ST_TIMED_OUT,
     "timed_out",
     {110},
     {"ETIMEDOUT"},
     10060,
     "WSAETIMEDOUT",
     0xC00000B5,
     "STATUS_IO_TIMEOUT"},
    {ST_HOST_UNREACHABLE,
     "host_unreachable",
     {113},
     {"EHOSTUNREACH"},
     10065,
     "WSAEHOSTUNREACH",
     0xC000023D,
     "STATUS_HOST_UNREACHABLE"},
    {ST_NET_UNREACHABLE,
     "net_unreachable",
     {101},
     {"ENETUNREACH"},
     10051,
     "WSAENETUNREACH",
     0xC000023C,
     "STATUS_NETWORK_UNREACHABLE"},
    {ST_ADDR_IN_USE,
     "addr_in_use",
     {98},
     {"EADDRINUSE"},
     10048,
     "WSAEADDRINUSE",
     0xC000020A,
     "STATUS_ADDRESS_ALREADY_EXISTS"},
    {ST_ADDR_NOT_AVAILABLE,
     "addr_not_available",
     {99},
     {"EADDRNOTAVAIL"},
     10049,
     "WSAEADDRNOTAVAIL",
     0xC0000207,
     "STATUS_INVALID_ADDRESS_COMPONENT"},
    {ST_ACCESS_DENIED,
     "access_denied",
     {13, 1},
     {"EACCES", "EPERM"},
     10013,
     "WSAEACCES",
     0xC0000022,
     "STATUS_ACCESS_DENIED"},
    {ST_NOT_CONNECTED,
     "not_connected",
     {107},
     {"ENOTCONN"},
     10057,
     "WSAENOTCONN",
     0xC0000140,
     "STATUS_INVALID_CONNECTION"},
    {ST_SHUTDOWN,
     "shutdown",
     {32, 108},
     {"EPIPE", "ESHUTDOWN"},
     10058,
     "WSAESHUTDOWN",
     0xC00000B0,
     "STATUS_PIPE_DISCONNECTED"},
    {ST_MSG_SIZE,
     "msg_size",
     {90},
     {"EMSGSIZE"},
     10040,
     "WSAEMSGSIZE",
     0x80000005,
     "STATUS_BUFFER_OVERFLOW"},
    {ST_NO_BUFFERS,
     "no_buffers",
     {105, 12},
     {"ENOBUFS", "ENOMEM"},
     10055,
     "WSAENOBUFS",
     0xC000009A,
     "STATUS_INSUFFICIENT_RESOURCES"},
    {ST_CANCELLED,
     "cancelled",
     {4, 125},
     {"EINTR", "ECANCELED"},
     10004,
     "WSAEINTR",
     0xC0000120,
     "STATUS_CANCELLED"},
    {ST_INVALID,
     "invalid",
     {22, 9, 88, 97},
     {"EINVAL", "EBADF", "ENOTSOCK", "EAFNOSUPPORT"},
     10022,
     "WSAEINVAL",
     0xC000000D,
     "STATUS_INVALID_PARAMETER"},
    {ST_NOT_FOUND,
     "not_found",
     {2},
     {"ENOENT"},
     2,
     "ERROR_FILE_NOT_FOUND",
     0xC0000034,
     "STATUS_OBJECT_NAME_NOT_FOUND"},
};

Test(status, every_row_from_every_os) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const row *r = &rows[i];
    cr_expect_str_eq(st_code_name(r->code), r->name);
    cr_expect_eq(st_code_lookup(r->name), (int)r->code);
    for (int k = 0; k < 4 && r->errno_names[k]; k++) {
      st_status s = st_status_from_errno(r->errnos[k]);
      cr_expect_eq(s.code, r->code, "errno %d -> %s", r->errnos[k], r->name);
      cr_expect_eq(s.domain, ST_DOMAIN_ERRNO);
      cr_expect_eq(s.native, (uint32_t)r->errnos[k]);
      cr_expect_str_eq(st_errno_name(r->errnos[k]), r->errno_names[k]);
      cr_expect_eq(st_errno_lookup(r->errno_names[k]), r->errnos[k]);
      /* Negative errnos (kernel return values) map the same way. */
      cr_expect_eq(st_status_from_errno(-r->errnos[k]).code, r->code);
    }
    cr_expect_str_eq(st_code_errno_name(r->code), r->errno_names[0]);
    cr_expect_str_eq(st_code_winsock_name(r->code), r->wsa_name, "%s", r->name);
    cr_expect_eq(st_code_winsock_value(r->code), r->wsa);
    st_status w = st_status_from_winsock(r->wsa);
    /* WSAEWOULDBLOCK alone reads as would_block; pending is its connect
     * reading and comes from WSA_IO_PENDING / STATUS_PENDING. */
    cr_expect_eq(w.code, r->code == ST_PENDING ? ST_WOULD_BLOCK : r->code, "wsa %d", r->wsa);
    st_status n = st_status_from_ntstatus(r->nt);
    cr_expect_eq(n.code, r->code, "nt 0x%08X -> %s", r->nt, r->name);
    cr_expect_str_eq(st_ntstatus_name(r->nt), r->nt_name);
    int found;
    cr_expect_eq(st_ntstatus_lookup(r->nt_name, &found), r->nt);
    cr_expect(found);
  }
}

Test(status, table_rows_beyond_the_examples) {
  cr_expect_eq(st_status_from_ntstatus(0xC000013B).code, ST_ABORTED); /* LOCAL_DISCONNECT */
  cr_expect_eq(st_status_from_winsock(997).code, ST_PENDING);         /* WSA_IO_PENDING */
  cr_expect_eq(st_status_from_winsock(10038).code, ST_INVALID);       /* WSAENOTSOCK */
  cr_expect_eq(st_status_from_errno(5).code, ST_OTHER);               /* EIO */
  cr_expect_str_eq(st_errno_name(5), "EIO");
  cr_expect_eq(st_status_from_winsock(3).code, ST_NOT_FOUND); /* ERROR_PATH_NOT_FOUND */
  cr_expect_eq(st_status_from_ntstatus(0xC000003A).code, ST_NOT_FOUND);
  cr_expect_eq(st_status_from_errno(4095).code, ST_OTHER);
  cr_expect_null(st_errno_name(4095));
  cr_expect_eq(st_status_from_ntstatus(0x00000001).code, ST_OK); /* unlisted success */
  cr_expect_eq(st_status_from_ntstatus(0xC0FFEE00).code, ST_OTHER);
}

static const char *fmt(st_status s) {
  static char buf[128];
  st_status_format(&s, buf, sizeof buf);
  return buf;
}

Test(status, format_in_words) {
  cr_expect_str_eq(fmt(st_status_from_errno(111)), "refused (ECONNREFUSED / WSAECONNREFUSED)");
  cr_expect_str_eq(fmt(st_status_from_errno(-104)), "reset (ECONNRESET / WSAECONNRESET)");
  cr_expect_str_eq(fmt(st_status_from_errno(115)), "pending (EINPROGRESS / WSAEWOULDBLOCK)");
  cr_expect_str_eq(fmt(st_status_from_errno(0)), "ok");
  cr_expect_str_eq(fmt(st_status_from_winsock(10061)), "refused (WSAECONNREFUSED)");
  cr_expect_str_eq(fmt(st_status_from_ntstatus(0xC0000236)),
                   "refused (STATUS_CONNECTION_REFUSED / WSAECONNREFUSED)");
  cr_expect_str_eq(fmt(st_status_from_errno(4095)), "other (4095)");
  cr_expect_str_eq(fmt(st_status_from_ntstatus(0xC0FFEE00)), "other (0xC0FFEE00)");
  cr_expect_str_eq(fmt(st_status_portable(ST_TIMED_OUT)), "timed_out (WSAETIMEDOUT)");
  cr_expect_str_eq(fmt(st_status_from_errno(2)), "not_found (ENOENT / ERROR_FILE_NOT_FOUND)");
}

Test(status, linux_and_windows_refusals_compare_equal) {
  st_status l = st_status_from_errno(111), w = st_status_from_ntstatus(0xC0000236),
            k = st_status_from_winsock(10061);
  cr_expect_eq(l.code, w.code);
  cr_expect_eq(w.code, k.code);
  cr_expect_str_eq(st_status_windows_name(&l), "WSAECONNREFUSED");
  cr_expect_str_eq(st_status_native_name(&w), "STATUS_CONNECTION_REFUSED");
}

Test(status, strerror_words) {
  cr_expect_str_eq(st_strerror(ST_EINVAL), "invalid argument");
  cr_expect_str_eq(st_strerror(ST_ENOSPC), "no space left on device");
  cr_expect_str_eq(st_strerror(0), "success");
}

/* Every row of the error table: its words and its name, from one table. */
Test(status, every_error_row_has_words_and_name) {
  static const struct {
    int code;
    const char *name, *words;
  } rows[] = {
#define ROW(name, value, words) {value, #name, words},
      ST_ERRNO_MAP(ROW)
#undef ROW
  };
  size_t n = sizeof rows / sizeof rows[0];
  cr_expect_geq(n, 130, "every Linux errno has a row");
  for (size_t i = 0; i < n; i++) {
    cr_expect_lt(rows[i].code, 0, "%s is negative", rows[i].name);
    cr_expect_str_eq(st_strerror(rows[i].code), rows[i].words);
    cr_expect_str_eq(st_err_name(rows[i].code), rows[i].name);
    cr_expect_neq(rows[i].words[0], 0, "%s has words", rows[i].name);
    for (size_t j = 0; j < i; j++)
      cr_expect_neq(rows[i].code, rows[j].code, "%s and %s share a value", rows[i].name,
                    rows[j].name);
  }
}

Test(status, error_codes_are_negated_errno) {
  /* The header's promise: a negated errno is a code, with words. */
  cr_expect_eq(ST_ENOENT, -2);
  cr_expect_eq(ST_ECONNREFUSED, -111);
  cr_expect_str_eq(st_strerror(-13), "permission denied");
  cr_expect_str_eq(st_err_name(-13), "EACCES");
  cr_expect_str_eq(st_strerror(-ENOENT), "no such file or directory");
  cr_expect_str_eq(st_err_name(0), "OK");
}

Test(status, libuv_codes_have_words) {
  /* On Unix libuv's codes are negated errno: the same row. */
  cr_expect_str_eq(st_strerror(UV_ECONNREFUSED), "connection refused");
  cr_expect_str_eq(st_err_name(UV_EADDRINUSE), "EADDRINUSE");
  /* libuv's own codes have libuv's words. */
  cr_expect_str_eq(st_strerror(UV_EOF), "end of file");
  cr_expect_str_eq(st_err_name(UV_EOF), "EOF");
  cr_expect_str_eq(st_err_name(UV_EAI_NONAME), "EAI_NONAME");
}

Test(status, unknown_error_codes_say_their_number) {
  cr_expect_str_eq(st_strerror(-4242), "unknown error -4242");
  cr_expect_str_eq(st_strerror(-41), "unknown error -41"); /* no errno 41 on Linux */
  cr_expect_str_eq(st_strerror(7), "unknown error 7");
  cr_expect_str_eq(st_err_name(-4242), "UNKNOWN");
}
