/*
 * The built-in demo workload (`socktrace demo`): on loopback only, it makes
 * one refused connect, one successful TCP exchange, one UDP datagram and one
 * connection reset, so a first trace shows the events that matter.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

static int listener(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4) ||
      getsockname(fd, (struct sockaddr *)&a, &len))
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

static int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int refused_connect(void) {
  /* A port that was free a moment ago: bound, then released unlistened. */
  uint16_t port;
  int probe = listener(&port);
  if (probe < 0)
    return -1;
  close(probe);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  close(fd);
  return rc == 0 ? -1 : 0;
}

static int tcp_exchange(void) {
  uint16_t port;
  int l = listener(&port);
  int c = l < 0 ? -1 : connect_to(port);
  int s = c < 0 ? -1 : accept(l, NULL, NULL);
  char buf[64];
  int ok = s >= 0 && send(c, "hello", 5, 0) == 5 && recv(s, buf, sizeof buf, 0) == 5 &&
           send(s, "world!", 6, 0) == 6 && recv(c, buf, sizeof buf, 0) == 6;
  if (c >= 0)
    close(c);
  if (s >= 0) {
    (void)recv(s, buf, sizeof buf, 0); /* the client's FIN */
    close(s);
  }
  if (l >= 0)
    close(l);
  return ok ? 0 : -1;
}

static int udp_datagram(void) {
  int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  char buf[64];
  int ok = r >= 0 && w >= 0 && bind(r, (struct sockaddr *)&a, sizeof a) == 0 &&
           getsockname(r, (struct sockaddr *)&a, &len) == 0 &&
           sendto(w, "ping", 4, 0, (struct sockaddr *)&a, sizeof a) == 4 &&
           recvfrom(r, buf, sizeof buf, 0, NULL, NULL) == 4;
  close(r);
  close(w);
  return ok ? 0 : -1;
}

static int reset(void) {
  uint16_t port;
  int l = listener(&port);
  int c = l < 0 ? -1 : connect_to(port);
  int s = c < 0 ? -1 : accept(l, NULL, NULL);
  char buf[16];
  int ok = s >= 0;
  if (ok) {
    /* SO_LINGER with a zero timeout makes close() send a RST. */
    struct linger lg = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c);
    c = -1;
    ok = recv(s, buf, sizeof buf, 0) < 0; /* ECONNRESET */
  }
  if (c >= 0)
    close(c);
  if (s >= 0)
    close(s);
  if (l >= 0)
    close(l);
  return ok ? 0 : -1;
}

int cli_demo_workload(void) {
  /* Name the process for what it is in the trace, not "socktrace". */
  prctl(PR_SET_NAME, "demo-workload", 0, 0, 0);
  int failed = 0;
  failed |= refused_connect() != 0;
  failed |= tcp_exchange() != 0;
  failed |= udp_datagram() != 0;
  failed |= reset() != 0;
  if (failed)
    fprintf(stderr, "socktrace demo: a workload step did not behave as expected\n");
  return failed;
}
