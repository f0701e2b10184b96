/*
 * .sktrace encoding and decoding of the file header and of one block
 * (docs/sktrace-format.md is the specification; keep the two in step).
 *
 * Every number is written little-endian at a fixed width, byte by byte, so
 * the host's byte order and alignment never matter. An event field is
 * written only when one of its bytes is non-zero; strings go to the block's
 * string table once and events carry a 16-bit reference. The decoder checks
 * every length against what is left and every reference against the table:
 * it must survive any input.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bytes.h"
#include "sktrace_format.h"

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32()), slicing by
 * four bytes. Our own so that every build, the Windows one included, has
 * it without another library. */
static uint32_t crc_table[4][256];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 4; t++)
      crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ (crc_table[t - 1][i] >> 8);
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t len) {
  static uv_once_t once = UV_ONCE_INIT;
  uv_once(&once, crc_init);
  crc = ~crc;
  for (; len >= 4; p += 4, len -= 4) {
    crc ^= st_le32(p);
    crc = crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff] ^
          crc_table[1][(crc >> 16) & 0xff] ^ crc_table[0][crc >> 24];
  }
  while (len--)
    crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t st_sktrace_crc32(const void *data, size_t len) {
  return crc_update(0, data, len);
}

/* ---- file header: tagged fields ---- */

enum {
  TAG_HOST = 1,
  TAG_SYSNAME,
  TAG_RELEASE,
  TAG_MACHINE,
  TAG_WRITER,
  TAG_SESSION,
  TAG_FILTERS,
  TAG_OS,
  TAG_BACKEND,
  TAG_LEVEL,
  TAG_KEYWORDS,
  TAG_STARTED,
  TAG_CLOCK,
  TAG_PART,
};

static void tag_bytes(st_buf *out, uint16_t tag, const void *v, size_t len) {
  uint8_t h[4];
  st_put_le16(st_put_le16(h, tag), (uint16_t)len);
  st_buf_add(out, (const char *)h, 4);
  st_buf_add(out, v, len);
}

static void tag_str(st_buf *out, uint16_t tag, const char *s, size_t max) {
  tag_bytes(out, tag, s, strnlen(s, max));
}

static void tag_u64(st_buf *out, uint16_t tag, uint64_t v, size_t width) {
  uint8_t b[8];
  st_put_le64(b, v);
  tag_bytes(out, tag, b, width);
}

void st_sktrace_header_encode(const st_sktrace_header *h, st_buf *out) {
  size_t start = out->len;
  uint8_t pre[ST_SKTRACE_PREAMBLE];
  memcpy(pre, ST_SKTRACE_MAGIC, ST_SKTRACE_MAGIC_LEN);
  uint16_t major = h->major ? h->major : ST_SKTRACE_MAJOR;
  uint16_t minor = h->major ? h->minor : ST_SKTRACE_MINOR;
  st_put_le32(st_put_le16(st_put_le16(pre + 8, major), minor), 0);
  st_buf_add(out, (const char *)pre, sizeof pre);
  size_t body = out->len;
  tag_str(out, TAG_HOST, h->host, sizeof h->host);
  tag_str(out, TAG_SYSNAME, h->sysname, sizeof h->sysname);
  tag_str(out, TAG_RELEASE, h->release, sizeof h->release);
  tag_str(out, TAG_MACHINE, h->machine, sizeof h->machine);
  tag_str(out, TAG_WRITER, h->writer, sizeof h->writer);
  tag_str(out, TAG_SESSION, h->session, sizeof h->session);
  tag_str(out, TAG_FILTERS, h->filters, sizeof h->filters);
  tag_u64(out, TAG_OS, h->os, 1);
  tag_u64(out, TAG_BACKEND, h->backend, 1);
  tag_u64(out, TAG_LEVEL, h->level, 1);
  tag_u64(out, TAG_KEYWORDS, h->keywords, 8);
  tag_u64(out, TAG_STARTED, h->started_ns, 8);
  uint8_t clk[16];
  st_put_le64(st_put_le64(clk, h->clock_wall_ns), h->clock_mono_ns);
  tag_bytes(out, TAG_CLOCK, clk, sizeof clk);
  tag_u64(out, TAG_PART, h->part, 4);
  if (out->oom)
    return;
  size_t blen = out->len - body;
  st_put_le32((uint8_t *)out->data + start + 12, (uint32_t)blen);
  uint8_t crc[4];
  /* The CRC covers the versions, the length and the fields. */
  st_put_le32(crc, st_sktrace_crc32(out->data + start + 8, out->len - start - 8));
  st_buf_add(out, (const char *)crc, 4);
}

static void copy_str(char *dst, size_t cap, const uint8_t *v, size_t len) {
  size_t n = len < cap - 1 ? len : cap - 1;
  memcpy(dst, v, n);
  dst[n] = 0;
}

int st_sktrace_header_decode(const uint8_t *p, size_t len, st_sktrace_header *h, char *err,
                             size_t errlen) {
  st_cursor r;
  st_cursor_init(&r, p, len);
  while (st_cursor_left(&r)) {
    uint16_t tag = st_cursor_le16(&r), n = st_cursor_le16(&r);
    const uint8_t *v = st_cursor_take(&r, n);
    if (!v) {
      snprintf(err, errlen, "header field %u runs past the header", tag);
      return ST_EBADMSG;
    }
    st_cursor f;
    st_cursor_init(&f, v, n);
    switch (tag) {
    case TAG_HOST:
      copy_str(h->host, sizeof h->host, v, n);
      break;
    case TAG_SYSNAME:
      copy_str(h->sysname, sizeof h->sysname, v, n);
      break;
    case TAG_RELEASE:
      copy_str(h->release, sizeof h->release, v, n);
      break;
    case TAG_MACHINE:
      copy_str(h->machine, sizeof h->machine, v, n);
      break;
    case TAG_WRITER:
      copy_str(h->writer, sizeof h->writer, v, n);
      break;
    case TAG_SESSION:
      copy_str(h->session, sizeof h->session, v, n);
      break;
    case TAG_FILTERS:
      copy_str(h->filters, sizeof h->filters, v, n);
      break;
    case TAG_OS:
      h->os = st_cursor_u8(&f);
      break;
    case TAG_BACKEND:
      h->backend = st_cursor_u8(&f);
      break;
    case TAG_LEVEL:
      h->level = st_cursor_u8(&f);
      break;
    case TAG_KEYWORDS:
      h->keywords = st_cursor_le64(&f);
      break;
    case TAG_STARTED:
      h->started_ns = st_cursor_le64(&f);
      break;
    case TAG_CLOCK:
      h->clock_wall_ns = st_cursor_le64(&f);
      h->clock_mono_ns = st_cursor_le64(&f);
      break;
    case TAG_PART:
      h->part = st_cursor_le32(&f);
      break;
    default:
      break; /* a later minor version's field */
    }
    if (f.bad) {
      snprintf(err, errlen, "header field %u is too short", tag);
      return ST_EBADMSG;
    }
  }
  return 0;
}

/* ---- event records ---- */

/* Field bits of a record's mask, in the order the fields follow. */
enum {
  F_TS_DELTA = 1u << 0,
  F_TS_ABS = 1u << 1,
  F_KEYWORDS = 1u << 2,
  F_SEQ = 1u << 3,
  F_PID = 1u << 4,
  F_TID = 1u << 5,
  F_COMM = 1u << 6,
  F_ENDPOINT = 1u << 7,
  F_HAS = 1u << 8,
  F_FLAGS = 1u << 9,
  F_SOCK = 1u << 10,
  F_LOCAL = 1u << 11,
  F_REMOTE = 1u << 12,
  F_BYTES = 1u << 13,
  F_BUFFERS = 1u << 14,
  F_BACKLOG = 1u << 15,
  F_STATUS = 1u << 16,
  F_REASON = 1u << 17,
  F_OPTION = 1u << 18,
  F_STATE = 1u << 19,
  F_LEGACY_ID = 1u << 20,
  F_PPID = 1u << 21,
  F_NETNS = 1u << 22,
  F_CGROUP = 1u << 23,
  F_ACCEPT_EP = 1u << 24,
  F_SUMMARY = 1u << 25,
  F_LOST = 1u << 26,
  F_DNS = 1u << 27,
  F_DETAIL = 1u << 28,
  F_SUMMARY_EXTRA = 1u << 29, /* minor version 1 */
  F_EXT = 1u << 30,           /* minor version 2: a le16 mask of X_* fields follows */
  F_KNOWN = (1u << 31) - 1,
};

/* Fields behind F_EXT, in this order; a later version's come after them. */
enum {
  X_DNS_MORE = 1u << 0,    /* answers: flags, addresses, TTL, latency, CNAME chain */
  X_REMOTE_NAME = 1u << 1, /* the remote's DNS name */
  X_CONTAINER = 1u << 2,   /* 2.1 / 1.3: a u8 mask of the parts, a string for each */
};

/* The parts of a container, in the order X_CONTAINER writes them. */
#define CONTAINER_PARTS 5
static char *container_part(st_container *c, unsigned i) {
  char *parts[CONTAINER_PARTS] = {c->runtime, c->id, c->name, c->pod, c->ns};
  return parts[i];
}
static const size_t container_part_size[CONTAINER_PARTS] = {
    sizeof(((st_container *)0)->runtime), sizeof(((st_container *)0)->id),
    sizeof(((st_container *)0)->name), sizeof(((st_container *)0)->pod),
    sizeof(((st_container *)0)->ns)};

#define REC_FIXED 13 /* length, mask, provider..backend, id */
#define REC_MAX 640

/* The bytes of a string field up to its last non-zero one. Most of a
 * field is zero padding: skip it a word at a time. */
static size_t trimmed(const void *p, size_t max) {
  const char *s = p;
  while (max >= 8) {
    uint64_t w;
    memcpy(&w, s + max - 8, 8);
    if (w)
      break;
    max -= 8;
  }
  while (max && s[max - 1] == 0)
    max--;
  return max;
}

static bool all_zero(const void *p, size_t n) {
  return trimmed(p, n) == 0;
}

static bool addr_present(const st_addr *a) {
  return a->family || a->raw_family || a->port || !all_zero(a->addr, sizeof a->addr) ||
         !all_zero(a->path, sizeof a->path);
}

static bool status_present(const st_status *s) {
  return s->code || s->domain || s->native;
}

#define SLOTS (ST_SKTRACE_BLOCK_STRINGS * 2)

int st_sktrace_block_init(st_sktrace_block *b) {
  memset(b, 0, sizeof *b);
  b->slots = calloc(SLOTS, sizeof *b->slots);
  b->offs = calloc(ST_SKTRACE_BLOCK_STRINGS, sizeof *b->offs);
  b->used = calloc(ST_SKTRACE_BLOCK_STRINGS, sizeof *b->used);
  if (!b->slots || !b->offs || !b->used) {
    st_sktrace_block_free(b);
    return ST_ENOMEM;
  }
  return 0;
}

void st_sktrace_block_reset(st_sktrace_block *b) {
  st_buf_reset(&b->strings);
  st_buf_reset(&b->events);
  /* Clear only the slots in use: a block holds far fewer strings than the
   * table has slots. */
  for (uint32_t i = 0; i < b->nstrings; i++)
    b->slots[b->used[i]] = 0;
  b->nevents = b->nstrings = 0;
  b->base_ts = b->prev_ts = 0;
}

void st_sktrace_block_free(st_sktrace_block *b) {
  st_buf_free(&b->strings);
  st_buf_free(&b->events);
  free(b->slots);
  free(b->offs);
  free(b->used);
  memset(b, 0, sizeof *b);
}

static uint32_t fnv1a(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

/* The reference of a string in the block's table (0 = empty), adding it if
 * new; -1 when the table is full. */
static long intern(st_sktrace_block *b, const char *s, size_t max) {
  size_t n = trimmed(s, max);
  if (!n)
    return 0;
  uint32_t i = fnv1a(s, n) & (SLOTS - 1);
  for (; b->slots[i]; i = (i + 1) & (SLOTS - 1)) {
    uint32_t off = b->offs[b->slots[i] - 1];
    const uint8_t *len = (const uint8_t *)b->strings.data + off - 2;
    if ((size_t)st_le16(len) == n && memcmp(b->strings.data + off, s, n) == 0)
      return b->slots[i];
  }
  if (b->nstrings >= ST_SKTRACE_BLOCK_STRINGS)
    return -1;
  uint8_t lb[2];
  st_put_le16(lb, (uint16_t)n);
  st_buf_add(&b->strings, (const char *)lb, 2);
  b->offs[b->nstrings] = (uint32_t)b->strings.len;
  st_buf_add(&b->strings, s, n);
  b->used[b->nstrings] = i;
  b->slots[i] = ++b->nstrings;
  return b->slots[i];
}

static uint8_t *put_addr(uint8_t *p, const st_addr *a, uint16_t path) {
  p = st_put_le16(st_put_le16(st_put_u8(p, a->family), a->raw_family), a->port);
  memcpy(p, a->addr, sizeof a->addr);
  return st_put_le16(p + sizeof a->addr, path);
}

static uint8_t *put_status(uint8_t *p, const st_status *s) {
  return st_put_le32(st_put_u8(st_put_u8(p, s->code), s->domain), s->native);
}

int st_sktrace_block_add(st_sktrace_block *b, const st_event *ev) {
  /* Intern first: on a full table no record is written (strings already
   * added stay unused, which costs a few bytes and nothing else). */
  long comm = intern(b, ev->comm, sizeof ev->comm);
  long lpath = intern(b, ev->local.path, sizeof ev->local.path);
  long rpath = intern(b, ev->remote.path, sizeof ev->remote.path);
  long qname = intern(b, ev->dns.qname, sizeof ev->dns.qname);
  long detail = intern(b, ev->detail, sizeof ev->detail);
  long cnames = 0, rname = 0;
  if (ev->has & ST_HAS_DNS)
    cnames = intern(b, ev->dns.cnames, sizeof ev->dns.cnames);
  if (ev->has & ST_HAS_REMOTE_NAME)
    rname = intern(b, ev->remote_name, sizeof ev->remote_name);
  long cparts[CONTAINER_PARTS] = {0};
  uint8_t cmask = 0;
  if (ev->has & ST_HAS_CONTAINER) {
    for (unsigned i = 0; i < CONTAINER_PARTS; i++) {
      cparts[i] =
          intern(b, container_part((st_container *)&ev->container, i), container_part_size[i]);
      if (cparts[i] < 0)
        return ST_ENOSPC;
      cmask |= cparts[i] ? (uint8_t)(1u << i) : 0;
    }
  }
  if (comm < 0 || lpath < 0 || rpath < 0 || qname < 0 || detail < 0 || cnames < 0 || rname < 0)
    return ST_ENOSPC;
  if (!b->nevents)
    b->base_ts = b->prev_ts = ev->ts_ns;

  uint32_t m = 0;
  uint64_t delta = ev->ts_ns - b->prev_ts;
  if (ev->ts_ns < b->prev_ts || delta > UINT32_MAX)
    m |= F_TS_ABS;
  else if (delta)
    m |= F_TS_DELTA;
  m |= ev->keywords ? F_KEYWORDS : 0;
  m |= ev->seq ? F_SEQ : 0;
  m |= ev->pid ? F_PID : 0;
  m |= ev->tid ? F_TID : 0;
  m |= comm ? F_COMM : 0;
  m |= ev->endpoint ? F_ENDPOINT : 0;
  m |= ev->has ? F_HAS : 0;
  m |= ev->flags ? F_FLAGS : 0;
  m |= ev->family || ev->type || ev->protocol ? F_SOCK : 0;
  m |= addr_present(&ev->local) ? F_LOCAL : 0;
  m |= addr_present(&ev->remote) ? F_REMOTE : 0;
  m |= ev->bytes ? F_BYTES : 0;
  m |= ev->buffers ? F_BUFFERS : 0;
  m |= ev->backlog ? F_BACKLOG : 0;
  m |= status_present(&ev->status) ? F_STATUS : 0;
  m |= ev->reason ? F_REASON : 0;
  m |= ev->option || ev->value ? F_OPTION : 0;
  m |= ev->old_state || ev->new_state ? F_STATE : 0;
  m |= ev->legacy_id ? F_LEGACY_ID : 0;
  m |= ev->ppid ? F_PPID : 0;
  m |= ev->netns ? F_NETNS : 0;
  m |= ev->cgroup ? F_CGROUP : 0;
  m |= ev->accept_endpoint ? F_ACCEPT_EP : 0;
  const st_summary *s = &ev->summary;
  m |= s->bytes_sent || s->bytes_received || s->sends || s->receives || s->duration_ns ||
               s->retransmits || status_present(&s->first_error) || status_present(&s->final_status)
           ? F_SUMMARY
           : 0;
  const st_lost *l = &ev->lost;
  m |= l->count || l->where || l->from_ns || l->to_ns ? F_LOST : 0;
  const st_dns *d = &ev->dns;
  m |= d->id || d->qr || d->rcode || d->qtype || d->answers || qname ? F_DNS : 0;
  m |= detail ? F_DETAIL : 0;
  m |= s->flags || s->rtt_us ? F_SUMMARY_EXTRA : 0;
  uint16_t x = 0;
  x |= d->flags || d->naddrs || d->ttl || d->latency_us || cnames ? X_DNS_MORE : 0;
  x |= rname ? X_REMOTE_NAME : 0;
  x |= cmask ? X_CONTAINER : 0;
  m |= x ? F_EXT : 0;

  uint8_t rec[REC_MAX], *p = rec + 2;
  p = st_put_le32(p, m);
  p = st_put_u8(
      st_put_u8(st_put_u8(st_put_u8(st_put_u8(p, ev->provider), ev->level), ev->enter_exit),
                ev->os),
      ev->backend);
  p = st_put_le16(p, ev->id);
  if (m & F_TS_DELTA)
    p = st_put_le32(p, (uint32_t)delta);
  if (m & F_TS_ABS)
    p = st_put_le64(p, ev->ts_ns);
  if (m & F_KEYWORDS)
    p = st_put_le64(p, ev->keywords);
  if (m & F_SEQ)
    p = st_put_le64(p, ev->seq);
  if (m & F_PID)
    p = st_put_le32(p, ev->pid);
  if (m & F_TID)
    p = st_put_le32(p, ev->tid);
  if (m & F_COMM)
    p = st_put_le16(p, (uint16_t)comm);
  if (m & F_ENDPOINT)
    p = st_put_le64(p, ev->endpoint);
  if (m & F_HAS)
    p = st_put_le32(p, ev->has);
  if (m & F_FLAGS)
    p = st_put_le32(p, ev->flags);
  if (m & F_SOCK)
    p = st_put_le16(st_put_u8(st_put_u8(p, ev->family), ev->type), ev->protocol);
  if (m & F_LOCAL)
    p = put_addr(p, &ev->local, (uint16_t)lpath);
  if (m & F_REMOTE)
    p = put_addr(p, &ev->remote, (uint16_t)rpath);
  if (m & F_BYTES)
    p = st_put_le64(p, ev->bytes);
  if (m & F_BUFFERS)
    p = st_put_le32(p, ev->buffers);
  if (m & F_BACKLOG)
    p = st_put_le32(p, ev->backlog);
  if (m & F_STATUS)
    p = put_status(p, &ev->status);
  if (m & F_REASON)
    p = st_put_le32(p, ev->reason);
  if (m & F_OPTION)
    p = st_put_le64(st_put_le32(p, ev->option), ev->value);
  if (m & F_STATE)
    p = st_put_u8(st_put_u8(p, ev->old_state), ev->new_state);
  if (m & F_LEGACY_ID)
    p = st_put_le16(p, ev->legacy_id);
  if (m & F_PPID)
    p = st_put_le32(p, ev->ppid);
  if (m & F_NETNS)
    p = st_put_le32(p, ev->netns);
  if (m & F_CGROUP)
    p = st_put_le64(p, ev->cgroup);
  if (m & F_ACCEPT_EP)
    p = st_put_le64(p, ev->accept_endpoint);
  if (m & F_SUMMARY) {
    p = st_put_le64(st_put_le64(st_put_le64(p, s->bytes_sent), s->bytes_received), s->sends);
    p = st_put_le64(st_put_le64(st_put_le64(p, s->receives), s->duration_ns), s->retransmits);
    p = put_status(put_status(p, &s->first_error), &s->final_status);
  }
  if (m & F_LOST)
    p = st_put_le64(st_put_le64(st_put_u8(st_put_le64(p, l->count), l->where), l->from_ns),
                    l->to_ns);
  if (m & F_DNS) {
    p = st_put_le16(
        st_put_le16(st_put_u8(st_put_u8(st_put_le16(p, d->id), d->qr), d->rcode), d->qtype),
        d->answers);
    p = st_put_le16(p, (uint16_t)qname);
  }
  if (m & F_DETAIL)
    p = st_put_le16(p, (uint16_t)detail);
  if (m & F_SUMMARY_EXTRA)
    p = st_put_le32(st_put_le32(p, s->flags), s->rtt_us);
  if (m & F_EXT)
    p = st_put_le16(p, x);
  if (x & X_DNS_MORE) {
    unsigned n = d->naddrs < ST_DNS_ADDRS_MAX ? d->naddrs : ST_DNS_ADDRS_MAX;
    p = st_put_u8(st_put_u8(p, d->flags), (uint8_t)n);
    for (unsigned i = 0; i < n; i++) {
      size_t len = d->addrs[i].family == ST_FAMILY_INET ? 4 : 16;
      p = st_put_u8(p, d->addrs[i].family);
      memcpy(p, d->addrs[i].addr, len);
      p += len;
    }
    p = st_put_le32(st_put_le32(p, d->ttl), d->latency_us);
    p = st_put_le16(p, (uint16_t)cnames);
  }
  if (x & X_REMOTE_NAME)
    p = st_put_le16(p, (uint16_t)rname);
  if (x & X_CONTAINER) {
    p = st_put_u8(p, cmask);
    for (unsigned i = 0; i < CONTAINER_PARTS; i++)
      if (cmask & (1u << i))
        p = st_put_le16(p, (uint16_t)cparts[i]);
  }
  st_put_le16(rec, (uint16_t)(p - rec - 2));
  st_buf_add(&b->events, (const char *)rec, (size_t)(p - rec));
  b->prev_ts = ev->ts_ns;
  b->nevents++;
  return b->events.oom || b->strings.oom ? ST_ENOMEM : 0;
}

size_t st_sktrace_block_bytes(const st_sktrace_block *b) {
  return ST_SKTRACE_BLOCK_HDR + ST_SKTRACE_BLOCK_FIXED + b->strings.len + b->events.len;
}

void st_sktrace_block_finish(const st_sktrace_block *b, uint32_t seq, st_buf *out) {
  uint8_t h[ST_SKTRACE_BLOCK_HDR + ST_SKTRACE_BLOCK_FIXED];
  uint8_t *fixed = h + ST_SKTRACE_BLOCK_HDR;
  st_put_le64(st_put_le32(st_put_le32(st_put_le32(fixed, seq), b->nevents), b->nstrings),
              b->base_ts);
  uint32_t len = (uint32_t)(st_sktrace_block_bytes(b) - ST_SKTRACE_BLOCK_HDR);
  uint32_t crc = crc_update(0, fixed, ST_SKTRACE_BLOCK_FIXED);
  crc = crc_update(crc, (const uint8_t *)b->strings.data, b->strings.len);
  crc = crc_update(crc, (const uint8_t *)b->events.data, b->events.len);
  memcpy(h, ST_SKTRACE_BLOCK_MAGIC, 4);
  st_put_le32(st_put_le32(h + 4, len), crc);
  st_buf_add(out, (const char *)h, sizeof h);
  st_buf_add(out, b->strings.data, b->strings.len);
  st_buf_add(out, b->events.data, b->events.len);
}

/* ---- decoding ---- */

typedef struct strtab {
  const uint8_t **ptr;
  uint16_t *len;
  uint32_t n;
} strtab;

/* Copies string ref into dst (cap bytes, the whole field); false when the
 * reference or its length is out of range. */
static bool get_str(st_cursor *r, const strtab *t, char *dst, size_t cap) {
  uint16_t ref = st_cursor_le16(r);
  if (!ref)
    return true;
  if (ref > t->n || t->len[ref - 1] > cap) {
    r->bad = true;
    return false;
  }
  memcpy(dst, t->ptr[ref - 1], t->len[ref - 1]);
  return true;
}

static void get_addr(st_cursor *r, const strtab *t, st_addr *a) {
  a->family = st_cursor_u8(r);
  a->raw_family = st_cursor_le16(r);
  a->port = st_cursor_le16(r);
  const uint8_t *ip = st_cursor_take(r, sizeof a->addr);
  if (ip)
    memcpy(a->addr, ip, sizeof a->addr);
  get_str(r, t, a->path, sizeof a->path);
}

static void get_status(st_cursor *r, st_status *s) {
  s->code = st_cursor_u8(r);
  s->domain = st_cursor_u8(r);
  s->native = st_cursor_le32(r);
}

static int decode_event(st_cursor *r, const strtab *t, uint64_t *prev_ts, st_event *ev) {
  memset(ev, 0, sizeof *ev);
  uint32_t m = st_cursor_le32(r);
  ev->provider = st_cursor_u8(r);
  ev->level = st_cursor_u8(r);
  ev->enter_exit = st_cursor_u8(r);
  ev->os = st_cursor_u8(r);
  ev->backend = st_cursor_u8(r);
  ev->id = st_cursor_le16(r);
  if ((m & F_TS_DELTA) && (m & F_TS_ABS))
    return -1;
  ev->ts_ns = *prev_ts;
  if (m & F_TS_DELTA)
    ev->ts_ns += st_cursor_le32(r);
  if (m & F_TS_ABS)
    ev->ts_ns = st_cursor_le64(r);
  *prev_ts = ev->ts_ns;
  if (m & F_KEYWORDS)
    ev->keywords = st_cursor_le64(r);
  if (m & F_SEQ)
    ev->seq = st_cursor_le64(r);
  if (m & F_PID)
    ev->pid = st_cursor_le32(r);
  if (m & F_TID)
    ev->tid = st_cursor_le32(r);
  if (m & F_COMM)
    get_str(r, t, ev->comm, sizeof ev->comm);
  if (m & F_ENDPOINT)
    ev->endpoint = st_cursor_le64(r);
  if (m & F_HAS)
    ev->has = st_cursor_le32(r);
  if (m & F_FLAGS)
    ev->flags = st_cursor_le32(r);
  if (m & F_SOCK) {
    ev->family = st_cursor_u8(r);
    ev->type = st_cursor_u8(r);
    ev->protocol = st_cursor_le16(r);
  }
  if (m & F_LOCAL)
    get_addr(r, t, &ev->local);
  if (m & F_REMOTE)
    get_addr(r, t, &ev->remote);
  if (m & F_BYTES)
    ev->bytes = st_cursor_le64(r);
  if (m & F_BUFFERS)
    ev->buffers = st_cursor_le32(r);
  if (m & F_BACKLOG)
    ev->backlog = st_cursor_le32(r);
  if (m & F_STATUS)
    get_status(r, &ev->status);
  if (m & F_REASON)
    ev->reason = st_cursor_le32(r);
  if (m & F_OPTION) {
    ev->option = st_cursor_le32(r);
    ev->value = st_cursor_le64(r);
  }
  if (m & F_STATE) {
    ev->old_state = st_cursor_u8(r);
    ev->new_state = st_cursor_u8(r);
  }
  if (m & F_LEGACY_ID)
    ev->legacy_id = st_cursor_le16(r);
  if (m & F_PPID)
    ev->ppid = st_cursor_le32(r);
  if (m & F_NETNS)
    ev->netns = st_cursor_le32(r);
  if (m & F_CGROUP)
    ev->cgroup = st_cursor_le64(r);
  if (m & F_ACCEPT_EP)
    ev->accept_endpoint = st_cursor_le64(r);
  if (m & F_SUMMARY) {
    st_summary *s = &ev->summary;
    s->bytes_sent = st_cursor_le64(r);
    s->bytes_received = st_cursor_le64(r);
    s->sends = st_cursor_le64(r);
    s->receives = st_cursor_le64(r);
    s->duration_ns = st_cursor_le64(r);
    s->retransmits = st_cursor_le64(r);
    get_status(r, &s->first_error);
    get_status(r, &s->final_status);
  }
  if (m & F_LOST) {
    ev->lost.count = st_cursor_le64(r);
    ev->lost.where = st_cursor_u8(r);
    ev->lost.from_ns = st_cursor_le64(r);
    ev->lost.to_ns = st_cursor_le64(r);
  }
  if (m & F_DNS) {
    st_dns *d = &ev->dns;
    d->id = st_cursor_le16(r);
    d->qr = st_cursor_u8(r);
    d->rcode = st_cursor_u8(r);
    d->qtype = st_cursor_le16(r);
    d->answers = st_cursor_le16(r);
    get_str(r, t, d->qname, sizeof d->qname);
  }
  if (m & F_DETAIL)
    get_str(r, t, ev->detail, sizeof ev->detail);
  if (m & F_SUMMARY_EXTRA) {
    ev->summary.flags = st_cursor_le32(r);
    ev->summary.rtt_us = st_cursor_le32(r);
  }
  uint16_t x = m & F_EXT ? st_cursor_le16(r) : 0;
  if (x & X_DNS_MORE) {
    st_dns *d = &ev->dns;
    d->flags = st_cursor_u8(r);
    unsigned n = st_cursor_u8(r);
    if (n > ST_DNS_ADDRS_MAX)
      return -1;
    for (unsigned i = 0; i < n; i++) {
      uint8_t fam = st_cursor_u8(r);
      size_t len = fam == ST_FAMILY_INET ? 4 : 16;
      const uint8_t *a = st_cursor_take(r, len);
      if (!a)
        return -1;
      d->addrs[i].family = fam;
      memcpy(d->addrs[i].addr, a, len);
    }
    d->naddrs = (uint8_t)n;
    d->ttl = st_cursor_le32(r);
    d->latency_us = st_cursor_le32(r);
    get_str(r, t, d->cnames, sizeof d->cnames);
  }
  if (x & X_REMOTE_NAME)
    get_str(r, t, ev->remote_name, sizeof ev->remote_name);
  if (x & X_CONTAINER) {
    uint8_t cmask = st_cursor_u8(r);
    for (unsigned i = 0; i < CONTAINER_PARTS; i++)
      if (cmask & (1u << i))
        get_str(r, t, container_part(&ev->container, i), container_part_size[i]);
  }
  /* Bits above F_KNOWN are a later minor version's fields: the record
   * length lets the caller skip them. */
  return r->bad ? -1 : 0;
}

int st_sktrace_block_decode(const uint8_t *p, size_t len, st_event **events, size_t *cap, size_t *n,
                            char *err, size_t errlen) {
  st_cursor r;
  st_cursor_init(&r, p, len);
  st_cursor_le32(&r); /* block sequence number: informational */
  uint32_t nev = st_cursor_le32(&r), nstr = st_cursor_le32(&r);
  uint64_t prev_ts = st_cursor_le64(&r);
  *n = 0;
  if (r.bad || nstr > ST_SKTRACE_BLOCK_STRINGS || nstr > st_cursor_left(&r) / 2 ||
      nev > st_cursor_left(&r) / REC_FIXED) {
    snprintf(err, errlen, "bad block counts (%u events, %u strings)", nev, nstr);
    return ST_EBADMSG;
  }
  strtab t = {malloc((nstr ? nstr : 1) * sizeof *t.ptr), malloc((nstr ? nstr : 1) * 2), nstr};
  int rc = 0;
  if (!t.ptr || !t.len) {
    rc = ST_ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto out;
  }
  for (uint32_t i = 0; i < nstr; i++) {
    t.len[i] = st_cursor_le16(&r);
    t.ptr[i] = st_cursor_take(&r, t.len[i]);
    if (!t.ptr[i]) {
      snprintf(err, errlen, "string %u runs past the block", i + 1);
      rc = ST_EBADMSG;
      goto out;
    }
  }
  if (nev > *cap) {
    st_event *ne = realloc(*events, nev * sizeof *ne);
    if (!ne) {
      rc = ST_ENOMEM;
      snprintf(err, errlen, "out of memory");
      goto out;
    }
    *events = ne;
    *cap = nev;
  }
  for (uint32_t i = 0; i < nev; i++) {
    uint16_t rlen = st_cursor_le16(&r);
    const uint8_t *rec = st_cursor_take(&r, rlen);
    st_cursor er;
    st_cursor_init(&er, rec, rlen);
    er.bad = rec == NULL || rlen < REC_FIXED - 2;
    if (er.bad || decode_event(&er, &t, &prev_ts, &(*events)[i]) < 0) {
      snprintf(err, errlen, "event %u of %u is malformed", i + 1, nev);
      rc = ST_EBADMSG;
      goto out;
    }
  }
  if (st_cursor_left(&r)) {
    snprintf(err, errlen, "%zu stray bytes after the last event", st_cursor_left(&r));
    rc = ST_EBADMSG;
    goto out;
  }
  *n = nev;
out:
  free(t.ptr);
  free(t.len);
  return rc;
}

bool st_sktrace_sniff(const void *head, size_t len) {
  return len >= ST_SKTRACE_MAGIC_LEN && memcmp(head, ST_SKTRACE_MAGIC, ST_SKTRACE_MAGIC_LEN) == 0;
}
