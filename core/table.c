/*
 * Tables for the summary and diff outputs: aligned columns on a terminal,
 * or markdown tables for CI job summaries. Never prints: it appends to a
 * buffer its caller writes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void st_table_init(st_table *t, unsigned ncols, const char *const *head, const char *align) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols < 32 ? ncols : 32;
  t->head = head;
  t->align = align;
}

void st_table_row(st_table *t, const char *const *cells) {
  if (t->oom)
    return;
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
    if (!c) {
      t->oom = 1;
      return;
    }
    t->cells = c;
    t->cap = cap;
  }
  char **row = t->cells + t->nrows * t->ncols;
  for (unsigned i = 0; i < t->ncols; i++) {
    row[i] = strdup(cells[i] ? cells[i] : "");
    if (!row[i]) {
      t->oom = 1;
      while (i--)
        free(row[i]);
      return;
    }
  }
  t->nrows++;
}

static void pad(st_buf *b, size_t n) {
  while (n--)
    st_buf_add(b, " ", 1);
}

/* "RST in" -> "RST-IN" (one word per column), "Local -> remote" ->
 * "LOCAL -> REMOTE". */
static void text_head(char *out, size_t len, const char *title) {
  size_t i = 0;
  for (; title[i] && i + 1 < len; i++) {
    bool joins = title[i] == ' ' && i && isalpha((unsigned char)title[i - 1]) &&
                 isalpha((unsigned char)title[i + 1]);
    out[i] = joins ? '-' : (char)toupper((unsigned char)title[i]);
  }
  out[i] = 0;
}

static void text_line(const st_table *t, st_buf *b, const char *indent, const char *const *cells,
                      const size_t *width) {
  st_buf_puts(b, indent);
  for (unsigned i = 0; i < t->ncols; i++) {
    size_t n = strlen(cells[i]);
    bool last = i + 1 == t->ncols, right = t->align[i] == 'r';
    if (i)
      st_buf_puts(b, "  ");
    if (right)
      pad(b, width[i] - n);
    st_buf_puts(b, cells[i]);
    if (!right && !last)
      pad(b, width[i] - n);
  }
}

void st_table_text(const st_table *t, st_buf *b, const char *indent, const char *const *row_color) {
  size_t width[32] = {0};
  char head[32][32];
  const char *hp[32];
  unsigned ncols = t->ncols < 32 ? t->ncols : 32;
  for (unsigned i = 0; i < ncols; i++) {
    text_head(head[i], sizeof head[i], t->head[i]);
    hp[i] = head[i];
    width[i] = strlen(head[i]);
  }
  for (size_t r = 0; r < t->nrows; r++)
    for (unsigned i = 0; i < ncols; i++) {
      size_t n = strlen(t->cells[r * t->ncols + i]);
      if (n > width[i])
        width[i] = n;
    }
  text_line(t, b, indent, hp, width);
  st_buf_puts(b, "\n");
  for (size_t r = 0; r < t->nrows; r++) {
    const char *color = row_color ? row_color[r] : NULL;
    if (color)
      st_buf_puts(b, color);
    text_line(t, b, indent, (const char *const *)t->cells + r * t->ncols, width);
    if (color)
      st_buf_puts(b, "\x1b[0m");
    st_buf_puts(b, "\n");
  }
}

void st_buf_markdown(st_buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<':
      st_buf_puts(b, "&lt;");
      break;
    case '&':
      st_buf_puts(b, "&amp;");
      break;
    case '\n':
    case '\r':
    case '\t':
      st_buf_puts(b, " ");
      break;
    case '\\':
    case '|':
    case '*':
    case '_':
    case '`':
    case '[':
    case ']':
    case '#':
    case '~':
      st_buf_add(b, "\\", 1);
      st_buf_add(b, s, 1);
      break;
    default:
      st_buf_add(b, s, 1);
    }
  }
}

void st_table_markdown(const st_table *t, st_buf *b) {
  st_buf_puts(b, "|");
  for (unsigned i = 0; i < t->ncols; i++) {
    st_buf_puts(b, " ");
    st_buf_markdown(b, t->head[i]);
    st_buf_puts(b, " |");
  }
  st_buf_puts(b, "\n|");
  for (unsigned i = 0; i < t->ncols; i++)
    st_buf_puts(b, t->align[i] == 'r' ? "--:|" : "---|");
  st_buf_puts(b, "\n");
  for (size_t r = 0; r < t->nrows; r++) {
    st_buf_puts(b, "|");
    for (unsigned i = 0; i < t->ncols; i++) {
      st_buf_puts(b, " ");
      st_buf_markdown(b, t->cells[r * t->ncols + i]);
      st_buf_puts(b, " |");
    }
    st_buf_puts(b, "\n");
  }
}

void st_table_free(st_table *t) {
  for (size_t i = 0; i < t->nrows * t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  memset(t, 0, sizeof *t);
}
