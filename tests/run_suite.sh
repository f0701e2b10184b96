#!/usr/bin/env bash
# ctest runs each Criterion suite through this: the suite's output passes
# through; a suite whose tests all passed but some were skipped (no root,
# no shared fixtures, no server; each says "socktrace-test: SKIPPED: why")
# exits 77, which ctest reports as "Skipped" rather than "Passed", and the
# reasons are repeated at the end. Under CI=true nothing may skip: the
# tests fail instead, so this never answers 77 there.
#   run_suite.sh SUITE_BINARY [ARGS...]
set -uo pipefail
log=$(mktemp /tmp/st-suite.XXXXXX)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || exit "$rc"
skips=$(grep -c '^socktrace-test: SKIPPED: ' "$log")
if [ "$skips" -gt 0 ]; then
  echo "run_suite: $skips test(s) of $(basename "$1") skipped, the rest passed:"
  grep '^socktrace-test: SKIPPED: ' "$log" | sed 's/^socktrace-test: SKIPPED: /  /' | sort | uniq -c
  exit 77
fi
exit 0
