#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# multi_compare.sh: the cross-thread benchmarks of issue #9, ours next to the
# peers in one run. Builds bench/multi_bench (Release), builds and runs the
# peers with the multi set's run.sh (docs/benchmarks.md, Peers; Go
# GOMAXPROCS=2, Tokio 2 workers, Boost.Fiber 2 threads: whichever this machine can build), runs ours on the
# same shapes, and prints medians and the ratio of ours to the best peer.
#
#   bench/multi_compare.sh [OUT]     # OUT default /tmp/async-multi; MULTI_REPS=5
#
# Nothing is pinned (the peers are not either). Record the machine's load
# (printed before and after) with any figure you quote.
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
echo "load after:  $(cat /proc/loadavg)"

python3 - "$samples" <<'PY'
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
if "floor_atomic_roundtrip" in med:
    print(f"\nFloor: two spinning threads bounce a counter through atomics: {med['floor_atomic_roundtrip']:.1f} ns per round trip")
if "async_cpu_w1" in med and "async_cpu_w2" in med:
    print(f"\nCPU-bound, group of 2 vs 1: {med['async_cpu_w1'] / med['async_cpu_w2']:.2f}x throughput (target >= 1.85x)")
    for peer in ("go", "tokio"):
        if f"{peer}_cpu_w1" in med and f"{peer}_cpu_w2" in med:
            print(f"  {peer}: {med[f'{peer}_cpu_w1'] / med[f'{peer}_cpu_w2']:.2f}x")
PY
