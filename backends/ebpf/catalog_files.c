/*
 * The catalog's files: what each holds that changes how programs resolve
 * names or load code, read into entries, and the difference between two
 * versions of a file as catalog events. An entry is switched on, or
 * switched off when its line is commented out ("#/usr/lib/libx.so").
 *
 *   /etc/ld.so.preload   each library (words split on blanks and ':')
 *   /etc/nsswitch.conf   each provider of the hosts: line, with its
 *                        [STATUS=action] ("hosts: dns [!UNAVAIL=return]")
 *   /etc/resolv.conf     nameserver, search, domain, options, sortlist lines
 *   /etc/gai.conf        each rule line
 *   /etc/hosts           each line
 *
 * Lines are compared with their blanks collapsed, so re-indenting a file
 * changes nothing. Pure data work but for reading a file; never prints.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "catalog.h"

static const char *const file_paths[ST_LCAT_KIND_COUNT] = {
    [ST_LCAT_PRELOAD] = "/etc/ld.so.preload", [ST_LCAT_NSS] = "/etc/nsswitch.conf",
    [ST_LCAT_RESOLVER] = "/etc/resolv.conf",  [ST_LCAT_GAI] = "/etc/gai.conf",
    [ST_LCAT_HOSTS] = "/etc/hosts",
};

const char *lcat_file_path(uint8_t kind) {
  return kind < ST_LCAT_KIND_COUNT ? file_paths[kind] : NULL;
}

void lcat_root(const char *root, char *out, size_t len) {
  if (!root)
    root = getenv("SOCKTRACE_CATALOG_ROOT");
  snprintf(out, len, "%s", root ? root : "");
  size_t n = strlen(out);
  while (n && out[n - 1] == '/')
    out[--n] = '\0';
}

/* ---- sets of entries ------------------------------------------------------ */

typedef struct lcat_item {
  char *text;
  UT_hash_handle hh;
} lcat_item;

struct lcat_set {
  lcat_item *hash;   /* by text */
  lcat_item **order; /* file order */
  size_t n, cap;
};

static lcat_set *set_new(void) {
  return calloc(1, sizeof(lcat_set));
}

static bool set_has(const lcat_set *s, const char *text) {
  lcat_item *i = NULL;
  if (s)
    HASH_FIND_STR(s->hash, text, i);
  return i != NULL;
}

static int set_add(lcat_set *s, const char *text) {
  if (!*text || set_has(s, text))
    return 0;
  if (lcat_grow(&s->order, &s->cap, s->n, sizeof *s->order) < 0)
    return ST_ENOMEM;
  lcat_item *i = calloc(1, sizeof *i);
  if (!i || !(i->text = strdup(text))) {
    free(i);
    return ST_ENOMEM;
  }
  HASH_ADD_KEYPTR(hh, s->hash, i->text, strlen(i->text), i);
  s->order[s->n++] = i;
  return 0;
}

static void set_free(lcat_set *s) {
  if (!s)
    return;
  HASH_CLEAR(hh, s->hash);
  for (size_t i = 0; i < s->n; i++) {
    free(s->order[i]->text);
    free(s->order[i]);
  }
  free(s->order);
  free(s);
}

static size_t set_count(const lcat_set *s) {
  return s ? s->n : 0;
}

static const char *set_at(const lcat_set *s, size_t i) {
  return s && i < s->n ? s->order[i]->text : NULL;
}

const char *lcat_active(const lcat_parsed *p, size_t i) {
  return set_at(p->active, i);
}

void lcat_parsed_free(lcat_parsed *p) {
  set_free(p->active);
  set_free(p->disabled);
  memset(p, 0, sizeof *p);
}

/* ---- parsing --------------------------------------------------------------- */

/* s with its blanks collapsed to single spaces and trimmed, into out. */
static void collapse(const char *s, size_t n, char *out, size_t len) {
  size_t o = 0;
  bool space = false;
  for (size_t i = 0; i < n && s[i]; i++) {
    if (isspace((unsigned char)s[i])) {
      space = o > 0;
      continue;
    }
    if (space && o + 1 < len)
      out[o++] = ' ';
    space = false;
    if (o + 1 < len)
      out[o++] = s[i];
  }
  out[o] = '\0';
}

static bool starts_word(const char *s, const char *word) {
  size_t n = strlen(word);
  return strncmp(s, word, n) == 0 && (!s[n] || isspace((unsigned char)s[n]));
}

/* The entries one line's content (comment removed, collapsed) holds. */
static int line_entries(uint8_t kind, const char *content, lcat_set *into) {
  char buf[1024];
  int rc = 0;
  switch (kind) {
  case ST_LCAT_PRELOAD: {
    snprintf(buf, sizeof buf, "%s", content);
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t:", &save); t && !rc; t = strtok_r(NULL, " \t:", &save))
      rc = set_add(into, t);
    return rc;
  }
  case ST_LCAT_NSS: {
    if (strncmp(content, "hosts:", 6) != 0)
      return 0;
    /* Providers, each with the [STATUS=action] items that follow it. */
    const char *p = content + 6;
    char entry[512] = "";
    while (*p && !rc) {
      while (*p == ' ')
        p++;
      const char *end = *p == '[' ? strchr(p, ']') : NULL;
      size_t n = end ? (size_t)(end - p + 1) : strcspn(p, " ");
      if (!n)
        break;
      if (*p == '[' && entry[0]) {
        size_t el = strlen(entry);
        snprintf(entry + el, sizeof entry - el, " %.*s", (int)n, p);
      } else if (*p != '[') {
        if (entry[0])
          rc = set_add(into, entry);
        snprintf(entry, sizeof entry, "hosts: %.*s", (int)n, p);
      }
      p += n;
    }
    if (entry[0] && !rc)
      rc = set_add(into, entry);
    return rc;
  }
  case ST_LCAT_RESOLVER:
    if (starts_word(content, "nameserver") || starts_word(content, "search") ||
        starts_word(content, "domain") || starts_word(content, "options") ||
        starts_word(content, "sortlist"))
      return set_add(into, content);
    return 0;
  default: /* gai.conf, hosts: every line */
    return set_add(into, content);
  }
}

/* Comments: resolv.conf's lines starting with '#' or ';'; elsewhere '#' to
 * the end of the line. */
static bool comment_start(uint8_t kind, const char *line, size_t n, size_t *at) {
  size_t i = 0;
  while (i < n && isspace((unsigned char)line[i]))
    i++;
  if (kind == ST_LCAT_RESOLVER) {
    bool comment = i < n && (line[i] == '#' || line[i] == ';');
    *at = comment ? i : n;
    return comment;
  }
  const char *h = memchr(line, '#', n);
  *at = h ? (size_t)(h - line) : n;
  return h != NULL;
}

int lcat_parse(uint8_t kind, const char *text, lcat_parsed *out) {
  memset(out, 0, sizeof *out);
  out->active = set_new();
  out->disabled = set_new();
  if (!out->active || !out->disabled) {
    lcat_parsed_free(out);
    return ST_ENOMEM;
  }
  out->present = text != NULL;
  int rc = 0;
  for (const char *line = text; line && *line && !rc;) {
    size_t n = strcspn(line, "\n");
    size_t at;
    char content[1024];
    bool comment = comment_start(kind, line, n, &at);
    collapse(line, at, content, sizeof content);
    if (*content)
      rc = line_entries(kind, content, out->active);
    if (comment && !rc) {
      /* A commented-out entry: the comment's text without its marks. */
      const char *c = line + at;
      size_t cn = n - at;
      while (cn && (*c == '#' || *c == ';' || isspace((unsigned char)*c)))
        c++, cn--;
      collapse(c, cn, content, sizeof content);
      if (*content)
        rc = line_entries(kind, content, out->disabled);
    }
    line += n;
    if (*line == '\n')
      line++;
  }
  if (rc)
    lcat_parsed_free(out);
  return rc;
}

char *lcat_read_file(const char *path, bool *present) {
  FILE *f = fopen(path, "r");
  *present = f != NULL;
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      if (cap >= LCAT_FILE_MAX)
        break; /* the rest is not read: entries past it are not listed */
      char *b = realloc(buf, cap * 2);
      if (!b) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    if (!got)
      break;
    n += got;
  }
  fclose(f);
  if (buf)
    buf[n] = '\0';
  else
    *present = false;
  return buf;
}

/* ---- differences ----------------------------------------------------------- */

typedef struct diff_counts {
  size_t removed, disabled, added, kept;
} diff_counts;

/* What happened to old's entry e in new. */
enum { SAME, GONE, OFF };
static int fate(const lcat_parsed *new, const char *e) {
  if (set_has(new->active, e))
    return SAME;
  return set_has(new->disabled, e) ? OFF : GONE;
}

size_t lcat_diff(const lcat_parsed *old, const lcat_parsed *new, lcat_change_fn fn, void *arg) {
  diff_counts c = {0};
  size_t nold = set_count(old->active), nnew = set_count(new->active);
  for (size_t i = 0; i < nold; i++) {
    int f = fate(new, set_at(old->active, i));
    c.kept += f == SAME;
    c.removed += f == GONE;
    c.disabled += f == OFF;
  }
  c.added = nnew - c.kept;
  size_t changes = c.removed + c.disabled + c.added;
  if (!changes)
    return 0;
  bool replaced = nold >= 2 && c.kept * 2 < nold && c.added > 0;
  if (replaced || changes > LCAT_CHANGE_EVENTS_MAX) {
    char what[160];
    char more[48] = "";
    if (changes > LCAT_CHANGE_EVENTS_MAX)
      snprintf(more, sizeof more, "; the first %d follow", LCAT_CHANGE_EVENTS_MAX);
    snprintf(what, sizeof what, "%s: %zu of %zu entries gone (%zu commented out), %zu new%s",
             replaced ? "replaced" : "changed", c.removed + c.disabled, nold, c.disabled, c.added,
             more);
    fn(arg, ST_EV_CAT_RESET, what);
  }
  size_t told = 0;
  for (size_t i = 0; i < nold && told < LCAT_CHANGE_EVENTS_MAX; i++) {
    const char *e = set_at(old->active, i);
    int f = fate(new, e);
    if (f != SAME) {
      fn(arg, f == GONE ? ST_EV_CAT_LSP_REMOVED : ST_EV_CAT_LSP_DISABLED, e);
      told++;
    }
  }
  for (size_t i = 0; i < nnew && told < LCAT_CHANGE_EVENTS_MAX; i++) {
    const char *e = set_at(new->active, i);
    if (!set_has(old->active, e)) {
      fn(arg, ST_EV_CAT_LSP_INSTALLED, e);
      told++;
    }
  }
  return changes;
}
