/*
 * The Process -> pid table and endpoint identities of the ETW backend (see
 * etw_state.h). Two open-addressing hash tables keyed by 64-bit kernel
 * addresses; no dependency beyond the C library so it builds the same for
 * Windows and for the Linux tests.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "etw_state.h"

typedef struct proc_entry {
  uint64_t key; /* EPROCESS address; 0 = empty slot */
  uint32_t pid;
} proc_entry;

typedef struct name_entry {
  uint64_t key; /* pid + 1; 0 = empty slot */
  char comm[ST_COMM_MAX];
} name_entry;

typedef struct ep_entry {
  uint64_t key;     /* Endpoint address; 0 = empty slot */
  uint64_t process; /* owner's EPROCESS, when known */
  uint16_t gen;     /* lives of this address so far, minus one */
  bool closed;      /* AfdClose seen: the next create starts a new life */
  bool preexisting; /* first seen by something other than its create */
} ep_entry;

typedef struct table {
  void *slots;
  size_t cap, used, size; /* size: bytes per slot */
} table;

struct st_etw_state {
  table procs, eps, names;
  st_etw_name_fn name_fn;
  void *name_arg;
};

static uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return k;
}

static uint64_t *slot_key(const table *t, size_t i) {
  return (uint64_t *)((char *)t->slots + i * t->size);
}

static void *find(const table *t, uint64_t key) {
  if (!key || !t->cap)
    return NULL;
  for (size_t i = mix(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    uint64_t *k = slot_key(t, i);
    if (*k == key)
      return k;
    if (*k == 0)
      return NULL;
  }
}

static bool grow(table *t) {
  size_t cap = t->cap ? t->cap * 2 : 256;
  void *slots = calloc(cap, t->size);
  if (!slots)
    return false;
  table n = {slots, cap, 0, t->size};
  for (size_t i = 0; i < t->cap; i++) {
    uint64_t *k = slot_key(t, i);
    if (!*k)
      continue;
    size_t j = mix(*k) & (cap - 1);
    while (*slot_key(&n, j))
      j = (j + 1) & (cap - 1);
    memcpy(slot_key(&n, j), k, t->size);
    n.used++;
  }
  free(t->slots);
  *t = n;
  return true;
}

/* The slot for key, zero-filled (but for the key) when new; NULL when out
 * of memory or key is 0. */
static void *insert(table *t, uint64_t key, bool *created) {
  *created = false;
  if (!key)
    return NULL;
  void *e = find(t, key);
  if (e)
    return e;
  if ((t->used + 1) * 4 > t->cap * 3 && !grow(t))
    return NULL;
  size_t i = mix(key) & (t->cap - 1);
  while (*slot_key(t, i))
    i = (i + 1) & (t->cap - 1);
  uint64_t *k = slot_key(t, i);
  memset(k, 0, t->size);
  *k = key;
  t->used++;
  *created = true;
  return k;
}

st_etw_state *st_etw_state_new(st_etw_name_fn name_fn, void *arg) {
  st_etw_state *st = calloc(1, sizeof *st);
  if (!st)
    return NULL;
  st->procs.size = sizeof(proc_entry);
  st->eps.size = sizeof(ep_entry);
  st->names.size = sizeof(name_entry);
  st->name_fn = name_fn;
  st->name_arg = arg;
  return st;
}

void st_etw_state_free(st_etw_state *st) {
  if (!st)
    return;
  free(st->procs.slots);
  free(st->eps.slots);
  free(st->names.slots);
  free(st);
}

size_t st_etw_state_processes(const st_etw_state *st) {
  return st->procs.used;
}

size_t st_etw_state_endpoints(const st_etw_state *st) {
  return st->eps.used;
}

/* The process name of pid into comm, asked once per pid (again when a
 * create shows the pid has a new owner). */
static void name_of(st_etw_state *st, uint32_t pid, bool refresh, char *comm) {
  comm[0] = 0;
  if (!st->name_fn || !pid)
    return;
  bool created;
  name_entry *n = insert(&st->names, (uint64_t)pid + 1, &created);
  if (n && !created && !refresh) {
    memcpy(comm, n->comm, ST_COMM_MAX);
    return;
  }
  char name[256];
  if (st->name_fn(pid, name, sizeof name, st->name_arg) == 0) {
    size_t n = strnlen(name, sizeof name);
    if (n > ST_COMM_MAX - 1)
      n = ST_COMM_MAX - 1;
    memcpy(comm, name, n);
    comm[n] = 0;
  }
  if (n)
    memcpy(n->comm, comm, ST_COMM_MAX);
}

/* Records Process -> pid; a create's ProcessId replaces what the table
 * held (the EPROCESS address may belong to a new process by now). Returns
 * true when the mapping is new or changed. */
static bool learn_process(st_etw_state *st, uint64_t process, uint32_t pid) {
  bool created;
  proc_entry *p = insert(&st->procs, process, &created);
  if (!p || (!created && p->pid == pid))
    return false;
  p->pid = pid;
  return true;
}

static uint64_t endpoint_id(const ep_entry *e) {
  return e->key ^ ((uint64_t)e->gen << 48);
}

/* The entry for a raw endpoint seen by ev; starts a new life on a create
 * after a close. */
static ep_entry *touch_endpoint(st_etw_state *st, uint64_t raw, bool is_create) {
  bool created;
  ep_entry *e = insert(&st->eps, raw, &created);
  if (!e)
    return NULL;
  if (created) {
    e->preexisting = !is_create;
  } else if (is_create && e->closed) {
    e->gen++;
    e->closed = false;
    e->preexisting = false;
    e->process = 0;
  }
  return e;
}

void st_etw_state_apply(st_etw_state *st, const st_etw_info *info, st_event *ev) {
  uint32_t header_pid = ev->pid, header_tid = ev->tid;
  bool afd = ev->provider == ST_PROVIDER_AFD;
  bool is_create = afd && ev->id == ST_EV_CREATE;

  ep_entry *ep = NULL;
  if (afd && info->raw_endpoint) {
    ep = touch_endpoint(st, info->raw_endpoint, is_create);
    if (ep) {
      ev->endpoint = endpoint_id(ep);
      if (ep->preexisting)
        ev->flags |= ST_FLAG_PREEXISTING;
      if (info->process)
        ep->process = info->process;
      if (ev->id == ST_EV_CLOSE)
        ep->closed = true;
    }
  }
  /* Read now: the accepted endpoint's insert below may move the table. */
  uint64_t ep_process = ep ? ep->process : 0;
  if (afd && (ev->has & ST_HAS_ACCEPT_EP) && ev->accept_endpoint) {
    /* The accepted socket is born in this session even if its create comes
     * later. */
    ep_entry *acc = touch_endpoint(st, ev->accept_endpoint, true);
    if (acc) {
      acc->preexisting = false;
      ev->accept_endpoint = endpoint_id(acc);
    }
  }

  /* Whose socket is it? The create's ProcessId, then what the table knows
   * of Process (or of the endpoint's owner), then the header of a request
   * written in the caller's thread, and only then a guess. */
  uint64_t process = info->process ? info->process : ep_process;
  uint32_t pid = header_pid;
  bool known = false, changed = false;
  proc_entry *p;
  if (afd && info->has_process_id && info->process_id && info->process_id <= UINT32_MAX) {
    pid = (uint32_t)info->process_id;
    known = true;
    changed = learn_process(st, process, pid);
  } else if (process && (p = find(&st->procs, process)) != NULL) {
    pid = p->pid;
    known = true;
  } else if (afd && process && info->request_context && header_pid) {
    known = true;
    changed = learn_process(st, process, header_pid);
  }
  /* A socket from before the session, written outside its owner's thread:
   * the header is all there is. */
  if (!known && afd && process)
    ev->flags |= ST_FLAG_PID_GUESSED;
  ev->pid = pid;
  name_of(st, pid, changed, ev->comm);
  /* The header's thread belongs to the header's process. */
  ev->tid = pid == header_pid ? header_tid : 0;
}
