/* SPDX-License-Identifier: MIT */
/* mini_test.h: the few checks the miniasync C tests share. A failed CHECK
 * prints where and exits 1. */
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

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)
#define CHECK_EQ(a, b)                                                           \
  do {                                                                           \
    long long a_ = (long long)(a), b_ = (long long)(b);                          \
    if (a_ != b_) {                                                              \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, \
              __LINE__, #a, #b, a_, b_);                                         \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

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
