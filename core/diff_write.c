/*
 * Writing a comparison of two traces (diff.h): aligned text (coloured on
 * request), one JSON object per line, or markdown for a CI job summary.
 * Each form starts with both sides and any loss, since a difference may be
 * an artefact of events a side lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "internal.h"

#define C_RED "\x1b[31m"
#define C_GREEN "\x1b[32m"
#define C_YELLOW "\x1b[33m"
#define C_BOLD "\x1b[1m"
#define C_RESET "\x1b[0m"

/* The process a change names: the side that knows it. */
static const char *change_process(const st_diff_change *c) {
  if (c->a && c->a->match_proc[0])
    return c->a->match_proc;
  if (c->b && c->b->match_proc[0])
    return c->b->match_proc;
  return st_story_process(c->a ? c->a : c->b);
}

/* What a side says about the change, in words. */
static void side_text(const st_diff_change *c, const st_story *s, char *buf, size_t len) {
  if (!s) {
    snprintf(buf, len, "-");
    return;
  }
  char tmp[512];
  switch (c->what) {
  case ST_DIFF_ATTEMPTS:
    snprintf(buf, len, "%" PRIu64 " attempt%s", s->attempts, s->attempts == 1 ? "" : "s");
    break;
  case ST_DIFF_BYTES:
    snprintf(buf, len, "sent %" PRIu64 ", received %" PRIu64, s->bytes_sent, s->bytes_received);
    break;
  case ST_DIFF_ORDER:
    st_story_steps(s, buf, len);
    break;
  case ST_DIFF_OUTCOME:
    st_story_outcome(s, buf, len);
    break;
  default: /* on one side only: how it went */
    st_story_outcome(s, tmp, sizeof tmp);
    if (s->bytes_known)
      snprintf(buf, len, "%s; sent %" PRIu64 ", received %" PRIu64, tmp, s->bytes_sent,
               s->bytes_received);
    else
      snprintf(buf, len, "%s", tmp);
  }
}

static void side_facts(const st_diff_side *s, char *buf, size_t len) {
  const char *os = s->info ? st_os_name(s->info->os) : NULL;
  const char *be = s->info ? st_backend_kind_name(s->info->backend) : NULL;
  snprintf(buf, len, "%s%s%s%s%zu stories, %" PRIu64 " events", os ? os : "", os ? ", " : "",
           be ? be : "", be ? ", " : "", s->stories, s->events);
}

/* "A lost 12 events (kernel_ring): a difference may come from the loss." */
static void loss_note(st_buf *b, const char *name, const st_diff_side *s) {
  const char *where = s->lost_where ? st_lost_where_name(s->lost_where) : NULL;
  st_buf_printf(b, "%s lost %" PRIu64 " events%s%s%s: a difference may come from the loss", name,
                s->lost, where ? " (" : "", where ? where : "", where ? ")" : "");
}

static void summary_line(st_buf *b, const st_diff_result *r) {
  if (r->nslower)
    st_buf_printf(b, "%" PRIu64 " latenc%s %dx slower; ", (uint64_t)r->nslower,
                  r->nslower == 1 ? "y" : "ies", ST_DIFF_SLOWER);
  if (!r->n)
    st_buf_printf(b, "A and B tell the same story: %" PRIu64 " stor%s, no differences",
                  (uint64_t)r->stories_equal, r->stories_equal == 1 ? "y" : "ies");
  else
    st_buf_printf(b, "%" PRIu64 " difference%s in %" PRIu64 " stor%s; %" PRIu64 " stor%s the same",
                  (uint64_t)r->n, r->n == 1 ? "" : "s", (uint64_t)r->stories_differ,
                  r->stories_differ == 1 ? "y" : "ies", (uint64_t)r->stories_equal,
                  r->stories_equal == 1 ? "y is" : "ies are");
}

static void fill_table(st_table *t, const st_diff_result *r, const char **colors) {
  for (size_t i = 0; i < r->n; i++) {
    const st_diff_change *c = &r->changes[i];
    char conn[2 * ST_SUM_KEY_MAX], a[600], b[600];
    st_story_connection(c->a ? c->a : c->b, true, conn, sizeof conn);
    side_text(c, c->a, a, sizeof a);
    side_text(c, c->b, b, sizeof b);
    const st_story *s = c->a ? c->a : c->b;
    const char *cells[] = {
        st_diff_what_name(c->what, true), change_process(c), st_role_name(s->role), conn, a, b};
    st_table_row(t, cells);
    if (colors)
      colors[i] = c->what == ST_DIFF_ONLY_A   ? C_RED
                  : c->what == ST_DIFF_ONLY_B ? C_GREEN
                                              : C_YELLOW;
  }
}

static const char *const slower_head[] = {"Slower", "Of", "A median", "B median", "Factor"};

static void ms(char *buf, size_t len, uint64_t ns) {
  snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 "ms", ns / 1000000, ns / 1000 % 1000);
}

/* The latencies that became ST_DIFF_SLOWER times slower, one row each. */
static void fill_slower(st_table *t, const st_diff_result *r) {
  for (size_t i = 0; i < r->nslower; i++) {
    const st_diff_slower *s = &r->slower[i];
    char a[32], b[32], f[32];
    ms(a, sizeof a, s->a_p50_ns);
    ms(b, sizeof b, s->b_p50_ns);
    snprintf(f, sizeof f, "%.1fx", (double)s->b_p50_ns / (double)s->a_p50_ns);
    const char *cells[] = {s->kind == ST_DIFF_SLOWER_DNS ? "dns answers" : "connects", s->key, a, b,
                           f};
    st_table_row(t, cells);
  }
}

static const char *const change_head[] = {"Change", "Process", "Role", "Connection", "A", "B"};

static void write_text(st_buf *b, bool color, const st_diff_side *a, const st_diff_side *sb,
                       const st_diff_result *r) {
  char fa[128], fb[128];
  side_facts(a, fa, sizeof fa);
  side_facts(sb, fb, sizeof fb);
  st_buf_printf(b, "%ssocktrace diff%s\n  A: %s (%s)\n  B: %s (%s)\n", color ? C_BOLD : "",
                color ? C_RESET : "", a->file, fa, sb->file, fb);
  const st_diff_side *sides[2] = {a, sb};
  for (int i = 0; i < 2; i++) {
    if (!sides[i]->lost)
      continue;
    st_buf_printf(b, "%swarning: ", color ? C_YELLOW : "");
    loss_note(b, i ? "B" : "A", sides[i]);
    st_buf_printf(b, "%s\n", color ? C_RESET : "");
  }
  if (r->n) {
    st_table t;
    st_table_init(&t, 6, change_head, "llllll");
    const char **colors = color ? calloc(r->n, sizeof *colors) : NULL;
    fill_table(&t, r, colors);
    st_buf_puts(b, "\n");
    st_table_text(&t, b, "  ", colors);
    b->oom |= t.oom || (color && !colors);
    free(colors);
    st_table_free(&t);
  }
  if (r->nslower) {
    st_table t;
    st_table_init(&t, 5, slower_head, "llrrr");
    fill_slower(&t, r);
    st_buf_puts(b, "\n");
    st_table_text(&t, b, "  ", NULL);
    b->oom |= t.oom;
    st_table_free(&t);
  }
  st_buf_puts(b, "\n");
  summary_line(b, r);
  st_buf_puts(b, "\n");
}

static void write_markdown(st_buf *b, const st_diff_side *a, const st_diff_side *sb,
                           const st_diff_result *r) {
  st_buf_puts(b, "### socktrace diff: ");
  summary_line(b, r);
  st_buf_puts(b, "\n\n");
  static const char *const head[] = {"", "File", "OS", "Backend", "Stories", "Events", "Lost"};
  st_table t;
  st_table_init(&t, 7, head, "llllrrr");
  const st_diff_side *sides[2] = {a, sb};
  for (int i = 0; i < 2; i++) {
    const st_diff_side *s = sides[i];
    const char *os = s->info ? st_os_name(s->info->os) : NULL;
    const char *be = s->info ? st_backend_kind_name(s->info->backend) : NULL;
    char n[3][24];
    snprintf(n[0], sizeof n[0], "%zu", s->stories);
    snprintf(n[1], sizeof n[1], "%" PRIu64, s->events);
    snprintf(n[2], sizeof n[2], "%" PRIu64, s->lost);
    const char *cells[] = {i ? "B" : "A", s->file, os ? os : "-", be ? be : "-", n[0], n[1], n[2]};
    st_table_row(&t, cells);
  }
  st_table_markdown(&t, b);
  b->oom |= t.oom;
  st_table_free(&t);
  for (int i = 0; i < 2; i++) {
    if (!sides[i]->lost)
      continue;
    st_buf_puts(b, "\n> **Warning:** ");
    loss_note(b, i ? "B" : "A", sides[i]);
    st_buf_puts(b, ".\n");
  }
  if (r->n) {
    st_table_init(&t, 6, change_head, "llllll");
    fill_table(&t, r, NULL);
    st_buf_puts(b, "\n");
    st_table_markdown(&t, b);
    b->oom |= t.oom;
    st_table_free(&t);
  }
  if (r->nslower) {
    st_table_init(&t, 5, slower_head, "llrrr");
    fill_slower(&t, r);
    st_buf_puts(b, "\n");
    st_table_markdown(&t, b);
    b->oom |= t.oom;
    st_table_free(&t);
  }
}

static void json_story(st_buf *b, const st_story *s) {
  char peer[ST_SUM_KEY_MAX];
  snprintf(peer, sizeof peer, "%s", s->listening ? "" : s->peer);
  st_buf_puts(b, "{\"process\":");
  st_buf_json_string(b, s->proc);
  st_buf_puts(b, ",\"peer\":");
  st_buf_json_string(b, peer);
  st_buf_printf(b, ",\"sockets\":%" PRIu64 ",\"attempts\":%" PRIu64 ",\"outcomes\":{", s->sockets,
                s->attempts);
  for (int c = 0, n = 0; c < ST_CODE_COUNT; c++)
    if (s->outcomes[c])
      st_buf_printf(b, "%s\"%s\":%" PRIu64, n++ ? "," : "",
                    c == ST_PENDING ? "unfinished" : st_code_name((st_code)c), s->outcomes[c]);
  st_buf_puts(b, "}");
  if (s->bytes_known)
    st_buf_printf(b, ",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64, s->bytes_sent,
                  s->bytes_received);
  st_buf_printf(b,
                ",\"resets_in\":%" PRIu64 ",\"resets_out\":%" PRIu64 ",\"dns_failures\":%" PRIu64
                ",\"duration_ns\":%" PRIu64 ",\"steps\":[",
                s->resets_in, s->resets_out, s->dns_failures, s->duration_ns);
  for (unsigned i = 0; i < s->nsteps; i++)
    st_buf_printf(b, "%s\"%s\"", i ? "," : "", st_step_name(s->steps[i]));
  st_buf_puts(b, "]}");
}

static void json_side(st_buf *b, const st_diff_side *s) {
  st_buf_puts(b, "{\"file\":");
  st_buf_json_string(b, s->file);
  const char *os = s->info ? st_os_name(s->info->os) : NULL;
  const char *be = s->info ? st_backend_kind_name(s->info->backend) : NULL;
  if (os)
    st_buf_printf(b, ",\"os\":\"%s\"", os);
  if (be)
    st_buf_printf(b, ",\"backend\":\"%s\"", be);
  if (s->info && s->info->host[0]) {
    st_buf_puts(b, ",\"host\":");
    st_buf_json_string(b, s->info->host);
  }
  st_buf_printf(b, ",\"stories\":%" PRIu64 ",\"events\":%" PRIu64 ",\"lost\":%" PRIu64,
                (uint64_t)s->stories, s->events, s->lost);
  const char *where = s->lost_where ? st_lost_where_name(s->lost_where) : NULL;
  if (where)
    st_buf_printf(b, ",\"lost_where\":\"%s\"", where);
  st_buf_puts(b, "}");
}

static void write_jsonl(st_buf *b, const st_diff_side *a, const st_diff_side *sb,
                        const st_diff_result *r) {
  st_buf_puts(b, "{\"socktrace_diff\":\"" ST_VERSION "\",\"a\":");
  json_side(b, a);
  st_buf_puts(b, ",\"b\":");
  json_side(b, sb);
  st_buf_printf(b,
                ",\"equal\":%s,\"differences\":%" PRIu64 ",\"stories_differ\":%" PRIu64
                ",\"stories_equal\":%" PRIu64 "}\n",
                r->n || r->nslower ? "false" : "true", (uint64_t)r->n, (uint64_t)r->stories_differ,
                (uint64_t)r->stories_equal);
  for (size_t i = 0; i < r->n; i++) {
    const st_diff_change *c = &r->changes[i];
    const st_story *s = c->a ? c->a : c->b;
    char conn[2 * ST_SUM_KEY_MAX];
    st_story_connection(s, true, conn, sizeof conn);
    st_buf_printf(b, "{\"change\":\"%s\",\"process\":", st_diff_what_name(c->what, false));
    st_buf_json_string(b, c->a && c->a->match_proc[0] ? c->a->match_proc
                          : c->b                      ? c->b->match_proc
                                                      : "");
    st_buf_printf(b, ",\"role\":\"%s\",\"connection\":", st_role_name(s->role));
    st_buf_json_string(b, conn);
    if (c->a) {
      st_buf_puts(b, ",\"a\":");
      json_story(b, c->a);
    }
    if (c->b) {
      st_buf_puts(b, ",\"b\":");
      json_story(b, c->b);
    }
    st_buf_puts(b, "}\n");
  }
  for (size_t i = 0; i < r->nslower; i++) {
    const st_diff_slower *s = &r->slower[i];
    st_buf_printf(b, "{\"change\":\"slower\",\"of\":\"%s\",\"key\":",
                  s->kind == ST_DIFF_SLOWER_DNS ? "dns" : "connect");
    st_buf_json_string(b, s->key);
    st_buf_printf(b,
                  ",\"a\":{\"p50_ns\":%" PRIu64 ",\"count\":%" PRIu64 "},\"b\":{\"p50_ns\":%" PRIu64
                  ",\"count\":%" PRIu64 "}}\n",
                  s->a_p50_ns, s->a_n, s->b_p50_ns, s->b_n);
  }
}

int st_diff_write(FILE *out, int format, bool color, const st_diff_side *a, const st_diff_side *b,
                  const st_diff_result *r) {
  st_buf buf = {0};
  if (format == ST_DIFF_JSONL)
    write_jsonl(&buf, a, b, r);
  else if (format == ST_DIFF_MARKDOWN)
    write_markdown(&buf, a, b, r);
  else
    write_text(&buf, color, a, b, r);
  int rc = 0;
  if (buf.oom)
    rc = ST_ENOMEM;
  else if (fwrite(buf.data, 1, buf.len, out) != buf.len || fflush(out) != 0)
    rc = ST_EIO;
  st_buf_free(&buf);
  return rc;
}
