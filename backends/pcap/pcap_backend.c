/*
 * The pcap backend's libpcap and libuv side: opens a capture file or an
 * interface, applies the capture filter, and feeds every frame to the flow
 * tracker.
 *
 * A capture file is a file source the session pulls: next() hands out, one
 * at a time, the events a few frames made (the tracker builds them in place
 * in a small queue), reading more frames when the queue is empty; at the end
 * it ends the open flows one by one. A live capture is non-blocking, its selectable fd is
 * polled by the session, and the tracker's events go straight to
 * st_session_emit(). Library code: it never prints; errors go to b->error
 * in one line saying what to do.
 *
 * pcapng files are always read by our own reader (pcapng.c), classic pcap
 * files by libpcap: libpcap refuses a pcapng whose interfaces have
 * different link types, and one reader for every pcapng file means one
 * behaviour (per-interface link type, resolution and offset) whatever the
 * file holds. The capture filter is then compiled once per link type and
 * run on each frame with pcap_offline_filter(), as libpcap would.
 */
#include "pcap_backend.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bytes.h"
#include "pcapng.h"
#include "socktrace/session.h"
#include "tracker.h"
#include "zinput.h"

#define LIVE_SNAPLEN 262144
/* A queue that grew past this for a burst (many flows ending at once) is
 * given back once it is empty. */
#define QUEUE_KEEP 256
/* Frames read at a time, their events queued for next(). */
#define FRAMES_PER_REFILL 64
#define SWEEP_MS 1000
#define FILE_BUFFER (256u << 10)

/* A capture filter compiled for one link type (pcapng files). */
typedef struct link_filter {
  int linktype;
  struct bpf_program prog;
} link_filter;

typedef struct pcap_backend {
  st_backend base;
  char *file, *iface, *filter;
  st_pcap_tracker_config tcfg;
  st_pcap_tracker *tracker;
  pcap_t *pcap;
  pcapng_reader *ng; /* a pcapng file: our reader instead of pcap */
  FILE *ngfile;
  link_filter *filters;
  size_t nfilters;
  int linktype;
  bool nano;
  uv_timer_t *timer; /* live: flow expiry in wall time */
  /* File: events the tracker made, handed out by next() from qhead on. */
  st_pcap_queue queue;
  size_t qhead;
  bool read_done; /* file: end or damage reached; open flows end next */
  int end_status; /* file: 0, or ST_EBADMSG for a damaged file */
  bool finished;
} pcap_backend;

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  pcap_backend *b = (pcap_backend *)user;
  uint64_t frac = (uint64_t)h->ts.tv_usec * (b->nano ? 1u : 1000u);
  uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + frac;
  st_pcap_tracker_packet(b->tracker, b->linktype, ts, bytes, h->caplen, h->len);
}

/* Live, a stopping file, or a queue that could not grow: straight on. */
static void on_event(void *ctx, const st_event *ev) {
  pcap_backend *b = ctx;
  st_session_emit(b->base.session, ev);
}

static void handle_free(uv_handle_t *h) {
  free(h);
}

/* End of the source: every flow still open gets its outcome and summary
 * (straight to the session: nothing pulls any more). */
static void finish(pcap_backend *b) {
  if (b->finished)
    return;
  b->finished = true;
  while (b->qhead < b->queue.len)
    st_session_emit(b->base.session, &b->queue.events[b->qhead++]);
  st_pcap_tracker_set_queue(b->tracker, NULL);
  st_pcap_tracker_finish(b->tracker);
}

static int open_file(pcap_backend *b) {
  char err[PCAP_ERRBUF_SIZE] = "";
  FILE *f = st_zopen(b->file, NULL); /* .pcap.gz and the like by content */
  if (!f) {
    int e = errno;
    st_backend_set_error(&b->base, "cannot read capture file %s: %s", b->file, st_strerror(-e));
    return e == ENOENT ? ST_ENOENT : e == EACCES ? ST_EPERM : ST_EIO;
  }
  setvbuf(f, NULL, _IOFBF, FILE_BUFFER);
  uint8_t magic[4];
  if (fread(magic, 1, sizeof magic, f) == sizeof magic && pcapng_magic(magic)) {
    rewind(f);
    int rc = pcapng_open(f, &b->ng, err, sizeof err);
    if (rc < 0) {
      fclose(f);
      st_backend_set_error(&b->base, "cannot read capture file %s: %s (is it a pcapng file?)",
                           b->file, err);
      return rc;
    }
    b->ngfile = f;
    return 0;
  }
  rewind(f);
  /* libpcap reads the FILE it is given, a decompressing one too, and
   * closes it with the capture. */
  b->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!b->pcap) {
    fclose(f);
    st_backend_set_error(&b->base, "cannot read capture file %s: %s (is it a pcap or pcapng file?)",
                         b->file, err);
    return ST_EBADMSG;
  }
  return 0;
}

static int open_live(pcap_backend *b) {
  char err[PCAP_ERRBUF_SIZE] = "";
  b->pcap = pcap_create(b->iface, err);
  if (!b->pcap) {
    st_backend_set_error(&b->base, "cannot capture on %s: %s", b->iface, err);
    return ST_EIO;
  }
  pcap_set_snaplen(b->pcap, LIVE_SNAPLEN);
  pcap_set_promisc(b->pcap, 0);
  pcap_set_timeout(b->pcap, 100);
  pcap_set_immediate_mode(b->pcap, 1);
  pcap_set_tstamp_precision(b->pcap, PCAP_TSTAMP_PRECISION_NANO);
  int rc = pcap_activate(b->pcap);
  if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) {
    st_backend_set_error(&b->base,
                         "cannot capture on %s: permission denied (run as root or grant "
                         "CAP_NET_RAW and CAP_NET_ADMIN, e.g. setcap "
                         "cap_net_raw,cap_net_admin+eip socktrace)",
                         b->iface);
    return ST_EPERM;
  }
  if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
    st_backend_set_error(&b->base, "cannot capture on %s: no such interface (see `ip link`)",
                         b->iface);
    return ST_ENOENT;
  }
  if (rc < 0) {
    st_backend_set_error(&b->base, "cannot capture on %s: %s", b->iface, pcap_geterr(b->pcap));
    return ST_EIO;
  }
  if (pcap_setnonblock(b->pcap, 1, err) < 0) {
    st_backend_set_error(&b->base, "cannot capture on %s: %s", b->iface, err);
    return ST_EIO;
  }
  return 0;
}

/* pcap_open_dead() takes a DLT value; pcapng names LINKTYPE values, which
 * differ only for raw IP here. */
static int dlt_of(int linktype) {
  return linktype == 101 ? DLT_RAW : linktype;
}

/* Compiles the capture filter for a link type into prog; 0, or -1 with the
 * reason in err. */
static int compile_for(const pcap_backend *b, int linktype, struct bpf_program *prog, char *err,
                       size_t errlen) {
  pcap_t *dead = pcap_open_dead(dlt_of(linktype), LIVE_SNAPLEN);
  if (!dead) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = pcap_compile(dead, prog, b->filter, 1, PCAP_NETMASK_UNKNOWN);
  if (rc < 0)
    snprintf(err, errlen, "%s", pcap_geterr(dead));
  pcap_close(dead);
  return rc < 0 ? -1 : 0;
}

/* pcapng: does the frame pass the filter compiled for its link type? 1 or
 * 0; -1 when the filter cannot apply to that link type (b->error says). */
static int ng_pass(pcap_backend *b, const pcapng_frame *fr) {
  link_filter *lf = NULL;
  for (size_t i = 0; i < b->nfilters && !lf; i++)
    if (b->filters[i].linktype == fr->linktype)
      lf = &b->filters[i];
  if (!lf) {
    link_filter *n = realloc(b->filters, (b->nfilters + 1) * sizeof *n);
    if (!n) {
      st_backend_set_error(&b->base, "pcap backend: out of memory");
      return -1;
    }
    b->filters = n;
    lf = &n[b->nfilters];
    char err[PCAP_ERRBUF_SIZE];
    if (compile_for(b, fr->linktype, &lf->prog, err, sizeof err) < 0) {
      st_backend_set_error(&b->base,
                           "capture filter '%s' cannot apply to interface %u of %s (link type "
                           "%d): %s",
                           b->filter, fr->iface, b->file, fr->linktype, err);
      return -1;
    }
    lf->linktype = fr->linktype;
    b->nfilters++;
  }
  struct pcap_pkthdr h = {.caplen = fr->caplen, .len = fr->len};
  return pcap_offline_filter(&lf->prog, &h, fr->data) != 0;
}

static int apply_filter(pcap_backend *b) {
  if (!b->filter || !*b->filter)
    return 0;
  struct bpf_program prog;
  if (b->ng) { /* checked now for its syntax; compiled per link type as frames come */
    char err[PCAP_ERRBUF_SIZE];
    if (compile_for(b, 1, &prog, err, sizeof err) < 0) {
      st_backend_set_error(&b->base, "bad capture filter '%s': %s (see pcap-filter(7))", b->filter,
                           err);
      return ST_EINVAL;
    }
    pcap_freecode(&prog);
    return 0;
  }
  if (pcap_compile(b->pcap, &prog, b->filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
    st_backend_set_error(&b->base, "bad capture filter '%s': %s (see pcap-filter(7))", b->filter,
                         pcap_geterr(b->pcap));
    return ST_EINVAL;
  }
  int rc = pcap_setfilter(b->pcap, &prog);
  pcap_freecode(&prog);
  if (rc < 0) {
    st_backend_set_error(&b->base, "cannot apply capture filter '%s': %s", b->filter,
                         pcap_geterr(b->pcap));
    return ST_EINVAL;
  }
  return 0;
}

static int backend_open(st_backend *base, st_session *s) {
  pcap_backend *b = (pcap_backend *)base;
  b->base.session = s;
  const st_session_config *cfg = st_session_config_get(s);
  b->tcfg.level = cfg && cfg->level ? cfg->level : ST_LEVEL_INFO;
  st_trace_info *info = st_session_info(s);
  if (info) {
    info->os = ST_OS_WIRE;
    info->backend = ST_BACKEND_PCAP;
  }
  b->tracker = st_pcap_tracker_new(&b->tcfg, on_event, b);
  if (!b->tracker) {
    st_backend_set_error(base, "pcap backend: out of memory");
    return ST_ENOMEM;
  }
  if (b->file)
    st_pcap_tracker_set_queue(b->tracker, &b->queue);
  int rc = b->file ? open_file(b) : open_live(b);
  if (rc == 0)
    rc = apply_filter(b);
  if (rc < 0)
    return rc;
  if (b->pcap) {
    b->linktype = pcap_datalink(b->pcap);
    b->nano = pcap_get_tstamp_precision(b->pcap) == PCAP_TSTAMP_PRECISION_NANO;
  }
  return 0;
}

/* Up to FRAMES_PER_REFILL frames of a pcapng file to the tracker, as
 * pcap_dispatch() does: how many, 0 at the end, negative on damage (or a
 * filter that cannot apply; b->error is then set). */
static int ng_dispatch(pcap_backend *b) {
  int fed = 0;
  while (fed < FRAMES_PER_REFILL) {
    pcapng_frame fr;
    int rc = pcapng_next(b->ng, &fr);
    if (rc <= 0)
      return fed ? fed : rc;
    if (b->filter && *b->filter) {
      int pass = ng_pass(b, &fr);
      if (pass < 0)
        return ST_EINVAL;
      if (!pass)
        continue;
    }
    st_pcap_tracker_packet(b->tracker, fr.linktype, fr.ts_ns, fr.data, fr.caplen, fr.len);
    fed++;
  }
  return fed;
}

/* The end of a file's frames: why, in b->error, when it is not the end. */
static void read_ended(pcap_backend *b, int n) {
  b->read_done = true;
  if (n == ST_EINVAL) { /* a filter that cannot apply: ng_pass said why */
    b->end_status = ST_EINVAL;
    return;
  }
  if (n < 0) {
    st_pcap_tracker_stats st;
    st_pcap_tracker_get_stats(b->tracker, &st);
    st_backend_set_error(&b->base, "capture file %s is damaged after %llu frames: %s", b->file,
                         (unsigned long long)st.packets,
                         b->ng ? pcapng_error(b->ng) : pcap_geterr(b->pcap));
    b->end_status = ST_EBADMSG;
    return;
  }
  if (b->ng && *pcapng_first_bad_block(b->ng))
    st_backend_set_error(&b->base, "capture file %s: %s", b->file, pcapng_first_bad_block(b->ng));
}

/* Empties the queue and fills it again: from the next frames, or once the
 * file is read, from the next open flow's end. False when nothing is left.
 * The end of the file and damage both end the reading; what was read is
 * kept either way and the open flows still end. */
static bool refill(pcap_backend *b) {
  b->qhead = b->queue.len = 0;
  if (b->queue.cap > QUEUE_KEEP) {
    free(b->queue.events);
    b->queue.events = NULL;
    b->queue.cap = 0;
  }
  if (b->read_done) {
    if (st_pcap_tracker_finish_one(b->tracker))
      return true;
    b->finished = true;
    return false;
  }
  int n = b->ng ? ng_dispatch(b) : pcap_dispatch(b->pcap, FRAMES_PER_REFILL, on_frame, (u_char *)b);
  if (n > 0)
    return true;
  read_ended(b, n);
  return true;
}

/* The queue is empty: fill it, or say why nothing is left. Kept out of
 * file_next, which runs once per event and should stay a few loads. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int
file_refill(pcap_backend *b) {
  while (b->qhead == b->queue.len)
    if (!refill(b))
      return b->end_status ? b->end_status : ST_NEXT_END;
  return ST_NEXT_EVENT;
}

static int file_next(st_backend *base, const st_event **out) {
  pcap_backend *b = (pcap_backend *)base;
  if (b->qhead == b->queue.len) {
    int rc = file_refill(b);
    if (rc != ST_NEXT_EVENT)
      return rc;
  }
  *out = &b->queue.events[b->qhead++];
  return ST_NEXT_EVENT;
}

static void on_sweep(uv_timer_t *h) {
  pcap_backend *b = h->data;
  struct timespec now;
  if (timespec_get(&now, TIME_UTC) == TIME_UTC)
    st_pcap_tracker_expire(b->tracker,
                           (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
}

static int live_start(st_backend *base) {
  pcap_backend *b = (pcap_backend *)base;
  uv_loop_t *loop = st_session_loop(b->base.session);
  b->timer = malloc(sizeof *b->timer);
  if (!b->timer)
    return ST_ENOMEM;
  uv_timer_init(loop, b->timer);
  b->timer->data = b;
  uv_timer_start(b->timer, on_sweep, SWEEP_MS, SWEEP_MS);
  return 0;
}

static int live_poll(st_backend *base) {
  pcap_backend *b = (pcap_backend *)base;
  if (pcap_dispatch(b->pcap, -1, on_frame, (u_char *)b) < 0) {
    st_backend_set_error(base, "capture on %s failed: %s", b->iface, pcap_geterr(b->pcap));
    return ST_EIO;
  }
  return 0;
}

static int backend_stop(st_backend *base) {
  pcap_backend *b = (pcap_backend *)base;
  if (b->timer) {
    uv_close((uv_handle_t *)b->timer, handle_free);
    b->timer = NULL;
  }
  if ((b->pcap || b->ng) && b->tracker && !b->finished) {
    if (!b->file)
      pcap_dispatch(b->pcap, -1, on_frame, (u_char *)b); /* what the ring still holds */
    finish(b);
  }
  return 0;
}

static void backend_stats(st_backend *base, st_backend_stats *out) {
  pcap_backend *b = (pcap_backend *)base;
  memset(out, 0, sizeof *out);
  if (!b->tracker)
    return;
  st_pcap_tracker_stats st;
  st_pcap_tracker_get_stats(b->tracker, &st);
  out->events = st.events;
  out->errors = st.truncated + st.malformed;
  if (b->ng) {
    pcapng_stats ns;
    pcapng_get_stats(b->ng, &ns);
    out->errors += ns.bad_blocks;
  }
  struct pcap_stat ps;
  if (!b->file && b->pcap && pcap_stats(b->pcap, &ps) == 0)
    out->lost = (uint64_t)ps.ps_drop + ps.ps_ifdrop;
}

static int live_fd(st_backend *base) {
  pcap_backend *b = (pcap_backend *)base;
  return b->pcap ? pcap_get_selectable_fd(b->pcap) : -1;
}

static void backend_close(st_backend *base) {
  pcap_backend *b = (pcap_backend *)base;
  if (b->timer)
    uv_close((uv_handle_t *)b->timer, handle_free);
  if (b->pcap)
    pcap_close(b->pcap);
  pcapng_close(b->ng);
  if (b->ngfile)
    fclose(b->ngfile);
  for (size_t i = 0; i < b->nfilters; i++)
    pcap_freecode(&b->filters[i].prog);
  free(b->filters);
  st_pcap_tracker_free(b->tracker);
  free(b->queue.events);
  free(b->file);
  free(b->iface);
  free(b->filter);
  free(b);
}

static const st_backend_ops pcap_live_ops = {
    .name = "pcap",
    .kind = ST_SOURCE_LIVE,
    .open = backend_open,
    .start = live_start,
    .stop = backend_stop,
    .close = backend_close,
    .stats = backend_stats,
    .fd = live_fd,
    .poll = live_poll,
};

static const st_backend_ops pcap_file_ops = {
    .name = "pcap",
    .kind = ST_SOURCE_FILE,
    .open = backend_open,
    .start = st_backend_nop,
    .stop = backend_stop,
    .close = backend_close,
    .stats = backend_stats,
    .next = file_next,
};

static char *dup_or_null(const char *s, bool *failed) {
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    *failed = true;
  return d;
}

int st_backend_pcap_new(const st_pcap_options *opt, st_backend **out) {
  if (!opt || (!opt->file && !opt->iface))
    return ST_EINVAL;
  pcap_backend *b = calloc(1, sizeof *b);
  if (!b)
    return ST_ENOMEM;
  b->base.ops = opt->file ? &pcap_file_ops : &pcap_live_ops;
  bool failed = false;
  b->file = dup_or_null(opt->file, &failed);
  b->iface = opt->file ? NULL : dup_or_null(opt->iface, &failed);
  b->filter = dup_or_null(opt->bpf_filter, &failed);
  b->tcfg.max_flows = opt->max_flows;
  b->tcfg.syn_timeout_ns = opt->syn_timeout_ns;
  if (failed) {
    backend_close(&b->base);
    return ST_ENOMEM;
  }
  *out = &b->base;
  return 0;
}

bool st_pcap_file_sniff(const char *path) {
  FILE *f = st_zopen(path, NULL);
  if (!f)
    return false;
  uint8_t m[4];
  size_t n = fread(m, 1, sizeof m, f);
  st_zclose(f);
  if (n != sizeof m)
    return false;
  uint32_t be = st_be32(m), le = st_le32(m);
  static const uint32_t magics[] = {
      0xa1b2c3d4, /* pcap, microseconds */
      0xa1b23c4d, /* pcap, nanoseconds */
      0xa1b2cd34, /* Kuznetsov's modified pcap */
      0x0a0d0d0a, /* pcapng section header block (same both ways) */
  };
  for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
    if (be == magics[i] || le == magics[i])
      return true;
  return false;
}
