/*
 * di/consumer.h — consumers: request handlers and jobs with declared
 * dependencies.
 *
 * A consumer is registered so that seal validates its dependencies like a
 * provider's (missing, cycle-free, visible from the consumer's level, types),
 * and so that its whole dependency list is resolved in one call per request,
 * like a FastAPI endpoint:
 *
 *     static const char *const deps[] = { "session", "current_user", NULL };
 *     di_consumer_add(c, &(di_consumer_desc){
 *         .name = "GET /notes", .level = "request", .deps = deps });
 *     ...
 *     void *v[2];
 *     if (di_resolve(scope, "GET /notes", v, 2) == 0) { session = v[0]; ... }
 *
 * Seal compiles each consumer into a plan: the providers it needs,
 * dependencies first, in declaration order, each transient once per use;
 * resolution runs down it instead of recursing through the graph. (A
 * provider asked for with di_get() with no create running gets one too, at
 * its first build.) The order of creates, and of disposes in reverse, is
 * the same either way.
 */
#ifndef DI_CONSUMER_H
#define DI_CONSUMER_H

#include <stddef.h>
#include "export.h"
#include "error.h"
#include "container.h"
#include "provider.h"

DI_BEGIN_DECLS

/* A consumer registration. Unset fields are zero. */
typedef struct di_consumer_desc {
    const char *name;        /* required, unique among consumers */
    const char *level;       /* the level of the scopes it runs in; NULL:
                                "request" */
    const char *const *deps; /* NULL-terminated, same syntax as providers' */
    void *data;              /* user data, see di_consumer_data() */
} di_consumer_desc;

/*
 * di_consumer_add — register a consumer (copied; nothing of desc is kept).
 *
 * Returns 0; DI_EINVAL (NULL, missing or malformed name or dependency);
 * DI_EEXIST (also kept for seal); DI_ESEALED; DI_ENOMEM.
 */
DI_EXPORT int di_consumer_add(di_container *c, const di_consumer_desc *desc);

/*
 * di_consumer_key — the key of a consumer name, for di_resolve_key().
 * Returns the key (>= 0), DI_ENOTSEALED, DI_EINVAL or DI_ENOTFOUND.
 */
DI_EXPORT int di_consumer_key(const di_container *c, const char *name);

/*
 * di_consumer_data — the user data a consumer was registered with, or NULL
 * (also for an unknown key). Sealed containers only.
 */
DI_EXPORT void *di_consumer_data(const di_container *c, int key);

/*
 * di_resolve — resolve every dependency of a consumer, in declared order.
 *
 * s: a scope of the consumer's level, or one nested below it.
 * consumer: the consumer's name. out: array of at least n pointers; on
 * success out[i] is the i-th declared dependency (NULL for a missing
 * optional one). n: must be at least the number of dependencies.
 * Returns 0; DI_EINVAL; DI_ENOTFOUND (no such consumer); DI_ESCOPE (s cannot
 * see the consumer's level); any code a create returned. On failure the
 * detail (with the path from the consumer) is di_scope_error(s); instances
 * built before the failure stay cached in their scopes.
 * Ownership: the instances belong to their scopes; transients to s.
 */
DI_EXPORT int di_resolve(di_scope *s, const char *consumer, void **out,
                         size_t n);

/*
 * di_resolve_key — di_resolve() with a key from di_consumer_key(): no string
 * is hashed or compared.
 */
DI_EXPORT int di_resolve_key(di_scope *s, int key, void **out, size_t n);

DI_END_DECLS

#endif /* DI_CONSUMER_H */
