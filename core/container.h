/*
 * Which container an event came from: a cgroup id (taken in the kernel at
 * the event) resolved to the cgroup's path, the runtime and container id
 * its path names (docker, containerd / Kubernetes CRI, CRI-O, podman,
 * systemd-nspawn, systemd services as their unit), and the name, pod and
 * namespace the runtime's own state files give.
 *
 * Resolution costs a few file reads, once per cgroup id: the first event of
 * a cgroup resolves it, every later one finds it in the cache (one hash
 * lookup). A cgroup that names no container is cached too (as none). What
 * was resolved stays for the whole trace, so a container that exits keeps
 * its name; one gone before its first event was seen keeps what its path
 * still told (nothing when the cgroup itself is gone).
 *
 * Private to core and the backends.
 */
#ifndef ST_CONTAINER_H
#define ST_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "socktrace/event.h"

typedef struct st_containers st_containers;

/* cgroup_mount: the cgroup v2 mount (NULL: found in /proc/self/mountinfo);
 * state_root: prefix of the runtimes' state files (NULL or "": /). Tests
 * point both at directories of their own. NULL when out of memory. */
st_containers *st_containers_new(const char *cgroup_mount, const char *state_root);
void st_containers_free(st_containers *c);

/* The container of a cgroup id, resolved on first sight (pid: a process
 * that was in it, to find its path without walking the cgroup tree; 0 when
 * none). NULL when the cgroup is no container's. */
const st_container *st_containers_get(st_containers *c, uint64_t cgroup, uint32_t pid);

/* An event with a cgroup (ST_HAS_CGROUP): its container filled in
 * (ST_HAS_CONTAINER), or, when it has none, the cgroup dropped too. */
void st_containers_fill(st_containers *c, st_event *ev);

/* Cgroup ids resolved so far whose container s names (st_container_matches),
 * at most max of them; returns how many. */
unsigned st_containers_ids_of(st_containers *c, const char *s, uint64_t *ids, unsigned max);

/* The runtime and id a cgroup path names ("/machine.slice/libpod-<id>.scope");
 * false when it names none. */
bool st_container_from_path(const char *path, st_container *out);

/* Fills name, pod and namespace from the runtime's state files under
 * state_root ("" for /), as far as they tell. */
void st_container_name(const char *state_root, st_container *c);

/* The container of a live process from /proc/PID/cgroup (named as above);
 * false when it is in none or is gone. */
bool st_container_of_pid(uint32_t pid, st_container *out);

#endif
