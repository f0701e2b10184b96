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

#include "fuzz_sktrace_read.h"
#include "sktrace_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[200];
  fuzz_sktrace_read_file(data, size);
  st_event *evs = NULL;
  size_t cap = 0, n = 0;
  st_sktrace_block_decode(data, size, &evs, &cap, &n, err, sizeof err);
  free(evs);
  st_sktrace_header h = {0};
  st_sktrace_header_decode(data, size, &h, err, sizeof err);
  return 0;
}
