/*
 * libFuzzer target for the pcapng reader and, behind it, the decoder (with
 * its tunnels) and the flow tracker. An input that opens with a Section
 * Header Block is a whole file; any other input is read as the blocks
 * after a fixed section of three interfaces (Ethernet in ns, the BSD
 * loopback, raw IP in 2^-10 s with an offset), so that the fuzzer spends
 * its time in packet blocks and frames rather than on the magic. The
 * tracker runs with a tiny flow bound so that eviction is exercised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_builder.h"
#include "pcapng.h"
#include "tracker.h"

static void sink(void *ctx, const st_event *ev) {
  volatile uint64_t *sum = ctx; /* touch the event so a bad one shows */
  *sum += ev->id + ev->bytes + (uint8_t)ev->detail[0];
}

static const capbuf *prefix(void) {
  static capbuf c;
  if (!c.len) {
    ng_section(&c, false);
    ng_interface(&c, false, 1, 0, 9, 0);
    ng_interface(&c, false, 0, 0, -1, 0);
    ng_interface(&c, false, 101, 0, 0x80 | 10, 1000);
  }
  return &c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t *joined = NULL;
  if (size < 4 || !pcapng_magic(data)) {
    const capbuf *p = prefix();
    joined = malloc(p->len + size);
    if (!joined)
      return 0;
    memcpy(joined, p->data, p->len);
    memcpy(joined + p->len, data, size);
    data = joined;
    size += p->len;
  }
  FILE *f = fmemopen((void *)data, size, "rb");
  if (f) {
    pcapng_reader *r;
    char err[256];
    if (pcapng_open(f, &r, err, sizeof err) == 0) {
      volatile uint64_t sum = 0;
      st_pcap_tracker_config cfg = {.max_flows = 4, .level = ST_LEVEL_VERBOSE};
      st_pcap_tracker *t = st_pcap_tracker_new(&cfg, sink, (void *)&sum);
      pcapng_frame fr;
      for (int i = 0; t && i < 10000 && pcapng_next(r, &fr) > 0; i++)
        st_pcap_tracker_packet(t, fr.linktype, fr.ts_ns, fr.data, fr.caplen, fr.len);
      if (t) {
        st_pcap_tracker_finish(t);
        st_pcap_tracker_free(t);
      }
      pcapng_close(r);
    }
    fclose(f);
  }
  free(joined);
  return 0;
}
