/*
 * The one place that knows every backend by name. Live sources are rows
 * {name, constructor} here, built from the command line's options; a live
 * trace takes the row named by --backend (the first by default). Files go
 * through the library's table of file sources (backends/registry), the
 * same one the reader API uses, which picks the reader by content before
 * name and says in one line what a file that is no trace is instead.
 * Backends are compiled in when the build found what they need (ST_HAVE_*).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "registry/registry.h"
#ifdef ST_HAVE_EBPF
#include "ebpf/ebpf.h"
#endif
#ifdef ST_HAVE_PTRACE
#include "ptrace/ptrace.h"
#endif
#ifdef ST_HAVE_PCAP
#include "pcap/pcap_backend.h"
#endif
#ifdef ST_HAVE_ETW
#include "etw/etw.h"
#endif
#ifdef ST_HAVE_ETL
#include "etw/etl_backend.h"
#endif

typedef struct live_source {
  const char *name;
  const char *what; /* in words, for --version */
  int (*create)(const cli_options *o, st_backend **out);
} live_source;

#if defined(ST_HAVE_ETW) || defined(ST_HAVE_EBPF) || defined(ST_HAVE_PTRACE)
static void print_notice(const char *message, void *arg) {
  (void)arg;
  cli_error("note: %s", message);
}
#endif

#ifdef ST_HAVE_ETW
static int create_etw(const cli_options *o, st_backend **out) {
  st_etw_options eo = {.buffer_kb = (uint32_t)o->etw_buffer_kb,
                       .max_buffers = (uint32_t)o->etw_buffers,
                       .notice = print_notice};
  if (o->etw_buffers && o->etw_buffers < ST_ETW_DEFAULT_MIN_BUFFERS)
    eo.min_buffers = (uint32_t)o->etw_buffers;
  return st_backend_etw_new(&eo, out);
}
#endif

#ifdef ST_HAVE_EBPF
static int create_ebpf(const cli_options *o, st_backend **out) {
  st_ebpf_options eo = {.ring_bytes = (uint32_t)o->ring_bytes,
                        .catalog_root = o->catalog_root,
                        .notice = print_notice,
                        .debug = o->debug,
                        .fixed = !o->hosted};
  return st_backend_ebpf_new(&eo, out);
}
#endif

/* The command the ptrace backend traced: how it ended. One run per
 * process, so kept here. */
static int ptrace_status;
static bool ptrace_exited;

bool cli_ptrace_status(int *status) {
  *status = ptrace_status;
  return ptrace_exited;
}

#ifdef ST_HAVE_PTRACE
static void on_ptrace_exit(int status, void *arg) {
  (void)arg;
  ptrace_status = status;
  ptrace_exited = true;
}

static int create_ptrace(const cli_options *o, st_backend **out) {
  st_ptrace_options po = {.notice = print_notice, .exited = on_ptrace_exit, .attach = o->attach};
  return st_backend_ptrace_new(&po, out);
}
#endif

#ifdef ST_HAVE_PCAP
static int create_pcap_live(const cli_options *o, st_backend **out) {
  st_pcap_options po = {.iface = o->iface ? o->iface : "any", .bpf_filter = o->capture_filter};
  return st_backend_pcap_new(&po, out);
}
#endif

/* In order of preference: the first is the default. */
static const live_source live_sources[] = {
#ifdef ST_HAVE_ETW
    {"etw", "Windows ETW (Winsock AFD)", create_etw},
#endif
#ifdef ST_HAVE_EBPF
    {"ebpf", "Linux eBPF tracepoints", create_ebpf},
#endif
#ifdef ST_HAVE_PTRACE
    {"ptrace",
     "Linux ptrace + seccomp, unprivileged, 'run -- CMD' or 'run --pid PID' only; no stack "
     "events",
     create_ptrace},
#endif
#ifdef ST_HAVE_PCAP
    {"pcap", "packets, through libpcap", create_pcap_live},
#endif
};
#define NLIVE (sizeof live_sources / sizeof live_sources[0])

#ifdef ST_HAVE_ETL
static void print_foreign(const char *guid, uint16_t id, uint8_t version, uint64_t count,
                          void *arg) {
  FILE *out = arg;
  fprintf(out, "  %s id=%u v=%u  %llu\n", guid, id, version, (unsigned long long)count);
}
#endif

void cli_backend_report(const cli_options *o, st_backend *b) {
#ifdef ST_HAVE_ETL
  if (o->all_providers && o->source && strcmp(o->source, "etl") == 0) {
    printf("\nOther providers in the file (counted, not decoded):\n");
    st_etl_backend_foreign(b, print_foreign, stdout);
  }
#endif
}

static const live_source *live_source_named(const char *name) {
  for (size_t i = 0; i < NLIVE; i++)
    if (!name || strcmp(live_sources[i].name, name) == 0)
      return &live_sources[i];
  return NULL;
}

/* `run` without --backend: eBPF when this process may load it, else ptrace
 * (one note line says why and what differs). */
static const char *run_default(const cli_options *o) {
#ifdef ST_HAVE_PTRACE
  char why[200];
  if (o->backend || !o->is_run)
    return o->backend;
#ifdef ST_HAVE_EBPF
  if (st_ptrace_ebpf_possible(why, sizeof why))
    return NULL;
#else
  snprintf(why, sizeof why, "this build has no eBPF backend");
#endif
  cli_error("note: %s: tracing with ptrace instead (same events for the command's calls; the "
            "TCP/IP stack's own events are not seen: see 'socktrace events')",
            why);
  return "ptrace";
#else
  return o->backend;
#endif
}

int cli_live_backend(cli_options *o, st_backend **out) {
  o->backend = run_default(o);
  const live_source *src = live_source_named(o->backend);
  if (!src && !o->backend) {
    cli_error("no live backend is available in this build (it needs libbpf, clang and bpftool "
              "on Linux: run tools/setup.sh and rebuild); 'socktrace replay FILE' still works");
    return ST_ENOSYS;
  }
  if (!src) {
    cli_error("backend '%s' is not available in this build (see 'socktrace --version')",
              o->backend);
    return ST_ENOSYS;
  }
  if (!strcmp(src->name, "ptrace") && !o->is_run) {
    cli_error("the ptrace backend traces one command and its children: use 'socktrace run "
              "--backend ptrace -- CMD'");
    return ST_EINVAL;
  }
  int rc = src->create(o, out);
  if (rc < 0)
    cli_error("cannot create the %s backend: %s", src->name, st_strerror(rc));
  else
    o->source = src->name;
  return rc;
}

int cli_file_backend(cli_options *o, const char *path, st_backend **out) {
  if (cli_is_nats_url(path)) /* a stream, read like a file (nats_cli.c) */
    return cli_nats_backend(o, path, out);
  char why[ST_ERROR_MAX];
  int rc = 0;
  const st_file_source *src = st_file_source_find(path, &rc, why, sizeof why);
  if (!src) {
    cli_error("%s", why);
    return rc;
  }
  rc = src->create(path, out);
  if (rc < 0)
    cli_error("cannot read %s: %s", path, st_strerror(rc));
  else
    o->source = src->name;
  return rc;
}

void cli_print_backends(FILE *out) {
  size_t nfiles;
  const st_file_source *files = st_file_sources(&nfiles);
  fprintf(out, "live backends:");
  for (size_t i = 0; i < NLIVE; i++)
    fprintf(out, "%s %s (%s)", i ? "," : "", live_sources[i].name, live_sources[i].what);
  fprintf(out, "%s\nfile readers:", NLIVE ? "" : " none");
  for (size_t i = 0; i < nfiles; i++)
    fprintf(out, "%s %s (%s)", i ? "," : "", files[i].name, files[i].format);
  fputc('\n', out);
  char formats[512];
  st_formats_describe(formats, sizeof formats);
  fputs(formats, out);
}

/* What `socktrace events` says of an event on this machine's live backend:
 * "yes", "no (why)" or "partly (why)"; an empty string when the build has
 * no live backend that can tell. */
void cli_event_here(uint8_t provider, uint16_t id, char *buf, size_t len) {
#ifdef ST_HAVE_PTRACE
  /* Where eBPF cannot load, `run` uses ptrace: say what that gives. */
  static int ebpf_ok = -1;
  char why_not[200];
  if (ebpf_ok < 0)
    ebpf_ok = st_ptrace_ebpf_possible(why_not, sizeof why_not);
  if (!ebpf_ok) {
    const char *pwhy = NULL;
    int pa = st_ptrace_event_available(provider, id, &pwhy);
    if (pa == 1)
      snprintf(buf, len, "yes (ptrace)");
    else
      snprintf(buf, len, "%s (ptrace: %s)", pa == 2 ? "partly" : "no", pwhy ? pwhy : "");
    return;
  }
#endif
#ifdef ST_HAVE_EBPF
  static st_ebpf_kernel k;
  static int probed; /* 0 not yet, 1 done, -1 no BTF */
  if (!probed)
    probed = st_ebpf_probe_kernel(&k) == 0 ? 1 : -1;
  if (probed < 0) {
    snprintf(buf, len, "no (this kernel has no BTF)");
    return;
  }
  const char *why = NULL;
  int a = st_ebpf_event_available(&k, provider, id, &why);
  if (a == ST_AVAIL_YES)
    snprintf(buf, len, "yes");
  else
    snprintf(buf, len, "%s (%s)", a == ST_AVAIL_PARTLY ? "partly" : "no", why ? why : "");
#else
  (void)provider;
  (void)id;
  if (len)
    buf[0] = '\0';
#endif
}
