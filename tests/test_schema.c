/* Schema tables: every id of the event model has its name and level, and
 * names look up back to their ids. */
#include <criterion/criterion.h>
#include <string.h>

#include "socktrace/event.h"

static const struct {
  uint8_t provider;
  uint16_t id;
  const char *name;
  int level;
} expected[] = {
    {ST_PROVIDER_AFD, 1000, "AfdCreate", 4},
    {ST_PROVIDER_AFD, 1001, "AfdClose", 4},
    {ST_PROVIDER_AFD, 1002, "AfdCleanup", 4},
    {ST_PROVIDER_AFD, 1003, "AfdSend", 5},
    {ST_PROVIDER_AFD, 1004, "AfdReceive", 5},
    {ST_PROVIDER_AFD, 1005, "AfdSendTo", 5},
    {ST_PROVIDER_AFD, 1006, "AfdReceiveFrom", 5},
    {ST_PROVIDER_AFD, 1007, "AfdSendToWithAddress", 5},
    {ST_PROVIDER_AFD, 1009, "AfdReceiveFromWithAddress", 5},
    {ST_PROVIDER_AFD, 1011, "AfdSendMessage", 5},
    {ST_PROVIDER_AFD, 1012, "AfdReceiveMessage", 5},
    {ST_PROVIDER_AFD, 1013, "AfdSendMessageWithAddress", 5},
    {ST_PROVIDER_AFD, 1015, "AfdReceiveMessageWithAddress", 5},
    {ST_PROVIDER_AFD, 1017, "AfdConnect", 4},
    {ST_PROVIDER_AFD, 1018, "AfdConnectWithAddress", 4},
    {ST_PROVIDER_AFD, 1023, "AfdAccept", 4},
    {ST_PROVIDER_AFD, 1024, "AfdAcceptWithAddress", 4},
    {ST_PROVIDER_AFD, 1029, "AfdBind", 4},
    {ST_PROVIDER_AFD, 1030, "AfdBindWithAddress", 4},
    {ST_PROVIDER_AFD, 1032, "AfdAbort", 2},
    {ST_PROVIDER_AFD, 1033, "AfdDatagramDropWithAddress", 2},
    {ST_PROVIDER_AFD, 1035, "AfdOption", 5},
    {ST_PROVIDER_AFD, 1037, "AfdListen", 4},
    {ST_PROVIDER_AFD, 3000, "AfdConnectIndication", 5},
    {ST_PROVIDER_AFD, 3001, "AfdConnectIndicationWithAddress", 5},
    {ST_PROVIDER_AFD, 3003, "AfdDataIndication", 5},
    {ST_PROVIDER_AFD, 3004, "AfdDataIndicationWithAddress", 5},
    {ST_PROVIDER_AFD, 3006, "AfdDisconnect", 4},
    {ST_PROVIDER_EXT, 5000, "TcpStateChange", 5},
    {ST_PROVIDER_EXT, 5001, "TcpRetransmit", 4},
    {ST_PROVIDER_EXT, 5002, "TcpResetSent", 4},
    {ST_PROVIDER_EXT, 5003, "KernelDrop", 4},
    {ST_PROVIDER_EXT, 5100, "EndpointSummary", 4},
    {ST_PROVIDER_EXT, 5900, "EventsLost", 2},
    {ST_PROVIDER_CATALOG, 1, "LspInstalled", 4},
    {ST_PROVIDER_CATALOG, 2, "LspRemoved", 4},
    {ST_PROVIDER_CATALOG, 3, "LspDisabled", 4},
    {ST_PROVIDER_CATALOG, 4, "CatalogReset", 4},
    {ST_PROVIDER_CATALOG, 5, "CatalogBypassed", 4},
};

Test(schema, names_and_levels) {
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    const char *n = st_event_name(expected[i].provider, expected[i].id);
    cr_assert_not_null(n, "id %u has no name", expected[i].id);
    cr_expect_str_eq(n, expected[i].name, "id %u", expected[i].id);
    cr_expect_eq(st_event_default_level(expected[i].provider, expected[i].id), expected[i].level,
                 "level of %s", expected[i].name);
    uint8_t p;
    uint16_t id;
    cr_assert_eq(st_event_lookup(expected[i].name, &p, &id), 0);
    cr_expect_eq(p, expected[i].provider);
    cr_expect_eq(id, expected[i].id);
  }
}

Test(schema, every_afd_id_is_named) {
  for (uint16_t id = 1000; id <= 1037; id++)
    cr_expect_not_null(st_event_name(ST_PROVIDER_AFD, id), "afd %u", id);
  for (uint16_t id = 3000; id <= 3007; id++)
    cr_expect_not_null(st_event_name(ST_PROVIDER_AFD, id), "afd %u", id);
  cr_expect_null(st_event_name(ST_PROVIDER_AFD, 999));
  cr_expect_null(st_event_name(ST_PROVIDER_AFD, 1038));
  cr_expect_null(st_event_name(ST_PROVIDER_AFD, 3008));
  cr_expect_null(st_event_name(ST_PROVIDER_EXT, 1000));
  cr_expect_null(st_event_name(ST_PROVIDER_CATALOG, 6));
  cr_expect_eq(st_event_lookup("afdconnectwithaddress", &(uint8_t){0}, &(uint16_t){0}), 0);
  cr_expect_eq(st_event_lookup("NoSuchEvent", &(uint8_t){0}, &(uint16_t){0}), ST_ENOENT);
}

Test(schema, init_sets_default_level) {
  st_event ev;
  memset(&ev, 0xAB, sizeof ev);
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_ABORT);
  cr_expect_eq(ev.level, 2);
  cr_expect_eq(ev.has, 0);
  cr_expect_eq(ev.pid, 0);
  cr_expect_eq(ev.id, 1032);
}

Test(schema, keyword_and_level_values) {
  cr_expect_eq(ST_KW_DATAGRAM, 0x1);
  cr_expect_eq(ST_KW_STREAM, 0x2);
  cr_expect_eq(ST_KW_WINSOCK, 0x4);
  cr_expect_eq(ST_KW_TRANSPORT, 0x8);
  cr_expect_geq(ST_KW_TCP_STATE, 0x100);
  cr_expect_eq(ST_LEVEL_INFO, 4);
  cr_expect_eq(ST_LEVEL_VERBOSE, 5);
}

Test(schema, small_names) {
  cr_expect_str_eq(st_provider_name(ST_PROVIDER_AFD), "afd");
  cr_expect_str_eq(st_provider_name(ST_PROVIDER_CATALOG), "catalog");
  cr_expect_str_eq(st_provider_name(ST_PROVIDER_EXT), "ext");
  cr_expect_str_eq(st_os_name(ST_OS_WIRE), "wire");
  cr_expect_str_eq(st_backend_kind_name(ST_BACKEND_EBPF), "ebpf");
  cr_expect_str_eq(st_family_name(ST_FAMILY_INET6), "inet6");
  cr_expect_str_eq(st_type_name(ST_TYPE_DGRAM), "dgram");
  cr_expect_str_eq(st_protocol_name(6), "tcp");
  cr_expect_eq(st_protocol_lookup("udp"), 17);
  cr_expect_eq(st_protocol_lookup("132"), 132);
  cr_expect_eq(st_protocol_lookup("nope"), -1);
  cr_expect_str_eq(st_tcp_state_name(ST_TCP_SYN_SENT), "SYN_SENT");
  cr_expect_str_eq(st_abort_reason_name(4), "transport_reset");
  cr_expect_str_eq(st_abort_reason_name(2), "local_abort");
  cr_expect_str_eq(st_drop_reason_name(5), "too_large");
  cr_expect_str_eq(st_enter_exit_name(3), "transport");
  cr_expect_eq(st_family_lookup("ipv6"), ST_FAMILY_INET6);
}

Test(schema, addresses) {
  st_addr a = {0}, b = {0};
  char buf[128];
  cr_assert_eq(st_addr_parse_ip("127.0.0.1", &a), 0);
  a.port = 8080;
  st_addr_format(&a, buf, sizeof buf);
  cr_expect_str_eq(buf, "127.0.0.1:8080");
  cr_assert_eq(st_addr_parse_ip("::ffff:127.0.0.1", &b), 0);
  cr_expect(st_addr_ip_equal(&a, &b), "v4-mapped equals v4");
  b.port = 443;
  st_addr_format(&b, buf, sizeof buf);
  cr_expect_str_eq(buf, "[::ffff:127.0.0.1]:443");
  cr_expect_eq(st_addr_parse_ip("300.1.1.1", &a), ST_EINVAL);
  st_addr u = {.family = ST_FAMILY_UNIX};
  strcpy(u.path, "@abstract");
  st_addr_format(&u, buf, sizeof buf);
  cr_expect_str_eq(buf, "@abstract");
}
