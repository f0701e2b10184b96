/*
 * Fragment reassembly with a fixed table: REASM_SLOTS datagrams at once,
 * REASM_PIECES fragments each, REASM_MAX bytes each. A slot is reused when
 * its datagram completes, times out, or is the oldest when the table is
 * full. No fragment ever writes outside its slot's buffer.
 */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

#define REASM_SLOTS 32
#define REASM_PIECES 64
#define REASM_MAX 65535u
#define REASM_TIMEOUT_NS (30ull * 1000000000ull)

typedef struct reasm_slot {
  bool used;
  uint8_t family, proto;
  uint8_t src[16], dst[16];
  uint32_t id;
  uint64_t first_ts;
  uint32_t total; /* known once the last fragment arrived; 0 before */
  unsigned npieces;
  struct {
    uint32_t off, len;
  } pieces[REASM_PIECES];
  uint8_t *buf; /* REASM_MAX bytes, allocated on first use */
} reasm_slot;

struct pkt_reasm {
  reasm_slot slots[REASM_SLOTS];
  uint64_t dropped;
};

pkt_reasm *pkt_reasm_new(void) {
  return calloc(1, sizeof(pkt_reasm));
}

void pkt_reasm_free(pkt_reasm *r) {
  if (!r)
    return;
  for (unsigned i = 0; i < REASM_SLOTS; i++)
    free(r->slots[i].buf);
  free(r);
}

uint64_t pkt_reasm_dropped(const pkt_reasm *r) {
  return r->dropped;
}

static void slot_drop(pkt_reasm *r, reasm_slot *s, bool count) {
  if (count)
    r->dropped++;
  s->used = false;
}

static bool slot_matches(const reasm_slot *s, const pkt_info *p) {
  return s->used && s->family == p->family && s->id == p->frag.id && s->proto == p->frag.next &&
         memcmp(s->src, p->src, 16) == 0 && memcmp(s->dst, p->dst, 16) == 0;
}

static reasm_slot *slot_find(pkt_reasm *r, const pkt_info *p, uint64_t ts_ns) {
  reasm_slot *free_slot = NULL, *oldest = NULL;
  for (unsigned i = 0; i < REASM_SLOTS; i++) {
    reasm_slot *s = &r->slots[i];
    if (s->used && ts_ns > s->first_ts && ts_ns - s->first_ts > REASM_TIMEOUT_NS)
      slot_drop(r, s, true);
    if (slot_matches(s, p))
      return s;
    if (!s->used && !free_slot)
      free_slot = s;
    if (s->used && (!oldest || s->first_ts < oldest->first_ts))
      oldest = s;
  }
  reasm_slot *s = free_slot;
  if (!s) {
    s = oldest;
    slot_drop(r, s, true);
  }
  if (!s->buf && !(s->buf = malloc(REASM_MAX)))
    return NULL;
  s->used = true;
  s->family = p->family;
  s->proto = p->frag.next;
  memcpy(s->src, p->src, 16);
  memcpy(s->dst, p->dst, 16);
  s->id = p->frag.id;
  s->first_ts = ts_ns;
  s->total = 0;
  s->npieces = 0;
  return s;
}

static int piece_cmp(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* True when the pieces cover [0, total) without gaps. */
static bool slot_complete(reasm_slot *s) {
  if (!s->total)
    return false;
  qsort(s->pieces, s->npieces, sizeof s->pieces[0], piece_cmp);
  uint32_t covered = 0;
  for (unsigned i = 0; i < s->npieces; i++) {
    if (s->pieces[i].off > covered)
      return false;
    uint32_t end = s->pieces[i].off + s->pieces[i].len;
    if (end > covered)
      covered = end;
  }
  return covered >= s->total;
}

bool pkt_reasm_add(pkt_reasm *r, const pkt_info *pkt, uint64_t ts_ns, const uint8_t **data,
                   uint32_t *len, uint8_t *proto) {
  const pkt_frag *f = &pkt->frag;
  uint64_t end = (uint64_t)f->offset + f->len;
  if (end > REASM_MAX || f->cut || (f->more && f->len == 0)) {
    r->dropped++;
    return false;
  }
  reasm_slot *s = slot_find(r, pkt, ts_ns);
  if (!s)
    return false;
  if (s->npieces == REASM_PIECES || (!f->more && s->total && s->total != end)) {
    slot_drop(r, s, true);
    return false;
  }
  if (!f->more)
    s->total = (uint32_t)end;
  if (s->total && end > s->total) {
    slot_drop(r, s, true);
    return false;
  }
  /* A retransmitted fragment may overlap with the same bytes; later data
   * wins, as in most stacks. */
  memcpy(s->buf + f->offset, f->data, f->len);
  s->pieces[s->npieces].off = f->offset;
  s->pieces[s->npieces].len = f->len;
  s->npieces++;
  if (!slot_complete(s))
    return false;
  *data = s->buf;
  *len = s->total;
  *proto = s->proto;
  s->used = false; /* the buffer stays valid until the slot is reused */
  return true;
}
