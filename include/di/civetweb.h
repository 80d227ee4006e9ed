/*
 * di/civetweb.h — libdi on civetweb (-ldi-civetweb, pkg-config di-civetweb).
 *
 * Serves a di_http router (di/http.h) with civetweb: one request handler
 * for every URI begins the request scope when civetweb has read the
 * headers, reads the body, dispatches (the scope is settled there: COMMIT
 * or ROLLBACK), writes the response and frees the scope — all on the worker
 * thread serving the request, so exactly once. A Content-Length above
 * DI_HTTP_BODY_MAX is answered 413 before any of the body is read (and the
 * connection closed); a body that never arrives (request_timeout_ms, EOF)
 * settles the scope as DI_EABANDONED.
 *
 * civetweb gives a handler no way to see its connection's socket, so a
 * client that leaves while the handler runs is noticed only when the
 * response is written, after the settle: its write stands (see "A client
 * that goes away" in di/http.h).
 *
 *     di_civetweb *srv;
 *     di_civetweb_start(NULL, router, &(di_civetweb_options){ .port = 8080 }, &srv);
 *     ...
 *     di_civetweb_stop(srv);
 *
 * What civetweb lets through and a server must not serve is refused with
 * 400 before anything is resolved (di_http_reject()): conflicting
 * Content-Length headers, an HTTP/1.1 request without Host, and (by the
 * router) a path with an encoded NUL or '/'; civetweb refuses a NUL in a
 * header itself.
 *
 * Each connection holds one of the worker threads until its request has
 * been read and answered, or timeout_s (30 s by default) passes: as many
 * idle clients as there are threads keep every other client waiting that
 * long, and civetweb 1.15 has no per-address limit. Face the internet with
 * a proxy in front, or use the libmicrohttpd or libevent adapter.
 *
 * To use your own mg_context, register di_civetweb_handler for "/" with the
 * router as its callback data, and set "decode_url" to "no" (so that the
 * router sees the path as the client sent it).
 */
#ifndef DI_CIVETWEB_H
#define DI_CIVETWEB_H

#include <stdint.h>
#include <civetweb.h>

#include "export.h"
#include "http.h"

DI_BEGIN_DECLS

typedef struct di_civetweb di_civetweb;

/* Server options. Unset fields are zero. */
typedef struct di_civetweb_options {
    uint16_t port;        /* 0: a free port, see di_civetweb_port() */
    const char *address;  /* numeric IPv4 address to bind, NULL: all */
    unsigned threads;     /* worker threads, 0: 8 */
    unsigned timeout_s;   /* read/write timeout in seconds, 0: 30 */
} di_civetweb_options;

/*
 * di_civetweb_start — start civetweb serving router h (container sealed).
 * mem: talloc parent of the server. Returns 0; DI_EINVAL; DI_ENOTSEALED;
 * DI_EBUSY (civetweb could not start: port taken...); DI_ENOMEM.
 */
DI_EXPORT int di_civetweb_start(void *mem, di_http *h,
                                const di_civetweb_options *o,
                                di_civetweb **out);
/* di_civetweb_port — the port it listens on. */
DI_EXPORT uint16_t di_civetweb_port(const di_civetweb *s);
/* di_civetweb_context — civetweb's context, for calls of your own. */
DI_EXPORT struct mg_context *di_civetweb_context(const di_civetweb *s);
/* di_civetweb_stop — stop civetweb (requests in flight finish and end) and
 * free the server. Returns 0 or DI_EINVAL. */
DI_EXPORT int di_civetweb_stop(di_civetweb *s);
/*
 * di_civetweb_shutdown — stop gracefully: let the requests in flight finish
 * for up to timeout_ms while new ones are answered 503 (di_http_drain();
 * civetweb cannot stop accepting without stopping, so connections are
 * still taken meanwhile), then stop as di_civetweb_stop(): requests still
 * running then are rolled back and never answered 2xx. s is gone after.
 * Returns 0 when every request ended in time, else how many were still
 * running at the deadline; DI_EINVAL for NULL.
 */
DI_EXPORT int di_civetweb_shutdown(di_civetweb *s, unsigned timeout_ms);

/* The request handler, for a context of your own; cbdata is the router. */
DI_EXPORT int di_civetweb_handler(struct mg_connection *conn, void *cbdata);

DI_END_DECLS

#endif /* DI_CIVETWEB_H */
