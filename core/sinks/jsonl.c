/*
 * JSON Lines sink: one object per event with the field names of
 * event-model.md §7 (documented in the README). Absent optional fields are
 * omitted, never null. The first line is a header object saying where the
 * trace came from. Other tools and the replay backend read this format:
 * renaming a field breaks them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "internal.h"
#include "socktrace/sink.h"

/* name: the remote's DNS name (NULL: none); shared: learned from another
 * process's answer. */
static void json_addr(st_buf *b, const char *key, const st_addr *a, const char *name, bool shared) {
  char ip[ST_PATH_MAX + 8];
  st_buf_printf(b, ",\"%s\":{", key);
  switch (a->family) {
  case ST_FAMILY_INET:
  case ST_FAMILY_INET6:
    st_addr_format_ip(a, ip, sizeof ip);
    st_buf_printf(b, "\"addr\":\"%s\",\"port\":%u", ip, a->port);
    if (name) {
      st_buf_puts(b, ",\"name\":");
      st_buf_json_string(b, name);
      if (shared)
        st_buf_puts(b, ",\"name_shared\":true");
    }
    st_buf_puts(b, "}");
    break;
  case ST_FAMILY_UNIX:
    st_buf_puts(b, "\"path\":");
    st_buf_json_string(b, a->path);
    st_buf_puts(b, "}");
    break;
  default:
    st_buf_printf(b, "\"family\":%u}", a->raw_family);
  }
}

static const char *const domain_names[] = {NULL, "errno", "ntstatus", "winsock", "dns", "win32"};

static void json_status(st_buf *b, const st_status *s) {
  st_buf_printf(b, ",\"status\":\"%s\"", st_code_name((st_code)s->code));
  if (s->domain != ST_DOMAIN_NONE && s->domain < sizeof domain_names / sizeof *domain_names) {
    st_buf_printf(b, ",\"status_native\":%" PRIu32 ",\"status_domain\":\"%s\"", s->native,
                  domain_names[s->domain]);
  }
  const char *native = st_status_native_name(s);
  if (native && s->code != ST_OK)
    st_buf_printf(b, ",\"status_native_name\":\"%s\"", native);
  const char *win = st_status_windows_name(s);
  if (win && s->code != ST_OK)
    st_buf_printf(b, ",\"status_windows_name\":\"%s\"", win);
}

static void json_dns(st_buf *b, const st_dns *d) {
  const char *type = st_dns_type_name(d->qtype);
  st_buf_printf(b, ",\"dns_id\":%u,\"dns_qr\":%u,\"dns_qtype\":%u", d->id, d->qr, d->qtype);
  if (type)
    st_buf_printf(b, ",\"dns_qtype_name\":\"%s\"", type);
  if (d->qr && (d->flags & ST_DNS_API)) {
    st_buf_printf(b, ",\"dns_answers\":%u", d->answers);
  } else if (d->qr) {
    st_status rs = st_status_from_dns_rcode(d->rcode);
    const char *rn = st_status_native_name(&rs);
    st_buf_printf(b, ",\"dns_rcode\":%u", d->rcode);
    if (rn)
      st_buf_printf(b, ",\"dns_rcode_name\":\"%s\"", rn);
    st_buf_printf(b, ",\"dns_answers\":%u", d->answers);
  }
  st_buf_puts(b, ",\"dns_qname\":");
  st_buf_json_string(b, d->qname);
  if (d->naddrs) {
    st_buf_puts(b, ",\"dns_addrs\":[");
    for (unsigned i = 0; i < d->naddrs && i < ST_DNS_ADDRS_MAX; i++) {
      st_addr a = {.family = d->addrs[i].family};
      char ip[64];
      memcpy(a.addr, d->addrs[i].addr, sizeof a.addr);
      st_addr_format_ip(&a, ip, sizeof ip);
      st_buf_printf(b, "%s\"%s\"", i ? "," : "", ip);
    }
    st_buf_puts(b, "]");
  }
  if (d->cnames[0]) {
    /* The chain is space-separated inside; a list outside. */
    st_buf_puts(b, ",\"dns_cnames\":[");
    const char *p = d->cnames;
    for (bool first = true; *p; first = false) {
      size_t n = strcspn(p, " ");
      char name[ST_NAME_MAX];
      snprintf(name, sizeof name, "%.*s", (int)n, p);
      if (!first)
        st_buf_puts(b, ",");
      st_buf_json_string(b, name);
      p += n;
      while (*p == ' ')
        p++;
    }
    st_buf_puts(b, "]");
  }
  if (d->qr && (d->naddrs || d->cnames[0]))
    st_buf_printf(b, ",\"dns_ttl\":%" PRIu32, d->ttl);
  if (d->latency_us)
    st_buf_printf(b, ",\"dns_latency_us\":%" PRIu32, d->latency_us);
  if (d->flags & (ST_DNS_SENT | ST_DNS_RECEIVED))
    st_buf_printf(b, ",\"dns_direction\":\"%s\"", d->flags & ST_DNS_SENT ? "sent" : "received");
  if (d->flags & ST_DNS_UNANSWERED)
    st_buf_puts(b, ",\"dns_unanswered\":true");
  if (d->flags & ST_DNS_API)
    st_buf_puts(b, ",\"dns_api\":true");
  if (d->flags & ST_DNS_TRUNCATED)
    st_buf_puts(b, ",\"dns_truncated\":true");
  if (d->flags & ST_DNS_PARTIAL)
    st_buf_puts(b, ",\"dns_partial\":true");
}

/* "container":{"runtime":..,"id":..,"name":..,"pod":..,"namespace":..}, the
 * parts known. */
static void json_container(st_buf *b, const st_container *c) {
  const char *keys[] = {"runtime", "id", "name", "pod", "namespace"};
  const char *vals[] = {c->runtime, c->id, c->name, c->pod, c->ns};
  char sep = '{';
  st_buf_puts(b, ",\"container\":");
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    if (!vals[i][0])
      continue;
    st_buf_printf(b, "%c\"%s\":", sep, keys[i]);
    st_buf_json_string(b, vals[i]);
    sep = ',';
  }
  st_buf_puts(b, sep == '{' ? "{}" : "}");
}

void st_event_json_append(st_buf *b, const st_event *ev) {
  char ts[48];
  st_format_utc(ev->ts_ns, 1, ts, sizeof ts);
  const char *name = st_event_name(ev->provider, ev->id);
  const char *provider = st_provider_name(ev->provider);
  st_buf_printf(b, "{\"ts\":\"%s\",\"ts_ns\":%" PRIu64 ",\"provider\":\"%s\",\"id\":%u", ts,
                ev->ts_ns, provider ? provider : "unknown", ev->id);
  st_buf_puts(b, ",\"name\":");
  st_buf_json_string(b, name ? name : "unknown");
  st_buf_printf(b,
                ",\"level\":%u,\"keywords\":\"0x%" PRIx64 "\",\"enter_exit\":%u,\"seq\":%" PRIu64
                ",\"os\":\"%s\",\"backend\":\"%s\"",
                ev->level, ev->keywords, ev->enter_exit, ev->seq, st_os_name(ev->os),
                st_backend_kind_name(ev->backend));
  if (ev->pid)
    st_buf_printf(b, ",\"pid\":%" PRIu32 ",\"tid\":%" PRIu32, ev->pid, ev->tid);
  if (ev->comm[0]) {
    char comm[ST_COMM_MAX + 1];
    memcpy(comm, ev->comm, ST_COMM_MAX);
    comm[ST_COMM_MAX] = 0;
    st_buf_puts(b, ",\"comm\":");
    st_buf_json_string(b, comm);
  }
  if (ev->has & ST_HAS_PPID)
    st_buf_printf(b, ",\"ppid\":%" PRIu32, ev->ppid);
  if (ev->endpoint)
    st_buf_printf(b, ",\"endpoint\":\"0x%016" PRIx64 "\"", ev->endpoint);
  if (ev->has & ST_HAS_FAMILY) {
    const char *f = st_family_name(ev->family);
    if (f)
      st_buf_printf(b, ",\"family\":\"%s\"", f);
  }
  if (ev->has & ST_HAS_TYPE) {
    const char *t = st_type_name(ev->type);
    if (t)
      st_buf_printf(b, ",\"type\":\"%s\"", t);
  }
  if (ev->has & ST_HAS_PROTOCOL) {
    const char *p = st_protocol_name(ev->protocol);
    if (p)
      st_buf_printf(b, ",\"protocol\":\"%s\"", p);
    else
      st_buf_printf(b, ",\"protocol\":%u", ev->protocol);
  }
  if (ev->has & ST_HAS_LOCAL)
    json_addr(b, "local", &ev->local, NULL, false);
  if (ev->has & ST_HAS_REMOTE)
    json_addr(b, "remote", &ev->remote,
              ev->has & ST_HAS_REMOTE_NAME && ev->remote_name[0] ? ev->remote_name : NULL,
              ev->flags & ST_FLAG_NAME_SHARED);
  if (ev->has & ST_HAS_BYTES)
    st_buf_printf(b, ",\"bytes\":%" PRIu64, ev->bytes);
  if (ev->has & ST_HAS_BUFFERS)
    st_buf_printf(b, ",\"buffers\":%" PRIu32, ev->buffers);
  if (ev->has & ST_HAS_BACKLOG)
    st_buf_printf(b, ",\"backlog\":%" PRIu32, ev->backlog);
  if (ev->has & ST_HAS_ACCEPT_EP)
    st_buf_printf(b, ",\"accept_endpoint\":\"0x%016" PRIx64 "\"", ev->accept_endpoint);
  if (ev->has & ST_HAS_REASON) {
    st_buf_printf(b, ",\"reason\":%" PRIu32, ev->reason);
    const char *rn = ev->id == ST_EV_ABORT                  ? st_abort_reason_name(ev->reason)
                     : (ev->id == ST_EV_DATAGRAM_DROP_ADDR) ? st_drop_reason_name(ev->reason)
                                                            : NULL;
    if (rn)
      st_buf_printf(b, ",\"reason_name\":\"%s\"", rn);
  }
  if (ev->has & ST_HAS_OPTION)
    st_buf_printf(b, ",\"option\":%" PRIu32 ",\"value\":%" PRIu64, ev->option, ev->value);
  if (ev->has & ST_HAS_STATE) {
    const char *o = st_tcp_state_name(ev->old_state), *n = st_tcp_state_name(ev->new_state);
    st_buf_printf(b, ",\"old_state\":\"%s\",\"new_state\":\"%s\"", o ? o : "?", n ? n : "?");
  }
  if (ev->has & ST_HAS_STATUS)
    json_status(b, &ev->status);
  if (ev->has & ST_HAS_SUMMARY) {
    const st_summary *s = &ev->summary;
    st_buf_printf(b, ",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64, s->bytes_sent,
                  s->bytes_received);
    /* Calls are absent when they were not counted (TCP at level 4). */
    if (!(s->flags & ST_SUMMARY_NO_CALLS))
      st_buf_printf(b, ",\"sends\":%" PRIu64 ",\"receives\":%" PRIu64, s->sends, s->receives);
    st_buf_printf(b,
                  ",\"duration_ns\":%" PRIu64 ",\"retransmits\":%" PRIu64
                  ",\"first_error\":\"%s\",\"final_status\":\"%s\"",
                  s->duration_ns, s->retransmits, st_code_name((st_code)s->first_error.code),
                  st_code_name((st_code)s->final_status.code));
    if (s->rtt_us)
      st_buf_printf(b, ",\"rtt_us\":%" PRIu32, s->rtt_us);
  }
  if (ev->has & ST_HAS_LOST) {
    const char *w = st_lost_where_name(ev->lost.where);
    st_buf_printf(
        b, ",\"count\":%" PRIu64 ",\"where\":\"%s\",\"from_ns\":%" PRIu64 ",\"to_ns\":%" PRIu64,
        ev->lost.count, w ? w : "unknown", ev->lost.from_ns, ev->lost.to_ns);
  }
  if (ev->has & ST_HAS_DNS)
    json_dns(b, &ev->dns);
  if (ev->has & ST_HAS_LEGACY_ID)
    st_buf_printf(b, ",\"legacy_id\":%u", ev->legacy_id);
  if (ev->has & ST_HAS_NETNS)
    st_buf_printf(b, ",\"netns\":%" PRIu32, ev->netns);
  if (ev->has & ST_HAS_CGROUP)
    st_buf_printf(b, ",\"cgroup\":%" PRIu64, ev->cgroup);
  if (ev->has & ST_HAS_CONTAINER)
    json_container(b, &ev->container);
  if (ev->has & ST_HAS_DETAIL) {
    st_buf_puts(b, ",\"detail\":");
    st_buf_json_string(b, ev->detail);
  }
  if (ev->flags & ST_FLAG_PREEXISTING)
    st_buf_puts(b, ",\"preexisting\":true");
  if (ev->flags & ST_FLAG_MIDSTREAM)
    st_buf_puts(b, ",\"midstream\":true");
  if (ev->flags & ST_FLAG_PID_GUESSED)
    st_buf_puts(b, ",\"pid_guessed\":true");
  st_buf_puts(b, "}");
}

int st_event_to_json(const st_event *ev, char *buf, size_t len) {
  st_buf b = {0};
  st_event_json_append(&b, ev);
  return st_buf_take(&b, buf, len);
}

static int write_line(st_out *o) {
  st_buf_add(&o->line, "\n", 1);
  return st_out_put_line(o);
}

static int jsonl_begin(st_sink *s, const st_trace_info *info) {
  st_out *o = (st_out *)s;
  char ts[48];
  st_format_utc(info->started_ns, 1, ts, sizeof ts);
  st_buf_reset(&o->line);
  st_buf_puts(&o->line, "{\"socktrace\":\"" ST_VERSION "\",\"host\":");
  st_buf_json_string(&o->line, info->host);
  st_buf_printf(&o->line,
                ",\"os\":\"%s\",\"backend\":\"%s\",\"level\":%u,\"keywords\":\"0x%" PRIx64
                "\",\"started\":\"%s\"}",
                st_os_name(info->os), st_backend_kind_name(info->backend), info->level,
                info->keywords, ts);
  return write_line(o);
}

static int jsonl_write(st_sink *s, const st_event *ev) {
  st_out *o = (st_out *)s;
  st_buf_reset(&o->line);
  st_event_json_append(&o->line, ev);
  return write_line(o);
}

static const st_sink_ops jsonl_ops = {.name = "jsonl",
                                      .begin = jsonl_begin,
                                      .write = jsonl_write,
                                      .flush = st_out_flush,
                                      .close = st_out_close};

int st_sink_jsonl_new(FILE *out, st_sink **sink) {
  st_out *o = st_out_new(sizeof *o, &jsonl_ops, out, "JSON output");
  if (!o)
    return ST_ENOMEM;
  *sink = &o->base;
  return 0;
}
