/*
 * The .sktrace file reader: header, then block after block, through a
 * sliding window over a FILE (so pipes work and memory stays at one block).
 *
 * Damage is data, not a reason to stop: a block that fails its CRC or does
 * not decode is reported with its offset and skipped, and reading resumes at
 * the next block that verifies; a partial last block (a recording killed
 * mid-write) is reported with the number of bytes cut. Compressed blocks
 * (2.0) are verified first, then inflated (sktrace_zblock.c), then decoded
 * like plain ones. Nothing here trusts
 * a length before checking it against the limits and the data at hand.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "sktrace_format.h"

struct st_sktrace_reader {
  FILE *in;
  uint8_t *buf;
  size_t cap, start, end; /* valid bytes are buf[start, end) */
  uint64_t base;          /* file offset of buf[0] */
  bool eof, done;
  st_sktrace_header hdr;
  char pending[320]; /* a header problem, reported by the first next() */
  st_event *events;
  size_t evcap, nev, evpos;
  st_sktrace_zctx *z; /* made at the first compressed block */
  char problem[320];
  st_sktrace_read_stats stats;
};

bool st_sktrace_is_block_magic(const uint8_t *p) {
  return memcmp(p, ST_SKTRACE_BLOCK_MAGIC, 4) == 0 || memcmp(p, ST_SKTRACE_ZBLOCK_MAGIC, 4) == 0;
}

/* The first block magic in p[0, n), or NULL (memmem is not portable). */
static const uint8_t *find_magic(const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  while (n >= 4) {
    const uint8_t *s = memchr(p, ST_SKTRACE_BLOCK_MAGIC[0], n - 3);
    if (!s)
      return NULL;
    if (st_sktrace_is_block_magic(s))
      return s;
    p = s + 1;
    n = (size_t)(end - p);
  }
  return NULL;
}

static size_t avail(const st_sktrace_reader *r) {
  return r->end - r->start;
}

static uint64_t offset(const st_sktrace_reader *r) {
  return r->base + r->start;
}

/* Makes at least need bytes available from start, unless the input ends
 * first: 0 when they are there, 1 when the input ended, ST_EIO. */
static int fill(st_sktrace_reader *r, size_t need) {
  while (avail(r) < need && !r->eof) {
    if (need > r->cap - r->start) {
      if (r->start) {
        memmove(r->buf, r->buf + r->start, avail(r));
        r->base += r->start;
        r->end -= r->start;
        r->start = 0;
      }
      if (need > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < need)
          cap *= 2;
        uint8_t *n = realloc(r->buf, cap);
        if (!n) {
          snprintf(r->problem, sizeof r->problem, "out of memory reading a %zu-byte block", need);
          return ST_EIO;
        }
        r->buf = n;
        r->cap = cap;
      }
    }
    size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->in);
    r->end += got;
    if (got == 0) {
      if (ferror(r->in)) {
        snprintf(r->problem, sizeof r->problem, "read error at offset %llu: %s",
                 (unsigned long long)(r->base + r->end), st_strerror(-errno));
        return ST_EIO;
      }
      r->eof = true;
    }
  }
  return avail(r) >= need ? 0 : 1;
}

/* Checks that a whole, verified block starts at start. 1 yes, 0 no (a
 * block running past the end of the input is a no), or ST_EIO. */
static int block_ok(st_sktrace_reader *r, uint32_t *len_out) {
  int rc = fill(r, ST_SKTRACE_BLOCK_HDR);
  if (rc < 0)
    return rc;
  if (rc || !st_sktrace_is_block_magic(r->buf + r->start))
    return 0;
  uint32_t len = st_le32(r->buf + r->start + 4);
  if (len < ST_SKTRACE_BLOCK_FIXED || len > ST_SKTRACE_BLOCK_MAX)
    return 0;
  if ((rc = fill(r, ST_SKTRACE_BLOCK_HDR + (size_t)len)) != 0)
    return rc < 0 ? rc : 0;
  const uint8_t *p = r->buf + r->start;
  if (st_sktrace_crc32(p + ST_SKTRACE_BLOCK_HDR, len) != st_le32(p + 8))
    return 0;
  *len_out = len;
  return 1;
}

/* Moves start to the next verified block after the current position.
 * 1 found, 0 none until the end (start = end), ST_EIO. */
static int resync(st_sktrace_reader *r) {
  r->start++;
  for (;;) {
    const uint8_t *hit = find_magic(r->buf + r->start, avail(r));
    if (hit) {
      r->start = (size_t)(hit - r->buf);
      uint32_t len;
      int rc = block_ok(r, &len);
      if (rc != 0)
        return rc;
      r->start++;
      continue;
    }
    /* Keep a possible magic split across reads. */
    if (avail(r) > 3)
      r->start = r->end - 3;
    if (r->eof) {
      r->start = r->end;
      return 0;
    }
    int rc = fill(r, avail(r) + 1);
    if (rc < 0)
      return rc;
  }
}

/* Skips damage found at off; the problem names it. */
static int skip_damage(st_sktrace_reader *r, uint64_t off, const char *why) {
  int rc = resync(r);
  if (rc < 0)
    return rc;
  uint64_t skipped = offset(r) - off;
  r->stats.bad_blocks++;
  r->stats.skipped += skipped;
  if (rc)
    snprintf(r->problem, sizeof r->problem,
             "corrupt block at offset %llu (%s): %llu bytes skipped, reading resumed at "
             "offset %llu",
             (unsigned long long)off, why, (unsigned long long)skipped,
             (unsigned long long)offset(r));
  else {
    snprintf(r->problem, sizeof r->problem,
             "corrupt data at offset %llu (%s): the last %llu bytes hold no readable block",
             (unsigned long long)off, why, (unsigned long long)skipped);
    r->done = true;
  }
  return ST_EBADMSG;
}

static int truncated(st_sktrace_reader *r, uint64_t off, size_t cut) {
  r->stats.cut += cut;
  r->done = true;
  snprintf(r->problem, sizeof r->problem,
           "trace truncated: %zu bytes of an unfinished block at offset %llu were cut (the "
           "recording stopped mid-write); everything before it was read",
           cut, (unsigned long long)off);
  r->start = r->end;
  return ST_EBADMSG;
}

/* Loads the next block into r->events. 0 loaded, 1 end, ST_EBADMSG, ST_EIO. */
static int read_block(st_sktrace_reader *r) {
  uint64_t off = offset(r);
  int rc = fill(r, ST_SKTRACE_BLOCK_HDR);
  if (rc < 0)
    return rc;
  if (avail(r) == 0) {
    r->done = true;
    return 1;
  }
  const uint8_t *p = r->buf + r->start;
  if (rc)
    return memcmp(p, ST_SKTRACE_BLOCK_MAGIC, avail(r) < 3 ? avail(r) : 3) == 0
               ? truncated(r, off, avail(r))
               : skip_damage(r, off, "not a block header");
  if (!st_sktrace_is_block_magic(p))
    return skip_damage(r, off, "not a block header");
  uint32_t len = st_le32(p + 4);
  if (len < ST_SKTRACE_BLOCK_FIXED || len > ST_SKTRACE_BLOCK_MAX)
    return skip_damage(r, off, "impossible block length");
  if ((rc = fill(r, ST_SKTRACE_BLOCK_HDR + (size_t)len)) < 0)
    return rc;
  if (rc) {
    /* Short: the recording was cut, unless a good block follows (then the
     * length itself was damaged). */
    size_t have = avail(r);
    rc = resync(r);
    if (rc < 0)
      return rc;
    if (rc == 0)
      return truncated(r, off, have);
    uint64_t skipped = offset(r) - off;
    r->stats.bad_blocks++;
    r->stats.skipped += skipped;
    snprintf(r->problem, sizeof r->problem,
             "corrupt block at offset %llu (bad length): %llu bytes skipped, reading resumed "
             "at offset %llu",
             (unsigned long long)off, (unsigned long long)skipped, (unsigned long long)offset(r));
    return ST_EBADMSG;
  }
  p = r->buf + r->start;
  if (st_sktrace_crc32(p + ST_SKTRACE_BLOCK_HDR, len) != st_le32(p + 8))
    return skip_damage(r, off, "CRC mismatch");
  char why[160];
  const uint8_t *payload = p + ST_SKTRACE_BLOCK_HDR;
  size_t plen = len;
  rc = 0;
  if (memcmp(p, ST_SKTRACE_ZBLOCK_MAGIC, 4) == 0) {
    if (!r->z && st_sktrace_zctx_new(0, &r->z) < 0) {
      snprintf(r->problem, sizeof r->problem, "out of memory reading a compressed block");
      return ST_EIO;
    }
    rc = st_sktrace_zblock_inflate(r->z, payload, len, &payload, &plen, why, sizeof why);
  }
  if (rc == 0)
    rc = st_sktrace_block_decode(payload, plen, &r->events, &r->evcap, &r->nev, why, sizeof why);
  r->start += ST_SKTRACE_BLOCK_HDR + (size_t)len;
  r->evpos = 0;
  if (rc < 0) {
    /* The CRC matched, so the length is right: skip exactly this block. */
    r->nev = 0;
    r->stats.bad_blocks++;
    r->stats.skipped += ST_SKTRACE_BLOCK_HDR + (uint64_t)len;
    snprintf(r->problem, sizeof r->problem, "bad block at offset %llu: %s; block skipped",
             (unsigned long long)off, why);
    return ST_EBADMSG;
  }
  r->stats.blocks++;
  return 0;
}

int st_sktrace_reader_next(st_sktrace_reader *r, st_event *ev) {
  if (r->pending[0]) {
    memcpy(r->problem, r->pending, sizeof r->problem);
    r->pending[0] = 0;
    return ST_EBADMSG;
  }
  while (r->evpos >= r->nev) {
    if (r->done)
      return 1;
    int rc = read_block(r);
    if (rc != 0)
      return rc;
  }
  *ev = r->events[r->evpos++];
  r->stats.events++;
  return 0;
}

static int read_header(st_sktrace_reader *r, char *err, size_t errlen) {
  int rc = fill(r, ST_SKTRACE_PREAMBLE);
  if (rc < 0) {
    snprintf(err, errlen, "%s", r->problem);
    return ST_EIO;
  }
  const uint8_t *p = r->buf + r->start;
  if (!st_sktrace_sniff(p, avail(r))) {
    snprintf(err, errlen, "not a .sktrace trace (no magic)");
    return ST_EBADMSG;
  }
  if (rc) {
    snprintf(r->pending, sizeof r->pending, "trace truncated inside its header");
    r->done = true;
    return 0;
  }
  r->hdr.major = st_le16(p + 8);
  r->hdr.minor = st_le16(p + 10);
  if (r->hdr.major != ST_SKTRACE_PLAIN_MAJOR && r->hdr.major != ST_SKTRACE_MAJOR) {
    snprintf(err, errlen,
             "format version %u.%u is not readable by this socktrace (reads %u.x and %u.x)",
             r->hdr.major, r->hdr.minor, ST_SKTRACE_PLAIN_MAJOR, ST_SKTRACE_MAJOR);
    return ST_EBADMSG;
  }
  uint32_t hlen = st_le32(p + 12);
  if (hlen > ST_SKTRACE_HEADER_MAX) {
    snprintf(r->pending, sizeof r->pending, "file header damaged (length %u); blocks still read",
             hlen);
    r->start += ST_SKTRACE_MAGIC_LEN;
    return 0;
  }
  size_t total = ST_SKTRACE_PREAMBLE + hlen + 4;
  if ((rc = fill(r, total)) < 0) {
    snprintf(err, errlen, "%s", r->problem);
    return ST_EIO;
  }
  if (rc) {
    snprintf(r->pending, sizeof r->pending, "trace truncated inside its header");
    r->done = true;
    return 0;
  }
  p = r->buf + r->start;
  char why[160] = "CRC mismatch";
  if (st_sktrace_crc32(p + 8, total - 12) != st_le32(p + total - 4) ||
      st_sktrace_header_decode(p + ST_SKTRACE_PREAMBLE, hlen, &r->hdr, why, sizeof why) != 0) {
    uint16_t major = r->hdr.major, minor = r->hdr.minor;
    memset(&r->hdr, 0, sizeof r->hdr);
    r->hdr.major = major;
    r->hdr.minor = minor;
    snprintf(r->pending, sizeof r->pending, "file header damaged (%s); blocks still read", why);
  }
  r->start += total;
  return 0;
}

int st_sktrace_reader_open(FILE *in, st_sktrace_reader **out, char *err, size_t errlen) {
  st_sktrace_reader *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return ST_ENOMEM;
  }
  r->in = in;
  int rc = read_header(r, err, errlen);
  if (rc < 0) {
    st_sktrace_reader_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

const char *st_sktrace_reader_problem(const st_sktrace_reader *r) {
  return r->problem;
}

const st_sktrace_header *st_sktrace_reader_header(const st_sktrace_reader *r) {
  return &r->hdr;
}

void st_sktrace_reader_stats(const st_sktrace_reader *r, st_sktrace_read_stats *out) {
  *out = r->stats;
}

void st_sktrace_reader_free(st_sktrace_reader *r) {
  if (!r)
    return;
  free(r->buf);
  free(r->events);
  st_sktrace_zctx_free(r->z);
  free(r);
}
