#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/http_workers.sh: examples/http_server with worker threads (issue #9)
# against the two-core peers, in ONE run: `http_server -w 2` in both accept
# modes (-a reuseport, -a handoff) and `-w 1`, nginx with 2 workers (the
# peers' nginx.conf with worker_processes 2, one shared listener) and Go
# net/http with GOMAXPROCS=2, all loaded by the peers' hload over loopback
# (tiny keep-alive "hello world\n" responses). Nothing is pinned: server and
# client share the machine's CPUs (two here), as the issue asks.
#
#   bench/http_workers.sh                          # 1 round, 50 and 500 conns, 10 s cells
#   RUNS=2 bench/http_workers.sh                   # rounds rotate the server order
#   RUNS=1 DURATION=3s WARMUP=1s bench/http_workers.sh   # a quick smoke run
#
# Knobs: BUILD=/tmp/http-workers RUNS=1 DURATION=10s WARMUP=2s CONNS="50 500"
#   SERVERS="async-w2-handoff async-w2-reuseport async-w1 nginx-2w go-2"
#   REPORT_ONLY=1 (re-print the tables from $BUILD/results.tsv)
#   PEERS=<dir of the peers' run.sh>  ASYNC_PORT=18087
# Each cell records /proc/loadavg before and after (the machine is shared).
# Needs: nginx golang-go gcc cmake. Every server listens on 127.0.0.1 only
# and is stopped by the PID this script started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers/http}
[[ -d $PEERS ]] || PEERS=/work/shared/peers/http
BUILD=${BUILD:-${TMPDIR:-/tmp}/http-workers}
RUNS=${RUNS:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-"50 500"}
SERVERS=${SERVERS:-"async-w2-handoff async-w2-reuseport async-w1 nginx-2w go-2"}
ASYNC_PORT=${ASYNC_PORT:-18087}
RESULTS=$BUILD/results.tsv
LOG=$BUILD/servers.log

log() { echo "[http_workers] $*" >&2; }
die() { log "error: $*"; exit 1; }

port_of() {
    case $1 in
    nginx-2w) echo 18080 ;; go-2) echo 18081 ;; async-*) echo "$ASYNC_PORT" ;;
    *) die "unknown server $1" ;;
    esac
}

SPID=
cleanup() {
    if [[ -n $SPID ]] && kill -0 "$SPID" 2>/dev/null; then
        kill -TERM "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() { # $1 = name; sets SPID
    local name=$1 port srv=$BUILD/async/examples/http_server
    port=$(port_of "$name")
    port_open "$port" && die "127.0.0.1:$port is already taken by a process this script did not start"
    echo "=== $(date +%T) start $name" >>"$LOG"
    case $name in
    nginx-2w)
        local p=$BUILD/nginx
        rm -rf "$p" && mkdir -p "$p/tmp"
        sed 's/^worker_processes 1;/worker_processes 2;/' "$PEERS/nginx/nginx.conf" >"$p/nginx.conf"
        grep -q '^worker_processes 2;' "$p/nginx.conf" || die "nginx.conf: no worker_processes line"
        nginx -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" >>"$LOG" 2>&1 &
        ;;
    go-2) GOMAXPROCS=2 "$BUILD/go_server" -addr "127.0.0.1:$port" >>"$LOG" 2>&1 & ;;
    async-w1) "$srv" -v -w 1 "$port" >>"$LOG" 2>&1 & ;;
    async-w2-reuseport) "$srv" -v -w 2 -a reuseport "$port" >>"$LOG" 2>&1 & ;;
    async-w2-handoff) "$srv" -v -w 2 -a handoff "$port" >>"$LOG" 2>&1 & ;;
    esac
    SPID=$!
    local i
    for i in $(seq 100); do
        port_open "$port" && return 0
        kill -0 "$SPID" 2>/dev/null || die "$name exited at start (see $LOG)"
        sleep 0.05
    done
    die "$name did not open 127.0.0.1:$port (see $LOG)"
}

stop_server() { # by PID; waits until the port is closed
    local port=$1 i
    kill -TERM "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=
    for i in $(seq 100); do
        port_open "$port" || return 0
        sleep 0.05
    done
    die "port $port still open after stopping its server"
}

load() { # $1 port, $2 connections, $3 duration; bounded
    local secs=${3%s}
    timeout $((secs + 60)) "$BUILD/hload" -c "$2" -d "$secs" -p "$1"
}

parse() { # rps p50_us p99_us errors
    awk '
    function us(v) { if (v ~ /ms$/) return (v + 0) * 1000; return v + 0 }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
    END { if (rps == "") exit 1; printf "%.0f\t%.0f\t%.0f\t%d\n", rps, p50, p99, err }' "$1"
}

measure() { # $1 run, $2 server, $3 conns
    local run=$1 name=$2 conns=$3 port out row la0 la1
    port=$(port_of "$name")
    out=$BUILD/raw/$name-c$conns-r$run.txt
    load "$port" "$conns" "$WARMUP" >/dev/null 2>&1 || true
    la0=$(cut -d' ' -f1-3 /proc/loadavg)
    load "$port" "$conns" "$DURATION" >"$out" 2>&1 || true
    la1=$(cut -d' ' -f1-3 /proc/loadavg)
    row=$(parse "$out") || { log "hload failed for $name c=$conns, see $out"; return 0; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$conns" "$row" "$la0" "$la1" >>"$RESULTS"
    log "run $run $name c=$conns: $(cut -f1-4 <<<"$row" | tr '\t' ' ') | loadavg $la0 -> $la1"
}

report() {
    awk -F'\t' -v conns="$CONNS" -v servers="$SERVERS" '
    { k = $2 SUBSEP $3; n[k]++; rps[k, n[k]] = $4; p50[k, n[k]] = $5; p99[k, n[k]] = $6; err[k] += $7
      la[k] = la[k] (la[k] == "" ? "" : "; ") $8 " -> " $9; all[k] = all[k] (all[k] == "" ? "" : ", ") $4 }
    function med(k) { return medof(rps, k) }
    function medof(arr, k,    i, j, t, a, c) { c = n[k]; for (i = 1; i <= c; i++) a[i] = arr[k, i] + 0
        for (i = 2; i <= c; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
    END {
        print "| server | conns | req/s (median) | each round | p50 us | p99 us | errors | loadavg (1 5 15 min) before -> after |"
        print "|---|---:|---:|---|---:|---:|---:|---|"
        nc = split(conns, C, " "); ns = split(servers, S, " ")
        for (i = 1; i <= nc; i++) for (j = 1; j <= ns; j++) { k = S[j] SUBSEP C[i]; if (k in n)
            printf "| %s | %s | %d | %s | %d | %d | %d | %s |\n", S[j], C[i], med(k), all[k],
                medof(p50, k), medof(p99, k), err[k], la[k] }
        print ""
        for (i = 1; i <= nc; i++) {
            c = C[i]; w1 = "async-w1" SUBSEP c; ng = "nginx-2w" SUBSEP c; go = "go-2" SUBSEP c
            for (m = 1; m <= 2; m++) {
                s = (m == 1 ? "async-w2-handoff" : "async-w2-reuseport"); k = s SUBSEP c
                if (!(k in n)) continue
                printf "@%s %s: /nginx-2w %s (>= 1.3), /go-2 %s (>= 2), /async-w1 %s (>= 1)\n", c, s,
                    (ng in n) ? sprintf("%.2f", med(k) / med(ng)) : "-",
                    (go in n) ? sprintf("%.2f", med(k) / med(go)) : "-",
                    (w1 in n) ? sprintf("%.2f", med(k) / med(w1)) : "-"
            }
        }
    }' "$RESULTS"
}

if [[ ${REPORT_ONLY:-0} == 1 ]]; then
    [[ -s $RESULTS ]] || die "REPORT_ONLY=1 but $RESULTS is missing"
    report
    exit 0
fi

for tool in nginx go gcc cmake; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install nginx golang-go gcc cmake)"
done
mkdir -p "$BUILD/raw"
: >"$RESULTS"; : >"$LOG"
log "building into $BUILD"
gcc -O2 -Wall -Wextra -o "$BUILD/hload" "$PEERS/src/hload.c"
(cd "$PEERS/go" && go build -o "$BUILD/go_server" main.go)
cmake -S "$ROOT" -B "$BUILD/async" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$BUILD/async" -j2 --target http_server >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
log "$(nproc) CPUs; ulimit -n $(ulimit -n); $(nginx -v 2>&1); $(go version); async $(git -C "$ROOT" rev-parse --short HEAD)"

read -r -a list <<<"$SERVERS"
for run in $(seq "$RUNS"); do
    for ((s = 0; s < ${#list[@]}; s++)); do # round r starts at the r-th server
        name=${list[$(((s + run - 1) % ${#list[@]}))]}
        start_server "$name"
        for c in $CONNS; do measure "$run" "$name" "$c"; done
        stop_server "$(port_of "$name")"
        [[ $name == async-* ]] && log "$name: $(grep 'per worker' "$LOG" | tail -1)"
    done
done
report
