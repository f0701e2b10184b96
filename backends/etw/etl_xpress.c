/*
 * Plain LZ77 (XPRESS) decoder. The stream is 32-bit flag words, each bit
 * (most significant first) saying whether the next token is a literal byte
 * (0) or a match (1): a 16-bit word with a 13-bit offset-1 and a 3-bit
 * length-3; length 7 continues in a shared half byte, then a byte, then a
 * 16-bit or 32-bit length. A match flag with no input left ends the stream.
 */
#include "etl_xpress.h"

#include "bytes.h"

long st_xpress_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap) {
  size_t ip = 0, op = 0, half_byte_at = 0;
  int have_half = 0;
  uint32_t flags = 0;
  int nflags = 0;
  while (op < out_cap) {
    if (nflags == 0) {
      if (in_len - ip < 4)
        return (long)op; /* no further flags: the input ends here */
      flags = st_le32(in + ip);
      ip += 4;
      nflags = 32;
    }
    nflags--;
    if (!(flags & (1u << nflags))) {
      if (ip >= in_len)
        return (long)op;
      out[op++] = in[ip++];
      continue;
    }
    if (ip == in_len)
      return (long)op; /* the end marker */
    if (in_len - ip < 2)
      return -1;
    uint16_t word = st_le16(in + ip);
    ip += 2;
    size_t len = word & 7u, dist = (size_t)(word >> 3) + 1;
    if (len == 7) {
      if (!have_half) {
        if (ip >= in_len)
          return -1;
        half_byte_at = ip++;
        len = in[half_byte_at] & 15u;
        have_half = 1;
      } else {
        len = in[half_byte_at] >> 4;
        have_half = 0;
      }
      if (len == 15) {
        if (ip >= in_len)
          return -1;
        len = in[ip++];
        if (len == 255) {
          if (in_len - ip < 2)
            return -1;
          len = st_le16(in + ip);
          ip += 2;
          if (len == 0) {
            if (in_len - ip < 4)
              return -1;
            len = st_le32(in + ip);
            ip += 4;
          }
          if (len < 15 + 7)
            return -1;
          len -= 15 + 7;
        }
        len += 15;
      }
      len += 7;
    }
    len += 3;
    if (dist > op)
      return -1;
    for (size_t i = 0; i < len && op < out_cap; i++, op++)
      out[op] = out[op - dist];
  }
  return (long)op;
}
