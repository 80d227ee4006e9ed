/*
 * fuzz_http.c — libFuzzer target: the router at the door. Input: a target
 * (path and query as a client sends them) up to the first newline, then a
 * body. The request goes through a router with parameter routes, and the
 * handler reads every parameter and query argument with the canonical
 * integer helpers. What must hold, beyond no crash, leak or hang:
 *   - a request that reaches a handler has a decoded path with no NUL and
 *     no control character, and query values without them either;
 *   - an integer the helpers accept prints back as the very text given
 *     (canonical decimal), and lies within the bounds asked.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

#include "fuzz.h"

static di_container *c;
static di_http *h;

static void clean_or_die(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort();
}

static void check_int(const char *text, int rc, long long v, long long lo,
                      long long hi)
{
    if (rc || !text)
        return;
    char back[32];
    snprintf(back, sizeof back, "%lld", v);
    if (strcmp(back, text) != 0 || v < lo || v > hi)
        abort(); /* accepted what is not canonical, or out of range */
}

static int handler(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    clean_or_die(di_http_path(r));
    static const char *const names[] = { "id", "x", "n", "limit", "" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        long long v = 0;
        const char *p = di_http_param(r, names[i]);
        clean_or_die(p);
        int rc = di_http_param_int(r, names[i], -1000, LLONG_MAX, &v);
        check_int(p, rc, v, -1000, LLONG_MAX);
        const char *q = di_http_query(r, names[i]);
        clean_or_die(q);
        rc = di_http_query_int(r, names[i], LLONG_MIN, 99, 7, &v);
        check_int(q, rc, v, LLONG_MIN, 99);
        if (!q && (rc || v != 7))
            abort(); /* absent: the default */
    }
    di_http_check_json(r);
    return di_http_respond(r, 200, "text/plain", "ok", 2);
}

static int setup(void)
{
    if (di_container_new(NULL, &c) || di_http_new(c, c, &h))
        return -1;
    static const char *const paths[] = { "/notes/{id}", "/a/{x}/b/{n}",
                                         "/notes", "/{limit}", "/" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (di_http_route(h, &(di_http_route_desc){ .method = "POST",
                .path = paths[i], .handler = handler }))
            return -1;
    return di_container_seal(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!c && setup())
        abort();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    char *target = fuzz_text(data, tlen);
    if (!target)
        return 0;
    di_http_req *r;
    if (di_http_begin(h, "POST", target, NULL, NULL, &r) == 0) {
        if (nl)
            di_http_append_body(r, nl + 1, size - tlen - 1);
        di_http_dispatch(r);
        di_http_end(r, 1);
    }
    free(target);
    return 0;
}
