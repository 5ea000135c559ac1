/* SPDX-License-Identifier: MIT */
/* custom_runtime.c: a runtime of our own (not the global one), with a
 * small configuration, run to completion. */
#include <stdio.h>
#include <string.h>

#include "async.h"

static void worker(void *user)
{
    const char *name = (const char *)user;
    for (int i = 0; i < 3; ++i) {
        printf("%s %d\n", name, i);
        async_yield();
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) run fibers on a runtime of our own\n",
                argv[0]);
        return help ? 0 : 2;
    }
    async_config_t cfg = {0};
    cfg.task_capacity = 16;
    cfg.fiber_stack_size = 32 * 1024;
    async_runtime_t rt;
    if (async_runtime_init(&rt, &cfg) != ASYNC_OK) {
        return 1;
    }
    async_fiber_handle_t handle = async_spawn_with(&rt, worker, "first");
    if (handle.status != ASYNC_OK) {
        async_runtime_shutdown(&rt);
        return 1;
    }
    async_fiber_handle_t second = async_spawn_with(&rt, worker, "second");
    if (second.status != ASYNC_OK) {
        async_runtime_shutdown(&rt);
        return 1;
    }
    int result = async_runtime_run(&rt);
    async_runtime_shutdown(&rt);
    return result == ASYNC_OK ? 0 : 1;
}
