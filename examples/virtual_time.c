/* SPDX-License-Identifier: MIT */
/* virtual_time.c: an hour and a quarter of a heartbeat watchdog, run in a
 * few milliseconds on a runtime with ASYNC_CONFIG_VIRTUAL_TIME. A worker
 * beats every 10 minutes, six times, then falls silent; the watchdog waits
 * for each beat with a 15-minute timeout and gives up when one times out; a
 * reporter wakes at the half hour. The clock jumps from deadline to deadline,
 * so the output (times since the start) is the same on every run: at
 * 00:30:00 the reporter, whose timer was set first, wakes before the worker.
 * The wall time this takes is printed by bench/vtime_bench.c, not here. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"

#define MINUTE_NS (60ull * 1000000000ull)

static async_runtime_t rt;
static async_channel_t beats;
static uint64_t start_ns;

/* Prints a line after the virtual time since the start, as [hh:mm:ss]. */
static void say(const char *fmt, ...)
{
    const uint64_t s = (async_now_ns() - start_ns) / 1000000000ull;
    printf("[%02u:%02u:%02u] ", (unsigned)(s / 3600), (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void worker(void *user)
{
    (void)user;
    for (uintptr_t n = 1; n <= 6; ++n) {
        async_sleep_ns(10 * MINUTE_NS);
        say("worker: beat %u", (unsigned)n);
        async_channel_send(&beats, (void *)n);
    }
}

static void watchdog(void *user)
{
    (void)user;
    for (;;) {
        void *beat = NULL;
        async_status_t st = async_channel_recv_until(&beats, &beat, async_now_ns() + 15 * MINUTE_NS);
        if (st != ASYNC_OK) {
            say("watchdog: %s after 15 minutes without a beat: the worker is presumed dead",
                async_status_name(st));
            return;
        }
        say("watchdog: got beat %u", (unsigned)(uintptr_t)beat);
    }
}

/* Spawned first, so it reads the clock before anything can move it. The
 * start is read in a fiber: outside, async_now_ns() is the real clock. */
static void reporter(void *user)
{
    (void)user;
    start_ns = async_now_ns();
    async_sleep_until_ns(start_ns + 30 * MINUTE_NS);
    say("reporter: half an hour in");
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) 75 minutes of a heartbeat watchdog on virtual time\n", argv[0]);
        return help ? 0 : 2;
    }
    async_config_t cfg = {0};
    cfg.flags = ASYNC_CONFIG_VIRTUAL_TIME;
    if (async_runtime_init(&rt, &cfg) != ASYNC_OK) return 1;
    if (async_channel_init(&beats, &rt, 1, 0) != ASYNC_OK) return 1;
    async_spawn_with(&rt, reporter, NULL);
    async_spawn_with(&rt, worker, NULL);
    async_spawn_with(&rt, watchdog, NULL);
    async_status_t rc = async_runtime_run(&rt);
    printf("run: %s\n", async_status_name(rc));
    async_channel_shutdown(&beats);
    async_runtime_shutdown(&rt);
    return rc;
}
