#!/bin/sh
# Runs one of the HTML report's browser tests (node + Debian's chromium).
# Without them it skips (exit 77) on a developer's machine and fails under
# CI=true, where it must run. Usage: run.sh SCRIPT.js ARGS...
script=$1
shift
missing=""
command -v node >/dev/null 2>&1 || missing="node (Debian package nodejs)"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
  missing="${missing:+$missing and }chromium (Debian package chromium)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "html test: $missing not installed under CI=true (tools/setup.sh installs it)" >&2
    exit 1
  fi
  echo "html test: skipped, $missing not installed (tools/setup.sh installs it)"
  exit 77
fi
exec node "$(dirname "$0")/$script" "$@"
