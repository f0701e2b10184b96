#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
# Live eBPF tests need root; under CI=true they must run, never skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure
# The Windows side: cross-build with mingw-w64 and run its tests under wine.
"$root/tools/windows-build.sh"
