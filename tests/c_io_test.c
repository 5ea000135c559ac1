/* SPDX-License-Identifier: MIT */
/* c_io_test.c: the I/O C API (async/io.h) used from C11, compiled with
 * -Wall -Wextra -Wpedantic -Werror: pipe read/write and end of file, close
 * while fibers are parked, timeouts, misuse, an echo over a socketpair, and
 * park/unpark from another thread. Whole traces where order matters. Exits
 * non-zero after any failed check, naming each; ends with as many open file
 * descriptors as it began with. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "async.h"

#include "support/c_check.h"

#include "support/c_io_support.h"

/* Both ends of a new pipe registered on rt. */
static void make_pipe(async_runtime_t *rt, async_io_t *r, async_io_t *w)
{
    int fds[2];
    memset(r, 0, sizeof *r);
    memset(w, 0, sizeof *w);
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(EXIT_FAILURE);
    }
    CHECK_STATUS(async_io_register_with(rt, r, fds[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, w, fds[1]), ASYNC_OK);
}

/* Fills a pipe's buffer until a write would block. */
static size_t fill(async_io_t *w)
{
    static char block[65536];
    size_t total = 0;
    for (;;) {
        ssize_t r = write(async_io_fd(w), block, sizeof block);
        if (r <= 0) break;
        total += (size_t)r;
    }
    return total;
}

struct pipe_pair {
    async_io_t r;
    async_io_t w;
};

/* --- pipe read, write, end of file -------------------------------------- */

static void reader_until_eof(void *user)
{
    struct pipe_pair *p = user;
    char buf[16];
    char token[32];
    size_t n = 99;
    note("reader-waits");
    CHECK_STATUS(async_read(&p->r, buf, sizeof buf, &n), ASYNC_OK);
    snprintf(token, sizeof token, "read:%.*s", (int)n, buf);
    note(token);
    CHECK_STATUS(async_read(&p->r, buf, sizeof buf, &n), ASYNC_OK);
    CHECK(n == 0);
    note("eof");
}

static void writer_then_close(void *user)
{
    struct pipe_pair *p = user;
    size_t n = 0;
    note("writer-writes");
    CHECK_STATUS(async_write(&p->w, "hello", 5, &n), ASYNC_OK);
    CHECK(n == 5);
    CHECK_STATUS(async_io_close(&p->w), ASYNC_OK);
    note("writer-closed");
}

static void test_pipe_read_write_eof(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    struct pipe_pair p;
    make_pipe(rt, &p.r, &p.w);
    reset_trace();
    CHECK_STATUS(async_spawn_with(rt, reader_until_eof, &p).status, ASYNC_OK);
    CHECK_STATUS(async_spawn_with(rt, writer_then_close, &p).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("reader-waits writer-writes writer-closed read:hello eof ");
    CHECK_STATUS(async_io_close(&p.r), ASYNC_OK);
}

/* --- close while parked ------------------------------------------------- */

static void parked_reader(void *user)
{
    struct pipe_pair *p = user;
    char c;
    size_t n = 7;
    CHECK_STATUS(async_read(&p->r, &c, 1, &n), ASYNC_ECLOSED);
    CHECK(n == 0);
    note("reader-eclosed");
}

static void parked_writer(void *user)
{
    struct pipe_pair *p = user;
    size_t n = 7;
    CHECK_STATUS(async_write_all(&p->w, "x", 1, &n), ASYNC_ECLOSED);
    CHECK(n == 0);
    note("writer-eclosed");
}

static void closer(void *user)
{
    struct pipe_pair *p = user;
    note("closing");
    CHECK_STATUS(async_io_close(&p->r), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p->w), ASYNC_OK);
}

static void test_close_while_parked(async_runtime_t *rt)
{
    if (seeded_skip(__func__)) return;
    struct pipe_pair p;         /* p.r empty, p.w full */
    async_io_t r_unused, w_unused;
    make_pipe(rt, &p.r, &w_unused);
    make_pipe(rt, &r_unused, &p.w);
    CHECK(fill(&p.w) > 0);
    reset_trace();
    async_spawn_with(rt, parked_reader, &p);
    async_spawn_with(rt, parked_reader, &p);
    async_spawn_with(rt, parked_writer, &p);
    async_spawn_with(rt, closer, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("closing reader-eclosed reader-eclosed writer-eclosed ");
    CHECK_STATUS(async_io_close(&p.r), ASYNC_EINVAL); /* twice */
    CHECK(async_io_fd(&p.r) == -1);
    CHECK_STATUS(async_io_close(&r_unused), ASYNC_OK);
    CHECK_STATUS(async_io_close(&w_unused), ASYNC_OK);
}

/* --- timeouts ----------------------------------------------------------- */

static void timed_calls(void *user)
{
    struct pipe_pair *p = user;
    char c;
    size_t n = 7;
    uint64_t t0 = async_now_ns();
    CHECK_STATUS(async_read_until(&p->r, &c, 1, &n, in_ms(3)), ASYNC_ETIMEDOUT);
    CHECK(n == 0);
    CHECK(async_now_ns() - t0 >= 3000000u);
    CHECK_STATUS(async_read_exact_until(&p->r, &c, 1, &n, in_ms(1)), ASYNC_ETIMEDOUT);
    CHECK_STATUS(async_io_wait_readable_until(&p->r, in_ms(1)), ASYNC_ETIMEDOUT);
    /* A deadline already past still tries once. */
    CHECK_STATUS(async_write_until(&p->w, "k", 1, &n, 0), ASYNC_OK);
    CHECK(n == 1);
    CHECK_STATUS(async_read_until(&p->r, &c, 1, &n, 0), ASYNC_OK);
    CHECK(n == 1 && c == 'k');
    CHECK_STATUS(async_read_until(&p->r, &c, 1, &n, 0), ASYNC_ETIMEDOUT);
    /* A full pipe: the write times out, nothing written. */
    CHECK(fill(&p->w) > 0);
    CHECK_STATUS(async_write_until(&p->w, "x", 1, &n, in_ms(2)), ASYNC_ETIMEDOUT);
    CHECK(n == 0);
    CHECK_STATUS(async_write_all_until(&p->w, "xy", 2, &n, in_ms(1)), ASYNC_ETIMEDOUT);
    CHECK(n == 0);
    CHECK_STATUS(async_io_wait_writable_until(&p->w, in_ms(1)), ASYNC_ETIMEDOUT);
    note("timed-out");
}

static void test_timeouts(async_runtime_t *rt)
{
    struct pipe_pair p;
    make_pipe(rt, &p.r, &p.w);
    reset_trace();
    async_spawn_with(rt, timed_calls, &p);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("timed-out ");
    CHECK_STATUS(async_io_close(&p.r), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p.w), ASYNC_OK);
}

/* --- misuse ------------------------------------------------------------- */

static void misuse_in_fiber(void *user)
{
    async_io_t *zeroed = user;
    char c;
    size_t n = 5;
    int fd = 5;
    CHECK_STATUS(async_read(zeroed, &c, 1, &n), ASYNC_EINVAL);
    CHECK(n == 0);
    CHECK_STATUS(async_write(zeroed, "x", 1, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_read_exact(zeroed, &c, 1, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_write_all(zeroed, "x", 1, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_accept(zeroed, &fd), ASYNC_EINVAL);
    CHECK_STATUS(async_io_wait_readable(zeroed), ASYNC_EINVAL);
    CHECK_STATUS(async_io_wait_writable(zeroed), ASYNC_EINVAL);
    CHECK_STATUS(async_read(NULL, &c, 1, &n), ASYNC_EINVAL);
}

static void test_misuse(async_runtime_t *rt)
{
    async_io_t zeroed;
    struct pipe_pair p;
    char c;
    size_t n = 5;
    memset(&zeroed, 0, sizeof zeroed);
    CHECK_STATUS(async_read(&zeroed, &c, 1, &n), ASYNC_EINVAL); /* EINVAL before ESTATE */
    CHECK_STATUS(async_io_close(&zeroed), ASYNC_EINVAL);
    CHECK_STATUS(async_io_close(NULL), ASYNC_EINVAL);
    CHECK(async_io_fd(&zeroed) == -1);
    CHECK(async_io_fd(NULL) == -1);
    CHECK(async_io_errno(NULL) == 0);
    CHECK_STATUS(async_io_register_with(rt, &zeroed, -1), ASYNC_EINVAL);
    CHECK_STATUS(async_io_register_with(rt, NULL, 0), ASYNC_EINVAL);
    CHECK_STATUS(async_io_register_with(NULL, &zeroed, 0), ASYNC_EINVAL);

    make_pipe(rt, &p.r, &p.w);
    /* Blocking calls outside a fiber: ESTATE, nothing read. */
    CHECK_STATUS(async_read(&p.r, &c, 1, &n), ASYNC_ESTATE);
    CHECK_STATUS(async_write(&p.w, "x", 1, &n), ASYNC_ESTATE);
    CHECK_STATUS(async_io_wait_readable(&p.r), ASYNC_ESTATE);
    CHECK_STATUS(async_park(), ASYNC_ESTATE);
    /* A registered io cannot be registered again. */
    CHECK_STATUS(async_io_register_with(rt, &p.r, 0), ASYNC_EINVAL);

    async_spawn_with(rt, misuse_in_fiber, &zeroed);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p.r), ASYNC_OK);
    CHECK_STATUS(async_io_close(&p.w), ASYNC_OK);
}

/* --- echo over a socketpair --------------------------------------------- */

static int echoed_bytes;

static void echo_side(void *user)
{
    async_io_t *io = user;
    char buf[64];
    size_t n;
    for (;;) {
        CHECK_STATUS(async_read(io, buf, sizeof buf, &n), ASYNC_OK);
        if (n == 0) break;
        CHECK_STATUS(async_write_all(io, buf, n, NULL), ASYNC_OK);
        echoed_bytes += (int)n;
    }
    note("echo-eof");
    CHECK_STATUS(async_io_close(io), ASYNC_OK);
}

static void client_side(void *user)
{
    async_io_t *io = user;
    static const char *const messages[] = {"one", "two!", "three"};
    char buf[16];
    size_t n;
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; ++i) {
        size_t len = strlen(messages[i]);
        CHECK_STATUS(async_write_all(io, messages[i], len, &n), ASYNC_OK);
        CHECK(n == len);
        CHECK_STATUS(async_read_exact(io, buf, len, &n), ASYNC_OK);
        CHECK(n == len && memcmp(buf, messages[i], len) == 0);
        note(messages[i]);
    }
    CHECK(shutdown(async_io_fd(io), SHUT_WR) == 0);
    CHECK_STATUS(async_read(io, buf, sizeof buf, &n), ASYNC_OK);
    CHECK(n == 0);
    note("client-eof");
    CHECK_STATUS(async_io_close(io), ASYNC_OK);
}

static void test_socketpair_echo(async_runtime_t *rt)
{
    int sv[2];
    async_io_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_STATUS(async_io_register_with(rt, &a, sv[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, &b, sv[1]), ASYNC_OK);
    reset_trace();
    echoed_bytes = 0;
    async_spawn_with(rt, echo_side, &a);
    async_spawn_with(rt, client_side, &b);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("one two! three echo-eof client-eof ");
    CHECK(echoed_bytes == 12);
}

/* --- park/unpark from another thread ------------------------------------ */

struct park_state {
    async_fiber_handle_t fiber;
    pthread_mutex_t lock;
    int fiber_known;          /* set by the fiber before it parks */
    int unparked;             /* set by the thread before it unparks */
    int parks_returned;
};

static void parker(void *user)
{
    struct park_state *s = user;
    int unparked = 0;
    /* A token given before the park: the park returns at once. */
    CHECK_STATUS(async_unpark(async_self()), ASYNC_OK);
    CHECK_STATUS(async_unpark(async_self()), ASYNC_OK); /* tokens do not add up */
    CHECK_STATUS(async_park(), ASYNC_OK);
    CHECK_STATUS(async_park_until_ns(in_ms(1)), ASYNC_ETIMEDOUT);
    pthread_mutex_lock(&s->lock);
    s->fiber = async_self();
    s->fiber_known = 1;
    pthread_mutex_unlock(&s->lock);
    /* Until the thread unparks it; a park may return early: re-check. */
    while (!unparked) {
        CHECK_STATUS(async_park(), ASYNC_OK);
        ++s->parks_returned;
        pthread_mutex_lock(&s->lock);
        unparked = s->unparked;
        pthread_mutex_unlock(&s->lock);
    }
}

static void *unparker(void *user)
{
    struct park_state *s = user;
    struct timespec ten_ms = {0, 10 * 1000000L};
    async_fiber_handle_t h;
    for (;;) {
        int known;
        pthread_mutex_lock(&s->lock);
        known = s->fiber_known;
        h = s->fiber;
        pthread_mutex_unlock(&s->lock);
        if (known) break;
        nanosleep(&ten_ms, NULL);
    }
    nanosleep(&ten_ms, NULL); /* let the fiber park (an earlier unpark is kept anyway) */
    pthread_mutex_lock(&s->lock);
    s->unparked = 1;
    pthread_mutex_unlock(&s->lock);
    CHECK_STATUS(async_unpark(h), ASYNC_OK);
    return NULL;
}

static void test_park_unpark_from_a_thread(async_runtime_t *rt)
{
    struct park_state s;
    pthread_t thread;
    async_fiber_handle_t zero;
    memset(&s, 0, sizeof s);
    memset(&zero, 0, sizeof zero);
    pthread_mutex_init(&s.lock, NULL);
    CHECK_STATUS(async_unpark(zero), ASYNC_EINVAL);
    CHECK_STATUS(async_spawn_with(rt, parker, &s).status, ASYNC_OK);
    CHECK(pthread_create(&thread, NULL, unparker, &s) == 0);
    /* run blocks in the poller, without spinning, until the unpark. */
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(s.unparked == 1 && s.parks_returned >= 1);
    pthread_mutex_destroy(&s.lock);
}

/* --- release, and no deadline ----------------------------------------------- */

static void release_and_reread(void *user)
{
    struct pipe_pair *p = (struct pipe_pair *)user;
    int fd = -1;
    const int registered = async_io_fd(&p->r);
    async_io_t again;
    char c = 0;
    size_t n = 0;
    CHECK_STATUS(async_io_release(&p->r, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_io_release(&p->r, &fd), ASYNC_OK);
    CHECK(fd == registered);
    CHECK_STATUS(async_io_release(&p->r, &fd), ASYNC_EINVAL); /* released already */
    CHECK(async_io_fd(&p->r) == -1);
    /* The fd is still open: register it again and read through it, with no
     * deadline. */
    memset(&again, 0, sizeof again);
    CHECK_STATUS(async_io_register(&again, fd), ASYNC_OK);
    CHECK_STATUS(async_write_all_until(&p->w, "q", 1, NULL, ASYNC_NO_DEADLINE), ASYNC_OK);
    CHECK_STATUS(async_read_until(&again, &c, 1, &n, ASYNC_NO_DEADLINE), ASYNC_OK);
    CHECK(n == 1 && c == 'q');
    CHECK_STATUS(async_io_close(&again), ASYNC_OK);
    note("released");
}

static void test_release(async_runtime_t *rt)
{
    struct pipe_pair p;
    make_pipe(rt, &p.r, &p.w);
    reset_trace();
    CHECK(async_spawn_with(rt, release_and_reread, &p).status == ASYNC_OK);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_TRACE("released ");
    CHECK_STATUS(async_io_close(&p.w), ASYNC_OK);
}

/* --- an fd that another io holds ------------------------------------------ */

static void test_fd_held_by_another_io(async_runtime_t *rt)
{
    int fds[2];
    async_io_t a, b;
    if (strcmp(async_runtime_backend(rt), "epoll") != 0) return; /* kqueue: see io.h */
    CHECK(pipe(fds) == 0);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_STATUS(async_io_register_with(rt, &a, fds[0]), ASYNC_OK);
    CHECK_STATUS(async_io_register_with(rt, &b, fds[0]), ASYNC_EIO);
    CHECK(async_io_errno(&b) == EEXIST);
    CHECK(async_io_fd(&b) == -1); /* b registered nothing */
    CHECK_STATUS(async_io_close(&a), ASYNC_OK);
    close(fds[1]);
}

int main(void)
{
    async_runtime_t rt;
    async_config_t cfg;
    int fds_at_start = open_fd_count();
    memset(&cfg, 0, sizeof cfg);
    cfg.fiber_stack_size = 64 * 1024;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);

    test_pipe_read_write_eof(&rt);
    test_close_while_parked(&rt);
    test_timeouts(&rt);
    test_misuse(&rt);
    test_socketpair_echo(&rt);
    test_park_unpark_from_a_thread(&rt);
    test_release(&rt);
    test_fd_held_by_another_io(&rt);

    {
        async_runtime_stats_t st;
        CHECK_STATUS(async_runtime_stats(&rt, &st), ASYNC_OK);
        CHECK(st.io_registered == 0);
        CHECK(st.fibers_live == 0);
    }
    async_runtime_shutdown(&rt);
    if (fds_at_start >= 0) CHECK(open_fd_count() == fds_at_start);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("c_io_test: all checks passed");
    return EXIT_SUCCESS;
}
