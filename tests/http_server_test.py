#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""http_server_test.py: drives examples/http_server over loopback, under ctest.

    http_server_test.py PATH/TO/http_server [--requests N]

Starts its own servers on free ports (`http_server -w 1 -t MS 0`), checks the
protocol (GET, 404, HEAD, 405 with a body, pipelining, keep-alive,
Connection: close, HTTP/1.0, 431, 400), the robustness rules (idle and
slow-client timeouts, peer resets, EMFILE back-off, slots under -c given back
and the -c limit kept), that no fd or memory
grows across many requests and connections, and that SIGTERM drains and
exits 0. Then the worker threads (issue #9) with `-w 2`, in both accept
modes (`-a reuseport`, `-a handoff`): concurrent keep-alive clients served,
both workers taking connections (the per-worker counts at exit), SIGTERM
under load draining every worker and exiting 0, and a signal sent the moment
the server is listening. Every wait is bounded; it
signals and kills only the servers it started. Exits 1 when a check fails,
naming each.
"""
import argparse
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

TIMEOUT_MS = 600  # the server's idle / head timeout in these tests
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


class Server:
    """One http_server process, started by us and ended by its PID only."""

    def __init__(self, exe, timeout_ms=TIMEOUT_MS, nofile=None, extra=(), workers=("-w", "1")):
        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [exe, *workers, "-t", str(timeout_ms), *extra, "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)$", line.strip())
        if not m:
            self.proc.kill()
            raise RuntimeError("server did not start: %r %r" % (line, self.proc.stderr.read()))
        self.port = int(m.group(1))

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # Under ThreadSanitizer a signal that lands while a fiber runs is kept in
    # that fiber's context until it enters an intercepted call, and is lost
    # if the fiber ends first (docs/design.md, "Signals"): the server then
    # never hears it. --resend-lost-signal (TSan builds only) sends it once
    # more when the first one has not stopped the server after 3 s; a server
    # that heard the first is long gone by then.
    resend_lost_signal = False

    def stop(self, sig=signal.SIGTERM, wait=10):
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            if Server.resend_lost_signal:
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


class Reader:
    """Reads whole HTTP responses (Content-Length framing) from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
        if not m:
            raise ValueError("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(m.group(1)), headers, body

    def at_eof(self, timeout=3.0):
        """True when the server closes (or resets) the connection in time."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(5)


def get(path="/", host="a", extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host, extra)).encode()


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


# --------------------------------------------------------------------- tests

def test_get_404_head(srv):
    s = srv.connect()
    r = Reader(s)
    s.sendall(get())
    st, h, body = r.response()
    check(st == 200 and body == b"hello world\n", "GET / answers 200 hello world")
    check(h.get("content-length") == "12", "GET / has Content-Length: 12")
    check("date" in h and h.get("server") == "async", "responses carry Date and Server")
    s.sendall(get("/nope"))
    st, _, _ = r.response()
    check(st == 404, "GET /nope answers 404")
    s.sendall(get("/?q=1"))
    st, _, _ = r.response()
    check(st == 200, "GET /?q=1 is the root")
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, _ = r.response(head_only=True)
    check(st == 200 and h.get("content-length") == "12", "HEAD / answers 200 with Content-Length 12")
    # No body after HEAD: the next bytes are the next response's status line.
    s.sendall(get("/x"))
    st, _, _ = r.response()
    check(st == 404, "HEAD sent no body (the next response follows directly)")
    s.sendall(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n" + get())
    st1, _, _ = r.response(head_only=True)
    st2, _, b2 = r.response()
    check(st1 == 404 and st2 == 200 and b2 == b"hello world\n", "HEAD /x answers 404 without body")
    s.close()


def test_pipelining_keepalive(srv):
    s = srv.connect()
    r = Reader(s)
    reqs = [get(), get("/a"), b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", get(), get("/b"), get()]
    s.sendall(b"".join(reqs))  # one write
    got = [r.response(head_only=(i == 2))[0] for i in range(len(reqs))]
    check(got == [200, 404, 200, 200, 404, 200], "pipelined requests answered in order: %s" % got)
    # Keep-alive: many requests, one at a time, on the same connection.
    ok = True
    for _ in range(50):
        s.sendall(get())
        ok &= r.response()[0] == 200
    check(ok, "50 sequential keep-alive requests on one connection")
    # A head split across many writes.
    for ch in get():
        s.sendall(bytes([ch]))
    check(r.response()[0] == 200, "a head sent one byte at a time")
    # A pipeline larger than one read buffer (8 KiB) and the output buffer.
    big = get() * 600
    s.sendall(big)
    codes = [r.response()[0] for _ in range(600)]
    check(codes == [200] * 600, "600 pipelined requests (%d bytes) all answered" % len(big))
    s.close()


def test_connection_close_and_http10(srv):
    s = srv.connect()
    r = Reader(s)
    s.sendall(get(extra="Connection: close\r\n"))
    st, h, _ = r.response()
    check(st == 200 and h.get("connection") == "close", "Connection: close is echoed")
    check(r.at_eof(), "Connection: close closes after the response")
    s.close()

    s = srv.connect()
    r = Reader(s)
    s.sendall(get(extra="Connection: close\r\n") + get())  # pipelined after close
    st, h, _ = r.response()
    check(st == 200 and h.get("connection") == "close", "close with a request behind it")
    check(r.at_eof(), "nothing is answered after Connection: close")
    s.close()

    s = srv.connect()
    r = Reader(s)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    st, h, body = r.response()
    check(st == 200 and body == b"hello world\n", "HTTP/1.0 GET answers 200")
    check(h.get("connection") == "close", "HTTP/1.0 closes by default (says so)")
    check(r.at_eof(), "HTTP/1.0 without keep-alive is closed")
    s.close()

    s = srv.connect()
    r = Reader(s)
    for _ in range(3):
        s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        st, h, _ = r.response()
        check(st == 200 and h.get("connection", "").lower() == "keep-alive",
              "HTTP/1.0 keep-alive is kept and says so")
    s.close()


def test_errors(srv):
    s = srv.connect()
    r = Reader(s)
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"x" * 9000 + b"\r\n\r\n"
    s.sendall(head)
    st, h, _ = r.response()
    check(st == 431 and h.get("connection") == "close", "a head over 8 KiB gets 431 and close")
    check(r.at_eof(), "the connection is closed after 431")
    s.close()

    s = srv.connect()
    r = Reader(s)
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 8200)  # no end at all
    st, _, _ = r.response()
    check(st == 431, "8 KiB without the end of a head gets 431 at once")
    s.close()

    for garbage, name in ((b"garbage\r\n\r\n", "garbage"),
                          (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "a TLS hello"),
                          (b"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 without Host"),
                          (b"GET / HTTP/1.1\r\nHost: a\r\n bad fold\r\n\r\n", "obs-fold")):
        s = srv.connect()
        r = Reader(s)
        s.sendall(garbage)
        try:
            st, h, _ = r.response()
        except (EOFError, ConnectionResetError, ValueError):
            st, h = None, {}
        check(st == 400 and h.get("connection") == "close", "%s gets 400 and close" % name)
        check(r.at_eof(), "the connection is closed after 400 (%s)" % name)
        s.close()

    s = srv.connect()
    r = Reader(s)
    s.sendall(b"GET / HTTP/2.0\r\n\r\n")
    check(r.response()[0] == 505, "HTTP/2.0 gets 505")
    s.close()

    s = srv.connect()
    r = Reader(s)
    s.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    check(r.response()[0] == 501, "Transfer-Encoding gets 501")
    s.close()

    # A body with Content-Length is read and dropped; the connection goes on.
    s = srv.connect()
    r = Reader(s)
    s.sendall(b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello")
    st, h, _ = r.response()
    check(st == 405 and h.get("allow") == "GET, HEAD", "POST gets 405 with Allow")
    s.sendall(b" world" + get())
    check(r.response()[0] == 200, "the body was skipped and the next request answered")
    body = b"z" * 70000
    s.sendall(b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body + get())
    check([r.response()[0], r.response()[0]] == [404, 200], "a 70 kB body on a GET is skipped")
    s.sendall(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n")
    check(r.response()[0] == 413, "a body over 1 MiB gets 413")
    s.close()


def test_timeouts(srv):
    t0 = time.monotonic()
    s = srv.connect()
    r = Reader(s)
    closed = r.at_eof(timeout=5)
    dt = time.monotonic() - t0
    check(closed and 0.4 <= dt <= 3.0, "an idle connection is dropped after the timeout (%.2f s)" % dt)
    s.close()

    # Idle after a request: the timer restarts with each request.
    s = srv.connect()
    r = Reader(s)
    s.sendall(get())
    r.response()
    t0 = time.monotonic()
    closed = r.at_eof(timeout=5)
    dt = time.monotonic() - t0
    check(closed and 0.4 <= dt <= 3.0, "idle keep-alive connection dropped (%.2f s)" % dt)
    s.close()

    # A slow client that keeps sending bytes cannot stretch its head's time.
    s = srv.connect()
    t0 = time.monotonic()
    dropped = False
    for ch in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"s" * 100:
        try:
            s.sendall(bytes([ch]))
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        time.sleep(0.05)
        if time.monotonic() - t0 > 3.0:
            break
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                dropped = True
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            dropped = True
            break
        finally:
            s.setblocking(True)
    dt = time.monotonic() - t0
    check(dropped and dt <= 2.5, "a slow head is dropped at the timeout (%.2f s)" % dt)
    s.close()


def test_resets(srv):
    for i in range(20):
        s = srv.connect()
        if i % 3 == 1:
            s.sendall(b"GET / HTTP/1.1\r\nHost")  # mid-head
        elif i % 3 == 2:
            s.sendall(get() * 200)  # responses pending in the socket
            time.sleep(0.01)
        rst_close(s)
    time.sleep(0.2)
    check(srv.proc.poll() is None, "the server survives peer resets")
    s = srv.connect()
    r = Reader(s)
    s.sendall(get())
    check(r.response()[0] == 200, "the server still answers after resets")
    s.close()


def hammer(srv, total, conns=10, depth=50):
    """`total` requests: `conns` connections, `depth`-deep pipelined batches."""
    socks = [srv.connect() for _ in range(conns)]
    readers = [Reader(s) for s in socks]
    batch = get() * depth
    ok = 0
    rounds = total // (conns * depth)
    for _ in range(rounds):
        for s in socks:
            s.sendall(batch)
        for r in readers:
            for _ in range(depth):
                st, _, _ = r.response()
                ok += st == 200
    for s in socks:
        s.close()
    return ok, rounds * conns * depth


def test_no_growth(srv, requests, rss_check=True):
    # Warm up: connections, stacks, buffers, the lazily mapped stack slabs.
    hammer(srv, 20000)
    for _ in range(300):
        s = srv.connect()
        s.sendall(get())
        Reader(s).response()
        s.close()
    time.sleep(0.3)
    fd0, rss0 = srv.fds(), srv.rss_kib()
    t0 = time.monotonic()
    # Most pipelined 50 deep, a fifth one at a time (one read, one write each).
    ok, n = hammer(srv, requests - requests // 5)
    ok1, n1 = hammer(srv, requests // 5, depth=1)
    ok, n = ok + ok1, n + n1
    # Connection churn too: 2,000 connections, one request each.
    for i in range(2000):
        s = srv.connect()
        s.sendall(get())
        Reader(s).response()
        if i % 2:
            rst_close(s)
        else:
            s.close()
    dt = time.monotonic() - t0
    time.sleep(0.3)
    fd1, rss1 = srv.fds(), srv.rss_kib()
    print("  %d requests + 2000 connections in %.1f s; fds %d -> %d; VmRSS %d -> %d KiB"
          % (n, dt, fd0, fd1, rss0, rss1), flush=True)
    check(ok == n, "all %d requests answered 200 (got %d)" % (n, ok))
    check(fd1 == fd0, "no fd grows across %d requests (%d -> %d)" % (n, fd0, fd1))
    if rss_check:
        check(rss1 - rss0 <= 1024, "no memory grows across %d requests (%d -> %d KiB)" % (n, rss0, rss1))


def test_emfile(exe):
    # 32 descriptors: the server fills them, then accept fails with EMFILE.
    srv = Server(exe, timeout_ms=5000, nofile=32)
    try:
        socks = [srv.connect() for _ in range(40)]
        time.sleep(0.3)
        r0 = Reader(socks[0])
        socks[0].sendall(get())
        check(r0.response()[0] == 200, "serving goes on while accept fails with EMFILE")
        check(srv.proc.poll() is None, "the server survives EMFILE")
        for s in socks[1:20]:
            s.close()
        # The connections that waited in the backlog are accepted and served.
        r = Reader(socks[-1])
        socks[-1].sendall(get())
        socks[-1].settimeout(5)
        try:
            st = r.response()[0]
        except (socket.timeout, EOFError, ConnectionResetError):
            st = None
        check(st == 200, "a connection queued during EMFILE is served once fds free up")
        for s in socks[20:]:
            s.close()
    finally:
        rc = srv.stop()
    check("backing off" in srv.stderr, "EMFILE is reported once and backed off from")
    check(rc == 0, "the EMFILE server exits 0 on SIGTERM (rc %s)" % rc)


def test_slots(exe, limit=4, sequential=10):
    """-c LIMIT: connections that end while the acceptor waits give their
    slots back (issue #13: each one used to lose a slot), and the limit
    still holds."""
    srv = Server(exe, extra=("-c", str(limit)))
    socks = []

    def answered(s, r, what, extra=""):
        try:
            s.settimeout(3)
            s.sendall(get(extra=extra))
            st = r.response()[0]
        except (socket.timeout, EOFError, ConnectionResetError) as e:
            st = type(e).__name__
        return check(st == 200, "%s (got %s)" % (what, st))

    try:
        for i in range(sequential):
            s = srv.connect()
            r = Reader(s)
            # Connection: close, and wait for the close: the slot is back on
            # the free list before the next connection is accepted.
            ok = answered(s, r, "-c %d: sequential connection %d answered" % (limit, i + 1),
                          extra="Connection: close\r\n")
            check(ok and r.at_eof(), "-c %d: sequential connection %d closed by the server" % (limit, i + 1))
            s.close()
        # LIMIT concurrent keep-alive clients: all answered, twice each.
        clients = []
        for i in range(limit):
            s = srv.connect()
            socks.append(s)
            clients.append((s, Reader(s)))
        for rnd in (1, 2):
            for i, (s, r) in enumerate(clients):
                answered(s, r, "-c %d: concurrent client %d of %d answered (round %d)"
                         % (limit, i + 1, limit, rnd))
        # One more waits in the backlog while all slots are taken...
        extra = srv.connect()
        socks.append(extra)
        rx = Reader(extra)
        extra.sendall(get())
        extra.settimeout(0.5)
        try:
            rx.response()
            waited = False
        except socket.timeout:
            waited = True
        check(waited, "-c %d: connection %d waits while %d are open" % (limit, limit + 1, limit))
        # ...and is served once one of them ends.
        clients[0][0].close()
        extra.settimeout(3)
        try:
            st = rx.response()[0]
        except (socket.timeout, EOFError, ConnectionResetError) as e:
            st = type(e).__name__
        check(st == 200, "-c %d: the waiting connection is served when a slot frees (got %s)" % (limit, st))
    finally:
        for s in socks:
            s.close()
        rc = srv.stop()
    check(rc == 0, "the -c %d server exits 0 on SIGTERM (rc %s)" % (limit, rc))


def test_drain(exe):
    srv = Server(exe, timeout_ms=3000)
    idle = srv.connect()
    ri = Reader(idle)
    idle.sendall(get())
    ri.response()
    busy = srv.connect()
    rb = Reader(busy)
    busy.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")  # mid-request
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    check(ri.at_eof(timeout=2), "SIGTERM closes idle connections")
    refused = False
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
    except OSError:
        refused = True
    check(refused, "SIGTERM closes the listener")
    check(srv.proc.poll() is None, "a request in flight keeps the server running")
    busy.sendall(b"\r\n")
    st, h, body = rb.response()
    check(st == 200 and body == b"hello world\n" and h.get("connection") == "close",
          "the in-flight request is answered with Connection: close")
    check(rb.at_eof(), "then its connection is closed")
    rc = srv.stop(sig=None, wait=5)  # signalled already: just wait
    check(rc == 0, "the server exits 0 after the drain (rc %s)" % rc)
    idle.close()
    busy.close()

    # SIGINT works the same, with nothing connected.
    srv = Server(exe)
    rc = srv.stop(sig=signal.SIGINT, wait=5)
    check(rc == 0, "SIGINT with no connections exits 0 (rc %s)" % rc)


# ------------------------------------------------------------ worker threads

def per_worker(stderr):
    """The connection counts of the exit line "... per worker: 20 20"."""
    m = re.search(r"per worker:((?: \d+)+)", stderr)
    return [int(x) for x in m.group(1).split()] if m else None


def test_workers(exe, mode, conns=40, rounds=20):
    """-w 2 -a MODE: `conns` concurrent keep-alive clients, each answered
    `rounds` times (one at a time, and then 20 pipelined), spread over both
    workers; SIGTERM with all of them idle exits 0."""
    srv = Server(exe, extra=("-a", mode), workers=("-w", "2"))
    socks = []
    try:
        socks = [srv.connect() for _ in range(conns)]
        readers = [Reader(s) for s in socks]
        ok = 0
        for _ in range(rounds):
            for s in socks:
                s.sendall(get())
            for r in readers:
                ok += r.response()[0] == 200
        check(ok == conns * rounds, "-w 2 -a %s: %d keep-alive clients x %d requests answered (%d)"
              % (mode, conns, rounds, ok))
        for s in socks:
            s.sendall(get() * 20)
        ok = sum(r.response()[0] == 200 for r in readers for _ in range(20))
        check(ok == conns * 20, "-w 2 -a %s: pipelined batches answered (%d of %d)" % (mode, ok, conns * 20))
    finally:
        rc = srv.stop()
        for s in socks:
            s.close()
    counts = per_worker(srv.stderr)
    print("  -w 2 -a %s: per worker %s" % (mode, counts), flush=True)
    check(rc == 0, "-w 2 -a %s: SIGTERM with idle clients exits 0 (rc %s)" % (mode, rc))
    check(counts is not None and len(counts) == 2 and sum(counts) == conns,
          "-w 2 -a %s: the exit line counts %d connections over 2 workers (%s)" % (mode, conns, counts))
    check(counts is not None and min(counts) > 0,
          "-w 2 -a %s: both workers took connections (%s)" % (mode, counts))
    if mode == "handoff":
        check(counts is not None and max(counts) - min(counts) <= 2,
              "-w 2 -a handoff: the fewest-connections choice balances them (%s)" % counts)


def test_workers_drain(exe, mode, clients=8, busy=10):
    """-w 2 -a MODE: SIGTERM while `clients` threads keep requests going and
    `busy` connections are in the middle of a request: every request in
    flight is answered (with Connection: close), every connection is closed,
    the listeners close and the process exits 0."""
    srv = Server(exe, timeout_ms=3000, extra=("-a", mode), workers=("-w", "2"))
    stop = threading.Event()
    served = [0] * clients
    errors = []

    def client(i):
        s = None
        try:
            s = srv.connect()
            r = Reader(s)
            while True:
                s.sendall(get())
                st, h, _ = r.response()
                if st != 200:
                    errors.append("client %d: status %d" % (i, st))
                    break
                served[i] += 1
                if h.get("connection") == "close":
                    if not r.at_eof():
                        errors.append("client %d: not closed after Connection: close" % i)
                    break
        except (EOFError, ConnectionResetError, BrokenPipeError):
            pass  # closed between two requests: the drain closes idle connections
        except Exception as e:  # a timeout or a protocol surprise
            errors.append("client %d: %r" % (i, e))
        finally:
            if s is not None:
                s.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    mid = []
    try:
        for _ in range(busy):
            s = srv.connect()
            s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")  # mid-request
            mid.append((s, Reader(s)))
        for t in threads:
            t.start()
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=5)
        check(not any(t.is_alive() for t in threads), "-w 2 -a %s: every client saw its end" % mode)
        check(not errors, "-w 2 -a %s: clients under load drained cleanly %s" % (mode, errors[:3]))
        check(min(served) > 0, "-w 2 -a %s: every client was served before SIGTERM (%s)" % (mode, served))
        time.sleep(0.2)
        refused = False
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        except OSError:
            refused = True
        check(refused, "-w 2 -a %s: SIGTERM closes every listener" % mode)
        check(srv.proc.poll() is None, "-w 2 -a %s: requests in flight keep the server running" % mode)
        answered = 0
        for s, r in mid:
            s.sendall(b"\r\n")
            st, h, body = r.response()
            answered += st == 200 and h.get("connection") == "close" and r.at_eof()
        check(answered == busy, "-w 2 -a %s: %d of %d requests in flight answered with close"
              % (mode, answered, busy))
        rc = srv.stop(sig=None, wait=5)  # signalled already: just wait
    finally:
        stop.set()
        for s, _ in mid:
            s.close()
        if srv.proc.poll() is None:
            srv.stop(sig=signal.SIGKILL)
            rc = None
    counts = per_worker(srv.stderr)
    print("  -w 2 -a %s drain: %d requests, per worker %s" % (mode, sum(served), counts), flush=True)
    check(rc == 0, "-w 2 -a %s: exits 0 after SIGTERM under load (rc %s)" % (mode, rc))
    check(counts is not None and len(counts) == 2 and min(counts) > 0,
          "-w 2 -a %s: the mid-request connections reached both workers (%s)" % (mode, counts))


def test_workers_early_signal(exe, starts=40):
    """A signal right after "listening on": before every worker's fibers have
    first run (an acceptor that had not started yet used to miss the drain
    and keep the process up)."""
    bad = []
    for i in range(starts):
        mode = ("handoff", "reuseport")[i % 2]
        srv = Server(exe, extra=("-a", mode), workers=("-w", "2"))
        rc = srv.stop(sig=(signal.SIGINT, signal.SIGTERM)[i // 2 % 2], wait=3)
        if rc != 0:
            bad.append((mode, rc))
    check(not bad, "-w 2: %d starts signalled at once all exit 0 (failed: %s)" % (starts, bad[:5]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--no-rss-check", action="store_true",
                    help="skip the VmRSS check (ThreadSanitizer's own memory grows with activity)")
    ap.add_argument("--resend-lost-signal", action="store_true",
                    help="ThreadSanitizer builds: send a stop signal again if the first was lost")
    args = ap.parse_args()
    Server.resend_lost_signal = args.resend_lost_signal

    srv = Server(args.server)
    try:
        for name, fn in (("GET, 404, HEAD", test_get_404_head),
                         ("pipelining, keep-alive", test_pipelining_keepalive),
                         ("Connection: close, HTTP/1.0", test_connection_close_and_http10),
                         ("errors: 431, 400, 505, 501, 405, 413", test_errors),
                         ("timeouts", test_timeouts),
                         ("peer resets", test_resets),
                         ("no fd or memory growth", lambda s: test_no_growth(s, args.requests, not args.no_rss_check))):
            print("--", name, flush=True)
            try:
                fn(srv)
            except Exception as e:  # a protocol surprise is a failure, not a crash
                check(False, "%s: %s: %r" % (name, type(e).__name__, e))
            if srv.proc.poll() is not None:
                check(False, "the server died during '%s'" % name)
                break
    finally:
        rc = srv.stop()
    check(rc == 0, "the main server exits 0 on SIGTERM (rc %s)" % rc)
    if srv.stderr.strip():
        print("server stderr:", srv.stderr.strip(), flush=True)

    for name, fn in (("connection slots (-c 4)", test_slots), ("EMFILE", test_emfile),
                     ("drain on SIGTERM/SIGINT", test_drain),
                     ("-w 2 -a reuseport", lambda exe: test_workers(exe, "reuseport")),
                     ("-w 2 -a handoff", lambda exe: test_workers(exe, "handoff")),
                     ("-w 2 -a reuseport: SIGTERM under load", lambda exe: test_workers_drain(exe, "reuseport")),
                     ("-w 2 -a handoff: SIGTERM under load", lambda exe: test_workers_drain(exe, "handoff")),
                     ("-w 2: a signal at once", test_workers_early_signal)):
        print("--", name, flush=True)
        try:
            fn(args.server)
        except Exception as e:
            check(False, "%s: %s: %r" % (name, type(e).__name__, e))

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("http_server_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
