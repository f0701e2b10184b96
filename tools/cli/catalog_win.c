/*
 * `socktrace catalog` on Windows: the Winsock catalog, printed the way
 * `netsh winsock show catalog` prints it (protocol entries, then name-space
 * providers), read by the ETW backend's st_winsock_catalog_read(). With -f
 * jsonl each entry is one catalog event (LspInstalled, preexisting) whose
 * detail reads like WS2HELP's own events, as on Linux.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "etw/etw.h"

static const char *kind_name(st_winsock_entry_kind k) {
  switch (k) {
  case ST_WINSOCK_BASE_PROVIDER:
    return "Base Service Provider";
  case ST_WINSOCK_LAYERED_PROVIDER:
    return "Layered Service Provider (LSP)";
  case ST_WINSOCK_PROTOCOL_CHAIN:
    return "Protocol Chain";
  default:
    return "Name Space Provider";
  }
}

static void print_entry(const st_winsock_entry *e) {
  const char *rule =
      "-------------------------------------------------------------------------------";
  if (e->kind == ST_WINSOCK_NAMESPACE_PROVIDER) {
    printf("\nWinsock Name Space Provider Entry\n%s\n", rule);
    printf("%-36s%s\n", "Description:", e->description);
    printf("%-36s%s\n", "Provider ID:", e->provider_id);
    printf("%-36s%u\n", "Name Space:", (unsigned)e->catalog_id);
    printf("%-36s%s\n", "Active:", e->active ? "Yes" : "No");
    printf("%-36s%d\n", "Version:", (int)e->version);
    return;
  }
  printf("\nWinsock Catalog Provider Entry\n%s\n", rule);
  printf("%-36s%s\n", "Entry Type:", kind_name(e->kind));
  printf("%-36s%s\n", "Description:", e->description);
  printf("%-36s%s\n", "Provider ID:", e->provider_id);
  printf("%-36s%s\n", "Provider Path:", e->path[0] ? e->path : "(unknown)");
  printf("%-36s%u\n", "Catalog Entry ID:", (unsigned)e->catalog_id);
  printf("%-36s%d\n", "Version:", (int)e->version);
  printf("%-36s%d\n", "Address Family:", (int)e->family);
  printf("%-36s%d\n", "Max Address Length:", (int)e->max_addr);
  printf("%-36s%d\n", "Min Address Length:", (int)e->min_addr);
  printf("%-36s%d\n", "Socket Type:", (int)e->socket_type);
  printf("%-36s%d\n", "Protocol:", (int)e->protocol);
  printf("%-36s0x%08x\n", "Service Flags:", (unsigned)e->service_flags);
  printf("%-36s%d\n", "Protocol Chain Length:", (int)e->chain_len);
  if (e->chain_len > 1) {
    printf("%-36s", "Protocol Chain:");
    for (int i = 0; i < e->chain_len && i < 7; i++)
      printf("%s%u", i ? " : " : "", (unsigned)e->chain[i]);
    printf("\n");
  }
}

/* An entry as WS2HELP words an LSP: name, catalog (this process's: 32 or
 * 64), provider GUID, category (the catalog entry id), installer (the
 * provider's DLL). */
static void print_json(const st_winsock_entry *e, uint64_t seq, uint64_t now) {
  st_event ev;
  char line[2048];
  st_event_init(&ev, ST_PROVIDER_CATALOG, ST_EV_CAT_LSP_INSTALLED);
  ev.ts_ns = now;
  ev.seq = seq;
  ev.keywords = ST_KW_CATALOG;
  ev.os = ST_OS_WINDOWS;
  ev.backend = ST_BACKEND_ETW;
  ev.flags = ST_FLAG_PREEXISTING;
  ev.has = ST_HAS_DETAIL;
  snprintf(ev.detail, sizeof ev.detail,
           "\"%.40s\" catalog=%u provider=%s category=%u installer=%.40s", e->description,
           (unsigned)(sizeof(void *) * 8), e->provider_id, (unsigned)e->catalog_id, e->path);
  st_event_to_json(&ev, line, sizeof line);
  printf("%s\n", line);
}

int cli_catalog(cli_options *o) {
  const char *f = o->format ? o->format : "text";
  if (strcmp(f, "text") != 0 && strcmp(f, "jsonl") != 0) {
    cli_error("catalog prints text or -f jsonl, not -f %s", f);
    return 2;
  }
  st_winsock_entry *entries;
  size_t n;
  char err[256];
  if (st_winsock_catalog_read(&entries, &n, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  uv_timeval64_t tv;
  uint64_t now = uv_gettimeofday(&tv) == 0
                     ? (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull
                     : 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(f, "jsonl") == 0)
      print_json(&entries[i], i + 1, now);
    else
      print_entry(&entries[i]);
  }
  free(entries);
  return 0;
}
