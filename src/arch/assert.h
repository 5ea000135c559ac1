// SPDX-License-Identifier: MIT
// assert.h: ASYNC_ASSERT checks internal invariants (never user input, which
// gets a status code). On in debug builds and with ASYNC_DEBUG_CHECKS=1.
#pragma once

#include <cstdio>
#include <cstdlib>

#if !defined(ASYNC_DEBUG_CHECKS)
#if defined(NDEBUG)
#define ASYNC_DEBUG_CHECKS 0
#else
#define ASYNC_DEBUG_CHECKS 1
#endif
#endif

#if ASYNC_DEBUG_CHECKS
#define ASYNC_ASSERT(cond)                                                          \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "async: internal check failed at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                                \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
#else
#define ASYNC_ASSERT(cond) ((void)0)
#endif
