/*
 * Helpers shared by the test suites: where the fixtures are, privilege and
 * CI gating, and a sink that collects events in memory.
 *
 * Gating rule: a test that needs root or shared fixtures skips with a
 * message on a developer's machine, and fails under CI=true, where it must
 * run.
 */
#ifndef ST_TESTUTIL_H
#define ST_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "socktrace/session.h"
#include "socktrace/sink.h"

/* $SOCKTRACE_FIXTURES, or ../shared/fixtures next to the source tree. */
const char *st_test_fixtures_dir(void);
/* Builds "<fixtures>/<rel>" into a static buffer; NULL-safe. */
const char *st_test_fixture(const char *rel);
bool st_test_in_ci(void);

/* Skips the test, saying why on stderr too ("socktrace-test: SKIPPED:
 * ..."): tests/run_suite.sh turns a suite that passed with skips into
 * ctest's "Skipped" (Criterion's own [SKIP] shows only when verbose). */
void st_test_note_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define ST_SKIP(...)                                                                               \
  do {                                                                                             \
    st_test_note_skip(__VA_ARGS__);                                                                \
    cr_skip_test(__VA_ARGS__);                                                                     \
  } while (0)

/* Skips (or fails under CI=true) when the fixture directory is absent. */
#define ST_REQUIRE_FIXTURES()                                                                      \
  do {                                                                                             \
    if (!st_test_fixtures_present()) {                                                             \
      if (st_test_in_ci())                                                                         \
        cr_assert_fail("fixtures not found at %s under CI=true", st_test_fixtures_dir());          \
      ST_SKIP("fixtures not found at %s (set SOCKTRACE_FIXTURES; README: Fixtures)",               \
              st_test_fixtures_dir());                                                             \
    }                                                                                              \
  } while (0)

/* Skips (or fails under CI=true) when not root. */
#define ST_REQUIRE_ROOT()                                                                          \
  do {                                                                                             \
    if (!st_test_is_root()) {                                                                      \
      if (st_test_in_ci())                                                                         \
        cr_assert_fail("live test needs root and CI=true is set");                                 \
      ST_SKIP("live test needs root; skipped");                                                    \
    }                                                                                              \
  } while (0)

bool st_test_fixtures_present(void);
bool st_test_is_root(void);

/* A sink that keeps every event it receives (grows as needed). */
typedef struct st_collect {
  st_event *events;
  size_t count, cap;
  int ended; /* end() was called */
  st_counters counters;
} st_collect;
int st_sink_collect_new(st_collect *into, st_sink **sink);
void st_collect_free(st_collect *c);

/* Runs the built socktrace CLI with args (a shell word list), stdin from
 * /dev/null; returns its exit code (-1 if it did not exit) and what it
 * printed (malloc'd; the caller frees). */
typedef struct st_cli_result {
  int code;
  char *out, *err;
} st_cli_result;
st_cli_result st_test_cli(const char *args);
/* The same with standard input from the file in. */
st_cli_result st_test_cli_stdin(const char *in, const char *args);
/* The same with the program bin (a path). */
st_cli_result st_test_cli_run(const char *bin, const char *in, const char *args);
void st_cli_result_free(st_cli_result *r);
/* st_test_cli with " --control-dir DIR" after the formatted args (the
 * sessions' tests); its exit code, what it printed in out/err (malloc'd;
 * the caller frees) unless they are NULL. */
int st_test_cli_dir(const char *dir, char **out, char **err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The value of the exposition line that starts with prefix and a space
 * ("name{labels} 3"), -1 when there is none. */
long long st_test_sample(const char *text, const char *prefix);

/* Number of newlines in s. */
int st_test_lines(const char *s);
/* How many times needle occurs in hay (overlaps counted). */
int st_test_count(const char *hay, const char *needle);

/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL on error). */
char *st_test_read_file(const char *path, size_t *len);
/* Writes text to the file dir + rel, making the directories on the way;
 * false when it could not. */
bool st_test_put(const char *dir, const char *rel, const char *text);
/* Reads path every 10 ms until it holds needle or timeout_ms passed; its
 * last content (malloc'd, may be NULL): the caller checks for needle. */
char *st_test_wait_file(const char *path, const char *needle, int timeout_ms);

#endif
