#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/gdb.sh: the gdb commands as a user gets them. Builds Release (no debug
# information, as `make install` does), installs into a temporary prefix,
# builds tests/gdb/gdb_target.c against the installed library with the
# system's cc, and runs tests/gdb/gdb_test.sh with the auto-load stub that
# `make install` put under <prefix>/share/gdb/auto-load: `info fibers` and
# `fiber bt 3` on the live process (gdb -p), on a gcore core file, and on a
# kernel core file. Then times `info fibers` over 100,000 fibers on a core
# file (the target: under 10 s). Installs gdb if missing (apt-get).
# Yama's ptrace_scope 1 is handled by the target (PR_SET_PTRACER_ANY);
# ptrace_scope 3, or a container without CAP_SYS_PTRACE, makes it skip.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! command -v gdb >/dev/null; then
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y --no-install-recommends gdb
fi
gdb --version | head -n 1
if [[ -r /proc/sys/kernel/yama/ptrace_scope ]]; then
  echo "yama ptrace_scope: $(cat /proc/sys/kernel/yama/ptrace_scope)"
fi

build=$ROOT/build-gdb
prefix=$(mktemp -d /tmp/async-gdb-prefix.XXXXXX)
work=$(mktemp -d /tmp/async-gdb-work.XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT
make install BUILD="$build" PREFIX="$prefix" JOBS="${JOBS:-2}"
libdir=$(cd "$prefix" && dirname "$(find . -name libasync.so -type l | head -n 1)")
echo "auto-load stub: $(cd "$prefix" && find share/gdb -name '*-gdb.py')"

cc -std=c11 -O2 -Wall -Wextra -Werror -I"$prefix/include" tests/gdb/gdb_target.c -o "$work/gdb_target" \
  -L"$prefix/$libdir" -lasync -Wl,-rpath,"$prefix/$libdir"
bash tests/gdb/gdb_test.sh "$work/gdb_target" "$work/run" autoload "$prefix"

# 100,000 fibers: 1,000 parked with a stack, the rest waiting for one.
"$work/gdb_target" 100000 > "$work/many.out" &
pid=$!
for _ in $(seq 1 3000); do grep -q '^ready' "$work/many.out" 2>/dev/null && break; sleep 0.01; done
grep -q '^ready' "$work/many.out" || { echo "gdb_target 100000 never got ready" >&2; exit 1; }
gcore -o "$work/many" "$pid" > /dev/null
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
start=$EPOCHREALTIME
lines=$(gdb -nx -batch -iex "add-auto-load-scripts-directory $prefix/share/gdb/auto-load" \
  -iex "add-auto-load-safe-path $prefix" "$work/gdb_target" "$work/many.$pid" -ex 'info fibers' 2>/dev/null |
  grep -c '^  [0-9]')
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
echo "info fibers on a core of $lines fibers: ${took} s (gdb start and core load included)"
# The five named fibers and the 100,000; runtime 2's two.
[[ $lines -eq 100007 ]] || { echo "expected 100007 fibers, got $lines" >&2; exit 1; }
