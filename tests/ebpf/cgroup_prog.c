/* Test cgroups and a cgroup/connect4 program (see cgroup_prog.h). */
#define _GNU_SOURCE
#include "cgroup_prog.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebpf/catalog.h"

int test_cgroup_make(test_cgroup *cg) {
  static int n;
  char mount[512];
  struct stat st;
  memset(cg, 0, sizeof *cg);
  cg->fd = -1;
  if (lcat_cgroup_mount(mount, sizeof mount) < 0)
    return -ENOENT;
  snprintf(cg->rel, sizeof cg->rel, "/st-catalog-%d-%d", (int)getpid(), n++);
  snprintf(cg->path, sizeof cg->path, "%s%s", mount, cg->rel);
  if (mkdir(cg->path, 0755) < 0 && errno != EEXIST)
    return -errno;
  cg->fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg->fd < 0 || fstat(cg->fd, &st) < 0)
    return -errno;
  cg->id = (uint64_t)st.st_ino;
  return 0;
}

int test_cgroup_join(const test_cgroup *cg) {
  char procs[1100];
  snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->path);
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int rc = write(fd, "0", 1) == 1 ? 0 : -errno;
  close(fd);
  return rc;
}

void test_cgroup_remove(test_cgroup *cg) {
  if (cg->fd >= 0)
    close(cg->fd);
  cg->fd = -1;
  /* A process that just exited may still count for a moment. */
  for (int i = 0; cg->path[0] && i < 100 && rmdir(cg->path) < 0 && errno == EBUSY; i++)
    usleep(10000);
}

int test_connect4_load(const char *name) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1}, /* r0 = 1: allow */
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
  int fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, name, "GPL", insns, 2, &o);
  return fd < 0 ? -errno : fd;
}

int test_prog_info(int fd, uint32_t *id, char tag[17]) {
  struct bpf_prog_info info;
  uint32_t len = sizeof info;
  memset(&info, 0, sizeof info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
    return -errno;
  *id = info.id;
  for (int i = 0; i < 8; i++)
    snprintf(tag + 2 * i, 3, "%02x", info.tag[i]);
  return 0;
}
