/*
 * Live capture on loopback (root): the test starts a session with the pcap
 * backend on "lo", then makes a refused connect, a successful exchange with
 * an orderly close, and a connection the server resets, and asserts the
 * events the wire gives for each. The capture filter names only this test's
 * ports, so other loopback traffic on the machine cannot disturb it.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pcap_backend.h"
#include "pcap_testutil.h"

static int tcp_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0, "socket: %s", strerror(errno));
  return fd;
}

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* Binds fd to 127.0.0.1 on a free port and returns the port. */
static uint16_t bind_any(int fd) {
  struct sockaddr_in a = loopback(0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

static int connect_to(uint16_t port, uint16_t *local_port) {
  int fd = tcp_socket();
  struct sockaddr_in a = loopback(port);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  int err = rc < 0 ? errno : 0;
  struct sockaddr_in l;
  socklen_t len = sizeof l;
  getsockname(fd, (struct sockaddr *)&l, &len);
  *local_port = ntohs(l.sin_port);
  errno = err;
  return rc < 0 ? -fd : fd;
}

typedef struct ports {
  uint16_t closed, server;
  uint16_t refused_client, ok_client, reset_client;
} ports;

/* The workload: refused connect, exchange + FINs, server-side reset. */
static void workload(ports *p, int listener) {
  int fd = connect_to(p->closed, &p->refused_client);
  cr_assert(fd < 0 && errno == ECONNREFUSED, "the connect is refused");
  close(-fd);

  int c = connect_to(p->server, &p->ok_client);
  cr_assert(c >= 0, "connect: %s", strerror(errno));
  int s = accept(listener, NULL, NULL);
  cr_assert(s >= 0);
  char buf[16];
  cr_assert_eq(send(c, "hello", 5, 0), 5);
  cr_assert_eq(recv(s, buf, sizeof buf, 0), 5);
  cr_assert_eq(send(s, "world!", 6, 0), 6);
  cr_assert_eq(recv(c, buf, sizeof buf, 0), 6);
  shutdown(c, SHUT_WR);
  cr_assert_eq(recv(s, buf, sizeof buf, 0), 0, "the server sees the FIN");
  close(s);
  cr_assert_eq(recv(c, buf, sizeof buf, 0), 0, "the client sees the FIN");
  close(c);

  c = connect_to(p->server, &p->reset_client);
  cr_assert(c >= 0);
  s = accept(listener, NULL, NULL);
  cr_assert(s >= 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(s); /* abortive close: RST */
  ssize_t n = recv(c, buf, sizeof buf, 0);
  cr_assert(n < 0 && errno == ECONNRESET, "the client is reset");
  close(c);
}

static void on_stop(uv_timer_t *t) {
  st_session_stop(t->data);
  uv_close((uv_handle_t *)t, NULL);
}

static const st_event *find(const st_collect *c, uint16_t id, uint16_t lport, uint16_t rport) {
  for (size_t i = 0; i < c->count; i++) {
    const st_event *e = &c->events[i];
    if (e->id == id && e->local.port == lport && e->remote.port == rport)
      return e;
  }
  return NULL;
}

Test(pcap_live, loopback_refused_exchange_reset, .timeout = 60) {
  ST_REQUIRE_ROOT();
  ports p;
  memset(&p, 0, sizeof p);
  int closed = tcp_socket(); /* bound, never listening: connects get RST */
  p.closed = bind_any(closed);
  int listener = tcp_socket();
  p.server = bind_any(listener);
  cr_assert_eq(listen(listener, 8), 0);

  char filter[128];
  snprintf(filter, sizeof filter, "tcp and host 127.0.0.1 and (port %u or port %u)", p.closed,
           p.server);
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.level = ST_LEVEL_VERBOSE;
  st_session *s;
  cr_assert_eq(st_session_new(&loop, &cfg, &s), 0);
  st_backend *b;
  st_pcap_options opt = {.iface = "lo", .bpf_filter = filter};
  cr_assert_eq(st_backend_pcap_new(&opt, &b), 0);
  st_session_set_backend(s, b);
  st_collect col;
  memset(&col, 0, sizeof col);
  st_sink *sink;
  st_sink_collect_new(&col, &sink);
  st_session_add_sink(s, sink);
  cr_assert_eq(st_session_start(s), 0, "%s", st_session_error(s));

  /* The kernel keeps the frames in the capture ring until the loop reads
   * them, so the workload can run here, before the loop. */
  workload(&p, listener);
  uv_timer_t stop;
  uv_timer_init(&loop, &stop);
  stop.data = s;
  uv_timer_start(&stop, on_stop, 500, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(s), 0, "%s", st_session_error(s));
  st_session_free(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0);
  close(listener);
  close(closed);

  cr_assert(col.ended);
  for (size_t i = 0; i < col.count; i++) {
    cr_expect_eq(col.events[i].os, ST_OS_WIRE);
    cr_expect_eq(col.events[i].pid, 0, "never an invented pid");
  }
  /* Refused. */
  const st_event *e = find(&col, ST_EV_CONNECT_ADDR, p.refused_client, p.closed);
  cr_expect(e && e->enter_exit == ST_EE_ENTER, "the refused connect's request");
  e = find(&col, ST_EV_CONNECT, p.refused_client, p.closed);
  cr_expect(e && e->status.code == ST_REFUSED, "refused");
  /* Exchange and orderly close. */
  e = find(&col, ST_EV_CONNECT, p.ok_client, p.server);
  cr_expect(e && e->status.code == ST_OK, "connected");
  cr_expect(find(&col, ST_EV_ACCEPT_ADDR, p.server, p.ok_client), "accepted");
  e = find(&col, ST_EV_DATA_INDICATION_ADDR, p.server, p.ok_client);
  cr_expect(e && e->bytes == 5, "the server got 5 bytes");
  e = find(&col, ST_EV_DATA_INDICATION_ADDR, p.ok_client, p.server);
  cr_expect(e && e->bytes == 6, "the client got 6 bytes");
  cr_expect(find(&col, ST_EV_DISCONNECT, p.server, p.ok_client), "the server saw the FIN");
  cr_expect(find(&col, ST_EV_DISCONNECT, p.ok_client, p.server), "the client saw the FIN");
  cr_expect(find(&col, ST_EV_CLEANUP, p.ok_client, p.server), "closed");
  e = find(&col, ST_EV_ENDPOINT_SUMMARY, p.ok_client, p.server);
  cr_expect(e && e->summary.bytes_sent == 5 && e->summary.bytes_received == 6,
            "the client's summary");
  /* Reset by the server. */
  e = find(&col, ST_EV_CONNECT, p.reset_client, p.server);
  cr_expect(e && e->status.code == ST_OK, "the second connect succeeded");
  e = find(&col, ST_EV_ABORT, p.reset_client, p.server);
  cr_expect(e && e->reason == ST_ABORT_TRANSPORT_RESET && e->status.code == ST_RESET,
            "the client's abort, reason 4");
  cr_expect(find(&col, ST_EV_TCP_RESET_SENT, p.server, p.reset_client), "the server sent it");
  st_collect_free(&col);
}

Test(pcap_live, no_such_interface) {
  ST_REQUIRE_ROOT();
  uv_loop_t loop;
  uv_loop_init(&loop);
  st_session_config cfg;
  memset(&cfg, 0, sizeof cfg);
  st_session *s;
  cr_assert_eq(st_session_new(&loop, &cfg, &s), 0);
  st_backend *b;
  st_pcap_options opt = {.iface = "st-no-such0"};
  cr_assert_eq(st_backend_pcap_new(&opt, &b), 0);
  st_session_set_backend(s, b);
  cr_expect_lt(st_session_start(s), 0);
  cr_expect(strstr(st_session_error(s), "cannot capture on st-no-such0"), "%s",
            st_session_error(s));
  st_session_free(s);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}
