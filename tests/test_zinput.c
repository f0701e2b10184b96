/* Compressed inputs and compressed .sktrace files through the reader API
 * (socktrace/reader.h): the shared fixtures compressed here, at run time,
 * into a temporary directory with gzip, zstd and xz (.pcap.gz,
 * .pcapng.zst, .jsonl.xz, .etl.gz and the rest of the matrix) read event
 * for event as their plain versions do; so does an .sktrace with
 * compressed blocks, against the same events as JSON Lines; standard
 * input compressed reads too; a compressed file cut short is an error, not
 * a short trace; seeking in a compressed file (the .etl reader does) lands
 * where it would in the plain one, backward within the history window and
 * beyond it. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "common/testutil.h"
#include "registry/registry.h"
#include "zinput.h"
#include "socktrace/reader.h"
#include "socktrace/sink.h"

static char dir[] = "/tmp/st-zinput-XXXXXX";

static void setup(void) {
  strcpy(dir, "/tmp/st-zinput-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(zinput, .init = setup, .fini = teardown);

typedef enum { GZ, ZST, XZ } method;
static const char *const suffix[] = {".gz", ".zst", ".xz"};

/* Compresses the file at from into to, whole, with the library itself. */
static void compress_bytes(const char *data, size_t len, const char *to, method m) {
  size_t cap = len + len / 2 + 65536, out_len = 0;
  uint8_t *out = malloc(cap);
  cr_assert_not_null(out);
  if (m == GZ) {
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out_len = z.total_out;
    deflateEnd(&z);
  } else if (m == ZST) {
    out_len = ZSTD_compress(out, cap, data, len, 3);
    cr_assert(!ZSTD_isError(out_len));
  } else {
    cr_assert_eq(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, (const uint8_t *)data, len, out,
                                         &out_len, cap),
                 LZMA_OK);
  }
  FILE *f = fopen(to, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(out, 1, out_len, f), out_len);
  fclose(f);
  free(out);
}

static void compress_file(const char *from, const char *to, method m) {
  size_t len;
  char *data = st_test_read_file(from, &len);
  cr_assert_not_null(data, "cannot read %s", from);
  compress_bytes(data, len, to, m);
  free(data);
}

/* Everything the reader API makes of path: the format, every event as
 * JSON, one a line, and how reading ended. */
typedef struct read_out {
  char format[16];
  char *events;
  size_t n;
  int end; /* 0 or the negative code next() ended with */
} read_out;

static read_out read_all(const char *path) {
  read_out o = {0};
  st_reader *r;
  char err[ST_ERROR_MAX];
  cr_assert_eq(st_reader_open(path, &r, err, sizeof err), 0, "%s", err);
  snprintf(o.format, sizeof o.format, "%s", st_reader_format(r));
  size_t cap = 1 << 16, len = 0;
  o.events = malloc(cap);
  const st_event *ev;
  int rc;
  char line[8192];
  while ((rc = st_reader_next(r, &ev)) > 0) {
    int k = st_event_to_json(ev, line, sizeof line);
    cr_assert(k > 0 && (size_t)k < sizeof line);
    while (len + (size_t)k + 2 > cap)
      o.events = realloc(o.events, cap *= 2);
    memcpy(o.events + len, line, (size_t)k);
    len += (size_t)k;
    o.events[len++] = '\n';
    o.n++;
  }
  o.events[len] = 0;
  o.end = rc;
  st_reader_close(r);
  return o;
}

static bool have_format(const char *name) {
  size_t n;
  const st_file_source *s = st_file_sources(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(s[i].name, name) == 0)
      return true;
  return false;
}

static void expect_same_as_plain(const char *plain, method m) {
  char z[512];
  const char *base = strrchr(plain, '/');
  snprintf(z, sizeof z, "%s%s%s", dir, base, suffix[m]);
  compress_file(plain, z, m);
  read_out a = read_all(plain), b = read_all(z);
  cr_expect_str_eq(b.format, a.format, "%s", z);
  cr_expect_gt(a.n, 0, "%s holds events", plain);
  cr_expect_eq(b.n, a.n, "%s", z);
  cr_expect_eq(b.end, a.end, "%s", z);
  cr_expect_str_eq(b.events, a.events, "%s reads as %s does", z, plain);
  free(a.events);
  free(b.events);
}

/* The four the issue names, then every method on every kind. */
Test(zinput, compressed_fixtures_replay_identically_to_their_plain_versions) {
  ST_REQUIRE_FIXTURES();
  cr_assert(have_format("pcap") && have_format("etl"),
            "this build reads pcap and .etl (libpcap-dev was found)");
  static const struct {
    const char *rel;
    method m;
  } named[] = {
      {"pcap/web.pcap", GZ},
      {"pcap/smb_smb2-zero-byte-error-ioctl.pcapng", ZST},
      {"windows-dns-client/empire_mimikatz_opth.jsonl", XZ},
      {"etl/AMSITrace.etl", GZ},
  };
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
    expect_same_as_plain(st_test_fixture(named[i].rel), named[i].m);
  static const char *const every[] = {
      "pcap/web.pcap",
      "pcap/pcapng-multi-interface.pcapng",
      "pcap/tcp-handshake-nano.pcap",
      "windows-dns-client/empire_scm_dll_hijack_ikeext.jsonl",
      "etl/AMSITrace.etl",
      "pcap/dns_tcp.pcap",
  };
  for (size_t i = 0; i < sizeof every / sizeof every[0]; i++)
    for (method m = GZ; m <= XZ; m++)
      expect_same_as_plain(st_test_fixture(every[i]), m);
  /* JSON Lines of socktrace's own (the shared ones are foreign JSON). */
  for (method m = GZ; m <= XZ; m++)
    expect_same_as_plain(ST_SOURCE_DIR "/tests/fixtures/scenario.linux.jsonl", m);
}

/* The demo written with compressed blocks, and that file compressed again
 * as a whole: both read as demo.jsonl does. */
Test(zinput, reader_api_opens_compressed_sktrace_files) {
  const char *demo = ST_SOURCE_DIR "/tests/fixtures/demo.jsonl";
  read_out want = read_all(demo);
  char path[300], cmd[1200];
  snprintf(path, sizeof path, "%s/demo.sktrace", dir);
  snprintf(cmd, sizeof cmd, "%s/socktrace replay %s -q -o %s", ST_BINARY_DIR, demo, path);
  cr_assert_eq(system(cmd), 0);
  size_t len;
  char *data = st_test_read_file(path, &len);
  cr_assert_not_null(memmem(data, len, "SKBZ", 4), "compressed blocks by default");
  free(data);
  read_out got = read_all(path);
  cr_expect_str_eq(got.format, "sktrace");
  cr_expect_eq(got.end, 0);
  cr_expect_str_eq(got.events, want.events);
  free(got.events);
  char zpath[320];
  snprintf(zpath, sizeof zpath, "%s.zst", path);
  compress_file(path, zpath, ZST);
  got = read_all(zpath);
  cr_expect_str_eq(got.format, "sktrace");
  cr_expect_str_eq(got.events, want.events);
  free(got.events);
  free(want.events);
}

Test(zinput, compressed_standard_input_reads) {
  const char *demo = ST_SOURCE_DIR "/tests/fixtures/demo.jsonl";
  char xz[300], cmd[2048];
  snprintf(xz, sizeof xz, "%s/demo.jsonl.xz", dir);
  compress_file(demo, xz, XZ);
  /* The header line says when the replay started: left out. */
  snprintf(cmd, sizeof cmd,
           "%s/socktrace replay - -f jsonl < %s | tail -n +2 > %s/a && "
           "%s/socktrace replay %s -f jsonl | tail -n +2 > %s/b && cmp -s %s/a %s/b",
           ST_BINARY_DIR, xz, dir, ST_BINARY_DIR, demo, dir, dir, dir);
  cr_expect_eq(system(cmd), 0, "replay - of a .jsonl.xz reads as the plain file");
}

Test(zinput, compressed_input_cut_short_is_an_error) {
  const char *demo = ST_SOURCE_DIR "/tests/fixtures/demo.jsonl";
  char gz[300];
  snprintf(gz, sizeof gz, "%s/demo.jsonl.gz", dir);
  compress_file(demo, gz, GZ);
  size_t len;
  char *data = st_test_read_file(gz, &len);
  FILE *f = fopen(gz, "wb");
  fwrite(data, 1, len * 2 / 3, f);
  fclose(f);
  free(data);
  read_out got = read_all(gz);
  cr_expect_str_eq(got.format, "jsonl");
  cr_expect_lt(got.end, 0, "reading ends in an error, not a quiet short trace");
  free(got.events);
}

/* 12 MiB, more than the 8 MiB a backward seek can return to from memory:
 * far jumps back start the decoder over, near ones read the history. */
Test(zinput, seeking_lands_where_it_would_in_the_plain_file) {
  const size_t len = 12u << 20;
  char *plain = malloc(len);
  cr_assert_not_null(plain);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < len; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    plain[i] = (char)(i % 7 == 0 ? (x >> 59) : 'a' + (i / 4096) % 26); /* half compressible */
  }
  for (method m = GZ; m <= XZ; m++) {
    char path[300];
    snprintf(path, sizeof path, "%s/seek%s", dir, suffix[m]);
    compress_bytes(plain, len, path, m);
    st_zkind kind;
    FILE *f = st_zopen(path, &kind);
    cr_assert_not_null(f);
    cr_expect_eq(kind, m == GZ ? ST_Z_GZIP : m == ZST ? ST_Z_ZSTD : ST_Z_XZ);
    cr_assert_eq(fseeko(f, 0, SEEK_END), 0);
    cr_expect_eq(ftello(f), (off_t)len, "SEEK_END: the uncompressed size");
    static const long long at[] = {0,       5,          1 << 20, (1 << 20) - 3,   9 << 20,
                                   4 << 20, (11 << 20), 100,     (12 << 20) - 10, 3 << 20};
    char got[20000];
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
      cr_assert_eq(fseeko(f, (off_t)at[i], SEEK_SET), 0);
      size_t want = len - (size_t)at[i] < sizeof got ? len - (size_t)at[i] : sizeof got;
      cr_assert_eq(fread(got, 1, sizeof got, f), want, "%s at %lld", suffix[m], at[i]);
      cr_assert_eq(memcmp(got, plain + at[i], want), 0, "%s at %lld", suffix[m], at[i]);
      cr_expect_eq(ftello(f), (off_t)(at[i] + (long long)want));
      /* A little back from here, relative. */
      cr_assert_eq(fseeko(f, -(off_t)(want / 2), SEEK_CUR), 0);
      size_t back = want - want / 2, k = want / 2 < 100 ? want / 2 : 100;
      cr_assert_eq(fread(got, 1, k, f), k);
      cr_assert_eq(memcmp(got, plain + at[i] + back, k), 0);
    }
    st_zclose(f);
  }
  free(plain);
}

/* A pipe given by name (bash's <(...)) is read by the sniffing before any
 * reader gets it (as before compressed inputs): one line says to use
 * standard input. */
Test(zinput, a_pipe_by_name_says_to_use_standard_input) {
  char cmd[2048], errpath[320];
  snprintf(errpath, sizeof errpath, "%s/err", dir);
  snprintf(cmd, sizeof cmd,
           "bash -c '%s/socktrace replay <(cat %s/tests/fixtures/demo.jsonl) -f null' 2>%s",
           ST_BINARY_DIR, ST_SOURCE_DIR, errpath);
  cr_expect_neq(system(cmd), 0);
  char *err = st_test_read_file(errpath, NULL);
  cr_assert_not_null(err);
  cr_expect_eq(st_test_lines(err), 1, "%s", err);
  cr_expect_not_null(strstr(err, "a pipe is read once, so give it on standard input"), "%s", err);
  free(err);
}
