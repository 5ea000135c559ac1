/* SPDX-License-Identifier: MIT */
/* counter_async.c: the seed's first example. Two fibers on the global
 * runtime count to ten, yielding after each number; the FIFO scheduler
 * interleaves them exactly: 0 0 1 1 2 2 ... 10 10 */
#include <stdio.h>

#include "async.h"

static void worker(void *user)
{
    (void)user;
    for (int i = 0; i <= 10; ++i) {
        printf("%d ", i);
        async_yield();
    }
}

int main(void)
{
    async_spawn(worker, NULL);
    async_spawn(worker, NULL);
    int rc = async_run();
    printf("\n"); /* the workers leave the line open */
    return rc;
}
