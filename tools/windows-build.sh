#!/usr/bin/env bash
# Cross-builds socktrace.exe and the Windows-side tests with mingw-w64 and
# runs them under wine. Installs what is missing from Debian (mingw-w64,
# wine, dpkg-dev), takes libuv's and jansson's sources from Debian itself
# (`apt-get source`, adding a deb-src entry for the existing deb entry if
# there is none), and cross-builds them as static libraries into the build
# tree, never into git. Ends with a smoke run of `socktrace.exe trace`,
# which must fail cleanly under wine's stub ETW: one clear line, non-zero.
#
# Build tree: ${WIN_BUILD_DIR:-build-win}. Safe to run again: finished steps
# are skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${WIN_BUILD_DIR:-$root/build-win}"
deps="$build/deps"
prefix="$deps/prefix"
toolchain="$root/cmake/mingw-w64.cmake"
jobs=2
say() { echo "windows-build: $*"; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt() { DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 "$@"; }

# 1. Tools from Debian.
packages=(gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev wine64 wine dpkg-dev uthash-dev cmake pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt update -q
  apt install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. Sources of libuv and jansson from Debian: needs a deb-src entry.
have_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qE '^(Types:.*deb-src|deb-src )' "$f" && return 0
  done
  return 1
}
if ! have_deb_src; then
  src_file=/etc/apt/sources.list.d/socktrace-deb-src.sources
  main=/etc/apt/sources.list.d/debian.sources
  if [ -f "$main" ]; then
    # The deb822 entries that carry "main", turned into deb-src twins.
    awk 'BEGIN { RS=""; ORS="\n\n" } /Types:[^\n]*deb/ && /Components:[^\n]*main/ {
           sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$main" | $sudo tee "$src_file" >/dev/null
  else
    grep -hE '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      $sudo tee /etc/apt/sources.list.d/socktrace-deb-src.list >/dev/null
  fi
  say "added deb-src entries for the existing deb entries"
  apt update -q
fi

mkdir -p "$deps/src" "$prefix/include"
fetch() { # package -> prints the unpacked source directory
  local pkg=$1 dir
  dir=$(find "$deps/src" -maxdepth 1 -type d -name "$2-*" | head -n1)
  if [ -z "$dir" ]; then
    (cd "$deps/src" && apt-get source -q "$pkg" >/dev/null 2>&1) ||
      { echo "windows-build: cannot get the source of $pkg (apt-get source $pkg)" >&2; exit 1; }
    dir=$(find "$deps/src" -maxdepth 1 -type d -name "$2-*" | head -n1)
  fi
  echo "$dir"
}

cross_cmake() { # source build [cmake args...]
  local src=$1 out=$2
  shift 2
  # Third-party warnings are theirs: keep them in a log, show it on failure.
  { cmake -S "$src" -B "$out" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DST_WIN_PREFIX="$prefix" \
      -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release "$@" &&
    cmake --build "$out" -j"$jobs" && cmake --install "$out"; } >"$out.log" 2>&1 ||
    { cat "$out.log" >&2; echo "windows-build: building $(basename "$src") failed" >&2; exit 1; }
}

start=$(date +%s)
# 3. libuv and jansson for Windows, static.
if [ ! -f "$prefix/lib/libuv.a" ] && [ ! -f "$prefix/lib/libuv_a.a" ]; then
  uv_src=$(fetch libuv1 libuv1)
  say "cross-building libuv from $(basename "$uv_src")"
  cross_cmake "$uv_src" "$deps/build-libuv" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
fi
if [ ! -f "$prefix/lib/libjansson.a" ]; then
  js_src=$(fetch jansson jansson)
  say "cross-building jansson from $(basename "$js_src")"
  cross_cmake "$js_src" "$deps/build-jansson" -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
    -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF
fi
# uthash is one header: stage it alone, never the host's /usr/include.
ln -sf /usr/include/uthash.h "$prefix/include/uthash.h"
# Link libuv statically whatever its pkg-config file is called.
pc="$prefix/lib/pkgconfig"
if [ -f "$pc/libuv-static.pc" ]; then
  sed 's/^Name:.*/Name: libuv/' "$pc/libuv-static.pc" >"$pc/libuv.pc.static" && mv "$pc/libuv.pc.static" "$pc/libuv.pc"
fi

# 4. socktrace.exe and the Windows-side tests.
say "cross-building socktrace"
PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH="" \
  cmake -S "$root" -B "$build/socktrace" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DST_WIN_PREFIX="$prefix" -DUTHASH_INCLUDE_DIR="$prefix/include" -DST_WERROR=ON >/dev/null
# A failed build must fail here, not leave an older socktrace.exe to test.
rm -f "$build/socktrace/socktrace.exe"
if ! cmake --build "$build/socktrace" -j"$jobs" >"$build/socktrace.log" 2>&1; then
  grep -vE '^\[ *[0-9]+%\]|^Consolidate|^$' "$build/socktrace.log" >&2
  echo "windows-build: cross-building socktrace failed" >&2
  exit 1
fi

# 5. Under wine, with a prefix of our own (first run creates it).
export WINEPREFIX="$deps/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
say "running the Windows-side tests under wine"
ctest --test-dir "$build/socktrace" --output-on-failure

say "smoke run: socktrace.exe trace (wine's ETW is stubs: it must fail cleanly)"
set +e
out=$(timeout 60 wine "$build/socktrace/socktrace.exe" trace 2>&1)
rc=$?
set -e
echo "$out" | sed 's/^/  | /'
echo "  | exit status $rc"
if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || ! echo "$out" | grep -q "^socktrace: cannot .*ETW session"; then
  echo "windows-build: the smoke run did not fail cleanly with the ETW message" >&2
  exit 1
fi
lines=$(echo "$out" | grep -c . || true)
[ "$lines" -eq 1 ] || { echo "windows-build: the smoke run printed $lines lines, want 1" >&2; exit 1; }
say "smoke run: socktrace.exe catalog"
cat_out=$(timeout 60 wine "$build/socktrace/socktrace.exe" catalog 2>&1) ||
  { echo "$cat_out" >&2; echo "windows-build: socktrace.exe catalog failed" >&2; exit 1; }
entries=$(echo "$cat_out" | grep -c '^Winsock Catalog Provider Entry' || true)
[ "$entries" -gt 0 ] || { echo "windows-build: the catalog listed no protocol entry" >&2; exit 1; }
echo "  | $entries protocol entries, $(echo "$cat_out" | grep -c '^Winsock Name Space' || true) name-space providers"
# -f jsonl: one catalog event per entry, as many as the text lists.
json_out=$(timeout 60 wine "$build/socktrace/socktrace.exe" catalog -f jsonl 2>/dev/null) ||
  { echo "windows-build: socktrace.exe catalog -f jsonl failed" >&2; exit 1; }
json_entries=$(echo "$json_out" | grep -c '"provider":"catalog","id":1,"name":"LspInstalled"' || true)
[ "$json_entries" -ge "$entries" ] ||
  { echo "windows-build: catalog -f jsonl gave $json_entries entries, the text $entries" >&2; exit 1; }
echo "  | -f jsonl: $json_entries catalog events"
say "smoke run: socktrace.exe sessions (start, query, update, flush, stop: ETW's own sessions)"
# Wine's ETW is stubs: each command must end by itself with one line, and a
# session option ETW cannot take must be refused before any ETW call.
for args in "start smoke -o C:\\smoke.etl -l 4" "query" "query smoke" "update smoke -l 5" \
  "flush smoke" "stop smoke"; do
  set +e
  out=$(timeout 60 wine "$build/socktrace/socktrace.exe" $args 2>&1)
  rc=$?
  set -e
  echo "  | socktrace $args -> exit $rc: $(echo "$out" | head -n 1)"
  if [ "$rc" -gt 2 ] || [ "$(echo "$out" | grep -c .)" -gt 4 ] || echo "$out" | grep -q "Unhandled exception"; then
    echo "$out" >&2
    echo "windows-build: 'socktrace $args' did not end cleanly" >&2
    exit 1
  fi
done
set +e
out=$(timeout 60 wine "$build/socktrace/socktrace.exe" start smoke -o C:\\x.sktrace 2>&1)
rc=$?
set -e
if [ "$rc" -ne 2 ] || ! echo "$out" | grep -q "records to an .etl file"; then
  echo "$out" >&2
  echo "windows-build: a session to a .sktrace file was not refused" >&2
  exit 1
fi
fixtures="${SOCKTRACE_FIXTURES:-$root/../shared/fixtures}"
if [ -f "$fixtures/etl/AMSITrace.etl" ]; then
  say "smoke run: socktrace.exe replay of a real .etl file"
  etl_out=$(timeout 60 wine "$build/socktrace/socktrace.exe" replay "$fixtures/etl/AMSITrace.etl" \
    --all-providers -f jsonl 2>&1) || true
  if ! echo "$etl_out" | grep -q '"count":3,"where":"etw_buffers"' ||
    ! echo "$etl_out" | grep -q '{8E805EB3-6A8F-4A1E-90FA-A831D94E54A1} id=0 v=0  19'; then
    echo "$etl_out" >&2
    echo "windows-build: socktrace.exe did not read AMSITrace.etl as on Linux" >&2
    exit 1
  fi
  echo "  | EventsLost 3 and 19 records of the AMSI provider, as on Linux"
elif [ "${CI:-}" = "true" ]; then
  echo "windows-build: fixtures not found at $fixtures under CI=true" >&2
  exit 1
fi
say "done in $(($(date +%s) - start)) s"
