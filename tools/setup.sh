#!/usr/bin/env bash
# Installs what socktrace needs on Debian/Ubuntu:
#   setup.sh --demo    what the demo needs: a compiler, the BPF tools and
#                      the libraries the program links (tools/demo.sh)
#   setup.sh --tests   that and what the tests need (tools/test.sh), then
#                      the kernels of the VM tests, fetched and cached, so
#                      that the test stage needs no network
#   setup.sh           the same as --tests
#   ... --list         prints the packages, one a line, and installs nothing
# Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=--tests list=false
for a in "$@"; do
  case $a in
  --demo | --tests) what=$a ;;
  --list) list=true ;;
  *) echo "setup: unknown option $a; usage: tools/setup.sh [--demo|--tests] [--list]" >&2; exit 2 ;;
  esac
done

# One group a line, what it is for after it.
demo=(
  build-essential cmake pkg-config          # the build
  clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev  # BPF objects and loader
  libuv1-dev libpcap-dev libjansson-dev uthash-dev     # runtime libraries
  libzstd-dev liblzma-dev                   # compressed .sktrace blocks; .zst/.xz inputs (zlib: .gz)
  libnats-dev                               # nats:// streams
  libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler  # otlp:// (OTLP/HTTP protobuf)
)
tests=(
  libcriterion-dev iproute2                 # tests (iproute2: network namespaces)
  qemu-system-x86 busybox-static            # the live eBPF tests on Debian 12's 6.1 kernel
  nats-server openssl                       # the nats:// tests' servers and TLS certificates
  prometheus                                # --metrics: a real server scrapes a live session in the tests
  chromium nodejs fonts-dejavu-core         # the HTML report's browser tests
  strace bpftrace tcpdump                   # the tools the benchmark compares with
  musl-tools golang-go                      # the ptrace tests trace a static musl and a Go program
  dpkg-dev file lintian                     # the .deb: dpkg-shlibdeps; cpack needs file(1); lintian
  man-db groff-base                         # the install test renders the man pages (man -l)
  zsh bash-completion                       # the install test loads the shell completions
  libclang-rt-14-dev                        # tools/fuzz.sh: libFuzzer (clang only recommends it)
  tmux                                      # the tests of top's full screen (capture-pane reads it)
  podman runc                               # containers: a real runtime names events' containers
                                            # (busybox-static above builds their image)
)
packages=("${demo[@]}")
[ "$what" = --tests ] && packages+=("${tests[@]}")
if $list; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -q
  $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
fi

# The OTLP test's decoder: OpenTelemetry's own protobuf definitions from npm
# (tests/otlp), into a cache the test looks in before it would fetch them.
# Debian's nodejs comes without npm (a nodejs from elsewhere may bring it).
if [ "$what" = --tests ]; then
  if ! command -v npm >/dev/null; then
    echo "setup: installing npm"
    npm_sudo=""
    [ "$(id -u)" -eq 0 ] || npm_sudo=sudo
    $npm_sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends npm
  fi
  otlp_cache=/var/cache/socktrace-test/otlp-node
  if [ "$(id -u)" -eq 0 ] &&
    [ ! -f "$otlp_cache/node_modules/@opentelemetry/otlp-transformer/package.json" ]; then
    echo "setup: fetching @opentelemetry/otlp-transformer@0.57.2 into $otlp_cache (the OTLP test's decoder)"
    mkdir -p "$otlp_cache"
    npm install --no-audit --no-fund --prefix "$otlp_cache" @opentelemetry/otlp-transformer@0.57.2 >/dev/null ||
      echo "setup: npm could not fetch it; test_otlp will try again when it runs" >&2
  fi
fi

# The VM tests' kernels (Debian's packages, hundreds of MB unpacked): fetched
# now into vm-run.sh's cache rather than during ctest.
if [ "$what" = --tests ]; then
  if grep -q -- '--fetch-only' "$root/tools/vm-run.sh"; then
    for k in 5.10 6.1 6.12; do
      "$root/tools/vm-run.sh" --kernel "$k" --fetch-only
    done
  else
    echo "setup: this tools/vm-run.sh cannot fetch ahead (no --fetch-only); the VM tests fetch their kernel when they run"
  fi
fi
