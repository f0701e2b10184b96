/*
 * Test helpers for the catalog: a cgroup of the test's own under the
 * cgroup v2 mount, and a real cgroup/connect4 BPF program to attach to it
 * (two instructions: allow every connect), so a live test changes a cgroup
 * socket hook without touching any other process.
 */
#ifndef ST_TEST_CGROUP_PROG_H
#define ST_TEST_CGROUP_PROG_H

#include <stddef.h>
#include <stdint.h>

typedef struct test_cgroup {
  char path[1024]; /* full path */
  char rel[256];   /* under the mount, as the catalog names it */
  uint64_t id;     /* the cgroup id (its directory's inode) */
  int fd;          /* the directory, open */
} test_cgroup;

/* Makes a fresh cgroup (st-catalog-PID-N); 0, or -errno. */
int test_cgroup_make(test_cgroup *cg);
/* Moves the calling process into it; 0 or -errno. */
int test_cgroup_join(const test_cgroup *cg);
/* Closes and removes it (its processes must have left or exited). */
void test_cgroup_remove(test_cgroup *cg);

/* Loads the connect4 program under name; its fd, or -errno. */
int test_connect4_load(const char *name);
/* A program's id and tag (hex) by its fd. */
int test_prog_info(int fd, uint32_t *id, char tag[17]);

#endif
