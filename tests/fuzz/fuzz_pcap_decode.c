/*
 * libFuzzer target for the packet decoder and flow tracker. An input that
 * starts with a pcap/pcapng magic is read as a capture file (so the shared
 * fixtures are a seed corpus as they are); any other input is a link type
 * selector byte followed by frames, each prefixed by a 2-byte length.
 * The tracker runs with a tiny flow bound so that eviction is exercised.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tracker.h"

static const int LINKTYPES[] = {0, 1, 9, 12, 14, 50, 51, 101, 104, 108, 113, 228, 229, 276};

static void sink(void *ctx, const st_event *ev) {
  /* Touch the event so a bad one shows under the sanitizers. */
  volatile uint64_t *sum = ctx;
  *sum += ev->id + ev->bytes + ev->dns.qname[0];
}

typedef struct feed {
  st_pcap_tracker *t;
  int linktype;
} feed;

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  feed *f = (feed *)user;
  uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
  st_pcap_tracker_packet(f->t, f->linktype, ts, bytes, h->caplen, h->len);
}

static void run_capture(st_pcap_tracker *t, const uint8_t *data, size_t size) {
  FILE *fp = fmemopen((void *)data, size, "rb");
  if (!fp)
    return;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    fclose(fp);
    return;
  }
  feed f = {t, pcap_datalink(p)};
  pcap_loop(p, 10000, on_frame, (u_char *)&f);
  pcap_close(p); /* closes fp */
}

static void run_frames(st_pcap_tracker *t, const uint8_t *data, size_t size) {
  int linktype = LINKTYPES[data[0] % (sizeof LINKTYPES / sizeof LINKTYPES[0])];
  size_t off = 1;
  uint64_t ts = 1000000000ull;
  while (off + 2 <= size) {
    size_t len = ((size_t)data[off] << 8) | data[off + 1];
    off += 2;
    if (len > size - off)
      len = size - off;
    st_pcap_tracker_packet(t, linktype, ts, data + off, (uint32_t)len, (uint32_t)len);
    ts += 40000000000ull; /* 40 s apart: timeouts fire too */
    off += len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  volatile uint64_t sum = 0;
  st_pcap_tracker_config cfg = {.max_flows = 4, .level = ST_LEVEL_VERBOSE};
  st_pcap_tracker *t = st_pcap_tracker_new(&cfg, sink, (void *)&sum);
  if (!t)
    return 0;
  static const uint8_t magics[][4] = {{0xd4, 0xc3, 0xb2, 0xa1},
                                      {0xa1, 0xb2, 0xc3, 0xd4},
                                      {0x4d, 0x3c, 0xb2, 0xa1},
                                      {0xa1, 0xb2, 0x3c, 0x4d},
                                      {0x0a, 0x0d, 0x0d, 0x0a}};
  bool capture = false;
  for (size_t i = 0; i < sizeof magics / sizeof magics[0] && size >= 4; i++)
    capture |= memcmp(data, magics[i], 4) == 0;
  if (capture)
    run_capture(t, data, size);
  else
    run_frames(t, data, size);
  st_pcap_tracker_finish(t);
  st_pcap_tracker_free(t);
  return 0;
}
