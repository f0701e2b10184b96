/* The ETW decoder against byte-exact AFD fixtures, Windows 7+ ids, in both
 * pointer sizes: field values, the length checks of etw-formats.md, and
 * truncated / oversized / malformed payloads becoming DecodeError events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "etw/etw_decode.h"
#include "etw_fixture.h"

static const uint8_t ip4[4] = {192, 168, 1, 20};
static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ptrs[2] = {8, 4};

static st_event decode_ok(const st_etw_record *r, const fx *f, st_etw_info *info) {
  st_event ev;
  int rc = st_etw_decode(r, f->b, f->n, &ev, info);
  cr_assert_eq(rc, ST_ETW_DECODED, "id %u (%u-bit, %zu bytes): rc %d, detail %s", r->id,
               r->pointer_size * 8, f->n, rc, ev.detail);
  cr_assert_eq(ev.os, ST_OS_WINDOWS);
  cr_assert_eq(ev.backend, ST_BACKEND_ETW);
  return ev;
}

static void expect_error(const st_etw_record *r, const uint8_t *p, size_t n) {
  st_event ev;
  int rc = st_etw_decode(r, p, n, &ev, NULL);
  cr_assert_eq(rc, ST_EBADMSG, "id %u with %zu bytes should be an error", r->id, n);
  cr_assert_eq(ev.id, ST_EV_DECODE_ERROR);
  cr_assert_eq(ev.provider, ST_PROVIDER_EXT);
  cr_assert(ev.has & ST_HAS_DETAIL);
  cr_assert_neq(ev.detail[0], 0);
}

/* Every length shorter than the template, and one byte more, is an error. */
static void expect_exact_length(const st_etw_record *r, const fx *f) {
  for (size_t n = 0; n < f->n; n++)
    expect_error(r, f->b, n);
  uint8_t big[sizeof f->b + 1];
  memcpy(big, f->b, f->n);
  big[f->n] = 0x5a;
  expect_error(r, big, f->n + 1);
}

/* Literal bytes, written out by hand from the template, check the writer. */
Test(etw_decode, literal_create_64) {
  static const uint8_t bytes[48] = {
      1,    0,    0,    0,    0x2a, 0x0b, 0,    0,    /* EnterExit 1, Location 2858 */
      0x80, 0x50, 0x34, 0x12, 0x06, 0xa5, 0xff, 0xff, /* Process */
      0x20, 0x43, 0x65, 0x87, 0x06, 0xa5, 0xff, 0xff, /* Endpoint */
      2,    0,    0,    0,    1,    0,    0,    0,    /* AF_INET, SOCK_STREAM */
      6,    0,    0,    0,    0x92, 0x10, 0,    0,    /* IPPROTO_TCP, ProcessId 4242 */
      0,    0,    0,    0,    0,    0,    0,    0,    /* ProcessId high, Status 0 */
  };
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 2858, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 2);
  fx_u32(&f, 1);
  fx_u32(&f, 6);
  fx_ptr(&f, 4242);
  fx_u32(&f, 0);
  cr_assert_eq(f.n, 48);
  cr_assert_arr_eq(f.b, bytes, 48);
  st_etw_record r = fx_afd(1000, 8);
  st_etw_info info;
  st_event ev = decode_ok(&r, &f, &info);
  cr_assert_eq(ev.id, ST_EV_CREATE);
  cr_assert_eq(ev.enter_exit, ST_EE_EXIT);
  cr_assert_eq(ev.seq, 2858);
  cr_assert_eq(ev.endpoint, FX_ENDPOINT);
  cr_assert_eq(ev.family, ST_FAMILY_INET);
  cr_assert_eq(ev.type, ST_TYPE_STREAM);
  cr_assert_eq(ev.protocol, 6);
  cr_assert_eq(ev.status.code, ST_OK);
  cr_assert_eq(ev.status.domain, ST_DOMAIN_NTSTATUS);
  cr_assert_eq(info.process, FX_PROCESS);
  cr_assert(info.has_process_id);
  cr_assert_eq(info.process_id, 4242);
  cr_assert_eq(ev.ts_ns, 1795634473123456789ULL);
  cr_assert_eq(ev.keywords, 0x6, "ETW's channel bits are dropped");
  expect_exact_length(&r, &f);
}

Test(etw_decode, literal_connect_ipv4_32) {
  static const uint8_t bytes[48] = {
      1,    0,    0,    0,    0x10, 0x27, 0, 0,  /* EnterExit 1, Location 10000 */
      0x80, 0x50, 0x34, 0x12,                    /* Process (low half) */
      0x20, 0x43, 0x65, 0x87,                    /* Endpoint */
      0,    0,    0,    0,    0,    0,    0, 0,  /* Buffer, BufferLength 0 */
      0x36, 0x02, 0,    0xc0,                    /* Status STATUS_CONNECTION_REFUSED */
      16,   0,    0,    0,                       /* AddressLen */
      2,    0,    0x1f, 0x90, 192,  168,  1, 20, /* AF_INET, port 8080, 192.168.1.20 */
      0,    0,    0,    0,    0,    0,    0, 0,
  };
  fx f;
  fx_init(&f, 4);
  fx_base(&f, 1, 10000, FX_PROCESS, FX_ENDPOINT);
  fx_ptr(&f, 0);
  fx_u32(&f, 0);
  fx_u32(&f, 0xC0000236);
  fx_sockaddr_in(&f, ip4, 8080);
  cr_assert_eq(f.n, 48);
  cr_assert_arr_eq(f.b, bytes, 48);
  st_etw_record r = fx_afd(1018, 4);
  st_event ev = decode_ok(&r, &f, NULL);
  cr_assert_eq(ev.endpoint, 0x87654320u);
  cr_assert(ev.has & ST_HAS_REMOTE);
  cr_assert_eq(ev.remote.family, ST_FAMILY_INET);
  cr_assert_eq(ev.remote.port, 8080);
  cr_assert_arr_eq(ev.remote.addr, ip4, 4);
  cr_assert_eq(ev.status.code, ST_REFUSED);
  cr_assert_eq(ev.status.native, 0xC0000236);
}

Test(etw_decode, create_both_pointer_sizes) {
  for (int i = 0; i < 2; i++) {
    uint8_t p = ptrs[i];
    fx f;
    fx_init(&f, p);
    fx_base(&f, 1, 1, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 23);
    fx_u32(&f, 2);
    fx_u32(&f, 17);
    fx_ptr(&f, 777);
    fx_u32(&f, 0);
    cr_assert_eq(f.n, p == 8 ? 48u : 36u);
    st_etw_record r = fx_afd(1000, p);
    st_etw_info info;
    st_event ev = decode_ok(&r, &f, &info);
    cr_assert_eq(ev.family, ST_FAMILY_INET6);
    cr_assert_eq(ev.type, ST_TYPE_DGRAM);
    cr_assert_eq(ev.protocol, 17);
    cr_assert_eq(info.process_id, 777);
    cr_assert_eq(info.process, p == 8 ? FX_PROCESS : (uint32_t)FX_PROCESS);
    expect_exact_length(&r, &f);
  }
}

Test(etw_decode, create_other_family_keeps_number) {
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 1, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 34); /* AF_HYPERV */
  fx_u32(&f, 1);
  fx_u32(&f, 1);
  fx_ptr(&f, 5);
  fx_u32(&f, 0);
  st_etw_record r = fx_afd(1000, 8);
  st_event ev = decode_ok(&r, &f, NULL);
  cr_assert_eq(ev.family, ST_FAMILY_OTHER);
  cr_assert_str_eq(ev.detail, "address family 34");
}

Test(etw_decode, status_events) {
  static const uint16_t ids[] = {1001, 1002, 1017, 1020, 1023, 1026, 1029, 1036, 3000, 3006};
  for (int i = 0; i < 2; i++) {
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
      fx f;
      fx_init(&f, ptrs[i]);
      fx_base(&f, 3, 42, FX_PROCESS, FX_ENDPOINT);
      fx_u32(&f, 0xC000020D);
      cr_assert_eq(f.n, ptrs[i] == 8 ? 28u : 20u);
      st_etw_record r = fx_afd(ids[k], ptrs[i]);
      st_event ev = decode_ok(&r, &f, NULL);
      cr_assert_eq(ev.id, ids[k]);
      cr_assert_eq(ev.enter_exit, ST_EE_TRANSPORT);
      cr_assert_eq(ev.status.code, ST_RESET);
      expect_exact_length(&r, &f);
    }
  }
}

Test(etw_decode, send_receive_events) {
  static const uint16_t ids[] = {1003, 1004, 1005, 1006, 1011, 1012};
  for (int i = 0; i < 2; i++) {
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
      fx f;
      fx_init(&f, ptrs[i]);
      fx_base(&f, 1, 7, FX_PROCESS, FX_ENDPOINT);
      fx_u32(&f, 2);
      fx_ptr(&f, 0x1234);
      fx_u32(&f, 1500);
      fx_u32(&f, 0);
      cr_assert_eq(f.n, ptrs[i] == 8 ? 44u : 32u);
      st_etw_record r = fx_afd(ids[k], ptrs[i]);
      r.level = 5;
      st_event ev = decode_ok(&r, &f, NULL);
      cr_assert_eq(ev.buffers, 2);
      cr_assert_eq(ev.bytes, 1500);
      cr_assert(ev.has & ST_HAS_BYTES);
      cr_assert_eq(ev.level, 5);
      expect_exact_length(&r, &f);
    }
  }
}

Test(etw_decode, failed_send_is_information) {
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 7, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 1);
  fx_ptr(&f, 0);
  fx_u32(&f, 0);
  fx_u32(&f, 0xC000020D);
  st_etw_record r = fx_afd(1003, 8);
  r.level = 5;
  st_event ev = decode_ok(&r, &f, NULL);
  cr_assert_eq(ev.level, ST_LEVEL_INFO);
  cr_assert_eq(ev.status.code, ST_RESET);
}

Test(etw_decode, send_receive_with_address) {
  static const uint16_t ids[] = {1007, 1009, 1013, 1015};
  for (int i = 0; i < 2; i++) {
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
      for (int v6 = 0; v6 < 2; v6++) {
        fx f;
        fx_init(&f, ptrs[i]);
        fx_base(&f, 1, 7, FX_PROCESS, FX_ENDPOINT);
        fx_u32(&f, 1);
        fx_ptr(&f, 0x1234);
        fx_u32(&f, 53);
        fx_u32(&f, 0);
        if (v6)
          fx_sockaddr_in6(&f, ip6, 53, 0);
        else
          fx_sockaddr_in(&f, ip4, 53);
        size_t base = ptrs[i] == 8 ? 48 : 36;
        cr_assert_eq(f.n, base + (v6 ? 28 : 16));
        st_etw_record r = fx_afd(ids[k], ptrs[i]);
        st_event ev = decode_ok(&r, &f, NULL);
        cr_assert_eq(ev.bytes, 53);
        cr_assert_eq(ev.remote.family, v6 ? ST_FAMILY_INET6 : ST_FAMILY_INET);
        cr_assert_eq(ev.remote.port, 53);
        cr_assert_arr_eq(ev.remote.addr, v6 ? ip6 : ip4, v6 ? 16 : 4);
        expect_exact_length(&r, &f);
      }
    }
  }
}

static void build_connect(fx *f, uint8_t p, int v6) {
  fx_init(f, p);
  fx_base(f, 1, 9, FX_PROCESS, FX_ENDPOINT);
  fx_ptr(f, 0);
  fx_u32(f, 0);
  fx_u32(f, 0);
  if (v6)
    fx_sockaddr_in6(f, ip6, 443, 3);
  else
    fx_sockaddr_in(f, ip4, 443);
}

Test(etw_decode, connect_with_address_lengths) {
  /* etw-formats.md: 1018 = 60 (IPv4) / 72 (IPv6) in a 64-bit record. */
  static const size_t want[2][2] = {{60, 72}, {48, 60}};
  static const uint16_t ids[] = {1018, 1021};
  for (int i = 0; i < 2; i++)
    for (size_t k = 0; k < 2; k++)
      for (int v6 = 0; v6 < 2; v6++) {
        fx f;
        build_connect(&f, ptrs[i], v6);
        cr_assert_eq(f.n, want[i][v6]);
        st_etw_record r = fx_afd(ids[k], ptrs[i]);
        st_event ev = decode_ok(&r, &f, NULL);
        cr_assert_eq(ev.remote.port, 443);
        cr_assert_eq(ev.status.code, ST_OK);
        cr_assert_not(ev.has & ST_HAS_BYTES, "no ConnectEx data");
        expect_exact_length(&r, &f);
      }
}

Test(etw_decode, accept_with_address_lengths) {
  /* 1024 = 72 / 84 in a 64-bit record. */
  static const size_t want[2][2] = {{72, 84}, {56, 68}};
  static const uint16_t ids[] = {1024, 1027};
  for (int i = 0; i < 2; i++)
    for (size_t k = 0; k < 2; k++)
      for (int v6 = 0; v6 < 2; v6++) {
        fx f;
        build_connect(&f, ptrs[i], v6);
        fx_ptr(&f, 0xffffa506aaaa0010ULL);
        fx_u32(&f, 3);
        cr_assert_eq(f.n, want[i][v6]);
        st_etw_record r = fx_afd(ids[k], ptrs[i]);
        st_event ev = decode_ok(&r, &f, NULL);
        cr_assert(ev.has & ST_HAS_ACCEPT_EP);
        cr_assert_eq(ev.accept_endpoint,
                     ptrs[i] == 8 ? 0xffffa506aaaa0010ULL : (uint64_t)0xaaaa0010u);
        cr_assert_eq(ev.backlog, 3);
        expect_exact_length(&r, &f);
      }
}

Test(etw_decode, bind_with_address_lengths) {
  /* 1030 = 48 / 60 in a 64-bit record. */
  static const size_t want[2][2] = {{48, 60}, {40, 52}};
  for (int i = 0; i < 2; i++)
    for (int v6 = 0; v6 < 2; v6++) {
      fx f;
      fx_init(&f, ptrs[i]);
      fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
      fx_u32(&f, 0xC000020A);
      if (v6)
        fx_sockaddr_in6(&f, ip6, 5432, 0);
      else
        fx_sockaddr_in(&f, ip4, 5432);
      cr_assert_eq(f.n, want[i][v6]);
      st_etw_record r = fx_afd(1030, ptrs[i]);
      st_event ev = decode_ok(&r, &f, NULL);
      cr_assert(ev.has & ST_HAS_LOCAL);
      cr_assert_not(ev.has & ST_HAS_REMOTE);
      cr_assert_eq(ev.local.port, 5432);
      cr_assert_eq(ev.status.code, ST_ADDR_IN_USE);
      expect_exact_length(&r, &f);
    }
}

Test(etw_decode, unix_and_other_addresses) {
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  fx_sockaddr_un(&f, "C:\\run\\app.sock");
  st_etw_record r = fx_afd(1030, 8);
  st_event ev = decode_ok(&r, &f, NULL);
  cr_assert_eq(ev.local.family, ST_FAMILY_UNIX);
  cr_assert_str_eq(ev.local.path, "C:\\run\\app.sock");

  /* AF_HYPERV (34): 36-byte SOCKADDR_HV; the family number is kept. */
  fx_init(&f, 8);
  fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  fx_u32(&f, 36);
  fx_u16(&f, 34);
  for (int i = 0; i < 34; i++)
    fx_u8(&f, (uint8_t)i);
  ev = decode_ok(&r, &f, NULL);
  cr_assert_eq(ev.local.family, ST_FAMILY_OTHER);
  cr_assert_eq(ev.local.raw_family, 34);

  /* AddressLen 0: no address, no error. */
  fx_init(&f, 8);
  fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  fx_u32(&f, 0);
  ev = decode_ok(&r, &f, NULL);
  cr_assert_not(ev.has & ST_HAS_LOCAL);
}

Test(etw_decode, bad_address_blobs) {
  st_etw_record r = fx_afd(1030, 8);
  /* AF_INET with AddressLen 6: too short for its family. */
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  fx_u32(&f, 6);
  fx_u16(&f, 2);
  fx_u32(&f, 0);
  expect_error(&r, f.b, f.n);
  /* AddressLen far past the payload. */
  fx_init(&f, 8);
  fx_base(&f, 1, 11, FX_PROCESS, FX_ENDPOINT);
  fx_u32(&f, 0);
  fx_u32(&f, 0xffffffffu);
  fx_u16(&f, 2);
  expect_error(&r, f.b, f.n);
}

Test(etw_decode, abort_drop_option_listen) {
  for (int i = 0; i < 2; i++) {
    uint8_t p = ptrs[i];
    fx f;
    fx_init(&f, p);
    fx_base(&f, 2, 5, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, ST_ABORT_TRANSPORT_RESET);
    cr_assert_eq(f.n, p == 8 ? 28u : 20u);
    st_etw_record r = fx_afd(1032, p);
    st_event ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.reason, 4);
    cr_assert_str_eq(st_abort_reason_name(ev.reason), "transport_reset");
    expect_exact_length(&r, &f);

    fx_init(&f, p);
    fx_base(&f, 3, 5, FX_PROCESS, FX_ENDPOINT);
    fx_ptr(&f, 0);
    fx_u32(&f, 900);
    fx_sockaddr_in(&f, ip4, 9999);
    fx_u32(&f, 2);
    cr_assert_eq(f.n, (p == 8 ? 44u : 32u) + 16);
    r = fx_afd(1033, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.bytes, 900);
    cr_assert_eq(ev.remote.port, 9999);
    cr_assert_eq(ev.reason, 2);
    cr_assert_str_eq(st_drop_reason_name(ev.reason), "no_buffer_space");
    expect_exact_length(&r, &f);

    fx_init(&f, p);
    fx_base(&f, 4, 5, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 7); /* SNDBUF */
    fx_u32(&f, 65536);
    fx_u32(&f, 0);
    cr_assert_eq(f.n, p == 8 ? 36u : 28u);
    r = fx_afd(1035, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.option, 7);
    cr_assert_eq(ev.value, 65536);
    expect_exact_length(&r, &f);

    fx_init(&f, p);
    fx_base(&f, 1, 5, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 128);
    fx_u32(&f, 0);
    cr_assert_eq(f.n, p == 8 ? 32u : 24u);
    r = fx_afd(1037, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.backlog, 128);
    expect_exact_length(&r, &f);
  }
}

Test(etw_decode, indications) {
  for (int i = 0; i < 2; i++) {
    uint8_t p = ptrs[i];
    fx f;
    fx_init(&f, p);
    fx_base(&f, 3, 5, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 0);
    fx_sockaddr_in6(&f, ip6, 50000, 0);
    fx_u32(&f, 2);
    cr_assert_eq(f.n, (p == 8 ? 36u : 28u) + 28);
    st_etw_record r = fx_afd(3001, p);
    st_event ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.remote.port, 50000);
    cr_assert_eq(ev.backlog, 2);
    expect_exact_length(&r, &f);

    fx_init(&f, p);
    fx_base(&f, 3, 5, FX_PROCESS, FX_ENDPOINT);
    fx_ptr(&f, 0);
    fx_u32(&f, 4096);
    cr_assert_eq(f.n, p == 8 ? 36u : 24u);
    r = fx_afd(3003, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.bytes, 4096);
    expect_exact_length(&r, &f);

    fx_sockaddr_in(&f, ip4, 7);
    cr_assert_eq(f.n, (p == 8 ? 40u : 28u) + 16);
    r = fx_afd(3004, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.remote.port, 7);
    expect_exact_length(&r, &f);

    fx_init(&f, p);
    fx_base(&f, 2, 5, FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 65536);
    cr_assert_eq(f.n, p == 8 ? 28u : 20u);
    r = fx_afd(3007, p);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.backlog, 65536);
    expect_exact_length(&r, &f);
  }
}

Test(etw_decode, failure_variants) {
  static const uint16_t ids[] = {1008, 1010, 1014, 1016, 1019, 1022,
                                 1025, 1028, 1031, 1034, 3002, 3005};
  for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
    fx f;
    fx_init(&f, 8);
    fx_base(&f, 1, 5, FX_PROCESS, FX_ENDPOINT);
    st_etw_record r = fx_afd(ids[k], 8);
    st_event ev = decode_ok(&r, &f, NULL);
    cr_assert_not(ev.has & ST_HAS_STATUS);
    cr_assert_not_null(st_event_name(ST_PROVIDER_AFD, ids[k]));
    fx_u32(&f, 0xC0000001);
    ev = decode_ok(&r, &f, NULL);
    cr_assert_eq(ev.status.code, ST_OTHER);
    expect_error(&r, f.b, 23);
  }
}

Test(etw_decode, dispatch_ignores_opcode) {
  fx f;
  build_connect(&f, 8, 0);
  st_etw_record r = fx_afd(1018, 8);
  st_event a, b;
  r.opcode = 12; /* Connected */
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &a, NULL), 0);
  r.opcode = 10; /* Open: what a real trace may carry */
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &b, NULL), 0);
  cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
}

Test(etw_decode, unknown_version_is_an_error) {
  fx f;
  build_connect(&f, 8, 0);
  st_etw_record r = fx_afd(1018, 8);
  r.version = 1;
  expect_error(&r, f.b, f.n);
}

Test(etw_decode, bad_pointer_size_is_an_error) {
  fx f;
  build_connect(&f, 8, 0);
  st_etw_record r = fx_afd(1018, 0);
  expect_error(&r, f.b, f.n);
}

Test(etw_decode, nested_send_counted_once) {
  /* One send(): 3047 enter, 3056 inner enter, 3073 inner exit, 3051 exit. */
  static const uint32_t locs[4] = {3047, 3056, 3073, 3051};
  static const uint32_t ees[4] = {0, 0, 1, 1};
  uint64_t counted = 0;
  int with_bytes = 0;
  for (int i = 0; i < 4; i++) {
    fx f;
    fx_init(&f, 8);
    fx_base(&f, ees[i], locs[i], FX_PROCESS, FX_ENDPOINT);
    fx_u32(&f, 1);
    fx_ptr(&f, 0x1000);
    fx_u32(&f, 512);
    fx_u32(&f, 0);
    st_etw_record r = fx_afd(1003, 8);
    st_etw_info info;
    st_event ev = decode_ok(&r, &f, &info);
    cr_assert_eq(info.nested, i == 1 || i == 2);
    if (ev.has & ST_HAS_BYTES) {
      with_bytes++;
      if (ev.enter_exit != ST_EE_ENTER)
        counted += ev.bytes;
    }
  }
  cr_assert_eq(counted, 512, "a nested send counts its bytes once");
  cr_assert_eq(with_bytes, 2);
}

Test(etw_decode, rio_passed_through) {
  uint8_t junk[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  st_etw_record r = fx_afd(4002, 8);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, junk, sizeof junk, &ev, NULL), ST_ETW_DECODED);
  cr_assert_eq(ev.id, 4002);
  cr_assert_eq(ev.provider, ST_PROVIDER_AFD);
  cr_assert(strstr(ev.detail, "AfdRioCreateCq") != NULL);
  cr_assert_eq(st_etw_decode(&r, NULL, 0, &ev, NULL), ST_ETW_DECODED);
}

Test(etw_decode, unknown_provider_ignored) {
  static const uint8_t other[16] = {1, 2, 3};
  st_etw_record r = fx_record(other, 1000, 8);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, NULL, 0, &ev, NULL), ST_ETW_IGNORED);
}

Test(etw_decode, every_modern_id_survives_every_length) {
  uint8_t buf[200];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(i * 37 + 11);
  for (int p = 0; p < 2; p++)
    for (uint16_t id = 1000; id <= 3007; id = id == 1037 ? 3000 : (uint16_t)(id + 1))
      for (size_t n = 0; n <= sizeof buf; n++) {
        st_etw_record r = fx_afd(id, ptrs[p]);
        st_event ev;
        int rc = st_etw_decode(&r, buf, n, &ev, NULL);
        cr_assert(rc == ST_ETW_DECODED || rc == ST_EBADMSG);
        cr_assert(rc == 0 || ev.id == ST_EV_DECODE_ERROR);
      }
}
