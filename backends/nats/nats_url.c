/*
 * nats:// URLs and subjects: what a stream address means, how it is shown
 * (never with its password), and the subject every event goes to. Plain
 * string work: no connection, no libnats call.
 *
 *   nats://[user:password@ | token@]host[:port][,host[:port]...][/STREAM]
 *   tls://...  the same over TLS
 *
 * Subjects: socktrace.<host>.<os>.<provider>.<id> for events,
 * socktrace.<host>.header for a publisher's trace header.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_internal.h"

static bool has_prefix(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

bool st_nats_is_url(const char *s) {
  return s && (has_prefix(s, "nats://") || has_prefix(s, "tls://"));
}

/* Where the authority (userinfo@servers) of url ends: its first '/'. */
static const char *authority_end(const char *auth) {
  const char *slash = strchr(auth, '/');
  return slash ? slash : auth + strlen(auth);
}

/* The last '@' of the authority, or NULL. */
static const char *userinfo_end(const char *auth, const char *end) {
  const char *at = NULL;
  for (const char *p = auth; p < end; p++)
    if (*p == '@')
      at = p;
  return at;
}

void st_nats_url_mask(const char *url, char *buf, size_t len) {
  const char *sep = url ? strstr(url, "://") : NULL;
  if (!sep) {
    snprintf(buf, len, "%s", url ? url : "");
    return;
  }
  const char *auth = sep + 3, *end = authority_end(auth), *at = userinfo_end(auth, end);
  if (!at) {
    snprintf(buf, len, "%s", url);
    return;
  }
  const char *colon = memchr(auth, ':', (size_t)(at - auth));
  if (colon) /* user:password@ -> user:***@ */
    snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - url), url, at);
  else /* token@ -> ***@ */
    snprintf(buf, len, "%.*s***%s", (int)(auth - url), url, at);
}

/* Copies [s, e) into out, decoding %XX; false when it does not fit or a
 * %XX is malformed. */
static bool decode(const char *s, const char *e, char *out, size_t len) {
  size_t n = 0;
  for (; s < e; s++) {
    int c = (unsigned char)*s;
    if (c == '%') {
      if (e - s < 3 || !isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
        return false;
      char hex[3] = {s[1], s[2], 0};
      c = (int)strtol(hex, NULL, 16);
      s += 2;
    }
    if (n + 1 >= len)
      return false;
    out[n++] = (char)c;
  }
  out[n] = 0;
  return true;
}

/* One "host[:port]" (IPv6 in brackets) into "scheme://host:port". */
static bool parse_server(const char *s, const char *e, bool tls, char *out, size_t len) {
  const char *host = s, *host_end, *port = NULL;
  if (s < e && *s == '[') {
    host_end = memchr(s, ']', (size_t)(e - s));
    if (!host_end)
      return false;
    host_end++;
    if (host_end < e && *host_end == ':')
      port = host_end + 1;
    else if (host_end != e)
      return false;
  } else {
    host_end = memchr(s, ':', (size_t)(e - s));
    if (host_end)
      port = host_end + 1;
    else
      host_end = e;
  }
  if (host_end == host)
    return false;
  for (const char *p = host; p < host_end; p++)
    if (isspace((unsigned char)*p) || *p == '@' || *p == '/')
      return false;
  unsigned long pn = ST_NATS_DEFAULT_PORT;
  if (port) {
    char *pe;
    if (port == e || !isdigit((unsigned char)*port))
      return false;
    pn = strtoul(port, &pe, 10);
    if (pe != e || pn == 0 || pn > 65535)
      return false;
  }
  int n =
      snprintf(out, len, "%s://%.*s:%lu", tls ? "tls" : "nats", (int)(host_end - host), host, pn);
  return n > 0 && (size_t)n < len;
}

#define FAIL(...)                                                                                  \
  do {                                                                                             \
    snprintf(err, errlen, __VA_ARGS__);                                                            \
    return ST_EINVAL;                                                                              \
  } while (0)

int st_nats_url_parse(const char *url, st_nats_url *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  char shown[512];
  st_nats_url_mask(url, shown, sizeof shown);
  if (!st_nats_is_url(url))
    FAIL("'%s' is not a NATS URL (nats://HOST[:PORT][/STREAM])", shown);
  out->tls = has_prefix(url, "tls://");
  const char *auth = strstr(url, "://") + 3, *end = authority_end(auth);
  const char *at = userinfo_end(auth, end), *servers = auth;
  if (at) {
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    const char *uend = colon ? colon : at;
    if (!decode(auth, uend, out->user, sizeof out->user) ||
        (colon && !decode(colon + 1, at, out->password, sizeof out->password)) || !out->user[0])
      FAIL("bad user or password in %s (write them as user:password@, %%-encoding '@', ':' and "
           "'/')",
           shown);
    servers = at + 1;
  }
  for (const char *s = servers; s < end;) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *e = comma ? comma : end;
    if (out->nservers == ST_NATS_SERVERS_MAX)
      FAIL("too many servers in %s (at most %d)", shown, ST_NATS_SERVERS_MAX);
    if (!parse_server(s, e, out->tls, out->servers[out->nservers], sizeof out->servers[0]))
      FAIL("bad server '%.*s' in %s (HOST or HOST:PORT, PORT from 1 to 65535)", (int)(e - s), s,
           shown);
    out->nservers++;
    s = comma ? comma + 1 : end;
  }
  if (!out->nservers)
    FAIL("no server in %s (nats://HOST[:PORT][/STREAM])", shown);
  const char *stream = *end == '/' ? end + 1 : "";
  size_t sl = strlen(stream);
  if (sl && stream[sl - 1] == '/')
    sl--;
  if (!sl) {
    snprintf(out->stream, sizeof out->stream, "%s", ST_NATS_DEFAULT_STREAM);
    return 0;
  }
  if (sl >= sizeof out->stream)
    FAIL("stream name too long in %s (at most %zu characters)", shown, sizeof out->stream - 1);
  for (size_t i = 0; i < sl; i++) {
    unsigned char c = (unsigned char)stream[i];
    if (!isalnum(c) && c != '_' && c != '-')
      FAIL("bad stream name '%.*s' in %s (letters, digits, '_' and '-')", (int)sl, stream, shown);
  }
  memcpy(out->stream, stream, sl);
  out->stream[sl] = 0;
  return 0;
}

void st_nats_host_token(const char *host, char *buf, size_t len) {
  size_t n = 0;
  for (const char *p = host; *p && n + 1 < len; p++) {
    unsigned char c = (unsigned char)*p;
    buf[n++] = (c <= ' ' || c == '.' || c == '*' || c == '>' || c == 0x7f) ? '_' : (char)c;
  }
  if (!n && len > 1) /* an empty token is no subject */
    n = (size_t)snprintf(buf, len, "unknown");
  if (len)
    buf[n < len ? n : len - 1] = 0;
}

void st_nats_subject(const char *host_token, const st_event *ev, char *buf, size_t len) {
  const char *provider = st_provider_name(ev->provider);
  snprintf(buf, len, ST_NATS_SUBJECT_ROOT ".%s.%s.%s.%u", host_token, st_os_name(ev->os),
           provider ? provider : "unknown", ev->id);
}

void st_nats_header_subject(const char *host_token, char *buf, size_t len) {
  snprintf(buf, len, ST_NATS_SUBJECT_ROOT ".%s.header", host_token);
}

/* Next token of a subject: its length, *s moved past it and its dot. */
static size_t next_token(const char **s, const char **tok) {
  *tok = *s;
  const char *dot = strchr(*s, '.');
  size_t n = dot ? (size_t)(dot - *s) : strlen(*s);
  *s += n + (dot ? 1 : 0);
  return n;
}

bool st_nats_pattern_covers(const char *pattern, const char *prefix) {
  const char *p = pattern, *q = prefix;
  while (*q) {
    const char *pt, *qt;
    if (!*p)
      return false; /* the pattern is shorter: it misses what lies below the prefix */
    size_t pn = next_token(&p, &pt), qn = next_token(&q, &qt);
    if (pn == 1 && *pt == '>')
      return true;
    if (!(pn == 1 && *pt == '*') && (pn != qn || memcmp(pt, qt, pn) != 0))
      return false;
  }
  /* Everything under the prefix: only a final ">" takes it all. */
  return strcmp(p, ">") == 0;
}
