/*
 * di/kind.h — provider kinds: templates that configuration instantiates.
 *
 * A kind ("sqlite.pool") is a create/dispose pair with the dependency roles
 * it expects and an optional check of its params. It is not a provider by
 * itself: di_instantiate() (or a "providers" entry in a config file, see
 * config.h) makes one under a name, with a lifetime, a mapping from roles to
 * provider names and params (params.h):
 *
 *     static const char *const session_roles[] = { "pool:sqlite.pool", "?log", NULL };
 *     di_kind_register(c, &(di_kind_desc){
 *         .name = "sqlite.session", .type = "sqlite.session",
 *         .lifetime = "request", .roles = session_roles,
 *         .create = session_create, .dispose = session_dispose });
 *
 *     di_instantiate(c, &(di_instance_desc){
 *         .name = "session", .kind = "sqlite.session",
 *         .deps = (const di_role_map[]){ { "pool", "db" }, { 0 } },
 *         .params = "{\"timeout_ms\": 500}" });
 *
 * Roles use the dependency syntax of provider.h: "role", "?role" (optional),
 * "role:type". A role left unmapped is looked up under its own name. A
 * mapped role is required even if the kind marks it optional (a name written
 * in a config is a promise; a typo must fail the seal), unless the mapped name
 * itself starts with '?'. The role's type check applies to whatever it is
 * mapped to.
 *
 * Inside create, dispose and check: b->data is the kind's data, b->name the
 * provider's name, b->params its params, b->deps the roles in declared order.
 *
 * Kinds from plugins (plugin.h) are registered as "<plugin>.<kind>". Kind
 * names follow provider naming rules; the '.' is a convention, not syntax.
 */
#ifndef DI_KIND_H
#define DI_KIND_H

#include "export.h"
#include "error.h"
#include "container.h"
#include "model.h"
#include "provider.h"

DI_BEGIN_DECLS

/*
 * di_check_fn — validate a provider's params when it is instantiated, before
 * anything is created, so that a bad config fails at start-up (and in
 * `diwire check`) rather than at the first request. Read params with params.h;
 * return 0, or a negative code with a message (di_fail() or a failing
 * accessor). b->mem is a scratch chunk freed after the call; b->deps and
 * b->scope are NULL.
 */
typedef int (*di_check_fn)(const di_build *b);

/* A kind. Unset fields are zero. ABI: plugins of an older minor version may
 * hand in a shorter struct; fields are only ever added at the end. */
typedef struct di_kind_desc {
    const char *name;         /* required; in a plugin: the short name ("pool") */
    const char *type;         /* type tag of the providers it makes, or NULL */
    const char *lifetime;     /* default lifetime, or NULL: instances must say */
    const char *const *roles; /* NULL-terminated dependency roles, or NULL */
    di_create_fn create;      /* required */
    di_dispose_fn dispose;    /* optional */
    di_check_fn check;        /* optional: params validation at instantiation */
    void *data;               /* b->data for create, dispose and check */
    size_t size;              /* size of b->mem for create (see provider.h) */
    const char *summary;      /* one line for `diwire plugins` and graphs, or NULL */
    unsigned flags;           /* DI_KIND_* (plugin ABI 1.1; read from a
                                 plugin only when it was built for 1.1 or
                                 later) */
    const di_model_desc *params_model; /* or NULL; see below (plugin ABI
                                          1.2) */
} di_kind_desc;

/*
 * A kind's params as a struct. A kind that gives .params_model (a model,
 * di/model.h, whose name is ignored: it is registered under the kind's own
 * name) has its params checked by it when each provider is instantiated:
 * every problem is reported at once, each at its JSON path (and, from a
 * config file, its line and column: "app.json:5:44:
 * providers.db.params.size: expected 1 to 1024"), and nothing is
 * registered. Then create, dispose and check read the filled struct with
 * di_params_struct(b) (params.h) instead of reading params one by one;
 * members the model does not name are still there for the accessors. The
 * model's table is checked when the kind is registered (a member past the
 * struct's end: DI_EINVAL with the model's message); the models it nests
 * must be registered before it.
 *
 *     typedef struct pool_params { const char *path; int64_t size; } pool_params;
 *     static const di_field pool_fields[] = {
 *         { "path", DI_F_STRING, DI_AT(pool_params, path), .required = 1 },
 *         { "size", DI_F_INT, DI_AT(pool_params, size), .ranged = 1,
 *           .min = 1, .max = 1024, .def = "4" },
 *         { .name = NULL } };
 *     ... .params_model = &(di_model_desc){ "pool", sizeof(pool_params),
 *                                           pool_fields } ...
 *     static int pool_create(const di_build *b, void **out)
 *     {
 *         const pool_params *pp = di_params_struct(b);  // checked: size 1..1024
 *         ...
 */

/* The providers made from the kind are asynchronous: marked as
 * di_async_provider() marks one (di/async.h). Each such provider also
 * takes the param "timeout_ms" (an integer, 1 to 3600000), whatever its
 * kind: a create still pending that long fails with DI_ETIMEDOUT, as
 * di_async_timeout() sets (the container needs di_async_timers()). The
 * kind's own check sees it too (and may ignore it). */
#define DI_KIND_ASYNC 0x1u

/*
 * di_kind_register — make a kind available to di_instantiate() and configs.
 * The descriptor and its strings are copied; functions and data are used as
 * given (they must outlive the container).
 *
 * Returns 0; DI_EINVAL (NULL, no name or create, malformed name or role,
 * a params model whose table is wrong, or whose name — the kind's — a
 * model has already); DI_EEXIST (a kind of that name exists); DI_ESEALED;
 * DI_ENOMEM. Detail in di_container_error(c).
 */
DI_EXPORT int di_kind_register(di_container *c, const di_kind_desc *desc);

/* A role → provider name pair; arrays of them end with { NULL, NULL }. */
typedef struct di_role_map {
    const char *role;
    const char *name;  /* "?name": optional */
} di_role_map;

/* An instantiation. Unset fields are zero. */
typedef struct di_instance_desc {
    const char *name;          /* required: the provider's name */
    const char *kind;          /* required: a registered kind */
    const char *lifetime;      /* NULL: the kind's default */
    const di_role_map *deps;   /* role mapping, or NULL */
    const char *params;        /* JSON object text, or NULL for {} */
    int override;              /* non-zero: replace an existing provider
                                  (di_override()), else a new one */
} di_instance_desc;

/*
 * di_instantiate — register the provider desc->name made from a kind.
 * Checks, before registering anything: the kind exists, every mapped role is
 * one of the kind's, there is a lifetime, params parse as a JSON object
 * (error with line:column), and the kind's check accepts them. Messages use
 * the config's JSON paths ("providers.db.params.size: expected integer, got
 * string", "providers.session.deps.poll: kind 'sqlite.session' has no role
 * 'poll' (roles: pool, log)"), whether or not a config file is involved.
 *
 * Returns 0; DI_ENOTFOUND (unknown kind; for an override, unknown name);
 * DI_EINVAL (unknown role, no lifetime, malformed name); DI_ECONFIG (params
 * not a JSON object, or too deep, or not what the kind's params model
 * says: one error each, di_error_next()); the check's code; otherwise as
 * di_provide(). On failure nothing is registered (DI_EEXIST is kept for seal
 * as with di_provide()). Detail in di_container_error(c).
 */
DI_EXPORT int di_instantiate(di_container *c, const di_instance_desc *desc);

DI_END_DECLS

#endif /* DI_KIND_H */
