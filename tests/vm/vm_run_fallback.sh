#!/usr/bin/env bash
# tools/vm-run.sh must never fail for the machine's sake: a KVM that QEMU
# cannot start (the MSR abort of nested hosts), a KVM guest that hangs
# before it runs anything, and a machine without /dev/kvm all still run
# the command, and vm-run says how. A QEMU stand-in plays the broken KVM;
# TCG is the real QEMU. Needs root (vm-run does); skips (77) without it
# unless CI=true.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" = true ] && { echo "vm_run_fallback: needs root (CI=true)" >&2; exit 1; }
  echo "vm_run_fallback: skipped, vm-run needs root"
  exit 77
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/st-vmrun-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
real_qemu=$(command -v qemu-system-x86_64 || echo /usr/bin/qemu-system-x86_64)

# A cache of our own, so the way remembered here is not the machine's; the
# kernel trees are the shared cache's (downloaded on first use).
shared=${ST_VM_CACHE:-/var/cache/socktrace-vm}
ls -d "$shared"/linux-image-* >/dev/null 2>&1 || "$root/tools/vm-run.sh" -- true >/dev/null 2>&1 || true
mkdir "$work/cache"
for t in "$shared"/linux-image-*; do
  [ -d "$t" ] && ln -s "$t" "$work/cache/"
done
ls "$work/cache"/linux-image-* >/dev/null 2>&1 || { echo "FAIL: no kernel in $shared" >&2; exit 1; }

# The stand-in: KVM with the default CPU model aborts as on a nested host;
# $HANG makes every KVM start hang instead; any other KVM start "works"
# (runs under TCG, as this host's KVM may not); TCG is passed through.
cat >"$work/qemu" <<STUB
#!/usr/bin/env bash
args=("\$@")
if printf '%s\n' "\$@" | grep -q '^q35,accel=kvm\$'; then
  if [ -n "\${HANG:-}" ]; then exec sleep 600; fi
  if printf '%s\n' "\$@" | grep -qx max; then
    echo "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69" >&2
    kill -ABRT \$\$
  fi
  args=("\${args[@]/q35,accel=kvm/q35,accel=tcg}")
  for i in "\${!args[@]}"; do [ "\${args[i]}" = -cpu ] && args[i+1]=max; done
fi
exec "$real_qemu" "\${args[@]}"
STUB
chmod 755 "$work/qemu"
: >"$work/kvm"

fails=0
check() { # name, expected status, pattern that must be in stderr (or ""), [one that must not]
  local name=$1 want=$2 must=$3 mustnot=${4:-} got=0
  "${run[@]}" >"$work/out" 2>"$work/err" || got=$?
  if [ "$got" -ne "$want" ] || { [ -n "$must" ] && ! grep -q -- "$must" "$work/err"; } ||
    { [ -n "$mustnot" ] && grep -q -- "$mustnot" "$work/err"; }; then
    echo "FAIL $name: status $got (want $want); stderr:" >&2
    sed 's/^/  /' "$work/err" >&2
    fails=$((fails + 1))
  else
    echo "ok   $name"
  fi
}
export ST_VM_CACHE="$work/cache" QEMU="$work/qemu"
run=(env ST_VM_KVM_DEVICE="$work/kvm" "$root/tools/vm-run.sh" -- sh -c 'uname -r; exit 7')
check "KVM aborts with the default CPU model: the next model runs the command" 7 \
  'ran with KVM (-cpu max,-arch-capabilities)'
check "the way that worked is tried first next time" 7 "" 'did not start'
rm -f "$work/cache/accel"
run=(env ST_VM_KVM_DEVICE="$work/kvm" HANG=1 ST_VM_START_TIMEOUT=3 "$root/tools/vm-run.sh" -- sh -c 'exit 7')
check "every KVM start hangs: TCG runs the command" 7 'ran with TCG (-cpu max)'
grep -q 'no command ran within 3 s' "$work/err" || { echo "FAIL: the hang was not named" >&2; fails=$((fails + 1)); }
run=(env ST_VM_KVM_DEVICE="$work/no-such-kvm" "$root/tools/vm-run.sh" -- sh -c 'exit 0')
check "no /dev/kvm: TCG" 0 'no usable .*no-such-kvm; using TCG'
run=(env ST_VM_KVM_DEVICE="$work/no-such-kvm" ST_VM_ACCEL=kvm "$root/tools/vm-run.sh" -- true)
check "ST_VM_ACCEL=kvm without KVM says so" 125 'ST_VM_ACCEL=kvm but'
[ "$fails" -eq 0 ] || exit 1
echo "vm_run_fallback: all passed"
