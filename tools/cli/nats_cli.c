/*
 * Fleets on the command line: -o nats://... publishes a session's events
 * into a JetStream stream, `replay`/`report nats://...` read a stream back,
 * `collect nats://...` follows one. Here: their options (credentials, TLS,
 * retention, where to start, which hosts) and the collect command; the
 * backend and the sink are made in nats_link.c (or, in a build without
 * libnats, refused in one line by nats_none.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool cli_is_nats_url(const char *s) {
  return s && (strncmp(s, "nats://", 7) == 0 || strncmp(s, "tls://", 6) == 0);
}

/* "90s", "10m", "2h", "7d" -> ns; false when malformed. */
static bool parse_duration(const char *s, unsigned long long *ns) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0)
    return false;
  double unit = 1e9;
  if (*end == 's')
    end++;
  else if (*end == 'm')
    unit = 60e9, end++;
  else if (*end == 'h')
    unit = 3600e9, end++;
  else if (*end == 'd')
    unit = 86400e9, end++;
  if (*end)
    return false;
  *ns = (unsigned long long)(v * unit);
  return true;
}

/* --since: a duration back from now ("10m") or a UTC time
 * ("2026-11-25T19:21:13Z", fractions allowed). */
static bool parse_since(const char *s, unsigned long long *ns) {
  unsigned long long ago;
  if (parse_duration(s, &ago)) {
    uv_timeval64_t now;
    if (uv_gettimeofday(&now) != 0)
      return false;
    unsigned long long t =
        (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_usec * 1000ull;
    *ns = ago < t ? t - ago : 1;
    return true;
  }
  int y, mo, d, h, mi;
  double sec;
  char z = 0;
  if (sscanf(s, "%d-%d-%dT%d:%d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z' ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61)
    return false;
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
#ifdef _WIN32
  time_t t = _mkgmtime(&tm);
#else
  time_t t = timegm(&tm);
#endif
  if (t < 0)
    return false;
  *ns = (unsigned long long)t * 1000000000ull + (unsigned long long)(sec * 1e9);
  return true;
}

int cli_nats_option(cli_options *o, int opt, const char *arg) {
  cli_nats_args *n = &o->nats;
  char *end;
  switch (opt) {
  case CLI_OPT_NATS_CREDS:
    n->creds = arg;
    return 0;
  case CLI_OPT_NATS_TLS_CA:
    n->tls_ca = arg;
    return 0;
  case CLI_OPT_NATS_TLS_CERT:
    n->tls_cert = arg;
    return 0;
  case CLI_OPT_NATS_TLS_KEY:
    n->tls_key = arg;
    return 0;
  case CLI_OPT_NATS_RETRY:
    n->retry = true;
    return 0;
  case CLI_OPT_HOST_NAME:
    if (!*arg || strlen(arg) > 63) {
      cli_error("bad --host-name '%s' (1 to 63 characters)", arg);
      return -1;
    }
    n->host_name = arg;
    return 0;
  case CLI_OPT_NATS_BUFFER:
  case CLI_OPT_NATS_MAX_BYTES: {
    unsigned long long v;
    if (!cli_parse_size(arg, 4096, 1ull << 50, &v)) {
      cli_error("bad --%s '%s' (bytes, e.g. 64M; at least 4K)",
                opt == CLI_OPT_NATS_BUFFER ? "nats-buffer" : "nats-max-bytes", arg);
      return -1;
    }
    *(opt == CLI_OPT_NATS_BUFFER ? &n->buffer : &n->max_bytes) = v;
    return 0;
  }
  case CLI_OPT_NATS_MAX_AGE:
    if (!parse_duration(arg, &n->max_age_ns) || n->max_age_ns < 1000000000ull) {
      cli_error("bad --nats-max-age '%s' (a duration: 90s, 30m, 12h, 7d)", arg);
      return -1;
    }
    return 0;
  case CLI_OPT_NATS_REPLICAS: {
    unsigned long v = strtoul(arg, &end, 10);
    if (*end || v < 1 || v > 5) {
      cli_error("bad --nats-replicas '%s' (1 to 5)", arg);
      return -1;
    }
    n->replicas = (unsigned)v;
    return 0;
  }
  case CLI_OPT_SINCE:
    if (!parse_since(arg, &n->since_ns)) {
      cli_error("bad --since '%s' (a duration back from now, e.g. 10m, or a UTC time like "
                "2026-11-25T19:21:13Z)",
                arg);
      return -1;
    }
    return 0;
  case CLI_OPT_SINCE_SEQ:
    errno = 0;
    n->since_seq = strtoull(arg, &end, 10);
    if (errno || *end || !*arg || !n->since_seq) {
      cli_error("bad --since-seq '%s' (a stream sequence number, from 1)", arg);
      return -1;
    }
    return 0;
  default:
    return -1;
  }
}

bool cli_nats_host(cli_options *o, const char *name, const char *why) {
  cli_nats_args *n = &o->nats;
  for (const char *p = name; *p; p++)
    if (*p == ' ' || *p == '*' || *p == '>' || *p == '/')
      return false;
  if (!*name || strlen(name) > 63 || n->nhosts == CLI_NATS_HOSTS_MAX)
    return false;
  if (!n->nhosts)
    snprintf(n->host_error, sizeof n->host_error, "%s", why);
  n->hosts[n->nhosts++] = name;
  return true;
}

int cli_nats_url_query(cli_options *o, const char *url, char *base, size_t len, char *query,
                       size_t qlen) {
  const char *q = strchr(url, '?');
  size_t n = q ? (size_t)(q - url) : strlen(url);
  if (n >= len || (q && strlen(q + 1) >= qlen)) {
    cli_error("nats:// URL too long");
    return -1;
  }
  memcpy(base, url, n);
  base[n] = 0;
  if (!q)
    return 0;
  snprintf(query, qlen, "%s", q + 1);
  char *save = NULL;
  for (char *kv = strtok_r(query, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
    char *v = strchr(kv, '=');
    if (v)
      *v++ = 0;
    int rc = -2;
    if (v && !strcmp(kv, "host"))
      rc = cli_nats_host(o, v, "") ? 0 : -2;
    else if (v && !strcmp(kv, "since"))
      rc = cli_nats_option(o, CLI_OPT_SINCE, v);
    else if (v && (!strcmp(kv, "since-seq") || !strcmp(kv, "since_seq")))
      rc = cli_nats_option(o, CLI_OPT_SINCE_SEQ, v);
    if (rc == -2)
      cli_error("bad '%s%s%s' in a nats:// URL (?host=NAME&since=10m&since-seq=N)", kv,
                v ? "=" : "", v ? v : "");
    if (rc < 0)
      return -1;
  }
  return 0;
}

bool cli_nats_check(const cli_options *o, const char *command, const char *operand) {
  const cli_nats_args *n = &o->nats;
  bool stream =
      cli_is_nats_url(operand) && (!strcmp(command, "replay") || !strcmp(command, "report") ||
                                   !strcmp(command, "collect") || !strcmp(command, "top"));
  if (stream)
    return true;
  if (n->nhosts) {
    cli_error("%s (a host name selects a publisher of a nats:// stream)", n->host_error);
    return false;
  }
  if (n->since_ns || n->since_seq) {
    cli_error("--since and --since-seq choose where a nats:// stream is read from: 'socktrace "
              "replay nats://HOST:PORT/STREAM --since 10m'");
    return false;
  }
  if (!strcmp(command, "collect")) {
    cli_error("collect follows a stream: socktrace collect nats://HOST[:PORT][/STREAM]");
    return false;
  }
  return true;
}

int cli_collect(cli_options *o, const char *url) {
  o->nats.collect = true;
  if (!o->level_given)
    o->cfg.level = ST_LEVEL_VERBOSE; /* everything the hosts chose to publish */
  char shown[512];
  cli_shown(url, shown, sizeof shown);
  st_backend *b;
  if (cli_nats_backend(o, url, &b) < 0)
    return 1;
  o->cfg.handle_signals = true;
  cli_note("following %s (Ctrl-C to stop)", shown);
  return cli_run_session(o, b, NULL, NULL);
}
