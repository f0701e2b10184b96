/*
 * .etl reader: buffer index, logfile header, record walk, per-processor
 * merge. See etl_file.h for the contract. All multi-byte fields are read
 * little-endian through bounds-checked helpers; nothing here depends on the
 * host's byte order or pointer size.
 */
#include "etl_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "etl_xpress.h"
#include "socktrace/status.h"
#include "zinput.h"

#define MAX_BUFFER_SIZE (64u << 20)
#define MAX_PROBLEMS 64
#define LOGFILE_MODE_COMPRESSED 0x04000000u
#define FILETIME_UNIX_EPOCH 116444736000000000ll

typedef struct cpu_stream {
  size_t *bufs; /* buffer indices, by sequence number */
  size_t nbufs, next_buf;
  uint8_t *data; /* the loaded buffer: header + records */
  size_t end, pos;
  size_t cur_buf;
  bool loaded, has_peek, done;
  etl_record peek;
} cpu_stream;

struct etl_reader {
  FILE *f;
  char *path;
  uint64_t file_size;
  etl_buffer *buffers;
  size_t nbuffers;
  etl_logfile log;
  bool compressed;
  cpu_stream *streams;
  size_t nstreams;
  long refill; /* stream whose record was returned last, to advance next */
  etl_problem problems[MAX_PROBLEMS];
  size_t nproblems, problem_head;
  uint64_t problems_dropped;
};

static void add_problem(etl_reader *r, uint64_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void add_problem(etl_reader *r, uint64_t offset, const char *fmt, ...) {
  if (r->nproblems == MAX_PROBLEMS) {
    r->problems_dropped++;
    return;
  }
  etl_problem *p = &r->problems[(r->problem_head + r->nproblems++) % MAX_PROBLEMS];
  p->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->what, sizeof p->what, fmt, ap);
  va_end(ap);
}

/* 64-bit file offsets on every platform. */
static int seek_to(FILE *f, uint64_t at) {
#ifdef _WIN32
  return _fseeki64(f, (long long)at, SEEK_SET);
#else
  return fseeko(f, (off_t)at, SEEK_SET);
#endif
}

int etl_reader_problem(etl_reader *r, etl_problem *p) {
  if (!r->nproblems)
    return 0;
  *p = r->problems[r->problem_head];
  r->problem_head = (r->problem_head + 1) % MAX_PROBLEMS;
  r->nproblems--;
  return 1;
}

uint64_t etl_filetime_to_ns(int64_t ft) {
  if (ft <= FILETIME_UNIX_EPOCH)
    return 0;
  return (uint64_t)(ft - FILETIME_UNIX_EPOCH) * 100u;
}

void etl_guid_format(const uint8_t g[16], char out[39]) {
  snprintf(out, 39, "{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", st_le32(g),
           st_le16(g + 4), st_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* UTF-16LE (NUL-terminated within max units) to UTF-8; returns units read
 * including the terminator, or the units available when there is none. */
static size_t utf16_to_utf8(const uint8_t *p, size_t units, char *out, size_t outlen) {
  size_t o = 0, i = 0;
  for (; i < units; i++) {
    uint32_t c = st_le16(p + 2 * i);
    if (c == 0) {
      i++;
      break;
    }
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < units) {
      uint32_t lo = st_le16(p + 2 * (i + 1));
      if (lo >= 0xDC00 && lo < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        i++;
      }
    }
    char tmp[4];
    size_t n;
    if (c < 0x80) {
      tmp[0] = (char)c;
      n = 1;
    } else if (c < 0x800) {
      tmp[0] = (char)(0xC0 | c >> 6);
      tmp[1] = (char)(0x80 | (c & 0x3F));
      n = 2;
    } else if (c < 0x10000) {
      tmp[0] = (char)(0xE0 | c >> 12);
      tmp[1] = (char)(0x80 | (c >> 6 & 0x3F));
      tmp[2] = (char)(0x80 | (c & 0x3F));
      n = 3;
    } else {
      tmp[0] = (char)(0xF0 | c >> 18);
      tmp[1] = (char)(0x80 | (c >> 12 & 0x3F));
      tmp[2] = (char)(0x80 | (c >> 6 & 0x3F));
      tmp[3] = (char)(0x80 | (c & 0x3F));
      n = 4;
    }
    if (o + n < outlen) {
      memcpy(out + o, tmp, n);
      o += n;
    }
  }
  if (outlen)
    out[o < outlen ? o : outlen - 1] = 0;
  return i;
}

/* The TRACE_LOGFILE_HEADER: data of the header buffer's first record. */
static void parse_logfile(etl_logfile *l, const uint8_t *d, size_t len, bool ptr64_record) {
  if (len < 64)
    return;
  l->buffer_size = st_le32(d);
  memcpy(l->version, d + 4, 4);
  l->build = st_le32(d + 8);
  l->processors = st_le32(d + 12);
  l->end_time = (int64_t)st_le64(d + 16);
  l->timer_resolution = st_le32(d + 24);
  l->max_file_size = st_le32(d + 28);
  l->log_file_mode = st_le32(d + 32);
  l->buffers_written = st_le32(d + 36);
  l->start_buffers = st_le32(d + 40);
  l->pointer_size = st_le32(d + 44);
  l->events_lost = st_le32(d + 48);
  l->cpu_mhz = st_le32(d + 52);
  size_t p =
      l->pointer_size == 4 || l->pointer_size == 8 ? l->pointer_size : (ptr64_record ? 8 : 4);
  /* Two name pointers, then TIME_ZONE_INFORMATION (176 bytes). */
  size_t boot = 56 + 2 * p + 176;
  if (len < boot + 32)
    return;
  l->boot_time = (int64_t)st_le64(d + boot);
  l->perf_freq = (int64_t)st_le64(d + boot + 8);
  l->start_time = (int64_t)st_le64(d + boot + 16);
  l->clock_type = st_le32(d + boot + 24);
  l->buffers_lost = st_le32(d + boot + 28);
  size_t names = boot + 32;
  if (names < len) {
    size_t units = (len - names) / 2;
    size_t used = utf16_to_utf8(d + names, units, l->logger_name, sizeof l->logger_name);
    if (used < units)
      utf16_to_utf8(d + names + 2 * used, units - used, l->logfile_name, sizeof l->logfile_name);
  }
  l->present = true;
}

static uint64_t record_time(const etl_reader *r, int64_t ts) {
  const etl_logfile *l = &r->log;
  if (!l->present)
    return 0;
  uint64_t start = etl_filetime_to_ns(l->start_time);
  if (l->clock_type == 2) /* system time: timestamps are FILETIMEs */
    return etl_filetime_to_ns(ts);
  int64_t freq = l->clock_type == 3 ? (int64_t)l->cpu_mhz * 1000000 : l->perf_freq;
  /* A damaged header can hold any numbers: past these bounds the exact
   * integer conversion would overflow, and the time means nothing anyway. */
  if (freq <= 0 || freq > 1000000000000ll)
    return start;
  int64_t delta = (int64_t)((uint64_t)ts - (uint64_t)l->qpc0);
  int64_t whole = delta / freq, rest = delta % freq;
  if (whole > 9000000000ll || whole < -9000000000ll)
    return start;
  /* rest * 10^9 / freq without overflow: rest < freq <= 10^12, so split
   * 10^9 into 10^6 * 10^3. */
  int64_t micro = rest * 1000000ll;
  int64_t ns = whole * 1000000000ll + micro / freq * 1000 + micro % freq * 1000 / freq;
  return start + (uint64_t)ns; /* unsigned: wraps instead of overflowing */
}

/* Parses the record at data[pos..end). Returns its size (aligned), 0 at a
 * clean end, or -1 when the record is malformed (what says why). */
static long parse_record(const uint8_t *data, size_t pos, size_t end, etl_record *rec,
                         const char **what) {
  if (end - pos < 4) {
    *what = "record header cut short";
    return -1;
  }
  const uint8_t *p = data + pos;
  memset(rec, 0, sizeof *rec);
  rec->header_type = p[2];
  rec->marker = p[3];
  size_t hdr;
  switch (rec->header_type) {
  case ETL_HT_SYSTEM32:
  case ETL_HT_SYSTEM64:
  case ETL_HT_COMPACT32:
  case ETL_HT_COMPACT64:
    hdr = rec->header_type <= ETL_HT_SYSTEM64 ? 32 : 24;
    rec->kind = ETL_SYSTEM;
    rec->ptr64 = rec->header_type == ETL_HT_SYSTEM64 || rec->header_type == ETL_HT_COMPACT64;
    if (end - pos < hdr) {
      *what = "system header cut short";
      return -1;
    }
    rec->size = st_le16(p + 4);
    rec->hook_id = st_le16(p + 6);
    rec->tid = st_le32(p + 8);
    rec->pid = st_le32(p + 12);
    rec->timestamp = (int64_t)st_le64(p + 16);
    break;
  case ETL_HT_PERFINFO32:
  case ETL_HT_PERFINFO64:
    hdr = 16;
    rec->kind = ETL_PERFINFO;
    rec->ptr64 = rec->header_type == ETL_HT_PERFINFO64;
    if (end - pos < hdr) {
      *what = "perfinfo header cut short";
      return -1;
    }
    rec->size = st_le16(p + 4);
    rec->hook_id = st_le16(p + 6);
    rec->timestamp = (int64_t)st_le64(p + 8);
    break;
  case ETL_HT_EVENT32:
  case ETL_HT_EVENT64:
  case ETL_HT_FULL32:
  case ETL_HT_FULL64:
  case ETL_HT_INSTANCE32:
  case ETL_HT_INSTANCE64: {
    bool ev = rec->header_type == ETL_HT_EVENT32 || rec->header_type == ETL_HT_EVENT64;
    bool inst = rec->header_type == ETL_HT_INSTANCE32 || rec->header_type == ETL_HT_INSTANCE64;
    hdr = ev ? 80 : inst ? 72 : 48;
    rec->kind = ev ? ETL_EVENT : ETL_CLASSIC;
    rec->ptr64 = rec->header_type == ETL_HT_EVENT64 || rec->header_type == ETL_HT_FULL64 ||
                 rec->header_type == ETL_HT_INSTANCE64;
    if (end - pos < hdr) {
      *what = "event header cut short";
      return -1;
    }
    rec->size = st_le16(p);
    rec->tid = st_le32(p + 8);
    rec->pid = st_le32(p + 12);
    rec->timestamp = (int64_t)st_le64(p + 16);
    memcpy(rec->provider, p + 24, 16);
    if (ev) {
      rec->flags = st_le16(p + 4);
      rec->property = st_le16(p + 6);
      rec->id = st_le16(p + 40);
      rec->version = p[42];
      rec->channel = p[43];
      rec->level = p[44];
      rec->opcode = p[45];
      rec->task = st_le16(p + 46);
      rec->keyword = st_le64(p + 48);
    } else {
      rec->opcode = p[4]; /* classic: Class.Type, Class.Level, Class.Version */
      rec->level = p[5];
      rec->version = (uint8_t)st_le16(p + 6);
    }
    break;
  }
  default:
    *what = "unknown record header type";
    return -1;
  }
  if (rec->size < hdr || rec->size > end - pos) {
    *what = "record size out of range";
    return -1;
  }
  size_t udata = hdr;
  if (rec->kind == ETL_EVENT && (rec->flags & 0x1)) {
    for (;;) {
      if (rec->size - udata < 8) {
        *what = "extended item cut short";
        return -1;
      }
      const uint8_t *it = p + udata;
      etl_ext_item item = {st_le16(it), st_le16(it + 2), st_le16(it + 4), st_le16(it + 6),
                           (uint32_t)udata};
      if (item.size < 8 || item.size > rec->size - udata || item.data_size > item.size - 8) {
        *what = "extended item size out of range";
        return -1;
      }
      if (rec->n_ext < ETL_MAX_EXT)
        rec->ext[rec->n_ext++] = item;
      udata += item.size;
      if (!(item.linkage & 1))
        break;
    }
  }
  rec->user_data = p + udata;
  rec->user_len = (uint32_t)(rec->size - udata);
  size_t aligned = ((size_t)rec->size + 7) & ~(size_t)7;
  return (long)(aligned < end - pos ? aligned : end - pos);
}

static bool header_valid(const etl_buffer *b, bool compressed_file) {
  if (b->buffer_size < ETL_BUFFER_HEADER || b->buffer_size > MAX_BUFFER_SIZE)
    return false;
  if (b->offset < ETL_BUFFER_HEADER || b->offset > MAX_BUFFER_SIZE)
    return false;
  if (!(b->flag & ETL_BUF_COMPRESSED) && b->offset > b->buffer_size)
    return false;
  (void)compressed_file;
  return true;
}

static void read_buffer_header(const uint8_t *h, uint64_t at, etl_buffer *b) {
  b->file_offset = at;
  b->buffer_size = st_le32(h);
  b->saved_offset = st_le32(h + 4);
  b->timestamp = (int64_t)st_le64(h + 0x10);
  b->sequence = st_le64(h + 0x18);
  b->processor = st_le16(h + 0x28);
  b->logger_id = st_le16(h + 0x2A);
  b->state = st_le32(h + 0x2C);
  b->offset = st_le32(h + 0x30);
  b->flag = st_le16(h + 0x34);
  b->type = st_le16(h + 0x36);
}

/* Loads buffer i into s->data: the 72-byte header, then its records (plain
 * or decompressed). Returns false (with a problem) when it cannot. */
static bool load_buffer(etl_reader *r, cpu_stream *s, size_t i) {
  const etl_buffer *b = &r->buffers[i];
  free(s->data);
  s->data = NULL;
  size_t stored = b->buffer_size;
  uint8_t *raw = malloc(stored);
  if (!raw || seek_to(r->f, b->file_offset) != 0 || fread(raw, 1, stored, r->f) != stored) {
    add_problem(r, b->file_offset, "cannot read buffer (%llu bytes)", (unsigned long long)stored);
    free(raw);
    return false;
  }
  if (b->flag & ETL_BUF_COMPRESSED) {
    size_t want = b->offset - ETL_BUFFER_HEADER;
    uint8_t *out = malloc(ETL_BUFFER_HEADER + want);
    long got = out ? st_xpress_decompress(raw + ETL_BUFFER_HEADER, stored - ETL_BUFFER_HEADER,
                                          out + ETL_BUFFER_HEADER, want)
                   : -1;
    if (got != (long)want) {
      add_problem(r, b->file_offset,
                  "compressed buffer does not decompress to its size (%lld of %llu bytes); skipped",
                  got < 0 ? 0ll : (long long)got, (unsigned long long)want);
      free(out);
      free(raw);
      return false;
    }
    memcpy(out, raw, ETL_BUFFER_HEADER);
    free(raw);
    raw = out;
  }
  s->data = raw;
  s->end = b->offset;
  s->pos = ETL_BUFFER_HEADER;
  s->cur_buf = i;
  s->loaded = true;
  return true;
}

/* Fills s->peek with the stream's next record, loading buffers as needed. */
static void stream_advance(etl_reader *r, cpu_stream *s) {
  s->has_peek = false;
  while (!s->done) {
    if (!s->loaded) {
      if (s->next_buf == s->nbufs) {
        s->done = true;
        free(s->data);
        s->data = NULL;
        return;
      }
      size_t i = s->bufs[s->next_buf++];
      if (!load_buffer(r, s, i))
        continue;
    }
    if (s->pos >= s->end) {
      s->loaded = false;
      continue;
    }
    const char *what = NULL;
    long n = parse_record(s->data, s->pos, s->end, &s->peek, &what);
    if (n <= 0) {
      const etl_buffer *b = &r->buffers[s->cur_buf];
      uint64_t at = (b->flag & ETL_BUF_COMPRESSED) ? b->file_offset : b->file_offset + s->pos;
      add_problem(r, at, "corrupt record: %s; the rest of this buffer (%llu bytes) is skipped",
                  what ? what : "empty record", (unsigned long long)(s->end - s->pos));
      s->loaded = false;
      continue;
    }
    s->peek.buffer_index = (uint32_t)s->cur_buf;
    s->peek.file_offset = (r->buffers[s->cur_buf].flag & ETL_BUF_COMPRESSED)
                              ? r->buffers[s->cur_buf].file_offset
                              : r->buffers[s->cur_buf].file_offset + s->pos;
    s->peek.time_ns = record_time(r, s->peek.timestamp);
    s->pos += (size_t)n;
    s->has_peek = true;
    return;
  }
}

int etl_reader_next(etl_reader *r, etl_record *rec) {
  if (r->refill >= 0) {
    stream_advance(r, &r->streams[r->refill]);
    r->refill = -1;
  }
  long best = -1;
  for (size_t i = 0; i < r->nstreams; i++) {
    cpu_stream *s = &r->streams[i];
    if (!s->has_peek)
      continue;
    if (best < 0 || s->peek.timestamp < r->streams[best].peek.timestamp)
      best = (long)i;
  }
  if (best < 0)
    return 0;
  *rec = r->streams[best].peek;
  r->refill = best; /* rec points into that stream's buffer until then */
  return 1;
}

/* A buffer's place in its processor's sequence, sortable without context. */
typedef struct seq_key {
  uint64_t sequence, file_offset;
  size_t index;
} seq_key;

static int cmp_seq_key(const void *a, const void *b) {
  const seq_key *x = a, *y = b;
  if (x->sequence != y->sequence)
    return x->sequence < y->sequence ? -1 : 1;
  return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

static int sort_by_sequence(const etl_reader *r, cpu_stream *s) {
  seq_key *keys = malloc((s->nbufs ? s->nbufs : 1) * sizeof *keys);
  if (!keys)
    return ST_ENOMEM;
  for (size_t i = 0; i < s->nbufs; i++) {
    const etl_buffer *b = &r->buffers[s->bufs[i]];
    keys[i] = (seq_key){b->sequence, b->file_offset, s->bufs[i]};
  }
  qsort(keys, s->nbufs, sizeof *keys, cmp_seq_key);
  for (size_t i = 0; i < s->nbufs; i++)
    s->bufs[i] = keys[i].index;
  free(keys);
  return 0;
}

static int build_streams(etl_reader *r) {
  for (size_t i = 0; i < r->nbuffers; i++) {
    size_t cpu = r->buffers[i].processor;
    if (cpu >= r->nstreams) {
      if (cpu > 4096)
        continue; /* implausible; the buffer was validated, so keep going */
      cpu_stream *n = realloc(r->streams, (cpu + 1) * sizeof *n);
      if (!n)
        return ST_ENOMEM;
      memset(n + r->nstreams, 0, (cpu + 1 - r->nstreams) * sizeof *n);
      r->streams = n;
      r->nstreams = cpu + 1;
    }
    cpu_stream *s = &r->streams[cpu];
    size_t *nb = realloc(s->bufs, (s->nbufs + 1) * sizeof *nb);
    if (!nb)
      return ST_ENOMEM;
    s->bufs = nb;
    s->bufs[s->nbufs++] = i;
  }
  for (size_t c = 0; c < r->nstreams; c++) {
    if (sort_by_sequence(r, &r->streams[c]) < 0)
      return ST_ENOMEM;
    stream_advance(r, &r->streams[c]);
  }
  return 0;
}

/* Reads the logfile header from the header buffer's first record. */
static void read_logfile(etl_reader *r) {
  for (size_t i = 0; i < r->nbuffers; i++) {
    if (r->buffers[i].type != 4)
      continue;
    cpu_stream tmp = {0};
    if (!load_buffer(r, &tmp, i))
      return;
    etl_record rec;
    const char *what;
    if (parse_record(tmp.data, tmp.pos, tmp.end, &rec, &what) > 0 && rec.kind == ETL_SYSTEM &&
        rec.hook_id == 0) {
      size_t hdr = rec.header_type <= ETL_HT_SYSTEM64 ? 32 : 24;
      parse_logfile(&r->log, tmp.data + tmp.pos + hdr, rec.size - hdr, rec.ptr64);
      r->log.qpc0 = rec.timestamp;
    }
    free(tmp.data);
    return;
  }
}

int etl_reader_open(const char *path, etl_reader **out, char *err, size_t errlen) {
  FILE *f = st_zopen(path, NULL); /* an .etl.gz too: it seeks, which zinput allows */
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, st_strerror(-errno));
    return ST_ENOENT;
  }
  return etl_reader_open_stream(f, path, out, err, errlen);
}

int etl_reader_open_stream(FILE *f, const char *path, etl_reader **out, char *err, size_t errlen) {
  etl_reader *r = calloc(1, sizeof *r);
  if (!r) {
    fclose(f);
    return ST_ENOMEM;
  }
  r->refill = -1;
  r->f = f;
#ifdef _WIN32
  _fseeki64(r->f, 0, SEEK_END);
  long long size = _ftelli64(r->f);
#else
  fseeko(r->f, 0, SEEK_END);
  long long size = (long long)ftello(r->f);
#endif
  r->file_size = size > 0 ? (uint64_t)size : 0;
  uint64_t at = 0;
  uint32_t fixed_size = 0;
  size_t cap = 0;
  while (at + ETL_BUFFER_HEADER <= r->file_size) {
    uint8_t h[ETL_BUFFER_HEADER];
    if (seek_to(r->f, at) != 0 || fread(h, 1, sizeof h, r->f) != sizeof h)
      break;
    etl_buffer b;
    read_buffer_header(h, at, &b);
    if (!header_valid(&b, r->compressed)) {
      if (!fixed_size || r->compressed) {
        add_problem(r, at, "corrupt buffer header; the rest of the file (%llu bytes) is skipped",
                    (unsigned long long)(r->file_size - at));
        break;
      }
      add_problem(r, at, "corrupt buffer header; buffer skipped (%u bytes)", fixed_size);
      at += fixed_size;
      continue;
    }
    if (at + b.buffer_size > r->file_size) {
      add_problem(r, at, "truncated buffer: %llu of %u bytes present; skipped",
                  (unsigned long long)(r->file_size - at), b.buffer_size);
      break;
    }
    if (r->nbuffers == cap) {
      cap = cap ? cap * 2 : 64;
      etl_buffer *n = realloc(r->buffers, cap * sizeof *n);
      if (!n) {
        etl_reader_close(r);
        return ST_ENOMEM;
      }
      r->buffers = n;
    }
    r->buffers[r->nbuffers++] = b;
    if (b.flag & ETL_BUF_COMPRESSED)
      r->compressed = true;
    else if (!fixed_size)
      fixed_size = b.buffer_size;
    at += b.buffer_size;
  }
  if (at < r->file_size && at + ETL_BUFFER_HEADER > r->file_size)
    add_problem(r, at, "trailing %llu bytes are not a whole buffer; ignored",
                (unsigned long long)(r->file_size - at));
  if (!r->nbuffers) {
    snprintf(err, errlen, "%s: not an .etl file (no valid buffer found)", path);
    etl_reader_close(r);
    return ST_EBADMSG;
  }
  read_logfile(r);
  if (r->log.log_file_mode & LOGFILE_MODE_COMPRESSED)
    r->compressed = true;
  int rc = build_streams(r);
  if (rc < 0) {
    etl_reader_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

void etl_reader_close(etl_reader *r) {
  if (!r)
    return;
  for (size_t i = 0; i < r->nstreams; i++) {
    free(r->streams[i].bufs);
    free(r->streams[i].data);
  }
  free(r->streams);
  free(r->buffers);
  if (r->f)
    fclose(r->f);
  free(r);
}

const etl_logfile *etl_reader_logfile(const etl_reader *r) {
  return &r->log;
}
size_t etl_reader_buffer_count(const etl_reader *r) {
  return r->nbuffers;
}
const etl_buffer *etl_reader_buffer(const etl_reader *r, size_t i) {
  return i < r->nbuffers ? &r->buffers[i] : NULL;
}

void etl_reader_loss(const etl_reader *r, etl_loss *out) {
  memset(out, 0, sizeof *out);
  out->header_events_lost = r->log.events_lost;
  out->header_buffers_lost = r->log.buffers_lost;
  for (size_t i = 0; i < r->nbuffers; i++) {
    out->buffers_flagged_events_lost += (r->buffers[i].flag & ETL_BUF_EVENTS_LOST) != 0;
    out->buffers_flagged_buffer_lost += (r->buffers[i].flag & ETL_BUF_BUFFER_LOST) != 0;
  }
}
