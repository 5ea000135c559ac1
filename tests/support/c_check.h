/* SPDX-License-Identifier: MIT */
/* c_check.h: the checks of the plain C test programs (tests/c_*.c,
 * tests/http_parse_test.c, and tests/miniasync through mini_test.h). A failed
 * check prints where and why and counts in `failures`; the program goes on,
 * and main returns EXIT_FAILURE when the count is not zero. A program whose
 * every step needs the ones before defines C_CHECK_EXIT before including this
 * header: a failed check then ends it with exit(1) (there is no `failures`).
 * CHECK_STATUS needs async.h included first. */
#ifndef ASYNC_TEST_C_CHECK_H
#define ASYNC_TEST_C_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef C_CHECK_EXIT
#define C_CHECK_FAILED() exit(1)
#else
static int failures;
#define C_CHECK_FAILED() ++failures
#endif

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            C_CHECK_FAILED();                                              \
        }                                                                  \
    } while (0)

/* Two integers (any type up to long long) are equal; prints both. */
#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                \
        if (a_ != b_) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
                    #a, #b, a_, b_);                                       \
            C_CHECK_FAILED();                                              \
        }                                                                  \
    } while (0)

#define CHECK_STATUS(expr, want)                                           \
    do {                                                                   \
        async_status_t got_ = (expr);                                      \
        if (got_ != (want)) {                                              \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__, #expr, \
                    async_status_name(got_), async_status_name(want));     \
            C_CHECK_FAILED();                                              \
        }                                                                  \
    } while (0)

/* Whether the environment seeds the runtimes (ASYNC_SCHEDULE_SEED, set by
 * .ci/seeds.sh; async.h "Seeded schedules"). A test function that asserts a
 * FIFO order opens with `if (seeded_skip(__func__)) return;`: a seed
 * legitimately changes that order. Needs <stdlib.h> and <string.h>. */
static inline int seeded_skip(const char *test) {
    const char *s = getenv("ASYNC_SCHEDULE_SEED");
    if (s == NULL || s[0] == '\0' || strcmp(s, "0") == 0) return 0;
    printf("SKIP: %s asserts the FIFO order; ASYNC_SCHEDULE_SEED is set\n", test);
    return 1;
}

#endif
