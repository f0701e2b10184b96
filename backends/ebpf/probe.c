/*
 * What the running kernel offers the eBPF backend, found from its BTF (which
 * any user may read) before anything is loaded: which tracepoints exist and
 * what their BTF-typed arguments are. The loader uses it to load only the
 * programs this kernel can run; `socktrace events` and the start-up note use
 * it to say what this kernel cannot give.
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "ebpf.h"
#include "ebpf_internal.h"

/* Arguments of the tracepoint's BTF prototype (its first, the probe's
 * data pointer, not counted); -1 when the kernel has no such tracepoint. */
static int tp_args(const struct btf *btf, const char *tp) {
  char name[128];
  snprintf(name, sizeof name, "btf_trace_%s", tp);
  int id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
  if (id <= 0)
    return -1;
  const struct btf_type *t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
  if (!t || !btf_is_ptr(t))
    return -1;
  t = btf__type_by_id(btf, t->type);
  if (!t || !btf_is_func_proto(t))
    return -1;
  return btf_vlen(t) - 1;
}

int ebpf_kernel_probe_btf(const struct btf *btf, st_ebpf_kernel *k) {
  struct utsname u;
  memset(k, 0, sizeof *k);
  if (uname(&u) == 0)
    snprintf(k->release, sizeof k->release, "%s", u.release);
  if (!btf)
    return ST_ENOSYS;
  k->btf = true;
  k->tcp_tracepoints =
      tp_args(btf, "inet_sock_set_state") == 3 && tp_args(btf, "tcp_receive_reset") >= 1 &&
      tp_args(btf, "tcp_send_reset") >= 2 && tp_args(btf, "tcp_retransmit_skb") >= 2 &&
      tp_args(btf, "tcp_destroy_sock") >= 1;
  k->sock_length = tp_args(btf, "sock_send_length") == 3 && tp_args(btf, "sock_recv_length") == 3;
  k->data_ready = tp_args(btf, "sk_data_ready") == 1;
  k->kfree_skb_sk = tp_args(btf, "kfree_skb") >= 4;
  k->kfree_skb_reason = tp_args(btf, "kfree_skb") >= 3;
  int udp = tp_args(btf, "udp_fail_queue_rcv_skb");
  k->udp_drops = udp >= 2;
  k->udp_drop_sender = udp >= 3;
  k->rdonly_cast = btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
  return 0;
}

int st_ebpf_probe_kernel(st_ebpf_kernel *k) {
  struct btf *btf = btf__load_vmlinux_btf();
  int rc = ebpf_kernel_probe_btf(btf, k);
  btf__free(btf);
  return rc;
}

size_t st_ebpf_kernel_gaps(const st_ebpf_kernel *k, const char **out, size_t max) {
  size_t n = 0;
#define GAP(cond, text)                                                                            \
  do {                                                                                             \
    if ((cond) && n < max)                                                                         \
      out[n++] = (text);                                                                           \
  } while (0)
  GAP(!k->tcp_tracepoints, "no TCP stack events (the tcp and sock tracepoints are missing)");
  GAP(!k->sock_length,
      "sends and receives only from send*/recv* calls, not read()/write(), and no level-4 byte "
      "counts for UDP and unix sockets (sock:sock_send_length needs Linux 6.3)");
  GAP(!k->data_ready, "no AfdDataIndication (no sock:sk_data_ready tracepoint)");
  GAP(!k->kfree_skb_sk, "no KernelDrop (skb:kfree_skb does not name the receiving socket)");
  GAP(!k->kfree_skb_sk && !k->udp_drop_sender && !k->kfree_skb_reason,
      "AfdDatagramDropWithAddress without the sender's address");
#undef GAP
  return n;
}

int st_ebpf_event_available(const st_ebpf_kernel *k, uint8_t provider, uint16_t id,
                            const char **why) {
  *why = NULL;
  if (provider == ST_PROVIDER_CATALOG) {
    if (id >= ST_EV_CAT_LSP_INSTALLED && id <= ST_EV_CAT_RESET)
      return ST_AVAIL_YES;
    *why = "Windows' group policy only";
    return ST_AVAIL_NO;
  }
  switch (id) {
  case ST_EV_CREATE:
  case ST_EV_CLOSE:
  case ST_EV_CLEANUP:
  case ST_EV_CONNECT_ADDR:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_BIND_ADDR:
  case ST_EV_LISTEN:
  case ST_EV_OPTION:
  case ST_EV_ENDPOINT_SUMMARY:
  case ST_EV_EVENTS_LOST:
  case ST_EV_DECODE_ERROR:
    return ST_AVAIL_YES;
  case ST_EV_CONNECT:
  case ST_EV_ABORT:
  case ST_EV_CONNECT_INDICATION_ADDR:
  case ST_EV_DISCONNECT:
  case ST_EV_TCP_STATE_CHANGE:
  case ST_EV_TCP_RETRANSMIT:
  case ST_EV_TCP_RESET_SENT:
    if (k->tcp_tracepoints)
      return ST_AVAIL_YES;
    *why = "no TCP tracepoints";
    return ST_AVAIL_NO;
  case ST_EV_SEND:
  case ST_EV_RECEIVE:
  case ST_EV_SENDTO_ADDR:
  case ST_EV_RECEIVEFROM_ADDR:
  case ST_EV_SENDMSG:
  case ST_EV_RECEIVEMSG:
  case ST_EV_SENDMSG_ADDR:
  case ST_EV_RECEIVEMSG_ADDR:
    if (k->sock_length)
      return ST_AVAIL_YES;
    *why = "send*/recv* calls only; read()/write() need Linux 6.3";
    return ST_AVAIL_PARTLY;
  case ST_EV_DATA_INDICATION:
    if (k->data_ready)
      return ST_AVAIL_YES;
    *why = "no sock:sk_data_ready";
    return ST_AVAIL_NO;
  case ST_EV_KERNEL_DROP:
    if (k->kfree_skb_sk)
      return ST_AVAIL_YES;
    *why = "skb:kfree_skb names no socket";
    return ST_AVAIL_NO;
  case ST_EV_DATAGRAM_DROP_ADDR:
    if (k->kfree_skb_sk || (k->udp_drops && (k->udp_drop_sender || k->kfree_skb_reason)))
      return ST_AVAIL_YES;
    if (k->udp_drops) {
      *why = "UDP only, without the sender's address";
      return ST_AVAIL_PARTLY;
    }
    *why = "no drop tracepoint names a socket";
    return ST_AVAIL_NO;
  case ST_EV_DNS_MESSAGE:
    *why = "from packet captures only, not live yet";
    return ST_AVAIL_NO;
  default:
    *why = "not on Linux";
    return ST_AVAIL_NO;
  }
}

#define DROP_PREFIX "SKB_DROP_REASON_"

void ebpf_drop_names_load(ebpf_drop_names *d, struct btf *btf) {
  memset(d, 0, sizeof *d);
  if (!btf)
    return; /* events then show the reason's number */
  int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
  const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
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
    const char *n = btf__name_by_offset(btf, e[i].name_off);
    if ((uint32_t)e[i].val > max || !n)
      continue;
    if (strncmp(n, DROP_PREFIX, strlen(DROP_PREFIX)) == 0)
      n += strlen(DROP_PREFIX);
    d->names[e[i].val] = strdup(n);
  }
}

void ebpf_drop_names_free(ebpf_drop_names *d) {
  for (uint32_t i = 0; i < d->count; i++)
    free((char *)d->names[i]);
  free(d->names);
  memset(d, 0, sizeof *d);
}

/* Copies the line at p (up to its newline) into out, trimmed. */
static void copy_line(const char *p, char *out, size_t len) {
  const char *end = strchr(p, '\n');
  size_t n = end ? (size_t)(end - p) : strlen(p);
  while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '.'))
    n--;
  if (n >= len)
    n = len - 1;
  memcpy(out, p, n);
  out[n] = '\0';
}

/* The verifier's last words on a program: the last two lines of its log
 * that are neither instructions, source nor statistics. */
static bool verifier_reason(const char *log, char *why, size_t len) {
  const char *begin = strstr(log, "-- BEGIN PROG LOAD LOG --");
  const char *end = begin ? strstr(begin, "-- END PROG LOAD LOG --") : NULL;
  const char *last = NULL, *before = NULL;
  if (!end)
    return false;
  for (const char *p = strchr(begin, '\n'); p && p + 1 < end; p = strchr(p + 1, '\n')) {
    const char *line = p + 1;
    if (line >= end)
      break;
    if (*line == '\n' || *line == ';' || (*line >= '0' && *line <= '9') ||
        !strncmp(line, "processed ", 10) || !strncmp(line, "verification time", 17) ||
        !strncmp(line, "stack depth", 11) || !strncmp(line, "libbpf:", 7))
      continue;
    before = last;
    last = line;
  }
  if (!last)
    return false;
  char a[256] = "";
  if (before)
    copy_line(before, a, sizeof a);
  copy_line(last, why, len);
  if (*a && strlen(a) + 2 < len) {
    char b[256];
    snprintf(b, sizeof b, "%s", why);
    snprintf(why, len, "%s; %s", a, b);
  }
  return true;
}

bool ebpf_load_error(const char *log, char *prog, size_t prog_len, char *why, size_t why_len) {
  static const char *const marks[] = {"failed to resolve CO-RE relocation",
                                      "failed to find kernel BTF type ID",
                                      "BPF program load failed", "failed to load", "failed to"};
  const char *hit = NULL, *mark = NULL;

  for (size_t m = 0; m < sizeof marks / sizeof *marks && !hit; m++) {
    for (const char *p = strstr(log, "prog '"); p; p = strstr(p + 1, "prog '")) {
      const char *eol = strchr(p, '\n');
      const char *found = strstr(p, marks[m]);
      if (found && (!eol || found < eol)) {
        hit = p;
        mark = found;
        break;
      }
    }
  }
  if (!hit)
    return false;
  const char *name = hit + 6, *q = strchr(name, '\'');
  size_t n = q ? (size_t)(q - name) : 0;
  if (n >= prog_len)
    n = prog_len - 1;
  memcpy(prog, name, n);
  prog[n] = '\0';
  if (strstr(mark, "BPF program load failed") == mark && verifier_reason(hit, why, why_len))
    return true;
  copy_line(mark, why, why_len);
  return true;
}
