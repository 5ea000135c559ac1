#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gdb_test.sh: `info fibers` and `fiber bt` (gdb/async_gdb.py) on a live
# process, on a core file written by gcore, and on one the kernel wrote.
#
#   gdb_test.sh <gdb_target> <workdir> source   <async_gdb.py>
#   gdb_test.sh <gdb_target> <workdir> autoload <prefix>   (make install's stub)
#
# Exits 77 (skipped) without gdb or when ptrace is not allowed here.
set -euo pipefail

target=$1 work=$2 mode=$3 arg=$4
die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
command -v gdb >/dev/null || skip "no gdb"
rm -rf "$work" && mkdir -p "$work" && cd "$work"

if [[ $mode == source ]]; then
  load=(-iex "source $arg")
else
  load=(-iex "add-auto-load-scripts-directory $arg/share/gdb/auto-load" -iex "add-auto-load-safe-path $arg")
fi

want_fibers='runtime 2
  1 "worker" running fn=gdb_target_worker
  2 "idle" runnable fn=gdb_target_idle
runtime 1
  1 "sleeper" sleep fn=gdb_target_sleeper
  2 "receiver" channel recv fn=gdb_target_receiver
  3 "parker" park fn=gdb_target_parker
  4 "holder" park fn=gdb_target_holder
  5 "locker" mutex fn=gdb_target_locker'

pid=
cleanup() { [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# Starts the target; returns once its fibers have parked.
start() {
  rm -f out
  "$@" > out &
  pid=$!
  for _ in $(seq 1 500); do
    grep -q '^ready' out 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "gdb_target exited early"
    sleep 0.01
  done
  die "gdb_target never got ready"
}

# Runs the commands in gdb ($@: what to debug) and checks what they print.
check() {
  local what=$1; shift
  gdb -nx -batch "${load[@]}" "$@" -ex 'info fibers' -ex 'echo ---\n' -ex 'fiber bt 3' \
    -ex 'echo ---\n' -ex 'fiber bt 1.3' -ex 'echo ---\n' -ex 'fiber bt 99' -ex 'fiber bt 1' \
    -ex 'fiber bt 2.1' -ex 'fiber bt 2.2' > gdb.out 2> gdb.err || true
  local fibers bt bt_qualified
  fibers=$(sed -n '/^runtime /,/^---$/p' gdb.out | sed '$d')
  [[ $fibers == "$want_fibers" ]] || die "$what: info fibers printed:
$fibers
expected:
$want_fibers
(stderr: $(cat gdb.err))"
  bt=$(awk '/^---$/ { n++; next } n == 1' gdb.out)
  bt_qualified=$(awk '/^---$/ { n++; next } n == 2' gdb.out)
  [[ $bt_qualified == "$bt" ]] || die "$what: fiber bt 1.3 differs from fiber bt 3: $bt_qualified"
  # Refusals: each runtime has a fiber 1; runtime 2's runs (its thread's
  # own bt shows it), its fiber 2 has no stack yet.
  grep -q 'async: fiber 1 is in several runtimes (2, 1): say SERIAL.ID' gdb.err ||
    die "$what: fiber bt 1 was not refused as ambiguous: $(cat gdb.err)"
  grep -q 'async: fiber 2.1 is running: `bt` on its thread shows it' gdb.err ||
    die "$what: fiber bt 2.1 was not refused: $(cat gdb.err)"
  grep -q 'async: fiber 2.2 has not started: no stack yet' gdb.err ||
    die "$what: fiber bt 2.2 was not refused: $(cat gdb.err)"
  # The fiber's own frames, innermost first, down to the trampoline (an
  # unoptimised library shows its inner frames too: switch_to, park). At -O2
  # async_park may end in a tail jump to park_fiber, which then stands in its
  # frame (RelWithDebInfo builds): either counts as the call, once.
  local frames
  frames=$(sed -n 's/^#[0-9]* *0x[0-9a-f]* in \([^ (]*\).*/\1/p' <<<"$bt" |
           sed 's/^async::detail::park_fiber$/async_park/' | uniq |
           grep -xE 'async_park|gdb_target_wait_here|gdb_target_parker|async_impl_ctx_trampoline' | tr '\n' ' ')
  [[ $frames == 'async_park gdb_target_wait_here gdb_target_parker async_impl_ctx_trampoline ' ]] ||
    die "$what: fiber bt 3 lacks async_park, wait_here, the entry, the trampoline (in that order): $bt"
  [[ $(tail -n 1 <<<"$bt") == *'in async_impl_ctx_trampoline ()'* ]] ||
    die "$what: fiber bt 3 does not end at the trampoline: $bt"
  grep -q 'async: no fiber 99' gdb.err || die "$what: fiber bt 99 did not fail as expected: $(cat gdb.err)"
  echo "ok: $what"
  echo "$bt" | sed 's/^/  /'
}

start "$target"
if ! gdb -nx -batch -p "$pid" -ex 'detach' > attach.out 2>&1; then
  grep -qi 'ptrace' attach.out && skip "ptrace not permitted here: $(grep -i ptrace attach.out | head -1)"
fi
check "live process" -p "$pid"
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=

# gcore: a run without guard pages (see gdb_target.c).
GDB_TARGET_NO_GUARDS=1 start "$target"
gcore -o core "$pid" > gcore.out 2>&1 || die "gcore failed: $(cat gcore.out)"
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
check "core file (gcore)" "$target" "core.$pid"
pid=

# The kernel's core dump, when it writes plain files into the working
# directory (not through a pipe to a crash collector) and may here.
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo '|')
if [[ $pattern == '|'* || $pattern == */* ]] || ! ulimit -c unlimited 2>/dev/null; then
  echo "skipped: kernel core dump (core_pattern '$pattern', or core size limited)"
  exit 0
fi
rm -f core*
start "$target"
kill -ABRT "$pid"; wait "$pid" 2>/dev/null || true
core=$(ls -t core* 2>/dev/null | head -1 || true)
[[ -n $core ]] || die "the kernel wrote no core file (core_pattern '$pattern')"
check "core file (kernel)" "$target" "$core"
pid=
