/*
 * Connection stories (story.h): each socket the summary model forgets or
 * finishes is told to the story of its process name, role and peer; a
 * listing normalises those stories so that two runs of one scenario match.
 * Never prints.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "story.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool st_story_loopback(const st_addr *a) {
  static const uint8_t v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (a->family == ST_FAMILY_INET)
    return a->addr[0] == 127;
  if (a->family != ST_FAMILY_INET6)
    return false;
  if (memcmp(a->addr, v4mapped, 12) == 0)
    return a->addr[12] == 127;
  return memcmp(a->addr, v6_loopback, 16) == 0;
}

const char *st_role_name(uint8_t role) {
  switch (role) {
  case ST_ROLE_CLIENT:
    return "client";
  case ST_ROLE_SERVER:
    return "server";
  case ST_ROLE_DATAGRAM:
    return "datagram";
  default:
    return "-";
  }
}

const char *st_step_name(uint8_t step) {
  static const char *const names[] = {"?",       "connect", "accept", "send",
                                      "receive", "fin",     "reset",  "close"};
  return step < sizeof names / sizeof names[0] ? names[step] : "?";
}

/* What a socket was: a listener or an accepted connection serve, a
 * datagram socket is one, a socket that connected (or had a peer or data)
 * is a client, and a bound socket that did nothing else meant to serve. */
static uint8_t role_of(const st_sum_socket *k) {
  bool dgram = k->type == ST_TYPE_DGRAM || (k->type != ST_TYPE_STREAM && k->datagram_ops);
  bool talked = k->connects || k->peer_addr.family || k->call_sent || k->call_received;
  if (k->listener || k->accepted)
    return ST_ROLE_SERVER;
  if (!talked && !k->datagram_ops && !k->bound && k->setup_code == ST_OK)
    return ST_ROLE_NONE;
  if (dgram)
    return ST_ROLE_DATAGRAM;
  return talked ? ST_ROLE_CLIENT : ST_ROLE_SERVER;
}

/* How a socket ended: a failed bind or listen, its connect's outcome, the
 * first failure after that, a reset, or ok. */
static uint8_t outcome_of(const st_sum_socket *k) {
  uint8_t code = ST_OK;
  if (k->setup_code != ST_OK)
    code = k->setup_code;
  else if (k->connects && !k->established)
    code = k->connect_code == ST_SUM_NO_CODE ? ST_PENDING : k->connect_code;
  else if (k->end_code != ST_OK)
    code = k->end_code;
  else if (k->reset_in)
    code = ST_RESET;
  return code < ST_CODE_COUNT ? code : ST_OTHER;
}

/* "127.0.0.1:9", or "127.0.0.1:*" when the port is the peer's own. */
static void format_peer(const st_addr *a, bool masked, char *buf, size_t len) {
  char ip[64];
  if (a->family == ST_FAMILY_INET || a->family == ST_FAMILY_INET6) {
    st_addr_format_ip(a, ip, sizeof ip);
    bool brackets = a->family == ST_FAMILY_INET6;
    if (masked)
      snprintf(buf, len, "%s%s%s:*", brackets ? "[" : "", ip, brackets ? "]" : "");
    else
      snprintf(buf, len, "%s%s%s:%u", brackets ? "[" : "", ip, brackets ? "]" : "", a->port);
  } else if (a->family) {
    st_addr_format_ip(a, buf, len);
  } else {
    buf[0] = 0;
  }
}

/* A server's or bound socket's own side: its port (the address it listens
 * on varies between hosts) or its path. */
static void format_local(const st_addr *a, char *buf, size_t len) {
  if (a->family == ST_FAMILY_INET || a->family == ST_FAMILY_INET6)
    snprintf(buf, len, ":%u", a->port);
  else if (a->family)
    st_addr_format_ip(a, buf, len);
  else
    buf[0] = 0;
}

static st_story *find_or_add(st_sum_model *m, const char *key, bool *created) {
  st_story *s = NULL;
  HASH_FIND_STR(m->stories, key, s);
  *created = false;
  if (s)
    return s;
  if (HASH_COUNT(m->stories) >= ST_STORY_MAX)
    return NULL;
  s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  snprintf(s->key, sizeof s->key, "%s", key);
  HASH_ADD_STR(m->stories, key, s);
  *created = true;
  return s;
}

/* Adds s to into; the steps are those of the earlier first socket. */
static void merge(st_story *into, const st_story *s) {
  into->sockets += s->sockets;
  into->attempts += s->attempts;
  for (int c = 0; c < ST_CODE_COUNT; c++)
    into->outcomes[c] += s->outcomes[c];
  into->bytes_sent += s->bytes_sent;
  into->bytes_received += s->bytes_received;
  into->bytes_known |= s->bytes_known;
  into->resets_in += s->resets_in;
  into->resets_out += s->resets_out;
  into->dns_failures += s->dns_failures;
  into->duration_ns += s->duration_ns;
  if (!into->first_ts || s->first_ts < into->first_ts) {
    into->first_ts = s->first_ts;
    into->nsteps = s->nsteps;
    memcpy(into->steps, s->steps, sizeof into->steps);
  }
}

int st_story_fold(st_sum_model *m, st_sum_socket *k) {
  if (k->folded)
    return 0;
  k->folded = true;
  uint8_t role = role_of(k);
  if (role == ST_ROLE_NONE)
    return 0;
  bool serves = role == ST_ROLE_SERVER || (role == ST_ROLE_DATAGRAM && (k->service || k->bound));
  bool listening = role == ST_ROLE_SERVER && k->listener;
  bool ipc = k->family == ST_FAMILY_UNIX;
  char peer[ST_SUM_KEY_MAX] = "", local[ST_SUM_KEY_MAX] = "";
  /* A client's peer that a DNS answer named is told by its name: two
   * traces of one scenario (other hosts, other addresses) then match. */
  bool named = !listening && !serves && k->peer_name[0] && k->peer_addr.family;
  if (named)
    snprintf(peer, sizeof peer, "%.*s:%u", (int)sizeof peer - 7, k->peer_name, k->peer_addr.port);
  else if (!listening)
    format_peer(&k->peer_addr, serves, peer, sizeof peer);
  if (serves)
    format_local(&k->local_addr, local, sizeof local);
  const char *proc = k->wire && !k->pid ? "" : k->name;
  char key[sizeof((st_story *)0)->key];
  snprintf(key, sizeof key, "%u|%d|%s|%s|%s|%s", role, ipc, k->container, proc, peer, local);
  bool created;
  st_story *s = find_or_add(m, key, &created);
  if (!s && HASH_COUNT(m->stories) >= ST_STORY_MAX) {
    /* Past the limit: one story per process and role holds the rest (it
     * may take the limit's place once). */
    snprintf(peer, sizeof peer, "(more peers)");
    local[0] = 0;
    snprintf(key, sizeof key, "%u|%d|%s|(more)", role, ipc, proc);
    m->stories_folded_away++;
    HASH_FIND_STR(m->stories, key, s);
    if (!s && (s = calloc(1, sizeof *s)) != NULL) {
      snprintf(s->key, sizeof s->key, "%s", key);
      HASH_ADD_STR(m->stories, key, s);
      created = true;
    }
  }
  if (!s)
    return ST_ENOMEM;
  if (created) {
    snprintf(s->proc, sizeof s->proc, "%s", proc);
    snprintf(s->container, sizeof s->container, "%s", k->container);
    s->role = role;
    s->ipc = ipc;
    s->listening = listening;
    s->wire = k->wire && !k->pid;
    s->peer_masked = serves;
    s->named = named;
    s->peer_addr = listening ? (st_addr){0} : k->peer_addr;
    memcpy(s->peer, peer, sizeof s->peer);
    memcpy(s->local, local, sizeof s->local);
  }
  st_story one = {.sockets = 1,
                  .attempts = role == ST_ROLE_CLIENT && k->connects ? k->connects : 1,
                  .bytes_sent = k->call_sent,
                  .bytes_received = k->call_received,
                  .bytes_known = k->has_bytes,
                  .resets_in = k->reset_in,
                  .resets_out = k->reset_out,
                  .dns_failures = k->dns_failed,
                  .first_ts = k->first_ts,
                  .duration_ns = st_sum_lifetime(k),
                  .nsteps = k->nsteps};
  one.outcomes[outcome_of(k)] = 1;
  memcpy(one.steps, k->steps, sizeof one.steps);
  merge(s, &one);
  return 0;
}

void st_story_free_all(st_sum_model *m) {
  ST_HASH_FREE_ALL(st_story, m->stories, free);
}

/* "localhost" for loopback and the host's own addresses, v4-mapped IPv6
 * as IPv4. */
static void match_peer(const st_sum_model *m, const st_story *s, char *buf, size_t len) {
  st_addr a = s->peer_addr;
  if (s->listening || s->named || !a.family) {
    snprintf(buf, len, "%s", s->peer);
    return;
  }
  if (a.family == ST_FAMILY_INET6 && memcmp(a.addr, v4mapped, 12) == 0) {
    a.family = ST_FAMILY_INET;
    memmove(a.addr, a.addr + 12, 4);
    memset(a.addr + 4, 0, 12);
  }
  static const uint8_t zero[16];
  bool self =
      st_story_loopback(&a) || ((a.family == ST_FAMILY_INET || a.family == ST_FAMILY_INET6) &&
                                memcmp(a.addr, zero, a.family == ST_FAMILY_INET ? 4 : 16) == 0);
  for (size_t i = 0; !self && i < m->nown; i++)
    self = st_addr_ip_equal(&m->own[i], &a);
  if (!self || (a.family != ST_FAMILY_INET && a.family != ST_FAMILY_INET6)) {
    format_peer(&a, s->peer_masked, buf, len);
    return;
  }
  if (s->peer_masked)
    snprintf(buf, len, "localhost:*");
  else
    snprintf(buf, len, "localhost:%u", a.port);
}

/* "curl" from "CURL.EXE" or "curl": lower case, no ".exe", as long as a
 * Linux comm (15 characters). */
static void match_proc(const char *proc, char *buf, size_t len) {
  size_t n = strlen(proc);
  if (n > 4 && strcasecmp(proc + n - 4, ".exe") == 0)
    n -= 4;
  if (n > ST_COMM_MAX - 1)
    n = ST_COMM_MAX - 1;
  if (n >= len)
    n = len - 1;
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)tolower((unsigned char)proc[i]);
  buf[n] = 0;
}

static int cmp_key(const void *a, const void *b) {
  const st_story *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c)
    return c;
  return x->first_ts < y->first_ts ? -1 : x->first_ts > y->first_ts;
}

int st_story_list(const st_sum_model *m, st_story **out) {
  return st_story_list_by(m, false, out);
}

int st_story_list_by(const st_sum_model *m, bool by_container, st_story **out) {
  size_t n = HASH_COUNT(m->stories), i = 0;
  *out = NULL;
  if (!n)
    return 0;
  st_story *a = malloc(n * sizeof *a);
  if (!a)
    return ST_ENOMEM;
  for (const st_story *s = m->stories; s; s = s->hh.next, i++) {
    a[i] = *s;
    memset(&a[i].hh, 0, sizeof a[i].hh);
    match_proc(s->proc, a[i].match_proc, sizeof a[i].match_proc);
    if (by_container && s->container[0] && a[i].match_proc[0]) {
      char own[ST_COMM_MAX + 1];
      match_proc(s->proc, own, sizeof own);
      snprintf(a[i].match_proc, sizeof a[i].match_proc, "%.63s/%.16s", s->container, own);
    }
    match_peer(m, s, a[i].match_peer, sizeof a[i].match_peer);
    /* Matching order: role, family, peer, local, then the process (so a
     * story whose process is unknown sits beside the ones it may match). */
    snprintf(a[i].key, sizeof a[i].key, "%s|%d|%s|%s|%s", st_role_name(s->role), s->ipc,
             a[i].match_peer, s->local, a[i].match_proc);
  }
  qsort(a, n, sizeof *a, cmp_key);
  size_t w = 0;
  for (i = 0; i < n; i++) {
    if (w && strcmp(a[w - 1].key, a[i].key) == 0)
      merge(&a[w - 1], &a[i]);
    else
      a[w++] = a[i];
  }
  *out = a;
  return (int)w;
}

uint64_t st_story_failures(const st_story *s) {
  uint64_t n = s->dns_failures;
  for (int c = 0; c < ST_CODE_COUNT; c++)
    if (c != ST_OK)
      n += s->outcomes[c];
  return n;
}

int st_story_outcome(const st_story *s, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = 0;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    if (!s->outcomes[c])
      continue;
    const char *name = c == ST_PENDING ? "unfinished" : st_code_name((st_code)c);
    used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s %" PRIu64,
                             used ? ", " : "", name, s->outcomes[c]);
  }
  if (s->dns_failures)
    used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%sdns %" PRIu64,
                             used ? ", " : "", s->dns_failures);
  return (int)used;
}

int st_story_steps(const st_story *s, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = 0;
  for (unsigned i = 0; i < s->nsteps; i++)
    used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? " " : "",
                             st_step_name(s->steps[i]));
  return (int)used;
}

int st_story_connection(const st_story *s, bool normalised, char *buf, size_t len) {
  const char *peer = normalised ? s->match_peer : s->peer;
  if (s->listening)
    return snprintf(buf, len, "listening on %s", s->local[0] ? s->local : "?");
  if (s->local[0])
    return snprintf(buf, len, "%s -> %s", peer[0] ? peer : "?", s->local);
  return snprintf(buf, len, "-> %s", peer[0] ? peer : "?");
}

const char *st_story_process(const st_story *s) {
  return s->proc[0] ? s->proc : s->wire ? "(wire)" : "?";
}
