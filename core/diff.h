/*
 * Comparing two traces, told as connection stories (story.h): which
 * stories one side has and the other lacks, and for the stories both have,
 * whether they ended differently (refused vs timed_out), tried a different
 * number of times, moved a different number of bytes (beyond a
 * tolerance), or, when asked, took their steps in another order.
 *
 * Stories match on role, peer, own port and process name; a side that does
 * not know its processes (a Windows .etl, a packet capture) matches any
 * process. Library code: it compares and writes to the FILE it is given,
 * it never prints on its own.
 */
#ifndef ST_CORE_DIFF_H
#define ST_CORE_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "socktrace/sink.h"
#include "story.h"

enum {
  ST_DIFF_ONLY_A = 1,
  ST_DIFF_ONLY_B,
  ST_DIFF_OUTCOME,  /* the stories ended differently */
  ST_DIFF_ATTEMPTS, /* a different number of attempts */
  ST_DIFF_BYTES,    /* bytes either way differ beyond the tolerance */
  ST_DIFF_ORDER,    /* the first socket's steps came in another order */
};

typedef struct st_diff_options {
  uint64_t bytes_tolerance;     /* a difference of at most this many bytes is none */
  unsigned bytes_tolerance_pct; /* or of at most this percent of the larger count */
  bool order;                   /* compare the order of steps too */
} st_diff_options;

typedef struct st_diff_change {
  uint8_t what;          /* ST_DIFF_* */
  const st_story *a, *b; /* NULL on the side that lacks the story */
} st_diff_change;

/* A latency that became at least ST_DIFF_SLOWER times slower (by its
 * median): a remote's connects, or a name's DNS answers; and at least
 * ST_DIFF_SLOWER_FLOOR_NS in B. Below that a factor is the scheduler's:
 * a loopback connect takes 5 us or 60 us by where its threads ran, and
 * under ptrace every connect takes two stops more than under eBPF. */
#define ST_DIFF_SLOWER 10
#define ST_DIFF_SLOWER_FLOOR_NS 1000000ull
enum { ST_DIFF_SLOWER_CONNECT = 1, ST_DIFF_SLOWER_DNS };
typedef struct st_diff_slower {
  uint8_t kind;  /* ST_DIFF_SLOWER_* */
  char key[272]; /* the remote or the DNS name */
  uint64_t a_p50_ns, b_p50_ns;
  uint64_t a_n, b_n;
} st_diff_slower;

typedef struct st_diff_result {
  st_diff_change *changes; /* sorted by story, then by what */
  size_t n;
  size_t stories_differ, stories_equal; /* stories with and without changes */
  st_diff_slower *slower;               /* by kind, then key */
  size_t nslower;
} st_diff_result;

/* a and b are st_story_list()s. Returns 0 or ST_ENOMEM; the result points
 * into a and b. */
int st_diff_stories(const st_story *a, size_t na, const st_story *b, size_t nb,
                    const st_diff_options *o, st_diff_result *r);
void st_diff_result_free(st_diff_result *r);
/* Adds to r the connect and DNS latencies (summary_model.h) that became
 * ST_DIFF_SLOWER times slower from a to b. 0 or ST_ENOMEM. */
struct st_sum_model;
int st_diff_latency(struct st_sum_model *a, struct st_sum_model *b, st_diff_result *r);
/* "only_a", "outcome", ... (JSON) / "only in A", "outcome", ... (text). */
const char *st_diff_what_name(uint8_t what, bool words);

/* One side of a comparison, as the output's header describes it. */
typedef struct st_diff_side {
  const char *file;
  const st_trace_info *info; /* may be NULL (a file without a header) */
  size_t stories;
  uint64_t events, lost;
  uint8_t lost_where; /* ST_LOST_* of its first EventsLost, 0 if unknown */
} st_diff_side;

enum { ST_DIFF_TEXT, ST_DIFF_JSONL, ST_DIFF_MARKDOWN };

/* Writes the comparison: a header naming both sides (and any loss: a
 * difference may be an artefact of it), then one line or row per change.
 * color: ANSI colours in text. 0 or ST_EIO / ST_ENOMEM. */
int st_diff_write(FILE *out, int format, bool color, const st_diff_side *a, const st_diff_side *b,
                  const st_diff_result *r);

#endif
