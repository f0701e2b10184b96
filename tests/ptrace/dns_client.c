/* DNS for the ptrace tests, run inside their user and network namespace:
 *
 *   dns_client serve
 *     answers UDP queries on 127.0.0.1:53: an A record 127.0.0.9 (TTL 30)
 *     for web.socktrace.test, no data (NOERROR, no answer) for its other
 *     types, NXDOMAIN for other names; says "ready" once it listens.
 *   dns_client resolve DIR NAME PORT
 *     in a mount namespace of its own where /etc/resolv.conf and
 *     /etc/nsswitch.conf are DIR's, resolves NAME with glibc's getaddrinfo
 *     (AF_UNSPEC: the A and AAAA queries go out in one sendmmsg) and
 *     connects to the first IPv4 answer at PORT; exits 0 when that connect
 *     was refused, 1 when the name did not resolve, 2 on a set-up failure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/dns_reply.h"

/* The answer to query q (n bytes) into out; its length (0: none). */
static size_t answer(const uint8_t *q, size_t n, uint8_t *out) {
  char name[256];
  unsigned qtype;
  size_t off = st_test_dns_reply_start(q, n, name, &qtype, out);
  if (!off)
    return 0;
  if (strcmp(name, "web.socktrace.test")) {
    st_test_put16(out + 2, 0x8183); /* NXDOMAIN */
    return off;
  }
  if (qtype != 1)
    return off; /* no data */
  st_test_put16(out + 6, 1);
  return off + st_test_dns_put_a(out + off, "127.0.0.9", 30);
}

static int serve(void) {
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(53)};
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&at, sizeof at) != 0) {
    fprintf(stderr, "dns_client: cannot listen on 127.0.0.1:53: %s\n", strerror(errno));
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    uint8_t q[1024], a[1200];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    size_t m = n > 0 ? answer(q, (size_t)n, a) : 0;
    if (m)
      sendto(s, a, m, 0, (struct sockaddr *)&from, fl);
  }
}

static int resolve(const char *dir, const char *name, const char *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  if (st_test_dns_isolate(dir) != 0) {
    fprintf(stderr, "dns_client: cannot set up the resolver files: %s\n", strerror(errno));
    return 2;
  }
  if (getaddrinfo(name, port, &hints, &res) != 0)
    return 1;
  int rc = 1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET)
      continue;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    rc = connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno == ECONNREFUSED ? 0 : 2;
    close(s);
    break;
  }
  freeaddrinfo(res);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "serve"))
    return serve();
  if (argc == 5 && !strcmp(argv[1], "resolve"))
    return resolve(argv[2], argv[3], argv[4]);
  fprintf(stderr, "usage: dns_client serve | resolve DIR NAME PORT\n");
  return 2;
}
