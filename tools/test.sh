#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test.
# Live eBPF tests need root; under CI=true they must run, never skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
ctest --test-dir "${BUILD_DIR:-$root/build}" --output-on-failure
