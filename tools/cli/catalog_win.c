/*
 * `socktrace catalog` on Windows: the Winsock catalog, printed the way
 * `netsh winsock show catalog` prints it (protocol entries, then name-space
 * providers), read by the ETW backend's st_winsock_catalog_read().
 */
#include <stdio.h>
#include <stdlib.h>

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

int cli_catalog(cli_options *o) {
  (void)o;
  st_winsock_entry *entries;
  size_t n;
  char err[256];
  if (st_winsock_catalog_read(&entries, &n, err, sizeof err) < 0) {
    cli_error("%s", err);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    print_entry(&entries[i]);
  free(entries);
  return 0;
}
