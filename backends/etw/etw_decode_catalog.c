/*
 * Microsoft-Windows-Winsock-WS2HELP: changes to the Winsock catalog (an LSP
 * installed, removed or disabled, the catalog reset, an LSP bypassed by
 * policy). Templates per the Winsock documentation: LSP Name (UTF-16,
 * NUL-terminated), Catalog (u32, 32 or 64), Installer (UTF-16), the
 * provider GUID (16 bytes), Category (u32, dwCatalogEntryId); the reset event
 * carries the Catalog only. Event 5 has no published template; it is read
 * as the LSP template and flagged when it is not one.
 *
 * Strings are read as 16-bit units and converted to UTF-8
 * (etw_read_utf16z), so nothing depends on the host's wchar_t.
 */
#include <stdio.h>
#include <string.h>

#include "etw_decode_internal.h"

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
  etw_read_utf16z(&c, name, sizeof name);
  uint32_t catalog = st_cursor_le32(&c);
  etw_read_utf16z(&c, installer, sizeof installer);
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
