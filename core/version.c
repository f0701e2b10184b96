/*
 * The library's version at run time, from the header CMake generates out of
 * project(VERSION). Nothing else here: the version is defined once.
 */
#include "socktrace/event.h"

unsigned st_version(void) {
  return ST_VERSION_HEX;
}

const char *st_version_string(void) {
  return ST_VERSION;
}
