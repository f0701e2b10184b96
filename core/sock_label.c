/*
 * Naming one socket for the per-socket views: who owns it and its
 * addresses, as the timeline prints them and the HTML report shows them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void st_sock_label_note(st_sock_label *k, const st_event *ev) {
  if (!k->who[0] && (ev->pid || ev->comm[0])) {
    char comm[ST_COMM_MAX + 1];
    memcpy(comm, ev->comm, ST_COMM_MAX);
    comm[ST_COMM_MAX] = 0;
    snprintf(k->who, sizeof k->who, "%s[%" PRIu32 "]", comm[0] ? comm : "?", ev->pid);
  }
  if (!k->proto[0] && (ev->has & ST_HAS_FAMILY) && ev->family == ST_FAMILY_UNIX) {
    snprintf(k->proto, sizeof k->proto, "unix");
  } else if (!k->proto[0] && (ev->has & ST_HAS_PROTOCOL)) {
    const char *p = st_protocol_name(ev->protocol);
    snprintf(k->proto, sizeof k->proto, "%s", p ? p : "proto");
  }
  if (!k->local[0] && (ev->has & ST_HAS_LOCAL))
    st_addr_format(&ev->local, k->local, sizeof k->local);
  if (!k->remote[0] && st_event_remote_is_peer(ev))
    st_addr_format(&ev->remote, k->remote, sizeof k->remote);
}

void st_sock_label_heading(st_buf *b, uint64_t endpoint, const st_sock_label *k,
                           uint64_t first_ts) {
  char when[32];
  st_format_utc(first_ts, 0, when, sizeof when);
  if (!endpoint) {
    st_buf_printf(b, "(not tied to a socket), from %s", when);
    return;
  }
  st_buf_printf(b, "ep=0x%" PRIx64 " %s", endpoint, k->who[0] ? k->who : "-");
  if (k->proto[0])
    st_buf_printf(b, " %s", k->proto);
  if (k->local[0])
    st_buf_printf(b, " %s", k->local);
  if (k->remote[0])
    st_buf_printf(b, " %s %s", k->local[0] ? "->" : "peer", k->remote);
  st_buf_printf(b, ", from %s", when);
}

void st_timeline_offset(st_buf *b, uint64_t rel_ns) {
  st_buf_printf(b, "+%" PRIu64 ".%06" PRIu64 "s", rel_ns / 1000000000u, rel_ns / 1000u % 1000000u);
}
