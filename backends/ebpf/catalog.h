/*
 * Private to the eBPF backend: the Linux catalog's parts.
 *  - catalog_files.c: the files (ld.so.preload, nsswitch.conf's hosts line,
 *    resolv.conf, gai.conf, hosts) read into entries, switched on or
 *    commented out, and the difference between two versions of a file as
 *    catalog events. Pure: no I/O but reading a file.
 *  - catalog_cgroup.c: the BPF programs attached to cgroup socket hooks,
 *    found by walking the cgroup v2 hierarchy (BPF_PROG_QUERY per hook) and
 *    the kernel's links; the words an entry is shown with.
 *  - catalog_nft.c: nftables rule-set changes, from the kernel's
 *    notifications, as CatalogReset events.
 *  - catalog_watch.c: a live session's watcher: the bpf() records of
 *    catalog.bpf.c, file watches (fanotify, else inotify), a periodic look
 *    for links released without a bpf() call, nftables; events out.
 */
#ifndef ST_EBPF_CATALOG_H
#define ST_EBPF_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ebpf.h"
#include "socktrace/event.h"

/* snprintf where cutting is intended (entries are cut to fit an event). */
void lcat_format(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Makes room for one more item in the growable array *items (n used, *cap
 * allocated, each size bytes); 0 or ST_ENOMEM. */
int lcat_grow(void *items, size_t *cap, size_t n, size_t size);

/* ---- files --------------------------------------------------------------- */

/* Where each file kind lives under the root ("/etc/ld.so.preload"); NULL
 * for ST_LCAT_BPF. */
const char *lcat_file_path(uint8_t kind);
/* The root to use: root when given, else $SOCKTRACE_CATALOG_ROOT, else "";
 * copied into out without a trailing slash. */
void lcat_root(const char *root, char *out, size_t len);

/* Entries of one version of a file, in file order, each once. */
typedef struct lcat_set lcat_set;
typedef struct lcat_parsed {
  bool present; /* the file exists */
  lcat_set *active;
  lcat_set *disabled; /* commented out */
} lcat_parsed;

/* Parses text (NULL: the file is absent) as a file of kind. 0 or
 * ST_ENOMEM. */
int lcat_parse(uint8_t kind, const char *text, lcat_parsed *out);
void lcat_parsed_free(lcat_parsed *p);
/* The active entries in file order: the i-th, or NULL past the end. */
const char *lcat_active(const lcat_parsed *p, size_t i);
/* Reads a whole file (at most LCAT_FILE_MAX bytes) into a malloc'd string;
 * NULL and *present false when it does not exist. */
#define LCAT_FILE_MAX (16u << 20)
char *lcat_read_file(const char *path, bool *present);

/* At most this many entry events for one change of a file; beyond it the
 * change is reported as one CatalogReset with counts. */
#define LCAT_CHANGE_EVENTS_MAX 64

typedef void (*lcat_change_fn)(void *arg, uint16_t id, const char *entry);
/* Reports how old became new: LspRemoved for an entry gone, LspDisabled for
 * one commented out, LspInstalled for one added (or switched back on). When
 * most entries were replaced (fewer than half of two or more survive, and
 * something new came), or more changed than LCAT_CHANGE_EVENTS_MAX, a
 * CatalogReset saying how many comes first (its entry: "replaced: ..."),
 * then at most LCAT_CHANGE_EVENTS_MAX entry events. Returns how many
 * entries changed. */
size_t lcat_diff(const lcat_parsed *old, const lcat_parsed *new, lcat_change_fn fn, void *arg);

/* ---- BPF programs on cgroup socket hooks --------------------------------- */

typedef struct lcat_bpf_list {
  st_linux_catalog_bpf *v;
  size_t n, cap;
} lcat_bpf_list;

void lcat_bpf_list_free(lcat_bpf_list *l);
int lcat_bpf_list_add(lcat_bpf_list *l, const st_linux_catalog_bpf *e);
/* The entry of this hook, cgroup and program (NULL: none). */
st_linux_catalog_bpf *lcat_bpf_find(const lcat_bpf_list *l, uint32_t attach_type,
                                    uint64_t cgroup_id, uint32_t prog_id);
void lcat_bpf_remove(lcat_bpf_list *l, st_linux_catalog_bpf *e);

/* Where cgroup v2 is mounted ("/sys/fs/cgroup", or ".../unified" on a hybrid
 * host); 0 or ST_ENOENT. */
int lcat_cgroup_mount(char *out, size_t len);
/* The programs on cgroup socket hooks into out (emptied first). cgroups:
 * NULL walks the whole hierarchy; else only these cgroups are asked (the
 * ones known to hold programs: a cheap look), with the kernel's links.
 * Returns 0 or a negative code with err saying what failed. */
int lcat_bpf_scan(const char *mount, const lcat_bpf_list *cgroups, lcat_bpf_list *out, char *err,
                  size_t errlen);
/* The path of a cgroup under the mount ("/" for its root) by id: false
 * when no directory has it. */
bool lcat_cgroup_path(const char *mount, uint64_t id, char *out, size_t len);
/* libbpf's section name of a hook: "cgroup/connect4" (NULL: not a cgroup
 * socket hook). */
const char *lcat_hook_name(uint32_t attach_type);
/* An entry's words, why (may be NULL) in brackets before the cgroup, cut
 * to fit len (the cgroup path loses its start first):
 * "cgroup/connect4 prog=57 name=st_connect4 tag=... multi cgroup=/x". */
void lcat_bpf_describe(const st_linux_catalog_bpf *b, const char *why, char *out, size_t len);

/* The catalog event of an entry (catalog.c): provider, keyword, os, backend
 * and detail; why, when given, says in brackets what is not known ("process
 * unknown: ..."). Time and process are the caller's. */
void lcat_event_bpf(const st_linux_catalog_bpf *b, const char *why, uint16_t id, st_event *ev);
void lcat_event_file(const char *path, const char *entry, const char *why, uint16_t id,
                     st_event *ev);

/* ---- what the catalog holds now, kept up to date (catalog_progs.c) ------- */

/* Who made a change, and when (wall-clock ns); pid 0: not known. */
typedef struct lcat_who {
  uint32_t pid, tid;
  char comm[16];
  uint64_t ts_ns;
} lcat_who;
typedef void (*lcat_emit_fn)(void *arg, st_event *ev, const lcat_who *who);

/* The programs on cgroup socket hooks as the trace knows them: changed by
 * each bpf() record at once (the record says who), and compared with the
 * kernel by a periodic look, which finds what no bpf() call announced (a
 * link released when its last descriptor closed, a cgroup removed). A
 * difference is reported when two looks in a row find it, so a record
 * still on its way is never reported twice. */
typedef struct lcat_progs {
  char mount[1024]; /* cgroup v2 */
  lcat_bpf_list now;
  lcat_bpf_list seen_added, seen_removed; /* found by the last look */
  unsigned looks;
} lcat_progs;

/* Reads what is there now (nothing is reported for it). 0, or a negative
 * code with err (no cgroup v2, no privilege). */
int lcat_progs_init(lcat_progs *p, char *err, size_t errlen);
struct st_bpf_rec_catalog;
void lcat_progs_record(lcat_progs *p, const struct st_bpf_rec_catalog *r, int64_t boot_to_real,
                       lcat_emit_fn emit, void *arg);
/* One look: the whole hierarchy when full, else the cgroups known to hold
 * programs and the kernel's links. */
void lcat_progs_look(lcat_progs *p, bool full, lcat_emit_fn emit, void *arg);
void lcat_progs_free(lcat_progs *p);

/* ---- nftables rule sets (catalog_nft.c) ----------------------------------- */

#define LCAT_NFT_KINDS 7         /* tables, chains, rules, sets, elements, objects, flowtables */
#define LCAT_NFT_BUF (64u << 10) /* bytes read at once */

/* The nftables notifications of the tracer's network namespace, and the
 * transaction they are adding up. */
typedef struct lcat_nft {
  int fd; /* -1: not watching */
  char *buf;
  uint32_t added[LCAT_NFT_KINDS], removed[LCAT_NFT_KINDS]; /* added also counts changed */
  char table[80];                                          /* the first table: "inet filter" */
  bool more_tables;                                        /* and others */
} lcat_nft;

/* Joins the nftables notification group (root). 0, or a negative code
 * with err saying why not. */
int lcat_nft_open(lcat_nft *n, char *err, size_t errlen);
/* Reads what the socket holds: one CatalogReset per committed transaction,
 * with the process that committed it ("nftables rules changed (generation
 * 7): +1 table +2 rules (inet filter)"). */
void lcat_nft_read(lcat_nft *n, lcat_emit_fn emit, void *arg);
/* One notification (a struct nlmsghdr and what follows it). */
void lcat_nft_message(lcat_nft *n, const void *msg, lcat_emit_fn emit, void *arg);
void lcat_nft_close(lcat_nft *n);

/* A table of the namespace's rule sets, as `socktrace catalog` lists it. */
typedef struct lcat_nft_table {
  char name[80]; /* "inet filter" */
  uint32_t chains, rules, sets;
} lcat_nft_table;
/* The tables (a malloc'd array the caller frees, also on failure). 0 (also
 * for a kernel without nftables), or a negative code with err (root or
 * CAP_NET_ADMIN is needed). */
int lcat_nft_list(lcat_nft_table **out, size_t *count, char *err, size_t errlen);
/* "inet filter: 2 chains, 5 rules, 0 sets". */
void lcat_nft_table_words(const lcat_nft_table *t, char *out, size_t len);

/* ---- the live watcher ----------------------------------------------------- */

typedef struct ebpf_catalog ebpf_catalog;

typedef struct ebpf_catalog_hooks {
  void (*emit)(void *arg, st_event *ev);          /* a catalog event for the session */
  bool (*in_scope)(void *arg, uint32_t pid);      /* the session's pid / tree filter */
  void (*drain)(void *arg);                       /* read the ring (its records come back) */
  void (*notice)(const char *message, void *arg); /* may be NULL */
  void *arg;
  int64_t boot_to_real; /* record times (CLOCK_BOOTTIME) to wall-clock time */
  bool bpf_records;     /* the bpf() syscall program is attached */
} ebpf_catalog_hooks;

/* Reads the catalog as it is (nothing is reported for it), watches its
 * files and starts the periodic look, on loop. NULL with err on failure. */
ebpf_catalog *ebpf_catalog_start(uv_loop_t *loop, const char *root, const ebpf_catalog_hooks *h,
                                 char *err, size_t errlen);
/* One ST_K_CATALOG ring record: its change is reported at once. */
void ebpf_catalog_record(ebpf_catalog *c, const void *rec, size_t size);
/* Stops watching and frees c once its handles are closed (the loop must
 * run for that, as for every handle of the session). */
void ebpf_catalog_stop(ebpf_catalog *c);

#endif
