/* SPDX-License-Identifier: MIT */
/* blocking_bench.c: the blocking pool (async/blocking.h). Output as the
 * peers' (label<TAB>value<TAB>unit, one line per timed repetition after one
 * warm-up; MULTI_REPS repetitions, default 5), so bench/blocking_compare.sh
 * can put it next to `tokiomulti blocking N`:
 *
 *   blocking_bench roundtrip <n>   one fiber's async_run_blocking of an empty
 *                                  function, n times: ns per round trip
 *   blocking_bench lateness <ms>   8 fibers each run 100 ms blocking calls
 *                                  (nanosleep on a worker) back to back for
 *                                  <ms> ms while a fiber sleeps 1 ms at a
 *                                  time: the most any of its wakes came late
 *                                  (us), and how many ticks it made
 *   blocking_bench resolve <n>     n fibers call async_getaddrinfo("localhost")
 *                                  at once (started 100 per pass) while a
 *                                  fiber ticks every 1 ms:
 *                                  wall ms for all n, the ticker's ticks and
 *                                  its longest gap between ticks (us)
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "async.h"

static int reps(void)
{
    const char *r = getenv("MULTI_REPS");
    int n = r != NULL ? atoi(r) : 0;
    return n > 0 ? n : 5;
}

static void die(const char *what, async_status_t st)
{
    fprintf(stderr, "%s: %s\n", what, async_strerror(st));
    exit(1);
}

/* ------------------------------------------------------------- roundtrip */

static void empty(void *user) { (void)user; }

static long roundtrip_n;

static void roundtrip_fiber(void *user)
{
    uint64_t *ns = user;
    uint64_t t0 = async_now_ns();
    for (long i = 0; i < roundtrip_n; ++i) {
        async_status_t st = async_run_blocking(empty, NULL);
        if (st != ASYNC_OK) die("async_run_blocking", st);
    }
    *ns = async_now_ns() - t0;
}

static void roundtrip(async_runtime_t *rt, long n)
{
    roundtrip_n = n;
    for (int r = -1; r < reps(); ++r) {
        uint64_t ns = 0;
        async_status_t st = async_await(async_spawn_with(rt, roundtrip_fiber, &ns));
        if (st != ASYNC_OK) die("await", st);
        if (r >= 0) printf("async_blocking_roundtrip\t%.2f\tns/op\n", (double)ns / (double)n);
    }
}

/* -------------------------------------------------------------- lateness */

static uint64_t lateness_until;

static void sleep_100ms(void *user)
{
    (void)user;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void blocker(void *user)
{
    (void)user;
    while (async_now_ns() < lateness_until) {
        async_status_t st = async_run_blocking(sleep_100ms, NULL);
        if (st != ASYNC_OK) die("async_run_blocking", st);
    }
}

struct ticks {
    uint64_t max_late_ns;
    uint64_t max_gap_ns;
    long count;
    const int *stop; /* ticks until *stop (resolve) or the deadline (lateness) */
};

static void sleeper(void *user)
{
    struct ticks *t = user;
    uint64_t last = async_now_ns();
    for (;;) {
        if (t->stop != NULL ? *t->stop != 0 : async_now_ns() >= lateness_until) return;
        uint64_t due = async_now_ns() + 1000000u;
        async_status_t st = async_sleep_until_ns(due);
        if (st != ASYNC_OK) die("sleep", st);
        uint64_t now = async_now_ns();
        if (now - due > t->max_late_ns) t->max_late_ns = now - due;
        if (now - last > t->max_gap_ns) t->max_gap_ns = now - last;
        last = now;
        ++t->count;
    }
}

static void lateness(async_runtime_t *rt, long ms)
{
    for (int r = -1; r < reps(); ++r) {
        lateness_until = async_now_ns() + (uint64_t)ms * 1000000u;
        struct ticks t = {0, 0, 0, NULL};
        async_fiber_handle_t s = async_spawn_with(rt, sleeper, &t);
        for (int i = 0; i < 8; ++i) async_spawn_with(rt, blocker, NULL);
        async_status_t st = async_runtime_run(rt);
        if (st != ASYNC_OK) die("run", st);
        (void)s;
        if (r >= 0) {
            printf("async_blocking_tick_max_late\t%.1f\tus\n", (double)t.max_late_ns / 1000.0);
            printf("async_blocking_ticks\t%ld\tticks\n", t.count);
        }
    }
}

/* --------------------------------------------------------------- resolve */

static int resolve_left;
static int resolve_all_done;
static int resolve_failed;

static void resolve_one(void *user)
{
    (void)user;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    int gai = 0;
    if (async_getaddrinfo("localhost", "80", &hints, &res, &gai) != ASYNC_OK) {
        ++resolve_failed;
    } else {
        freeaddrinfo(res);
    }
    if (--resolve_left == 0) resolve_all_done = 1;
}

/* Starts the n resolving fibers 100 at a time, yielding between batches:
 * the first run of a fresh fiber maps and faults in its stack, which is
 * slow here (gVisor: 10,000 fresh fibers that only yield take 1.5 s), and a
 * runtime collects timers only between passes, so one pass over 10,000 new
 * fibers would hold the ticker back for that long whatever they did. */
static void spawner(void *user)
{
    long n = *(const long *)user;
    for (long i = 0; i < n; ++i) {
        async_fiber_handle_t h = async_spawn(resolve_one, NULL);
        if (h.status != ASYNC_OK) die("spawn", h.status);
        if (i % 100 == 99) async_yield();
    }
}

static void resolve(long n)
{
    async_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.task_capacity = (size_t)n + 16;
    cfg.fiber_capacity = (size_t)n + 16;
    cfg.fiber_stack_size = 16 * 1024;
    async_runtime_t rt;
    async_status_t st = async_runtime_init(&rt, &cfg);
    if (st != ASYNC_OK) die("init", st);
    for (int r = -1; r < reps(); ++r) {
        resolve_left = (int)n;
        resolve_all_done = 0;
        resolve_failed = 0;
        struct ticks t = {0, 0, 0, &resolve_all_done};
        uint64_t t0 = async_now_ns();
        async_spawn_with(&rt, sleeper, &t);
        async_spawn_with(&rt, spawner, &n);
        st = async_runtime_run(&rt);
        if (st != ASYNC_OK) die("run", st);
        uint64_t wall = async_now_ns() - t0;
        if (resolve_failed != 0) {
            fprintf(stderr, "%d resolutions failed\n", resolve_failed);
            exit(1);
        }
        if (r >= 0) {
            printf("async_resolve_%ld_wall\t%.1f\tms\n", n, (double)wall / 1e6);
            printf("async_resolve_ticks\t%ld\tticks\n", t.count);
            printf("async_resolve_tick_max_gap\t%.1f\tus\n", (double)t.max_gap_ns / 1000.0);
        }
    }
    async_runtime_shutdown(&rt);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s roundtrip <n> | lateness <ms> | resolve <n>\n", argv[0]);
        return 2;
    }
    long arg = atol(argv[2]);
    if (strcmp(argv[1], "resolve") == 0) {
        resolve(arg);
        return 0;
    }
    async_runtime_t rt;
    async_status_t st = async_runtime_init(&rt, NULL);
    if (st != ASYNC_OK) die("init", st);
    if (strcmp(argv[1], "roundtrip") == 0) {
        roundtrip(&rt, arg);
    } else if (strcmp(argv[1], "lateness") == 0) {
        lateness(&rt, arg);
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    async_runtime_shutdown(&rt);
    return 0;
}
