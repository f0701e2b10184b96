/*
 * What a file that is no trace looks like, from its first bytes, in words a
 * user can act on ("gzip data: decompress it first", "PNG image", "empty
 * file"). The registry says it in one line when no reader recognised the
 * file, instead of handing it to the last reader and reporting every
 * "line" of it. Library code: it only writes into the caller's buffer.
 */
#include <stdio.h>
#include <string.h>

#include "registry.h"

typedef struct magic {
  size_t off;
  const char *bytes;
  size_t len;
  const char *what;
} magic;

#define M(off, s, what)                                                                            \
  { off, s, sizeof s - 1, what }

static const magic MAGICS[] = {
    M(0, "\x1f\x8b", "gzip data: decompress it first (gunzip)"),
    M(0, "\x28\xb5\x2f\xfd", "zstd data: decompress it first (unzstd)"),
    M(0,
      "\xfd"
      "7zXZ",
      "xz data: decompress it first (unxz)"),
    M(0, "BZh", "bzip2 data: decompress it first (bunzip2)"),
    M(0, "\x04\x22\x4d\x18", "lz4 data: decompress it first (unlz4)"),
    M(0, "PK\x03\x04", "a zip archive: extract the trace from it first"),
    M(0, "PK\x05\x06", "an empty zip archive"),
    M(0, "7z\xbc\xaf\x27\x1c", "a 7-Zip archive: extract the trace from it first"),
    M(0, "Rar!\x1a\x07", "a RAR archive: extract the trace from it first"),
    M(257, "ustar", "a tar archive: extract the trace from it first"),
    M(0, "\x89PNG\r\n\x1a\n", "a PNG image"),
    M(0, "\xff\xd8\xff", "a JPEG image"),
    M(0, "GIF8", "a GIF image"),
    M(0, "%PDF-", "a PDF document"),
    M(0,
      "\x7f"
      "ELF",
      "an ELF executable"),
    M(0, "MZ", "a Windows executable"),
    M(0, "\xcf\xfa\xed\xfe", "a Mach-O executable"),
    M(0, "\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class"),
    M(0, "SQLite format 3", "an SQLite database"),
    M(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a Microsoft Office (OLE) document"),
};

/* Text: no NUL and no control bytes but whitespace (UTF-8 passes). */
static bool looks_like_text(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' && p[i] != '\f')
      return false;
  return true;
}

static void describe_text(const uint8_t *p, size_t n, char *buf, size_t len) {
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  if (i < n && p[i] == '[') {
    snprintf(buf, len, "a JSON array, not JSON Lines (one JSON object per line)");
    return;
  }
  if (i < n && p[i] == '{') {
    snprintf(buf, len,
             "JSON whose first line is not a whole object, not JSON Lines (one JSON "
             "object per line)");
    return;
  }
  if (i < n && p[i] == '<') {
    snprintf(buf, len, "XML or HTML text");
    return;
  }
  char line[48];
  size_t k = 0;
  for (; i < n && k + 1 < sizeof line && p[i] != '\n' && p[i] != '\r'; i++)
    line[k++] = p[i] < 0x80 && p[i] != '"' ? (char)p[i] : '?';
  line[k] = '\0';
  snprintf(buf, len, "text starting \"%s%s\"", line, k + 1 == sizeof line ? "..." : "");
}

void st_describe_content(const uint8_t *head, size_t n, char *buf, size_t len) {
  if (n == 0) {
    snprintf(buf, len, "empty");
    return;
  }
  for (size_t i = 0; i < sizeof MAGICS / sizeof MAGICS[0]; i++) {
    const magic *m = &MAGICS[i];
    if (n >= m->off + m->len && memcmp(head + m->off, m->bytes, m->len) == 0) {
      snprintf(buf, len, "%s", m->what);
      return;
    }
  }
  if (looks_like_text(head, n)) {
    describe_text(head, n, buf, len);
    return;
  }
  int w = snprintf(buf, len, "binary data starting");
  for (size_t i = 0; i < n && i < 8 && w > 0 && (size_t)w < len; i++)
    w += snprintf(buf + w, len - (size_t)w, " %02x", head[i]);
}
