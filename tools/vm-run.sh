#!/usr/bin/env bash
# Runs a command as root inside a QEMU VM booted on another kernel, so the
# live eBPF tests can run on the kernels users have (Debian 12's 6.1 by
# default). The host's filesystem is visible at the same paths, read-only;
# /tmp is the host's /tmp, writable and shared. Exits with CMD's status.
#
#   tools/vm-run.sh [--kernel 5.10|6.1|6.12|PATH] [--mem SIZE] [--cpus N] [--timeout S] -- CMD [ARGS...]
#
# --kernel 5.10|6.1|6.12 takes the newest Debian kernel of that series
# (Debian 11, 12, 13: linux-image-5.10.0-N-amd64, linux-image-6.1.0-N-amd64,
# linux-image-6.12.N+deb13-amd64) from the host's Debian mirror (apt-get
# download, unpacked and cached under $ST_VM_CACHE, default
# /var/cache/socktrace-vm; `--fetch-only` stops there, for setup). PATH is
# a kernel .deb, or a directory holding boot/vmlinuz-VERSION and
# lib/modules/VERSION.
#
# Acceleration: KVM when /dev/kvm is usable, else QEMU's TCG (about 4 s to
# boot here), its vCPUs in one host thread (thread=single: see below). A KVM that QEMU cannot start with its default CPU model (a
# nested-virtualisation host: "failed to set MSR 0x10a") is not the test's
# failure: when the VM never reached the command, the next of these is tried
# and vm-run says which one ran: KVM with -cpu max, KVM with
# -cpu max,-arch-capabilities, KVM with -cpu host,-arch-capabilities, TCG.
# A way whose guest has not reached the command after ST_VM_START_TIMEOUT
# seconds (default 30) counts as failed too; the way that worked is
# remembered in the cache and tried first next time. ST_VM_ACCEL=kvm|tcg
# keeps to one kind; QEMU names the emulator binary and ST_VM_KVM_DEVICE the KVM device
# (both for tests of this fallback). ST_VM_APPEND adds to the guest
# kernel's command line (loglevel=7: its messages; ST_VM_CONSOLE=FILE keeps
# a copy of the console log).
#
# Inside: proc, sys, devtmpfs, a tmpfs /run, bpffs and cgroup2 are mounted,
# loopback is up, the kernel's own modules are at /lib/modules and load on
# demand (busybox modprobe), and tracefs is left unmounted (socktrace
# mounts it itself). Environment variables and the working directory are
# carried over. Status 125 means the VM itself failed (no kernel, no QEMU,
# no exit status from the guest).
set -euo pipefail

kernel=6.1
mem=2G
cpus=2
timeout_s=1800
fetch_only=""
usage() {
  echo "usage: tools/vm-run.sh [--kernel 5.10|6.1|6.12|PATH] [--mem SIZE] [--cpus N] [--timeout S] -- CMD [ARGS...]" >&2
  echo "       tools/vm-run.sh [--kernel 5.10|6.1|6.12|PATH] --fetch-only" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
  --kernel) kernel=${2:?}; shift 2 ;;
  --mem) mem=${2:?}; shift 2 ;;
  --cpus) cpus=${2:?}; shift 2 ;;
  --timeout) timeout_s=${2:?}; shift 2 ;;
  --fetch-only) fetch_only=1; shift ;;
  --) shift; break ;;
  -h | --help) usage ;;
  *) usage ;;
  esac
done
[ $# -gt 0 ] || [ -n "$fetch_only" ] || usage

fail() {
  echo "vm-run: $*" >&2
  exit 125
}
[ "$(id -u)" -eq 0 ] || fail "needs root (it shares the host's / with the VM read-only)"

need_pkgs=()
qemu=${QEMU:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || need_pkgs+=(qemu-system-x86)
case " $(/bin/busybox --list 2>/dev/null | tr '\n' ' ') " in
*" modprobe "*) ;;
*) need_pkgs+=(busybox-static) ;;
esac
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "vm-run: installing ${need_pkgs[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "${need_pkgs[@]}" >/dev/null || fail "cannot install ${need_pkgs[*]}"
fi
[ "$(uname -m)" = x86_64 ] || fail "only x86_64 hosts are supported"

cache=${ST_VM_CACHE:-/var/cache/socktrace-vm}
mkdir -p "$cache"

# The kernel tree: boot/vmlinuz-V and lib/modules/V under $tree.
unpack_deb() { # deb -> tree
  local deb=$1 tree=$2
  rm -rf "$tree.tmp"
  mkdir -p "$tree.tmp"
  dpkg-deb -x "$deb" "$tree.tmp" || fail "cannot unpack $deb"
  # Debian 13 keeps modules under /usr/lib/modules, compressed: move them
  # where the guest looks and decompress them for busybox's modprobe.
  if [ -d "$tree.tmp/usr/lib/modules" ] && [ ! -d "$tree.tmp/lib/modules" ]; then
    mkdir -p "$tree.tmp/lib"
    mv "$tree.tmp/usr/lib/modules" "$tree.tmp/lib/modules"
  fi
  find "$tree.tmp/lib/modules" -name '*.ko.xz' -exec xz -d {} + || fail "cannot decompress the modules of $deb"
  find "$tree.tmp/lib/modules" -name '*.ko.zst' -exec zstd -q -d --rm {} + || fail "cannot decompress the modules of $deb"
  local v
  v=$(ls "$tree.tmp/lib/modules" | head -n 1)
  [ -n "$v" ] || fail "$deb has no lib/modules"
  busybox depmod -b "$tree.tmp" "$v" || fail "depmod failed for $deb"
  mv "$tree.tmp" "$tree"
}
# A Debian kernel package by series: Debian 11's 5.10, 12's 6.1, 13's 6.12.
# The host's own apt knows its release's series; another release's comes
# from the same mirror through a private apt state under the cache (the
# host's apt configuration is not touched).
debian_kernel() { # series -> $pkg, and $apt_opts for apt-get download
  local series=$1 suite pattern
  case "$series" in
  5.10) suite=bullseye pattern='^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
  6.1) suite=bookworm pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  6.12) suite=trixie pattern='^linux-image-6\.12\.[0-9]+\+deb13-amd64$' ;;
  esac
  local codename
  codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
  apt_opts=()
  if [ "$codename" != "$suite" ]; then
    local mirror state="$cache/apt-$suite"
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
      grep -m 1 -E '/debian/?$' || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian/
    mkdir -p "$state/lists/partial" "$state/archives/partial" "$state/parts"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $suite main" \
      >"$state/sources.list"
    apt_opts=(-o "Dir::State=$state" -o "Dir::Cache=$state" -o "Dir::State::status=/var/lib/dpkg/status"
      -o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/parts")
  fi
  local name
  for attempt in cached updated; do
    name=$(apt-cache "${apt_opts[@]}" search --names-only "$pattern" 2>/dev/null |
      awk '{print $1}' | sort -V | tail -n 1)
    [ -n "$name" ] || [ "$attempt" = updated ] || apt-get "${apt_opts[@]}" -o DPkg::Lock::Timeout=300 update -q >/dev/null 2>&1 || true
    [ -n "$name" ] && break
  done
  [ -n "$name" ] || fail "apt finds no Linux $series package ($suite) on the mirror; pass --kernel PATH"
  pkg=$name
}
case "$kernel" in
5.10 | 6.1 | 6.12)
  debian_kernel "$kernel"
  tree="$cache/$pkg"
  if [ ! -d "$tree" ]; then
    dl=$(mktemp -d)
    (cd "$dl" && apt-get "${apt_opts[@]}" download -q "$pkg" >/dev/null 2>&1) || fail "cannot download $pkg (apt-get download)"
    unpack_deb "$dl"/*.deb "$tree"
    rm -rf "$dl"
  fi
  ;;
*.deb)
  [ -f "$kernel" ] || fail "no such file: $kernel"
  tree="$cache/$(basename "$kernel" .deb)"
  [ -d "$tree" ] || unpack_deb "$kernel" "$tree"
  ;;
*)
  [ -d "$kernel" ] || fail "--kernel takes 5.10, 6.1, 6.12, a kernel .deb or an unpacked kernel directory"
  tree=$kernel
  ;;
esac
version=$(ls "$tree/lib/modules" | head -n 1)
vmlinuz="$tree/boot/vmlinuz-$version"
[ -f "$vmlinuz" ] || fail "no boot/vmlinuz-$version in $tree"
[ -f "$tree/lib/modules/$version/modules.dep" ] || busybox depmod -b "$tree" "$version"

# The initramfs: busybox, the modules that mount the host's filesystem
# (9p over virtio) with what they depend on, and the init below.
initrd="$tree/socktrace-initrd.cpio.gz"
if [ ! -f "$initrd" ] || [ "$0" -nt "$initrd" ]; then
  ir=$(mktemp -d)
  mkdir -p "$ir"/{bin,dev,proc,sys,newroot,lib/modules/"$version"}
  cp /bin/busybox "$ir/bin/busybox"
  for a in sh mount umount mkdir modprobe poweroff chroot cat echo sleep sed stty; do
    ln -s busybox "$ir/bin/$a"
  done
  mods=$(cd "$tree/lib/modules/$version" &&
    awk -F': *' '/^kernel\/(fs\/9p\/9p|net\/9p\/9pnet_virtio|drivers\/virtio\/virtio_pci)\.ko:/ {
      print $1; n = split($2, d, " "); for (i = 1; i <= n; i++) print d[i] }' modules.dep | sort -u)
  for m in $mods; do
    mkdir -p "$ir/lib/modules/$version/$(dirname "$m")"
    cp "$tree/lib/modules/$version/$m" "$ir/lib/modules/$version/$m"
  done
  cp "$tree/lib/modules/$version/modules.dep" "$ir/lib/modules/$version/"
  cat >"$ir/init" <<'EOF'
#!/bin/sh
# socktrace vm-run init: mount the host's / read-only and /tmp writable over
# 9p, then run the command the host left in /tmp/<dir>/run.sh.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_pci 9pnet_virtio 9p; do modprobe $m; done
dir=$(sed -n 's/.*st_run=\([^ ]*\).*/\1/p' /proc/cmdline)
o=trans=virtio,version=9p2000.L,msize=512000
if ! mount -t 9p -o ro,$o,cache=loose hostroot /newroot ||
   ! mount -t 9p -o $o,cache=loose hosttmp /newroot/tmp; then
  echo "vm-run: cannot mount the host's filesystem" >/dev/console
  poweroff -f
fi
# The host reads this as "the VM ran": a start that fails before it may be
# retried with another accelerator, one that fails after it may not.
: >"/newroot$dir/started"
# Modules the kernel asks for while the command runs (nf_tables for a
# netfilter socket, say) load as on an installed system: its modprobe runs
# here, in the initramfs, so the host's copy of the whole tree goes here.
mods=$(sed -n 's/.*st_mods=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$mods" ] && mount -o bind "/newroot$mods" /lib/modules; then
  echo /bin/modprobe >/proc/sys/kernel/modprobe
fi
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts
mount -t devpts devpts /newroot/dev/pts 2>/dev/null
mkdir -p /newroot/dev/shm
mount -t tmpfs shm /newroot/dev/shm
mount -t tmpfs run /newroot/run
mount -t tmpfs vartmp /newroot/var/tmp 2>/dev/null
mount -t bpf bpf /newroot/sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null
stty -F /dev/ttyS1 raw -echo 2>/dev/null
chroot /newroot /bin/sh "$dir/run.sh" </dev/null >/dev/ttyS1 2>&1
echo $? >/newroot/$dir/status
sync
poweroff -f
EOF
  chmod 755 "$ir/init"
  (cd "$ir" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp")
  mv "$initrd.tmp" "$initrd"
  rm -rf "$ir"
fi

[ -z "$fetch_only" ] || exit 0

# What the guest runs: the caller's environment, directory and command.
run=$(mktemp -d /tmp/vm-run.XXXXXX)
trap 'rm -rf "$run"' EXIT
{
  export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_|TERM)='
  echo 'export HOME=/tmp TERM=dumb'
  echo 'ip link set lo up'
  printf 'mount --bind %q /lib/modules 2>/dev/null\n' "$tree/lib/modules"
  echo "hostname vm-${version//[^a-zA-Z0-9.-]/-}"
  printf 'cd %q || exit 125\n' "$PWD"
  echo 'before=$(ls -d /proc/[0-9]* | wc -l)'
  printf '%q ' "$@"
  echo
  # What the command left running to clean up after it (the tests' reapers
  # remove their scratch directories once their test has exited) gets up to
  # 5 s before the guest powers off under it.
  echo 'status=$?'
  echo 'i=0; while [ "$(ls -d /proc/[0-9]* | wc -l)" -gt "$before" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done'
  echo 'exit $status'
} >"$run/run.sh"
sed -i 's/^declare -x /export /' "$run/run.sh"

# The ways to start the VM, best first (see the header).
kvm_dev=${ST_VM_KVM_DEVICE:-/dev/kvm}
starts=()
case "${ST_VM_ACCEL:-}" in
tcg) ;;
kvm | "")
  if [ -w "$kvm_dev" ]; then
    starts+=("kvm max" "kvm max,-arch-capabilities" "kvm host,-arch-capabilities")
  elif [ "${ST_VM_ACCEL:-}" = kvm ]; then
    fail "ST_VM_ACCEL=kvm but $kvm_dev is not there or not writable"
  else
    echo "vm-run: no usable $kvm_dev; using TCG (software emulation)" >&2
  fi
  ;;
*) fail "ST_VM_ACCEL takes kvm or tcg, not '${ST_VM_ACCEL}'" ;;
esac
[ "${ST_VM_ACCEL:-}" = kvm ] || starts+=("tcg max")
# The way that last worked on this host with this QEMU goes first, so a
# host whose KVM hangs pays for finding out once, not at every run.
remembered="$cache/accel"
host_id="$("$qemu" --version | head -n 1) $(uname -r)"
if [ -f "$remembered" ] && [ "$(sed -n 2p "$remembered")" = "$host_id" ]; then
  way=$(sed -n 1p "$remembered")
  reordered=()
  for s in "${starts[@]}"; do
    [ "$s" = "$way" ] && reordered=("$way" "${reordered[@]}") || reordered+=("$s")
  done
  starts=("${reordered[@]}")
fi

start_timeout=${ST_VM_START_TIMEOUT:-30}
status=0
tried=""
for start in "${starts[@]}"; do
  accel=${start%% *}
  cpu=${start#* }
  rm -f "$run/started" "$run/status" "$run/console.log"
  status=0 hung=""
  # TCG in one host thread: with a thread per vCPU, a vCPU can run kernel
  # code another has just patched (a static key flipped by attaching or
  # detaching a tracepoint) before it sees the patch: seen as "Oops: int3"
  # in syscall_trace_enter on 6.12.
  machine=(-machine "q35,accel=$accel")
  [ "$accel" = tcg ] && machine=(-machine q35 -accel tcg,thread=single)
  timeout "$timeout_s" "$qemu" \
    "${machine[@]}" -cpu "$cpu" -smp "$cpus" -m "$mem" \
    -display none -no-reboot -nodefaults -serial file:"$run/console.log" -serial stdio -bios /usr/share/qemu/qboot.rom \
    -kernel "$vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1 st_run=$run st_mods=$tree/lib/modules ${ST_VM_APPEND:-}" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
    -virtfs local,path=/tmp,mount_tag=hosttmp,security_model=mapped-xattr,multidevs=remap \
    </dev/null 2>"$run/qemu.err" &
  qpid=$!
  # A KVM guest may also hang before it runs anything (seen: stuck after
  # "Probing EDD" on a nested host). TCG, the last resort, gets no such
  # limit: on a loaded machine its boot is slow, not stuck.
  if [ "$accel" = kvm ]; then
    waited=0 hung=""
    while [ ! -f "$run/started" ] && kill -0 "$qpid" 2>/dev/null; do
      if [ "$waited" -ge $((start_timeout * 10)) ]; then
        hung="no command ran within ${start_timeout} s"
        kill "$qpid" 2>/dev/null || true
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
  fi
  wait "$qpid" || status=$?
  if [ -f "$run/started" ]; then
    [ -z "$tried" ] || echo "vm-run: ran with ${accel^^} (-cpu $cpu)" >&2
    [ "$start" = "${starts[0]}" ] || printf '%s\n%s\n' "$start" "$host_id" >"$remembered"
    cat "$run/qemu.err" >&2
    break
  fi
  # It never reached the command: say why, then try the next way.
  why=${hung:-}$(grep -v -e '^\s*$' -e 'terminating on signal' "$run/qemu.err" | head -n 2 | tr '\n' ' ' || true)
  echo "vm-run: QEMU with ${accel^^} (-cpu $cpu) did not start the VM (status $status${why:+: $why})" >&2
  tried="$tried $accel"
  if [ "$status" -eq 124 ]; then break; fi
done
if [ -f "$run/status" ]; then
  [ -n "${ST_VM_CONSOLE:-}" ] && cp "$run/console.log" "$ST_VM_CONSOLE"
  exit "$(cat "$run/status")"
fi
echo "vm-run: the guest's console said:" >&2
tail -n 60 "$run/console.log" >&2 || true
[ "$status" -eq 124 ] && fail "the VM did not finish within $timeout_s s"
fail "the VM ended without the command's exit status (QEMU status $status)"
