/*
 * Compressed inputs (zinput.h): a FILE whose reads run a gzip (zlib), zstd
 * or xz (liblzma) decoder over the file underneath, 64 KiB at a time. It is
 * a stdio cookie (fopencookie, glibc), so fread, getc, ungetc, fseeko and
 * libpcap's pcap_fopen_offline all work on it unchanged. Concatenated
 * streams (gzip members, zstd frames, xz streams) read as one, as their
 * command-line tools do. A build without the cookie or a library opens
 * such files plain, and the registry then says what to decompress them
 * with. Library code: never prints.
 */
#define _GNU_SOURCE /* fopencookie */
#include "zinput.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__GLIBC__) && defined(ST_HAVE_ZLIB) && defined(ST_HAVE_ZSTD) && defined(ST_HAVE_LZMA)
#define ST_ZINPUT 1
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#endif

st_zkind st_zkind_of(const uint8_t *h, size_t n) {
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
    return ST_Z_GZIP;
  if (n >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
    return ST_Z_ZSTD;
  if (n >= 6 && memcmp(h,
                       "\xfd"
                       "7zXZ\0",
                       6) == 0)
    return ST_Z_XZ;
  return ST_Z_NONE;
}

const char *st_zkind_name(st_zkind k) {
  return k == ST_Z_GZIP ? "gzip" : k == ST_Z_ZSTD ? "zstd" : k == ST_Z_XZ ? "xz" : "";
}

bool st_zinput_supported(st_zkind k) {
#ifdef ST_ZINPUT
  return k != ST_Z_NONE;
#else
  (void)k;
  return false;
#endif
}

static FILE *stdin_file; /* what st_zopen("-") returns, once decided */
static st_zkind stdin_kind;

#ifdef ST_ZINPUT

#define ZBUF (64u << 10)
/* What a backward seek can return to without decompressing from the start
 * again: the last 8 MiB handed out, kept once a reader has sought back
 * (the .etl reader does, between per-CPU buffers; a rewind after a magic
 * check too). */
#define HISTORY (8u << 20)

typedef struct zin {
  FILE *src;
  bool own_src; /* false for standard input */
  st_zkind kind;
  uint8_t in[ZBUF];
  size_t in_pos, in_len;
  bool src_eof, end; /* the source is read out; the stream ended */
  bool broken;       /* damage found: reads fail from here on */
  uint64_t dec;      /* uncompressed bytes the decoder has made */
  uint64_t pos;      /* where the next read starts: dec, or in the history */
  uint8_t *hist;     /* ring of the last hlen bytes before dec; NULL until needed */
  size_t hlen;
  int64_t size; /* uncompressed size once known, else -1 */
  z_stream gz;
  ZSTD_DCtx *zd;
  bool zframe_open; /* zstd: inside a frame (its end not yet seen) */
  lzma_stream xz;
  bool ready;
  size_t made_before_damage; /* bytes inflate_more made before it failed */
  uint8_t scratch[ZBUF];     /* what a forward seek reads past */
} zin;

static bool fill_in(zin *z) {
  if (z->in_pos < z->in_len)
    return true;
  if (z->src_eof)
    return false;
  z->in_len = fread(z->in, 1, sizeof z->in, z->src);
  z->in_pos = 0;
  if (z->in_len == 0)
    z->src_eof = true;
  return z->in_len > 0;
}

static void decoder_end(zin *z) {
  if (!z->ready)
    return;
  if (z->kind == ST_Z_GZIP)
    inflateEnd(&z->gz);
  else if (z->kind == ST_Z_XZ)
    lzma_end(&z->xz);
  z->ready = false;
}

static bool decoder_start(zin *z) {
  decoder_end(z);
  if (z->kind == ST_Z_GZIP) {
    memset(&z->gz, 0, sizeof z->gz);
    if (inflateInit2(&z->gz, 16 + MAX_WBITS) != Z_OK)
      return false;
  } else if (z->kind == ST_Z_ZSTD) {
    if (!z->zd && !(z->zd = ZSTD_createDCtx()))
      return false;
    ZSTD_DCtx_reset(z->zd, ZSTD_reset_session_only);
    z->zframe_open = false;
  } else {
    lzma_stream init = LZMA_STREAM_INIT;
    z->xz = init;
    if (lzma_stream_decoder(&z->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
      return false;
  }
  z->ready = true;
  return true;
}

static ssize_t inflate_more(zin *z, uint8_t *out, size_t n);

static ssize_t fail_after(zin *z, size_t made) {
  z->made_before_damage = made;
  return -1;
}

/* Decompresses into out[0, n): bytes made, 0 at the end, -1 on damage.
 * What was made before damage is handed out first; the damage is told
 * by the next call. */
static ssize_t inflate_some(zin *z, uint8_t *out, size_t n) {
  if (z->broken)
    return -1;
  ssize_t got = inflate_more(z, out, n);
  if (got >= 0)
    return got;
  z->broken = true;
  return z->made_before_damage ? (ssize_t)z->made_before_damage : -1;
}

static ssize_t inflate_more(zin *z, uint8_t *out, size_t n) {
  z->made_before_damage = 0;
  size_t made = 0;
  while (made < n && !z->end) {
    bool more = fill_in(z);
    const uint8_t *ip = z->in + z->in_pos;
    size_t il = z->in_len - z->in_pos, used = 0, got = 0;
    if (z->kind == ST_Z_GZIP) {
      z->gz.next_in = (Bytef *)ip;
      z->gz.avail_in = (uInt)il;
      z->gz.next_out = out + made;
      z->gz.avail_out = (uInt)(n - made);
      int rc = inflate(&z->gz, Z_NO_FLUSH);
      used = il - z->gz.avail_in;
      got = n - made - z->gz.avail_out;
      if (rc == Z_STREAM_END) {
        /* Another member may follow. */
        z->in_pos += used;
        made += got;
        if (!fill_in(z))
          z->end = true;
        else if (inflateReset(&z->gz) != Z_OK)
          return fail_after(z, made);
        continue;
      }
      if (rc != Z_OK && !(rc == Z_BUF_ERROR && !more))
        return fail_after(z, made);
    } else if (z->kind == ST_Z_ZSTD) {
      ZSTD_inBuffer in = {ip, il, 0};
      ZSTD_outBuffer o = {out + made, n - made, 0};
      size_t rc = ZSTD_decompressStream(z->zd, &o, &in);
      if (ZSTD_isError(rc))
        return fail_after(z, made);
      used = in.pos;
      got = o.pos;
      if (used || got)
        z->zframe_open = rc != 0;
      if (!more && !got && !used) {
        if (z->zframe_open)
          return fail_after(z, made); /* the input ends inside a frame */
        z->end = true;
      }
    } else {
      z->xz.next_in = ip;
      z->xz.avail_in = il;
      z->xz.next_out = out + made;
      z->xz.avail_out = n - made;
      lzma_ret rc = lzma_code(&z->xz, more ? LZMA_RUN : LZMA_FINISH);
      used = il - z->xz.avail_in;
      got = n - made - z->xz.avail_out;
      if (rc == LZMA_STREAM_END)
        z->end = true;
      else if (rc != LZMA_OK)
        return fail_after(z, made);
    }
    z->in_pos += used;
    made += got;
    if (!more && !got && !z->end)
      return fail_after(z, made); /* the input ended inside a stream */
  }
  return (ssize_t)made;
}

/* Keeps what the decoder made in the history ring. */
static void remember(zin *z, const uint8_t *p, size_t n) {
  if (!z->hist)
    return;
  if (n > HISTORY) {
    p += n - HISTORY;
    n = HISTORY;
  }
  size_t at = (size_t)((z->dec - n) % HISTORY), first = HISTORY - at < n ? HISTORY - at : n;
  memcpy(z->hist + at, p, first);
  memcpy(z->hist, p + first, n - first);
  z->hlen = z->hlen + n > HISTORY ? HISTORY : z->hlen + n;
}

/* Decompresses on into out: bytes made (remembered), 0 at the end, -1. */
static ssize_t produce(zin *z, uint8_t *out, size_t n) {
  ssize_t got = inflate_some(z, out, n);
  if (got > 0) {
    z->dec += (uint64_t)got;
    remember(z, out, (size_t)got);
  }
  return got;
}

static ssize_t zin_read(void *c, char *buf, size_t n) {
  zin *z = c;
  if (z->pos < z->dec) {
    /* After a backward seek: from the history first. */
    size_t k = z->dec - z->pos < n ? (size_t)(z->dec - z->pos) : n;
    size_t at = (size_t)(z->pos % HISTORY), first = HISTORY - at < k ? HISTORY - at : k;
    memcpy(buf, z->hist + at, first);
    memcpy(buf + first, z->hist, k - first);
    z->pos += k;
    return (ssize_t)k;
  }
  ssize_t got = produce(z, (uint8_t *)buf, n);
  if (got < 0 || (got == 0 && ferror(z->src))) {
    errno = EIO;
    return -1;
  }
  z->pos = z->dec;
  return got;
}

/* Back to the first byte: the source from its start, a fresh decoder. */
static int restart(zin *z) {
  if (!z->own_src || fseeko(z->src, 0, SEEK_SET) != 0)
    return -1;
  clearerr(z->src);
  z->in_pos = z->in_len = 0;
  z->src_eof = z->end = z->broken = false;
  z->pos = z->dec = 0;
  z->hlen = 0;
  if (!z->hist && !(z->hist = malloc(HISTORY)))
    return -1;
  return decoder_start(z) ? 0 : -1;
}

/* Moves to the uncompressed offset to (or the end), decompressing on
 * when it is ahead of the decoder; to is not behind the history. */
static int skip_to(zin *z, uint64_t to) {
  while (z->dec < to) {
    size_t want = to - z->dec < ZBUF ? (size_t)(to - z->dec) : ZBUF;
    ssize_t got = produce(z, z->scratch, want);
    if (got < 0)
      return -1;
    if (got == 0)
      break;
  }
  z->pos = to < z->dec ? to : z->dec;
  return 0;
}

static int zin_seek(void *c, off64_t *off, int whence) {
  zin *z = c;
  int64_t to;
  if (whence == SEEK_SET)
    to = *off;
  else if (whence == SEEK_CUR)
    to = (int64_t)z->pos + *off;
  else {
    if (z->size < 0) {
      /* Read to the end once to learn the size. */
      if (skip_to(z, UINT64_MAX) < 0 || !z->end) {
        errno = EIO;
        return -1;
      }
      z->size = (int64_t)z->dec;
    }
    to = z->size + *off;
  }
  if (to < 0) {
    errno = EINVAL;
    return -1;
  }
  if ((uint64_t)to < z->dec - z->hlen && restart(z) < 0) {
    errno = ESPIPE;
    return -1;
  }
  if (skip_to(z, (uint64_t)to) < 0) {
    errno = EIO;
    return -1;
  }
  *off = (off64_t)z->pos;
  return 0;
}

static int zin_close(void *c) {
  zin *z = c;
  decoder_end(z);
  ZSTD_freeDCtx(z->zd);
  if (z->own_src)
    fclose(z->src);
  free(z->hist);
  free(z);
  return 0;
}

static FILE *wrap(FILE *src, bool own, st_zkind kind) {
  zin *z = calloc(1, sizeof *z);
  if (!z) {
    errno = ENOMEM;
    return NULL;
  }
  z->src = src;
  z->own_src = own;
  z->kind = kind;
  z->size = -1;
  if (!decoder_start(z)) {
    free(z);
    errno = ENOMEM;
    return NULL;
  }
  cookie_io_functions_t io = {.read = zin_read, .seek = zin_seek, .close = zin_close};
  FILE *f = fopencookie(z, "rb", io);
  if (!f) {
    decoder_end(z);
    ZSTD_freeDCtx(z->zd);
    free(z);
  }
  return f;
}

/* Standard input, decided by its first byte (all stdio can put back):
 * 0x1f, 0x28 and 0xfd start no JSON line and no .sktrace; the decoder
 * checks the rest of the magic. */
static FILE *open_stdin(void) {
  int c = getc(stdin);
  if (c != EOF)
    ungetc(c, stdin);
  st_zkind k = c == 0x1f ? ST_Z_GZIP : c == 0x28 ? ST_Z_ZSTD : c == 0xfd ? ST_Z_XZ : ST_Z_NONE;
  FILE *f = k != ST_Z_NONE ? wrap(stdin, false, k) : NULL;
  stdin_kind = f ? k : ST_Z_NONE;
  return f ? f : stdin;
}
#endif /* ST_ZINPUT */

FILE *st_zopen(const char *path, st_zkind *kind) {
  if (kind)
    *kind = ST_Z_NONE;
  if (strcmp(path, "-") == 0) {
    if (!stdin_file) {
#ifdef ST_ZINPUT
      stdin_file = open_stdin();
#else
      stdin_file = stdin;
#endif
    }
    if (kind)
      *kind = stdin_kind;
    return stdin_file;
  }
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
#ifdef ST_ZINPUT
  uint8_t head[6];
  size_t n = fread(head, 1, sizeof head, f);
  st_zkind k = st_zkind_of(head, n);
  if (fseeko(f, 0, SEEK_SET) != 0) {
    int e = errno;
    fclose(f);
    errno = e;
    return NULL;
  }
  if (k == ST_Z_NONE)
    return f;
  FILE *z = wrap(f, true, k);
  if (!z) {
    int e = errno;
    fclose(f);
    errno = e;
    return NULL;
  }
  if (kind)
    *kind = k;
  return z;
#else
  return f;
#endif
}

void st_zclose(FILE *f) {
  if (f && f != stdin && f != stdin_file)
    fclose(f);
}
