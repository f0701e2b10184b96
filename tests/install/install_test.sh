#!/usr/bin/env bash
# ctest's install_tree: `cmake --install` of this build into a scratch
# prefix, then check_install.sh on it, as a user who installed from source
# would meet it. (tools/package.sh runs the same checks on the .deb.)
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
root=$(mktemp -d /tmp/st-install.XXXXXX)
trap 'rm -rf "$root"' EXIT
cmake --install "$build" --prefix "$root/usr" >"$root/install.log" ||
  { cat "$root/install.log" >&2; echo "install_test: cmake --install failed" >&2; exit 1; }
# Not exec: the trap removes the scratch prefix after the checks, too.
"$src/tests/install/check_install.sh" "$root/usr" "$src"
