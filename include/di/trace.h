/*
 * di/trace.h — resolution tracing: what a request built, for whom, and how
 * long each create and dispose took.
 *
 * Tracing is switched on per container, before seal, with di_trace_enable().
 * From then on:
 *   - every scope keeps a trace: for each create run on its behalf (its own
 *     instances, the transients built for them, and singletons it caused to
 *     be built), the provider, the level the instance lives in, the path
 *     that asked for it ("GET /notes → repo → session"), how long the create
 *     took, whether it failed, and — once the instance has been disposed —
 *     how long its dispose took. di_scope_trace() exports it as JSON, at any
 *     time while the scope lives;
 *   - the hook, if one was given, sees every event as it happens: each
 *     create and dispose (singletons' included, at container free with no
 *     scope), and the end of each scope after its last dispose, when
 *     di_scope_trace() on ev->scope returns the complete trace.
 *
 * When tracing is off (the default), the request path tests one byte per
 * create and dispose: 22 instructions of about 1,390 on the request_3
 * benchmark (docs/benchmarks.md). When it is on, each traced call reads the clock twice and
 * each create formats its path (tens of nanoseconds plus an allocation):
 * a debugging aid, not a production default.
 *
 * JSON of a scope's trace:
 *     { "level": "request",
 *       "builds": [ { "provider": "session", "level": "request",
 *                     "path": "GET /notes → repo → session",
 *                     "create_ns": 5120, "dispose_ns": null,
 *                     "error": null }, ... ] }
 * builds are in the order the creates finished (a dependency before what
 * needs it); dispose_ns is null until the instance is disposed, and for
 * providers without a dispose; error is the code's name ("provider
 * failed") for a create that failed.
 *
 * Threads: the hook runs on the thread that runs the create or dispose, with
 * no libdi lock held; it must not resolve from or end the scope it is told
 * about. A scope's trace is read on the thread that runs the scope.
 */
#ifndef DI_TRACE_H
#define DI_TRACE_H

#include <stdint.h>

#include "export.h"
#include "container.h"
#include "scope.h"

DI_BEGIN_DECLS

/* What an event reports. */
#define DI_TRACE_CREATE 1    /* a create returned */
#define DI_TRACE_DISPOSE 2   /* a dispose returned */
#define DI_TRACE_SCOPE_END 3 /* a scope's last dispose returned */

typedef struct di_trace_event {
    int what;               /* DI_TRACE_CREATE, _DISPOSE or _SCOPE_END */
    const di_scope *scope;  /* the scope it ran for; NULL for singletons
                               disposed when the container is freed */
    const char *provider;   /* NULL for DI_TRACE_SCOPE_END */
    const char *level;      /* where the instance lives ("singleton",
                               "request", "transient"); for SCOPE_END, the
                               scope's level */
    const char *path;       /* creates: the path that asked for it;
                               otherwise NULL */
    uint64_t ns;            /* how long the create or dispose took */
    int rc;                 /* what it returned (0: success) */
} di_trace_event;

/* The hook. Every pointer in ev is valid only during the call. */
typedef void (*di_trace_fn)(const di_trace_event *ev, void *data);

/*
 * di_trace_enable — switch tracing on for c: every scope keeps a trace,
 * and fn (may be NULL) is called for every event, with data.
 * Returns 0; DI_EINVAL (c NULL); DI_ESEALED (after seal: begin tracing
 * before the first scope exists).
 */
DI_EXPORT int di_trace_enable(di_container *c, di_trace_fn fn, void *data);

/*
 * di_scope_trace — scope s's trace as JSON (see above).
 * mem: talloc parent of the result. out: receives a NUL-terminated string
 * owned by mem. Returns 0; DI_EINVAL (NULL argument, or tracing is off for
 * its container: the scope says so); DI_ESTALE (an ended scope, debug
 * builds); DI_ENOMEM (reported on the scope).
 */
DI_EXPORT int di_scope_trace(const di_scope *s, void *mem, char **out);

DI_END_DECLS

#endif /* DI_TRACE_H */
