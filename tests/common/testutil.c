/* Shared test helpers: fixture lookup, CI/root gating, collecting sink. */
#include "common/testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *st_test_fixtures_dir(void) {
  static char buf[4096];
  const char *env = getenv("SOCKTRACE_FIXTURES");
  if (env && *env)
    return env;
  snprintf(buf, sizeof buf, "%s/../shared/fixtures", ST_SOURCE_DIR);
  return buf;
}

const char *st_test_fixture(const char *rel) {
  static char buf[8192];
  snprintf(buf, sizeof buf, "%s/%s", st_test_fixtures_dir(), rel ? rel : "");
  return buf;
}

bool st_test_in_ci(void) {
  const char *ci = getenv("CI");
  return ci && strcmp(ci, "true") == 0;
}

bool st_test_fixtures_present(void) {
  struct stat st;
  return stat(st_test_fixtures_dir(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool st_test_is_root(void) {
  return geteuid() == 0;
}

typedef struct collect_sink {
  st_sink base;
  st_collect *into;
} collect_sink;

static int collect_write(st_sink *s, const st_event *ev) {
  st_collect *c = ((collect_sink *)s)->into;
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    st_event *n = realloc(c->events, cap * sizeof *n);
    if (!n)
      return ST_ENOMEM;
    c->events = n;
    c->cap = cap;
  }
  c->events[c->count++] = *ev;
  return 0;
}

static int collect_end(st_sink *s, const st_counters *counters) {
  st_collect *c = ((collect_sink *)s)->into;
  c->ended = 1;
  c->counters = *counters;
  return 0;
}

static void collect_close(st_sink *s) {
  free(s);
}

static const st_sink_ops collect_ops = {
    .name = "collect", .write = collect_write, .end = collect_end, .close = collect_close};

int st_sink_collect_new(st_collect *into, st_sink **sink) {
  collect_sink *s = calloc(1, sizeof *s);
  if (!s)
    return ST_ENOMEM;
  s->base.ops = &collect_ops;
  s->into = into;
  *sink = &s->base;
  return 0;
}

void st_collect_free(st_collect *c) {
  free(c->events);
  memset(c, 0, sizeof *c);
}

char *st_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = 0;
    if (len)
      *len = n;
  }
  return buf;
}

char *st_test_wait_file(const char *path, const char *needle, int timeout_ms) {
  char *text = st_test_read_file(path, NULL);
  for (int waited = 0; !(text && strstr(text, needle)) && waited < timeout_ms; waited += 10) {
    free(text);
    usleep(10000);
    text = st_test_read_file(path, NULL);
  }
  return text;
}

st_cli_result st_test_cli(const char *args) {
  return st_test_cli_stdin("/dev/null", args);
}

st_cli_result st_test_cli_stdin(const char *in, const char *args) {
  return st_test_cli_run(ST_BINARY_DIR "/socktrace", in, args);
}

st_cli_result st_test_cli_run(const char *bin, const char *in, const char *args) {
  char cmd[8192];
  char out[] = "/tmp/st-cli-out-XXXXXX", err[] = "/tmp/st-cli-err-XXXXXX";
  close(mkstemp(out));
  close(mkstemp(err));
  snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s <%s", bin, args, out, err, in);
  int st = system(cmd);
  st_cli_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, st_test_read_file(out, NULL),
                     st_test_read_file(err, NULL)};
  unlink(out);
  unlink(err);
  return r;
}

void st_cli_result_free(st_cli_result *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

int st_test_lines(const char *s) {
  int n = 0;
  for (; s && *s; s++)
    n += *s == '\n';
  return n;
}

int st_test_count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

int st_test_cli_dir(const char *dir, char **out, char **err, const char *fmt, ...) {
  char args[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof args)
    n = (int)sizeof args - 1;
  snprintf(args + n, sizeof args - (size_t)n, " --control-dir %s", dir);
  st_cli_result r = st_test_cli(args);
  if (out)
    *out = r.out;
  else
    free(r.out);
  if (err)
    *err = r.err;
  else
    free(r.err);
  return r.code;
}

long long st_test_sample(const char *text, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
      return atoll(p + n + 1);
  return -1;
}

void st_test_note_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("socktrace-test: SKIPPED: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

bool st_test_put(const char *dir, const char *rel, const char *text) {
  char path[1024], cmd[1200];
  snprintf(path, sizeof path, "%s%s", dir, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
  FILE *f = system(cmd) == 0 ? fopen(path, "w") : NULL;
  if (!f)
    return false;
  bool ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok;
}
