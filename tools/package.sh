#!/usr/bin/env bash
# Builds the Debian package as a packager would: a Release build with gcc
# into ${PKG_BUILD_DIR:-build-pkg}/ (prefix /usr, no tests, warnings are
# errors here), then CPack: build-pkg/socktrace_<version>_<arch>.deb, its
# dependencies computed by dpkg-shlibdeps.
# With --check (what tools/test.sh runs) it then checks the package: its
# name and fields, that apt would install it on this Debian (apt-get -s),
# and, unpacked into a scratch root (dpkg -x, no container), everything
# tests/install/check_install.sh checks: --version, replay of a fixture,
# man -l of each page, pkg-config, find_package, the example program, the
# completions, and (as root) socktrace demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${PKG_BUILD_DIR:-$root/build-pkg}"
check=false
[ "${1:-}" = --check ] && check=true

say() { echo "package: $*"; }
fail() { echo "package: $*" >&2; exit 1; }

CC="${CC:-gcc}" BUILD_DIR="$build" "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr -DST_TESTS=OFF
rm -f "$build"/socktrace_*.deb "$build"/libsocktrace*.deb
(cd "$build" && cpack -G DEB >"$build/cpack.log" 2>&1) ||
  { cat "$build/cpack.log" >&2; fail "cpack failed (the output above is in $build/cpack.log)"; }
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
deb="$build/socktrace_${version}_${arch}.deb"
libdeb="$build/libsocktrace0_${version}_${arch}.deb"
devdeb="$build/libsocktrace-dev_${version}_${arch}.deb"
for d in "$deb" "$libdeb" "$devdeb"; do
  [ -f "$d" ] || fail "cpack made no $d: $(ls "$build"/*.deb 2>/dev/null)"
  say "$(basename "$d"): $(du -k "$d" | cut -f1) KiB; Depends: $(dpkg-deb -f "$d" Depends)"
done
$check || exit 0

# The package's fields: what apt and dpkg go by.
[ "$(dpkg-deb -f "$deb" Package)" = socktrace ] || fail "the package is not named socktrace"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the package's version is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "the package's architecture is not $arch"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libbpf1 libuv1 libpcap0.8 libjansson4 libzstd1 liblzma5 zlib1g libcurl4 libprotobuf-c1 libc6; do
  [[ ", $depends," == *", $lib "* || ", $depends," == *", $lib,"* ]] ||
    fail "Depends lacks $lib: $depends"
done
dpkg-deb --ctrl-tarfile "$libdeb" | tar -t | grep -x './shlibs' >/dev/null ||
  fail "no shlibs file for libsocktrace.so in $(basename "$libdeb")"
[[ "$(dpkg-deb -f "$devdeb" Depends)" == *"libsocktrace0 (= $version)"* ]] ||
  fail "libsocktrace-dev does not depend on libsocktrace0 (= $version)"
say "fields: socktrace $version $arch, Depends has libbpf1 libuv1 libpcap0.8 libjansson4 libzstd1 liblzma5 zlib1g libcurl4 libprotobuf-c1 libc6"
# The README's install line names what apt pulls: the same as Depends (libc6 aside).
readme_deps=$(sed -n 's|^sudo apt-get install \./socktrace_\*\.deb *# pulls ||p' "$root/README.md" |
  tr -d ' ' | tr ',' '\n' | sort)
deb_deps=$(tr ',' '\n' <<<"$depends" | sed 's/(.*//; s/ //g' | grep -vx libc6 | sort)
[ -n "$readme_deps" ] || fail "README.md has no 'sudo apt-get install ./socktrace_*.deb   # pulls ...' line"
[ "$readme_deps" = "$deb_deps" ] ||
  fail "README.md's install line says it pulls $(echo $readme_deps); the package Depends on $(echo $deb_deps)"
say "README's dependency list matches Depends: $(echo $deb_deps)"

# apt would install it here with what the archive has (nothing is changed).
if [ "$(id -u)" = 0 ]; then
  apt-get -s -o Debug::NoLocking=1 install "$deb" "$libdeb" "$devdeb" >"$build/apt-sim.log" 2>&1 ||
    { cat "$build/apt-sim.log" >&2; fail "apt-get -s install of the three packages fails"; }
  say "apt-get -s install of the three packages: ok"
fi

# lintian: no error or warning but those the README explains (its Install
# section names each tag in backquotes).
explained="no-copyright-file bogus-mail-host bogus-mail-host-in-debian-changelog maintainer-script-empty"
for tag in $explained; do
  grep -q "\`$tag\`" "$root/README.md" || fail "README.md no longer explains lintian's $tag"
done
command -v lintian >/dev/null || fail "lintian is not installed (tools/setup.sh --tests installs it)"
lintian --fail-on none "$deb" "$libdeb" "$devdeb" >"$build/lintian.log" 2>&1 ||
  { cat "$build/lintian.log" >&2; fail "lintian could not look at the packages"; }
unexplained=$(grep -E '^[EW]: ' "$build/lintian.log" | awk '{print $3}' | sort -u | grep -vxF -f <(tr ' ' '\n' <<<"$explained") || true)
[ -z "$unexplained" ] || { grep -E '^[EW]: ' "$build/lintian.log" >&2; fail "lintian: $(echo $unexplained) (not explained in README.md; see $build/lintian.log)"; }
say "lintian: only what README.md explains ($(grep -cE '^[EW]: ' "$build/lintian.log") tags: $(grep -E '^[EW]: ' "$build/lintian.log" | awk '{print $3}' | sort -u | tr '\n' ' '))"

scratch=$(mktemp -d /tmp/st-deb-root.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for d in "$deb" "$libdeb" "$devdeb"; do dpkg -x "$d" "$scratch"; done
"$root/tests/install/check_install.sh" "$scratch/usr" "$root"
