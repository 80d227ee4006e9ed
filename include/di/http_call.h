/*
 * di/http_call.h — the in-process test client: run one request through a
 * router and the whole request-scope lifecycle, without a socket, and read
 * the answer. With di_override*() it is FastAPI's TestClient together with
 * dependency_overrides, usable from CUnit or any test runner:
 *
 *     di_http_answer *a;
 *     di_http_call(router, &(di_http_call_desc){ .method = "POST",
 *         .target = "/notes", .headers = (const char *[]){
 *             "Authorization: Bearer alice-token", NULL },
 *         .body = "{\"title\":\"x\"}", .len = 13 }, mem, &a);
 *     assert(di_http_answer_status(a) == 201);
 *     assert(strcmp(di_http_answer_header(a, "Location"), "/notes/1") == 0);
 *
 * What runs is what an adapter runs (di/http.h): the request scope is
 * begun, the route matched, its dependencies resolved, the handler called,
 * the scope settled with the outcome before the answer is final (a COMMIT
 * that fails turns a 201 into a 500, and is logged), then the scope is
 * freed as after a delivered answer. The router's di_http_on_end() hook
 * runs too. The dispatch is synchronous (di_http_dispatch()): a route whose
 * providers wait on a loop is tested with those providers overridden by
 * synchronous mocks.
 *
 * Threads: as any request; calls on one router may run on several threads
 * at once.
 */
#ifndef DI_HTTP_CALL_H
#define DI_HTTP_CALL_H

#include <stddef.h>

#include "export.h"
#include "http.h"

DI_BEGIN_DECLS

/* A request. Unset fields are zero. */
typedef struct di_http_call_desc {
    const char *method;          /* required: "GET", "POST", ... */
    const char *target;          /* required: the path, with "?query" */
    const char *const *headers;  /* "Name: value" strings, NULL-terminated,
                                    or NULL (a name without ':' is refused) */
    const void *body;            /* len bytes, or NULL */
    size_t len;
} di_http_call_desc;

/* The answer to one call. Opaque; a talloc child of the mem given to
 * di_http_call(), freed with it. */
typedef struct di_http_answer di_http_answer;

/*
 * di_http_call — run request d through router h (its container sealed) and
 * keep the answer in *out, allocated on mem (a talloc context, NULL for
 * none: free it with talloc_free()).
 * Returns 0 when the request ran, whatever it answered (read the status);
 * DI_EINVAL (NULL, no method or target, a header without ':');
 * DI_ENOTSEALED; DI_ENOMEM. The request's own failures are answers (404,
 * 500) and its outcome (di_http_answer_outcome()).
 */
DI_EXPORT int di_http_call(di_http *h, const di_http_call_desc *d, void *mem,
                           di_http_answer **out);

/* The status (200, 404, ...). */
DI_EXPORT int di_http_answer_status(const di_http_answer *a);
/* The body (NUL-terminated; "" for none) and its length in *len (may be
 * NULL). Owned by a. */
DI_EXPORT const char *di_http_answer_body(const di_http_answer *a,
                                          size_t *len);
/* A response header by name, case-insensitive ("Content-Type" included),
 * or NULL. The first of several. Owned by a. */
DI_EXPORT const char *di_http_answer_header(const di_http_answer *a,
                                            const char *name);
/* The code the request's scope was settled with (di_http_dispatch()'s
 * return: 0, the failure, DI_HTTP_ERROR(status), or DI_EDISPOSE when the
 * settle failed and the answer became a 500). */
DI_EXPORT int di_http_answer_outcome(const di_http_answer *a);

DI_END_DECLS

#endif /* DI_HTTP_CALL_H */
