/*
 * Background sessions, the logman way (docs/sessions.md):
 *   socktrace start NAME [options]   logman start NAME -ets
 *   socktrace query [NAME]           logman query [NAME] -ets
 *   socktrace update NAME [options]  logman update NAME -ets
 *   socktrace flush NAME             logman update NAME -fd -ets
 *   socktrace stop NAME              logman stop NAME -ets
 * start makes the session host (session_host_unix.c); the others are
 * clients of its control socket.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"

/* DIR and DIR/NAME.sock for a named session; false after a usage error. */
static bool session_paths(const cli_options *o, const char *name, char *dir, size_t dlen,
                          char *path, size_t plen) {
  if (!cli_session_name_ok(name)) {
    cli_error("bad session name '%s' (1 to %d letters, digits, '.', '_' or '-')", name,
              CLI_NAME_MAX);
    return false;
  }
  cli_control_dir(o, dir, dlen);
  cli_control_path(dir, name, path, plen);
  return true;
}

/* No session NAME where this user's sessions are. A user's own sessions
 * live elsewhere than root's (cli_control_dir): when root has one of that
 * name, or root's directory cannot be looked into, say so rather than
 * that nothing runs. */
static void not_running(const cli_options *o, const char *name) {
  char root_path[320];
  struct stat sb;
  if (geteuid() != 0 && !o->control_dir && !getenv("SOCKTRACE_RUN_DIR")) {
    cli_control_path(CLI_ROOT_CONTROL_DIR, name, root_path, sizeof root_path);
    if (stat(root_path, &sb) == 0) {
      cli_error("session %s is root's, not yours: only root controls it (sudo socktrace ...)",
                name);
      return;
    }
    if (errno == EACCES) {
      cli_error("no session named %s of yours is running; root's sessions (%s) are not yours to "
                "see (sudo socktrace query)",
                name, CLI_ROOT_CONTROL_DIR);
      return;
    }
  }
  cli_error("no session named %s is running ('socktrace query' lists them)", name);
}

/* One request to a named session. 0 with *ans, else 1 after one line: no
 * such session, it died (its socket is removed), or it refused. */
static int ask(const cli_options *o, const char *name, json_t *req, json_t **ans) {
  char dir[256], path[320], err[512];
  if (!session_paths(o, name, dir, sizeof dir, path, sizeof path)) {
    json_decref(req);
    return 2;
  }
  int rc = cli_control_request(path, req, ans, err, sizeof err);
  json_decref(req);
  if (rc == ST_ENOENT) {
    not_running(o, name);
    return 1;
  }
  if (rc == ST_ECONNREFUSED) {
    unlink(path);
    cli_error("session %s is gone: its process died; its control socket %s was removed", name,
              path);
    return 1;
  }
  if (rc == ST_EACCES || rc == ST_EPERM) {
    cli_error("cannot reach session %s: permission denied (run as root or as its owner)", name);
    return 1;
  }
  if (rc < 0) {
    cli_error("%s", err);
    return 1;
  }
  if (!json_is_true(json_object_get(*ans, "ok"))) {
    const char *why = json_string_value(json_object_get(*ans, "error"));
    cli_error("%s", why ? why : "the session refused the request");
    json_decref(*ans);
    *ans = NULL;
    return 1;
  }
  return 0;
}

static json_t *request(const char *cmd) {
  return json_pack("{ss}", "cmd", cmd);
}

/* ---- words ---- */

static const char *size_words(uint64_t bytes, char *buf, size_t len) {
  if (bytes >= 10u << 20)
    snprintf(buf, len, "%.0f MiB", bytes / 1048576.0);
  else if (bytes >= 10u << 10)
    snprintf(buf, len, "%.0f KiB", bytes / 1024.0);
  else
    snprintf(buf, len, "%" PRIu64 " bytes", bytes);
  return buf;
}

static json_int_t num(json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "?";
}

/* A session in words, like `logman query NAME`. */
static void print_session(json_t *s) {
  json_t *ev = json_object_get(s, "events");
  char b[64];
  printf("Session %s (pid %d, owner %s): %s since %s\n", str(s, "name"), (int)num(s, "pid"),
         str(s, "owner"), str(s, "state"), str(s, "started"));
  printf("  source   %s, level %d, keywords %s\n", str(s, "backend"), (int)num(s, "level"),
         str(s, "keywords"));
  printf("  filters  %s\n", str(s, "filters"));
  size_t i;
  json_t *out;
  json_array_foreach(json_object_get(s, "outputs"), i, out) {
    printf("  output   %s (%s", str(out, "path"), str(out, "format"));
    if (json_object_get(out, "published"))
      printf(", %s, %" PRId64 " published, %" PRId64 " held",
             json_is_true(json_object_get(out, "connected")) ? "connected" : "NOT CONNECTED",
             (int64_t)num(out, "published"), (int64_t)num(out, "buffered"));
    if (json_object_get(out, "bytes")) {
      printf(", %s in %d file%s", size_words((uint64_t)num(out, "bytes"), b, sizeof b),
             (int)num(out, "files"), num(out, "files") == 1 ? "" : "s");
      if (num(out, "max_size"))
        printf(", rotating at %s keeping %d",
               size_words((uint64_t)num(out, "max_size"), b, sizeof b), (int)num(out, "max_files"));
    }
    printf(")\n");
  }
  if (!json_array_size(json_object_get(s, "outputs")))
    printf("  output   none (counting only)\n");
  if (json_is_string(json_object_get(s, "metrics")))
    printf("  metrics  http://%s/metrics\n", str(s, "metrics"));
  printf("  events   %" PRId64 " seen, %" PRId64 " written, %" PRId64 " filtered out, %" PRId64
         " lost; %.0f events/s now\n",
         (int64_t)num(ev, "seen"), (int64_t)num(ev, "written"), (int64_t)num(ev, "filtered"),
         (int64_t)num(ev, "lost"), json_real_value(json_object_get(s, "rate")));
  if (json_object_get(s, "error"))
    printf("  error    %s\n", str(s, "error"));
}

/* ---- the commands ---- */

/* Options from a --config file: words separated by blanks, '#' to the end
 * of a line is a comment. */
static int read_config(cli_options *o) {
  FILE *f = fopen(o->config, "r");
  if (!f) {
    cli_error("cannot read %s: %s", o->config, st_strerror(-errno));
    return -1;
  }
  static char text[16384];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  static char *argv[256];
  int argc = 0;
  argv[argc++] = "start";
  for (char *p = text; *p && argc < 255;) {
    if (*p == '#') {
      while (*p && *p != '\n')
        p++;
    } else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
      *p++ = 0;
    } else {
      argv[argc++] = p;
      while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '#')
        p++;
      if (*p == '#') {
        *p++ = 0;
        while (*p && *p != '\n')
          p++;
      }
    }
  }
  argv[argc] = NULL;
  const char *config = o->config;
  int first = cli_parse_options(argc, argv, o, false);
  o->config = config;
  if (first < 0)
    return -1;
  if (first < argc) {
    cli_error("%s: '%s' is not an option", o->config, argv[first]);
    return -1;
  }
  return 0;
}

int cli_start(cli_options *o, const char *name) {
  char dir[256], path[320], log[320], err[512];
  if (!session_paths(o, name, dir, sizeof dir, path, sizeof path))
    return 2;
  if (o->config && read_config(o) < 0)
    return 2;
  if (o->summary || o->timeline) {
    cli_error("a background session writes to a file: use -o FILE (and 'socktrace report' on "
              "it), not --summary or --timeline");
    return 2;
  }
  /* --metrics alone: the session only counts, for its endpoint. */
  if (!o->output && o->metrics && !o->format)
    o->format = "null";
  if (!o->output && !(o->format && strcmp(o->format, "null") == 0)) {
    cli_error("a background session needs -o FILE, --metrics ADDR or -f null (to only count its "
              "events)");
    return 2;
  }
  if (cli_control_dir_make(dir, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  json_t *ans = NULL;
  int rc = cli_control_request(path, request("query"), &ans, err, sizeof err);
  if (rc == 0) {
    json_t *s = json_object_get(ans, "session");
    cli_error("session %s is already running (pid %d); stop it first ('socktrace stop %s')", name,
              (int)num(s, "pid"), name);
    json_decref(ans);
    return 1;
  }
  if (rc == ST_ECONNREFUSED)
    unlink(path); /* a session that died: its name is free again */
  /* The host works from /: the output's path must not depend on here. */
  static char abs_out[4096];
  if (o->output && o->output[0] != '/' && !cli_is_nats_url(o->output) &&
      !cli_is_otlp_url(o->output)) {
    char cwd[3072];
    if (!getcwd(cwd, sizeof cwd)) {
      cli_error("cannot tell the current directory: %s", st_strerror(-errno));
      return 1;
    }
    snprintf(abs_out, sizeof abs_out, "%s/%s", cwd, o->output);
    o->output = abs_out;
  }
  snprintf(log, sizeof log, "%s/%s.log", dir, name);
  return cli_session_host(o, name, path, log);
}

/* Every session in the directory; dead ones are said so and removed. */
static int query_all(cli_options *o) {
  char dir[256], path[320], err[512];
  bool json = o->format && strcmp(o->format, "json") == 0;
  json_t *all = json_array();
  cli_control_dir(o, dir, sizeof dir);
  DIR *d = opendir(dir);
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n <= 5 || strcmp(e->d_name + n - 5, ".sock") != 0)
      continue;
    char name[CLI_NAME_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)(n - 5), e->d_name);
    cli_control_path(dir, name, path, sizeof path);
    json_t *ans = NULL;
    int rc = cli_control_request(path, request("query"), &ans, err, sizeof err);
    if (rc == ST_ECONNREFUSED) {
      unlink(path);
      if (!json)
        printf("Session %s: gone (its process died; its control socket was removed)\n", name);
      continue;
    }
    if (rc < 0 || !json_is_true(json_object_get(ans, "ok"))) {
      const char *why = ans ? json_string_value(json_object_get(ans, "error")) : NULL;
      cli_error("session %s: %s", name, why ? why : err);
      json_decref(ans);
      continue;
    }
    found++;
    if (json)
      json_array_append(all, json_object_get(ans, "session"));
    else
      print_session(json_object_get(ans, "session"));
    json_decref(ans);
  }
  if (d)
    closedir(d);
  if (json) {
    char *text = json_dumps(all, JSON_INDENT(2));
    printf("%s\n", text ? text : "[]");
    free(text);
  } else if (!found) {
    printf("no socktrace session is running (sessions' directory: %s)\n", dir);
  }
  json_decref(all);
  return 0;
}

int cli_query(cli_options *o, const char *name) {
  if (!name)
    return query_all(o);
  json_t *ans;
  int rc = ask(o, name, request("query"), &ans);
  if (rc)
    return rc;
  json_t *s = json_object_get(ans, "session");
  if (o->format && strcmp(o->format, "json") == 0) {
    char *text = json_dumps(s, JSON_INDENT(2));
    printf("%s\n", text ? text : "{}");
    free(text);
  } else {
    print_session(s);
  }
  json_decref(ans);
  return 0;
}

int cli_update(cli_options *o, const char *name) {
  json_t *req = request("update");
  if (o->level_given)
    json_object_set_new(req, "level", json_integer(o->cfg.level));
  if (o->cfg.keywords) {
    char kw[32];
    snprintf(kw, sizeof kw, "0x%" PRIx64, o->cfg.keywords);
    json_object_set_new(req, "keywords", json_string(kw));
  }
  json_t *filters = cli_filter_to_json(&o->cfg.filter);
  if (json_object_size(filters))
    json_object_set_new(req, "filters", filters);
  else
    json_decref(filters);
  if (o->clear_filters)
    json_object_set_new(req, "clear_filters", json_true());
  if (json_object_size(req) == 1) {
    json_decref(req);
    cli_error("update needs something to change: -l, -k, a filter or --clear-filters");
    return 2;
  }
  json_t *ans;
  int rc = ask(o, name, req, &ans);
  if (rc)
    return rc;
  json_t *s = json_object_get(ans, "session");
  cli_note("session %s updated: level %d, keywords %s, filters %s", name, (int)num(s, "level"),
           str(s, "keywords"), str(s, "filters"));
  json_decref(ans);
  return 0;
}

int cli_flush(cli_options *o, const char *name) {
  json_t *ans;
  int rc = ask(o, name, request("flush"), &ans);
  if (rc)
    return rc;
  cli_note("session %s flushed", name);
  json_decref(ans);
  return 0;
}

int cli_stop(cli_options *o, const char *name) {
  json_t *ans;
  int rc = ask(o, name, request("stop"), &ans);
  if (rc)
    return rc;
  json_t *s = json_object_get(ans, "session"), *ev = json_object_get(s, "events");
  cli_note("session %s stopped: %" PRId64 " events seen, %" PRId64 " written, %" PRId64 " lost",
           name, (int64_t)num(ev, "seen"), (int64_t)num(ev, "written"), (int64_t)num(ev, "lost"));
  if (json_object_get(s, "error")) {
    cli_error("session %s had failed: %s", name, str(s, "error"));
    rc = 1;
  }
  json_decref(ans);
  return rc;
}

/* The same executable file as this process's: what /proc/PID/exe points at
 * (a zombie or a process gone: cannot tell). */
int cli_runs_this_program(uint32_t pid, void *arg) {
  (void)arg;
  static struct stat self;
  static int have_self = -1;
  if (have_self < 0)
    have_self = stat("/proc/self/exe", &self) == 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%" PRIu32 "/exe", pid);
  struct stat st;
  if (!have_self || stat(path, &st) < 0)
    return !have_self || errno == ENOENT || errno == ESRCH ? -1 : 0;
  return st.st_dev == self.st_dev && st.st_ino == self.st_ino;
}
