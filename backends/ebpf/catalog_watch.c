/*
 * A live session's catalog watcher (catalog.h): the catalog's files watched
 * on the session's loop, the bpf() records of catalog.bpf.c, and a periodic
 * look at the cgroup hooks, all turned into catalog events.
 *
 * Files are watched through their directories, so that a file replaced by
 * a rename, deleted or created is seen like one written in place. fanotify
 * (with FAN_REPORT_DFID_NAME, Linux 5.9) says which process closed or
 * renamed the file; where it cannot be used (an older kernel, a file system
 * that gives no file handles, such as 9p) inotify watches instead and the
 * events say the process is unknown. A file is
 * read again when a writer closes it, or when it is renamed, created or
 * deleted, never on each write: a half-written file is never compared.
 *
 * nftables rule-set changes come from the kernel's notifications
 * (catalog_nft.c), one CatalogReset per committed transaction.
 *
 * Nothing here runs per socket operation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/types.h>

#include "catalog.h"
#include "socktrace.h"

#define RESCAN_MS 2000     /* the periodic look */
#define FULL_LOOK_EVERY 15 /* looks; the others ask only known cgroups and the links */
#define MAX_DIRS 16
#define HANDLE_MAX 128
#define FILE_COUNT (ST_LCAT_KIND_COUNT - ST_LCAT_PRELOAD)

typedef struct watched_dir {
  char path[PATH_MAX];
  bool on;     /* watched */
  int wd;      /* inotify */
  fsid_t fsid; /* fanotify: the directory's file system */
  unsigned char handle[sizeof(struct file_handle) + HANDLE_MAX]; /* and its handle */
} watched_dir;

typedef struct watched_file {
  uint8_t kind;
  char path[PATH_MAX];
  int dir; /* the file's directory (-1: not watched) */
  char name[NAME_MAX + 1];
  int target_dir; /* a symlink's target's directory (-1: none) */
  char target_name[NAME_MAX + 1];
  lcat_parsed state;
  bool dirty;
  lcat_who who; /* who changed it (pid 0: not known) */
  const char *why_unknown;
} watched_file;

struct ebpf_catalog {
  ebpf_catalog_hooks h;
  char root[PATH_MAX];
  watched_file files[FILE_COUNT];
  watched_dir dirs[MAX_DIRS];
  size_t ndirs;
  int fd; /* fanotify or inotify */
  bool fanotify;
  lcat_progs progs;
  bool progs_on;
  lcat_nft nft;
  uv_poll_t poll, nft_poll;
  uv_timer_t timer;
  bool poll_on, nft_poll_on, timer_on;
  int closing; /* handles whose close is pending */
};

static void notice(ebpf_catalog *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(ebpf_catalog *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  if (!c->h.notice)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->h.notice(msg, c->h.arg);
}

static uint64_t now_ns(void) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

/* Every catalog event leaves through here: time, process, the session's
 * scope. */
static void emit_event(void *arg, st_event *ev, const lcat_who *who) {
  ebpf_catalog *c = arg;
  ev->ts_ns = who->ts_ns ? who->ts_ns : now_ns();
  ev->pid = who->pid;
  ev->tid = who->tid;
  memcpy(ev->comm, who->comm, sizeof ev->comm);
  if (c->h.in_scope(c->h.arg, who->pid))
    c->h.emit(c->h.arg, ev);
}

/* ---- files --------------------------------------------------------------- */

static void who_from_pid(lcat_who *w, uint32_t pid) {
  char path[64];
  memset(w, 0, sizeof *w);
  w->pid = w->tid = pid;
  w->ts_ns = now_ns();
  snprintf(path, sizeof path, "/proc/%u/comm", pid);
  FILE *f = pid ? fopen(path, "r") : NULL;
  if (f) {
    if (fgets(w->comm, sizeof w->comm, f))
      w->comm[strcspn(w->comm, "\n")] = '\0';
    fclose(f);
  }
}

static void file_change(void *arg, uint16_t id, const char *entry) {
  watched_file *f = ((void **)arg)[1];
  st_event ev;
  lcat_event_file(f->path, entry, f->who.pid ? NULL : f->why_unknown, id, &ev);
  emit_event(((void **)arg)[0], &ev, &f->who);
}

/* Reads a file again and reports how it changed. */
static void file_reread(ebpf_catalog *c, watched_file *f) {
  bool present;
  lcat_parsed next;
  char *text = lcat_read_file(f->path, &present);
  int rc = lcat_parse(f->kind, text, &next);
  free(text);
  f->dirty = false;
  if (rc < 0)
    return; /* out of memory: the old state stays, the next change tries again */
  void *args[2] = {c, f};
  lcat_diff(&f->state, &next, file_change, args);
  lcat_parsed_free(&f->state);
  f->state = next;
}

/* The index of dir among the watched ones, added when new (-1: no room). */
static int dir_index(ebpf_catalog *c, const char *dir) {
  for (size_t i = 0; i < c->ndirs; i++)
    if (!strcmp(c->dirs[i].path, dir))
      return (int)i;
  if (c->ndirs == MAX_DIRS)
    return -1;
  watched_dir *d = &c->dirs[c->ndirs];
  memset(d, 0, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s", dir);
  d->wd = -1;
  return (int)c->ndirs++;
}

static void split(const char *path, char *dir, size_t dlen, char *name, size_t nlen) {
  char a[PATH_MAX], b[PATH_MAX];
  snprintf(a, sizeof a, "%s", path);
  snprintf(b, sizeof b, "%s", path);
  snprintf(dir, dlen, "%s", dirname(a));
  snprintf(name, nlen, "%s", basename(b));
}

/* The directories a file is seen through: its own and, for a symlink (as
 * /etc/resolv.conf often is), its target's. */
static void file_dirs(ebpf_catalog *c, watched_file *f) {
  char dir[PATH_MAX], real[PATH_MAX];
  split(f->path, dir, sizeof dir, f->name, sizeof f->name);
  f->dir = dir_index(c, dir);
  f->target_dir = -1;
  struct stat st;
  if (lstat(f->path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(f->path, real)) {
    split(real, dir, sizeof dir, f->target_name, sizeof f->target_name);
    f->target_dir = dir_index(c, dir);
  }
}

#define FAN_WATCH (FAN_CLOSE_WRITE | FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO)
#define IN_WATCH (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

static int mark_fanotify(ebpf_catalog *c, watched_dir *d) {
  struct file_handle *fh = (struct file_handle *)d->handle;
  struct statfs sfs;
  int mount_id;
  fh->handle_bytes = HANDLE_MAX;
  if (statfs(d->path, &sfs) < 0 || name_to_handle_at(AT_FDCWD, d->path, fh, &mount_id, 0) < 0)
    return -errno;
  memcpy(&d->fsid, &sfs.f_fsid, sizeof d->fsid);
  if (fanotify_mark(c->fd, FAN_MARK_ADD, FAN_WATCH | FAN_EVENT_ON_CHILD, AT_FDCWD, d->path) < 0)
    return -errno;
  d->on = true;
  return 0;
}

static int mark_inotify(ebpf_catalog *c, watched_dir *d) {
  d->wd = inotify_add_watch(c->fd, d->path, IN_WATCH);
  d->on = d->wd >= 0;
  return d->on ? 0 : -errno;
}

/* fanotify on every directory, or inotify on every directory. */
static void watch_dirs(ebpf_catalog *c) {
  char why[256] = "";
  int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_CLOEXEC | FAN_NONBLOCK,
                         O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    snprintf(why, sizeof why, "fanotify: %s", st_strerror(-errno));
  c->fd = fd;
  for (size_t i = 0; fd >= 0 && i < c->ndirs; i++) {
    int rc = mark_fanotify(c, &c->dirs[i]);
    if (rc < 0 && rc != -ENOENT) {
      snprintf(why, sizeof why, "fanotify on %s: %s", c->dirs[i].path, st_strerror(rc));
      close(fd);
      c->fd = fd = -1;
    }
  }
  c->fanotify = c->fd >= 0;
  if (!c->fanotify) {
    c->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (size_t i = 0; c->fd >= 0 && i < c->ndirs; i++) {
      c->dirs[i].on = false;
      mark_inotify(c, &c->dirs[i]);
    }
    if (c->fd >= 0)
      notice(c, "catalog file changes will not name their process (%s); inotify watches the files",
             why);
  }
  if (c->fd < 0)
    notice(c, "catalog files are not watched: %s", st_strerror(-errno));
  for (size_t i = 0; i < c->ndirs; i++)
    if (!c->dirs[i].on && c->fd >= 0)
      notice(c, "catalog files in %s are not watched: the directory cannot be watched",
             c->dirs[i].path);
  for (size_t i = 0; i < FILE_COUNT; i++)
    c->files[i].why_unknown = c->fanotify ? "process unknown" : "inotify: process unknown";
}

static void mark_dirty(ebpf_catalog *c, int dir, const char *name, uint32_t pid, bool overflow) {
  for (size_t i = 0; i < FILE_COUNT; i++) {
    watched_file *f = &c->files[i];
    bool hit = overflow || (dir >= 0 && ((f->dir == dir && !strcmp(f->name, name)) ||
                                         (f->target_dir == dir && !strcmp(f->target_name, name))));
    if (!hit)
      continue;
    f->dirty = true;
    who_from_pid(&f->who, pid);
    if (overflow)
      f->why_unknown = "process unknown: too many changes";
  }
}

static int dir_of_handle(ebpf_catalog *c, const fsid_t *fsid, const struct file_handle *fh) {
  for (size_t i = 0; i < c->ndirs; i++) {
    const struct file_handle *d = (const struct file_handle *)c->dirs[i].handle;
    if (!memcmp(&c->dirs[i].fsid, fsid, sizeof *fsid) && d->handle_type == fh->handle_type &&
        d->handle_bytes == fh->handle_bytes && !memcmp(d->f_handle, fh->f_handle, d->handle_bytes))
      return (int)i;
  }
  return -1;
}

static void read_fanotify(ebpf_catalog *c) {
  char buf[8192] __attribute__((aligned(8)));
  ssize_t n;
  while ((n = read(c->fd, buf, sizeof buf)) > 0) {
    struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
    for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
      if (m->mask & FAN_Q_OVERFLOW) {
        mark_dirty(c, -1, "", 0, true);
        continue;
      }
      char *p = (char *)m + m->metadata_len, *end = (char *)m + m->event_len;
      while (p + sizeof(struct fanotify_event_info_header) <= end) {
        struct fanotify_event_info_fid *fid = (struct fanotify_event_info_fid *)p;
        if (!fid->hdr.len)
          break;
        if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
          const struct file_handle *fh = (const struct file_handle *)fid->handle;
          const char *name = (const char *)fh->f_handle + fh->handle_bytes;
          mark_dirty(c, dir_of_handle(c, (const fsid_t *)&fid->fsid, fh), name, (uint32_t)m->pid,
                     false);
        }
        p += fid->hdr.len;
      }
      if (m->fd >= 0)
        close(m->fd);
    }
  }
}

static void read_inotify(ebpf_catalog *c) {
  char buf[8192] __attribute__((aligned(8)));
  ssize_t n;
  while ((n = read(c->fd, buf, sizeof buf)) > 0) {
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)p;
      int dir = -1;
      for (size_t i = 0; i < c->ndirs; i++)
        if (c->dirs[i].wd == e->wd)
          dir = (int)i;
      if (e->mask & IN_Q_OVERFLOW)
        mark_dirty(c, -1, "", 0, true);
      else if (e->len)
        mark_dirty(c, dir, e->name, 0, false);
      p += sizeof *e + e->len;
    }
  }
}

/* Reads what the watch says and reports how the files it names changed. */
static void take_notifications(ebpf_catalog *c) {
  if (c->fd < 0)
    return;
  c->h.drain(c->h.arg); /* the ring's changes first, so events keep their order */
  if (c->fanotify)
    read_fanotify(c);
  else
    read_inotify(c);
  for (size_t i = 0; i < FILE_COUNT; i++) {
    watched_file *f = &c->files[i];
    if (!f->dirty)
      continue;
    file_reread(c, f);
    /* A symlink may point elsewhere now: watch its new target too. */
    file_dirs(c, f);
    if (f->target_dir >= 0 && !c->dirs[f->target_dir].on) {
      if (c->fanotify)
        mark_fanotify(c, &c->dirs[f->target_dir]);
      else
        mark_inotify(c, &c->dirs[f->target_dir]);
    }
  }
}

static void on_notify(uv_poll_t *h, int status, int events) {
  take_notifications(h->data);
}

/* ---- BPF programs ---------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  ebpf_catalog *c = t->data;
  /* Records first: a change a record explains is never a look's to report. */
  c->h.drain(c->h.arg);
  lcat_progs_look(&c->progs, c->progs.looks % FULL_LOOK_EVERY == FULL_LOOK_EVERY - 1, emit_event,
                  c);
}

/* ---- nftables --------------------------------------------------------------- */

static void take_nft(ebpf_catalog *c) {
  if (c->nft.fd < 0)
    return;
  c->h.drain(c->h.arg); /* the ring's changes first, so events keep their order */
  lcat_nft_read(&c->nft, emit_event, c);
}

static void on_nft(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  take_nft(h->data);
}

void ebpf_catalog_record(ebpf_catalog *c, const void *rec, size_t size) {
  if (c && c->progs_on && size >= sizeof(struct st_bpf_rec_catalog))
    lcat_progs_record(&c->progs, rec, c->h.boot_to_real, emit_event, c);
}

/* ---- start and stop --------------------------------------------------------- */

static uint64_t rescan_ms(void) {
  const char *s = getenv("SOCKTRACE_CATALOG_RESCAN_MS");
  long v = s && *s ? strtol(s, NULL, 10) : 0;
  return v >= 50 ? (uint64_t)v : RESCAN_MS;
}

ebpf_catalog *ebpf_catalog_start(uv_loop_t *loop, const char *root, const ebpf_catalog_hooks *h,
                                 char *err, size_t errlen) {
  ebpf_catalog *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(err, errlen, "cannot watch the catalog: out of memory");
    return NULL;
  }
  c->h = *h;
  c->fd = -1;
  c->nft.fd = -1;
  lcat_root(root, c->root, sizeof c->root);
  for (size_t i = 0; i < FILE_COUNT; i++) {
    watched_file *f = &c->files[i];
    bool present;
    f->kind = (uint8_t)(ST_LCAT_PRELOAD + i);
    snprintf(f->path, sizeof f->path, "%s%s", c->root, lcat_file_path(f->kind));
    char *text = lcat_read_file(f->path, &present);
    lcat_parse(f->kind, text, &f->state); /* out of memory: watched from an empty state */
    free(text);
    file_dirs(c, f);
  }
  char why[256];
  c->progs_on = lcat_progs_init(&c->progs, why, sizeof why) == 0;
  if (!c->progs_on)
    notice(c, "BPF programs on cgroup socket hooks are not watched: %s", why);
  else if (!h->bpf_records)
    notice(c, "the bpf() syscall cannot be traced here (no syscalls:sys_exit_bpf tracepoint): "
              "changes to cgroup socket hooks are found every few seconds, without their process");
  if (lcat_nft_open(&c->nft, why, sizeof why) < 0)
    notice(c, "nftables rule-set changes are not watched: %s", why);
  watch_dirs(c);
  if (c->nft.fd >= 0) {
    uv_poll_init(loop, &c->nft_poll, c->nft.fd);
    c->nft_poll.data = c;
    uv_poll_start(&c->nft_poll, UV_READABLE, on_nft);
    c->nft_poll_on = true;
  }
  if (c->fd >= 0) {
    uv_poll_init(loop, &c->poll, c->fd);
    c->poll.data = c;
    uv_poll_start(&c->poll, UV_READABLE, on_notify);
    c->poll_on = true;
  }
  if (c->progs_on) {
    uint64_t ms = rescan_ms();
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_timer, ms, ms);
    c->timer_on = true;
  }
  return c;
}

static void free_catalog(ebpf_catalog *c) {
  for (size_t i = 0; i < FILE_COUNT; i++)
    lcat_parsed_free(&c->files[i].state);
  lcat_progs_free(&c->progs);
  lcat_nft_close(&c->nft);
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

static void on_closed(uv_handle_t *h) {
  ebpf_catalog *c = h->data;
  if (--c->closing == 0)
    free_catalog(c);
}

void ebpf_catalog_stop(ebpf_catalog *c) {
  if (!c)
    return;
  take_notifications(c); /* a change just before the end is still reported */
  take_nft(c);
  if (c->poll_on) {
    c->closing++;
    uv_close((uv_handle_t *)&c->poll, on_closed);
  }
  if (c->nft_poll_on) {
    c->closing++;
    uv_close((uv_handle_t *)&c->nft_poll, on_closed);
  }
  if (c->timer_on) {
    c->closing++;
    uv_close((uv_handle_t *)&c->timer, on_closed);
  }
  if (!c->closing)
    free_catalog(c);
}
