/*
 * The control channel's plumbing (control.h): where the sockets live, one
 * request/answer exchange, and filters to and from JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"

bool cli_session_name_ok(const char *name) {
  size_t n = strlen(name);
  if (!n || n > CLI_NAME_MAX || name[0] == '.')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

void cli_control_dir(const cli_options *o, char *buf, size_t len) {
  const char *env = getenv("SOCKTRACE_RUN_DIR");
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (o->control_dir)
    snprintf(buf, len, "%s", o->control_dir);
  else if (env && *env)
    snprintf(buf, len, "%s", env);
  else if (geteuid() == 0)
    snprintf(buf, len, "%s", CLI_ROOT_CONTROL_DIR);
  else if (xdg && *xdg)
    snprintf(buf, len, "%s/socktrace", xdg);
  else
    snprintf(buf, len, "/tmp/socktrace-%u", (unsigned)geteuid());
}

void cli_control_path(const char *dir, const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s.sock", dir, name);
}

int cli_control_dir_make(const char *dir, char *err, size_t errlen) {
  if (mkdir(dir, 0700) == 0 || errno == EEXIST)
    return 0;
  int rc = -errno;
  snprintf(err, errlen, "cannot make the sessions' directory %s: %s", dir, st_strerror(rc));
  return rc;
}

/* MSG_NOSIGNAL: a session that answered early (it refused us) closed its
 * end; its answer is still there to read. */
static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -errno;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int cli_control_request(const char *path, json_t *req, json_t **answer, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char *line = NULL, buf[4096];
  size_t len = 0;
  int rc = 0;

  *answer = NULL;
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "%s: the path is too long for a socket", path);
    return ST_ENAMETOOLONG;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    rc = -errno;
    snprintf(err, errlen, "cannot make a socket: %s", st_strerror(rc));
    return rc;
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    rc = -errno;
    snprintf(err, errlen, "cannot reach %s: %s", path, st_strerror(rc));
    close(fd);
    return rc;
  }
  char *text = json_dumps(req, JSON_COMPACT);
  if (text && ((rc = write_all(fd, text, strlen(text))) == 0))
    rc = write_all(fd, "\n", 1);
  if (rc == ST_EPIPE)
    rc = 0;
  if (!text || rc < 0) {
    snprintf(err, errlen, "cannot send the request to %s: %s", path,
             st_strerror(rc ? rc : ST_ENOMEM));
    free(text);
    close(fd);
    return rc ? rc : ST_ENOMEM;
  }
  free(text);
  shutdown(fd, SHUT_WR);
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    char *n = realloc(line, len + (size_t)r + 1);
    if (!n || len + (size_t)r > CLI_REQUEST_MAX) {
      free(n ? n : line);
      close(fd);
      snprintf(err, errlen, "the answer from %s is too long", path);
      return ST_EMSGSIZE;
    }
    line = n;
    memcpy(line + len, buf, (size_t)r);
    len += (size_t)r;
  }
  close(fd);
  json_error_t je;
  *answer = line ? json_loadb(line, len, 0, &je) : NULL;
  free(line);
  if (!json_is_object(*answer)) {
    json_decref(*answer);
    *answer = NULL;
    snprintf(err, errlen, "no answer from %s (its session may have just stopped)", path);
    return ST_EBADMSG;
  }
  return 0;
}

/* The filter kinds a request may name, with their command-line parsers. */
static const struct {
  const char *key;
  unsigned kind;
  int (*add)(st_filter *, const char *, char *, size_t);
} kinds_table[] = {
    {"pid", CLI_FILTER_PID, st_filter_add_pid},
    {"port", CLI_FILTER_PORT, st_filter_add_port},
    {"host", CLI_FILTER_HOST, st_filter_add_host},
    {"family", CLI_FILTER_FAMILY, st_filter_add_family},
    {"protocol", CLI_FILTER_PROTOCOL, st_filter_add_protocol},
    {"events", CLI_FILTER_EVENTS, st_filter_add_events},
    {"container", CLI_FILTER_CONTAINER, st_filter_add_container},
};

int cli_filter_from_json(json_t *filters, st_filter *f, unsigned *kinds, char *err, size_t errlen) {
  *kinds = 0;
  if (!filters)
    return 0;
  if (!json_is_object(filters)) {
    snprintf(err, errlen, "\"filters\" is not an object");
    return ST_EINVAL;
  }
  const char *key;
  json_t *v;
  json_object_foreach(filters, key, v) {
    size_t k;
    for (k = 0; k < sizeof kinds_table / sizeof *kinds_table; k++)
      if (strcmp(key, kinds_table[k].key) == 0)
        break;
    if (k == sizeof kinds_table / sizeof *kinds_table) {
      snprintf(err, errlen,
               "unknown filter \"%s\" (pid, port, host, family, protocol, events, container)", key);
      return ST_EINVAL;
    }
    if (!json_is_array(v)) {
      snprintf(err, errlen, "filter \"%s\" is not an array of strings", key);
      return ST_EINVAL;
    }
    *kinds |= kinds_table[k].kind;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      if (!json_is_string(item)) {
        snprintf(err, errlen, "filter \"%s\" holds a value that is not a string", key);
        return ST_EINVAL;
      }
      int rc = kinds_table[k].add(f, json_string_value(item), err, errlen);
      if (rc < 0)
        return rc;
    }
  }
  return 0;
}

json_t *cli_filter_to_json(const st_filter *f) {
  json_t *o = json_object();
  char buf[64];
  if (f->npids) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->npids; i++) {
      snprintf(buf, sizeof buf, "%u", f->pids[i]);
      json_array_append_new(a, json_string(buf));
    }
    json_object_set_new(o, "pid", a);
  }
  if (f->nports) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->nports; i++) {
      snprintf(buf, sizeof buf, "%u", f->ports[i]);
      json_array_append_new(a, json_string(buf));
    }
    json_object_set_new(o, "port", a);
  }
  if (f->nhosts) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->nhosts; i++) {
      st_addr_format_ip(&f->hosts[i], buf, sizeof buf);
      json_array_append_new(a, json_string(buf));
    }
    json_object_set_new(o, "host", a);
  }
  if (f->families) {
    json_t *a = json_array();
    for (int fam = 1; fam <= ST_FAMILY_UNIX; fam++)
      if (f->families & (1u << fam))
        json_array_append_new(a, json_string(st_family_name((uint8_t)fam)));
    json_object_set_new(o, "family", a);
  }
  if (f->nprotocols) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->nprotocols; i++) {
      snprintf(buf, sizeof buf, "%u", f->protocols[i]);
      json_array_append_new(a, json_string(buf));
    }
    json_object_set_new(o, "protocol", a);
  }
  if (f->nevents) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->nevents; i++) {
      const char *n = st_event_name(f->events[i].provider, f->events[i].id);
      json_array_append_new(a, json_string(n ? n : "?"));
    }
    json_object_set_new(o, "events", a);
  }
  if (f->ncontainers) {
    json_t *a = json_array();
    for (unsigned i = 0; i < f->ncontainers; i++)
      json_array_append_new(a, json_string(f->containers[i]));
    json_object_set_new(o, "container", a);
  }
  return o;
}
