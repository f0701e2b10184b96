/*
 * `socktrace catalog` on Linux: the layers that sit between applications
 * and the network stack, the questions Windows' Winsock catalog answers
 * (event-model.md §5): user-space interposers (/etc/ld.so.preload) and the
 * name-service providers (`hosts:` in /etc/nsswitch.conf, the resolvers in
 * /etc/resolv.conf). BPF programs on cgroup socket hooks are not listed
 * yet: `bpftool cgroup tree` shows them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = 0;
  return s;
}

/* Prints the lines of path that start with prefix (all non-comment lines
 * when prefix is NULL); returns how many. */
static int print_lines(const char *title, const char *path, const char *prefix) {
  FILE *f = fopen(path, "r");
  int n = 0;
  char line[1024];
  printf("\n%s (%s)\n", title, path);
  while (f && fgets(line, sizeof line, f)) {
    char *t = trim(line);
    if (!*t || *t == '#')
      continue;
    if (prefix && strncmp(t, prefix, strlen(prefix)) != 0)
      continue;
    printf("  %s\n", t);
    n++;
  }
  if (f)
    fclose(f);
  if (!n)
    printf("  %s\n", f ? "(none)" : "(absent)");
  return n;
}

int cli_catalog(cli_options *o) {
  (void)o;
  printf("socktrace catalog: what sits between applications and the network stack\n");
  print_lines("Preloaded interposers", "/etc/ld.so.preload", NULL);
  print_lines("Name-service providers", "/etc/nsswitch.conf", "hosts:");
  print_lines("DNS resolvers", "/etc/resolv.conf", "nameserver");
  printf("\nBPF programs on cgroup socket hooks: not listed yet (see 'bpftool cgroup tree')\n");
  return 0;
}
