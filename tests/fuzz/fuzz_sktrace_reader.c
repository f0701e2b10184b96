/*
 * libFuzzer target for the .sktrace reader (built with -DST_FUZZ=ON, run by
 * tools/fuzz.sh). Each input is read three ways: as a whole file through
 * the reader (header, blocks, resync, truncation), and as a raw block
 * payload and a raw header body, so the decoders are reached even without
 * a matching CRC. Nothing may crash, leak, hang or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sktrace_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[200];
  if (size) {
    FILE *f = fmemopen((void *)data, size, "rb");
    if (f) {
      st_sktrace_reader *r;
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
  }
  st_event *evs = NULL;
  size_t cap = 0, n = 0;
  st_sktrace_block_decode(data, size, &evs, &cap, &n, err, sizeof err);
  free(evs);
  st_sktrace_header h = {0};
  st_sktrace_header_decode(data, size, &h, err, sizeof err);
  return 0;
}
