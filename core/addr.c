/*
 * Address formatting and comparison for st_addr. Uses libuv's inet_ntop/pton
 * so the same code builds for Windows.
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "socktrace/event.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int st_addr_format_ip(const st_addr *a, char *buf, size_t len) {
  char tmp[64];
  switch (a->family) {
  case ST_FAMILY_INET:
    if (uv_inet_ntop(AF_INET, a->addr, tmp, sizeof tmp) != 0)
      snprintf(tmp, sizeof tmp, "?");
    return snprintf(buf, len, "%s", tmp);
  case ST_FAMILY_INET6:
    if (uv_inet_ntop(AF_INET6, a->addr, tmp, sizeof tmp) != 0)
      snprintf(tmp, sizeof tmp, "?");
    return snprintf(buf, len, "%s", tmp);
  case ST_FAMILY_UNIX:
    return snprintf(buf, len, "%s", a->path[0] ? a->path : "(unnamed)");
  case ST_FAMILY_OTHER:
    return snprintf(buf, len, "family:%u", a->raw_family);
  default:
    return snprintf(buf, len, "-");
  }
}

int st_addr_format(const st_addr *a, char *buf, size_t len) {
  char ip[64];
  switch (a->family) {
  case ST_FAMILY_INET:
    st_addr_format_ip(a, ip, sizeof ip);
    return snprintf(buf, len, "%s:%u", ip, a->port);
  case ST_FAMILY_INET6:
    st_addr_format_ip(a, ip, sizeof ip);
    return snprintf(buf, len, "[%s]:%u", ip, a->port);
  default:
    return st_addr_format_ip(a, buf, len);
  }
}

int st_event_remote_format(const st_event *ev, char *buf, size_t len) {
  const st_addr *a = &ev->remote;
  char ip[64];
  if (!(ev->has & ST_HAS_REMOTE_NAME) || !ev->remote_name[0] ||
      (a->family != ST_FAMILY_INET && a->family != ST_FAMILY_INET6))
    return st_addr_format(a, buf, len);
  st_addr_format_ip(a, ip, sizeof ip);
  return snprintf(buf, len, "%s[%s]:%u", ev->remote_name, ip, a->port);
}

int st_addr_parse_ip(const char *s, st_addr *a) {
  uint8_t tmp[16];
  if (uv_inet_pton(AF_INET, s, tmp) == 0) {
    a->family = ST_FAMILY_INET;
    memset(a->addr, 0, sizeof a->addr);
    memcpy(a->addr, tmp, 4);
    return 0;
  }
  if (uv_inet_pton(AF_INET6, s, tmp) == 0) {
    a->family = ST_FAMILY_INET6;
    memcpy(a->addr, tmp, 16);
    return 0;
  }
  return ST_EINVAL;
}

/* Reduces a v4-mapped IPv6 address to its IPv4 form for comparison. */
static const uint8_t *ip_key(const st_addr *a, int *fam) {
  if (a->family == ST_FAMILY_INET6 && memcmp(a->addr, v4mapped_prefix, 12) == 0) {
    *fam = ST_FAMILY_INET;
    return a->addr + 12;
  }
  *fam = a->family;
  return a->addr;
}

bool st_addr_ip_equal(const st_addr *a, const st_addr *b) {
  int fa, fb;
  const uint8_t *ka = ip_key(a, &fa), *kb = ip_key(b, &fb);
  if (fa != fb)
    return false;
  if (fa == ST_FAMILY_INET)
    return memcmp(ka, kb, 4) == 0;
  if (fa == ST_FAMILY_INET6)
    return memcmp(ka, kb, 16) == 0;
  if (fa == ST_FAMILY_UNIX)
    return strcmp(a->path, b->path) == 0;
  return false;
}
