#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sync_callgrind.sh: instructions per operation of the sync shapes, exact on
# any load (valgrind --tool=callgrind). Builds bench/callgrind_shapes
# (-O2 -g -DNDEBUG) and runs every shape twice, with N1 and N2 iterations; the
# difference of the two totals over the difference in operations is the
# steady-state cost per operation, free of process start, init and warm-up.
# With FUNCS=1 it also prints, per shape, the functions' self cost per
# operation (callgrind_annotate of both runs, subtracted), by file:function as
# callgrind reports them (code inlined from a header shows under that header).
#
#   bench/sync_callgrind.sh [OUT]        # OUT default /tmp/async-sync-callgrind
#   FUNCS=1 SHAPES="mutex1 mutex_handoff" bench/sync_callgrind.sh
#   CALLGRIND_SHAPES=<path>   use that binary instead of building one
#
# Operations: yield (2 fibers) one yield; mutex1 / pthread1 one lock+unlock;
# mutex_handoff / sem_handoff one fiber's lock+yield+unlock (2 per iteration);
# cond_pingpong one turn (2 per iteration).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-${OUT:-/tmp/async-sync-callgrind}}
N1=${N1:-2000}
N2=${N2:-12000}
SHAPES=${SHAPES:-"yield pthread1 mutex1 mutex_handoff sem_handoff cond_pingpong"}
FUNCS=${FUNCS:-0}
mkdir -p "$OUT"
if [[ -n ${CALLGRIND_SHAPES:-} ]]; then  # a callgrind_shapes binary built elsewhere
    bin=$CALLGRIND_SHAPES
else
    cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_BENCHMARKS=ON \
        "-DCMAKE_C_FLAGS_RELEASE=-O2 -g -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g -DNDEBUG" \
        "-DCMAKE_ASM_FLAGS_RELEASE=-O2 -g -DNDEBUG" >"$OUT/cmake.log"
    cmake --build "$OUT/build" -j "$(nproc)" --target callgrind_shapes >>"$OUT/cmake.log"
    bin=$OUT/build/bench/callgrind_shapes
fi
echo "tree: $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" status --porcelain -- src include | wc -l) uncommitted changes under src/ include/)"
echo
echo "| shape | instructions per op (N=$N1 -> $N2) |"
echo "|---|---:|"
for s in $SHAPES; do
    for n in "$N1" "$N2"; do
        valgrind --tool=callgrind --callgrind-out-file="$OUT/$s.$n.out" "$bin" "$s" "$n" >/dev/null 2>"$OUT/$s.$n.log"
    done
    case $s in
    yield | mutex_handoff | sem_handoff | cond_pingpong) per=2 ;;
    *) per=1 ;;
    esac
    python3 - "$OUT/$s.$N1.out" "$OUT/$s.$N2.out" "$N1" "$N2" "$per" "$s" <<'PY'
import sys
def total(path):
    for line in open(path):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
a, b = total(sys.argv[1]), total(sys.argv[2])
ops = (int(sys.argv[4]) - int(sys.argv[3])) * int(sys.argv[5])
print(f"| {sys.argv[6]} | {(b - a) / ops:.1f} |")
PY
done
if [[ $FUNCS == 1 ]]; then
    for s in $SHAPES; do
        case $s in
        yield | mutex_handoff | sem_handoff | cond_pingpong) per=2 ;;
        *) per=1 ;;
        esac
        echo
        echo "$s: self instructions per op by function (>= 0.5)"
        echo
        for n in "$N1" "$N2"; do
            callgrind_annotate --auto=no --threshold=100 "$OUT/$s.$n.out" >"$OUT/$s.$n.annotate" 2>/dev/null
        done
        python3 - "$OUT/$s.$N1.annotate" "$OUT/$s.$N2.annotate" "$N1" "$N2" "$per" <<'PY'
import re, sys
def funcs(path):
    d = {}
    for line in open(path):
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?:\s+\[[^\]]*\])?\s*$", line)
        if m and ":" in m.group(2) and not m.group(2).startswith(("PROGRAM TOTALS", "=>", "<")):
            k = re.sub(r"'\d+$", "", m.group(2))  # callgrind's recursion suffix: one function
            d[k] = d.get(k, 0) + int(m.group(1).replace(",", ""))
    return d
a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
ops = (int(sys.argv[4]) - int(sys.argv[3])) * int(sys.argv[5])
rows = sorted(((b.get(k, 0) - a.get(k, 0)) / ops, k) for k in set(a) | set(b))
print("| instr. per op | function |\n|---:|---|")
for v, k in reversed(rows):
    if abs(v) >= 0.5:
        print(f"| {v:.1f} | `{k}` |")
PY
    done
fi
