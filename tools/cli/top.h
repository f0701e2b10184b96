/*
 * Private to `socktrace top`: the view's state (what the keys change) and
 * the pieces top.c (sources, intervals, batch output), top_view.c (the
 * table's columns, sorting and lines) and top_screen_*.c (the terminal)
 * share.
 */
#ifndef ST_CLI_TOP_H
#define ST_CLI_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "internal.h"
#include "top_model.h"

/* The metric columns, in the order they are shown; sortable all. */
enum {
  TOP_COL_KEY = 0,
  TOP_COL_CONN,
  TOP_COL_ACC,
  TOP_COL_RST_IN,
  TOP_COL_RST_OUT,
  TOP_COL_RETRANS,
  TOP_COL_IN,
  TOP_COL_OUT,
  TOP_COL_P50,
  TOP_COL_P99,
  TOP_COL_DNS,
  TOP_COL_FAILED,
  TOP_COLS
};

typedef struct top_view {
  int grouping;   /* ST_TOP_* */
  int sort;       /* TOP_COL_* */
  bool ascending; /* 'r' turns it */
  char filter[64];
} top_view;

/* --sort's names ("conn", "failed", ...); -1 if unknown. */
int top_column_lookup(const char *name);
const char *top_column_title(int col);

/* The last interval's rows as the view wants them: grouped, filtered,
 * sorted. A malloc'd array (caller frees); how many, or a negative code. */
int top_view_rows(const st_top_model *m, const top_view *v, st_top_row **rows, st_top_row *total);

/* One table line into b: the header (row NULL) or a row; seconds is the
 * interval's length, for the rates. color: failures and resets in red,
 * retransmits in yellow, as the text output has them. width: cut there (0 = never). */
void top_line(st_buf *b, const top_view *v, const st_top_row *row, double seconds, bool color,
              unsigned width);
/* The lines above the table: when, the totals, lost events, the source. */
void top_header(st_buf *b, const st_top_model *m, const top_view *v, const st_top_row *total,
                const char *source, const char *state);
/* One JSON object (a line) per row, for -f jsonl. */
void top_json_row(st_buf *b, const st_top_model *m, const top_view *v, const st_top_row *row);

/* The full screen (top_screen_unix.c). */
typedef struct top_screen top_screen;
typedef struct top_screen_hooks {
  void (*quit)(void *arg);
  void (*changed)(void *arg); /* a key changed the view: draw again */
} top_screen_hooks;
/* Takes the terminal (raw keys, the alternate screen) and gives it back on
 * every way out: top_screen_end, a signal (SIGINT, SIGTERM, SIGHUP end
 * top), exit. 0, or a negative code after one line. */
int top_screen_begin(uv_loop_t *loop, top_view *v, bool *frozen, const top_screen_hooks *hooks,
                     void *arg, top_screen **out);
/* Draws the header and as many rows as fit. */
void top_screen_draw(top_screen *s, const st_top_model *m, const char *source, const char *state);
void top_screen_end(top_screen *s);

#endif
