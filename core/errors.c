/*
 * Words and names for socktrace's error codes, built from the one table in
 * status.h (ST_ERRNO_MAP), the way libuv's uv-common.c builds uv_strerror
 * and uv_err_name from UV_ERRNO_MAP. libuv's own codes are understood too:
 * on Unix they are negated errno values, so they are rows of our table; on
 * Windows they are libuv's numbers, matched to our row of the same name.
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "socktrace/status.h"

typedef struct err_row {
  int code;
  const char *name;
  const char *words;
} err_row;

static const err_row st_rows[] = {
#define ROW(name, value, words) {value, #name, words},
    ST_ERRNO_MAP(ROW)
#undef ROW
};

static const err_row uv_rows[] = {
#define ROW(name, words) {UV_##name, #name, words},
    UV_ERRNO_MAP(ROW)
#undef ROW
};

#define NROWS(t) (sizeof t / sizeof t[0])

static const err_row *find_code(const err_row *t, size_t n, int code) {
  for (size_t i = 0; i < n; i++)
    if (t[i].code == code)
      return &t[i];
  return NULL;
}

static const err_row *find_name(const err_row *t, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].name, name) == 0)
      return &t[i];
  return NULL;
}

/* Our row for err, else libuv's row (with our words when we have the name). */
static const err_row *find(int err) {
  const err_row *r = find_code(st_rows, NROWS(st_rows), err);
  if (r)
    return r;
  r = find_code(uv_rows, NROWS(uv_rows), err);
  if (!r)
    return NULL;
  const err_row *ours = find_name(st_rows, NROWS(st_rows), r->name);
  return ours ? ours : r;
}

const char *st_strerror(int err) {
  static _Thread_local char unknown[32];
  if (err == 0)
    return "success";
  const err_row *r = find(err);
  if (r)
    return r->words;
  snprintf(unknown, sizeof unknown, "unknown error %d", err);
  return unknown;
}

const char *st_err_name(int err) {
  if (err == 0)
    return "OK";
  const err_row *r = find(err);
  return r ? r->name : "UNKNOWN";
}
