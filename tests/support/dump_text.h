/* SPDX-License-Identifier: MIT */
/* dump_text.h: helpers of the dump tests (c_dump_test.c, c_dump_signal_test.c):
 * reading a whole fd, and making a dump comparable whole by replacing what
 * varies from run to run (the clock, stack depths, milliseconds left) with
 * fixed tokens, and known addresses with names. */
#ifndef ASYNC_TEST_DUMP_TEXT_H
#define ASYNC_TEST_DUMP_TEXT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything readable from fd until end of file, NUL-terminated (malloc). */
static inline char *read_all(int fd) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len + 1 == cap) buf = realloc(buf, cap *= 2);
    const ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return buf;
}

/* Digits after each `key` become `token`. Values after "sleep " and
 * "timeout=" are milliseconds left: they must lie in (0, max_ms]. */
static inline char *normalize_numbers(const char *in, uint64_t max_ms, int *bad) {
  static const char *const keys[] = {"clock_ns=", "stack=", "sleep ", "timeout="};
  static const char *const tokens[] = {"N", "D", "T", "T"};
  char *out = malloc(strlen(in) + 1);
  size_t o = 0;
  while (*in != '\0') {
    size_t k = 0;
    while (k < 4 && !(strncmp(in, keys[k], strlen(keys[k])) == 0 && in[strlen(keys[k])] >= '0' &&
                      in[strlen(keys[k])] <= '9'))
      ++k;
    if (k == 4) {
      out[o++] = *in++;
      continue;
    }
    memcpy(out + o, keys[k], strlen(keys[k]));
    o += strlen(keys[k]);
    in += strlen(keys[k]);
    char *end;
    const unsigned long long v = strtoull(in, &end, 10);
    if (k >= 2 && (v == 0 || v > max_ms)) *bad = 1;
    in = end;
    memcpy(out + o, tokens[k], strlen(tokens[k]));
    o += strlen(tokens[k]);
  }
  out[o] = '\0';
  return out;
}

/* Every occurrence of `from` in *text replaced by `to` (*text reallocated). */
static inline void replace_all(char **text, const char *from, const char *to) {
  char *out = malloc(strlen(*text) * 2 + strlen(to) + 1);
  const char *in = *text;
  size_t o = 0;
  while (*in != '\0') {
    if (strncmp(in, from, strlen(from)) == 0) {
      memcpy(out + o, to, strlen(to));
      o += strlen(to);
      in += strlen(from);
    } else {
      out[o++] = *in++;
    }
  }
  out[o] = '\0';
  free(*text);
  *text = out;
}

/* An address as dumps print it: 0x and lowercase hex. */
static inline void address_text(const void *p, char *buf, size_t size) {
  snprintf(buf, size, "0x%jx", (uintmax_t)(uintptr_t)p);
}

/* The same for a function (ISO C has no function-to-object pointer cast). */
#define FN_ADDRESS_TEXT(fn, buf)                       \
  do {                                                 \
    void (*fn_)(void *) = (fn);                        \
    uintptr_t u_;                                      \
    memcpy(&u_, &fn_, sizeof u_);                      \
    snprintf((buf), sizeof(buf), "0x%jx", (uintmax_t)u_); \
  } while (0)

#define CHECK_TEXT(got, want)                                                             \
  do {                                                                                    \
    if (strcmp((got), (want)) != 0) {                                                     \
      fprintf(stderr, "%s:%d: text differs\n--- got:\n%s--- want:\n%s---\n", __FILE__, __LINE__, \
              (got), (want));                                                             \
      ++failures;                                                                         \
    }                                                                                     \
  } while (0)

#endif
