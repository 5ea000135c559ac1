/* SPDX-License-Identifier: MIT */
/* c_dgram_test.c: async_recvfrom / async_sendto (async/io.h) from C11,
 * compiled with -Wall -Wextra -Wpedantic -Werror: UDP ping-pong over
 * 127.0.0.1 and ::1, Unix datagram ping-pong, truncation, zero-length
 * datagrams, the from/fromlen and to/tolen pairs, timeouts, cancel and close
 * while waiting, FIFO wake-up, back-pressure on a full Unix datagram queue,
 * and the OS errors (EMSGSIZE, EDESTADDRREQ, ENOTSOCK). Loopback only,
 * bounded counts, no timing in any check. Exits non-zero after any failed
 * check, naming each; ends with as many open fds as it began with. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "async.h"

#include "support/c_check.h"

#include "support/c_io_support.h"

/* A datagram socket with its own address, registered on a runtime. */
struct peer {
    async_io_t io;
    struct sockaddr_storage addr;
    unsigned addrlen;
};

/* A UDP socket bound to the loopback of `family` on a free port, registered
 * on rt. Returns 0 when the family's loopback is not there (no ::1). */
static int open_udp(async_runtime_t *rt, struct peer *p, int family)
{
    socklen_t len;
    int fd = socket(family, SOCK_DGRAM, 0);
    memset(p, 0, sizeof *p);
    if (fd < 0) return 0;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&p->addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&p->addr;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    }
    if (bind(fd, (struct sockaddr *)&p->addr, len) != 0) {
        close(fd);
        return 0;
    }
    len = sizeof p->addr; /* the port the kernel picked */
    CHECK(getsockname(fd, (struct sockaddr *)&p->addr, &len) == 0);
    p->addrlen = (unsigned)len;
    CHECK_STATUS(async_io_register_with(rt, &p->io, fd), ASYNC_OK);
    return 1;
}

static int same_address(const struct sockaddr_storage *a, unsigned alen, const struct peer *p)
{
    return alen == p->addrlen && memcmp(a, &p->addr, alen) == 0;
}

struct pair {
    struct peer a;
    struct peer b;
    int rounds;
};

/* --- ping-pong: one datagram each way per round ---------------------------- */

static void ponger(void *user)
{
    struct pair *p = user;
    char buf[32];
    for (int i = 0; i < p->rounds; ++i) {
        struct sockaddr_storage from;
        unsigned fromlen = sizeof from;
        size_t n = 99;
        memset(&from, 0, sizeof from);
        CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                     ASYNC_OK);
        CHECK(same_address(&from, fromlen, &p->a)); /* the sender's bound address */
        note("b-got");
        buf[1] = 'o'; /* "ping N" -> "pong N", back to whoever sent it */
        CHECK_STATUS(async_sendto(&p->b.io, buf, n, &n, (struct sockaddr *)&from, fromlen), ASYNC_OK);
    }
}

static void pinger(void *user)
{
    struct pair *p = user;
    for (int i = 0; i < p->rounds; ++i) {
        char msg[32], buf[32], want[32];
        size_t n = 0;
        struct sockaddr_storage from;
        unsigned fromlen = sizeof from;
        int len = snprintf(msg, sizeof msg, "ping %d", i);
        snprintf(want, sizeof want, "pong %d", i);
        CHECK_STATUS(async_sendto(&p->a.io, msg, (size_t)len, &n, (struct sockaddr *)&p->b.addr,
                                  p->b.addrlen),
                     ASYNC_OK);
        CHECK(n == (size_t)len);
        note("a-sent");
        CHECK_STATUS(async_recvfrom(&p->a.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                     ASYNC_OK);
        CHECK(n == (size_t)len && memcmp(buf, want, n) == 0);
        CHECK(same_address(&from, fromlen, &p->b));
    }
}

static void close_pair(struct pair *p)
{
    CHECK_STATUS(async_io_close(&p->a.io), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p->b.io), ASYNC_OK);
}

static void test_udp_ping_pong(async_runtime_t *rt, int family, const char *name)
{
    struct pair p;
    if (!open_udp(rt, &p.a, family)) {
        printf("skipped: UDP ping-pong over %s: no loopback for that family here\n", name);
        return;
    }
    if (!open_udp(rt, &p.b, family)) {
        printf("skipped: UDP ping-pong over %s: no loopback for that family here\n", name);
        CHECK_STATUS(async_io_close(&p.a.io), ASYNC_OK);
        return;
    }
    p.rounds = 3;
    reset_trace();
    /* The ponger starts first and parks in recvfrom: every round wakes it. */
    CHECK_STATUS(async_spawn_with(rt, ponger, &p).status, ASYNC_OK);
    CHECK_STATUS(async_spawn_with(rt, pinger, &p).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("a-sent b-got a-sent b-got a-sent b-got ");
    close_pair(&p);
}

/* --- truncation, zero length, discarding ---------------------------------- */

static void truncating(void *user)
{
    struct pair *p = user;
    char buf[8];
    size_t n = 99;
    struct sockaddr_storage from;
    unsigned fromlen = sizeof from;
    const struct sockaddr *to = (const struct sockaddr *)&p->b.addr;

    /* Longer than the buffer: the first 4 bytes, *n == len, the rest gone. */
    CHECK_STATUS(async_sendto(&p->a.io, "0123456789", 10, &n, to, p->b.addrlen), ASYNC_OK);
    CHECK_STATUS(async_sendto(&p->a.io, "next", 4, &n, to, p->b.addrlen), ASYNC_OK);
    memset(buf, '.', sizeof buf);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, 4, &n, (struct sockaddr *)&from, &fromlen), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "0123....", 8) == 0);
    CHECK(same_address(&from, fromlen, &p->a));
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "next", 4) == 0); /* not "4567" */

    /* A zero-length datagram arrives as one: OK, *n == 0, sender known. */
    CHECK_STATUS(async_sendto(&p->a.io, NULL, 0, &n, to, p->b.addrlen), ASYNC_OK);
    CHECK(n == 0);
    n = 99;
    fromlen = sizeof from;
    memset(&from, 0, sizeof from);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                 ASYNC_OK);
    CHECK(n == 0);
    CHECK(same_address(&from, fromlen, &p->a));

    /* len == 0 takes one datagram off and discards it. */
    CHECK_STATUS(async_sendto(&p->a.io, "drop", 4, &n, to, p->b.addrlen), ASYNC_OK);
    CHECK_STATUS(async_sendto(&p->a.io, "keep", 4, &n, to, p->b.addrlen), ASYNC_OK);
    n = 99;
    CHECK_STATUS(async_recvfrom(&p->b.io, NULL, 0, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 0);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "keep", 4) == 0);

    /* A `from` too small: what fits is stored, *fromlen says the real size. */
    CHECK_STATUS(async_sendto(&p->a.io, "x", 1, &n, to, p->b.addrlen), ASYNC_OK);
    fromlen = 2;
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                 ASYNC_OK);
    CHECK(n == 1 && fromlen == p->a.addrlen);
    note("truncation");
}

static void test_truncation_and_zero_length(async_runtime_t *rt)
{
    struct pair p;
    CHECK(open_udp(rt, &p.a, AF_INET) && open_udp(rt, &p.b, AF_INET));
    reset_trace();
    async_spawn_with(rt, truncating, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("truncation ");
    close_pair(&p);
}

/* --- argument checks ------------------------------------------------------ */

static void misuse_in_fiber(void *user)
{
    struct pair *p = user;
    char buf[8];
    size_t n = 5;
    struct sockaddr_storage from;
    unsigned fromlen = sizeof from;
    async_io_t zeroed;
    const struct sockaddr *to = (const struct sockaddr *)&p->b.addr;
    memset(&zeroed, 0, sizeof zeroed);

    /* from and fromlen: both or neither. Nothing is consumed. */
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, NULL, &fromlen), ASYNC_EINVAL);
    CHECK(n == 0 && fromlen == sizeof from);
    n = 5;
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, NULL), ASYNC_EINVAL);
    CHECK(n == 0);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, NULL, NULL, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_recvfrom(&p->b.io, NULL, 1, &n, NULL, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_recvfrom(&zeroed, buf, sizeof buf, &n, NULL, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_recvfrom(NULL, buf, sizeof buf, &n, NULL, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_recvfrom_until(&zeroed, buf, sizeof buf, &n, NULL, NULL, 0), ASYNC_EINVAL);

    /* to and tolen: both or neither. Nothing is sent. */
    n = 5;
    CHECK_STATUS(async_sendto(&p->a.io, "x", 1, &n, NULL, p->b.addrlen), ASYNC_EINVAL);
    CHECK(n == 0);
    CHECK_STATUS(async_sendto(&p->a.io, "x", 1, &n, to, 0), ASYNC_EINVAL);
    CHECK_STATUS(async_sendto(&p->a.io, "x", 1, NULL, to, p->b.addrlen), ASYNC_EINVAL);
    CHECK_STATUS(async_sendto(&p->a.io, NULL, 1, &n, to, p->b.addrlen), ASYNC_EINVAL);
    CHECK_STATUS(async_sendto(&zeroed, "x", 1, &n, to, p->b.addrlen), ASYNC_EINVAL);
    CHECK_STATUS(async_sendto_until(NULL, "x", 1, &n, to, p->b.addrlen, 0), ASYNC_EINVAL);

    /* None of those sent or took anything: the socket is still empty. */
    CHECK_STATUS(async_recvfrom_until(&p->b.io, buf, sizeof buf, &n, NULL, NULL, 0), ASYNC_ETIMEDOUT);
    note("misuse");
}

static void test_misuse(async_runtime_t *rt)
{
    struct pair p;
    char buf[8];
    size_t n = 5;
    CHECK(open_udp(rt, &p.a, AF_INET) && open_udp(rt, &p.b, AF_INET));
    /* Outside a fiber: ESTATE, nothing sent or received. */
    CHECK_STATUS(async_recvfrom(&p.b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_ESTATE);
    CHECK(n == 0);
    CHECK_STATUS(async_sendto(&p.a.io, "x", 1, &n, (struct sockaddr *)&p.b.addr, p.b.addrlen), ASYNC_ESTATE);
    reset_trace();
    async_spawn_with(rt, misuse_in_fiber, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("misuse ");
    close_pair(&p);
}

/* --- timeouts ------------------------------------------------------------- */

static void timed(void *user)
{
    struct pair *p = user;
    char buf[8];
    size_t n = 5;
    struct sockaddr_storage from;
    unsigned fromlen = 7;
    const struct sockaddr *to = (const struct sockaddr *)&p->b.addr;

    /* Nothing arrives: ETIMEDOUT, *n == 0, *fromlen untouched. */
    CHECK_STATUS(async_recvfrom_until(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen,
                                      in_ms(2)),
                 ASYNC_ETIMEDOUT);
    CHECK(n == 0 && fromlen == 7);
    /* A deadline already past still tries once: a queued datagram is taken. */
    CHECK_STATUS(async_sendto_until(&p->a.io, "late", 4, &n, to, p->b.addrlen, 0), ASYNC_OK);
    CHECK(n == 4);
    fromlen = sizeof from;
    CHECK_STATUS(async_recvfrom_until(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen, 0),
                 ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "late", 4) == 0 && same_address(&from, fromlen, &p->a));
    /* ... and with nothing queued, one try finds nothing: ETIMEDOUT. */
    CHECK_STATUS(async_recvfrom_until(&p->b.io, buf, sizeof buf, &n, NULL, NULL, 0), ASYNC_ETIMEDOUT);
    /* No deadline is the plain call. */
    CHECK_STATUS(async_sendto_until(&p->a.io, "k", 1, &n, to, p->b.addrlen, ASYNC_NO_DEADLINE), ASYNC_OK);
    CHECK_STATUS(async_recvfrom_until(&p->b.io, buf, sizeof buf, &n, NULL, NULL, ASYNC_NO_DEADLINE), ASYNC_OK);
    CHECK(n == 1 && buf[0] == 'k');
    note("timed");
}

static void test_timeouts(async_runtime_t *rt)
{
    struct pair p;
    CHECK(open_udp(rt, &p.a, AF_INET) && open_udp(rt, &p.b, AF_INET));
    reset_trace();
    async_spawn_with(rt, timed, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("timed ");
    close_pair(&p);
}

/* --- cancel, close and FIFO wake-up while waiting --------------------------- */

struct waiters {
    struct pair p;
    async_fiber_handle_t victim;
};

static void cancelled_receiver(void *user)
{
    struct waiters *w = user;
    char buf[8];
    size_t n = 5;
    note("victim-waits");
    CHECK_STATUS(async_recvfrom(&w->p.b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_ECANCELED);
    CHECK(n == 0);
    note("victim-cancelled");
}

static void named_receiver(void *user)
{
    struct waiters *w = user;
    char buf[8], token[16];
    size_t n = 0;
    CHECK_STATUS(async_recvfrom(&w->p.b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    snprintf(token, sizeof token, "got-%.*s", (int)n, buf);
    note(token);
}

static void canceller_then_sender(void *user)
{
    struct waiters *w = user;
    size_t n;
    const struct sockaddr *to = (const struct sockaddr *)&w->p.b.addr;
    CHECK_STATUS(async_cancel(w->victim), ASYNC_OK);
    async_yield(); /* the victim runs its cancel: nothing was consumed */
    note("sending");
    CHECK_STATUS(async_sendto(&w->p.a.io, "1", 1, &n, to, w->p.b.addrlen), ASYNC_OK);
    CHECK_STATUS(async_sendto(&w->p.a.io, "2", 1, &n, to, w->p.b.addrlen), ASYNC_OK);
}

static void test_cancel_and_fifo(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    struct waiters w;
    CHECK(open_udp(rt, &w.p.a, AF_INET) && open_udp(rt, &w.p.b, AF_INET));
    reset_trace();
    w.victim = async_spawn_with(rt, cancelled_receiver, &w);
    /* Two more receivers queue behind it; they get the datagrams in the
     * order they began waiting. */
    async_spawn_with(rt, named_receiver, &w);
    async_spawn_with(rt, named_receiver, &w);
    async_spawn_with(rt, canceller_then_sender, &w);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("victim-waits victim-cancelled sending got-1 got-2 ");
    close_pair(&w.p);
}

static void closed_receiver(void *user)
{
    struct pair *p = user;
    char buf[8];
    size_t n = 5;
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_ECLOSED);
    CHECK(n == 0);
    note("eclosed");
}

static void closer(void *user)
{
    struct pair *p = user;
    note("closing");
    CHECK_STATUS(async_io_close(&p->b.io), ASYNC_OK);
}

static void test_close_while_waiting(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    struct pair p;
    CHECK(open_udp(rt, &p.a, AF_INET) && open_udp(rt, &p.b, AF_INET));
    reset_trace();
    async_spawn_with(rt, closed_receiver, &p);
    async_spawn_with(rt, closer, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("closing eclosed ");
    CHECK_STATUS(async_io_close(&p.a.io), ASYNC_OK);
}

/* --- errors from the OS ----------------------------------------------------- */

/* A connected UDP socket hears of an earlier datagram's ICMP "port
 * unreachable": a later call fails with ECONNREFUSED (whether the error is
 * there before the receive or wakes it). */
static void refused_later(void)
{
    struct sockaddr_in gone;
    socklen_t len = sizeof gone;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    async_io_t c;
    char buf[4];
    size_t n = 5;
    memset(&gone, 0, sizeof gone);
    gone.sin_family = AF_INET;
    gone.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&gone, sizeof gone) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&gone, &len) == 0);
    close(fd); /* nobody on that port now */
    memset(&c, 0, sizeof c);
    CHECK_STATUS(async_io_register(&c, socket(AF_INET, SOCK_DGRAM, 0)), ASYNC_OK);
    CHECK_STATUS(async_connect(&c, (struct sockaddr *)&gone, sizeof gone), ASYNC_OK);
    CHECK_STATUS(async_sendto(&c, "x", 1, &n, NULL, 0), ASYNC_OK);
    CHECK_STATUS(async_recvfrom(&c, buf, sizeof buf, &n, NULL, NULL), ASYNC_EIO);
    CHECK(async_io_errno(&c) == ECONNREFUSED && n == 0);
    CHECK_STATUS(async_io_close(&c), ASYNC_OK);
}

static void os_errors(void *user)
{
    struct pair *p = user;
    static char big[70000]; /* more than UDP over IPv4 can carry (65507) */
    char buf[8];
    size_t n = 5;
    const struct sockaddr *to = (const struct sockaddr *)&p->b.addr;
    int fds[2];
    async_io_t pipe_r;

    CHECK_STATUS(async_sendto(&p->a.io, big, sizeof big, &n, to, p->b.addrlen), ASYNC_EIO);
    CHECK(async_io_errno(&p->a.io) == EMSGSIZE && n == 0);
    /* No destination on an unconnected socket. */
    CHECK_STATUS(async_sendto(&p->a.io, "x", 1, &n, NULL, 0), ASYNC_EIO);
    CHECK(async_io_errno(&p->a.io) == EDESTADDRREQ || async_io_errno(&p->a.io) == ENOTCONN);
    /* Connected (to b): to NULL sends to the peer, like send(2). */
    CHECK_STATUS(async_connect(&p->a.io, to, p->b.addrlen), ASYNC_OK);
    CHECK_STATUS(async_sendto(&p->a.io, "peer", 4, &n, NULL, 0), ASYNC_OK);
    CHECK(n == 4);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "peer", 4) == 0);
    /* Not a socket. */
    CHECK(pipe(fds) == 0);
    memset(&pipe_r, 0, sizeof pipe_r);
    CHECK_STATUS(async_io_register(&pipe_r, fds[0]), ASYNC_OK);
    CHECK_STATUS(async_recvfrom(&pipe_r, buf, sizeof buf, &n, NULL, NULL), ASYNC_EIO);
    CHECK(async_io_errno(&pipe_r) == ENOTSOCK);
    CHECK_STATUS(async_sendto(&pipe_r, "x", 1, &n, to, p->b.addrlen), ASYNC_EIO);
    CHECK(async_io_errno(&pipe_r) == ENOTSOCK);
    CHECK_STATUS(async_io_close(&pipe_r), ASYNC_OK);
    close(fds[1]);
    refused_later();
    note("os-errors");
}

static void test_os_errors(async_runtime_t *rt)
{
    struct pair p;
    CHECK(open_udp(rt, &p.a, AF_INET) && open_udp(rt, &p.b, AF_INET));
    reset_trace();
    async_spawn_with(rt, os_errors, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("os-errors ");
    close_pair(&p);
}

/* --- Unix datagram sockets ------------------------------------------------ */

static char tmpdir[64];

/* An AF_UNIX SOCK_DGRAM socket bound to tmpdir/name, registered on rt. */
static void open_unix_dgram(async_runtime_t *rt, struct peer *p, const char *name)
{
    struct sockaddr_un *a = (struct sockaddr_un *)&p->addr;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    memset(p, 0, sizeof *p);
    CHECK(fd >= 0);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", tmpdir, name);
    p->addrlen = (unsigned)sizeof *a;
    CHECK(bind(fd, (struct sockaddr *)a, sizeof *a) == 0);
    CHECK_STATUS(async_io_register_with(rt, &p->io, fd), ASYNC_OK);
}

static int same_path(const struct sockaddr_storage *a, unsigned alen, const struct peer *p)
{
    const struct sockaddr_un *x = (const struct sockaddr_un *)a;
    const struct sockaddr_un *y = (const struct sockaddr_un *)&p->addr;
    return alen > sizeof(sa_family_t) && x->sun_family == AF_UNIX && strcmp(x->sun_path, y->sun_path) == 0;
}

static void unix_ponger(void *user)
{
    struct pair *p = user;
    char buf[32];
    for (int i = 0; i < p->rounds; ++i) {
        struct sockaddr_storage from;
        unsigned fromlen = sizeof from;
        size_t n = 0;
        CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                     ASYNC_OK);
        CHECK(same_path(&from, fromlen, &p->a));
        note("b-got");
        CHECK_STATUS(async_sendto(&p->b.io, buf, n, &n, (struct sockaddr *)&from, fromlen), ASYNC_OK);
    }
}

static void unix_pinger(void *user)
{
    struct pair *p = user;
    for (int i = 0; i < p->rounds; ++i) {
        char msg[16], buf[16];
        size_t n = 0;
        struct sockaddr_storage from;
        unsigned fromlen = sizeof from;
        int len = snprintf(msg, sizeof msg, "msg %d", i);
        CHECK_STATUS(async_sendto(&p->a.io, msg, (size_t)len, &n, (struct sockaddr *)&p->b.addr, p->b.addrlen),
                     ASYNC_OK);
        note("a-sent");
        CHECK_STATUS(async_recvfrom(&p->a.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen),
                     ASYNC_OK);
        CHECK(n == (size_t)len && memcmp(buf, msg, n) == 0);
        CHECK(same_path(&from, fromlen, &p->b));
    }
}

/* A sender with no address of its own: the receiver sees a pathless one. */
static void unbound_sender(void *user)
{
    struct pair *p = user;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    async_io_t anon;
    char buf[8];
    size_t n = 0;
    struct sockaddr_storage from;
    unsigned fromlen = sizeof from;
    memset(&anon, 0, sizeof anon);
    CHECK_STATUS(async_io_register(&anon, fd), ASYNC_OK);
    CHECK_STATUS(async_sendto(&anon, "anon", 4, &n, (struct sockaddr *)&p->b.addr, p->b.addrlen), ASYNC_OK);
    CHECK_STATUS(async_recvfrom(&p->b.io, buf, sizeof buf, &n, (struct sockaddr *)&from, &fromlen), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "anon", 4) == 0);
#ifdef __linux__
    CHECK(fromlen == 0); /* no address at all: io.h says so for Linux */
#endif
    CHECK_STATUS(async_io_close(&anon), ASYNC_OK);
    note("unbound");
}

static void test_unix_dgram(async_runtime_t *rt)
{
    struct pair p;
    open_unix_dgram(rt, &p.a, "a");
    open_unix_dgram(rt, &p.b, "b");
    p.rounds = 3;
    reset_trace();
    async_spawn_with(rt, unix_ponger, &p);
    async_spawn_with(rt, unix_pinger, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    async_spawn_with(rt, unbound_sender, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("a-sent b-got a-sent b-got a-sent b-got unbound ");
    close_pair(&p);
    CHECK(unlink(((struct sockaddr_un *)&p.a.addr)->sun_path) == 0);
    CHECK(unlink(((struct sockaddr_un *)&p.b.addr)->sun_path) == 0);
}

/* --- back-pressure: a full Unix datagram queue parks the sender ------------ */

static int queued;

static void blocked_sender(void *user)
{
    async_io_t *io = user;
    size_t n = 0;
    note("sender-waits");
    /* to NULL: a socketpair is connected. Parks until the reader drains. */
    CHECK_STATUS(async_sendto(io, "last", 4, &n, NULL, 0), ASYNC_OK);
    CHECK(n == 4);
    note("sender-done");
}

static void draining_reader(void *user)
{
    async_io_t *io = user;
    char buf[8];
    size_t n = 0;
    note("reader-drains");
    for (int i = 0; i < queued; ++i) {
        CHECK_STATUS(async_recvfrom(io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
        CHECK(n == 1);
    }
    CHECK_STATUS(async_recvfrom(io, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "last", 4) == 0);
    note("reader-got-last");
}

static void test_unix_dgram_back_pressure(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    int sv[2];
    async_io_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK_STATUS(async_io_register_with(rt, &a, sv[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, &b, sv[1]), ASYNC_OK);
    /* Fill b's queue with one-byte datagrams until a send would block
     * (bounded by the kernel's queue length or buffer size). */
    queued = 0;
    while (send(sv[0], "x", 1, MSG_DONTWAIT) == 1) ++queued;
    CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
    CHECK(queued > 0);
    reset_trace();
    async_spawn_with(rt, blocked_sender, &a);
    async_spawn_with(rt, draining_reader, &b);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    /* The reader drains the queue without waiting, then waits for "last";
     * only then does the sender run again, and its datagram wakes the reader. */
    CHECK_TRACE("sender-waits reader-drains sender-done reader-got-last ");
    CHECK_STATUS(async_io_close(&a), ASYNC_OK);
    CHECK_STATUS(async_io_close(&b), ASYNC_OK);
}

/* --- a Unix datagram larger than the send buffer: EMSGSIZE ---------------- */

static void too_big(void *user)
{
    async_io_t *io = user;
    static char big[64 * 1024];
    size_t n = 5;
    CHECK_STATUS(async_sendto(io, big, sizeof big, &n, NULL, 0), ASYNC_EIO);
    CHECK(async_io_errno(io) == EMSGSIZE && n == 0);
    note("emsgsize");
}

static void test_unix_dgram_too_big(async_runtime_t *rt)
{
    int sv[2];
    int small = 4096; /* the kernel may double it; still far below 64 KiB */
    async_io_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    CHECK_STATUS(async_io_register_with(rt, &a, sv[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, &b, sv[1]), ASYNC_OK);
    reset_trace();
    async_spawn_with(rt, too_big, &a);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("emsgsize ");
    CHECK_STATUS(async_io_close(&a), ASYNC_OK);
    CHECK_STATUS(async_io_close(&b), ASYNC_OK);
}

int main(void)
{
    async_runtime_t rt;
    async_config_t cfg;
    int fds_at_start = open_fd_count();
    memset(&cfg, 0, sizeof cfg);
    cfg.fiber_stack_size = 128 * 1024;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/async_dgram_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }

    test_udp_ping_pong(&rt, AF_INET, "127.0.0.1");
    test_udp_ping_pong(&rt, AF_INET6, "::1");
    test_truncation_and_zero_length(&rt);
    test_misuse(&rt);
    test_timeouts(&rt);
    test_cancel_and_fifo(&rt);
    test_close_while_waiting(&rt);
    test_os_errors(&rt);
    test_unix_dgram(&rt);
    test_unix_dgram_back_pressure(&rt);
    test_unix_dgram_too_big(&rt);

    {
        async_runtime_stats_t st;
        CHECK_STATUS(async_runtime_stats(&rt, &st), ASYNC_OK);
        CHECK(st.io_registered == 0);
        CHECK(st.fibers_live == 0);
    }
    async_runtime_shutdown(&rt);
    CHECK(rmdir(tmpdir) == 0);
    if (fds_at_start >= 0) CHECK(open_fd_count() == fds_at_start);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("c_dgram_test: all checks passed");
    return EXIT_SUCCESS;
}
