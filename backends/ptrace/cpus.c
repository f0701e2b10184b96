/*
 * How many CPUs the tracer and its tree may use at once: the tracer polls
 * for stops (tracer.c, wait_stop) only when there are two, since polling
 * takes a CPU while the tracee runs. An affinity mask says how many CPUs
 * the process may run on; a CPU quota (cgroup v2 cpu.max, v1
 * cpu.cfs_quota_us; what `docker run --cpus`, Kubernetes CPU limits and
 * systemd's CPUQuota set) says how much of them it may use, and the
 * tightest quota on the way up from its cgroup holds. A CI job with a
 * limit of one CPU on a larger machine would spend half of it polling.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrace_internal.h"

/* A file's first line (false when it cannot be read). */
static bool first_line(const char *path, char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  bool ok = f && fgets(buf, (int)len, f);
  if (f)
    fclose(f);
  if (ok)
    buf[strcspn(buf, "\n")] = '\0';
  return ok;
}

/* The CPUs a cgroup directory's quota allows (0: no quota there). */
static double dir_quota(const char *dir, bool v2) {
  char path[4200], line[128];
  if (v2) {
    char quota[32];
    long period;
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (!first_line(path, line, sizeof line) || sscanf(line, "%31s %ld", quota, &period) != 2 ||
        !strcmp(quota, "max") || period <= 0)
      return 0;
    return (double)atol(quota) / (double)period;
  }
  long quota, period;
  snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
  if (!first_line(path, line, sizeof line) || (quota = atol(line)) <= 0)
    return 0;
  snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
  if (!first_line(path, line, sizeof line) || (period = atol(line)) <= 0)
    return 0;
  return (double)quota / (double)period;
}

/* Where the hierarchy that holds the cpu controller is mounted (v2: the
 * cgroup2 mount; v1: the cgroup mount whose options name cpu), and which
 * of its cgroups is the mount's root (a container's own, without a cgroup
 * namespace: /proc/self/cgroup then names it from the hierarchy's root). */
static bool mount_of(const char *root, bool v2, char *out, size_t len, char *top, size_t toplen) {
  char path[4096], line[4096];
  snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
  FILE *f = fopen(path, "r");
  bool found = false;
  while (f && !found && fgets(line, sizeof line, f)) {
    char mnt[2048], base[2048], fstype[64], opts[1024] = "";
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %2047s %2047s", base, mnt) != 2 ||
        sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) < 1)
      continue;
    snprintf(top, toplen, "%s", strcmp(base, "/") ? base : "");
    if (v2)
      found = !strcmp(fstype, "cgroup2");
    else if (!strcmp(fstype, "cgroup"))
      for (char *save = NULL, *o = strtok_r(opts, ",", &save); o && !found;
           o = strtok_r(NULL, ",", &save))
        found = !strcmp(o, "cpu");
    if (found)
      snprintf(out, len, "%s%s", root, mnt);
  }
  if (f)
    fclose(f);
  return found;
}

/* The tightest quota from the cgroup at rel (under mount) up to the
 * hierarchy's root (0: none). */
static double chain_quota(const char *mount, const char *rel, bool v2) {
  char dir[4096];
  double tightest = 0;
  snprintf(dir, sizeof dir, "%s%s", mount, rel);
  size_t base = strlen(mount);
  for (;;) {
    double q = dir_quota(dir, v2);
    if (q > 0 && (tightest == 0 || q < tightest))
      tightest = q;
    char *slash = strrchr(dir + base, '/');
    if (!slash)
      break;
    *slash = '\0';
  }
  return tightest;
}

double pt_cgroup_cpus(const char *root) {
  char path[4096], line[4096], mount[4096];
  double tightest = 0;
  snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c1 = *c2 = '\0';
    const char *controllers = c1 + 1, *rel = c2 + 1;
    bool v2 = !strcmp(line, "0") && !*controllers, cpu = false;
    if (!v2) {
      char list[1024];
      snprintf(list, sizeof list, "%s", controllers);
      for (char *save = NULL, *o = strtok_r(list, ",", &save); o && !cpu;
           o = strtok_r(NULL, ",", &save))
        cpu = !strcmp(o, "cpu");
    }
    if (!v2 && !cpu)
      continue;
    if (!strcmp(rel, "/"))
      rel = "";
    char top[2048];
    double q = 0;
    if (mount_of(root, v2, mount, sizeof mount, top, sizeof top)) {
      size_t n = strlen(top);
      if (n && !strncmp(rel, top, n) && (rel[n] == '/' || !rel[n]))
        rel += n;
      q = chain_quota(mount, rel, v2);
    }
    if (q > 0 && (tightest == 0 || q < tightest))
      tightest = q;
  }
  if (f)
    fclose(f);
  return tightest;
}

bool pt_cpus_to_spare(void) {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2)
    return false;
  double quota = pt_cgroup_cpus("");
  return quota == 0 || quota >= 2;
}
