/*
 * The Linux catalog as a whole (ebpf.h): its files' entries, the BPF
 * programs on cgroup socket hooks and the nftables tables, read for
 * `socktrace catalog`, and the
 * catalog event an entry makes, which the live watcher and the listing
 * share so both say an entry the same way. Never prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

static const char *const titles[ST_LCAT_KIND_COUNT] = {
    [ST_LCAT_BPF] = "BPF programs on cgroup socket hooks",
    [ST_LCAT_NFT] = "Packet filter rule sets (nftables)",
    [ST_LCAT_PRELOAD] = "Preloaded interposers",
    [ST_LCAT_NSS] = "Name-service providers",
    [ST_LCAT_RESOLVER] = "DNS resolvers",
    [ST_LCAT_GAI] = "Address selection rules",
    [ST_LCAT_HOSTS] = "Static host names",
};

const char *st_linux_catalog_title(uint8_t kind) {
  return kind < ST_LCAT_KIND_COUNT ? titles[kind] : "?";
}

void st_linux_catalog_path(const char *root, uint8_t kind, char *out, size_t len) {
  char r[1024];
  if (kind == ST_LCAT_BPF) {
    if (lcat_cgroup_mount(out, len) < 0 && len)
      out[0] = '\0';
    return;
  }
  if (kind == ST_LCAT_NFT) {
    lcat_format(out, len, "this network namespace");
    return;
  }
  lcat_root(root, r, sizeof r);
  lcat_format(out, len, "%s%s", r, kind < ST_LCAT_KIND_COUNT ? lcat_file_path(kind) : "");
}

int lcat_grow(void *items, size_t *cap, size_t n, size_t size) {
  void *v;
  if (n < *cap)
    return 0;
  memcpy(&v, items, sizeof v); /* the array's pointer, whatever its type */
  size_t want = *cap ? *cap * 2 : 16;
  void *grown = realloc(v, want * size);
  if (!grown)
    return ST_ENOMEM;
  memcpy(items, &grown, sizeof grown);
  *cap = want;
  return 0;
}

void lcat_format(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

static void event_init(uint16_t id, st_event *ev) {
  st_event_init(ev, ST_PROVIDER_CATALOG, id);
  ev->keywords = ST_KW_CATALOG;
  ev->os = ST_OS_LINUX;
  ev->backend = ST_BACKEND_EBPF;
  ev->has = ST_HAS_DETAIL;
}

void lcat_event_bpf(const st_linux_catalog_bpf *b, const char *why, uint16_t id, st_event *ev) {
  event_init(id, ev);
  lcat_bpf_describe(b, why, ev->detail, sizeof ev->detail);
  ev->cgroup = b->cgroup_id;
  ev->has |= ST_HAS_CGROUP;
}

void lcat_event_file(const char *path, const char *entry, const char *why, uint16_t id,
                     st_event *ev) {
  event_init(id, ev);
  lcat_format(ev->detail, sizeof ev->detail, "%s %s%s%s%s", path, entry, why ? " (" : "",
              why ? why : "", why ? ")" : "");
}

void st_linux_catalog_event(const st_linux_catalog_entry *e, uint16_t id, st_event *ev) {
  if (e->kind == ST_LCAT_BPF)
    lcat_event_bpf(&e->bpf, NULL, id, ev);
  else
    lcat_event_file(e->source, e->text, NULL, id, ev);
}

typedef struct entries {
  st_linux_catalog_entry *v;
  size_t n, cap;
} entries;

static st_linux_catalog_entry *add(entries *l, uint8_t kind) {
  if (lcat_grow(&l->v, &l->cap, l->n, sizeof *l->v) < 0)
    return NULL;
  st_linux_catalog_entry *e = &l->v[l->n++];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  return e;
}

static int read_file_entries(entries *l, const char *root, uint8_t kind) {
  char path[1024];
  bool present;
  lcat_parsed p;
  snprintf(path, sizeof path, "%s%s", root, lcat_file_path(kind));
  char *text = lcat_read_file(path, &present);
  int rc = lcat_parse(kind, text, &p);
  free(text);
  if (rc < 0)
    return rc;
  const char *t;
  for (size_t i = 0; (t = lcat_active(&p, i)) && !rc; i++) {
    st_linux_catalog_entry *e = add(l, kind);
    if (!e) {
      rc = ST_ENOMEM;
      break;
    }
    lcat_format(e->source, sizeof e->source, "%s", path);
    lcat_format(e->text, sizeof e->text, "%s", t);
  }
  lcat_parsed_free(&p);
  return rc;
}

/* An entry saying why kind could not be read (err). */
static void unread(entries *l, uint8_t kind, const char *err) {
  st_linux_catalog_entry *e = add(l, kind);
  if (e) {
    e->unread = true;
    lcat_format(e->text, sizeof e->text, "%s", err);
  }
}

static int read_bpf_entries(entries *l, char *err, size_t errlen) {
  char mount[1024];
  lcat_bpf_list progs = {0};
  if (lcat_cgroup_mount(mount, sizeof mount) < 0)
    return 0; /* no cgroup v2: no program can be on a cgroup hook */
  int rc = lcat_bpf_scan(mount, NULL, &progs, err, errlen);
  if (rc < 0 && rc != ST_ENOMEM)
    unread(l, ST_LCAT_BPF, err);
  for (size_t i = 0; i < progs.n && rc == 0; i++) {
    st_linux_catalog_entry *e = add(l, ST_LCAT_BPF);
    if (!e) {
      rc = ST_ENOMEM;
      break;
    }
    e->bpf = progs.v[i];
    snprintf(e->source, sizeof e->source, "%s", lcat_hook_name(e->bpf.attach_type));
    lcat_bpf_describe(&e->bpf, NULL, e->text, sizeof e->text);
  }
  lcat_bpf_list_free(&progs);
  return rc;
}

static int read_nft_entries(entries *l, char *err, size_t errlen) {
  lcat_nft_table *t = NULL;
  size_t n = 0;
  int rc = lcat_nft_list(&t, &n, err, errlen);
  if (rc < 0 && rc != ST_ENOMEM)
    unread(l, ST_LCAT_NFT, err);
  for (size_t i = 0; i < n && rc == 0; i++) {
    st_linux_catalog_entry *e = add(l, ST_LCAT_NFT);
    if (!e) {
      rc = ST_ENOMEM;
      break;
    }
    snprintf(e->source, sizeof e->source, "nftables");
    lcat_nft_table_words(&t[i], e->text, sizeof e->text);
  }
  free(t);
  return rc;
}

int st_linux_catalog_read(const char *root, st_linux_catalog_entry **out, size_t *count, char *err,
                          size_t errlen) {
  char r[1024];
  entries l = {0};
  int rc = 0;
  lcat_root(root, r, sizeof r);
  if (errlen)
    err[0] = '\0';
  /* The programs and the rule sets first, as `socktrace catalog` shows
   * them; the files are read even when those cannot be (no privilege). The
   * first failure is the one said. */
  char nft_err[512] = "";
  int bpf_rc = read_bpf_entries(&l, err, errlen);
  int nft_rc = read_nft_entries(&l, nft_err, sizeof nft_err);
  for (uint8_t k = ST_LCAT_PRELOAD; k < ST_LCAT_KIND_COUNT && !rc; k++)
    rc = read_file_entries(&l, r, k);
  if (!rc)
    rc = bpf_rc;
  if (!rc && nft_rc) {
    rc = nft_rc;
    lcat_format(err, errlen, "%s", nft_err);
  }
  if (rc == ST_ENOMEM)
    snprintf(err, errlen, "cannot read the catalog: out of memory");
  *out = l.v;
  *count = l.n;
  return rc;
}
