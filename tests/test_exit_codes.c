/*
 * The exit-code contract of trace, run and replay (socktrace(1), EXIT
 * STATUS): CMD's status when it failed; else 4 when the recording is
 * incomplete (a write error such as a full disk, or lost events with
 * --fail-on lost), with the real cause in the message; else 0. The full
 * disk is a small tmpfs (root only; under CI=true it must run).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/testutil.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"

static char dir[] = "/tmp/st-exit-XXXXXX", full[300];
static bool mounted;

static void init(void) {
  strcpy(dir, "/tmp/st-exit-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  st_test_guard_dir(dir);
}

static void fini(void) {
  if (mounted)
    umount2(full, MNT_DETACH);
  mounted = false;
  st_test_remove_dir(dir);
}

TestSuite(exit_codes, .init = init, .fini = fini);

/* A 64 KiB tmpfs under the test's directory. */
static void small_disk(void) {
  ST_REQUIRE_ROOT();
  snprintf(full, sizeof full, "%s/full", dir);
  cr_assert_eq(mkdir(full, 0755), 0);
  cr_assert_eq(mount("tmpfs", full, "tmpfs", 0, "size=64k"), 0, "cannot mount a tmpfs");
  mounted = true;
}

/* The demo trace 200 times over (9,400 events): more than 64 KiB recorded. */
static const char *big_input(void) {
  static char path[300];
  snprintf(path, sizeof path, "%s/big.jsonl", dir);
  char *demo = st_test_read_file(DEMO, NULL);
  cr_assert_not_null(demo);
  const char *events = strchr(demo, '\n') + 1;
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fwrite(demo, 1, (size_t)(events - demo), f);
  for (int i = 0; i < 200; i++)
    fputs(events, f);
  cr_assert_eq(fclose(f), 0);
  free(demo);
  return path;
}

static void expect_full_disk_said(const st_cli_result *r) {
  cr_expect_not_null(strstr(r->err, "no space left on device; recording stopped"), "%s", r->err);
  cr_expect_null(strstr(r->err, "disk too slow"), "the cause is not slowness: %s", r->err);
  cr_expect_null(strstr(r->err, "could not keep up"), "the cause is not slowness: %s", r->err);
}

Test(exit_codes, replay_onto_a_full_disk_exits_4) {
  small_disk();
  char args[800];
  /* Plain blocks: compressed, the demo's repeats would fit in 64 KiB. */
  snprintf(args, sizeof args, "replay %s --compress none -o %s/t.sktrace", big_input(), full);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 4, "exit %d: %s", r.code, r.err);
  expect_full_disk_said(&r);
  st_cli_result_free(&r);
}

Test(exit_codes, run_onto_a_full_disk_exits_4_unless_the_command_failed) {
  small_disk();
  char args[800];
  /* The demo's workload 30 times over (about 10 KiB recorded each). */
  const char *work = "for i in $(seq 30); do " ST_BINARY_DIR "/socktrace __demo-workload; done";
  /* The command succeeds: the incomplete recording decides (plain blocks,
   * which fill the disk sooner than compressed ones). */
  snprintf(args, sizeof args, "run -l 5 --compress none -o %s/t.sktrace -- sh -c '%s'", full, work);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 4, "exit %d: %s", r.code, r.err);
  expect_full_disk_said(&r);
  st_cli_result_free(&r);
  /* The command fails: its status wins. */
  snprintf(args, sizeof args, "run -l 5 --compress none -o %s/u.sktrace -- sh -c '%s; exit 7'",
           full, work);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 7, "exit %d: %s", r.code, r.err);
  st_cli_result_free(&r);
}

Test(exit_codes, lost_events_exit_4_with_fail_on_lost) {
  char path[300], args[400];
  snprintf(path, sizeof path, "%s/lost.jsonl", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("{\"socktrace\":\"0.1.0\",\"host\":\"h\",\"os\":\"linux\",\"backend\":\"ebpf\"}\n"
        "{\"ts_ns\":1795634473200000000,\"provider\":\"ext\",\"name\":\"EventsLost\",\"seq\":1,"
        "\"os\":\"linux\",\"backend\":\"ebpf\",\"level\":2,\"count\":5,\"status\":\"ok\"}\n",
        f);
  cr_assert_eq(fclose(f), 0);
  snprintf(args, sizeof args, "replay %s -q", path);
  st_cli_result r = st_test_cli(args);
  cr_expect_eq(r.code, 0, "lost events alone: %s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args, "replay %s -q --fail-on lost", path);
  r = st_test_cli(args);
  cr_expect_eq(r.code, 4, "exit %d: %s", r.code, r.err);
  cr_expect_not_null(strstr(r.err, "the recording is incomplete: 5 events lost"), "%s", r.err);
  st_cli_result_free(&r);
}
