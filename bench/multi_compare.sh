#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multi_compare.sh: the cross-thread benchmarks of issue #9, ours next to the
# peers in one run. Builds bench/multi_bench (Release), builds and runs the
# peers with the multi set's run.sh (docs/benchmarks.md, Peers; Go
# GOMAXPROCS=2, Tokio 2 workers, Boost.Fiber 2 threads: whichever this machine can build), runs ours on the
# same shapes, and prints medians and the ratio of ours to the best peer.
#
#   bench/multi_compare.sh [OUT]     # OUT default /tmp/async-multi; MULTI_REPS=5
#   INTERLEAVE=15                    # rounds of ours and the peers back to back (0: none)
#
# Nothing is pinned (the peers are not either), but for the one-CPU
# ping-pong rows, which run every program on the first CPU this process may
# use. Record the machine's load (printed before and after) with any figure
# you quote.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-/tmp/async-multi}
PEERS=${PEERS:-$ROOT/../shared/peers/multi}
export MULTI_REPS=${MULTI_REPS:-5}
mkdir -p "$OUT"

cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$OUT/build" -j "$(nproc)" --target multi_bench >/dev/null
ours=$OUT/build/bench/multi_bench

echo "load before: $(cat /proc/loadavg)"
if [[ -x $PEERS/run.sh ]]; then
  BUILD=$OUT/peers "$PEERS/run.sh" >/dev/null || echo "peers: run.sh failed; comparing with what ran" >&2
fi
samples=$OUT/samples.tsv
cat "$OUT/peers/samples.tsv" 2>/dev/null >"$samples" || : >"$samples"
for c in 0 1; do "$ours" pingpong $c 200000 >>"$samples"; done
"$ours" stream 2000000 >>"$samples"
"$ours" spawn 200 >>"$samples"
for w in 1 2; do "$ours" cpu $w 200 >>"$samples"; done
"$ours" floor 1000000 >>"$samples"  # what any cross-core round trip costs here

# Ping-pong with every thread on one CPU (the first this process may use), as
# on a machine with more busy threads than CPUs: what a spin that waits for
# another thread costs when that thread needs the spinner's CPU to answer
# (docs/design.md, "The spin before sleeping", "Every spin yields"). 20,000 round trips: a co-located hop costs
# microseconds, not nanoseconds.
go=$OUT/peers/gomulti tokio=$OUT/peers/tokiomulti
cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
for c in 0 1; do taskset -c "$cpu" "$ours" pingpong $c 20000 | sed 's/^async_/async_onecpu_/' >>"$samples"; done
# A peer that fails leaves its row out (as in run.sh), not the report.
if [[ -x $go ]]; then
  for c in 0 1; do
    GOMAXPROCS=2 taskset -c "$cpu" "$go" pingpong $c 20000 | sed 's/^go_/go_onecpu_/' >>"$samples" || true
  done
fi
if [[ -x $tokio ]]; then
  taskset -c "$cpu" "$tokio" pingpong 1 20000 | sed 's/^tokio_/tokio_onecpu_/' >>"$samples" || true
fi

# Interleaved rounds: this VM's cross-CPU latency moves by up to 5x from one
# process to the next (the floor above reads 60 ns in one run and 340 ns in
# the next), so medians taken minutes apart can compare a fast moment of one
# side with a slow moment of the other. Each round runs ours and then every
# peer on the same shape, one timed repetition each, back to back; the ratio
# is taken within the round, and the rounds' median ratio is reported.
# Boost.Fiber is left out (it is never the best peer, and one round of its
# ping-pong takes seconds).
ROUNDS=${INTERLEAVE:-15}
interleaved=$OUT/interleaved.tsv
: >"$interleaved"
if ((ROUNDS > 0)); then
  for ((r = 1; r <= ROUNDS; r++)); do
    for shape in "pingpong 0 200000" "pingpong 1 200000" "stream 2000000" "spawn 200"; do
      # shellcheck disable=SC2086  # the shape is words on purpose
      {
        MULTI_REPS=1 "$ours" $shape
        if [[ -x $go ]]; then GOMAXPROCS=2 MULTI_REPS=1 "$go" $shape || true; fi
        # Tokio's ping-pong has only the capacity-1 form.
        if [[ -x $tokio && $shape != "pingpong 0 200000" ]]; then MULTI_REPS=1 "$tokio" $shape || true; fi
      } | sed "s/^/$r\t/" >>"$interleaved"
    done
  done
fi
echo "load after:  $(cat /proc/loadavg)"

python3 - "$samples" "$interleaved" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 2:
        d.setdefault(p[0], []).append(float(p[1]))
med = {k: statistics.median(v) for k, v in d.items()}
print("| measure | median ns | min | max |\n|---|---:|---:|---:|")
for k, v in d.items():
    print(f"| {k} | {med[k]:.1f} | {min(v):.1f} | {max(v):.1f} |")
print()
print("| shape | ours ns | best peer | peer ns | ours / best | target |\n|---|---:|---|---:|---:|---|")
def row(shape, ours, peers, target):
    have = [(med[p], p) for p in peers if p in med]
    if ours not in med or not have:
        print(f"| {shape} | {med.get(ours, float('nan')):.1f} | (none ran) | | | {target} |")
        return
    best, name = min(have)
    print(f"| {shape} | {med[ours]:.1f} | {name} | {best:.1f} | {med[ours] / best:.2f}x | {target} |")
for cap in (0, 1):
    row(f"ping-pong cap {cap}", f"async_pingpong_cap{cap}",
        [f"go_pingpong_cap{cap}", f"tokio_pingpong_cap{cap}", f"bfiber_pingpong_cap{cap}"], "<= 0.5x")
row("stream, 1024", "async_stream", ["go_stream", "tokio_stream", "bfiber_stream"], "<= 0.5x")
row("spawn 1000 from outside", "async_spawn1000", ["go_spawn1000", "tokio_spawn1000"], "<= 0.5x")
for cap in (0, 1):
    row(f"ping-pong cap {cap}, one CPU", f"async_onecpu_pingpong_cap{cap}",
        [f"go_onecpu_pingpong_cap{cap}", f"tokio_onecpu_pingpong_cap{cap}"], "(none)")
rounds = {}
for line in open(sys.argv[2]):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 3:
        rounds.setdefault(p[0], {})[p[1]] = float(p[2])
if rounds:
    print(f"\nInterleaved, {len(rounds)} rounds (ours, then each peer, back to back; the ratio is taken within each round):\n")
    print("| shape | ours ns (median) | best peer per round | ours / best: median | quartiles | rounds within target |\n|---|---:|---|---:|---|---:|")
    def interleaved(shape, ours, peers, limit):
        ratios, mine, names = [], [], {}
        for r in rounds.values():
            have = [(r[p], p) for p in peers if p in r]
            if ours not in r or not have:
                continue
            best, name = min(have)
            ratios.append(r[ours] / best)
            mine.append(r[ours])
            names[name] = names.get(name, 0) + 1
        if not ratios:
            return
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        won = ", ".join(f"{k} {v}" for k, v in sorted(names.items(), key=lambda kv: -kv[1]))
        within = sum(1 for x in ratios if x <= limit)
        print(f"| {shape} | {statistics.median(mine):.1f} | {won} | {statistics.median(ratios):.2f}x | "
              f"{q[0]:.2f}-{q[2]:.2f} | {within} of {len(ratios)} |")
    for cap in (0, 1):
        interleaved(f"ping-pong cap {cap}", f"async_pingpong_cap{cap}",
                    [f"go_pingpong_cap{cap}", f"tokio_pingpong_cap{cap}"], 0.5)
    interleaved("stream, 1024", "async_stream", ["go_stream", "tokio_stream"], 0.5)
    interleaved("spawn 1000 from outside", "async_spawn1000", ["go_spawn1000", "tokio_spawn1000"], 0.5)
if "floor_atomic_roundtrip" in med:
    print(f"\nFloor: two spinning threads bounce a counter through atomics: {med['floor_atomic_roundtrip']:.1f} ns per round trip")
if "async_cpu_w1" in med and "async_cpu_w2" in med:
    print(f"\nCPU-bound, group of 2 vs 1: {med['async_cpu_w1'] / med['async_cpu_w2']:.2f}x throughput (target >= 1.85x)")
    for peer in ("go", "tokio"):
        if f"{peer}_cpu_w1" in med and f"{peer}_cpu_w2" in med:
            print(f"  {peer}: {med[f'{peer}_cpu_w1'] / med[f'{peer}_cpu_w2']:.2f}x")
PY
