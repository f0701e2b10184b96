#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
# Live eBPF tests need root; under CI=true they must run, never skip. Then
# Release builds with gcc (the .deb, checked) and clang, the Windows cross
# build, and the fuzz campaign (tools/fuzz.sh: a clang build in build-fuzz/, 60 s).
# Every stage runs, whatever the one before did (a red ctest does not hide
# a broken package), unless the build itself failed; the command ends with
# one table of the stages and exits 1 when any failed. Each stage's output
# is shown as it runs and kept in ${BUILD_DIR:-build}/test-logs/<stage>.log.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$root/build}"
logs="$build/test-logs"
names=() results=() times=()

# stage NAME CMD...: runs CMD, its output shown and logged; records the result.
stage() {
  local name=$1 start=$SECONDS rc
  shift
  mkdir -p "$logs"
  echo "test: === $name: $*"
  "$@" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  names+=("$name")
  times+=("$((SECONDS - start))s")
  if [ "$rc" -eq 0 ]; then results+=(passed); else results+=("FAILED ($rc)"); fi
  return "$rc"
}
skipped() { names+=("$1") results+=("skipped: $2") times+=(-); }

table() {
  echo
  echo "test: stage results (logs in $logs/)"
  printf '  %-10s %-8s %s\n' stage time result
  local i failed=0
  for i in "${!names[@]}"; do
    printf '  %-10s %-8s %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
    case ${results[$i]} in FAILED*) failed=1 ;; esac
  done
  return $failed
}

if ! stage setup "$root/tools/setup.sh" --tests || ! stage build "$root/tools/build.sh" -DST_TESTS=ON; then
  # Nothing else can run without the build.
  for s in ctest package clang windows fuzz; do skipped "$s" "the build failed"; done
  table
  exit 1
fi
stage ctest ctest --test-dir "$build" --output-on-failure
# Release builds as packagers make them, warnings as errors. gcc: the .deb,
# unpacked into a scratch root and used as a user would (tools/package.sh
# --check, about a minute). clang: everything compiled, tests too, nothing
# run (about a minute on two cores).
stage package "$root/tools/package.sh" --check
stage clang env CC=clang BUILD_DIR="$root/build-clang" "$root/tools/build.sh" \
  -DCMAKE_BUILD_TYPE=Release
# The Windows side: cross-build with mingw-w64 and run its tests under wine.
stage windows "$root/tools/windows-build.sh"
# The .sktrace reader's fuzz campaign (60 s; ST_FUZZ_SECONDS=0 skips it).
if [ "${ST_FUZZ_SECONDS:-60}" != 0 ]; then
  stage fuzz "$root/tools/fuzz.sh"
else
  skipped fuzz "ST_FUZZ_SECONDS=0"
fi
table
