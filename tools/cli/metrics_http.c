/*
 * --metrics ADDR: the metrics sink behind a small HTTP server on the
 * session's own loop (libuv TCP). GET /metrics answers the Prometheus text
 * format, or OpenMetrics when the scraper's Accept header asks for it; any
 * other path is a 404. The server listens from the session's start to its
 * end, so a running session's metrics outlive `update`. One request per
 * connection: the answer closes it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "socktrace/metrics.h"

#define REQUEST_MAX 8192

typedef struct http_sink http_sink;

typedef struct client {
  uv_tcp_t tcp;
  uv_write_t write;
  http_sink *h;
  char buf[REQUEST_MAX];
  size_t len;
  char *answer;
  struct client *next, *prev;
} client;

struct http_sink {
  st_sink base;
  st_sink *metrics;
  uv_loop_t *loop;
  const char *spec;
  uv_tcp_t server;
  bool listening;
  client *clients;
  char address[64]; /* where it listens, as bound ("127.0.0.1:9464") */
};

static http_sink *current; /* for query: a process runs one session */

const char *cli_metrics_address(void) {
  return current && current->listening ? current->address : NULL;
}

static void on_client_closed(uv_handle_t *hd) {
  client *c = hd->data;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->h->clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  free(c->answer);
  free(c);
}

static void client_close(client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  client_close(w->data);
}

static void answer(client *c, const char *status, const char *type, const char *body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, type, len);
  c->answer = malloc((size_t)n + len);
  if (!c->answer) {
    client_close(c);
    return;
  }
  memcpy(c->answer, head, (size_t)n);
  memcpy(c->answer + n, body, len);
  uv_buf_t b = uv_buf_init(c->answer, (unsigned)((size_t)n + len));
  c->write.data = c;
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
    client_close(c);
}

/* Header names are case-insensitive (strncasecmp is not in Windows' C
 * library). */
static bool same_name(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
      return false;
  return true;
}

static const char *find_header(const char *req, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
    if (same_name(p + 2, name, n) && p[2 + n] == ':')
      return p + 3 + n;
  return NULL;
}

static void serve(client *c) {
  c->buf[c->len] = 0;
  char *eol = strstr(c->buf, "\r\n");
  const char *text = "Not found: socktrace serves /metrics\n";
  if (strncmp(c->buf, "GET ", 4) != 0 && strncmp(c->buf, "HEAD ", 5) != 0) {
    text = "Only GET /metrics\n";
    answer(c, "405 Method Not Allowed", "text/plain", text, strlen(text));
    return;
  }
  const char *path = strchr(c->buf, ' ') + 1;
  size_t plen = strcspn(path, " ?\r");
  if (!eol || plen != strlen("/metrics") || strncmp(path, "/metrics", plen) != 0) {
    answer(c, "404 Not Found", "text/plain", text, strlen(text));
    return;
  }
  const char *accept = find_header(c->buf, "Accept");
  char line[512] = "";
  if (accept)
    snprintf(line, sizeof line, "%.*s", (int)strcspn(accept, "\r"), accept);
  bool om = strstr(line, "application/openmetrics-text") != NULL;
  char *body = NULL;
  int n = st_metrics_render(c->h->metrics, om, &body);
  if (n < 0) {
    text = "out of memory\n";
    answer(c, "500 Internal Server Error", "text/plain", text, strlen(text));
    return;
  }
  answer(c, "200 OK", om ? ST_METRICS_OPENMETRICS_TYPE : ST_METRICS_TEXT_TYPE, body, (size_t)n);
  free(body);
}

static void on_alloc(uv_handle_t *hd, size_t size, uv_buf_t *b) {
  (void)size;
  client *c = hd->data;
  *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  client *c = st->data;
  if (n < 0) {
    client_close(c);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = 0;
  if (strstr(c->buf, "\r\n\r\n")) {
    uv_read_stop(st);
    serve(c);
  } else if (c->len >= sizeof c->buf - 1) {
    uv_read_stop(st);
    const char *text = "Request too large\n";
    answer(c, "431 Request Header Fields Too Large", "text/plain", text, strlen(text));
  }
}

static void on_connection(uv_stream_t *server, int status) {
  http_sink *h = server->data;
  if (status < 0)
    return;
  client *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->h = h;
  uv_tcp_init(h->loop, &c->tcp);
  c->tcp.data = c;
  c->next = h->clients;
  if (h->clients)
    h->clients->prev = c;
  h->clients = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    client_close(c);
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; no HOST is the loopback. */
static int parse_address(const char *spec, struct sockaddr_storage *ss) {
  char host[64] = "127.0.0.1";
  const char *port = spec;
  if (spec[0] == '[') {
    const char *end = strchr(spec, ']');
    if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
      return -1;
    snprintf(host, sizeof host, "%.*s", (int)(end - spec - 1), spec + 1);
    port = end + 2;
  } else if (strchr(spec, ':')) {
    const char *colon = strrchr(spec, ':');
    if ((size_t)(colon - spec) >= sizeof host)
      return -1;
    if (colon != spec)
      snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    port = colon + 1;
  }
  if (strcmp(host, "localhost") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  char *end;
  long p = strtol(port, &end, 10);
  if (!*port || *end || p < 0 || p > 65535)
    return -1;
  if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss) == 0)
    return 0;
  return uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
}

int cli_metrics_check(const char *spec) {
  struct sockaddr_storage ss;
  if (parse_address(spec, &ss) == 0)
    return 0;
  cli_error("bad --metrics '%s' (an IP address and port: 127.0.0.1:9464, [::1]:9464 or :9464)",
            spec);
  return -1;
}

static int http_begin(st_sink *s, const st_trace_info *info) {
  (void)info;
  http_sink *h = (http_sink *)s;
  struct sockaddr_storage ss;
  if (parse_address(h->spec, &ss) < 0) {
    snprintf(s->error, sizeof s->error, "bad --metrics '%s'", h->spec);
    return ST_EINVAL;
  }
  uv_tcp_init(h->loop, &h->server);
  h->server.data = h;
  int rc = uv_tcp_bind(&h->server, (struct sockaddr *)&ss, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&h->server, 64, on_connection);
  if (rc < 0) {
    uv_close((uv_handle_t *)&h->server, NULL);
    if (rc == UV_EADDRINUSE)
      snprintf(s->error, sizeof s->error,
               "cannot serve metrics on %s: the port is taken (stop what listens there or "
               "give --metrics another port)",
               h->spec);
    else
      snprintf(s->error, sizeof s->error, "cannot serve metrics on %s: %s", h->spec,
               uv_strerror(rc));
    return ST_EIO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  char ip[48] = "?";
  uv_tcp_getsockname(&h->server, (struct sockaddr *)&bound, &blen);
  if (bound.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
    snprintf(h->address, sizeof h->address, "[%s]:%u", ip,
             (unsigned)ntohs(((struct sockaddr_in6 *)&bound)->sin6_port));
  } else {
    uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
    snprintf(h->address, sizeof h->address, "%s:%u", ip,
             (unsigned)ntohs(((struct sockaddr_in *)&bound)->sin_port));
  }
  h->listening = true;
  return 0;
}

static int http_write(st_sink *s, const st_event *ev) {
  http_sink *h = (http_sink *)s;
  return h->metrics->ops->write(h->metrics, ev);
}

/* The session ends: no more scrapes, so the loop can end too. */
static int http_end(st_sink *s, const st_counters *c) {
  (void)c;
  http_sink *h = (http_sink *)s;
  if (h->listening) {
    uv_close((uv_handle_t *)&h->server, NULL);
    h->listening = false;
  }
  for (client *k = h->clients; k; k = k->next)
    client_close(k);
  return 0;
}

static void http_close(st_sink *s) {
  http_sink *h = (http_sink *)s;
  if (current == h)
    current = NULL;
  h->metrics->ops->close(h->metrics);
  free(h);
}

static const st_sink_ops http_ops = {.name = "metrics-http",
                                     .begin = http_begin,
                                     .write = http_write,
                                     .end = http_end,
                                     .close = http_close};

int cli_metrics_sink(const cli_options *o, uv_loop_t *loop, st_sink **out) {
  http_sink *h = calloc(1, sizeof *h);
  st_metrics_options mo = {.max_series = o->metrics_max_series};
  if (!h || st_sink_metrics_new(&mo, &h->metrics) < 0) {
    free(h);
    cli_error("out of memory");
    return ST_ENOMEM;
  }
  h->base.ops = &http_ops;
  h->loop = loop;
  h->spec = o->metrics;
  current = h;
  *out = &h->base;
  return 0;
}
