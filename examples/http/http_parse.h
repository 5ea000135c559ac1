/* SPDX-License-Identifier: MIT */
/* http_parse.h: the HTTP/1.x request-head parser of examples/http_server.c, a
 * pure function over a byte buffer (no allocation, no I/O, no global state),
 * so the server, its unit test and its fuzz target share it. It is not a
 * general HTTP library: it parses what the example server needs.
 *
 * What it accepts (RFC 9112, strictly, with the choices written here):
 * - Any number of empty lines (CRLF) before the request line are skipped
 *   (RFC 9112 §2.2 says a server SHOULD ignore at least one).
 * - Request line: method SP request-target SP HTTP-version CRLF. The method
 *   is a token; the target is one or more visible ASCII characters; the
 *   version is "HTTP/" DIGIT "." DIGIT. Major versions other than 1 are
 *   HTTP_PARSE_BAD_VERSION (505).
 * - Header lines: field-name ":" OWS value OWS CRLF. The name is a token with
 *   no space before the colon; the value holds no control character but HTAB.
 *   Obsolete line folding, a bare LF or a bare CR are malformed (400).
 * - Lines end with CRLF only.
 * - HTTP/1.1 requires exactly one Host header; HTTP/1.0 allows at most one.
 * - Connection: a comma-separated list; "close" ends the connection after the
 *   response; "keep-alive" keeps an HTTP/1.0 connection open (HTTP/1.0
 *   closes by default, HTTP/1.1 keeps alive by default).
 * - Content-Length: the request has a body of that many bytes (the server
 *   reads it and throws it away). Several Content-Length fields, or a list,
 *   are accepted only when every value is the same (RFC 9110 §8.6); anything
 *   else, or a value above HTTP_MAX_BODY, is malformed or too large.
 * - Transfer-Encoding in a request is not supported: HTTP_PARSE_UNSUPPORTED
 *   (501 and close, which also rules out request smuggling with CL + TE).
 *
 * The head is everything up to and including the blank line that ends it;
 * one longer than `max_head` bytes is HTTP_PARSE_TOO_LARGE (431), decided as
 * soon as `max_head` bytes without an end are there. A line that is already
 * complete and malformed is reported at once, before the head is complete, so
 * a client sending garbage gets its 400 without waiting for a blank line. */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HTTP_MAX_HEAD 8192u          /* bytes of request line + headers + blank line */
#define HTTP_MAX_BODY (1u << 20)     /* request bodies above this are refused (413) */

typedef enum http_parse_status {
  HTTP_PARSE_OK = 0,          /* a complete, valid head: see http_request_t */
  HTTP_PARSE_INCOMPLETE,      /* valid so far; more bytes are needed */
  HTTP_PARSE_TOO_LARGE,       /* the head exceeds max_head: 431 */
  HTTP_PARSE_BAD,             /* malformed: 400 */
  HTTP_PARSE_BAD_VERSION,     /* well formed, but not HTTP/1.x: 505 */
  HTTP_PARSE_UNSUPPORTED,     /* Transfer-Encoding in a request: 501 */
  HTTP_PARSE_BODY_TOO_LARGE   /* Content-Length above HTTP_MAX_BODY: 413 */
} http_parse_status_t;

typedef enum http_method {
  HTTP_METHOD_OTHER = 0, /* any other token: the server answers 405 */
  HTTP_METHOD_GET,
  HTTP_METHOD_HEAD
} http_method_t;

typedef struct http_request {
  size_t head_len;         /* bytes of the head, leading empty lines included */
  const char *method;      /* points into the buffer; not NUL-terminated */
  size_t method_len;
  http_method_t method_id; /* GET, HEAD or OTHER */
  const char *target;      /* the request-target, into the buffer */
  size_t target_len;
  size_t path_len;         /* the target's length up to '?' or '#' */
  int version_minor;       /* 0 or 1 for HTTP/1.0, HTTP/1.1 (any digit) */
  int keep_alive;          /* 1: the connection stays open after the response */
  uint64_t content_length; /* body bytes that follow the head (0: none) */
} http_request_t;

/* Parse the request head at the front of buf[0, len), limited to max_head
 * bytes (0 means HTTP_MAX_HEAD). Fills *req only for HTTP_PARSE_OK; on
 * HTTP_PARSE_BAD_VERSION, _UNSUPPORTED and _BODY_TOO_LARGE req->version_minor
 * and req->head_len are set too (the server answers before it closes). Reads
 * no byte outside buf[0, min(len, max_head)]. */
http_parse_status_t http_parse_request(const char *buf, size_t len, size_t max_head,
                                       http_request_t *req);

/* A short name for a status ("ok", "incomplete", ...), never NULL. */
const char *http_parse_status_name(http_parse_status_t st);

#ifdef __cplusplus
}
#endif

#endif /* HTTP_PARSE_H */
