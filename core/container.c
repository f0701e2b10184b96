/*
 * Cgroup ids to containers (container.h): the cgroup's path, the runtime
 * and id the path names, the name the runtime's state files give.
 */
#define _GNU_SOURCE
#include "container.h"

#include <ctype.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>

#define ID_HEX 64
#define WALK_FDS 16

typedef struct cg_entry {
  uint64_t id; /* key */
  bool some;   /* a container (else none) */
  st_container c;
  UT_hash_handle hh;
} cg_entry;

struct st_containers {
  char mount[PATH_MAX]; /* "" when the host has no cgroup v2 mount */
  char root[PATH_MAX];
  cg_entry *byid;
};

/* ---- names in a cgroup path ---------------------------------------------- */

static bool all_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* comp is "<prefix><64 hex>[<suffix>]"; the id into out. */
static bool prefixed_id(const char *comp, size_t len, const char *prefix, char *out) {
  size_t pl = strlen(prefix);
  if (len < pl + ID_HEX || strncmp(comp, prefix, pl) != 0 || !all_hex(comp + pl, ID_HEX))
    return false;
  const char *rest = comp + pl + ID_HEX;
  size_t rl = len - pl - ID_HEX;
  if (rl && !(rl == 6 && strncmp(rest, ".scope", 6) == 0))
    return false;
  memcpy(out, comp + pl, ID_HEX);
  out[ID_HEX] = '\0';
  return true;
}

/* systemd's unit name escaping: "\x2d" is '-'. */
static void unescape(const char *s, size_t n, char *out, size_t outlen) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < outlen; i++) {
    unsigned v;
    if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1) {
      out[o++] = (char)v;
      i += 3;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t sl = strlen(suffix);
  return n >= sl && strncmp(s + n - sl, suffix, sl) == 0;
}

/* s into dst, cut to fit. */
static void set(char *dst, size_t len, const char *s) {
  /* (cut to fit is what is meant: the result is looked at so that gcc
   * does not warn of it) */
  if (snprintf(dst, len, "%s", s) < 0)
    dst[0] = '\0';
}

/* One path component as a container: true when it names one. */
static bool component(const char *comp, size_t len, const char *parent, size_t plen, bool kube,
                      st_container *out) {
  char id[ID_HEX + 1];
  if (prefixed_id(comp, len, "docker-", id)) {
    set(out->runtime, sizeof out->runtime, "docker");
  } else if (prefixed_id(comp, len, "cri-containerd-", id)) {
    set(out->runtime, sizeof out->runtime, "containerd");
  } else if (prefixed_id(comp, len, "crio-", id)) {
    set(out->runtime, sizeof out->runtime, "cri-o");
  } else if (prefixed_id(comp, len, "libpod-", id)) {
    set(out->runtime, sizeof out->runtime, "podman");
  } else if (len == ID_HEX && all_hex(comp, len) &&
             ((plen == 6 && strncmp(parent, "docker", 6) == 0) || kube)) {
    /* cgroupfs drivers: /docker/<id>, /kubepods/<qos>/pod<uid>/<id> */
    memcpy(id, comp, ID_HEX);
    id[ID_HEX] = '\0';
    set(out->runtime, sizeof out->runtime, kube ? "cri" : "docker");
  } else if (len > 8 + 6 && strncmp(comp, "machine-", 8) == 0 && ends_with(comp, len, ".scope")) {
    char name[sizeof out->id];
    unescape(comp + 8, len - 8 - 6, name, sizeof name);
    /* libpod's and libvirt's machines are not nspawn's */
    if (strncmp(name, "libpod-", 7) == 0 || strncmp(name, "qemu-", 5) == 0)
      return false;
    set(out->runtime, sizeof out->runtime, "nspawn");
    set(out->id, sizeof out->id, name);
    set(out->name, sizeof out->name, name);
    return true;
  } else {
    return false;
  }
  set(out->id, sizeof out->id, id);
  return true;
}

bool st_container_from_path(const char *path, st_container *out) {
  const char *comps[64];
  size_t lens[64], n = 0;
  bool kube = strstr(path, "kubepods") != NULL;

  memset(out, 0, sizeof *out);
  for (const char *p = path; *p && n < 64;) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    comps[n] = p;
    lens[n++] = len;
    p += len;
  }
  /* The innermost container (a runtime's sub-cgroups, such as podman's
   * ".../libpod-<id>.scope/container", are inside it). */
  for (size_t i = n; i-- > 0;)
    if (component(comps[i], lens[i], i ? comps[i - 1] : "", i ? lens[i - 1] : 0, kube, out))
      return true;
  /* Else a systemd service, as its unit. */
  for (size_t i = n; i-- > 0;) {
    if (ends_with(comps[i], lens[i], ".service") && lens[i] > 8) {
      unescape(comps[i], lens[i], out->id, sizeof out->id);
      unescape(comps[i], lens[i] - 8, out->name, sizeof out->name);
      set(out->runtime, sizeof out->runtime, "systemd");
      return true;
    }
  }
  memset(out, 0, sizeof *out);
  return false;
}

/* ---- names from the runtimes' state -------------------------------------- */

static json_t *load(const char *root, const char *fmt, const char *id) {
  char path[PATH_MAX * 2];
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, fmt, id);
  snprintf(path, sizeof path, "%s%s", root, rel);
  return json_load_file(path, JSON_DECODE_ANY, NULL);
}

static void take(char *dst, size_t len, json_t *v) {
  if (!dst[0] && json_is_string(v) && json_string_value(v)[0])
    snprintf(dst, len, "%s", json_string_value(v));
}

/* Kubernetes' names from an OCI config.json's annotations (CRI-O's, the
 * CRI plugin's of containerd, podman's for a pod it plays). */
static bool annotations(json_t *config, st_container *c) {
  json_t *a = json_object_get(config, "annotations");
  if (!json_is_object(a))
    return false;
  take(c->name, sizeof c->name, json_object_get(a, "io.kubernetes.container.name"));
  take(c->name, sizeof c->name, json_object_get(a, "io.kubernetes.cri.container-name"));
  take(c->pod, sizeof c->pod, json_object_get(a, "io.kubernetes.pod.name"));
  take(c->pod, sizeof c->pod, json_object_get(a, "io.kubernetes.cri.sandbox-name"));
  take(c->ns, sizeof c->ns, json_object_get(a, "io.kubernetes.pod.namespace"));
  take(c->ns, sizeof c->ns, json_object_get(a, "io.kubernetes.cri.sandbox-namespace"));
  return true;
}

/* An OCI config.json among a runtime's places; true when one was read. */
static bool oci_config(const char *root, const char *const *places, st_container *c) {
  for (const char *const *p = places; *p; p++) {
    json_t *j = load(root, *p, c->id);
    if (j) {
      bool ok = annotations(j, c);
      json_decref(j);
      if (ok)
        return true;
    }
  }
  return false;
}

static void podman_name(const char *root, st_container *c) {
  json_t *all = load(root, "/var/lib/containers/storage/overlay-containers/containers.json", "");
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v) {
    if (json_is_string(json_object_get(v, "id")) &&
        strcmp(json_string_value(json_object_get(v, "id")), c->id) == 0) {
      take(c->name, sizeof c->name, json_array_get(json_object_get(v, "names"), 0));
      break;
    }
  }
  json_decref(all);
}

static void docker_name(const char *root, st_container *c) {
  json_t *j = load(root, "/var/lib/docker/containers/%s/config.v2.json", c->id);
  json_t *name = json_object_get(j, "Name");
  if (json_is_string(name)) {
    const char *s = json_string_value(name);
    snprintf(c->name, sizeof c->name, "%s", s[0] == '/' ? s + 1 : s);
  }
  /* dockershim's pods */
  json_t *labels = json_object_get(json_object_get(j, "Config"), "Labels");
  take(c->pod, sizeof c->pod, json_object_get(labels, "io.kubernetes.pod.name"));
  take(c->ns, sizeof c->ns, json_object_get(labels, "io.kubernetes.pod.namespace"));
  json_decref(j);
}

void st_container_name(const char *root, st_container *c) {
  static const char *const podman[] = {
      "/var/lib/containers/storage/overlay-containers/%s/userdata/config.json", NULL};
  static const char *const crio[] = {
      "/run/containers/storage/overlay-containers/%s/userdata/config.json",
      "/var/lib/containers/storage/overlay-containers/%s/userdata/config.json", NULL};
  static const char *const containerd[] = {
      "/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json", NULL};
  static const char *const moby[] = {
      "/run/containerd/io.containerd.runtime.v2.task/moby/%s/config.json", NULL};

  if (!root)
    root = "";
  if (strcmp(c->runtime, "podman") == 0) {
    podman_name(root, c);
    oci_config(root, podman, c);
  } else if (strcmp(c->runtime, "docker") == 0) {
    docker_name(root, c);
  } else if (strcmp(c->runtime, "cri-o") == 0) {
    oci_config(root, crio, c);
  } else if (strcmp(c->runtime, "containerd") == 0) {
    oci_config(root, containerd, c);
  } else if (strcmp(c->runtime, "cri") == 0) {
    /* a kubelet with the cgroupfs driver: whichever runtime has its state */
    if (oci_config(root, containerd, c))
      set(c->runtime, sizeof c->runtime, "containerd");
    else if (oci_config(root, crio, c))
      set(c->runtime, sizeof c->runtime, "cri-o");
    else if (oci_config(root, moby, c))
      docker_name(root, c);
  }
}

/* ---- cgroup ids to paths ------------------------------------------------- */

/* The cgroup v2 mount, from mountinfo ("" when there is none). */
static void find_mount(char *out, size_t len) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096];
  out[0] = '\0';
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    char mnt[PATH_MAX];
    const char *sep = strstr(line, " - ");
    if (sep && strncmp(sep, " - cgroup2 ", 11) == 0 &&
        sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
      snprintf(out, len, "%s", mnt);
      break;
    }
  }
  fclose(f);
}

/* The v2 cgroup path of a process ("0::/path"). */
static bool pid_cgroup_path(uint32_t pid, char *out, size_t len) {
  char path[64], line[PATH_MAX + 8];
  bool found = false;
  snprintf(path, sizeof path, "/proc/%u/cgroup", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3) == 0) {
      line[strcspn(line, "\n")] = '\0';
      set(out, len, line + 3);
      found = true;
    }
  }
  fclose(f);
  return found;
}

static bool is_cgroup(const char *mount, const char *rel, uint64_t id) {
  char path[PATH_MAX * 2];
  struct stat st;
  snprintf(path, sizeof path, "%s%s", mount, rel);
  return stat(path, &st) == 0 && (uint64_t)st.st_ino == id;
}

/* nftw has no argument for its callback. */
static _Thread_local struct {
  uint64_t want;
  char *out;
  size_t len, skip;
} walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type == FTW_D && (uint64_t)st->st_ino == walk.want) {
    snprintf(walk.out, walk.len, "%s", path[walk.skip] ? path + walk.skip : "/");
    return 1;
  }
  return 0;
}

/* The path (under the mount) of cgroup id: the process's own when it is
 * still there, else found by walking the tree. */
static bool cgroup_path(const st_containers *c, uint64_t id, uint32_t pid, char *out, size_t len) {
  if (!c->mount[0])
    return false;
  if (pid && pid_cgroup_path(pid, out, len) && is_cgroup(c->mount, out, id))
    return true;
  walk.want = id;
  walk.out = out;
  walk.len = len;
  walk.skip = strlen(c->mount);
  return nftw(c->mount, walk_one, WALK_FDS, FTW_PHYS | FTW_MOUNT) == 1;
}

/* ---- the cache ----------------------------------------------------------- */

st_containers *st_containers_new(const char *cgroup_mount, const char *state_root) {
  st_containers *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  if (cgroup_mount)
    snprintf(c->mount, sizeof c->mount, "%s", cgroup_mount);
  else
    find_mount(c->mount, sizeof c->mount);
  snprintf(c->root, sizeof c->root, "%s", state_root ? state_root : "");
  return c;
}

void st_containers_free(st_containers *c) {
  if (!c)
    return;
  cg_entry *e, *tmp;
  HASH_ITER(hh, c->byid, e, tmp) {
    HASH_DEL(c->byid, e);
    free(e);
  }
  free(c);
}

const st_container *st_containers_get(st_containers *c, uint64_t cgroup, uint32_t pid) {
  cg_entry *e = NULL;
  HASH_FIND(hh, c->byid, &cgroup, sizeof cgroup, e);
  if (e)
    return e->some ? &e->c : NULL;
  e = calloc(1, sizeof *e);
  if (!e)
    return NULL;
  e->id = cgroup;
  char path[PATH_MAX];
  if (cgroup_path(c, cgroup, pid, path, sizeof path) && st_container_from_path(path, &e->c)) {
    e->some = true;
    st_container_name(c->root, &e->c);
  }
  HASH_ADD(hh, c->byid, id, sizeof e->id, e);
  return e->some ? &e->c : NULL;
}

void st_containers_fill(st_containers *c, st_event *ev) {
  if (!(ev->has & ST_HAS_CGROUP))
    return;
  const st_container *k = st_containers_get(c, ev->cgroup, ev->pid);
  if (k) {
    ev->container = *k;
    ev->has |= ST_HAS_CONTAINER;
  } else {
    ev->cgroup = 0;
    ev->has &= ~(uint32_t)ST_HAS_CGROUP;
  }
}

unsigned st_containers_ids_of(st_containers *c, const char *s, uint64_t *ids, unsigned max) {
  unsigned n = 0;
  for (cg_entry *e = c->byid; e && n < max; e = e->hh.next)
    if (e->some && st_container_matches(&e->c, s))
      ids[n++] = e->id;
  return n;
}

bool st_container_of_pid(uint32_t pid, st_container *out) {
  char path[PATH_MAX];
  memset(out, 0, sizeof *out);
  if (!pid_cgroup_path(pid, path, sizeof path) || !st_container_from_path(path, out))
    return false;
  st_container_name("", out);
  return true;
}

/* ---- showing and matching ------------------------------------------------ */

const char *st_container_label(const st_container *c, char *buf, size_t len) {
  if (c->name[0])
    snprintf(buf, len, "%s", c->name);
  else if (strlen(c->id) == ID_HEX && all_hex(c->id, ID_HEX))
    snprintf(buf, len, "%.12s", c->id);
  else
    snprintf(buf, len, "%s", c->id);
  return buf;
}

bool st_container_matches(const st_container *c, const char *s) {
  size_t n = strlen(s);
  if (!n)
    return false;
  if (strcmp(c->name, s) == 0 || strcmp(c->id, s) == 0)
    return true;
  return n >= 4 && strlen(c->id) == ID_HEX && strncmp(c->id, s, n) == 0;
}
