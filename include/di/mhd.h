/*
 * di/mhd.h — libdi on libmicrohttpd (-ldi-mhd, pkg-config di-mhd).
 *
 * Serves a di_http router (di/http.h) with a libmicrohttpd daemon: each
 * request begins a "request" scope when MHD first calls the access handler;
 * a Content-Length above DI_HTTP_BODY_MAX is answered 413 right then,
 * before any of the body is read and without "100 Continue"; the handler
 * runs when the body is in, and the scope is settled (COMMIT or ROLLBACK)
 * before the response is queued. The router watches the connection's
 * socket, so a client that left while the handler ran rolls back (see
 * di/http.h). MHD's completion notification (MHD_OPTION_NOTIFY_COMPLETED)
 * frees the request exactly once; a request that never reached its
 * handler (timeout, client gone mid-body, daemon shutdown) is settled there
 * with DI_EABANDONED.
 *
 *     di_mhd *srv;
 *     di_mhd_start(NULL, router, &(di_mhd_options){ .port = 8080 }, &srv);
 *     ...
 *     di_mhd_stop(srv);
 *
 * What MHD lets through and a server must not serve is refused with 400
 * before anything is resolved (di_http_reject()): conflicting
 * Content-Length headers, an HTTP/1.1 request without Host, and (by the
 * router) a path or query with an encoded NUL, '/' in a segment or a
 * control character. A NUL inside a header value cannot be seen:
 * libmicrohttpd 0.9.75 ends the value there before the adapter gets it.
 * Each client address may hold at most per_address connections (64 by
 * default), so that idle or slow clients from one address cannot lock the
 * others out; a connection idle for timeout_s (30 s by default) is closed.
 *
 * To run your own daemon instead, pass di_mhd_access as the access handler,
 * di_mhd_completed as MHD_OPTION_NOTIFY_COMPLETED and di_mhd_uri as
 * MHD_OPTION_URI_LOG_CALLBACK (so that the router sees the target as the
 * client sent it, query included), all with the router as their closure,
 * and set MHD_OPTION_PER_IP_CONNECTION_LIMIT.
 */
#ifndef DI_MHD_H
#define DI_MHD_H

#include <stdint.h>
#include <microhttpd.h>

#include "export.h"
#include "http.h"

DI_BEGIN_DECLS

typedef struct di_mhd di_mhd;

/* Server options. Unset fields are zero. */
/* Connections one client address may hold at once, by default: slow or
 * idle clients from one address cannot take every connection. */
#define DI_MHD_PER_ADDRESS 64
/* Seconds a connection may stay idle, by default: it bounds how long a
 * client may take to send its headers and body, and keep-alive. */
#define DI_MHD_TIMEOUT 30

typedef struct di_mhd_options {
    uint16_t port;        /* 0: a free port, see di_mhd_port() */
    const char *address;  /* numeric IPv4 or IPv6 address to bind, NULL: all */
    unsigned threads;     /* 0: a thread per connection; n: a pool of n */
    unsigned timeout_s;   /* idle connection timeout in seconds (it also
                             bounds how long a client may take to send its
                             headers), 0: DI_MHD_TIMEOUT */
    unsigned per_address; /* connections per client address, 0:
                             DI_MHD_PER_ADDRESS; more are closed at once */
} di_mhd_options;

/*
 * di_mhd_start — start a daemon serving router h (its container sealed).
 * mem: talloc parent of the server. Returns 0; DI_EINVAL (bad address);
 * DI_ENOTSEALED; DI_EBUSY (MHD could not start: port taken...); DI_ENOMEM.
 */
DI_EXPORT int di_mhd_start(void *mem, di_http *h, const di_mhd_options *o,
                           di_mhd **out);
/* di_mhd_port — the port the daemon listens on. */
DI_EXPORT uint16_t di_mhd_port(const di_mhd *m);
/* di_mhd_daemon — the MHD daemon, for MHD calls of your own. */
DI_EXPORT struct MHD_Daemon *di_mhd_daemon(const di_mhd *m);
/*
 * di_mhd_stop — stop the daemon (MHD completes, and so ends, every request
 * in flight) and free the server. Returns 0 or DI_EINVAL.
 */
DI_EXPORT int di_mhd_stop(di_mhd *m);
/*
 * di_mhd_shutdown — stop gracefully: stop accepting connections
 * (MHD_quiesce_daemon()), let the requests in flight finish for up to
 * timeout_ms while new requests on open connections are answered 503
 * (di_http_drain()), then stop as di_mhd_stop(): requests still running
 * then are rolled back and never answered 2xx. m is gone after.
 * Returns 0 when every request ended in time, else how many were still
 * running at the deadline; DI_EINVAL for NULL.
 */
DI_EXPORT int di_mhd_shutdown(di_mhd *m, unsigned timeout_ms);

/* di_mhd_access — MHD's access handler for a daemon of your own; cls is the
 * di_http router. */
DI_EXPORT enum MHD_Result di_mhd_access(void *cls, struct MHD_Connection *conn,
                                        const char *url, const char *method,
                                        const char *version,
                                        const char *upload_data,
                                        size_t *upload_data_size,
                                        void **req_cls);
/* di_mhd_uri — pass as MHD_OPTION_URI_LOG_CALLBACK (closure: the router):
 * keeps the target as the client sent it, for di_mhd_access(). */
DI_EXPORT void *di_mhd_uri(void *cls, const char *uri,
                           struct MHD_Connection *conn);
/* di_mhd_completed — pass as MHD_OPTION_NOTIFY_COMPLETED (closure: the
 * router): frees the request, settling it first as abandoned when it never
 * reached its handler. */
DI_EXPORT void di_mhd_completed(void *cls, struct MHD_Connection *conn,
                                void **req_cls,
                                enum MHD_RequestTerminationCode toe);

DI_END_DECLS

#endif /* DI_MHD_H */
