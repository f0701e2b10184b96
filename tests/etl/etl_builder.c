/* Test helper: writes .etl files the way Windows lays them out. */
#include "etl/etl_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {E53C6823-7BB8-44BB-90DC-3F86090D48A6} as stored (Data1-3 little-endian). */
const uint8_t EB_AFD_GUID[16] = {0x23, 0x68, 0x3C, 0xE5, 0xB8, 0x7B, 0xBB, 0x44,
                                 0x90, 0xDC, 0x3F, 0x86, 0x09, 0x0D, 0x48, 0xA6};
const uint8_t EB_OTHER_GUID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)v);
  put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}

static void append(eb_file *f, const void *p, size_t n) {
  if (f->len + n > f->cap) {
    f->cap = (f->len + n) * 2;
    f->data = realloc(f->data, f->cap);
  }
  memcpy(f->data + f->len, p, n);
  f->len += n;
}

static void buffer_header(uint8_t *h, uint32_t size, uint32_t offset, uint64_t seq, int64_t ts,
                          uint16_t cpu, uint16_t flags, uint16_t type) {
  memset(h, 0, 72);
  put32(h, size);
  put32(h + 4, offset);
  put64(h + 0x10, (uint64_t)ts);
  put64(h + 0x18, seq);
  put16(h + 0x28, cpu);
  put16(h + 0x2A, 7);
  put32(h + 0x2C, 3);
  put32(h + 0x30, offset);
  put16(h + 0x34, flags);
  put16(h + 0x36, type);
}

void eb_begin(eb_file *f, bool ptr64, bool compressed, uint32_t events_lost,
              uint32_t buffers_lost) {
  memset(f, 0, sizeof *f);
  f->ptr64 = ptr64;
  f->compressed = compressed;
  uint8_t buf[EB_BUFFER_SIZE];
  memset(buf, 0xFF, sizeof buf);
  size_t p = ptr64 ? 8 : 4;
  /* System header (32 bytes) + TRACE_LOGFILE_HEADER + two UTF-16 names. */
  uint8_t *r = buf + 72;
  size_t boot = 56 + 2 * p + 176, names = boot + 32;
  const char *logger = "sock", *file = "C:\\sock.etl";
  size_t data_len = names + 2 * (strlen(logger) + 1) + 2 * (strlen(file) + 1);
  size_t rec = 32 + data_len;
  memset(r, 0, rec);
  put16(r, 2);
  r[2] = ptr64 ? 0x02 : 0x01;
  r[3] = 0xC0;
  put16(r + 4, (uint16_t)rec);
  put16(r + 6, 0); /* hook 0: the logfile header */
  put32(r + 8, 100);
  put32(r + 12, 4);
  put64(r + 16, EB_QPC0);
  uint8_t *d = r + 32;
  put32(d, EB_BUFFER_SIZE);
  d[4] = 10, d[5] = 0, d[6] = 1, d[7] = 5;
  put32(d + 8, 22621);
  put32(d + 12, 2);
  put64(d + 16, (uint64_t)(EB_START_FILETIME + 50000000));
  put32(d + 24, 156250);
  put32(d + 32, compressed ? 0x04000000u : 0);
  put32(d + 36, 4);
  put32(d + 40, 1);
  put32(d + 44, (uint32_t)p);
  put32(d + 48, events_lost);
  put32(d + 52, 2400);
  put64(d + boot, (uint64_t)(EB_START_FILETIME - 36000000000ll));
  put64(d + boot + 8, (uint64_t)EB_PERF_FREQ);
  put64(d + boot + 16, (uint64_t)EB_START_FILETIME);
  put32(d + boot + 24, 1);
  put32(d + boot + 28, buffers_lost);
  uint8_t *n = d + names;
  for (const char *s = logger;; s++, n += 2) {
    put16(n, (uint16_t)*s);
    if (!*s)
      break;
  }
  n += 2;
  for (const char *s = file;; s++, n += 2) {
    put16(n, (uint16_t)*s);
    if (!*s)
      break;
  }
  size_t end = 72 + ((rec + 7) & ~(size_t)7);
  buffer_header(buf, EB_BUFFER_SIZE, (uint32_t)end, 0, EB_QPC0, 0, 0x21, 4);
  append(f, buf, EB_BUFFER_SIZE);
}

void eb_buffer_init(eb_buffer *b, uint16_t processor, uint64_t sequence) {
  memset(b->data, 0xFF, sizeof b->data);
  b->pos = 72;
  b->processor = processor;
  b->sequence = sequence;
}

bool eb_add_event(eb_buffer *b, bool ptr64, const uint8_t provider[16], uint16_t id,
                  uint8_t version, uint8_t level, uint64_t keyword, uint32_t pid, uint32_t tid,
                  int64_t qpc, int ext_items, const uint8_t *user, size_t user_len) {
  size_t size = 80 + (size_t)ext_items * 16 + user_len;
  if (b->pos + ((size + 7) & ~(size_t)7) > EB_BUFFER_SIZE)
    return false;
  uint8_t *r = b->data + b->pos;
  memset(r, 0, size);
  put16(r, (uint16_t)size);
  r[2] = ptr64 ? 0x13 : 0x12;
  r[3] = 0xC0;
  put16(r + 4, ext_items ? 0x1 : 0x0);
  put32(r + 8, tid);
  put32(r + 12, pid);
  put64(r + 16, (uint64_t)qpc);
  memcpy(r + 24, provider, 16);
  put16(r + 40, id);
  r[42] = version;
  r[44] = level;
  r[45] = 1; /* an opcode the decoder must not dispatch on */
  put64(r + 48, keyword);
  uint8_t *it = r + 80;
  for (int i = 0; i < ext_items; i++, it += 16) {
    put16(it, 16);
    put16(it + 2, (uint16_t)(11 + i));
    put16(it + 4, i + 1 < ext_items ? 1 : 0);
    put16(it + 6, 8);
    memset(it + 8, 0xA0 + i, 8);
  }
  memcpy(it, user, user_len);
  b->pos += (size + 7) & ~(size_t)7;
  return true;
}

void eb_add_buffer(eb_file *f, eb_buffer *b, uint16_t flags) {
  uint16_t flag = (uint16_t)(0x20 | flags);
  if (!f->compressed) {
    buffer_header(b->data, EB_BUFFER_SIZE, (uint32_t)b->pos, b->sequence, EB_QPC0, b->processor,
                  flag, 0);
    append(f, b->data, EB_BUFFER_SIZE);
    return;
  }
  uint8_t out[EB_BUFFER_SIZE * 2];
  size_t clen = eb_xpress_compress(b->data + 72, b->pos - 72, out + 72, sizeof out - 72);
  buffer_header(out, (uint32_t)(72 + clen), (uint32_t)b->pos, b->sequence, EB_QPC0, b->processor,
                (uint16_t)(flag | 0x40), 0);
  append(f, out, 72 + clen);
}

void eb_free(eb_file *f) {
  free(f->data);
  memset(f, 0, sizeof *f);
}

int eb_write(const eb_file *f, const char *path) {
  FILE *o = fopen(path, "wb");
  if (!o)
    return -1;
  size_t n = fwrite(f->data, 1, f->len, o);
  fclose(o);
  return n == f->len ? 0 : -1;
}

/* Greedy LZ77 in the XPRESS plain format: flag words reserved ahead of
 * their tokens, lengths beyond 9 in shared half bytes, then a byte, then a
 * 16- or 32-bit length. */
typedef struct enc {
  uint8_t *out;
  size_t cap, pos, flag_at;
  uint32_t flags;
  int nflags;
  size_t half_at; /* a half byte waiting for its pair */
  int have_half;
  int overflow;
} enc;

static void enc_byte(enc *e, uint8_t v) {
  if (e->pos < e->cap)
    e->out[e->pos] = v;
  else
    e->overflow = 1;
  e->pos++;
}

static void enc_flag(enc *e, int bit) {
  if (e->nflags == 32) {
    put32(e->out + e->flag_at, e->flags);
    e->flag_at = e->pos;
    for (int i = 0; i < 4; i++)
      enc_byte(e, 0);
    e->flags = 0;
    e->nflags = 0;
  }
  e->flags = (e->flags << 1) | (uint32_t)bit;
  e->nflags++;
}

static void enc_match(enc *e, size_t dist, size_t len) {
  size_t l = len - 3;
  enc_flag(e, 1);
  uint16_t word = (uint16_t)(((dist - 1) << 3) | (l < 7 ? l : 7));
  enc_byte(e, (uint8_t)word);
  enc_byte(e, (uint8_t)(word >> 8));
  if (l < 7)
    return;
  l -= 7;
  uint8_t nib = (uint8_t)(l < 15 ? l : 15);
  if (!e->have_half) {
    e->half_at = e->pos;
    enc_byte(e, nib);
    e->have_half = 1;
  } else {
    e->out[e->half_at] |= (uint8_t)(nib << 4);
    e->have_half = 0;
  }
  if (l < 15)
    return;
  l -= 15;
  if (l < 255) {
    enc_byte(e, (uint8_t)l);
    return;
  }
  enc_byte(e, 255);
  l += 15 + 7;
  if (l < 65536) {
    enc_byte(e, (uint8_t)l);
    enc_byte(e, (uint8_t)(l >> 8));
  } else {
    enc_byte(e, 0);
    enc_byte(e, 0);
    for (int i = 0; i < 4; i++)
      enc_byte(e, (uint8_t)(l >> (8 * i)));
  }
}

size_t eb_xpress_compress(const uint8_t *in, size_t len, uint8_t *out, size_t cap) {
  enc e = {out, cap, 4, 0, 0, 0, 0, 0, 0};
  memset(out, 0, cap < 4 ? cap : 4);
  size_t i = 0;
  while (i < len) {
    size_t best_len = 0, best_dist = 0;
    size_t window = i < 8192 ? i : 8192;
    for (size_t d = 1; d <= window; d++) {
      size_t l = 0;
      while (i + l < len && in[i + l - d] == in[i + l] && l < 100000)
        l++;
      if (l > best_len) {
        best_len = l;
        best_dist = d;
      }
    }
    if (best_len >= 3) {
      enc_match(&e, best_dist, best_len);
      i += best_len;
    } else {
      enc_flag(&e, 0);
      enc_byte(&e, in[i++]);
    }
  }
  /* End marker: the remaining flag bits are 1 (a match with no input). */
  enc_flag(&e, 1);
  while (e.nflags < 32) {
    e.flags = (e.flags << 1) | 1;
    e.nflags++;
  }
  put32(e.out + e.flag_at, e.flags);
  return e.overflow ? 0 : e.pos;
}
