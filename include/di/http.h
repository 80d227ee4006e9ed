/*
 * di/http.h — request-scoped injection for HTTP servers: routes whose
 * handlers are consumers, and the request/response object adapters fill.
 *
 * One router serves any host framework; the adapters (di/mhd.h,
 * di/civetweb.h, di/evhttp.h) only translate. For each request an adapter
 * calls di_http_begin() (a "request" scope is begun and the request is put
 * in it as the external provider "http_request"), feeds the body, calls
 * di_http_dispatch(), sends the response, and when the framework reports the
 * request complete calls di_http_end() exactly once with whether the
 * response went out. The scope then ends with the outcome:
 *
 *   0                      the handler returned 0, the status is below 500
 *                          and the response was delivered;
 *   the handler's code     when it (or a dependency) failed;
 *   DI_HTTP_ERROR(status)  when the response is a 5xx;
 *   DI_EABANDONED          when the client went away or the framework gave
 *                          up (timeout, EOF, error) before delivery.
 *
 * So a transaction provider commits exactly when the client got a
 * successful answer, and rolls back otherwise.
 *
 * Routes are consumers named "METHOD /path/{param}" at level "request" (by
 * default): seal checks every handler's dependencies. Handlers:
 *
 *     static const char *const get_note_deps[] = { "session", "current_user", NULL };
 *     static int get_note(di_http_req *r, void *const *deps, void *data)
 *     {
 *         const char *id = di_http_param(r, "id");
 *         ...
 *         return di_http_respond(r, 200, "application/json", json, len);
 *     }
 *     di_http_route(h, &(di_http_route_desc){ .method = "GET",
 *         .path = "/notes/{id}", .deps = get_note_deps, .handler = get_note });
 *
 * HTTP errors from anywhere: a provider's create (or a handler) returns
 * di_fail(b, DI_HTTP_ERROR(401), "missing bearer token"); the router
 * answers 401 with {"error": "missing bearer token"}. Any other failure is a
 * 500 with {"error": "internal error"}, and the full message with its
 * dependency path goes to the router's log (stderr by default).
 *
 * Threads: routes are added before seal, on one thread. After seal any
 * number of threads may serve requests; each request belongs to one thread
 * at a time (the frameworks guarantee it).
 */
#ifndef DI_HTTP_H
#define DI_HTTP_H

#include <stddef.h>

#include "export.h"
#include "container.h"
#include "scope.h"
#include "live.h"

DI_BEGIN_DECLS

typedef struct di_http di_http;
typedef struct di_http_req di_http_req;

/* The outcome/return code that means "answer with this HTTP status". */
#define DI_HTTP_ERROR(status) (-100000 - (status))
/* The status in such a code, or 0 when code is not one. */
#define DI_HTTP_STATUS_OF(code) \
    ((code) <= -100100 && (code) >= -100599 ? -(code) - 100000 : 0)
/* The name and type of the external provider holding the request. */
#define DI_HTTP_REQUEST "http_request"
#define DI_HTTP_REQUEST_TYPE "di_http_req"
/* Largest request body accepted by default (413 beyond). */
#define DI_HTTP_BODY_MAX (1024u * 1024u)

/*
 * di_http_handler — serve one request. deps: the route's dependencies in
 * declared order. data: the route's data. Return 0, or a negative code
 * (DI_HTTP_ERROR(status) to choose the status); a handler that returns 0
 * without responding answers 204.
 */
typedef int (*di_http_handler)(di_http_req *r, void *const *deps, void *data);

/* A route. Unset fields are zero. */
typedef struct di_http_route_desc {
    const char *method;       /* required: "GET", "POST", ... */
    const char *path;         /* required: "/notes" or "/notes/{id}" */
    const char *const *deps;  /* NULL-terminated dependency names, or NULL */
    di_http_handler handler;  /* required */
    void *data;               /* handed to the handler */
    const char *level;        /* scope level of the requests: "request" */
} di_http_route_desc;

/*
 * di_http_new — a router for container c (unsealed). Declares the external
 * provider DI_HTTP_REQUEST at level "request", so providers can depend on
 * the request ("http_request:di_http_req").
 * mem: talloc parent; the router lives until it is freed (after the last
 * request ended and the framework stopped). Returns 0, DI_EINVAL, DI_ESEALED,
 * DI_EEXIST (the container already has "http_request"), DI_ENOMEM.
 */
DI_EXPORT int di_http_new(void *mem, di_container *c, di_http **out);

/*
 * di_http_route — add a route; registers the consumer "METHOD path".
 * Returns 0; DI_EINVAL (missing field, path not starting with '/', bad
 * "{param}"); DI_EEXIST (same method and path); DI_ESEALED; DI_ENOMEM.
 */
DI_EXPORT int di_http_route(di_http *h, const di_http_route_desc *d);

/* di_http_container — the container the router serves (with a live
 * handle: its current one). */
DI_EXPORT di_container *di_http_container(const di_http *h);

/*
 * di_http_wire — register on c (unsealed) what di_http_new() and
 * di_http_route() registered on the router's first container: the
 * DI_HTTP_REQUEST external and one consumer per route. For the next
 * container of a live handle (di/live.h). Returns 0 or the first failing
 * registration's code (its error is kept on c).
 */
DI_EXPORT int di_http_wire(const di_http *h, di_container *c);

/*
 * di_http_use_live — begin each request's scope with di_live_begin(l),
 * on the container current when the request starts, instead of on the
 * router's first container. Every container published to l must have been
 * wired with di_http_wire() (or be the first one). Call before serving;
 * the handle must outlive the router's requests.
 */
DI_EXPORT void di_http_use_live(di_http *h, di_live *l);

/*
 * di_http_set_log — where unexpected failures are reported: fn(ctx, line)
 * per failure, line without newline. NULL fn: stderr (the default).
 * Call before serving.
 */
DI_EXPORT void di_http_set_log(di_http *h,
                               void (*fn)(void *ctx, const char *line),
                               void *ctx);

/* What di_http_on_end() calls: ctx as given, the request, its outcome. */
typedef void (*di_http_end_fn)(void *ctx, const di_http_req *r, int outcome);
/*
 * di_http_on_end — call fn(ctx, r, outcome) when each request has ended:
 * after its scope's disposes ran, before r is freed (its method, path and
 * status can be read). For access logs and metrics. Call before serving;
 * NULL fn turns it off.
 */
DI_EXPORT void di_http_on_end(di_http *h, di_http_end_fn fn, void *ctx);

/* ---- for handlers and providers ---- */

DI_EXPORT const char *di_http_method(const di_http_req *r);
/* The path, without the query, percent-decoded. */
DI_EXPORT const char *di_http_path(const di_http_req *r);
/* A path parameter of the matched route ("{id}"), decoded; NULL if none. */
DI_EXPORT const char *di_http_param(const di_http_req *r, const char *name);
/* A query argument, decoded; NULL if absent. */
DI_EXPORT const char *di_http_query(const di_http_req *r, const char *name);
/* A request header (case-insensitive name); NULL if absent. */
DI_EXPORT const char *di_http_header(const di_http_req *r, const char *name);
/* The request body (NUL-terminated for convenience) and its length. */
DI_EXPORT const char *di_http_body(const di_http_req *r, size_t *len);
/* The request's scope: resolve more with di_get(). */
DI_EXPORT di_scope *di_http_scope(const di_http_req *r);

/*
 * di_http_respond — set the response (the last call wins). body is copied
 * (len bytes; NULL with 0 for none). content_type may be NULL.
 * Returns 0, DI_EINVAL (status outside 100..599) or DI_ENOMEM.
 */
DI_EXPORT int di_http_respond(di_http_req *r, int status,
                              const char *content_type, const void *body,
                              size_t len);
/* di_http_add_header — add a response header (Location, Cache-Control...).
 * Copied. Returns 0, DI_EINVAL or DI_ENOMEM. */
DI_EXPORT int di_http_add_header(di_http_req *r, const char *name,
                                 const char *value);

/* ---- for adapters ---- */

enum { DI_HTTP_LOOKUP_HEADER = 1, DI_HTTP_LOOKUP_QUERY = 2 };
/* How the router asks the framework for a header or (when the target given
 * to di_http_begin() has no '?') a query argument. Returns NULL if absent. */
typedef const char *(*di_http_lookup_fn)(void *ctx, int what,
                                         const char *name);

/*
 * di_http_begin — a request starts: begin its scope and put the request in
 * it. target: the path, optionally with "?query" (then the router parses
 * the query itself). lookup/ctx: see di_http_lookup_fn; ctx must stay valid
 * until di_http_dispatch() returns.
 * Returns 0, DI_EINVAL, DI_ENOTSEALED, DI_ENOMEM. *out is owned by the
 * adapter until di_http_end(); a request freed with talloc_free() instead
 * ends its scope with DI_EABANDONED.
 */
DI_EXPORT int di_http_begin(di_http *h, const char *method, const char *target,
                            di_http_lookup_fn lookup, void *ctx,
                            di_http_req **out);
/* di_http_append_body — more of the body. Past DI_HTTP_BODY_MAX the body is
 * dropped, 0 is returned and dispatch answers 413. */
DI_EXPORT int di_http_append_body(di_http_req *r, const void *data, size_t len);
/*
 * di_http_dispatch — match the route, resolve its dependencies, run the
 * handler, and settle the response (404, 405 with Allow, 413, mapped
 * DI_HTTP_ERROR statuses, 500). Returns the handler's outcome: 0 or the
 * failure code. Call once.
 */
DI_EXPORT int di_http_dispatch(di_http_req *r);
/* di_http_status — the response's status (0 before one is set). */
DI_EXPORT int di_http_status(const di_http_req *r);
/* di_http_content_type — the response's content type (never NULL). */
DI_EXPORT const char *di_http_content_type(const di_http_req *r);
/* di_http_response — the response body ("" when none) and its length;
 * owned by r, valid until di_http_end(). */
DI_EXPORT const char *di_http_response(const di_http_req *r, size_t *len);
/* Extra response headers: the i-th name and value, or 0 past the end. */
DI_EXPORT int di_http_response_header(const di_http_req *r, size_t i,
                                      const char **name, const char **value);
/*
 * di_http_end — the framework is done with the request: end its scope with
 * the outcome (see above) and free the request. delivered: non-zero when
 * the response was sent completely. Call exactly once per di_http_begin(),
 * whether or not dispatch ran. Returns what di_scope_end() returned.
 */
DI_EXPORT int di_http_end(di_http_req *r, int delivered);

DI_END_DECLS

#endif /* DI_HTTP_H */
