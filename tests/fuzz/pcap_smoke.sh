#!/usr/bin/env bash
# Short libFuzzer run of the pcap decoder: FUZZER CORPUS_DIR SEED_DIR.
# Seeds are the shared capture fixtures ($SOCKTRACE_FIXTURES/pcap wins).
# FUZZ_SECONDS (default 30) bounds the run; a crash fails the test.
set -euo pipefail
fuzzer=$1 corpus=$2 seeds=$3
if [ -n "${SOCKTRACE_FIXTURES:-}" ]; then seeds=$SOCKTRACE_FIXTURES/pcap; fi
mkdir -p "$corpus"
args=("$corpus")
if [ -d "$seeds" ]; then args+=("$seeds"); else echo "no seeds at $seeds: fuzzing from scratch"; fi
exec "$fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 "${args[@]}"
