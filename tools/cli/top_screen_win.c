/*
 * top's full screen on Windows: not there yet (the console needs its own
 * input and virtual-terminal handling). Batch mode works everywhere; this
 * says so in one line.
 */
#include "top.h"

int top_screen_begin(uv_loop_t *loop, top_view *v, bool *frozen, const top_screen_hooks *hooks,
                     void *arg, top_screen **out) {
  cli_error("the full-screen view is not available on Windows yet; use top -b");
  return ST_ENOSYS;
}

void top_screen_draw(top_screen *s, const st_top_model *m, const char *source, const char *state) {}

void top_screen_end(top_screen *s) {}
