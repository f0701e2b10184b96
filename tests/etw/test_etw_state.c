/* The ETW backend's PID table and endpoint identities: a create teaches
 * Process -> pid, later events written in other contexts still get the
 * owner, sockets from before the session are marked, reused endpoint
 * addresses get new ids. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "etw/etw_decode.h"
#include "etw/etw_state.h"
#include "etw_fixture.h"

static int lookups;

static int fake_names(uint32_t pid, char *name, size_t len, void *arg) {
  (void)arg;
  lookups++;
  if (pid == 4242)
    snprintf(name, len, "curl.exe");
  else if (pid == 55)
    snprintf(name, len, "a-very-long-process-name.exe");
  else if (pid == 4)
    snprintf(name, len, "System");
  else
    return -1;
  return 0;
}

/* Decodes one record as if written by header pid/tid, then applies st. */
static st_event run(st_etw_state *st, st_etw_record r, const fx *f, uint32_t pid, uint32_t tid) {
  r.pid = pid;
  r.tid = tid;
  st_etw_info info;
  st_event ev;
  cr_assert_eq(st_etw_decode(&r, f->b, f->n, &ev, &info), 0, "%s", ev.detail);
  st_etw_state_apply(st, &info, &ev);
  return ev;
}

static fx create(uint64_t process, uint64_t endpoint, uint32_t pid) {
  fx f;
  fx_create(&f, 8, process, endpoint, pid);
  return f;
}

static fx connect_exit(uint64_t process, uint64_t endpoint) {
  static const uint8_t ip[4] = {127, 0, 0, 1};
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 2, process, endpoint);
  fx_ptr(&f, 0);
  fx_u32(&f, 0);
  fx_u32(&f, 0);
  fx_sockaddr_in(&f, ip, 80);
  return f;
}

static fx status_event(uint32_t ee, uint64_t process, uint64_t endpoint) {
  fx f;
  fx_init(&f, 8);
  fx_base(&f, ee, 3, process, endpoint);
  fx_u32(&f, 0);
  return f;
}

static fx send_event(uint32_t ee, uint64_t process, uint64_t endpoint) {
  fx f;
  fx_init(&f, 8);
  fx_base(&f, ee, 4, process, endpoint);
  fx_u32(&f, 1);
  fx_ptr(&f, 0x1000);
  fx_u32(&f, 100);
  fx_u32(&f, 0);
  return f;
}

Test(etw_state, create_connect_close_resolve_the_owner) {
  lookups = 0;
  st_etw_state *st = st_etw_state_new(fake_names, NULL);
  cr_assert_not_null(st);
  /* The create runs in the owner's thread; the connect completes in the
   * System process (pid 4); the close comes from another context too. */
  fx f = create(FX_PROCESS, FX_ENDPOINT, 4242);
  st_event c = run(st, fx_afd(1000, 8), &f, 4242, 17);
  f = connect_exit(FX_PROCESS, FX_ENDPOINT);
  st_event k = run(st, fx_afd(1018, 8), &f, 4, 9);
  f = status_event(1, FX_PROCESS, FX_ENDPOINT);
  st_event x = run(st, fx_afd(1001, 8), &f, 0, 0);
  const st_event *all[3] = {&c, &k, &x};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(all[i]->pid, 4242, "event %d has the owner's pid", i);
    cr_assert_str_eq(all[i]->comm, "curl.exe");
    cr_assert_eq(all[i]->flags & (ST_FLAG_PID_GUESSED | ST_FLAG_PREEXISTING), 0);
    cr_assert_eq(all[i]->endpoint, FX_ENDPOINT);
  }
  cr_assert_eq(c.tid, 17);
  cr_assert_eq(k.tid, 0, "the header's thread is not the owner's");
  cr_assert_eq(lookups, 1, "one name lookup per process");
  cr_assert_eq(st_etw_state_processes(st), 1);
  cr_assert_eq(st_etw_state_endpoints(st), 1);
  st_etw_state_free(st);
}

Test(etw_state, preexisting_socket_gets_header_pid_guessed) {
  st_etw_state *st = st_etw_state_new(fake_names, NULL);
  fx f = send_event(1, FX_PROCESS, FX_ENDPOINT);
  st_event ev = run(st, fx_afd(1003, 8), &f, 4, 3);
  cr_assert_eq(ev.pid, 4);
  cr_assert(ev.flags & ST_FLAG_PID_GUESSED);
  cr_assert(ev.flags & ST_FLAG_PREEXISTING);
  cr_assert_str_eq(ev.comm, "System");
  st_etw_state_free(st);
}

Test(etw_state, request_enter_teaches_the_owner) {
  /* A UDP socket with no visible create: its first send's enter runs in
   * the caller's thread, so later completions elsewhere get that pid. */
  st_etw_state *st = st_etw_state_new(fake_names, NULL);
  fx f = send_event(0, FX_PROCESS, FX_ENDPOINT);
  st_event a = run(st, fx_afd(1005, 8), &f, 55, 56);
  f = send_event(1, FX_PROCESS, FX_ENDPOINT);
  st_event b = run(st, fx_afd(1005, 8), &f, 4, 1);
  cr_assert_eq(a.pid, 55);
  cr_assert_eq(b.pid, 55);
  cr_assert_eq(a.tid, 56);
  cr_assert_not(a.flags & ST_FLAG_PID_GUESSED);
  cr_assert_not(b.flags & ST_FLAG_PID_GUESSED);
  cr_assert(a.flags & ST_FLAG_PREEXISTING, "no create was seen");
  cr_assert_str_eq(a.comm, "a-very-long-pro", "comm is cut to ST_COMM_MAX - 1");
  st_etw_state_free(st);
}

Test(etw_state, reused_endpoint_address_gets_a_new_id) {
  st_etw_state *st = st_etw_state_new(NULL, NULL);
  fx f = create(FX_PROCESS, FX_ENDPOINT, 4242);
  st_event c1 = run(st, fx_afd(1000, 8), &f, 4242, 1);
  f = status_event(1, FX_PROCESS, FX_ENDPOINT);
  st_event x1 = run(st, fx_afd(1001, 8), &f, 4242, 1);
  f = create(FX_PROCESS + 0x1000, FX_ENDPOINT, 777);
  st_event c2 = run(st, fx_afd(1000, 8), &f, 777, 1);
  f = send_event(1, FX_PROCESS + 0x1000, FX_ENDPOINT);
  st_event s2 = run(st, fx_afd(1003, 8), &f, 4, 1);
  cr_assert_eq(c1.endpoint, x1.endpoint);
  cr_assert_neq(c2.endpoint, c1.endpoint, "a new life, a new id");
  cr_assert_eq(s2.endpoint, c2.endpoint);
  cr_assert_eq(s2.pid, 777);
  cr_assert_not(c2.flags & ST_FLAG_PREEXISTING);
  cr_assert_eq(c2.comm[0], 0, "no resolver: no names");
  st_etw_state_free(st);
}

Test(etw_state, process_address_reused_by_a_new_process) {
  st_etw_state *st = st_etw_state_new(fake_names, NULL);
  fx f = create(FX_PROCESS, FX_ENDPOINT, 4242);
  run(st, fx_afd(1000, 8), &f, 4242, 1);
  f = create(FX_PROCESS, FX_ENDPOINT + 0x100, 55);
  st_event ev = run(st, fx_afd(1000, 8), &f, 55, 1);
  cr_assert_eq(ev.pid, 55);
  f = status_event(1, FX_PROCESS, FX_ENDPOINT + 0x100);
  ev = run(st, fx_afd(1001, 8), &f, 4, 1);
  cr_assert_eq(ev.pid, 55);
  cr_assert_str_eq(ev.comm, "a-very-long-pro");
  st_etw_state_free(st);
}

Test(etw_state, accepted_endpoint_is_mapped_and_not_preexisting) {
  static const uint8_t ip[4] = {10, 1, 1, 1};
  st_etw_state *st = st_etw_state_new(NULL, NULL);
  fx f;
  fx_init(&f, 8);
  fx_base(&f, 1, 5, FX_PROCESS, FX_ENDPOINT);
  fx_ptr(&f, 0);
  fx_u32(&f, 0);
  fx_u32(&f, 0);
  fx_sockaddr_in(&f, ip, 1234);
  fx_ptr(&f, FX_ENDPOINT + 0x40);
  fx_u32(&f, 0);
  st_event acc = run(st, fx_afd(1024, 8), &f, 4242, 1);
  cr_assert_eq(acc.accept_endpoint, FX_ENDPOINT + 0x40);
  f = send_event(1, FX_PROCESS, FX_ENDPOINT + 0x40);
  st_event s = run(st, fx_afd(1004, 8), &f, 4242, 1);
  cr_assert_eq(s.endpoint, acc.accept_endpoint);
  cr_assert_not(s.flags & ST_FLAG_PREEXISTING);
  st_etw_state_free(st);
}

Test(etw_state, many_sockets_grow_the_tables) {
  st_etw_state *st = st_etw_state_new(NULL, NULL);
  for (uint64_t i = 1; i <= 5000; i++) {
    fx f = create(FX_PROCESS + (i % 7) * 0x100, FX_ENDPOINT + i * 0x10, (uint32_t)(1000 + i % 7));
    st_event ev = run(st, fx_afd(1000, 8), &f, 4, 1);
    cr_assert_eq(ev.pid, 1000 + i % 7);
  }
  cr_assert_eq(st_etw_state_endpoints(st), 5000);
  cr_assert_eq(st_etw_state_processes(st), 7);
  for (uint64_t i = 1; i <= 5000; i += 97) {
    fx f = status_event(1, 0, FX_ENDPOINT + i * 0x10);
    st_event ev = run(st, fx_afd(1001, 8), &f, 4, 1);
    cr_assert_eq(ev.pid, 1000 + i % 7, "the endpoint remembers its owner");
  }
  st_etw_state_free(st);
}
