/*
 * Real nats-server processes and background socktrace runs for the NATS
 * tests (natsd.h). Every process started here gets SIGKILL when the test
 * process dies, so a failed test leaves no server behind.
 */
#define _GNU_SOURCE
#include "nats/natsd.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"

#define NATS_SERVER "/usr/sbin/nats-server"

static char tmpdir[128];

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void natsd_require(void) {
  if (access(NATS_SERVER, X_OK) == 0)
    return;
  if (st_test_in_ci())
    cr_assert_fail(NATS_SERVER " not found under CI=true (tools/setup.sh installs nats-server)");
  ST_SKIP(NATS_SERVER " not found (run tools/setup.sh); skipped");
}

const char *natsd_tmpdir(void) {
  static int n;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/st-nats-%d-%d", (int)getpid(), ++n);
  mkdir(tmpdir, 0700);
  st_test_guard_dir(tmpdir);
  return tmpdir;
}

/* The servers and background runs of the test (their command lines name
 * its directory) ended, and the directory removed. */
void natsd_cleanup(void) {
  if (tmpdir[0])
    st_test_remove_dir(tmpdir);
}

int natsd_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
    cr_assert_fail("cannot find a free port: %s", strerror(errno));
  close(fd);
  return ntohs(sa.sin_port);
}

void natsd_init(natsd *d, const char *name) {
  memset(d, 0, sizeof *d);
  snprintf(d->name, sizeof d->name, "%s", name);
  snprintf(d->dir, sizeof d->dir, "%s/%s", tmpdir[0] ? tmpdir : natsd_tmpdir(), name);
  d->port = natsd_free_port();
  d->jetstream = true;
}

static void write_config(natsd *d) {
  char path[400];
  mkdir(d->dir, 0700);
  snprintf(path, sizeof path, "%s/server.conf", d->dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  fprintf(f, "server_name: %s\nlisten: 127.0.0.1:%d\n", d->name, d->port);
  if (d->jetstream)
    fprintf(f, "jetstream { store_dir: \"%s/js\" }\n", d->dir);
  if (d->routes[0])
    fprintf(f, "cluster { name: st; listen: 127.0.0.1:%d; routes: [%s] }\n", d->cluster_port,
            d->routes);
  fprintf(f, "%s\n", d->extra);
  fclose(f);
}

/* A connection to d with what it wants (TLS, user); NULL when none. */
static natsConnection *connect_to(const natsd *d) {
  char url[64];
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", d->port);
  natsOptions *o = NULL;
  natsConnection *nc = NULL;
  bool set = natsOptions_Create(&o) == NATS_OK && natsOptions_SetURL(o, url) == NATS_OK &&
             natsOptions_SetTimeout(o, 500) == NATS_OK;
  if (set && d->ca_file[0])
    set = natsOptions_SetSecure(o, true) == NATS_OK &&
          natsOptions_LoadCATrustedCertificates(o, d->ca_file) == NATS_OK;
  if (set && d->cert_file[0])
    set = natsOptions_LoadCertificatesChain(o, d->cert_file, d->key_file) == NATS_OK;
  if (set && d->user[0])
    set = natsOptions_SetUserInfo(o, d->user, d->password) == NATS_OK;
  if (set && natsConnection_Connect(&nc, o) != NATS_OK)
    nc = NULL;
  natsOptions_Destroy(o);
  return nc;
}

/* JetStream answers (in a cluster: once it has a meta leader). */
static bool jetstream_ready(natsd *d) {
  natsConnection *nc = connect_to(d);
  jsCtx *js = NULL;
  jsAccountInfo *ai = NULL;
  bool ok = nc && !d->jetstream;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 500;
  if (nc && d->jetstream && natsConnection_JetStream(&js, nc, &jo) == NATS_OK &&
      js_GetAccountInfo(&ai, js, NULL, NULL) == NATS_OK)
    ok = true;
  jsAccountInfo_Destroy(ai);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return ok;
}

uint64_t natsd_stream_msgs(const natsd *d, const char *stream) {
  natsConnection *nc = connect_to(d);
  jsCtx *js = NULL;
  jsStreamInfo *si = NULL;
  uint64_t n = 0;
  if (nc && natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
      js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK)
    n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return n;
}

bool natsd_wait_msgs(const natsd *d, const char *stream, uint64_t at_least, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (natsd_stream_msgs(d, stream) >= at_least)
      return true;
    sleep_ms(100);
  }
  return false;
}

static bool replicas_current(const natsd *d, const char *stream) {
  natsConnection *nc = connect_to(d);
  jsCtx *js = NULL;
  jsStreamInfo *si = NULL;
  bool ok = false;
  if (nc && natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
      js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK && si->Cluster &&
      si->Cluster->Leader) {
    ok = true;
    for (int i = 0; i < si->Cluster->ReplicasLen; i++) {
      const jsPeerInfo *p = si->Cluster->Replicas[i];
      ok &= p->Current && !p->Offline && p->Lag == 0;
    }
  }
  jsStreamInfo_Destroy(si);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return ok;
}

bool natsd_wait_current(const natsd *d, const char *stream, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 100) {
    if (replicas_current(d, stream))
      return true;
    sleep_ms(100);
  }
  return false;
}

static bool launch(natsd *d) {
  write_config(d);
  char conf[400], log[400];
  snprintf(conf, sizeof conf, "%s/server.conf", d->dir);
  snprintf(log, sizeof log, "%s/server.log", d->dir);
  d->pid = fork();
  cr_assert_geq(d->pid, 0);
  if (d->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(NATS_SERVER, "nats-server", "-c", conf, (char *)NULL);
    _exit(127);
  }
  return true;
}

bool natsd_start(natsd *d) {
  launch(d);
  for (int i = 0; i < 150; i++) {
    if (jetstream_ready(d))
      return true;
    if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
      d->pid = 0;
      return false;
    }
    sleep_ms(100);
  }
  return false;
}

void natsd_kill(natsd *d) {
  if (d->pid > 0) {
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
  }
  d->pid = 0;
}

bool natsd_cluster(natsd d[3]) {
  char name[8];
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "n%d", i + 1);
    natsd_init(&d[i], name);
    d[i].cluster_port = natsd_free_port();
  }
  for (int i = 0; i < 3; i++) {
    size_t n = 0;
    for (int j = 0; j < 3; j++)
      if (j != i)
        n += (size_t)snprintf(d[i].routes + n, sizeof d[i].routes - n,
                              "%snats-route://127.0.0.1:%d", n ? ", " : "", d[j].cluster_port);
  }
  for (int i = 0; i < 3; i++)
    launch(&d[i]);
  for (int t = 0; t < 300; t++) {
    if (jetstream_ready(&d[0]) && jetstream_ready(&d[1]) && jetstream_ready(&d[2]))
      return true;
    sleep_ms(100);
  }
  return false;
}

bool bg_start(bg *b, const char *fmt, ...) {
  char args[4096], cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  static int n;
  snprintf(b->out, sizeof b->out, "%s/bg%d.out", tmpdir, ++n);
  snprintf(b->err, sizeof b->err, "%s/bg%d.err", tmpdir, n);
  snprintf(cmd, sizeof cmd, "exec %s/socktrace %s >%s 2>%s </dev/null", ST_BINARY_DIR, args, b->out,
           b->err);
  b->pid = fork();
  cr_assert_geq(b->pid, 0);
  if (b->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return true;
}

int bg_wait(bg *b, int timeout_ms) {
  int st;
  for (int waited = 0; waited <= timeout_ms; waited += 50) {
    if (waitpid(b->pid, &st, WNOHANG) == b->pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    sleep_ms(50);
  }
  kill(b->pid, SIGKILL);
  waitpid(b->pid, &st, 0);
  return -1;
}

void bg_signal(bg *b, int sig) {
  kill(b->pid, sig);
}

stream_read stream_read_all(const char *args) {
  stream_read r = {0};
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "replay %s -f jsonl", args);
  st_cli_result res = st_test_cli(cmd);
  r.code = res.code;
  char *save = NULL;
  bool header = true;
  for (char *line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (header) { /* the trace header */
      header = false;
      continue;
    }
    r.lines = realloc(r.lines, (r.nlines + 1) * sizeof *r.lines);
    r.lines[r.nlines++] = strdup(line);
    json_t *o = json_loads(line, 0, NULL);
    if (json_integer_value(json_object_get(o, "id")) == 5900) {
      r.lost_records++;
      r.lost_count += (uint64_t)json_integer_value(json_object_get(o, "count"));
    } else {
      r.events++;
    }
    json_decref(o);
  }
  if (res.code != 0)
    fprintf(stderr, "replay %s: %s", args, res.err ? res.err : "");
  st_cli_result_free(&res);
  return r;
}

void stream_read_free(stream_read *r) {
  for (size_t i = 0; i < r->nlines; i++)
    free(r->lines[i]);
  free(r->lines);
  memset(r, 0, sizeof *r);
}

pub_stats pub_stats_parse(const char *text) {
  pub_stats p = {0};
  const char *last = text ? strrchr(text, '{') : NULL;
  /* The stats object is the last line; find its start. */
  for (const char *s = text; s && (s = strstr(s, "{\"seen\"")); s++)
    last = s;
  json_t *o = last ? json_loads(last, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
  if (o) {
    json_t *n = json_object_get(o, "nats");
    p.seen = (uint64_t)json_integer_value(json_object_get(o, "seen"));
    p.published = (uint64_t)json_integer_value(json_object_get(n, "published"));
    p.lost = (uint64_t)json_integer_value(json_object_get(n, "lost"));
    p.found = n != NULL;
  }
  json_decref(o);
  return p;
}
