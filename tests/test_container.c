/*
 * Cgroups to containers (core/container.c) without a runtime: the paths
 * each runtime makes, names from state files laid out as the runtimes lay
 * them (under a scratch root), and the cache over a cgroup tree made of
 * plain directories (a cgroup id is its directory's inode number).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"
#include "container.h"

#define ID "2f7b6f0588f7562b6e21a8241e6ddbd5fd40e79762b57a4476d71a0f27036eca"
#define ID2 "94a30e68b3e84c434200508c423cf15fa75014350b62323b2b6cf5e789b94491"

static void expect_path(const char *path, const char *runtime, const char *id) {
  st_container c;
  cr_assert(st_container_from_path(path, &c), "%s names no container", path);
  cr_expect_str_eq(c.runtime, runtime, "%s", path);
  cr_expect_str_eq(c.id, id, "%s", path);
}

Test(container, each_runtimes_cgroup_path_names_it) {
  expect_path("/system.slice/docker-" ID ".scope", "docker", ID);
  expect_path("/docker/" ID, "docker", ID);
  expect_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
              "cri-containerd-" ID ".scope",
              "containerd", ID);
  expect_path("/kubepods.slice/kubepods-pod99.slice/crio-" ID ".scope", "cri-o", ID);
  expect_path("/kubepods/burstable/pod1234/" ID, "cri", ID);
  expect_path("/machine.slice/libpod-" ID ".scope/container", "podman", ID);
  expect_path("/libpod_parent/libpod-" ID, "podman", ID);
  expect_path("/machine.slice/machine-web\\x2d1.scope/payload", "nspawn", "web-1");
  expect_path("/system.slice/nginx.service", "systemd", "nginx.service");
  /* The innermost wins: a service inside an nspawn machine is the machine's. */
  expect_path("/machine.slice/machine-db.scope/system.slice/postgres.service", "nspawn", "db");
}

Test(container, paths_of_no_container_name_none) {
  const char *none[] = {"/",
                        "/user.slice/user-0.slice/session-1.scope",
                        "/machine.slice/libpod-conmon-" ID ".scope",
                        "/kubepods.slice/kubepods-pod99.slice/crio-conmon-" ID ".scope",
                        "/docker/notanid",
                        "/system.slice/docker-" ID ".scopeX",
                        ""};
  for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
    st_container c;
    cr_expect_not(st_container_from_path(none[i], &c), "%s", none[i]);
    cr_expect_str_eq(c.runtime, "", "%s", none[i]);
  }
}

static char root[64];

static void put(const char *rel, const char *text) {
  cr_assert(st_test_put(root, rel, text), "cannot write %s%s", root, rel);
}

static void scratch(void) {
  snprintf(root, sizeof root, "/tmp/st-container-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
  st_test_guard_dir(root);
}

static st_container named(const char *runtime, const char *id) {
  st_container c = {0};
  snprintf(c.runtime, sizeof c.runtime, "%s", runtime);
  snprintf(c.id, sizeof c.id, "%s", id);
  st_container_name(root, &c);
  return c;
}

Test(container, names_come_from_each_runtimes_state_files) {
  scratch();
  put("/var/lib/containers/storage/overlay-containers/containers.json",
      "[{\"id\":\"" ID2 "\",\"names\":[\"other\"]},{\"id\":\"" ID "\",\"names\":[\"web\"]}]");
  put("/var/lib/containers/storage/overlay-containers/" ID "/userdata/config.json",
      "{\"annotations\":{\"io.kubernetes.pod.name\":\"shop-0\","
      "\"io.kubernetes.pod.namespace\":\"prod\"}}");
  st_container c = named("podman", ID);
  cr_expect_str_eq(c.name, "web");
  cr_expect_str_eq(c.pod, "shop-0");
  cr_expect_str_eq(c.ns, "prod");

  put("/var/lib/docker/containers/" ID "/config.v2.json",
      "{\"Name\":\"/compose-db-1\",\"Config\":{\"Labels\":{}}}");
  c = named("docker", ID);
  cr_expect_str_eq(c.name, "compose-db-1");
  cr_expect_str_eq(c.pod, "");

  put("/run/containers/storage/overlay-containers/" ID "/userdata/config.json",
      "{\"annotations\":{\"io.kubernetes.container.name\":\"api\","
      "\"io.kubernetes.pod.name\":\"api-7d9f\",\"io.kubernetes.pod.namespace\":\"shop\"}}");
  c = named("cri-o", ID);
  cr_expect_str_eq(c.name, "api");
  cr_expect_str_eq(c.pod, "api-7d9f");
  cr_expect_str_eq(c.ns, "shop");

  put("/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID2 "/config.json",
      "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"cache\","
      "\"io.kubernetes.cri.sandbox-name\":\"cache-0\","
      "\"io.kubernetes.cri.sandbox-namespace\":\"infra\"}}");
  c = named("containerd", ID2);
  cr_expect_str_eq(c.name, "cache");
  cr_expect_str_eq(c.pod, "cache-0");
  cr_expect_str_eq(c.ns, "infra");
  /* A kubelet's cgroupfs path does not say which runtime: the state does. */
  c = named("cri", ID2);
  cr_expect_str_eq(c.runtime, "containerd");
  cr_expect_str_eq(c.name, "cache");

  /* Gone (or never there): the id stays, nothing else is made up. */
  c = named("docker", ID2);
  cr_expect_str_eq(c.id, ID2);
  cr_expect_str_eq(c.name, "");
  st_test_remove_dir(root);
}

static uint64_t mkcg(const char *rel) {
  char path[512], cmd[600];
  struct stat st;
  snprintf(path, sizeof path, "%s/cg%s", root, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
  cr_assert_eq(system(cmd), 0);
  cr_assert_eq(stat(path, &st), 0);
  return (uint64_t)st.st_ino;
}

Test(container, cgroup_ids_resolve_once_and_keep_their_name) {
  scratch();
  uint64_t web = mkcg("/machine.slice/libpod-" ID ".scope");
  uint64_t host = mkcg("/user.slice/session-1.scope");
  put("/var/lib/containers/storage/overlay-containers/containers.json",
      "[{\"id\":\"" ID "\",\"names\":[\"web\"]}]");
  char mount[128];
  snprintf(mount, sizeof mount, "%s/cg", root);
  st_containers *cs = st_containers_new(mount, root);
  cr_assert_not_null(cs);

  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.cgroup = web;
  ev.has |= ST_HAS_CGROUP;
  st_containers_fill(cs, &ev);
  cr_assert(ev.has & ST_HAS_CONTAINER);
  cr_expect_str_eq(ev.container.runtime, "podman");
  cr_expect_str_eq(ev.container.name, "web");
  cr_expect_eq(ev.cgroup, web);

  /* The container exits: its cgroup and state go, its name stays. */
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s/cg/machine.slice %s/var", root, root);
  cr_assert_eq(system(cmd), 0);
  st_event later;
  st_event_init(&later, ST_PROVIDER_AFD, ST_EV_CLOSE);
  later.cgroup = web;
  later.has |= ST_HAS_CGROUP;
  st_containers_fill(cs, &later);
  cr_expect_str_eq(later.container.name, "web");

  /* A host cgroup: no container, and the cgroup is dropped too. */
  st_event h;
  st_event_init(&h, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  h.cgroup = host;
  h.has |= ST_HAS_CGROUP;
  st_containers_fill(cs, &h);
  cr_expect_not(h.has & (ST_HAS_CONTAINER | ST_HAS_CGROUP));
  /* A cgroup gone before it was seen: none, and no crash. */
  h.cgroup = 0xdeadbeef;
  h.has |= ST_HAS_CGROUP;
  st_containers_fill(cs, &h);
  cr_expect_not(h.has & ST_HAS_CONTAINER);

  uint64_t ids[4];
  cr_expect_eq(st_containers_ids_of(cs, "web", ids, 4), 1);
  cr_expect_eq(ids[0], web);
  cr_expect_eq(st_containers_ids_of(cs, "2f7b6f05", ids, 4), 1, "an id prefix");
  cr_expect_eq(st_containers_ids_of(cs, "db", ids, 4), 0);
  st_containers_free(cs);
  st_test_remove_dir(root);
}

Test(container, labels_and_matching) {
  st_container c = {"podman", ID, "", "", ""};
  char buf[80];
  cr_expect_str_eq(st_container_label(&c, buf, sizeof buf), "2f7b6f0588f7");
  snprintf(c.name, sizeof c.name, "web");
  cr_expect_str_eq(st_container_label(&c, buf, sizeof buf), "web");
  cr_expect(st_container_matches(&c, "web"));
  cr_expect(st_container_matches(&c, ID));
  cr_expect(st_container_matches(&c, "2f7b"));
  cr_expect_not(st_container_matches(&c, "2f7"), "too short a prefix");
  cr_expect_not(st_container_matches(&c, "we"));
  cr_expect_not(st_container_matches(&c, ""));
  st_container unit = {"systemd", "nginx.service", "nginx", "", ""};
  cr_expect(st_container_matches(&unit, "nginx.service"));
  cr_expect_not(st_container_matches(&unit, "ngin"), "prefixes are for hex ids");
}
