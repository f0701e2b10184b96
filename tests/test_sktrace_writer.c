/* The .sktrace writer sink: rotation keeps exactly N files of about the
 * asked size; a full disk (a file size limit, or a small tmpfs) stops the
 * recording with one clear line and leaves a file that reads cleanly; a full
 * queue never blocks and becomes EventsLost records. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sktrace_testutil.h"

static char dir[] = "/tmp/st-sktw-XXXXXX";
static char path[256];

static void setup(void) {
  strcpy(dir, "/tmp/st-sktw-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/t.sktrace", dir);
}

static void teardown(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(sktrace_writer, .init = setup, .fini = teardown);

static long file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

Test(sktrace_writer, rotation_keeps_exactly_n_files_of_about_the_asked_size) {
  const size_t n = 40000;
  const uint64_t max = 64 << 10;
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.max_size = max, .max_files = 3, .queue_events = 1u << 16};
  st_sktrace_stats stats;
  cr_assert_eq(skt_write(opt, path, evs, n, &stats), 0);
  cr_assert_eq(stats.lost, 0);
  cr_expect_gt(stats.files, 3, "it rotated more often than it keeps files");

  char names[3][300];
  snprintf(names[0], sizeof names[0], "%s/t.2.sktrace", dir); /* oldest */
  snprintf(names[1], sizeof names[1], "%s/t.1.sktrace", dir);
  snprintf(names[2], sizeof names[2], "%s", path); /* newest */
  char extra[300];
  snprintf(extra, sizeof extra, "%s/t.3.sktrace", dir);
  cr_expect_eq(file_size(extra), -1, "no fourth file");
  char cmd[400];
  snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 3", dir);
  cr_expect_eq(system(cmd), 0, "exactly three files in the directory");

  uint64_t expect_seq = 0;
  uint32_t part = 0;
  for (int i = 0; i < 3; i++) {
    long size = file_size(names[i]);
    cr_assert_gt(size, 0, "%s exists", names[i]);
    cr_expect_leq(size, (long)max, "%s: %ld bytes", names[i], size);
    if (i < 2)
      cr_expect_geq(size, (long)(max * 3 / 4), "%s: %ld bytes is about the size", names[i], size);
    skt_read_result r = skt_read(names[i]);
    cr_expect_eq(r.problems, 0, "%s: %s", names[i], r.all_problems);
    cr_assert_gt(r.n, 0);
    if (i > 0)
      cr_expect_eq(r.header.part, part + 1, "parts count up");
    part = r.header.part;
    /* The kept files hold one contiguous run of the newest events. */
    if (i > 0)
      cr_expect_eq(r.events[0].seq, expect_seq + 1, "%s continues the previous file", names[i]);
    expect_seq = r.events[r.n - 1].seq;
    free(r.events);
  }
  cr_expect_eq(expect_seq, n, "the newest file ends with the last event");
  free(evs);
}

/* Runs in a child (limits and signals are per process): records demo
 * events until the writer fails, writes its one error line to fd. */
static void record_until_full(int fd, const char *where) {
  st_event *evs = skt_many_events(1000);
  st_sktrace_options opt = {.path = where, .block_bytes = 4096};
  st_sink *s;
  st_trace_info info = skt_info();
  if (st_sink_sktrace_new(&opt, &s) || s->ops->begin(s, &info))
    _exit(2);
  int rc = 0;
  for (uint64_t seq = 1; seq < 5000000 && rc == 0; seq++) {
    st_event ev = evs[seq % 1000];
    ev.seq = seq;
    rc = s->ops->write(s, &ev);
    if (seq % 256 == 0)
      usleep(50); /* let the writer keep up: this test is about the disk */
  }
  st_counters c = {0};
  if (rc == 0)
    rc = s->ops->flush(s);
  int erc = s->ops->end(s, &c);
  if (rc == 0)
    rc = erc;
  if (write(fd, s->error, strlen(s->error)) < 0)
    _exit(5);
  _exit(rc == ST_EIO ? 0 : 6);
}

static void expect_full_disk_handled(const char *where, const char *reason, long limit) {
  int pfd[2];
  cr_assert_eq(pipe(pfd), 0);
  pid_t child = fork();
  cr_assert_geq(child, 0);
  if (child == 0) {
    close(pfd[0]);
    if (limit) {
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
      if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(7);
    }
    record_until_full(pfd[1], where);
  }
  close(pfd[1]);
  char msg[600] = "";
  ssize_t got = read(pfd[0], msg, sizeof msg - 1);
  msg[got > 0 ? got : 0] = 0;
  close(pfd[0]);
  int st;
  waitpid(child, &st, 0);
  cr_assert(WIFEXITED(st), "the child was not killed (SIGXFSZ ignored)");
  cr_assert_eq(WEXITSTATUS(st), 0, "write/flush/end returned ST_EIO (exit %d): %s", WEXITSTATUS(st),
               msg);
  /* One clear line: what, why, and what was kept. */
  cr_expect_null(strchr(msg, '\n'), "one line: %s", msg);
  char want[400];
  snprintf(want, sizeof want, "cannot write %s: %s; recording stopped, ", where, reason);
  cr_expect(strncmp(msg, want, strlen(want)) == 0, "got: %s", msg);
  cr_expect_not_null(strstr(msg, "kept and readable"), "%s", msg);

  skt_read_result r = skt_read(where);
  cr_expect_eq(r.problems, 0, "the file ends at a whole block: %s", r.all_problems);
  cr_expect_gt(r.n, 100, "what was written is there");
  for (size_t i = 0; i < r.n; i++)
    if (r.events[i].id != ST_EV_EVENTS_LOST)
      cr_assert_lt(r.events[i].seq, 5000000);
  unsigned long long events = 0;
  cr_expect_eq(sscanf(strstr(msg, "stopped, ") + 9, "%llu events", &events), 1);
  cr_expect_eq(events, r.n, "the message counts what the file holds");
  free(r.events);
}

Test(sktrace_writer, file_size_limit_gives_clear_error_and_readable_file) {
  expect_full_disk_handled(path, "file too large", 256 << 10);
  cr_expect_leq(file_size(path), 256 << 10);
}

Test(sktrace_writer, full_tmpfs_gives_clear_error_and_readable_file) {
  ST_REQUIRE_ROOT();
  char mnt[300];
  snprintf(mnt, sizeof mnt, "%s/small", dir);
  cr_assert_eq(mkdir(mnt, 0755), 0);
  if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") != 0) {
    if (st_test_in_ci())
      cr_assert_fail("cannot mount a tmpfs as root under CI=true");
    ST_SKIP("cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?)");
  }
  char where[400];
  snprintf(where, sizeof where, "%s/full.sktrace", mnt);
  expect_full_disk_handled(where, "no space left on device", 0);
  cr_expect_eq(umount(mnt), 0);
}

Test(sktrace_writer, cannot_create_is_one_line_at_begin) {
  st_sktrace_options opt = {.path = "/nonexistent-dir/t.sktrace"};
  st_sink *s;
  cr_assert_eq(st_sink_sktrace_new(&opt, &s), 0);
  st_trace_info info = skt_info();
  cr_expect_eq(s->ops->begin(s, &info), ST_EIO);
  cr_expect_str_eq(s->error, "cannot create /nonexistent-dir/t.sktrace: no such file or directory");
  s->ops->close(s);
}

Test(sktrace_writer, full_queue_drops_without_blocking_and_records_the_loss) {
  const size_t n = 200000;
  st_event *evs = skt_many_events(n);
  /* A tiny queue and a writer that cannot keep pace with a tight loop. */
  st_sktrace_options opt = {.queue_events = 4, .full_wait_ms = -1};
  st_sktrace_stats stats;
  cr_assert_eq(skt_write(opt, path, evs, n, &stats), 0);
  cr_assert_gt(stats.lost, 0, "a four-slot queue overflowed");
  skt_read_result r = skt_read(path);
  cr_assert_eq(r.problems, 0, "%s", r.all_problems);
  uint64_t lost = 0, real = 0, prev_seq = 0;
  for (size_t i = 0; i < r.n; i++) {
    const st_event *ev = &r.events[i];
    if (ev->id == ST_EV_EVENTS_LOST && ev->provider == ST_PROVIDER_EXT) {
      cr_assert(ev->has & ST_HAS_LOST);
      cr_expect_eq(ev->lost.where, ST_LOST_SINK);
      cr_expect_leq(ev->lost.from_ns, ev->lost.to_ns);
      cr_expect_eq(ev->keywords, ST_KW_LOSS);
      lost += ev->lost.count;
      continue;
    }
    cr_assert_gt(ev->seq, prev_seq, "order kept");
    prev_seq = ev->seq;
    real++;
  }
  cr_expect_eq(lost, stats.lost, "every drop is in an EventsLost record");
  cr_expect_eq(real + lost, n, "nothing vanished unaccounted");
  cr_expect_eq(stats.events, r.n);
  free(r.events);
  free(evs);
}

Test(sktrace_writer, a_full_queue_waits_briefly_for_the_writer) {
  /* A live source's burst: the queue fills, write() gives the writer up to
   * full_wait_ms (default 20 ms) to make room, and a writer that keeps up
   * loses nothing. */
  const size_t n = 20000;
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.queue_events = 4};
  st_sktrace_stats stats;
  cr_assert_eq(skt_write(opt, path, evs, n, &stats), 0);
  cr_expect_eq(stats.lost, 0);
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.n, n);
  free(r.events);
  free(evs);
}

Test(sktrace_writer, a_source_that_can_wait_loses_nothing_on_a_full_queue) {
  /* A file being replayed: the same tiny queue, but write() waits. */
  const size_t n = 200000;
  st_event *evs = skt_many_events(n);
  st_sktrace_options opt = {.queue_events = 4, .wait_when_full = true};
  st_sktrace_stats stats;
  cr_assert_eq(skt_write(opt, path, evs, n, &stats), 0);
  cr_expect_eq(stats.lost, 0);
  cr_expect_eq(stats.events, n);
  skt_read_result r = skt_read(path);
  cr_assert_eq(r.problems, 0, "%s", r.all_problems);
  cr_assert_eq(r.n, n, "every event, no EventsLost record");
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(r.events[i].seq, evs[i].seq, "event %zu in order", i);
  free(r.events);
  free(evs);
}

Test(sktrace_writer, partial_block_is_flushed_when_old) {
  size_t n;
  st_event *evs = skt_demo_events(&n);
  st_sktrace_options opt = {.path = path, .flush_ms = 20};
  st_sink *s;
  cr_assert_eq(st_sink_sktrace_new(&opt, &s), 0);
  st_trace_info info = skt_info();
  cr_assert_eq(s->ops->begin(s, &info), 0);
  for (size_t i = 0; i < n; i++)
    s->ops->write(s, &evs[i]);
  usleep(300 * 1000);
  /* Still recording, but the events are on disk. */
  skt_read_result r = skt_read(path);
  cr_expect_eq(r.n, n);
  cr_expect_eq(r.problems, 0, "%s", r.all_problems);
  free(r.events);
  st_counters c = {0};
  cr_expect_eq(s->ops->flush(s), 0);
  cr_expect_eq(s->ops->end(s, &c), 0);
  s->ops->close(s);
  free(evs);
}
