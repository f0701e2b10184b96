/*
 * Fleets as they are operated: a background session publishing to a
 * server that wants a password (never printed), TLS with a CA of the
 * test's own, and the rate a publisher keeps with zero loss (a generated
 * JSON Lines trace replayed into the stream; the figure goes to
 * build/nats-test/rate.txt and the README).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/testutil.h"
#include "nats/natsd.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"
#define REFUSER ST_BINARY_DIR "/nats-refuser"

static void setup(void) {
  natsd_tmpdir();
}

TestSuite(nats_ops, .init = setup, .fini = natsd_cleanup, .timeout = 300);

Test(nats_ops, session_publishes_and_never_shows_the_password) {
  ST_REQUIRE_ROOT();
  natsd_require();
  natsd d;
  natsd_init(&d, "n1");
  snprintf(d.extra, sizeof d.extra, "authorization { user: bob, password: s3cretpw }");
  snprintf(d.user, sizeof d.user, "bob");
  snprintf(d.password, sizeof d.password, "s3cretpw");
  cr_assert(natsd_start(&d));
  char ctl[300], args[1024], u[160];
  snprintf(ctl, sizeof ctl, "%s/ctl", d.dir);
  snprintf(u, sizeof u, "nats://bob:s3cretpw@127.0.0.1:%d/SESS", d.port);
  snprintf(args, sizeof args, "start fleet1 -o %s --host-name sess1 --control-dir %s", u, ctl);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  cr_assert_null(strstr(r.err, "s3cretpw"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "bob:***@"), "%s", r.err);
  st_cli_result_free(&r);
  if (system(REFUSER " 50 0") != 0)
    cr_assert_fail("the workload failed");
  sleep_ms(500);
  const char *queries[] = {"query fleet1", "query fleet1 -f json", "query"};
  for (int i = 0; i < 3; i++) {
    snprintf(args, sizeof args, "%s --control-dir %s", queries[i], ctl);
    r = st_test_cli(args);
    cr_assert_eq(r.code, 0, "%s", r.err);
    cr_assert_null(strstr(r.out, "s3cretpw"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "bob:***@"), "%s", r.out);
    st_cli_result_free(&r);
  }
  snprintf(args, sizeof args, "stop fleet1 --control-dir %s", ctl);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args, "%s --host sess1", u);
  stream_read back = stream_read_all(args);
  cr_assert_eq(back.code, 0);
  cr_assert_geq(back.events, 50 * 3, "the workload's connects are in the stream");
  stream_read_free(&back);
  /* Without the password: one line, and the server's word for it. */
  snprintf(args, sizeof args, "replay nats://bob:wrong@127.0.0.1:%d/SESS", d.port);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_assert_not_null(strcasestr(r.err, "authorization"), "%s", r.err);
  cr_assert_null(strstr(r.err, "wrong"), "%s", r.err);
  st_cli_result_free(&r);
  natsd_kill(&d);
}

static void sh(const char *dir, const char *cmd) {
  char full[2048];
  snprintf(full, sizeof full, "cd %s && %s >/dev/null 2>&1", dir, cmd);
  cr_assert_eq(system(full), 0, "%s", cmd);
}

Test(nats_ops, tls_with_a_ca_of_its_own) {
  natsd_require();
  if (access("/usr/bin/openssl", X_OK) != 0) {
    if (st_test_in_ci())
      cr_assert_fail("openssl not found under CI=true (tools/setup.sh installs it)");
    ST_SKIP("openssl not found; skipped");
  }
  natsd d;
  natsd_init(&d, "n1");
  mkdir(d.dir, 0700);
  sh(d.dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
            "-subj /CN=socktrace-test-ca");
  sh(d.dir, "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
            "-subj /CN=127.0.0.1");
  sh(d.dir, "printf 'subjectAltName=IP:127.0.0.1' > ext.cnf && openssl x509 -req -in server.csr "
            "-CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile ext.cnf");
  snprintf(d.extra, sizeof d.extra,
           "tls { cert_file: \"%s/server.pem\", key_file: \"%s/server.key\" }", d.dir, d.dir);
  snprintf(d.ca_file, sizeof d.ca_file, "%s/ca.pem", d.dir);
  cr_assert(natsd_start(&d), "the TLS server did not start (see %s)", d.dir);
  char args[1024];
  snprintf(args, sizeof args, "replay %s -o tls://127.0.0.1:%d/SEC --nats-tls-ca %s", DEMO, d.port,
           d.ca_file);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args, "tls://127.0.0.1:%d/SEC --nats-tls-ca %s", d.port, d.ca_file);
  stream_read back = stream_read_all(args);
  cr_assert_eq(back.events, 47);
  stream_read_free(&back);
  /* A server this host does not trust: one line. */
  snprintf(args, sizeof args, "replay tls://127.0.0.1:%d/SEC", d.port);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  st_cli_result_free(&r);

  /* The same server wanting a client certificate: refused without one,
   * taken with --nats-tls-cert and --nats-tls-key. */
  natsd_kill(&d);
  sh(d.dir, "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
            "-subj /CN=socktrace-host");
  sh(d.dir, "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
            "-out client.pem -days 1");
  snprintf(d.extra, sizeof d.extra,
           "tls { cert_file: \"%s/server.pem\", key_file: \"%s/server.key\", ca_file: "
           "\"%s/ca.pem\", verify: true }",
           d.dir, d.dir, d.dir);
  snprintf(d.cert_file, sizeof d.cert_file, "%s/client.pem", d.dir);
  snprintf(d.key_file, sizeof d.key_file, "%s/client.key", d.dir);
  cr_assert(natsd_start(&d), "the TLS server did not start again (see %s)", d.dir);
  snprintf(args, sizeof args, "replay tls://127.0.0.1:%d/SEC --nats-tls-ca %s", d.port, d.ca_file);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 1, "no client certificate: %s", r.err);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args,
           "tls://127.0.0.1:%d/SEC --nats-tls-ca %s --nats-tls-cert %s --nats-tls-key %s", d.port,
           d.ca_file, d.cert_file, d.key_file);
  back = stream_read_all(args);
  cr_assert_eq(back.code, 0);
  cr_assert_eq(back.events, 47, "the stream outlived the restart");
  stream_read_free(&back);
  /* A .creds file that cannot be used: one line, and nothing of it. */
  snprintf(args, sizeof args, "%s/bad.creds", d.dir);
  FILE *f = fopen(args, "w");
  cr_assert_not_null(f);
  fputs("-----BEGIN NATS USER JWT-----\nnot-a-jwt\n------END NATS USER JWT------\n", f);
  fclose(f);
  snprintf(args, sizeof args,
           "replay %s -o tls://127.0.0.1:%d/SEC --nats-tls-ca %s --nats-creds "
           "%s/bad.creds",
           DEMO, d.port, d.ca_file, d.dir);
  r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_assert_null(strstr(r.err, "not-a-jwt"), "%s", r.err);
  st_cli_result_free(&r);
  natsd_kill(&d);
}

/* EVENTS events of the demo, numbered on, into path. */
static void generate(const char *path, unsigned events) {
  char *demo = st_test_read_file(DEMO, NULL);
  cr_assert_not_null(demo);
  FILE *out = fopen(path, "w");
  cr_assert_not_null(out);
  char *lines[64];
  size_t n = 0;
  char *save = NULL;
  for (char *l = strtok_r(demo, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
    lines[n++] = l;
  fprintf(out, "%s\n", lines[0]); /* the header */
  for (unsigned i = 0; i < events; i++) {
    const char *l = lines[1 + i % (n - 1)], *seq = strstr(l, "\"seq\":");
    const char *after = seq ? strchr(seq, ',') : NULL;
    cr_assert_not_null(after);
    fprintf(out, "%.*s\"seq\":%u%s\n", (int)(seq - l), l, i + 1, after);
  }
  fclose(out);
  free(demo);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Publishes input into stream; events per second, zero loss asserted. */
static double publish_rate(natsd *d, const char *input, const char *stream, unsigned events) {
  char args[1024];
  snprintf(args, sizeof args, "replay %s -q -o nats://127.0.0.1:%d/%s --stats=json", input, d->port,
           stream);
  double t0 = now_s();
  st_cli_result r = st_test_cli(args);
  double t = now_s() - t0;
  cr_assert_eq(r.code, 0, "%s", r.err);
  pub_stats ps = pub_stats_parse(r.err);
  cr_assert_eq(ps.published, events, "%s", r.err);
  cr_assert_eq(ps.lost, 0, "%s", r.err);
  st_cli_result_free(&r);
  return events / t;
}

Test(nats_ops, rate_with_zero_loss) {
  natsd_require();
  natsd d;
  natsd_init(&d, "n1");
  cr_assert(natsd_start(&d));
  /* 50,000 keep the suite quick (about 8 s); the README's figure is of
   * ST_NATS_RATE_EVENTS=200000. */
  unsigned events =
      getenv("ST_NATS_RATE_EVENTS") ? (unsigned)atoi(getenv("ST_NATS_RATE_EVENTS")) : 50000;
  char jsonl[400], sk[400], args[1024];
  snprintf(jsonl, sizeof jsonl, "%s/rate.jsonl", d.dir);
  snprintf(sk, sizeof sk, "%s/rate.sktrace", d.dir);
  mkdir(d.dir, 0700);
  generate(jsonl, events);
  snprintf(args, sizeof args, "replay %s -q -o %s", jsonl, sk);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
  /* From JSON Lines (reading them is part of the time), then from a
   * .sktrace file (nearly all of the time is publishing), into one stream
   * (a server has one stream for socktrace.>). */
  double from_jsonl = publish_rate(&d, jsonl, "RATE", events);
  double from_sktrace = publish_rate(&d, sk, "RATE", events);
  snprintf(args, sizeof args, "nats://127.0.0.1:%d/RATE", d.port);
  stream_read back = stream_read_all(args);
  cr_assert_eq(back.events, 2 * (uint64_t)events, "every event is in the stream");
  cr_assert_eq(back.lost_records, 0);
  stream_read_free(&back);
  char dir[400], path[450];
  snprintf(dir, sizeof dir, "%s/nats-test", ST_BINARY_DIR);
  mkdir(dir, 0755);
  snprintf(path, sizeof path, "%s/rate.txt", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f,
            "events %u, one per message (JSON), file store, 1 replica, zero loss\n"
            "from .jsonl: %.0f events/s\nfrom .sktrace: %.0f events/s\n",
            events, from_jsonl, from_sktrace);
    fclose(f);
  }
  fprintf(stderr, "nats rate: %u events, %.0f events/s from .jsonl, %.0f from .sktrace\n", events,
          from_jsonl, from_sktrace);
  natsd_kill(&d);
}
