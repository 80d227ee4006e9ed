/*
 * di/async.h — asynchronous providers, for hosts that run an event loop.
 *
 * A create may answer "pending" and finish later, from a callback of the
 * host's loop, on the scope's thread; a consumer is then resolved with
 * di_resolve_async(), which returns at once and calls back when everything
 * it needs is ready or something failed. libdi runs no loop and knows no
 * event library: a provider that waits registers its own watchers on the
 * loop (which it gets as a dependency, e.g. an external "event_base").
 *
 *     static int session_create(const di_build *b, void **out)
 *     {
 *         di_pending *p = di_pending_take(b);
 *         if (!p)
 *             return di_fail(b, DI_EINVAL, "needs an asynchronous resolution");
 *         start_connect(b->deps[0], on_connected, p);   // the loop calls back
 *         return DI_PENDING;
 *     }
 *     static void on_connected(conn *k, int err, void *arg)
 *     {
 *         if (err) di_pending_fail(arg, DI_EPROVIDER, "connect: %s", msg(err));
 *         else     di_pending_done(arg, k);
 *     }
 *
 *     di_async_provider(c, "session");          // before seal
 *     di_async_consumer(c, "GET /notes");
 *
 * The rules (each pinned by test_async):
 *  - Only providers marked with di_async_provider() may answer DI_PENDING,
 *    and only under di_resolve_async() of a consumer marked with
 *    di_async_consumer(): seal refuses a consumer resolved synchronously
 *    that reaches an asynchronous provider (DI_EASYNC, with the path). In
 *    this version an asynchronous provider lives at a scope level (not a
 *    singleton, not a transient): singletons are built before serving.
 *  - Dependencies are still created before their dependents and each once
 *    per scope: a second resolution that needs an instance still pending
 *    waits for the same create's result.
 *  - Independent dependencies wait together: every create whose
 *    dependencies are ready is started before any pending one finishes, so
 *    a consumer needing A and B that each wait 100 ms is ready after about
 *    100 ms, not 200.
 *  - An instance is recorded for teardown when its create finishes, so
 *    teardown runs in the reverse order of completion, which respects
 *    dependencies (a dependent is created after its dependencies finished).
 *  - When a create fails (at once or later), the resolution fails with its
 *    code, message and path; creates it started that nothing else waits
 *    for are cancelled; what was built stays cached in its scope and is
 *    disposed when the scope ends, with its outcome, as after a synchronous
 *    failure.
 *  - Cancelling a create calls the function it registered with
 *    di_pending_on_cancel(), after which libdi frees its memory and the
 *    provider must not touch the handle again. A create that registered
 *    none is detached instead: its handle stays valid until it finishes,
 *    and an instance it then delivers is disposed at once with the outcome
 *    DI_EABANDONED and freed.
 *  - Ending a scope (settle) while resolutions wait in it: they are called
 *    back with DI_EABANDONED first, and the creates pending in it are
 *    cancelled; nothing leaks.
 *  - Teardown stays ordered: with di_scope_settle_async() a dispose may be
 *    left pending too, and the next one runs only after it finished; the
 *    settle completes through its callback, so a host acknowledges a
 *    request only then.
 */
#ifndef DI_ASYNC_H
#define DI_ASYNC_H

#include <stddef.h>
#include "export.h"
#include "error.h"
#include "container.h"
#include "provider.h"

DI_BEGIN_DECLS

/* What an asynchronous provider's create returns when the instance will
 * come later (through di_pending_done() or di_pending_fail()). Positive:
 * not an error. */
#define DI_PENDING 2

/* A create that finishes later. Opaque; owned by libdi. */
typedef struct di_pending di_pending;

/*
 * di_async_provider — mark the provider named name as asynchronous: its
 * create may answer DI_PENDING. Before seal; the name is checked at seal
 * (a provider of that name must exist by then: overriding it keeps the
 * mark, so a test may override it with a synchronous mock).
 *
 * Returns 0; DI_EINVAL (NULL); DI_ESEALED; DI_ENOMEM.
 */
DI_EXPORT int di_async_provider(di_container *c, const char *name);

/*
 * di_async_consumer — mark the consumer named name as resolved with
 * di_resolve_async(), so that it may reach asynchronous providers. Before
 * seal; the name is checked at seal. Returns as di_async_provider().
 */
DI_EXPORT int di_async_consumer(di_container *c, const char *name);

/*
 * di_timer_ops — one-shot timers on the host's loop, for timeouts. start:
 * call fire(arg) once after ms milliseconds, on the thread of the scope
 * being resolved; return a handle for stop, or NULL when it cannot. stop:
 * the timer will not be needed (called at most once, before it fired).
 * data: handed to both (the loop). The libevent adapter supplies these;
 * with another loop, write the two functions.
 */
typedef struct di_timer_ops {
    void *(*start)(void *data, unsigned ms, void (*fire)(void *arg),
                   void *arg);
    void (*stop)(void *data, void *timer);
    void *data;
} di_timer_ops;

/*
 * di_async_timers — the timers pending creates are timed with. Before
 * seal; *timers is copied. Returns 0, DI_EINVAL (NULL, or start or stop
 * missing), DI_ESEALED.
 */
DI_EXPORT int di_async_timers(di_container *c, const di_timer_ops *timers);

/*
 * di_async_timeout — a create of the asynchronous provider named name that
 * is still pending ms milliseconds after it was left pending fails with
 * DI_ETIMEDOUT ("'db' gave no answer within 500 ms", with its path): it is
 * cancelled (or detached) as after another failure, and the resolutions
 * waiting for it fail. Before seal; seal checks that the provider exists
 * and is asynchronous, and that timers were given (di_async_timers).
 * Returns 0, DI_EINVAL (NULL, or ms 0), DI_ESEALED, DI_ENOMEM.
 */
DI_EXPORT int di_async_timeout(di_container *c, const char *name, unsigned ms);

/*
 * di_pending_take — in an asynchronous provider's create: the handle that
 * finishes this create later. Take it, start the work, return DI_PENDING.
 *
 * b: the create's di_build. Returns the handle (owned by libdi; valid until
 * it is finished, or until its cancel function was called), or NULL when
 * this create cannot finish later: the provider is not marked
 * asynchronous, the resolution is synchronous (di_resolve(), di_get(), a
 * create asking for it), or out of memory. Taking it twice in one create
 * returns the same handle.
 */
DI_EXPORT di_pending *di_pending_take(const di_build *b);

/* di_cancel_fn — stop the work behind a pending create (close its socket,
 * remove its watchers). Called at most once, on the scope's thread; after
 * it the handle is gone. */
typedef void (*di_cancel_fn)(di_pending *p, void *arg);

/*
 * di_pending_on_cancel — what to call if libdi cancels the create (the
 * resolution failed elsewhere, or the scope ends). arg is handed back.
 * Call it from the create or before finishing.
 */
DI_EXPORT void di_pending_on_cancel(di_pending *p, di_cancel_fn fn, void *arg);

/*
 * di_pending_done — the create finished with instance (anything, NULL
 * included). On the scope's thread. The instance is recorded in its scope
 * for teardown, and the resolutions that waited for it go on: their
 * callbacks may run inside this call. p is gone after it.
 *
 * Returns 0, or DI_ENOMEM when the instance could not be recorded (it is
 * then disposed at once and the resolutions fail).
 */
DI_EXPORT int di_pending_done(di_pending *p, void *instance);

/*
 * di_pending_fail — the create failed with code (negative; anything else
 * becomes DI_EPROVIDER) and a printf-style message (fmt may be NULL). Its
 * memory is freed; the resolutions that waited fail with the code, the
 * message and the path. p is gone after it. Returns code.
 */
DI_EXPORT int di_pending_fail(di_pending *p, int code, const char *fmt, ...)
    DI_PRINTF(3, 4);

/*
 * di_resolved_fn — a resolution finished: rc 0 and the consumer's
 * dependencies in the out array given to di_resolve_async(), or a negative
 * code with the detail in di_scope_error(s). On the scope's thread.
 */
typedef void (*di_resolved_fn)(di_scope *s, int rc, void *arg);

/*
 * di_resolve_async — resolve the consumer named consumer in s without
 * blocking.
 *
 * out: room for the consumer's dependencies (n entries), kept alive by the
 * caller until the resolution finishes. cb, arg: called when it finishes
 * later.
 * Returns 0 when everything was ready at once (out is filled; cb is not
 * called), DI_PENDING when cb will be called (exactly once), or a negative
 * code at once (cb is not called; detail in di_scope_error(s)): the same
 * errors as di_resolve(), and DI_EINVAL when cb is NULL.
 */
DI_EXPORT int di_resolve_async(di_scope *s, const char *consumer, void **out,
                               size_t n, di_resolved_fn cb, void *arg);

/*
 * di_scope_settle_async — di_scope_settle() whose disposes may be left
 * pending: the dispose of an asynchronous provider (a COMMIT sent to the
 * database) may take a handle with di_pending_take(), return DI_PENDING,
 * and finish later with di_pending_done(p, NULL) or di_pending_fail().
 * Disposes still run one after another, in reverse creation order, each
 * with the outcome: the next starts when the pending one finished.
 *
 * cb, arg: called when every dispose ran (rc 0, or DI_EDISPOSE with the
 * failures in di_scope_error(s)), if that is later. Meanwhile the scope is
 * in use: ending or freeing it answers DI_EBUSY. Free it (di_scope_free)
 * after the callback, or after an answer other than DI_PENDING.
 * Returns 0 or DI_EDISPOSE when every dispose ran at once (cb is not
 * called), DI_PENDING when cb will be called, or the errors of
 * di_scope_settle() (cb is not called); DI_EINVAL when cb is NULL.
 */
DI_EXPORT int di_scope_settle_async(di_scope *s, int outcome,
                                    di_resolved_fn cb, void *arg);

DI_END_DECLS

#endif /* DI_ASYNC_H */
