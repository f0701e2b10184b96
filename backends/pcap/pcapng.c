/*
 * The pcapng reader (see pcapng.h): one block at a time from a FILE into a
 * buffer that grows to the largest block seen, then parsed with a cursor.
 * Byte order is the section's, read from its Section Header Block.
 */
#include "pcapng.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "socktrace/status.h"

enum {
  BT_SHB = 0x0A0D0D0A,
  BT_IDB = 1,
  BT_OPB = 2, /* the obsolete Packet Block */
  BT_SPB = 3,
  BT_EPB = 6,
  BOM = 0x1A2B3C4D,
  OPT_END = 0,
  OPT_IF_TSRESOL = 9,
  OPT_IF_TSOFFSET = 14,
};

typedef struct iface {
  int linktype;
  uint32_t snaplen;
  /* ns = units * mul / div (decimal resolutions), or by shift (binary). */
  uint64_t mul, div;
  int shift; /* -1: decimal */
  uint64_t offset_ns;
} iface;

struct pcapng_reader {
  FILE *f;
  bool big; /* the section's byte order */
  uint8_t *buf;
  size_t cap;
  iface *ifaces;
  uint32_t nifaces, ifaces_cap;
  uint64_t last_ts;
  uint64_t offset; /* of the next block in the file */
  pcapng_stats stats;
  char error[256];
  char bad[160];
};

static void set_error(char *dst, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void set_error(char *dst, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, len, fmt, ap);
  va_end(ap);
}

static uint16_t rd16(const pcapng_reader *r, st_cursor *c) {
  return r->big ? st_cursor_be16(c) : st_cursor_le16(c);
}

static uint32_t rd32(const pcapng_reader *r, st_cursor *c) {
  return r->big ? st_cursor_be32(c) : st_cursor_le32(c);
}

static uint32_t get32(bool big, const uint8_t *p) {
  return big ? st_be32(p) : st_le32(p);
}

bool pcapng_magic(const uint8_t *p) {
  return st_le32(p) == BT_SHB;
}

/* Reads n bytes; 1 when they were all there, 0 at a clean end (nothing
 * read and eof_ok), -1 when the file ends inside them. */
static int read_exact(pcapng_reader *r, void *dst, size_t n, bool eof_ok) {
  size_t got = fread(dst, 1, n, r->f);
  if (got == n)
    return 1;
  if (got == 0 && eof_ok && !ferror(r->f))
    return 0;
  if (ferror(r->f))
    set_error(r->error, sizeof r->error, "read error at byte %llu",
              (unsigned long long)(r->offset));
  else
    set_error(r->error, sizeof r->error, "the file ends inside the block at byte %llu",
              (unsigned long long)r->offset);
  return -1;
}

static bool reserve(pcapng_reader *r, size_t n) {
  if (n <= r->cap)
    return true;
  size_t cap = r->cap ? r->cap : 4096;
  while (cap < n)
    cap *= 2;
  uint8_t *b = realloc(r->buf, cap);
  if (!b)
    return false;
  r->buf = b;
  r->cap = cap;
  return true;
}

/* Reads the next block whole into r->buf (its 8-byte header included).
 * 1 and *type / *len; 0 at the end of the file; negative on damage. */
static int read_block(pcapng_reader *r, uint32_t *type, uint32_t *len) {
  uint8_t head[12];
  int rc = read_exact(r, head, 8, true);
  if (rc <= 0)
    return rc < 0 ? ST_EBADMSG : 0;
  size_t have = 8;
  if (r->offset == 0 && st_le32(head) != BT_SHB) {
    set_error(r->error, sizeof r->error, "no pcapng section header at its start");
    return ST_EBADMSG;
  }
  if (st_le32(head) == BT_SHB) { /* the same both ways; its BOM says the order */
    if (read_exact(r, head + 8, 4, false) < 0)
      return ST_EBADMSG;
    have = 12;
    if (st_le32(head + 8) == BOM)
      r->big = false;
    else if (st_be32(head + 8) == BOM)
      r->big = true;
    else {
      set_error(r->error, sizeof r->error,
                "section header at byte %llu has no byte-order magic (damaged or not pcapng)",
                (unsigned long long)r->offset);
      return ST_EBADMSG;
    }
  }
  *type = get32(r->big, head);
  *len = get32(r->big, head + 4);
  if (*len < 12 || *len % 4 != 0 || *len < have + 4 || *len > PCAPNG_MAX_BLOCK) {
    set_error(r->error, sizeof r->error, "block at byte %llu claims an impossible length of %u",
              (unsigned long long)r->offset, *len);
    return ST_EBADMSG;
  }
  if (!reserve(r, *len)) {
    set_error(r->error, sizeof r->error, "out of memory for a block of %u bytes", *len);
    return ST_ENOMEM;
  }
  memcpy(r->buf, head, have);
  if (read_exact(r, r->buf + have, *len - have, false) < 0)
    return ST_EBADMSG;
  if (get32(r->big, r->buf + *len - 4) != *len) {
    set_error(r->error, sizeof r->error,
              "block at byte %llu ends with a length that differs from its start",
              (unsigned long long)r->offset);
    return ST_EBADMSG;
  }
  r->offset += *len;
  return 1;
}

/* A block's body: after type and length, before the trailing length. */
static void body(const pcapng_reader *r, uint32_t len, st_cursor *c) {
  st_cursor_init(c, r->buf + 8, len - 12);
}

static int section_header(pcapng_reader *r, uint32_t len) {
  st_cursor c;
  body(r, len, &c);
  rd32(r, &c); /* byte-order magic, already read */
  uint16_t major = rd16(r, &c), minor = rd16(r, &c);
  if (c.bad || major != 1) {
    set_error(r->error, sizeof r->error, "pcapng version %u.%u is not one this reader knows", major,
              minor);
    return ST_EBADMSG;
  }
  r->nifaces = 0; /* interface ids count from 0 in each section */
  r->stats.sections++;
  return 0;
}

static void set_resolution(iface *i, uint8_t v) {
  unsigned n = v & 0x7f;
  i->mul = i->div = 1;
  i->shift = -1;
  if (v & 0x80) {
    i->shift = (int)(n > 63 ? 63 : n);
    return;
  }
  if (n > 19)
    n = 19; /* 10^19 still fits in 64 bits; no real clock is finer */
  for (unsigned k = 9; k < n; k++)
    i->div *= 10;
  for (unsigned k = n; k < 9; k++)
    i->mul *= 10;
}

static uint64_t to_ns(const iface *i, uint64_t units) {
  uint64_t ns;
  if (i->shift < 0) {
    ns = units / i->div * i->mul;
  } else {
    int s = i->shift;
    uint64_t whole = s ? units >> s : units;
    uint64_t frac = s ? units & ((1ull << s) - 1) : 0;
    int cut = s > 32 ? s - 32 : 0; /* keep frac * 1e9 within 64 bits */
    ns = whole * 1000000000ull + (((frac >> cut) * 1000000000ull) >> (s - cut));
  }
  return ns + i->offset_ns;
}

static int interface_description(pcapng_reader *r, uint32_t len) {
  if (r->nifaces >= PCAPNG_MAX_INTERFACES) {
    set_error(r->error, sizeof r->error, "more than %u interfaces in one section",
              PCAPNG_MAX_INTERFACES);
    return ST_EBADMSG;
  }
  if (r->nifaces == r->ifaces_cap) {
    uint32_t cap = r->ifaces_cap ? r->ifaces_cap * 2 : 8;
    iface *n = realloc(r->ifaces, cap * sizeof *n);
    if (!n) {
      set_error(r->error, sizeof r->error, "out of memory for interface %u", r->nifaces);
      return ST_ENOMEM;
    }
    r->ifaces = n;
    r->ifaces_cap = cap;
  }
  iface *i = &r->ifaces[r->nifaces];
  memset(i, 0, sizeof *i);
  set_resolution(i, 6);
  st_cursor c;
  body(r, len, &c);
  i->linktype = rd16(r, &c);
  rd16(r, &c); /* reserved */
  i->snaplen = rd32(r, &c);
  if (c.bad) {
    set_error(r->error, sizeof r->error, "interface description %u is too short", r->nifaces);
    return ST_EBADMSG;
  }
  /* Options: a damaged list ends the list, not the interface. */
  while (st_cursor_left(&c) >= 4) {
    uint16_t code = rd16(r, &c), olen = rd16(r, &c);
    const uint8_t *v = st_cursor_take(&c, ((size_t)olen + 3) & ~(size_t)3);
    if (!v || code == OPT_END)
      break;
    if (code == OPT_IF_TSRESOL && olen >= 1)
      set_resolution(i, v[0]);
    else if (code == OPT_IF_TSOFFSET && olen >= 8) {
      uint64_t s = r->big ? ((uint64_t)st_be32(v) << 32 | st_be32(v + 4)) : st_le64(v);
      i->offset_ns = s * 1000000000ull; /* signed seconds: wraps as two's complement */
    }
  }
  r->nifaces++;
  r->stats.interfaces++;
  return 0;
}

static void bad_block(pcapng_reader *r, const char *why, uint64_t at) {
  r->stats.bad_blocks++;
  if (!r->bad[0])
    set_error(r->bad, sizeof r->bad, "packet block at byte %llu: %s", (unsigned long long)at, why);
}

/* A packet block into *out; false (and counted) when it cannot be right. */
static bool packet(pcapng_reader *r, uint32_t type, uint32_t len, pcapng_frame *out) {
  uint64_t at = r->offset - len;
  st_cursor c;
  body(r, len, &c);
  uint32_t id = 0, caplen, wire;
  uint64_t units = 0;
  bool big = r->big, stamped = type != BT_SPB;
  /* The fixed fields in one take: EPB and OPB 20 bytes, SPB 4. */
  const uint8_t *h = st_cursor_take(&c, stamped ? 20 : 4);
  if (!h) {
    bad_block(r, "too short for its header", at);
    return false;
  }
  if (!stamped) {
    wire = get32(big, h);
    caplen = (uint32_t)st_cursor_left(&c);
    if (caplen > wire)
      caplen = wire; /* the rest is padding */
  } else {
    id = type == BT_OPB ? (big ? st_be16(h) : st_le16(h)) : get32(big, h); /* OPB: + drops */
    units = (uint64_t)get32(big, h + 4) << 32 | get32(big, h + 8);
    caplen = get32(big, h + 12);
    wire = get32(big, h + 16);
  }
  if (id >= r->nifaces) {
    bad_block(r, "names an interface the section does not describe", at);
    return false;
  }
  const iface *i = &r->ifaces[id];
  if (!stamped && i->snaplen && caplen > i->snaplen)
    caplen = i->snaplen;
  const uint8_t *data = st_cursor_take(&c, caplen);
  if (!data) {
    bad_block(r, "holds less data than it claims", at);
    return false;
  }
  if (stamped)
    r->last_ts = to_ns(i, units);
  out->iface = id;
  out->section = r->stats.sections - 1;
  out->linktype = i->linktype;
  out->ts_ns = r->last_ts;
  out->data = data;
  out->caplen = caplen;
  out->len = wire < caplen ? caplen : wire;
  return true;
}

int pcapng_next(pcapng_reader *r, pcapng_frame *out) {
  for (;;) {
    uint32_t type, len;
    int rc = read_block(r, &type, &len);
    if (rc <= 0)
      return rc;
    switch (type) {
    case BT_SHB:
      rc = section_header(r, len);
      break;
    case BT_IDB:
      rc = interface_description(r, len);
      break;
    case BT_EPB:
    case BT_SPB:
    case BT_OPB:
      if (packet(r, type, len, out)) {
        r->stats.frames++;
        return 1;
      }
      break;
    default: /* name resolution, statistics, secrets, custom: not ours */
      break;
    }
    if (rc < 0)
      return rc;
  }
}

int pcapng_open(FILE *f, pcapng_reader **out, char *err, size_t errlen) {
  pcapng_reader *r = calloc(1, sizeof *r);
  if (!r) {
    set_error(err, errlen, "out of memory");
    return ST_ENOMEM;
  }
  r->f = f;
  uint32_t type = 0, len = 0;
  int rc = read_block(r, &type, &len);
  if (rc == 0) {
    set_error(r->error, sizeof r->error, "the file is empty");
    rc = ST_EBADMSG;
  } else if (rc == 1) {
    rc = section_header(r, len);
  }
  if (rc < 0) {
    set_error(err, errlen, "%s", r->error);
    pcapng_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

void pcapng_close(pcapng_reader *r) {
  if (!r)
    return;
  free(r->buf);
  free(r->ifaces);
  free(r);
}

const char *pcapng_error(const pcapng_reader *r) {
  return r->error;
}

const char *pcapng_first_bad_block(const pcapng_reader *r) {
  return r->bad;
}

void pcapng_get_stats(const pcapng_reader *r, pcapng_stats *out) {
  *out = r->stats;
}
