/*
 * di/http.h — request-scoped injection for HTTP servers: routes whose
 * handlers are consumers, and the request/response object adapters fill.
 *
 * One router serves any host framework; the adapters (di/mhd.h,
 * di/civetweb.h, di/evhttp.h) only translate. For each request an adapter
 * calls di_http_begin() (a "request" scope is begun and the request is put
 * in it as the external provider "http_request"), feeds the body, calls
 * di_http_dispatch(), sends the response, and when the framework reports the
 * request complete calls di_http_end() exactly once.
 *
 * Truthful acknowledgement. di_http_dispatch() runs the handler and then,
 * *before* the adapter can queue the response, settles the request's scope
 * (di_scope_settle(): every dispose, in reverse creation order, with the
 * outcome — a transaction commits or rolls back here). If any dispose fails
 * (a COMMIT that times out, a ROLLBACK on a dead connection), the response
 * is replaced by 500 {"error": "the request's changes were not saved"},
 * its extra headers (a Location) are dropped, and each failure is logged
 * with its dependency path and message. So a client is never told "saved"
 * (2xx) for a write that was not committed. di_http_end() then only frees
 * the memory, once the response was delivered or the connection dropped.
 *
 * The outcome, one rule: a failure when the handler (or a dependency)
 * returned an error — any code, or DI_HTTP_ERROR(status) — or when the
 * response status is 400 or above, whatever the handler returned;
 * otherwise success (0). So a handler that answers 404 and returns 0 rolls
 * back too. The codes passed to the disposes:
 *
 *   0                      success: the transaction commits;
 *   the handler's code     when it (or a dependency) failed;
 *   DI_HTTP_ERROR(status)  when it returned 0 with a status >= 400, and for
 *                          the router's own 404, 405, 413 and 500 answers;
 *   DI_EABANDONED          when the client went away before the handler's
 *                          work was settled (see below), or the request
 *                          ended before it was dispatched (timeout, EOF
 *                          mid-body, server shutdown).
 *
 * A client that goes away. Where the adapter gave the router the
 * connection's socket (di_http_client_socket(): libmicrohttpd and libevent
 * do; civetweb has no way to reach it), the router looks at it just before
 * settling: end of file or a reset means the client left — as nginx and
 * uvicorn decide — and the request settles as DI_EABANDONED (rolled back)
 * with the answer 499 {"error": "the client closed the connection; the
 * request's changes were not saved"} (a client that only shut down its
 * sending side and still reads gets it). A response lost *after* the
 * settle cannot undo the commit: the write stands and the client does not
 * know. Make such writes safe to retry — the notes server honours an
 * Idempotency-Key header — and see di_http_delivered() in di_http_on_end()
 * hooks to log them.
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
 * Inputs are dependencies (di/model.h): a route that depends on
 * "body:<model>", "query:<model>" or "path:<model>" gets a struct of that
 * model filled from the request's JSON body, query arguments or path
 * parameters (typed by the model's fields) — "body:<model>[]" a
 * di_model_list of them from a JSON array — and one that depends on
 * "header:<name>" gets the header's value (a const char *). Each is a
 * request provider the router registers ("body.note_in", of type
 * "note_in"); seal checks that the models exist. An input that does not fit
 * answers 422 with FastAPI's list, {"detail": [{"loc": ["body", "title"],
 * "msg": "at most 200 characters", "type": "string_too_long"}, ...]}, and
 * the handler never runs; the inputs are checked in the route's dependency
 * order, and the first that does not fit answers (with all its problems).
 *
 * HTTP errors from anywhere: a provider's create (or a handler) returns
 * di_fail(b, DI_HTTP_ERROR(401), "missing bearer token"); the router
 * answers 401 with {"error": "missing bearer token"}. Any other failure is a
 * 500 with {"error": "internal error"}, and the full message with its
 * dependency path goes to the log hook (di/log.h: stderr by default).
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

/* An answer a route documents (di/openapi.h). Arrays end with status 0. */
typedef struct di_route_answer {
    int status;               /* 100..599 */
    const char *description;  /* required: "the note, created" */
    const char *model;        /* the JSON body's model, or NULL: none */
    int list;                 /* non-zero: a JSON array of model */
} di_route_answer;

/* A route. Unset fields are zero. */
typedef struct di_http_route_desc {
    const char *method;       /* required: "GET", "POST", ... */
    const char *path;         /* required: "/notes" or "/notes/{id}" */
    const char *const *deps;  /* NULL-terminated dependency names, or NULL */
    di_http_handler handler;  /* required */
    void *data;               /* handed to the handler */
    const char *level;        /* scope level of the requests: "request" */
    /* documentation only (di/openapi.h); all copied: */
    const char *summary;      /* one line, or NULL */
    const di_route_answer *responses; /* or NULL: "200" */
    int undocumented;         /* non-zero: left out of the document */
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
 * A documented response's model is checked at seal like an input's.
 * Returns 0; DI_EINVAL (missing field, path not starting with '/', bad
 * "{param}", a response without a description or a status outside
 * 100..599); DI_EEXIST (same method and path); DI_ESEALED; DI_ENOMEM.
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

/* What di_http_on_end() calls: ctx as given, the request, its outcome (the
 * code its scope was settled with, or DI_EDISPOSE when that settle failed
 * and the answer became a 500). */
typedef void (*di_http_end_fn)(void *ctx, const di_http_req *r, int outcome);
/*
 * di_http_on_end — call fn(ctx, r, outcome) when each request has ended:
 * after its scope was settled and freed, before r is freed. The method,
 * path, final status (a failed settle's 500 included) and
 * di_http_delivered() can be read; the scope cannot. For access logs and
 * metrics. Call before serving; NULL fn turns it off.
 */
DI_EXPORT void di_http_on_end(di_http *h, di_http_end_fn fn, void *ctx);

/*
 * di_http_drain — the router's half of a graceful shutdown; the adapters'
 * shutdown functions (di_mhd_shutdown(), di_evhttp_shutdown(),
 * di_civetweb_shutdown()) call it between "stop accepting" and "stop".
 * From now on a request that begins is answered 503 {"error": "the server
 * is shutting down"} without resolving anything; the call waits (polling,
 * from any thread but a request's) until every request begun before has
 * ended, or timeout_ms passed. At the deadline the requests still running
 * are marked: each settles as DI_EABANDONED when its handler returns — its
 * transaction rolls back — and its answer becomes 503 {"error": "the
 * server is shutting down; the request's changes were not saved"}; none
 * is answered 2xx for a write that is not kept. (A handler still running
 * is not interrupted: the adapter's stop waits for it.)
 * Returns how many requests were still running at the deadline (0: all
 * ended in time), or DI_EINVAL. Once called, the router stays shutting
 * down.
 */
DI_EXPORT long di_http_drain(di_http *h, unsigned timeout_ms);

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

/*
 * di_http_param_int, di_http_query_int — a path parameter or query argument
 * read as an integer in [lo, hi]. Only canonical decimal is accepted: an
 * optional '-' and digits, no leading zero (but "0"), no '+', no space,
 * nothing after — "+1", " 1", "01", "1x" and "" are not numbers.
 * Returns 0 with *out set; DI_ENOTFOUND when absent (for a query argument
 * *out is then def and 0 is returned); DI_EINVAL when not a number in
 * range. A handler answers 404 for a path id that is not one, 400 for a
 * query argument.
 */
DI_EXPORT int di_http_param_int(const di_http_req *r, const char *name,
                                long long lo, long long hi, long long *out);
/* di_http_query_int — the same for query argument name, def when it is
 * absent ("?n" with no '=' is present and empty: refused). */
DI_EXPORT int di_http_query_int(const di_http_req *r, const char *name,
                                long long lo, long long hi, long long def,
                                long long *out);

/*
 * di_http_check_json — check that the body is one JSON value in UTF-8 and
 * nothing after it: no invalid byte, overlong form or lone surrogate, no
 * control character inside a string, no duplicate key, nested at most 64
 * deep; a leading UTF-8
 * byte order mark is dropped from the body, as if it were not there.
 * Returns 0 (parse di_http_body() with any JSON library then), or answers
 * 400 {"error": "body:1:12: expected ..."} and returns DI_HTTP_ERROR(400)
 * for the handler to return.
 */
DI_EXPORT int di_http_check_json(di_http_req *r);
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
/*
 * di_http_content_length — the body length the request announced
 * (Content-Length), before any of it is read. Returns 0, or
 * DI_HTTP_ERROR(413) when it is above DI_HTTP_BODY_MAX: then call
 * di_http_dispatch() at once (it answers 413 without resolving anything)
 * and send that answer without reading the body — and without "100
 * Continue". DI_EINVAL for NULL.
 */
DI_EXPORT int di_http_content_length(di_http_req *r, unsigned long long n);
/*
 * di_http_append_body — more of the body. Past DI_HTTP_BODY_MAX the body is
 * dropped, 0 is returned and dispatch answers 413. When memory runs out the
 * body is dropped too and DI_ENOMEM returned (then and for every later
 * part): dispatch answers 500 and never runs the handler on a truncated
 * body.
 */
DI_EXPORT int di_http_append_body(di_http_req *r, const void *data, size_t len);
/*
 * di_http_reject — refuse the request at the door, before routing:
 * di_http_dispatch() then answers status (400-599) with {"error": why}
 * (why: static text, NULL for a default) and resolves nothing. The first
 * refusal stands. For what a framework lets through that a server must not
 * serve: conflicting Content-Length headers, HTTP/1.1 without Host, a NUL
 * in a header value. The router refuses by itself, with 400, a path with
 * an encoded '/' or a NUL or control character (decoded), and a query
 * argument with a NUL or control character.
 */
DI_EXPORT void di_http_reject(di_http_req *r, int status, const char *why);
/*
 * di_http_client_socket — the connection's socket, so that the router can
 * tell, just before settling, whether the client went away (see "A client
 * that goes away" above). Optional; call before di_http_dispatch(). The
 * router only peeks at it (recv with MSG_PEEK | MSG_DONTWAIT), never reads,
 * writes or closes it.
 */
DI_EXPORT void di_http_client_socket(di_http_req *r, int fd);
/*
 * di_http_dispatch — match the route, resolve its dependencies, run the
 * handler, set the response (404, 405 with Allow, 413, mapped
 * DI_HTTP_ERROR statuses, 500), then settle the request's scope with the
 * outcome (see above), turning the response into a 500 when a dispose
 * failed. Send the response only after it returns. Returns the outcome the
 * scope was settled with (0 or a failure code), or DI_EDISPOSE when the
 * settle failed. Call once.
 */
DI_EXPORT int di_http_dispatch(di_http_req *r);

/* What di_http_dispatch_async() calls when the answer is final: send it
 * then. outcome: as di_http_dispatch() returns. */
typedef void (*di_http_done_fn)(di_http_req *r, int outcome, void *arg);
/*
 * di_http_dispatch_async — di_http_dispatch() for an event loop: the
 * route's dependencies are resolved with di_resolve_async() (mark the
 * route's consumer, "METHOD path", with di_async_consumer() when it needs
 * asynchronous providers), the handler runs when they are ready, and the
 * scope is settled with di_scope_settle_async(): the answer is final only
 * after every dispose finished — a COMMIT that fails late still turns it
 * into a 500.
 * Returns DI_PENDING when done(r, outcome, arg) will be called (on the
 * loop's thread, exactly once), else the outcome at once (the answer is
 * final; done is not called); DI_EINVAL for NULL or a second dispatch.
 * di_http_end() may be called meanwhile (the client left): a resolution
 * still waiting is abandoned (its creates cancelled, the scope rolled
 * back); a settle with a dispose pending finishes first and the request
 * ends then; done is not called in either case.
 */
DI_EXPORT int di_http_dispatch_async(di_http_req *r, di_http_done_fn done,
                                     void *arg);
/*
 * di_http_handled — an asynchronous handler finished. Under
 * di_http_dispatch_async() a handler may return DI_PENDING (di/async.h)
 * when its own work waits on the loop — a query sent on the request's
 * session with PQsendQuery — and call this later, on the loop's thread,
 * exactly once, with what it would have returned (0, a failure code, or
 * DI_HTTP_ERROR(status)); its dependencies stay alive until then. The
 * request then goes on as if the handler had returned rc: the scope is
 * settled with the outcome and done() is called when the answer is final.
 * Called from inside the handler, before it returns DI_PENDING, it is as
 * if the handler had returned rc.
 * If the framework ends the request meanwhile (di_http_end(): the client
 * left), the request waits for the handler — its work uses the scope's
 * instances — and this call settles the scope as DI_EABANDONED (rolled
 * back) and ends the request; done is not called.
 * Under di_http_dispatch(), which cannot wait, a handler that returns
 * DI_PENDING without having called this fails the request: 500, outcome
 * DI_HTTP_ERROR(500), and a log line saying why.
 * Returns 0, or DI_EINVAL when r is NULL or its handler is not waiting
 * (a second call). r may be gone after the call (its request ended).
 */
DI_EXPORT int di_http_handled(di_http_req *r, int rc);
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
 * di_http_end — the framework is done with the request: free its scope and
 * the request. delivered: non-zero when the response was sent completely.
 * A request that was never dispatched (the body never arrived, a timeout,
 * a shutdown) is settled here first with DI_EABANDONED. Call exactly once
 * per di_http_begin(), whether or not dispatch ran. Returns 0, or
 * DI_EDISPOSE when that abandoning settle had failures (each logged with
 * its path through the log hook, di/log.h).
 */
DI_EXPORT int di_http_end(di_http_req *r, int delivered);
/*
 * di_http_delivered — whether the response was sent completely, as the
 * adapter told di_http_end(); 0 before that. A 2xx not delivered was still
 * committed.
 */
DI_EXPORT int di_http_delivered(const di_http_req *r);

DI_END_DECLS

#endif /* DI_HTTP_H */
