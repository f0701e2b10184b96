/*
 * Text sink: one readable line per event, like tracerpt's summary lines but
 * with names instead of numbers:
 *   19:21:13.123456 curl[1234/1234] AfdConnectWithAddress exit ep=0x1a2 tcp
 *     127.0.0.1:40000 -> 127.0.0.1:8080 status=refused (ECONNREFUSED / WSAECONNREFUSED)
 * Colour only when asked (the CLI asks on a TTY). Times are UTC unless the
 * caller asks for local time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "internal.h"
#include "socktrace/sink.h"

#define C_RESET "\x1b[0m"
#define C_DIM "\x1b[2m"
#define C_RED "\x1b[31m"
#define C_GREEN "\x1b[32m"
#define C_YELLOW "\x1b[33m"
#define C_CYAN "\x1b[36m"

static bool is_failure(const st_event *ev) {
  return (ev->has & ST_HAS_STATUS) && ev->status.code != ST_OK && ev->status.code != ST_PENDING;
}

static const char *event_color(const st_event *ev) {
  if (is_failure(ev) || ev->id == ST_EV_ABORT || ev->id == ST_EV_TCP_RESET_SENT ||
      ev->id == ST_EV_EVENTS_LOST || ev->id == ST_EV_DECODE_ERROR)
    return C_RED;
  switch (ev->id) {
  case ST_EV_CONNECT:
  case ST_EV_CONNECT_ADDR:
  case ST_EV_ACCEPT:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_LISTEN:
  case ST_EV_BIND_ADDR:
    return C_GREEN;
  case ST_EV_TCP_RETRANSMIT:
  case ST_EV_KERNEL_DROP:
  case ST_EV_DATAGRAM_DROP_ADDR:
    return C_YELLOW;
  case ST_EV_ENDPOINT_SUMMARY:
    return C_CYAN;
  default:
    return NULL;
  }
}

static void fmt_duration(st_buf *b, uint64_t ns) {
  if (ns < 1000000ull)
    st_buf_printf(b, "%.1fus", (double)ns / 1e3);
  else if (ns < 1000000000ull)
    st_buf_printf(b, "%.1fms", (double)ns / 1e6);
  else
    st_buf_printf(b, "%.2fs", (double)ns / 1e9);
}

/* "dns query A api.github.com id=0x1a2b" / "dns answer A api.github.com
 * NOERROR 140.82.112.3 (ttl 60 s) after 3.1 ms". */
static void text_dns(st_buf *b, const st_dns *d) {
  const char *type = st_dns_type_name(d->qtype);
  char tname[16];
  if (!type) {
    snprintf(tname, sizeof tname, "TYPE%u", d->qtype);
    type = tname;
  }
  const char *what = d->flags & ST_DNS_UNANSWERED ? "unanswered query" : d->qr ? "answer" : "query";
  st_buf_printf(b, " dns %s %s %s", what, type, d->qname[0] ? d->qname : ".");
  if (!(d->flags & ST_DNS_API))
    st_buf_printf(b, " id=0x%04x", d->id);
  if (d->qr && !(d->flags & ST_DNS_API)) {
    st_status rs = st_status_from_dns_rcode(d->rcode);
    const char *rn = st_status_native_name(&rs);
    if (rn)
      st_buf_printf(b, " %s", rn);
    else
      st_buf_printf(b, " rcode=%u", d->rcode);
    st_buf_printf(b, " answers=%u", d->answers);
  } else if (d->qr) {
    st_buf_printf(b, " answers=%u", d->answers);
  }
  if (d->cnames[0])
    st_buf_printf(b, " via %s", d->cnames);
  for (unsigned i = 0; i < d->naddrs && i < ST_DNS_ADDRS_MAX; i++) {
    st_addr a = {.family = d->addrs[i].family};
    char ip[64];
    memcpy(a.addr, d->addrs[i].addr, sizeof a.addr);
    st_addr_format_ip(&a, ip, sizeof ip);
    st_buf_printf(b, "%s%s", i ? "," : " ", ip);
  }
  if (d->qr && (d->naddrs || d->cnames[0]))
    st_buf_printf(b, " (ttl %" PRIu32 " s)", d->ttl);
  if (d->latency_us) {
    st_buf_puts(b, d->flags & ST_DNS_UNANSWERED ? " waited " : " after ");
    fmt_duration(b, (uint64_t)d->latency_us * 1000);
  }
  if (d->flags & ST_DNS_TRUNCATED)
    st_buf_puts(b, " (truncated)");
}

void st_event_text_append(st_buf *b, const st_event *ev, const st_text_options *opt) {
  char tmp[ST_NAME_MAX + ST_PATH_MAX + 64];
  bool color = opt && opt->color;
  if (opt && opt->local_time)
    st_format_local(ev->ts_ns, tmp, sizeof tmp);
  else
    st_format_utc(ev->ts_ns, 0, tmp, sizeof tmp);
  if (color)
    st_buf_printf(b, C_DIM "%s" C_RESET " ", tmp);
  else
    st_buf_printf(b, "%s ", tmp);

  /* Who: a process, or the wire. */
  if (ev->os == ST_OS_WIRE && !ev->pid) {
    st_buf_puts(b, "(wire)");
  } else if (!ev->pid && !ev->comm[0]) {
    st_buf_puts(b, "-");
  } else {
    char comm[ST_COMM_MAX + 1];
    memcpy(comm, ev->comm, ST_COMM_MAX);
    comm[ST_COMM_MAX] = 0;
    st_buf_printf(b, "%s[%" PRIu32 "/%" PRIu32 "]", comm[0] ? comm : "?", ev->pid, ev->tid);
  }

  st_buf_puts(b, " ");
  st_event_text_body_append(b, ev, opt);
}

void st_event_text_body_append(st_buf *b, const st_event *ev, const st_text_options *opt) {
  char tmp[ST_NAME_MAX + ST_PATH_MAX + 64];
  bool color = opt && opt->color;
  const char *name = st_event_name(ev->provider, ev->id);
  const char *col = color ? event_color(ev) : NULL;
  if (name)
    st_buf_printf(b, "%s%s%s", col ? col : "", name, col ? C_RESET : "");
  else
    st_buf_printf(b, "%s:%u", st_provider_name(ev->provider) ? st_provider_name(ev->provider) : "?",
                  ev->id);
  if (ev->provider == ST_PROVIDER_AFD) {
    const char *ee = st_enter_exit_name(ev->enter_exit);
    st_buf_printf(b, " %s", ee ? ee : "?");
  }
  if (ev->endpoint)
    st_buf_printf(b, " ep=0x%" PRIx64, ev->endpoint);

  bool unix_family = (ev->has & ST_HAS_FAMILY) && ev->family == ST_FAMILY_UNIX;
  if (unix_family) {
    /* A UNIX socket's protocol number means nothing: name the family. */
    const char *t = (ev->has & ST_HAS_TYPE) ? st_type_name(ev->type) : NULL;
    st_buf_printf(b, " unix%s%s", t ? " " : "", t ? t : "");
  } else if (ev->has & ST_HAS_PROTOCOL) {
    const char *p = st_protocol_name(ev->protocol);
    if (p)
      st_buf_printf(b, " %s", p);
    else
      st_buf_printf(b, " proto=%u", ev->protocol);
  } else if (ev->has & (ST_HAS_FAMILY | ST_HAS_TYPE)) {
    const char *t = (ev->has & ST_HAS_TYPE) ? st_type_name(ev->type) : NULL;
    const char *f = (ev->has & ST_HAS_FAMILY) ? st_family_name(ev->family) : NULL;
    if (f)
      st_buf_printf(b, " %s", f);
    if (t)
      st_buf_printf(b, " %s", t);
  }
  if ((ev->has & ST_HAS_PROTOCOL) && (ev->has & ST_HAS_FAMILY) && ev->family != ST_FAMILY_INET &&
      !unix_family) {
    const char *f = st_family_name(ev->family);
    if (f)
      st_buf_printf(b, "/%s", f);
  }
  if (ev->has & ST_HAS_LOCAL) {
    st_addr_format(&ev->local, tmp, sizeof tmp);
    st_buf_printf(b, " %s", tmp);
  }
  if (ev->has & ST_HAS_REMOTE) {
    st_event_remote_format(ev, tmp, sizeof tmp);
    st_buf_printf(b, " %s %s", (ev->has & ST_HAS_LOCAL) ? "->" : "remote", tmp);
  }
  if (ev->has & ST_HAS_BYTES)
    st_buf_printf(b, " bytes=%" PRIu64, ev->bytes);
  if (ev->has & ST_HAS_BUFFERS)
    st_buf_printf(b, " buffers=%" PRIu32, ev->buffers);
  if (ev->has & ST_HAS_BACKLOG)
    st_buf_printf(b, " backlog=%" PRIu32, ev->backlog);
  if (ev->has & ST_HAS_ACCEPT_EP)
    st_buf_printf(b, " accepted=0x%" PRIx64, ev->accept_endpoint);
  if (ev->has & ST_HAS_REASON) {
    const char *rn = ev->id == ST_EV_ABORT                ? st_abort_reason_name(ev->reason)
                     : ev->id == ST_EV_DATAGRAM_DROP_ADDR ? st_drop_reason_name(ev->reason)
                                                          : NULL;
    if (rn)
      st_buf_printf(b, " reason=%" PRIu32 " (%s)", ev->reason, rn);
    else
      st_buf_printf(b, " reason=%" PRIu32, ev->reason);
  }
  if (ev->has & ST_HAS_OPTION)
    st_buf_printf(b, " option=%" PRIu32 " value=%" PRIu64, ev->option, ev->value);
  if (ev->has & ST_HAS_STATE) {
    const char *o = st_tcp_state_name(ev->old_state), *n = st_tcp_state_name(ev->new_state);
    st_buf_printf(b, " %s->%s", o ? o : "?", n ? n : "?");
  }
  if (ev->has & ST_HAS_STATUS) {
    st_status_format(&ev->status, tmp, sizeof tmp);
    bool red = color && is_failure(ev);
    st_buf_printf(b, " status=%s%s%s", red ? C_RED : "", tmp, red ? C_RESET : "");
  }
  if (ev->has & ST_HAS_SUMMARY) {
    const st_summary *s = &ev->summary;
    if (s->flags & ST_SUMMARY_NO_CALLS)
      st_buf_printf(b, " sent=%" PRIu64 "B recv=%" PRIu64 "B", s->bytes_sent, s->bytes_received);
    else
      st_buf_printf(b, " sent=%" PRIu64 "B/%" PRIu64 " recv=%" PRIu64 "B/%" PRIu64, s->bytes_sent,
                    s->sends, s->bytes_received, s->receives);
    st_buf_printf(b, " retrans=%" PRIu64, s->retransmits);
    if (s->rtt_us)
      st_buf_printf(b, " rtt=%.3fms", s->rtt_us / 1000.0);
    st_buf_puts(b, " dur=");
    fmt_duration(b, s->duration_ns);
    if (s->first_error.code != ST_OK)
      st_buf_printf(b, " first_error=%s", st_code_name((st_code)s->first_error.code));
    st_buf_printf(b, " final=%s", st_code_name((st_code)s->final_status.code));
  }
  if (ev->has & ST_HAS_LOST) {
    const char *w = st_lost_where_name(ev->lost.where);
    st_buf_printf(b, " lost=%" PRIu64 " where=%s", ev->lost.count, w ? w : "unknown");
    if (ev->lost.to_ns > ev->lost.from_ns) {
      st_buf_puts(b, " over ");
      fmt_duration(b, ev->lost.to_ns - ev->lost.from_ns);
    }
  }
  if (ev->has & ST_HAS_DNS)
    text_dns(b, &ev->dns);
  if (ev->has & ST_HAS_LEGACY_ID)
    st_buf_printf(b, " legacy_id=%u", ev->legacy_id);
  if (ev->has & ST_HAS_CONTAINER) {
    const st_container *c = &ev->container;
    st_buf_printf(b, " container=%s", st_container_label(c, tmp, sizeof tmp));
    if (c->pod[0])
      st_buf_printf(b, " pod=%s%s%s", c->ns, c->ns[0] ? "/" : "", c->pod);
  }
  if (ev->has & ST_HAS_DETAIL)
    st_buf_printf(b, " %s", ev->detail);
  if (ev->flags & ST_FLAG_PREEXISTING)
    st_buf_puts(b, " (pre-existing)");
  if (ev->flags & ST_FLAG_MIDSTREAM)
    st_buf_puts(b, " (mid-stream)");
}

int st_event_to_text(const st_event *ev, const st_text_options *opt, char *buf, size_t len) {
  st_buf b = {0};
  st_event_text_append(&b, ev, opt);
  return st_buf_take(&b, buf, len);
}

typedef struct text_sink {
  st_out out;
  st_text_options opt;
} text_sink;

static int text_write(st_sink *s, const st_event *ev) {
  text_sink *t = (text_sink *)s;
  st_buf_reset(&t->out.line);
  st_event_text_append(&t->out.line, ev, &t->opt);
  st_buf_add(&t->out.line, "\n", 1);
  return st_out_put_line(&t->out);
}

static const st_sink_ops text_ops = {
    .name = "text", .write = text_write, .flush = st_out_flush, .close = st_out_close};

int st_sink_text_new(FILE *out, const st_text_options *opt, st_sink **sink) {
  text_sink *t = st_out_new(sizeof *t, &text_ops, out, "text output");
  if (!t)
    return ST_ENOMEM;
  if (opt)
    t->opt = *opt;
  *sink = &t->out.base;
  return 0;
}

static int null_write(st_sink *s, const st_event *ev) {
  return 0;
}

static void null_close(st_sink *s) {
  free(s);
}

static const st_sink_ops null_ops = {.name = "null", .write = null_write, .close = null_close};

int st_sink_null_new(st_sink **sink) {
  st_sink *s = calloc(1, sizeof *s);
  if (!s)
    return ST_ENOMEM;
  s->ops = &null_ops;
  *sink = s;
  return 0;
}
