/*
 * BPF programs on cgroup socket hooks: the Linux catalog's closest analogue
 * of a layered service provider (service meshes, Cilium and container
 * runtimes install them). Found the way `bpftool cgroup tree` finds them:
 * every cgroup v2 directory asked for each socket hook (BPF_PROG_QUERY),
 * each program's name and tag from its info, and the kernel's links matched
 * to what they attached. Needs root (CAP_SYS_ADMIN for the programs' info).
 * Never prints.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include "catalog.h"
#include "socktrace.h"

/* libbpf's section names of the cgroup socket hooks (socktrace.h's
 * ST_BPF_CGROUP_SOCK_HOOKS), by enum bpf_attach_type. */
static const char *const hook_names[64] = {
    [0] = "cgroup_skb/ingress",
    [1] = "cgroup_skb/egress",
    [2] = "cgroup/sock_create",
    [3] = "sockops",
    [8] = "cgroup/bind4",
    [9] = "cgroup/bind6",
    [10] = "cgroup/connect4",
    [11] = "cgroup/connect6",
    [12] = "cgroup/post_bind4",
    [13] = "cgroup/post_bind6",
    [14] = "cgroup/sendmsg4",
    [15] = "cgroup/sendmsg6",
    [19] = "cgroup/recvmsg4",
    [20] = "cgroup/recvmsg6",
    [21] = "cgroup/getsockopt",
    [22] = "cgroup/setsockopt",
    [29] = "cgroup/getpeername4",
    [30] = "cgroup/getpeername6",
    [31] = "cgroup/getsockname4",
    [32] = "cgroup/getsockname6",
    [34] = "cgroup/sock_release",
    [49] = "cgroup/connect_unix",
    [50] = "cgroup/sendmsg_unix",
    [51] = "cgroup/recvmsg_unix",
    [52] = "cgroup/getpeername_unix",
    [53] = "cgroup/getsockname_unix",
};

const char *lcat_hook_name(uint32_t attach_type) {
  if (attach_type >= 64 || !((1ULL << attach_type) & ST_BPF_CGROUP_SOCK_HOOKS))
    return NULL;
  return hook_names[attach_type];
}

/* ---- lists ------------------------------------------------------------------ */

void lcat_bpf_list_free(lcat_bpf_list *l) {
  free(l->v);
  memset(l, 0, sizeof *l);
}

int lcat_bpf_list_add(lcat_bpf_list *l, const st_linux_catalog_bpf *e) {
  if (lcat_grow(&l->v, &l->cap, l->n, sizeof *l->v) < 0)
    return ST_ENOMEM;
  l->v[l->n++] = *e;
  return 0;
}

st_linux_catalog_bpf *lcat_bpf_find(const lcat_bpf_list *l, uint32_t attach_type,
                                    uint64_t cgroup_id, uint32_t prog_id) {
  for (size_t i = 0; i < l->n; i++) {
    st_linux_catalog_bpf *e = &l->v[i];
    if (e->attach_type == attach_type && e->cgroup_id == cgroup_id && e->prog_id == prog_id)
      return e;
  }
  return NULL;
}

void lcat_bpf_remove(lcat_bpf_list *l, st_linux_catalog_bpf *e) {
  size_t i = (size_t)(e - l->v);
  if (i < l->n)
    memmove(e, e + 1, (l->n - i - 1) * sizeof *e);
  l->n--;
}

/* ---- the cgroup v2 hierarchy ------------------------------------------------- */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 3;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
}

int lcat_cgroup_mount(char *out, size_t len) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096];
  int rc = ST_ENOENT;
  while (f && rc && fgets(line, sizeof line, f)) {
    /* id parent major:minor root mountpoint options ... - fstype source ... */
    char mnt[1024], fstype[64];
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
        sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
      continue;
    unescape(mnt);
    snprintf(out, len, "%s", mnt);
    rc = 0;
  }
  if (f)
    fclose(f);
  return rc;
}

/* Program infos already asked for during one scan (a program is often on
 * many cgroups). */
typedef struct prog_cache {
  struct {
    uint32_t id;
    char name[16], tag[17];
  } v[256];
  size_t n;
} prog_cache;

static void prog_info(prog_cache *pc, uint32_t id, st_linux_catalog_bpf *e) {
  for (size_t i = 0; i < pc->n; i++) {
    if (pc->v[i].id == id) {
      memcpy(e->name, pc->v[i].name, sizeof e->name);
      memcpy(e->tag, pc->v[i].tag, sizeof e->tag);
      return;
    }
  }
  struct bpf_prog_info info;
  uint32_t len = sizeof info;
  memset(&info, 0, sizeof info);
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
    snprintf(e->name, sizeof e->name, "%.15s", info.name);
    for (int i = 0; i < 8; i++)
      snprintf(e->tag + 2 * i, 3, "%02x", info.tag[i]);
  }
  if (fd >= 0)
    close(fd);
  if (pc->n < sizeof pc->v / sizeof pc->v[0]) {
    pc->v[pc->n].id = id;
    memcpy(pc->v[pc->n].name, e->name, sizeof e->name);
    memcpy(pc->v[pc->n].tag, e->tag, sizeof e->tag);
    pc->n++;
  }
}

typedef struct scan {
  lcat_bpf_list *out;
  prog_cache progs;
  uint64_t unsupported; /* hooks this kernel does not know (EINVAL) */
  int error;            /* the first failure that is not "nothing there" */
  char *err;
  size_t errlen;
} scan;

/* The programs on each socket hook of the cgroup open as fd. */
static void query_cgroup(scan *sc, int fd, const char *path, uint64_t id) {
  for (uint32_t t = 0; t < 64 && !sc->error; t++) {
    if (!lcat_hook_name(t) || (sc->unsupported & (1ULL << t)))
      continue;
    uint32_t ids[64], cnt = 64, flags = 0;
    if (bpf_prog_query(fd, (enum bpf_attach_type)t, 0, &flags, ids, &cnt) < 0) {
      int e = errno;
      if (e == EINVAL) {
        sc->unsupported |= 1ULL << t;
        continue;
      }
      if (e != ENOSPC) {
        sc->error = -e;
        snprintf(sc->err, sc->errlen, "cannot ask cgroup %s for its BPF programs: %s%s", path,
                 st_strerror(-e),
                 e == EPERM || e == EACCES ? " (run as root or grant CAP_SYS_ADMIN)" : "");
        return;
      }
      cnt = 64; /* more than fit: the first 64 are listed */
    }
    for (uint32_t i = 0; i < cnt && i < 64; i++) {
      st_linux_catalog_bpf e;
      memset(&e, 0, sizeof e);
      e.attach_type = t;
      e.attach_flags = flags;
      e.prog_id = ids[i];
      e.cgroup_id = id;
      snprintf(e.cgroup, sizeof e.cgroup, "%s", path);
      prog_info(&sc->progs, ids[i], &e);
      if (lcat_bpf_list_add(sc->out, &e) < 0)
        sc->error = ST_ENOMEM;
    }
  }
}

/* Calls visit for the cgroup at fd (path under the mount) and every cgroup
 * below it; returns true to stop (visit found what it wanted). */
typedef bool (*visit_fn)(void *arg, int fd, const char *path, uint64_t id);

static bool walk(int fd, const char *path, int depth, visit_fn visit, void *arg) {
  struct stat st;
  if (fstat(fd, &st) < 0 || visit(arg, fd, path, (uint64_t)st.st_ino))
    return true;
  if (depth > 64)
    return false;
  int dfd = dup(fd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0)
      close(dfd);
    return false;
  }
  bool stop = false;
  struct dirent *de;
  while (!stop && (de = readdir(d))) {
    if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    int cfd = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0)
      continue; /* removed meanwhile */
    char child[4096];
    snprintf(child, sizeof child, "%s%s%s", path, strcmp(path, "/") ? "/" : "", de->d_name);
    stop = walk(cfd, child, depth + 1, visit, arg);
    close(cfd);
  }
  closedir(d);
  return stop;
}

static bool visit_query(void *arg, int fd, const char *path, uint64_t id) {
  scan *sc = arg;
  query_cgroup(sc, fd, path, id);
  return sc->error != 0;
}

typedef struct path_lookup {
  uint64_t id;
  char *out;
  size_t len;
  bool found;
} path_lookup;

static bool visit_find(void *arg, int fd, const char *path, uint64_t id) {
  path_lookup *pl = arg;
  if (id != pl->id)
    return false;
  snprintf(pl->out, pl->len, "%s", path);
  pl->found = true;
  return true;
}

static int open_cgroup(const char *mount, const char *path) {
  char full[4096];
  snprintf(full, sizeof full, "%s%s", mount, strcmp(path, "/") ? path : "");
  return open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

bool lcat_cgroup_path(const char *mount, uint64_t id, char *out, size_t len) {
  path_lookup pl = {.id = id, .out = out, .len = len};
  int fd = open_cgroup(mount, "/");
  if (fd < 0)
    return false;
  walk(fd, "/", 0, visit_find, &pl);
  close(fd);
  return pl.found;
}

/* The kernel's cgroup links: which entries a link holds (its id), and
 * entries of cgroups a cheap scan did not ask. */
static void match_links(scan *sc, const char *mount) {
  uint32_t id = 0;
  while (!sc->error && bpf_link_get_next_id(id, &id) == 0) {
    int fd = bpf_link_get_fd_by_id(id);
    if (fd < 0)
      continue; /* released meanwhile */
    struct bpf_link_info info;
    uint32_t len = sizeof info;
    memset(&info, 0, sizeof info);
    int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (rc < 0 || info.type != BPF_LINK_TYPE_CGROUP || !lcat_hook_name(info.cgroup.attach_type))
      continue;
    st_linux_catalog_bpf *e =
        lcat_bpf_find(sc->out, info.cgroup.attach_type, info.cgroup.cgroup_id, info.prog_id);
    if (!e) {
      st_linux_catalog_bpf n;
      memset(&n, 0, sizeof n);
      n.attach_type = info.cgroup.attach_type;
      n.attach_flags = 2; /* BPF_F_ALLOW_MULTI: what links attach with */
      n.prog_id = info.prog_id;
      n.cgroup_id = info.cgroup.cgroup_id;
      if (!lcat_cgroup_path(mount, n.cgroup_id, n.cgroup, sizeof n.cgroup))
        snprintf(n.cgroup, sizeof n.cgroup, "(cgroup id %llu)", (unsigned long long)n.cgroup_id);
      prog_info(&sc->progs, n.prog_id, &n);
      if (lcat_bpf_list_add(sc->out, &n) < 0) {
        sc->error = ST_ENOMEM;
        return;
      }
      e = &sc->out->v[sc->out->n - 1];
    }
    e->link_id = id;
  }
}

int lcat_bpf_scan(const char *mount, const lcat_bpf_list *cgroups, lcat_bpf_list *out, char *err,
                  size_t errlen) {
  scan *sc = calloc(1, sizeof *sc);
  if (!sc)
    return ST_ENOMEM;
  out->n = 0;
  sc->out = out;
  sc->err = err;
  sc->errlen = errlen;
  if (!cgroups) {
    int fd = open_cgroup(mount, "/");
    if (fd < 0) {
      sc->error = -errno;
      snprintf(err, errlen, "cannot open the cgroup v2 hierarchy at %s: %s", mount,
               st_strerror(sc->error));
    } else {
      walk(fd, "/", 0, visit_query, sc);
      close(fd);
    }
  } else {
    for (size_t i = 0; i < cgroups->n && !sc->error; i++) {
      const st_linux_catalog_bpf *c = &cgroups->v[i];
      bool asked = false;
      for (size_t j = 0; j < i && !asked; j++)
        asked = cgroups->v[j].cgroup_id == c->cgroup_id;
      if (asked)
        continue;
      /* By its path, else (renamed, moved) by its id; a cgroup found by
       * neither was removed, and its programs with it. */
      char path[256];
      struct stat st;
      snprintf(path, sizeof path, "%s", c->cgroup);
      int fd = open_cgroup(mount, path);
      if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != c->cgroup_id)) {
        close(fd);
        fd = -1;
      }
      if (fd < 0 && lcat_cgroup_path(mount, c->cgroup_id, path, sizeof path))
        fd = open_cgroup(mount, path);
      if (fd < 0)
        continue;
      query_cgroup(sc, fd, path, c->cgroup_id);
      close(fd);
    }
  }
  if (!sc->error)
    match_links(sc, mount);
  int rc = sc->error;
  free(sc);
  return rc;
}

/* ---- words ------------------------------------------------------------------ */

void st_linux_catalog_bpf_mode(const st_linux_catalog_bpf *b, char *out, size_t len) {
  if (b->link_id)
    snprintf(out, len, "link=%u", b->link_id);
  else
    snprintf(out, len, "%s",
             b->attach_flags & 2   ? "multi"
             : b->attach_flags & 1 ? "override"
                                   : "exclusive");
}

void lcat_bpf_describe(const st_linux_catalog_bpf *b, const char *why, char *out, size_t len) {
  const char *hook = lcat_hook_name(b->attach_type);
  char head[160], mode[32], hookbuf[24];
  if (!hook) {
    snprintf(hookbuf, sizeof hookbuf, "attach_type=%u", b->attach_type);
    hook = hookbuf;
  }
  st_linux_catalog_bpf_mode(b, mode, sizeof mode);
  snprintf(head, sizeof head, "%s prog=%u name=%s tag=%s %s%s%s%s", hook, b->prog_id,
           b->name[0] ? b->name : "-", b->tag[0] ? b->tag : "-", mode, why ? " (" : "",
           why ? why : "", why ? ")" : "");
  /* The cgroup last: when the words do not fit, its path loses its start
   * (the cgroup id stays in the event). */
  const char *cg = b->cgroup[0] ? b->cgroup : "?";
  size_t room = len > strlen(head) + 9 ? len - strlen(head) - 9 : 0;
  if (strlen(cg) <= room)
    snprintf(out, len, "%s cgroup=%s", head, cg);
  else if (room > 3)
    snprintf(out, len, "%s cgroup=...%s", head, cg + strlen(cg) - (room - 3));
  else
    snprintf(out, len, "%s", head);
}
