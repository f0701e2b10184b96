/*
 * Live DNS tests: a real process resolves names with glibc (getaddrinfo,
 * through /etc/resolv.conf) against a DNS responder this test runs on
 * loopback, then connects to the answer. The session is scoped to that
 * process; the responder runs in the test's own process, so only the
 * client's side is traced.
 *
 * The client runs in a mount namespace of its own where /etc/resolv.conf
 * and /etc/nsswitch.conf are the test's, so the host's resolver settings
 * are neither used nor touched.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/dns_reply.h"
#include "ebpf/live.h"

#define SERVER "127.83.0.1"
#define WEB "127.83.0.9"   /* web.socktrace.test */
#define WEB2 "127.83.0.10" /* web2.socktrace.test, alias.socktrace.test's target */
#define BIG "127.83.0.11"  /* big.socktrace.test: only over TCP */
#define ZONE ".socktrace.test"

static live L;

static void fini(void) {
  live_free(&L);
}

/* ---- the responder ------------------------------------------------------- */

typedef struct responder {
  int udp, tcp, stop[2];
  pthread_t thread;
} responder;

static responder R;

/* The answer to query q (n bytes) into out; 0: no answer at all. */
static size_t answer(const uint8_t *q, size_t n, bool tcp, uint8_t *out) {
  char name[256];
  unsigned qtype;
  size_t off = st_test_dns_reply_start(q, n, name, &qtype, out);
  if (!off)
    return 0;
  size_t m = off;
  if (!strcmp(name, "silent" ZONE))
    return 0;
  if (!strcmp(name, "nx" ZONE)) {
    st_test_put16(out + 2, 0x8183);
    return m;
  }
  if (!strcmp(name, "big" ZONE) && !tcp) {
    st_test_put16(out + 2, 0x8380); /* TC: ask again over TCP */
    return m;
  }
  if (qtype != 1)
    return m; /* no AAAA records: NODATA */
  if (!strcmp(name, "web" ZONE)) {
    m += st_test_dns_put_a(out + m, WEB, 30);
    st_test_put16(out + 6, 1);
  } else if (!strcmp(name, "big" ZONE)) {
    m += st_test_dns_put_a(out + m, BIG, 30);
    st_test_put16(out + 6, 1);
  } else if (!strcmp(name, "alias" ZONE)) {
    /* alias CNAME web2.socktrace.test; web2 A WEB2 */
    static const uint8_t web2[] = "\4web2\11socktrace\4test";
    st_test_put16(out + m, 0xc00c);
    st_test_put16(out + m + 2, 5);
    st_test_put16(out + m + 4, 1);
    st_test_put16(out + m + 6, 0);
    st_test_put16(out + m + 8, 300);
    st_test_put16(out + m + 10, sizeof web2);
    memcpy(out + m + 12, web2, sizeof web2);
    size_t target = m + 12;
    m += 12 + sizeof web2;
    st_test_put16(out + m, 0xc000 | (unsigned)target);
    st_test_put16(out + m + 2, 1);
    st_test_put16(out + m + 4, 1);
    st_test_put16(out + m + 6, 0);
    st_test_put16(out + m + 8, 60);
    st_test_put16(out + m + 10, 4);
    inet_pton(AF_INET, WEB2, out + m + 12);
    m += 16;
    st_test_put16(out + 6, 2);
  } else {
    st_test_put16(out + 2, 0x8183);
  }
  return m;
}

static void serve_tcp(int c) {
  uint8_t q[1024], a[1200];
  struct pollfd p = {c, POLLIN, 0};
  for (;;) {
    uint8_t l[2];
    if (poll(&p, 1, 3000) <= 0 || recv(c, l, 2, MSG_WAITALL) != 2)
      break;
    size_t n = (size_t)l[0] << 8 | l[1];
    if (n > sizeof q || recv(c, q, n, MSG_WAITALL) != (ssize_t)n)
      break;
    size_t m = answer(q, n, true, a + 2);
    if (!m)
      continue;
    st_test_put16(a, (unsigned)m);
    if (send(c, a, m + 2, MSG_NOSIGNAL) != (ssize_t)(m + 2))
      break;
  }
  close(c);
}

static void *serve(void *arg) {
  (void)arg;
  struct pollfd p[3] = {{R.udp, POLLIN, 0}, {R.tcp, POLLIN, 0}, {R.stop[0], POLLIN, 0}};
  for (;;) {
    if (poll(p, 3, -1) < 0 && errno != EINTR)
      break;
    if (p[2].revents)
      break;
    if (p[0].revents & POLLIN) {
      uint8_t q[1024], a[1200];
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(R.udp, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
      size_t m = n > 0 ? answer(q, (size_t)n, false, a) : 0;
      if (m)
        sendto(R.udp, a, m, 0, (struct sockaddr *)&from, fl);
    }
    if (p[1].revents & POLLIN) {
      int c = accept(R.tcp, NULL, NULL);
      if (c >= 0)
        serve_tcp(c);
    }
  }
  return NULL;
}

static void responder_start(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
  int one = 1;
  inet_pton(AF_INET, SERVER, &a.sin_addr);
  R.udp = socket(AF_INET, SOCK_DGRAM, 0);
  R.tcp = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(R.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  cr_assert(R.udp >= 0 && R.tcp >= 0);
  cr_assert_eq(bind(R.udp, (struct sockaddr *)&a, sizeof a), 0, "bind %s:53/udp: %s", SERVER,
               strerror(errno));
  cr_assert_eq(bind(R.tcp, (struct sockaddr *)&a, sizeof a), 0, "bind %s:53/tcp: %s", SERVER,
               strerror(errno));
  cr_assert_eq(listen(R.tcp, 8), 0);
  cr_assert_eq(pipe(R.stop), 0);
  cr_assert_eq(pthread_create(&R.thread, NULL, serve, NULL), 0);
}

static void responder_stop(void) {
  cr_assert_eq(write(R.stop[1], "x", 1), 1);
  pthread_join(R.thread, NULL);
  close(R.udp);
  close(R.tcp);
  close(R.stop[0]);
  close(R.stop[1]);
}

/* ---- the client ---------------------------------------------------------- */

static char dir[64];

/* resolv.conf and nsswitch.conf for the client's mount namespace. */
static void write_conf(void) {
  snprintf(dir, sizeof dir, "/tmp/socktrace-dns-XXXXXX");
  cr_assert(mkdtemp(dir));
  char path[128];
  FILE *f;
  snprintf(path, sizeof path, "%s/resolv.conf", dir);
  cr_assert((f = fopen(path, "w")));
  fprintf(f, "nameserver %s\noptions timeout:1 attempts:1\n", SERVER);
  fclose(f);
  snprintf(path, sizeof path, "%s/nsswitch.conf", dir);
  cr_assert((f = fopen(path, "w")));
  fprintf(f, "hosts: files dns\n");
  fclose(f);
}

static void remove_conf(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/resolv.conf", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/nsswitch.conf", dir);
  unlink(path);
  rmdir(dir);
}

/* Resolves name (family AF_UNSPEC or AF_INET) and connects to the first
 * IPv4 answer's port; exit status 0 resolved, 1 did not, 2 set-up failed. */
static int client(const char *name, int family, uint16_t port) {
  struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
  if (st_test_dns_isolate(dir) != 0)
    return 2;
  if (getaddrinfo(name, NULL, &hints, &res) != 0)
    return 1;
  for (ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET)
      continue;
    struct sockaddr_in a = *(struct sockaddr_in *)ai->ai_addr;
    a.sin_port = htons(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    break;
  }
  freeaddrinfo(res);
  return 0;
}

/* Traces one client run: the child waits until the session runs. Returns
 * its exit status. */
static int traced_run(const char *name, int family, uint16_t port, int level) {
  int go[2];
  char c;
  cr_assert_eq(pipe(go), 0);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    close(go[1]);
    if (read(go[0], &c, 1) != 1)
      _exit(2);
    _exit(client(name, family, port));
  }
  close(go[0]);
  st_session_config cfg = {.level = (uint8_t)level, .dns_timeout_ms = 300};
  cfg.filter.pids[0] = (uint32_t)pid;
  cfg.filter.npids = 1;
  cr_assert_eq(live_start(&L, &cfg, 0), 0, "session start: %s", st_session_error(L.s));
  cr_assert_eq(write(go[1], "g", 1), 1);
  close(go[1]);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  live_stop(&L);
  cr_assert(WIFEXITED(status));
  cr_assert_neq(WEXITSTATUS(status), 2, "the client could not set up its resolver files");
  return WEXITSTATUS(status);
}

static void init(void) {
  ST_REQUIRE_ROOT();
  write_conf();
  responder_start();
}

static void done(void) {
  responder_stop();
  remove_conf();
  fini();
}

/* The DNS messages of a name: queries (qr 0) or answers (qr 1) of qtype. */
static const st_event *dns_msg(const char *qname, int qr, unsigned qtype, bool unanswered) {
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id == ST_EV_DNS_MESSAGE && (e->has & ST_HAS_DNS) && e->dns.qr == qr &&
        e->dns.qtype == qtype && !strcmp(e->dns.qname, qname) &&
        !!(e->dns.flags & ST_DNS_UNANSWERED) == unanswered)
      return e;
  }
  return NULL;
}

static bool is_ip(const st_addr *a, const char *ip, uint16_t port) {
  st_addr want;
  if (st_addr_parse_ip(ip, &want) != 0 || a->family != ST_FAMILY_INET)
    return false;
  return memcmp(a->addr, want.addr, 4) == 0 && a->port == port;
}

static const st_event *connect_to(const char *ip, uint16_t port) {
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id == ST_EV_CONNECT_ADDR && e->enter_exit == ST_EE_ENTER && (e->has & ST_HAS_REMOTE) &&
        is_ip(&e->remote, ip, port))
      return e;
  }
  return NULL;
}

TestSuite(ebpf_dns, .init = init, .fini = done, .timeout = 60);

Test(ebpf_dns, a_resolution_its_answer_and_the_named_connect) {
  uint16_t port = 4711;
  int rc = traced_run("web" ZONE, AF_UNSPEC, port, ST_LEVEL_VERBOSE);
  cr_assert_eq(rc, 0, "web" ZONE " resolved");
  pid_t pid = (pid_t)L.c.events[0].pid;

  const st_event *q = dns_msg("web" ZONE, 0, 1, false);
  cr_assert(q, "the A query (level 5)");
  cr_expect_eq(q->level, ST_LEVEL_VERBOSE);
  cr_expect(q->dns.flags & ST_DNS_SENT);
  cr_expect(q->has & ST_HAS_REMOTE);
  cr_expect(is_ip(&q->remote, SERVER, 53), "sent to the server");
  cr_expect(dns_msg("web" ZONE, 0, 28, false), "the AAAA query");

  const st_event *a = dns_msg("web" ZONE, 1, 1, false);
  cr_assert(a, "the A answer");
  cr_expect_eq(a->pid, (uint32_t)pid);
  cr_expect_eq(a->level, ST_LEVEL_INFO);
  cr_expect_eq(a->keywords, ST_KW_DNS);
  cr_expect(a->dns.flags & ST_DNS_RECEIVED);
  cr_expect_eq(a->protocol, 17);
  cr_expect(is_ip(&a->remote, SERVER, 53), "from the server");
  cr_expect_eq(a->status.code, ST_OK);
  cr_expect_eq(a->dns.rcode, 0);
  cr_expect_eq(a->dns.answers, 1);
  cr_assert_eq(a->dns.naddrs, 1);
  st_addr web;
  st_addr_parse_ip(WEB, &web);
  cr_expect_eq(memcmp(a->dns.addrs[0].addr, web.addr, 4), 0);
  cr_expect_eq(a->dns.ttl, 30);
  cr_expect_gt(a->dns.latency_us, 0, "the time since its query");
  cr_expect_lt(a->dns.latency_us, 1000000);
  const st_event *nodata = dns_msg("web" ZONE, 1, 28, false);
  cr_assert(nodata, "the AAAA answer");
  cr_expect_eq(nodata->dns.naddrs, 0);
  cr_expect_eq(nodata->status.code, ST_OK);

  const st_event *c = connect_to(WEB, port);
  cr_assert(c, "the connect to the answer");
  cr_expect_eq(c->pid, (uint32_t)pid);
  cr_expect(c->has & ST_HAS_REMOTE_NAME);
  cr_expect_str_eq(c->remote_name, "web" ZONE);
  cr_expect_eq(c->flags & ST_FLAG_NAME_SHARED, 0, "its own answer");
}

Test(ebpf_dns, a_cname_chain_names_the_connect_by_the_name_asked) {
  uint16_t port = 4712;
  cr_assert_eq(traced_run("alias" ZONE, AF_INET, port, ST_LEVEL_INFO), 0);
  const st_event *a = dns_msg("alias" ZONE, 1, 1, false);
  cr_assert(a, "the answer");
  cr_expect_str_eq(a->dns.cnames, "web2" ZONE);
  cr_expect_eq(a->dns.answers, 2);
  cr_expect_eq(a->dns.naddrs, 1);
  cr_expect_eq(a->dns.ttl, 60, "the smaller TTL");
  cr_expect_null(dns_msg("alias" ZONE, 0, 1, false), "queries are level 5");
  const st_event *c = connect_to(WEB2, port);
  cr_assert(c);
  cr_expect_str_eq(c->remote_name, "alias" ZONE);
}

Test(ebpf_dns, nxdomain_is_a_level_4_failure) {
  cr_assert_eq(traced_run("nx" ZONE, AF_INET, 1, ST_LEVEL_INFO), 1, "nx does not resolve");
  const st_event *a = dns_msg("nx" ZONE, 1, 1, false);
  cr_assert(a);
  cr_expect_eq(a->level, ST_LEVEL_INFO);
  cr_expect_eq(a->dns.rcode, 3);
  cr_expect_eq(a->status.code, ST_NOT_FOUND);
  cr_expect_eq(a->status.domain, ST_DOMAIN_DNS);
  cr_expect_gt(a->dns.latency_us, 0);
}

Test(ebpf_dns, a_query_no_answer_comes_for) {
  cr_assert_eq(traced_run("silent" ZONE, AF_INET, 1, ST_LEVEL_INFO), 1);
  const st_event *u = dns_msg("silent" ZONE, 0, 1, true);
  cr_assert(u, "the unanswered query, after the 300 ms timeout");
  cr_expect_eq(u->level, ST_LEVEL_INFO);
  cr_expect_eq(u->status.code, ST_TIMED_OUT);
  cr_expect_eq(u->dns.latency_us, 300000);
  cr_expect(is_ip(&u->remote, SERVER, 53));
  cr_expect_neq(u->pid, 0);
  cr_expect_null(dns_msg("silent" ZONE, 1, 1, false), "no answer");
}

Test(ebpf_dns, an_answer_too_big_for_udp_comes_over_tcp) {
  uint16_t port = 4713;
  cr_assert_eq(traced_run("big" ZONE, AF_INET, port, ST_LEVEL_INFO), 0);
  const st_event *tc = NULL, *a = NULL;
  for (size_t i = 0; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->id != ST_EV_DNS_MESSAGE || !e->dns.qr || strcmp(e->dns.qname, "big" ZONE))
      continue;
    if (e->protocol == 17 && (e->dns.flags & ST_DNS_TRUNCATED))
      tc = e;
    if (e->protocol == 6)
      a = e;
  }
  cr_expect(tc, "the truncated UDP answer");
  cr_assert(a, "the answer over TCP");
  cr_expect_eq(a->dns.naddrs, 1);
  cr_expect(is_ip(&a->remote, SERVER, 53));
  cr_expect_gt(a->dns.latency_us, 0);
  const st_event *c = connect_to(BIG, port);
  cr_assert(c);
  cr_expect_str_eq(c->remote_name, "big" ZONE);
}
