#define _GNU_SOURCE
#include "common/dns_reply.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

int st_test_dns_isolate(const char *dir) {
  char path[4096];
  if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/resolv.conf", dir);
  if (mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/nsswitch.conf", dir);
  return mount(path, "/etc/nsswitch.conf", NULL, MS_BIND, NULL);
}

void st_test_put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

size_t st_test_dns_reply_start(const uint8_t *q, size_t n, char name[256], unsigned *qtype,
                               uint8_t *out) {
  size_t off = 12, len = 0;
  name[0] = 0;
  if (n < 17)
    return 0;
  while (off < n && q[off] && len + q[off] + 2 < 256) {
    if (len)
      name[len++] = '.';
    memcpy(name + len, q + off + 1, q[off]);
    len += q[off];
    off += 1u + q[off];
  }
  name[len] = 0;
  off += 5; /* the root label, type, class */
  if (off > n)
    return 0;
  *qtype = (unsigned)q[off - 4] << 8 | q[off - 3];
  memcpy(out, q, off); /* header and question */
  st_test_put16(out + 2, 0x8180);
  st_test_put16(out + 6, 0); /* no answers yet */
  st_test_put16(out + 8, 0);
  st_test_put16(out + 10, 0);
  return off;
}

size_t st_test_dns_put_a(uint8_t *p, const char *ip, unsigned ttl) {
  st_test_put16(p, 0xc00c);
  st_test_put16(p + 2, 1);
  st_test_put16(p + 4, 1);
  st_test_put16(p + 6, ttl >> 16);
  st_test_put16(p + 8, ttl & 0xffff);
  st_test_put16(p + 10, 4);
  inet_pton(AF_INET, ip, p + 12);
  return 16;
}
