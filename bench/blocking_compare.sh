#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blocking_compare.sh: the blocking pool's figures of issue #11 in one run.
# Builds bench/blocking_bench (Release) and the Tokio peer of the peers'
# multi set (docs/benchmarks.md, Peers; `tokiomulti blocking N`:
# spawn_blocking(empty).await from a current-thread runtime; skipped when
# cargo or Debian's tokio crate is missing), alternates ours and Tokio's round trip ROUNDS times, then runs the
# ticker's lateness beside 8 fibers in 100 ms calls and 10,000 concurrent
# resolutions of "localhost"; prints medians.
#
#   bench/blocking_compare.sh [OUT]   # OUT default /tmp/async-blocking; MULTI_REPS=5, ROUNDS=3
#
# Nothing is pinned. Record the machine's load (printed before and after)
# with any figure you quote.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-/tmp/async-blocking}
PEERS=${PEERS:-$ROOT/../shared/peers/multi}
export MULTI_REPS=${MULTI_REPS:-5}
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
mkdir -p "$OUT"

cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$OUT/build" -j2 --target blocking_bench >/dev/null
ours=$OUT/build/bench/blocking_bench

tokio=
if command -v cargo >/dev/null && compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null; then
  mkdir -p "$OUT/cargo-home" "$OUT/rust"
  printf '[source.debian-packages]\ndirectory = "/usr/share/cargo/registry"\n[source.crates-io]\nreplace-with = "debian-packages"\n[net]\noffline = true\n' >"$OUT/cargo-home/config.toml"
  rm -rf "$OUT/rust/src"; cp -r "$PEERS/rust/Cargo.toml" "$PEERS/rust/src" "$OUT/rust/"
  (cd "$OUT/rust" && CARGO_HOME=$OUT/cargo-home CARGO_TARGET_DIR=$OUT/target cargo build --release --offline -q)
  tokio=$OUT/target/release/tokiomulti
fi

samples=$OUT/samples.tsv
: >"$samples"
echo "load before: $(cat /proc/loadavg)"
for _ in $(seq "$ROUNDS"); do
  "$ours" roundtrip "$N" >>"$samples"
  if [[ -n $tokio ]]; then "$tokio" blocking "$N" >>"$samples"; fi
done
"$ours" lateness 2000 >>"$samples"
"$ours" resolve 10000 >>"$samples"
echo "load after:  $(cat /proc/loadavg)"

python3 - "$samples" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 3:
        d.setdefault((p[0], p[2]), []).append(float(p[1]))
print("| measure | unit | median | min | max | n |\n|---|---|---:|---:|---:|---:|")
for (k, u), v in d.items():
    print(f"| {k} | {u} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} | {len(v)} |")
ours = d.get(("async_blocking_roundtrip", "ns/op"))
peer = d.get(("tokio_blocking_roundtrip", "ns/op"))
if ours and peer:
    r = statistics.median(ours) / statistics.median(peer)
    print(f"\nround trip, ours / Tokio: {r:.2f}x (target <= 0.8x)")
late = d.get(("async_blocking_tick_max_late", "us"))
if late:
    print(f"ticker's worst lateness beside 8 x 100 ms calls: {max(late) / 1000:.1f} ms (target <= 30 ms)")
PY
