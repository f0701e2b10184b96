/*
 * Fleets through real NATS servers (Debian's nats-server with JetStream,
 * on loopback ports of their own, in a temporary directory): what is
 * published reads back the same as a file; hosts are merged and told
 * apart; a server killed and restarted loses nothing the buffer holds and
 * counts exactly what it does not; a cluster loses a node and nothing
 * else. Live traces need root (under CI=true they must run).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testutil.h"
#include "nats/natsd.h"

#define DEMO ST_SOURCE_DIR "/tests/fixtures/demo.jsonl"
#define REFUSER ST_BINARY_DIR "/nats-refuser"

static void setup(void) {
  natsd_tmpdir();
}

TestSuite(nats, .init = setup, .fini = natsd_cleanup, .timeout = 240);

static char *url(const natsd *d, const char *stream) {
  static char buf[4][128];
  static int n;
  char *u = buf[n++ % 4];
  snprintf(u, sizeof buf[0], "nats://127.0.0.1:%d/%s", d->port, stream);
  return u;
}

/* The event lines of a JSON Lines text (its header dropped). */
static size_t event_lines(char *text, char ***out) {
  size_t n = 0;
  char *save = NULL, **lines = NULL;
  bool header = true;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    if (header && strstr(l, "\"socktrace\":")) {
      header = false;
      continue;
    }
    lines = realloc(lines, (n + 1) * sizeof *lines);
    lines[n++] = l;
  }
  *out = lines;
  return n;
}

/* One server, running (the test skips or fails without nats-server). */
static natsd one_server(void) {
  natsd_require();
  natsd d;
  natsd_init(&d, "n1");
  cr_assert(natsd_start(&d), "nats-server did not start (see %s)", d.dir);
  return d;
}

/* The demo trace replayed into stream as published by host. */
static void publish_demo(natsd *d, const char *stream, const char *host) {
  char args[512];
  snprintf(args, sizeof args, "replay %s -o %s --host-name %s", DEMO, url(d, stream), host);
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  st_cli_result_free(&r);
}

static void assert_same_events(const stream_read *r, const char *jsonl_text, const char *what) {
  char *copy = strdup(jsonl_text), **lines;
  size_t n = event_lines(copy, &lines);
  cr_assert_eq(r->nlines, n, "%s: %zu events in the stream, %zu in the file", what, r->nlines, n);
  for (size_t i = 0; i < n; i++)
    cr_assert_str_eq(r->lines[i], lines[i], "%s: event %zu differs", what, i);
  free(lines);
  free(copy);
}

Test(nats, live_trace_reads_back_as_its_file) {
  ST_REQUIRE_ROOT();
  natsd d = one_server();
  /* One live trace: the events published, and the same written as JSON
   * Lines (-f with a stream output also writes standard output). */
  char args[512];
  snprintf(args, sizeof args, "demo -f jsonl -o %s --host-name live1", url(&d, "LIVE"));
  st_cli_result live = st_test_cli(args);
  cr_assert_eq(live.code, 0, "%s", live.err);
  char file[300];
  snprintf(file, sizeof file, "%s/live.jsonl", d.dir);
  FILE *f = fopen(file, "w");
  fputs(live.out, f);
  fclose(f);

  char what[400];
  snprintf(what, sizeof what, "%s --host live1", url(&d, "LIVE"));
  stream_read r = stream_read_all(what);
  cr_assert_eq(r.code, 0);
  cr_assert_gt(r.events, 10, "the demo makes more than 10 events");
  assert_same_events(&r, live.out, "the live trace's own output");
  /* And the file read back by replay. */
  snprintf(args, sizeof args, "replay %s -f jsonl", file);
  st_cli_result back = st_test_cli(args);
  assert_same_events(&r, back.out, "the file replayed");
  bool refused = false;
  for (size_t i = 0; i < r.nlines; i++)
    refused |= strstr(r.lines[i], "\"status\":\"refused\"") != NULL;
  cr_assert(refused, "the demo's refused connect is in the stream");
  stream_read_free(&r);
  st_cli_result_free(&live);
  st_cli_result_free(&back);
  natsd_kill(&d);
}

Test(nats, two_hosts_merged_and_told_apart) {
  natsd d = one_server();
  char args[512];
  const char *hosts[] = {"alpha", "beta.example.com"};
  for (int i = 0; i < 2; i++)
    publish_demo(&d, "FLEET", hosts[i]);
  st_cli_result file = st_test_cli("replay " DEMO " -f jsonl");
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args, "%s --host %s", url(&d, "FLEET"), hosts[i]);
    stream_read r = stream_read_all(args);
    assert_same_events(&r, file.out, hosts[i]);
    stream_read_free(&r);
  }
  stream_read all = stream_read_all(url(&d, "FLEET"));
  cr_assert_eq(all.events, 2 * 47, "merged: both hosts' events");
  stream_read_free(&all);
  snprintf(args, sizeof args, "%s --host alpha --host beta.example.com", url(&d, "FLEET"));
  stream_read both = stream_read_all(args);
  cr_assert_eq(both.events, 2 * 47);
  stream_read_free(&both);

  /* report and --summary on a fleet: the usual tables, and one by host. */
  snprintf(args, sizeof args, "report %s --summary", url(&d, "FLEET"));
  st_cli_result rep = st_test_cli(args);
  cr_assert_eq(rep.code, 0, "%s", rep.err);
  cr_assert_not_null(strstr(rep.out, "94 events seen"), "%s", rep.out);
  cr_assert_not_null(strstr(rep.out, "By host"), "%s", rep.out);
  cr_assert_not_null(strstr(rep.out, "  alpha "), "%s", rep.out);
  cr_assert_not_null(strstr(rep.out, "  beta.example.com "), "the header's name: %s", rep.out);
  cr_assert_not_null(strstr(rep.out, "Failing processes by host"), "%s", rep.out);
  cr_assert_not_null(strstr(rep.out, "  alpha                    curl "), "%s", rep.out);
  st_cli_result_free(&rep);
  snprintf(args, sizeof args, "replay %s --host alpha --summary -q", url(&d, "FLEET"));
  rep = st_test_cli(args);
  cr_assert_not_null(strstr(rep.out, "47 events seen"), "%s", rep.out);
  cr_assert_null(strstr(rep.out, "beta"), "%s", rep.out);
  st_cli_result_free(&rep);
  /* --since-seq: the second host's part only (header + 47 events each). */
  snprintf(args, sizeof args, "%s --since-seq 49", url(&d, "FLEET"));
  stream_read tail = stream_read_all(args);
  cr_assert_eq(tail.events, 47);
  stream_read_free(&tail);
  snprintf(args, sizeof args, "%s --since 1h", url(&d, "FLEET"));
  stream_read recent = stream_read_all(args);
  cr_assert_eq(recent.events, 94);
  stream_read_free(&recent);
  /* diff on a fleet: one host against the file it published, two hosts of
   * one stream (the same workload), and a host against the merged stream. */
  snprintf(args, sizeof args, "diff '%s?host=alpha' " DEMO, url(&d, "FLEET"));
  rep = st_test_cli(args);
  cr_assert_eq(rep.code, 0, "%s%s", rep.out, rep.err);
  st_cli_result_free(&rep);
  snprintf(args, sizeof args, "diff '%s?host=alpha&since-seq=1' '%s?host=beta.example.com'",
           url(&d, "FLEET"), url(&d, "FLEET"));
  rep = st_test_cli(args);
  cr_assert_eq(rep.code, 0, "%s%s", rep.out, rep.err);
  st_cli_result_free(&rep);
  snprintf(args, sizeof args, "diff '%s?host=alpha' %s", url(&d, "FLEET"), url(&d, "FLEET"));
  rep = st_test_cli(args);
  cr_assert_eq(rep.code, 1, "twice the connections merged: %s%s", rep.out, rep.err);
  st_cli_result_free(&rep);
  snprintf(args, sizeof args, "diff '%s?hots=alpha' " DEMO, url(&d, "FLEET"));
  rep = st_test_cli(args);
  cr_assert_eq(rep.code, 2, "%s", rep.err);
  cr_assert_eq(st_test_lines(rep.err), 1, "%s", rep.err);
  st_cli_result_free(&rep);
  st_cli_result_free(&file);
  natsd_kill(&d);
}

/* A live trace of the paced workload published while the server is
 * killed and started again after outage_ms. */
static pub_stats publish_through_restart(natsd *d, const char *extra, int outage_ms,
                                         stream_read *back) {
  bg pub;
  bg_start(&pub, "run -q -o %s --stats=json %s -- %s 3000 1000", url(d, "R"), extra, REFUSER);
  /* Mid-stream: once the trace is well under way. */
  cr_assert(natsd_wait_msgs(d, "R", 2000, 60000), "the publisher got going");
  natsd_kill(d);
  sleep_ms(outage_ms);
  cr_assert(natsd_start(d), "the server came back");
  int code = bg_wait(&pub, 120000);
  char *err = st_test_read_file(pub.err, NULL);
  pub_stats ps = pub_stats_parse(err);
  cr_assert(ps.found, "--stats=json has the nats counts: %s", err);
  cr_assert_eq(code, 0, "publisher: %s", err);
  free(err);
  *back = stream_read_all(url(d, "R"));
  return ps;
}

Test(nats, restart_within_the_buffer_loses_nothing) {
  ST_REQUIRE_ROOT();
  natsd d = one_server();
  stream_read r;
  pub_stats ps = publish_through_restart(&d, "", 1500, &r);
  cr_assert_gt(ps.seen, 3000 * 3, "the workload was traced");
  cr_assert_eq(ps.lost, 0);
  cr_assert_eq(r.lost_records, 0, "no EventsLost in the stream");
  cr_assert_eq(r.events, ps.seen, "every event seen is in the stream once (%llu of %llu)",
               (unsigned long long)r.events, (unsigned long long)ps.seen);
  stream_read_free(&r);
  natsd_kill(&d);
}

Test(nats, restart_beyond_the_buffer_counts_exactly_what_was_lost) {
  ST_REQUIRE_ROOT();
  natsd d = one_server();
  stream_read r;
  pub_stats ps = publish_through_restart(&d, "--nats-buffer 64K", 2500, &r);
  cr_assert_gt(ps.lost, 0, "a 64 KiB buffer cannot hold 2.5 s of events");
  cr_assert_gt(r.lost_records, 0, "the loss is in the stream");
  cr_assert_eq(r.lost_count, ps.lost, "the EventsLost records say what the publisher lost");
  cr_assert_eq(r.events + r.lost_count, ps.seen,
               "every event is in the stream or counted as lost: %llu + %llu != %llu",
               (unsigned long long)r.events, (unsigned long long)r.lost_count,
               (unsigned long long)ps.seen);
  stream_read_free(&r);
  natsd_kill(&d);
}

Test(nats, cluster_loses_a_node_and_nothing_else) {
  ST_REQUIRE_ROOT();
  natsd_require();
  natsd n[3];
  cr_assert(natsd_cluster(n), "the 3-node cluster did not form (see %s)", n[0].dir);
  char servers[256];
  snprintf(servers, sizeof servers, "nats://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/C", n[0].port,
           n[1].port, n[2].port);
  bg pub;
  bg_start(&pub, "run -q -o %s --nats-replicas 3 --stats=json -- %s 3000 1000", servers, REFUSER);
  if (!natsd_wait_msgs(&n[0], "C", 2000, 60000)) {
    char *perr = st_test_read_file(pub.err, NULL);
    cr_assert_fail("the publisher did not get going: %llu messages in C after 60 s; its "
                   "stderr: %s",
                   (unsigned long long)natsd_stream_msgs(&n[0], "C"), perr ? perr : "(none)");
  }
  natsd_kill(&n[0]); /* the server the publisher is connected to (the URL's first) */
  int code = bg_wait(&pub, 120000);
  char *err = st_test_read_file(pub.err, NULL);
  pub_stats ps = pub_stats_parse(err);
  cr_assert_eq(code, 0, "publisher: %s", err);
  free(err);
  /* Read back once the node is back and has caught up: right after a
   * node's loss, nats-server 2.9 may place a new reader's (ephemeral)
   * consumer on the dead node, and its creation times out (1 run in 9
   * here). A consumer on a replica still catching up says nothing is
   * pending before the end; replay reads to the stream's last message of
   * ours all the same (nats_reader.c). Publishing went on without the
   * node; what is checked is that the stream has every event and that all
   * of them read back. */
  cr_assert(natsd_start(&n[0]), "the killed node came back");
  cr_assert(natsd_wait_current(&n[2], "C", 30000), "the replicas caught up");
  stream_read r = stream_read_all(url(&n[2], "C"));
  cr_assert_gt(ps.seen, 3000 * 3);
  cr_assert_eq(ps.lost, 0);
  cr_assert_eq(r.lost_records, 0);
  /* The stream's own count first (the events and the publisher's
   * header), so that a loss is told apart from a short read-back. */
  uint64_t msgs = natsd_stream_msgs(&n[2], "C");
  cr_assert_eq(msgs, ps.seen + 1, "%llu messages in the stream for %llu events published",
               (unsigned long long)msgs, (unsigned long long)ps.seen);
  cr_assert_eq(r.events, ps.seen, "%llu of %llu events read back", (unsigned long long)r.events,
               (unsigned long long)ps.seen);
  stream_read_free(&r);
  for (int i = 0; i < 3; i++)
    natsd_kill(&n[i]);
}

Test(nats, server_down_at_start) {
  natsd_require();
  natsd d;
  natsd_init(&d, "n1");
  char args[512];
  snprintf(args, sizeof args, "replay %s -o %s", DEMO, url(&d, "LATE"));
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "one line: %s", r.err);
  cr_assert_not_null(strstr(r.err, "no server answered"), "%s", r.err);
  st_cli_result_free(&r);
  /* --nats-retry: tracing starts, and the events go when a server comes. */
  bg pub;
  bg_start(&pub, "replay %s -o %s --nats-retry --stats=json", DEMO, url(&d, "LATE"));
  sleep_ms(1000);
  cr_assert(natsd_start(&d));
  int code = bg_wait(&pub, 30000);
  char *err = st_test_read_file(pub.err, NULL);
  cr_assert_eq(code, 0, "%s", err);
  free(err);
  stream_read back = stream_read_all(url(&d, "LATE"));
  cr_assert_eq(back.events, 47);
  stream_read_free(&back);
  natsd_kill(&d);
}

Test(nats, collect_follows_and_tables_by_host) {
  natsd d = one_server();
  publish_demo(&d, "LIVE", "before"); /* the stream exists before collect starts */
  bg col;
  char out[300];
  snprintf(out, sizeof out, "%s/collected.jsonl", d.dir);
  bg_start(&col, "collect %s -f jsonl -o %s", url(&d, "LIVE"), out);
  sleep_ms(1500);
  publish_demo(&d, "LIVE", "web1");
  publish_demo(&d, "LIVE", "web2");
  sleep_ms(1500);
  bg_signal(&col, SIGINT);
  cr_assert_eq(bg_wait(&col, 20000), 0);
  char *table = st_test_read_file(col.out, NULL), *events = st_test_read_file(out, NULL);
  cr_assert_eq(st_test_lines(events), 1 + 2 * 47, "only what came after the start: %s", table);
  cr_assert_not_null(strstr(table, "By host"), "%s", table);
  cr_assert_not_null(strstr(table, "  web1 "), "%s", table);
  cr_assert_not_null(strstr(table, "  web2 "), "%s", table);
  cr_assert_null(strstr(table, "before"), "%s", table);
  free(table);
  free(events);
  natsd_kill(&d);
}

Test(nats, errors_are_one_line) {
  natsd_require();
  natsd d, nojs;
  natsd_init(&d, "n1");
  natsd_init(&nojs, "n2");
  nojs.jetstream = false;
  cr_assert(natsd_start(&d));
  cr_assert(natsd_start(&nojs));
  struct {
    const char *args;
    const char *says;
  } cases[] = {
      {"replay nats://127.0.0.1:0/S", "bad server"},
      {"replay nats://u:hunter2@127.0.0.1:1/bad.name", "bad stream name"},
      {"trace -o nats://127.0.0.1:x/S", "bad server"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    st_cli_result r = st_test_cli(cases[i].args);
    cr_assert_eq(r.code, 1, "%s", cases[i].args);
    cr_assert_eq(st_test_lines(r.err), 1, "%s: %s", cases[i].args, r.err);
    cr_assert_not_null(strstr(r.err, cases[i].says), "%s: %s", cases[i].args, r.err);
    cr_assert_null(strstr(r.err, "hunter2"), "%s", r.err);
    st_cli_result_free(&r);
  }
  char args[512];
  snprintf(args, sizeof args, "replay %s", url(&d, "MISSING"));
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_eq(st_test_lines(r.err), 1, "%s", r.err);
  cr_assert_not_null(strstr(r.err, "stream MISSING does not exist"), "%s", r.err);
  st_cli_result_free(&r);
  snprintf(args, sizeof args, "replay %s -o %s", DEMO, url(&nojs, "S"));
  r = st_test_cli(args);
  cr_assert_eq(r.code, 1);
  cr_assert_not_null(strstr(r.err, "JetStream is not enabled"), "%s", r.err);
  st_cli_result_free(&r);
  r = st_test_cli("replay " DEMO " --host web1");
  cr_assert_eq(r.code, 2, "a host name only selects a stream's publisher");
  st_cli_result_free(&r);
  natsd_kill(&d);
  natsd_kill(&nojs);
}

/* top on a fleet's stream: grouped by host, each host's rows are its own
 * (the demo's 3 connects, 1 refused, 2 accepts each), summed over the
 * intervals the stream's events arrived in. */
Test(nats, top_groups_a_fleet_by_host) {
  natsd d = one_server();
  const char *hosts[] = {"web1", "web2"};
  for (int i = 0; i < 2; i++)
    publish_demo(&d, "TOP", hosts[i]);
  cr_assert(natsd_wait_msgs(&d, "TOP", 2 * 47, 10000));
  char args[512];
  snprintf(args, sizeof args, "top %s --since 1h -b -f jsonl -g host -d 0.5 -n 4", url(&d, "TOP"));
  st_cli_result r = st_test_cli(args);
  cr_assert_eq(r.code, 0, "%s", r.err);
  long connects[2] = {0}, refused[2] = {0}, accepts[2] = {0};
  for (char *l = strtok(r.out, "\n"); l; l = strtok(NULL, "\n")) {
    json_t *o = json_loads(l, 0, NULL);
    cr_assert_not_null(o, "%s", l);
    const char *h = json_string_value(json_object_get(o, "host"));
    cr_assert_not_null(h, "%s", l);
    int i = strcmp(h, "web1") == 0 ? 0 : strcmp(h, "web2") == 0 ? 1 : -1;
    cr_assert_geq(i, 0, "a host of its own: %s", l);
    connects[i] += (long)json_integer_value(json_object_get(o, "connects"));
    refused[i] +=
        (long)json_integer_value(json_object_get(json_object_get(o, "failed"), "refused"));
    accepts[i] += (long)json_integer_value(json_object_get(o, "accepts"));
    json_decref(o);
  }
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(connects[i], 3, "%s: %s", hosts[i], r.out);
    cr_assert_eq(refused[i], 1, "%s", hosts[i]);
    cr_assert_eq(accepts[i], 2, "%s", hosts[i]);
  }
  st_cli_result_free(&r);
}
