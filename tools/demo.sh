#!/usr/bin/env bash
# The demo command: installs what is missing, builds, and traces the
# built-in workload (a refused connect, a loopback exchange, a UDP datagram,
# a reset) with the live eBPF backend. Tracing needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh" --demo
# No test suites: the demo's packages do not include Criterion.
"$root/tools/build.sh" -DST_TESTS=OFF
bin="${BUILD_DIR:-$root/build}/socktrace"
if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$bin" demo --summary "$@"
fi
exec "$bin" demo --summary "$@"
