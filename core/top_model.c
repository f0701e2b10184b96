/*
 * top's counting (top_model.h): per socket what the summary's rules need
 * (summary_model.c has them in words), per interval cells keyed by every
 * grouping at once, and the grouping of the last interval into rows with
 * their latency percentiles.
 */
#include "top_model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct st_top_cell {
  char key[ST_COMM_MAX + ST_TOP_KEY_MAX + ST_TOP_CONTAINER_MAX + 48];
  char comm[ST_COMM_MAX + 1];
  uint32_t pid, host;
  char remote[ST_TOP_KEY_MAX];
  char container[ST_TOP_CONTAINER_MAX];
  st_top_counts n;
  uint32_t *lat_us;
  size_t nlat, cap;
  UT_hash_handle hh;
};

struct st_top_socket {
  uint64_t key[2]; /* endpoint, host id */
  char comm[ST_COMM_MAX + 1];
  uint32_t pid;
  char remote[ST_TOP_KEY_MAX];
  char container[ST_TOP_CONTAINER_MAX];
  bool connecting, established, failed, reset_in, reset_out, bound;
  uint8_t family;
  uint64_t enter_ns;
  uint64_t sent, received, retransmits; /* counted from calls, for the summary's top-up */
  /* Its cell in the open interval (interval number cell_gen), so that most
   * events find it without building a key. */
  st_top_cell *cell;
  uint64_t cell_gen;
  UT_hash_handle hh;
};

static const char *const grouping_names[ST_TOP_GROUPINGS] = {"process", "remote", "container",
                                                             "host"};

const char *st_top_grouping_name(int g) {
  return g >= 0 && g < ST_TOP_GROUPINGS ? grouping_names[g] : "?";
}

int st_top_grouping_lookup(const char *name) {
  for (int g = 0; g < ST_TOP_GROUPINGS; g++)
    if (strcmp(name, grouping_names[g]) == 0)
      return g;
  return -1;
}

void st_top_init(st_top_model *m, uint64_t interval_ns) {
  memset(m, 0, sizeof *m);
  m->interval_ns = interval_ns ? interval_ns : 1000000000ull;
}

static void cell_free(st_top_cell *c) {
  free(c->lat_us);
  free(c);
}

static void cells_free(st_top_cell **head) {
  ST_HASH_FREE_ALL(st_top_cell, *head, cell_free);
}

void st_top_free(st_top_model *m) {
  cells_free(&m->cur);
  cells_free(&m->last);
  ST_HASH_FREE_ALL(st_top_socket, m->sockets, free);
  free(m->hosts);
}

void st_top_begin(st_top_model *m, uint64_t t) {
  if (!m->start_ns)
    m->start_ns = t ? t : 1;
}

bool st_top_due(const st_top_model *m, uint64_t now) {
  return m->start_ns && now >= m->start_ns + m->interval_ns;
}

void st_top_close(st_top_model *m) {
  if (m->hold) { /* the view is frozen: the interval it shows stays */
    cells_free(&m->cur);
    m->ncur = 0;
    m->start_ns += m->interval_ns;
    m->cur_events = m->cur_lost = 0;
    m->intervals++;
    return;
  }
  cells_free(&m->last);
  m->last = m->cur;
  m->cur = NULL;
  m->ncur = 0;
  m->last_start_ns = m->start_ns;
  m->last_end_ns = m->start_ns + m->interval_ns;
  m->start_ns = m->last_end_ns;
  m->last_events = m->cur_events;
  m->last_lost = m->cur_lost;
  m->cur_events = m->cur_lost = 0;
  m->intervals++;
}

static uint32_t host_id(st_top_model *m, const char *host) {
  if (!host || !*host)
    return 0;
  for (uint32_t i = 0; i < m->nhosts; i++)
    if (strcmp(m->hosts[i], host) == 0)
      return i + 1;
  char(*h)[ST_TOP_HOST_MAX] = realloc(m->hosts, (m->nhosts + 1) * sizeof *h);
  if (!h)
    return 0;
  m->hosts = h;
  snprintf(m->hosts[m->nhosts], ST_TOP_HOST_MAX, "%s", host);
  return ++m->nhosts;
}

/* The cell of the open interval for this socket's process, remote,
 * container and host; NULL when out of memory. */
static st_top_cell *cell_for(st_top_model *m, const char *comm, uint32_t pid, const char *remote,
                             const char *container, uint32_t host) {
  char key[sizeof((st_top_cell *)0)->key];
  snprintf(key, sizeof key, "%" PRIu32 "\x1f%s\x1f%s\x1f%s\x1f%" PRIu32, pid, comm, remote,
           container, host);
  st_top_cell *c = NULL;
  HASH_FIND_STR(m->cur, key, c);
  if (c)
    return c;
  if (m->ncur >= ST_TOP_CELLS_MAX) {
    if (strcmp(comm, "(more)") == 0)
      return NULL;
    return cell_for(m, "(more)", 0, "", "", 0);
  }
  if (!(c = calloc(1, sizeof *c)))
    return NULL;
  memcpy(c->key, key, sizeof key);
  snprintf(c->comm, sizeof c->comm, "%s", comm);
  snprintf(c->remote, sizeof c->remote, "%s", remote);
  snprintf(c->container, sizeof c->container, "%s", container);
  c->pid = pid;
  c->host = host;
  HASH_ADD_STR(m->cur, key, c);
  m->ncur++;
  return c;
}

static st_top_cell *socket_cell(st_top_model *m, st_top_socket *k, const char *remote) {
  bool own = !remote || !*remote || strcmp(remote, k->remote) == 0;
  if (own && k->cell && k->cell_gen == m->intervals)
    return k->cell;
  st_top_cell *c =
      cell_for(m, k->comm, k->pid, own ? k->remote : remote, k->container, (uint32_t)k->key[1]);
  if (own) {
    k->cell = c;
    k->cell_gen = m->intervals;
  }
  return c;
}

/* The socket's remote (its cell's key) changes. */
static void set_remote(st_top_socket *k, const char *remote) {
  snprintf(k->remote, sizeof k->remote, "%s", remote);
  k->cell = NULL;
}

static void closed(st_top_model *m, const uint64_t key[2]) {
  if (m->closed_n == ST_TOP_CLOSED_KEEP) { /* forget the oldest closed socket */
    st_top_socket *old = NULL;
    HASH_FIND(hh, m->sockets, m->closed[m->closed_head], sizeof old->key, old);
    if (old) {
      HASH_DEL(m->sockets, old);
      free(old);
    }
    m->closed_head = (m->closed_head + 1) % ST_TOP_CLOSED_KEEP;
    m->closed_n--;
  }
  size_t at = (m->closed_head + m->closed_n) % ST_TOP_CLOSED_KEEP;
  m->closed[at][0] = key[0];
  m->closed[at][1] = key[1];
  m->closed_n++;
}

static st_top_socket *get_socket(st_top_model *m, const st_event *ev, uint32_t host) {
  uint64_t key[2] = {ev->endpoint, host};
  st_top_socket *k = NULL;
  HASH_FIND(hh, m->sockets, key, sizeof key, k);
  if (!k) {
    if (!(k = calloc(1, sizeof *k)))
      return NULL;
    memcpy(k->key, key, sizeof key);
    HASH_ADD(hh, m->sockets, key, sizeof k->key, k);
  }
  if (!k->comm[0] || (ev->pid && !k->pid)) {
    k->cell = NULL;
    memcpy(k->comm, ev->comm, ST_COMM_MAX);
    k->comm[ST_COMM_MAX] = 0;
    if (!k->comm[0])
      snprintf(k->comm, sizeof k->comm, "%s", ev->os == ST_OS_WIRE ? "(wire)" : "?");
    k->pid = ev->pid;
  }
  if ((ev->has & ST_HAS_CONTAINER) && !k->container[0]) {
    st_container_label(&ev->container, k->container, sizeof k->container);
    k->cell = NULL;
  }
  if (ev->has & ST_HAS_FAMILY)
    k->family = ev->family;
  else if (!k->family && (ev->has & ST_HAS_REMOTE))
    k->family = ev->remote.family;
  return k;
}

static void add_latency(st_top_cell *c, uint64_t ns) {
  if (c->nlat == c->cap) {
    if (c->cap >= ST_TOP_LAT_MAX)
      return;
    size_t cap = c->cap ? c->cap * 2 : 16;
    uint32_t *l = realloc(c->lat_us, cap * sizeof *l);
    if (!l)
      return;
    c->lat_us = l;
    c->cap = cap;
  }
  uint64_t us = ns / 1000;
  c->lat_us[c->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void connect_done(st_top_model *m, st_top_socket *k, const st_event *ev) {
  st_top_cell *c = socket_cell(m, k, NULL);
  k->connecting = false;
  if (!c)
    return;
  if (ev->status.code == ST_OK) {
    c->n.ok++;
    k->established = true;
    if (k->enter_ns && ev->ts_ns >= k->enter_ns)
      add_latency(c, ev->ts_ns - k->enter_ns);
  } else if (ev->status.code < ST_CODE_COUNT) {
    c->n.failed[ev->status.code]++;
    k->failed = true;
  }
}

static void add_connect(st_top_model *m, st_top_socket *k, const st_event *ev, const char *remote) {
  if (*remote && strcmp(remote, k->remote) != 0)
    set_remote(k, remote);
  if (ev->enter_exit == ST_EE_ENTER || !k->connecting) {
    if (!k->connecting) {
      st_top_cell *c = socket_cell(m, k, NULL);
      if (c)
        c->n.connects++;
      k->failed = k->established = false;
      k->enter_ns = ev->enter_exit == ST_EE_ENTER ? ev->ts_ns : 0;
    }
    k->connecting = true;
  }
  if (ev->enter_exit != ST_EE_ENTER && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING &&
      ev->status.code != ST_WOULD_BLOCK)
    connect_done(m, k, ev);
}

/* "1.2.3.4:*": a client's port is its own, so accepted peers group by IP. */
static void masked(const st_addr *a, char *buf, size_t len) {
  st_addr_format_ip(a, buf, len - 2);
  if (a->family != ST_FAMILY_UNIX)
    strcat(buf, ":*");
}

static void reset_in(st_top_model *m, st_top_socket *k, const char *remote) {
  /* A RST during the handshake is the refusal itself. */
  if (k->reset_in || k->failed || (k->connecting && !k->established))
    return;
  k->reset_in = true;
  st_top_cell *c = socket_cell(m, k, k->remote[0] ? NULL : remote);
  if (c)
    c->n.resets_in++;
}

static void reset_out(st_top_model *m, st_top_socket *k, const char *remote) {
  if (k->reset_out)
    return;
  k->reset_out = true;
  st_top_cell *c = socket_cell(m, k, k->remote[0] ? NULL : remote);
  if (c)
    c->n.resets_out++;
}

static void add_call(st_top_model *m, st_top_socket *k, const st_event *ev, const char *remote) {
  if (ev->enter_exit == ST_EE_ENTER)
    return;
  if ((ev->has & ST_HAS_STATUS) && st_status_is_failure(ev->status.code)) {
    if (ev->status.code == ST_RESET)
      reset_in(m, k, remote);
    return;
  }
  if (!(ev->has & ST_HAS_BYTES) || ((ev->has & ST_HAS_STATUS) && ev->status.code != ST_OK))
    return;
  st_top_cell *c = socket_cell(m, k, remote);
  if (!c)
    return;
  if (st_ev_is_send(ev->id)) {
    c->n.bytes_out += ev->bytes;
    k->sent += ev->bytes;
  } else {
    c->n.bytes_in += ev->bytes;
    k->received += ev->bytes;
  }
}

/* The socket's own counts at its end: what the calls did not show (level 4
 * has no per-call events) counts now. */
static void add_summary(st_top_model *m, st_top_socket *k, const st_summary *s) {
  if (s->bytes_sent <= k->sent && s->bytes_received <= k->received &&
      s->retransmits <= k->retransmits)
    return; /* nothing new: no row for it */
  st_top_cell *c = socket_cell(m, k, NULL);
  if (!c)
    return;
  if (s->bytes_sent > k->sent) {
    c->n.bytes_out += s->bytes_sent - k->sent;
    k->sent = s->bytes_sent;
  }
  if (s->bytes_received > k->received) {
    c->n.bytes_in += s->bytes_received - k->received;
    k->received = s->bytes_received;
  }
  if (s->retransmits > k->retransmits) {
    c->n.retransmits += s->retransmits - k->retransmits;
    k->retransmits = s->retransmits;
  }
}

/* The accepted socket's traffic belongs to the same client. */
static void add_accepted(st_top_model *m, const st_top_socket *listener, const st_event *ev,
                         const char *remote) {
  if (!(ev->has & ST_HAS_ACCEPT_EP) || ev->accept_endpoint == ev->endpoint)
    return;
  st_event child = *ev;
  child.endpoint = ev->accept_endpoint;
  st_top_socket *c = get_socket(m, &child, (uint32_t)listener->key[1]);
  if (!c)
    return;
  set_remote(c, remote);
  if (!c->family)
    c->family = listener->family;
  c->established = true;
}

static void add_socket_event(st_top_model *m, st_top_socket *k, const st_event *ev, char *remote,
                             size_t len) {
  bool ok = !(ev->has & ST_HAS_STATUS) || ev->status.code == ST_OK;
  if (ev->provider == ST_PROVIDER_EXT) {
    st_top_cell *c;
    if (ev->id == ST_EV_TCP_RESET_SENT) {
      reset_out(m, k, remote);
    } else if (ev->id == ST_EV_TCP_RETRANSMIT) {
      k->retransmits++;
      if ((c = socket_cell(m, k, NULL)))
        c->n.retransmits++;
    } else if (ev->id == ST_EV_ENDPOINT_SUMMARY && (ev->has & ST_HAS_SUMMARY)) {
      add_summary(m, k, &ev->summary);
    } else if (ev->id == ST_EV_DNS_MESSAGE && st_ev_is_dns_failure(ev)) {
      if ((c = socket_cell(m, k, remote)))
        c->n.dns_failures++;
    }
    return;
  }
  if (ev->provider != ST_PROVIDER_AFD)
    return;
  switch (ev->id) {
  case ST_EV_CONNECT_ADDR:
  case ST_EV_SUPER_CONNECT_ADDR:
    add_connect(m, k, ev, remote);
    return;
  case ST_EV_CONNECT:
  case ST_EV_SUPER_CONNECT:
    if (k->connecting && (ev->has & ST_HAS_STATUS) && ev->status.code != ST_PENDING)
      connect_done(m, k, ev);
    return;
  case ST_EV_ACCEPT:
  case ST_EV_ACCEPT_ADDR:
  case ST_EV_SUPER_ACCEPT:
  case ST_EV_SUPER_ACCEPT_ADDR:
    if (ev->enter_exit != ST_EE_ENTER && ok) {
      if (k->family == ST_FAMILY_UNIX)
        snprintf(remote, len, "%s", k->remote[0] ? k->remote : "(unnamed)");
      else if (ev->has & ST_HAS_REMOTE)
        masked(&ev->remote, remote, len);
      st_top_cell *c = socket_cell(m, k, remote);
      if (c)
        c->n.accepts++;
      add_accepted(m, k, ev, remote);
    }
    return;
  case ST_EV_BIND:
  case ST_EV_BIND_ADDR:
    if ((ev->has & ST_HAS_LOCAL) && (ev->local.port || ev->local.family == ST_FAMILY_UNIX)) {
      k->bound = true;
      if (ev->local.family == ST_FAMILY_UNIX && !k->remote[0]) {
        st_addr_format(&ev->local, k->remote, sizeof k->remote);
        k->cell = NULL;
      }
    }
    return;
  case ST_EV_ABORT:
    if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_TRANSPORT_RESET)
      reset_in(m, k, remote);
    else if ((ev->has & ST_HAS_REASON) && ev->reason == ST_ABORT_LOCAL)
      reset_out(m, k, remote);
    return;
  case ST_EV_CLOSE:
    closed(m, k->key);
    return;
  default:
    break;
  }
  if (st_ev_is_send(ev->id) || st_ev_is_receive(ev->id))
    add_call(m, k, ev, remote);
}

int st_top_add(st_top_model *m, const st_event *ev, const char *host) {
  st_top_begin(m, ev->ts_ns);
  m->cur_events++;
  m->events++;
  if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_EVENTS_LOST && (ev->has & ST_HAS_LOST)) {
    m->cur_lost += ev->lost.count;
    m->lost += ev->lost.count;
    return 0;
  }
  uint32_t hid = host_id(m, host);
  if (!ev->endpoint) {
    /* A resolver API's failed lookup (Windows) has no socket of its own. */
    if (ev->provider == ST_PROVIDER_EXT && ev->id == ST_EV_DNS_MESSAGE &&
        st_ev_is_dns_failure(ev)) {
      char comm[ST_COMM_MAX + 1];
      memcpy(comm, ev->comm, ST_COMM_MAX);
      comm[ST_COMM_MAX] = 0;
      char label[ST_TOP_CONTAINER_MAX] = "";
      if (ev->has & ST_HAS_CONTAINER)
        st_container_label(&ev->container, label, sizeof label);
      st_top_cell *c = cell_for(m, comm[0] ? comm : "?", ev->pid, "(resolver)", label, hid);
      if (!c)
        return ST_ENOMEM;
      c->n.dns_failures++;
    }
    return 0;
  }
  st_top_socket *k = get_socket(m, ev, hid);
  if (!k)
    return ST_ENOMEM;
  if (k->family == ST_FAMILY_UNIX) { /* IPC: the summary's table of its own, not top's */
    if (ev->provider == ST_PROVIDER_AFD && ev->id == ST_EV_CLOSE)
      closed(m, k->key);
    return 0;
  }
  char remote[ST_TOP_KEY_MAX] = "";
  if (ev->has & ST_HAS_REMOTE) {
    st_event_remote_format(ev, remote, sizeof remote);
    /* A datagram socket bound to a port serves: its peers' ports are theirs. */
    if (st_ev_is_datagram_call(ev->id) && k->bound)
      masked(&ev->remote, remote, sizeof remote);
    if (!k->remote[0] && st_event_remote_is_peer(ev) && ev->id != ST_EV_CONNECT_ADDR)
      set_remote(k, remote);
  }
  add_socket_event(m, k, ev, remote, sizeof remote);
  return 0;
}

/* ---- grouping the last interval ---- */

static void counts_add(st_top_counts *a, const st_top_counts *b) {
  a->connects += b->connects;
  a->ok += b->ok;
  for (int i = 0; i < ST_CODE_COUNT; i++)
    a->failed[i] += b->failed[i];
  a->accepts += b->accepts;
  a->resets_in += b->resets_in;
  a->resets_out += b->resets_out;
  a->retransmits += b->retransmits;
  a->bytes_in += b->bytes_in;
  a->bytes_out += b->bytes_out;
  a->dns_failures += b->dns_failures;
}

static void cell_group_key(const st_top_model *m, const st_top_cell *c, int g, char *buf,
                           size_t len) {
  switch (g) {
  case ST_TOP_REMOTE:
    snprintf(buf, len, "%s", c->remote[0] ? c->remote : "(none)");
    break;
  case ST_TOP_CONTAINER:
    snprintf(buf, len, "%s", c->container[0] ? c->container : "(host)");
    break;
  case ST_TOP_HOST:
    snprintf(buf, len, "%s", c->host ? m->hosts[c->host - 1] : "(this host)");
    break;
  default:
    snprintf(buf, len, "%s", c->comm);
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% of them at or below. */
static uint32_t percentile(const uint32_t *v, size_t n, unsigned p) {
  size_t rank = (n * p + 99) / 100;
  return v[rank ? rank - 1 : 0];
}

typedef struct group_acc {
  uint32_t *lat;
  size_t nlat;
} group_acc;

/* Where a group's row is, while grouping. */
typedef struct group_at {
  char key[ST_TOP_KEY_MAX + 16];
  size_t i;
  UT_hash_handle hh;
} group_at;

int st_top_rows(const st_top_model *m, int g, st_top_row **out, st_top_row *total) {
  size_t ncells = HASH_COUNT(m->last);
  st_top_row *rows = calloc(ncells ? ncells : 1, sizeof *rows);
  group_acc *acc = calloc(ncells ? ncells : 1, sizeof *acc);
  group_acc all = {0};
  size_t n = 0;
  group_at *at = NULL, *slots = calloc(ncells ? ncells : 1, sizeof *slots);
  *out = NULL;
  memset(total, 0, sizeof *total);
  snprintf(total->key, sizeof total->key, "(total)");
  if (!rows || !acc || !slots)
    goto oom;
  for (const st_top_cell *c = m->last; c; c = c->hh.next) {
    char key[ST_TOP_KEY_MAX];
    cell_group_key(m, c, g, key, sizeof key);
    uint32_t pid = g == ST_TOP_PROCESS ? c->pid : 0;
    char hkey[sizeof slots->key];
    snprintf(hkey, sizeof hkey, "%" PRIu32 " %s", pid, key);
    group_at *found = NULL;
    HASH_FIND_STR(at, hkey, found);
    size_t i = found ? found->i : n;
    if (!found) {
      memcpy(slots[n].key, hkey, sizeof hkey);
      slots[n].i = n;
      HASH_ADD_STR(at, key, &slots[n]);
      snprintf(rows[n].key, sizeof rows[n].key, "%s", key);
      rows[n].pid = pid;
      n++;
    }
    counts_add(&rows[i].n, &c->n);
    counts_add(&total->n, &c->n);
    if (c->nlat) {
      uint32_t *l = realloc(acc[i].lat, (acc[i].nlat + c->nlat) * sizeof *l);
      uint32_t *t = realloc(all.lat, (all.nlat + c->nlat) * sizeof *t);
      if (l)
        acc[i].lat = l;
      if (t)
        all.lat = t;
      if (!l || !t)
        goto oom;
      memcpy(acc[i].lat + acc[i].nlat, c->lat_us, c->nlat * sizeof *l);
      memcpy(all.lat + all.nlat, c->lat_us, c->nlat * sizeof *t);
      acc[i].nlat += c->nlat;
      all.nlat += c->nlat;
    }
  }
  for (size_t i = 0; i <= n; i++) {
    group_acc *a = i < n ? &acc[i] : &all;
    st_top_row *r = i < n ? &rows[i] : total;
    if (!a->nlat)
      continue;
    qsort(a->lat, a->nlat, sizeof *a->lat, cmp_u32);
    r->latencies = (uint32_t)a->nlat;
    r->p50_us = percentile(a->lat, a->nlat, 50);
    r->p99_us = percentile(a->lat, a->nlat, 99);
  }
  for (size_t i = 0; i < n; i++)
    free(acc[i].lat);
  HASH_CLEAR(hh, at);
  free(slots);
  free(acc);
  free(all.lat);
  *out = rows;
  return (int)n;
oom:
  HASH_CLEAR(hh, at);
  free(slots);
  for (size_t i = 0; acc && i < n; i++)
    free(acc[i].lat);
  free(acc);
  free(all.lat);
  free(rows);
  return ST_ENOMEM;
}

uint64_t st_top_failures(const st_top_counts *n, char *reasons, size_t len) {
  uint64_t all = 0;
  size_t used = 0;
  if (len)
    reasons[0] = 0;
  for (int c = 0; c < ST_CODE_COUNT; c++) {
    if (!n->failed[c] || c == ST_OK)
      continue;
    all += n->failed[c];
    if (used < len) {
      int w = snprintf(reasons + used, len - used, "%s%s %" PRIu64, used ? ", " : "",
                       st_code_name((st_code)c), n->failed[c]);
      used += w > 0 ? (size_t)w : 0;
    }
  }
  return all;
}
