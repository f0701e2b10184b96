#!/usr/bin/env bash
# Configures and builds socktrace into ${BUILD_DIR:-build}. Extra arguments go
# to cmake's configure step (e.g. -DST_SANITIZE=ON, -DCMAKE_BUILD_TYPE=Release);
# CC picks the compiler of a new build directory. Warnings are errors here.
# Of CMake's configure output it shows what was configured (compiler, build
# type, which backends are built, and why one is not) and any warning; all
# of it is in $BUILD_DIR/configure.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${BUILD_DIR:-$root/build}"
mkdir -p "$build"
if ! cmake -S "$root" -B "$build" -DST_WERROR=ON "$@" >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  echo "build: configuring $build failed (the output above is in $build/configure.log)" >&2
  exit 1
fi
awk '/^-- (socktrace|.*backend)/ { print; next } /^CMake Warning/ { w = 1 } w { print } /^$/ { w = 0 }' \
  "$build/configure.log"
cmake --build "$build" -j"$(nproc)"
