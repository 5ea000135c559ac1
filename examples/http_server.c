/* SPDX-License-Identifier: MIT */
/* http_server.c: a small HTTP/1.1 server on fibers, one fiber per connection,
 * on 127.0.0.1 only. It is an example of the I/O API under load, not a web
 * server to deploy: it serves one resource.
 *
 *   http_server [-w workers] [-a handoff|reuseport] [-v] [-t timeout_ms]
 *               [-c max_connections] [port]
 *
 * port: default 8080; 0 picks a free one. The first line on stdout is
 * "listening on 127.0.0.1:PORT" (flushed), so scripts can wait for it.
 *
 * Workers (issue #9): -w N runs N runtimes on N threads of one runtime group
 * (default, and 0: as many as the CPUs the process may run on). A connection
 * lives its whole life on one worker. How connections reach the workers, -a:
 *   handoff    (default) one acceptor fiber (on worker 0) accepts every
 *              connection and starts its fiber on the worker with the fewest
 *              connections (ties: round-robin), which registers the fd on its
 *              own runtime: one cross-thread spawn per connection, none per
 *              request, and the counts stay even.
 *   reuseport  every worker has its own listening socket on the same port
 *              (SO_REUSEPORT); the kernel spreads connections by a hash of
 *              their addresses and ports, blind to how busy each worker is.
 * With -w 1 both are the one-thread server: one plain listening socket.
 * Measured with bench/http_workers.sh (runs W1 and W2, both on a loaded
 * machine: git show c5fa483:docs/benchmarks.md), handoff had the higher
 * req/s in 3 of 4 cells.
 * max_connections is shared out between the workers (at least one each).
 * At exit stderr has the totals, and with -v or more than one worker a line
 * with the connections each worker took ("per worker: 20 20"), to check the
 * balance.
 *
 * What it answers (every response has Server, Date and Content-Length):
 *   GET / and HEAD /        200 "hello world\n" (HEAD: the same head, no body)
 *   GET or HEAD elsewhere   404
 *   any other method        405 with Allow: GET, HEAD
 *   a malformed head        400, then close
 *   a head over 8 KiB       431, then close
 *   Transfer-Encoding       501, then close (request bodies must use Content-Length)
 *   a body over 1 MiB       413, then close
 *   HTTP/2.0 or HTTP/0.x    505, then close
 * Request bodies with Content-Length (up to 1 MiB) are read and thrown away
 * after the response is queued, so a POST gets its 405 and the connection
 * stays usable. Keep-alive is HTTP/1.1's default; HTTP/1.0 keeps the
 * connection only with "Connection: keep-alive"; "Connection: close" closes
 * after the response. Pipelined requests are answered in order, all responses
 * to one read going out in one write.
 *
 * Robustness: a client gets `timeout_ms` (default 10000; 0 turns every
 * timeout off, for measuring what they cost) to send each whole
 * request head (a slow client cannot stretch it by dribbling bytes), to stay
 * idle between requests, and to take each batch of responses; then it is
 * dropped. A reset peer is just closed. Out of file descriptors (EMFILE), the
 * acceptor backs off with async_sleep_ms and keeps serving the connections it
 * has. SIGINT or SIGTERM starts a drain on every worker: the listeners close,
 * idle connections are closed, and a connection in the middle of a request
 * gets its response with "Connection: close"; when the last one has gone on
 * every worker, main returns 0. A second signal, or a worker's drain taking
 * longer than the timeout, closes the rest at once. A fiber on worker 0
 * waits for the signals (async_signal_wait: a signal to any thread that does
 * not block them reaches it) and unparks each worker's drain fiber; the server
 * says it is listening only once they are caught, so a signal sent at once
 * drains it too.
 *
 * Cost per request in the steady state: one read and one write (plus
 * whatever the runtime needs to park the fiber); no allocation. Each
 * connection's input and output buffers live on its fiber's stack. */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_getaffinity */
#else
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* _SC_NPROCESSORS_ONLN, SO_REUSEPORT */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "async.h"
#include "http/http_parse.h"

#define IN_CAP HTTP_MAX_HEAD  /* a full buffer without a whole head is a 431 */
#define OUT_CAP (8u * 1024u)  /* responses to one read, flushed early if full */
#define RESP_MAX 512u         /* the longest response this server writes */
#define LINGER_NS (1000u * 1000u * 1000u) /* reading the rest after an error */
#define LINGER_BYTES (64u * 1024u)
#define MAX_WORKERS 256u      /* a handed-off fd travels with its worker's index in 8 bits */

struct worker;

/* A connection. The slots are allocated once at start, per worker; a slot's
 * io is registered after the fd is accepted and must not move while it is. */
struct conn {
    async_io_t io;
    struct worker *w;         /* the worker (runtime, thread) it lives on */
    struct conn *prev, *next; /* the worker's live connections, for the drain */
    struct conn *free_next;   /* the worker's free list */
    async_fiber_handle_t fiber;
    int idle; /* waiting for the first byte of a request: the drain closes it */
};

/* An accepting fiber and its listening socket: one per worker (reuseport),
 * or one for all of them (handoff). */
struct acceptor {
    async_io_t listener;
    int fd;                  /* the listening socket, registered by the fiber */
    struct worker *home;     /* the worker it runs on */
    async_fiber_handle_t fiber;
    atomic_int parked;       /* waiting for a free slot: conn_unlink unparks it */
};

/* A worker: one runtime of the group and everything only its thread touches,
 * except `live` and the counters (read by the acceptor and by main). */
struct worker {
    size_t index;
    async_runtime_t *rt;
    struct acceptor *acc;    /* the acceptor that feeds it */
    async_fiber_handle_t drain_fiber;
    struct conn *slots;
    size_t cap;              /* its share of max_connections */
    struct conn *free_list;
    struct conn *live_list;
    atomic_size_t live;      /* connections taken or handed to it, not yet ended */
    int draining;
    uint64_t connections, closed_timeout, closed_error; /* reported at exit */
};

static struct {
    uint64_t timeout_ns;
    int handoff;             /* -a handoff (the default), else reuseport */
    struct worker *workers;
    size_t nworkers;
    struct acceptor *accs;   /* nworkers (reuseport) or 1 (handoff) */
    size_t naccs;
    size_t next_rr;          /* handoff: where the round-robin tie break starts */
    atomic_int stop;         /* signals received: 1 drains, 2 closes the rest */
    async_fiber_handle_t signal_fiber; /* set by itself before any drain can end */
    atomic_size_t drains_left; /* the last drain to end cancels signal_fiber */
} g;

/* ------------------------------------------------------------- responses */

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), refreshed at most once
 * a second, and the whole common response built with it. Per thread: each
 * worker keeps its own copy, so no lock and no sharing of the hot line. */
static _Thread_local char date[32];
static _Thread_local time_t date_sec = (time_t)-1;
static _Thread_local char ok_resp[256];
static _Thread_local size_t ok_len;

static void refresh_date(void)
{
    time_t now = time(NULL);
    if (now == date_sec)
        return;
    date_sec = now;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ok_len = (size_t)snprintf(ok_resp, sizeof ok_resp,
                              "HTTP/1.1 200 OK\r\nServer: async\r\nDate: %s\r\n"
                              "Content-Type: text/plain\r\nContent-Length: 12\r\n\r\n"
                              "hello world\n",
                              date);
}

static size_t put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

/* Append one response at `p` (RESP_MAX bytes are free); returns its length.
 * conn_hdr: 0 none (HTTP/1.1 keep-alive), 1 "close", 2 "keep-alive". */
static size_t build_response(char *p, int status, int head_only, int conn_hdr)
{
    const char *reason, *body;
    switch (status) {
    case 200: reason = "OK"; body = "hello world\n"; break;
    case 400: reason = "Bad Request"; body = "bad request\n"; break;
    case 404: reason = "Not Found"; body = "not found\n"; break;
    case 405: reason = "Method Not Allowed"; body = "method not allowed\n"; break;
    case 413: reason = "Content Too Large"; body = "content too large\n"; break;
    case 431: reason = "Request Header Fields Too Large"; body = "request header fields too large\n"; break;
    case 501: reason = "Not Implemented"; body = "transfer-encoding not implemented\n"; break;
    default:  reason = "HTTP Version Not Supported"; body = "http version not supported\n"; status = 505; break;
    }
    size_t body_len = strlen(body);
    char *q = p;
    q += (size_t)sprintf(q, "HTTP/1.1 %d %s\r\nServer: async\r\nDate: %s\r\n", status, reason, date);
    if (status == 405)
        q += put(q, "Allow: GET, HEAD\r\n");
    if (conn_hdr == 1)
        q += put(q, "Connection: close\r\n");
    else if (conn_hdr == 2)
        q += put(q, "Connection: keep-alive\r\n");
    q += (size_t)sprintf(q, "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", body_len);
    if (!head_only) {
        memcpy(q, body, body_len);
        q += body_len;
    }
    return (size_t)(q - p);
}

/* ------------------------------------------------------------ connections */

static void conn_unlink(struct conn *c)
{
    struct worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->live_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->free_next = w->free_list;
    w->free_list = c;
    /* The slot is free before `live` drops: an acceptor that sees the lower
     * count (from another thread, with handoff) finds the slot there. */
    size_t left = atomic_fetch_sub(&w->live, 1) - 1;
    if (atomic_load(&w->acc->parked))
        async_unpark(w->acc->fiber); /* a slot is free again */
    if (left == 0 && w->draining)
        async_unpark(w->drain_fiber); /* the drain is over */
}

/* After an error response, or a close the client asked for with bytes still
 * unread: send FIN, then read and drop what the client still sends (up to
 * LINGER_BYTES, for at most LINGER_NS), so that closing with unread data does
 * not reset the connection and destroy the response in flight (the "lingering
 * close" of RFC 9112 §9.6 and nginx). */
static void linger_close(struct conn *c, char *scratch, size_t cap)
{
    uint64_t deadline = async_now_ns() + LINGER_NS;
    size_t total = 0, n;
    if (shutdown(async_io_fd(&c->io), SHUT_WR) == 0) {
        while (total < LINGER_BYTES &&
               async_read_until(&c->io, scratch, cap, &n, deadline) == ASYNC_OK && n > 0)
            total += n;
    }
    async_io_close(&c->io);
}

/* One read, bounded by the deadline unless timeouts are off (-t 0). */
static async_status_t read_some(struct conn *c, char *buf, size_t len, size_t *n, uint64_t deadline)
{
    return g.timeout_ns ? async_read_until(&c->io, buf, len, n, deadline)
                        : async_read(&c->io, buf, len, n);
}

/* Write all of out[0, len); 0 when the connection is gone or too slow. */
static int flush_out(struct conn *c, const char *out, size_t len, uint64_t deadline)
{
    async_status_t st = g.timeout_ns ? async_write_all_until(&c->io, out, len, NULL, deadline)
                                     : async_write_all(&c->io, out, len, NULL);
    if (st == ASYNC_ETIMEDOUT)
        ++c->w->closed_timeout;
    else if (st == ASYNC_EIO)
        ++c->w->closed_error;
    return st == ASYNC_OK;
}

static void conn_fiber(void *user)
{
    struct conn *c = user;
    struct worker *w = c->w;
    char in[IN_CAP];
    char out[OUT_CAP];
    size_t in_len = 0, out_len = 0;
    uint64_t discard = 0;   /* body bytes still to throw away */
    int keep = 1, linger = 0;
    uint64_t now = async_now_ns();
    uint64_t deadline = now + g.timeout_ns; /* for the current request head */

    c->fiber = async_self();
    c->prev = NULL;
    c->next = w->live_list;
    if (w->live_list)
        w->live_list->prev = c;
    w->live_list = c;

    while (keep) {
        c->idle = in_len == 0 && discard == 0;
        if (c->idle && w->draining)
            break;
        size_t n;
        async_status_t st = read_some(c, in + in_len, IN_CAP - in_len, &n, deadline);
        c->idle = 0;
        if (st != ASYNC_OK || n == 0) { /* timeout, reset, end of file, drained */
            if (st == ASYNC_ETIMEDOUT)
                ++w->closed_timeout;
            else if (st == ASYNC_EIO)
                ++w->closed_error;
            break;
        }
        in_len += n;
        now = async_now_ns();
        refresh_date();

        size_t pos = 0;
        while (keep) {
            if (discard) {
                size_t take = in_len - pos < discard ? in_len - pos : (size_t)discard;
                pos += take;
                discard -= take;
                if (discard)
                    break;
                deadline = now + g.timeout_ns;
            }
            http_request_t req;
            http_parse_status_t ps = http_parse_request(in + pos, in_len - pos, IN_CAP, &req);
            if (ps == HTTP_PARSE_INCOMPLETE)
                break;
            if (out_len + RESP_MAX > OUT_CAP) {
                if (!flush_out(c, out, out_len, now + g.timeout_ns))
                    goto done;
                out_len = 0;
            }
            if (ps != HTTP_PARSE_OK) {
                int status = ps == HTTP_PARSE_TOO_LARGE      ? 431
                           : ps == HTTP_PARSE_BAD            ? 400
                           : ps == HTTP_PARSE_UNSUPPORTED    ? 501
                           : ps == HTTP_PARSE_BODY_TOO_LARGE ? 413
                                                             : 505;
                out_len += build_response(out + out_len, status, 0, 1);
                keep = 0;
                linger = 1;
                break;
            }
            pos += req.head_len;
            discard = req.content_length;
            deadline = now + g.timeout_ns;
            keep = req.keep_alive && !w->draining;
            int root = req.path_len == 1 && req.target[0] == '/';
            if (req.method_id == HTTP_METHOD_GET && root && keep && req.version_minor >= 1) {
                memcpy(out + out_len, ok_resp, ok_len); /* the steady state */
                out_len += ok_len;
                continue;
            }
            int status = req.method_id == HTTP_METHOD_OTHER ? 405 : root ? 200 : 404;
            int conn_hdr = !keep ? 1 : req.version_minor == 0 ? 2 : 0;
            out_len += build_response(out + out_len, status, req.method_id == HTTP_METHOD_HEAD, conn_hdr);
            if (!keep)
                linger = pos < in_len || discard;
        }

        if (out_len) {
            if (!flush_out(c, out, out_len, now + g.timeout_ns))
                goto done;
            out_len = 0;
        }
        in_len -= pos;
        if (in_len && pos)
            memmove(in, in + pos, in_len);
    }
    if (linger) {
        linger_close(c, in, sizeof in);
        conn_unlink(c);
        return;
    }
done:
    async_io_close(&c->io);
    conn_unlink(c);
}

/* ----------------------------------------------------------------- accept */

/* Registers the accepted `fd` in a free slot of `w` (there is one: `live`
 * was counted up for it and a slot is freed before `live` drops). On the
 * worker's own thread. Returns the connection, or NULL with the fd closed,
 * the slot free again, `live` counted down and `why` set. */
static struct conn *take_conn(struct worker *w, int fd, const char **why)
{
    struct conn *c = w->free_list;
    w->free_list = c->free_next;
    memset(&c->io, 0, sizeof c->io);
    c->w = w;
    async_status_t st = async_io_register(&c->io, fd);
    if (st != ASYNC_OK) {
        close(fd);
        c->free_next = w->free_list;
        w->free_list = c;
        atomic_fetch_sub(&w->live, 1);
        *why = st == ASYNC_EIO ? strerror(async_io_errno(&c->io)) : async_strerror(st);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++w->connections;
    return c;
}

/* reuseport: puts the accepted `fd` in a free slot of the acceptor's own
 * worker and starts its fiber. Returns NULL, or why not, with the fd closed
 * and the slot free again. */
static const char *start_conn(struct worker *w, int fd)
{
    const char *why;
    atomic_fetch_add(&w->live, 1);
    struct conn *c = take_conn(w, fd, &why);
    if (!c)
        return why;
    async_fiber_handle_t h = async_spawn(conn_fiber, c);
    if (h.status != ASYNC_OK) {
        async_io_close(&c->io);
        c->free_next = w->free_list;
        w->free_list = c;
        atomic_fetch_sub(&w->live, 1);
        --w->connections;
        return async_strerror(h.status);
    }
    return NULL;
}

/* handoff: the first fiber of a handed-off connection, on its worker's
 * runtime, so that the fd is registered there. `user` carries the fd and the
 * worker's index. */
static void handoff_fiber(void *user)
{
    uintptr_t v = (uintptr_t)user;
    struct worker *w = &g.workers[v % MAX_WORKERS];
    const char *why;
    struct conn *c = take_conn(w, (int)(v / MAX_WORKERS), &why);
    if (!c) {
        fprintf(stderr, "http_server: worker %zu: register: %s\n", w->index, why);
        if (atomic_load(&w->acc->parked))
            async_unpark(w->acc->fiber);
        if (atomic_load(&w->live) == 0 && w->draining)
            async_unpark(w->drain_fiber);
        return;
    }
    conn_fiber(c);
}

/* handoff: the worker with the fewest connections that has a free slot,
 * ties broken round-robin; NULL when all are full. Only the acceptor counts
 * `live` up, so a worker it picks stays below its cap until it hands out. */
static struct worker *pick_worker(void)
{
    struct worker *best = NULL;
    size_t best_live = 0;
    for (size_t k = 0; k < g.nworkers; ++k) {
        struct worker *w = &g.workers[(g.next_rr + k) % g.nworkers];
        size_t live = atomic_load(&w->live);
        if (live < w->cap && (!best || live < best_live)) {
            best = w;
            best_live = live;
        }
    }
    return best;
}

/* handoff: start a connection fiber for `fd` on `w` (any worker, this one
 * too). Returns NULL, or why not, with the fd closed. */
static const char *hand_off(struct worker *w, int fd)
{
    if (atomic_load(&g.stop)) { /* the drain has begun: a late connection */
        close(fd);
        return NULL;
    }
    g.next_rr = (w->index + 1) % g.nworkers;
    atomic_fetch_add(&w->live, 1);
    uintptr_t v = (uintptr_t)fd * MAX_WORKERS + w->index;
    async_fiber_handle_t h = async_spawn_with(w->rt, handoff_fiber, (void *)v);
    if (h.status != ASYNC_OK) {
        close(fd);
        atomic_fetch_sub(&w->live, 1);
        return async_strerror(h.status);
    }
    return NULL;
}

static void acceptor_fiber(void *user)
{
    struct acceptor *a = user;
    struct worker *self = a->home;
    unsigned backoff_ms = 0;
    uint64_t last_warning = 0;
    a->fiber = async_self(); /* before any connection can read it (after `parked`) */
    if (self->draining) {
        /* A signal came before this fiber first ran: the drain fiber (same
         * runtime, so no race) found no handle to cancel. */
        close(a->fd);
        return;
    }
    async_status_t st = async_io_register(&a->listener, a->fd); /* on its own runtime */
    if (st != ASYNC_OK) {
        fprintf(stderr, "http_server: register: %s\n", async_strerror(st));
        close(a->fd);
        return;
    }
    for (;;) {
        /* Accept only while a slot is free, but take the slot only after
         * accept returns: a connection that ends during the wait pushes its
         * slot on the head of the free list, so a slot taken before the wait
         * would be unlinked from under the new head, and lost. Only this
         * fiber takes slots (counts `live` up), so none can fill meanwhile. */
        const char *why;
        int have_slot = g.handoff ? pick_worker() != NULL : self->free_list != NULL;
        if (have_slot) {
            int fd;
            st = async_accept(&a->listener, &fd);
            if (st == ASYNC_OK) {
                struct worker *w = g.handoff ? pick_worker() : self;
                if (!(why = g.handoff ? hand_off(w, fd) : start_conn(w, fd))) {
                    backoff_ms = 0;
                    continue;
                }
            } else if (st != ASYNC_EIO) {
                break; /* cancelled by the drain (or the listener is gone) */
            } else {
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM...: keep serving, retry later. */
                why = strerror(async_io_errno(&a->listener));
            }
        } else {
            /* Every connection slot is taken: leave new connections in the
             * kernel's backlog (closing them would turn a burst into errors)
             * until a connection ends and wakes us (or 100 ms pass). */
            why = "all connection slots in use";
        }
        uint64_t now = async_now_ns();
        if (now - last_warning > 1000000000u) {
            fprintf(stderr, "http_server: accept: %s; backing off\n", why);
            last_warning = now;
        }
        if (!have_slot) {
            atomic_store(&a->parked, 1);
            async_status_t pst = async_park_until_ns(now + 100000000u);
            atomic_store(&a->parked, 0);
            if (pst == ASYNC_ECANCELED)
                break;
            continue;
        }
        backoff_ms = backoff_ms ? (backoff_ms * 2 > 100 ? 100 : backoff_ms * 2) : 1;
        if (async_sleep_ms(backoff_ms) != ASYNC_OK)
            break;
    }
    async_io_close(&a->listener);
}

/* ----------------------------------------------------------------- drain */

static void start_drain(struct worker *w)
{
    w->draining = 1;
    for (size_t i = 0; i < g.naccs; ++i)
        if (g.accs[i].home == w)
            async_cancel(g.accs[i].fiber);
    for (struct conn *c = w->live_list; c; c = c->next)
        if (c->idle)
            async_cancel(c->fiber);
}

/* One per worker, parked until the signal thread unparks it: drains the
 * worker, then waits for its last connection (which unparks it), a second
 * signal or the timeout, and closes whatever is left. */
static void drain_fiber(void *user)
{
    struct worker *w = user;
    while (atomic_load(&g.stop) == 0)
        if (async_park() == ASYNC_ECANCELED)
            goto out;
    start_drain(w);
    uint64_t deadline = async_now_ns() + g.timeout_ns;
    int forced = 0;
    while (atomic_load(&w->live) > 0) {
        async_status_t st = g.timeout_ns ? async_park_until_ns(deadline) : async_park();
        if (st == ASYNC_ECANCELED)
            break;
        if (!forced && (st == ASYNC_ETIMEDOUT || atomic_load(&g.stop) > 1)) {
            forced = 1;
            for (struct conn *c = w->live_list; c; c = c->next)
                async_cancel(c->fiber);
            deadline = UINT64_MAX;
        }
    }
out:
    /* The signal fiber waits for a second signal until no drain is left. */
    if (atomic_fetch_sub(&g.drains_left, 1) == 1)
        async_cancel(g.signal_fiber);
}

static const int stop_signals[] = {SIGINT, SIGTERM};

/* A signal came: the first drains every worker, the second closes the rest. */
static void on_stop_signal(int signo)
{
    int n = atomic_load(&g.stop) + 1;
    if (n > 2)
        return;
    atomic_store(&g.stop, n);
    if (n == 1) {
        size_t live = 0;
        for (size_t i = 0; i < g.nworkers; ++i)
            live += atomic_load(&g.workers[i].live);
        fprintf(stderr, "http_server: signal %d: draining %zu connection(s)\n", signo, live);
    }
    for (size_t i = 0; i < g.nworkers; ++i)
        async_unpark(g.workers[i].drain_fiber);
}

/* Takes SIGINT and SIGTERM until the last drain cancels it. Its first wait
 * makes worker 0's runtime hold them: from then on they are caught (kept
 * while the fiber is busy) instead of killing the process. */
static void signal_fiber(void *user)
{
    (void)user;
    g.signal_fiber = async_self(); /* before any signal, so before any drain ends */
    int signo;
    async_status_t st;
    while ((st = async_signal_wait(stop_signals, 2, &signo)) == ASYNC_OK)
        on_stop_signal(signo);
    if (st != ASYNC_ECANCELED)
        fprintf(stderr, "http_server: waiting for signals: %s\n", async_strerror(st));
}

/* Spawned on worker 0 right after signal_fiber, so it runs once that one is
 * waiting (FIFO): main awaits it before it says it is listening. */
static void signals_caught(void *user)
{
    (void)user;
}

/* ------------------------------------------------------------------- main */

/* A listening socket on 127.0.0.1:port; `reuseport` lets the other workers
 * bind the same port (Linux 3.9: the kernel spreads connections over them). */
static int listen_on(uint16_t port, int reuseport, uint16_t *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
    socklen_t len = sizeof sa;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

/* The CPUs this process may run on (its affinity mask on Linux). */
static size_t cpus_available(void)
{
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (size_t)CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static void usage(FILE *to, const char *argv0)
{
    fprintf(to,
            "usage: %s [-w workers] [-a handoff|reuseport] [-v] [-t timeout_ms] [-c max_connections] "
            "[port]  (HTTP/1.1 on 127.0.0.1)\n",
            argv0);
}

int main(int argc, char **argv)
{
    long port = 8080, timeout_ms = 10000, max_conns = 0, workers = 0;
    int verbose = 0;
    g.handoff = 1;
    for (int i = 1; i < argc; ++i) {
        char *end;
        if (!strcmp(argv[i], "--help")) {
            usage(stdout, argv[0]);
            return 0;
        }
        if (!strcmp(argv[i], "-v")) {
            verbose = 1;
        } else if (!strcmp(argv[i], "-a") && i + 1 < argc) {
            if (!strcmp(argv[i + 1], "handoff") || !strcmp(argv[i + 1], "reuseport"))
                g.handoff = argv[i + 1][0] == 'h';
            else {
                usage(stderr, argv[0]);
                return 2;
            }
            ++i;
        } else if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "-c") || !strcmp(argv[i], "-w")) &&
                   i + 1 < argc) {
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 0 || (v == 0 && argv[i][1] == 'c') ||
                (argv[i][1] == 'w' && v > (long)MAX_WORKERS)) {
                usage(stderr, argv[0]);
                return 2;
            }
            if (argv[i][1] == 't')
                timeout_ms = v;
            else if (argv[i][1] == 'c')
                max_conns = v;
            else
                workers = v;
            ++i;
        } else {
            port = strtol(argv[i], &end, 10);
            if (*end || port < 0 || port > 65535) {
                usage(stderr, argv[0]);
                return 2;
            }
        }
    }
    if (workers == 0) {
        size_t n = cpus_available();
        workers = n > MAX_WORKERS ? (long)MAX_WORKERS : (long)n;
    }

    /* One fd per connection: take the hard limit, and size everything by it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("http_server: setrlimit(RLIMIT_NOFILE)");
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (max_conns == 0) {
        rlim_t fds = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : rl.rlim_cur;
        max_conns = fds > 64 ? (long)(fds - 16) : 48;
        if (max_conns > 100000)
            max_conns = 100000;
    }

    /* max_connections shared out (each worker gets at least one slot). */
    g.timeout_ns = (uint64_t)timeout_ms * 1000000u;
    g.nworkers = (size_t)workers;
    g.workers = calloc(g.nworkers, sizeof *g.workers);
    g.naccs = g.handoff ? 1 : g.nworkers;
    g.accs = calloc(g.naccs, sizeof *g.accs);
    if (!g.workers || !g.accs) {
        perror("http_server: calloc");
        return 1;
    }
    size_t most = 0;
    for (size_t i = 0; i < g.nworkers; ++i) {
        struct worker *w = &g.workers[i];
        w->index = i;
        w->cap = (size_t)max_conns / g.nworkers + (i < (size_t)max_conns % g.nworkers);
        if (w->cap == 0)
            w->cap = 1;
        most = w->cap > most ? w->cap : most;
        w->slots = calloc(w->cap, sizeof *w->slots);
        if (!w->slots) {
            perror("http_server: calloc");
            return 1;
        }
        for (size_t k = w->cap; k-- > 0;) {
            w->slots[k].free_next = w->free_list;
            w->free_list = &w->slots[k];
        }
        w->acc = &g.accs[g.handoff ? 0 : i];
    }

    uint16_t bound = (uint16_t)port;
    for (size_t i = 0; i < g.naccs; ++i) {
        struct acceptor *a = &g.accs[i];
        a->home = &g.workers[i];
        a->fd = listen_on(i == 0 ? (uint16_t)port : bound, g.naccs > 1, &bound);
        if (a->fd < 0) {
            fprintf(stderr, "http_server: listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
            return 1;
        }
    }

    /* Per worker: a task and a stack for each of its connections, plus the
     * acceptor and the drain fiber; 64 KiB stacks hold both buffers (16 KiB)
     * with room to spare, and cost only the pages a connection touches. */
    async_config_t cfg = {0};
    cfg.task_capacity = most + 4;
    cfg.fiber_capacity = most + 4;
    cfg.max_events = 512;
    async_group_t group;
    async_status_t st = async_group_init(&group, g.nworkers, &cfg);
    if (st != ASYNC_OK) {
        fprintf(stderr, "http_server: async_group_init: %s\n", async_strerror(st));
        return 1;
    }
    for (size_t i = 0; i < g.nworkers; ++i) {
        struct worker *w = &g.workers[i];
        w->rt = async_group_runtime(&group, i);
        w->drain_fiber = async_spawn_with(w->rt, drain_fiber, w);
        if (w->drain_fiber.status != ASYNC_OK) {
            fprintf(stderr, "http_server: spawn failed\n");
            return 1;
        }
    }
    for (size_t i = 0; i < g.naccs; ++i) {
        async_fiber_handle_t h = async_spawn_with(g.accs[i].home->rt, acceptor_fiber, &g.accs[i]);
        if (h.status != ASYNC_OK) {
            fprintf(stderr, "http_server: spawn failed\n");
            return 1;
        }
    }
    /* A signal sent once we say we listen must drain us, not kill us. */
    atomic_store(&g.drains_left, g.nworkers);
    async_fiber_handle_t caught = {0};
    if (async_spawn_with(g.workers[0].rt, signal_fiber, NULL).status != ASYNC_OK ||
        (caught = async_spawn_with(g.workers[0].rt, signals_caught, NULL)).status != ASYNC_OK ||
        async_await(caught) != ASYNC_OK) {
        fprintf(stderr, "http_server: cannot catch SIGINT and SIGTERM\n");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)bound);
    fflush(stdout);

    /* Main only waits from here on, in a futex: leave SIGINT and SIGTERM to
     * the workers (they run the library and catch them). Nothing needs this
     * but ThreadSanitizer, which runs a handler only when its thread next
     * enters a call it intercepts, so a signal main took would wait for ever. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

    /* Every fiber ends only after a signal: the drain fibers wait for it. */
    st = async_group_wait(&group);
    if (st != ASYNC_OK)
        fprintf(stderr, "http_server: async_group_wait: %s\n", async_strerror(st));

    uint64_t conns = 0, closed_timeout = 0, closed_error = 0;
    for (size_t i = 0; i < g.nworkers; ++i) {
        conns += g.workers[i].connections;
        closed_timeout += g.workers[i].closed_timeout;
        closed_error += g.workers[i].closed_error;
    }
    fprintf(stderr,
            "http_server: %llu connection(s); %llu dropped by the timeout, %llu by a socket error\n",
            (unsigned long long)conns, (unsigned long long)closed_timeout,
            (unsigned long long)closed_error);
    if (verbose || g.nworkers > 1) {
        fprintf(stderr, "http_server: %zu worker(s), accept %s; per worker:", g.nworkers,
                g.handoff ? "handoff" : "reuseport");
        for (size_t i = 0; i < g.nworkers; ++i)
            fprintf(stderr, " %llu", (unsigned long long)g.workers[i].connections);
        fprintf(stderr, "\n");
    }
    async_group_shutdown(&group);
    for (size_t i = 0; i < g.nworkers; ++i)
        free(g.workers[i].slots);
    free(g.workers);
    free(g.accs);
    return st == ASYNC_OK ? 0 : 1;
}
