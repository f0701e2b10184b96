/*
 * CSV sink (`socktrace report -f csv`): one row per event for spreadsheets
 * and data frames, with a header row. Columns are fixed (an absent field is
 * an empty cell) and quoted as RFC 4180 says. Renaming or reordering a
 * column breaks users' sheets: add new ones at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "socktrace/sink.h"

static const char header[] =
    "ts,ts_ns,provider,id,name,level,keywords,enter_exit,seq,os,backend,pid,tid,comm,endpoint,"
    "family,type,protocol,local,remote,bytes,buffers,backlog,status,status_native,"
    "status_native_name,reason,option,value,old_state,new_state,accept_endpoint,bytes_sent,"
    "bytes_received,duration_ns,lost_count,lost_where,detail\r\n";

static void cell(st_buf *b, const char *s) {
  st_buf_puts(b, ",");
  if (!s)
    return;
  if (!strpbrk(s, ",\"\r\n")) {
    st_buf_puts(b, s);
    return;
  }
  st_buf_puts(b, "\"");
  for (; *s; s++) {
    if (*s == '"')
      st_buf_add(b, "\"", 1); /* a quote is doubled */
    st_buf_add(b, s, 1);
  }
  st_buf_puts(b, "\"");
}

static void cell_u64(st_buf *b, bool present, uint64_t v) {
  if (present)
    st_buf_printf(b, ",%" PRIu64, v);
  else
    st_buf_puts(b, ",");
}

static void cell_addr(st_buf *b, bool present, const st_addr *a) {
  char tmp[ST_PATH_MAX + 48];
  if (present)
    st_addr_format(a, tmp, sizeof tmp);
  cell(b, present ? tmp : NULL);
}

static void csv_row(st_buf *b, const st_event *ev) {
  char ts[48], tmp[64];
  st_format_utc(ev->ts_ns, 1, ts, sizeof ts);
  st_buf_puts(b, ts);
  cell_u64(b, true, ev->ts_ns);
  cell(b, st_provider_name(ev->provider));
  cell_u64(b, true, ev->id);
  cell(b, st_event_name(ev->provider, ev->id));
  cell_u64(b, true, ev->level);
  snprintf(tmp, sizeof tmp, "0x%" PRIx64, ev->keywords);
  cell(b, tmp);
  cell_u64(b, true, ev->enter_exit);
  cell_u64(b, true, ev->seq);
  cell(b, st_os_name(ev->os));
  cell(b, st_backend_kind_name(ev->backend));
  cell_u64(b, ev->pid, ev->pid);
  cell_u64(b, ev->pid, ev->tid);
  char comm[ST_COMM_MAX + 1];
  memcpy(comm, ev->comm, ST_COMM_MAX);
  comm[ST_COMM_MAX] = 0;
  cell(b, comm);
  snprintf(tmp, sizeof tmp, "0x%016" PRIx64, ev->endpoint);
  cell(b, ev->endpoint ? tmp : NULL);
  uint32_t h = ev->has;
  cell(b, (h & ST_HAS_FAMILY) ? st_family_name(ev->family) : NULL);
  cell(b, (h & ST_HAS_TYPE) ? st_type_name(ev->type) : NULL);
  const char *proto = st_protocol_name(ev->protocol);
  if ((h & ST_HAS_PROTOCOL) && proto)
    cell(b, proto);
  else
    cell_u64(b, h & ST_HAS_PROTOCOL, ev->protocol);
  cell_addr(b, h & ST_HAS_LOCAL, &ev->local);
  cell_addr(b, h & ST_HAS_REMOTE, &ev->remote);
  cell_u64(b, h & ST_HAS_BYTES, ev->bytes);
  cell_u64(b, h & ST_HAS_BUFFERS, ev->buffers);
  cell_u64(b, h & ST_HAS_BACKLOG, ev->backlog);
  bool st = h & ST_HAS_STATUS;
  cell(b, st ? st_code_name((st_code)ev->status.code) : NULL);
  cell_u64(b, st && ev->status.domain, ev->status.native);
  cell(b, st && ev->status.code != ST_OK ? st_status_native_name(&ev->status) : NULL);
  cell_u64(b, h & ST_HAS_REASON, ev->reason);
  cell_u64(b, h & ST_HAS_OPTION, ev->option);
  cell_u64(b, h & ST_HAS_OPTION, ev->value);
  cell(b, (h & ST_HAS_STATE) ? st_tcp_state_name(ev->old_state) : NULL);
  cell(b, (h & ST_HAS_STATE) ? st_tcp_state_name(ev->new_state) : NULL);
  snprintf(tmp, sizeof tmp, "0x%016" PRIx64, ev->accept_endpoint);
  cell(b, (h & ST_HAS_ACCEPT_EP) ? tmp : NULL);
  cell_u64(b, h & ST_HAS_SUMMARY, ev->summary.bytes_sent);
  cell_u64(b, h & ST_HAS_SUMMARY, ev->summary.bytes_received);
  cell_u64(b, h & ST_HAS_SUMMARY, ev->summary.duration_ns);
  cell_u64(b, h & ST_HAS_LOST, ev->lost.count);
  cell(b, (h & ST_HAS_LOST) ? st_lost_where_name(ev->lost.where) : NULL);
  cell(b, (h & ST_HAS_DETAIL) ? ev->detail : NULL);
  st_buf_puts(b, "\r\n");
}

static int csv_begin(st_sink *s, const st_trace_info *info) {
  return st_out_write((st_out *)s, header, sizeof header - 1);
}

static int csv_write(st_sink *s, const st_event *ev) {
  st_out *o = (st_out *)s;
  st_buf_reset(&o->line);
  csv_row(&o->line, ev);
  return st_out_put_line(o);
}

static const st_sink_ops csv_ops = {.name = "csv",
                                    .begin = csv_begin,
                                    .write = csv_write,
                                    .flush = st_out_flush,
                                    .close = st_out_close};

int st_sink_csv_new(FILE *out, st_sink **sink) {
  st_out *o = st_out_new(sizeof *o, &csv_ops, out, "CSV output");
  if (!o)
    return ST_ENOMEM;
  *sink = &o->base;
  return 0;
}
