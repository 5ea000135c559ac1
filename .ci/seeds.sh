#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# .ci/seeds.sh: the test binaries under seeded schedules (async.h, "Seeded
# schedules"). Every runtime a test makes without a seed of its own takes
# ASYNC_SCHEDULE_SEED from the environment and picks its runnable fibers at
# random, so the suite meets interleavings FIFO never shows it. Tests that
# assert a FIFO order skip themselves (tests/support/seeded.h,
# ASYNC_FIFO_ONLY; seeded_skip in c_check.h); every other test must hold
# under any seed: a failure here is an order bug, in a test or the library.
#
# Runs, in bounded time (about 2-4 minutes on 2 CPUs):
#   async_tests    SEEDS seeds, each on one of SHARDS shards of the tests
#                  (GoogleTest sharding: seed s runs shard s % SHARDS), so
#                  every test meets SEEDS / SHARDS seeds
#   c_*_test       each C test program under C_SEEDS seeds
# Seeds are FIRST, FIRST+1, ...: the same on every CI run (a failure is
# reproducible); set ASYNC_SEEDS_FIRST to explore other ones.
#   JOBS=2 .ci/seeds.sh                       (BUILD=build: uses that build,
#   SEEDS=240 SHARDS=8 C_SEEDS=30 .ci/seeds.sh  configures it when absent)
# A failure prints the command that replays it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
SEEDS=${SEEDS:-240}
SHARDS=${SHARDS:-8}
C_SEEDS=${C_SEEDS:-30}
FIRST=${ASYNC_SEEDS_FIRST:-1}
LIMIT=${ASYNC_SEEDS_TIMEOUT:-120}  # seconds per run: a hang is a failure

if [[ ! -x $BUILD/tests/async_tests ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_TESTS=ON
  cmake --build "$BUILD" -j "$JOBS"
fi
LOGS=$BUILD/seeds
rm -rf "$LOGS"
mkdir -p "$LOGS"

# One line per run: seed, shard index (- for none), program.
runs=()
for ((s = FIRST; s < FIRST + SEEDS; ++s)); do
  runs+=("$s $((s % SHARDS)) $BUILD/tests/async_tests")
done
c_tests=$(find "$BUILD/tests" -maxdepth 1 -type f -name 'c_*_test' -perm -u+x | sort)
for t in $c_tests; do
  for ((s = FIRST; s < FIRST + C_SEEDS; ++s)); do runs+=("$s - $t"); done
done

one_run() {
  local seed=$1 shard=$2 prog=$3 log rc=0
  log=$LOGS/$(basename "$prog").$seed.log
  if [[ $shard == - ]]; then
    ASYNC_SCHEDULE_SEED=$seed timeout "$LIMIT" "$prog" >"$log" 2>&1 || rc=$?
  else
    ASYNC_SCHEDULE_SEED=$seed GTEST_TOTAL_SHARDS=$SHARDS GTEST_SHARD_INDEX=$shard \
      timeout "$LIMIT" "$prog" --gtest_brief=1 >"$log" 2>&1 || rc=$?
  fi
  if ((rc != 0)); then
    local env="ASYNC_SCHEDULE_SEED=$seed"
    [[ $shard == - ]] || env+=" GTEST_TOTAL_SHARDS=$SHARDS GTEST_SHARD_INDEX=$shard"
    echo "FAILED (exit $rc$( ((rc == 124)) && echo ", timed out after ${LIMIT}s")): $env $prog   (log: $log)"
    return 1
  fi
}
export -f one_run
export LOGS LIMIT SHARDS

start=$SECONDS
echo "seeds.sh: ${#runs[@]} runs ($SEEDS of async_tests over $SHARDS shards, $C_SEEDS of each of" \
  "$(wc -w <<<"$c_tests") C tests), seeds from $FIRST, $JOBS at a time"
failed=0
printf '%s\n' "${runs[@]}" | xargs -P "$JOBS" -L 1 bash -c 'one_run "$@"' _ || failed=1
echo "seeds.sh: ${#runs[@]} runs in $((SECONDS - start)) s"
if ((failed)); then
  echo "seeds.sh: some runs failed (above); each line replays one" >&2
  exit 1
fi
echo "seeds.sh: every run passed"
