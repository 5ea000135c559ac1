/* SPDX-License-Identifier: MIT */
/* vtime_bench.c: the wall time of an hour on virtual time (issue #14's target).
 *
 * usage: vtime_bench [fibers] [runs]     (10000 fibers, 3 runs by default)
 *
 * Each run makes a runtime with ASYNC_CONFIG_VIRTUAL_TIME (16 KiB stacks, no
 * guard pages, a stack for every fiber), spawns `fibers` sleepers, fiber i
 * sleeping (i % 3600) + 1 seconds in three steps, and one fiber waiting
 * 10 minutes on a channel nobody sends on, then runs it to the end. Timed:
 * from before async_runtime_init to after async_runtime_shutdown. The order
 * and the exact virtual times are checked by tests/c_vtime_test.c; here only
 * the virtual span is checked (an hour), so a broken clock cannot pass for a
 * fast one.
 *
 * Output: one sample per run, "vtime_hour<TAB>ms<TAB>wall", then the median
 * and the virtual span, like the other plain programs here. Exits 0 when
 * every run spanned exactly 3600 virtual seconds. */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "async.h"

static async_channel_t silent;
static uint64_t first_ns, last_ns;

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_end(void)
{
    const uint64_t now = async_now_ns();
    if (now > last_ns) last_ns = now;
}

static void sleeper(void *user)
{
    uint64_t left = ((uint64_t)(uintptr_t)user % 3600 + 1) * 1000000000u;
    for (uint64_t parts = 3; parts > 0; --parts) {
        const uint64_t step = left / parts;
        async_sleep_ns(step);
        left -= step;
    }
    note_end();
}

static void waiter(void *user)
{
    (void)user;
    void *msg;
    first_ns = async_now_ns();
    async_channel_recv_until(&silent, &msg, first_ns + 600 * 1000000000ull);
    note_end();
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One run: its wall time in ns, or 0 when something failed. */
static uint64_t one_run(size_t fibers)
{
    async_runtime_t rt;
    async_config_t cfg = {0};
    cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME | ASYNC_CONFIG_NO_GUARD_PAGES;
    cfg.task_capacity = cfg.fiber_capacity = fibers + 1;
    cfg.fiber_stack_size = ASYNC_MIN_STACK_SIZE;
    const uint64_t t = wall_ns();
    if (async_runtime_init(&rt, &cfg) != ASYNC_OK) return 0;
    if (async_channel_init(&silent, &rt, 0, 0) != ASYNC_OK) return 0;
    int ok = async_spawn_with(&rt, waiter, NULL).status == ASYNC_OK;
    for (size_t i = 0; i < fibers; ++i) ok = ok && async_spawn_with(&rt, sleeper, (void *)(uintptr_t)i).status == ASYNC_OK;
    ok = ok && async_runtime_run(&rt) == ASYNC_OK;
    async_channel_shutdown(&silent);
    async_runtime_shutdown(&rt);
    const uint64_t took = wall_ns() - t;
    return ok ? took : 0;
}

int main(int argc, char **argv)
{
    const size_t fibers = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    const size_t runs = argc > 2 ? strtoul(argv[2], NULL, 10) : 3;
    if (fibers < 3600 || runs == 0 || runs > 99) {
        fprintf(stderr, "usage: %s [fibers >= 3600] [runs 1..99]\n", argv[0]);
        return 2;
    }
    uint64_t took[99];
    int failed = 0;
    unsigned long long span_s = 0;
    for (size_t r = 0; r < runs; ++r) {
        first_ns = last_ns = 0;
        took[r] = one_run(fibers);
        span_s = (last_ns - first_ns) / 1000000000u;
        if (took[r] == 0 || span_s != 3600) {
            fprintf(stderr, "run %zu failed (virtual span %llu s)\n", r, span_s);
            failed = 1;
        }
        printf("vtime_hour\t%.1f\tms\n", (double)took[r] / 1e6);
    }
    qsort(took, runs, sizeof *took, cmp_u64);
    printf("vtime_hour_median\t%.1f\tms\n", (double)took[runs / 2] / 1e6);
    printf("virtual_span\t%llu\ts\t(%zu fibers sleeping 1..3600 s in 3 steps, a 600 s channel timeout)\n", span_s,
           fibers);
    return failed;
}
