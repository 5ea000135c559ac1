#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sync_compare.sh: the fiber synchronisation objects (async/sync.h) next to
# pthread_mutex and the peers, in one run. Builds bench/sync_bench (Release,
# -O2 -DNDEBUG, static library) and our own peer programs in bench/peers/sync
# (Boost.Fiber from libboost-fiber-dev, Go from golang-go with GOMAXPROCS=1,
# Tokio current_thread built offline against the Debian-packaged crates in
# /usr/share/cargo/registry), then runs them all pinned to one CPU in
# interleaved rounds (each round every program once, the order rotated from
# round to round), and prints a Markdown table of medians and the ratios the
# targets are about.
#
#   bench/sync_compare.sh [OUT]          # OUT default /tmp/async-sync; ~1-2 minutes here
#   ROUNDS=1 MICRO_REPS=2 MICRO_SCALE=0.1 bench/sync_compare.sh   # smoke run
#   REPORT_ONLY=1 bench/sync_compare.sh  # re-print the report from OUT's samples
#
# Environment:
#   ROUNDS=5          interleaved rounds
#   MICRO_REPS=3      timed repetitions per shape per program per round (after a warm-up)
#   MICRO_SCALE=0.5   multiplies every program's iteration counts
#   PIN_CPU=0         the CPU every single-thread program is pinned to (taskset -c)
#   GROUP=1           then run mutex_handoff_group once (two runtimes, unpinned; report only)
#   GROUP_REPS=9      its repetitions (whether the two threads alternate varies from one to the next)
#   SKIP_BOOST=1 / SKIP_GO=1 / SKIP_TOKIO=1   leave a peer out
#   BUILD_DIR=$OUT/build  where sync_bench is built (share one between runs to skip the rebuild)
#   SYNC_BENCH=<path>  use this sync_bench binary instead of building one (another build)
#
# Shapes and the unit of each: see the comments at the top of bench/sync_bench.c
# and of each peer program; every program uses the same definitions (one
# mutex_handoff operation = one lock + yield + unlock by one of the two
# fibers, ns = total / 2n). Targets (issue): uncontended lock+unlock <= 1.0x
# pthread_mutex in the same process; contended hand-off <= 3x our own yield
# (yield_pair); hand-off <= 0.5x the best peer's.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERSRC=$ROOT/bench/peers/sync
OUT=${1:-${OUT:-/tmp/async-sync}}
ROUNDS=${ROUNDS:-5}
export MICRO_REPS=${MICRO_REPS:-3}
export MICRO_SCALE=${MICRO_SCALE:-0.5}
PIN_CPU=${PIN_CPU:-0}
GROUP=${GROUP:-1}
GROUP_REPS=${GROUP_REPS:-9}
REPORT_ONLY=${REPORT_ONLY:-0}
BUILD_DIR=${BUILD_DIR:-$OUT/build}
SAMPLES=$OUT/samples.tsv
LOADS=$OUT/loads.txt
mkdir -p "$OUT"
log() { echo "[sync_compare.sh] $*" >&2; }

PIN=(taskset -c "$PIN_CPU")
command -v taskset >/dev/null 2>&1 || { log "taskset not found; running unpinned"; PIN=(); }

if [[ $REPORT_ONLY != 1 ]]; then
    # ------------------------------------------------------------ build
    if [[ -n ${SYNC_BENCH:-} ]]; then
        OURS=$SYNC_BENCH
        echo "$OURS (given as SYNC_BENCH)" >"$OUT/tree.txt"
    else
        log "building sync_bench in $BUILD_DIR (Release, -O2 -DNDEBUG)"
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_BENCHMARKS=ON \
            "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
            "-DCMAKE_ASM_FLAGS_RELEASE=-O2 -DNDEBUG" >"$OUT/cmake.log"
        cmake --build "$BUILD_DIR" -j "$(nproc)" --target sync_bench >>"$OUT/cmake.log"
        OURS=$BUILD_DIR/bench/sync_bench
        echo "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') ($(git -C "$ROOT" status --porcelain -- src include 2>/dev/null | wc -l) uncommitted changes under src/ include/ at build time)" >"$OUT/tree.txt"
    fi

    progs=("ours")
    if [[ ${SKIP_BOOST:-0} != 1 ]]; then
        log "building the Boost.Fiber peer"
        if ${CXX:-g++} -std=c++17 -O2 -DNDEBUG -o "$OUT/bfiber_sync" "$PEERSRC/bfiber_sync.cpp" \
            -lboost_fiber -lboost_context -pthread; then
            progs+=("boost")
        else
            log "Boost.Fiber build failed; column skipped"
        fi
    fi
    if [[ ${SKIP_GO:-0} != 1 ]] && command -v go >/dev/null 2>&1; then
        log "building the Go peer"
        mkdir -p "$OUT/gocache"
        if (cd "$PEERSRC/go" && GOCACHE="$OUT/gocache" GOPROXY=off GOFLAGS= GO111MODULE=off \
            go build -o "$OUT/gosync" main.go); then
            progs+=("go")
        fi
    fi
    if [[ ${SKIP_TOKIO:-0} != 1 ]] && command -v cargo >/dev/null 2>&1 &&
        compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null; then
        log "building the Tokio peer (offline, against the Debian-packaged crates)"
        mkdir -p "$OUT/cargo-home" "$OUT/rust-src"
        cat >"$OUT/cargo-home/config.toml" <<'EOF'
[source.debian-packages]
directory = "/usr/share/cargo/registry"
[source.crates-io]
replace-with = "debian-packages"
[net]
offline = true
EOF
        rm -rf "$OUT/rust-src/src"
        cp -r "$PEERSRC/rust/Cargo.toml" "$PEERSRC/rust/src" "$OUT/rust-src/"
        if (cd "$OUT/rust-src" && CARGO_HOME="$OUT/cargo-home" CARGO_TARGET_DIR="$OUT/rust-target" \
            cargo build --release --offline -q); then
            cp "$OUT/rust-target/release/tokiosync" "$OUT/tokiosync"
            progs+=("tokio")
        else
            log "Tokio build failed; column skipped"
        fi
    fi

    # ------------------------------------------------------------ run
    run_prog() {
        case $1 in
        ours) "${PIN[@]}" "$OURS" ;;
        boost) "${PIN[@]}" "$OUT/bfiber_sync" ;;
        go) GOMAXPROCS=1 "${PIN[@]}" "$OUT/gosync" ;;
        tokio) "${PIN[@]}" "$OUT/tokiosync" ;;
        esac
    }
    : >"$SAMPLES"
    : >"$LOADS"
    echo "start $(date -u '+%Y-%m-%d %H:%M:%S UTC') $(uptime)" >>"$LOADS"
    k=${#progs[@]}
    for ((r = 1; r <= ROUNDS; r++)); do
        echo "round $r $(uptime)" >>"$LOADS"
        order=()
        for ((i = 0; i < k; i++)); do order+=("${progs[$(((r - 1 + i) % k))]}"); done
        log "round $r of $ROUNDS: ${order[*]} (pinned to CPU $PIN_CPU)"
        for p in "${order[@]}"; do
            run_prog "$p" | awk -v r="$r" -F'\t' 'NF >= 3 { print $1 "\t" $2 "\t" $3 "\tr" r }' >>"$SAMPLES"
        done
    done
    if [[ $GROUP == 1 ]]; then
        echo "group $(uptime)" >>"$LOADS"
        log "mutex_handoff_group: two runtimes of a group, unpinned"
        MICRO_REPS=$GROUP_REPS "$OURS" mutex_handoff_group |
            awk -F'\t' 'NF >= 3 { print $1 "\t" $2 "\t" $3 "\tgroup" }' >>"$SAMPLES"
    fi
    echo "end $(date -u '+%Y-%m-%d %H:%M:%S UTC') $(uptime)" >>"$LOADS"
fi

# ---------------------------------------------------------------- report
[[ -s $SAMPLES ]] || { log "no samples in $SAMPLES"; exit 1; }
cpu_model=$(awk -F: '/^model name/ {sub(/^[ \t]+/, "", $2); print $2; exit}' /proc/cpuinfo)
echo "## Fiber synchronisation vs pthread_mutex and the peers"
echo
echo "- CPU: ${cpu_model:-unknown} ($(nproc) CPUs visible); single-thread programs pinned to CPU $PIN_CPU"
echo "- ours: $(cat "$OUT/tree.txt" 2>/dev/null || echo '?'), Release -O2 -DNDEBUG, static library"
echo "- peers: $(${CXX:-g++} --version | head -1); Boost $(awk '/#define BOOST_LIB_VERSION/ {gsub(/"/, "", $3); print $3}' /usr/include/boost/version.hpp 2>/dev/null)$(command -v go >/dev/null && echo "; $(go version | cut -d' ' -f3) GOMAXPROCS=1")$(command -v rustc >/dev/null && echo "; $(rustc --version | cut -d' ' -f1-2), tokio $(basename /usr/share/cargo/registry/tokio-1.* | sed 's/tokio-//') current_thread")"
echo "- $ROUNDS interleaved rounds x MICRO_REPS=$MICRO_REPS at MICRO_SCALE=$MICRO_SCALE (order rotated each round)"
echo "- load (uptime):"
sed 's/^/    /' "$LOADS"
echo
python3 - "$SAMPLES" <<'PY'
import statistics, sys
from collections import defaultdict

d = defaultdict(list)            # label -> all samples
rd = defaultdict(list)           # (label, round) -> samples
for line in open(sys.argv[1]):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 4:
        d[p[0]].append(float(p[1]))
        rd[(p[0], p[3])].append(float(p[1]))
med = {k: statistics.median(v) for k, v in d.items()}
rounds = sorted({r for (_, r) in rd if r.startswith("r")}, key=lambda s: int(s[1:]))

def f(x):
    return "" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}")

def cell(label):
    if label not in d:
        return ""
    v = d[label]
    return f"{f(med[label])} ({f(min(v))}-{f(max(v))})"

def hcell(label):
    l = label + ".handoffs_per_op"
    return f"{med[l]:.3f}" if l in med else ""

print("### Medians, ns per operation (min-max over all repetitions of all rounds)\n")
print("| shape (per op) | ours | pthread_mutex (ours' process) | Boost.Fiber | Go | Tokio |")
print("|---|---:|---:|---:|---:|---:|")
rows = [
    ("yield, 2 fibers (per yield)", "yield_pair"),
    ("uncontended lock+unlock", "mutex_uncontended"),
    ("mutex hand-off (one lock+yield+unlock)", "mutex_handoff"),
    ("semaphore(1) hand-off (acquire+yield+release)", "sem_handoff"),
    ("condvar ping-pong (per turn)", "cond_pingpong"),
]
for name, s in rows:
    pt = cell("async.pthread_uncontended") if s == "mutex_uncontended" else ""
    print(f"| {name} | {cell('async.' + s)} | {pt} | {cell('bfiber.' + s)} | {cell('go.' + s)} | {cell('tokio.' + s)} |")
for name, s in [("share of hand-off operations that were hand-offs", "mutex_handoff"),
                ("the same, semaphore", "sem_handoff")]:
    print(f"| {name} | {hcell('async.' + s)} | | {hcell('bfiber.' + s)} | {hcell('go.' + s)} | {hcell('tokio.' + s)} |")
if "async.mutex_uncontended.min_batch" in d:
    print(f"| uncontended lock+unlock, minimum over batches of 10,000 (diagnostic) | {cell('async.mutex_uncontended.min_batch')} | {cell('async.pthread_uncontended.min_batch')} | | | |")
if "async.mutex_uncontended_shared" in d:
    print(f"| uncontended lock+unlock, mutex shared with another thread | {cell('async.mutex_uncontended_shared')} | | | | |")
if "async.mutex_handoff_group" in d:
    print(f"| mutex hand-off, two runtimes of a group (unpinned, report only) | {cell('async.mutex_handoff_group')} | | | | |")
    if "async.mutex_handoff_group.handoffs_per_op" in med:
        print(f"| share that were hand-offs, group | {med['async.mutex_handoff_group.handoffs_per_op']:.3f} | | | | |")
        # Each repetition prints its ns/op, then its share: pair them up.
        pairs, ns = [], None
        for line in open(sys.argv[1]):
            p = line.rstrip("\n").split("\t")
            if p[0] == "async.mutex_handoff_group":
                ns = float(p[1])
            elif p[0] == "async.mutex_handoff_group.handoffs_per_op" and ns is not None:
                pairs.append((ns, float(p[1])))
                ns = None
        alt = [x for x, share in pairs if share >= 0.9]
        if alt:
            print(f"| the same, only the {len(alt)} of {len(pairs)} repetitions that alternated (share >= 0.9) | {f(statistics.median(alt))} ({f(min(alt))}-{f(max(alt))}) | | | | |")
        else:
            print(f"| the same, repetitions that alternated (share >= 0.9) | none of {len(pairs)} | | | | |")
print()
print("Hand-off share: 1.000 = the two alternate strictly (every lock is handed over by the")
print("other fiber's unlock); near 0 = one side re-takes the lock it just released (barging)")
print("and the other waits until it is done, so its ns/op measures a different schedule.")
print()

def per_round_ratio(num, den_fn):
    out = []
    for r in rounds:
        a = rd.get((num, r))
        b = den_fn(r)
        if a and b:
            out.append(statistics.median(a) / b)
    return out

def rmed(label, r):
    v = rd.get((label, r))
    return statistics.median(v) if v else None

def best_peer_round(r):
    v = [x for x in (rmed(p + ".mutex_handoff", r) for p in ("bfiber", "go", "tokio")) if x]
    return min(v) if v else None

targets = []
def target(name, num, den_label_or_fn, den_name, limit):
    if num not in med:
        return
    if callable(den_label_or_fn):
        den = den_label_or_fn(None)
        rr = per_round_ratio(num, den_label_or_fn)
    else:
        if den_label_or_fn not in med:
            return
        den = med[den_label_or_fn]
        rr = per_round_ratio(num, lambda r: rmed(den_label_or_fn, r))
    if den is None:
        return
    ratio = med[num] / den
    rng = f"{statistics.median(rr):.2f}x ({min(rr):.2f}-{max(rr):.2f})" if rr else ""
    verdict = "**met**" if ratio <= limit else "**missed**"
    targets.append((name, f(med[num]), den_name, f(den), f"{ratio:.2f}x", rng, f"<= {limit}x: {verdict}"))

target("uncontended lock+unlock vs pthread_mutex", "async.mutex_uncontended", "async.pthread_uncontended",
       "pthread_mutex_lock+unlock", 1.0)
target("mutex hand-off vs our yield", "async.mutex_handoff", "async.yield_pair", "async_yield (yield_pair)", 3.0)
peers = [(p, n) for p, n in (("bfiber", "Boost.Fiber"), ("go", "Go"), ("tokio", "Tokio")) if p + ".mutex_handoff" in med]
if peers:
    bp, bn = min(peers, key=lambda x: med[x[0] + ".mutex_handoff"])
    target("mutex hand-off vs the best peer", "async.mutex_handoff",
           lambda r: med[bp + ".mutex_handoff"] if r is None else best_peer_round(r), f"best peer: {bn}", 0.5)
    for p, n in peers:
        if p != bp and "async.mutex_handoff" in med:
            targets.append((f"mutex hand-off vs {n} (context)", f(med["async.mutex_handoff"]), n,
                            f(med[p + ".mutex_handoff"]), f"{med['async.mutex_handoff'] / med[p + '.mutex_handoff']:.2f}x", "", ""))
if "async.mutex_vs_pthread.batch_ratio_median" in d:
    v = d["async.mutex_vs_pthread.batch_ratio_median"]
    targets.insert(1 if targets and targets[0][0].startswith("uncontended") else 0, ("(diagnostic) the same, batches of 10,000 alternating in one fiber: median per-batch ratio",
                    "", "pthread_mutex", "", f"{statistics.median(v):.2f}x", f"{min(v):.2f}-{max(v):.2f} over {len(v)} repetitions", ""))
print("### Targets\n")
print("| target | ours ns | against | ns | ratio of medians | per-round ratios: median (min-max) | verdict (this run) |")
print("|---|---:|---|---:|---:|---:|---|")
for t in targets:
    print("| " + " | ".join(t) + " |")
print()
print(f"Per-round ratios: in each of the {len(rounds)} rounds, the median of that round's repetitions on each side;")
print("the best peer is chosen per round. One run on a shared machine: a verdict needs several runs.")
PY
echo
echo "Raw samples: $SAMPLES (label, value, unit, round); load: $LOADS"
