/* A live eBPF session for tests and the benchmark (see live.h). */
#define _GNU_SOURCE
#include "live.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ebpf/ebpf.h"

int live_start(live *l, const st_session_config *cfg, uint32_t ring_bytes) {
  st_session_config c = *cfg;
  if (!c.filter.npids && !c.filter.tree_root) {
    c.filter.pids[0] = (uint32_t)getpid();
    c.filter.npids = 1;
  }
  st_ebpf_options o = {.ring_bytes = ring_bytes};
  return live_start_opts(l, &c, &o);
}

int live_start_opts(live *l, const st_session_config *cfg, const st_ebpf_options *o) {
  st_backend *b;
  st_sink *sink;

  memset(l, 0, sizeof *l);
  uv_loop_init(&l->loop);
  if ((l->status = st_session_new(&l->loop, cfg, &l->s)) < 0)
    return l->status;
  if ((l->status = st_backend_ebpf_new(o, &b)) < 0)
    return l->status;
  st_session_set_backend(l->s, b);
  if ((l->status = st_sink_collect_new(&l->c, &sink)) < 0)
    return l->status;
  st_session_add_sink(l->s, sink);
  l->status = st_session_start(l->s);
  return l->status;
}

void live_stop(live *l) {
  st_session_stop(l->s);
  uv_run(&l->loop, UV_RUN_DEFAULT);
}

void live_free(live *l) {
  if (l->s)
    st_session_free(l->s);
  uv_loop_close(&l->loop);
  st_collect_free(&l->c);
}

size_t live_endpoint_events(const live *l, uint64_t endpoint, const st_event **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < l->c.count && n < max; i++)
    if (l->c.events[i].endpoint == endpoint)
      out[n++] = &l->c.events[i];
  return n;
}

const st_event *live_find(const live *l, uint16_t id, int enter_exit, size_t from) {
  for (size_t i = from; i < l->c.count; i++) {
    const st_event *e = &l->c.events[i];
    if (e->id == id && (enter_exit < 0 || e->enter_exit == enter_exit))
      return e;
  }
  return NULL;
}

size_t live_count(const live *l, uint16_t id) {
  size_t n = 0;
  for (size_t i = 0; i < l->c.count; i++)
    n += l->c.events[i].id == id;
  return n;
}

uint64_t live_endpoint_of_port(const live *l, uint16_t port) {
  for (size_t i = 0; i < l->c.count; i++) {
    const st_event *e = &l->c.events[i];
    if ((e->has & ST_HAS_LOCAL) && e->local.port == port && e->endpoint)
      return e->endpoint;
  }
  return 0;
}

void fill_loopback(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    *len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *a;
  }
}

uint16_t local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return 0;
  return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                        : ((struct sockaddr_in *)&ss)->sin_port);
}

int tcp_listener(int family, uint16_t *port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  fill_loopback(family, 0, &ss, &len);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
    close(fd);
    return -1;
  }
  *port = local_port(fd);
  return fd;
}

int tcp_connect_to(int family, uint16_t port, int flags) {
  struct sockaddr_storage ss;
  socklen_t len;
  int fd = socket(family, SOCK_STREAM | flags, 0);
  if (fd < 0)
    return -1;
  fill_loopback(family, port, &ss, &len);
  connect(fd, (struct sockaddr *)&ss, len); /* the caller checks errno */
  return fd;
}

held held_start(void (*work)(char cmd)) {
  held h = {.pid = -1, .cmd = -1, .done = -1};
  int a[2], b[2];
  if (pipe(a) < 0)
    return h;
  if (pipe(b) < 0) {
    close(a[0]);
    close(a[1]);
    return h;
  }
  h.pid = fork();
  if (h.pid == 0) {
    close(a[1]);
    close(b[0]);
    char c;
    while (read(a[0], &c, 1) == 1 && c != 'q') {
      work(c);
      if (write(b[1], "d", 1) != 1)
        _exit(4);
    }
    _exit(0);
  }
  close(a[0]);
  close(b[1]);
  h.cmd = a[1];
  h.done = b[0];
  return h;
}

bool held_do(held *h, char cmd) {
  char c;
  return write(h->cmd, &cmd, 1) == 1 && read(h->done, &c, 1) == 1;
}

bool held_end(held *h) {
  int st = 0;
  bool said = write(h->cmd, "q", 1) == 1;
  close(h->cmd);
  close(h->done);
  return said && waitpid(h->pid, &st, 0) == h->pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool loopback_exchange(const char *msg) {
  uint16_t port;
  char buf[64];
  size_t n = strlen(msg);
  int l = tcp_listener(AF_INET, &port);
  int c = l >= 0 ? tcp_connect_to(AF_INET, port, 0) : -1;
  int s = c >= 0 ? accept(l, NULL, NULL) : -1;
  bool ok = s >= 0 && send(c, msg, n, 0) == (ssize_t)n && recv(s, buf, sizeof buf, 0) == (ssize_t)n;
  if (c >= 0)
    close(c);
  if (s >= 0)
    close(s);
  if (l >= 0)
    close(l);
  return ok;
}
