/*
 * The workload the ptrace tests trace: one of each case the backend must
 * get right, in a fixed order, each socket's outcome known in advance.
 *
 *   1 a refused blocking connect        6 a UNIX stream socket (DIR/sock)
 *   2 a loopback TCP exchange           7 a reset (the peer closes with
 *   3 a non-blocking connect that         linger 0; recv sees ECONNRESET)
 *     succeeds                          8 a forked child's refused connect
 *   4 one that is refused               9 a thread's refused connect
 *   5 a UDP datagram
 *
 * Usage: workload DIR [PORT]: PORT, PORT+1 and PORT+2 are used for the
 * listener, the closed port and UDP (else ports the kernel picks), so that
 * two runs can be compared connection by connection. Exits 7 so that the test sees the status
 * passed through; any unexpected result exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "workload: %s failed at line %d: %s\n", #c, __LINE__, strerror(errno));      \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static uint16_t port_of(int s) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
  return ntohs(a.sin_port);
}

/* A port nobody listens on: bound (so nobody else takes it), never listening. */
static uint16_t base; /* PORT, or 0 */

static uint16_t fixed(int i) {
  return base ? (uint16_t)(base + i) : 0;
}

static int closed_port(uint16_t *port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(fixed(1));
  CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
  *port = port_of(s);
  return s;
}

static int listener(uint16_t *port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(fixed(0));
  CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK(listen(l, 8) == 0);
  *port = port_of(l);
  return l;
}

static void refused(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  CHECK(connect(s, (struct sockaddr *)&a, sizeof a) < 0 && errno == ECONNREFUSED);
  close(s);
}

static int nonblocking_connect(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = loopback(port);
  CHECK(connect(s, (struct sockaddr *)&a, sizeof a) < 0 && errno == EINPROGRESS);
  struct pollfd p = {.fd = s, .events = POLLOUT};
  CHECK(poll(&p, 1, 5000) == 1);
  int err = -1;
  socklen_t len = sizeof err;
  CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0);
  close(s);
  return err;
}

static void *thread_main(void *arg) {
  refused(*(uint16_t *)arg);
  return NULL;
}

int main(int argc, char **argv) {
  uint16_t cport, lport;
  char buf[16];
  CHECK(argc == 2 || argc == 3);
  base = argc == 3 ? (uint16_t)atoi(argv[2]) : 0;
  int closed = closed_port(&cport);
  int l = listener(&lport);

  refused(cport); /* 1 */

  int c = socket(AF_INET, SOCK_STREAM, 0); /* 2 */
  struct sockaddr_in a = loopback(lport);
  CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0);
  CHECK(send(c, "hello", 5, 0) == 5);
  CHECK(recv(s, buf, sizeof buf, 0) == 5);
  CHECK(send(s, "world!", 6, 0) == 6);
  CHECK(recv(c, buf, sizeof buf, 0) == 6);
  close(c);
  close(s);

  CHECK(nonblocking_connect(lport) == 0); /* 3 */
  s = accept(l, NULL, NULL);
  CHECK(s >= 0);
  close(s);
  CHECK(nonblocking_connect(cport) == ECONNREFUSED); /* 4 */

  int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0); /* 5 */
  struct sockaddr_in ua = loopback(fixed(2));
  CHECK(bind(u, (struct sockaddr *)&ua, sizeof ua) == 0);
  ua = loopback(port_of(u));
  CHECK(sendto(v, "ping", 4, 0, (struct sockaddr *)&ua, sizeof ua) == 4);
  CHECK(recvfrom(u, buf, sizeof buf, 0, NULL, NULL) == 4);
  close(v);
  close(u);

  struct sockaddr_un ux = {.sun_family = AF_UNIX}; /* 6 */
  snprintf(ux.sun_path, sizeof ux.sun_path, "%s/sock", argv[1]);
  unlink(ux.sun_path);
  int ul = socket(AF_UNIX, SOCK_STREAM, 0), uc = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(bind(ul, (struct sockaddr *)&ux, sizeof ux) == 0);
  CHECK(listen(ul, 1) == 0);
  CHECK(connect(uc, (struct sockaddr *)&ux, sizeof ux) == 0);
  int us = accept(ul, NULL, NULL);
  CHECK(us >= 0);
  close(uc);
  close(us);
  close(ul);
  unlink(ux.sun_path);

  c = socket(AF_INET, SOCK_STREAM, 0); /* 7 */
  CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  s = accept(l, NULL, NULL);
  CHECK(s >= 0);
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
  close(s);
  CHECK(recv(c, buf, sizeof buf, 0) < 0 && errno == ECONNRESET);
  close(c);

  pid_t child = fork(); /* 8 */
  if (child == 0) {
    refused(cport);
    _exit(0);
  }
  int st;
  CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);

  pthread_t t; /* 9 */
  CHECK(pthread_create(&t, NULL, thread_main, &cport) == 0);
  pthread_join(t, NULL);

  close(l);
  close(closed);
  return 7;
}
