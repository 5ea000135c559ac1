/* SPDX-License-Identifier: MIT */
/* c_io_support.h: what the C I/O tests share: a trace of short tokens
 * compared whole, the process's open fd count for leak checks (Linux:
 * /proc/self/fd; -1 where unknown), and deadlines in ms from now. Include
 * after async.h and c_check.h, in one translation unit per program. */
#ifndef ASYNC_TEST_C_IO_SUPPORT_H
#define ASYNC_TEST_C_IO_SUPPORT_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_TRACE(want)                                                  \
    do {                                                                   \
        if (strcmp(trace, (want)) != 0) {                                  \
            fprintf(stderr, "%s:%d: trace \"%s\", expected \"%s\"\n", __FILE__, __LINE__, trace, \
                    (want));                                               \
            ++failures;                                                    \
        }                                                                  \
    } while (0)

/* CHECK_TRACE under FIFO order; under a seeded schedule (ASYNC_SCHEDULE_SEED,
 * see seeded_skip in c_check.h) the trace may also be `seeded`, the one other
 * order the seed can legitimately pick: which of two fibers spawned together
 * runs first. */
#define CHECK_TRACE_OR_SEEDED(fifo, seeded)                                \
    do {                                                                   \
        const char *seed_ = getenv("ASYNC_SCHEDULE_SEED");                 \
        const int seeded_ = seed_ != NULL && seed_[0] != '\0' && strcmp(seed_, "0") != 0; \
        if (seeded_ && strcmp(trace, (seeded)) == 0) break;                \
        CHECK_TRACE(fifo);                                                 \
    } while (0)

/* A trace of short tokens, compared as one string. */
static char trace[512];

static inline void note(const char *token)
{
    strncat(trace, token, sizeof(trace) - strlen(trace) - 1);
    strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
}

static inline void reset_trace(void) { trace[0] = '\0'; }

static inline int open_fd_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    while (readdir(d) != NULL) ++n;
    closedir(d);
    return n;
}

static inline uint64_t in_ms(uint64_t ms) { return async_now_ns() + ms * 1000000u; }

#endif
