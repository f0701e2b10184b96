/*
 * Which container, with a real runtime: two podman containers made from a
 * local busybox root filesystem (no registry, host network so loopback
 * works), a server ("web") and a client that connects to a closed port and
 * then to the server, as a compose file's pair of services would. The
 * trace names both containers, the refused connect is the client's, a
 * live --container keeps only the server's events, the summary has a By
 * container table with both, the client (gone before the trace ends) keeps
 * its name, and the host's own connect has no container.
 *
 * podman on these machines: rootful, `--runtime runc` (crun refuses the
 * hybrid cgroup layout) and no default ulimits, both in a private
 * containers.conf (CONTAINERS_CONF). The image is made once, by the one
 * test, and removed with the containers however the test ends.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"
#include "container.h"

#define CLI ST_BINARY_DIR "/socktrace"
/* The host's connects during the --container trace: 6 events each
 * unfiltered (create, connect's enter and exit, cleanup, close, summary);
 * with the cgroup skipped in the kernel, none. Events of other processes
 * already in the ring when the trace judged their cgroups (this machine's
 * other work: up to 1000 seen) are filtered in user space. */
#define HOST_CONNECTS 1000
#define FILTERED_MAX (3 * HOST_CONNECTS)

static char dir[64], image[96], web[64], client[64];
static pid_t traces[2];

/* A shell command's exit status (-1 when it did not exit); its output in
 * DIR/cmd.log for the failure messages. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[4096], full[4300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  snprintf(full, sizeof full, "(%s) >>%s/cmd.log 2>&1 </dev/null", cmd, dir);
  int st = system(full);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *cmd_log(void) {
  static char *last;
  char path[128];
  free(last);
  snprintf(path, sizeof path, "%s/cmd.log", dir);
  last = st_test_read_file(path, NULL);
  return last ? last : "";
}

static void cleanup(void) {
  for (int i = 0; i < 2; i++)
    if (traces[i] > 0) {
      kill(traces[i], SIGKILL);
      waitpid(traces[i], NULL, 0);
    }
  if (!dir[0])
    return;
  if (image[0]) {
    sh("podman rm -f -t 0 %s %s", web, client);
    sh("podman rmi -f %s", image);
  }
  st_test_remove_dir(dir);
}

TestSuite(containers, .fini = cleanup, .timeout = 240);

/* podman present, or the test is skipped (failed under CI=true). */
static void require_podman(void) {
  ST_REQUIRE_ROOT();
  if (system("command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && "
             "test -x /bin/busybox") == 0)
    return;
  if (st_test_in_ci())
    cr_assert_fail("podman, runc and busybox-static are needed under CI=true (tools/setup.sh)");
  ST_SKIP("podman, runc or busybox-static missing: apt-get install podman runc busybox-static");
}

/* The private containers.conf, and the image: busybox and its applets. */
static void setup_podman(void) {
  char path[128];
  snprintf(dir, sizeof dir, "/tmp/st-containers-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  st_test_guard_dir(dir);
  snprintf(image, sizeof image, "localhost/socktrace-test-busybox:%d", (int)getpid());
  snprintf(web, sizeof web, "st-web-%d", (int)getpid());
  snprintf(client, sizeof client, "st-client-%d", (int)getpid());
  snprintf(path, sizeof path, "%s/containers.conf", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("[containers]\ndefault_ulimits = []\n[engine]\nruntime = \"runc\"\n"
        "events_logger = \"file\"\n",
        f);
  fclose(f);
  setenv("CONTAINERS_CONF", path, 1);
  cr_assert_eq(sh("mkdir -p %s/rootfs/bin && cp /bin/busybox %s/rootfs/bin/ && "
                  "for a in sh nc echo cat true; do ln -s busybox %s/rootfs/bin/$a; done && "
                  "tar -C %s/rootfs -cf %s/rootfs.tar . && podman import %s/rootfs.tar %s",
                  dir, dir, dir, dir, dir, dir, image),
               0, "cannot make the image: %s", cmd_log());
}

/* A port nothing listens on (the kernel just gave it out). */
static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
  close(s);
  return ntohs(a.sin_port);
}

/* This process connects to port: refused. */
static void host_connect(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_expect_neq(connect(s, (struct sockaddr *)&a, sizeof a), 0);
  cr_expect_eq(errno, ECONNREFUSED);
  close(s);
}

/* `socktrace trace ARGS -f jsonl -o DIR/NAME.jsonl`, once it traces. */
static pid_t start_trace(const char *name, const char *args) {
  char cmd[1024], err[128];
  snprintf(err, sizeof err, "%s/%s.err", dir, name);
  /* A large ring: the machine's other work must not crowd our events out. */
  snprintf(cmd, sizeof cmd, "exec %s trace --ring-size 64M -f jsonl -o %s/%s.jsonl %s 2>%s", CLI,
           dir, name, args, err);
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  char *note = st_test_wait_file(err, "tracing with", 30000);
  cr_assert(note && strstr(note, "tracing with"), "%s never started: %s", name, note);
  free(note);
  return p;
}

static void stop_trace(pid_t *p) {
  int st;
  kill(*p, SIGINT);
  cr_assert_eq(waitpid(*p, &st, 0), *p);
  *p = 0;
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "trace ended with %d", st);
}

/* A socket listening on port (IPv4 or IPv6), in /proc/net/tcp{,6}. */
static bool listening(int port) {
  char want[32];
  snprintf(want, sizeof want, ":%04X ", port);
  const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
      char *at = strstr(line, want);
      /* local address, then the remote, then the state: 0A is LISTEN */
      if (at && at < line + 40 && strstr(at, " 0A ")) {
        fclose(f);
        return true;
      }
    }
    if (f)
      fclose(f);
  }
  return false;
}

/* The trace's events (the header line left out). */
static json_t *load_events(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s.jsonl", dir, name);
  char *text = st_test_read_file(path, NULL);
  cr_assert_not_null(text, "no %s", path);
  json_t *all = json_array();
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o, "not JSON: %s", line);
    if (json_object_get(o, "socktrace"))
      json_decref(o);
    else
      json_array_append_new(all, o);
  }
  free(text);
  return all;
}

static const char *field(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static int remote_port(json_t *o) {
  return (int)json_integer_value(json_object_get(json_object_get(o, "remote"), "port"));
}

/* The first event named name, with status (NULL: any) to port. */
static json_t *find(json_t *events, const char *name, const char *status, int port) {
  size_t i;
  json_t *o;
  json_array_foreach(events, i, o) {
    if (strcmp(field(o, "name"), name) == 0 && remote_port(o) == port &&
        (!status || (field(o, "status") && strcmp(field(o, "status"), status) == 0)))
      return o;
  }
  return NULL;
}

static const char *container_name(json_t *o) {
  return field(json_object_get(o, "container"), "name");
}

/* This process's cgroup id (v2): its cgroupfs directory's inode. */
static uint64_t own_cgroup(void) {
  char line[512], mnt[256] = "", path[1024];
  FILE *f = fopen("/proc/self/mountinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    const char *sep = strstr(line, " - ");
    if (sep && strncmp(sep, " - cgroup2 ", 11) == 0 &&
        sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1)
      break;
  }
  if (f)
    fclose(f);
  f = fopen("/proc/self/cgroup", "r");
  struct stat st;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = 0;
      snprintf(path, sizeof path, "%s%s", mnt, line + 3);
    }
  }
  if (f)
    fclose(f);
  cr_assert(mnt[0] && path[0] && stat(path, &st) == 0, "no cgroup v2 path for this process");
  return (uint64_t)st.st_ino;
}

/* A --container session's kernel side skips cgroup cg (its cgroup_skip
 * map has it). */
static bool kernel_skips(uint64_t cg) {
  uint32_t id = 0;
  bool hit = false;
  while (!hit && bpf_map_get_next_id(id, &id) == 0) {
    int fd = bpf_map_get_fd_by_id(id);
    struct bpf_map_info info;
    uint32_t len = sizeof info;
    uint8_t v;
    memset(&info, 0, sizeof info);
    if (fd < 0)
      continue;
    hit = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strcmp(info.name, "cgroup_skip") == 0 &&
          bpf_map_lookup_elem(fd, &cg, &v) == 0;
    close(fd);
  }
  return hit;
}

Test(containers, a_pair_of_services_is_named_and_filtered_by_container) {
  require_podman();
  setup_podman();
  int closed = free_port(), srv = free_port(), host_closed = free_port();
  char ports[128];
  snprintf(ports, sizeof ports, "--port %d --port %d --port %d", closed, srv, host_closed);
  traces[0] = start_trace("all", ports);
  char only_web[96];
  snprintf(only_web, sizeof only_web, "--container %s --stats=json", web);
  traces[1] = start_trace("web", only_web);

  /* The server, then the client once it listens. */
  cr_assert_eq(sh("podman run -d --rm --network host --name %s %s sh -c 'echo hello | nc -l -p %d'",
                  web, image, srv),
               0, "%s", cmd_log());
  int waited = 0;
  while (!listening(srv) && waited++ < 3000)
    usleep(10000); /* polling for the state, bounded (30 s) */
  cr_assert(listening(srv), "the server never listened on %d: %s", srv, cmd_log());
  cr_assert_eq(sh("podman run --rm --network host --name %s %s sh -c "
                  "'nc 127.0.0.1 %d; echo hi | nc 127.0.0.1 %d'",
                  client, image, closed, srv),
               0, "%s", cmd_log());
  sh("podman wait %s", web); /* --rm: it may be gone already */
  host_connect(host_closed);
  /* Once the --container trace has judged this process's cgroup (from
   * its first events) its kernel side skips it: more of the host's
   * connects do not reach it. */
  uint64_t self_cg = own_cgroup();
  waited = 0;
  while (!kernel_skips(self_cg) && waited++ < 3000)
    usleep(10000); /* polling for the state, bounded (30 s) */
  cr_assert(kernel_skips(self_cg), "the kernel side never skipped cgroup %llu",
            (unsigned long long)self_cg);
  for (int n = 0; n < HOST_CONNECTS; n++)
    host_connect(host_closed);
  /* Both containers have exited (and been removed) before the trace ends. */
  cr_expect_neq(sh("podman container exists %s", client), 0);
  stop_trace(&traces[0]);
  stop_trace(&traces[1]);

  json_t *all = load_events("all");
  json_t *refused = find(all, "AfdConnectWithAddress", "refused", closed);
  cr_assert_not_null(refused, "no refused connect to %d", closed);
  json_t *k = json_object_get(refused, "container");
  cr_assert_not_null(k, "the refused connect has no container");
  cr_expect_str_eq(field(k, "runtime"), "podman");
  cr_expect_str_eq(field(k, "name"), client, "the refused connect is the client's");
  cr_expect_eq(strlen(field(k, "id") ? field(k, "id") : ""), 64);
  json_t *accept = NULL, *o;
  size_t i;
  json_array_foreach(all, i, o) {
    if (!accept && strcmp(field(o, "name"), "AfdAcceptWithAddress") == 0)
      accept = o;
  }
  cr_assert_not_null(accept, "the server's accept is missing");
  cr_expect_str_eq(container_name(accept), web);
  json_t *ok = find(all, "AfdConnectWithAddress", "ok", srv);
  cr_assert_not_null(ok, "the client's connect to the server is missing");
  cr_expect_str_eq(container_name(ok), client);
  /* The host's own connect: no container (unless this test itself runs in
   * one, or in a systemd unit: then that one). */
  json_t *host = find(all, "AfdConnectWithAddress", "refused", host_closed);
  cr_assert_not_null(host, "the host's refused connect is missing");
  st_container self;
  if (st_container_of_pid((uint32_t)getpid(), &self))
    cr_expect_str_eq(container_name(host), self.name);
  else
    cr_expect_null(json_object_get(host, "container"), "a host process has no container");

  /* The live --container trace: the server's events, only those. */
  json_t *only = load_events("web");
  size_t afd = 0;
  json_array_foreach(only, i, o) {
    if (strcmp(field(o, "provider"), "afd") != 0)
      continue;
    afd++;
    cr_expect_str_eq(container_name(o) ? container_name(o) : "(none)", web, "%s", field(o, "name"));
  }
  cr_expect_geq(afd, 3, "create, listen, accept at least");
  /* What the kernel side sent it: the host's connects are not in it. */
  char path[128];
  snprintf(path, sizeof path, "%s/web.err", dir);
  char *err = st_test_read_file(path, NULL), *stats = err ? strstr(err, "{\"seen\":") : NULL;
  cr_assert_not_null(stats, "no --stats=json: %s", err);
  json_t *js = json_loads(stats, JSON_DISABLE_EOF_CHECK, NULL);
  cr_assert_not_null(js, "%s", stats);
  json_int_t filtered = json_integer_value(json_object_get(js, "filtered"));
  cr_expect_lt(filtered, FILTERED_MAX, "filtered in the kernel, not after: %s", stats);
  json_decref(js);
  free(err);
  cr_expect_not_null(find(only, "AfdAcceptWithAddress", NULL, remote_port(accept)));

  /* The summary's By container table has both; replay filters by id. */
  char args[512];
  snprintf(args, sizeof args, "replay %s/all.jsonl -f summary", dir);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  const char *table = strstr(r.out, "By container");
  cr_assert_not_null(table, "%s", r.out);
  cr_expect_not_null(strstr(table, web), "%s", table);
  cr_expect_not_null(strstr(table, client), "%s", table);
  st_cli_result_free(&r);
  snprintf(args, sizeof args, "replay %s/all.jsonl --container %.12s", dir, field(k, "id"));
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  char want[96];
  snprintf(want, sizeof want, "container=%s", client);
  /* Every event line is the client's (a loss record, about the trace
   * itself, is kept by every filter). */
  cr_expect_eq(st_test_count(r.out, "\n") - st_test_count(r.out, " EventsLost "),
               st_test_count(r.out, want), "every line is the client's: %s", r.out);
  cr_expect_geq(st_test_count(r.out, want), 3, "%s", r.out);
  cr_expect_null(strstr(r.out, web), "%s", r.out);
  st_cli_result_free(&r);
  json_decref(all);
  json_decref(only);
}

/* The cgroup v2 mount ("" when there is none). */
static void cgroup2_mount(char *out, size_t len) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096], mnt[1024];
  out[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    const char *sep = strstr(line, " - ");
    if (sep && strncmp(sep, " - cgroup2 ", 11) == 0 &&
        sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
      snprintf(out, len, "%s", mnt);
      break;
    }
  }
  if (f)
    fclose(f);
}

static char cgdir[1200];

static void cgroup_cleanup(void) {
  if (cgdir[0])
    rmdir(cgdir); /* empty once its processes have exited */
  cleanup();
}

/* Without a runtime: the command runs in a cgroup named as docker's
 * systemd driver names it (docker-<id>.scope, here under the root). The ptrace backend's events and
 * the eBPF backend's carry that container's runtime and id; its name is
 * not known (no docker state), so none is made up. */
Test(containers, a_commands_cgroup_names_its_container_with_either_backend,
     .fini = cgroup_cleanup) {
  ST_REQUIRE_ROOT();
  char mount[1024];
  cgroup2_mount(mount, sizeof mount);
  if (!mount[0]) {
    if (st_test_in_ci())
      cr_assert_fail("no cgroup v2 mount under CI=true");
    ST_SKIP("no cgroup v2 mount: containers are not named on this host");
  }
  snprintf(dir, sizeof dir, "/tmp/st-containers-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  st_test_guard_dir(dir);
  char id[65];
  snprintf(id, sizeof id, "%016x%048x", (unsigned)getpid(), 0xc0ffee);
  snprintf(cgdir, sizeof cgdir, "%s/docker-%s.scope", mount, id);
  cr_assert_eq(sh("mkdir -p %s", cgdir), 0, "%s", cmd_log());
  int port = free_port();
  const char *backends[] = {"ptrace", "ebpf"};
  for (int i = 0; i < 2; i++) {
    /* The shell joins the cgroup, then becomes socktrace, which traces
     * busybox's refused connect. */
    int rc = sh("sh -c 'echo $$ > %s/cgroup.procs && exec %s run --backend %s -f jsonl "
                "-o %s/%s.jsonl -- /bin/busybox nc 127.0.0.1 %d'",
                cgdir, CLI, backends[i], dir, backends[i], port);
    cr_expect_neq(rc, 0, "nc's refusal is its exit status");
    char name[16];
    snprintf(name, sizeof name, "%s", backends[i]);
    json_t *all = load_events(name);
    json_t *refused = find(all, "AfdConnectWithAddress", "refused", port);
    cr_assert_not_null(refused, "%s: no refused connect: %s", backends[i], cmd_log());
    json_t *k = json_object_get(refused, "container");
    cr_assert_not_null(k, "%s: no container", backends[i]);
    cr_expect_str_eq(field(k, "runtime"), "docker", "%s", backends[i]);
    cr_expect_str_eq(field(k, "id"), id, "%s", backends[i]);
    cr_expect_null(json_object_get(k, "name"), "%s: no name was known", backends[i]);
    json_decref(all);
  }
}
