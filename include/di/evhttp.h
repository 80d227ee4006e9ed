/*
 * di/evhttp.h — libdi on libevent's evhttp (-ldi-evhttp, pkg-config
 * di-evhttp).
 *
 * Serves a di_http router (di/http.h) with evhttp. libevent 2.1 hands a
 * request over only once it has been read completely, so the request scope
 * begins then (a request whose body never arrives is dropped by libevent
 * before libdi sees it: nothing to end; a Content-Length above
 * DI_HTTP_BODY_MAX is refused by libevent itself with 413, before the body
 * and without "100 Continue", as the adapter sets evhttp's maximum body
 * size). The handler runs, the scope is settled (COMMIT or ROLLBACK, with
 * a look at the connection's socket first: a client that left rolls back),
 * the reply is queued, and the scope is freed exactly once:
 *   - from evhttp_request_set_on_complete_cb when the reply was sent;
 *   - from the connection's close callback when libevent drops the
 *     connection first — a client that went away, a write error, a timeout,
 *     the server being freed — because then the completion callback never
 *     fires (the settle stands: a commit is not undone).
 * What libevent lets through and a server must not serve is refused with
 * 400 before anything is resolved (di_http_reject()): conflicting
 * Content-Length headers, an HTTP/1.1 request without Host, and (by the
 * router) a path or query with an encoded NUL, '/' in a segment or a
 * control character. A NUL inside a header value cannot be seen: libevent
 * ends the value there before the adapter gets it.
 * Idle or slow clients hold a file descriptor each, not a thread: one
 * loop serves every connection, so they lock nobody out while the process
 * may open more files (RLIMIT_NOFILE) than there are clients; a connection
 * idle for timeout_s (30 s by default) is closed. libevent 2.1 has no hook
 * between accept and the request, so there is no per-address limit.
 * The loop thread blocks SIGPIPE, so that writing to a client that left
 * fails instead of killing the process. With an event loop of your own, do
 * that (or ignore SIGPIPE), set evhttp_set_max_body_size(http,
 * DI_HTTP_BODY_MAX), and allow every method with
 * evhttp_set_allowed_methods() (libevent refuses OPTIONS, TRACE, CONNECT
 * and PATCH by default; the adapter lets them reach the router, which
 * answers 405 with Allow where a path does not serve them).
 *
 *     di_evhttp *srv;
 *     di_evhttp_start(NULL, router, &(di_evhttp_options){ .port = 8080 }, &srv);
 *     ...
 *     di_evhttp_stop(srv);
 *
 * With an event loop of your own: evhttp_set_gencb(http, di_evhttp_handler,
 * router).
 *
 * Asynchronous providers (di/async.h): requests are dispatched with
 * di_http_dispatch_async(), so a provider that waits on the loop (a
 * database query, a timer) lets the one loop thread serve other requests
 * meanwhile; the answer leaves when every dispose (COMMIT) has finished.
 * Such a provider gets the loop as a dependency: make the event base
 * first, hand it to the container as a value and to the server as its
 * base, then seal and start:
 *
 *     evthread_use_pthreads();                // before the base is made
 *     struct event_base *base = event_base_new();
 *     di_provide_value(c, "event_base", "event_base", base);
 *     di_timer_ops timers;
 *     di_evhttp_timers(base, &timers);
 *     di_async_timers(c, &timers);            // for di_async_timeout()
 *     ... providers, routes, di_async_provider/consumer, seal ...
 *     di_evhttp_start(NULL, router, &(di_evhttp_options){ .port = 8080,
 *                     .base = base }, &srv);
 *
 * A create or dispose then runs on the loop's thread, and must finish its
 * handle from a callback of that loop.
 */
#ifndef DI_EVHTTP_H
#define DI_EVHTTP_H

#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>

#include "export.h"
#include "http.h"
#include "async.h"

DI_BEGIN_DECLS

typedef struct di_evhttp di_evhttp;

/* Seconds a connection may stay idle, by default. */
#define DI_EVHTTP_TIMEOUT 30

/* Server options. Unset fields are zero. */
typedef struct di_evhttp_options {
    uint16_t port;        /* 0: a free port, see di_evhttp_port() */
    const char *address;  /* address to bind, NULL: "0.0.0.0" */
    unsigned timeout_s;   /* idle connection timeout in seconds (reading a
                             request, writing its answer, keep-alive),
                             0: DI_EVHTTP_TIMEOUT */
    struct event_base *base; /* the loop to serve on (the caller's: made
                                before seal, so that providers can have it,
                                and freed after di_evhttp_stop()), or
                                NULL: one of the server's own */
} di_evhttp_options;

/*
 * di_evhttp_start — an event base (or o->base), an evhttp and a thread
 * running the loop, serving router h (container sealed). mem: talloc
 * parent of the server. It listens with the system's queue length
 * (SOMAXCONN, capped by net.core.somaxconn), not libevent's 128, so that a
 * burst of connections does not drop new clients' SYNs.
 * Returns 0; DI_EINVAL (also: o->base cannot be made wakeable from
 * another thread); DI_ENOTSEALED; DI_EBUSY (cannot bind); DI_ENOMEM.
 */
DI_EXPORT int di_evhttp_start(void *mem, di_http *h,
                              const di_evhttp_options *o, di_evhttp **out);
/*
 * di_evhttp_timers — timers on base for di_async_timers(): a timer is an
 * event of base, fired by its loop. Fills *out; returns 0 or DI_EINVAL.
 */
DI_EXPORT int di_evhttp_timers(struct event_base *base, di_timer_ops *out);
/* di_evhttp_port — the port it listens on. */
DI_EXPORT uint16_t di_evhttp_port(const di_evhttp *s);
/* di_evhttp_stop — stop the loop, free evhttp (which ends every request
 * still open, as abandoned) and the server. Returns 0 or DI_EINVAL. */
DI_EXPORT int di_evhttp_stop(di_evhttp *s);

/*
 * di_evhttp_shutdown — stop gracefully: close the listening socket (on the
 * loop's thread), let the requests in flight finish for up to timeout_ms
 * while the loop keeps serving them and new requests on open connections
 * are answered 503 (di_http_drain()), then stop as di_evhttp_stop():
 * requests still running then are rolled back and never answered 2xx.
 * Call it from another thread than the loop's. s is gone after.
 * Returns 0 when every request ended in time, else how many were still
 * running at the deadline; DI_EINVAL for NULL.
 */
DI_EXPORT int di_evhttp_shutdown(di_evhttp *s, unsigned timeout_ms);

/* The request callback, for an evhttp of your own; arg is the router. */
DI_EXPORT void di_evhttp_handler(struct evhttp_request *req, void *arg);

DI_END_DECLS

#endif /* DI_EVHTTP_H */
