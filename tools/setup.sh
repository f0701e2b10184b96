#!/usr/bin/env bash
# Installs what socktrace needs to build and test on Debian/Ubuntu.
# Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config          # the build
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev  # BPF objects and loader
  libuv1-dev libpcap-dev libjansson-dev uthash-dev     # runtime libraries
  libzstd-dev liblzma-dev                   # compressed .sktrace blocks; .zst/.xz inputs (zlib: .gz)
  libcriterion-dev iproute2                 # tests (iproute2: network namespaces)
  qemu-system-x86 busybox-static            # the live eBPF tests on Debian 12's 6.1 kernel
  libnats-dev nats-server openssl           # nats:// streams; their tests' servers and TLS certificates
  prometheus                                # --metrics: a real server scrapes a live session in the tests
  chromium nodejs fonts-dejavu-core         # the HTML report's browser tests
  strace bpftrace tcpdump                   # the tools the benchmark compares with
  musl-tools golang-go                      # the ptrace tests trace a static musl and a Go program
  dpkg-dev                                  # the .deb: dpkg-shlibdeps computes its dependencies
  man-db groff-base                         # the install test renders the man pages (man -l)
  zsh bash-completion                       # the install test loads the shell completions
  tmux                                      # the tests of top's full screen (capture-pane reads it)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=300 update -q
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
