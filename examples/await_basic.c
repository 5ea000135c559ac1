/* SPDX-License-Identifier: MIT */
/* await_basic.c: spawn fibers, await them from main and from a fiber, and
 * cancel one that sleeps. */
#include <stdio.h>
#include <string.h>

#include "async.h"

static void compute(void *user)
{
    int *value = (int *)user;
    for (int i = 0; i < 3; ++i) {
        *value += 10;
        async_yield();
    }
}

static void sleeper(void *user)
{
    (void)user;
    async_status_t st = async_sleep_ms(60000);
    printf("sleeper woke: %s\n", async_status_name(st));
}

static void parent(void *user)
{
    async_fiber_handle_t child = *(async_fiber_handle_t *)user;
    async_status_t st = async_await(child);
    printf("parent: child ended with %s\n", async_status_name(st));
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) spawn, await and cancel fibers\n",
                argv[0]);
        return help ? 0 : 2;
    }
    int value = 0;
    async_fiber_handle_t h = async_spawn(compute, &value);
    if (h.status != ASYNC_OK) {
        fprintf(stderr, "spawn: %s\n", async_strerror(h.status));
        return 1;
    }
    /* Outside a fiber, await drives the runtime until the fiber ends. */
    async_status_t st = async_await(h);
    printf("compute: %s, value = %d\n", async_status_name(st), value);

    async_fiber_handle_t s = async_spawn(sleeper, NULL);
    async_fiber_handle_t p = async_spawn(parent, &s);
    if (s.status != ASYNC_OK || p.status != ASYNC_OK) return 1;
    async_cancel(s); /* never started: it never runs, its awaiters see ECANCELED */
    st = async_await(p);
    printf("parent: %s\n", async_status_name(st));
    int rc = async_run();
    async_global_shutdown();
    return rc;
}
