/*
 * `socktrace catalog` on Linux: the layers that sit between applications
 * and the network stack, the questions Windows' Winsock catalog answers
 * (event-model.md §5), read by the eBPF backend's st_linux_catalog_read():
 * BPF programs on cgroup socket hooks, nftables rule sets, preloaded
 * interposers, the hosts: providers of nsswitch.conf, resolv.conf, gai.conf
 * and /etc/hosts. As
 * text, section by section, or with -f jsonl one catalog event per entry
 * (LspInstalled, flagged preexisting) for other tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#ifdef ST_HAVE_EBPF
#include "ebpf/ebpf.h"
#endif

#ifdef ST_HAVE_EBPF
static void print_bpf(const st_linux_catalog_entry *e, size_t n) {
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const st_linux_catalog_bpf *b = &e[i].bpf;
    if (e[i].kind != ST_LCAT_BPF || e[i].unread)
      continue;
    if (!any)
      printf("  %-24s %-32s %6s %-16s %-16s %s\n", "HOOK", "CGROUP", "PROG", "NAME", "TAG", "MODE");
    any = true;
    char mode[32];
    st_linux_catalog_bpf_mode(b, mode, sizeof mode);
    printf("  %-24s %-32s %6u %-16s %-16s %s\n", e[i].source, b->cgroup, b->prog_id,
           b->name[0] ? b->name : "-", b->tag[0] ? b->tag : "-", mode);
  }
  if (!any)
    printf("  (none)\n");
}

/* Why kind could not be read (NULL: it was). */
static const char *unread(const st_linux_catalog_entry *e, size_t n, uint8_t kind) {
  for (size_t i = 0; i < n; i++)
    if (e[i].kind == kind && e[i].unread)
      return e[i].text;
  return NULL;
}

static void print_text(const cli_options *o, const st_linux_catalog_entry *e, size_t n) {
  printf("socktrace catalog: what sits between applications and the network stack\n");
  for (uint8_t k = 0; k < ST_LCAT_KIND_COUNT; k++) {
    char where[1024];
    st_linux_catalog_path(o->catalog_root, k, where, sizeof where);
    printf("\n%s (%s)\n", st_linux_catalog_title(k), where[0] ? where : "no cgroup v2 mounted");
    const char *why = unread(e, n, k);
    if (why) {
      printf("  (not listed: %s)\n", why);
      continue;
    }
    if (k == ST_LCAT_BPF) {
      print_bpf(e, n);
      continue;
    }
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
      if (e[i].kind == k) {
        printf("  %s\n", e[i].text);
        shown++;
      }
    }
    if (!shown)
      printf("  %s\n", k == ST_LCAT_NFT || access(where, F_OK) == 0 ? "(none)" : "(absent)");
  }
}

static void print_jsonl(const st_linux_catalog_entry *e, size_t n) {
  uv_timeval64_t tv;
  uint64_t now = uv_gettimeofday(&tv) == 0
                     ? (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull
                     : 0;
  char line[2048];
  uint64_t seq = 0;
  for (size_t i = 0; i < n; i++) {
    st_event ev;
    if (e[i].unread)
      continue;
    st_linux_catalog_event(&e[i], ST_EV_CAT_LSP_INSTALLED, &ev);
    ev.ts_ns = now;
    ev.seq = ++seq;
    ev.flags |= ST_FLAG_PREEXISTING;
    st_event_to_json(&ev, line, sizeof line);
    printf("%s\n", line);
  }
}

int cli_catalog(cli_options *o) {
  const char *f = o->format ? o->format : "text";
  if (strcmp(f, "text") != 0 && strcmp(f, "jsonl") != 0) {
    cli_error("catalog prints text or -f jsonl, not -f %s", f);
    return 2;
  }
  st_linux_catalog_entry *e = NULL;
  size_t n = 0;
  char err[512];
  int rc = st_linux_catalog_read(o->catalog_root, &e, &n, err, sizeof err);
  if (strcmp(f, "jsonl") == 0)
    print_jsonl(e, n);
  else
    print_text(o, e, n);
  free(e);
  fflush(stdout);
  if (rc < 0) {
    cli_error("%s", err);
    return 1;
  }
  return 0;
}
#else
int cli_catalog(cli_options *o) {
  (void)o;
  cli_error("this build cannot read the catalog: it has no eBPF backend (install libbpf-dev, "
            "clang and bpftool, then rebuild)");
  return 1;
}
#endif
