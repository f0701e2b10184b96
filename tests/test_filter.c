/* Filter parsing and matching: each kind alone, kinds combined, values of
 * one kind OR-ed, and the endpoint memory that lets address-less events of
 * a matched socket through. */
#include <criterion/criterion.h>
#include <string.h>

#include "socktrace/session.h"

static st_event tcp_event(uint16_t id, uint32_t pid, uint64_t ep, const char *remote_ip,
                          uint16_t rport) {
  st_event ev;
  st_event_init(&ev, id >= 5000 ? ST_PROVIDER_EXT : ST_PROVIDER_AFD, id);
  ev.pid = pid;
  ev.endpoint = ep;
  if (remote_ip) {
    st_addr_parse_ip(remote_ip, &ev.remote);
    ev.remote.port = rport;
    ev.has |= ST_HAS_REMOTE;
    ev.family = ev.remote.family;
    ev.has |= ST_HAS_FAMILY;
  }
  ev.protocol = 6;
  ev.has |= ST_HAS_PROTOCOL;
  return ev;
}

static char err[256];

Test(filter, empty_matches_everything) {
  st_filter f = {0};
  st_event ev = tcp_event(ST_EV_CLOSE, 1, 1, NULL, 0);
  cr_expect(st_filter_match(&f, NULL, &ev));
}

Test(filter, pid) {
  st_filter f = {0};
  cr_assert_eq(st_filter_add_pid(&f, "42", err, sizeof err), 0);
  cr_assert_eq(st_filter_add_pid(&f, "43", err, sizeof err), 0);
  st_event a = tcp_event(ST_EV_CLOSE, 42, 1, NULL, 0), b = tcp_event(ST_EV_CLOSE, 43, 2, NULL, 0),
           c = tcp_event(ST_EV_CLOSE, 44, 3, NULL, 0);
  cr_expect(st_filter_match(&f, NULL, &a));
  cr_expect(st_filter_match(&f, NULL, &b));
  cr_expect_not(st_filter_match(&f, NULL, &c));
  cr_expect_eq(st_filter_add_pid(&f, "0", err, sizeof err), ST_EINVAL);
  cr_expect_eq(st_filter_add_pid(&f, "x1", err, sizeof err), ST_EINVAL);
  cr_expect(strstr(err, "x1") != NULL);
}

Test(filter, port_local_or_remote_and_endpoint_memory) {
  st_filter f = {0};
  cr_assert_eq(st_filter_add_port(&f, "8080", err, sizeof err), 0);
  st_filter_state *st = st_filter_state_new();
  st_event create = tcp_event(ST_EV_CREATE, 1, 7, NULL, 0);
  st_event conn = tcp_event(ST_EV_CONNECT_ADDR, 1, 7, "127.0.0.1", 8080);
  st_event close = tcp_event(ST_EV_CLOSE, 1, 7, NULL, 0);
  st_event other = tcp_event(ST_EV_CONNECT_ADDR, 1, 8, "127.0.0.1", 9);
  st_event local = tcp_event(ST_EV_BIND_ADDR, 1, 9, NULL, 0);
  st_addr_parse_ip("0.0.0.0", &local.local);
  local.local.port = 8080;
  local.has |= ST_HAS_LOCAL;
  cr_expect_not(st_filter_match(&f, st, &create), "no address known yet");
  cr_expect(st_filter_match(&f, st, &conn));
  cr_expect(st_filter_match(&f, st, &close), "close of a matched socket");
  cr_expect_not(st_filter_match(&f, st, &other));
  cr_expect(st_filter_match(&f, st, &local), "local port");
  /* After close the endpoint is forgotten: a reused id starts fresh. */
  st_event reuse = tcp_event(ST_EV_CLOSE, 1, 7, NULL, 0);
  cr_expect_not(st_filter_match(&f, st, &reuse));
  cr_expect_eq(st_filter_add_port(&f, "70000", err, sizeof err), ST_EINVAL);
  st_filter_state_free(st);
}

Test(filter, host_v4_and_v4_mapped) {
  st_filter f = {0};
  cr_assert_eq(st_filter_add_host(&f, "10.1.2.3", err, sizeof err), 0);
  st_event a = tcp_event(ST_EV_CONNECT_ADDR, 1, 1, "10.1.2.3", 80);
  st_event b = tcp_event(ST_EV_CONNECT_ADDR, 1, 2, "::ffff:10.1.2.3", 80);
  st_event c = tcp_event(ST_EV_CONNECT_ADDR, 1, 3, "10.1.2.4", 80);
  cr_expect(st_filter_match(&f, NULL, &a));
  cr_expect(st_filter_match(&f, NULL, &b));
  cr_expect_not(st_filter_match(&f, NULL, &c));
  cr_expect_eq(st_filter_add_host(&f, "example.com", err, sizeof err), ST_EINVAL);
}

Test(filter, family_and_protocol) {
  st_filter f = {0};
  cr_assert_eq(st_filter_add_family(&f, "inet6", err, sizeof err), 0);
  st_event v4 = tcp_event(ST_EV_CONNECT_ADDR, 1, 1, "1.2.3.4", 80);
  st_event v6 = tcp_event(ST_EV_CONNECT_ADDR, 1, 2, "2001:db8::1", 80);
  cr_expect_not(st_filter_match(&f, NULL, &v4));
  cr_expect(st_filter_match(&f, NULL, &v6));
  st_filter g = {0};
  cr_assert_eq(st_filter_add_protocol(&g, "udp", err, sizeof err), 0);
  cr_expect_not(st_filter_match(&g, NULL, &v4));
  v4.protocol = 17;
  cr_expect(st_filter_match(&g, NULL, &v4));
  cr_expect_eq(st_filter_add_family(&g, "ipx", err, sizeof err), ST_EINVAL);
  cr_expect_eq(st_filter_add_protocol(&g, "nope", err, sizeof err), ST_EINVAL);
}

Test(filter, events_by_name_and_id) {
  st_filter f = {0};
  cr_assert_eq(st_filter_add_events(&f, "AfdConnectWithAddress,1032,TcpResetSent", err, sizeof err),
               0);
  cr_expect_eq(f.nevents, 3);
  st_event a = tcp_event(ST_EV_CONNECT_ADDR, 1, 1, "1.2.3.4", 80);
  st_event b = tcp_event(ST_EV_ABORT, 1, 1, NULL, 0);
  st_event c = tcp_event(ST_EV_TCP_RESET_SENT, 1, 1, NULL, 0);
  st_event d = tcp_event(ST_EV_CLOSE, 1, 1, NULL, 0);
  cr_expect(st_filter_match(&f, NULL, &a));
  cr_expect(st_filter_match(&f, NULL, &b));
  cr_expect(st_filter_match(&f, NULL, &c));
  cr_expect_not(st_filter_match(&f, NULL, &d));
  cr_expect_eq(st_filter_add_events(&f, "AfdNope", err, sizeof err), ST_EINVAL);
  cr_expect(strstr(err, "AfdNope") != NULL);
  cr_expect_eq(st_filter_add_events(&f, "4242", err, sizeof err), ST_EINVAL);
}

Test(filter, process_tree_follows_ppid) {
  st_filter f = {.tree_root = 100};
  st_filter_state *st = st_filter_state_new();
  st_event root = tcp_event(ST_EV_CREATE, 100, 1, NULL, 0);
  st_event child = tcp_event(ST_EV_CREATE, 101, 2, NULL, 0);
  child.ppid = 100;
  child.has |= ST_HAS_PPID;
  st_event grandchild = tcp_event(ST_EV_CREATE, 102, 3, NULL, 0);
  grandchild.ppid = 101;
  grandchild.has |= ST_HAS_PPID;
  st_event child_later = tcp_event(ST_EV_CLOSE, 101, 2, NULL, 0); /* no ppid */
  st_event stranger = tcp_event(ST_EV_CREATE, 200, 4, NULL, 0);
  stranger.ppid = 1;
  stranger.has |= ST_HAS_PPID;
  cr_expect(st_filter_match(&f, st, &root));
  cr_expect(st_filter_match(&f, st, &child));
  cr_expect(st_filter_match(&f, st, &grandchild));
  cr_expect(st_filter_match(&f, st, &child_later));
  cr_expect_not(st_filter_match(&f, st, &stranger));
  st_filter_state_free(st);
}

Test(filter, kinds_combine_with_and) {
  st_filter f = {0};
  st_filter_add_pid(&f, "42", err, sizeof err);
  st_filter_add_port(&f, "443", err, sizeof err);
  st_filter_add_protocol(&f, "tcp", err, sizeof err);
  st_event ok = tcp_event(ST_EV_CONNECT_ADDR, 42, 1, "1.1.1.1", 443);
  st_event wrong_pid = tcp_event(ST_EV_CONNECT_ADDR, 43, 2, "1.1.1.1", 443);
  st_event wrong_port = tcp_event(ST_EV_CONNECT_ADDR, 42, 3, "1.1.1.1", 80);
  cr_expect(st_filter_match(&f, NULL, &ok));
  cr_expect_not(st_filter_match(&f, NULL, &wrong_pid));
  cr_expect_not(st_filter_match(&f, NULL, &wrong_port));
}

Test(filter, loss_is_never_filtered_by_socket_filters) {
  st_filter f = {0};
  st_filter_add_pid(&f, "42", err, sizeof err);
  st_filter_add_port(&f, "443", err, sizeof err);
  st_event lost;
  st_event_init(&lost, ST_PROVIDER_EXT, ST_EV_EVENTS_LOST);
  cr_expect(st_filter_match(&f, NULL, &lost));
}
