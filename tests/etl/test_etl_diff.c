/* `socktrace diff` across OSes: the diff tests' scenario as recorded live
 * on Linux (tests/fixtures/scenario.linux.jsonl: `socktrace run -l 5 -f
 * jsonl -- st-scenario tcp:28080 tcp:28089 udp:28053`, with `st-scenario
 * serve 28080` running outside the traced tree) against the same scenario
 * written as Windows' AFD provider logs it, where processes have no names,
 * a refusal comes with an abortive disconnect and a datagram socket is
 * bound to port 0 before its first send. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "etl/scenario_etl.h"

#define LINUX ST_SOURCE_DIR "/tests/fixtures/scenario.linux.jsonl"

static st_cli_result diff_against(int variant, const char *format) {
  char path[] = "/tmp/st-etl-diff-XXXXXX", args[512];
  close(mkstemp(path));
  cr_assert_eq(scenario_etl_write(path, 28080, 28089, 28053, variant), 0);
  snprintf(args, sizeof args, "diff -f %s %s %s", format, LINUX, path);
  st_cli_result r = st_test_cli(args);
  unlink(path);
  return r;
}

Test(etl_diff, a_windows_etl_and_a_linux_recording_tell_the_same_story) {
  st_cli_result r = diff_against(SCENARIO_AS_RECORDED, "text");
  cr_expect_eq(r.code, 0, "%s%s", r.out, r.err);
  cr_expect_not_null(strstr(r.out, "(linux, ebpf, 3 stories"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "(windows, etw, 3 stories"), "%s", r.out);
  cr_expect_not_null(strstr(r.out, "A and B tell the same story: 3 stories, no differences"), "%s",
                     r.out);
  st_cli_result_free(&r);
}

Test(etl_diff, a_timed_out_connect_is_that_one_difference) {
  st_cli_result r = diff_against(SCENARIO_CONNECT_TIMES_OUT, "jsonl");
  cr_expect_eq(r.code, 1, "%s%s", r.out, r.err);
  cr_assert_eq(st_test_lines(r.out), 2, "a header and one change:\n%s", r.out);
  const char *change = strchr(r.out, '\n') + 1;
  cr_expect_not_null(strstr(change, "{\"change\":\"outcome\",\"process\":\"st-scenario\","
                                    "\"role\":\"client\",\"connection\":\"-> localhost:28080\""),
                     "%s", change);
  cr_expect_not_null(strstr(change, "\"outcomes\":{\"ok\":1}"), "%s", change);
  cr_expect_not_null(strstr(change, "\"outcomes\":{\"timed_out\":1}"), "%s", change);
  st_cli_result_free(&r);
}
