/*
 * di/scope.h — scopes: one live request, connection or job.
 *
 * A scope is one instance of a scope level. It holds the instances of the
 * providers of its level, created lazily the first time something asks and
 * cached there (once per scope). Lookups go from a scope to its parent scope
 * and up to the root (the container, which holds the singletons).
 *
 * Lifetimes
 *   - An instance is created in the nearest enclosing scope of its provider's
 *     level. Asking from a scope with no enclosing scope of that level is an
 *     error (DI_ESCOPE), never a silent singleton.
 *   - Transients are created anew at every resolution and owned by the scope
 *     of whoever asked (the scope itself for di_get(), the asking instance's
 *     scope for a dependency).
 *   - A failing create is never cached: the next call tries again.
 *
 * Teardown: settle, then free
 *   Ending a scope is two steps, because a host often has something to do
 *   between them. di_scope_settle() runs every dispose in exact reverse
 *   creation order, each with the outcome — this is where a transaction
 *   commits or rolls back — and reports every failure together; then
 *   di_scope_free() releases the memory (talloc destructors run then, in
 *   reverse creation order too). An HTTP host settles when the handler has
 *   returned and *before* it queues the response, so that a response never
 *   acknowledges a write whose COMMIT failed (di/http.h does this), and
 *   frees once the response was delivered. di_scope_end() does both at
 *   once, for hosts that need nothing in between.
 *
 *   Between the two steps (the scope is *settled*):
 *     - allowed: reading the instances' memory (it is still there, though
 *       every dispose ran), di_scope_error(), di_scope_memory(),
 *       di_scope_trace(), di_scope_level(), di_scope_parent(),
 *       di_scope_container(), and di_scope_free();
 *     - refused with DI_ESTALE, in every build (nothing is built or
 *       disposed): resolving (di_get*, di_resolve*), di_scope_put(),
 *       beginning a child scope under it, settling or ending it again.
 *
 *   - Every dispose runs even if one fails; the failures are reported
 *     together as one list (di_error_next()), each with the provider's
 *     name as its path and the dispose's di_fail() message.
 *   - Settling a scope settles its live child scopes first, with the
 *     outcome DI_EABANDONED (they did not complete); freeing it frees them.
 *   - If the scope's talloc parent is freed first, the scope settles itself
 *     (unless it was settled already) with the outcome DI_EABANDONED (a
 *     failure), so a dropped connection never leaks an open transaction;
 *     its dispose failures then go to di_container_error().
 *   - Freeing a scope that was not settled settles it with DI_EABANDONED
 *     first: a host that forgets the outcome rolls back, never commits.
 *   - Ending or freeing a scope twice, or using it after it was freed, is
 *     undefined in release builds; debug builds (DI_DEBUG) detect it and
 *     return DI_ESTALE without touching freed memory.
 *
 * Memory. A scope is one talloc block (header, instance slots, teardown
 * stack and a pool for its instances, sized at seal). When a scope begun
 * with no parent scope and no talloc parent ends, its instances are freed
 * but its block is kept as the thread's spare for the next scope of the
 * same container and level (one per thread; freed when the thread exits,
 * when the container is freed on that thread, or when the thread begins a
 * scope it does not fit). Debug builds (DI_DEBUG) keep none, so that the
 * use of an ended scope is always caught.
 *
 * Threads. A scope belongs to one thread at a time; a child scope must be
 * used on the thread that owns its parent scope while it builds into it.
 * Different scopes under the root share nothing on the hot path, so any
 * number of threads may run their own scopes at once.
 */
#ifndef DI_SCOPE_H
#define DI_SCOPE_H

#include "export.h"
#include "error.h"
#include "container.h"
#include "provider.h"

DI_BEGIN_DECLS

/* The outcome of a successful scope; any other value means failure. */
#define DI_SUCCESS 0

/*
 * di_scope_begin — begin a scope of a level.
 *
 * c: a sealed container.
 * parent: the enclosing scope, or NULL for the root. The level's parent level
 *         must be parent's level ("singleton" for the root).
 * level: the level's name, e.g. "request".
 * mem: the talloc parent of the scope's memory, or NULL: then the parent
 *      scope when there is one, else a new top-level context. A scope begun
 *      under the root on a worker thread must not be a talloc child of
 *      anything another thread touches.
 * out: receives the scope.
 * Returns 0; DI_EINVAL; DI_ENOTSEALED; DI_ELEVEL (unknown level, or parent is
 * not of its parent level); DI_ENOMEM. The detail goes to
 * di_scope_error(parent), or di_container_error(c) under the root.
 * Ownership: the scope is a talloc context under mem; it dies with
 * di_scope_end() or when mem is freed.
 */
DI_EXPORT int di_scope_begin(di_container *c, di_scope *parent,
                             const char *level, void *mem, di_scope **out);

/*
 * di_scope_begin_key — di_scope_begin() with a level key from
 * di_level_key(): no name compared. The same rules, returns and ownership;
 * a key that is no level's is DI_ELEVEL.
 */
DI_EXPORT int di_scope_begin_key(di_container *c, di_scope *parent, int level,
                                 void *mem, di_scope **out);

/*
 * di_scope_settle — run the scope's disposes with the outcome; keep its
 * memory. The first of the two steps of ending a scope (see "Teardown").
 *
 * outcome: DI_SUCCESS, or any non-zero code for failure (an HTTP status, a
 * DI_E* code): it is passed to every dispose.
 * Returns 0 when every dispose succeeded; DI_EDISPOSE when one or more
 * failed (all ran; the list is di_scope_error(s), each entry with its
 * provider and message, until the next failing call on s or its free);
 * DI_EBUSY when called from a create or dispose running in this scope or an
 * enclosing one (nothing is done); DI_ESTALE when s is settled already;
 * DI_EINVAL. After it returns 0 or DI_EDISPOSE, s is settled: free it with
 * di_scope_free().
 *
 *     int rc = di_scope_settle(req, status < 400 ? DI_SUCCESS : status);
 *     if (rc == DI_EDISPOSE)           // the COMMIT failed: not saved
 *         status = 500, log_errors(di_scope_error(req));
 *     send_response(status);           // instances are still readable
 *     di_scope_free(req);              // once it was delivered
 */
DI_EXPORT int di_scope_settle(di_scope *s, int outcome);

/*
 * di_scope_free — release a scope's memory: the second step of ending it.
 *
 * A settled scope is freed (its child scopes first). A scope that was not
 * settled is settled first with DI_EABANDONED, its failures going to
 * di_container_error().
 * Returns 0; DI_EDISPOSE when that abandoning settle had failures (the
 * scope is freed all the same); DI_EBUSY when called from a create or
 * dispose running in this scope or an enclosing one (nothing is done);
 * DI_EINVAL; DI_ESTALE (debug builds: freed already). s is invalid after
 * it returns anything but DI_EBUSY, DI_EINVAL or DI_ESTALE.
 */
DI_EXPORT int di_scope_free(di_scope *s);

/*
 * di_scope_end — settle and free at once: dispose its instances in reverse
 * creation order with the outcome, then free it.
 *
 * outcome: as for di_scope_settle().
 * Returns 0; DI_EDISPOSE when disposes failed (all ran; the list is
 * di_container_error(), since the scope is gone); DI_EBUSY when called from
 * a create or dispose running in this scope (nothing is done); DI_EINVAL;
 * DI_ESTALE (settled already: use di_scope_free(); or, in debug builds,
 * ended already). The scope is freed in every case but DI_EBUSY, DI_EINVAL
 * and DI_ESTALE.
 */
DI_EXPORT int di_scope_end(di_scope *s, int outcome);

/*
 * di_get — the instance of a provider, by name, created if needed.
 *
 * s: the asking scope. name: a provider name. out: receives the instance.
 * Returns 0; DI_EINVAL; DI_ENOTFOUND; DI_ESCOPE (no enclosing scope of the
 * provider's level); DI_ECAPTIVE (asked from a create whose instance would
 * outlive it); any code a create returned. Detail: di_scope_error(s).
 * Ownership: the instance belongs to the scope it was built in (a
 * transient: to s, or, when asked from a create, to the scope of the
 * instance being built) and dies when that scope ends.
 */
DI_EXPORT int di_get(di_scope *s, const char *name, void **out);

/*
 * di_get_key — di_get() with a key from di_key(): no string hashed.
 */
DI_EXPORT int di_get_key(di_scope *s, int key, void **out);

/*
 * di_get_typed — di_get() that also checks the provider's type tag.
 * type: the expected tag; a provider with another tag (or none) gives
 * DI_ETYPE and *out is left alone. Prefer the DI_GET() macro.
 */
DI_EXPORT int di_get_typed(di_scope *s, const char *name, const char *type,
                           void **out);

/*
 * DI_GET(scope, name, T, out) — typed get: out must be a T **, and the
 * provider's type tag must be the spelling of T.
 *     sqlite3 *db;
 *     if (DI_GET(s, "db", sqlite3, &db) != 0) ...
 */
#define DI_GET(scope, name, T, out) \
    di_get_typed((scope), (name), #T, (void **)(1 ? (out) : (T **)0))

/*
 * di_scope_error — the detail of the last failure on this scope, or NULL:
 * after a failed di_scope_settle(), the list of the disposes that failed.
 * Owned by the scope; valid until the next failing call on it or its free.
 */
DI_EXPORT const di_error *di_scope_error(const di_scope *s);

/*
 * di_scope_level — the name of the scope's level (owned by the container).
 */
DI_EXPORT const char *di_scope_level(const di_scope *s);

/*
 * di_scope_parent — the enclosing scope, or NULL for a scope under the root.
 */
DI_EXPORT di_scope *di_scope_parent(const di_scope *s);

/*
 * di_scope_container — the container the scope belongs to.
 */
DI_EXPORT di_container *di_scope_container(const di_scope *s);

/*
 * di_scope_put — supply the instance of an external provider (see
 * di_provide_external()) for this scope, before anything resolves it.
 *
 * name: the external provider; it must belong to this scope's level.
 * value: any pointer (NULL is a valid value); it stays the caller's: libdi
 * never frees nor disposes it, and it must stay valid until the scope ends.
 * Returns 0; DI_ENOTFOUND (no external provider of that name); DI_ESCOPE
 * (another level); DI_EEXIST (already put in this scope); DI_ESTALE;
 * DI_EINVAL. Detail: di_scope_error(s).
 */
DI_EXPORT int di_scope_put(di_scope *s, const char *name, void *value);

DI_END_DECLS

#endif /* DI_SCOPE_H */
