/* SPDX-License-Identifier: MIT */
/* counter_async.c: the README's first example. Two fibers on the global
 * runtime count to ten, yielding after each number; the FIFO scheduler
 * interleaves them exactly: 0 0 1 1 2 2 ... 10 10 */
#include <stdio.h>
#include <string.h>

#include "async.h"

static void worker(void *user)
{
    (void)user;
    for (int i = 0; i <= 10; ++i) {
        printf("%d ", i);
        async_yield();
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) two fibers count to ten, taking turns\n",
                argv[0]);
        return help ? 0 : 2;
    }
    async_spawn(worker, NULL);
    async_spawn(worker, NULL);
    int rc = async_run();
    printf("\n"); /* the workers leave the line open */
    return rc;
}
