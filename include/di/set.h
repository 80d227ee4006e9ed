/*
 * di/set.h — multi-bindings: several providers contributing to one set.
 *
 * Health checks, middleware, metric exporters: one name, many members. A
 * set is declared with di_set_declare() and members are added with
 * di_set_add(), each one a provider registered under its own name (before
 * or after the di_set_add, as long as it is there at seal). A consumer or
 * provider depends on the set by its name, like on any provider, and gets
 * a `const di_set *`: the count and the members' instances, in the order
 * they were added.
 *
 *     di_set_declare(c, "health_checks");
 *     di_provide(c, &(di_provider_desc){ .name = "db_health", ... });
 *     di_provide(c, &(di_provider_desc){ .name = "disk_health", ... });
 *     di_set_add(c, "health_checks", "db_health");
 *     di_set_add(c, "health_checks", "disk_health");
 *     ... a consumer with .deps = { "health_checks", NULL }:
 *     const di_set *checks = deps[0];
 *     for (size_t i = 0; i < checks->n; i++) run(checks->items[i]);
 *
 * Semantics (pinned by tests/test_set.c):
 *   - Members keep their own lifetimes, caching and teardown: a singleton
 *     member is built once for the process, a request member once per
 *     request, a transient member each time the set is built.
 *   - The set itself lives at the innermost level among its members: a set
 *     of singletons is a singleton; with a "request" member it is built
 *     once per request scope; with a transient member it is transient.
 *     Members whose levels are on different branches of the level tree
 *     ("request" and "job") cannot share a scope: seal reports it.
 *     Depending on a set is checked like depending on a provider of that
 *     level: a singleton cannot use a set with a request member (captive).
 *   - Seal validates every member: a missing one is reported with its path
 *     ("GET /health → health_checks → db_health: no provider ..."), as are
 *     cycles through a set and captive members. An empty declared set is
 *     valid: n is 0 and items NULL.
 *   - A member may be added once per set; a provider may be a member of
 *     several sets, and a set may be a member of another set.
 *   - Names: a set's name is in the providers' namespace (a provider and a
 *     set cannot share a name). di_override() cannot replace a set; override
 *     its members instead. Members are resolved in the order they were
 *     added, so their creates run in that order (the ones not built yet)
 *     and their disposes in reverse.
 *   - The di_set and its items array are owned by the scope the set lives
 *     in and die with it (read-only for the program).
 * Configuration files declare sets and add members too (see di/config.h).
 */
#ifndef DI_SET_H
#define DI_SET_H

#include <stddef.h>

#include "export.h"
#include "container.h"

DI_BEGIN_DECLS

/* What a dependency on a set receives. */
typedef struct di_set {
    size_t n;           /* number of members */
    void *const *items; /* their instances, in the order they were added;
                           NULL when n is 0 */
} di_set;

/*
 * di_set_declare — declare the set `name` (with no members yet).
 * Returns 0, also when the set is already declared; DI_EINVAL (NULL or
 * malformed name), DI_EEXIST (a provider has that name), DI_ESEALED (after
 * seal), DI_ENOMEM. Errors are also kept on the container.
 */
DI_EXPORT int di_set_declare(di_container *c, const char *name);

/*
 * di_set_add — add the provider `member` to the declared set `set`, after
 * the members added before. The member is looked up at seal, so it may be
 * registered later. Returns 0; DI_EINVAL (NULL or malformed name),
 * DI_ENOTFOUND (no set `set`: declare it first), DI_EEXIST (already a
 * member), DI_ESEALED, DI_ENOMEM. Errors are also kept on the container.
 */
DI_EXPORT int di_set_add(di_container *c, const char *set, const char *member);

DI_END_DECLS

#endif /* DI_SET_H */
