/* Vista-era AFD ids 1-41 mapped onto the Windows 7+ ids (legacy_id kept),
 * and the WS2HELP catalog events 1-5, in both pointer sizes. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/testutil.h"
#include "etw/etw_decode.h"
#include "etw_fixture.h"
#include "socktrace/session.h"

static const uint8_t ip4[4] = {10, 0, 0, 7};
static const uint8_t ip6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

typedef enum { A_NONE, A_V4, A_V6 } addr_kind;

typedef struct legacy_case {
  uint16_t id, modern;
  uint8_t ee;
  addr_kind addr;
  bool local;
  const char *layout; /* P process, E endpoint, a/t/r u32, U user pid, I ip, o port,
                         s status, R reason, F fast path, c count, B buffer, L length,
                         O option, V value, H handles, T timeout, M mask */
} legacy_case;

static const legacy_case cases[] = {
    {1, 1000, ST_EE_EXIT, A_NONE, false, "PEatrU"},
    {2, 1030, ST_EE_EXIT, A_V4, true, "PEIos"},
    {3, 1030, ST_EE_EXIT, A_V6, true, "PEIos"},
    {4, 1018, ST_EE_ENTER, A_V4, false, "PEIo"},
    {5, 1018, ST_EE_ENTER, A_V6, false, "PEIo"},
    {6, 1017, ST_EE_EXIT, A_NONE, false, "PEs"},
    {7, 1032, ST_EE_INTERNAL, A_NONE, false, "PER"},
    {8, 1032, ST_EE_TRANSPORT, A_NONE, false, "PER"},
    {9, 1003, ST_EE_EXIT, A_NONE, false, "PEs"},
    {10, 1011, ST_EE_EXIT, A_NONE, false, "PEs"},
    {11, 1004, ST_EE_EXIT, A_NONE, false, "PEs"},
    {12, 1006, ST_EE_EXIT, A_NONE, false, "PEs"},
    {13, 1001, ST_EE_EXIT, A_NONE, false, "PEs"},
    {14, 1002, ST_EE_EXIT, A_NONE, false, "PEs"},
    {15, 1024, ST_EE_EXIT, A_V4, false, "PEIos"},
    {16, 1024, ST_EE_EXIT, A_V6, false, "PEIos"},
    {17, 1023, ST_EE_EXIT, A_NONE, false, "PEs"},
    {18, 1003, ST_EE_ENTER, A_NONE, false, "PEFcBL"},
    {19, 1004, ST_EE_ENTER, A_NONE, false, "PEFcBL"},
    {20, 1006, ST_EE_ENTER, A_NONE, false, "PEFcBL"},
    {21, 1007, ST_EE_ENTER, A_V4, false, "PEFcBLIo"},
    {22, 1007, ST_EE_ENTER, A_V6, false, "PEFcBLIo"},
    {23, 1004, ST_EE_EXIT, A_NONE, false, "PEBL"},
    {24, 1003, ST_EE_EXIT, A_NONE, false, "PEBL"},
    {25, 1011, ST_EE_EXIT, A_NONE, false, "PEBL"},
    {26, 1009, ST_EE_EXIT, A_V4, false, "PEcBLIo"},
    {27, 1009, ST_EE_EXIT, A_V6, false, "PEcBLIo"},
    {28, 1005, ST_EE_EXIT, A_NONE, false, "PEBL"},
    {29, 1035, ST_EE_AFD, A_NONE, false, "PEOV"},
    {30, 30, ST_EE_ENTER, A_NONE, false, "PHT"},
    {31, 31, ST_EE_EXIT, A_NONE, false, "PEs"},
    {32, 32, ST_EE_ENTER, A_NONE, false, "PEM"},
    {33, 1033, ST_EE_TRANSPORT, A_V4, false, "PELIoR"},
    {34, 1033, ST_EE_TRANSPORT, A_V6, false, "PELIoR"},
    {35, 3001, ST_EE_TRANSPORT, A_V4, false, "PEIo"},
    {36, 3001, ST_EE_TRANSPORT, A_V6, false, "PEIo"},
    {37, 3003, ST_EE_TRANSPORT, A_NONE, false, "PEL"},
    {38, 3004, ST_EE_TRANSPORT, A_V4, false, "PEIoL"},
    {39, 3004, ST_EE_TRANSPORT, A_V6, false, "PEIoL"},
    {40, 1029, ST_EE_EXIT, A_NONE, false, "PEs"},
    {41, 3006, ST_EE_TRANSPORT, A_NONE, false, "PE"},
};

/* Writes the template, field by field, as the Vista manifest lays it out. */
static void build(fx *f, const legacy_case *c, uint8_t ptr) {
  fx_init(f, ptr);
  for (const char *l = c->layout; *l; l++) {
    switch (*l) {
    case 'P':
      fx_ptr(f, FX_PROCESS);
      break;
    case 'E':
      fx_ptr(f, FX_ENDPOINT);
      break;
    case 'a':
      fx_u32(f, 2);
      break;
    case 't':
      fx_u32(f, 1);
      break;
    case 'r':
      fx_u32(f, 6);
      break;
    case 'U':
      fx_ptr(f, 3131);
      break;
    case 'I':
      fx_raw(f, c->addr == A_V4 ? ip4 : ip6, c->addr == A_V4 ? 4 : 16);
      break;
    case 'o':
      fx_be16(f, 8443);
      break;
    case 's':
      fx_u32(f, 0xC0000236);
      break;
    case 'R':
      fx_u32(f, 4);
      break;
    case 'F':
      fx_u32(f, 1); /* win:Boolean is 4 bytes */
      break;
    case 'c':
      fx_u32(f, 3);
      break;
    case 'B':
      fx_ptr(f, 0xdead0000);
      break;
    case 'L':
      fx_u32(f, 777);
      break;
    case 'O':
      fx_u32(f, 6);
      break;
    case 'V':
      fx_u32(f, 8192);
      break;
    case 'H':
      fx_u32(f, 5);
      break;
    case 'T':
      fx_u32(f, 1000);
      break;
    case 'M':
      fx_u32(f, 0x21);
      break;
    }
  }
}

Test(etw_legacy, every_vista_id_both_pointer_sizes) {
  static const uint8_t ptrs[2] = {8, 4};
  for (int p = 0; p < 2; p++) {
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
      const legacy_case *c = &cases[k];
      fx f;
      build(&f, c, ptrs[p]);
      st_etw_record r = fx_afd(c->id, ptrs[p]);
      st_etw_info info;
      st_event ev;
      int rc = st_etw_decode(&r, f.b, f.n, &ev, &info);
      cr_assert_eq(rc, 0, "legacy %u (%u-bit): %s", c->id, ptrs[p] * 8, ev.detail);
      cr_assert_eq(ev.id, c->modern, "legacy %u maps to %u", c->id, c->modern);
      cr_assert(ev.has & ST_HAS_LEGACY_ID);
      cr_assert_eq(ev.legacy_id, c->id);
      cr_assert_eq(ev.enter_exit, c->ee, "legacy %u EnterExit", c->id);
      cr_assert_eq(info.process, ptrs[p] == 8 ? FX_PROCESS : (uint32_t)FX_PROCESS);
      if (strchr(c->layout, 'E'))
        cr_assert_eq(ev.endpoint, ptrs[p] == 8 ? FX_ENDPOINT : (uint32_t)FX_ENDPOINT);
      if (c->addr != A_NONE) {
        const st_addr *a = c->local ? &ev.local : &ev.remote;
        cr_assert(ev.has & (c->local ? ST_HAS_LOCAL : ST_HAS_REMOTE), "legacy %u address", c->id);
        cr_assert_eq(a->family, c->addr == A_V4 ? ST_FAMILY_INET : ST_FAMILY_INET6);
        cr_assert_eq(a->port, 8443, "legacy %u port in network order", c->id);
        cr_assert_arr_eq(a->addr, c->addr == A_V4 ? ip4 : ip6, c->addr == A_V4 ? 4 : 16);
      }
      if (strchr(c->layout, 's'))
        cr_assert_eq(ev.status.code, ST_REFUSED);
      if (strchr(c->layout, 'L'))
        cr_assert_eq(ev.bytes, 777);
      if (strchr(c->layout, 'R'))
        cr_assert_eq(ev.reason, 4);
      if (strchr(c->layout, 'F'))
        cr_assert(strstr(ev.detail, "fast_path") != NULL);
      if (c->id == 1) {
        cr_assert(info.has_process_id);
        cr_assert_eq(info.process_id, 3131);
        cr_assert_eq(ev.family, ST_FAMILY_INET);
        cr_assert_eq(ev.protocol, 6);
      }
      if (c->id == 29) {
        cr_assert_eq(ev.option, 6);
        cr_assert_eq(ev.value, 8192);
      }
      if (c->id == 30)
        cr_assert_str_eq(ev.detail, "AfdSelectPosted handles=5 timeout=1000");
      /* Short by any amount, or one byte long: an error, never a crash. */
      for (size_t n = 0; n < f.n; n++) {
        rc = st_etw_decode(&r, f.b, n, &ev, NULL);
        cr_assert_eq(rc, ST_EBADMSG, "legacy %u with %zu of %zu bytes", c->id, n, f.n);
        cr_assert_eq(ev.id, ST_EV_DECODE_ERROR);
      }
      f.b[f.n] = 0;
      rc = st_etw_decode(&r, f.b, f.n + 1, &ev, NULL);
      cr_assert_eq(rc, ST_EBADMSG);
      cr_assert_eq(ev.legacy_id, c->id);
    }
  }
}

static st_etw_record ws2help(uint16_t id) {
  st_etw_record r = fx_record(st_etw_ws2help_guid, id, 8);
  r.keywords = 0x8000000000000000ULL;
  return r;
}

static void build_lsp(fx *f) {
  static const uint8_t guid[16] = {0x9a, 0x5f, 0xc2, 0xd5, 0x47, 0x4d, 0x3e, 0x49,
                                   0x91, 0x84, 0x40, 0xdd, 0x39, 0x7a, 0x00, 0x4d};
  fx_init(f, 8);
  fx_utf16z(f, "Contoso LSP");
  fx_u32(f, 64);
  fx_utf16z(f, "C:\\Tools\\inst.exe");
  fx_raw(f, guid, 16);
  fx_u32(f, 1042);
}

Test(etw_catalog, lsp_events) {
  for (uint16_t id = 1; id <= 5; id++) {
    if (id == 4)
      continue;
    fx f;
    build_lsp(&f);
    st_etw_record r = ws2help(id);
    st_event ev;
    cr_assert_eq(st_etw_decode(&r, f.b, f.n, &ev, NULL), 0, "%s", ev.detail);
    cr_assert_eq(ev.provider, ST_PROVIDER_CATALOG);
    cr_assert_eq(ev.id, id);
    cr_assert_eq(ev.keywords, ST_KW_CATALOG);
    cr_assert_str_eq(ev.detail, "\"Contoso LSP\" catalog=64 "
                                "provider={D5C25F9A-4D47-493E-9184-40DD397A004D} category=1042 "
                                "installer=C:\\Tools\\inst.exe");
    for (size_t n = 0; n < f.n; n++) {
      cr_assert_eq(st_etw_decode(&r, f.b, n, &ev, NULL), ST_EBADMSG, "%u bytes", (unsigned)n);
      cr_assert_eq(ev.id, ST_EV_DECODE_ERROR);
    }
  }
}

Test(etw_catalog, reset) {
  fx f;
  fx_init(&f, 8);
  fx_u32(&f, 32);
  st_etw_record r = ws2help(4);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &ev, NULL), 0);
  cr_assert_eq(ev.id, ST_EV_CAT_RESET);
  cr_assert_str_eq(ev.detail, "catalog=32");
  cr_assert_eq(st_event_name(ev.provider, ev.id) != NULL, true);
  fx_u32(&f, 0);
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &ev, NULL), ST_EBADMSG);
}

Test(etw_catalog, utf16_names) {
  fx f;
  fx_init(&f, 8);
  fx_u16(&f, 0x00e9); /* é */
  fx_u16(&f, 0xd83c); /* a surrogate pair: U+1F310 */
  fx_u16(&f, 0xdf10);
  fx_u16(&f, 0xdc00); /* a lone low surrogate */
  fx_u16(&f, 0);
  fx_u32(&f, 64);
  fx_utf16z(&f, "x");
  for (int i = 0; i < 16; i++)
    fx_u8(&f, 0);
  fx_u32(&f, 1);
  st_etw_record r = ws2help(1);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &ev, NULL), 0, "%s", ev.detail);
  cr_assert(strncmp(ev.detail, "\"\xc3\xa9\xf0\x9f\x8c\x90\xef\xbf\xbd\"", 11) == 0, "%s",
            ev.detail);
}

Test(etw_catalog, unknown_id_is_an_error) {
  st_etw_record r = ws2help(9);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, NULL, 0, &ev, NULL), ST_EBADMSG);
}

/* -k catalog enables WS2HELP alone; AFD's own bits enable AFD alone, dns
 * the DNS client; the default (0 or all) every one. The decoded event carries the catalog keyword,
 * so a session's mask passes or drops it like any event, and the sinks
 * show it as they show Linux's catalog events: name, then the entry. */
Test(etw_catalog, catalog_keyword_selects_ws2help) {
  st_etw_providers p = st_etw_providers_for(ST_KW_CATALOG);
  cr_expect(!p.afd && p.ws2help && !p.dns_client);
  p = st_etw_providers_for(ST_KW_STREAM | ST_KW_WINSOCK);
  cr_expect(p.afd && p.afd_keywords == 0x6 && !p.ws2help && !p.dns_client);
  p = st_etw_providers_for(ST_KW_STREAM | ST_KW_CATALOG);
  cr_expect(p.afd && p.afd_keywords == ST_KW_STREAM && p.ws2help && !p.dns_client);
  p = st_etw_providers_for(ST_KW_DNS | ST_KW_CATALOG);
  cr_expect(!p.afd && p.ws2help && p.dns_client);
  p = st_etw_providers_for(0);
  cr_expect(p.afd && p.afd_keywords == 0 && p.ws2help && p.dns_client);
  p = st_etw_providers_for(ST_KW_ALL);
  cr_expect(p.afd && p.afd_keywords == 0 && p.ws2help && p.dns_client);

  fx f;
  build_lsp(&f);
  st_etw_record r = ws2help(ST_EV_CAT_LSP_INSTALLED);
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, f.b, f.n, &ev, NULL), 0);
  uint64_t masks[2] = {ST_KW_CATALOG, ST_KW_STREAM};
  for (int i = 0; i < 2; i++) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    st_session_config cfg = {.keywords = masks[i]};
    st_session *s;
    st_collect c = {0};
    st_sink *sink;
    cr_assert_eq(st_session_new(&loop, &cfg, &s), 0);
    cr_assert_eq(st_sink_collect_new(&c, &sink), 0);
    st_session_add_sink(s, sink);
    st_session_emit(s, &ev);
    cr_expect_eq(c.count, i == 0 ? 1u : 0u, "mask 0x%llx", (unsigned long long)masks[i]);
    st_session_stop(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    st_session_free(s);
    uv_loop_close(&loop);
    st_collect_free(&c);
  }
  char text[512];
  st_event_to_text(&ev, NULL, text, sizeof text);
  cr_expect_not_null(strstr(text, " LspInstalled \"Contoso LSP\" catalog=64 provider="), "%s",
                     text);
}
