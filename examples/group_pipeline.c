/* SPDX-License-Identifier: MIT */
/* group_pipeline.c: a three-stage pipeline whose stages run on different
 * threads. A group of two runtimes (one thread each): the source on runtime
 * 0 sends the numbers 1..N to the squarer on runtime 1, which sends their
 * squares back to the summer on runtime 0. Channels carry the values between
 * the threads; each stage is an ordinary fiber on its own runtime. The main
 * thread only starts the stages and waits for the group.
 *
 * Each stage reports the runtime it ran on and what it handled before it
 * closes its channel, so the output is the same on every run, however the
 * threads interleave. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"

enum { count = 100000 };

static async_group_t group;
static async_channel_t numbers; /* source -> squarer */
static async_channel_t squares; /* squarer -> summer */

/* Which of the group's runtimes runs the calling fiber. */
static int runtime_index(void)
{
    async_fiber_handle_t self = async_self();
    for (size_t i = 0; i < async_group_size(&group); ++i) {
        if (self.runtime == async_group_runtime(&group, i)) return (int)i;
    }
    return -1;
}

static void source(void *user)
{
    (void)user;
    for (uintptr_t n = 1; n <= count; ++n) {
        if (async_channel_send(&numbers, (void *)n) != ASYNC_OK) return;
    }
    /* Printed before the close, so before the squarer can see the end. */
    printf("source   on runtime %d: sent 1..%d\n", runtime_index(), count);
    async_channel_close(&numbers);
}

static void squarer(void *user)
{
    (void)user;
    void *msg = NULL;
    long handled = 0;
    while (async_channel_recv(&numbers, &msg) == ASYNC_OK) {
        uintptr_t n = (uintptr_t)msg;
        if (async_channel_send(&squares, (void *)(n * n)) != ASYNC_OK) return;
        ++handled;
    }
    printf("squarer  on runtime %d: squared %ld numbers\n", runtime_index(), handled);
    async_channel_close(&squares);
}

static void summer(void *user)
{
    uint64_t *sum = user;
    void *msg = NULL;
    while (async_channel_recv(&squares, &msg) == ASYNC_OK) *sum += (uintptr_t)msg;
    printf("summer   on runtime %d: sum of squares = %llu\n", runtime_index(), (unsigned long long)*sum);
}

int main(int argc, char **argv)
{
    if (argc > 1) { /* no arguments; --help says what it does */
        int help = strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s  (no arguments) a pipeline whose stages run on two threads\n", argv[0]);
        return help ? 0 : 2;
    }
    if (async_group_init(&group, 2, NULL) != ASYNC_OK) return 1;
    async_runtime_t *first = async_group_runtime(&group, 0);
    async_runtime_t *second = async_group_runtime(&group, 1);
    if (async_channel_init(&numbers, second, 256, 0) != ASYNC_OK) return 1;
    if (async_channel_init(&squares, first, 256, 0) != ASYNC_OK) return 1;

    uint64_t sum = 0;
    if (async_spawn_with(first, source, NULL).status != ASYNC_OK) return 1;
    if (async_spawn_with(second, squarer, NULL).status != ASYNC_OK) return 1;
    async_fiber_handle_t last = async_spawn_with(first, summer, &sum);
    if (last.status != ASYNC_OK) return 1;

    if (async_await(last) != ASYNC_OK) return 1; /* this thread blocks until it ends */
    if (async_group_wait(&group) != ASYNC_OK) return 1;
    const uint64_t want = (uint64_t)count * (count + 1) * (2 * (uint64_t)count + 1) / 6;
    printf("main: %s\n", sum == want ? "the sum is right" : "the sum is WRONG");
    async_channel_shutdown(&numbers);
    async_channel_shutdown(&squares);
    async_group_shutdown(&group);
    return sum == want ? 0 : 1;
}
