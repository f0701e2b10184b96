#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
# Live eBPF tests need root; under CI=true they must run, never skip. Then
# Release builds with gcc (the .deb, checked) and clang, the Windows cross
# build, and the fuzz campaign (tools/fuzz.sh: a clang build in build-fuzz/, 60 s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure
# Release builds as packagers make them, warnings as errors. gcc: the .deb,
# unpacked into a scratch root and used as a user would (tools/package.sh
# --check, about a minute). clang: everything compiled, tests too, nothing
# run (about a minute on two cores).
"$root/tools/package.sh" --check
CC=clang BUILD_DIR="$root/build-clang" "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=Release
# The Windows side: cross-build with mingw-w64 and run its tests under wine.
"$root/tools/windows-build.sh"
# The .sktrace reader's fuzz campaign (60 s; ST_FUZZ_SECONDS=0 skips it).
if [ "${ST_FUZZ_SECONDS:-60}" != 0 ]; then
  "$root/tools/fuzz.sh"
fi
