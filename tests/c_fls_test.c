/* SPDX-License-Identifier: MIT */
/* c_fls_test.c: fiber-local storage from C11 (async_fls_*, async/sync.h):
 * per-fiber values, destructors at a fiber's end (whole traces), their
 * rounds, deleted and reused keys, the key limit, misuse statuses, fibers
 * that never end, and fibers of two runtimes of a group. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "async.h"
#include "support/c_check.h"

/* A trace of short tokens, compared as one string. */
static char trace[1024];

static void note(const char *token)
{
    strncat(trace, token, sizeof(trace) - strlen(trace) - 1);
    strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
}

static void notef(const char *fmt, const char *arg)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, arg);
    note(buf);
}

static void reset_trace(void) { trace[0] = '\0'; }

static void run_fibers(async_fn fn, void *const *users, int n)
{
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    for (int i = 0; i < n; ++i) CHECK_STATUS(async_spawn_with(&rt, fn, users[i]).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_shutdown(&rt);
}

/* --- outside fibers ------------------------------------------------------ */

static void test_outside_fibers(void)
{
    async_fls_key_t key;
    CHECK_STATUS(async_fls_create(&key, NULL), ASYNC_OK);
    CHECK(key.id != 0);
    CHECK(async_fls_get(key) == NULL);
    CHECK_STATUS(async_fls_set(key, &key), ASYNC_ESTATE);
    CHECK_STATUS(async_fls_set(key, NULL), ASYNC_ESTATE);
    CHECK(async_fls_get(key) == NULL);
    CHECK_STATUS(async_fls_delete(key), ASYNC_OK);
    /* The key is checked first, in fibers and out. */
    CHECK_STATUS(async_fls_set(key, &key), ASYNC_EINVAL);
    CHECK_STATUS(async_fls_delete(key), ASYNC_EINVAL);
}

/* --- each fiber its own value -------------------------------------------- */

static async_fls_key_t shared_key;

static void own_value(void *user)
{
    const char *name = user;
    notef("%s:", async_fls_get(shared_key) == NULL ? "null" : "set");
    CHECK_STATUS(async_fls_set(shared_key, user), ASYNC_OK);
    async_yield(); /* the others set theirs meanwhile */
    notef("%s", (const char *)async_fls_get(shared_key));
    CHECK_STATUS(async_fls_set(shared_key, NULL), ASYNC_OK);
    CHECK(async_fls_get(shared_key) == NULL);
    notef("%s:null", name);
}

static void test_each_fiber_sees_its_own_value(void)
{
    if (seeded_skip(__func__)) return;
    CHECK_STATUS(async_fls_create(&shared_key, NULL), ASYNC_OK);
    reset_trace();
    void *users[] = {"a", "b", "c"};
    run_fibers(own_value, users, 3);
    CHECK(strcmp(trace, "null: null: null: a a:null b b:null c c:null ") == 0);
    /* A later fiber of a reused record starts with nothing again. */
    reset_trace();
    run_fibers(own_value, users, 1);
    CHECK(strcmp(trace, "null: a a:null ") == 0);
    CHECK_STATUS(async_fls_delete(shared_key), ASYNC_OK);
}

/* --- destructors ------------------------------------------------------------ */

/* A value that knows whose it is: the destructor checks it runs on that
 * fiber, with the key already unset, and that it can suspend there. */
typedef struct owned {
    const char *name;
    uint64_t fiber_id;
} owned_t;

static async_fls_key_t dtor_key, plain_key;

static void dtor_yields(void *value)
{
    owned_t *o = value;
    notef("dtor(%s)", o->name);
    CHECK(async_self().id == o->fiber_id);
    CHECK(async_fls_get(dtor_key) == NULL);
    CHECK_STATUS(async_yield(), ASYNC_OK);
    notef("dtor(%s)-resumed", o->name);
}

static owned_t owned_values[2];
static async_fiber_handle_t first_setter;

/* a and b set a value, c none, d sets NULL (no call), e awaits a: it wakes
 * only after a's destructor has returned. */
static void dtor_fiber(void *user)
{
    const char *name = user;
    if (strcmp(name, "e") == 0) {
        CHECK_STATUS(async_await(first_setter), ASYNC_OK);
        note("e:a-ended");
        return;
    }
    if (strcmp(name, "a") == 0 || strcmp(name, "b") == 0) {
        owned_t *o = &owned_values[name[0] - 'a'];
        o->name = name;
        o->fiber_id = async_self().id;
        CHECK_STATUS(async_fls_set(dtor_key, o), ASYNC_OK);
        CHECK_STATUS(async_fls_set(plain_key, o), ASYNC_OK); /* no destructor */
        async_yield();
    } else if (strcmp(name, "d") == 0) {
        CHECK_STATUS(async_fls_set(dtor_key, NULL), ASYNC_OK);
    }
    notef("%s:end", name);
}

static void test_destructors_run_on_the_fiber_at_its_end(void)
{
    if (seeded_skip(__func__)) return;
    CHECK_STATUS(async_fls_create(&dtor_key, dtor_yields), ASYNC_OK);
    CHECK_STATUS(async_fls_create(&plain_key, NULL), ASYNC_OK);
    reset_trace();
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    first_setter = async_spawn_with(&rt, dtor_fiber, "a");
    const char *names[] = {"b", "c", "d", "e"};
    for (int i = 0; i < 4; ++i) CHECK_STATUS(async_spawn_with(&rt, dtor_fiber, (void *)names[i]).status, ASYNC_OK);
    CHECK_STATUS(async_runtime_run(&rt), ASYNC_OK);
    async_runtime_shutdown(&rt);
    CHECK(strcmp(trace,
                 "c:end d:end a:end dtor(a) b:end dtor(b) dtor(a)-resumed dtor(b)-resumed "
                 "e:a-ended ") == 0);
    if (failures != 0) fprintf(stderr, "trace: %s\n", trace);
    CHECK_STATUS(async_fls_delete(dtor_key), ASYNC_OK);
    CHECK_STATUS(async_fls_delete(plain_key), ASYNC_OK);
}

/* Rounds: `forever` sets its value again every time (4 calls, then the
 * value is dropped); `once_more` sets it again once; `hand_over` sets a
 * value for `late`'s key, whose slot the round has passed already: its
 * destructor runs in the next round. */
static async_fls_key_t forever_key, once_key, hand_key, late_key;
static int forever_calls, once_calls;

static void forever(void *value)
{
    ++forever_calls;
    note("forever");
    CHECK_STATUS(async_fls_set(forever_key, value), ASYNC_OK);
}

static void once_more(void *value)
{
    ++once_calls;
    note("once");
    if (once_calls == 1) CHECK_STATUS(async_fls_set(once_key, value), ASYNC_OK);
}

static void late(void *value) { notef("late(%s)", (const char *)value); }

static void hand_over(void *value)
{
    notef("hand(%s)", (const char *)value);
    CHECK_STATUS(async_fls_set(late_key, "from-hand"), ASYNC_OK);
}

static void rounds_fiber(void *user)
{
    (void)user;
    CHECK_STATUS(async_fls_set(forever_key, "f"), ASYNC_OK);
    CHECK_STATUS(async_fls_set(once_key, "o"), ASYNC_OK);
    CHECK_STATUS(async_fls_set(hand_key, "h"), ASYNC_OK);
}

static void test_destructor_rounds_are_bounded(void)
{
    /* Created in this order, so their slots (lowest free first) are too:
     * the trace's order within a round follows the slots. */
    CHECK_STATUS(async_fls_create(&forever_key, forever), ASYNC_OK);
    CHECK_STATUS(async_fls_create(&once_key, once_more), ASYNC_OK);
    CHECK_STATUS(async_fls_create(&late_key, late), ASYNC_OK);
    CHECK_STATUS(async_fls_create(&hand_key, hand_over), ASYNC_OK);
    reset_trace();
    void *users[] = {NULL};
    run_fibers(rounds_fiber, users, 1);
    CHECK(strcmp(trace,
                 "forever once hand(h) "   /* round 1: hand sets late's value behind it */
                 "forever once late(from-hand) " /* round 2 */
                 "forever forever ") == 0); /* rounds 3 and 4; the last value is dropped */
    if (failures != 0) fprintf(stderr, "trace: %s\n", trace);
    CHECK(forever_calls == 4);
    CHECK(once_calls == 2);
    CHECK_STATUS(async_fls_delete(forever_key), ASYNC_OK);
    CHECK_STATUS(async_fls_delete(once_key), ASYNC_OK);
    CHECK_STATUS(async_fls_delete(late_key), ASYNC_OK);
    CHECK_STATUS(async_fls_delete(hand_key), ASYNC_OK);
}

/* --- delete ---------------------------------------------------------------- */

static async_fls_key_t doomed_key;
static int doomed_calls;

static void doomed_dtor(void *value)
{
    (void)value;
    ++doomed_calls;
}

static void uses_deleted_key(void *user)
{
    CHECK_STATUS(async_fls_set(doomed_key, user), ASYNC_OK);
    CHECK(async_fls_get(doomed_key) == user);
    CHECK_STATUS(async_fls_delete(doomed_key), ASYNC_OK);
    CHECK(async_fls_get(doomed_key) == NULL);
    CHECK_STATUS(async_fls_set(doomed_key, user), ASYNC_EINVAL);
    CHECK_STATUS(async_fls_set(doomed_key, NULL), ASYNC_EINVAL);
    CHECK_STATUS(async_fls_delete(doomed_key), ASYNC_EINVAL);
    note("deleted");
}

static void test_delete_drops_values_without_destructor(void)
{
    CHECK_STATUS(async_fls_create(&doomed_key, doomed_dtor), ASYNC_OK);
    reset_trace();
    void *users[] = {"v"};
    run_fibers(uses_deleted_key, users, 1);
    CHECK(strcmp(trace, "deleted ") == 0);
    CHECK(doomed_calls == 0);
}

/* --- the key limit, and a slot reused by a new key ----------------------- */

static async_fls_key_t all_keys[ASYNC_FLS_KEYS_MAX];
static int values[ASYNC_FLS_KEYS_MAX];
static int counted_calls;

static void counted(void *value)
{
    (void)value;
    ++counted_calls;
}

/* Every key is taken: deleting one and creating another must reuse its slot,
 * and the value the fiber set under the old key is not the new key's. */
static void reuses_a_slot(void *user)
{
    (void)user;
    for (unsigned i = 0; i < ASYNC_FLS_KEYS_MAX; ++i) CHECK_STATUS(async_fls_set(all_keys[i], &values[i]), ASYNC_OK);
    for (unsigned i = 0; i < ASYNC_FLS_KEYS_MAX; ++i) CHECK(async_fls_get(all_keys[i]) == &values[i]);
    const async_fls_key_t old = all_keys[7];
    CHECK_STATUS(async_fls_delete(old), ASYNC_OK);
    async_fls_key_t extra;
    CHECK_STATUS(async_fls_create(&all_keys[7], counted), ASYNC_OK);
    CHECK(all_keys[7].id != old.id);
    CHECK(async_fls_get(all_keys[7]) == NULL);
    CHECK(async_fls_get(old) == NULL);
    CHECK_STATUS(async_fls_set(old, &values[7]), ASYNC_EINVAL);
    CHECK_STATUS(async_fls_create(&extra, NULL), ASYNC_EFULL);
    CHECK_STATUS(async_fls_set(all_keys[7], &values[0]), ASYNC_OK);
    CHECK(async_fls_get(all_keys[7]) == &values[0]);
    for (unsigned i = 0; i < ASYNC_FLS_KEYS_MAX; ++i) {
        if (i != 7) CHECK(async_fls_get(all_keys[i]) == &values[i]);
    }
}

static void test_key_limit_and_slot_reuse(void)
{
    for (unsigned i = 0; i < ASYNC_FLS_KEYS_MAX; ++i) CHECK_STATUS(async_fls_create(&all_keys[i], counted), ASYNC_OK);
    async_fls_key_t extra = {12345};
    CHECK_STATUS(async_fls_create(&extra, counted), ASYNC_EFULL);
    CHECK(extra.id == 12345); /* untouched */
    void *users[] = {NULL};
    run_fibers(reuses_a_slot, users, 1);
    CHECK(counted_calls == (int)ASYNC_FLS_KEYS_MAX); /* one per key, the reused slot's once */
    for (unsigned i = 0; i < ASYNC_FLS_KEYS_MAX; ++i) CHECK_STATUS(async_fls_delete(all_keys[i]), ASYNC_OK);
    /* All free again. */
    CHECK_STATUS(async_fls_create(&extra, NULL), ASYNC_OK);
    CHECK_STATUS(async_fls_delete(extra), ASYNC_OK);
}

/* --- misuse ----------------------------------------------------------------- */

static void forged_keys_inside(void *user)
{
    const async_fls_key_t *keys = user;
    for (int i = 0; i < 4; ++i) {
        CHECK(async_fls_get(keys[i]) == NULL);
        CHECK_STATUS(async_fls_set(keys[i], &failures), ASYNC_EINVAL);
    }
}

static void test_null_and_forged_keys(void)
{
    CHECK_STATUS(async_fls_create(NULL, NULL), ASYNC_EINVAL);
    async_fls_key_t live;
    CHECK_STATUS(async_fls_create(&live, NULL), ASYNC_OK);
    async_fls_key_t forged[4] = {
        {0},
        {UINT64_C(0x9e3779b97f4a7c15)},
        {live.id + (UINT64_C(1) << 16)}, /* the live key's slot, a free generation */
        {live.id + (UINT64_C(2) << 16)}, /* the live key's slot, a later generation */
    };
    for (int i = 0; i < 4; ++i) {
        CHECK(async_fls_get(forged[i]) == NULL);
        CHECK_STATUS(async_fls_set(forged[i], &failures), ASYNC_EINVAL);
        CHECK_STATUS(async_fls_delete(forged[i]), ASYNC_EINVAL);
    }
    void *users[] = {forged};
    run_fibers(forged_keys_inside, users, 1);
    CHECK_STATUS(async_fls_delete(live), ASYNC_OK);
}

/* --- fibers that never end --------------------------------------------------- */

static async_fls_key_t stuck_key;
static int stuck_calls;

static void stuck_dtor(void *value)
{
    ++stuck_calls;
    /* Blocks in its destructor until the shutdown drops it. */
    if (strcmp(value, "blocks-in-dtor") == 0) async_sleep_ms(60000);
}

static void sets_and_sleeps(void *user)
{
    CHECK_STATUS(async_fls_set(stuck_key, user), ASYNC_OK);
    if (strcmp(user, "sleeps") == 0) async_sleep_ms(60000);
}

/* The shutdown frees their blocks (LeakSanitizer checks it in the sanitizer
 * build) without running destructors: their stacks are gone. */
static void test_fibers_that_never_end(void)
{
    if (seeded_skip(__func__)) return;
    CHECK_STATUS(async_fls_create(&stuck_key, stuck_dtor), ASYNC_OK);
    async_runtime_t rt;
    CHECK_STATUS(async_runtime_init(&rt, NULL), ASYNC_OK);
    CHECK_STATUS(async_spawn_with(&rt, sets_and_sleeps, "sleeps").status, ASYNC_OK);
    CHECK_STATUS(async_spawn_with(&rt, sets_and_sleeps, "blocks-in-dtor").status, ASYNC_OK);
    /* Driven until the third ends: by then both others are asleep. */
    async_fiber_handle_t probe = async_spawn_with(&rt, sets_and_sleeps, "ends");
    CHECK_STATUS(async_await(probe), ASYNC_OK);
    CHECK(stuck_calls == 2); /* "blocks-in-dtor" (now asleep in it), "ends" */
    async_runtime_shutdown(&rt);
    CHECK(stuck_calls == 2);
    CHECK_STATUS(async_fls_delete(stuck_key), ASYNC_OK);
}

/* --- two runtimes of a group ------------------------------------------------- */

enum { group_fibers = 16, group_yields = 50 };

static async_fls_key_t group_key;
static atomic_int group_mismatches, group_dtor_calls;
static int group_values[group_fibers];

static void group_dtor(void *value)
{
    if (value != NULL) atomic_fetch_add(&group_dtor_calls, 1);
}

static void group_fiber(void *user)
{
    int *mine = user;
    if (async_fls_get(group_key) != NULL) atomic_fetch_add(&group_mismatches, 1);
    if (async_fls_set(group_key, mine) != ASYNC_OK) atomic_fetch_add(&group_mismatches, 1);
    for (int i = 0; i < group_yields; ++i) {
        async_yield();
        if (async_fls_get(group_key) != mine) atomic_fetch_add(&group_mismatches, 1);
    }
}

static void test_group_fibers_have_their_own_values(void)
{
    CHECK_STATUS(async_fls_create(&group_key, group_dtor), ASYNC_OK);
    async_group_t g;
    CHECK_STATUS(async_group_init(&g, 2, NULL), ASYNC_OK);
    for (int i = 0; i < group_fibers; ++i) {
        async_runtime_t *rt = async_group_runtime(&g, (size_t)(i % 2));
        CHECK_STATUS(async_spawn_with(rt, group_fiber, &group_values[i]).status, ASYNC_OK);
    }
    CHECK_STATUS(async_group_wait(&g), ASYNC_OK);
    async_group_shutdown(&g);
    CHECK(atomic_load(&group_mismatches) == 0);
    CHECK(atomic_load(&group_dtor_calls) == group_fibers);
    CHECK_STATUS(async_fls_delete(group_key), ASYNC_OK);
}

int main(void)
{
    test_outside_fibers();
    test_each_fiber_sees_its_own_value();
    test_destructors_run_on_the_fiber_at_its_end();
    test_destructor_rounds_are_bounded();
    test_delete_drops_values_without_destructor();
    test_key_limit_and_slot_reuse();
    test_null_and_forged_keys();
    test_fibers_that_never_end();
    test_group_fibers_have_their_own_values();
    if (failures != 0) {
        fprintf(stderr, "c_fls_test: %d check(s) failed\n", failures);
        return 1;
    }
    puts("c_fls_test: all checks passed");
    return 0;
}
