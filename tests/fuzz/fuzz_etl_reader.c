/* libFuzzer target: the .etl reader on arbitrary bytes (seeds: the real
 * .etl fixtures). Every record of the merged timeline is walked and its
 * user data touched, so a bad length shows up under ASan. */
#include <stdint.h>
#include <stdio.h>

#include "etw/etl_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  FILE *f = fmemopen((void *)data, size, "rb");
  if (!f)
    return 0;
  etl_reader *r;
  char err[256];
  if (etl_reader_open_stream(f, "fuzz", &r, err, sizeof err) != 0)
    return 0;
  etl_record rec;
  volatile unsigned sum = 0;
  for (int n = 0; n < 100000 && etl_reader_next(r, &rec) == 1; n++) {
    for (uint32_t i = 0; i < rec.user_len; i++)
      sum += rec.user_data[i];
  }
  etl_problem p;
  while (etl_reader_problem(r, &p))
    sum += (unsigned)p.offset;
  etl_reader_close(r);
  return sum == 0xFFFFFFFFu ? -1 : 0; /* reads sum, so the loads stay */
}
