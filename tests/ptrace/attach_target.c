/* A running program for `run --pid`: it listens on a loopback port, starts
 * a second thread, says "ready PID" and then does what each line on its
 * standard input asks:
 *   go    a connect to 127.0.0.1:9 (refused) made by the second thread, then
 *         a connect to its own listener, accepted, 2 bytes each way, both
 *         closed; says "done"
 *   ping  says "pong" (it still runs)
 * and exits 0 at end of input. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "attach_target: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* The second thread: a refused connect each time it is asked (a byte on
 * ask), answered on done. */
static int ask[2], done[2];

static void *refuser(void *arg) {
  (void)arg;
  char b;
  while (read(ask[0], &b, 1) == 1) {
    struct sockaddr_in closed = loopback(9);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0)
      die("socket");
    if (connect(c, (struct sockaddr *)&closed, sizeof closed) == 0 || errno != ECONNREFUSED)
      die("connect to port 9 was not refused");
    close(c);
    if (write(done[1], "x", 1) != 1)
      die("write");
  }
  return NULL;
}

static void go(int listener, const struct sockaddr_in *at) {
  char b;
  if (write(ask[1], "x", 1) != 1 || read(done[0], &b, 1) != 1)
    die("the second thread");
  int c;
  if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
      connect(c, (const struct sockaddr *)at, sizeof *at) != 0)
    die("connect to the listener");
  int a = accept(listener, NULL, NULL);
  char buf[2];
  if (a < 0 || send(c, "hi", 2, 0) != 2 || recv(a, buf, 2, MSG_WAITALL) != 2 ||
      send(a, "ok", 2, 0) != 2 || recv(c, buf, 2, MSG_WAITALL) != 2)
    die("exchange");
  close(a);
  close(c);
}

int main(void) {
  struct sockaddr_in at = loopback(0);
  socklen_t len = sizeof at;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&at, sizeof at) != 0 || listen(l, 4) != 0 ||
      getsockname(l, (struct sockaddr *)&at, &len) != 0)
    die("listen");
  pthread_t th;
  if (pipe(ask) != 0 || pipe(done) != 0 || pthread_create(&th, NULL, refuser, NULL) != 0)
    die("thread");
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready %d\n", (int)getpid());
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    if (!strcmp(line, "go\n")) {
      go(l, &at);
      printf("done\n");
    } else if (!strcmp(line, "ping\n")) {
      printf("pong\n");
    }
  }
  return 0;
}
