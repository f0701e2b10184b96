/*
 * Live tests of catalog change tracing: a real cgroup/connect4 program
 * attached to a cgroup of the test's own and detached while a session
 * traces, a link released with its last descriptor, the catalog's files
 * changed in a directory the test owns (added, commented out, removed,
 * replaced), an nftables table of the test's own added and deleted, and
 * the catalog keyword switched on while the session runs.
 * Root only; under CI=true they must run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ebpf/cgroup_prog.h"
#include "ebpf/ebpf.h"
#include "ebpf/live.h"
#include "ebpf/nft_msg.h"

static live L;
static bool started;
static char notices[4096];

static void fini(void) {
  if (started)
    live_free(&L);
  started = false;
}

static void keep_notice(const char *message, void *arg) {
  (void)arg;
  snprintf(notices + strlen(notices), sizeof notices - strlen(notices), "%s\n", message);
}

static void start(const st_session_config *cfg, const char *root) {
  st_ebpf_options o = {.catalog_root = root, .notice = keep_notice};
  notices[0] = '\0';
  cr_assert_eq(live_start_opts(&L, cfg, &o), 0, "session start: %s", st_session_error(L.s));
  started = true;
}

static const char *my_comm(void) {
  static char comm[32];
  FILE *f = fopen("/proc/self/comm", "r");
  cr_assert_not_null(f);
  cr_assert_not_null(fgets(comm, sizeof comm, f));
  fclose(f);
  comm[strcspn(comm, "\n")] = '\0';
  return comm;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The first catalog event with this id whose detail has every needle (NULL
 * ends them), from index from on. */
static const st_event *find_catalog(uint16_t id, size_t from, const char *n1, const char *n2) {
  for (size_t i = from; i < L.c.count; i++) {
    const st_event *e = &L.c.events[i];
    if (e->provider == ST_PROVIDER_CATALOG && e->id == id && (e->has & ST_HAS_DETAIL) &&
        (!n1 || strstr(e->detail, n1)) && (!n2 || strstr(e->detail, n2)))
      return e;
  }
  return NULL;
}

/* Runs the session's loop until that event came (or timeout_s passed). */
static const st_event *wait_catalog(uint16_t id, const char *n1, const char *n2, double timeout_s) {
  double end = now_s() + timeout_s;
  const st_event *e;
  while (!(e = find_catalog(id, 0, n1, n2)) && now_s() < end)
    uv_run(&L.loop, UV_RUN_ONCE);
  return e;
}

static void catalog_events(char *out, size_t len) {
  out[0] = '\0';
  for (size_t i = 0; i < L.c.count; i++)
    if (L.c.events[i].provider == ST_PROVIDER_CATALOG)
      snprintf(out + strlen(out), len - strlen(out), "\n  %u pid=%u %s", L.c.events[i].id,
               L.c.events[i].pid, L.c.events[i].detail);
}

static void expect_me(const st_event *e) {
  cr_expect_eq(e->pid, (uint32_t)getpid(), "pid %u", e->pid);
  cr_expect_eq(e->tid, (uint32_t)getpid(), "tid %u", e->tid);
  cr_expect_str_eq(e->comm, my_comm());
  cr_expect_eq(e->keywords, ST_KW_CATALOG);
  cr_expect_eq(e->os, ST_OS_LINUX);
  cr_expect_eq(e->backend, ST_BACKEND_EBPF);
}

/* A fresh cgroup of the test's own and a connect4 program named name. */
static int cgroup_and_program(test_cgroup *cg, const char *name) {
  cr_assert_eq(test_cgroup_make(cg), 0, "a test cgroup under the cgroup v2 mount");
  int prog = test_connect4_load(name);
  cr_assert_geq(prog, 0, "load the connect4 program: %s", strerror(-prog));
  return prog;
}

/* The test's cgroup as the catalog's detail still shows it when the words
 * do not fit in ST_DETAIL_MAX and the path loses its start
 * ("cgroup=...catalog-1234-0", with long program and link ids): the part
 * after "/st-catalog", which the test's pid makes its own. */
static void cgroup_word(const test_cgroup *cg, char *w, size_t len) {
  snprintf(w, len, "%s", cg->rel + strlen("/st-catalog"));
}

/* The words a program on the test's cgroup is named with. */
static void prog_words(const test_cgroup *cg, int prog, char *id_word, size_t idlen, char *tag_word,
                       size_t taglen, char *cg_word, size_t cglen) {
  uint32_t id;
  char tag[17];
  cr_assert_eq(test_prog_info(prog, &id, tag), 0);
  snprintf(id_word, idlen, "prog=%u ", id);
  snprintf(tag_word, taglen, "tag=%s ", tag);
  cgroup_word(cg, cg_word, cglen);
}

Test(catalog_live, attach_and_detach_name_hook_cgroup_program_and_process, .fini = fini) {
  ST_REQUIRE_ROOT();
  test_cgroup cg;
  int prog = cgroup_and_program(&cg, "st_connect4");
  uint16_t port;
  int lfd = tcp_listener(AF_INET, &port);
  cr_assert_geq(lfd, 0);

  /* The test's process tree: a child in the cgroup connects. */
  st_session_config cfg = {.filter.tree_root = (uint32_t)getpid()};
  start(&cfg, NULL);
  int rc = bpf_prog_attach(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI);
  cr_assert_eq(rc, 0, "attach: %s", strerror(errno));
  pid_t child = fork();
  if (child == 0) {
    if (test_cgroup_join(&cg) < 0)
      _exit(2);
    errno = 0;
    int fd = tcp_connect_to(AF_INET, port, 0);
    _exit(fd >= 0 && errno != ECONNREFUSED ? 0 : 3);
  }
  int st;
  waitpid(child, &st, 0);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child joined and connected (%d)", st);
  cr_assert_eq(bpf_prog_detach2(prog, cg.fd, BPF_CGROUP_INET4_CONNECT), 0, "detach");
  live_stop(&L);

  char idw[32], tagw[48], cgw[300], all[8192];
  prog_words(&cg, prog, idw, sizeof idw, tagw, sizeof tagw, cgw, sizeof cgw);
  catalog_events(all, sizeof all);
  const st_event *in = find_catalog(ST_EV_CAT_LSP_INSTALLED, 0, cgw, "name=st_connect4");
  cr_assert_not_null(in, "LspInstalled for the program:%s", all);
  cr_expect_not_null(strstr(in->detail, "cgroup/connect4 "), "%s", in->detail);
  cr_expect_not_null(strstr(in->detail, idw), "%s: %s", idw, in->detail);
  cr_expect_not_null(strstr(in->detail, tagw), "%s: %s", tagw, in->detail);
  cr_expect_not_null(strstr(in->detail, " multi "), "%s", in->detail);
  cr_expect(in->has & ST_HAS_CGROUP);
  cr_expect_eq(in->cgroup, cg.id);
  expect_me(in);
  const st_event *out = find_catalog(ST_EV_CAT_LSP_REMOVED, 0, cgw, "name=st_connect4");
  cr_assert_not_null(out, "LspRemoved for the program:%s", all);
  cr_expect_not_null(strstr(out->detail, idw), "%s", out->detail);
  expect_me(out);
  cr_expect_lt(in->seq, out->seq);

  /* The child's connect, with the program in its way, traced as ever. */
  const st_event *conn = NULL;
  for (size_t i = 0; i < L.c.count && !conn; i++) {
    const st_event *e = &L.c.events[i];
    if (e->provider == ST_PROVIDER_AFD && e->id == ST_EV_CONNECT_ADDR && e->enter_exit == 1 &&
        e->pid == (uint32_t)child)
      conn = e;
  }
  cr_assert_not_null(conn, "the child's AfdConnectWithAddress exit");
  cr_expect_eq(conn->status.code, ST_OK, "status %s", st_code_name(conn->status.code));
  cr_expect_eq(conn->remote.port, port);
  cr_expect(in->seq < conn->seq && conn->seq < out->seq, "installed, connect, removed in order");
  cr_expect_not_null(live_find(&L, ST_EV_CREATE, -1, 0), "AfdCreate");

  close(lfd);
  close(prog);
  test_cgroup_remove(&cg);
}

Test(catalog_live, link_released_with_its_last_fd_is_found_by_the_periodic_look, .fini = fini) {
  ST_REQUIRE_ROOT();
  test_cgroup cg;
  int prog = cgroup_and_program(&cg, "st_link4");
  setenv("SOCKTRACE_CATALOG_RESCAN_MS", "100", 1);
  /* The whole system (the release has no process), the catalog only, its
   * files in an empty directory. */
  char root[] = "/tmp/st-catalog-link-XXXXXX";
  cr_assert_not_null(mkdtemp(root));
  st_session_config cfg = {.keywords = ST_KW_CATALOG};
  start(&cfg, root);

  int link = bpf_link_create(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, NULL);
  cr_assert_geq(link, 0, "link: %s", strerror(errno));
  char cgw[300], all[8192];
  cgroup_word(&cg, cgw, sizeof cgw);
  const st_event *in = wait_catalog(ST_EV_CAT_LSP_INSTALLED, cgw, "name=st_link4", 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(in, "LspInstalled for the link:%s", all);
  cr_expect_not_null(strstr(in->detail, " link="), "%s", in->detail);
  expect_me(in);

  close(link); /* no bpf() call: the kernel releases the link */
  const st_event *out = wait_catalog(ST_EV_CAT_LSP_REMOVED, cgw, "name=st_link4", 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(out, "LspRemoved after the link's fd closed:%s", all);
  cr_expect_not_null(strstr(out->detail, "(released: last fd closed)"), "%s", out->detail);
  cr_expect_eq(out->pid, 0u, "the process is not known");
  live_stop(&L);
  close(prog);
  test_cgroup_remove(&cg);
  rmdir(root);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

Test(catalog_live, file_changes_added_commented_out_removed_replaced, .fini = fini) {
  ST_REQUIRE_ROOT();
  char root[] = "/tmp/st-catalog-files-XXXXXX", etc[64], preload[128], resolv[128], tmp[128],
       nss[128], all[16384];
  cr_assert_not_null(mkdtemp(root));
  snprintf(etc, sizeof etc, "%s/etc", root);
  cr_assert_eq(mkdir(etc, 0755), 0);
  snprintf(preload, sizeof preload, "%s/ld.so.preload", etc);
  snprintf(resolv, sizeof resolv, "%s/resolv.conf", etc);
  snprintf(nss, sizeof nss, "%s/nsswitch.conf", etc);
  snprintf(tmp, sizeof tmp, "%s/resolv.conf.new", etc);
  write_file(preload, "/lib/libone.so\n");
  write_file(resolv, "nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch example.com\n");
  write_file(nss, "passwd: files\nhosts: files dns\n");

  st_session_config cfg = {.keywords = ST_KW_CATALOG};
  start(&cfg, root);
  /* fanotify names the process; where it cannot watch (9p: the VM's /tmp)
   * inotify does, and the events say the process is unknown. */
  bool named = !strstr(notices, "inotify watches the files");

  write_file(preload, "/lib/libone.so\n/lib/libtwo.so\n");
  const st_event *e =
      wait_catalog(ST_EV_CAT_LSP_INSTALLED, "ld.so.preload /lib/libtwo.so", NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "added:%s\nnotices: %s", all, notices);
  cr_expect_not_null(strstr(e->detail, preload), "%s", e->detail);
  if (named)
    expect_me(e);
  else
    cr_expect_not_null(strstr(e->detail, "(inotify: process unknown)"), "%s", e->detail);

  write_file(preload, "/lib/libone.so\n#/lib/libtwo.so\n");
  e = wait_catalog(ST_EV_CAT_LSP_DISABLED, "ld.so.preload /lib/libtwo.so", NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "commented out:%s", all);
  if (named)
    expect_me(e);

  write_file(preload, "#/lib/libtwo.so\n");
  e = wait_catalog(ST_EV_CAT_LSP_REMOVED, "ld.so.preload /lib/libone.so", NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "removed:%s", all);

  write_file(nss, "passwd: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns\n");
  e = wait_catalog(ST_EV_CAT_LSP_INSTALLED, "nsswitch.conf hosts: mdns4_minimal [NOTFOUND=return]",
                   NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "a hosts provider added:%s", all);

  /* Replaced wholesale by a rename: a reset, then each entry. */
  write_file(tmp, "nameserver 192.0.2.53\nsearch corp.example\n");
  cr_assert_eq(rename(tmp, resolv), 0);
  e = wait_catalog(ST_EV_CAT_LSP_INSTALLED, "resolv.conf search corp.example", NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "replaced:%s", all);
  const st_event *reset = find_catalog(ST_EV_CAT_RESET, 0, "resolv.conf replaced: 3 of 3", NULL);
  cr_assert_not_null(reset, "CatalogReset:%s", all);
  if (named)
    expect_me(reset);
  cr_expect_not_null(
      find_catalog(ST_EV_CAT_LSP_REMOVED, 0, "resolv.conf nameserver 10.0.0.1", NULL));
  cr_expect_not_null(
      find_catalog(ST_EV_CAT_LSP_REMOVED, 0, "resolv.conf search example.com", NULL));
  cr_expect_not_null(
      find_catalog(ST_EV_CAT_LSP_INSTALLED, 0, "resolv.conf nameserver 192.0.2.53", NULL));
  cr_expect_lt(reset->seq, e->seq);

  /* Deleted: its entries removed. */
  cr_assert_eq(unlink(nss), 0);
  e = wait_catalog(ST_EV_CAT_LSP_REMOVED, "nsswitch.conf hosts: dns", NULL, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "deleted:%s", all);
  live_stop(&L);

  unlink(preload);
  unlink(resolv);
  rmdir(etc);
  rmdir(root);
}

Test(catalog_live, catalog_keyword_switched_on_while_tracing, .fini = fini) {
  ST_REQUIRE_ROOT();
  test_cgroup cg;
  int prog = cgroup_and_program(&cg, "st_update4");
  st_session_config cfg = {.keywords = ST_KW_STREAM};
  start(&cfg, "/nonexistent-catalog-root");

  /* Without the keyword nothing watches. */
  cr_assert_eq(bpf_prog_attach(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI), 0);
  cr_assert_eq(bpf_prog_detach2(prog, cg.fd, BPF_CGROUP_INET4_CONNECT), 0);
  for (int i = 0; i < 5; i++)
    uv_run(&L.loop, UV_RUN_NOWAIT);

  st_session_config on = {.keywords = ST_KW_STREAM | ST_KW_CATALOG,
                          .filter.pids = {(uint32_t)getpid()},
                          .filter.npids = 1};
  cr_assert_eq(st_session_update(L.s, &on), 0, "%s", st_session_error(L.s));
  cr_assert_eq(bpf_prog_attach(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI), 0);
  char cgw[300], all[8192];
  cgroup_word(&cg, cgw, sizeof cgw);
  const st_event *in = wait_catalog(ST_EV_CAT_LSP_INSTALLED, cgw, "name=st_update4", 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(in, "LspInstalled once the keyword is on:%s", all);
  expect_me(in);
  cr_expect_eq(find_catalog(ST_EV_CAT_LSP_REMOVED, 0, cgw, NULL), NULL,
               "the detach before the update is not reported");
  cr_assert_eq(bpf_prog_detach2(prog, cg.fd, BPF_CGROUP_INET4_CONNECT), 0);
  live_stop(&L);
  cr_expect_not_null(find_catalog(ST_EV_CAT_LSP_REMOVED, 0, cgw, "name=st_update4"));
  close(prog);
  test_cgroup_remove(&cg);
}

/* A table of the test's own (empty: it filters nothing) added and deleted
 * in the tracer's network namespace: one CatalogReset each, naming the
 * table and this process, which committed the transaction. */
Test(catalog_live, nftables_changes_name_the_table_and_the_committing_process, .fini = fini) {
  ST_REQUIRE_ROOT();
  char table[32], want[64], all[8192];
  snprintf(table, sizeof table, "st_catalog_%d", (int)getpid());
  int rc = test_nft_probe();
  if (rc == -EPROTONOSUPPORT)
    ST_SKIP("this kernel has no nftables (NETLINK_NETFILTER: %s)", strerror(-rc));
  st_session_config cfg = {.keywords = ST_KW_CATALOG};
  start(&cfg, "/nonexistent-catalog-root");
  cr_expect_null(strstr(notices, "nftables"), "%s", notices);

  rc = test_nft_table(table, true);
  cr_assert_eq(rc, 0, "add the table: %s", strerror(-rc));
  snprintf(want, sizeof want, "): +1 table (inet %s)", table);
  const st_event *e =
      wait_catalog(ST_EV_CAT_RESET, "nftables rules changed (generation ", want, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "the table added:%s\nnotices: %s", all, notices);
  expect_me(e);

  rc = test_nft_table(table, false);
  cr_assert_eq(rc, 0, "delete the table: %s", strerror(-rc));
  snprintf(want, sizeof want, "): -1 table (inet %s)", table);
  e = wait_catalog(ST_EV_CAT_RESET, "nftables rules changed (generation ", want, 10);
  catalog_events(all, sizeof all);
  cr_assert_not_null(e, "the table deleted:%s", all);
  expect_me(e);
  live_stop(&L);
}
