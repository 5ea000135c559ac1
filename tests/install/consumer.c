/* SPDX-License-Identifier: MIT */
/* consumer.c: a program built against an installed async, as a user would:
 * `cc consumer.c $(pkg-config --cflags --libs async)`, and, through
 * cmake_consumer/, with find_package(async). It spawns two fibers that take
 * turns, awaits both from main and prints one fixed line, which
 * run_install_test.sh compares. Valid C11 (and C99). */
#include <async.h>
#include <stdio.h>

static char trace[16];
static size_t trace_len;

static void worker(void *user)
{
    const char *name = (const char *)user;
    for (int i = 0; i < 3; ++i) {
        trace[trace_len++] = name[0];
        if (async_yield() != ASYNC_OK) return;
    }
}

int main(void)
{
    async_fiber_handle_t a = async_spawn(worker, "a");
    async_fiber_handle_t b = async_spawn(worker, "b");
    if (a.status != ASYNC_OK || b.status != ASYNC_OK) {
        fprintf(stderr, "spawn: %s\n", async_strerror(a.status != ASYNC_OK ? a.status : b.status));
        return 1;
    }
    async_status_t sa = async_await(a);
    async_status_t sb = async_await(b);
    async_global_shutdown();
    printf("consumer: a %s, b %s, trace %s\n", async_status_name(sa), async_status_name(sb),
           trace);
    return sa == ASYNC_OK && sb == ASYNC_OK ? 0 : 1;
}
