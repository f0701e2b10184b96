/*
 * Live tests of the eBPF backend: real sockets on loopback (and in a network
 * namespace the test makes), traced through a real session, asserting the
 * exact event sequence and fields. Every session is scoped to the test's
 * own process (or process tree), so other activity on the machine cannot
 * change what a test sees.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ebpf/ebpf.h"
#include "ebpf/live.h"

#define MAXEV 64

static live L;

/* What the running kernel offers: the tests assert what it cannot give is
 * absent, and everything else present. */
static st_ebpf_kernel kernel(void) {
  st_ebpf_kernel k;
  cr_assert_eq(st_ebpf_probe_kernel(&k), 0, "the kernel has BTF");
  return k;
}

static void start_level(int level) {
  st_session_config cfg = {.level = (uint8_t)level};
  cr_assert_eq(live_start(&L, &cfg, 0), 0, "session start: %s", st_session_error(L.s));
}

static void fini(void) {
  live_free(&L);
}

/* Asserts that the endpoint's events are exactly ids[] with enter_exit ee[]. */
static void expect_sequence(uint64_t ep, const uint16_t *ids, const uint8_t *ee, size_t n,
                            const char *what) {
  const st_event *evs[MAXEV];
  size_t got = live_endpoint_events(&L, ep, evs, MAXEV);
  char seq[512] = "";
  for (size_t i = 0; i < got; i++)
    snprintf(seq + strlen(seq), sizeof seq - strlen(seq), " %u/%u", evs[i]->id, evs[i]->enter_exit);
  cr_assert_eq(got, n, "%s: %zu events, want %zu:%s", what, got, n, seq);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(evs[i]->id, ids[i], "%s event %zu:%s", what, i, seq);
    cr_assert_eq(evs[i]->enter_exit, ee[i], "%s event %zu enter_exit:%s", what, i, seq);
  }
}

static void expect_owner(const st_event *e) {
  cr_assert_eq(e->pid, (uint32_t)getpid(), "event %u pid %u", e->id, e->pid);
  cr_assert_neq(e->tid, 0u);
  cr_assert_neq(e->comm[0], '\0');
  /* The thread's name as the kernel has it (a thread gone since: not
   * checked). */
  char path[64], name[32] = "";
  snprintf(path, sizeof path, "/proc/self/task/%u/comm", e->tid);
  FILE *f = fopen(path, "r");
  if (f && fgets(name, sizeof name, f)) {
    name[strcspn(name, "\n")] = '\0';
    cr_assert_str_eq(e->comm, name, "event %u comm", e->id);
  }
  if (f)
    fclose(f);
  cr_assert(e->has & ST_HAS_PPID);
  cr_assert_eq(e->ppid, (uint32_t)getppid());
}

static void expect_status(const st_event *e, st_code code, uint32_t native) {
  cr_assert(e->has & ST_HAS_STATUS, "event %u has a status", e->id);
  cr_assert_eq(e->status.code, code, "event %u status %s, want %s", e->id,
               st_code_name(e->status.code), st_code_name(code));
  cr_assert_eq(e->status.domain, ST_DOMAIN_ERRNO);
  cr_assert_eq(e->status.native, native, "event %u native %u", e->id, e->status.native);
}

static void expect_loopback(const st_addr *a, int family, uint16_t port) {
  cr_assert_eq(a->family, family == AF_INET6 ? ST_FAMILY_INET6 : ST_FAMILY_INET);
  cr_assert_eq(a->port, port);
  if (family == AF_INET6)
    cr_assert_eq(memcmp(a->addr, &in6addr_loopback, 16), 0);
  else
    cr_assert_eq(memcmp(a->addr, "\x7f\0\0\1", 4), 0);
}

/* connect + accept + send + recv + close at level 4, then the summaries. */
static void tcp_exchange(int family) {
  uint16_t lport;
  char buf[16];

  start_level(4);
  int lfd = tcp_listener(family, &lport);
  int cfd = tcp_connect_to(family, lport, 0);
  cr_assert(lfd >= 0 && cfd >= 0);
  uint16_t cport = local_port(cfd);
  int sfd = accept(lfd, NULL, NULL);
  cr_assert(sfd >= 0);
  cr_assert_eq(send(cfd, "hello", 5, 0), 5);
  cr_assert_eq(recv(sfd, buf, sizeof buf, 0), 5);
  cr_assert_eq(send(sfd, "world!", 6, 0), 6);
  cr_assert_eq(recv(cfd, buf, sizeof buf, 0), 6);
  close(cfd);
  close(sfd);
  close(lfd);
  live_stop(&L);

  uint64_t lep = live_endpoint_of_port(&L, lport);
  const st_event *acc = live_find(&L, ST_EV_ACCEPT_ADDR, ST_EE_EXIT, 0);
  cr_assert(lep && acc);
  uint64_t sep = acc->accept_endpoint;
  const st_event *conn = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_ENTER, 0);
  cr_assert(conn);
  uint64_t cep = conn->endpoint;
  cr_assert(lep != sep && sep != cep && cep != lep, "three distinct endpoints");

  static const uint16_t lids[] = {ST_EV_CREATE,          ST_EV_BIND_ADDR, ST_EV_LISTEN,
                                  ST_EV_ACCEPT_ADDR,     ST_EV_CLEANUP,   ST_EV_CLOSE,
                                  ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t lee[] = {1, 1, 1, 1, 1, 1, 2};
  expect_sequence(lep, lids, lee, 7, "listener");
  static const uint16_t cids[] = {ST_EV_CREATE,  ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,
                                  ST_EV_CLEANUP, ST_EV_CLOSE,        ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t cee[] = {1, 0, 1, 1, 1, 2};
  expect_sequence(cep, cids, cee, 6, "client");
  static const uint16_t sids[] = {ST_EV_CREATE, ST_EV_DISCONNECT, ST_EV_CLEANUP, ST_EV_CLOSE,
                                  ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t see[] = {1, 3, 1, 1, 2};
  expect_sequence(sep, sids, see, 5, "accepted");

  const st_event *evs[MAXEV];
  live_endpoint_events(&L, cep, evs, MAXEV);
  for (int i = 0; i < 6; i++) {
    expect_owner(evs[i]);
    cr_assert_eq(evs[i]->family, family == AF_INET6 ? ST_FAMILY_INET6 : ST_FAMILY_INET);
    cr_assert_eq(evs[i]->type, ST_TYPE_STREAM);
    cr_assert_eq(evs[i]->protocol, 6);
    cr_assert_eq(evs[i]->level, 4);
    cr_assert_eq(evs[i]->keywords, ST_KW_STREAM | (i == 5 ? ST_KW_SUMMARY : ST_KW_WINSOCK));
    cr_assert_eq(evs[i]->flags & ST_FLAG_PREEXISTING, 0);
  }
  expect_status(evs[0], ST_OK, 0);
  expect_loopback(&evs[1]->remote, family, lport);
  expect_loopback(&evs[2]->remote, family, lport);
  expect_loopback(&evs[2]->local, family, cport);
  expect_status(evs[2], ST_OK, 0);
  /* Level 4 reads TCP's own counters at close: bytes and RTT, no calls
   * (no per-call program runs at level 4). The summary stands alone: it
   * names its connection. */
  const st_summary *sum = &evs[5]->summary;
  cr_assert(evs[5]->has & ST_HAS_SUMMARY);
  cr_assert_eq(sum->bytes_sent, 5);
  cr_assert_eq(sum->bytes_received, 6);
  cr_assert(sum->flags & ST_SUMMARY_NO_CALLS);
  cr_assert_eq(sum->sends, 0);
  cr_assert_eq(sum->receives, 0);
  cr_assert_gt(sum->rtt_us, 0);
  cr_assert_eq(sum->first_error.code, ST_OK);
  cr_assert_gt(sum->duration_ns, 0);
  expect_loopback(&evs[5]->local, family, cport);
  expect_loopback(&evs[5]->remote, family, lport);

  cr_assert_eq(acc->endpoint, lep);
  expect_loopback(&acc->remote, family, cport);
  expect_status(acc, ST_OK, 0);
  const st_event *disc = live_find(&L, ST_EV_DISCONNECT, -1, 0);
  expect_owner(disc); /* raised by the stack, attributed to the owner */
  cr_assert_eq(disc->keywords, ST_KW_STREAM | ST_KW_TRANSPORT);
  const st_event *ssum = NULL;
  live_endpoint_events(&L, sep, evs, MAXEV);
  ssum = evs[4];
  cr_assert_eq(ssum->summary.bytes_sent, 6);
  cr_assert_eq(ssum->summary.bytes_received, 5); /* the client's FIN is not data */
  expect_loopback(&ssum->local, family, lport);
  expect_loopback(&ssum->remote, family, cport);
  cr_assert_eq(evs[0]->flags & ST_FLAG_PREEXISTING, 0);
  expect_loopback(&evs[0]->local, family, lport);
}

Test(ebpf_live, tcp_exchange_ipv4, .fini = fini) {
  ST_REQUIRE_ROOT();
  tcp_exchange(AF_INET);
}

Test(ebpf_live, tcp_exchange_ipv6, .fini = fini) {
  ST_REQUIRE_ROOT();
  tcp_exchange(AF_INET6);
}

/* A port with a bound socket that does not listen answers SYN with RST. */
static int closed_port(uint16_t *port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  fill_loopback(AF_INET, 0, &ss, &len);
  cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
  *port = local_port(fd);
  return fd;
}

Test(ebpf_live, connect_refused_blocking, .fini = fini) {
  ST_REQUIRE_ROOT();
  uint16_t port;
  start_level(4);
  int hold = closed_port(&port);
  int fd = tcp_connect_to(AF_INET, port, 0);
  cr_assert_eq(errno, ECONNREFUSED);
  close(fd);
  close(hold);
  live_stop(&L);

  const st_event *enter = NULL;
  for (size_t i = 0; i < L.c.count && !enter; i++)
    if (L.c.events[i].id == ST_EV_CONNECT_ADDR && L.c.events[i].remote.port == port)
      enter = &L.c.events[i];
  cr_assert(enter);
  static const uint16_t ids[] = {ST_EV_CREATE,  ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,
                                 ST_EV_CLEANUP, ST_EV_CLOSE,        ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, 0, 1, 1, 1, 2};
  expect_sequence(enter->endpoint, ids, ee, 6, "refused client");
  const st_event *evs[MAXEV];
  live_endpoint_events(&L, enter->endpoint, evs, MAXEV);
  expect_status(evs[2], ST_REFUSED, 111);
  cr_assert_eq(evs[5]->summary.first_error.code, ST_REFUSED);
  cr_assert_eq(evs[5]->summary.final_status.code, ST_REFUSED);
}

Test(ebpf_live, connect_refused_nonblocking, .fini = fini) {
  ST_REQUIRE_ROOT();
  uint16_t port;
  start_level(4);
  int hold = closed_port(&port);
  int fd = tcp_connect_to(AF_INET, port, SOCK_NONBLOCK);
  cr_assert_eq(errno, EINPROGRESS);
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  cr_assert_eq(poll(&p, 1, 5000), 1);
  int err = 0;
  socklen_t elen = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  cr_assert_eq(err, ECONNREFUSED);
  close(fd);
  close(hold);
  live_stop(&L);

  const st_event *enter = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_ENTER, 0);
  cr_assert(enter);
  static const uint16_t ids[] = {ST_EV_CREATE,          ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,
                                 ST_EV_CONNECT,         ST_EV_CLEANUP,      ST_EV_CLOSE,
                                 ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, 0, 1, 3, 1, 1, 2};
  expect_sequence(enter->endpoint, ids, ee, 7, "non-blocking refused client");
  const st_event *evs[MAXEV];
  live_endpoint_events(&L, enter->endpoint, evs, MAXEV);
  expect_status(evs[2], ST_PENDING, 115);
  expect_status(evs[3], ST_REFUSED, 111);
  cr_assert_eq(evs[3]->keywords, ST_KW_STREAM | ST_KW_TRANSPORT);
  expect_owner(evs[3]);
}

/* A namespace of the test's own with only lo, and TEST-NET-1 routed onto
 * lo: a SYN to 192.0.2.2 loops back to a namespace that neither owns that
 * address nor forwards, so it is dropped and never answered. Nothing leaves
 * the namespace. */
static char netns[64];

static void netns_fini(void) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null", netns);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove netns %s\n", netns);
  fini();
}

Test(ebpf_live, connect_timeout_in_netns, .fini = netns_fini, .timeout = 30) {
  ST_REQUIRE_ROOT();
  char cmd[512];
  snprintf(netns, sizeof netns, "st-ebpf-%d", getpid());
  snprintf(cmd, sizeof cmd,
           "ip netns add %1$s && ip -n %1$s link set lo up && "
           "ip -n %1$s route add 192.0.2.0/24 dev lo",
           netns);
  cr_assert_eq(system(cmd), 0, "cannot make network namespace %s", netns);

  char path[128];
  snprintf(path, sizeof path, "/run/netns/%s", netns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  cr_assert(nsfd >= 0 && home >= 0);
  start_level(4);
  cr_assert_eq(setns(nsfd, CLONE_NEWNET), 0);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  cr_assert_eq(setns(home, CLONE_NEWNET), 0);
  int syncnt = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
  inet_pton(AF_INET, "192.0.2.2", &to.sin_addr);
  cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof to), -1);
  cr_assert_eq(errno, EINPROGRESS);
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  cr_assert_eq(poll(&p, 1, 20000), 1);
  int err = 0;
  socklen_t elen = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  cr_assert_eq(err, ETIMEDOUT);
  close(fd);
  close(nsfd);
  close(home);
  live_stop(&L);

  const st_event *enter = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_ENTER, 0);
  cr_assert(enter);
  cr_assert_eq(enter->remote.port, 9);
  cr_assert_eq(memcmp(enter->remote.addr, "\xc0\x00\x02\x02", 4), 0);
  /* Create, connect enter/exit, one TcpRetransmit per SYN retransmission
   * (the kernel's count, however many TCP_SYNCNT allows), then the
   * completion and the end of the socket. */
  const st_event *evs[MAXEV];
  size_t n = live_endpoint_events(&L, enter->endpoint, evs, MAXEV);
  cr_assert_geq(n, 8);
  size_t retrans = n - 7;
  static const uint16_t head[] = {ST_EV_CREATE, ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR};
  static const uint16_t tail[] = {ST_EV_CONNECT, ST_EV_CLEANUP, ST_EV_CLOSE,
                                  ST_EV_ENDPOINT_SUMMARY};
  for (size_t i = 0; i < 3; i++)
    cr_assert_eq(evs[i]->id, head[i], "event %zu", i);
  for (size_t i = 0; i < retrans; i++) {
    cr_assert_eq(evs[3 + i]->id, ST_EV_TCP_RETRANSMIT, "event %zu", 3 + i);
    cr_assert_eq(evs[3 + i]->enter_exit, ST_EE_TRANSPORT);
    expect_owner(evs[3 + i]); /* the SYN retransmit runs from a timer */
    cr_assert_eq(evs[3 + i]->remote.port, 9);
  }
  for (size_t i = 0; i < 4; i++)
    cr_assert_eq(evs[3 + retrans + i]->id, tail[i], "event %zu", 3 + retrans + i);
  expect_status(evs[2], ST_PENDING, 115);
  const st_event *done = evs[3 + retrans];
  cr_assert_eq(done->enter_exit, ST_EE_TRANSPORT);
  expect_status(done, ST_TIMED_OUT, 110);
  expect_owner(done);
  cr_assert_eq(evs[n - 1]->summary.retransmits, retrans);
  cr_assert_eq(evs[n - 1]->summary.final_status.code, ST_TIMED_OUT);
}

Test(ebpf_live, peer_reset_with_linger_zero, .fini = fini) {
  ST_REQUIRE_ROOT();
  uint16_t lport;
  char buf[8];
  start_level(4);
  int lfd = tcp_listener(AF_INET, &lport);
  int cfd = tcp_connect_to(AF_INET, lport, 0);
  int sfd = accept(lfd, NULL, NULL);
  cr_assert(sfd >= 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  cr_assert_eq(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(cfd);
  cr_assert_eq(recv(sfd, buf, sizeof buf, 0), -1);
  cr_assert_eq(errno, ECONNRESET);
  close(sfd);
  close(lfd);
  live_stop(&L);

  const st_event *acc = live_find(&L, ST_EV_ACCEPT_ADDR, -1, 0);
  const st_event *conn = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_ENTER, 0);
  cr_assert(acc && conn);
  /* One close record: Abort (the close resets), Cleanup, Close, Summary;
   * the RST itself goes out as the kernel releases the socket, after the
   * call on older kernels and inside it since 6.8, so it follows on all. */
  static const uint16_t cids[] = {
      ST_EV_CREATE,  ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR,     ST_EV_ABORT,
      ST_EV_CLEANUP, ST_EV_CLOSE,        ST_EV_ENDPOINT_SUMMARY, ST_EV_TCP_RESET_SENT};
  static const uint8_t cee[] = {1, 0, 1, 0, 1, 1, 2, 3};
  expect_sequence(conn->endpoint, cids, cee, 8, "aborting client");
  static const uint16_t sids[] = {ST_EV_CREATE,  ST_EV_ABORT, ST_EV_RECEIVE,
                                  ST_EV_CLEANUP, ST_EV_CLOSE, ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t see[] = {1, 3, 1, 1, 1, 2};
  expect_sequence(acc->accept_endpoint, sids, see, 6, "reset server");

  const st_event *evs[MAXEV];
  live_endpoint_events(&L, conn->endpoint, evs, MAXEV);
  cr_assert_eq(evs[3]->reason, ST_ABORT_LOCAL);
  cr_assert_eq(evs[3]->level, 2);
  expect_status(evs[3], ST_ABORTED, 103);
  cr_assert_eq(evs[7]->local.port, evs[2]->local.port);
  cr_assert_eq(evs[7]->remote.port, lport);
  expect_owner(evs[7]);
  cr_assert_eq(evs[6]->summary.final_status.code, ST_ABORTED);
  live_endpoint_events(&L, acc->accept_endpoint, evs, MAXEV);
  cr_assert_eq(evs[1]->reason, ST_ABORT_TRANSPORT_RESET);
  cr_assert_eq(evs[1]->keywords, ST_KW_STREAM | ST_KW_TRANSPORT);
  expect_status(evs[1], ST_RESET, 104);
  expect_owner(evs[1]);
  expect_status(evs[2], ST_RESET, 104);
  cr_assert_eq(evs[2]->level, 4, "a failed receive is level 4");
  cr_assert_eq(evs[5]->summary.first_error.code, ST_RESET);
}

Test(ebpf_live, udp_sendto_recvfrom_verbose, .fini = fini) {
  ST_REQUIRE_ROOT();
  struct sockaddr_storage ss, from;
  socklen_t len, flen = sizeof from;
  char buf[16];
  start_level(5);
  int rfd = socket(AF_INET, SOCK_DGRAM, 0);
  int sfd = socket(AF_INET, SOCK_DGRAM, 0);
  fill_loopback(AF_INET, 0, &ss, &len);
  cr_assert_eq(bind(rfd, (struct sockaddr *)&ss, len), 0);
  cr_assert_eq(bind(sfd, (struct sockaddr *)&ss, len), 0);
  uint16_t rport = local_port(rfd), sport = local_port(sfd);
  fill_loopback(AF_INET, rport, &ss, &len);
  cr_assert_eq(sendto(sfd, "ping", 4, 0, (struct sockaddr *)&ss, len), 4);
  cr_assert_eq(recvfrom(rfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  close(sfd);
  close(rfd);
  live_stop(&L);

  uint64_t rep = live_endpoint_of_port(&L, rport), sep = live_endpoint_of_port(&L, sport);
  static const uint16_t sids[] = {ST_EV_CREATE,  ST_EV_BIND_ADDR, ST_EV_SENDTO_ADDR,
                                  ST_EV_CLEANUP, ST_EV_CLOSE,     ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t see[] = {1, 1, 1, 1, 1, 2};
  expect_sequence(sep, sids, see, 6, "sender");
  /* Without sock:sk_data_ready (Linux 6.1) there is no data indication. */
  if (kernel().data_ready) {
    static const uint16_t rids[] = {ST_EV_CREATE,           ST_EV_BIND_ADDR, ST_EV_DATA_INDICATION,
                                    ST_EV_RECEIVEFROM_ADDR, ST_EV_CLEANUP,   ST_EV_CLOSE,
                                    ST_EV_ENDPOINT_SUMMARY};
    static const uint8_t ree[] = {1, 1, 3, 1, 1, 1, 2};
    expect_sequence(rep, rids, ree, 7, "receiver");
  } else {
    static const uint16_t rids[] = {ST_EV_CREATE,  ST_EV_BIND_ADDR, ST_EV_RECEIVEFROM_ADDR,
                                    ST_EV_CLEANUP, ST_EV_CLOSE,     ST_EV_ENDPOINT_SUMMARY};
    static const uint8_t ree[] = {1, 1, 1, 1, 1, 2};
    expect_sequence(rep, rids, ree, 6, "receiver");
    cr_assert_eq(live_count(&L, ST_EV_DATA_INDICATION), 0);
  }

  const st_event *send = live_find(&L, ST_EV_SENDTO_ADDR, -1, 0);
  cr_assert_eq(send->level, 5);
  cr_assert_eq(send->keywords, ST_KW_DATAGRAM | ST_KW_WINSOCK);
  cr_assert_eq(send->bytes, 4);
  cr_assert_eq(send->protocol, 17);
  expect_loopback(&send->remote, AF_INET, rport);
  expect_status(send, ST_OK, 0);
  expect_owner(send);
  const st_event *recv = live_find(&L, ST_EV_RECEIVEFROM_ADDR, -1, 0);
  cr_assert_eq(recv->bytes, 4);
  expect_loopback(&recv->remote, AF_INET, sport);
  expect_loopback(&recv->local, AF_INET, rport);
  expect_owner(recv);
  const st_event *sum = live_find(&L, ST_EV_ENDPOINT_SUMMARY, -1, 0);
  if (sum->endpoint != rep)
    sum = live_find(&L, ST_EV_ENDPOINT_SUMMARY, -1, (size_t)(sum - L.c.events) + 1);
  cr_assert_eq(sum->endpoint, rep);
  cr_assert_eq(sum->summary.bytes_received, 4);
  cr_assert_eq(sum->summary.receives, 1, "level 5 counts calls");
  cr_assert_eq(sum->summary.flags & ST_SUMMARY_NO_CALLS, 0);
}

Test(ebpf_live, bind_port_in_use, .fini = fini) {
  ST_REQUIRE_ROOT();
  uint16_t port;
  struct sockaddr_storage ss;
  socklen_t len;
  start_level(4);
  int a = tcp_listener(AF_INET, &port);
  int b = socket(AF_INET, SOCK_STREAM, 0);
  fill_loopback(AF_INET, port, &ss, &len);
  cr_assert_eq(bind(b, (struct sockaddr *)&ss, len), -1);
  cr_assert_eq(errno, EADDRINUSE);
  close(b);
  close(a);
  live_stop(&L);

  size_t binds = 0;
  const st_event *failed = NULL;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id != ST_EV_BIND_ADDR)
      continue;
    binds++;
    if (e->status.code != ST_OK)
      failed = e;
  }
  cr_assert_eq(binds, 2);
  cr_assert(failed);
  expect_status(failed, ST_ADDR_IN_USE, 98);
  expect_loopback(&failed->local, AF_INET, port);
  cr_assert_eq(failed->level, 4);
  expect_owner(failed);
}

Test(ebpf_live, unix_stream_paths, .fini = fini) {
  ST_REQUIRE_ROOT();
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/st-ebpf-%d.sock", getpid());
  unlink(sa.sun_path);
  start_level(4);
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(lfd, 4), 0);
  int cfd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
  int sfd = accept(lfd, NULL, NULL);
  cr_assert(sfd >= 0);
  close(sfd);
  close(cfd);
  close(lfd);
  unlink(sa.sun_path);
  live_stop(&L);

  const st_event *bind = live_find(&L, ST_EV_BIND_ADDR, -1, 0);
  const st_event *conn = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_EXIT, 0);
  const st_event *acc = live_find(&L, ST_EV_ACCEPT_ADDR, -1, 0);
  cr_assert(bind && conn && acc);
  cr_assert_eq(bind->family, ST_FAMILY_UNIX);
  cr_assert_eq(bind->local.family, ST_FAMILY_UNIX);
  cr_assert_str_eq(bind->local.path, sa.sun_path);
  cr_assert_str_eq(conn->remote.path, sa.sun_path);
  expect_status(conn, ST_OK, 0);
  cr_assert_str_eq(acc->local.path, sa.sun_path);
  cr_assert_neq(acc->accept_endpoint, 0);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CLEANUP, ST_EV_CLOSE, ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, 1, 1, 2};
  expect_sequence(acc->accept_endpoint, ids, ee, 4, "accepted unix socket");
  const st_event *evs[MAXEV];
  live_endpoint_events(&L, acc->accept_endpoint, evs, MAXEV);
  cr_assert_str_eq(evs[0]->local.path, sa.sun_path);
}

/* A process that waits on a pipe, then makes n UDP sockets; with fork_child
 * it first forks a child that does the same. */
static pid_t sockets_process(int gate, int n, bool fork_child) {
  pid_t pid = fork();
  if (pid != 0)
    return pid;
  char c;
  if (gate >= 0 && read(gate, &c, 1) != 1)
    _exit(2);
  pid_t kid = fork_child ? sockets_process(-1, n, false) : 0;
  for (int i = 0; i < n; i++)
    close(socket(AF_INET, SOCK_DGRAM, 0));
  if (kid > 0)
    waitpid(kid, NULL, 0);
  _exit(0);
}

Test(ebpf_live, process_tree_filter, .fini = fini) {
  ST_REQUIRE_ROOT();
  int gate[2];
  cr_assert_eq(pipe(gate), 0);
  pid_t root = sockets_process(gate[0], 3, true);
  pid_t other = sockets_process(gate[0], 3, false);
  st_session_config cfg = {.level = 4};
  cfg.filter.tree_root = (uint32_t)root;
  cr_assert_eq(live_start(&L, &cfg, 0), 0, "%s", st_session_error(L.s));
  cr_assert_eq(write(gate[1], "xx", 2), 2);
  for (int i = 0; i < 3; i++)
    close(socket(AF_INET, SOCK_DGRAM, 0)); /* this process is not in the tree */
  int st;
  waitpid(root, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  waitpid(other, &st, 0);
  live_stop(&L);

  size_t from_root = 0, from_kid = 0;
  pid_t kid = 0;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id != ST_EV_CREATE)
      continue;
    if (e->pid == (uint32_t)root) {
      from_root++;
    } else {
      cr_assert_eq(e->ppid, (uint32_t)root, "socket from pid %u outside the tree", e->pid);
      kid = e->pid;
      from_kid++;
    }
  }
  cr_assert_eq(from_root, 3);
  cr_assert_eq(from_kid, 3, "the forked child is followed");
  cr_assert_neq(kid, 0);
  cr_assert_eq(live_count(&L, ST_EV_CREATE), 6);
  cr_assert_eq(live_count(&L, ST_EV_CLOSE), 6);
}

Test(ebpf_live, tiny_ring_reports_exact_loss, .fini = fini) {
  ST_REQUIRE_ROOT();
  enum { N = 1000 };
  int fd = socket(AF_INET, SOCK_STREAM, 0); /* never connected: every send fails */
  st_session_config cfg = {.level = 4};
  cr_assert_eq(live_start(&L, &cfg, 4096), 0, "%s", st_session_error(L.s));
  /* The loop does not run during the burst: the ring fills and stays full. */
  for (int i = 0; i < N; i++)
    cr_assert_eq(send(fd, "x", 1, MSG_NOSIGNAL), -1);
  live_stop(&L);
  close(fd);

  size_t sends = 0;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id == ST_EV_SEND) {
      sends++;
      cr_assert_eq(e->status.code, ST_SHUTDOWN);
      cr_assert(e->flags & ST_FLAG_PREEXISTING);
    }
  }
  const st_event *lost = live_find(&L, ST_EV_EVENTS_LOST, -1, 0);
  cr_assert(lost, "an EventsLost event");
  cr_assert_eq(live_count(&L, ST_EV_EVENTS_LOST), 1);
  cr_assert_gt(lost->lost.count, 0);
  cr_assert_eq(lost->lost.where, ST_LOST_KERNEL_RING);
  cr_assert_eq(sends + lost->lost.count, N, "%zu delivered + %llu lost", sends,
               (unsigned long long)lost->lost.count);
  cr_assert_leq(lost->lost.from_ns, lost->lost.to_ns);
  cr_assert(L.c.ended);
  cr_assert_eq(L.c.counters.lost, lost->lost.count);
}

Test(ebpf_live, unprivileged_start_fails_with_one_line) {
  ST_REQUIRE_ROOT();
  pid_t pid = fork();
  if (pid == 0) {
    live l;
    st_session_config cfg = {.level = 4};
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(3);
    int rc = live_start(&l, &cfg, 0);
    const char *msg = st_session_error(l.s);
    bool ok =
        rc < 0 && strstr(msg, "run as root or grant CAP_BPF and CAP_PERFMON") && !strchr(msg, '\n');
    if (!ok)
      fprintf(stderr, "rc=%d error: %s\n", rc, msg);
    _exit(ok ? 0 : 1);
  }
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "unprivileged start must fail with the "
                                                   "privilege message");
}

/* Level 5's extra events on one TCP connection: AfdOption for setsockopt
 * and FIONBIO, AfdConnectIndication on the listener, TcpStateChange. */
Test(ebpf_live, options_indications_and_states_verbose, .fini = fini) {
  ST_REQUIRE_ROOT();
  start_level(5);
  uint16_t port;
  int l = tcp_listener(AF_INET, &port);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  int rcvbuf = 65536, one = 1;
  cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
  struct sockaddr_storage ss;
  socklen_t len;
  fill_loopback(AF_INET, port, &ss, &len);
  cr_assert_eq(connect(c, (struct sockaddr *)&ss, len), 0);
  uint16_t cport = local_port(c);
  int s = accept(l, NULL, NULL);
  cr_assert_geq(s, 0);
  cr_assert_eq(ioctl(c, FIONBIO, &one), 0);
  close(c);
  close(s);
  close(l);
  live_stop(&L);

  uint64_t cep = live_endpoint_of_port(&L, cport), lep = live_endpoint_of_port(&L, port);
  cr_assert_eq(live_count(&L, ST_EV_OPTION), 2);
  const st_event *o1 = live_find(&L, ST_EV_OPTION, -1, 0);
  cr_expect_eq(o1->endpoint, cep);
  cr_expect_eq(o1->level, 5);
  cr_expect(o1->has & ST_HAS_OPTION);
  cr_expect_eq(o1->option, 6, "SO_RCVBUF is AFD option 6");
  cr_expect_eq(o1->value, 65536);
  expect_status(o1, ST_OK, 0);
  expect_owner(o1);
  const st_event *o2 = live_find(&L, ST_EV_OPTION, -1, (size_t)(o1 - L.c.events) + 1);
  cr_expect_eq(o2->option, 2, "FIONBIO is AFD option 2");
  cr_expect_eq(o2->value, 1);

  const st_event *ind = live_find(&L, ST_EV_CONNECT_INDICATION_ADDR, -1, 0);
  cr_assert_not_null(ind);
  cr_expect_eq(ind->endpoint, lep, "raised on the listener");
  cr_expect_eq(ind->enter_exit, ST_EE_TRANSPORT);
  expect_loopback(&ind->remote, AF_INET, cport);
  expect_owner(ind);

  bool established = false;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id == ST_EV_TCP_STATE_CHANGE && e->endpoint == cep && e->old_state == ST_TCP_SYN_SENT &&
        e->new_state == ST_TCP_ESTABLISHED) {
      established = true;
      cr_expect(e->has & ST_HAS_STATE);
      expect_owner(e);
    }
  }
  cr_expect(established, "client SYN_SENT -> ESTABLISHED");
}

/* A UDP receiver that never reads, with the smallest receive buffer: the
 * kernel drops datagrams, and each drop is an AfdDatagramDropWithAddress
 * on the receiver with the sender's address and the kernel's reason. */
Test(ebpf_live, udp_receive_buffer_drops_verbose, .fini = fini) {
  ST_REQUIRE_ROOT();
  start_level(5);
  int rfd = socket(AF_INET, SOCK_DGRAM, 0), sfd = socket(AF_INET, SOCK_DGRAM, 0);
  int small = 1;
  cr_assert_eq(setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  struct sockaddr_storage ss;
  socklen_t len;
  fill_loopback(AF_INET, 0, &ss, &len);
  cr_assert_eq(bind(rfd, (struct sockaddr *)&ss, len), 0);
  uint16_t rport = local_port(rfd);
  fill_loopback(AF_INET, rport, &ss, &len);
  char buf[1000] = {0};
  for (int i = 0; i < 50; i++)
    cr_assert_eq(sendto(sfd, buf, sizeof buf, 0, (struct sockaddr *)&ss, len), (ssize_t)sizeof buf);
  uint16_t sport = local_port(sfd);
  close(sfd);
  close(rfd);
  live_stop(&L);

  uint64_t rep = live_endpoint_of_port(&L, rport);
  size_t drops = live_count(&L, ST_EV_DATAGRAM_DROP_ADDR);
  cr_assert_gt(drops, 0, "a 1-byte receive buffer drops datagrams");
  cr_expect_leq(drops, 50);
  const st_event *d = live_find(&L, ST_EV_DATAGRAM_DROP_ADDR, -1, 0);
  cr_expect_eq(d->endpoint, rep);
  cr_expect(d->has & ST_HAS_REASON);
  cr_expect_eq(d->reason, 2, "AFD drop reason 2: no buffer space");
  st_ebpf_kernel k = kernel();
  if (!k.kfree_skb_sk && !k.udp_drop_sender && !k.kfree_skb_reason) {
    /* 5.10: the queue failure names the socket and the error, no packet. */
    cr_expect_eq(d->remote.family, ST_FAMILY_NONE, "no sender where the kernel gives none");
    return;
  }
  cr_expect_eq(d->bytes, sizeof buf);
  expect_loopback(&d->remote, AF_INET, sport);
  cr_expect(d->has & ST_HAS_DETAIL, "the kernel's drop reason by name");
  cr_expect_not_null(strstr(d->detail, "SOCKET_RCVBUFF"), "%s", d->detail);
}

/* A scoped session (the default: this process) keeps many live sockets at
 * once in its set-associative table: each client's peer closing is its
 * Disconnect, a stack event that only a socket known to be traced gets. */
Test(ebpf_live, a_scoped_session_follows_many_live_sockets, .fini = fini) {
  ST_REQUIRE_ROOT();
  enum { N = 200 };
  int cfd[N], sfd[N];
  uint16_t lport;
  char c;
  st_session_config cfg = {.level = 4};
  cr_assert_eq(live_start(&L, &cfg, 0), 0, "%s", st_session_error(L.s));
  int lfd = tcp_listener(AF_INET, &lport);
  cr_assert(lfd >= 0);
  for (int i = 0; i < N; i++) {
    cfd[i] = tcp_connect_to(AF_INET, lport, 0);
    cr_assert(cfd[i] >= 0);
    sfd[i] = accept(lfd, NULL, NULL);
    cr_assert(sfd[i] >= 0);
  }
  for (int i = 0; i < N; i++)
    close(sfd[i]);
  for (int i = 0; i < N; i++)
    cr_assert_eq(recv(cfd[i], &c, 1, 0), 0, "the peer's FIN");
  for (int i = 0; i < N; i++)
    close(cfd[i]);
  close(lfd);
  live_stop(&L);

  size_t disconnects = 0, closes = 0;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id == ST_EV_DISCONNECT && e->remote.port == lport)
      disconnects++;
    if (e->id == ST_EV_CLOSE && (e->remote.port == lport || e->local.port == lport))
      closes++;
  }
  cr_assert_eq(disconnects, N, "a Disconnect for every client");
  cr_assert_eq(closes, 2 * N + 1, "a Close for every socket and the listener");
}

/* A process that dies holding a connection: the kernel frees the socket
 * once the FIN handshake is over, and that is its Close (from the socket
 * layer, enter_exit 4) and its summary, with the bytes the kernel counted,
 * attributed to the process that held it. */
Test(ebpf_live, a_socket_whose_process_died_ends_at_its_destroy, .fini = fini) {
  ST_REQUIRE_ROOT();
  uint16_t lport;
  char buf[16];
  st_session_config cfg = {.level = 4};
  cfg.filter.tree_root = (uint32_t)getpid();
  cr_assert_eq(live_start(&L, &cfg, 0), 0, "%s", st_session_error(L.s));
  int lfd = tcp_listener(AF_INET, &lport);
  pid_t kid = fork();
  if (kid == 0) {
    int fd = tcp_connect_to(AF_INET, lport, 0);
    if (fd < 0 || send(fd, "abc", 3, 0) != 3)
      _exit(1);
    _exit(0); /* no close(): the kernel closes it */
  }
  int sfd = accept(lfd, NULL, NULL);
  cr_assert(sfd >= 0);
  int st;
  waitpid(kid, &st, 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  cr_assert_eq(recv(sfd, buf, sizeof buf, 0), 3);
  cr_assert_eq(recv(sfd, buf, sizeof buf, 0), 0, "the peer's FIN");
  close(sfd); /* the kid's socket leaves FIN_WAIT2 and is freed */
  close(lfd);
  usleep(100000);
  live_stop(&L);

  const st_event *conn = live_find(&L, ST_EV_CONNECT_ADDR, ST_EE_ENTER, 0);
  cr_assert(conn);
  cr_assert_eq(conn->pid, (uint32_t)kid);
  static const uint16_t ids[] = {ST_EV_CREATE, ST_EV_CONNECT_ADDR, ST_EV_CONNECT_ADDR, ST_EV_CLOSE,
                                 ST_EV_ENDPOINT_SUMMARY};
  static const uint8_t ee[] = {1, 0, 1, ST_EE_AFD, 2};
  expect_sequence(conn->endpoint, ids, ee, 5, "the dead process's socket");
  const st_event *evs[MAXEV];
  live_endpoint_events(&L, conn->endpoint, evs, MAXEV);
  cr_assert_eq(evs[3]->pid, (uint32_t)kid, "attributed to the process that held it");
  cr_assert_eq(evs[4]->summary.bytes_sent, 3);
  cr_assert_eq(evs[4]->summary.bytes_received, 0);
  cr_assert_eq(evs[4]->remote.port, lport);
}

/* recv() on a connected datagram socket (recvfrom with no address): an
 * AfdReceive from the socket's peer, on every kernel. */
Test(ebpf_live, udp_connected_recv_verbose, .fini = fini) {
  ST_REQUIRE_ROOT();
  struct sockaddr_storage ss;
  socklen_t len;
  char buf[16];
  start_level(5);
  int rfd = socket(AF_INET, SOCK_DGRAM, 0), sfd = socket(AF_INET, SOCK_DGRAM, 0);
  fill_loopback(AF_INET, 0, &ss, &len);
  cr_assert_eq(bind(sfd, (struct sockaddr *)&ss, len), 0);
  uint16_t sport = local_port(sfd);
  fill_loopback(AF_INET, sport, &ss, &len);
  cr_assert_eq(connect(rfd, (struct sockaddr *)&ss, len), 0);
  uint16_t rport = local_port(rfd);
  fill_loopback(AF_INET, rport, &ss, &len);
  cr_assert_eq(sendto(sfd, "pong!", 5, 0, (struct sockaddr *)&ss, len), 5);
  cr_assert_eq(recv(rfd, buf, sizeof buf, 0), 5);
  /* recvmsg() without room for the sender, then with it: reported once
   * each, the first where the socket layer sees it, the second at the
   * call's return with the address. */
  struct sockaddr_in from;
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  cr_assert_eq(sendto(sfd, "ping", 4, 0, (struct sockaddr *)&ss, len), 4);
  cr_assert_eq(recvmsg(rfd, &m, 0), 4);
  m.msg_name = &from;
  m.msg_namelen = sizeof from;
  cr_assert_eq(sendto(sfd, "pin", 3, 0, (struct sockaddr *)&ss, len), 3);
  cr_assert_eq(recvmsg(rfd, &m, 0), 3);
  close(sfd);
  close(rfd);
  live_stop(&L);
  uint64_t rep = live_endpoint_of_port(&L, rport);
  const st_event *recv = NULL, *plain_msg = NULL, *addr_msg = NULL;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->endpoint != rep)
      continue;
    if (e->id == ST_EV_RECEIVE) {
      cr_assert_null(recv, "one AfdReceive");
      recv = e;
    } else if (e->id == ST_EV_RECEIVEMSG) {
      cr_assert_null(plain_msg, "one AfdReceiveMsg");
      plain_msg = e;
    } else if (e->id == ST_EV_RECEIVEMSG_ADDR) {
      cr_assert_null(addr_msg, "one AfdReceiveMsgWithAddress");
      addr_msg = e;
    }
  }
  cr_assert_not_null(plain_msg, "recvmsg() with no name is reported");
  cr_assert_eq(plain_msg->bytes, 4);
  cr_assert_not_null(addr_msg, "recvmsg() with a name is reported with it");
  cr_assert_eq(addr_msg->bytes, 3);
  expect_loopback(&addr_msg->remote, AF_INET, sport);
  cr_assert_not_null(recv, "recv() on the connected socket is reported");
  cr_assert_eq(recv->bytes, 5);
  cr_assert_eq(recv->level, 5);
  expect_status(recv, ST_OK, 0);
  expect_loopback(&recv->local, AF_INET, rport);
  expect_loopback(&recv->remote, AF_INET, sport);
  expect_owner(recv);
}

/* Level 4 counts a datagram socket's calls in the kernel where the socket
 * layer has a tracepoint for them (Linux 6.3); level 5 counts them from
 * its events on every kernel. */
static void udp_pair_summary(int level, st_summary *sender) {
  struct sockaddr_storage ss;
  socklen_t len;
  char buf[16];
  start_level(level);
  int rfd = socket(AF_INET, SOCK_DGRAM, 0), sfd = socket(AF_INET, SOCK_DGRAM, 0);
  fill_loopback(AF_INET, 0, &ss, &len);
  cr_assert_eq(bind(rfd, (struct sockaddr *)&ss, len), 0);
  fill_loopback(AF_INET, local_port(rfd), &ss, &len);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(sendto(sfd, "ping!", 5, 0, (struct sockaddr *)&ss, len), 5);
    cr_assert_eq(recv(rfd, buf, sizeof buf, 0), 5);
  }
  uint16_t sport = local_port(sfd);
  close(sfd);
  close(rfd);
  live_stop(&L);
  const st_event *sum = NULL;
  for (size_t i = 0; i < L.c.count; i++)
    if (L.c.events[i].id == ST_EV_ENDPOINT_SUMMARY && L.c.events[i].local.port == sport)
      sum = &L.c.events[i];
  cr_assert(sum, "the sender's summary names its port");
  *sender = sum->summary;
}

Test(ebpf_live, datagram_summaries_count_calls, .fini = fini) {
  ST_REQUIRE_ROOT();
  st_summary s;
  udp_pair_summary(4, &s);
  if (kernel().sock_length) {
    cr_assert_eq(s.bytes_sent, 15);
    cr_assert_eq(s.sends, 3);
    cr_assert_eq(s.flags & ST_SUMMARY_NO_CALLS, 0);
  } else {
    cr_assert_eq(s.bytes_sent, 0, "no level-4 datagram counts without sock_send_length");
  }
  live_free(&L);
  udp_pair_summary(5, &s);
  cr_assert_eq(s.bytes_sent, 15);
  cr_assert_eq(s.sends, 3);
}

/* SOCKTRACE_EBPF_FORCE loads a program the probe left out: on a kernel
 * without sock_send_length the load fails, and the one line names the
 * program, its tracepoint and the kernel's reason; where the kernel has it,
 * the program loads. */
Test(ebpf_live, a_load_error_names_its_program, .fini = fini) {
  ST_REQUIRE_ROOT();
  st_session_config cfg = {.level = 4};
  setenv("SOCKTRACE_EBPF_FORCE", "send_length", 1);
  int rc = live_start(&L, &cfg, 0);
  unsetenv("SOCKTRACE_EBPF_FORCE");
  if (kernel().sock_length) {
    cr_assert_eq(rc, 0, "%s", st_session_error(L.s));
    live_stop(&L);
    return;
  }
  const char *msg = st_session_error(L.s);
  cr_assert_lt(rc, 0);
  cr_assert_not_null(strstr(msg, "cannot load BPF program 'send_length'"), "%s", msg);
  cr_assert_not_null(strstr(msg, "sock_send_length"), "%s", msg);
  cr_assert_not_null(strstr(msg, "--debug"), "%s", msg);
  cr_assert_null(strchr(msg, '\n'), "one line");
}

/* The name of loaded program id into name[BPF_OBJ_NAME_LEN] ("" when it
 * is gone; the kernel keeps 15 characters). */
static void prog_name(__u32 id, char *name) {
  int fd = bpf_prog_get_fd_by_id(id);
  struct bpf_prog_info info;
  __u32 len = sizeof info;
  memset(&info, 0, sizeof info);
  if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    info.name[0] = 0;
  memcpy(name, info.name, BPF_OBJ_NAME_LEN);
  if (fd >= 0)
    close(fd);
}

/* Loaded BPF programs named name. */
static int programs_named(const char *name) {
  __u32 id = 0;
  int n = 0;
  char got[BPF_OBJ_NAME_LEN];
  while (bpf_prog_get_next_id(id, &id) == 0) {
    prog_name(id, got);
    n += !strcmp(got, name);
  }
  return n;
}

/* From Linux 6.2 (bpf_rdonly_cast) the socket calls' programs read the
 * socket in place, the copying ones load before it (common.bpf.h): the
 * session loads exactly one of each pair, the one the kernel calls for (a
 * verifier that refused the fast ones would fall back to the slow ones,
 * silently but for this test). */
Test(ebpf_live, socket_calls_read_in_place_from_linux_6_2, .fini = fini) {
  ST_REQUIRE_ROOT();
  struct utsname u;
  int major = 0, minor = 0;
  cr_assert_eq(uname(&u), 0);
  cr_assert_eq(sscanf(u.release, "%d.%d", &major, &minor), 2, "%s", u.release);
  /* Every kernel from 6.2 has it; an older one may have it backported
   * (RHEL's): there, what the probe found decides. */
  bool in_place = kernel().rdonly_cast;
  if (major > 6 || (major == 6 && minor >= 2))
    cr_assert(in_place, "the probe found no bpf_rdonly_cast on Linux %s", u.release);
  static const char *pairs[] = {"exit_socket",   "exit_bind",     "exit_listen", "exit_shutdown",
                                "enter_connect", "exit_connect",  "exit_accept", "exit_accept4",
                                "enter_close",   "exit_recvfrom", "exit_recvmsg"};
  enum { NPAIRS = sizeof pairs / sizeof *pairs };
  int before[NPAIRS][2];
  char fast[32];
  for (size_t i = 0; i < NPAIRS; i++) {
    snprintf(fast, sizeof fast, "%s_c", pairs[i]);
    before[i][0] = programs_named(pairs[i]);
    before[i][1] = programs_named(fast);
  }
  start_level(4);
  for (size_t i = 0; i < NPAIRS; i++) {
    snprintf(fast, sizeof fast, "%s_c", pairs[i]);
    cr_expect_eq(programs_named(pairs[i]) - before[i][0], in_place ? 0 : 1, "%s on Linux %s",
                 pairs[i], u.release);
    cr_expect_eq(programs_named(fast) - before[i][1], in_place ? 1 : 0, "%s on Linux %s", fast,
                 u.release);
  }
}

/* Links (attachments) whose program has one of these names. */
static int links_to(const char *const *names, size_t n) {
  __u32 id = 0;
  int count = 0;
  while (bpf_link_get_next_id(id, &id) == 0) {
    int fd = bpf_link_get_fd_by_id(id);
    struct bpf_link_info li;
    __u32 len = sizeof li;
    memset(&li, 0, sizeof li);
    if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &li, &len) == 0) {
      char got[BPF_OBJ_NAME_LEN];
      prog_name(li.prog_id, got);
      for (size_t i = 0; i < n; i++)
        count += !strcmp(got, names[i]);
    }
    if (fd >= 0)
      close(fd);
  }
  return count;
}

/* Stopping a session detaches every program before it returns
 * (ebpf_programs_detach destroys each link): none is attached once the
 * stop is over, though the session still holds them loaded. */
Test(ebpf_live, a_stopped_session_has_nothing_attached, .fini = fini) {
  ST_REQUIRE_ROOT();
  static const char *const ours[] = {"set_state",     "destroy_sock",   "receive_reset",
                                     "send_reset",    "retransmit",     "exit_socket",
                                     "exit_socket_c", "enter_close",    "enter_close_c",
                                     "enter_connect", "enter_connect_c"};
  size_t n = sizeof ours / sizeof *ours;
  int before = links_to(ours, n);
  start_level(4);
  int during = links_to(ours, n);
  /* The state-change tracepoint is a BPF link on every kernel we load on
   * (tp_btf, 5.5+); the syscall ones are too from 5.15 (perf links). */
  cr_assert_geq(during - before, 5, "%d links to our programs while tracing, %d before", during,
                before);
  live_stop(&L);
  cr_assert_eq(links_to(ours, n), before, "links left after the stop (%d while tracing)", during);
}

/* The process name in each record is the kernel's, whole and nothing
 * else: after a 15-character name, a 2-character one leaves nothing of
 * the first behind (the kernel side copies all 16 bytes). */
Test(ebpf_live, a_renamed_thread_is_named_exactly, .fini = fini) {
  ST_REQUIRE_ROOT();
  char old[16];
  cr_assert_eq(prctl(PR_GET_NAME, old), 0);
  start_level(4);
  cr_assert_eq(prctl(PR_SET_NAME, "fifteen-chars-x"), 0);
  cr_assert_eq(prctl(PR_SET_NAME, "ab"), 0);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  prctl(PR_SET_NAME, old);
  cr_assert_geq(fd, 0);
  close(fd);
  live_stop(&L);
  const st_event *create = NULL;
  for (size_t i = 0; i < L.c.count; i++)
    if (L.c.events[i].id == ST_EV_CREATE && L.c.events[i].tid == (uint32_t)gettid())
      create = &L.c.events[i];
  cr_assert_not_null(create);
  static const char want[ST_COMM_MAX] = "ab";
  cr_assert_eq(memcmp(create->comm, want, ST_COMM_MAX), 0, "comm %.16s", create->comm);
}
