#!/usr/bin/env bash
# tools/setup.sh in two parts: the demo's command installs what the demo
# needs and no test toolchain (browser, VM, servers); the test command
# installs that and everything the later stages use (file for cpack,
# libclang-rt for libFuzzer).
#   setup_split.sh SOURCE_DIR
set -euo pipefail
src=$1
fail() { echo "setup_split: $*" >&2; exit 1; }
demo=$("$src/tools/setup.sh" --demo --list)
tests=$("$src/tools/setup.sh" --tests --list)
for p in cmake clang libbpf-dev libuv1-dev libpcap-dev libjansson-dev; do
  grep -qx "$p" <<<"$demo" || fail "the demo needs $p"
done
for p in libcriterion-dev chromium nodejs qemu-system-x86 nats-server bpftrace strace man-db; do
  ! grep -qx "$p" <<<"$demo" || fail "the demo installs $p, a test's package"
done
for p in $demo file libclang-rt-14-dev dpkg-dev libcriterion-dev; do
  grep -qx "$p" <<<"$tests" || fail "the tests need $p"
done
grep -q 'tools/setup.sh" --demo$' "$src/tools/demo.sh" || fail "demo.sh does not ask for --demo"
grep -q 'tools/setup.sh" --tests' "$src/tools/test.sh" || fail "test.sh does not ask for --tests"
# The demo's packages have no Criterion: its build leaves the suites out,
# and the test command's build (the same directory) puts them back.
grep -q 'tools/build.sh" -DST_TESTS=OFF' "$src/tools/demo.sh" || fail "demo.sh builds the test suites"
grep -q 'tools/build.sh" -DST_TESTS=ON' "$src/tools/test.sh" || fail "test.sh does not ask for the suites"
echo "setup_split: ok ($(wc -l <<<"$demo") packages for the demo, $(wc -l <<<"$tests") for the tests)"
