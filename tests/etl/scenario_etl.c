/* Writes the diff tests' scenario as an .etl file (scenario_etl.h). The
 * records are laid out as AFD writes them (tests/etw/etw_fixture.h); the
 * process has no name (an .etl file does not carry one). */
#include "etl/scenario_etl.h"

#include "etl/etl_builder.h"
#include "etw/etw_fixture.h"

#define PROCESS 0xffffa50612345080ull
#define PID 4242
#define STATUS_PENDING 0x103u
#define STATUS_IO_TIMEOUT 0xC00000B5u
#define STATUS_CONNECTION_REFUSED 0xC0000236u

typedef struct writer {
  eb_file f;
  eb_buffer b;
  uint64_t seq;
  int64_t qpc;
} writer;

static void emit(writer *w, uint16_t id, uint8_t level, const fx *p) {
  w->qpc += 1000; /* 100 us apart */
  if (!eb_add_event(&w->b, true, EB_AFD_GUID, id, 0, level, 0x8000000000000006ull, PID, PID + 1,
                    EB_QPC0 + w->qpc, 0, p->b, p->n)) {
    eb_add_buffer(&w->f, &w->b, 0);
    eb_buffer_init(&w->b, 0, ++w->seq);
    eb_add_event(&w->b, true, EB_AFD_GUID, id, 0, level, 0x8000000000000006ull, PID, PID + 1,
                 EB_QPC0 + w->qpc, 0, p->b, p->n);
  }
}

static void create(writer *w, uint64_t ep, uint32_t type, uint32_t proto) {
  fx p;
  fx_init(&p, 8);
  fx_base(&p, 1, 1, PROCESS, ep);
  fx_u32(&p, 2); /* AF_INET */
  fx_u32(&p, type);
  fx_u32(&p, proto);
  fx_ptr(&p, PID);
  fx_u32(&p, 0);
  emit(w, 1000, 4, &p);
}

static void with_status(writer *w, uint16_t id, uint32_t ee, uint64_t ep, uint32_t status) {
  fx p;
  fx_init(&p, 8);
  fx_base(&p, ee, 1, PROCESS, ep);
  fx_u32(&p, status);
  emit(w, id, 4, &p);
}

static void afd_connect(writer *w, uint64_t ep, uint32_t ee, uint32_t status, uint16_t port) {
  static const uint8_t lo[4] = {127, 0, 0, 1};
  fx p;
  fx_init(&p, 8);
  fx_base(&p, ee, 1, PROCESS, ep);
  fx_ptr(&p, 0); /* Buffer */
  fx_u32(&p, 0); /* BufferLength */
  fx_u32(&p, status);
  fx_sockaddr_in(&p, lo, port);
  emit(w, 1018, 4, &p);
}

/* AfdSend / AfdReceive (1003 / 1004), or AfdSendToWithAddress (1007). */
static void data(writer *w, uint16_t id, uint64_t ep, uint32_t bytes, uint16_t port) {
  static const uint8_t lo[4] = {127, 0, 0, 1};
  fx p;
  fx_init(&p, 8);
  fx_base(&p, 1, 1, PROCESS, ep);
  fx_u32(&p, 1); /* BufferCount */
  fx_ptr(&p, 0); /* Buffer */
  fx_u32(&p, bytes);
  fx_u32(&p, 0);
  if (id == 1007)
    fx_sockaddr_in(&p, lo, port);
  emit(w, id, 5, &p);
}

int scenario_etl_write(const char *path, uint16_t server, uint16_t closed, uint16_t udp,
                       int variant) {
  writer w = {.seq = 1};
  eb_begin(&w.f, true, false, 0, 0);
  eb_buffer_init(&w.b, 0, w.seq);
  const uint64_t ok = 0xffffa50687654320ull, refused = ok + 0x100, dgram = ok + 0x200;
  create(&w, ok, 1, 6);
  afd_connect(&w, ok, 0, STATUS_PENDING, server);
  if (variant == SCENARIO_CONNECT_TIMES_OUT) {
    afd_connect(&w, ok, 1, STATUS_IO_TIMEOUT, server);
  } else {
    afd_connect(&w, ok, 1, 0, server);
    data(&w, 1003, ok, 5, 0);
    data(&w, 1004, ok, 6, 0);
    with_status(&w, 3006, 3, ok, 0); /* the server's FIN */
  }
  with_status(&w, 1002, 1, ok, 0);
  with_status(&w, 1001, 1, ok, 0);

  create(&w, refused, 1, 6);
  afd_connect(&w, refused, 0, STATUS_PENDING, closed);
  afd_connect(&w, refused, 1, STATUS_CONNECTION_REFUSED, closed);
  fx p;
  fx_init(&p, 8);
  fx_base(&p, 3, 1, PROCESS, refused);
  fx_u32(&p, 4); /* the RST that refused it, as an abortive disconnect */
  emit(&w, 1032, 2, &p);
  with_status(&w, 1001, 1, refused, 0);

  create(&w, dgram, 2, 17);
  /* Winsock binds an unbound datagram socket to port 0 before its first
   * send. */
  static const uint8_t any[4] = {0, 0, 0, 0};
  fx_init(&p, 8);
  fx_base(&p, 1, 1, PROCESS, dgram);
  fx_u32(&p, 0);
  fx_sockaddr_in(&p, any, 0);
  emit(&w, 1030, 4, &p);
  data(&w, 1007, dgram, 4, udp);
  with_status(&w, 1001, 1, dgram, 0);

  eb_add_buffer(&w.f, &w.b, 0);
  int rc = eb_write(&w.f, path);
  eb_free(&w.f);
  return rc;
}
