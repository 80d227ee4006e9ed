/*
 * http_call.c — the in-process test client (see di/http_call.h): an
 * adapter with no socket, whose request comes from a descriptor and whose
 * answer is copied out before the request ends.
 */
#include <string.h>
#include <strings.h>
#include <talloc.h>

#include "di_int.h"
#include "di/http_call.h"

#include "fault.h" /* test builds: allocation failure injection */

struct di_http_answer {
    int status;
    int outcome;
    char *body;
    size_t len;
    size_t nheaders;
    char **names, **values;  /* the Content-Type first */
};

/* The request's headers for the router: "Name: value" strings. */
static const char *lookup(void *ctx, int what, const char *name)
{
    const char *const *h = ctx;
    if (what != DI_HTTP_LOOKUP_HEADER || !h)
        return NULL;
    size_t n = strlen(name);
    for (; *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
            const char *v = *h + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    return NULL;
}

/* Copy r's answer into a. 0 or DI_ENOMEM. */
static int keep(di_http_answer *a, const di_http_req *r)
{
    const char *name, *value, *body = di_http_response(r, &a->len);
    size_t n = 0;
    while (di_http_response_header(r, n, &name, &value))
        n++;
    a->status = di_http_status(r);
    a->body = talloc_memdup(a, body, a->len + 1); /* with its NUL */
    a->names = talloc_array(a, char *, (unsigned)n + 1);
    a->values = talloc_array(a, char *, (unsigned)n + 1);
    if (!a->body || !a->names || !a->values)
        return DI_ENOMEM;
    a->names[0] = talloc_strdup(a, "Content-Type");
    a->values[0] = talloc_strdup(a, di_http_content_type(r));
    if (!a->names[0] || !a->values[0])
        return DI_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        di_http_response_header(r, i, &name, &value);
        a->names[i + 1] = talloc_strdup(a, name);
        a->values[i + 1] = talloc_strdup(a, value);
        if (!a->names[i + 1] || !a->values[i + 1])
            return DI_ENOMEM;
    }
    a->nheaders = n + 1;
    return 0;
}

int di_http_call(di_http *h, const di_http_call_desc *d, void *mem,
                 di_http_answer **out)
{
    if (out)
        *out = NULL;
    if (!h || !d || !d->method || !d->target || !out || (d->len && !d->body))
        return DI_EINVAL;
    for (const char *const *p = d->headers; p && *p; p++)
        if (!strchr(*p, ':'))
            return DI_EINVAL;
    di_http_answer *a = talloc_zero(mem, di_http_answer);
    if (!a)
        return DI_ENOMEM;
    di_http_req *r;
    int rc = di_http_begin(h, d->method, d->target, lookup,
                           (void *)d->headers, &r);
    if (rc) {
        talloc_free(a);
        return rc;
    }
    if (di_http_content_length(r, d->len) == 0 && d->len)
        di_http_append_body(r, d->body, d->len); /* a failure answers 500 */
    a->outcome = di_http_dispatch(r);
    rc = keep(a, r);
    di_http_end(r, 1);
    if (rc) {
        talloc_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int di_http_answer_status(const di_http_answer *a) { return a ? a->status : 0; }

int di_http_answer_outcome(const di_http_answer *a)
{
    return a ? a->outcome : DI_EINVAL;
}

const char *di_http_answer_body(const di_http_answer *a, size_t *len)
{
    if (len)
        *len = a ? a->len : 0;
    return a ? a->body : "";
}

const char *di_http_answer_header(const di_http_answer *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->nheaders; i++)
        if (strcasecmp(a->names[i], name) == 0)
            return a->values[i];
    return NULL;
}
