/*
 * Turns the kernel side's ring records (socktrace.h) into st_events: family
 * and type numbers into the portable ones, errnos into statuses, unix paths
 * into addresses, drop-reason numbers into the kernel's own names. Pure data
 * work: no BPF calls, no I/O besides reading the kernel's BTF once.
 */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf_internal.h"

_Static_assert(ST_BPF_HAS_FAMILY == ST_HAS_FAMILY && ST_BPF_HAS_TYPE == ST_HAS_TYPE &&
                   ST_BPF_HAS_PROTOCOL == ST_HAS_PROTOCOL && ST_BPF_HAS_LOCAL == ST_HAS_LOCAL &&
                   ST_BPF_HAS_REMOTE == ST_HAS_REMOTE && ST_BPF_HAS_BYTES == ST_HAS_BYTES &&
                   ST_BPF_HAS_BUFFERS == ST_HAS_BUFFERS && ST_BPF_HAS_STATUS == ST_HAS_STATUS &&
                   ST_BPF_HAS_REASON == ST_HAS_REASON && ST_BPF_HAS_BACKLOG == ST_HAS_BACKLOG &&
                   ST_BPF_HAS_OPTION == ST_HAS_OPTION && ST_BPF_HAS_STATE == ST_HAS_STATE &&
                   ST_BPF_HAS_ACCEPT_EP == ST_HAS_ACCEPT_EP &&
                   ST_BPF_HAS_SUMMARY == ST_HAS_SUMMARY && ST_BPF_HAS_PPID == ST_HAS_PPID &&
                   ST_BPF_HAS_DETAIL == ST_HAS_DETAIL,
               "socktrace.h field bits must equal event.h's");
_Static_assert(ST_BPF_FLAG_PREEXISTING == ST_FLAG_PREEXISTING &&
                   ST_BPF_FLAG_PID_GUESSED == ST_FLAG_PID_GUESSED,
               "socktrace.h flags must equal event.h's");
_Static_assert(ST_BPF_COMM_MAX == ST_COMM_MAX, "comm sizes differ");

#define DROP_PREFIX "SKB_DROP_REASON_"

void ebpf_drop_names_load(ebpf_drop_names *d) {
  memset(d, 0, sizeof *d);
  d->btf = btf__load_vmlinux_btf();
  if (!d->btf)
    return; /* events then show the reason's number */
  int id = btf__find_by_name_kind(d->btf, "skb_drop_reason", BTF_KIND_ENUM);
  const struct btf_type *t = id > 0 ? btf__type_by_id(d->btf, id) : NULL;
  if (!t)
    return;
  const struct btf_enum *e = btf_enum(t);
  uint32_t max = 0;
  for (int i = 0; i < btf_vlen(t); i++)
    if ((uint32_t)e[i].val > max && (uint32_t)e[i].val < 4096)
      max = e[i].val;
  d->names = calloc(max + 1, sizeof *d->names);
  if (!d->names)
    return;
  d->count = max + 1;
  for (int i = 0; i < btf_vlen(t); i++) {
    const char *n = btf__name_by_offset(d->btf, e[i].name_off);
    if ((uint32_t)e[i].val > max || !n)
      continue;
    if (strncmp(n, DROP_PREFIX, strlen(DROP_PREFIX)) == 0)
      n += strlen(DROP_PREFIX);
    d->names[e[i].val] = n;
  }
}

void ebpf_drop_names_free(ebpf_drop_names *d) {
  free(d->names);
  btf__free(d->btf);
  memset(d, 0, sizeof *d);
}

static uint8_t family_of(uint16_t af) {
  switch (af) {
  case 0:
    return ST_FAMILY_NONE;
  case 1:
    return ST_FAMILY_UNIX;
  case 2:
    return ST_FAMILY_INET;
  case 10:
    return ST_FAMILY_INET6;
  default:
    return ST_FAMILY_OTHER;
  }
}

static void ip_addr(const struct st_bpf_addr *a, st_addr *out) {
  memset(out, 0, sizeof *out);
  out->family = family_of(a->family);
  out->raw_family = a->family;
  out->port = a->port;
  memcpy(out->addr, a->addr, sizeof out->addr);
}

/* Abstract names (a leading NUL) are shown with '@'. */
static void unix_path(const char *p, unsigned len, st_addr *out) {
  memset(out, 0, sizeof *out);
  out->family = ST_FAMILY_UNIX;
  out->raw_family = 1;
  if (len > ST_BPF_PATH_MAX)
    len = ST_BPF_PATH_MAX;
  if (len && p[0] == '\0') {
    out->path[0] = '@';
    size_t n = len - 1 < ST_PATH_MAX - 2 ? len - 1 : ST_PATH_MAX - 2;
    memcpy(out->path + 1, p + 1, n);
    for (size_t i = 1; i <= n; i++)
      if (!out->path[i])
        out->path[i] = '@'; /* embedded NULs, as ss(8) shows them */
    out->path[n + 1] = '\0';
    return;
  }
  size_t n = strnlen(p, len);
  if (n > ST_PATH_MAX - 1)
    n = ST_PATH_MAX - 1;
  memcpy(out->path, p, n);
  out->path[n] = '\0';
}

static st_status status_of(int32_t err) {
  return st_status_from_errno(err < 0 ? -err : err);
}

void ebpf_decode(const struct st_bpf_rec *r, int64_t boot_to_real, const ebpf_drop_names *drops,
                 st_event *ev) {
  st_event_init(ev, r->id >= 5000 ? ST_PROVIDER_EXT : ST_PROVIDER_AFD, r->id);
  ev->ts_ns = (uint64_t)((int64_t)r->ts + boot_to_real);
  ev->level = r->level;
  ev->keywords = r->keywords;
  ev->enter_exit = r->enter_exit;
  ev->os = ST_OS_LINUX;
  ev->backend = ST_BACKEND_EBPF;
  ev->pid = r->pid;
  ev->tid = r->tid;
  memcpy(ev->comm, r->comm, ST_COMM_MAX);
  ev->comm[ST_COMM_MAX - 1] = '\0';
  ev->endpoint = r->endpoint;
  ev->flags = r->flags;
  ev->has = r->has;

  if (r->has & ST_HAS_FAMILY)
    ev->family = family_of(r->family);
  if (r->has & ST_HAS_TYPE)
    ev->type = st_type_from_socket_type(r->type);
  if (r->has & ST_HAS_PROTOCOL)
    ev->protocol = r->protocol;
  if (r->has & ST_HAS_LOCAL) {
    if (r->path_slot == ST_BPF_PATH_LOCAL)
      unix_path(r->u.path, r->path_len, &ev->local);
    else
      ip_addr(&r->local, &ev->local);
  }
  if (r->has & ST_HAS_REMOTE) {
    if (r->path_slot == ST_BPF_PATH_REMOTE)
      unix_path(r->u.path, r->path_len, &ev->remote);
    else
      ip_addr(&r->remote, &ev->remote);
  }
  if (r->has & ST_HAS_BYTES)
    ev->bytes = r->bytes;
  if (r->has & ST_HAS_BUFFERS)
    ev->buffers = r->buffers;
  if (r->has & ST_HAS_STATUS)
    ev->status = status_of(r->err);
  if (r->has & ST_HAS_REASON)
    ev->reason = r->reason;
  if (r->has & ST_HAS_BACKLOG)
    ev->backlog = r->backlog;
  if (r->has & ST_HAS_OPTION) {
    ev->option = r->option;
    ev->value = r->value;
  }
  if (r->has & ST_HAS_STATE) {
    ev->old_state = r->old_state;
    ev->new_state = r->new_state;
  }
  if (r->has & ST_HAS_ACCEPT_EP)
    ev->accept_endpoint = r->accept_ep;
  if (r->has & ST_HAS_PPID)
    ev->ppid = r->ppid;
  if (r->has & ST_HAS_SUMMARY) {
    const struct st_bpf_summary *s = &r->u.summary;
    ev->summary.bytes_sent = s->bytes_sent;
    ev->summary.bytes_received = s->bytes_received;
    ev->summary.sends = s->sends;
    ev->summary.receives = s->receives;
    ev->summary.duration_ns = s->duration_ns;
    ev->summary.retransmits = s->retransmits;
    ev->summary.first_error = status_of(s->first_err);
    ev->summary.final_status = status_of(s->final_err);
  }
  if (r->has & ST_HAS_DETAIL) {
    const char *name = r->value < drops->count ? drops->names[r->value] : NULL;
    if (name)
      snprintf(ev->detail, sizeof ev->detail, "%s", name);
    else
      snprintf(ev->detail, sizeof ev->detail, "drop reason %llu", (unsigned long long)r->value);
  }
}
