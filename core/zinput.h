/*
 * Compressed inputs read as they are: a gzip, zstd or xz file (by its magic
 * bytes, never its name) opened as a FILE that yields the decompressed
 * bytes, streamed through a small buffer, so every reader (pcap, pcapng,
 * JSON Lines, .etl, .sktrace) takes it unchanged and no temporary copy of
 * the input is made. Private to socktrace.
 */
#ifndef ST_ZINPUT_H
#define ST_ZINPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum st_zkind { ST_Z_NONE, ST_Z_GZIP, ST_Z_ZSTD, ST_Z_XZ } st_zkind;

/* What the first n bytes of a file say it is compressed with. */
st_zkind st_zkind_of(const uint8_t *head, size_t n);
/* "gzip", "zstd", "xz" ("" for none). */
const char *st_zkind_name(st_zkind k);
/* True when this build decompresses inputs of that kind as they are read. */
bool st_zinput_supported(st_zkind k);

/* Opens path for reading ("-": standard input), decompressing a gzip, zstd
 * or xz file as it is read; *kind (may be NULL) says which. The FILE reads
 * sequentially at the speed of the decompressor; seeking works (forward by
 * reading on; backward from the last 8 MiB kept in memory once a reader
 * has sought back, else by starting over; SEEK_END by reading to the end
 * once) so that the .etl reader's jumps between per-CPU buffers still work. A damaged stream is a
 * read error (ferror, errno EIO). NULL with errno when path cannot be
 * opened. Standard input is opened once: every call for "-" returns the
 * same FILE, which must not be closed (st_zclose knows). */
FILE *st_zopen(const char *path, st_zkind *kind);
/* Closes what st_zopen opened (not standard input). */
void st_zclose(FILE *f);

#endif
