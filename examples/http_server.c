/* SPDX-License-Identifier: MIT */
/* http_server.c: a small HTTP/1.1 server on fibers, one fiber per connection,
 * on 127.0.0.1 only. It is an example of the I/O API under load, not a web
 * server to deploy: it serves one resource.
 *
 *   http_server [-t timeout_ms] [-c max_connections] [port]
 *
 * port: default 8080; 0 picks a free one. The first line on stdout is
 * "listening on 127.0.0.1:PORT" (flushed), so scripts can wait for it.
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
 * has. SIGINT or SIGTERM starts a drain: the listener closes, idle
 * connections are closed, and a connection in the middle of a request gets
 * its response with "Connection: close"; when the last one has gone, main
 * returns 0. A second signal, or the drain taking longer than the timeout,
 * closes the rest at once.
 *
 * Cost per request in the steady state: one read and one write (plus
 * whatever the runtime needs to park the fiber); no allocation. Each
 * connection's input and output buffers live on its fiber's stack. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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

/* A connection. The slots are allocated once at start; a slot's io is
 * registered after async_accept returns and must not move while it is. */
struct conn {
    async_io_t io;
    struct conn *prev, *next; /* live connections, for the drain */
    struct conn *free_next;   /* the free list */
    async_fiber_handle_t fiber;
    int idle; /* waiting for the first byte of a request: the drain closes it */
};

static struct {
    async_io_t listener;
    async_io_t sig_io;         /* read end of the self-pipe */
    async_fiber_handle_t acceptor;
    async_fiber_handle_t sig_fiber;
    uint64_t timeout_ns;
    struct conn *slots;
    struct conn *free_list;
    struct conn *live_list;
    size_t live;
    int draining;
    int acceptor_parked; /* waiting for a free slot */
    uint64_t connections, closed_timeout, closed_error; /* reported at exit */
} g;

static int sig_wfd = -1; /* write end of the self-pipe */

/* ------------------------------------------------------------- responses */

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), refreshed at most once
 * a second, and the whole common response built with it. */
static char date[32];
static time_t date_sec = (time_t)-1;
static char ok_resp[256];
static size_t ok_len;

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
    if (c->prev)
        c->prev->next = c->next;
    else
        g.live_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->free_next = g.free_list;
    g.free_list = c;
    if (g.acceptor_parked)
        async_unpark(g.acceptor); /* a slot is free again */
    if (--g.live == 0 && g.draining)
        async_cancel(g.sig_fiber); /* the drain is over */
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
        ++g.closed_timeout;
    else if (st == ASYNC_EIO)
        ++g.closed_error;
    return st == ASYNC_OK;
}

static void conn_fiber(void *user)
{
    struct conn *c = user;
    char in[IN_CAP];
    char out[OUT_CAP];
    size_t in_len = 0, out_len = 0;
    uint64_t discard = 0;   /* body bytes still to throw away */
    int keep = 1, linger = 0;
    uint64_t now = async_now_ns();
    uint64_t deadline = now + g.timeout_ns; /* for the current request head */

    c->fiber = async_self();
    c->prev = NULL;
    c->next = g.live_list;
    if (g.live_list)
        g.live_list->prev = c;
    g.live_list = c;

    while (keep) {
        c->idle = in_len == 0 && discard == 0;
        if (c->idle && g.draining)
            break;
        size_t n;
        async_status_t st = read_some(c, in + in_len, IN_CAP - in_len, &n, deadline);
        c->idle = 0;
        if (st != ASYNC_OK || n == 0) { /* timeout, reset, end of file, drained */
            if (st == ASYNC_ETIMEDOUT)
                ++g.closed_timeout;
            else if (st == ASYNC_EIO)
                ++g.closed_error;
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
            keep = req.keep_alive && !g.draining;
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

/* Puts the accepted `fd` in a free slot (there is one: see the acceptor) and
 * starts its fiber. Returns NULL, or why not, with the fd closed and the slot
 * free again. */
static const char *start_conn(int fd)
{
    struct conn *c = g.free_list;
    g.free_list = c->free_next;
    memset(&c->io, 0, sizeof c->io);
    async_status_t st = async_io_register(&c->io, fd);
    if (st != ASYNC_OK) {
        close(fd);
        c->free_next = g.free_list;
        g.free_list = c;
        return st == ASYNC_EIO ? strerror(async_io_errno(&c->io)) : async_strerror(st);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    async_fiber_handle_t h = async_spawn(conn_fiber, c);
    if (h.status != ASYNC_OK) {
        async_io_close(&c->io);
        c->free_next = g.free_list;
        g.free_list = c;
        return async_strerror(h.status);
    }
    ++g.live;
    ++g.connections;
    return NULL;
}

static void acceptor_fiber(void *user)
{
    (void)user;
    unsigned backoff_ms = 0;
    uint64_t last_warning = 0;
    for (;;) {
        /* Accept only while a slot is free, but take the slot only after
         * accept returns: a connection that ends during the wait pushes its
         * slot on the head of the free list, so a slot taken before the wait
         * would be unlinked from under the new head, and lost. Only this
         * fiber takes slots, so the list cannot empty meanwhile. */
        const char *why;
        int have_slot = g.free_list != NULL;
        if (have_slot) {
            int fd;
            async_status_t st = async_accept(&g.listener, &fd);
            if (st == ASYNC_OK) {
                if (!(why = start_conn(fd))) {
                    backoff_ms = 0;
                    continue;
                }
            } else if (st != ASYNC_EIO) {
                break; /* cancelled by the drain (or the listener is gone) */
            } else {
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM...: keep serving, retry later. */
                why = strerror(async_io_errno(&g.listener));
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
            g.acceptor_parked = 1;
            async_status_t st = async_park_until_ns(now + 100000000u);
            g.acceptor_parked = 0;
            if (st == ASYNC_ECANCELED)
                break;
            continue;
        }
        backoff_ms = backoff_ms ? (backoff_ms * 2 > 100 ? 100 : backoff_ms * 2) : 1;
        if (async_sleep_ms(backoff_ms) != ASYNC_OK)
            break;
    }
    async_io_close(&g.listener);
}

/* ---------------------------------------------------------------- signals */

static void on_signal(int signo)
{
    int saved = errno;
    unsigned char b = (unsigned char)signo;
    ssize_t r = write(sig_wfd, &b, 1); /* async-signal-safe; a full pipe drops it */
    (void)r;
    errno = saved;
}

static void start_drain(void)
{
    g.draining = 1;
    async_cancel(g.acceptor);
    for (struct conn *c = g.live_list; c; c = c->next)
        if (c->idle)
            async_cancel(c->fiber);
}

static void signal_fiber(void *user)
{
    (void)user;
    unsigned char b[16];
    size_t n;
    if (async_read(&g.sig_io, b, sizeof b, &n) == ASYNC_OK && n > 0) {
        fprintf(stderr, "http_server: signal %d: draining %zu connection(s)\n", b[0], g.live);
        start_drain();
        /* Until the last connection is gone (it cancels us), a second signal,
         * or the timeout: then close whatever is left. */
        if (g.live > 0) {
            async_status_t st = g.timeout_ns ? async_read_until(&g.sig_io, b, sizeof b, &n,
                                                                async_now_ns() + g.timeout_ns)
                                             : async_read(&g.sig_io, b, sizeof b, &n);
            if (st == ASYNC_OK || st == ASYNC_ETIMEDOUT)
                for (struct conn *c = g.live_list; c; c = c->next)
                    async_cancel(c->fiber);
        }
    }
    async_io_close(&g.sig_io);
}

/* ------------------------------------------------------------------- main */

static int listen_on(uint16_t port, uint16_t *bound)
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

static void usage(FILE *to, const char *argv0)
{
    fprintf(to, "usage: %s [-t timeout_ms] [-c max_connections] [port]  (HTTP/1.1 on 127.0.0.1)\n",
            argv0);
}

int main(int argc, char **argv)
{
    long port = 8080, timeout_ms = 10000, max_conns = 0;
    for (int i = 1; i < argc; ++i) {
        char *end;
        if (!strcmp(argv[i], "--help")) {
            usage(stdout, argv[0]);
            return 0;
        }
        if ((!strcmp(argv[i], "-t") || !strcmp(argv[i], "-c")) && i + 1 < argc) {
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 0 || (v == 0 && argv[i][1] == 'c')) {
                usage(stderr, argv[0]);
                return 2;
            }
            if (argv[i][1] == 't')
                timeout_ms = v;
            else
                max_conns = v;
            ++i;
        } else {
            port = strtol(argv[i], &end, 10);
            if (*end || port < 0 || port > 65535) {
                usage(stderr, argv[0]);
                return 2;
            }
        }
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

    /* A task and a stack for each connection, plus the acceptor and the
     * signal fiber; 64 KiB stacks hold both buffers (16 KiB) with room to
     * spare, and cost only the pages a connection touches. */
    async_config_t cfg = {0};
    cfg.task_capacity = (size_t)max_conns + 4;
    cfg.fiber_capacity = (size_t)max_conns + 4;
    cfg.max_events = 512;
    async_status_t st = async_global_init(&cfg);
    if (st != ASYNC_OK) {
        fprintf(stderr, "http_server: async_global_init: %s\n", async_strerror(st));
        return 1;
    }
    g.timeout_ns = (uint64_t)timeout_ms * 1000000u;
    g.slots = calloc((size_t)max_conns, sizeof *g.slots);
    if (!g.slots) {
        perror("http_server: calloc");
        return 1;
    }
    for (long i = max_conns; i-- > 0;) {
        g.slots[i].free_next = g.free_list;
        g.free_list = &g.slots[i];
    }

    uint16_t bound;
    int lfd = listen_on((uint16_t)port, &bound);
    if (lfd < 0) {
        fprintf(stderr, "http_server: listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
        return 1;
    }
    if ((st = async_io_register(&g.listener, lfd)) != ASYNC_OK) {
        fprintf(stderr, "http_server: register: %s\n", async_strerror(st));
        return 1;
    }

    /* SIGINT/SIGTERM through a self-pipe, read by a fiber. */
    int sp[2];
    if (pipe(sp) != 0) {
        perror("http_server: pipe");
        return 1;
    }
    fcntl(sp[0], F_SETFD, FD_CLOEXEC);
    fcntl(sp[1], F_SETFD, FD_CLOEXEC);
    fcntl(sp[1], F_SETFL, O_NONBLOCK);
    sig_wfd = sp[1];
    if ((st = async_io_register(&g.sig_io, sp[0])) != ASYNC_OK) {
        fprintf(stderr, "http_server: register: %s\n", async_strerror(st));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    g.acceptor = async_spawn(acceptor_fiber, NULL);
    g.sig_fiber = async_spawn(signal_fiber, NULL);
    if (g.acceptor.status != ASYNC_OK || g.sig_fiber.status != ASYNC_OK) {
        fprintf(stderr, "http_server: spawn failed\n");
        return 1;
    }
    refresh_date();
    printf("listening on 127.0.0.1:%u\n", (unsigned)bound);
    fflush(stdout);

    int rc = async_run();
    if (rc != ASYNC_OK)
        fprintf(stderr, "http_server: async_run: %s\n", async_strerror((async_status_t)rc));
    fprintf(stderr,
            "http_server: %llu connection(s); %llu dropped by the timeout, %llu by a socket error\n",
            (unsigned long long)g.connections, (unsigned long long)g.closed_timeout,
            (unsigned long long)g.closed_error);
    close(sig_wfd); /* the handler stays: a late signal's write just fails */
    async_global_shutdown();
    free(g.slots);
    return rc == ASYNC_OK ? 0 : 1;
}
