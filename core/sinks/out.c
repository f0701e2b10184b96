/*
 * The write, flush and error handling every text sink shares (st_out in
 * internal.h): one place that turns a failed fwrite or fflush into the
 * sink's one-line error, with the words of st_strerror.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

void *st_out_new(size_t size, const st_sink_ops *ops, FILE *file, const char *what) {
  st_out *o = calloc(1, size);
  if (!o)
    return NULL;
  o->base.ops = ops;
  o->file = file;
  o->what = what;
  return o;
}

int st_out_write(st_out *o, const char *s, size_t n) {
  if (fwrite(s, 1, n, o->file) != n) {
    snprintf(o->base.error, sizeof o->base.error,
             "cannot write %s: %s (check free space and permissions)", o->what,
             st_strerror(-errno));
    return ST_EIO;
  }
  return 0;
}

int st_out_put_line(st_out *o) {
  if (o->line.oom)
    return ST_ENOMEM;
  return st_out_write(o, o->line.data, o->line.len);
}

int st_out_flush(st_sink *s) {
  st_out *o = (st_out *)s;
  if (fflush(o->file) != 0) {
    snprintf(s->error, sizeof s->error, "cannot write %s: %s", o->what, st_strerror(-errno));
    return ST_EIO;
  }
  return 0;
}

void st_out_close(st_sink *s) {
  st_buf_free(&((st_out *)s)->line);
  free(s);
}
