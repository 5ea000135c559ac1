/* SPDX-License-Identifier: MIT */
/* c_hardening_test.c: issue #13 from C11 (-Wall -Wextra -Wpedantic
 * -Werror): sizes whose arithmetic overflows, handles and objects that
 * outlive their runtime, and a second init of a live runtime. Each returns
 * its documented status; nothing crashes, throws or reads freed memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async.h"

#include "support/c_check.h"

static void nothing(void *user) { (void)user; }

/* --- configuration limits ------------------------------------------------ */

static void test_config_limits(void)
{
    async_runtime_t rt;
    async_config_t cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.task_capacity = UINT32_MAX;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    cfg.task_capacity = (size_t)1 << 32;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    cfg.task_capacity = SIZE_MAX;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    CHECK(rt.impl == NULL);

    memset(&cfg, 0, sizeof cfg);
    cfg.max_events = SIZE_MAX;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    cfg.max_events = ((size_t)1 << 20) + 1;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    cfg.max_events = (size_t)1 << 20;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    CHECK_STATUS(async_spawn_with(&rt, nothing, NULL).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_shutdown(&rt);
}

/* --- stack sizes whose page round-up or slab size overflows -------------- */

static void test_stack_size_overflow(void)
{
    /* Pages are at most 64 KiB on the platforms this runs on. */
    static const size_t too_big[] = {SIZE_MAX, SIZE_MAX - 100, SIZE_MAX - 65535,
                                     (size_t)PTRDIFF_MAX + 1};
    async_runtime_t rt;
    async_config_t cfg;
    size_t i;
    for (i = 0; i < sizeof too_big / sizeof too_big[0]; ++i) {
        memset(&cfg, 0, sizeof cfg);
        cfg.fiber_stack_size = too_big[i];
        CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
        CHECK(rt.impl == NULL);
        cfg.flags = ASYNC_CONFIG_NO_GUARD_PAGES;
        CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_EINVAL);
    }

    /* A size that fits, but whose slab (four stacks) wraps around: the spawn
     * fails, instead of handing out a stack past a small mapping. */
    for (i = 0; i < 2; ++i) {
        memset(&cfg, 0, sizeof cfg);
        cfg.fiber_stack_size = ((size_t)1 << 62) + 65536;
        cfg.flags = i == 0 ? ASYNC_CONFIG_NO_GUARD_PAGES : 0;
        CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
        CHECK_STATUS(async_spawn_with(&rt, nothing, NULL).status, ASYNC_ENOMEM);
        CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
        async_runtime_shutdown(&rt);
    }
}

/* --- a user stack whose end wraps ----------------------------------------- */

static void test_user_stack_that_wraps(void)
{
    static char stack[ASYNC_MIN_STACK_SIZE];
    async_runtime_t rt;
    async_spawn_options_t opts;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    memset(&opts, 0, sizeof opts);
    opts.stack = stack;
    opts.stack_size = SIZE_MAX;
    CHECK_STATUS(async_spawn_ex(&rt, nothing, NULL, &opts).status, ASYNC_EINVAL);
    opts.stack_size = SIZE_MAX - (size_t)(uintptr_t)stack + 1; /* ends exactly at 2^64 */
    CHECK_STATUS(async_spawn_ex(&rt, nothing, NULL, &opts).status, ASYNC_EINVAL);
    opts.stack_size = sizeof stack; /* and the same stack, sized right, works */
    CHECK_STATUS(async_spawn_ex(&rt, nothing, NULL, &opts).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_shutdown(&rt);
}

/* --- unparks with forged or stale handles --------------------------------- */

static void parks_once(void *user)
{
    (void)user;
    CHECK_STATUS(async_park(), ASYNC_OK);
}

static void test_unpark_validates_the_handle(void)
{
    async_runtime_t rt;
    async_config_t cfg;
    async_fiber_handle_t h, forged, old;
    memset(&cfg, 0, sizeof cfg);
    cfg.task_capacity = 4;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    h = async_spawn_with(&rt, parks_once, NULL);
    CHECK_STATUS(h.status, ASYNC_OK);
    forged = h;
    forged.slot = 4; /* past the table */
    CHECK_STATUS(async_unpark(forged), ASYNC_EINVAL);
    forged.slot = UINT32_MAX;
    CHECK_STATUS(async_unpark(forged), ASYNC_EINVAL);
    CHECK_STATUS(async_unpark(h), ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    old = h;
    async_runtime_shutdown(&rt);

    /* The same struct, initialised again: the old handle names nothing, even
     * where a new fiber sits in its slot. */
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    h = async_spawn_with(&rt, parks_once, NULL);
    CHECK_STATUS(h.status, ASYNC_OK);
    CHECK(h.slot == old.slot && h.runtime == old.runtime && h.id != old.id);
    CHECK_STATUS(async_unpark(old), ASYNC_EINVAL);
    CHECK_STATUS(async_unpark(h), ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_shutdown(&rt);
}

/* --- init of a live runtime ---------------------------------------------- */

static async_runtime_t *discard_rt;
static async_status_t discard_init_status;

static void reinit_from_discard(void *user)
{
    (void)user;
    discard_init_status = async_runtime_init(discard_rt, NULL);
}

static void test_init_of_a_live_runtime(void)
{
    async_runtime_t rt, copy;
    async_runtime_stats_t s;
    async_spawn_options_t opts;
    void *impl;

    memset(&rt, 0xab, sizeof rt); /* never zeroed: garbage is not a live runtime */
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    impl = rt.impl;
    CHECK_STATUS(async_spawn_with(&rt, nothing, NULL).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_ESTATE);
    CHECK(rt.impl == impl); /* untouched: the queued fiber is still there */
    CHECK_STATUS(async_runtime_stats(&rt, &s), ASYNC_OK);
    CHECK(s.fibers_live == 1);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);

    /* A copy of the struct is not the runtime's own: it may be initialised
     * (async.h forbids copying a live one, but the check must not lie). */
    memcpy(&copy, &rt, sizeof rt);
    CHECK_STATUS(async_runtime_init(&copy, NULL), ASYNC_OK);
    CHECK(copy.impl != rt.impl);
    async_runtime_shutdown(&copy);
    async_runtime_shutdown(&rt);
    CHECK(rt.impl == NULL);
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK); /* shut down: free again */

    /* During the shutdown the runtime is still live for init. */
    discard_rt = &rt;
    memset(&opts, 0, sizeof opts);
    opts.on_discard = reinit_from_discard;
    CHECK_STATUS(async_spawn_ex(&rt, nothing, NULL, &opts).status, ASYNC_OK);
    async_runtime_shutdown(&rt);
    CHECK_STATUS(discard_init_status, ASYNC_ESTATE);
    CHECK(rt.impl == NULL);

    /* The global runtime too. */
    CHECK(async_global() != NULL);
    CHECK_STATUS(async_runtime_init(async_global(), NULL), ASYNC_ESTATE);
    async_global_shutdown();
}

/* --- channel buffers whose byte size overflows ---------------------------- */

static void test_channel_capacity_overflow(void)
{
    static const size_t capacities[] = {SIZE_MAX, (size_t)1 << 61, SIZE_MAX / sizeof(void *) + 1};
    async_runtime_t rt;
    async_channel_t ch;
    size_t i;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    for (i = 0; i < sizeof capacities / sizeof capacities[0]; ++i) {
        memset(&ch, 0xab, sizeof ch);
        CHECK_STATUS(async_channel_init(&ch, &rt, capacities[i], 0), ASYNC_ENOMEM);
        CHECK_STATUS(async_channel_try_send(&ch, NULL), ASYNC_EINVAL); /* unusable */
        async_channel_shutdown(&ch);                                   /* harmless */
    }
    async_runtime_shutdown(&rt);
}

/* --- channels that outlive their runtime ---------------------------------- */

static void test_channel_after_its_runtime(void)
{
    async_runtime_t rt;
    async_channel_t ch;
    void *m = NULL;
    memset(&ch, 0, sizeof ch);
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_channel_init(&ch, &rt, 4, 0), ASYNC_OK);
    CHECK_STATUS(async_channel_try_send(&ch, &m), ASYNC_OK);
    CHECK_STATUS(async_channel_init(&ch, &rt, 4, 0), ASYNC_ESTATE); /* live: untouched */
    async_runtime_shutdown(&rt);
    CHECK_STATUS(async_channel_try_send(&ch, &m), ASYNC_EINVAL);
    CHECK_STATUS(async_channel_try_recv(&ch, &m), ASYNC_EINVAL);
    CHECK_STATUS(async_channel_close(&ch), ASYNC_EINVAL);
    async_channel_shutdown(&ch); /* frees the buffer */
    async_channel_shutdown(&ch); /* nothing */
    CHECK_STATUS(async_channel_try_send(&ch, &m), ASYNC_EINVAL);
}

int main(void)
{
    test_config_limits();
    test_stack_size_overflow();
    test_user_stack_that_wraps();
    test_unpark_validates_the_handle();
    test_init_of_a_live_runtime();
    test_channel_capacity_overflow();
    test_channel_after_its_runtime();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("c_hardening_test: all checks passed");
    return EXIT_SUCCESS;
}
