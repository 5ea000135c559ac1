/* SPDX-License-Identifier: MIT */
/* mini_test.h: what the miniasync C tests share: the checks of
 * tests/support/c_check.h, where a failed one prints where and exits 1, a
 * RUN line per test, and clocks. */
#ifndef MINI_TEST_H
#define MINI_TEST_H

#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep in strict C */
#endif

#include <libminiasync.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define C_CHECK_EXIT /* a failed check ends the test program */
#include "../support/c_check.h"

#define RUN(test)                                                                \
  do {                                                                           \
    printf("[ RUN  ] %s\n", #test);                                              \
    fflush(stdout);                                                              \
    test();                                                                      \
    printf("[  OK  ] %s\n", #test);                                              \
  } while (0)

static inline uint64_t mt_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mt_thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
