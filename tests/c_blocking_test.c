/* SPDX-License-Identifier: MIT */
/* c_blocking_test.c: the blocking pool's C API (async/blocking.h) used from
 * C11, compiled with -Wall -Wextra -Wpedantic -Werror: a fiber in the pool
 * while a 1 ms ticker keeps running (a whole trace), cancel before and during
 * a call, calls outside fibers, name resolution (localhost, numeric, a bad
 * service, a non-numeric name refused), files at offsets, end of file,
 * EBADF and ESPIPE, hostile sizes, and a runtime shut down while its fiber
 * waits in the pool. Workers wait for flags the fibers set: order is
 * asserted, never time. Exits non-zero after any failed check, naming each;
 * ends with as many open file descriptors as it began with. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* Polls `flag` from a worker or a plain thread until it reaches `want`
 * (a wait for an event, not a measure of time). */
static void wait_flag(atomic_int *flag, int want)
{
    struct timespec ts = {0, 100000};
    while (atomic_load(flag) < want) nanosleep(&ts, NULL);
}

/* ------------------------------------------------ the ticker keeps running */

static atomic_int ticks;

static void ticker(void *user)
{
    (void)user;
    for (int i = 1; i <= 3; ++i) {
        CHECK_STATUS(async_sleep_ms(1), ASYNC_OK);
        char token[8];
        snprintf(token, sizeof token, "t%d", i);
        note(token);
        atomic_store(&ticks, i);
    }
}

/* Returns only once the ticker has ticked three times: the pool call was in
 * progress all along. */
static void wait_for_three_ticks(void *user)
{
    (void)user;
    wait_flag(&ticks, 3);
}

static void pooled(void *user)
{
    (void)user;
    note("call");
    CHECK_STATUS(async_run_blocking(wait_for_three_ticks, NULL), ASYNC_OK);
    note("back");
}

static void test_ticker_runs_during_a_call(async_runtime_t *rt)
{
    reset_trace();
    atomic_store(&ticks, 0);
    async_fiber_handle_t a = async_spawn_with(rt, pooled, NULL);
    async_fiber_handle_t t = async_spawn_with(rt, ticker, NULL);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_STATUS(async_await(a), ASYNC_OK);
    CHECK_STATUS(async_await(t), ASYNC_OK);
    CHECK_TRACE("call t1 t2 t3 back ");
}

/* ------------------------------------------------------------ cancellation */

static atomic_int fn_started, fn_release, fn_done;

static void held_call(void *user)
{
    (void)user;
    atomic_store(&fn_started, 1);
    wait_flag(&fn_release, 1);
    atomic_store(&fn_done, 1);
}

static void cancelled_in_pool(void *user)
{
    (void)user;
    note("call");
    async_status_t st = async_run_blocking(held_call, NULL);
    CHECK_STATUS(st, ASYNC_ECANCELED);
    CHECK(atomic_load(&fn_done) == 1); /* returned only after fn */
    note("back");
}

static void canceller(void *user)
{
    async_fiber_handle_t *victim = user;
    while (atomic_load(&fn_started) == 0) CHECK_STATUS(async_sleep_ms(1), ASYNC_OK);
    note("cancel");
    CHECK_STATUS(async_cancel(*victim), ASYNC_OK);
    /* The victim stays parked: fn is still running. */
    for (int i = 0; i < 3; ++i) CHECK_STATUS(async_yield(), ASYNC_OK);
    note("release");
    atomic_store(&fn_release, 1);
}

static int ran_anyway;

static void must_not_run(void *user)
{
    (void)user;
    ran_anyway = 1;
}

static void cancelled_before(void *user)
{
    (void)user;
    CHECK_STATUS(async_cancel(async_self()), ASYNC_OK);
    CHECK_STATUS(async_run_blocking(must_not_run, NULL), ASYNC_ECANCELED);
    struct addrinfo *res = (struct addrinfo *)&res; /* overwritten */
    int gai = -1;
    CHECK_STATUS(async_getaddrinfo("127.0.0.1", NULL, NULL, &res, &gai), ASYNC_ECANCELED);
    CHECK(res == NULL && gai == 0);
    char b[4];
    size_t n = 99;
    CHECK_STATUS(async_pread(0, b, sizeof b, 0, &n), ASYNC_ECANCELED);
    CHECK(n == 0);
    CHECK_STATUS(async_fsync(0), ASYNC_ECANCELED);
}

static void test_cancel(async_runtime_t *rt)
{
    reset_trace();
    atomic_store(&fn_started, 0);
    atomic_store(&fn_release, 0);
    atomic_store(&fn_done, 0);
    async_fiber_handle_t v = async_spawn_with(rt, cancelled_in_pool, NULL);
    async_fiber_handle_t c = async_spawn_with(rt, canceller, &v);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_STATUS(async_await(v), ASYNC_ECANCELED);
    CHECK_STATUS(async_await(c), ASYNC_OK);
    CHECK_TRACE("call cancel release back ");

    ran_anyway = 0;
    async_fiber_handle_t b = async_spawn_with(rt, cancelled_before, NULL);
    CHECK_STATUS(async_runtime_run(rt), ASYNC_OK);
    CHECK_STATUS(async_await(b), ASYNC_ECANCELED);
    CHECK(ran_anyway == 0);
}

/* ------------------------------------------------------- outside fibers */

static void test_outside_fibers(async_runtime_t *rt)
{
    (void)rt;
    CHECK_STATUS(async_run_blocking(must_not_run, NULL), ASYNC_ESTATE);
    CHECK_STATUS(async_run_blocking(NULL, NULL), ASYNC_EINVAL);
    struct addrinfo *res = (struct addrinfo *)&res;
    int gai = -1;
    CHECK_STATUS(async_getaddrinfo("127.0.0.1", NULL, NULL, &res, &gai), ASYNC_ESTATE);
    CHECK(res == NULL && gai == 0);
    char b[4];
    size_t n = 99;
    CHECK_STATUS(async_pread(0, b, sizeof b, 0, &n), ASYNC_ESTATE);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(async_pwrite(1, b, 0, 0, &n), ASYNC_ESTATE);
    CHECK(n == 0);
    CHECK_STATUS(async_fsync(1), ASYNC_ESTATE);
    CHECK(ran_anyway == 0);
}

/* ------------------------------------------------------------------ names */

static uint16_t port_of(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET) return ntohs(((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_port);
}

static void resolver(void *user)
{
    (void)user;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;

    /* localhost, through the pool: 127.0.0.1 */
    struct addrinfo *res = NULL;
    int gai = -1;
    CHECK_STATUS(async_getaddrinfo("localhost", "8080", &hints, &res, &gai), ASYNC_OK);
    CHECK(gai == 0 && res != NULL);
    if (res != NULL) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
        CHECK(res->ai_family == AF_INET);
        CHECK(ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);
        CHECK(port_of(res) == 8080);
        freeaddrinfo(res);
    }

    /* numeric, both families (no hints at all for the IPv6 one) */
    res = NULL;
    CHECK_STATUS(async_getaddrinfo("10.1.2.3", "53", &hints, &res, &gai), ASYNC_OK);
    if (res != NULL) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
        CHECK(ntohl(sin->sin_addr.s_addr) == 0x0a010203u);
        CHECK(port_of(res) == 53 && res->ai_next == NULL);
        freeaddrinfo(res);
    }
    res = NULL;
    CHECK_STATUS(async_getaddrinfo("::1", NULL, NULL, &res, NULL), ASYNC_OK);
    if (res != NULL) {
        CHECK(res->ai_family == AF_INET6);
        freeaddrinfo(res);
    }

    /* a service name that does not exist */
    res = (struct addrinfo *)&res;
    gai = 0;
    CHECK_STATUS(async_getaddrinfo("localhost", "no-such-service-here", &hints, &res, &gai), ASYNC_EIO);
    CHECK(res == NULL);
    CHECK(gai == EAI_SERVICE);

    /* a name where only numeric hosts are accepted */
    hints.ai_flags = AI_NUMERICHOST;
    res = (struct addrinfo *)&res;
    gai = 0;
    CHECK_STATUS(async_getaddrinfo("localhost", NULL, &hints, &res, &gai), ASYNC_EIO);
    CHECK(res == NULL && gai == EAI_NONAME);
    /* neither node nor service: getaddrinfo's own EAI_NONAME */
    gai = 0;
    CHECK_STATUS(async_getaddrinfo(NULL, NULL, NULL, &res, &gai), ASYNC_EIO);
    CHECK(res == NULL && gai == EAI_NONAME);

    /* no place for the result */
    gai = -1;
    CHECK_STATUS(async_getaddrinfo("127.0.0.1", NULL, NULL, NULL, &gai), ASYNC_EINVAL);
    CHECK(gai == 0);
}

static void test_names(async_runtime_t *rt)
{
    async_fiber_handle_t f = async_spawn_with(rt, resolver, NULL);
    CHECK_STATUS(async_await(f), ASYNC_OK);
}

/* ------------------------------------------------------------------ files */

static char path[64];

static void files(void *user)
{
    int fd = *(int *)user;
    size_t n = 99;
    char buf[64];

    /* writes at offsets, a hole between them */
    CHECK_STATUS(async_pwrite(fd, "hello world", 11, 4096, &n), ASYNC_OK);
    CHECK(n == 11);
    CHECK_STATUS(async_pwrite(fd, "head", 4, 0, &n), ASYNC_OK);
    CHECK(n == 4);
    CHECK_STATUS(async_fsync(fd), ASYNC_OK);

    /* reads at offsets; the file position is never used */
    memset(buf, 0, sizeof buf);
    CHECK_STATUS(async_pread(fd, buf, 11, 4096, &n), ASYNC_OK);
    CHECK(n == 11 && memcmp(buf, "hello world", 11) == 0);
    memset(buf, 'x', sizeof buf);
    CHECK_STATUS(async_pread(fd, buf, 8, 0, &n), ASYNC_OK);
    CHECK(n == 8 && memcmp(buf, "head\0\0\0\0", 8) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);

    /* a read across the end: fewer bytes; at and past the end: none */
    memset(buf, 0, sizeof buf);
    CHECK_STATUS(async_pread(fd, buf, sizeof buf, 4096 + 6, &n), ASYNC_OK);
    CHECK(n == 5 && memcmp(buf, "world", 5) == 0);
    n = 99;
    CHECK_STATUS(async_pread(fd, buf, sizeof buf, 4096 + 11, &n), ASYNC_OK);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(async_pread(fd, buf, sizeof buf, 1u << 30, &n), ASYNC_OK);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(async_pread(fd, buf, 0, 0, &n), ASYNC_OK);
    CHECK(n == 0);

    /* hostile sizes and pointers: refused before any work */
    CHECK_STATUS(async_pread(fd, buf, sizeof buf, 0, NULL), ASYNC_EINVAL);
    n = 99;
    CHECK_STATUS(async_pread(fd, NULL, 1, 0, &n), ASYNC_EINVAL);
    CHECK(n == 0);
    CHECK_STATUS(async_pread(fd, buf, SIZE_MAX, 0, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pread(fd, buf, (size_t)SIZE_MAX / 2 + 1, 0, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pread(fd, buf, 1, (uint64_t)INT64_MAX + 1, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pread(fd, buf, 2, (uint64_t)INT64_MAX - 1, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pwrite(fd, NULL, 1, 0, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pwrite(fd, "x", 1, UINT64_MAX, &n), ASYNC_EINVAL);
    CHECK_STATUS(async_pwrite(fd, "x", 1, 0, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_pwrite(fd, buf, SIZE_MAX, 0, &n), ASYNC_EINVAL);

    /* errors of the OS: ASYNC_EIO with errno */
    errno = 0;
    CHECK_STATUS(async_pread(-1, buf, sizeof buf, 0, &n), ASYNC_EIO);
    CHECK(errno == EBADF && n == 0);
    int ro = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(ro >= 0);
    errno = 0;
    CHECK_STATUS(async_pwrite(ro, "x", 1, 0, &n), ASYNC_EIO);
    CHECK(errno == EBADF && n == 0);
    close(ro);
    errno = 0;
    CHECK_STATUS(async_pread(ro, buf, sizeof buf, 0, &n), ASYNC_EIO); /* closed now */
    CHECK(errno == EBADF);
    errno = 0;
    CHECK_STATUS(async_fsync(ro), ASYNC_EIO);
    CHECK(errno == EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    errno = 0;
    CHECK_STATUS(async_pwrite(p[1], "x", 1, 0, &n), ASYNC_EIO);
    CHECK(errno == ESPIPE);
    errno = 0;
    CHECK_STATUS(async_pread(p[0], buf, 1, 0, &n), ASYNC_EIO);
    CHECK(errno == ESPIPE);
    close(p[0]);
    close(p[1]);
}

static void test_files(async_runtime_t *rt)
{
    strcpy(path, "/tmp/c_blocking_test.XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    async_fiber_handle_t f = async_spawn_with(rt, files, &fd);
    CHECK_STATUS(async_await(f), ASYNC_OK);
    close(fd);
    unlink(path);
}

/* ------------------------------------ a runtime shut down during a call */

static atomic_int discarding;

static void on_discard(void *user)
{
    (void)user;
    atomic_store(&discarding, 1); /* the shutdown has begun */
}

static void stuck_in_pool(void *user)
{
    (void)user;
    (void)async_run_blocking(held_call, NULL);
    note("never");
}

static void wait_until_started(void *user)
{
    (void)user;
    while (atomic_load(&fn_started) == 0) CHECK_STATUS(async_sleep_ms(1), ASYNC_OK);
}

static atomic_int released_during_shutdown;

/* Releases fn only once the runtime's shutdown has begun. */
static void *releaser(void *arg)
{
    (void)arg;
    wait_flag(&discarding, 1);
    atomic_store(&released_during_shutdown, atomic_load(&fn_done) == 0);
    atomic_store(&fn_release, 1);
    return NULL;
}

static void test_shutdown_during_a_call(void)
{
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    reset_trace();
    atomic_store(&fn_started, 0);
    atomic_store(&fn_release, 0);
    atomic_store(&fn_done, 0);
    atomic_store(&discarding, 0);
    async_spawn_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.on_discard = on_discard;
    async_fiber_handle_t s = async_spawn_ex(&rt, stuck_in_pool, NULL, &opts);
    CHECK_STATUS(s.status, ASYNC_OK);
    CHECK_STATUS(async_await(async_spawn_with(&rt, wait_until_started, NULL)), ASYNC_OK);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, releaser, NULL) == 0);
    async_runtime_shutdown(&rt); /* waits for fn, which waits for the shutdown */
    CHECK(atomic_load(&fn_done) == 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&released_during_shutdown) == 1);
    CHECK_TRACE(""); /* the fiber was dropped, never resumed */
}

int main(void)
{
    async_runtime_t rt;
    async_config_t cfg;
    int fds_at_start = open_fd_count();
    memset(&cfg, 0, sizeof cfg);
    cfg.fiber_stack_size = 64 * 1024;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);

    test_ticker_runs_during_a_call(&rt);
    test_cancel(&rt);
    test_outside_fibers(&rt);
    test_names(&rt);
    test_files(&rt);
    async_runtime_shutdown(&rt);
    test_shutdown_during_a_call();

    if (fds_at_start >= 0) CHECK(open_fd_count() == fds_at_start);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("c_blocking_test: all checks passed");
    return EXIT_SUCCESS;
}
