/*
 * The Winsock catalog (Windows only): the transport protocol entries
 * (WSCEnumProtocols: base providers, layered service providers and
 * protocol chains) and the name-space providers (WSAEnumNameSpaceProviders),
 * read into plain structs for `socktrace catalog`. Never prints.
 */
#include <winsock2.h>
#include <ws2spi.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etw.h"
#include "socktrace/status.h"

static void utf8(const wchar_t *w, char *out, size_t len) {
  if (!w || !WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)len, NULL, NULL))
    out[0] = 0;
  out[len - 1] = 0;
}

static void guid_text(const GUID *g, char *out, size_t len) {
  snprintf(out, len, "{%08lX-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", (unsigned long)g->Data1,
           g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4],
           g->Data4[5], g->Data4[6], g->Data4[7]);
}

static int read_protocols(st_winsock_entry **out, size_t *n, char *err, size_t errlen) {
  DWORD len = 0;
  INT wsaerr = 0;
  if (WSCEnumProtocols(NULL, NULL, &len, &wsaerr) != SOCKET_ERROR || wsaerr != WSAENOBUFS) {
    snprintf(err, errlen, "cannot read the Winsock catalog: WSCEnumProtocols error %d", wsaerr);
    return ST_EIO;
  }
  WSAPROTOCOL_INFOW *info = malloc(len);
  if (!info)
    return ST_ENOMEM;
  int count = WSCEnumProtocols(NULL, info, &len, &wsaerr);
  if (count == SOCKET_ERROR) {
    free(info);
    snprintf(err, errlen, "cannot read the Winsock catalog: WSCEnumProtocols error %d", wsaerr);
    return ST_EIO;
  }
  st_winsock_entry *e = calloc((size_t)count + 1, sizeof *e);
  if (!e) {
    free(info);
    return ST_ENOMEM;
  }
  for (int i = 0; i < count; i++) {
    const WSAPROTOCOL_INFOW *p = &info[i];
    st_winsock_entry *x = &e[i];
    int chain = p->ProtocolChain.ChainLen;
    x->kind = chain == LAYERED_PROTOCOL ? ST_WINSOCK_LAYERED_PROVIDER
              : chain == BASE_PROTOCOL  ? ST_WINSOCK_BASE_PROVIDER
                                        : ST_WINSOCK_PROTOCOL_CHAIN;
    utf8(p->szProtocol, x->description, sizeof x->description);
    guid_text(&p->ProviderId, x->provider_id, sizeof x->provider_id);
    wchar_t path[MAX_PATH];
    int plen = MAX_PATH;
    GUID id = p->ProviderId;
    if (WSCGetProviderPath(&id, path, &plen, &wsaerr) == 0)
      utf8(path, x->path, sizeof x->path);
    x->catalog_id = p->dwCatalogEntryId;
    x->version = p->iVersion;
    x->family = p->iAddressFamily;
    x->max_addr = p->iMaxSockAddr;
    x->min_addr = p->iMinSockAddr;
    x->socket_type = p->iSocketType;
    x->protocol = p->iProtocol;
    x->service_flags = p->dwServiceFlags1;
    x->provider_flags = p->dwProviderFlags;
    x->chain_len = chain;
    for (int c = 0; c < chain && c < 7; c++)
      x->chain[c] = p->ProtocolChain.ChainEntries[c];
  }
  free(info);
  *out = e;
  *n = (size_t)count;
  return 0;
}

static int read_namespaces(st_winsock_entry **entries, size_t *n) {
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
    return 0; /* no name spaces to show is not a failure of the catalog */
  DWORD len = 0;
  WSAEnumNameSpaceProvidersW(&len, NULL);
  WSANAMESPACE_INFOW *ns = len ? malloc(len) : NULL;
  int count = ns ? WSAEnumNameSpaceProvidersW(&len, ns) : 0;
  if (count > 0) {
    st_winsock_entry *e = realloc(*entries, (*n + (size_t)count + 1) * sizeof *e);
    if (e) {
      *entries = e;
      for (int i = 0; i < count; i++) {
        st_winsock_entry *x = &e[*n + (size_t)i];
        memset(x, 0, sizeof *x);
        x->kind = ST_WINSOCK_NAMESPACE_PROVIDER;
        utf8(ns[i].lpszIdentifier, x->description, sizeof x->description);
        guid_text(&ns[i].NSProviderId, x->provider_id, sizeof x->provider_id);
        x->catalog_id = ns[i].dwNameSpace;
        x->version = (int32_t)ns[i].dwVersion;
        x->active = ns[i].fActive ? 1 : 0;
      }
      *n += (size_t)count;
    }
  }
  free(ns);
  WSACleanup();
  return 0;
}

int st_winsock_catalog_read(st_winsock_entry **out, size_t *count, char *err, size_t errlen) {
  st_winsock_entry *e = NULL;
  size_t n = 0;
  int rc = read_protocols(&e, &n, err, errlen);
  if (rc < 0)
    return rc;
  read_namespaces(&e, &n);
  *out = e;
  *count = n;
  return 0;
}
