/*
 * The eBPF backend's loader: open the skeleton, push the session's level,
 * keywords and filters into the kernel side, load, attach, then hand ring
 * records to the session from the loop thread. Loss counted by the kernel
 * side becomes EventsLost (5900).
 *
 * Links are owned by file descriptors and nothing is pinned, so a tracer that
 * is killed leaves nothing attached. Library code: it never prints, it
 * leaves one line in b->error and returns a negative code.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "ebpf.h"
#include "ebpf_internal.h"
#include "socktrace.skel.h"
#include "socktrace/session.h"

#define DEFAULT_RING_BYTES (4u << 20)
#define DRAIN_MS 20
#define MAX_RING_BYTES (1u << 30)
#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

typedef struct ebpf_backend {
  st_backend base;
  st_ebpf_options opt;
  struct socktrace_bpf *skel;
  struct ring_buffer *rb;
  ebpf_drop_names drops;
  int64_t boot_to_real; /* wall clock minus CLOCK_BOOTTIME */
  int ncpus;
  uint64_t seq;
  uint64_t events, lost, bad;
  uint64_t lost_since_ns; /* start of the window the next loss report covers */
  bool attached;
  uv_timer_t drain;
  bool drain_on;
} ebpf_backend;

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  (void)level;
  (void)fmt;
  (void)ap;
  return 0;
}

static uint32_t ring_size(const ebpf_backend *b, const st_session_config *cfg) {
  uint64_t want = b->opt.ring_bytes;
  long page = sysconf(_SC_PAGESIZE);
  if (!want && cfg->ring_pages)
    want = (uint64_t)cfg->ring_pages * (uint64_t)page;
  if (!want)
    want = DEFAULT_RING_BYTES;
  if (want > MAX_RING_BYTES)
    want = MAX_RING_BYTES;
  uint64_t size = (uint64_t)page;
  while (size < want)
    size <<= 1; /* the kernel wants a power-of-two number of pages */
  return (uint32_t)size;
}

/* Classic tracepoints are found through tracefs; a fresh machine may not
 * have it mounted. */
static int ensure_tracefs(ebpf_backend *b) {
  if (access(TRACEFS "/events", F_OK) == 0 || access(DEBUGFS_TRACING "/events", F_OK) == 0)
    return 0;
  if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0)
    return 0;
  int err = -errno;
  st_backend_set_error(&b->base,
                       "cannot mount tracefs on " TRACEFS ": %s (run as root, or mount it "
                       "yourself: mount -t tracefs nodev " TRACEFS ")",
                       st_strerror(err));
  return err;
}

/* The session's filters, as the kernel side's const volatile globals. */
static void set_filters(struct socktrace_bpf *skel, const st_session_config *cfg) {
  const st_filter *f = &cfg->filter;
  struct socktrace_bpf__rodata *ro = skel->rodata;

  ro->max_level = cfg->level ? cfg->level : ST_LEVEL_INFO;
  ro->kw_mask = cfg->keywords ? cfg->keywords : ST_KW_ALL;
  for (unsigned i = 0; i < f->npids && i < ST_BPF_FILTER_MAX; i++)
    ro->filter_pids[i] = f->pids[i];
  ro->n_pids = f->npids < ST_BPF_FILTER_MAX ? f->npids : ST_BPF_FILTER_MAX;
  ro->tree_on = f->tree_root != 0;
  for (unsigned i = 0; i < f->nports && i < ST_BPF_FILTER_MAX; i++)
    ro->filter_ports[i] = f->ports[i];
  ro->n_ports = f->nports < ST_BPF_FILTER_MAX ? f->nports : ST_BPF_FILTER_MAX;
  if (f->families) {
    uint32_t m = 0;
    if (f->families & (1u << ST_FAMILY_INET))
      m |= 1u << 2;
    if (f->families & (1u << ST_FAMILY_INET6))
      m |= 1u << 10;
    if (f->families & (1u << ST_FAMILY_UNIX))
      m |= 1u << 1;
    ro->family_mask = m ? m : 1u << 31; /* only families the tracer never follows */
  }
}

/* Programs whose every event is verbose, or that only keep the process
 * tree, cost nothing when they are not attached. */
static void drop_unused_programs(struct socktrace_bpf *skel, const st_session_config *cfg) {
  uint8_t level = cfg->level ? cfg->level : ST_LEVEL_INFO;
  if (level < ST_LEVEL_VERBOSE) {
    struct bpf_program *verbose[] = {
        skel->progs.enter_setsockopt, skel->progs.exit_setsockopt, skel->progs.enter_ioctl,
        skel->progs.exit_ioctl,       skel->progs.data_ready,      skel->progs.exit_recvfrom,
        skel->progs.exit_recvmsg,
    };
    for (size_t i = 0; i < sizeof verbose / sizeof *verbose; i++)
      bpf_program__set_autoload(verbose[i], false);
  }
  if (!cfg->filter.tree_root) {
    bpf_program__set_autoload(skel->progs.process_fork, false);
    bpf_program__set_autoload(skel->progs.process_exit, false);
  }
}

static int on_record(void *ctx, void *data, size_t size) {
  ebpf_backend *b = ctx;
  st_event ev;

  if (size < sizeof(struct st_bpf_rec)) {
    b->bad++;
    return 0;
  }
  ebpf_decode(data, b->boot_to_real, &b->drops, &ev);
  ev.seq = ++b->seq;
  b->events++;
  st_session_emit(b->base.session, &ev);
  return 0;
}

/* Turns what the kernel side failed to reserve since the last look into one
 * EventsLost. */
static void report_lost(ebpf_backend *b) {
  uint64_t vals[b->ncpus > 0 ? b->ncpus : 1];
  uint32_t zero = 0;
  uint64_t sum = 0;

  if (bpf_map__lookup_elem(b->skel->maps.lost, &zero, sizeof zero, vals, sizeof vals, 0) < 0)
    return;
  for (int i = 0; i < b->ncpus; i++)
    sum += vals[i];
  if (sum <= b->lost)
    return;
  uint64_t now = clock_ns(CLOCK_REALTIME);
  st_session_report_lost(b->base.session, sum - b->lost, ST_LOST_KERNEL_RING, b->lost_since_ns,
                         now);
  b->lost = sum;
  b->lost_since_ns = now;
}

static int ebpf_open(st_backend *base, st_session *s) {
  ebpf_backend *b = (ebpf_backend *)base;
  const st_session_config *cfg = st_session_config_get(s);
  int err;

  base->session = s;
  st_session_info(s)->os = ST_OS_LINUX;
  st_session_info(s)->backend = ST_BACKEND_EBPF;
  /* The kernel side filters pids and follows the process tree through
   * fork and exit, which events alone cannot. */
  st_session_backend_filters(s, ST_FILTERED_PID | ST_FILTERED_TREE);
  libbpf_set_print(silent_print);
  b->ncpus = libbpf_num_possible_cpus();
  if (b->ncpus <= 0) {
    st_backend_set_error(base, "cannot count the possible CPUs: %s", st_strerror(b->ncpus));
    return b->ncpus ? b->ncpus : ST_EIO;
  }

  b->skel = socktrace_bpf__open();
  if (!b->skel) {
    err = -errno;
    st_backend_set_error(base, "cannot open the BPF object: %s", st_strerror(err));
    return err;
  }
  set_filters(b->skel, cfg);
  drop_unused_programs(b->skel, cfg);
  uint32_t ring = ring_size(b, cfg);
  b->skel->rodata->wakeup_bytes = ring / 4;
  err = bpf_map__set_max_entries(b->skel->maps.events, ring);
  if (!err)
    err = socktrace_bpf__load(b->skel);
  if (err) {
    if (err == -EPERM || err == -EACCES)
      st_backend_set_error(base,
                           "cannot load BPF programs: %s (run as root or grant CAP_BPF and "
                           "CAP_PERFMON)",
                           st_strerror(-EPERM));
    else
      st_backend_set_error(base,
                           "cannot load BPF programs: %s (needs a kernel with BTF at "
                           "/sys/kernel/btf/vmlinux)",
                           st_strerror(err));
    return err;
  }
  if (cfg->filter.tree_root) {
    uint32_t root = cfg->filter.tree_root;
    uint8_t one = 1;
    err = bpf_map__update_elem(b->skel->maps.tree, &root, sizeof root, &one, sizeof one, BPF_ANY);
    if (err) {
      st_backend_set_error(base, "cannot seed the process tree: %s", st_strerror(err));
      return err;
    }
  }
  err = ensure_tracefs(b);
  if (err)
    return err;
  b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_record, b, NULL);
  if (!b->rb) {
    err = -errno;
    st_backend_set_error(base, "cannot open the ring buffer: %s", st_strerror(err));
    return err;
  }
  ebpf_drop_names_load(&b->drops);
  return 0;
}

static void on_drain(uv_timer_t *t);

static int ebpf_start(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  int err = socktrace_bpf__attach(b->skel);
  if (err) {
    st_backend_set_error(base, "cannot attach to the socket tracepoints: %s", st_strerror(err));
    return err;
  }
  b->attached = true;
  b->boot_to_real = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);
  b->lost_since_ns = clock_ns(CLOCK_REALTIME);
  uv_timer_init(st_session_loop(base->session), &b->drain);
  b->drain.data = b;
  b->drain_on = true;
  uv_timer_start(&b->drain, on_drain, DRAIN_MS, DRAIN_MS);
  return 0;
}

static int ebpf_poll(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  int n = ring_buffer__consume(b->rb);
  if (n < 0) {
    st_backend_set_error(base, "cannot read the BPF ring buffer: %s", st_strerror(n));
    return n;
  }
  report_lost(b);
  return 0;
}

/* The kernel wakes the reader only when a quarter of the ring is waiting:
 * this timer brings the rest out within DRAIN_MS. */
static void on_drain(uv_timer_t *t) {
  ebpf_backend *b = t->data;
  int err = ebpf_poll(&b->base);
  if (err < 0)
    st_session_backend_done(b->base.session, err);
}

/* Detaches first, so the last records and the final loss count are
 * complete when they are read. */
static int ebpf_stop(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  if (b->drain_on) {
    uv_timer_stop(&b->drain);
    uv_close((uv_handle_t *)&b->drain, NULL);
    b->drain_on = false;
  }
  if (!b->attached)
    return 0;
  socktrace_bpf__detach(b->skel);
  b->attached = false;
  ring_buffer__consume(b->rb);
  report_lost(b);
  return 0;
}

static void ebpf_close(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  ring_buffer__free(b->rb);
  socktrace_bpf__destroy(b->skel);
  ebpf_drop_names_free(&b->drops);
  free(b);
}

static void ebpf_stats(st_backend *base, st_backend_stats *out) {
  ebpf_backend *b = (ebpf_backend *)base;
  out->events = b->events;
  out->lost = b->lost;
  out->errors = b->bad;
}

static int ebpf_fd(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  return b->rb ? ring_buffer__epoll_fd(b->rb) : -1;
}

static const st_backend_ops ebpf_ops = {
    .name = "ebpf",
    .kind = ST_SOURCE_LIVE,
    .open = ebpf_open,
    .start = ebpf_start,
    .stop = ebpf_stop,
    .close = ebpf_close,
    .stats = ebpf_stats,
    .fd = ebpf_fd,
    .poll = ebpf_poll,
};

int st_backend_ebpf_new(const st_ebpf_options *opt, st_backend **out) {
  ebpf_backend *b = calloc(1, sizeof *b);
  if (!b)
    return ST_ENOMEM;
  b->base.ops = &ebpf_ops;
  if (opt)
    b->opt = *opt;
  *out = &b->base;
  return 0;
}
