#!/bin/sh
# Runs test suites inside a VM booted on another kernel (tools/vm-run.sh), so
# the live eBPF tests also run on the kernels users have. Needs root; under
# CI=true it must run, elsewhere it skips (77) without root.
# Usage: on_kernel.sh KERNEL SUITE [SUITE...]
kernel=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "on_kernel: the live eBPF suites on Linux $kernel need root (CI=true)" >&2
    exit 1
  fi
  echo "on_kernel: skipped, the live eBPF suites on Linux $kernel need root"
  exit 77
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
cmd=""
for suite in "$@"; do
  cmd="$cmd && '$suite' --jobs=1"
done
# Within ctest's 900 s, so that a guest that hangs is vm-run's failure, which
# shows the guest's console; with the kernel's warnings in it (a lockup's
# stack), not only its emergencies.
export ST_VM_APPEND="${ST_VM_APPEND:-loglevel=4}"
exec "$root/tools/vm-run.sh" --kernel "$kernel" --timeout 870 -- sh -c "uname -r ${cmd}"
