/*
 * st-scenario: the workload of the diff and CI tests, on loopback only.
 *   st-scenario serve PORT [reset]   accept connections on 127.0.0.1:PORT
 *                                    until killed: read "hello", answer
 *                                    "world!" and close (or reset: close
 *                                    with SO_LINGER 0); prints "ready"
 *   st-scenario tcp:PORT udp:PORT ...  the client: tcp connects to
 *                                    127.0.0.1:PORT, sends "hello" and reads
 *                                    until the server closes; udp sends
 *                                    "ping" to 127.0.0.1:PORT
 * The client exits 0 whatever its sockets did, so a test sees --fail-on act
 * on a command that succeeded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  return a;
}

static int serve(int port, int reset) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = loopback(port);
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16)) {
    perror("st-scenario serve");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int s = accept(l, NULL, NULL);
    if (s < 0)
      continue;
    char buf[16];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (reset) {
      struct linger lg = {1, 0};
      setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else if (n == 5) {
      (void)send(s, "world!", 6, 0);
    }
    close(s);
  }
}

static void tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = loopback(port);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      send(fd, "hello", 5, 0) == 5) {
    char buf[64];
    while (recv(fd, buf, sizeof buf, 0) > 0)
      ;
  }
  if (fd >= 0)
    close(fd);
}

static void udp(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = loopback(port);
  if (fd >= 0)
    (void)sendto(fd, "ping", 4, 0, (struct sockaddr *)&a, sizeof a);
  if (fd >= 0)
    close(fd);
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "serve") == 0)
    return serve(atoi(argv[2]), argc > 3 && strcmp(argv[3], "reset") == 0);
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "tcp:", 4) == 0)
      tcp(atoi(argv[i] + 4));
    else if (strncmp(argv[i], "udp:", 4) == 0)
      udp(atoi(argv[i] + 4));
    else
      fprintf(stderr, "st-scenario: unknown step '%s'\n", argv[i]);
  }
  return 0;
}
