#!/usr/bin/env bash
# The fuzz campaign of the test command: builds every libFuzzer target
# (tests/fuzz/) with clang into ${FUZZ_BUILD_DIR:-build-fuzz}, records a seed
# corpus of real traces from tests/fixtures/demo.jsonl through the .sktrace
# writer, and fuzzes the .sktrace reader for ${ST_FUZZ_SECONDS:-60} seconds,
# then each other target for ${ST_FUZZ_OTHER_SECONDS:-15}. A finding (crash,
# leak, sanitizer report, timeout) fails with the reproducer's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${ST_FUZZ_SECONDS:-60}"
CC=clang cmake -S "$root" -B "$build" -DST_FUZZ=ON -DST_TESTS=OFF -DST_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}" \
  --target fuzz_sktrace_reader fuzz_sktrace_zblock fuzz_etl_reader fuzz_pcap_decode fuzz_pcapng_reader pcap_seeds \
  fuzz_etw_decode socktrace-cli \
  >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus="$work/corpus"
mkdir -p "$corpus"
demo="$root/tests/fixtures/demo.jsonl"
cli="$build/socktrace"
for i in 1 2 3 4 5 6 7 8; do cat "$demo"; done >"$work/demo8.jsonl"
# Seeds: one block; many small blocks (compressed, and plain); level 4
# only; a filtered recording; a cut-off recording.
ASAN_OPTIONS=detect_leaks=1 "$cli" replay "$demo" -o "$corpus/demo.sktrace"
"$cli" replay "$work/demo8.jsonl" --block-size 4K -o "$corpus/demo-blocks.sktrace"
"$cli" replay "$work/demo8.jsonl" --block-size 4K --compress none -o "$corpus/demo-plain.sktrace"
"$cli" replay "$demo" -l 4 -o "$corpus/demo-level4.sktrace"
"$cli" replay "$demo" --port 8080 -o "$corpus/demo-port.sktrace"
head -c 3000 "$corpus/demo-blocks.sktrace" >"$corpus/demo-cut.sktrace"
printf 'kw1="SKBL"\nkw2="\\x89SKTRACE"\nkw3="\\x01\\x00\\x00\\x00"\nkw4="SKBZ"\nkw5="\\x28\\xb5\\x2f\\xfd"\n' \
  >"$work/dict"

echo "fuzz: reading .sktrace for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
cd "$work"
if ! "$build/fuzz_sktrace_reader" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -dict="$work/dict" -artifact_prefix="$root/" -print_final_stats=1 "$corpus" \
  >"$work/log" 2>&1; then
  tail -40 "$work/log" >&2
  echo "fuzz: FINDING - reproducer saved next to the sources (crash-*/leak-*/timeout-*)" >&2
  exit 1
fi
grep -E "stat::number_of_executed_units|cov:" "$work/log" | tail -2
echo "fuzz: no finding in ${seconds}s"

# The other targets, shorter: the file readers seeded with the shared
# fixtures (real .etl files from Windows, real captures) copied to a
# writable corpus, the packet ones also with the tests' sample captures
# (several link types in one pcapng, every kind of tunnel); the ETW payload
# decoder from nothing.
other="${ST_FUZZ_OTHER_SECONDS:-15}"
fixtures="${SOCKTRACE_FIXTURES:-$root/../shared/fixtures}"
# The compressed-block target starts from the recordings (it compresses
# what it is given too, so any seed reaches the inflate path).
zseeds="$work/seeds-zblock"
cp -r "$corpus" "$zseeds"
echo "fuzz: fuzz_sktrace_zblock for ${other}s ($(ls "$zseeds" | wc -l) seeds)"
if ! "$build/fuzz_sktrace_zblock" -max_total_time="$other" -timeout=10 \
  -rss_limit_mb=2048 -dict="$work/dict" -artifact_prefix="$root/" "$zseeds" \
  >"$work/log-zblock" 2>&1; then
  tail -40 "$work/log-zblock" >&2
  echo "fuzz: FINDING in fuzz_sktrace_zblock - reproducer saved next to the sources" >&2
  exit 1
fi

for pair in "fuzz_etl_reader:etl:*.etl" "fuzz_pcap_decode:pcap:*.pcap*" \
  "fuzz_pcapng_reader:pcap:*.pcapng" "fuzz_etw_decode:etw:"; do
  IFS=: read -r target dir pattern <<<"$pair"
  seeds="$work/seeds-$target"
  mkdir -p "$seeds"
  if [ "$dir" = pcap ]; then "$build/pcap_seeds" "$seeds"; fi
  if [ -z "$pattern" ]; then
    : # no seeds
  elif [ -d "$fixtures/$dir" ]; then
    find "$fixtures/$dir" -maxdepth 1 -name "$pattern" -exec cp {} "$seeds/" \;
  elif [ "${CI:-}" = "true" ]; then
    echo "fuzz: fixtures not found at $fixtures/$dir under CI=true" >&2
    exit 1
  fi
  echo "fuzz: $target for ${other}s ($(ls "$seeds" | wc -l) seeds)"
  if ! "$build/$target" -max_total_time="$other" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -artifact_prefix="$root/" "$seeds" >"$work/log-$target" 2>&1; then
    tail -40 "$work/log-$target" >&2
    echo "fuzz: FINDING in $target - reproducer saved next to the sources" >&2
    exit 1
  fi
done
echo "fuzz: no finding in the other targets"
