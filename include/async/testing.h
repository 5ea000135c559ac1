/* SPDX-License-Identifier: MIT */
/* async/testing.h: running a test under many seeded schedules (async.h,
 * "Seeded schedules") and reporting the seed that fails. Include it on its
 * own; it includes async.h. Valid C99 and C11; compiles as C++ too. For
 * C++, async/testing.hpp wraps it (async::testing::explore). docs/testing.md
 * walks through a hunt.
 *
 *   static int body(const async_config_t *cfg, void *user) {
 *     async_runtime_t rt;
 *     if (async_runtime_init(&rt, cfg) != ASYNC_OK) return 1;
 *     ... spawn fibers, async_runtime_run(&rt), check the outcome ...
 *     async_runtime_shutdown(&rt);
 *     return ok ? 0 : 1;
 *   }
 *   uint64_t seed;
 *   async_explore(NULL, 100, body, NULL, &seed);   seed: 0, or the first failing one
 */
#ifndef ASYNC_TESTING_H
#define ASYNC_TESTING_H

#include "async.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One run of a test: make a runtime (or a group) from `cfg`, which carries
 * this run's schedule_seed, run the test in it, shut it down, and return 0
 * when the test passed, anything else when it failed. */
typedef int (*async_explore_fn)(const async_config_t *cfg, void *user);

/* Run `body` once per seed, seeds 1, 2, ..., `runs`, each time with a copy of
 * `cfg` (NULL: all defaults) whose schedule_seed is that seed (its PCT
 * fields apply), and stop at the first run that fails. When
 * ASYNC_SCHEDULE_SEED is set in the environment (and not 0), only that seed
 * runs: set it to the seed a failure reported to replay that run alone.
 *
 * On a failure, prints to stderr the failing seed and how to replay it, e.g.
 *   async_explore: seed 17 failed (run 17 of 100)
 *   async_explore: replay: ASYNC_SCHEDULE_SEED=17 <the same test>
 * and sets *failing_seed to it; *failing_seed is 0 when every run passed.
 * Not a fiber call: call it from plain thread code (a test's main or a
 * GoogleTest body), never from a fiber.
 * Returns ASYNC_OK (whether or not a run failed: see *failing_seed);
 * ASYNC_EINVAL for a NULL body or failing_seed, runs == 0, or an
 * ASYNC_SCHEDULE_SEED value that is not a number (as async_runtime_init). */
ASYNC_API async_status_t async_explore(const async_config_t *cfg, uint64_t runs, async_explore_fn body, void *user,
                                       uint64_t *failing_seed) ASYNC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* ASYNC_TESTING_H */
