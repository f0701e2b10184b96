/*
 * Reading one event from its JSON Lines form, the inverse of
 * st_event_to_json (jsonl.c): the replay backend reads recordings with it,
 * tools and tests read lines with it. Unknown fields are ignored, so a
 * later version's lines still read; unknown names and bad values are
 * errors with a reason.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "socktrace/sink.h"

#define BAD(...)                                                                                   \
  do {                                                                                             \
    snprintf(err, errlen, __VA_ARGS__);                                                            \
    rc = ST_EBADMSG;                                                                               \
    goto out;                                                                                      \
  } while (0)

static int parse_addr(json_t *o, st_addr *a) {
  memset(a, 0, sizeof *a);
  json_t *addr = json_object_get(o, "addr"), *path = json_object_get(o, "path");
  if (json_is_string(addr)) {
    if (st_addr_parse_ip(json_string_value(addr), a) != 0)
      return -1;
    json_int_t port = json_integer_value(json_object_get(o, "port"));
    if (port < 0 || port > 65535)
      return -1;
    a->port = (uint16_t)port;
    return 0;
  }
  if (json_is_string(path)) {
    a->family = ST_FAMILY_UNIX;
    snprintf(a->path, sizeof a->path, "%s", json_string_value(path));
    return 0;
  }
  json_t *fam = json_object_get(o, "family");
  if (json_is_integer(fam)) {
    a->family = ST_FAMILY_OTHER;
    a->raw_family = (uint16_t)json_integer_value(fam);
    return 0;
  }
  return -1;
}

/* "dns_addrs": ["1.2.3.4", ...] and "dns_cnames": ["a", ...]. */
static int parse_dns_lists(json_t *o, st_dns *d) {
  json_t *addrs = json_object_get(o, "dns_addrs"), *cnames = json_object_get(o, "dns_cnames"), *v;
  size_t i;
  if (addrs && !json_is_array(addrs))
    return -1;
  json_array_foreach(addrs, i, v) {
    st_addr a;
    if (!json_is_string(v) || st_addr_parse_ip(json_string_value(v), &a) != 0)
      return -1;
    if (d->naddrs >= ST_DNS_ADDRS_MAX)
      continue;
    d->addrs[d->naddrs].family = a.family;
    memcpy(d->addrs[d->naddrs].addr, a.addr, sizeof d->addrs[0].addr);
    d->naddrs++;
  }
  if (cnames && !json_is_array(cnames))
    return -1;
  size_t n = 0;
  json_array_foreach(cnames, i, v) {
    if (!json_is_string(v))
      return -1;
    int w =
        snprintf(d->cnames + n, sizeof d->cnames - n, "%s%s", n ? " " : "", json_string_value(v));
    if (w < 0 || (size_t)w >= sizeof d->cnames - n) {
      d->cnames[n] = 0;
      break;
    }
    n += (size_t)w;
  }
  return 0;
}

static const char *str(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool num(json_t *o, const char *key, uint64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v))
    return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

static uint64_t hex_or_num(json_t *o, const char *key, bool *ok) {
  json_t *v = json_object_get(o, key);
  *ok = true;
  if (json_is_integer(v))
    return (uint64_t)json_integer_value(v);
  if (json_is_string(v)) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(json_string_value(v), &end, 0);
    if (!errno && *end == 0)
      return x;
  }
  *ok = v == NULL;
  return 0;
}

static st_status parse_status(json_t *o, const char *code_key, bool with_native) {
  st_status s = st_status_portable(ST_OTHER);
  const char *code = str(o, code_key);
  int c = code ? st_code_lookup(code) : -1;
  s.code = c >= 0 ? (uint8_t)c : ST_OTHER;
  if (!with_native)
    return s;
  uint64_t native;
  const char *dom = str(o, "status_domain");
  if (num(o, "status_native", &native) && dom) {
    if (strcmp(dom, "errno") == 0)
      s.domain = ST_DOMAIN_ERRNO;
    else if (strcmp(dom, "ntstatus") == 0)
      s.domain = ST_DOMAIN_NTSTATUS;
    else if (strcmp(dom, "winsock") == 0)
      s.domain = ST_DOMAIN_WINSOCK;
    else if (strcmp(dom, "dns") == 0)
      s.domain = ST_DOMAIN_DNS;
    else if (strcmp(dom, "win32") == 0)
      s.domain = ST_DOMAIN_WIN32;
    s.native = (uint32_t)native;
  }
  return s;
}

int st_event_from_json(const char *line, st_event *ev, char *err, size_t errlen) {
  json_error_t jerr;
  int rc = 0;
  json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
  if (!o) {
    snprintf(err, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
    return ST_EBADMSG;
  }
  if (!json_is_object(o))
    BAD("not a JSON object");
  if (json_object_get(o, "socktrace")) {
    rc = 1; /* the header line */
    goto out;
  }
  const char *prov = str(o, "provider");
  int provider = prov ? st_provider_lookup(prov) : -1;
  uint64_t id;
  const char *name = str(o, "name");
  if (provider < 0 || !num(o, "id", &id)) {
    uint8_t p;
    uint16_t i;
    if (!name || st_event_lookup(name, &p, &i) != 0)
      BAD("missing or unknown \"provider\"/\"id\" (or \"name\")");
    provider = p;
    id = i;
  }
  if (id > 65535 || !st_event_name((uint8_t)provider, (uint16_t)id))
    BAD("unknown event %s id %llu", st_provider_name((uint8_t)provider), (unsigned long long)id);
  st_event_init(ev, (uint8_t)provider, (uint16_t)id);

  uint64_t v;
  const char *ts = str(o, "ts");
  if (num(o, "ts_ns", &v))
    ev->ts_ns = v;
  else if (!ts || st_parse_utc(ts, &ev->ts_ns) != 0)
    BAD("missing or bad time (\"ts_ns\" or \"ts\")");
  if (num(o, "level", &v)) {
    if (v > 255)
      BAD("bad \"level\"");
    ev->level = (uint8_t)v;
  }
  bool ok;
  ev->keywords = hex_or_num(o, "keywords", &ok);
  if (!ok)
    BAD("bad \"keywords\"");
  if (num(o, "enter_exit", &v))
    ev->enter_exit = (uint8_t)v;
  if (num(o, "seq", &v))
    ev->seq = v;
  const char *s;
  if ((s = str(o, "os")))
    ev->os = (uint8_t)(st_os_lookup(s) > 0 ? st_os_lookup(s) : 0);
  if ((s = str(o, "backend")))
    ev->backend = (uint8_t)(st_backend_kind_lookup(s) > 0 ? st_backend_kind_lookup(s) : 0);
  if (num(o, "pid", &v))
    ev->pid = (uint32_t)v;
  if (num(o, "tid", &v))
    ev->tid = (uint32_t)v;
  if ((s = str(o, "comm")))
    memcpy(ev->comm, s, strnlen(s, ST_COMM_MAX));
  if (num(o, "ppid", &v)) {
    ev->ppid = (uint32_t)v;
    ev->has |= ST_HAS_PPID;
  }
  ev->endpoint = hex_or_num(o, "endpoint", &ok);
  if (!ok)
    BAD("bad \"endpoint\"");
  if ((s = str(o, "family"))) {
    int f = st_family_lookup(s);
    if (f <= 0)
      BAD("unknown \"family\" \"%s\"", s);
    ev->family = (uint8_t)f;
    ev->has |= ST_HAS_FAMILY;
  }
  if ((s = str(o, "type"))) {
    int t = st_type_lookup(s);
    if (t <= 0)
      BAD("unknown \"type\" \"%s\"", s);
    ev->type = (uint8_t)t;
    ev->has |= ST_HAS_TYPE;
  }
  json_t *p = json_object_get(o, "protocol");
  if (p) {
    int pr = json_is_string(p)    ? st_protocol_lookup(json_string_value(p))
             : json_is_integer(p) ? (int)json_integer_value(p)
                                  : -1;
    if (pr < 0 || pr > 65535)
      BAD("bad \"protocol\"");
    ev->protocol = (uint16_t)pr;
    ev->has |= ST_HAS_PROTOCOL;
  }
  json_t *a;
  if ((a = json_object_get(o, "local"))) {
    if (parse_addr(a, &ev->local) != 0)
      BAD("bad \"local\" address");
    ev->has |= ST_HAS_LOCAL;
  }
  if ((a = json_object_get(o, "remote"))) {
    if (parse_addr(a, &ev->remote) != 0)
      BAD("bad \"remote\" address");
    ev->has |= ST_HAS_REMOTE;
    if ((s = str(a, "name"))) {
      snprintf(ev->remote_name, sizeof ev->remote_name, "%s", s);
      ev->has |= ST_HAS_REMOTE_NAME;
      if (json_is_true(json_object_get(a, "name_shared")))
        ev->flags |= ST_FLAG_NAME_SHARED;
    }
  }
  if (num(o, "bytes", &v)) {
    ev->bytes = v;
    ev->has |= ST_HAS_BYTES;
  }
  if (num(o, "buffers", &v)) {
    ev->buffers = (uint32_t)v;
    ev->has |= ST_HAS_BUFFERS;
  }
  if (num(o, "backlog", &v)) {
    ev->backlog = (uint32_t)v;
    ev->has |= ST_HAS_BACKLOG;
  }
  if (json_object_get(o, "accept_endpoint")) {
    ev->accept_endpoint = hex_or_num(o, "accept_endpoint", &ok);
    if (!ok)
      BAD("bad \"accept_endpoint\"");
    ev->has |= ST_HAS_ACCEPT_EP;
  }
  if (num(o, "reason", &v)) {
    ev->reason = (uint32_t)v;
    ev->has |= ST_HAS_REASON;
  }
  if (num(o, "option", &v)) {
    ev->option = (uint32_t)v;
    num(o, "value", &ev->value);
    ev->has |= ST_HAS_OPTION;
  }
  const char *os_ = str(o, "old_state"), *ns_ = str(o, "new_state");
  if (os_ && ns_) {
    for (uint8_t i = 1; i <= ST_TCP_NEW_SYN_RECV; i++) {
      if (strcmp(st_tcp_state_name(i), os_) == 0)
        ev->old_state = i;
      if (strcmp(st_tcp_state_name(i), ns_) == 0)
        ev->new_state = i;
    }
    ev->has |= ST_HAS_STATE;
  }
  if (str(o, "status")) {
    if (st_code_lookup(str(o, "status")) < 0)
      BAD("unknown \"status\" \"%s\"", str(o, "status"));
    ev->status = parse_status(o, "status", true);
    ev->has |= ST_HAS_STATUS;
  }
  if (num(o, "bytes_sent", &ev->summary.bytes_sent)) {
    num(o, "bytes_received", &ev->summary.bytes_received);
    if (!num(o, "sends", &ev->summary.sends))
      ev->summary.flags |= ST_SUMMARY_NO_CALLS;
    num(o, "receives", &ev->summary.receives);
    num(o, "duration_ns", &ev->summary.duration_ns);
    num(o, "retransmits", &ev->summary.retransmits);
    ev->summary.first_error = parse_status(o, "first_error", false);
    ev->summary.final_status = parse_status(o, "final_status", false);
    uint64_t rtt;
    if (num(o, "rtt_us", &rtt))
      ev->summary.rtt_us = (uint32_t)rtt;
    ev->has |= ST_HAS_SUMMARY;
  }
  if (num(o, "count", &ev->lost.count)) {
    const char *w = str(o, "where");
    int wi = w ? st_lost_where_lookup(w) : -1;
    ev->lost.where = (uint8_t)(wi > 0 ? wi : 0);
    num(o, "from_ns", &ev->lost.from_ns);
    num(o, "to_ns", &ev->lost.to_ns);
    ev->has |= ST_HAS_LOST;
  }
  if (num(o, "dns_id", &v)) {
    ev->dns.id = (uint16_t)v;
    if (num(o, "dns_qr", &v))
      ev->dns.qr = (uint8_t)v;
    if (num(o, "dns_qtype", &v))
      ev->dns.qtype = (uint16_t)v;
    if (num(o, "dns_rcode", &v))
      ev->dns.rcode = (uint8_t)v;
    if (num(o, "dns_answers", &v))
      ev->dns.answers = (uint16_t)v;
    if ((s = str(o, "dns_qname")))
      snprintf(ev->dns.qname, sizeof ev->dns.qname, "%s", s);
    if (parse_dns_lists(o, &ev->dns) != 0)
      BAD("bad \"dns_addrs\" or \"dns_cnames\"");
    if (num(o, "dns_ttl", &v))
      ev->dns.ttl = (uint32_t)v;
    if (num(o, "dns_latency_us", &v))
      ev->dns.latency_us = (uint32_t)v;
    const char *dir = str(o, "dns_direction");
    if (dir)
      ev->dns.flags |= strcmp(dir, "sent") == 0 ? ST_DNS_SENT : ST_DNS_RECEIVED;
    if (json_is_true(json_object_get(o, "dns_unanswered")))
      ev->dns.flags |= ST_DNS_UNANSWERED;
    if (json_is_true(json_object_get(o, "dns_api")))
      ev->dns.flags |= ST_DNS_API;
    if (json_is_true(json_object_get(o, "dns_truncated")))
      ev->dns.flags |= ST_DNS_TRUNCATED;
    if (json_is_true(json_object_get(o, "dns_partial")))
      ev->dns.flags |= ST_DNS_PARTIAL;
    ev->has |= ST_HAS_DNS;
  }
  if (num(o, "legacy_id", &v)) {
    ev->legacy_id = (uint16_t)v;
    ev->has |= ST_HAS_LEGACY_ID;
  }
  if (num(o, "netns", &v)) {
    ev->netns = (uint32_t)v;
    ev->has |= ST_HAS_NETNS;
  }
  if (num(o, "cgroup", &v)) {
    ev->cgroup = v;
    ev->has |= ST_HAS_CGROUP;
  }
  json_t *k = json_object_get(o, "container");
  if (json_is_object(k)) {
    st_container *c = &ev->container;
    if ((s = str(k, "runtime")))
      snprintf(c->runtime, sizeof c->runtime, "%s", s);
    if ((s = str(k, "id")))
      snprintf(c->id, sizeof c->id, "%s", s);
    if ((s = str(k, "name")))
      snprintf(c->name, sizeof c->name, "%s", s);
    if ((s = str(k, "pod")))
      snprintf(c->pod, sizeof c->pod, "%s", s);
    if ((s = str(k, "namespace")))
      snprintf(c->ns, sizeof c->ns, "%s", s);
    ev->has |= ST_HAS_CONTAINER;
  } else if ((s = str(o, "container"))) { /* the earlier form: a name */
    snprintf(ev->container.name, sizeof ev->container.name, "%s", s);
    ev->has |= ST_HAS_CONTAINER;
  }
  if ((s = str(o, "detail"))) {
    snprintf(ev->detail, sizeof ev->detail, "%s", s);
    ev->has |= ST_HAS_DETAIL;
  }
  if (json_is_true(json_object_get(o, "preexisting")))
    ev->flags |= ST_FLAG_PREEXISTING;
  if (json_is_true(json_object_get(o, "midstream")))
    ev->flags |= ST_FLAG_MIDSTREAM;
  if (json_is_true(json_object_get(o, "pid_guessed")))
    ev->flags |= ST_FLAG_PID_GUESSED;
out:
  json_decref(o);
  return rc;
}

/* The header object (jsonl.c's jsonl_begin writes it): what it does not
 * state stays 0 or empty, as an older or foreign writer may leave it out. */
int st_trace_info_from_json(const char *line, st_trace_info *info, char *err, size_t errlen) {
  json_error_t jerr;
  int rc = 0;
  memset(info, 0, sizeof *info);
  json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
  if (!o) {
    snprintf(err, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
    return ST_EBADMSG;
  }
  if (!json_is_object(o) || !json_object_get(o, "socktrace"))
    BAD("not a socktrace header (no \"socktrace\" field)");
  const char *s;
  uint64_t v;
  if ((s = str(o, "host")))
    snprintf(info->host, sizeof info->host, "%s", s);
  if ((s = str(o, "os")) && st_os_lookup(s) > 0)
    info->os = (uint8_t)st_os_lookup(s);
  if ((s = str(o, "backend")) && st_backend_kind_lookup(s) > 0)
    info->backend = (uint8_t)st_backend_kind_lookup(s);
  if (num(o, "level", &v) && v <= 255)
    info->level = (uint8_t)v;
  bool ok;
  info->keywords = hex_or_num(o, "keywords", &ok);
  if ((s = str(o, "started")) && st_parse_utc(s, &info->started_ns) != 0)
    info->started_ns = 0;
out:
  json_decref(o);
  return rc;
}
