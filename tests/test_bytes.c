/* bytes.h: byte order by name, and the cursor's bounds: a read that does
 * not fit yields zero, marks the cursor bad, and says what it needed. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "bytes.h"

static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

Test(bytes, byte_order_is_in_the_name) {
  cr_expect_eq(st_le16(b), 0x0201);
  cr_expect_eq(st_be16(b), 0x0102);
  cr_expect_eq(st_le32(b), 0x04030201u);
  cr_expect_eq(st_be32(b), 0x01020304u);
  cr_expect_eq(st_le64(b), 0x0807060504030201ull);
}

Test(bytes, writers_round_trip_and_chain) {
  uint8_t out[15];
  uint8_t *end = st_put_le64(st_put_le32(st_put_le16(st_put_u8(out, 0xAB), 0x1234), 0xDEADBEEF),
                             0x0102030405060708ull);
  cr_expect_eq(end, out + sizeof out);
  cr_expect_eq(out[0], 0xAB);
  cr_expect_eq(st_le16(out + 1), 0x1234);
  cr_expect_eq(st_le32(out + 3), 0xDEADBEEFu);
  cr_expect_eq(st_le64(out + 7), 0x0102030405060708ull);
}

Test(bytes, cursor_reads_in_order) {
  st_cursor c;
  st_cursor_init(&c, b, sizeof b);
  cr_expect_eq(st_cursor_u8(&c), 0x01);
  cr_expect_eq(st_cursor_be16(&c), 0x0203);
  cr_expect_eq(st_cursor_le16(&c), 0x0504);
  cr_expect_eq(st_cursor_left(&c), 3);
  const uint8_t *rest = st_cursor_take(&c, 3);
  cr_expect_eq(rest, b + 5);
  cr_expect_eq(st_cursor_left(&c), 0);
  cr_expect_not(c.bad);
}

Test(bytes, cursor_short_read_yields_zero_and_latches) {
  st_cursor c;
  st_cursor_init(&c, b, 6);
  cr_expect_eq(st_cursor_le32(&c), 0x04030201u);
  cr_expect_eq(st_cursor_le32(&c), 0, "only 2 bytes left");
  cr_expect(c.bad);
  cr_expect_eq(c.need, 8, "the read needed bytes up to offset 8");
  cr_expect_eq(c.off, 4, "nothing consumed by the failed read");
  /* Every later read fails too, even one that would fit. */
  cr_expect_eq(st_cursor_u8(&c), 0);
  cr_expect_null(st_cursor_take(&c, 0));
  cr_expect_eq(c.need, 8, "need is the first failure's");
}

Test(bytes, cursor_bounds_at_exact_end_and_huge_lengths) {
  st_cursor c;
  st_cursor_init(&c, b, sizeof b);
  cr_expect_eq(st_cursor_le64(&c), 0x0807060504030201ull);
  cr_expect_not(c.bad, "a read ending exactly at the end fits");
  st_cursor_init(&c, b, sizeof b);
  st_cursor_u8(&c);
  cr_expect_null(st_cursor_take(&c, SIZE_MAX));
  cr_expect_eq(c.need, SIZE_MAX, "an overflowing length says so");
  st_cursor_init(&c, NULL, 100);
  cr_expect_eq(st_cursor_left(&c), 0, "no data is an empty buffer");
  cr_expect_eq(st_cursor_be32(&c), 0);
  cr_expect(c.bad);
}
