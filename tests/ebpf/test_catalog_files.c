/*
 * The catalog's files (backends/ebpf/catalog_files.c) on texts built here:
 * what each file kind counts as an entry, and which catalog events a change
 * from one version to the next makes (added, commented out, removed,
 * replaced wholesale, too many to list). Also the words a BPF entry is said
 * with, cut to fit an event. No kernel, no privilege needed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ebpf/catalog.h"

typedef struct change {
  uint16_t id;
  char entry[256];
} change;

static change got[128];
static size_t ngot;

static void collect(void *arg, uint16_t id, const char *entry) {
  (void)arg;
  cr_assert_lt(ngot, sizeof got / sizeof got[0]);
  got[ngot].id = id;
  snprintf(got[ngot].entry, sizeof got[ngot].entry, "%s", entry);
  ngot++;
}

/* The changes from text a to text b of a file of kind. */
static size_t diff(uint8_t kind, const char *a, const char *b) {
  lcat_parsed pa, pb;
  cr_assert_eq(lcat_parse(kind, a, &pa), 0);
  cr_assert_eq(lcat_parse(kind, b, &pb), 0);
  ngot = 0;
  size_t n = lcat_diff(&pa, &pb, collect, NULL);
  lcat_parsed_free(&pa);
  lcat_parsed_free(&pb);
  return n;
}

static void expect(size_t i, uint16_t id, const char *entry) {
  cr_assert_lt(i, ngot, "change %zu of %zu", i, ngot);
  cr_expect_eq(got[i].id, id, "change %zu: id %u, want %u (%s)", i, got[i].id, id, got[i].entry);
  cr_expect_str_eq(got[i].entry, entry, "change %zu", i);
}

/* The active entries of text, joined with '|'. */
static const char *entries(uint8_t kind, const char *text) {
  static char out[1024];
  lcat_parsed p;
  cr_assert_eq(lcat_parse(kind, text, &p), 0);
  out[0] = '\0';
  const char *e;
  for (size_t i = 0; (e = lcat_active(&p, i)); i++)
    snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "|" : "", e);
  lcat_parsed_free(&p);
  return out;
}

Test(catalog_files, entries_of_each_kind) {
  cr_expect_str_eq(entries(ST_LCAT_PRELOAD, "/lib/a.so  /lib/b.so:/lib/c.so\n# /lib/d.so\n"),
                   "/lib/a.so|/lib/b.so|/lib/c.so");
  cr_expect_str_eq(entries(ST_LCAT_NSS, "passwd: files\nhosts:   files mdns4_minimal "
                                        "[NOTFOUND=return]  dns # comment\nnetworks: files\n"),
                   "hosts: files|hosts: mdns4_minimal [NOTFOUND=return]|hosts: dns");
  cr_expect_str_eq(entries(ST_LCAT_RESOLVER, "# generated\n; old\nnameserver 10.0.0.1\n"
                                             "options   edns0  trust-ad\nsearch a.example\n"
                                             "unknown line\n"),
                   "nameserver 10.0.0.1|options edns0 trust-ad|search a.example");
  cr_expect_str_eq(entries(ST_LCAT_GAI, "#label ::1/128 0\nprecedence ::ffff:0:0/96  100\n"),
                   "precedence ::ffff:0:0/96 100");
  cr_expect_str_eq(entries(ST_LCAT_HOSTS, "127.0.0.1\tlocalhost  # me\n\n::1 localhost\n"),
                   "127.0.0.1 localhost|::1 localhost");
  /* Each entry once; an absent file has none. */
  cr_expect_str_eq(entries(ST_LCAT_PRELOAD, "/lib/a.so\n/lib/a.so\n"), "/lib/a.so");
  cr_expect_str_eq(entries(ST_LCAT_HOSTS, NULL), "");
}

Test(catalog_files, added_commented_out_removed) {
  cr_expect_eq(diff(ST_LCAT_PRELOAD, "/lib/one.so\n", "/lib/one.so\n/lib/two.so\n"), 1);
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_INSTALLED, "/lib/two.so");

  cr_expect_eq(diff(ST_LCAT_PRELOAD, "/lib/one.so\n/lib/two.so\n", "/lib/one.so\n#/lib/two.so\n"),
               1);
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_DISABLED, "/lib/two.so");

  /* Switched back on: installed again. */
  diff(ST_LCAT_PRELOAD, "/lib/one.so\n# /lib/two.so\n", "/lib/one.so\n/lib/two.so\n");
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_INSTALLED, "/lib/two.so");

  cr_expect_eq(diff(ST_LCAT_PRELOAD, "/lib/one.so\n#/lib/two.so\n", "#/lib/two.so\n"), 1);
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_REMOVED, "/lib/one.so");

  /* The file deleted: every entry removed. */
  diff(ST_LCAT_PRELOAD, "/lib/one.so\n", NULL);
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_REMOVED, "/lib/one.so");
}

Test(catalog_files, nss_provider_added_and_resolver_commented_out) {
  diff(ST_LCAT_NSS, "hosts: files dns\n", "hosts: files mdns4_minimal [NOTFOUND=return] dns\n");
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_INSTALLED, "hosts: mdns4_minimal [NOTFOUND=return]");

  diff(ST_LCAT_RESOLVER, "nameserver 10.0.0.1\nnameserver 10.0.0.2\n",
       "nameserver 10.0.0.1\n;nameserver 10.0.0.2\n");
  cr_assert_eq(ngot, 1);
  expect(0, ST_EV_CAT_LSP_DISABLED, "nameserver 10.0.0.2");
}

Test(catalog_files, whitespace_and_comments_change_nothing) {
  cr_expect_eq(diff(ST_LCAT_HOSTS, "127.0.0.1 localhost\n", "# hosts\n127.0.0.1\t  localhost \n"),
               0);
  cr_expect_eq(ngot, 0);
  cr_expect_eq(diff(ST_LCAT_PRELOAD, NULL, ""), 0);
}

Test(catalog_files, replaced_wholesale_is_a_reset_then_each_entry) {
  diff(ST_LCAT_RESOLVER, "nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch example.com\n",
       "nameserver 192.0.2.53\nsearch corp.example\n");
  cr_assert_eq(ngot, 6);
  expect(0, ST_EV_CAT_RESET, "replaced: 3 of 3 entries gone (0 commented out), 2 new");
  expect(1, ST_EV_CAT_LSP_REMOVED, "nameserver 10.0.0.1");
  expect(2, ST_EV_CAT_LSP_REMOVED, "nameserver 10.0.0.2");
  expect(3, ST_EV_CAT_LSP_REMOVED, "search example.com");
  expect(4, ST_EV_CAT_LSP_INSTALLED, "nameserver 192.0.2.53");
  expect(5, ST_EV_CAT_LSP_INSTALLED, "search corp.example");

  /* Half of the entries kept: a change, not a reset. */
  diff(ST_LCAT_HOSTS, "10.0.0.1 a\n10.0.0.2 b\n", "10.0.0.1 a\n10.0.0.3 c\n");
  cr_assert_eq(ngot, 2);
  expect(0, ST_EV_CAT_LSP_REMOVED, "10.0.0.2 b");
  expect(1, ST_EV_CAT_LSP_INSTALLED, "10.0.0.3 c");

  /* One entry replaced by another: said as such, not as a reset. */
  diff(ST_LCAT_PRELOAD, "/lib/one.so\n", "/lib/two.so\n");
  cr_assert_eq(ngot, 2);
  expect(0, ST_EV_CAT_LSP_REMOVED, "/lib/one.so");
  expect(1, ST_EV_CAT_LSP_INSTALLED, "/lib/two.so");
}

Test(catalog_files, too_many_changes_are_counted_then_the_first_listed) {
  static char big[16384];
  big[0] = '\0';
  for (int i = 0; i < 100; i++)
    snprintf(big + strlen(big), sizeof big - strlen(big), "10.1.0.%d host%d\n", i, i);
  cr_expect_eq(diff(ST_LCAT_HOSTS, "127.0.0.1 localhost\n", big), 101);
  cr_assert_eq(ngot, 1 + LCAT_CHANGE_EVENTS_MAX);
  expect(0, ST_EV_CAT_RESET,
         "changed: 1 of 1 entries gone (0 commented out), 100 new; the "
         "first 64 follow");
  expect(1, ST_EV_CAT_LSP_REMOVED, "127.0.0.1 localhost");
  expect(2, ST_EV_CAT_LSP_INSTALLED, "10.1.0.0 host0");
}

Test(catalog_files, bpf_entry_words_fit_an_event) {
  st_linux_catalog_bpf b = {.attach_type = 10, .attach_flags = 2, .prog_id = 57, .cgroup_id = 9};
  snprintf(b.name, sizeof b.name, "st_connect4");
  snprintf(b.tag, sizeof b.tag, "8a3f2b1c0d9e8f7a");
  snprintf(b.cgroup, sizeof b.cgroup, "/st-test");
  char out[ST_DETAIL_MAX];
  lcat_bpf_describe(&b, NULL, out, sizeof out);
  cr_expect_str_eq(
      out, "cgroup/connect4 prog=57 name=st_connect4 tag=8a3f2b1c0d9e8f7a multi cgroup=/st-test");
  b.link_id = 12;
  lcat_bpf_describe(&b, "released: last fd closed", out, sizeof out);
  cr_expect_str_eq(out, "cgroup/connect4 prog=57 name=st_connect4 tag=8a3f2b1c0d9e8f7a link=12 "
                        "(released: last fd closed) cgroup=/st-test");
  /* A long cgroup path keeps its end. */
  snprintf(b.cgroup, sizeof b.cgroup,
           "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef.scope");
  lcat_bpf_describe(&b, NULL, out, sizeof out);
  cr_expect_eq(strlen(out), sizeof out - 1, "%s", out);
  cr_expect_not_null(strstr(out, " cgroup=..."), "%s", out);
  cr_expect_not_null(strstr(out, "abcdef.scope"), "%s", out);
  cr_expect_str_eq(lcat_hook_name(11), "cgroup/connect6");
  cr_expect_null(lcat_hook_name(6), "the device hook is not a socket hook");
}
