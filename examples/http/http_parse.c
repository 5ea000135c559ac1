/* SPDX-License-Identifier: MIT */
/* http_parse.c: the HTTP/1.x request-head parser (see http_parse.h for what
 * it accepts). One pass, line by line, with memchr for the line ends. */
#include "http_parse.h"

#include <string.h>

/* What each byte may be, one table lookup per byte (the parser runs once
 * per request; a test per class made it 605 instructions for a 41-byte GET):
 * C_TCHAR, a token's character (tchar, RFC 9110 §5.6.2: ALPHA, DIGIT and
 * !#$%&'*+-.^_`|~); C_VALUE, a field value's (field-vchar, SP and HTAB,
 * obs-text included: no control character but HTAB); C_TARGET, a
 * request-target's (visible ASCII). */
enum { C_TCHAR = 1, C_VALUE = 2, C_TARGET = 4 };
static const unsigned char char_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 0x20 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 0x30 */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x40 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7, /* 0x50 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x60 */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

static int is_tchar(unsigned char c)
{
    return (char_class[c] & C_TCHAR) != 0;
}

static int is_value_char(unsigned char c)
{
    return (char_class[c] & C_VALUE) != 0;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive comparison of s[0, n) with the lower-case literal `lit`. */
static int name_is(const char *s, size_t n, const char *lit, size_t lit_len)
{
    if (n != lit_len)
        return 0;
    for (size_t i = 0; i < n; ++i)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}
#define NAME_IS(s, n, lit) name_is((s), (n), (lit), sizeof(lit) - 1)

/* Connection: a comma-separated list of tokens with optional whitespace.
 * Sets *close / *keep for "close" / "keep-alive". Returns 0 when malformed. */
static int parse_connection(const char *v, size_t n, int *close, int *keep)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            ++i;
        if (i == n)
            return 1;
        size_t start = i;
        while (i < n && is_tchar((unsigned char)v[i]))
            ++i;
        if (i == start)
            return 0; /* not a token */
        if (NAME_IS(v + start, i - start, "close"))
      *close = 1;
        else if (NAME_IS(v + start, i - start, "keep-alive"))
      *keep = 1;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            ++i;
        if (i < n && v[i] != ',')
            return 0;
    }
}

/* Content-Length: 1*DIGIT, or a list of identical ones. Values above
 * HTTP_MAX_BODY saturate at HTTP_MAX_BODY + 1 (the caller refuses them).
 * *seen says whether an earlier field gave *value already. Returns 0 when
 * malformed or when two values differ. */
static int parse_content_length(const char *v, size_t n, int *seen, uint64_t *value)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            ++i;
        size_t start = i;
        uint64_t x = 0;
        while (i < n && v[i] >= '0' && v[i] <= '9') {
            if (x <= HTTP_MAX_BODY)
                x = x * 10 + (uint64_t)(v[i] - '0');
            ++i;
        }
        if (i == start)
            return 0; /* empty element, a sign, or another character */
        if (x > HTTP_MAX_BODY)
            x = (uint64_t)HTTP_MAX_BODY + 1;
        if (*seen && x != *value)
            return 0;
    *seen = 1;
    *value = x;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            ++i;
        if (i == n)
            return 1;
        if (v[i] != ',')
            return 0;
        ++i;
    }
}

/* The request line without its CRLF: method SP target SP HTTP/d.d */
static http_parse_status_t parse_request_line(const char *s, size_t n, http_request_t *req)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        ++i;
    if (i == 0 || i == n || s[i] != ' ')
        return HTTP_PARSE_BAD;
    req->method = s;
    req->method_len = i;
    if (i == 3 && memcmp(s, "GET", 3) == 0) /* methods are case-sensitive */
        req->method_id = HTTP_METHOD_GET;
    else if (i == 4 && memcmp(s, "HEAD", 4) == 0)
        req->method_id = HTTP_METHOD_HEAD;
    else
        req->method_id = HTTP_METHOD_OTHER;

    size_t t = ++i;
    size_t path_end = 0;
    while (i < n && s[i] != ' ') {
        unsigned char c = (unsigned char)s[i];
        if (!(char_class[c] & C_TARGET))
            return HTTP_PARSE_BAD;
        if (!path_end && (c == '?' || c == '#'))
            path_end = i;
        ++i;
    }
    if (i == t || i == n)
        return HTTP_PARSE_BAD;
    req->target = s + t;
    req->target_len = i - t;
    req->path_len = (path_end ? path_end : i) - t;

    ++i; /* the SP */
    if (n - i != 8 || memcmp(s + i, "HTTP/", 5) != 0 || s[i + 5] < '0' || s[i + 5] > '9' ||
        s[i + 6] != '.' || s[i + 7] < '0' || s[i + 7] > '9')
        return HTTP_PARSE_BAD;
    req->version_minor = s[i + 7] - '0';
    if (s[i + 5] != '1')
        return HTTP_PARSE_BAD_VERSION;
    return HTTP_PARSE_OK;
}

/* The first bytes of a request line that has no end yet: a method that is not
 * a token is malformed already. */
static int partial_line_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ')
            return i > 0;
        if (!is_tchar(c))
            return 0;
    }
    return 1;
}

http_parse_status_t http_parse_request(const char *buf, size_t len, size_t max_head,
                                       http_request_t *req)
{
    if (max_head == 0)
        max_head = HTTP_MAX_HEAD;
    const size_t limit = len < max_head ? len : max_head;
    const http_parse_status_t short_of_end =
        len >= max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
    http_request_t r;
    memset(&r, 0, sizeof r);

    /* Empty lines before the request line. */
    size_t pos = 0;
    while (pos < limit && buf[pos] == '\r') {
        if (pos + 1 == limit)
            return short_of_end;
        if (buf[pos + 1] != '\n')
            return HTTP_PARSE_BAD;
        pos += 2;
    }
    if (pos < limit && buf[pos] == '\n')
        return HTTP_PARSE_BAD;

    /* The request line. */
    const char *nl = memchr(buf + pos, '\n', limit - pos);
    if (!nl)
        return partial_line_ok(buf + pos, limit - pos) ? short_of_end : HTTP_PARSE_BAD;
    size_t end = (size_t)(nl - buf);
    if (end == pos || buf[end - 1] != '\r')
        return HTTP_PARSE_BAD;
    http_parse_status_t st = parse_request_line(buf + pos, end - 1 - pos, &r);
    if (st == HTTP_PARSE_BAD_VERSION) {
        req->version_minor = r.version_minor;
        req->head_len = end + 1;
        return st;
    }
    if (st != HTTP_PARSE_OK)
        return st;
    pos = end + 1;

    /* Header lines up to the empty line. */
    int hosts = 0, conn_close = 0, conn_keep = 0, cl_seen = 0, te = 0;
    uint64_t cl = 0;
    for (;;) {
        if (pos == limit)
            return short_of_end;
        if (buf[pos] == '\r') {
            if (pos + 1 == limit)
                return short_of_end;
            if (buf[pos + 1] != '\n')
                return HTTP_PARSE_BAD;
            pos += 2;
            break;
        }
        if (buf[pos] == ' ' || buf[pos] == '\t')
            return HTTP_PARSE_BAD; /* obs-fold, or whitespace before the first name */
        nl = memchr(buf + pos, '\n', limit - pos);
        if (!nl) {
            /* Check the name seen so far, so garbage is refused early. */
            for (size_t i = pos; i < limit && buf[i] != ':'; ++i)
                if (!is_tchar((unsigned char)buf[i]))
                    return HTTP_PARSE_BAD;
            return short_of_end;
        }
        end = (size_t)(nl - buf);
        if (buf[end - 1] != '\r')
            return HTTP_PARSE_BAD;
        const char *line = buf + pos;
        size_t line_len = end - 1 - pos;
        size_t name_len = 0;
        while (name_len < line_len && is_tchar((unsigned char)line[name_len]))
            ++name_len;
        if (name_len == 0 || name_len == line_len || line[name_len] != ':')
            return HTTP_PARSE_BAD;
        size_t v = name_len + 1, ve = line_len;
        for (size_t i = v; i < ve; ++i)
            if (!is_value_char((unsigned char)line[i]))
                return HTTP_PARSE_BAD;
        while (v < ve && (line[v] == ' ' || line[v] == '\t'))
            ++v;
        while (ve > v && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
            --ve;
        const char *value = line + v;
        size_t value_len = ve - v;

        switch (name_len) {
        case 4:
            if (NAME_IS(line, name_len, "host"))
                ++hosts;
            break;
        case 10:
            if (NAME_IS(line, name_len, "connection") &&
                !parse_connection(value, value_len, &conn_close, &conn_keep))
                return HTTP_PARSE_BAD;
            break;
        case 14:
            if (NAME_IS(line, name_len, "content-length") &&
                !parse_content_length(value, value_len, &cl_seen, &cl))
                return HTTP_PARSE_BAD;
            break;
        case 17:
            if (NAME_IS(line, name_len, "transfer-encoding"))
                te = 1;
            break;
        default:
            break;
        }
        pos = end + 1;
    }

    if (hosts > 1 || (hosts == 0 && r.version_minor >= 1))
        return HTTP_PARSE_BAD; /* RFC 9112 §3.2 */
    r.head_len = pos;
    r.keep_alive = !conn_close && (r.version_minor >= 1 || conn_keep);
    r.content_length = cl;
    if (te || cl > HTTP_MAX_BODY) {
        req->version_minor = r.version_minor;
        req->head_len = r.head_len;
        return te ? HTTP_PARSE_UNSUPPORTED : HTTP_PARSE_BODY_TOO_LARGE;
    }
  *req = r;
    return HTTP_PARSE_OK;
}

const char *http_parse_status_name(http_parse_status_t st)
{
    switch (st) {
    case HTTP_PARSE_OK: return "ok";
    case HTTP_PARSE_INCOMPLETE: return "incomplete";
    case HTTP_PARSE_TOO_LARGE: return "too large";
    case HTTP_PARSE_BAD: return "bad";
    case HTTP_PARSE_BAD_VERSION: return "bad version";
    case HTTP_PARSE_UNSUPPORTED: return "unsupported";
    case HTTP_PARSE_BODY_TOO_LARGE: return "body too large";
    }
    return "unknown";
}
