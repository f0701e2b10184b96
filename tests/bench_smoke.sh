#!/usr/bin/env bash
# Runs the benchmark harness once on tiny sizes so it cannot rot. No timing
# is asserted: only that every installed tracer ran and socktrace saw events.
set -uo pipefail
build="$1"
if [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" = "true" ] && { echo "bench smoke needs root and CI=true is set"; exit 1; }
  echo "bench smoke needs root; skipped"
  exit 77
fi
out=$("$build/st-bench" --tiny --reps 1 --json "$build/bench-smoke.json")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "st-bench failed (exit $rc)"; exit 1; }
# Every socktrace row captured events and lost none.
bad=$(echo "$out" | awk '$2 ~ /^socktrace/ && ($5 == "-" || $5 == 0 || $6 != 0)')
[ -z "$bad" ] || { echo "socktrace rows without events or with loss:"; echo "$bad"; exit 1; }
echo "1 passed, 0 failed"
