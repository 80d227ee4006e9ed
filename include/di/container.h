/*
 * di/container.h — the registry of providers, consumers and scope levels.
 *
 * Life of a container
 *   1. di_container_new() under a talloc parent.
 *   2. Registration, on one thread: di_level(), di_provide(), di_provide_value(),
 *      di_override(), di_consumer_add() (see provider.h, consumer.h).
 *   3. di_container_seal(): checks the whole graph and reports every problem
 *      with its path; compiles names to keys and slots. After a successful
 *      seal the registry is immutable (registration returns DI_ESEALED).
 *   4. Any number of threads begin scopes and resolve (scope.h).
 *   5. di_container_free(): disposes the singletons in reverse creation
 *      order, then frees everything.
 *
 * Scope levels form a tree rooted at "singleton" (the container itself).
 * "request" exists by default with parent "singleton". A server may add
 * levels (at most DI_LEVEL_MAX), e.g. "connection" under "singleton" and then
 * re-parent "request" under "connection", or add "job" beside "request".
 *
 * Threads: steps 1–3 and 5 belong to one thread. After seal the container is
 * read-only except for its singleton slots, which are filled under a short
 * lock; an existing singleton is read with one atomic acquire load. libdi
 * never turns talloc's null tracking on; keep it off (the default) because
 * scopes begun without a talloc parent and singletons under construction are
 * top-level talloc contexts owned by the thread that made them.
 */
#ifndef DI_CONTAINER_H
#define DI_CONTAINER_H

#include "export.h"
#include "error.h"

DI_BEGIN_DECLS

typedef struct di_container di_container;

/* Most scope levels a container may declare, "singleton" included. */
#define DI_LEVEL_MAX 64
/* Longest provider, consumer, type or level name, in bytes. */
#define DI_NAME_MAX 255

/*
 * di_container_new — create an empty, unsealed container.
 *
 * mem: talloc parent of the container (NULL for a top-level context).
 *      Freeing mem frees the container as di_container_free() does.
 * out: receives the container.
 * Returns 0, DI_EINVAL (out is NULL) or DI_ENOMEM.
 * Ownership: the container is a talloc context owned by mem; it dies with
 * di_container_free(), talloc_free() or its parent.
 */
DI_EXPORT int di_container_new(void *mem, di_container **out);

/*
 * di_level — declare a scope level, or move an existing one under another
 * parent.
 *
 * name:   the level ("connection"); "singleton" cannot be redeclared and
 *         "transient" is reserved.
 * parent: the level it nests in; it may be declared later (seal checks that
 *         it exists and that levels form a tree).
 * Returns 0, DI_EINVAL, DI_ELEVEL (reserved name, or more than DI_LEVEL_MAX
 * levels), DI_ESEALED or DI_ENOMEM.
 * Example: di_level(c, "connection", "singleton");
 *          di_level(c, "request", "connection");
 */
DI_EXPORT int di_level(di_container *c, const char *name, const char *parent);

/*
 * di_container_seal — validate the whole graph and compile it.
 *
 * Reports every problem, each with its path: duplicate name, override of an
 * unknown name, unknown level, level cycles, missing provider, dependency
 * cycle, captive dependency (followed through transients), a dependency whose
 * level cannot be seen, type-tag mismatch.
 * Returns 0; DI_EGRAPH when problems were found (the list is
 * di_container_error(c), one di_error per problem; the container stays
 * unsealed and may be fixed and sealed again); DI_ESEALED if already sealed;
 * DI_ENOMEM. Linear in providers plus edges.
 */
DI_EXPORT int di_container_seal(di_container *c);

/*
 * di_container_sealed — 1 if c has been sealed, 0 otherwise (or if NULL).
 */
DI_EXPORT int di_container_sealed(const di_container *c);

/*
 * di_key — the key of a provider name, for the fast path (di_get_key()).
 *
 * Returns the key (>= 0), DI_ENOTSEALED, DI_EINVAL or DI_ENOTFOUND. Keys are
 * fixed at seal and valid for the container's life.
 */
DI_EXPORT int di_key(const di_container *c, const char *name);

/*
 * di_level_key — the key of a scope level, for di_scope_begin_key(): a
 * server that begins a scope per request looks its level up once.
 *
 * Returns the key (>= 1: the root "singleton" is never begun),
 * DI_ENOTSEALED, DI_EINVAL or DI_ENOTFOUND (no such level, or the root).
 * Keys are fixed at seal and valid for the container's life.
 */
DI_EXPORT int di_level_key(const di_container *c, const char *level);

/*
 * di_container_build — start-up that fails fast: build the singletons now,
 * on the calling thread, each after what it needs (a singleton's
 * dependencies are built first, as any resolution does), so that a server
 * whose database is down stops at start with the path and the database's
 * message ("db: postgres: cannot connect (...): ...") instead of failing
 * its first requests. names: NULL-terminated provider names, or NULL for
 * every singleton with a create (values and externals are there already),
 * in registration order. Stops at the first failure.
 * Returns 0; the failing singleton's code, its detail (with its path) in
 * di_container_error(c); DI_ENOTSEALED; DI_EINVAL. A singleton built is
 * kept, as if a request had asked for it; one that failed may be tried
 * again by the next request or call.
 */
DI_EXPORT int di_container_build(di_container *c, const char *const *names);

/*
 * di_root_get — a singleton (or a transient) for start-up code, outside
 * any scope: resolved in the calling thread's root scope, where
 * singletons are built, with the rules of any scope — a provider of a
 * scope level (a request's transaction) cannot be had there
 * (DI_ESCOPE, with its path). A transient got this way lives until the
 * container is freed.
 * Returns 0 with *out set, or as di_get() (DI_ENOTFOUND, DI_ESCOPE, the
 * create's failure ...) with the detail in di_container_error(c);
 * DI_ENOTSEALED; DI_EINVAL (NULL).
 */
DI_EXPORT int di_root_get(di_container *c, const char *name, void **out);

/*
 * di_container_error — the detail of the last failure reported on the
 * container: registration and seal problems (a list after a failed seal),
 * and, after seal, failures with no scope to hold them (di_scope_begin()
 * under the root, teardown of a scope, singleton disposal).
 *
 * Returns NULL if nothing failed. Owned by the container. Before seal it is
 * valid until the next failing registration or seal call. After seal
 * several threads may report here: the pointer read is always a complete
 * error, valid until 64 further errors have been reported (or the container
 * is freed) — read it right after the failing call.
 */
DI_EXPORT const di_error *di_container_error(const di_container *c);

/*
 * di_container_free — dispose the singletons in reverse creation order (each
 * with a success outcome), then free the container and everything it owns.
 *
 * Returns 0; DI_EINVAL for NULL; DI_EBUSY (nothing freed) when called from a
 * create or dispose running on this container, or, in debug builds
 * (DI_DEBUG), while scopes are still open; DI_EDISPOSE when a singleton's
 * dispose failed (the container is freed all the same).
 * Freeing the container's talloc parent does the same teardown, without the
 * checks.
 */
DI_EXPORT int di_container_free(di_container *c);

DI_END_DECLS

#endif /* DI_CONTAINER_H */
