#!/usr/bin/env bash
# Short libFuzzer run of a packet fuzzer: FUZZER CORPUS_DIR SEED_DIR [SEED_WRITER].
# Seeds are the shared capture fixtures ($SOCKTRACE_FIXTURES/pcap wins) and,
# with SEED_WRITER (pcap_seeds), the tests' sample captures written into the
# corpus. FUZZ_SECONDS (default 30) bounds the run; a crash fails the test.
set -euo pipefail
fuzzer=$1 corpus=$2 seeds=$3 writer=${4:-}
if [ -n "${SOCKTRACE_FIXTURES:-}" ]; then seeds=$SOCKTRACE_FIXTURES/pcap; fi
mkdir -p "$corpus"
if [ -n "$writer" ]; then "$writer" "$corpus"; fi
args=("$corpus")
if [ -d "$seeds" ]; then args+=("$seeds"); else echo "no seeds at $seeds: fuzzing from scratch"; fi
exec "$fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 "${args[@]}"
