#!/usr/bin/env bash
# tools/test.sh runs every stage whatever the one before did, and ends with
# one table of the stage results, exit 1 when one failed: run on a scratch
# copy whose stages are stubs (ctest fails; the others say they ran). And
# when the build fails, the stages after it are listed as skipped.
#   test_command.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d /tmp/st-testcmd.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "test_command: $*" >&2; exit 1; }
mkdir -p "$work/tools" "$work/bin"
cp "$src/tools/test.sh" "$work/tools/"
for s in setup build package windows-build fuzz; do
  printf '#!/bin/sh\necho "$*" >>"%s/%s.ran"\n' "$work" "$s" >"$work/tools/$s.sh"
done
printf '#!/bin/sh\necho "ctest: 1 of 2 tests failed"\nexit 8\n' >"$work/bin/ctest"
chmod +x "$work"/tools/*.sh "$work/bin/ctest"

rc=0
PATH="$work/bin:$PATH" BUILD_DIR="$work/build" ST_FUZZ_SECONDS=60 "$work/tools/test.sh" \
  >"$work/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a failed ctest: exit $rc, not 1: $(cat "$work/out")"
for s in package windows-build fuzz; do
  [ -f "$work/$s.ran" ] || fail "$s did not run after ctest failed: $(cat "$work/out")"
done
grep -q -- '--tests' "$work/setup.ran" || fail "setup was not asked for the tests' packages"
table=$(sed -n '/stage results/,$p' "$work/out")
for want in 'setup +[0-9]+s +passed' 'build +[0-9]+s +passed' 'ctest +[0-9]+s +FAILED \(8\)' \
  'package +[0-9]+s +passed' 'clang +[0-9]+s +passed' 'windows +[0-9]+s +passed' \
  'fuzz +[0-9]+s +passed'; do
  grep -Eq "^  $want\$" <<<"$table" || fail "no line /$want/ in the table: $table"
done
grep -q "ctest: 1 of 2 tests failed" "$work/build/test-logs/ctest.log" || fail "no ctest log"

# A failed build: nothing after it can run, and the table says so.
printf '#!/bin/sh\nexit 3\n' >"$work/tools/build.sh"
rm -f "$work"/*.ran
rc=0
PATH="$work/bin:$PATH" BUILD_DIR="$work/build" "$work/tools/test.sh" >"$work/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a failed build: exit $rc, not 1"
[ ! -f "$work/package.ran" ] || fail "package ran without a build"
grep -Eq '^  build +[0-9]+s +FAILED \(3\)$' "$work/out" || fail "build not FAILED: $(cat "$work/out")"
grep -Eq '^  ctest +- +skipped: the build failed$' "$work/out" || fail "ctest not skipped: $(cat "$work/out")"
echo "test_command: ok"
