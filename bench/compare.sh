#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# compare.sh: the fiber core next to its peers, in one go.
#
# Builds our benchmarks (Release, -O2 -DNDEBUG) in $ASYNC_BUILD, runs the
# peers' side-by-side micro-benchmarks (the micro set's run.sh, see
# docs/benchmarks.md, Peers: Boost.Context, Boost.Fiber, Go, Tokio) and ours,
# everything pinned to the same CPU, and prints: operation | ours | each
# peer's median | ours/peer, then whether the targets are met.
#
#   bench/compare.sh                                   # full run, ~8-11 minutes here
#   MICRO_SCALE=0.1 MICRO_REPS=2 MEM_REPS=1 ASYNC_1M=0 INTERLEAVE_ROUNDS=1 bench/compare.sh   # smoke run
#
# Environment (the peers' knobs are passed through to run.sh unchanged):
#   BUILD=/tmp/fiber-micro-build  peers' binaries and samples; ours go there too
#   MICRO_REPS=7                  timed repetitions per speed benchmark
#   MICRO_SCALE=1.0               iteration counts (peers) / min time per repetition (ours, x 0.5 s)
#   MEM_REPS=3                    fresh processes per memory point
#   PIN_CPU=0                     the CPU everything is pinned to (taskset -c)
#   SKIP_GO=1 / SKIP_TOKIO=1 / PIVOT=1 / REPORT_ONLY=1   as in run.sh
#   ASYNC_BUILD=<repo>/build-bench  where our benchmarks are built
#   ASYNC_1M=1                    also park 1,000,000 fibers (one process, ~40 s here)
#   INTERLEAVE_ROUNDS=5           rounds of the interleaved comparison (0: none)
#   INTERLEAVE_SCALE=0.2          MICRO_SCALE of each interleaved round
#   INTERLEAVE_REPS=3             MICRO_REPS of each interleaved round
#   SKIP_PEERS=1                  reuse the peers' samples of the last run ($BUILD/samples.tsv)
#   SKIP_ASYNC=1                  reuse our samples of the last run ($BUILD/async_samples.tsv)
#
# Order: build ours; our speed benchmarks; the peers (run.sh: speed, then
# memory); our speed benchmarks again; the interleaved rounds; our memory
# runs. Our speed series run both before and after the peers, so that a
# change of machine load during the run biases neither side; the medians use
# both halves. The interleaved rounds run the peers' speed programs
# (ctx_switch, bfiber, Go, Tokio) and ours back to back, round after round,
# so that every round sees about the same load; they give the second set of
# ratios (median of the per-round ratios).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PEERS=${PEERS:-/work/shared/peers/micro}
export BUILD=${BUILD:-${TMPDIR:-/tmp}/fiber-micro-build}
export MICRO_REPS=${MICRO_REPS:-7}
export MICRO_SCALE=${MICRO_SCALE:-1.0}
export MEM_REPS=${MEM_REPS:-3}
export PIN_CPU=${PIN_CPU:-0}
ASYNC_BUILD=${ASYNC_BUILD:-$ROOT/build-bench}
export ASYNC_1M=${ASYNC_1M:-1}
INTERLEAVE_ROUNDS=${INTERLEAVE_ROUNDS:-5}
INTERLEAVE_SCALE=${INTERLEAVE_SCALE:-0.2}
INTERLEAVE_REPS=${INTERLEAVE_REPS:-3}
SKIP_PEERS=${SKIP_PEERS:-0}
SKIP_ASYNC=${SKIP_ASYNC:-0}
[[ ${REPORT_ONLY:-0} == 1 ]] && SKIP_ASYNC=1

log() { echo "[compare.sh] $*" >&2; }

mkdir -p "$BUILD"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
PIN=(taskset -c "$PIN_CPU")
command -v taskset >/dev/null 2>&1 || { log "taskset not found; running unpinned"; PIN=(); }
OURS="$BUILD/async_samples.tsv"
PEER_SAMPLES="$BUILD/samples.tsv"
PEER_REPORT="$BUILD/peers_report.md"
INTERLEAVED="$BUILD/interleaved_samples.tsv"

# ---------------------------------------------------------------- build ours
if [[ $SKIP_ASYNC != 1 ]]; then
    log "building our benchmarks in $ASYNC_BUILD (Release, -O2 -DNDEBUG)"
    cmake -S "$ROOT" -B "$ASYNC_BUILD" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_BENCHMARKS=ON \
        "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
        "-DCMAKE_ASM_FLAGS_RELEASE=-O2 -DNDEBUG" >"$BUILD/async_cmake.log"
    cmake --build "$ASYNC_BUILD" -j "$(nproc)" --target async_bench parked_rss >>"$BUILD/async_cmake.log"
    # What was built: others may commit while the benchmarks run.
    echo "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') ($(git -C "$ROOT" status --porcelain -- src include 2>/dev/null | wc -l) uncommitted changes under src/ include/ at build time)" >"$BUILD/async_tree.txt"
fi

# ---------------------------------------------------------------- ours: speed
# run_ours_speed <phase> <reps> <min time> [filter]: appends one sample per
# repetition, "async.<benchmark>" TAB ns per operation TAB unit TAB phase.
run_ours_speed() {
    local phase=$1 reps=$2 min_time=$3 filter=${4:-.}
    local json="$BUILD/async_bench.$phase.json"
    "${PIN[@]}" "$ASYNC_BUILD/bench/async_bench" --benchmark_repetitions="$reps" \
        --benchmark_min_time="$min_time" --benchmark_filter="$filter" --benchmark_out="$json" \
        --benchmark_out_format=json >"$BUILD/async_bench.$phase.txt" 2>&1
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg phase "$phase" '.benchmarks[] | select(.run_type == "iteration" and (.error_occurred | not))
               | "async.\(.run_name | sub("/real_time$"; ""))\t\(.per_op * 1e9)\tns/op\t\($phase)"' "$json"
    else
        python3 - "$json" "$phase" <<'PY'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type") == "iteration" and not b.get("error_occurred"):
        name = b["run_name"].removesuffix("/real_time")
        print(f"async.{name}\t{b['per_op'] * 1e9}\tns/op\t{sys.argv[2]}")
PY
    fi
}
min_time=$(awk -v s="$MICRO_SCALE" 'BEGIN { t = 0.5 * s; if (t < 0.05) t = 0.05; printf "%.3f", t }')

if [[ $SKIP_ASYNC != 1 ]]; then
    : >"$OURS"
    log "ours (before the peers): async_bench, $MICRO_REPS repetitions of ${min_time}s min each, CPU $PIN_CPU"
    run_ours_speed pre "$MICRO_REPS" "$min_time" >>"$OURS"
fi

# ---------------------------------------------------------------- peers
if [[ $SKIP_PEERS != 1 ]]; then
    log "peers: $PEERS/run.sh (BUILD=$BUILD MICRO_REPS=$MICRO_REPS MICRO_SCALE=$MICRO_SCALE MEM_REPS=$MEM_REPS PIN_CPU=$PIN_CPU)"
    "$PEERS/run.sh" >"$PEER_REPORT"
elif [[ ! -s $PEER_SAMPLES ]]; then
    log "SKIP_PEERS=1 but $PEER_SAMPLES is missing"; exit 1
fi

if [[ $SKIP_ASYNC != 1 ]]; then
    log "ours (after the peers): async_bench, $MICRO_REPS repetitions of ${min_time}s min each, CPU $PIN_CPU"
    run_ours_speed post "$MICRO_REPS" "$min_time" >>"$OURS"

    # ------------------------------------------------------------ interleaved rounds
    : >"$INTERLEAVED"
    if ((INTERLEAVE_ROUNDS > 0)) && [[ -x $BUILD/ctx_switch && -x $BUILD/bfiber ]]; then
        imin=$(awk -v s="$INTERLEAVE_SCALE" 'BEGIN { t = 0.5 * s; if (t < 0.02) t = 0.02; printf "%.3f", t }')
        log "interleaved: $INTERLEAVE_ROUNDS rounds (peers at MICRO_SCALE=$INTERLEAVE_SCALE, ${INTERLEAVE_REPS} reps; ours ${imin}s x ${INTERLEAVE_REPS})"
        tag() { awk -v r="$1" -F'\t' 'NF >= 3 { print $1 "\t" $2 "\t" $3 "\t" r }'; }
        for ((r = 1; r <= INTERLEAVE_ROUNDS; r++)); do
            {
                MICRO_SCALE=$INTERLEAVE_SCALE MICRO_REPS=$INTERLEAVE_REPS "${PIN[@]}" "$BUILD/ctx_switch" | grep '^ctx.boost' || true
                MICRO_SCALE=$INTERLEAVE_SCALE MICRO_REPS=$INTERLEAVE_REPS "${PIN[@]}" "$BUILD/bfiber" yield
                MICRO_SCALE=$INTERLEAVE_SCALE MICRO_REPS=$INTERLEAVE_REPS "${PIN[@]}" "$BUILD/bfiber" spawn | grep pooled || true
                if [[ -x $BUILD/gomicro && ${SKIP_GO:-0} != 1 ]]; then
                    MICRO_SCALE=$INTERLEAVE_SCALE MICRO_REPS=$INTERLEAVE_REPS GOMAXPROCS=1 "${PIN[@]}" "$BUILD/gomicro" bench
                fi
                if [[ -x $BUILD/tokiomicro && ${SKIP_TOKIO:-0} != 1 ]]; then
                    MICRO_SCALE=$INTERLEAVE_SCALE MICRO_REPS=$INTERLEAVE_REPS "${PIN[@]}" "$BUILD/tokiomicro" bench
                fi
            } 2>>"$BUILD/stderr.interleaved.log" | tag "r$r" >>"$INTERLEAVED"
            run_ours_speed "r$r" "$INTERLEAVE_REPS" "$imin" \
                'BM_YieldSameLoop/|BM_Yield/fibers:2$|BM_Yield/fibers:2/|BM_SpawnAwait/' >>"$INTERLEAVED"
        done
    fi

    # ------------------------------------------------------------ ours: memory
    sizes=(10000 100000)
    log "ours: RSS per parked fiber ($MEM_REPS fresh processes per size$([[ $ASYNC_1M == 1 ]] && echo '; 1M once'))"
    : >"$BUILD/async_mem.log"
    for n in "${sizes[@]}"; do
        for ((r = 0; r < MEM_REPS; r++)); do
            "${PIN[@]}" "$ASYNC_BUILD/bench/parked_rss" "$n" >>"$OURS" 2>>"$BUILD/async_mem.log" ||
                echo "parked_rss $n: exit $?" >>"$BUILD/async_mem.log"
        done
    done
    if [[ $ASYNC_1M == 1 ]]; then
        "${PIN[@]}" "$ASYNC_BUILD/bench/parked_rss" 1000000 >>"$OURS" 2>>"$BUILD/async_mem.log" ||
            echo "parked_rss 1000000: exit $?" >>"$BUILD/async_mem.log"
    fi
fi

# ---------------------------------------------------------------- report
cpu_model=$(awk -F: '/^model name/ {sub(/^[ \t]+/, "", $2); print $2; exit}' /proc/cpuinfo)
cpu_fms=$(awk -F: '/^cpu family/ {f=$2} /^model\t/ {m=$2} END {gsub(/ /, "", f); gsub(/ /, "", m); printf "family %s model %s", f, m}' /proc/cpuinfo)
echo "## async fiber core vs peers"
echo
echo "- date: $(date '+%Y-%m-%d %H:%M %Z')"
echo "- CPU: ${cpu_model:-unknown} ($cpu_fms, $(nproc) CPUs visible), everything pinned to CPU $PIN_CPU"
echo "- kernel: $(uname -r); compilers: $(${CXX:-g++} --version | head -1); $(${CC:-gcc} --version | head -1 | sed 's/ (.*)//') for C"
echo "- ours: $ASYNC_BUILD, Release -O2 -DNDEBUG, static library, guard pages on; Google Benchmark, $MICRO_REPS repetitions before and $MICRO_REPS after the peers"
echo "- peers: $PEERS/run.sh, MICRO_REPS=$MICRO_REPS MICRO_SCALE=$MICRO_SCALE MEM_REPS=$MEM_REPS"
echo "- tree built: $(cat "$BUILD/async_tree.txt" 2>/dev/null || echo '?')"
echo "- load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end ($(nproc) CPUs)"
echo

# rows: operation|our label|peer label|peer name|target (max ours/peer) or -
cat >"$BUILD/compare_rows.txt" <<'ROWS'
yield, ns per yield (2 fibers, same loop: the peers' shape)|async.BM_YieldSameLoop/fibers:2|ctx.boost_jump_fcontext.roundtrip|Boost.Context raw jump_fcontext round trip|1.0
yield, ns per yield (2 fibers, same loop: the peers' shape)|async.BM_YieldSameLoop/fibers:2|ctx.boost_context_fiber.roundtrip|Boost.Context fiber::resume round trip|-
yield, ns per yield (2 fibers, same loop: the peers' shape)|async.BM_YieldSameLoop/fibers:2|bfiber.yield|Boost.Fiber this_fiber::yield|-
yield, ns per yield (2 fibers, same loop: the peers' shape)|async.BM_YieldSameLoop/fibers:2|go.gosched_yield|Go runtime.Gosched|-
yield, ns per yield (2 fibers, same loop: the peers' shape)|async.BM_YieldSameLoop/fibers:2|tokio.yield_now|Tokio yield_now|-
yield, ns per yield (2 fibers running different code)|async.BM_Yield/fibers:2|ctx.boost_jump_fcontext.roundtrip|Boost.Context raw jump_fcontext round trip|-
switch round trip via yield, ns|async.BM_ContextSwitch|ctx.boost_jump_fcontext.roundtrip|Boost.Context raw jump_fcontext round trip|-
switch round trip via yield, ns|async.BM_ContextSwitch|ctx.ucontext_swapcontext.roundtrip|glibc swapcontext round trip|-
spawn+run+await empty, batch 1, ns|async.BM_SpawnAwait/batch:1|tokio.spawn_join.batch1|Tokio spawn + await|0.35
spawn+run+await empty, batch 1, ns|async.BM_SpawnAwait/batch:1|go.spawn_join.batch1|Go go + WaitGroup|-
spawn+run+await empty, batch 1, ns|async.BM_SpawnAwait/batch:1|bfiber.spawn_join.batch1.pooled_stack|Boost.Fiber, pooled stack|-
spawn+run+await empty, batch 1000, ns/fiber|async.BM_SpawnAwait/batch:1000|tokio.spawn_join.batch1000|Tokio spawn + await|0.35
spawn+run+await empty, batch 1000, ns/fiber|async.BM_SpawnAwait/batch:1000|go.spawn_join.batch1000|Go go + WaitGroup|-
spawn+run+await empty, batch 1000, ns/fiber|async.BM_SpawnAwait/batch:1000|bfiber.spawn_join.batch1000.pooled_stack|Boost.Fiber, pooled stack|-
channel round trip, buffered (64), ns|async.BM_ChannelPingPong/capacity:64|bfiber.chan_buffered64.roundtrip|Boost.Fiber buffered_channel|0.3
channel round trip, buffered (64), ns|async.BM_ChannelPingPong/capacity:64|go.chan_buffered64.roundtrip|Go chan (cap 64)|0.3
channel round trip, buffered (64), ns|async.BM_ChannelPingPong/capacity:64|tokio.mpsc_cap64.roundtrip|Tokio mpsc (cap 64)|0.3
channel round trip, unbuffered, ns|async.BM_ChannelPingPong/capacity:0|bfiber.chan_unbuffered.roundtrip|Boost.Fiber unbuffered_channel|0.3
channel round trip, unbuffered, ns|async.BM_ChannelPingPong/capacity:0|go.chan_unbuffered.roundtrip|Go chan (unbuffered)|0.3
channel round trip, unbuffered, ns|async.BM_ChannelPingPong/capacity:0|tokio.mpsc_cap1.roundtrip|Tokio mpsc (cap 1; no rendezvous channel)|0.3
RSS per parked fiber, 10k, bytes|mem.async.n10000.rss_per_fiber|mem.go.n10000.rss_per_goroutine|Go goroutine|-
RSS per parked fiber, 10k, bytes|mem.async.n10000.rss_per_fiber|mem.tokio.n10000.rss_per_task|Tokio task|-
RSS per parked fiber, 10k, bytes|mem.async.n10000.rss_per_fiber|mem.bfiber.default.n10000.rss_per_fiber|Boost.Fiber, default stack|-
RSS per parked fiber, 10k, bytes|mem.async.n10000.rss_per_fiber|mem.bfiber.protected.n10000.rss_per_fiber|Boost.Fiber, protected stack (guarded)|-
RSS per parked fiber, 100k, bytes|mem.async.n100000.rss_per_fiber|mem.go.n100000.rss_per_goroutine|Go goroutine|-
RSS per parked fiber, 100k, bytes|mem.async.n100000.rss_per_fiber|mem.tokio.n100000.rss_per_task|Tokio task|-
RSS per parked fiber, 100k, bytes|mem.async.n100000.rss_per_fiber|mem.bfiber.default.n100000.rss_per_fiber|Boost.Fiber, default stack|-
RSS per parked fiber, 100k, bytes|mem.async.n100000.rss_per_fiber|mem.bfiber.protected.n100000.rss_per_fiber|Boost.Fiber, protected stack (runs that completed; see its guard pages in peers_report.md)|-
RSS per parked fiber, 1M, bytes|mem.async.n1000000.rss_per_fiber|-|(no peer run at 1M)|-
ROWS

# Ours only: label|what
cat >"$BUILD/compare_ours.txt" <<'ROWS'
async.BM_ContextSwitch|round trip between 2 fibers via async_yield (2 switches), ns
async.BM_ContextYieldSingleFiber|async_yield with no other fiber runnable (no switch), ns
async.BM_YieldSameLoop/fibers:2|yield, 2 fibers running the same loop (the peers' shape), ns per yield
async.BM_Yield/fibers:2|yield, 2 fibers running different code (a timing fiber and a member), ns per yield
async.BM_Yield/fibers:4|yield, 4 fibers in turn, ns per yield
async.BM_Yield/fibers:1000|yield, 1000 fibers in turn, ns per yield
async.BM_SpawnAwait/batch:1|spawn+run+await empty, batch 1, from a fiber, ns
async.BM_SpawnAwait/batch:1000|spawn+run+await empty, batch 1000, from a fiber, ns per fiber
async.BM_SpawnAwaitFromThread/batch:1|spawn+run+await empty, batch 1, from the thread (top-level await), ns
async.BM_SpawnAwaitFromThread/batch:1000|spawn+run+await empty, batch 1000, from the thread, ns per fiber
async.BM_ChannelPingPong/capacity:64|channel ping-pong round trip, buffered (64), ns
async.BM_ChannelPingPong/capacity:0|channel ping-pong round trip, unbuffered, ns
async.BM_BaselineUcontextRoundTrip|baseline: glibc swapcontext round trip (no library), ns
async.BM_BaselineThreadRoundTrip|baseline: 2 OS threads, mutex + condvar round trip (no library), ns
mem.async.n10000.rss_per_fiber|RSS per parked fiber, 10k (baseline before runtime init), B
mem.async.n10000.rss_per_fiber_after_init|RSS per parked fiber, 10k (baseline after init: stacks + pool records), B
mem.async.n100000.rss_per_fiber|RSS per parked fiber, 100k, B
mem.async.n100000.rss_per_fiber_after_init|RSS per parked fiber, 100k (after init), B
mem.async.n1000000.rss_per_fiber|RSS per parked fiber, 1M, B
mem.async.n1000000.rss_per_fiber_after_init|RSS per parked fiber, 1M (after init), B
mem.async.n10000.virt_per_fiber|virtual size per parked fiber, 10k (16 KiB stack + 4 KiB guard + records), B
mem.async.n10000.pool_mappings|stack pool mappings (async_runtime_stats), 10k
mem.async.n100000.pool_mappings|stack pool mappings, 100k
mem.async.n1000000.pool_mappings|stack pool mappings, 1M
mem.async.n100000.new_mappings|new lines in /proc/self/maps, 100k (adjacent slabs merge)
mem.async.n10000.guard_bytes|guard bytes under each stack (stats.guard_bytes)
mem.async.n10000.guard_method|guard method (1 MADV_GUARD_INSTALL, 2 mprotect)
mem.async.n10000.guard_probes_faulted|guard probes that faulted (of 3), 10k
mem.async.n100000.guard_probes_faulted|guard probes that faulted (of 3), 100k
mem.async.n1000000.guard_probes_faulted|guard probes that faulted (of 3), 1M
mem.async.n100000.rss_left_after_shutdown_per_fiber|100k: RSS left after shutdown, B per fiber
mem.async.n100000.spawn_ns_per_fiber|100k: spawn, ns per fiber (stack slabs mapped and guarded here)
mem.async.n100000.run_to_parked_ns_per_fiber|100k: run until all parked, ns per fiber (first touch of each stack)
mem.async.n1000000.spawn_ns_per_fiber|1M: spawn, ns per fiber
mem.async.n1000000.run_to_parked_ns_per_fiber|1M: run until all parked, ns per fiber
ROWS

touch "$OURS" "$PEER_SAMPLES" "$INTERLEAVED"
awk -F'\t' -v rounds="$INTERLEAVE_ROUNDS" '
FILENAME ~ /compare_rows.txt$/ { split($0, f, "|"); n++; op[n] = f[1]; ol[n] = f[2]; pl[n] = f[3]; pn[n] = f[4]; tg[n] = f[5]; next }
FILENAME ~ /compare_ours.txt$/ { split($0, f, "|"); m++; xl[m] = f[1]; xw[m] = f[2]; next }
FILENAME ~ /interleaved_samples.tsv$/ {
    if (NF >= 4) { l = $1 "#" $4; icnt[l]++; ival[l, icnt[l]] = $2 + 0; seen_round[$4] = 1 }
    next
}
NF >= 2 { cnt[$1]++; val[$1, cnt[$1]] = $2 + 0; if (NF >= 4 && $4 != "") { p = $1 "@" $4; cnt[p]++; val[p, cnt[p]] = $2 + 0 } }
function sortmed(k, v,    a, b, x) {
    for (a = 2; a <= k; a++) { x = v[a]; b = a - 1; while (b >= 1 && v[b] > x) { v[b + 1] = v[b]; b-- } v[b + 1] = x }
    smin = v[1]; smax = v[k]
    return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
}
function med(l,    k, a, v) {
    k = cnt[l]
    for (a = 1; a <= k; a++) v[a] = val[l, a]
    x = sortmed(k, v); lo[l] = smin; hi[l] = smax
    return x
}
function imed(l,    k, a, v) {
    k = icnt[l]
    for (a = 1; a <= k; a++) v[a] = ival[l, a]
    return sortmed(k, v)
}
function fmt(x) { return (x >= 100) ? sprintf("%.0f", x) : sprintf("%.1f", x) }
END {
    print "### One run of run.sh, ours before and after it"
    print ""
    print "| operation | ours (median; min-max) | peer | peer median | ours/peer | target |"
    print "|---|---:|---|---:|---:|---|"
    for (i = 1; i <= n; i++) {
        if (!(ol[i] in cnt)) continue
        o = med(ol[i])
        ours = fmt(o) " (" fmt(lo[ol[i]]) "-" fmt(hi[ol[i]]) ")"
        if (pl[i] == "-") { printf "| %s | %s | %s | | | |\n", op[i], ours, pn[i]; continue }
        if (!(pl[i] in cnt)) {
            fail = pl[i]; sub(/rss_per_fiber$/, "spawned_before_failure", fail)
            why = (fail in cnt) ? sprintf("no completed run (stopped at %.0f fibers)", med(fail)) : "no sample"
            printf "| %s | %s | %s | %s | | |\n", op[i], ours, pn[i], why
            continue
        }
        p = med(pl[i]); r = o / p
        t = ""
        if (tg[i] != "-") {
            t = "<= " tg[i] "x: " ((r <= tg[i] + 0) ? "**met**" : "**missed**")
            verdict[++nv] = sprintf("%s vs %s: %.2fx (target <= %sx) -> %s", op[i], pn[i], r, tg[i], (r <= tg[i] + 0) ? "MET" : "MISSED")
        }
        printf "| %s | %s | %s | %s | %.2fx | %s |\n", op[i], ours, pn[i], fmt(p), r, t
    }
    if (rounds > 0) {
        print ""
        printf "### Interleaved: %d rounds, each the peers then ours, back to back\n\n", rounds
        print "Per round: the median of that round'"'"'s repetitions on each side, and their ratio; below, the median over rounds."
        print ""
        print "| operation | ours | peer | peer | ours/peer (median of rounds; min-max) | target |"
        print "|---|---:|---|---:|---:|---|"
        for (i = 1; i <= n; i++) {
            if (pl[i] == "-" || ol[i] ~ /^mem\./ || ol[i] ~ /ContextSwitch/ || pl[i] ~ /ucontext/) continue
            k = 0; delete ro; delete ra; delete rp
            for (r = 1; r <= rounds; r++) {
                a = ol[i] "#r" r; b = pl[i] "#r" r
                if (!(a in icnt) || !(b in icnt)) continue
                k++; ra[k] = imed(a); rp[k] = imed(b); ro[k] = ra[k] / rp[k]
            }
            if (k == 0) continue
            mo = sortmed(k, ra); mp = sortmed(k, rp); mr = sortmed(k, ro); rmin = smin; rmax = smax
            t = ""
            if (tg[i] != "-") {
                t = "<= " tg[i] "x: " ((mr <= tg[i] + 0) ? "**met**" : "**missed**")
                iverdict[++niv] = sprintf("%s vs %s: %.2fx over %d rounds (%.2f-%.2f) (target <= %sx) -> %s", op[i], pn[i], mr, k, rmin, rmax, tg[i], (mr <= tg[i] + 0) ? "MET" : "MISSED")
            }
            printf "| %s | %s | %s | %s | %.2fx (%.2f-%.2f) | %s |\n", op[i], fmt(mo), pn[i], fmt(mp), mr, rmin, rmax, t
        }
    }
    print ""
    print "### Ours, every series"
    print ""
    print "| series | median | min | max | n | median before peers | median after peers |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= m; i++) {
        if (!(xl[i] in cnt)) continue
        o = med(xl[i]); a = lo[xl[i]]; b = hi[xl[i]]
        pre = (xl[i] "@pre" in cnt) ? fmt(med(xl[i] "@pre")) : ""
        post = (xl[i] "@post" in cnt) ? fmt(med(xl[i] "@post")) : ""
        printf "| %s | %s | %s | %s | %d | %s | %s |\n", xw[i], fmt(o), fmt(a), fmt(b), cnt[xl[i]], pre, post
    }
    print ""
    print "### Targets"
    print ""
    for (i = 1; i <= nv; i++) print "- run.sh + ours: " verdict[i]
    for (i = 1; i <= niv; i++) print "- interleaved: " iverdict[i]
    l = "mem.async.n100000.rss_per_fiber"
    if (l in cnt) { o = med(l); printf "- RSS per parked fiber at 100k, guards on: %.0f B (target <= 4400 B) -> %s\n", o, (o <= 4400) ? "MET" : "MISSED" }
    l = "mem.async.n1000000.guard_probes_faulted"
    if (l in cnt) printf "- 1,000,000 guarded parked fibers: %s (RSS %.0f B per fiber, %d pool mappings, guard probes faulted %d of 3)\n", (med(l) == 3) ? "MET" : "MISSED", med("mem.async.n1000000.rss_per_fiber"), med("mem.async.n1000000.pool_mappings"), med(l)
    else if (ENVIRON["ASYNC_1M"] == "1") print "- 1,000,000 guarded parked fibers: MISSED (no result; see async_mem.log)"
}' "$BUILD/compare_rows.txt" "$BUILD/compare_ours.txt" "$PEER_SAMPLES" "$OURS" "$INTERLEAVED"

if [[ -s "$BUILD/async_mem.log" ]] && grep -qv '^parked_rss: [0-9]* fibers parked' "$BUILD/async_mem.log"; then
    echo
    echo "Notes from our memory runs:"
    grep -v '^parked_rss: [0-9]* fibers parked' "$BUILD/async_mem.log" | sort -u | sed 's/^/    /'
fi
echo
echo "Raw: ours $OURS, $BUILD/async_bench.{pre,post}.json; interleaved $INTERLEAVED; peers $PEER_SAMPLES; the peers' own report: $PEER_REPORT"
