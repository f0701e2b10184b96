/*
 * MS-XCA "plain LZ77" (XPRESS) decompression, written from the published
 * algorithm (MS-XCA §2.4). Compressed .etl files store every buffer but the
 * first this way. Portable C; never reads or writes out of bounds.
 */
#ifndef ST_ETL_XPRESS_H
#define ST_ETL_XPRESS_H

#include <stddef.h>
#include <stdint.h>

/* Decompresses in[0..in_len) into out (capacity out_cap). Stops at the end
 * of the input or when out is full. Returns the bytes written, or -1 when
 * the input is malformed (a match reaching before the output's start, a
 * length field cut short). */
long st_xpress_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

#endif
