/*
 * The diff tests' scenario (the client of tests/ci/scenario.c) as Windows'
 * Winsock-AFD provider logs it, written as an .etl file with etl_builder:
 * a TCP connect to 127.0.0.1:server that sends 5 bytes and receives 6, a
 * connect to 127.0.0.1:closed that is refused, and a 4-byte datagram to
 * 127.0.0.1:udp. Shared by the .etl diff test and the live CI test.
 */
#ifndef ST_SCENARIO_ETL_H
#define ST_SCENARIO_ETL_H

#include <stdint.h>

enum {
  SCENARIO_AS_RECORDED = 0,
  SCENARIO_CONNECT_TIMES_OUT, /* the connect to the server times out instead */
};

/* 0, or -1 when the file cannot be written. */
int scenario_etl_write(const char *path, uint16_t server, uint16_t closed, uint16_t udp,
                       int variant);

#endif
