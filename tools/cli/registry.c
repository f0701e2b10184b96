/*
 * The one place that knows every backend by name and picks one for a live
 * trace or a file. Backends are compiled in when the build found what they
 * need (ST_HAVE_*).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "replay/replay.h"
#ifdef ST_HAVE_EBPF
#include "ebpf/ebpf.h"
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

static const char *default_live_backend(void) {
#ifdef ST_HAVE_ETW
  return "etw";
#elif defined(ST_HAVE_EBPF)
  return "ebpf";
#elif defined(ST_HAVE_PCAP)
  return "pcap";
#else
  return NULL;
#endif
}

#if defined(ST_HAVE_ETW) || defined(ST_HAVE_EBPF)
static void print_notice(const char *message, void *arg) {
  (void)arg;
  cli_error("note: %s", message);
}
#endif

/* Creates the named live backend; ST_ENOSYS when this build lacks it. */
static int make_live_backend(const char *name, const cli_options *o, st_backend **out) {
#ifdef ST_HAVE_ETW
  if (strcmp(name, "etw") == 0) {
    st_etw_options eo = {.buffer_kb = (uint32_t)o->etw_buffer_kb,
                         .max_buffers = (uint32_t)o->etw_buffers,
                         .notice = print_notice};
    if (o->etw_buffers && o->etw_buffers < ST_ETW_DEFAULT_MIN_BUFFERS)
      eo.min_buffers = (uint32_t)o->etw_buffers;
    return st_backend_etw_new(&eo, out);
  }
#endif
#ifdef ST_HAVE_EBPF
  if (strcmp(name, "ebpf") == 0) {
    st_ebpf_options eo = {
        .ring_bytes = (uint32_t)o->ring_bytes, .notice = print_notice, .debug = o->debug};
    return st_backend_ebpf_new(&eo, out);
  }
#endif
#ifdef ST_HAVE_PCAP
  if (strcmp(name, "pcap") == 0) {
    st_pcap_options po = {.iface = o->iface ? o->iface : "any", .bpf_filter = o->capture_filter};
    return st_backend_pcap_new(&po, out);
  }
#endif
  (void)name;
  (void)o;
  (void)out;
  return ST_ENOSYS;
}

int cli_live_backend(const cli_options *o, st_backend **out) {
  const char *name = o->backend ? o->backend : default_live_backend();
  if (!name) {
    cli_error("no live backend is available in this build (it needs libbpf, clang and bpftool "
              "on Linux: run tools/setup.sh and rebuild); 'socktrace replay FILE' still works");
    return ST_ENOSYS;
  }
  int rc = make_live_backend(name, o, out);
  if (rc == ST_ENOSYS)
    cli_error("backend '%s' is not available in this build (see 'socktrace --help')", name);
  else if (rc < 0)
    cli_error("cannot create the %s backend: %s", name, st_strerror(rc));
  return rc;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cli_file_backend(const cli_options *o, const char *path, st_backend **out) {
  (void)o;
#ifdef ST_HAVE_PCAP
  if (strcmp(path, "-") != 0 && st_pcap_file_sniff(path)) {
    st_pcap_options po = {.file = path};
    return st_backend_pcap_new(&po, out);
  }
#endif
#ifdef ST_HAVE_ETL
  if (strcmp(path, "-") != 0 && st_etl_file_sniff(path))
    return st_backend_etl_new(path, out);
#endif
  if (has_suffix(path, ".pcap") || has_suffix(path, ".pcapng")) {
    cli_error("%s: packet captures need the pcap backend, which this build lacks "
              "(install libpcap-dev and rebuild)",
              path);
    return ST_ENOSYS;
  }
  if (has_suffix(path, ".etl")) {
    cli_error("%s: not a readable .etl file (no trace header buffer at its start)", path);
    return ST_EBADMSG;
  }
  /* The magic decides, not the name; standard input is peeked at (the
   * .sktrace magic's first byte can never start a JSON line). */
  bool binary;
  if (strcmp(path, "-") == 0) {
    int c = getc(stdin);
    binary = c == 0x89;
    if (c != EOF)
      ungetc(c, stdin);
  } else {
    binary = st_replay_is_sktrace(path) || has_suffix(path, ".sktrace");
  }
  int rc =
      binary ? st_backend_replay_sktrace_new(path, out) : st_backend_replay_jsonl_new(path, out);
  if (rc < 0)
    cli_error("cannot read %s: %s", path, st_strerror(rc));
  return rc;
}

#ifdef ST_HAVE_ETL
static void print_foreign(const char *guid, uint16_t id, uint8_t version, uint64_t count,
                          void *arg) {
  FILE *out = arg;
  fprintf(out, "  %s id=%u v=%u  %llu\n", guid, id, version, (unsigned long long)count);
}
#endif

void cli_backend_report(const cli_options *o, st_backend *b) {
#ifdef ST_HAVE_ETL
  if (o->all_providers && strcmp(b->ops->name, "etl") == 0) {
    printf("\nOther providers in the file (counted, not decoded):\n");
    st_etl_backend_foreign(b, print_foreign, stdout);
  }
#else
  (void)o;
  (void)b;
#endif
}

/* What `socktrace events` says of an event on this machine's live backend:
 * "yes", "no (why)" or "partly (why)"; an empty string when the build has
 * no live backend that can tell. */
void cli_event_here(uint8_t provider, uint16_t id, char *buf, size_t len) {
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
