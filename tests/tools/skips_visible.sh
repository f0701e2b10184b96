#!/usr/bin/env bash
# A suite whose tests skip (here: the shared fixtures absent) is reported
# by ctest as "Skipped" with the reason, not as "Passed"; under CI=true the
# same suite fails.
#   skips_visible.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
fail() { echo "skips_visible: $*" >&2; exit 1; }
suite="$build/tests/etl/test_etl_fixtures"
[ -x "$suite" ] || fail "no $suite"
out=$(mktemp /tmp/st-skips.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
env -u CI SOCKTRACE_FIXTURES=/nonexistent "$src/tests/run_suite.sh" "$suite" >"$out" 2>&1 || rc=$?
[ "$rc" = 77 ] || fail "without fixtures: exit $rc, not 77: $(cat "$out")"
grep -q "fixtures not found at /nonexistent" "$out" || fail "no reason: $(cat "$out")"
grep -q "run_suite: [0-9]* test(s) of test_etl_fixtures skipped" "$out" || fail "no summary: $(cat "$out")"
rc=0
CI=true SOCKTRACE_FIXTURES=/nonexistent "$src/tests/run_suite.sh" "$suite" >"$out" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 77 ] || fail "under CI=true: exit $rc, the suite must fail"
grep -Eq "test_etl_fixtures.*SKIP_RETURN_CODE \"77\"" "$build/tests/etl/CTestTestfile.cmake" ||
  fail "ctest does not take 77 as Skipped for the suites"
echo "skips_visible: ok"
