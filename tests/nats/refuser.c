/*
 * A paced workload for the NATS tests: COUNT connects to a closed loopback
 * port (each refused: AfdCreate, AfdConnectWithAddress enter and exit,
 * AfdClose ... under a live trace), one every INTERVAL_US microseconds, so
 * that a trace goes on while a test stops and starts servers.
 *
 *   nats-refuser COUNT INTERVAL_US
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: nats-refuser COUNT INTERVAL_US\n");
    return 2;
  }
  long count = strtol(argv[1], NULL, 10), interval = strtol(argv[2], NULL, 10);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (long i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return 1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
      return 3; /* port 9 must be closed */
    close(fd);
    if (interval > 0) {
      struct timespec ts = {interval / 1000000, (interval % 1000000) * 1000};
      nanosleep(&ts, NULL);
    }
  }
  return 0;
}
