/*
 * The .sktrace writer sink: ETW's asynchronous writer, portable. The loop
 * thread only copies each event into a bounded ring; a writer thread encodes
 * blocks (sktrace_codec.c), compresses each (sktrace_zblock.c, zstd, on
 * this thread, never the loop's) and writes it with a single write() when
 * it is big enough or old enough, rotating files by their size on disk
 * like logman -max.
 *
 * It must never block the loop while tracing: the ring is single-producer
 * single-consumer with atomic indices (no lock per event), a full ring
 * drops the event and counts it, and the loss becomes an EventsLost record
 * in the file. The lock only guards sleeping, flush requests and errors.
 * Only flush() and end(), called when the session stops, wait for the
 * writer. A failed write stops the recording, cuts the file back to its
 * last whole block, and is reported as one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "internal.h"
#include "sktrace_format.h"
#include "socktrace/sink.h"

#ifdef _WIN32
#include <io.h>
#define fsync _commit
#endif
#ifndef O_BINARY
#define O_BINARY 0 /* POSIX has no text mode */
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define DEFAULT_BLOCK (64u << 10)
/* Compressed, a block is mostly similar records: a larger one compresses a
 * little better and costs one reused buffer of its size. */
#define DEFAULT_ZBLOCK (256u << 10)
#define MIN_BLOCK 4096u
#define DEFAULT_FLUSH_MS 1000u
/* Events between the loop and the writer thread: about 13 MB (an event is
 * 1.6 KB with its DNS fields), 20 ms of a 400k events/s burst. */
#define DEFAULT_QUEUE 8192u
/* How long a full queue holds the loop before events are dropped. */
#define DEFAULT_FULL_WAIT_MS 20
#define DEFAULT_FILES 8u

typedef struct sk_writer {
  st_sink base;
  st_sktrace_options opt;
  char *path;
  char *session, *filters;
  st_sktrace_header hdr;

  /* The ring: the loop writes slots and head, the writer reads them and
   * moves tail. */
  st_event *ring;
  uint32_t cap; /* a power of two */
  _Atomic uint64_t head, tail;
  atomic_bool waiting;    /* the writer sleeps (or is about to) on work */
  atomic_bool failed;     /* set once, with werr, under lock */
  _Atomic uint64_t qlost; /* events the loop dropped: ring full */

  /* Shared, under lock. */
  uv_mutex_t lock;
  uv_cond_t work, done;
  bool stop;
  uint64_t flush_req, flush_done;
  bool room_wanted;       /* the loop waits for the ring to drain */
  st_sktrace_stats stats; /* the writer's, published after each batch */
  char werr[sizeof((st_sink *)0)->error];

  /* Loop side only. */
  uint64_t lost_pending, lost_from, lost_to;
  uint8_t os, backend;
  uv_thread_t thread;
  bool thread_on, ended;

  /* Writer side only (and begin(), before the thread starts). */
  int fd;
  st_sktrace_block blk;
  st_sktrace_zctx *z; /* NULL: plain blocks */
  st_buf out;
  uint64_t blk_born, file_size, header_size;
  uint32_t seq;
  bool wfailed;
  st_sktrace_stats wstats; /* published into stats under lock */
} sk_writer;

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Writer side: records the first failure, in words, for the loop to see. */
static void fail(sk_writer *w, int err, const char *doing) {
  if (w->wfailed)
    return;
  w->wfailed = true;
  uv_mutex_lock(&w->lock);
  snprintf(w->werr, sizeof w->werr,
           "cannot %s %s: %s; recording stopped, %llu events in %llu blocks kept and readable",
           doing, w->path, st_strerror(err), (unsigned long long)w->wstats.events,
           (unsigned long long)w->wstats.blocks);
  atomic_store(&w->failed, true);
  uv_mutex_unlock(&w->lock);
}

/* "dir/t.sktrace" part k -> "dir/t.k.sktrace" (or "name.k" without the
 * suffix). */
static void rotated_name(const sk_writer *w, unsigned k, char *buf, size_t len) {
  const char *dot = strrchr(w->path, '.');
  const char *slash = strrchr(w->path, '/');
  if (!dot || (slash && dot < slash) || strcmp(dot, ".sktrace") != 0)
    snprintf(buf, len, "%s.%u", w->path, k);
  else
    snprintf(buf, len, "%.*s.%u%s", (int)(dot - w->path), w->path, k, dot);
}

/* A trace says which programs talk to whom: owner-only unless asked,
 * also when the file was there before (open keeps an old file's mode). */
static int open_file(sk_writer *w) {
  unsigned mode = w->opt.mode ? w->opt.mode : 0600;
  w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_BINARY, mode);
  if (w->fd < 0)
    return -errno;
#ifndef _WIN32
  /* Only a file (not /dev/null or a FIFO); may fail on a file of another
   * owner: then it keeps its mode. */
  struct stat st;
  if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode))
    fchmod(w->fd, (mode_t)mode);
#endif
  st_buf_reset(&w->out);
  w->hdr.part = w->wstats.files;
  st_sktrace_header_encode(&w->hdr, &w->out);
  if (w->out.oom)
    return ST_ENOMEM;
  int rc = write_all(w->fd, w->out.data, w->out.len);
  if (rc < 0)
    return rc;
  w->file_size = w->header_size = w->out.len;
  w->wstats.bytes += w->out.len;
  w->wstats.files++;
  return 0;
}

/* Keeps at most max_files: t.sktrace (newest), t.1.sktrace, ... */
static int rotate(sk_writer *w) {
  close(w->fd);
  w->fd = -1;
  unsigned keep = w->opt.max_files;
  if (keep > 1) {
    char from[4096], to[4096];
    rotated_name(w, keep - 1, to, sizeof to);
    if (unlink(to) != 0 && errno != ENOENT)
      return -errno;
    for (unsigned k = keep - 1; k > 1; k--) {
      rotated_name(w, k - 1, from, sizeof from);
      rotated_name(w, k, to, sizeof to);
      if (rename(from, to) != 0 && errno != ENOENT)
        return -errno;
    }
    rotated_name(w, 1, to, sizeof to);
    if (rename(w->path, to) != 0)
      return -errno;
  }
  return open_file(w);
}

static void write_block(sk_writer *w) {
  if (!w->blk.nevents)
    return;
  uint32_t n = w->blk.nevents;
  if (w->wfailed) {
    w->wstats.lost += n;
    st_sktrace_block_reset(&w->blk);
    return;
  }
  st_buf_reset(&w->out);
  int rc = 0;
  if (w->z)
    rc = st_sktrace_block_finish_z(w->z, &w->blk, w->seq, &w->out);
  else
    st_sktrace_block_finish(&w->blk, w->seq, &w->out);
  st_sktrace_block_reset(&w->blk);
  if (!rc && w->out.oom)
    rc = ST_ENOMEM;
  if (rc < 0) {
    w->wstats.lost += n;
    fail(w, rc, "encode a block for");
    return;
  }
  if (w->opt.max_size && w->file_size > w->header_size &&
      w->file_size + w->out.len > w->opt.max_size) {
    /* The block is already in w->out; rotate() reuses out for the header,
     * so keep the block aside. */
    st_buf blockbuf = w->out;
    w->out = (st_buf){0};
    rc = rotate(w);
    st_buf_free(&w->out);
    w->out = blockbuf;
    if (rc < 0) {
      w->wstats.lost += n;
      fail(w, rc, "rotate");
      return;
    }
  }
  rc = write_all(w->fd, w->out.data, w->out.len);
  if (rc < 0) {
    /* Cut back to the last whole block so the file ends cleanly. */
    if (w->fd >= 0) {
      int cut = ftruncate(w->fd, (off_t)w->file_size);
      (void)cut; /* if even this fails, a reader reports the partial block */
    }
    w->wstats.lost += n;
    fail(w, rc, "write");
    return;
  }
  w->file_size += w->out.len;
  w->wstats.bytes += w->out.len;
  w->wstats.blocks++;
  w->wstats.events += n;
  w->seq++;
}

static void add_event(sk_writer *w, const st_event *ev) {
  if (w->wfailed) {
    w->wstats.lost++;
    return;
  }
  if (!w->blk.nevents)
    w->blk_born = uv_hrtime();
  int rc = st_sktrace_block_add(&w->blk, ev);
  if (rc == ST_ENOSPC) {
    write_block(w);
    w->blk_born = uv_hrtime();
    rc = st_sktrace_block_add(&w->blk, ev);
  }
  if (rc < 0) {
    fail(w, rc, "encode events for");
    return;
  }
  if (st_sktrace_block_bytes(&w->blk) >= w->opt.block_bytes)
    write_block(w);
}

static void writer_main(void *arg) {
  sk_writer *w = arg;
  uint64_t limit = (uint64_t)w->opt.flush_ms * 1000000u, tail = 0;
  uv_mutex_lock(&w->lock);
  for (;;) {
    /* Read the flush request before head: every event pushed before the
     * request is then in [tail, head). */
    uint64_t req = w->flush_req;
    bool flush = req != w->flush_done, stop = w->stop;
    uint64_t head = atomic_load_explicit(&w->head, memory_order_acquire);
    bool old = w->blk.nevents && uv_hrtime() - w->blk_born >= limit;
    if (head == tail && !flush && !stop && !old) {
      /* Sleep until the loop pushes (it signals when it sees waiting) or
       * the partial block is due. Setting waiting, then looking at head
       * again, closes the race with a push in between. */
      atomic_store(&w->waiting, true);
      if (atomic_load(&w->head) == tail) {
        uint64_t wait = 1000000000u;
        if (w->blk.nevents)
          wait = limit - (uv_hrtime() - w->blk_born);
        uv_cond_timedwait(&w->work, &w->lock, wait);
      }
      atomic_store(&w->waiting, false);
      continue;
    }
    uv_mutex_unlock(&w->lock);

    for (; tail != head; tail++)
      add_event(w, &w->ring[tail & (w->cap - 1)]);
    atomic_store_explicit(&w->tail, tail, memory_order_release);
    if (flush || stop || (w->blk.nevents && uv_hrtime() - w->blk_born >= limit))
      write_block(w);

    uv_mutex_lock(&w->lock);
    w->stats = w->wstats;
    if (w->room_wanted)
      uv_cond_broadcast(&w->done);
    if (flush) {
      w->flush_done = req;
      uv_cond_broadcast(&w->done);
    }
    if (stop && atomic_load(&w->head) == tail)
      break;
  }
  uv_mutex_unlock(&w->lock);
}

static void set_str(char *dst, size_t cap, const char *src) {
  size_t n = strnlen(src, cap - 1);
  memcpy(dst, src, n);
  dst[n] = 0;
}

static void fill_header(sk_writer *w, const st_trace_info *info) {
  st_sktrace_header *h = &w->hdr;
  memset(h, 0, sizeof *h);
  h->major = w->z ? ST_SKTRACE_MAJOR : ST_SKTRACE_PLAIN_MAJOR;
  h->minor = w->z ? ST_SKTRACE_MINOR : ST_SKTRACE_PLAIN_MINOR;
  set_str(h->host, sizeof h->host, info->host);
  uv_utsname_t u;
  if (uv_os_uname(&u) == 0) {
    set_str(h->sysname, sizeof h->sysname, u.sysname);
    set_str(h->release, sizeof h->release, u.release);
    set_str(h->machine, sizeof h->machine, u.machine);
  }
  snprintf(h->writer, sizeof h->writer, "socktrace %s", ST_VERSION);
  set_str(h->session, sizeof h->session, w->session ? w->session : "");
  set_str(h->filters, sizeof h->filters, w->filters ? w->filters : "");
  h->os = info->os;
  h->backend = info->backend;
  h->level = info->level;
  h->keywords = info->keywords;
  h->started_ns = info->started_ns;
  uv_timeval64_t tv;
  h->clock_mono_ns = uv_hrtime();
  if (uv_gettimeofday(&tv) == 0)
    h->clock_wall_ns = (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static int sk_begin(st_sink *s, const st_trace_info *info) {
  sk_writer *w = (sk_writer *)s;
  fill_header(w, info);
  w->os = info->os;
  w->backend = info->backend;
  int rc = open_file(w);
  if (rc < 0) {
    snprintf(s->error, sizeof s->error, "cannot create %s: %s", w->path, st_strerror(rc));
    return rc == ST_ENOMEM ? rc : ST_EIO;
  }
  w->stats = w->wstats; /* the writer thread is not running yet */
  if (uv_thread_create(&w->thread, writer_main, w) != 0) {
    snprintf(s->error, sizeof s->error, "cannot start the trace writer thread");
    return ST_ENOMEM;
  }
  w->thread_on = true;
  return 0;
}

/* Loop side: appends to the ring (the caller checked for space). */
static void push(sk_writer *w, uint64_t *head, const st_event *ev) {
  w->ring[*head & (w->cap - 1)] = *ev;
  (*head)++;
}

/* Loop side: makes pushed events visible, and wakes a sleeping writer. */
static void publish(sk_writer *w, uint64_t head) {
  atomic_store(&w->head, head);
  if (atomic_load(&w->waiting)) {
    uv_mutex_lock(&w->lock);
    uv_cond_signal(&w->work);
    uv_mutex_unlock(&w->lock);
  }
}

static void lost_event(sk_writer *w, st_event *ev) {
  st_event_sink_lost(ev, w->os, w->backend, w->lost_pending, w->lost_from, w->lost_to);
}

static int failed_locked(sk_writer *w) {
  snprintf(w->base.error, sizeof w->base.error, "%s", w->werr);
  return ST_EIO;
}

/* Loop side: waits until the ring has room, the writer failed, or timeout_ns
 * passed; returns the room. */
static uint64_t wait_room(sk_writer *w, uint64_t timeout_ns) {
  uint64_t start = uv_hrtime(), room = 0;
  uv_mutex_lock(&w->lock);
  w->room_wanted = true;
  uv_cond_signal(&w->work);
  for (;;) {
    room = w->cap - (atomic_load(&w->head) - atomic_load(&w->tail));
    uint64_t waited = uv_hrtime() - start;
    if (room || atomic_load(&w->failed) || waited >= timeout_ns)
      break;
    /* The writer broadcasts done after each batch while room is wanted. */
    uv_cond_timedwait(&w->done, &w->lock, timeout_ns - waited);
  }
  w->room_wanted = false;
  uv_mutex_unlock(&w->lock);
  return room;
}

static int sk_write(st_sink *s, const st_event *ev) {
  sk_writer *w = (sk_writer *)s;
  if (atomic_load_explicit(&w->failed, memory_order_acquire)) {
    uv_mutex_lock(&w->lock);
    int rc = failed_locked(w);
    uv_mutex_unlock(&w->lock);
    return rc;
  }
  uint64_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
  uint64_t space = w->cap - (head - atomic_load_explicit(&w->tail, memory_order_acquire));
  if (w->lost_pending && space >= 2) {
    st_event lost;
    lost_event(w, &lost);
    push(w, &head, &lost);
    w->lost_pending = 0;
    space--;
  }
  if (!space && !w->lost_pending) {
    /* Give the writer a moment (a live source's own buffer, the kernel's
     * ring, holds events meanwhile); a source that can wait waits. */
    int32_t ms = w->opt.full_wait_ms ? w->opt.full_wait_ms : DEFAULT_FULL_WAIT_MS;
    if (w->opt.wait_when_full || ms > 0) {
      space = wait_room(w, w->opt.wait_when_full ? UINT64_MAX : (uint64_t)ms * 1000000u);
      if (!space && atomic_load_explicit(&w->failed, memory_order_acquire)) {
        uv_mutex_lock(&w->lock);
        int rc = failed_locked(w);
        uv_mutex_unlock(&w->lock);
        return rc;
      }
    }
  }
  if (space && !w->lost_pending) {
    push(w, &head, ev);
    publish(w, head);
  } else {
    if (!w->lost_pending)
      w->lost_from = ev->ts_ns;
    w->lost_pending++;
    w->lost_to = ev->ts_ns;
    atomic_fetch_add_explicit(&w->qlost, 1, memory_order_relaxed);
  }
  return 0;
}

/* Waits until everything queued so far is on disk (or the writer failed). */
static int wait_written(sk_writer *w) {
  if (!w->thread_on)
    return 0;
  uv_mutex_lock(&w->lock);
  uint64_t req = ++w->flush_req;
  uv_cond_signal(&w->work);
  while (w->flush_done < req)
    uv_cond_wait(&w->done, &w->lock);
  int rc = atomic_load(&w->failed) ? failed_locked(w) : 0;
  uv_mutex_unlock(&w->lock);
  return rc;
}

static int sk_flush(st_sink *s) {
  sk_writer *w = (sk_writer *)s;
  int rc = wait_written(w);
  if (rc == 0 && w->lost_pending) {
    /* The ring is empty now: the loss record fits. */
    st_event lost;
    lost_event(w, &lost);
    w->lost_pending = 0;
    uint64_t head = atomic_load(&w->head);
    push(w, &head, &lost);
    publish(w, head);
    rc = wait_written(w);
  }
  return rc;
}

static void stop_thread(sk_writer *w) {
  if (!w->thread_on)
    return;
  uv_mutex_lock(&w->lock);
  w->stop = true;
  uv_cond_signal(&w->work);
  uv_mutex_unlock(&w->lock);
  uv_thread_join(&w->thread);
  w->thread_on = false;
}

static int sk_end(st_sink *s, const st_counters *counters) {
  sk_writer *w = (sk_writer *)s;
  int rc = sk_flush(s);
  stop_thread(w);
  if (w->fd >= 0) {
    if (fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS && rc == 0)
      fail(w, -errno, "sync");
    if (close(w->fd) != 0 && rc == 0)
      fail(w, -errno, "close");
    w->fd = -1;
  }
  uv_mutex_lock(&w->lock);
  if (atomic_load(&w->failed) && rc == 0)
    rc = failed_locked(w);
  uv_mutex_unlock(&w->lock);
  return rc;
}

static void sk_close(st_sink *s) {
  sk_writer *w = (sk_writer *)s;
  stop_thread(w);
  if (w->fd >= 0)
    close(w->fd);
  st_sktrace_block_free(&w->blk);
  st_sktrace_zctx_free(w->z);
  st_buf_free(&w->out);
  uv_mutex_destroy(&w->lock);
  uv_cond_destroy(&w->work);
  uv_cond_destroy(&w->done);
  free(w->ring);
  free(w->path);
  free(w->session);
  free(w->filters);
  free(w);
}

static const st_sink_ops sktrace_ops = {.name = "sktrace",
                                        .begin = sk_begin,
                                        .write = sk_write,
                                        .flush = sk_flush,
                                        .end = sk_end,
                                        .close = sk_close};

void st_sink_sktrace_stats(st_sink *sink, st_sktrace_stats *out) {
  sk_writer *w = (sk_writer *)sink;
  uv_mutex_lock(&w->lock);
  *out = w->stats;
  out->lost += atomic_load(&w->qlost);
  uv_mutex_unlock(&w->lock);
}

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

int st_sink_sktrace_new(const st_sktrace_options *opt, st_sink **sink) {
  if (!opt || !opt->path || !*opt->path || (opt->max_size && opt->max_size < 4 * MIN_BLOCK) ||
      opt->compress < ST_SKTRACE_COMPRESS_NONE || opt->compress > ST_SKTRACE_COMPRESS_MAX)
    return ST_EINVAL;
  int level = opt->compress;
  if (level == 0)
    level = st_sktrace_zstd_available() ? ST_SKTRACE_COMPRESS_DEFAULT : ST_SKTRACE_COMPRESS_NONE;
  st_sktrace_zctx *z = NULL;
  if (level > 0) {
    int rc = st_sktrace_zctx_new(level, &z);
    if (rc < 0)
      return rc; /* ST_ENOSYS: a level asked of a build without zstd */
  }
  sk_writer *w = calloc(1, sizeof *w);
  if (!w) {
    st_sktrace_zctx_free(z);
    return ST_ENOMEM;
  }
  w->base.ops = &sktrace_ops;
  w->z = z;
  w->fd = -1;
  w->opt = *opt;
  if (!w->opt.max_files)
    w->opt.max_files = DEFAULT_FILES;
  if (!w->opt.flush_ms)
    w->opt.flush_ms = DEFAULT_FLUSH_MS;
  if (!w->opt.block_bytes) {
    w->opt.block_bytes = z ? DEFAULT_ZBLOCK : DEFAULT_BLOCK;
    /* Small rotated files still hold several blocks each. */
    if (w->opt.max_size && w->opt.max_size / 8 < w->opt.block_bytes)
      w->opt.block_bytes = (uint32_t)(w->opt.max_size / 8);
  }
  if (w->opt.block_bytes < MIN_BLOCK)
    w->opt.block_bytes = MIN_BLOCK;
  if (w->opt.block_bytes > ST_SKTRACE_BLOCK_MAX / 2)
    w->opt.block_bytes = ST_SKTRACE_BLOCK_MAX / 2;
  uint32_t q = opt->queue_events ? opt->queue_events : DEFAULT_QUEUE;
  for (w->cap = 2; w->cap < q && w->cap < (1u << 24);)
    w->cap *= 2;
  w->path = strdup(opt->path);
  w->session = dup_or_null(opt->session);
  w->filters = dup_or_null(opt->filters);
  w->ring = malloc((size_t)w->cap * sizeof *w->ring);
  bool ok = w->path && (w->session || !opt->session) && (w->filters || !opt->filters) && w->ring &&
            st_sktrace_block_init(&w->blk) == 0;
  if (ok && uv_mutex_init(&w->lock) == 0) {
    if (uv_cond_init(&w->work) == 0) {
      if (uv_cond_init(&w->done) == 0) {
        *sink = &w->base;
        return 0;
      }
      uv_cond_destroy(&w->work);
    }
    uv_mutex_destroy(&w->lock);
  }
  st_sktrace_block_free(&w->blk);
  st_sktrace_zctx_free(w->z);
  free(w->ring);
  free(w->path);
  free(w->session);
  free(w->filters);
  free(w);
  return ST_ENOMEM;
}
