/*
 * Writes seeds for the packet fuzzers into a directory: the sample pcapng
 * of three interfaces in both byte orders, and a TCP handshake through each
 * kind of tunnel, both as a pcapng (fuzz_pcapng_reader) and in
 * fuzz_pcap_decode's own frame format (a link-type selector byte, then each
 * frame after its 2-byte length). The samples are the tests' own
 * (tests/pcap/capture_samples.c), so the fuzzers start where the tests are.
 */
#include <stdio.h>
#include <string.h>

#include "capture_samples.h"

static int save(const capbuf *c, const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (capbuf_save(c, path))
    return 0;
  fprintf(stderr, "pcap_seeds: cannot write %s\n", path);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_seeds DIR\n");
    return 2;
  }
  int bad = 0;
  size_t ends[2];
  for (int big = 0; big < 2; big++) {
    capbuf c = {0};
    sample_three_interfaces(&c, big, ends);
    bad |= save(&c, argv[1], big ? "three-interfaces-be.pcapng" : "three-interfaces-le.pcapng");
    capbuf_free(&c);
  }
  static const struct {
    bool from_client;
    uint32_t seq, ack;
    uint8_t flags;
  } hs[] = {{true, 1, 0, 0x02}, {false, 9, 2, 0x12}, {true, 2, 10, 0x10}, {false, 10, 2, 0x14}};
  for (size_t k = 0; k < SAMPLE_NTUNNELS; k++) {
    capbuf ng = {0}, frames = {0};
    ng_section(&ng, false);
    ng_interface(&ng, false, 1, 0, -1, 0);
    const uint8_t ethernet = 1; /* fuzz_pcap_decode's LINKTYPES[1] */
    capbuf_put(&frames, &ethernet, 1);
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
      uint8_t ip[128], f[2048];
      const char *c = k % 2 ? "fd00::1" : "10.0.0.1", *s = k % 2 ? "fd00::2" : "10.0.0.2";
      size_t n = hs[i].from_client
                     ? cb_tcp(ip, c, 40000, s, 80, hs[i].seq, hs[i].ack, hs[i].flags, 0)
                     : cb_tcp(ip, s, 80, c, 40000, hs[i].seq, hs[i].ack, hs[i].flags, 0);
      n = SAMPLE_TUNNELS[k].wrap(f, ip, n);
      ng_packet(&ng, false, 0, SAMPLE_T0 * 1000000 + i, f, n, n);
      uint8_t len[2] = {(uint8_t)(n >> 8), (uint8_t)n};
      capbuf_put(&frames, len, 2);
      capbuf_put(&frames, f, n);
    }
    char name[128];
    snprintf(name, sizeof name, "tunnel-%02zu.pcapng", k);
    bad |= save(&ng, argv[1], name);
    snprintf(name, sizeof name, "tunnel-%02zu.frames", k);
    bad |= save(&frames, argv[1], name);
    capbuf_free(&ng);
    capbuf_free(&frames);
  }
  return bad;
}
