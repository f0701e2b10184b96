/*
 * Microsoft-Windows-DNS-Client {1C95126E-7EEA-49A9-A3FE-A378B03DDB4D}: the
 * Windows resolver's own events (the provider Sysmon's DNS event is built
 * on), decoded into DnsMessage (5200) like the eBPF backend's messages.
 * Three events carry what socktrace needs; templates (version 0) per the
 * provider's manifest:
 *
 *   3006 query called, in the asking process:
 *        QueryName (UnicodeString), QueryType (UInt32), QueryOptions (UInt64),
 *        ServerList (UnicodeString), IsNetworkQuery, NetworkQueryIndex,
 *        InterfaceIndex, IsAsyncQuery (UInt32 each)
 *   3008 query completed, in the asking process:
 *        QueryName, QueryType (UInt32), QueryOptions (UInt64),
 *        QueryStatus (UInt32), QueryResults (UnicodeString)
 *   3020 a network query's response, in the DNS client service:
 *        QueryName, QueryType, NetworkIndex, InterfaceIndex, Status (UInt32
 *        each after the name), QueryResults (UnicodeString)
 *
 * QueryResults lists the answers, each followed by ';': an address
 * ("172.18.39.102", "::ffff:172.18.39.102" for IPv4 in an AAAA query) or
 * "type: 5 target" for a CNAME. Statuses are Windows system errors (9003
 * DNS_ERROR_RCODE_NAME_ERROR, 1460 ERROR_TIMEOUT, ...). These events have no
 * message id, rcode or TTL: they are marked ST_DNS_API. The provider's other
 * events (cache, server selection, per-interface steps) are left out.
 */
#include <stdlib.h>
#include <string.h>

#include "etw_decode_internal.h"

const uint8_t st_etw_dns_client_guid[16] = {0x6e, 0x12, 0x95, 0x1c, 0xea, 0x7e, 0xa9, 0x49,
                                            0xa3, 0xfe, 0xa3, 0x78, 0xb0, 0x3d, 0xdb, 0x4d};

enum { DNS_QUERY_CALLED = 3006, DNS_QUERY_COMPLETED = 3008, DNS_NETWORK_RESPONSE = 3020 };

static void chain_add(st_dns *d, const char *name, size_t len) {
  size_t n = strlen(d->cnames);
  if (!len || n + (n ? 1 : 0) + len + 1 > sizeof d->cnames)
    return;
  if (n)
    d->cnames[n++] = ' ';
  memcpy(d->cnames + n, name, len);
  d->cnames[n + len] = 0;
}

/* QueryResults into the answer's addresses and CNAME chain; returns how
 * many answers it lists. */
static unsigned read_results(const char *s, st_dns *d) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  unsigned answers = 0;
  while (*s) {
    while (*s == ' ' || *s == ';')
      s++;
    size_t len = strcspn(s, ";");
    if (!len)
      break;
    char item[300];
    size_t n = len < sizeof item - 1 ? len : sizeof item - 1;
    memcpy(item, s, n);
    item[n] = 0;
    while (n && item[n - 1] == ' ')
      item[--n] = 0;
    s += len;
    answers++;
    if (!strncmp(item, "type:", 5)) {
      char *end;
      unsigned long type = strtoul(item + 5, &end, 10);
      while (*end == ' ')
        end++;
      if (type == 5)
        chain_add(d, end, strlen(end));
      continue;
    }
    st_addr a;
    if (st_addr_parse_ip(item, &a) != 0 || d->naddrs >= ST_DNS_ADDRS_MAX)
      continue;
    st_dns_addr *x = &d->addrs[d->naddrs++];
    if (a.family == ST_FAMILY_INET6 && !memcmp(a.addr, mapped, sizeof mapped)) {
      x->family = ST_FAMILY_INET;
      memcpy(x->addr, a.addr + 12, 4);
    } else {
      x->family = a.family;
      memcpy(x->addr, a.addr, sizeof x->addr);
    }
  }
  return answers;
}

/* A completed query's status: the response code when the server gave one
 * (DNS_ERROR_RCODE_* is 9000 + rcode). */
static void set_result(st_event *ev, uint32_t status, const char *results) {
  st_dns *d = &ev->dns;
  ev->status = st_status_from_win32(status);
  ev->has |= ST_HAS_STATUS;
  if (status > 9000 && status <= 9010)
    d->rcode = (uint8_t)(status - 9000);
  d->answers = (uint16_t)read_results(results, d);
}

int etw_decode_dns_client(const st_etw_record *rec, const uint8_t *data, size_t len, st_event *ev) {
  if (rec->id != DNS_QUERY_CALLED && rec->id != DNS_QUERY_COMPLETED &&
      rec->id != DNS_NETWORK_RESPONSE)
    return ST_ETW_IGNORED;
  st_cursor c;
  st_cursor_init(&c, data, len);
  etw_common(rec, ev, ST_PROVIDER_EXT, ST_EV_DNS_MESSAGE);
  ev->keywords = ST_KW_DNS;
  ev->legacy_id = rec->id; /* which of the client's events it was */
  ev->has |= ST_HAS_DNS | ST_HAS_LEGACY_ID;
  st_dns *d = &ev->dns;
  d->flags = ST_DNS_API;
  etw_read_utf16z(&c, d->qname, sizeof d->qname);
  d->qtype = (uint16_t)st_cursor_le32(&c);
  char text[1024];
  if (rec->id == DNS_QUERY_CALLED) {
    st_cursor_le64(&c); /* QueryOptions */
    etw_read_utf16z(&c, text, sizeof text);
    for (int i = 0; i < 4; i++) /* IsNetworkQuery .. IsAsyncQuery */
      st_cursor_le32(&c);
    d->flags |= ST_DNS_SENT;
    ev->level = ST_LEVEL_VERBOSE;
    if (text[0]) {
      etw_format(ev->detail, sizeof ev->detail, "servers %s", text);
      ev->has |= ST_HAS_DETAIL;
    }
  } else {
    uint32_t status;
    if (rec->id == DNS_QUERY_COMPLETED) {
      st_cursor_le64(&c); /* QueryOptions */
    } else {
      st_cursor_le32(&c); /* NetworkIndex */
      st_cursor_le32(&c); /* InterfaceIndex */
    }
    status = st_cursor_le32(&c);
    etw_read_utf16z(&c, text, sizeof text);
    d->qr = 1;
    d->flags |= ST_DNS_RECEIVED;
    ev->level = ST_LEVEL_INFO;
    if (!c.bad)
      set_result(ev, status, text);
    if (rec->id == DNS_NETWORK_RESPONSE) {
      etw_format(ev->detail, sizeof ev->detail, "a network response (DNS client service)");
      ev->has |= ST_HAS_DETAIL;
    }
  }
  /* A later version may add fields at the end: what this one knows is
   * read, the rest left alone. */
  if (rec->version > 0 && !c.bad)
    return ST_ETW_DECODED;
  return etw_finish(rec, &c, ev, "");
}
