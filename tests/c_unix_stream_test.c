/* SPDX-License-Identifier: MIT */
/* c_unix_stream_test.c: Unix stream sockets (AF_UNIX, SOCK_STREAM) through
 * the existing C calls of async/io.h, from C11 with -Wall -Wextra -Wpedantic
 * -Werror: accept (registered and raw), connect, an echo with half-close,
 * and connect's failures (no such path, nobody listening, a full backlog).
 * Paths live in a fresh mkdtemp directory, removed at the end. Exits non-zero
 * after any failed check; ends with as many open fds as it began with. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
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

static struct sockaddr_un path_addr(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", tmpdir, name);
    return a;
}

/* A listening Unix stream socket on tmpdir/name, registered on rt. */
static void listen_on(async_runtime_t *rt, async_io_t *io, const char *name, int backlog)
{
    struct sockaddr_un a = path_addr(name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fd, backlog) == 0);
    memset(io, 0, sizeof *io);
    CHECK_STATUS(async_io_register_with(rt, io, fd), ASYNC_OK);
}

/* A new Unix stream socket registered on the calling fiber's runtime. */
static void new_client(async_io_t *io)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    memset(io, 0, sizeof *io);
    CHECK_STATUS(async_io_register(io, fd), ASYNC_OK);
}

/* --- echo: accept, connect, read, write, half-close ------------------------ */

static void server(void *user)
{
    async_io_t *listener = user;
    async_io_t conn;
    char buf[64];
    size_t n;
    memset(&conn, 0, sizeof conn);
    note("server-accepts");
    CHECK_STATUS(async_accept_io(listener, &conn), ASYNC_OK);
    note("accepted");
    for (;;) {
        CHECK_STATUS(async_read(&conn, buf, sizeof buf, &n), ASYNC_OK);
        if (n == 0) break;
        CHECK_STATUS(async_write_all(&conn, buf, n, NULL), ASYNC_OK);
    }
    note("server-eof");
    CHECK_STATUS(async_io_close(&conn), ASYNC_OK);
}

static void client(void *user)
{
    static const char *const messages[] = {"one", "two!", "three"};
    struct sockaddr_un a = path_addr("echo");
    async_io_t io;
    char buf[16];
    size_t n;
    (void)user;
    new_client(&io);
    CHECK_STATUS(async_connect(&io, (struct sockaddr *)&a, sizeof a), ASYNC_OK);
    note("connected");
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; ++i) {
        size_t len = strlen(messages[i]);
        CHECK_STATUS(async_write_all(&io, messages[i], len, &n), ASYNC_OK);
        CHECK_STATUS(async_read_exact(&io, buf, len, &n), ASYNC_OK);
        CHECK(n == len && memcmp(buf, messages[i], len) == 0);
        note(messages[i]);
    }
    CHECK(shutdown(async_io_fd(&io), SHUT_WR) == 0);
    CHECK_STATUS(async_read(&io, buf, sizeof buf, &n), ASYNC_OK);
    CHECK(n == 0);
    note("client-eof");
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
}

static void test_echo(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    async_io_t listener;
    listen_on(rt, &listener, "echo", 8);
    reset_trace();
    async_spawn_with(rt, server, &listener);
    async_spawn_with(rt, client, NULL);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("server-accepts connected accepted one two! three server-eof client-eof ");
    CHECK_STATUS(async_io_close(&listener), ASYNC_OK);
    CHECK(unlink(path_addr("echo").sun_path) == 0);
}

/* --- the raw accept, and an accept with a deadline ------------------------- */

static void raw_acceptor(void *user)
{
    async_io_t *listener = user;
    async_io_t conn;
    int fd = -1;
    char c = 0;
    size_t n = 0;
    /* Nobody connects yet: a past deadline tries once and times out. */
    CHECK_STATUS(async_accept_until(listener, &fd, 0), ASYNC_ETIMEDOUT);
    CHECK_STATUS(async_accept(listener, &fd), ASYNC_OK);
    CHECK(fd >= 0);
    memset(&conn, 0, sizeof conn);
    CHECK_STATUS(async_io_register(&conn, fd), ASYNC_OK);
    CHECK_STATUS(async_read_exact(&conn, &c, 1, &n), ASYNC_OK);
    CHECK(c == 'z');
    CHECK_STATUS(async_io_close(&conn), ASYNC_OK);
    note("raw-accepted");
}

static void one_byte_client(void *user)
{
    struct sockaddr_un a = path_addr("raw");
    async_io_t io;
    (void)user;
    new_client(&io);
    CHECK_STATUS(async_connect(&io, (struct sockaddr *)&a, sizeof a), ASYNC_OK);
    CHECK_STATUS(async_write_all(&io, "z", 1, NULL), ASYNC_OK);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
}

static void test_raw_accept(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    async_io_t listener;
    listen_on(rt, &listener, "raw", 8);
    reset_trace();
    async_spawn_with(rt, raw_acceptor, &listener);
    async_spawn_with(rt, one_byte_client, NULL);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("raw-accepted ");
    CHECK_STATUS(async_io_close(&listener), ASYNC_OK);
    CHECK(unlink(path_addr("raw").sun_path) == 0);
}

/* --- connect's failures ------------------------------------------------------ */

static void failing_connects(void *user)
{
    async_io_t io;
    struct sockaddr_un missing = path_addr("missing");
    struct sockaddr_un gone = path_addr("gone");
    (void)user;

    new_client(&io);
    CHECK_STATUS(async_connect(&io, (struct sockaddr *)&missing, sizeof missing), ASYNC_EIO);
    CHECK(async_io_errno(&io) == ENOENT);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);

    /* The path exists, but the socket bound to it is closed. */
    new_client(&io);
    CHECK_STATUS(async_connect(&io, (struct sockaddr *)&gone, sizeof gone), ASYNC_EIO);
    CHECK(async_io_errno(&io) == ECONNREFUSED);
    CHECK_STATUS(async_io_close(&io), ASYNC_OK);
    note("failures");
}

#ifdef __linux__
/* Linux: a listener whose backlog is full refuses a non-blocking connect
 * with EAGAIN, and gives no event to wait for (io.h, async_connect). With
 * backlog 0 the kernel queues one connection. */
static void full_backlog(void *user)
{
    struct sockaddr_un a = path_addr("full");
    async_io_t first, second;
    (void)user;
    new_client(&first);
    CHECK_STATUS(async_connect(&first, (struct sockaddr *)&a, sizeof a), ASYNC_OK);
    new_client(&second);
    CHECK_STATUS(async_connect(&second, (struct sockaddr *)&a, sizeof a), ASYNC_EIO);
    CHECK(async_io_errno(&second) == EAGAIN);
    CHECK_STATUS(async_io_close(&second), ASYNC_OK);
    CHECK_STATUS(async_io_close(&first), ASYNC_OK);
    note("backlog-full");
}
#endif

static void test_connect_failures(async_runtime_t *rt)
{
    struct sockaddr_un gone = path_addr("gone");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&gone, sizeof gone) == 0);
    close(fd); /* leaves the path behind, with nobody listening */
    reset_trace();
    async_spawn_with(rt, failing_connects, NULL);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("failures ");
    CHECK(unlink(gone.sun_path) == 0);
#ifdef __linux__
    {
        async_io_t listener;
        listen_on(rt, &listener, "full", 0);
        reset_trace();
        async_spawn_with(rt, full_backlog, NULL);
        CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
        CHECK_TRACE("backlog-full ");
        CHECK_STATUS(async_io_close(&listener), ASYNC_OK);
        CHECK(unlink(path_addr("full").sun_path) == 0);
    }
#endif
}

/* --- async_recvfrom / async_sendto on a stream socket: async_read/write --- */

static void stream_as_datagrams(void *user)
{
    async_io_t *io = user; /* io[0], io[1]: a connected stream pair */
    char buf[8];
    size_t n = 0;
    CHECK_STATUS(async_sendto(&io[0], "abc", 3, &n, NULL, 0), ASYNC_OK);
    CHECK(n == 3);
    CHECK_STATUS(async_sendto(&io[0], "de", 2, &n, NULL, 0), ASYNC_OK);
    /* Bytes, not datagrams: both writes may come back in one call. */
    CHECK_STATUS(async_read_exact(&io[1], buf, 1, &n), ASYNC_OK);
    CHECK_STATUS(async_recvfrom(&io[1], buf + 1, sizeof buf - 1, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 4 && memcmp(buf, "abcde", 5) == 0);
    CHECK(shutdown(async_io_fd(&io[0]), SHUT_WR) == 0);
    n = 9;
    CHECK_STATUS(async_recvfrom(&io[1], buf, sizeof buf, &n, NULL, NULL), ASYNC_OK);
    CHECK(n == 0); /* end of file, as async_read */
    note("stream");
}

static void test_stream_through_datagram_calls(async_runtime_t *rt)
{
    int sv[2];
    async_io_t io[2];
    memset(io, 0, sizeof io);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_STATUS(async_io_register_with(rt, &io[0], sv[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, &io[1], sv[1]), ASYNC_OK);
    reset_trace();
    async_spawn_with(rt, stream_as_datagrams, io);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("stream ");
    CHECK_STATUS(async_io_close(&io[0]), ASYNC_OK);
    CHECK_STATUS(async_io_close(&io[1]), ASYNC_OK);
}

int main(void)
{
    async_runtime_t rt;
    async_config_t cfg;
    int fds_at_start = open_fd_count();
    memset(&cfg, 0, sizeof cfg);
    cfg.fiber_stack_size = 64 * 1024;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/async_unix_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }

    test_echo(&rt);
    test_raw_accept(&rt);
    test_connect_failures(&rt);
    test_stream_through_datagram_calls(&rt);

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
    puts("c_unix_stream_test: all checks passed");
    return EXIT_SUCCESS;
}
