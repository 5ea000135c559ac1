/* SPDX-License-Identifier: MIT */
/* c_trace.h: the trace the C tests of one scheduler order share: items
 * joined by single spaces in trace_buf, compared whole by CHECK_TRACE, which
 * then empties it for the next check. Include after c_check.h (failures),
 * in one translation unit per program. */
#ifndef ASYNC_TEST_C_TRACE_H
#define ASYNC_TEST_C_TRACE_H

#include <stdio.h>
#include <string.h>

static char trace_buf[4096];

static inline void trace_add(const char *item) {
  if (trace_buf[0] != '\0') strncat(trace_buf, " ", sizeof trace_buf - strlen(trace_buf) - 1);
  strncat(trace_buf, item, sizeof trace_buf - strlen(trace_buf) - 1);
}

#define CHECK_TRACE(want)                                                                      \
  do {                                                                                         \
    if (strcmp(trace_buf, (want)) != 0) {                                                      \
      fprintf(stderr, "%s:%d: trace\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, trace_buf, \
              (want));                                                                         \
      ++failures;                                                                              \
    }                                                                                          \
    trace_buf[0] = '\0';                                                                       \
  } while (0)

#endif
