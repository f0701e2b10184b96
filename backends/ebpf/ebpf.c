/*
 * The eBPF backend's loader: find what this kernel offers (probe.c), open
 * the object, keep only the programs this kernel and session can use, push
 * the session's settings into the kernel side, load, attach, then hand ring
 * records to the expander (expand.c) and its events to the session, on the
 * loop thread. Loss counted by the kernel side becomes EventsLost (5900).
 *
 * Links are owned by file descriptors and nothing is pinned, so a tracer that
 * is killed leaves nothing attached. Library code: it never prints (unless
 * asked to show libbpf's log); it leaves one line in b->error and returns a
 * negative code.
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/btf.h>
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

#include "catalog.h"
#include "container.h"
#include "ebpf.h"
#include "ebpf_internal.h"
#include "ebpf_programs.h"
#include "socktrace.skel.h"
#include "socktrace/session.h"

#define DEFAULT_RING_BYTES (4u << 20)
#define DRAIN_MS 20
#define MAX_RING_BYTES (1u << 30)
#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"
#define LOG_MAX (64u << 10)

typedef struct ebpf_backend {
  st_backend base;
  st_ebpf_options opt;
  struct socktrace_bpf *skel;
  struct ring_buffer *rb;
  struct btf *vmlinux;
  st_ebpf_kernel kernel;
  ebpf_drop_names drops;
  ebpf_expander *x;
  st_containers *containers; /* cgroup ids to containers, resolved once each */
  st_filter filter;          /* the session's, for its --container */
  const char *tracing;       /* tracefs events directory's parent */
  int ncpus;
  uint64_t seq;
  uint64_t events, lost, bad;
  uint64_t lost_since_ns; /* start of the window the next loss report covers */
  ebpf_programs programs; /* the attached ones */
  uint32_t tree_root;     /* the process tree's root now (0: none) */
  bool attached;
  uv_timer_t drain;
  bool drain_on;
  int64_t boot_to_real;    /* record times to wall-clock time */
  ebpf_catalog *catalog;   /* with the catalog keyword */
  char catalog_root[1024]; /* st_ebpf_options.catalog_root, copied (opt's points here) */
} ebpf_backend;

/* libbpf's print hook has no user pointer: what it says during a load is
 * kept here (one loader at a time is all a process runs) so a failure can
 * name its program. */
static char load_log[LOG_MAX];
static size_t load_log_len;
static bool load_log_echo;

static int collect_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  if (load_log_echo)
    vfprintf(stderr, fmt, copy);
  va_end(copy);
  /* Failures are warnings; libbpf's debug chatter would crowd them out. */
  if (level == LIBBPF_WARN && load_log_len < LOG_MAX - 1) {
    int n = vsnprintf(load_log + load_log_len, LOG_MAX - load_log_len, fmt, ap);
    if (n > 0)
      load_log_len += (size_t)n < LOG_MAX - load_log_len ? (size_t)n : LOG_MAX - 1 - load_log_len;
  }
  return 0;
}

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
 * have it mounted. Returns 0 or -errno of the mount. */
static int find_tracefs(ebpf_backend *b) {
  if (access(TRACEFS "/events", F_OK) == 0) {
    b->tracing = TRACEFS;
    return 0;
  }
  if (access(DEBUGFS_TRACING "/events", F_OK) == 0) {
    b->tracing = DEBUGFS_TRACING;
    return 0;
  }
  if (mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0) {
    b->tracing = TRACEFS;
    return 0;
  }
  return -errno;
}

static int ensure_tracefs(ebpf_backend *b) {
  int err = b->tracing ? 0 : find_tracefs(b);
  if (!err)
    return 0;
  st_backend_set_error(&b->base,
                       "cannot mount tracefs on " TRACEFS ": %s (run as root, or mount it "
                       "yourself: mount -t tracefs nodev " TRACEFS ")",
                       st_strerror(err));
  return err;
}

/* The session's filters and level, as the kernel side's settings. */
static void fill_settings(struct st_bpf_settings *st, const st_session_config *cfg) {
  const st_filter *f = &cfg->filter;

  memset(st, 0, sizeof *st);
  st->level = cfg->level ? cfg->level : ST_LEVEL_INFO;
  st->kw_mask = cfg->keywords ? cfg->keywords : ST_KW_ALL;
  for (unsigned i = 0; i < f->npids && i < ST_BPF_FILTER_MAX; i++)
    st->pids[i] = f->pids[i];
  st->n_pids = f->npids < ST_BPF_FILTER_MAX ? f->npids : ST_BPF_FILTER_MAX;
  st->tree_on = f->tree_root != 0;
  st->cgroup_skip_on = f->ncontainers != 0;
  st->scoped = st->n_pids || st->tree_on || st->cgroup_skip_on;
  for (unsigned i = 0; i < f->nports && i < ST_BPF_FILTER_MAX; i++)
    st->ports[i] = f->ports[i];
  st->n_ports = f->nports < ST_BPF_FILTER_MAX ? f->nports : ST_BPF_FILTER_MAX;
  if (f->families) {
    uint32_t m = 0;
    if (f->families & (1u << ST_FAMILY_INET))
      m |= 1u << 2;
    if (f->families & (1u << ST_FAMILY_INET6))
      m |= 1u << 10;
    if (f->families & (1u << ST_FAMILY_UNIX))
      m |= 1u << 1;
    st->family_mask = m ? m : 1u << 31; /* only families the tracer never follows */
  }
}

/* "tracepoint sock:sock_send_length" for a program's section. */
static void describe_hook(const char *sec, char *out, size_t len) {
  if (!strncmp(sec, "tp_btf/", 7))
    snprintf(out, len, "BTF tracepoint %s", sec + 7);
  else if (!strncmp(sec, "tracepoint/", 11)) {
    snprintf(out, len, "tracepoint %s", sec + 11);
    char *slash = strchr(out, '/');
    if (slash)
      *slash = ':';
  } else
    snprintf(out, len, "%s", sec);
}

static void set_load_error(ebpf_backend *b, int err) {
  char prog[64], why[256], hook[128] = "";
  if (ebpf_load_error(load_log, prog, sizeof prog, why, sizeof why)) {
    struct bpf_program *p = bpf_object__find_program_by_name(b->skel->obj, prog);
    if (p)
      describe_hook(bpf_program__section_name(p), hook, sizeof hook);
    st_backend_set_error(&b->base,
                         "cannot load BPF program '%s'%s%s%s on Linux %s: %s (run with --debug "
                         "or SOCKTRACE_DEBUG=1 for libbpf's log)",
                         prog, *hook ? " (" : "", hook, *hook ? ")" : "", b->kernel.release, why);
    return;
  }
  if (err == -EPERM || err == -EACCES) {
    st_backend_set_error(&b->base,
                         "cannot load BPF programs: %s (run as root or grant CAP_BPF and "
                         "CAP_PERFMON; without them, 'socktrace run -- CMD' traces one "
                         "command with ptrace)",
                         st_strerror(-EPERM));
    return;
  }
  st_backend_set_error(&b->base,
                       "cannot load BPF programs on Linux %s: %s (run with --debug or "
                       "SOCKTRACE_DEBUG=1 for libbpf's log)",
                       b->kernel.release, st_strerror(err));
}

/* An event's cgroup is no container --container names: the kernel side
 * stops reporting its calls (those already in the ring still come; the
 * session filters them). */
static void skip_cgroup(ebpf_backend *b, const st_event *ev, uint64_t cgroup) {
  uint8_t one = 1;
  for (unsigned i = 0; i < b->filter.ncontainers; i++)
    if ((ev->has & ST_HAS_CONTAINER) &&
        st_container_matches(&ev->container, b->filter.containers[i]))
      return;
  /* BPF_NOEXIST: an element replaced while the kernel side looks it up can
   * be missed there; one already in place is left alone. */
  bpf_map__update_elem(b->skel->maps.cgroup_skip, &cgroup, sizeof cgroup, &one, sizeof one,
                       BPF_NOEXIST);
}

static void emit_event(ebpf_backend *b, st_event *ev) {
  ev->seq = ++b->seq;
  b->events++;
  st_session_emit(b->base.session, ev);
}

/* The expander's events: their cgroup (the calling task's, or the socket
 * owner's) names their container. */
static void on_event(void *arg, st_event *ev) {
  ebpf_backend *b = arg;
  uint64_t cgroup = (ev->has & ST_HAS_CGROUP) ? ev->cgroup : 0;
  st_containers_fill(b->containers, ev);
  if (b->filter.ncontainers && cgroup)
    skip_cgroup(b, ev, cgroup);
  emit_event(b, ev);
}

static int on_record(void *ctx, void *data, size_t size) {
  ebpf_backend *b = ctx;
  if (size >= sizeof(struct st_bpf_hdr) && ((struct st_bpf_hdr *)data)->kind == ST_K_CATALOG)
    ebpf_catalog_record(b->catalog, data, size);
  else if (ebpf_expand(b->x, data, size) < 0)
    b->bad++;
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

/* Says once what this kernel cannot give. */
static void announce_gaps(ebpf_backend *b) {
  const char *gaps[8];
  size_t n = st_ebpf_kernel_gaps(&b->kernel, gaps, 8);
  char msg[512];
  for (size_t i = 0; i < n && b->opt.notice; i++) {
    snprintf(msg, sizeof msg, "on Linux %s: %s", b->kernel.release, gaps[i]);
    b->opt.notice(msg, b->opt.notice_arg);
  }
}

/* Opens the BPF object and loads it for this kernel and cfg. A failure to
 * open is reported here; a failure to load is left to the caller (it may
 * try again), with b->skel still open for set_load_error. */
static int load(ebpf_backend *b, const st_session_config *cfg) {
  struct socktrace_bpf *s = b->skel = socktrace_bpf__open();
  if (!s) {
    int err = -errno;
    st_backend_set_error(&b->base, "cannot open the BPF object: %s", st_strerror(err));
    return err;
  }
  uint32_t ring = ring_size(b, cfg);

  fill_settings(&s->data->settings, cfg);
  b->filter = cfg->filter;
  s->rodata->wakeup_bytes = ring / 4;
  s->rodata->have_task_pt_regs =
      libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) == 1;
  s->rodata->have_sock_length = b->kernel.sock_length;
  s->rodata->count_datagrams = b->kernel.sock_length;
  ebpf_programs_choose(s, &b->kernel, b->tracing);
  if (b->opt.fixed)
    ebpf_programs_trim(s, b->kernel.sock_length, cfg);
  int err = bpf_map__set_max_entries(s->maps.events, ring);
  if (err)
    return err;
  load_log_len = 0;
  load_log[0] = '\0';
  return socktrace_bpf__load(s);
}

/* The process tree a tree filter follows, from its root (a new root
 * replaces the old tree). */
static int seed_tree(ebpf_backend *b, uint32_t root) {
  struct bpf_map *tree = b->skel->maps.tree;
  uint32_t key, next;
  uint8_t one = 1;
  if (root == b->tree_root)
    return 0;
  while (bpf_map__get_next_key(tree, NULL, &next, sizeof next) == 0) {
    key = next;
    bpf_map__delete_elem(tree, &key, sizeof key, 0);
  }
  b->tree_root = root;
  if (!root)
    return 0;
  int err = bpf_map__update_elem(tree, &root, sizeof root, &one, sizeof one, BPF_ANY);
  if (err)
    st_backend_set_error(&b->base, "cannot seed the process tree: %s", st_strerror(err));
  return err;
}

static int ebpf_open(st_backend *base, st_session *s) {
  ebpf_backend *b = (ebpf_backend *)base;
  const st_session_config *cfg = st_session_config_get(s);
  const char *debug = getenv("SOCKTRACE_DEBUG");
  int err;

  base->session = s;
  st_session_info(s)->os = ST_OS_LINUX;
  st_session_info(s)->backend = ST_BACKEND_EBPF;
  /* The kernel side filters pids and follows the process tree through
   * fork and exit, which events alone cannot. */
  st_session_backend_filters(s, ST_FILTERED_PID | ST_FILTERED_TREE);
  load_log_echo = b->opt.debug || (debug && *debug && strcmp(debug, "0") != 0);
  libbpf_set_print(collect_print);
  b->ncpus = libbpf_num_possible_cpus();
  if (b->ncpus <= 0) {
    st_backend_set_error(base, "cannot count the possible CPUs: %s", st_strerror(b->ncpus));
    return b->ncpus ? b->ncpus : ST_EIO;
  }
  b->vmlinux = btf__load_vmlinux_btf();
  if (ebpf_kernel_probe_btf(b->vmlinux, &b->kernel) < 0) {
    st_backend_set_error(base,
                         "cannot trace on Linux %s: the kernel has no BTF at "
                         "/sys/kernel/btf/vmlinux (socktrace needs a kernel built with "
                         "CONFIG_DEBUG_INFO_BTF, Linux 5.11 or newer)",
                         b->kernel.release);
    return ST_ENOSYS;
  }
  /* Mounted now if it can be, to see which syscall tracepoints there are;
   * a failure is reported after the load, which says first when the
   * privilege is missing. */
  find_tracefs(b);
  err = load(b, cfg);
  if (err && b->skel && err != -EPERM && b->kernel.rdonly_cast) {
    /* The programs that read sockets in place are new ground for a
     * verifier (6.2+); one that refuses them (EACCES) gets the ones that
     * copy. EPERM is a missing privilege: no second try. */
    socktrace_bpf__destroy(b->skel);
    b->kernel.rdonly_cast = false;
    err = load(b, cfg);
  }
  if (err) {
    if (b->skel)
      set_load_error(b, err);
    return err;
  }
  err = ensure_tracefs(b);
  if (err)
    return err;
  err = seed_tree(b, cfg->filter.tree_root);
  if (err)
    return err;
  b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_record, b, NULL);
  if (!b->rb) {
    err = -errno;
    st_backend_set_error(base, "cannot open the ring buffer: %s", st_strerror(err));
    return err;
  }
  ebpf_drop_names_load(&b->drops, b->vmlinux);
  btf__free(b->vmlinux); /* several MiB the trace does not need */
  b->vmlinux = NULL;
  announce_gaps(b);
  return 0;
}

static void on_drain(uv_timer_t *t);
static int ebpf_poll(st_backend *base);

/* ---- the catalog watcher's hooks ------------------------------------------ */

/* A catalog change's cgroup is the hook's, not its process's container. */
static void catalog_emit(void *arg, st_event *ev) {
  emit_event(arg, ev);
}

/* The session's pid and tree filters, which the kernel side applies to
 * socket events, applied to catalog changes by process: a change whose
 * process is not known is outside a scoped session. */
static bool catalog_in_scope(void *arg, uint32_t pid) {
  ebpf_backend *b = arg;
  const volatile struct st_bpf_settings *st = &b->skel->data->settings;
  uint8_t one;
  if (!st->scoped)
    return true;
  if (!pid)
    return false;
  if (st->n_pids) {
    bool hit = false;
    for (uint32_t i = 0; i < st->n_pids && i < ST_BPF_FILTER_MAX; i++)
      hit |= st->pids[i] == pid;
    if (!hit)
      return false;
  }
  return !st->tree_on ||
         bpf_map__lookup_elem(b->skel->maps.tree, &pid, sizeof pid, &one, sizeof one, 0) == 0;
}

static void catalog_notice(const char *message, void *arg) {
  ebpf_backend *b = arg;
  if (b->opt.notice)
    b->opt.notice(message, b->opt.notice_arg);
}

static void catalog_drain(void *arg) {
  ebpf_backend *b = arg;
  if (b->rb)
    ebpf_poll(&b->base);
}

/* Starts watching the catalog (the session wants the catalog keyword). A
 * watcher that cannot start is said, not fatal: socket tracing goes on. */
static void catalog_begin(ebpf_backend *b) {
  char err[256] = "";
  if (b->catalog)
    return;
  ebpf_catalog_hooks h = {.emit = catalog_emit,
                          .in_scope = catalog_in_scope,
                          .drain = catalog_drain,
                          .notice = catalog_notice,
                          .arg = b,
                          .boot_to_real = b->boot_to_real,
                          .bpf_records = bpf_program__autoload(b->skel->progs.exit_bpf)};
  b->catalog =
      ebpf_catalog_start(st_session_loop(b->base.session),
                         b->opt.catalog_root ? b->catalog_root : NULL, &h, err, sizeof err);
  if (!b->catalog)
    catalog_notice(err, b);
}

static void catalog_end(ebpf_backend *b) {
  ebpf_catalog_stop(b->catalog);
  b->catalog = NULL;
}

static int ebpf_start(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  const st_session_config *cfg = st_session_config_get(base->session);
  int64_t boot_to_real = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_BOOTTIME);

  b->boot_to_real = boot_to_real;
  b->x = ebpf_expander_new(&b->drops, boot_to_real, on_event, b);
  b->containers = st_containers_new(NULL, NULL);
  if (!b->x || !b->containers)
    return ST_ENOMEM;
  ebpf_expander_settings(b->x, cfg->level ? cfg->level : ST_LEVEL_INFO, cfg->keywords);
  b->attached = true;
  int err = ebpf_programs_attach(&b->programs, b->skel, b->kernel.sock_length, cfg, base->error,
                                 sizeof base->error);
  if (err)
    return err;
  /* After the bpf() program is attached: a change from here on is either
   * in what the watcher reads now or in a record. */
  if (ebpf_catalog_wanted(cfg))
    catalog_begin(b);
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
  ebpf_programs_detach(&b->programs);
  b->attached = false;
  ring_buffer__consume(b->rb);
  report_lost(b);
  catalog_end(b);
  return 0;
}

/* A live change: the settings the kernel side reads are rewritten in place
 * (global data the kernel and this process share), level 5's and the
 * tree's programs attached or detached, the expander told. Nothing that
 * stays attached is touched, so no event the old and the new settings both
 * want is missed. */
static int ebpf_update(st_backend *base, const st_session_config *cfg) {
  ebpf_backend *b = (ebpf_backend *)base;
  struct st_bpf_settings next;
  int err;

  if (cfg->filter.npids > ST_BPF_FILTER_MAX || cfg->filter.nports > ST_BPF_FILTER_MAX) {
    st_backend_set_error(base, "at most %d pids and %d ports", ST_BPF_FILTER_MAX,
                         ST_BPF_FILTER_MAX);
    return ST_EINVAL;
  }
  err = seed_tree(b, cfg->filter.tree_root);
  if (err)
    return err;
  fill_settings(&next, cfg);
  /* Another --container: every cgroup is judged again as its events come. */
  struct bpf_map *skip = b->skel->maps.cgroup_skip;
  uint64_t key, next_key;
  while (bpf_map__get_next_key(skip, NULL, &next_key, sizeof next_key) == 0) {
    key = next_key;
    bpf_map__delete_elem(skip, &key, sizeof key, 0);
  }
  b->filter = cfg->filter;
  /* One copy into the shared page: programs read either settings whole or,
   * for the few instructions of a copy, a mix of the two. */
  memcpy((void *)&b->skel->data->settings, &next, sizeof next);
  if (b->attached) {
    err = ebpf_programs_attach(&b->programs, b->skel, b->kernel.sock_length, cfg, base->error,
                               sizeof base->error);
    if (err)
      return err;
    if (ebpf_catalog_wanted(cfg))
      catalog_begin(b);
    else
      catalog_end(b);
  }
  if (b->x)
    ebpf_expander_settings(b->x, cfg->level ? cfg->level : ST_LEVEL_INFO, cfg->keywords);
  return 0;
}

static void ebpf_close(st_backend *base) {
  ebpf_backend *b = (ebpf_backend *)base;
  catalog_end(b);
  ebpf_programs_detach(&b->programs);
  ring_buffer__free(b->rb);
  socktrace_bpf__destroy(b->skel);
  ebpf_expander_free(b->x);
  st_containers_free(b->containers);
  ebpf_drop_names_free(&b->drops);
  btf__free(b->vmlinux);
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
    .update = ebpf_update,
};

int st_backend_ebpf_new(const st_ebpf_options *opt, st_backend **out) {
  ebpf_backend *b = calloc(1, sizeof *b);
  if (!b)
    return ST_ENOMEM;
  b->base.ops = &ebpf_ops;
  if (opt)
    b->opt = *opt;
  if (b->opt.catalog_root) {
    snprintf(b->catalog_root, sizeof b->catalog_root, "%s", b->opt.catalog_root);
    b->opt.catalog_root = b->catalog_root;
  }
  *out = &b->base;
  return 0;
}
