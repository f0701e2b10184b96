/*
 * Microsoft-Windows-Winsock-WS2HELP: changes to the Winsock catalog (an LSP
 * installed, removed or disabled, the catalog reset, an LSP bypassed by
 * policy). Templates per the Winsock documentation: LSP Name (UTF-16,
 * NUL-terminated), Catalog (u32, 32 or 64), Installer (UTF-16), the
 * provider GUID (16 bytes), Category (u32, dwCatalogEntryId); the reset event
 * carries the Catalog only. Event 5 has no published template; it is read
 * as the LSP template and flagged when it is not one.
 *
 * Strings are read as 16-bit units and converted to UTF-8 here, so nothing
 * depends on the host's wchar_t.
 */
#include <stdio.h>
#include <string.h>

#include "etw_decode_internal.h"

/* Reads a NUL-terminated UTF-16LE string into UTF-8 (truncated to out's
 * size). A string without its NUL inside the payload is a short read. */
static void read_utf16z(st_cursor *c, char *out, size_t outlen) {
  size_t o = 0;
  for (;;) {
    uint32_t u = st_cursor_le16(c);
    if (c->bad || u == 0)
      break;
    if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate needs its low half */
      size_t save = c->off;
      uint32_t lo = st_cursor_le16(c);
      if (!c->bad && lo >= 0xDC00 && lo <= 0xDFFF) {
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      } else {
        if (!c->bad)
          c->off = save;
        u = 0xFFFD;
      }
      if (c->bad)
        break;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      u = 0xFFFD;
    }
    uint8_t enc[4];
    size_t n;
    if (u < 0x80) {
      enc[0] = (uint8_t)u;
      n = 1;
    } else if (u < 0x800) {
      enc[0] = (uint8_t)(0xC0 | (u >> 6));
      enc[1] = (uint8_t)(0x80 | (u & 0x3F));
      n = 2;
    } else if (u < 0x10000) {
      enc[0] = (uint8_t)(0xE0 | (u >> 12));
      enc[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
      enc[2] = (uint8_t)(0x80 | (u & 0x3F));
      n = 3;
    } else {
      enc[0] = (uint8_t)(0xF0 | (u >> 18));
      enc[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3F));
      enc[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3F));
      enc[3] = (uint8_t)(0x80 | (u & 0x3F));
      n = 4;
    }
    if (outlen && o + n < outlen) {
      memcpy(out + o, enc, n);
      o += n;
    }
  }
  if (outlen)
    out[o] = 0;
}

static void format_guid(const uint8_t *g, char *out, size_t len) {
  snprintf(out, len, "{%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g[3],
           g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
           g[15]);
}

int etw_decode_ws2help(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev) {
  st_cursor c;
  st_cursor_init(&c, data, len);
  if (rec->id < ST_EV_CAT_LSP_INSTALLED || rec->id > ST_EV_CAT_BYPASSED)
    return etw_fail(rec, ev, "not a WS2HELP event this decoder knows");
  etw_common(rec, ev, ST_PROVIDER_CATALOG, rec->id);
  /* WS2HELP writes only the channel keyword; give the event the catalog
   * bit so a keyword mask can select it. */
  ev->keywords = ST_KW_CATALOG;
  if (rec->version != 0)
    return etw_fail(rec, ev, "version %u is not known to this decoder (it knows 0)", rec->version);
  ev->has |= ST_HAS_DETAIL;
  if (rec->id == ST_EV_CAT_RESET) {
    uint32_t catalog = st_cursor_le32(&c);
    etw_format(ev->detail, sizeof ev->detail, "catalog=%u", catalog);
    return etw_finish(rec, &c, ev, "");
  }
  char name[64], installer[96], guid[40];
  read_utf16z(&c, name, sizeof name);
  uint32_t catalog = st_cursor_le32(&c);
  read_utf16z(&c, installer, sizeof installer);
  const uint8_t *g = st_cursor_take(&c, 16);
  uint32_t category = st_cursor_le32(&c);
  int rc = etw_finish(rec, &c, ev, "");
  if (rc < 0)
    return rc;
  format_guid(g, guid, sizeof guid);
  /* Name and GUID first: the detail is short, the installer path long. */
  etw_format(ev->detail, sizeof ev->detail,
             "\"%s\" catalog=%u provider=%s category=%u installer=%s", name, catalog, guid,
             category, installer);
  return ST_ETW_DECODED;
}
