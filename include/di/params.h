/*
 * di/params.h — reading a provider's parameters.
 *
 * A provider made from a kind (kind.h) carries params: the JSON object given
 * in configuration ("params": { "path": "notes.db", "size": 8 }) or to
 * di_instantiate(). Its create, dispose and check functions read them from
 * b->params with the typed accessors below. Each accessor reports a missing
 * or mistyped param with its JSON path, through di_fail() on b, so a create
 * can simply return the code:
 *
 *     const char *path;
 *     int64_t size = 4;
 *     int rc;
 *     if ((rc = di_param_string(b, NULL, "path", &path)))
 *         return rc;   // "providers.db.params.path: missing, expected string"
 *     if (di_param_has(b, NULL, "size") &&
 *         (rc = di_param_int(b, NULL, "size", &size)))
 *         return rc;   // "providers.db.params.size: expected integer, got string"
 *
 * Nodes. A di_params is one JSON value: the params object itself, or an
 * object or array inside it (from di_param_object() / di_param_array() /
 * di_params_item()). `in` NULL means b->params. A key NULL means the node `in`
 * itself, which is how array elements are read:
 *
 *     const di_params *hosts;
 *     if ((rc = di_param_array(b, NULL, "hosts", &hosts)))
 *         return rc;
 *     for (size_t i = 0; i < di_params_count(hosts); i++) {
 *         const char *h;
 *         if ((rc = di_param_string(b, di_params_item(hosts, i), NULL, &h)))
 *             return rc;   // "providers.db.params.hosts[2]: expected string, got number"
 *     }
 *
 * Ownership: params belong to the provider; nodes and strings stay valid as
 * long as the container. They are immutable, so any thread may read them.
 * Numbers: integers are exact up to 2^53 (JSON numbers are doubles).
 */
#ifndef DI_PARAMS_H
#define DI_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "provider.h"

DI_BEGIN_DECLS

typedef struct di_params di_params;

/*
 * The accessors. b: the build the call runs for (create, dispose or a kind's
 * check); its params are the root. in: the node to look in (NULL: b->params).
 * key: a member of the object `in`, or NULL to read `in` itself.
 * Return 0 and set *out; DI_ENOTFOUND when the key is missing (or b has no
 * params); DI_ETYPE when the value has another type; DI_EINVAL for NULL b or
 * out. On failure *out is unchanged and the message is attached to b as
 * di_fail() would ("providers.db.params.size: expected integer, got string").
 */
DI_EXPORT int di_param_string(const di_build *b, const di_params *in,
                              const char *key, const char **out);
/* An integral number within int64_t ("expected integer, got 2.5"). */
DI_EXPORT int di_param_int(const di_build *b, const di_params *in,
                           const char *key, int64_t *out);
/* Any number. */
DI_EXPORT int di_param_number(const di_build *b, const di_params *in,
                              const char *key, double *out);
/* true or false; *out is 1 or 0. */
DI_EXPORT int di_param_bool(const di_build *b, const di_params *in,
                            const char *key, int *out);
/* A nested object, as a node to read with the accessors. */
DI_EXPORT int di_param_object(const di_build *b, const di_params *in,
                              const char *key, const di_params **out);
/* An array, as a node: see di_params_count() and di_params_item(). */
DI_EXPORT int di_param_array(const di_build *b, const di_params *in,
                             const char *key, const di_params **out);

/*
 * di_param_has — 1 if the object `in` (NULL: b's params, through b) has the
 * member key (even null), 0 otherwise. Never reports an error: use it for
 * optional params before reading them.
 */
DI_EXPORT int di_param_has(const di_build *b, const di_params *in,
                           const char *key);

/* di_params_count — members of an object, elements of an array, else 0. */
DI_EXPORT size_t di_params_count(const di_params *p);
/* di_params_item — element i of an array or value of member i of an object
 * (in the order written), NULL when out of range. */
DI_EXPORT const di_params *di_params_item(const di_params *p, size_t i);
/* di_params_key — name of member i of an object, NULL for arrays or when out
 * of range. */
DI_EXPORT const char *di_params_key(const di_params *p, size_t i);
/* di_params_path — the node's JSON path ("providers.db.params.tls"). */
DI_EXPORT const char *di_params_path(const di_params *p);

/*
 * di_params_struct — b's params as the struct of its kind's params model
 * (kind.h), filled and checked when the provider was instantiated, its
 * defaults in place; NULL when the kind has no model (or b no params).
 * Owned by the provider's params: valid, and read-only, as long as the
 * container.
 */
DI_EXPORT const void *di_params_struct(const di_build *b);

DI_END_DECLS

#endif /* DI_PARAMS_H */
