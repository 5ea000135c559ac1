/* SPDX-License-Identifier: MIT */
/* c_socket_test.c: the socket-making calls of async/io.h (async_addr_ip,
 * async_addr_unix, async_socket_listen / _bind_dgram / _connect and the
 * async_tcp_* forms), from C11 with -Wall -Wextra -Wpedantic -Werror: a TCP
 * echo over 127.0.0.1 and ::1, a UDP exchange, a Unix stream echo, and every
 * documented failure (bad addresses, sizes and NULLs, a port or path in use,
 * a refused connection, the wrong thread, outside a fiber, a cancelled
 * fiber). Loopback only; Unix paths live in a fresh mkdtemp directory. After
 * every failure the io is checked unregistered, and the program ends with as
 * many open fds as it began with. Exits non-zero after any failed check. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
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

static char tmpdir[64];

/* The port a registered socket is bound to. */
static uint16_t bound_port(const async_io_t *io)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    CHECK(getsockname(async_io_fd(io), (struct sockaddr *)&ss, &len) == 0);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A failed call left `io` unregistered with `want_errno` (0: any). */
static void check_failed_io(const async_io_t *io, int want_errno)
{
    CHECK(async_io_fd(io) == -1);
    if (want_errno != 0) CHECK(async_io_errno(io) == want_errno);
}

/* A fresh runtime with a TCP listener on 127.0.0.1 and a free port; returns
 * the port. */
static uint16_t runtime_with_listener(async_runtime_t *rt, async_io_t *listener)
{
    CHECK_STATUS(async_runtime_init(rt, NULL), ASYNC_OK);
    memset(listener, 0, sizeof *listener);
    CHECK_STATUS(async_tcp_listen_with(rt, listener, "127.0.0.1", 0, 4), ASYNC_OK);
    return bound_port(listener);
}

/* Runs `first` then `second` as fibers of rt until both end, on a fresh
 * trace. */
static void run_pair(async_runtime_t *rt, async_fn first, async_fn second, void *user)
{
    reset_trace();
    async_spawn_with(rt, first, user);
    async_spawn_with(rt, second, user);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
}

/* --- address parsing -------------------------------------------------------- */

static void test_addr_ip(void)
{
    struct sockaddr_storage ss;
    unsigned len = sizeof ss;
    CHECK_STATUS(async_addr_ip("127.0.0.1", 8080, (struct sockaddr *)&ss, &len), ASYNC_OK);
    CHECK(len == sizeof(struct sockaddr_in));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
    CHECK(v4->sin_family == AF_INET && ntohs(v4->sin_port) == 8080);
    CHECK(ntohl(v4->sin_addr.s_addr) == INADDR_LOOPBACK);

    len = sizeof ss;
    CHECK_STATUS(async_addr_ip("localhost", 1, (struct sockaddr *)&ss, &len), ASYNC_OK);
    CHECK(len == sizeof(struct sockaddr_in) && ntohl(v4->sin_addr.s_addr) == INADDR_LOOPBACK);

    len = sizeof ss;
    CHECK_STATUS(async_addr_ip("::1", 443, (struct sockaddr *)&ss, &len), ASYNC_OK);
    CHECK(len == sizeof(struct sockaddr_in6));
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
    CHECK(v6->sin6_family == AF_INET6 && ntohs(v6->sin6_port) == 443);
    CHECK(memcmp(&v6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0);

    /* Text that is no address; names other than "localhost" are not looked up. */
    const char *bad[] = {"", "1.2.3", "::g", "127.0.0.1 ", "256.0.0.1", "example.com", "[::1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        len = sizeof ss;
        CHECK_STATUS(async_addr_ip(bad[i], 80, (struct sockaddr *)&ss, &len), ASYNC_EINVAL);
    }
    /* One byte past ASYNC_ADDR_IP_MAX, though a valid IPv6 literal's worth of zeros. */
    char longest[ASYNC_ADDR_IP_MAX + 2];
    memset(longest, '0', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    len = sizeof ss;
    CHECK_STATUS(async_addr_ip(longest, 80, (struct sockaddr *)&ss, &len), ASYNC_EINVAL);

    /* NULL arguments. */
    len = sizeof ss;
    CHECK_STATUS(async_addr_ip(NULL, 80, (struct sockaddr *)&ss, &len), ASYNC_EINVAL);
    CHECK_STATUS(async_addr_ip("127.0.0.1", 80, NULL, &len), ASYNC_EINVAL);
    CHECK_STATUS(async_addr_ip("127.0.0.1", 80, (struct sockaddr *)&ss, NULL), ASYNC_EINVAL);

    /* Too small for the address: nothing is written, *addrlen kept. */
    unsigned char small[sizeof(struct sockaddr_in6)];
    memset(small, 0xAB, sizeof small);
    len = sizeof(struct sockaddr_in) - 1;
    CHECK_STATUS(async_addr_ip("127.0.0.1", 80, (struct sockaddr *)small, &len), ASYNC_EINVAL);
    CHECK(len == sizeof(struct sockaddr_in) - 1 && small[0] == 0xAB);
    len = sizeof(struct sockaddr_in);
    CHECK_STATUS(async_addr_ip("::1", 80, (struct sockaddr *)small, &len), ASYNC_EINVAL);
    CHECK(small[0] == 0xAB);
    len = sizeof(struct sockaddr_in);  /* exactly enough */
    CHECK_STATUS(async_addr_ip("127.0.0.1", 80, (struct sockaddr *)small, &len), ASYNC_OK);
}

static void test_addr_unix(void)
{
    struct sockaddr_storage ss;
    unsigned len = sizeof ss;
    CHECK_STATUS(async_addr_unix("/tmp/x.sock", (struct sockaddr *)&ss, &len), ASYNC_OK);
    const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
    CHECK(un->sun_family == AF_UNIX && strcmp(un->sun_path, "/tmp/x.sock") == 0);
    CHECK(len == offsetof(struct sockaddr_un, sun_path) + sizeof "/tmp/x.sock");

    /* The longest path that fits, and one byte more. */
    char path[sizeof un->sun_path + 1];
    memset(path, 'p', sizeof path - 1);
    path[sizeof un->sun_path - 1] = '\0';
    len = sizeof ss;
    CHECK_STATUS(async_addr_unix(path, (struct sockaddr *)&ss, &len), ASYNC_OK);
    path[sizeof un->sun_path - 1] = 'p';
    path[sizeof un->sun_path] = '\0';
    len = sizeof ss;
    CHECK_STATUS(async_addr_unix(path, (struct sockaddr *)&ss, &len), ASYNC_EINVAL);

    len = sizeof ss;
    CHECK_STATUS(async_addr_unix("", (struct sockaddr *)&ss, &len), ASYNC_EINVAL);
    CHECK_STATUS(async_addr_unix(NULL, (struct sockaddr *)&ss, &len), ASYNC_EINVAL);
    CHECK_STATUS(async_addr_unix("/a", NULL, &len), ASYNC_EINVAL);
    CHECK_STATUS(async_addr_unix("/a", (struct sockaddr *)&ss, NULL), ASYNC_EINVAL);
    len = offsetof(struct sockaddr_un, sun_path) + 2; /* no room for "/a" and its NUL */
    CHECK_STATUS(async_addr_unix("/a", (struct sockaddr *)&ss, &len), ASYNC_EINVAL);
}

/* --- a TCP echo: listen, accept, connect, one round trip ---------------------- */

struct echo {
    const char *host;
    async_io_t listener;
    uint16_t port;
};

static void echo_server(void *user)
{
    struct echo *e = user;
    async_io_t client = {0};
    note("accept");
    CHECK_STATUS(async_accept_io(&e->listener, &client), ASYNC_OK);
    char buf[4];
    CHECK_STATUS(async_read_exact(&client, buf, sizeof buf, NULL), ASYNC_OK);
    CHECK(memcmp(buf, "ping", 4) == 0);
    note("got-ping");
    CHECK_STATUS(async_write_all(&client, "pong", 4, NULL), ASYNC_OK);
    CHECK_STATUS(async_io_close(&client), ASYNC_OK);
}

static void echo_client(void *user)
{
    struct echo *e = user;
    async_io_t io = {0};
    note("connect");
    CHECK_STATUS(async_tcp_connect(&io, e->host, e->port), ASYNC_OK);
    CHECK_STATUS(async_write_all(&io, "ping", 4, NULL), ASYNC_OK);
    char buf[4];
    CHECK_STATUS(async_read_exact(&io, buf, sizeof buf, NULL), ASYNC_OK);
    CHECK(memcmp(buf, "pong", 4) == 0);
    note("got-pong");
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
}

/* Returns 0 when the host has no such loopback (an IPv6-less container). */
static int tcp_echo_on(const char *host)
{
    async_runtime_t rt = {0};
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    struct echo e = {host, {{0}}, 0};
    async_status_t st = async_tcp_listen_with(&rt, &e.listener, host, 0, 16);
    if (st == ASYNC_EIO && (async_io_errno(&e.listener) == EADDRNOTAVAIL ||
                            async_io_errno(&e.listener) == EAFNOSUPPORT)) {
        printf("SKIP: tcp echo on %s: no such loopback here\n", host);
        async_runtime_shutdown(&rt);
        return 0;
    }
    CHECK_STATUS(st, ASYNC_OK);
    e.port = bound_port(&e.listener);
    CHECK(e.port != 0);
    run_pair(&rt, echo_server, echo_client, &e);
    /* Spawn order, then the data's: which of accept and connect returns
     * first is the poller's order, so neither is traced. */
    CHECK_TRACE_OR_SEEDED("accept connect got-ping got-pong ", "connect accept got-ping got-pong ");
    CHECK_STATUS(async_io_close(&e.listener), ASYNC_OK);
    async_runtime_shutdown(&rt);
    return 1;
}

static void test_tcp_echo(void)
{
    tcp_echo_on("127.0.0.1");
    tcp_echo_on("localhost");
    tcp_echo_on("::1");
}

/* --- listen's failures --------------------------------------------------------- */

static void test_listen_failures(void)
{
    async_runtime_t rt = {0};
    async_io_t first;
    const uint16_t port = runtime_with_listener(&rt, &first);

    /* The port in use. */
    async_io_t second = {0};
    CHECK_STATUS(async_tcp_listen_with(&rt, &second, "127.0.0.1", port, 4), ASYNC_EIO);
    check_failed_io(&second, EADDRINUSE);

    /* An address that does not parse; a negative backlog; NULL and
     * non-zeroed ios; a NULL runtime. Nothing is made for any of them. */
    async_io_t io = {0};
    CHECK_STATUS(async_tcp_listen_with(&rt, &io, "1.2.3", 0, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_listen_with(&rt, &io, NULL, 0, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_listen_with(&rt, &io, "127.0.0.1", 0, -1), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_listen_with(&rt, NULL, "127.0.0.1", 0, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_listen_with(NULL, &io, "127.0.0.1", 0, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_listen_with(&rt, &first, "127.0.0.1", 0, 4), ASYNC_EINVAL); /* registered */
    check_failed_io(&io, 0);
    CHECK(async_io_errno(&io) == 0);

    /* The generic form's address checks. */
    struct sockaddr_storage ss;
    unsigned len = sizeof ss;
    CHECK_STATUS(async_addr_ip("127.0.0.1", 0, (struct sockaddr *)&ss, &len), ASYNC_OK);
    CHECK_STATUS(async_socket_listen_with(&rt, &io, NULL, len, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_socket_listen_with(&rt, &io, (struct sockaddr *)&ss, 0, 4), ASYNC_EINVAL);
    CHECK_STATUS(async_socket_listen_with(&rt, &io, (struct sockaddr *)&ss, sizeof ss + 1, 4), ASYNC_EINVAL);
    CHECK(async_io_errno(&io) == 0);

    CHECK_STATUS(async_io_close(&first), ASYNC_OK);
    async_runtime_shutdown(&rt);
    /* An uninitialised (shut down) runtime. */
    CHECK_STATUS(async_tcp_listen_with(&rt, &io, "127.0.0.1", 0, 4), ASYNC_EINVAL);
}

/* From a thread that does not own the runtime: ASYNC_ESTATE, nothing made. */
struct foreign {
    async_runtime_t *rt;
    async_status_t listen_st, bind_st;
    async_io_t io;
};

static void *foreign_thread(void *user)
{
    struct foreign *f = user;
    struct sockaddr_storage ss;
    unsigned len = sizeof ss;
    (void)async_addr_ip("127.0.0.1", 0, (struct sockaddr *)&ss, &len);
    f->listen_st = async_tcp_listen_with(f->rt, &f->io, "127.0.0.1", 0, 4);
    f->bind_st = async_socket_bind_dgram_with(f->rt, &f->io, (struct sockaddr *)&ss, len);
    return NULL;
}

static void test_wrong_thread(void)
{
    async_runtime_t rt = {0};
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    struct foreign f = {&rt, ASYNC_OK, ASYNC_OK, {{0}}};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, foreign_thread, &f) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_STATUS(f.listen_st, ASYNC_ESTATE);
    CHECK_STATUS(f.bind_st, ASYNC_ESTATE);
    check_failed_io(&f.io, 0);
    async_runtime_shutdown(&rt);
}

/* --- connect's failures ---------------------------------------------------------- */

struct refused {
    uint16_t port;
};

static void refused_client(void *user)
{
    struct refused *r = user;
    async_io_t io = {0};
    CHECK_STATUS(async_tcp_connect(&io, "127.0.0.1", r->port), ASYNC_EIO);
    check_failed_io(&io, ECONNREFUSED);
    memset(&io, 0, sizeof io);
    CHECK_STATUS(async_tcp_connect_until(&io, "127.0.0.1", r->port, in_ms(60000)), ASYNC_EIO);
    check_failed_io(&io, ECONNREFUSED);

    /* Misuse: nothing is made. */
    memset(&io, 0, sizeof io);
    CHECK_STATUS(async_tcp_connect(&io, "not an address", r->port), ASYNC_EINVAL);
    CHECK_STATUS(async_tcp_connect(NULL, "127.0.0.1", r->port), ASYNC_EINVAL);
    CHECK_STATUS(async_socket_connect(&io, NULL, 16), ASYNC_EINVAL);
    async_io_t used = {0};
    used.impl[3] = &used; /* not zeroed */
    CHECK_STATUS(async_tcp_connect(&used, "127.0.0.1", r->port), ASYNC_EINVAL);

    /* Cancelled already: ECANCELED before a socket is made. */
    CHECK_STATUS(async_cancel(async_self()), ASYNC_OK);
    CHECK_STATUS(async_tcp_connect(&io, "127.0.0.1", r->port), ASYNC_ECANCELED);
    check_failed_io(&io, 0);
    CHECK(async_io_errno(&io) == 0);
    note("refused-done");
}

static void test_connect_failures(void)
{
    async_runtime_t rt = {0};
    /* A port nobody listens on: one the kernel gave a listener just closed. */
    async_io_t gone;
    struct refused r = {runtime_with_listener(&rt, &gone)};
    CHECK_STATUS(async_io_close(&gone), ASYNC_OK);

    reset_trace();
    async_spawn_with(&rt, refused_client, &r);
    /* The fiber ends cancelled: it cancelled itself last. */
    (void)async_runtime_run(&rt);
    CHECK_TRACE("refused-done ");

    /* Outside a fiber: ESTATE before anything is made. */
    async_io_t io = {0};
    CHECK_STATUS(async_tcp_connect(&io, "127.0.0.1", r.port), ASYNC_ESTATE);
    check_failed_io(&io, 0);
    CHECK(async_io_errno(&io) == 0);
    async_runtime_shutdown(&rt);
}

/* --- UDP: two bound sockets, one datagram each way ---------------------------- */

struct udp_pair {
    async_io_t a, b;
    struct sockaddr_storage a_addr, b_addr;
    unsigned a_len, b_len;
};

static void udp_a(void *user)
{
    struct udp_pair *p = user;
    size_t n = 0;
    note("a-send");
    CHECK_STATUS(async_sendto(&p->a, "hi", 2, &n, (struct sockaddr *)&p->b_addr, p->b_len), ASYNC_OK);
    char buf[8];
    CHECK_STATUS(async_recvfrom(&p->a, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 2 && memcmp(buf, "yo", 2) == 0);
    note("a-got");
}

static void udp_b(void *user)
{
    struct udp_pair *p = user;
    char buf[8];
    size_t n = 0;
    note("b-recv");
    CHECK_STATUS(async_recvfrom(&p->b, buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 2 && memcmp(buf, "hi", 2) == 0);
    note("b-got");
    CHECK_STATUS(async_sendto(&p->b, "yo", 2, &n, (struct sockaddr *)&p->a_addr, p->a_len), ASYNC_OK);
}

static void test_udp(void)
{
    async_runtime_t rt = {0};
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    struct udp_pair p;
    memset(&p, 0, sizeof p);
    struct sockaddr_storage any;
    unsigned any_len = sizeof any;
    CHECK_STATUS(async_addr_ip("127.0.0.1", 0, (struct sockaddr *)&any, &any_len), ASYNC_OK);
    CHECK_STATUS(async_socket_bind_dgram_with(&rt, &p.a, (struct sockaddr *)&any, any_len), ASYNC_OK);
    CHECK_STATUS(async_socket_bind_dgram_with(&rt, &p.b, (struct sockaddr *)&any, any_len), ASYNC_OK);
    p.a_len = sizeof p.a_addr;
    p.b_len = sizeof p.b_addr;
    CHECK_STATUS(async_addr_ip("127.0.0.1", bound_port(&p.a), (struct sockaddr *)&p.a_addr, &p.a_len), ASYNC_OK);
    CHECK_STATUS(async_addr_ip("127.0.0.1", bound_port(&p.b), (struct sockaddr *)&p.b_addr, &p.b_len), ASYNC_OK);

    /* b's port in use. */
    async_io_t c = {0};
    CHECK_STATUS(async_socket_bind_dgram_with(&rt, &c, (struct sockaddr *)&p.b_addr, p.b_len), ASYNC_EIO);
    check_failed_io(&c, EADDRINUSE);
    memset(&c, 0, sizeof c);
    CHECK_STATUS(async_socket_bind_dgram_with(NULL, &c, (struct sockaddr *)&any, any_len), ASYNC_EINVAL);
    CHECK_STATUS(async_socket_bind_dgram_with(&rt, &c, NULL, any_len), ASYNC_EINVAL);

    run_pair(&rt, udp_b, udp_a, &p);
    CHECK_TRACE_OR_SEEDED("b-recv a-send b-got a-got ", "a-send b-recv b-got a-got ");
    CHECK_STATUS(async_io_close(&p.a), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p.b), ASYNC_OK);
    async_runtime_shutdown(&rt);
}

/* --- Unix stream sockets ------------------------------------------------------- */

struct unix_echo {
    async_io_t listener;
    struct sockaddr_storage addr, missing;
    unsigned len, missing_len;
};

static void unix_server(void *user)
{
    struct unix_echo *u = user;
    async_io_t client = {0};
    note("accept");
    CHECK_STATUS(async_accept_io(&u->listener, &client), ASYNC_OK);
    char c = 0;
    CHECK_STATUS(async_read_exact(&client, &c, 1, NULL), ASYNC_OK);
    CHECK(c == 'u');
    note("got");
    CHECK_STATUS(async_io_close(&client), ASYNC_OK);
}

static void unix_client(void *user)
{
    struct unix_echo *u = user;
    async_io_t io = {0};
    /* Nobody bound this path. */
    CHECK_STATUS(async_socket_connect(&io, (struct sockaddr *)&u->missing, u->missing_len), ASYNC_EIO);
    check_failed_io(&io, ENOENT);
    memset(&io, 0, sizeof io);
    note("connect");
    CHECK_STATUS(async_socket_connect_until(&io, (struct sockaddr *)&u->addr, u->len, ASYNC_NO_DEADLINE),
                 ASYNC_OK);
    CHECK_STATUS(async_write_all(&io, "u", 1, NULL), ASYNC_OK);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
}

static void test_unix(void)
{
    struct unix_echo u;
    memset(&u, 0, sizeof u);
    char path[128], missing[128];
    snprintf(path, sizeof path, "%s/listen.sock", tmpdir);
    snprintf(missing, sizeof missing, "%s/missing.sock", tmpdir);
    u.len = sizeof u.addr;
    u.missing_len = sizeof u.missing;
    CHECK_STATUS(async_addr_unix(path, (struct sockaddr *)&u.addr, &u.len), ASYNC_OK);
    CHECK_STATUS(async_addr_unix(missing, (struct sockaddr *)&u.missing, &u.missing_len), ASYNC_OK);

    async_runtime_t rt = {0};
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_socket_listen_with(&rt, &u.listener, (struct sockaddr *)&u.addr, u.len, 4), ASYNC_OK);
    CHECK(access(path, F_OK) == 0);

    /* The path exists already. */
    async_io_t again = {0};
    CHECK_STATUS(async_socket_listen_with(&rt, &again, (struct sockaddr *)&u.addr, u.len, 4), ASYNC_EIO);
    check_failed_io(&again, EADDRINUSE);

    run_pair(&rt, unix_server, unix_client, &u);
    CHECK_TRACE_OR_SEEDED("accept connect got ", "connect accept got ");
    CHECK_STATUS(async_io_close(&u.listener), ASYNC_OK);
    async_runtime_shutdown(&rt);
    /* Removing the path is the caller's job: it is still there. */
    CHECK(unlink(path) == 0);
}

/* --- the forms without _with: the calling thread's global runtime ------------- */

static void test_global_runtime(void)
{
    async_io_t io = {0};
    CHECK_STATUS(async_tcp_listen(&io, "127.0.0.1", 0, 4), ASYNC_OK);
    CHECK(bound_port(&io) != 0);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
    struct sockaddr_storage ss;
    unsigned len = sizeof ss;
    CHECK_STATUS(async_addr_ip("127.0.0.1", 0, (struct sockaddr *)&ss, &len), ASYNC_OK);
    memset(&io, 0, sizeof io);
    CHECK_STATUS(async_socket_bind_dgram(&io, (struct sockaddr *)&ss, len), ASYNC_OK);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
    memset(&io, 0, sizeof io);
    CHECK_STATUS(async_socket_listen(&io, (struct sockaddr *)&ss, len, -1), ASYNC_EINVAL);
    async_global_shutdown();
}

int main(void)
{
    const int fds_before = open_fd_count();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/c_socket_test.XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    test_addr_ip();
    test_addr_unix();
    test_tcp_echo();
    test_listen_failures();
    test_wrong_thread();
    test_connect_failures();
    test_udp();
    test_unix();
    test_global_runtime();
    CHECK(rmdir(tmpdir) == 0);
    CHECK(open_fd_count() == fds_before);
    if (failures != 0) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
