/* SPDX-License-Identifier: MIT */
/* c_api_test.c: the C API used from C11, compiled with -Wall -Wextra
 * -Wpedantic -Werror: the README's examples, whole traces of the scheduler,
 * await/cancel/sleep, and each misuse's status. Exits non-zero on the first
 * failed check, naming it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async.h"

#include "support/c_check.h"

/* A trace of short tokens, compared as one string. */
static char trace[512];

static void note(const char *token)
{
    strncat(trace, token, sizeof(trace) - strlen(trace) - 1);
    strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
}

static void reset_trace(void) { trace[0] = '\0'; }

/* --- the README's counter, on the global runtime ------------------------ */

static void counter(void *user)
{
    char buf[8];
    (void)user;
    for (int i = 0; i <= 3; ++i) {
        snprintf(buf, sizeof buf, "%d", i);
        note(buf);
        async_yield();
    }
}

static void test_seed_counter_on_the_global_runtime(void)
{
    if (seeded_skip(__func__)) return;
    reset_trace();
    CHECK_STATUS(async_spawn(counter, NULL).status, ASYNC_OK);
    CHECK_STATUS(async_spawn(counter, NULL).status, ASYNC_OK);
    CHECK(async_run() == 0);
    CHECK(strcmp(trace, "0 0 1 1 2 2 3 3 ") == 0);
    async_global_shutdown();
}

/* --- custom runtime, await, cancel --------------------------------------- */

static void named(void *user) { note((const char *)user); }

static void sleeper(void *user)
{
    (void)user;
    async_status_t st = async_sleep_ms(60000);
    note(st == ASYNC_ECANCELED ? "sleep-cancelled" : "sleep-other");
    CHECK_STATUS(async_yield(), ASYNC_ECANCELED); /* still cancelled: no blocking */
}

static void awaiter(void *user)
{
    async_fiber_handle_t target = *(async_fiber_handle_t *)user;
    note(async_status_name(async_await(target)));
}

static void canceller(void *user)
{
    CHECK_STATUS(async_cancel(*(async_fiber_handle_t *)user), ASYNC_OK);
    note("cancel");
}

static void test_custom_runtime_await_and_cancel(void)
{
    if (seeded_skip(__func__)) return;
    async_runtime_t rt;
    async_config_t cfg = {0};
    cfg.task_capacity = 8;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    reset_trace();
    async_fiber_handle_t a = async_spawn_with(&rt, named, "a");
    CHECK_STATUS(a.status, ASYNC_OK);
    CHECK(a.runtime == &rt);
    CHECK_STATUS(async_await(a), ASYNC_OK); /* from main: drives until a ends */
    CHECK(strcmp(trace, "a ") == 0);

    reset_trace();
    async_fiber_handle_t s = async_spawn_with(&rt, sleeper, NULL);
    async_fiber_handle_t w = async_spawn_with(&rt, awaiter, &s);
    async_fiber_handle_t c = async_spawn_with(&rt, canceller, &s);
    CHECK(s.status == ASYNC_OK && w.status == ASYNC_OK && c.status == ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    CHECK(strcmp(trace, "cancel sleep-cancelled ECANCELED ") == 0);
    CHECK_STATUS(async_await(s), ASYNC_ECANCELED);
    CHECK_STATUS(async_await(w), ASYNC_OK);

    /* cancelled before it starts: never runs */
    reset_trace();
    async_fiber_handle_t never = async_spawn_with(&rt, named, "never");
    CHECK_STATUS(async_cancel(never), ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    CHECK(strcmp(trace, "") == 0);
    CHECK_STATUS(async_await(never), ASYNC_ECANCELED);
    async_runtime_shutdown(&rt);
    CHECK(rt.impl == NULL);
}

/* --- capacities and deadlock ---------------------------------------------- */

static void await_self_then_other(void *user)
{
    async_fiber_handle_t *other = (async_fiber_handle_t *)user;
    CHECK_STATUS(async_await(async_self()), ASYNC_EINVAL);
    async_await(*other);
}

static void test_capacity_and_deadlock(void)
{
    async_runtime_t rt;
    async_config_t cfg = {0};
    cfg.task_capacity = 2;
    CHECK_STATUS(async_runtime_init(&rt, &cfg), ASYNC_OK);
    async_fiber_handle_t handles[2];
    handles[0] = async_spawn_with(&rt, await_self_then_other, &handles[1]);
    handles[1] = async_spawn_with(&rt, await_self_then_other, &handles[0]);
    CHECK_STATUS(handles[1].status, ASYNC_OK);
    async_fiber_handle_t full = async_spawn_with(&rt, named, "x");
    CHECK_STATUS(full.status, ASYNC_EFULL);
    CHECK(full.id == 0);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_EDEADLK);
    async_runtime_stats_t st;
    CHECK_STATUS(async_runtime_stats(&rt, &st), ASYNC_OK);
    CHECK(st.fibers_live == 2);
    async_runtime_shutdown(&rt); /* releases the two blocked fibers */
}

/* --- user-provided stacks -------------------------------------------------- */

static _Alignas(16) char user_stack[64 * 1024];

static void where_am_i(void *user)
{
    char probe = 0;
    /* Only the address is kept (as a number), never dereferenced. */
    *(uintptr_t *)user = (uintptr_t)&probe;
}

static void test_user_stack(void)
{
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    uintptr_t where = 0;
    async_spawn_options_t opts = {0};
    opts.stack = user_stack;
    opts.stack_size = sizeof user_stack;
    async_fiber_handle_t h = async_spawn_ex(&rt, where_am_i, &where, &opts);
    CHECK_STATUS(h.status, ASYNC_OK);
    CHECK_STATUS(async_await(h), ASYNC_OK);
    CHECK(where >= (uintptr_t)user_stack && where < (uintptr_t)(user_stack + sizeof user_stack));
    async_runtime_stats_t st;
    CHECK_STATUS(async_runtime_stats(&rt, &st), ASYNC_OK);
    CHECK(st.stacks_allocated == 0);
    async_runtime_shutdown(&rt);
}

/* --- on_discard: nothing is lost when a fiber never runs or never ends ---- */

static void discarded(void *user) { note((const char *)user); }

static void sleep_long(void *user)
{
    (void)user;
    async_sleep_ms(60000);
}

static void test_on_discard(void)
{
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    reset_trace();
    async_spawn_options_t opts = {0};
    opts.on_discard = discarded;
    async_fiber_handle_t ran = async_spawn_ex(&rt, named, "ran", &opts);
    async_fiber_handle_t never = async_spawn_ex(&rt, named, "never-ran", &opts);
    async_fiber_handle_t parked = async_spawn_ex(&rt, sleep_long, "parked-dropped", &opts);
    CHECK_STATUS(async_cancel(never), ASYNC_OK); /* called right here */
    CHECK(strcmp(trace, "never-ran ") == 0);
    CHECK_STATUS(async_await(ran), ASYNC_OK); /* ran to its end: no call */
    CHECK(strcmp(trace, "never-ran ran ") == 0);
    async_spawn_ex(&rt, named, "unstarted-dropped", &opts);
    async_runtime_stats_t st;
    CHECK_STATUS(async_runtime_stats(&rt, &st), ASYNC_OK);
    CHECK(st.fibers_live == 2);
    (void)parked;
    async_runtime_shutdown(&rt); /* the parked one and the unstarted one */
    CHECK(strcmp(trace, "never-ran ran parked-dropped unstarted-dropped ") == 0);
}

/* A callback that tries to re-enter the runtime being shut down. */
static async_runtime_t reentry_rt;
static async_fiber_handle_t reentry_victim;

static void discard_and_reenter(void *user)
{
    note((const char *)user);
    CHECK_STATUS(async_cancel(reentry_victim), ASYNC_OK); /* only marks it now */
    CHECK_STATUS(async_spawn_with(&reentry_rt, named, "late").status, ASYNC_ESTATE);
    CHECK_STATUS(async_runtime_run(&reentry_rt), ASYNC_ESTATE);
    async_runtime_shutdown(&reentry_rt); /* refused: already shutting down */
}

static void test_on_discard_reentry(void)
{
    CHECK_STATUS(async_runtime_init(&reentry_rt, NULL), ASYNC_OK);
    reset_trace();
    async_spawn_options_t plain = {0};
    plain.on_discard = discarded;
    async_spawn_options_t reentrant = {0};
    reentrant.on_discard = discard_and_reenter;
    /* The victim has the lower slot: its callback has already run when the
     * re-entrant one cancels it, and must not run a second time. */
    reentry_victim = async_spawn_ex(&reentry_rt, named, "victim", &plain);
    async_spawn_ex(&reentry_rt, named, "reentrant", &reentrant);
    async_runtime_shutdown(&reentry_rt);
    CHECK(strcmp(trace, "victim reentrant ") == 0);
    CHECK(reentry_rt.impl == NULL);
}

/* --- channels from C ------------------------------------------------------- */

static async_channel_t c_ch;

static void c_producer(void *user)
{
    (void)user;
    for (uintptr_t i = 1; i <= 3; ++i) CHECK_STATUS(async_channel_send(&c_ch, (void *)i), ASYNC_OK);
    CHECK_STATUS(async_channel_close(&c_ch), ASYNC_OK);
}

static void c_consumer(void *user)
{
    (void)user;
    void *m = NULL;
    char buf[16];
    while (async_channel_recv(&c_ch, &m) == ASYNC_OK) {
        snprintf(buf, sizeof buf, "%u", (unsigned)(uintptr_t)m);
        note(buf);
    }
    note("closed");
}

static void test_channels(void)
{
    async_runtime_t rt;
    void *m = NULL;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_channel_init(&c_ch, &rt, 0, 0), ASYNC_OK); /* rendezvous */
    CHECK(c_ch.capacity == 0);
    CHECK_STATUS(async_channel_try_recv(&c_ch, &m), ASYNC_EAGAIN);
    CHECK_STATUS(async_channel_send(&c_ch, NULL), ASYNC_ESTATE); /* blocking, outside a fiber */
    reset_trace();
    async_spawn_with(&rt, c_producer, NULL);
    async_spawn_with(&rt, c_consumer, NULL);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    CHECK(strcmp(trace, "1 2 3 closed ") == 0);
    CHECK_STATUS(async_channel_close(&c_ch), ASYNC_ECLOSED);
    async_channel_shutdown(&c_ch);
    CHECK_STATUS(async_channel_try_send(&c_ch, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_channel_init(&c_ch, NULL, 4, 0), ASYNC_EINVAL);
    async_runtime_shutdown(&rt);
}

/* --- select from C --------------------------------------------------------- */

static async_channel_t c_sel[2];

/* Receives from either channel until both are closed. */
static void c_selector(void *user)
{
    async_select_case_t cases[2];
    size_t chosen = 0;
    char buf[24];
    async_status_t st;
    (void)user;
    memset(cases, 0, sizeof cases);
    cases[0].ch = &c_sel[0];
    cases[0].op = ASYNC_SELECT_RECV;
    cases[1].ch = &c_sel[1];
    cases[1].op = ASYNC_SELECT_RECV;
    while (cases[0].ch != NULL || cases[1].ch != NULL) {
        st = async_select(cases, 2, &chosen);
        if (st == ASYNC_OK) {
            snprintf(buf, sizeof buf, "%u:%u", (unsigned)chosen, (unsigned)(uintptr_t)cases[chosen].msg);
            note(buf);
        } else {
            CHECK_STATUS(st, ASYNC_ECLOSED);
            cases[chosen].ch = NULL; /* a closed channel: disable its case */
        }
    }
    note("done");
}

static void c_select_sender(void *user)
{
    async_select_case_t cases[1];
    size_t chosen = 9;
    (void)user;
    memset(cases, 0, sizeof cases);
    CHECK_STATUS(async_channel_send(&c_sel[1], (void *)(uintptr_t)1), ASYNC_OK);
    cases[0].ch = &c_sel[0];
    cases[0].op = ASYNC_SELECT_SEND;
    cases[0].msg = (void *)(uintptr_t)2;
    CHECK_STATUS(async_select_until(cases, 1, &chosen, async_now_ns() + 1000000000u), ASYNC_OK);
    CHECK(chosen == 0 && cases[0].status == ASYNC_OK);
    CHECK_STATUS(async_channel_close(&c_sel[0]), ASYNC_OK);
    CHECK_STATUS(async_channel_close(&c_sel[1]), ASYNC_OK);
}

static void test_select(void)
{
    async_runtime_t rt;
    async_select_case_t cases[1];
    size_t chosen = 0;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_channel_init(&c_sel[0], &rt, 0, 0), ASYNC_OK);
    CHECK_STATUS(async_channel_init(&c_sel[1], &rt, 0, 0), ASYNC_OK);
    memset(cases, 0, sizeof cases);
    cases[0].ch = &c_sel[0];
    cases[0].op = ASYNC_SELECT_RECV;
    CHECK_STATUS(async_try_select(cases, 1, &chosen), ASYNC_EAGAIN); /* outside a fiber: fine */
    CHECK(chosen == ASYNC_SELECT_NONE);
    CHECK_STATUS(async_select(cases, 1, &chosen), ASYNC_ESTATE);      /* blocking: not here */
    cases[0].op = 0;
    CHECK_STATUS(async_try_select(cases, 1, &chosen), ASYNC_EINVAL);
    CHECK_STATUS(cases[0].status, ASYNC_EINVAL);
    CHECK_STATUS(async_try_select(NULL, 1, &chosen), ASYNC_EINVAL);
    reset_trace();
    async_spawn_with(&rt, c_selector, NULL);
    async_spawn_with(&rt, c_select_sender, NULL);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    CHECK(strcmp(trace, "1:1 0:2 done ") == 0);
    async_channel_shutdown(&c_sel[0]);
    async_channel_shutdown(&c_sel[1]);
    async_runtime_shutdown(&rt);
}

/* --- misuse ---------------------------------------------------------------- */

static void test_misuse(void)
{
    async_fiber_handle_t zero = {0};
    async_runtime_t zeroed = {0};
    CHECK_STATUS(async_yield(), ASYNC_ESTATE);
    CHECK_STATUS(async_sleep_ms(1), ASYNC_ESTATE);
    CHECK_STATUS(async_await(zero), ASYNC_EINVAL);
    CHECK_STATUS(async_cancel(zero), ASYNC_EINVAL);
    CHECK_STATUS(async_spawn_with(NULL, named, "x").status, ASYNC_EINVAL);
    CHECK_STATUS(async_spawn_with(&zeroed, named, "x").status, ASYNC_EINVAL);
    CHECK_STATUS(async_spawn(NULL, NULL).status, ASYNC_EINVAL);
    CHECK_STATUS(async_runtime_run(NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_runtime_init(NULL, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_self().status, ASYNC_ESTATE);
    CHECK(async_is_cancelled() == 0);
    /* the global runtime exists now (async_spawn above created it) */
    CHECK_STATUS(async_global_init(NULL), ASYNC_ESTATE);
    async_global_shutdown();
    CHECK(strcmp(async_strerror(ASYNC_EDEADLK), "fibers are blocked forever") == 0);
    CHECK(strcmp(async_status_name(ASYNC_ETIMEDOUT), "ETIMEDOUT") == 0);
    CHECK(strcmp(async_strerror((async_status_t)-999), "unknown status") == 0);
    CHECK(strcmp(async_status_name((async_status_t)42), "unknown status") == 0);
}

/* Inside a fiber, spawn and await of its own runtime take a shorter path
 * (src/api/fiber_api.cpp): the same refusals hold there, and nothing is
 * spawned. */
static void misuse_in_fiber(void *user)
{
    async_runtime_t *own = (async_runtime_t *)user;
    async_fiber_handle_t h = async_spawn(NULL, NULL);
    async_fiber_handle_t forged;
    async_spawn_options_t bad;
    CHECK_STATUS(h.status, ASYNC_EINVAL);
    CHECK(h.runtime == own);
    CHECK_STATUS(async_spawn_with(own, NULL, NULL).status, ASYNC_EINVAL);
    memset(&bad, 0, sizeof bad);
    bad.stack_size = 65536; /* a size without a stack */
    CHECK_STATUS(async_spawn_ex(NULL, named, "x", &bad).status, ASYNC_EINVAL);
    forged = async_self();
    forged.id += 12345;
    CHECK_STATUS(async_await(forged), ASYNC_EINVAL);
    forged = async_self();
    forged.slot = 1u << 30;
    CHECK_STATUS(async_await(forged), ASYNC_EINVAL);
    CHECK_STATUS(async_await(async_self()), ASYNC_EINVAL);
}

static void test_misuse_in_fiber(void)
{
    async_runtime_t rt;
    async_runtime_stats_t stats;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_spawn_with(&rt, misuse_in_fiber, &rt).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    CHECK_STATUS(async_runtime_stats(&rt, &stats), ASYNC_OK);
    CHECK(stats.fibers_live == 0);
    async_runtime_shutdown(&rt);
}

int main(void)
{
    test_seed_counter_on_the_global_runtime();
    test_custom_runtime_await_and_cancel();
    test_capacity_and_deadlock();
    test_user_stack();
    test_on_discard();
    test_on_discard_reentry();
    test_channels();
    test_select();
    test_misuse();
    test_misuse_in_fiber();
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return EXIT_FAILURE;
    }
    puts("c_api_test: all checks passed");
    return EXIT_SUCCESS;
}
