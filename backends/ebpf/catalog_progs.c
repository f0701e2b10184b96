/*
 * The BPF programs on cgroup socket hooks as a live trace knows them, and
 * the catalog events their changes make (catalog.h: lcat_progs).
 *
 * A bpf() record (catalog.bpf.c) is reported at once, with the process that
 * made the call: the kernel may have undone the change by the time anyone
 * looks (a program attached and detached within one drain of the ring),
 * so the record, not a later look, is what says a change happened. The
 * periodic look then finds what no bpf() call announces: a link released
 * when its last file descriptor closed (its process exited, say), the
 * programs of a cgroup that was removed, or a change whose record was lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "catalog.h"
#include "socktrace.h"

#define F_ALLOW_OVERRIDE 1u
#define F_ALLOW_MULTI 2u

int lcat_progs_init(lcat_progs *p, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  if (lcat_cgroup_mount(p->mount, sizeof p->mount) < 0) {
    snprintf(err, errlen,
             "no cgroup v2 hierarchy is mounted: no BPF program can be on a cgroup "
             "socket hook");
    return ST_ENOENT;
  }
  return lcat_bpf_scan(p->mount, NULL, &p->now, err, errlen);
}

void lcat_progs_free(lcat_progs *p) {
  lcat_bpf_list_free(&p->now);
  lcat_bpf_list_free(&p->seen_added);
  lcat_bpf_list_free(&p->seen_removed);
}

static void emit_change(lcat_emit_fn emit, void *arg, uint16_t id, const st_linux_catalog_bpf *b,
                        const char *why, const lcat_who *who) {
  st_event ev;
  lcat_event_bpf(b, why, id, &ev);
  emit(arg, &ev, who);
}

/* A cgroup's path: from an entry that has it, else by looking. */
static void cgroup_path(const lcat_progs *p, uint64_t id, char *out, size_t len) {
  for (size_t i = 0; i < p->now.n; i++) {
    if (p->now.v[i].cgroup_id == id) {
      snprintf(out, len, "%s", p->now.v[i].cgroup);
      return;
    }
  }
  if (!id || !lcat_cgroup_path(p->mount, id, out, len))
    snprintf(out, len, "(cgroup id %llu)", (unsigned long long)id);
}

static st_linux_catalog_bpf *find_link(const lcat_progs *p, uint32_t link_id) {
  for (size_t i = 0; link_id && i < p->now.n; i++)
    if (p->now.v[i].link_id == link_id)
      return &p->now.v[i];
  return NULL;
}

/* The entry a record names (its program as the kernel read it). */
static void from_record(const lcat_progs *p, const struct st_bpf_rec_catalog *r,
                        st_linux_catalog_bpf *b) {
  memset(b, 0, sizeof *b);
  b->attach_type = r->attach_type;
  b->attach_flags =
      r->link_id ? F_ALLOW_MULTI : r->attach_flags & (F_ALLOW_OVERRIDE | F_ALLOW_MULTI);
  b->prog_id = r->prog_id;
  b->link_id = r->link_id;
  b->cgroup_id = r->cgroup_id;
  snprintf(b->name, sizeof b->name, "%.15s", r->prog_name);
  if (r->prog_id)
    for (int i = 0; i < 8; i++)
      snprintf(b->tag + 2 * i, 3, "%02x", r->tag[i]);
  cgroup_path(p, r->cgroup_id, b->cgroup, sizeof b->cgroup);
}

/* Removes what the kernel took away and reports it. */
static void removed(lcat_progs *p, st_linux_catalog_bpf *e, const char *why, const lcat_who *who,
                    lcat_emit_fn emit, void *arg) {
  emit_change(emit, arg, ST_EV_CAT_LSP_REMOVED, e, why, who);
  lcat_bpf_remove(&p->now, e);
}

static void installed(lcat_progs *p, const st_linux_catalog_bpf *b, const char *why,
                      const lcat_who *who, lcat_emit_fn emit, void *arg) {
  st_linux_catalog_bpf *e = lcat_bpf_find(&p->now, b->attach_type, b->cgroup_id, b->prog_id);
  if (e)
    *e = *b; /* attached again: new flags, or now through a link */
  else
    lcat_bpf_list_add(&p->now, b);
  emit_change(emit, arg, ST_EV_CAT_LSP_INSTALLED, b, why, who);
}

void lcat_progs_record(lcat_progs *p, const struct st_bpf_rec_catalog *r, int64_t boot_to_real,
                       lcat_emit_fn emit, void *arg) {
  lcat_who who = {.pid = r->p.pid, .tid = r->p.tid, .ts_ns = r->h.ts + (uint64_t)boot_to_real};
  memcpy(who.comm, r->p.comm, sizeof who.comm);
  st_linux_catalog_bpf b, *e;
  from_record(p, r, &b);
  switch (r->cmd) {
  case ST_BPF_CMD_PROG_ATTACH:
    /* BPF_F_REPLACE names the program it replaces; an attach that does not
     * allow many replaces what was there. */
    if (r->old_prog_id &&
        (e = lcat_bpf_find(&p->now, r->attach_type, r->cgroup_id, r->old_prog_id)))
      removed(p, e, NULL, &who, emit, arg);
    for (size_t i = 0; !(r->attach_flags & F_ALLOW_MULTI) && i < p->now.n;) {
      e = &p->now.v[i];
      if (e->attach_type == r->attach_type && e->cgroup_id == r->cgroup_id && !e->link_id &&
          e->prog_id != r->prog_id)
        removed(p, e, NULL, &who, emit, arg);
      else
        i++;
    }
    installed(p, &b, NULL, &who, emit, arg);
    break;
  case ST_BPF_CMD_PROG_DETACH:
    /* Without a program, the one attached (in a mode that allows one). */
    e = NULL;
    for (size_t i = 0; i < p->now.n && !e; i++) {
      st_linux_catalog_bpf *x = &p->now.v[i];
      if (x->attach_type == r->attach_type && x->cgroup_id == r->cgroup_id && !x->link_id &&
          (!r->prog_id || x->prog_id == r->prog_id))
        e = x;
    }
    if (e)
      removed(p, e, NULL, &who, emit, arg);
    else
      emit_change(emit, arg, ST_EV_CAT_LSP_REMOVED, &b, NULL, &who);
    break;
  case ST_BPF_CMD_LINK_CREATE:
    installed(p, &b, NULL, &who, emit, arg);
    break;
  case ST_BPF_CMD_LINK_UPDATE:
    /* The link keeps its hook and cgroup and changes program. */
    e = find_link(p, r->link_id);
    if (e && e->prog_id != r->prog_id)
      removed(p, e, NULL, &who, emit, arg);
    installed(p, &b, NULL, &who, emit, arg);
    break;
  case ST_BPF_CMD_LINK_DETACH:
    e = find_link(p, r->link_id);
    if (e)
      removed(p, e, NULL, &who, emit, arg);
    else
      emit_change(emit, arg, ST_EV_CAT_LSP_REMOVED, &b, NULL, &who);
    break;
  default:
    break;
  }
}

static bool in(const lcat_bpf_list *l, const st_linux_catalog_bpf *e) {
  return lcat_bpf_find(l, e->attach_type, e->cgroup_id, e->prog_id) != NULL;
}

/* Why an entry went without a bpf() call (its process is not known). */
static const char *why_gone(const lcat_progs *p, const st_linux_catalog_bpf *e) {
  char path[256];
  if (e->link_id)
    return "released: last fd closed";
  if (!lcat_cgroup_path(p->mount, e->cgroup_id, path, sizeof path))
    return "cgroup removed";
  return "no bpf() call seen";
}

void lcat_progs_look(lcat_progs *p, bool full, lcat_emit_fn emit, void *arg) {
  lcat_bpf_list look = {0}, added = {0}, gone = {0};
  char err[256];
  if (lcat_bpf_scan(p->mount, full ? NULL : &p->now, &look, err, sizeof err) < 0) {
    lcat_bpf_list_free(&look);
    return; /* tried again at the next look */
  }
  lcat_who nobody = {.ts_ns = 0};
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) == 0)
    nobody.ts_ns = (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;

  for (size_t i = 0; i < look.n; i++) {
    st_linux_catalog_bpf *x = &look.v[i],
                         *e = lcat_bpf_find(&p->now, x->attach_type, x->cgroup_id, x->prog_id);
    if (e) {
      /* What the kernel says of a known entry: its link, its mode, where its
       * cgroup is now. */
      e->link_id = x->link_id;
      e->attach_flags = x->attach_flags;
      memcpy(e->cgroup, x->cgroup, sizeof e->cgroup);
      continue;
    }
    if (in(&p->seen_added, x))
      installed(p, x, "no bpf() call seen", &nobody, emit, arg);
    else
      lcat_bpf_list_add(&added, x);
  }
  for (size_t i = 0; i < p->now.n;) {
    st_linux_catalog_bpf *e = &p->now.v[i];
    if (in(&look, e)) {
      i++;
    } else if (in(&p->seen_removed, e)) {
      removed(p, e, why_gone(p, e), &nobody, emit, arg);
    } else {
      lcat_bpf_list_add(&gone, e);
      i++;
    }
  }
  lcat_bpf_list_free(&look);
  lcat_bpf_list_free(&p->seen_added);
  lcat_bpf_list_free(&p->seen_removed);
  p->seen_added = added;
  p->seen_removed = gone;
  p->looks++;
}
