/* SPDX-License-Identifier: MIT */
/* http_parse_test.c: the HTTP request-head parser of examples/http_server.c
 * (examples/http/http_parse.c), case by case: complete, incomplete at every
 * split point, too large, malformed, versions, Connection and Content-Length
 * handling. C11, every warning an error. Exits non-zero on the first failure
 * count, naming each failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "support/c_check.h"

static http_parse_status_t parse(const char *s, http_request_t *r)
{
    memset(r, 0xAB, sizeof *r);
    return http_parse_request(s, strlen(s), 0, r);
}

static http_parse_status_t parse_only(const char *s)
{
    http_request_t r;
    return parse(s, &r);
}

/* Every proper prefix of a valid head is incomplete, never malformed. */
static void check_prefixes_incomplete(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; ++i) {
        http_request_t r;
        http_parse_status_t st = http_parse_request(s, i, 0, &r);
        if (st != HTTP_PARSE_INCOMPLETE) {
            fprintf(stderr, "prefix %zu of %zu: %s\n", i, n, http_parse_status_name(st));
            ++failures;
        }
    }
}

static void test_simple_get(void)
{
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    http_request_t r;
    CHECK(parse(s, &r) == HTTP_PARSE_OK);
    CHECK(r.head_len == strlen(s));
    CHECK(r.method_id == HTTP_METHOD_GET);
    CHECK(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);
    CHECK(r.target_len == 1 && r.target[0] == '/');
    CHECK(r.path_len == 1);
    CHECK(r.version_minor == 1);
    CHECK(r.keep_alive == 1);
    CHECK(r.content_length == 0);
    check_prefixes_incomplete(s);
}

static void test_pipelined_and_trailing_bytes(void)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHo";
    http_request_t r;
    CHECK(parse(s, &r) == HTTP_PARSE_OK);
    CHECK(r.head_len == strlen("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK(r.path_len == 2 && memcmp(r.target, "/a", 2) == 0);
    const char *rest = s + r.head_len;
    CHECK(http_parse_request(rest, strlen(rest), 0, &r) == HTTP_PARSE_INCOMPLETE);
}

static void test_methods_and_targets(void)
{
    http_request_t r;
    CHECK(parse("HEAD /x?y=1#z HTTP/1.1\r\nHost: a\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.method_id == HTTP_METHOD_HEAD);
    CHECK(r.target_len == 8 && r.path_len == 2);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", &r) ==
          HTTP_PARSE_OK);
    CHECK(r.method_id == HTTP_METHOD_OTHER && r.content_length == 5);
    CHECK(parse("get / HTTP/1.1\r\nHost: a\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.method_id == HTTP_METHOD_OTHER); /* methods are case-sensitive */
    CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(parse("GET /? HTTP/1.1\r\nHost: a\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.path_len == 1);
}

static void test_leading_empty_lines(void)
{
    http_request_t r;
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(parse(s, &r) == HTTP_PARSE_OK);
    CHECK(r.head_len == strlen(s));
    CHECK(r.method == s + 4);
    check_prefixes_incomplete(s);
    CHECK(parse_only("\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("\r\r") == HTTP_PARSE_BAD);
}

static void test_versions_and_keep_alive(void)
{
    http_request_t r;
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.version_minor == 0 && r.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.keep_alive == 1);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nconnection:  Upgrade ,CLOSE \r\n\r\n", &r) ==
          HTTP_PARSE_OK);
    CHECK(r.keep_alive == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.keep_alive == 1);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: \r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"x\"\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse("GET / HTTP/1.9\r\nHost: a\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.version_minor == 9 && r.keep_alive == 1);
    CHECK(parse("GET / HTTP/2.0\r\n", &r) == HTTP_PARSE_BAD_VERSION); /* early */
    CHECK(r.head_len == strlen("GET / HTTP/2.0\r\n"));
    CHECK(parse_only("GET / HTTP/0.9\r\n\r\n") == HTTP_PARSE_BAD_VERSION);
    CHECK(parse_only("GET / HTTP/1.10\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / http/1.1\r\nHost: a\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET /\r\n\r\n") == HTTP_PARSE_BAD); /* HTTP/0.9 */
}

static void test_host_rules(void)
{
    CHECK(parse_only("GET / HTTP/1.1\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost:\r\n\r\n") == HTTP_PARSE_OK);
    CHECK(parse_only("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n") == HTTP_PARSE_BAD);
}

static void test_content_length(void)
{
    http_request_t r;
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r) == HTTP_PARSE_OK);
    CHECK(r.content_length == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\nContent-length:7\r\n\r\n",
                &r) == HTTP_PARSE_OK);
    CHECK(r.content_length == 7);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n", &r) ==
          HTTP_PARSE_OK);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", &r) ==
          HTTP_PARSE_BODY_TOO_LARGE);
    CHECK(r.head_len > 0);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n") ==
          HTTP_PARSE_BODY_TOO_LARGE);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n") ==
          HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 7,8\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n") == HTTP_PARSE_BAD);
    CHECK(parse_only("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          HTTP_PARSE_UNSUPPORTED);
    CHECK(parse_only("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Length: 3\r\n\r\n") == HTTP_PARSE_UNSUPPORTED);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "garbage\r\n\r\n",
        "GET\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\rX",
        "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
        "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",               /* h2 preface: 505, see below */
    };
    for (size_t i = 0; i + 1 < sizeof bad / sizeof bad[0]; ++i) {
        http_parse_status_t st = parse_only(bad[i]);
        if (st != HTTP_PARSE_BAD) {
            fprintf(stderr, "bad[%zu]: got %s\n", i, http_parse_status_name(st));
            ++failures;
        }
    }
    CHECK(parse_only(bad[sizeof bad / sizeof bad[0] - 1]) == HTTP_PARSE_BAD_VERSION);
    /* Garbage is refused before any line end. */
    CHECK(parse_only("garb(age") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHo(st") == HTTP_PARSE_BAD);
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a b") == HTTP_PARSE_INCOMPLETE);
    /* obs-text in a value is allowed. */
    CHECK(parse_only("GET / HTTP/1.1\r\nHost: a\r\nX-Y: caf\xc3\xa9\r\n\r\n") == HTTP_PARSE_OK);
}

static void test_limits(void)
{
    static char buf[HTTP_MAX_HEAD + 64];
    const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
    size_t n = strlen(start);
    memcpy(buf, start, n);
    /* A head of exactly HTTP_MAX_HEAD bytes is accepted ... */
    size_t fill = HTTP_MAX_HEAD - n - 4;
    memset(buf + n, 'x', fill);
    memcpy(buf + n + fill, "\r\n\r\n", 4);
    http_request_t r;
    CHECK(http_parse_request(buf, HTTP_MAX_HEAD, 0, &r) == HTTP_PARSE_OK);
    CHECK(r.head_len == HTTP_MAX_HEAD);
    /* ... with more bytes behind it too, and incomplete while short. */
    CHECK(http_parse_request(buf, sizeof buf, 0, &r) == HTTP_PARSE_OK);
    CHECK(http_parse_request(buf, HTTP_MAX_HEAD - 1, 0, &r) == HTTP_PARSE_INCOMPLETE);
    /* One byte more is too large, as soon as max_head bytes are there. */
    memset(buf + n, 'x', fill + 1);
    memcpy(buf + n + fill + 1, "\r\n\r\n", 4);
    CHECK(http_parse_request(buf, HTTP_MAX_HEAD, 0, &r) == HTTP_PARSE_TOO_LARGE);
    CHECK(http_parse_request(buf, sizeof buf, 0, &r) == HTTP_PARSE_TOO_LARGE);
    CHECK(http_parse_request(buf, HTTP_MAX_HEAD - 1, 0, &r) == HTTP_PARSE_INCOMPLETE);
    /* A smaller limit. */
    CHECK(http_parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 26, &r) ==
          HTTP_PARSE_TOO_LARGE);
    CHECK(http_parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 27, &r) == HTTP_PARSE_OK);
    /* Empty input. */
    CHECK(http_parse_request("", 0, 0, &r) == HTTP_PARSE_INCOMPLETE);
}

/* The RFCs' character classes, written out here independently of the
 * parser's table: tchar (RFC 9110 §5.6.2), a field value's bytes (no control
 * character but HTAB; obs-text allowed) and a request-target's (visible
 * ASCII). */
static int ref_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ref_value(int c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int ref_target(int c)
{
    return c > 0x20 && c < 0x7f;
}

/* Every byte, in a method, a header name, a header value and a target:
 * accepted exactly where its class allows it. */
static void test_every_byte(void)
{
    for (int c = 0; c < 256; ++c) {
        char s[64];
        const char ch = (char)c;
        int n;

        n = snprintf(s, sizeof s, "G%cT / HTTP/1.1\r\nHost: a\r\n\r\n", ch);
        http_parse_status_t st = http_parse_request(s, (size_t)n, 0, &(http_request_t){0});
        if ((st == HTTP_PARSE_OK) != ref_tchar(c)) {
            fprintf(stderr, "byte 0x%02x in a method: %s\n", c, http_parse_status_name(st));
            ++failures;
        }

        n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: a\r\nX%cY: v\r\n\r\n", ch);
        st = http_parse_request(s, (size_t)n, 0, &(http_request_t){0});
        /* A colon ends the name instead: "X", then the value "Y: v". */
        if ((st == HTTP_PARSE_OK) != (ref_tchar(c) || c == ':')) {
            fprintf(stderr, "byte 0x%02x in a header name: %s\n", c, http_parse_status_name(st));
            ++failures;
        }

        n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: a\r\nX: v%cv\r\n\r\n", ch);
        st = http_parse_request(s, (size_t)n, 0, &(http_request_t){0});
        /* CR and LF end the line instead: "v" then a malformed line. */
        if ((st == HTTP_PARSE_OK) != (ref_value(c) && c != '\r' && c != '\n')) {
            fprintf(stderr, "byte 0x%02x in a header value: %s\n", c, http_parse_status_name(st));
            ++failures;
        }

        n = snprintf(s, sizeof s, "GET /a%cb HTTP/1.1\r\nHost: a\r\n\r\n", ch);
        st = http_parse_request(s, (size_t)n, 0, &(http_request_t){0});
        if ((st == HTTP_PARSE_OK) != ref_target(c)) {
            fprintf(stderr, "byte 0x%02x in a target: %s\n", c, http_parse_status_name(st));
            ++failures;
        }
    }
}

int main(void)
{
    test_every_byte();
    test_simple_get();
    test_pipelined_and_trailing_bytes();
    test_methods_and_targets();
    test_leading_empty_lines();
    test_versions_and_keep_alive();
    test_host_rules();
    test_content_length();
    test_malformed();
    test_limits();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("http_parse_test: all checks passed\n");
    return 0;
}
