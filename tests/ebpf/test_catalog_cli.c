/*
 * The catalog through the CLI, as a user runs it: `socktrace catalog` lists
 * a cgroup program attached on this host (text and -f jsonl), an nftables
 * table, and the files
 * under --catalog-root; `socktrace trace -k catalog` records catalog changes
 * to a .sktrace file that replay and report read back. Root only (the
 * programs on cgroup hooks need it); under CI=true they must run.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"
#include "ebpf/cgroup_prog.h"
#include "ebpf/nft_msg.h"

#define CLI ST_BINARY_DIR "/socktrace"

static char root[64];

static void make_root(void) {
  char etc[128];
  snprintf(root, sizeof root, "/tmp/st-catalog-cli-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
  snprintf(etc, sizeof etc, "%s/etc", root);
  cr_assert_eq(mkdir(etc, 0755), 0);
}

static void write_file(const char *rel, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s%s", root, rel);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

static void remove_root(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  cr_expect_eq(system(cmd), 0);
}

/* The line of out that holds every needle (NULL ends them), or NULL. */
static const char *line_with(const char *out, const char *a, const char *b, const char *c) {
  static char line[4096];
  for (const char *p = out; p && *p;) {
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(line, sizeof line, "%.*s", (int)n, p);
    if (strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c)))
      return line;
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

Test(catalog_cli, lists_a_cgroup_program_attached_on_the_host) {
  ST_REQUIRE_ROOT();
  test_cgroup cg;
  cr_assert_eq(test_cgroup_make(&cg), 0);
  int prog = test_connect4_load("st_listed4");
  cr_assert_geq(prog, 0, "load: %s", strerror(-prog));
  cr_assert_eq(bpf_prog_attach(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI), 0);
  uint32_t id;
  char tag[17], idw[32], cgw[300];
  cr_assert_eq(test_prog_info(prog, &id, tag), 0);
  snprintf(idw, sizeof idw, " %u ", id);

  st_cli_result r = st_test_cli("catalog");
  cr_expect_eq(r.code, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "BPF programs on cgroup socket hooks"), "%s", r.out);
  const char *l = line_with(r.out, "cgroup/connect4", cg.rel, "st_listed4");
  cr_assert_not_null(l, "the program's line:\n%s", r.out);
  cr_expect_not_null(strstr(l, idw), "%s", l);
  cr_expect_not_null(strstr(l, tag), "%s", l);
  cr_expect_not_null(strstr(l, "multi"), "%s", l);
  st_cli_result_free(&r);

  r = st_test_cli("catalog -f jsonl");
  cr_expect_eq(r.code, 0, "%s", r.err);
  snprintf(cgw, sizeof cgw, "cgroup=%s\"", cg.rel);
  l = line_with(r.out, "name=st_listed4", cgw, "\"provider\":\"catalog\",\"id\":1");
  cr_assert_not_null(l, "the program's event:\n%s", r.out);
  char want[128];
  snprintf(want, sizeof want, "\"cgroup\":%llu,", (unsigned long long)cg.id);
  cr_expect_not_null(strstr(l, want), "%s in %s", want, l);
  snprintf(want, sizeof want, "prog=%u name=st_listed4 tag=%s multi", id, tag);
  cr_expect_not_null(strstr(l, want), "%s in %s", want, l);
  cr_expect_not_null(strstr(l, "\"preexisting\":true"), "%s", l);
  cr_expect_not_null(strstr(l, "\"name\":\"LspInstalled\""), "%s", l);
  st_cli_result_free(&r);

  /* A second program, through a link, shows its link. */
  int prog2 = test_connect4_load("st_linked4");
  cr_assert_geq(prog2, 0);
  int link = bpf_link_create(prog2, cg.fd, BPF_CGROUP_INET4_CONNECT, NULL);
  cr_assert_geq(link, 0, "link: %s", strerror(errno));
  r = st_test_cli("catalog");
  l = line_with(r.out, "cgroup/connect4", "st_linked4", "link=");
  cr_expect_not_null(l, "the linked program:\n%s", r.out);
  st_cli_result_free(&r);

  close(link);
  close(prog2);
  cr_expect_eq(bpf_prog_detach2(prog, cg.fd, BPF_CGROUP_INET4_CONNECT), 0);
  close(prog);
  test_cgroup_remove(&cg);
}

Test(catalog_cli, lists_an_nftables_table_with_its_counts) {
  ST_REQUIRE_ROOT();
  char table[32], want[96];
  snprintf(table, sizeof table, "st_listed_%d", (int)getpid());
  int rc = test_nft_probe();
  if (rc == -EPROTONOSUPPORT)
    ST_SKIP("this kernel has no nftables (NETLINK_NETFILTER: %s)", strerror(-rc));
  rc = test_nft_table(table, true);
  cr_assert_eq(rc, 0, "add the table: %s", strerror(-rc));

  st_cli_result r = st_test_cli("catalog");
  cr_expect_eq(r.code, 0, "%s", r.err);
  const char *t = strstr(r.out, "\nPacket filter rule sets (nftables) (this network namespace)\n");
  cr_assert_not_null(t, "%s", r.out);
  snprintf(want, sizeof want, "\n  inet %s: 0 chains, 0 rules, 0 sets\n", table);
  cr_expect_not_null(strstr(t, want), "%s in %s", want, r.out);
  st_cli_result_free(&r);

  r = st_test_cli("catalog -f jsonl");
  snprintf(want, sizeof want, "\"detail\":\"nftables inet %s: 0 chains, 0 rules, 0 sets\"", table);
  cr_expect_not_null(line_with(r.out, want, "\"name\":\"LspInstalled\"", "\"preexisting\":true"),
                     "%s in %s", want, r.out);
  st_cli_result_free(&r);
  cr_expect_eq(test_nft_table(table, false), 0);
}

Test(catalog_cli, lists_the_files_under_catalog_root) {
  ST_REQUIRE_ROOT();
  make_root();
  write_file("/etc/ld.so.preload", "/lib/libinterpose.so\n#/lib/libold.so\n");
  write_file("/etc/nsswitch.conf", "hosts: files resolve [!UNAVAIL=return] dns\n");
  write_file("/etc/resolv.conf", "# generated\nnameserver 192.0.2.53\n");
  char args[256];
  snprintf(args, sizeof args, "catalog --catalog-root %s", root);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  cr_expect_not_null(strstr(r.out, "\n  /lib/libinterpose.so\n"), "%s", r.out);
  cr_expect_null(strstr(r.out, "libold"), "commented out: %s", r.out);
  cr_expect_not_null(strstr(r.out, "\n  hosts: resolve [!UNAVAIL=return]\n"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "\n  nameserver 192.0.2.53\n"), "%s", r.out);
  cr_expect_not_null(line_with(r.out, "Static host names", "/etc/hosts", NULL), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "/etc/hosts)\n  (absent)\n"), "%s", r.out);
  st_cli_result_free(&r);

  snprintf(args, sizeof args, "catalog -f jsonl --catalog-root %s", root);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  char want[256];
  snprintf(want, sizeof want, "\"detail\":\"%s/etc/ld.so.preload /lib/libinterpose.so\"", root);
  cr_expect_not_null(strstr(r.out, want), "%s in %s", want, r.out);
  st_cli_result_free(&r);

  r = st_test_cli("catalog -f csv");
  cr_expect_eq(r.code, 2);
  cr_expect_not_null(strstr(r.err, "catalog prints text or -f jsonl"), "%s", r.err);
  st_cli_result_free(&r);
  remove_root();
}

/* Without root the files are still listed; the programs' section and one
 * line on stderr say what could not be read, and the exit status is 1. */
Test(catalog_cli, without_root_lists_the_files_and_says_what_it_could_not) {
  ST_REQUIRE_ROOT();
  make_root();
  cr_assert_eq(chmod(root, 0755), 0);
  write_file("/etc/hosts", "127.0.0.1 localhost\n");
  char out[128], err[128];
  bool nft = test_nft_probe() == 0; /* as root: loads nftables where it is a module */
  snprintf(out, sizeof out, "%s/out", root);
  snprintf(err, sizeof err, "%s/err", root);
  const char *cli = st_test_cli_for_anyone(); /* the build may be under a 0700 home */
  pid_t p = fork();
  if (p == 0) {
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(err, O_WRONLY | O_CREAT, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || setgid(65534) || setuid(65534))
      _exit(126);
    execl(cli, cli, "catalog", "--catalog-root", root, (char *)NULL);
    _exit(127);
  }
  int st;
  waitpid(p, &st, 0);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
  char *o = st_test_read_file(out, NULL), *e = st_test_read_file(err, NULL);
  cr_assert(o && e);
  cr_expect_not_null(strstr(o, "\n  127.0.0.1 localhost\n"), "%s", o);
  cr_expect_not_null(strstr(o, "(not listed: cannot ask cgroup "), "%s", o);
  /* Without nftables in the kernel there is nothing to be refused. */
  if (nft)
    cr_expect_not_null(strstr(o, "(not listed: cannot ask nftables for its rule sets: "), "%s", o);
  else
    cr_expect_not_null(strstr(o, "(this network namespace)\n  (none)\n"), "%s", o);
  cr_expect_eq(st_test_lines(e), 1, "one line: %s", e);
  cr_expect_not_null(strstr(e, "(run as root or grant CAP_SYS_ADMIN)"), "%s", e);
  free(o);
  free(e);
  remove_root();
}

Test(catalog_cli, trace_records_catalog_changes_that_replay_and_report_read) {
  ST_REQUIRE_ROOT();
  make_root();
  write_file("/etc/ld.so.preload", "/lib/libone.so\n");
  test_cgroup cg;
  cr_assert_eq(test_cgroup_make(&cg), 0);
  int prog = test_connect4_load("st_traced4");
  cr_assert_geq(prog, 0);
  char rec[128], err[128];
  snprintf(rec, sizeof rec, "%s/c.sktrace", root);
  snprintf(err, sizeof err, "%s/err", root);
  int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t p = fork();
  if (p == 0) {
    dup2(efd, 2);
    execl(CLI, CLI, "trace", "-k", "catalog", "-o", rec, "--catalog-root", root, (char *)NULL);
    _exit(127);
  }
  char *note = st_test_wait_file(err, "tracing with", 10000);
  cr_assert(note && strstr(note, "tracing with"), "never started: %s", note);
  free(note);

  cr_assert_eq(bpf_prog_attach(prog, cg.fd, BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI), 0);
  write_file("/etc/ld.so.preload", "/lib/libone.so\n/lib/libtwo.so\n");
  cr_assert_eq(bpf_prog_detach2(prog, cg.fd, BPF_CGROUP_INET4_CONNECT), 0);
  usleep(300000);
  kill(p, SIGINT);
  int st;
  waitpid(p, &st, 0);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);

  char args[256], me[32];
  snprintf(me, sizeof me, "\"pid\":%d,", (int)getpid());
  snprintf(args, sizeof args, "replay %s -f jsonl", rec);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  const char *l = line_with(r.out, "\"name\":\"LspInstalled\"", "name=st_traced4", me);
  cr_expect_not_null(l, "the attach, by this process:\n%s", r.out);
  cr_expect_not_null(line_with(r.out, "\"name\":\"LspRemoved\"", "name=st_traced4", me),
                     "the detach:\n%s", r.out);
  cr_expect_not_null(
      line_with(r.out, "\"name\":\"LspInstalled\"", "ld.so.preload /lib/libtwo.so", NULL),
      "the file change:\n%s", r.out);
  cr_expect_null(strstr(r.out, "\"provider\":\"afd\""), "-k catalog: no socket events");
  st_cli_result_free(&r);

  snprintf(args, sizeof args, "report %s", rec);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "%s", r.err);
  const char *t = strstr(r.out, "\nCatalog changes\n");
  cr_assert_not_null(t, "%s", r.out);
  cr_expect_not_null(line_with(t, "LspInstalled", "cgroup/connect4", "name=st_traced4"), "%s",
                     r.out);
  cr_expect_not_null(line_with(t, "LspInstalled", "/lib/libtwo.so", NULL), "%s", r.out);
  st_cli_result_free(&r);

  close(prog);
  close(efd);
  test_cgroup_remove(&cg);
  remove_root();
}
