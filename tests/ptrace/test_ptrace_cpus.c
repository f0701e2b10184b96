/*
 * How many CPUs the ptrace tracer counts on (backends/ptrace/cpus.c): the
 * tightest cgroup CPU quota on the way up from the process's cgroups, read
 * from a tree the test builds (its /proc/self and cgroup mounts), for
 * cgroup v2, v1 (a hybrid layout, as on this project's machines) and a
 * container's v1 mount of its own cgroup. The tracer polls for stops only
 * with two CPUs to spare (test_ptrace_cli's quiet-command test covers that
 * it sleeps otherwise).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/testutil.h"
#include "ptrace/ptrace_internal.h"

static char root[64];

static void setup(void) {
  snprintf(root, sizeof root, "/tmp/st-cpus-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (root[0])
    cr_expect_eq(system(cmd), 0);
}

static void put(const char *rel, const char *text) {
  cr_assert(st_test_put(root, rel, text), "cannot write %s%s", root, rel);
}

TestSuite(ptrace_cpus, .init = setup, .fini = teardown);

#define V2_MOUNT "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n"

Test(ptrace_cpus, v2_takes_the_tightest_quota_up_the_tree) {
  put("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/root rw\n" V2_MOUNT);
  put("/proc/self/cgroup", "0::/ci/job\n");
  put("/sys/fs/cgroup/ci/job/cpu.max", "max 100000\n");
  put("/sys/fs/cgroup/ci/cpu.max", "150000 100000\n");
  cr_expect_float_eq(pt_cgroup_cpus(root), 1.5, 1e-9);
  put("/sys/fs/cgroup/ci/job/cpu.max", "50000 100000\n");
  cr_expect_float_eq(pt_cgroup_cpus(root), 0.5, 1e-9);
}

Test(ptrace_cpus, no_quota_is_none) {
  put("/proc/self/mountinfo", V2_MOUNT);
  put("/proc/self/cgroup", "0::/ci/job\n");
  put("/sys/fs/cgroup/ci/job/cpu.max", "max 100000\n");
  cr_expect_float_eq(pt_cgroup_cpus(root), 0, 1e-9);
  put("/proc/self/cgroup", "0::/\n"); /* the root cgroup has no cpu.max */
  cr_expect_float_eq(pt_cgroup_cpus(root), 0, 1e-9);
}

Test(ptrace_cpus, v1_cpu_hierarchy_of_a_hybrid_layout) {
  put("/proc/self/mountinfo",
      "31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "35 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "36 25 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
  put("/proc/self/cgroup", "5:pids:/runner\n4:cpu,cpuacct:/runner/job\n0::/runner/job\n");
  put("/sys/fs/cgroup/cpu,cpuacct/runner/job/cpu.cfs_quota_us", "-1\n");
  put("/sys/fs/cgroup/cpu,cpuacct/runner/job/cpu.cfs_period_us", "100000\n");
  put("/sys/fs/cgroup/cpu,cpuacct/runner/cpu.cfs_quota_us", "300000\n");
  put("/sys/fs/cgroup/cpu,cpuacct/runner/cpu.cfs_period_us", "100000\n");
  cr_expect_float_eq(pt_cgroup_cpus(root), 3.0, 1e-9);
}

/* Docker without a cgroup namespace: the mount's root is the container's
 * own cgroup, which /proc/self/cgroup names from the hierarchy's root. */
Test(ptrace_cpus, v1_mount_of_a_containers_own_cgroup) {
  put("/proc/self/mountinfo",
      "40 30 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpuacct,cpu\n");
  put("/proc/self/cgroup", "4:cpu,cpuacct:/docker/abc\n");
  put("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "100000\n");
  put("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  cr_expect_float_eq(pt_cgroup_cpus(root), 1.0, 1e-9);
}

/* This machine's own answer is one of those: a number, never negative. */
Test(ptrace_cpus, this_machine) {
  cr_expect_geq(pt_cgroup_cpus(""), 0);
}
