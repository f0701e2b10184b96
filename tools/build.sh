#!/usr/bin/env bash
# Configures and builds socktrace into ${BUILD_DIR:-build}. Extra arguments go
# to cmake's configure step (e.g. -DST_SANITIZE=ON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DST_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
