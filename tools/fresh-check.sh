#!/usr/bin/env bash
# A newcomer's first hour, replayed (issue #28): a minimal Debian 12 root
# (debootstrap --variant=minbase, plus git), this repository cloned into
# /root/socktrace as a user would clone it (root's home is 0700; no
# ../shared fixtures next to it), and the README's two commands run there:
# tools/demo.sh, then tools/test.sh. Then the packages tools/test.sh built
# there are installed into a second minimal root with the README's install
# steps (apt-get install ./socktrace_*.deb, socktrace demo), and lintian
# looks at them. Ends with one table of the steps; exits 1 if any failed.
#
#   tools/fresh-check.sh [--steps LIST] [--keep]
#     --steps   a comma list of root,clone,demo,test,deb,lintian (default:
#               all, in that order; a later step reuses what an earlier run
#               left when --keep kept it)
#     --keep    keep the roots (under $FRESH_DIR) for a look or a later step
# FRESH_DIR (default /var/tmp/st-fresh) holds the roots and the logs;
# debootstrap's downloads are cached in $FRESH_DIR/cache. Needs root, the
# network to a Debian mirror (DEBIAN_MIRROR, default deb.debian.org) and
# about 6 GB; the test step takes as long as tools/test.sh (an hour on two
# cores). Live tracing inside the root uses the host's kernel.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${FRESH_DIR:-/var/tmp/st-fresh}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
steps=root,clone,demo,test,deb,lintian keep=false
while [ $# -gt 0 ]; do
  case $1 in
  --steps) steps=${2:?--steps needs a list}; shift 2 ;;
  --keep) keep=true; shift ;;
  *) echo "fresh-check: unknown option $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, chroot, live tracing)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "fresh-check: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

user_root="$work/user" deb_root="$work/deb" logs="$work/logs"
mkdir -p "$work/cache" "$logs"
names=() results=() times=()
mounted=()

# The host's kernel interfaces in a root, for live tracing and VMs.
mount_into() {
  local r=$1 m
  # The root its own mount point, as a container's is: `ip netns add` and
  # the tests' private mounts make / rslave, which a plain directory is not.
  mount --bind "$r" "$r" && mount --make-private "$r" && mounted+=("$r")
  for m in dev sys; do
    mount --rbind "/$m" "$r/$m" && mount --make-rslave "$r/$m" && mounted+=("$r/$m")
  done
  mount -t proc proc "$r/proc" && mounted+=("$r/proc")
  mount -t tmpfs tmpfs "$r/run" && mounted+=("$r/run")
  cp /etc/resolv.conf "$r/etc/resolv.conf"
}
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -R "${mounted[$i]}" 2>/dev/null; done
  mounted=()
}
finish() {
  unmount_all
  $keep || rm -rf "$user_root" "$deb_root"
}
trap finish EXIT

# step NAME CMD...: runs CMD, its output in $logs/NAME.log; records the result.
step() {
  local name=$1 start=$SECONDS rc
  shift
  echo "fresh-check: === $name"
  "$@" >"$logs/$name.log" 2>&1
  rc=$?
  tail -n 5 "$logs/$name.log" | sed 's/^/  | /'
  names+=("$name")
  times+=("$((SECONDS - start))s")
  if [ "$rc" = 0 ]; then results+=(passed); else results+=("FAILED ($rc; $logs/$name.log)"); fi
  return "$rc"
}
wanted() { [[ ",$steps," == *",$1,"* ]]; }
in_root() { local r=$1; shift; chroot "$r" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb LANG=C.UTF-8 "$@"; }

make_root() { # a minimal Debian 12 with git (what the issue's newcomer had)
  local r=$1
  rm -rf "$r"
  debootstrap --variant=minbase --cache-dir="$work/cache" --include=git bookworm "$r" "$mirror"
}

clone() { # a plain clone in root's home, as root clones things (this commit)
  local dest=$user_root/root/socktrace
  rm -rf "$dest" &&
    git clone -q --no-local "$repo" "$dest" &&
    git -C "$dest" reset -q --hard "$(git -C "$repo" rev-parse HEAD)" &&
    chmod 0700 "$user_root/root" &&
    echo "cloned $(git -C "$dest" log --oneline -1) into /root/socktrace (no ../shared next to it)"
}

readme_command() { # tools/demo.sh or tools/test.sh in the clone, as the README says
  mount_into "$user_root"
  in_root "$user_root" /bin/bash -c "cd /root/socktrace && $1"
  local rc=$?
  unmount_all
  return $rc
}

install_deb() { # the README's install steps in a second fresh root
  local debs
  debs=$(ls "$user_root"/root/socktrace/build-pkg/*.deb 2>/dev/null)
  [ -n "$debs" ] || { echo "no package in /root/socktrace/build-pkg (did the test step build it?)"; return 1; }
  make_root "$deb_root" || return 1
  cp $debs "$deb_root/root/"
  mount_into "$deb_root"
  in_root "$deb_root" /bin/bash -c '
    set -e
    cd /root
    apt-get update -q
    apt-get install -y -q ./socktrace_*.deb $(ls ./libsocktrace*.deb 2>/dev/null | tr "\n" " ")
    socktrace --version
    socktrace demo
    apt-get install -y -q man-db >/dev/null
    man socktrace >/dev/null'
  local rc=$?
  unmount_all
  return $rc
}

lint() { # lintian on the packages: errors and warnings (what the README explains is allowed)
  local debs explained
  debs=$(ls "$user_root"/root/socktrace/build-pkg/*.deb 2>/dev/null)
  [ -n "$debs" ] || { echo "no package to look at"; return 1; }
  command -v lintian >/dev/null || { echo "lintian is not installed (apt-get install lintian)"; return 1; }
  # The tags README.md explains, as tools/package.sh --check lists them.
  explained=$(sed -n 's/^explained="\(.*\)"$/\1/p' "$repo/tools/package.sh")
  [ -n "$explained" ] || { echo "no list of explained tags in tools/package.sh"; return 1; }
  echo "allowed (README.md explains them): $explained"
  lintian --fail-on error,warning --suppress-tags "${explained// /,}" $debs
}

ok=true
if wanted root; then step root make_root "$user_root" || ok=false; fi
if $ok && wanted clone; then step clone clone || ok=false; fi
if $ok && wanted demo; then step demo readme_command tools/demo.sh || true; fi
if $ok && wanted test; then step test readme_command tools/test.sh || true; fi
if $ok && wanted deb; then step deb install_deb || true; fi
if $ok && wanted lintian; then step lintian lint || true; fi

echo
echo "fresh-check: results (logs in $logs/)"
printf '  %-8s %-8s %s\n' step time result
failed=0
for i in "${!names[@]}"; do
  printf '  %-8s %-8s %s\n' "${names[$i]}" "${times[$i]}" "${results[$i]}"
  case ${results[$i]} in FAILED*) failed=1 ;; esac
done
$ok || failed=1
exit $failed
