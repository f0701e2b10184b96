/*
 * top's full screen on a POSIX terminal, in plain ANSI (no library: the
 * view needs a cursor home, clear-to-end and colours, which every terminal
 * emulator in use has): the alternate screen, keys read raw from standard
 * input on the loop, the size from TIOCGWINSZ again at each SIGWINCH.
 *
 * The terminal is given back (its settings, the main screen, the cursor)
 * on every way out: q, SIGINT/SIGTERM/SIGHUP (top.c ends through
 * top_screen_end), and exit() through an atexit handler. It must never be
 * left raw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "top.h"

#define ENTER_SCREEN "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE_SCREEN "\033[0m\033[?25h\033[?1049l"

struct top_screen {
  uv_poll_t keys;
  uv_signal_t winch;
  top_view *view;
  bool *frozen;
  const top_screen_hooks *hooks;
  void *arg;
  unsigned rows, cols;
  bool typing; /* '/' was pressed: keys go to the filter */
  bool clear;  /* the size changed: clear everything before drawing */
  int open_handles;
  /* What was drawn last, to draw it again after a key. */
  const st_top_model *model;
  const char *source, *state;
};

/* The one terminal this process took, for the atexit handler. */
static struct termios saved;
static bool taken;

static void write_all(const char *s, size_t n) {
  while (n) {
    ssize_t w = write(STDOUT_FILENO, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

static void give_back(void) {
  if (!taken)
    return;
  taken = false;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  write_all(LEAVE_SCREEN, strlen(LEAVE_SCREEN));
}

static void measure(top_screen *s) {
  struct winsize ws;
  s->rows = 24;
  s->cols = 80;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
    s->rows = ws.ws_row;
    s->cols = ws.ws_col;
  }
}

static void on_winch(uv_signal_t *h, int signum) {
  top_screen *s = h->data;
  measure(s);
  s->clear = true;
  s->hooks->changed(s->arg);
}

static void key(top_screen *s, unsigned char c) {
  top_view *v = s->view;
  if (s->typing) {
    size_t n = strlen(v->filter);
    if (c == '\r' || c == '\n') {
      s->typing = false;
    } else if (c == 27) { /* Esc: no filter */
      v->filter[0] = 0;
      s->typing = false;
    } else if ((c == 127 || c == 8) && n) {
      v->filter[n - 1] = 0;
    } else if (c >= 32 && c < 127 && n + 1 < sizeof v->filter) {
      v->filter[n] = (char)c;
      v->filter[n + 1] = 0;
    }
    return;
  }
  switch (c) {
  case 'q':
  case 'Q':
    s->hooks->quit(s->arg);
    return;
  case ' ':
    *s->frozen = !*s->frozen;
    break;
  case 'g':
    v->grouping = (v->grouping + 1) % ST_TOP_GROUPINGS;
    break;
  case '>':
  case '.':
    v->sort = (v->sort + 1) % TOP_COLS;
    break;
  case '<':
  case ',':
    v->sort = (v->sort + TOP_COLS - 1) % TOP_COLS;
    break;
  case 'r':
    v->ascending = !v->ascending;
    break;
  case '/':
    s->typing = true;
    v->filter[0] = 0;
    break;
  case 27: /* Esc: no filter */
    v->filter[0] = 0;
    break;
  default:
    return;
  }
}

static void on_keys(uv_poll_t *h, int status, int events) {
  top_screen *s = h->data;
  unsigned char buf[64];
  ssize_t n = status < 0 ? -1 : read(STDIN_FILENO, buf, sizeof buf);
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
    s->hooks->quit(s->arg); /* the terminal went away */
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    /* An arrow key's sequence is not ours: skip "ESC [ x". */
    if (buf[i] == 27 && i + 2 < n && buf[i + 1] == '[') {
      i += 2;
      continue;
    }
    key(s, buf[i]);
    if (!taken)
      return; /* q */
  }
  s->hooks->changed(s->arg);
}

int top_screen_begin(uv_loop_t *loop, top_view *v, bool *frozen, const top_screen_hooks *hooks,
                     void *arg, top_screen **out) {
  top_screen *s = calloc(1, sizeof *s);
  if (!s) {
    cli_error("out of memory");
    return ST_ENOMEM;
  }
  if (tcgetattr(STDIN_FILENO, &saved) < 0) {
    cli_error("cannot use the terminal: %s (try -b for batch mode)", st_strerror(-errno));
    free(s);
    return ST_EINVAL;
  }
  struct termios raw = saved;
  raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
  taken = true;
  static bool registered;
  if (!registered)
    atexit(give_back);
  registered = true;
  write_all(ENTER_SCREEN, strlen(ENTER_SCREEN));
  s->view = v;
  s->frozen = frozen;
  s->hooks = hooks;
  s->arg = arg;
  measure(s);
  uv_poll_init(loop, &s->keys, STDIN_FILENO);
  s->keys.data = s;
  uv_poll_start(&s->keys, UV_READABLE, on_keys);
  uv_signal_init(loop, &s->winch);
  s->winch.data = s;
  uv_signal_start(&s->winch, on_winch, SIGWINCH);
  *out = s;
  return 0;
}

/* Freed with the last of its two handles (libuv closes them in no
 * promised order). */
static void on_closed(uv_handle_t *h) {
  top_screen *s = h->data;
  if (--s->open_handles == 0)
    free(s);
}

void top_screen_end(top_screen *s) {
  give_back();
  if (uv_is_closing((uv_handle_t *)&s->keys))
    return;
  s->open_handles = 2;
  uv_close((uv_handle_t *)&s->keys, on_closed);
  uv_close((uv_handle_t *)&s->winch, on_closed);
}

/* Appends the text lines of src to b, each cut to the screen's width,
 * cleared to its end; how many lines. */
static unsigned add_lines(st_buf *b, const char *src, unsigned cols) {
  unsigned n = 0;
  while (*src) {
    const char *eol = strchr(src, '\n');
    size_t len = eol ? (size_t)(eol - src) : strlen(src);
    st_buf_add(b, src, len < cols ? len : cols);
    st_buf_puts(b, "\033[K\r\n");
    n++;
    src += len + (eol ? 1 : 0);
  }
  return n;
}

void top_screen_draw(top_screen *s, const st_top_model *m, const char *source, const char *state) {
  if (!taken)
    return;
  s->model = m;
  s->source = source;
  s->state = state;
  st_buf b = {0};
  st_buf_puts(&b, s->clear ? "\033[H\033[2J" : "\033[H");
  s->clear = false;
  st_top_row *rows = NULL, total;
  int n = m->last_end_ns ? top_view_rows(m, s->view, &rows, &total) : 0;
  unsigned used = 0;
  if (m->last_end_ns && n >= 0) {
    st_buf head = {0};
    top_header(&head, m, s->view, &total, source, *s->frozen ? "[frozen]" : state);
    used += add_lines(&b, head.data ? head.data : "", s->cols);
    st_buf_free(&head);
  } else {
    char wait[600];
    snprintf(wait, sizeof wait, "socktrace top - waiting for the first interval  source: %s\n",
             source);
    used += add_lines(&b, wait, s->cols);
  }
  char keys[160];
  if (s->typing)
    snprintf(keys, sizeof keys, "filter: %s_  (Enter: keep, Esc: none)\n", s->view->filter);
  else
    snprintf(keys, sizeof keys,
             "keys: q quit, space freeze, g group, < > sort, r reverse, / filter\n");
  used += add_lines(&b, keys, s->cols);
  double secs = (double)(m->last_end_ns - m->last_start_ns) / 1e9;
  st_buf_puts(&b, "\033[7m");
  top_line(&b, s->view, NULL, secs, false, s->cols);
  st_buf_puts(&b, "\033[0m\033[K\r\n");
  used++;
  for (int i = 0; i < n && used + 1 < s->rows; i++, used++) {
    top_line(&b, s->view, &rows[i], secs, true, s->cols);
    st_buf_puts(&b, "\033[K\r\n");
  }
  st_buf_puts(&b, "\033[J");
  write_all(b.data ? b.data : "", b.len);
  st_buf_free(&b);
  free(rows);
}
