/* SPDX-License-Identifier: MIT */
/* channel_basic.c: the smallest channel program grown into a producer and a
 * consumer on the global runtime. The producer sends five jobs through a
 * channel of capacity 2 and closes it; the consumer receives until the channel
 * is closed and drained. The output is the same on every run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"

static async_channel_t ch;

static void producer(void *user)
{
    (void)user;
    for (uintptr_t job = 1; job <= 5; ++job) {
        void *payload = (void *)job;
        async_status_t st = async_channel_send(&ch, payload);
        printf("produced %u (%s)\n", (unsigned)job, async_status_name(st));
    }
    async_channel_close(&ch);
    printf("producer closed the channel\n");
}

static void consumer(void *user)
{
    (void)user;
    void *payload = NULL;
    async_status_t st;
    while ((st = async_channel_recv(&ch, &payload)) == ASYNC_OK) {
        printf("consumed %u\n", (unsigned)(uintptr_t)payload);
    }
    printf("consumer done: %s\n", async_status_name(st));
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) a producer and a consumer over a channel\n",
                argv[0]);
        return help ? 0 : 2;
    }
    async_global_init(NULL);
    if (async_channel_init(&ch, async_global(), 2, 64) != ASYNC_OK) {
        return 1;
    }
    async_spawn(producer, NULL);
    async_spawn(consumer, NULL);
    int rc = async_run();
    async_channel_shutdown(&ch);
    async_global_shutdown();
    return rc;
}
