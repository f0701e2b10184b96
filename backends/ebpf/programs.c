/*
 * Which of the kernel side's programs load, and which are attached. Every
 * program this kernel can run is loaded at start (a program whose
 * tracepoint is missing would fail the whole object); which of them are
 * attached follows the session's settings, and changes with them while it
 * runs: level 5's programs only at level 5, the process-tree ones only with
 * a tree filter, the bpf() syscall's only with the catalog keyword.
 * Attaching one leaves the others attached: a change never opens a gap.
 */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebpf_programs.h"
#include "socktrace.h" /* the settings the skeleton names */
#include "socktrace.skel.h"

/* Whether a syscall tracepoint exists (assumed when tracefs is not there
 * yet: attaching then says what is missing). */
static bool syscall_tracepoint(const char *tracing, const char *name) {
  char path[256];
  if (!tracing)
    return true;
  snprintf(path, sizeof path, "%s/events/syscalls/%s", tracing, name);
  return access(path, F_OK) == 0;
}

/* A socket call's two programs (syscalls.bpf.c): name copies, name_c reads
 * in place. */
#define PAIR(name)                                                                                 \
  {s->progs.name, !k->rdonly_cast}, {                                                              \
    s->progs.name##_c, k->rdonly_cast                                                              \
  }

void ebpf_programs_choose(struct socktrace_bpf *s, const st_ebpf_kernel *k, const char *tracing) {
  struct {
    struct bpf_program *prog;
    bool on;
  } plan[] = {
      /* The data path: the socket layer's tracepoints, else the syscalls;
       * recvfrom/recvmsg report datagram senders everywhere. */
      {s->progs.send_length, k->sock_length},
      {s->progs.recv_length, k->sock_length},
      {s->progs.exit_sendto, !k->sock_length},
      {s->progs.exit_sendmsg, !k->sock_length},
      /* DNS: sendmmsg/recvmmsg at their exit everywhere; before 6.3 the
       * plain reads and writes of DNS sockets (dns.bpf.h). */
      {s->progs.exit_sendmmsg, true},
      {s->progs.exit_recvmmsg, true},
      {s->progs.dns_exit_read, !k->sock_length},
      {s->progs.dns_exit_write, !k->sock_length},
      {s->progs.dns_exit_readv, !k->sock_length},
      {s->progs.dns_exit_writev, !k->sock_length},
      {s->progs.data_ready, k->data_ready},
      {s->progs.set_state, k->tcp_tracepoints},
      {s->progs.receive_reset, k->tcp_tracepoints},
      {s->progs.send_reset, k->tcp_tracepoints},
      {s->progs.retransmit, k->tcp_tracepoints},
      {s->progs.destroy_sock, k->tcp_tracepoints},
      {s->progs.kfree_skb_rx, k->kfree_skb_sk},
      {s->progs.udp_queue_fail_skb, !k->kfree_skb_sk && k->udp_drop_sender},
      {s->progs.udp_queue_fail, !k->kfree_skb_sk && k->udp_drops && !k->udp_drop_sender},
      {s->progs.kfree_skb_stash,
       !k->kfree_skb_sk && k->udp_drops && !k->udp_drop_sender && k->kfree_skb_reason},
      /* The socket calls: one of each pair, the one that reads sockets in
       * place where the kernel can (common.bpf.h, bpf_rdonly_cast). */
      PAIR(exit_socket),
      PAIR(exit_bind),
      PAIR(exit_listen),
      PAIR(exit_shutdown),
      PAIR(enter_connect),
      PAIR(exit_connect),
      PAIR(exit_accept),
      PAIR(exit_accept4),
      PAIR(enter_close),
      /* A datagram's sender, at recvfrom/recvmsg's exit (data.bpf.c). */
      PAIR(exit_recvfrom),
      PAIR(exit_recvmsg),
  };
  for (size_t i = 0; i < sizeof plan / sizeof *plan; i++)
    bpf_program__set_autoload(plan[i].prog, plan[i].on);

  /* Syscall tracepoints an architecture or configuration may lack. */
  struct bpf_program *p;
  bpf_object__for_each_program(p, s->obj) {
    const char *sec = bpf_program__section_name(p);
    if (!strncmp(sec, "tracepoint/syscalls/", 20) && bpf_program__autoload(p) &&
        !syscall_tracepoint(tracing, sec + 20))
      bpf_program__set_autoload(p, false);
  }

  /* SOCKTRACE_EBPF_FORCE=prog,prog loads programs the probe left out, to
   * see the kernel's own reason. */
  const char *force = getenv("SOCKTRACE_EBPF_FORCE");
  if (force && *force) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", force);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      struct bpf_program *fp = bpf_object__find_program_by_name(s->obj, t);
      if (fp)
        bpf_program__set_autoload(fp, true);
    }
  }
}

/* Whether a loaded program is wanted attached with these settings. */
static bool wanted(const struct socktrace_bpf *s, const struct bpf_program *p, bool sock_length,
                   const st_session_config *cfg) {
  bool verbose = (cfg->level ? cfg->level : ST_LEVEL_INFO) >= ST_LEVEL_VERBOSE;
  if (p == s->progs.exit_setsockopt || p == s->progs.enter_ioctl || p == s->progs.data_ready)
    return verbose;
  /* With the socket layer's tracepoints, these only add a datagram's
   * sender at level 5. */
  if (p == s->progs.exit_recvfrom || p == s->progs.exit_recvmsg || p == s->progs.exit_recvfrom_c ||
      p == s->progs.exit_recvmsg_c)
    return verbose || !sock_length;
  if (p == s->progs.process_fork || p == s->progs.process_exit)
    return cfg->filter.tree_root != 0;
  if (p == s->progs.exit_bpf)
    return ebpf_catalog_wanted(cfg);
  bool dns = !cfg->keywords || (cfg->keywords & ST_KW_DNS);
  /* With the socket layer's tracepoints, sendmmsg/recvmmsg are watched
   * only for the DNS messages glibc sends with them. */
  if (p == s->progs.exit_sendmmsg || p == s->progs.exit_recvmmsg)
    return dns || !sock_length;
  if (p == s->progs.dns_exit_read || p == s->progs.dns_exit_write || p == s->progs.dns_exit_readv ||
      p == s->progs.dns_exit_writev)
    return dns;
  return true;
}

void ebpf_programs_trim(struct socktrace_bpf *s, bool sock_length, const st_session_config *cfg) {
  struct bpf_program *p;
  bpf_object__for_each_program(p, s->obj) {
    if (bpf_program__autoload(p) && !wanted(s, p, sock_length, cfg))
      bpf_program__set_autoload(p, false);
  }
}

int ebpf_programs_attach(ebpf_programs *a, struct socktrace_bpf *s, bool sock_length,
                         const st_session_config *cfg, char *err, size_t errlen) {
  struct bpf_program *p;
  size_t i = 0;
  bpf_object__for_each_program(p, s->obj) {
    if (i >= EBPF_MAX_PROGRAMS)
      break;
    struct bpf_link **l = &a->links[i++];
    if (!bpf_program__autoload(p))
      continue;
    bool want = wanted(s, p, sock_length, cfg);
    if (want && !*l) {
      *l = bpf_program__attach(p);
      if (!*l) {
        int rc = -errno;
        *l = NULL;
        snprintf(err, errlen, "cannot attach BPF program '%s' (%s): %s", bpf_program__name(p),
                 bpf_program__section_name(p), st_strerror(rc));
        return rc;
      }
    } else if (!want && *l) {
      bpf_link__destroy(*l);
      *l = NULL;
    }
  }
  return 0;
}

void ebpf_programs_detach(ebpf_programs *a) {
  for (size_t i = 0; i < EBPF_MAX_PROGRAMS; i++) {
    bpf_link__destroy(a->links[i]);
    a->links[i] = NULL;
  }
}

bool ebpf_catalog_wanted(const st_session_config *cfg) {
  return !cfg->keywords || (cfg->keywords & ST_KW_CATALOG);
}

size_t ebpf_programs_attached(const ebpf_programs *a) {
  size_t n = 0;
  for (size_t i = 0; i < EBPF_MAX_PROGRAMS; i++)
    n += a->links[i] != NULL;
  return n;
}
