/*
 * adapter_cases.h — the cases every HTTP adapter must pass, against the
 * real framework over loopback: a request scope per request, settled
 * before its answer leaves and ended exactly once with the right outcome
 * on every path (success, a COMMIT that fails, handler failure, 4xx from a
 * provider, 5xx, client gone, a client that stops reading, a body
 * announced too large, timeout, EOF mid-body, shutdown).
 */
#ifndef DI_TEST_ADAPTER_CASES_H
#define DI_TEST_ADAPTER_CASES_H

#include <stdint.h>

#include <di.h>

/* Start a server for router h on 127.0.0.1, any port, with an idle timeout
 * of 1 second; set *port; return the server (NULL on failure). */
typedef void *(*t_start_fn)(di_http *h, uint16_t *port);
/* Stop it: every request in flight must have ended when this returns. */
typedef void (*t_stop_fn)(void *server);

/* Set when the framework hands a request over only once it is complete
 * (libevent 2.1): a request whose body never arrives never begins, so the
 * mid-body cases check that nothing ended and the server still answers. */
extern int t_adapter_begins_when_complete;
/* Set when the adapter gives the router the connection's socket, so that a
 * client that leaves while the handler runs rolls back (libmicrohttpd,
 * libevent); civetweb cannot: its write fails after the commit. */
extern int t_adapter_sees_client_gone;
/* Set when a NUL inside a header value can be refused (civetweb refuses it
 * itself); libmicrohttpd 0.9.75 and libevent end the value there, before
 * the adapter sees it. */
extern int t_adapter_sees_header_nul;

/* Set when idle clients cannot lock others out: libmicrohttpd closes a
 * client address's connections beyond its limit, libevent serves every
 * connection from one loop. civetweb gives each connection one of its
 * worker threads until the request is read or its timeout passes. */
extern int t_adapter_serves_idle;

/* Stop it gracefully with a deadline of timeout_ms (di_*_shutdown()):
 * returns how many requests were still running at the deadline. */
typedef int (*t_shutdown_fn)(void *server, unsigned timeout_ms);
/* Set to the adapter's graceful shutdown (the last case runs it). */
extern t_shutdown_fn t_adapter_shutdown;

/* Run the cases as the CUnit suite `suite`; returns the exit status. */
int t_adapter_run(const char *suite, t_start_fn start, t_stop_fn stop);

#endif
