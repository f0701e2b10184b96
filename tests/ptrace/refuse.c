/* Connects to 127.0.0.1:9, where nothing listens: built static with musl
 * by the ptrace tests (a program that never calls glibc). Exits 0 when the
 * connect was refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int rc = connect(s, (struct sockaddr *)&a, sizeof a);
  int refused = rc < 0 && errno == ECONNREFUSED;
  close(s);
  return refused ? 0 : 1;
}
