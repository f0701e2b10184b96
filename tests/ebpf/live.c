/* A live eBPF session for tests and the benchmark (see live.h). */
#define _GNU_SOURCE
#include "live.h"

#include <arpa/inet.h>
#include <string.h>
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
