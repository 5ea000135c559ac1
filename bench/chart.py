#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""chart.py: one chart of a full benchmark run, ours against every peer on each measure.

Two steps, so that the chart can always be drawn again from committed numbers:

  bench/chart.py collect --micro DIR --sync DIR --multi DIR --blocking DIR --http DIR \\
                         -o docs/benchmarks-samples.tsv
      gathers the raw samples the compare scripts saved (compare.sh's BUILD, the OUT
      directories of sync_compare.sh, multi_compare.sh and blocking_compare.sh, and
      http_compare.sh's BUILD) into one file: suite TAB label TAB value TAB unit, one
      timed repetition (or one HTTP cell) a line. Any directory may be left out.

  bench/chart.py draw docs/benchmarks-samples.tsv -o docs/benchmarks.svg [--table]
      draws, for every measure and every peer that ran it, the ratio
      median(ours) / median(peer) as a horizontal bar on a log scale, with the 1.0 line.
      Every measure is a cost (ns per operation, bytes per fiber; HTTP throughput is
      turned into ns per request, and the server's own CPU time per request is a second
      HTTP measure), so lower is better throughout: a bar left of 1.0
      means ours is cheaper. --table also prints the ratios as a Markdown table.

Needs python3-matplotlib (Debian) for draw; collect needs the standard library only.
"""
import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

# The measures: (group, suite, what is measured, our label, [(peer name, peer label), ...]).
# Labels are the ones the benchmark programs print (docs/benchmarks.md, Method); the suite is
# the script whose samples count (Tokio's blocking round trip, say, is printed by two).
FIBER_PEERS = (("Boost.Fiber", "bfiber"), ("Go", "go"), ("Tokio", "tokio"))


def same_shape(sep, shape, peers=FIBER_PEERS):
    """The peers that print the shape under their own prefix: bfiber.mutex_handoff, go_stream."""
    return [(name, prefix + sep + shape) for name, prefix in peers]


def micro(bfiber, go, tokio):
    """The micro set's labels, which differ per peer."""
    return [("Boost.Fiber", "bfiber." + bfiber), ("Go", "go." + go), ("Tokio", "tokio." + tokio)]


CORE = ("fiber core, 1 thread", "micro")
SYNC = ("synchronisation, 1 thread", "sync")
MULTI = ("across 2 threads", "multi")
BLOCKING = ("across 2 threads", "blocking")
MEASURES = [
    (*CORE, "yield (2 fibers)", "async.BM_YieldSameLoop/fibers:2",
     micro("yield", "gosched_yield", "yield_now")
     + [("Boost.Context jump_fcontext", "ctx.boost_jump_fcontext.roundtrip")]),
    (*CORE, "spawn+run+await, one at a time", "async.BM_SpawnAwait/batch:1",
     micro("spawn_join.batch1.pooled_stack", "spawn_join.batch1", "spawn_join.batch1")),
    (*CORE, "spawn+run+await, batches of 1000", "async.BM_SpawnAwait/batch:1000",
     micro("spawn_join.batch1000.pooled_stack", "spawn_join.batch1000", "spawn_join.batch1000")),
    (*CORE, "channel round trip, buffered (64)", "async.BM_ChannelPingPong/capacity:64",
     micro("chan_buffered64.roundtrip", "chan_buffered64.roundtrip", "mpsc_cap64.roundtrip")),
    (*CORE, "channel round trip, unbuffered", "async.BM_ChannelPingPong/capacity:0",
     micro("chan_unbuffered.roundtrip", "chan_unbuffered.roundtrip", "mpsc_cap1.roundtrip")),
    (*CORE, "memory per parked fiber (100k)", "mem.async.n100000.rss_per_fiber",
     [("Boost.Fiber", "mem.bfiber.default.n100000.rss_per_fiber"),
      ("Go", "mem.go.n100000.rss_per_goroutine"), ("Tokio", "mem.tokio.n100000.rss_per_task")]),
    (*SYNC, "mutex hand-off", "async.mutex_handoff", same_shape(".", "mutex_handoff")),
    (*SYNC, "uncontended lock+unlock", "async.mutex_uncontended",
     [("pthread_mutex", "async.pthread_uncontended")] + same_shape(".", "mutex_uncontended")),
    (*SYNC, "semaphore hand-off", "async.sem_handoff", same_shape(".", "sem_handoff")),
    (*SYNC, "condition variable ping-pong", "async.cond_pingpong", same_shape(".", "cond_pingpong")),
    (*MULTI, "channel ping-pong, unbuffered", "async_pingpong_cap0", same_shape("_", "pingpong_cap0")),
    (*MULTI, "channel ping-pong, capacity 1", "async_pingpong_cap1", same_shape("_", "pingpong_cap1")),
    (*MULTI, "channel stream, capacity 1024", "async_stream", same_shape("_", "stream")),
    (*MULTI, "spawn 1000 from another thread", "async_spawn1000", same_shape("_", "spawn1000", FIBER_PEERS[1:])),
    (*BLOCKING, "blocking-pool round trip", "async_blocking_roundtrip",
     same_shape("_", "blocking_roundtrip", FIBER_PEERS[2:])),
]
HTTP_PEERS = [("nginx", "nginx"), ("Go net/http", "go"), ("libuv", "libuv"), ("epoll by hand", "epoll")]
PEER_COLOURS = {"Boost.Fiber": "#4477aa", "Go": "#228833", "Tokio": "#cc6677", "pthread_mutex": "#999933",
                "Boost.Context jump_fcontext": "#88ccee", "nginx": "#aa3377", "Go net/http": "#228833",
                "libuv": "#ddaa33", "epoll by hand": "#bbbbbb"}


# ---------------------------------------------------------------- collect
def tsv_rows(path):
    """The rows of a samples file: label TAB value TAB unit [TAB ...]; others skipped."""
    if not path or not os.path.isfile(path):
        return
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 3:
                try:
                    yield p[0], float(p[1]), p[2]
                except ValueError:
                    continue


def collect(args):
    out = []
    sources = [("micro", args.micro, ["async_samples.tsv", "samples.tsv"]),
               ("sync", args.sync, ["samples.tsv"]),
               ("multi", args.multi, ["samples.tsv"]),
               ("blocking", args.blocking, ["samples.tsv"])]
    for suite, d, files in sources:
        if not d:
            continue
        for name in files:
            for label, value, unit in tsv_rows(os.path.join(d, name)):
                out.append((suite, label, value, unit))
    if args.http:
        # results-<client>.tsv: run, server, conns, requests/s, p50, p99, ..., and last the
        # server process's own CPU time per response in us; a cell with no throughput (a
        # server that failed) is left out.
        path = os.path.join(args.http, "results-%s.tsv" % args.http_client)
        if os.path.isfile(path):
            with open(path) as f:
                for p in csv.reader(f, delimiter="\t"):
                    if len(p) >= 13 and p[3] not in ("", "0"):
                        cell = "http.%s.c%s" % (p[1], p[2])
                        out.append(("http", cell, 1e9 / float(p[3]), "ns/request"))
                        out.append(("http", cell + ".cpu", 1e3 * float(p[12]), "ns/request"))
    with open(args.output, "w") as f:
        for row in out:
            f.write("%s\t%s\t%.6g\t%s\n" % row)
    print("%d samples to %s" % (len(out), args.output), file=sys.stderr)


# ---------------------------------------------------------------- draw
def load(path):
    """The median of every (suite, label) in a samples file."""
    samples = defaultdict(list)
    for line in open(path):
        p = line.rstrip("\n").split("\t")
        if len(p) >= 4:
            samples[(p[0], p[1])].append(float(p[2]))
    return {k: statistics.median(v) for k, v in samples.items()}


def ratios(med):
    """[(group, measure, peer, ours, theirs, ratio)] for every pair both sides of which ran."""
    rows = []
    for group, suite, what, ours, peers in MEASURES:
        for peer, label in peers:
            if (suite, ours) in med and (suite, label) in med:
                o, p = med[(suite, ours)], med[(suite, label)]
                rows.append((group, what, peer, o, p, o / p))
    conns = sorted({int(label.split(".")[2][1:]) for suite, label in med if suite == "http"})
    for what, tail in (("time per request", ""), ("server CPU per request", ".cpu")):
        for c in conns:
            ours = ("http", "http.async.c%d%s" % (c, tail))
            for peer, name in HTTP_PEERS:
                label = ("http", "http.%s.c%d%s" % (name, c, tail))
                if ours in med and label in med:
                    rows.append(("HTTP server, 1 core", "%s, %d connections" % (what, c), peer,
                                 med[ours], med[label], med[ours] / med[label]))
    return rows


def draw(args):
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    matplotlib.rcParams["svg.hashsalt"] = "async-benchmarks"  # the same SVG for the same numbers
    rows = ratios(load(args.samples))
    if not rows:
        sys.exit("chart.py: no measure has both ours and a peer in %s" % args.samples)
    if args.table:
        print("| measure | peer | ours | peer | ours / peer |\n|---|---|---:|---:|---:|")
        def number(x):
            return "{:,.0f}".format(x) if x >= 100 else "%.1f" % x
        for group, what, peer, o, p, r in rows:
            print("| %s: %s | %s | %s | %s | %.2fx |" % (group, what, peer, number(o), number(p), r))

    # One line per (measure, peer), measures grouped, a gap between groups; top to bottom.
    ys, labels, y = [], [], 0.0
    group_spans, last_group, last_what = [], None, None
    for group, what, peer, _, _, _ in rows:
        if group != last_group:
            if last_group is not None:
                y += 0.8
            group_spans.append([group, y, y])
            last_group, last_what = group, None
        ys.append(y)
        labels.append(("%s  vs  %s" % (what, peer)) if what != last_what else ("vs  %s" % peer))
        last_what = what
        group_spans[-1][2] = y
        y += 1.0

    fig_h = 1.6 + 0.24 * y
    fig, ax = plt.subplots(figsize=(10, fig_h))
    values = [r[5] for r in rows]
    colours = [PEER_COLOURS.get(r[2], "#777777") for r in rows]
    ax.barh(ys, values, left=0, height=0.72, color=colours, edgecolor="none")
    ax.set_xscale("log")
    lo = min(min(values) / 1.6, 0.5)
    hi = max(max(values) * 1.6, 2.0)
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color="black", linewidth=1.0)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.tick_params(axis="y", length=0)
    for yy, v in zip(ys, values):
        ax.text(v * 1.04, yy, "%.2f" % v, va="center", ha="left", fontsize=7)
    for group, y0, y1 in group_spans:
        ax.text(0.005, y0 - 0.7, group, transform=ax.get_yaxis_transform(), ha="left", va="bottom",
                fontsize=9, fontweight="bold")
        if y0 > 0:
            ax.axhline(y0 - 0.9, color="#cccccc", linewidth=0.8)
    ax.set_ylim(y - 0.3, -1.0)
    ax.axvspan(lo, 1.0, color="#e8f4e8", zorder=0)
    ax.text(0.98, 1.005, "ours costlier \u2192", transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
    ax.text(0.02, 1.005, "\u2190 ours cheaper", transform=ax.transAxes, ha="left", va="bottom", fontsize=8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([t for t in (0.03, 0.1, 0.3, 0.5, 1, 2, 3, 10, 30) if lo <= t <= hi])
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("ours / peer (median / median, log scale):  lower is better;  left of 1.0: ours is cheaper")
    ax.set_title(args.title, fontsize=11, loc="left", pad=16)
    fig.tight_layout()
    if args.output.endswith(".svg"):
        fig.savefig(args.output, format="svg", metadata={"Date": None})
    else:  # a preview (.png)
        fig.savefig(args.output, dpi=80)
    print("%d ratios drawn to %s" % (len(rows), args.output), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="gather the compare scripts' samples into one file")
    for name in ("micro", "sync", "multi", "blocking", "http"):
        c.add_argument("--" + name, metavar="DIR")
    c.add_argument("--http-client", default="hload")
    c.add_argument("-o", "--output", required=True)
    d = sub.add_parser("draw", help="draw the ratios of a samples file as SVG")
    d.add_argument("samples")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--title", default="async against its peers: ours / peer on each measure (lower is better)")
    d.add_argument("--table", action="store_true")
    args = ap.parse_args()
    collect(args) if args.cmd == "collect" else draw(args)


if __name__ == "__main__":
    main()
