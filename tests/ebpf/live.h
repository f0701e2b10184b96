/*
 * A live eBPF session for tests and the benchmark: a libuv loop, the ebpf
 * backend and a collecting sink, scoped to this process unless the caller
 * sets other filters. Records are read when the session stops, so a test's
 * workload runs undisturbed and the event order is the kernel's.
 */
#ifndef ST_TEST_EBPF_LIVE_H
#define ST_TEST_EBPF_LIVE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/testutil.h"
#include "socktrace/session.h"

typedef struct live {
  uv_loop_t loop;
  st_session *s;
  st_collect c;
  int status;
} live;

/* Starts a session with cfg (level, filters; pids defaults to this process
 * when cfg has no pid or tree filter). ring_bytes 0 = the default. Returns
 * the start status; st_session_error(l->s) says why on failure. */
int live_start(live *l, const st_session_config *cfg, uint32_t ring_bytes);
/* The same with the backend's options as given and cfg's filters as they
 * are (no filter: the whole system). */
struct st_ebpf_options;
int live_start_opts(live *l, const st_session_config *cfg, const struct st_ebpf_options *o);
/* Stops, drains the ring and closes the loop; events are in l->c. */
void live_stop(live *l);
void live_free(live *l);

/* The events of one endpoint, in order (at most max); returns the count. */
size_t live_endpoint_events(const live *l, uint64_t endpoint, const st_event **out, size_t max);
/* The first event with this id (and enter_exit, unless -1) after index from. */
const st_event *live_find(const live *l, uint16_t id, int enter_exit, size_t from);
size_t live_count(const live *l, uint16_t id);
/* The endpoint the trace gave the socket bound/connected at this local port. */
uint64_t live_endpoint_of_port(const live *l, uint16_t port);

/* Loopback helpers: a listening TCP socket on 127.0.0.1 or ::1, port out. */
int tcp_listener(int family, uint16_t *port);
int tcp_connect_to(int family, uint16_t port, int flags);
uint16_t local_port(int fd);
/* One loopback TCP connection on 127.0.0.1: listen, connect, accept, msg
 * from the client to the server, close all three; true when it all went. */
bool loopback_exchange(const char *msg);
void fill_loopback(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* A child process held on a pipe: for each command byte sent with
 * held_do it runs work(cmd) (its sockets are the child's, so a pid filter
 * can name them) and answers; held_end sends 'q' and reaps it (true when
 * it exited 0). A failed start leaves pid -1. */
typedef struct held {
  pid_t pid;
  int cmd, done;
} held;
held held_start(void (*work)(char cmd));
bool held_do(held *h, char cmd);
bool held_end(held *h);

#endif
