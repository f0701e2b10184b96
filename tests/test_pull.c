/* The session's pull loop for file sources (backend.h): it pulls in
 * batches and yields to the libuv loop between them, waits after
 * ST_NEXT_AGAIN (on the backend's fd, a wake-up from another thread, or a
 * retry timer), and ends on ST_NEXT_END or an error with what was pulled
 * delivered. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "socktrace/session.h"

typedef struct fake {
  st_backend base;
  st_event ev;
  uint64_t given, total;
  uint64_t again_at; /* answer ST_NEXT_AGAIN before this event (0: never) */
  uint64_t fail_at;  /* fail with ST_EIO instead of this event (0: never) */
  int fd;            /* -1, or a pipe: AGAIN until a byte is in it */
  bool use_ready;    /* AGAIN until another thread sets ready; else once */
  atomic_bool ready;
  bool waited;
  uint64_t *turn; /* the loop turn each event was pulled in */
  const uint64_t *now_turn;
} fake;

static int fake_next(st_backend *b, const st_event **out) {
  fake *f = (fake *)b;
  if (f->given == f->total)
    return ST_NEXT_END;
  if (f->fail_at && f->given + 1 == f->fail_at) {
    st_backend_set_error(b, "the recording went away");
    return ST_EIO;
  }
  if (f->again_at && f->given + 1 == f->again_at && !f->waited) {
    bool have;
    if (f->fd >= 0) {
      char c;
      have = read(f->fd, &c, 1) == 1;
    } else if (f->use_ready) {
      have = atomic_load(&f->ready);
    } else {
      have = atomic_exchange(&f->ready, true); /* data comes while it waits */
    }
    if (!have)
      return ST_NEXT_AGAIN;
    f->waited = true;
  }
  if (f->turn)
    f->turn[f->given] = *f->now_turn;
  st_event_init(&f->ev, ST_PROVIDER_AFD, ST_EV_CLOSE);
  f->ev.seq = ++f->given;
  *out = &f->ev;
  return ST_NEXT_EVENT;
}

static int fake_open(st_backend *b, st_session *s) {
  return 0;
}
static int fake_fd(st_backend *b) {
  return ((fake *)b)->fd;
}
static void fake_close(st_backend *b) {
  free(b);
}

static const st_backend_ops fake_ops = {.name = "fake-file",
                                        .kind = ST_SOURCE_FILE,
                                        .open = fake_open,
                                        .start = st_backend_nop,
                                        .stop = st_backend_nop,
                                        .close = fake_close,
                                        .fd = fake_fd,
                                        .next = fake_next};

typedef struct run {
  uv_loop_t loop;
  st_session *s;
  st_collect col;
  fake *f;
  uv_check_t check;
  uint64_t turns;
} run;

static void on_check(uv_check_t *h) {
  run *r = h->data;
  r->turns++;
  if (st_session_status(r->s) || r->col.ended)
    uv_close((uv_handle_t *)h, NULL);
}

static void setup(run *r, uint64_t total) {
  memset(r, 0, sizeof *r);
  uv_loop_init(&r->loop);
  st_session_config cfg = {.level = 5};
  cr_assert_eq(st_session_new(&r->loop, &cfg, &r->s), 0);
  r->f = calloc(1, sizeof *r->f);
  r->f->base.ops = &fake_ops;
  r->f->total = total;
  r->f->fd = -1;
  r->f->now_turn = &r->turns;
  st_session_set_backend(r->s, &r->f->base);
  st_sink *c;
  st_sink_collect_new(&r->col, &c);
  st_session_add_sink(r->s, c);
  uv_check_init(&r->loop, &r->check);
  r->check.data = r;
  uv_check_start(&r->check, on_check);
}

static void finish(run *r) {
  st_session_free(r->s);
  cr_expect_eq(uv_loop_close(&r->loop), 0, "every handle closed");
  st_collect_free(&r->col);
}

static void expect_all_in_order(run *r, uint64_t n) {
  cr_assert_eq(r->col.count, n);
  for (uint64_t i = 0; i < n; i++)
    cr_assert_eq(r->col.events[i].seq, i + 1);
}

Test(pull, batches_and_yields_to_the_loop) {
  run r;
  setup(&r, 10000);
  uint64_t *turn = calloc(10000, sizeof *turn);
  r.f->turn = turn;
  cr_assert_eq(st_session_start(r.s), 0);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(r.s), 0);
  expect_all_in_order(&r, 10000);
  cr_expect(r.col.ended);
  /* Several loop turns, each pulling at most one batch. */
  cr_expect_eq(turn[0], 0);
  cr_expect_gt(turn[9999], 1, "10000 events took more than one turn");
  uint64_t in_turn = 0, max = 0;
  for (size_t i = 0; i < 10000; i++) {
    in_turn = i && turn[i] == turn[i - 1] ? in_turn + 1 : 1;
    max = in_turn > max ? in_turn : max;
  }
  cr_expect_leq(max, 4096, "a turn pulls one batch at most");
  cr_expect_geq(max, 1000, "but a batch is more than a few events");
  free(turn);
  finish(&r);
}

Test(pull, again_without_fd_retries_on_a_timer) {
  run r;
  setup(&r, 5);
  r.f->again_at = 3; /* data comes while it waits, and nobody says so */
  uv_update_time(&r.loop);
  uint64_t t0 = uv_now(&r.loop);
  cr_assert_eq(st_session_start(r.s), 0);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(r.s), 0, "%s", st_session_error(r.s));
  expect_all_in_order(&r, 5);
  cr_expect_geq(uv_now(&r.loop) - t0, ST_PULL_RETRY_MS, "it waited for the retry");
  finish(&r);
}

static void wake_later(void *arg) {
  run *r = arg;
  usleep(20000);
  atomic_store(&r->f->ready, true);
  st_session_wake(r->s);
}

Test(pull, again_then_wake_from_another_thread) {
  run r;
  setup(&r, 5);
  r.f->again_at = 2;
  r.f->use_ready = true;
  cr_assert_eq(st_session_start(r.s), 0);
  uv_thread_t th;
  uv_thread_create(&th, wake_later, &r);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_thread_join(&th);
  cr_expect_eq(st_session_status(r.s), 0);
  expect_all_in_order(&r, 5);
  finish(&r);
}

static void write_later(void *arg) {
  int *fd = arg;
  usleep(20000);
  cr_assert_eq(write(*fd, "x", 1), 1);
}

Test(pull, again_waits_for_the_backend_fd) {
  run r;
  setup(&r, 5);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  r.f->fd = p[0];
  r.f->again_at = 4;
  cr_assert_eq(st_session_start(r.s), 0);
  uv_thread_t th;
  uv_thread_create(&th, write_later, &p[1]);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_thread_join(&th);
  cr_expect_eq(st_session_status(r.s), 0);
  expect_all_in_order(&r, 5);
  finish(&r);
  close(p[0]);
  close(p[1]);
}

Test(pull, error_ends_the_session_keeping_what_was_pulled) {
  run r;
  setup(&r, 100);
  r.f->fail_at = 6;
  cr_assert_eq(st_session_start(r.s), 0);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(r.s), ST_EIO);
  cr_expect_str_eq(st_session_error(r.s), "the recording went away");
  expect_all_in_order(&r, 5);
  cr_expect(r.col.ended, "the sinks were ended");
  finish(&r);
}

static void stop_soon(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, NULL);
  st_session_stop(t->data);
}

Test(pull, stop_while_waiting_closes_everything) {
  run r;
  setup(&r, 5);
  r.f->again_at = 2;
  r.f->use_ready = true; /* never ready */
  cr_assert_eq(st_session_start(r.s), 0);
  uv_timer_t t;
  uv_timer_init(&r.loop, &t);
  t.data = r.s;
  uv_timer_start(&t, stop_soon, 30, 0);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  cr_expect_eq(st_session_status(r.s), 0);
  expect_all_in_order(&r, 1);
  finish(&r);
}
