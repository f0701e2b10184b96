#!/usr/bin/env bash
# Checks an installed socktrace as a user meets it: PREFIX is where it was
# installed (/usr inside an unpacked .deb, or a `cmake --install --prefix`).
#   check_install.sh PREFIX SOURCE_DIR
# The program runs --version and replays a fixture; every man page renders
# without a warning; pkg-config and find_package(socktrace) both find the
# library, and the installed example program builds both ways (and static)
# and prints the fixture's events exactly as `socktrace replay` does; the
# shared library has its soname and exports what the headers declare, no
# more; each header compiles on its own, as C (gnu11: uv.h needs POSIX
# types) and C++; the completions load and complete; the systemd unit and
# the docs are in place. As root, `socktrace demo` traces live.
# Exit 0 when all holds; the first failure says what and exits 1.
set -euo pipefail
prefix=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
fix="$src/tests/fixtures"
work=$(mktemp -d /tmp/st-install-check.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "check_install: $*" >&2; exit 1; }
ok() { echo "check_install: ok: $*"; }
# grep -q in a pipeline stops reading early: with pipefail the writer's
# SIGPIPE would fail the test. This reads all of its input.
has() { grep "$@" >/dev/null; }

bin="$prefix/bin/socktrace"
[ -x "$bin" ] || fail "no program at $bin"
pc=$(find "$prefix" -name socktrace.pc -path '*/pkgconfig/*' | head -1)
[ -n "$pc" ] || fail "no socktrace.pc under $prefix"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH="$pcdir"
# A package's .pc names /usr as it is (no ../.. in what pkg-config says);
# unpacked into a scratch root, pkg-config is pointed at that root.
if has -x 'prefix=/usr' "$pc"; then
  [ "$(pkg-config --variable=includedir socktrace)" = /usr/include ] ||
    fail "socktrace.pc: includedir is $(pkg-config --variable=includedir socktrace), not /usr/include"
  if [ "$prefix" != /usr ]; then
    export PKG_CONFIG_SYSROOT_DIR="${prefix%/usr}"
    export PKG_CONFIG_SYSTEM_INCLUDE_PATH=/nonexistent PKG_CONFIG_SYSTEM_LIBRARY_PATH=/nonexistent
  fi
fi
version=$(pkg-config --modversion socktrace)

# 1. The program.
first=$("$bin" --version | head -1)
[ "$first" = "socktrace $version" ] || fail "--version says '$first', pkg-config says $version"
"$bin" --version | has '^file readers: .*sktrace' || fail "--version lists no file readers"
"$bin" replay "$fix/demo.jsonl" -f text --color never >"$work/replay.txt"
diff -u "$fix/demo.txt" "$work/replay.txt" >&2 || fail "replay of demo.jsonl differs from demo.txt"
"$bin" replay "$fix/demo.jsonl" -q -o "$work/demo.sktrace"
ok "socktrace $version: --version, replay of the fixture"

# 2. Man pages: present, and rendered by man without a warning.
for page in man1/socktrace.1 man3/libsocktrace.3 man5/sktrace.5 man7/socktrace-events.7; do
  file=$(ls "$prefix/share/man/$page"* 2>/dev/null | head -1)
  [ -n "$file" ] || fail "no man page $page under $prefix/share/man"
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$file" >"$work/page.txt" 2>"$work/page.err" ||
    fail "man -l $file failed: $(cat "$work/page.err")"
  [ ! -s "$work/page.err" ] || fail "man -l $file warns: $(cat "$work/page.err")"
  grep -q '^NAME' "$work/page.txt" || fail "man -l $file rendered no NAME section"
done
ok "man pages render: socktrace(1) libsocktrace(3) sktrace(5) socktrace-events(7)"

# 3. The library: soname, and exactly the functions the headers declare.
major=${version%%.*}
so="$libdir/libsocktrace.so.$major"
[ -e "$so" ] || fail "no $so"
readelf -d "$so" | has "SONAME.*\[libsocktrace.so.$major\]" || fail "$so has no soname libsocktrace.so.$major"
[ -e "$libdir/libsocktrace.a" ] || fail "no static library in $libdir"
cat "$prefix"/include/socktrace/*.h | perl -0pe 's{/\*.*?\*/}{}gs' |
  grep -oE '(^|[^A-Za-z0-9_])st_[a-z0-9_]+ *\(' | grep -oE 'st_[a-z0-9_]+' | sort -u >"$work/declared"
nm -D --defined-only "$so" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$work/exported"
diff -u "$work/declared" "$work/exported" >&2 ||
  fail "the library's exports (+) differ from the public headers' functions (-)"
ok "libsocktrace.so.$major: soname, $(wc -l <"$work/exported") exported functions = the headers'"

# 4. Each public header compiles on its own, as C11 and as C++.
for h in "$prefix"/include/socktrace/*.h; do
  name=socktrace/$(basename "$h")
  printf '#include <%s>\ntypedef int one_header_only;\n' "$name" >"$work/one.c"
  cc -std=gnu11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I"$prefix/include" "$work/one.c" ||
    fail "$name does not compile on its own (C)"
  if command -v c++ >/dev/null; then
    c++ -x c++ -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" "$work/one.c" ||
      fail "$name does not compile on its own (C++)"
  fi
done
ok "every header compiles alone (gnu11$(command -v c++ >/dev/null && echo ', C++'))"

# 5. The example, as a user builds it: pkg-config, then CMake (shared and
# static), each run on the JSON Lines fixture and on a .sktrace.
example="$prefix/share/doc/socktrace/example"
[ -f "$example/print_trace.c" ] || fail "no example at $example"
expect_output() { # program trace-file what
  local out="$work/out.txt"
  LD_LIBRARY_PATH="$libdir" "$1" "$2" >"$out" || fail "$3: exited $?"
  head -1 "$out" | has '^# \(jsonl\|sktrace\) trace from ' || fail "$3: header line: $(head -1 "$out")"
  tail -n +2 "$out" | diff -u "$fix/demo.txt" - >&2 || fail "$3: events differ from demo.txt"
  # --json: JSON Lines, every line an event object (no "#" header line).
  LD_LIBRARY_PATH="$libdir" "$1" --json "$2" >"$work/json.txt"
  has -v '^{"ts":' "$work/json.txt" && fail "$3 --json: a line that is not an event: $(grep -v '^{"ts":' "$work/json.txt" | head -1)"
  "$bin" replay "$2" -f jsonl | tail -n +2 | diff -u - "$work/json.txt" >&2 ||
    fail "$3 --json: differs from socktrace replay -f jsonl"
}
cc -Wall -Wextra -Werror "$example/print_trace.c" $(pkg-config --cflags --libs socktrace) \
  -o "$work/pt-pkgconfig"
LD_LIBRARY_PATH="$libdir" ldd "$work/pt-pkgconfig" | has "libsocktrace.so.$major => $libdir/" ||
  fail "the pkg-config build does not use $libdir/libsocktrace.so.$major"
for t in "$fix/demo.jsonl" "$work/demo.sktrace"; do
  expect_output "$work/pt-pkgconfig" "$t" "example built with pkg-config on $(basename "$t")"
done
head -1 <(LD_LIBRARY_PATH="$libdir" "$work/pt-pkgconfig" "$fix/demo.jsonl") |
  has -x '# jsonl trace from demo-host: linux, ebpf backend, level 5' ||
  fail "the example's header line for demo.jsonl is wrong"
ok "pkg-config: the example builds and prints the fixture's events (.jsonl, .sktrace)"

for kind in shared static; do
  flag=OFF
  [ $kind = static ] && flag=ON
  cmake -S "$example" -B "$work/cm-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
    -DPRINT_TRACE_STATIC=$flag >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; fail "find_package(socktrace) failed ($kind)"; }
  cmake --build "$work/cm-$kind" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "the example's CMake build failed ($kind)"; }
  for t in "$fix/demo.jsonl" "$work/demo.sktrace"; do
    expect_output "$work/cm-$kind/print_trace" "$t" "example built with find_package ($kind) on $(basename "$t")"
  done
done
readelf -d "$work/cm-static/print_trace" | has libsocktrace && fail "the static example still needs libsocktrace.so"
ok "find_package(socktrace): the example builds (socktrace::socktrace and _static) and prints them"

# 6. Shell completion: loads, and completes commands, formats and options.
bash_comp="$prefix/share/bash-completion/completions/socktrace"
[ -f "$bash_comp" ] || fail "no bash completion at $bash_comp"
complete_words() { # completion-file helpers(yes|no) words...
  local comp=$1 helpers=$2
  shift 2
  PATH="$prefix/bin:$PATH" bash --norc --noprofile -c '
    [ "$1" = yes ] && [ -f /usr/share/bash-completion/bash_completion ] &&
      . /usr/share/bash-completion/bash_completion
    . "$0"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _socktrace socktrace "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' "$comp" "$helpers" "$@"
}
for helpers in no yes; do
  [ "$(complete_words "$bash_comp" $helpers socktrace repl)" = replay ] || fail "bash: 'socktrace repl' does not complete to replay"
  complete_words "$bash_comp" $helpers socktrace replay -f "" | has -x chrome || fail "bash: -f does not offer chrome"
  complete_words "$bash_comp" $helpers socktrace trace --max- | has -x -- --max-size || fail "bash: --max- does not offer --max-size"
  complete_words "$bash_comp" $helpers socktrace trace -e AfdConnectW | has -x AfdConnectWithAddress ||
    fail "bash: -e does not offer event names"
done
zsh_comp=$(ls "$prefix"/share/zsh/*/_socktrace 2>/dev/null | head -1)
[ -n "$zsh_comp" ] || fail "no zsh completion under $prefix/share/zsh"
if command -v zsh >/dev/null; then
  zsh -n "$zsh_comp" || fail "zsh completion has a syntax error"
  zsh -f -c "fpath=($(dirname "$zsh_comp") \$fpath); autoload -U compinit; compinit -u -D; [[ \${_comps[socktrace]} == _socktrace ]]" ||
    fail "zsh: compinit does not bind _socktrace to socktrace"
  ok "completion: bash completes commands, formats, options, events; zsh loads"
else
  [ "${CI:-}" != true ] || fail "zsh is missing under CI=true (tools/setup.sh installs it)"
  ok "completion: bash completes commands, formats, options, events (zsh not installed: not checked)"
fi

# 7. The boot-time session unit, running the installed program.
unit="$prefix/lib/systemd/system/socktrace@.service"
[ -f "$unit" ] || fail "no systemd unit at $unit"
grep -E '^ExecStart=/.*/bin/socktrace start %i --foreground' "$unit" >/dev/null ||
  fail "$unit does not start socktrace: $(grep ExecStart "$unit")"
for doc in README.md sktrace-format.md sessions.md ci.md; do
  [ -f "$prefix/share/doc/socktrace/$doc" ] || fail "no $doc in $prefix/share/doc/socktrace"
done
ok "the systemd unit and the docs are in place"

# 8. Live, as root: the demo traces its workload.
if [ "$(id -u)" = 0 ] && "$bin" --version | has '^live backends: .*ebpf'; then
  timeout 120 "$bin" demo --summary -q >"$work/demo.txt" 2>&1 || { cat "$work/demo.txt" >&2; fail "socktrace demo failed"; }
  grep -q 'refused' "$work/demo.txt" || fail "socktrace demo's summary shows no refused connect"
  ok "socktrace demo traced live"
elif [ "${CI:-}" = true ]; then
  fail "socktrace demo cannot run here (needs root and the ebpf backend) under CI=true"
else
  echo "check_install: skipped: socktrace demo (needs root and the ebpf backend)"
fi
echo "check_install: all checks passed for $prefix"
