/* SPDX-License-Identifier: MIT */
/* http_parse_fuzz.c: libFuzzer target for the HTTP request-head parser of
 * examples/http_server.c (examples/http/http_parse.c). Besides the sanitizers'
 * checks (every input is copied into a buffer of exactly its size, so a read
 * past the end is an ASan report), it checks the parser's own promises:
 * results are deterministic, pointers stay inside the buffer, head_len stays
 * within the limit, an accepted head parses the same on its own, its last
 * byte missing makes it incomplete, and a smaller limit never accepts more.
 *
 * Built only with clang: cmake -DASYNC_BUILD_FUZZERS=ON (see .ci/run's fuzz
 * stage). The same function also runs over the committed corpus in every
 * build through fuzz_replay_main.c (ctest: fuzz.http_parse_corpus). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define FUZZ_CHECK(cond)                                                            \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void check_one(const char *buf, size_t len, size_t max_head)
{
    http_request_t r, r2;
    http_parse_status_t st = http_parse_request(buf, len, max_head, &r);
    FUZZ_CHECK(http_parse_request(buf, len, max_head, &r2) == st);
    size_t limit = max_head ? max_head : HTTP_MAX_HEAD;
    if (st == HTTP_PARSE_TOO_LARGE)
        FUZZ_CHECK(len >= limit);
    if (st == HTTP_PARSE_INCOMPLETE)
        FUZZ_CHECK(len < limit);
    if (st != HTTP_PARSE_OK)
        return;
    FUZZ_CHECK(r.head_len >= 16 && r.head_len <= len && r.head_len <= limit);
    FUZZ_CHECK(memcmp(buf + r.head_len - 4, "\r\n\r\n", 4) == 0);
    FUZZ_CHECK(inside(r.method, r.method_len, buf, r.head_len) && r.method_len > 0);
    FUZZ_CHECK(inside(r.target, r.target_len, buf, r.head_len) && r.target_len > 0);
    FUZZ_CHECK(r.path_len <= r.target_len);
    FUZZ_CHECK(r.target > r.method);
    FUZZ_CHECK(r.keep_alive == 0 || r.keep_alive == 1);
    FUZZ_CHECK(r.version_minor >= 0 && r.version_minor <= 9);
    FUZZ_CHECK(r.content_length <= HTTP_MAX_BODY);
    FUZZ_CHECK(r.method_id != HTTP_METHOD_GET || (r.method_len == 3 && !memcmp(r.method, "GET", 3)));
    FUZZ_CHECK(r.method_id != HTTP_METHOD_HEAD || (r.method_len == 4 && !memcmp(r.method, "HEAD", 4)));

    /* The head alone, in a buffer of its own size, parses the same. */
    char *head = malloc(r.head_len);
    FUZZ_CHECK(head != NULL);
    memcpy(head, buf, r.head_len);
    FUZZ_CHECK(http_parse_request(head, r.head_len, max_head, &r2) == HTTP_PARSE_OK);
    FUZZ_CHECK(r2.head_len == r.head_len && r2.keep_alive == r.keep_alive &&
               r2.content_length == r.content_length && r2.method_id == r.method_id &&
               r2.target_len == r.target_len && r2.version_minor == r.version_minor);
    /* Without its last byte it is incomplete. */
    FUZZ_CHECK(http_parse_request(head, r.head_len - 1, max_head, &r2) == HTTP_PARSE_INCOMPLETE);
    /* A limit one byte under the head refuses it as too large. */
    FUZZ_CHECK(http_parse_request(head, r.head_len, r.head_len - 1, &r2) == HTTP_PARSE_TOO_LARGE);
    free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: one byte read past the end is an ASan report. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    check_one(buf, size, 0);
    /* A small limit, taken from the input's length, exercises TOO_LARGE. */
    check_one(buf, size, size / 2 + 1);
    free(buf);
    return 0;
}
