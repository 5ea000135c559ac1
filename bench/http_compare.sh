#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/http_compare.sh: examples/http_server against the single-core HTTP
# peers (the http set: docs/benchmarks.md, Peers; nginx 1 worker, Go
# net/http GOMAXPROCS=1, libuv, the hand-written edge-triggered epoll
# server), in ONE run: tiny
# keep-alive "hello world\n" responses over loopback, every server pinned to
# CPU $SERVER_CPU and the load generator to CPU $CLIENT_CPU.
#
# It is a thin wrapper over the peers' run.sh method, which has no knob for
# an extra server: the same peer sources, nginx config and build commands,
# the same load generators (hload from the peers' src/, or wrk -t1), the same
# warm-up + timed cell, /proc/stat CPU columns and output parsing. Two
# differences: our server is one more entry (port $ASYNC_PORT), and the
# server order is rotated each round (round r starts at the r-th server), so
# no server always runs first or last.
#
#   bench/http_compare.sh                      # hload, 3 rounds, 50 and 500 conns,
#                                              # then 10,000 conns (async, epoll, nginx)
#   CLIENT=wrk bench/http_compare.sh           # the same with wrk -t1
#   RUNS=1 DURATION=3s WARMUP=1s bench/http_compare.sh   # a quick smoke run
#   REPORT_ONLY=1 bench/http_compare.sh        # re-print the last tables
#
# Knobs: BUILD=/tmp/http-compare  RUNS=3  DURATION=10s  WARMUP=2s
#   CONNS="50 500"  SERVERS="async nginx go libuv epoll"  BIG_CONNS=10000
#   BIG_SERVERS="async epoll nginx" (empty: skip)  CLIENT=hload|wrk
#   SERVER_CPU=0 CLIENT_CPU=1  SYSCALLS=1 (perf stat syscalls per request)
#   PEERS=<dir of run.sh>  ASYNC_PORT=18087
# Needs: nginx wrk golang-go libuv1-dev gcc pkg-config cmake taskset;
#   optional linux-perf. Every server listens on 127.0.0.1 only and is
#   stopped by the PID this script started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers/http}
[[ -d $PEERS ]] || PEERS=/work/shared/peers/http
BUILD=${BUILD:-${TMPDIR:-/tmp}/http-compare}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-"50 500"}
SERVERS=${SERVERS:-"async nginx go libuv epoll"}
BIG_CONNS=${BIG_CONNS:-10000}
BIG_SERVERS=${BIG_SERVERS-"async epoll nginx"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SYSCALLS=${SYSCALLS:-1}
REPORT_ONLY=${REPORT_ONLY:-0}
CLIENT=${CLIENT:-hload}
ASYNC_PORT=${ASYNC_PORT:-18087}
RESULTS=$BUILD/results-$CLIENT.tsv
SYSTAB=$BUILD/syscalls-$CLIENT.tsv
LOG=$BUILD/servers.log
[[ $CLIENT == wrk || $CLIENT == hload ]] || { echo "CLIENT must be wrk or hload" >&2; exit 2; }

log() { echo "[http_compare] $*" >&2; }
die() { log "error: $*"; exit 1; }

port_of() {
    case $1 in
    nginx) echo 18080 ;; go) echo 18081 ;; libuv) echo 18082 ;; epoll) echo 18083 ;;
    async) echo "$ASYNC_PORT" ;;
    *) die "unknown server $1" ;;
    esac
}

# ------------------------------------------------------------------ servers
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
    local name=$1 port pin=(taskset -c "$SERVER_CPU")
    port=$(port_of "$name")
    port_open "$port" && die "127.0.0.1:$port is already taken by a process this script did not start"
    echo "=== $(date +%T) start $name" >>"$LOG"
    case $name in
    nginx)
        local p=$BUILD/nginx
        rm -rf "$p" && mkdir -p "$p/tmp"
        cp "$PEERS/nginx/nginx.conf" "$p/nginx.conf"
        "${pin[@]}" nginx -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" >>"$LOG" 2>&1 &
        ;;
    go) GOMAXPROCS=1 "${pin[@]}" "$BUILD/go_server" -addr "127.0.0.1:$port" >>"$LOG" 2>&1 & ;;
    libuv) "${pin[@]}" "$BUILD/uv_server" -p "$port" >>"$LOG" 2>&1 & ;;
    epoll) "${pin[@]}" "$BUILD/epoll_server" -p "$port" -m et >>"$LOG" 2>&1 & ;;
    async) "${pin[@]}" "$BUILD/async/examples/http_server" -w 1 "$port" >>"$LOG" 2>&1 & ;;
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

worker_pid() { # nginx's worker (child of the master, by parent PID), else the server
    local kids
    kids=$(ps -o pid= --ppid "$SPID" | tr -d ' ')
    if [[ -n $kids ]]; then echo "$kids" | head -1; else echo "$SPID"; fi
}

smoke_check() { # one request, then three pipelined ones
    local name=$1 port=$2 out n
    out=$(exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&3
        timeout 1 cat <&3 || true)
    [[ $out == "HTTP/1.1 200 OK"*"hello world"* ]] || die "$name: bad response: $out"
    printf '%s\t%s\n' "$name" "$(printf '%s\n' "$out" | wc -c)" >>"$BUILD/resp_bytes.tsv"
    n=$(exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n' >&3
        timeout 1 cat <&3 | grep -c 'hello world' || true)
    [[ $n == 3 ]] || die "$name: answered $n of 3 pipelined requests"
}

# ------------------------------------------------------------------ measuring
cpu_ticks() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

load() { # $1 port, $2 connections, $3 duration; bounded (hload waits for every connection)
    local secs=${3%s}
    if [[ $CLIENT == wrk ]]; then
        timeout $((secs + 60)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$2" -d"$3" --latency "http://127.0.0.1:$1/"
    else
        timeout $((secs + 60)) taskset -c "$CLIENT_CPU" "$BUILD/hload" -c "$2" -d "$secs" -p "$1"
    fi
}

parse_wrk() { # rps p50_us p99_us errors(c/r/w/t) non2xx requests mean_us
    awk '
    function us(v) {
        if (v ~ /us$/) return v + 0
        if (v ~ /ms$/) return (v + 0) * 1000
        if (v ~ /m$/) return (v + 0) * 60000000
        if (v ~ /s$/) return (v + 0) * 1000000
        return v + 0
    }
    / requests in / { req = $1 }
    /^ +Latency +[0-9]/ { avg = us($2) }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Socket errors:/ { gsub(",", ""); err = $4 "/" $6 "/" $8 "/" $10 }
    /Non-2xx/ { non = $NF }
    END {
        if (rps == "") exit 1
        printf "%.0f\t%.0f\t%.0f\t%s\t%d\t%d\t%.0f\n", rps, p50, p99, (err == "" ? "0/0/0/0" : err), non, req, avg
    }' "$1"
}

# utime + stime of a process, all its threads, in clock ticks (/proc/PID/stat
# fields 14 and 15, after the parenthesised name).
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

measure() { # $1 run, $2 server, $3 conns
    local run=$1 name=$2 conns=$3 port out a0 a1 b0 b1 row busy0 busy1 wpid p0 p1
    port=$(port_of "$name")
    out=$BUILD/raw/$CLIENT-$name-c$conns-r$run.txt
    wpid=$(worker_pid)
    load "$port" "$conns" "$WARMUP" >/dev/null 2>&1 || true
    a0=$(cpu_ticks "$SERVER_CPU"); a1=$(cpu_ticks "$CLIENT_CPU"); p0=$(proc_ticks "$wpid")
    load "$port" "$conns" "$DURATION" >"$out" 2>&1 || true
    b0=$(cpu_ticks "$SERVER_CPU"); b1=$(cpu_ticks "$CLIENT_CPU"); p1=$(proc_ticks "$wpid")
    row=$(parse_wrk "$out") || { log "$CLIENT failed for $name c=$conns, see $out"; return 0; }
    busy0=$(awk -v a="$a0" -v b="$b0" 'BEGIN { split(a, x, " "); split(b, y, " ");
        db = y[1] - x[1]; di = y[2] - x[2]; printf "%.1f", (db + di) ? 100 * db / (db + di) : 0 }')
    busy1=$(awk -v a="$a1" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " ");
        db = y[1] - x[1]; di = y[2] - x[2]; printf "%.1f", (db + di) ? 100 * db / (db + di) : 0 }')
    # The server process's own CPU time per response: unlike cpuN busy, it
    # leaves out whatever else runs on the server's CPU (a shared machine).
    local preq
    preq=$(awk -v t=$((p1 - p0)) -v hz="$(getconf CLK_TCK)" -v r="$(cut -f6 <<<"$row")" \
        'BEGIN { printf "%.2f", r ? t * 1e6 / hz / r : 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$conns" "$row" "$busy0" "$busy1" "$preq" >>"$RESULTS"
    log "$CLIENT run $run $name c=$conns: $(cut -f1-4 <<<"$row" | tr '\t' ' ') | cpu$SERVER_CPU ${busy0}% cpu$CLIENT_CPU ${busy1}% | process ${preq} us/req | load $(cut -d' ' -f1 /proc/loadavg)"
}

SYSCALL_EVENTS="raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,syscalls:sys_enter_nanosleep"

syscall_profile() { # $1 server: syscalls per request at 50 connections, 5 s
    local name=$1 port wpid out pout req
    port=$(port_of "$name")
    wpid=$(worker_pid)
    out=$BUILD/raw/$CLIENT-$name-syscalls-load.txt
    pout=$BUILD/raw/$CLIENT-$name-syscalls-perf.txt
    load "$port" 50 1s >/dev/null 2>&1 || true
    perf stat -x, -e "$SYSCALL_EVENTS" -p "$wpid" -o "$pout" &
    local ppid=$!
    sleep 0.2
    load "$port" 50 5s >"$out" 2>&1 || true
    kill -INT "$ppid" 2>/dev/null || true
    wait "$ppid" 2>/dev/null || true
    req=$(awk '/ requests in / { print $1 }' "$out")
    awk -F, -v name="$name" -v req="$req" '
        NF > 2 && $3 ~ /sys/ { ev = $3; sub(/.*sys_enter_?/, "", ev); if (ev == "") ev = "all";
                               v[ev] += ($1 ~ /^[0-9]+$/ ? $1 : 0) }
        END { epw = v["epoll_wait"] + v["epoll_pwait"]
              printf "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", name, req,
                 v["all"] / req, (v["read"] + v["recvfrom"]) / req, (v["write"] + v["writev"] + v["sendto"]) / req,
                 epw / req, v["epoll_ctl"] / req, (v["futex"] + v["nanosleep"]) / req,
                 (v["all"] - v["read"] - v["recvfrom"] - v["write"] - v["writev"] - v["sendto"] - epw - v["epoll_ctl"] - v["futex"] - v["nanosleep"]) / req }' \
        "$pout" >>"$SYSTAB"
    log "syscalls $name: $(tail -1 "$SYSTAB" | cut -f2-)"
}

# ------------------------------------------------------------------ report
report() {
    awk -F'\t' -v conns="$CONNS" -v big="$BIG_CONNS" -v servers="$SERVERS" -v bigs="$BIG_SERVERS" \
        -v client="$CLIENT" -v scpu="$SERVER_CPU" -v ccpu="$CLIENT_CPU" -v bytesf="$BUILD/resp_bytes.tsv" '
    function med(arr, key, cnt,    i, j, t, a) {
        for (i = 1; i <= cnt; i++) a[i] = arr[key, i] + 0
        for (i = 2; i <= cnt; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return (cnt % 2) ? a[(cnt + 1) / 2] : (a[cnt / 2] + a[cnt / 2 + 1]) / 2
    }
    function lo(arr, key, cnt,    i, m) { m = arr[key, 1] + 0; for (i = 2; i <= cnt; i++) if (arr[key, i] + 0 < m) m = arr[key, i] + 0; return m }
    function hi(arr, key, cnt,    i, m) { m = arr[key, 1] + 0; for (i = 2; i <= cnt; i++) if (arr[key, i] + 0 > m) m = arr[key, i] + 0; return m }
    function lat(u) { return (u >= 10000) ? sprintf("%.1f ms", u / 1000) : (u >= 1000) ? sprintf("%.2f ms", u / 1000) : sprintf("%d us", u) }
    function ratio(s, ref, cc) {
        if (!((ref SUBSEP cc) in n) || !((s SUBSEP cc) in n)) return "-"
        return sprintf("%.2f", med(rps, s SUBSEP cc, n[s SUBSEP cc]) / med(rps, ref SUBSEP cc, n[ref SUBSEP cc]))
    }
    BEGIN { while ((getline line < bytesf) > 0) { split(line, f, "\t"); bytes[f[1]] = f[2] } }
    {
        k = $2 SUBSEP $3; c = ++n[k]
        rps[k, c] = $4; p50[k, c] = $5; p99[k, c] = $6; mean[k, c] = $10; b0[k, c] = $11; b1[k, c] = $12; pu[k, c] = $13
        split($7, e, "/"); errs[k] += e[1] + e[2] + e[3] + e[4] + $8
    }
    function row(s, cc,    k, m, cpu) {
        k = s SUBSEP cc
        if (!(k in n)) return
        m = med(rps, k, n[k]); cpu = med(b0, k, n[k])
        printf "| %s | %s | %d | %.0f-%.0f | %s | %s | %s | %s | %s | %.0f%% | %.0f%% | %.2f | %.2f | %d |\n", s, cc, m,
            lo(rps, k, n[k]), hi(rps, k, n[k]), lat(med(p50, k, n[k])), lat(med(p99, k, n[k])),
            ratio(s, "epoll", cc), ratio(s, "nginx", cc), lat(med(mean, k, n[k])),
            cpu, med(b1, k, n[k]), 1e4 * cpu / m, med(pu, k, n[k]), errs[k]
    }
    END {
        printf "client: %s, server on cpu%s, client on cpu%s; medians of the rounds\n\n", client, scpu, ccpu
        printf "| server | conns | req/s (median) | min-max | p50 | p99 | ratio to epoll | ratio to nginx | mean | cpu%s busy (server) | cpu%s busy (%s) | server-CPU us/req | process CPU us/req | errors |\n", scpu, ccpu, client
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        nc = split(conns, C, " "); ns = split(servers, S, " "); nb = split(bigs, B, " ")
        for (i = 1; i <= nc; i++) for (j = 1; j <= ns; j++) row(S[j], C[i])
        for (j = 1; j <= nb; j++) row(B[j], big)
        printf "\nruns per cell: "; for (k in n) { printf "%d", n[k]; break }; print ""
        printf "response bytes (headers+body):"; for (s in bytes) printf " %s=%d", s, bytes[s]; print ""

        # The targets (issue #3), for our server.
        print ""
        for (i = 1; i <= nc; i++) {
            cc = C[i]; ka = "async" SUBSEP cc; ke = "epoll" SUBSEP cc; kn = "nginx" SUBSEP cc
            if (!(ka in n) || !(ke in n) || !(kn in n)) continue
            ra = med(rps, ka, n[ka]); re = med(rps, ke, n[ke]); rn = med(rps, kn, n[kn])
            pa = med(p99, ka, n[ka]); pn = med(p99, kn, n[kn])
            printf "target @%s: async/epoll %.2f (>= 0.95: %s); async/nginx %.2f (>= 1.15: %s); p99 %s vs nginx %s (no worse: %s)\n",
                cc, ra / re, (ra / re >= 0.95 ? "met" : "MISSED"), ra / rn, (ra / rn >= 1.15 ? "met" : "MISSED"),
                lat(pa), lat(pn), (pa <= pn ? "met" : "MISSED")
            printf "  process CPU per response @%s: async %.2f us, epoll %.2f us, nginx %.2f us (async/epoll %.2f, nginx/async %.2f)\n",
                cc, med(pu, ka, n[ka]), med(pu, ke, n[ke]), med(pu, kn, n[kn]),
                med(pu, ka, n[ka]) / med(pu, ke, n[ke]), med(pu, kn, n[kn]) / med(pu, ka, n[ka])
        }
        kb = "async" SUBSEP big
        if (kb in n)
            printf "target @%s: async held %d connections with %d errors in %d round(s): %s\n",
                big, big, errs[kb], n[kb], (errs[kb] == 0 ? "met" : "MISSED")
    }' "$RESULTS"
    if [[ -s $SYSTAB ]]; then
        echo
        echo "syscalls per request (50 connections, 5 s, $CLIENT, perf stat on the server process or nginx's worker)"
        echo
        echo "| server | requests | all | read/recv | write/send | epoll_wait | epoll_ctl | futex+nanosleep | other |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' '{ printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$SYSTAB"
    fi
}

if [[ $REPORT_ONLY == 1 ]]; then
    [[ -s $RESULTS ]] || die "REPORT_ONLY=1 but $RESULTS is missing"
    report
    exit 0
fi

# ------------------------------------------------------------------ build
for tool in nginx wrk go gcc pkg-config taskset cmake; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install nginx wrk golang-go gcc pkg-config libuv1-dev cmake)"
done
mkdir -p "$BUILD/raw"
: >"$RESULTS"; : >"$SYSTAB"; : >"$LOG"; : >"$BUILD/resp_bytes.tsv"
log "building into $BUILD (peers from $PEERS)"
gcc -O2 -Wall -Wextra -o "$BUILD/epoll_server" "$PEERS/src/epoll_server.c"
# shellcheck disable=SC2046
gcc -O2 -Wall -Wextra -o "$BUILD/uv_server" "$PEERS/src/uv_server.c" $(pkg-config --cflags --libs libuv)
gcc -O2 -Wall -Wextra -o "$BUILD/hload" "$PEERS/src/hload.c"
(cd "$PEERS/go" && go build -o "$BUILD/go_server" main.go)
cmake -S "$ROOT" -B "$BUILD/async" -DCMAKE_BUILD_TYPE=Release -DASYNC_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$BUILD/async" -j2 --target http_server >/dev/null

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < BIG_CONNS + 100)); then
    log "ulimit -n is $(ulimit -n) (hard limit); skipping the $BIG_CONNS-connection runs"
    BIG_SERVERS=
fi
log "ulimit -n $(ulimit -n); $(nginx -v 2>&1); $(go version); libuv $(pkg-config --modversion libuv); $(wrk -v 2>&1 | head -1); async $(git -C "$ROOT" rev-parse --short HEAD)"

# ------------------------------------------------------------------ runs
read -r -a S <<<"$SERVERS"
read -r -a B <<<"$BIG_SERVERS"
for run in $(seq "$RUNS"); do
    for i in "${!S[@]}"; do # rotated: round r starts at the r-th server
        name=${S[$(((i + run - 1) % ${#S[@]}))]}
        start_server "$name"
        [[ $run == 1 ]] && smoke_check "$name" "$(port_of "$name")"
        for c in $CONNS; do measure "$run" "$name" "$c"; done
        stop_server "$(port_of "$name")"
    done
    for i in "${!B[@]}"; do
        name=${B[$(((i + run - 1) % ${#B[@]}))]}
        start_server "$name"
        measure "$run" "$name" "$BIG_CONNS"
        stop_server "$(port_of "$name")"
    done
done

if [[ $SYSCALLS == 1 ]]; then
    if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
        for name in $SERVERS; do
            start_server "$name"
            syscall_profile "$name"
            stop_server "$(port_of "$name")"
        done
    else
        log "perf with syscall tracepoints not available; skipping the syscalls-per-request table"
    fi
fi

report
