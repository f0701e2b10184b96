/*
 * What both .sktrace fuzz targets do with a whole file: read it through
 * the reader to its end (header, blocks, resync, truncation, inflation).
 */
#ifndef ST_FUZZ_SKTRACE_READ_H
#define ST_FUZZ_SKTRACE_READ_H

#include <stdio.h>

#include "sktrace_format.h"

static inline void fuzz_sktrace_read_file(const uint8_t *data, size_t size) {
  FILE *f = size ? fmemopen((void *)data, size, "rb") : NULL;
  if (!f)
    return;
  st_sktrace_reader *r;
  char err[200];
  if (st_sktrace_reader_open(f, &r, err, sizeof err) == 0) {
    st_event ev;
    /* Each call consumes input or ends: bounded by the size. */
    for (size_t i = 0; i < size + 16; i++) {
      int rc = st_sktrace_reader_next(r, &ev);
      if (rc == 1 || rc == ST_EIO)
        break;
    }
    st_sktrace_reader_free(r);
  }
  fclose(f);
}

#endif
