/*
 * nats:// URLs, masking and subjects (no server needed), and the
 * publisher's outbox on its own: order, acknowledgements out of order,
 * resending after a failure, the byte bound.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "nats/nats_internal.h"

Test(nats_url, parses_servers_user_and_stream) {
  st_nats_url u;
  char err[256];
  cr_assert_eq(
      st_nats_url_parse("nats://bob:p%40ss@a.example:4333,b,[::1]:5000/FLEET", &u, err, sizeof err),
      0, "%s", err);
  cr_assert_eq(u.nservers, 3);
  cr_assert_str_eq(u.servers[0], "nats://a.example:4333");
  cr_assert_str_eq(u.servers[1], "nats://b:4222");
  cr_assert_str_eq(u.servers[2], "nats://[::1]:5000");
  cr_assert_str_eq(u.user, "bob");
  cr_assert_str_eq(u.password, "p@ss");
  cr_assert_str_eq(u.stream, "FLEET");
  cr_assert_not(u.tls);

  cr_assert_eq(st_nats_url_parse("tls://127.0.0.1", &u, err, sizeof err), 0);
  cr_assert(u.tls);
  cr_assert_str_eq(u.servers[0], "tls://127.0.0.1:4222");
  cr_assert_str_eq(u.stream, ST_NATS_DEFAULT_STREAM);
  cr_assert_eq(st_nats_url_parse("nats://tok3n@h/S/", &u, err, sizeof err), 0);
  cr_assert_str_eq(u.user, "tok3n");
  cr_assert_str_eq(u.password, "");
  cr_assert_str_eq(u.stream, "S");
}

Test(nats_url, rejects_bad_urls_without_showing_the_password) {
  st_nats_url u;
  char err[256];
  const char *bad[] = {"nats://",           "nats://h:0",   "nats://h:70000", "nats://h:x",
                       "nats://h/bad.name", "nats://h/a b", "http://h",       "nats://u:pw@/S",
                       "nats://[::1/S",     "nats://h,,k/S"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_eq(st_nats_url_parse(bad[i], &u, err, sizeof err), ST_EINVAL, "%s", bad[i]);
    cr_assert_gt(strlen(err), 10);
  }
  cr_assert_eq(st_nats_url_parse("nats://u:hunter2@h:1/x.y", &u, err, sizeof err), ST_EINVAL);
  cr_assert_null(strstr(err, "hunter2"), "%s", err);
  cr_assert_not_null(strstr(err, "u:***@h:1"), "%s", err);
}

Test(nats_url, masks_passwords_and_tokens) {
  char buf[256];
  st_nats_url_mask("nats://bob:secret@h:4222/S", buf, sizeof buf);
  cr_assert_str_eq(buf, "nats://bob:***@h:4222/S");
  st_nats_url_mask("nats://sometoken@h", buf, sizeof buf);
  cr_assert_str_eq(buf, "nats://***@h");
  st_nats_url_mask("nats://h:4222/S", buf, sizeof buf);
  cr_assert_str_eq(buf, "nats://h:4222/S");
  st_nats_url_mask("tls://a:b@c@h", buf, sizeof buf);
  cr_assert_str_eq(buf, "tls://a:***@h");
  cr_assert(st_nats_is_url("nats://x"));
  cr_assert(st_nats_is_url("tls://x"));
  cr_assert_not(st_nats_is_url("/tmp/nats://x"));
}

Test(nats_url, subjects) {
  char tok[64], subj[160];
  st_nats_host_token("web1.example.com", tok, sizeof tok);
  cr_assert_str_eq(tok, "web1_example_com");
  st_nats_host_token("a b*c>", tok, sizeof tok);
  cr_assert_str_eq(tok, "a_b_c_");
  st_nats_host_token("", tok, sizeof tok);
  cr_assert_str_eq(tok, "unknown");
  st_event ev;
  st_event_init(&ev, ST_PROVIDER_AFD, ST_EV_CONNECT_ADDR);
  ev.os = ST_OS_LINUX;
  st_nats_subject("web1", &ev, subj, sizeof subj);
  cr_assert_str_eq(subj, "socktrace.web1.linux.afd.1018");
  st_nats_header_subject("web1", subj, sizeof subj);
  cr_assert_str_eq(subj, "socktrace.web1.header");

  cr_assert(st_nats_pattern_covers("socktrace.>", "socktrace.web1"));
  cr_assert(st_nats_pattern_covers(">", "socktrace.web1"));
  cr_assert(st_nats_pattern_covers("socktrace.*.>", "socktrace.web1"));
  cr_assert(st_nats_pattern_covers("socktrace.web1.>", "socktrace.web1"));
  cr_assert(st_nats_pattern_covers("socktrace.>", "socktrace"));
  cr_assert_not(st_nats_pattern_covers("socktrace.web2.>", "socktrace.web1"));
  cr_assert_not(st_nats_pattern_covers("socktrace.*", "socktrace.web1"));
  cr_assert_not(st_nats_pattern_covers("socktrace.web1.*.afd.*", "socktrace.web1"));
  cr_assert_not(st_nats_pattern_covers("other.>", "socktrace"));
}

Test(nats_outbox, keeps_order_until_acknowledged_and_resends_after_a_failure) {
  st_outbox ob;
  st_ob_init(&ob, 1 << 20, 1);
  for (int i = 0; i < 3000; i++)
    cr_assert_eq(st_ob_push(&ob, "socktrace.h.linux.afd.1000", "{}", 2, true), 0);
  cr_assert_eq(ob.count, 3000);
  st_ob_msg *m;
  uint64_t expect = 1;
  while ((m = st_ob_next(&ob)) && ob.inflight < 100) {
    cr_assert_eq(m->pseq, expect++);
    st_ob_sent(&ob, m);
  }
  cr_assert_eq(ob.inflight, 100);
  /* Acknowledgements out of order: only the front is freed. */
  st_ob_acked(&ob, 2);
  cr_assert_eq(st_ob_pop_acked(&ob), 0);
  st_ob_acked(&ob, 1);
  cr_assert_eq(st_ob_pop_acked(&ob), 2);
  cr_assert_eq(ob.first_pseq, 3);
  st_ob_acked(&ob, 1); /* late and repeated: nothing */
  cr_assert_eq(ob.inflight, 98);
  /* A failure: everything sent is sent again, from the oldest. */
  st_ob_acked(&ob, 50);
  st_ob_rewind(&ob);
  cr_assert_eq(ob.inflight, 0);
  cr_assert_eq(st_ob_next(&ob)->pseq, 3);
  for (uint64_t want = 3; want < 60; want++) {
    m = st_ob_next(&ob);
    if (want == 50)
      want++; /* acknowledged: not sent again */
    cr_assert_eq(m->pseq, want);
    st_ob_sent(&ob, m);
  }
  st_ob_free(&ob);
}

Test(nats_outbox, is_bounded_in_bytes) {
  st_outbox ob;
  uint64_t one = st_ob_cost(strlen("s.x"), 100);
  st_ob_init(&ob, one * 10, 1);
  char data[100] = {0};
  int pushed = 0;
  while (st_ob_fits(&ob, one)) {
    cr_assert_eq(st_ob_push(&ob, "s.x", data, sizeof data, true), 0);
    pushed++;
  }
  cr_assert_eq(pushed, 10);
  cr_assert_eq(ob.events, 10);
  for (uint64_t p = 1; p <= 10; p++)
    st_ob_acked(&ob, p);
  cr_assert_eq(st_ob_pop_acked(&ob), 10);
  cr_assert_eq(ob.bytes, 0);
  st_ob_free(&ob);
}
