/*
 * di/provider.h — providers: named recipes for instances.
 *
 * A provider has a name, an optional type tag, a lifetime, the names of its
 * dependencies, a create function, an optional dispose function and user
 * data. Register it with a descriptor passed by pointer, written with
 * designated initialisers so that fields added later do not break callers:
 *
 *     static const char *const session_deps[] = { "pool", "config", NULL };
 *     di_provide(c, &(di_provider_desc){
 *         .name = "session", .type = "sqlite3", .lifetime = "request",
 *         .deps = session_deps,
 *         .create = session_create, .dispose = session_dispose });
 *
 * Lifetime: "singleton" (one per container), any declared scope level
 * ("request" exists by default), or "transient" (a new instance at every
 * resolution, owned by the scope of whoever asked, and disposed with it).
 *
 * Dependency names: "name" (required), "?name" (optional: NULL when no
 * provider has that name), "name:type" (seal checks that the provider's type
 * tag is "type"); "?name:type" combines both. Provider names must not start
 * with '?' nor contain ':'.
 *
 * Memory. create gets b->mem, a fresh talloc chunk of desc->size zeroed bytes
 * (size 0 is allowed) owned by the scope the instance lives in. Allocate the
 * instance and everything it keeps on b->mem (or use b->mem itself as the
 * instance when desc->size is set). If create fails, b->mem and all its
 * children are freed. If it succeeds, b->mem lives until the scope ends: it is
 * freed after every dispose of that scope has run, in reverse creation order.
 * The instance pointer itself can be anything (a talloc child of b->mem, a
 * handle from another library, NULL); libdi only hands it back.
 *
 * Teardown. dispose(b, instance, outcome) runs when the owning scope ends,
 * in exact reverse creation order, with the scope's outcome (0: success,
 * anything else: failure) — commit or roll back there. Every dispose runs
 * even if an earlier one fails. Values given with di_provide_value() are never
 * disposed.
 */
#ifndef DI_PROVIDER_H
#define DI_PROVIDER_H

#include <stddef.h>
#include "export.h"
#include "error.h"
#include "container.h"

DI_BEGIN_DECLS

typedef struct di_scope di_scope;

/*
 * di_build — what create and dispose are told about the instance at hand.
 * Built by libdi on the stack for the duration of one call; never copy it or
 * keep a pointer to it. Fields may be added at the end in later versions.
 */
typedef struct di_build {
    /* talloc chunk for the instance (see "Memory" above). */
    void *mem;
    /* create: the dependencies, in declared order (NULL for a missing
     * optional one); dispose: NULL. */
    void *const *deps;
    /* number of entries in deps (create), 0 (dispose). */
    size_t ndeps;
    /* the provider's user data (desc->data). */
    void *data;
    /* the provider's name. */
    const char *name;
    /* the scope the call runs for. create may resolve more through it with
     * di_get(), di_get_key() or di_resolve(): what it gets is for the
     * instance being built, and the rules seal checks for a declared
     * dependency apply at run time too, through transients and sets — an
     * instance may never be handed one that dies before it (DI_ECAPTIVE,
     * DI_ESCOPE, with the path); a transient it asks for is built where
     * the instance lives.
     * For a singleton's create this is the container's root scope for the
     * calling thread (level "singleton", no parent), never the request that
     * happened to ask first: nothing of a request is reachable from it, and
     * it lives as long as the container, so a singleton may keep it and
     * resolve through it later (from one thread at a time; a transient got
     * that way lives until the container is freed, disposed before the
     * singletons). For any other create it is the asking scope, valid while
     * that scope is: keep the instances, not the scope.
     * dispose: the scope being ended, or NULL for singletons. */
    di_scope *scope;
    /* internal: libdi's resolution state. */
    void *di__state;
    /* the provider's params when it was made from a kind (kind.h, params.h),
     * NULL otherwise. */
    const struct di_params *params;
} di_build;

/*
 * di_create_fn — build one instance.
 * b: see di_build. instance: where to store the result.
 * Returns 0, or a negative code (its own or a DI_E* one); use di_fail() to
 * attach a message. A positive return counts as DI_EPROVIDER.
 */
typedef int (*di_create_fn)(const di_build *b, void **instance);

/*
 * di_dispose_fn — release one instance when its scope ends.
 * b: see di_build (b->mem is the instance's chunk, still alive).
 * instance: what create returned. outcome: 0 for success, non-zero for
 * failure (the code given to di_scope_end(), or DI_EABANDONED).
 * Returns 0 or a negative code (use di_fail() for a message); the failure is
 * reported by di_scope_end() together with any others.
 */
typedef int (*di_dispose_fn)(const di_build *b, void *instance, int outcome);

/* A provider registration. Unset fields are zero. */
typedef struct di_provider_desc {
    const char *name;       /* required, unique, at most DI_NAME_MAX bytes */
    const char *type;       /* optional type tag, e.g. "sqlite3" */
    const char *lifetime;   /* required: "singleton", "transient" or a level */
    const char *const *deps;/* NULL-terminated dependency names, or NULL */
    di_create_fn create;    /* required */
    di_dispose_fn dispose;  /* optional */
    void *data;             /* handed to create and dispose as b->data */
    size_t size;            /* size of b->mem in bytes (zeroed); 0 is fine */
} di_provider_desc;

/*
 * di_provide — register a provider. The descriptor and its strings are
 * copied; nothing of desc is kept.
 *
 * Returns 0; DI_EINVAL (NULL, missing name/lifetime/create, malformed name or
 * dependency, too long); DI_EEXIST (name taken: the problem is also kept for
 * seal, which fails until it is fixed); DI_ESEALED; DI_ENOMEM.
 * The detail is di_container_error(c).
 */
DI_EXPORT int di_provide(di_container *c, const di_provider_desc *desc);

/*
 * di_provide_value — register a ready-made instance under a name. It lives at
 * the root (visible from every scope), is never created nor disposed by libdi
 * and stays owned by the caller, who must keep it alive as long as the
 * container.
 *
 * type may be NULL. value may be NULL. Returns as di_provide().
 */
DI_EXPORT int di_provide_value(di_container *c, const char *name,
                               const char *type, void *value);

/*
 * di_provide_external — declare a name whose instance the host supplies for
 * each scope of a level, with di_scope_put() right after di_scope_begin():
 * the HTTP request an adapter is serving, the job's arguments. It takes part
 * in seal like any provider (missing names, levels, captives, types) but is
 * never created nor disposed; asking for it in a scope where it was not put
 * fails with DI_ENOTFOUND.
 *
 * level: a scope level (not "singleton": use di_provide_value; not
 * "transient"). type may be NULL. Returns as di_provide().
 * Example: di_provide_external(c, "http_request", "di_http_req", "request");
 */
DI_EXPORT int di_provide_external(di_container *c, const char *name,
                                  const char *type, const char *level);

/*
 * di_override — replace the provider registered under desc->name before seal,
 * with any lifetime: the FastAPI dependency_overrides habit for tests. The
 * replaced provider is forgotten. Overriding twice keeps the last one.
 *
 * Returns 0; DI_ENOTFOUND when no provider has that name (a typo in a test:
 * the problem is also kept for seal); otherwise as di_provide().
 */
DI_EXPORT int di_override(di_container *c, const di_provider_desc *desc);

/*
 * di_override_value — di_override() with a ready-made value
 * (see di_provide_value()).
 */
DI_EXPORT int di_override_value(di_container *c, const char *name,
                                const char *type, void *value);

/*
 * di_fail — attach a message to the failure a create or dispose is about to
 * return. Use it as: return di_fail(b, DI_EPROVIDER, "cannot open %s", path);
 *
 * b: the di_build the function was given. code: the negative code to return
 * (a non-negative code becomes DI_EPROVIDER). fmt: printf format.
 * Returns the code, so it can be returned directly. Calling it again in the
 * same call replaces the message.
 */
DI_EXPORT int di_fail(const di_build *b, int code, const char *fmt, ...)
    DI_PRINTF(3, 4);

/*
 * di_fail_at — di_fail() for a problem at a place in the params: at is its
 * JSON path (di_params_path() of the node, with ".key" for a member), fmt
 * the reason alone. The message reads "at: reason"; a configuration's
 * report keeps the two as the error's path and reason
 * (di_error_path(), di_error_reason()), so a kind's check should use this
 * for every params problem. at may be NULL (then it is di_fail()).
 */
DI_EXPORT int di_fail_at(const di_build *b, int code, const char *at,
                         const char *fmt, ...) DI_PRINTF(4, 5);

DI_END_DECLS

#endif /* DI_PROVIDER_H */
