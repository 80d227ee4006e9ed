/*
 * di/error.h — error codes and error details.
 *
 * Every libdi function that can fail returns an int: 0 (DI_OK) or a negative
 * DI_E* code. The detail of the last failure — code, message, dependency path —
 * is kept by the object the call was made on (di_container_error(),
 * di_scope_error()) as a di_error owned by libdi. There is no global error
 * state.
 *
 * A di_error may be the head of a list: seal reports every problem it finds,
 * and ending a scope reports every dispose that failed. Walk it with
 * di_error_next().
 */
#ifndef DI_ERROR_H
#define DI_ERROR_H

#include <stddef.h>
#include "export.h"

DI_BEGIN_DECLS

/* Error codes. All are negative; 0 is success. */
enum {
    DI_OK = 0,
    DI_EINVAL = -1,     /* an argument is NULL, malformed or out of range */
    DI_ENOMEM = -2,     /* an allocation failed */
    DI_EEXIST = -3,     /* the name is already registered */
    DI_ENOTFOUND = -4,  /* no provider, consumer or level of that name */
    DI_ECYCLE = -5,     /* the dependencies form a cycle */
    DI_ECAPTIVE = -6,   /* a longer-lived instance would capture a shorter-lived one */
    DI_ESCOPE = -7,     /* a level cannot see another / no enclosing scope of a level */
    DI_ETYPE = -8,      /* type tag mismatch */
    DI_ESEALED = -9,    /* the container is sealed: registration is closed */
    DI_ENOTSEALED = -10,/* the container is not sealed yet: resolution is closed */
    DI_EPROVIDER = -11, /* a provider's create failed without a code of its own */
    DI_EDISPOSE = -12,  /* one or more disposes failed */
    DI_EBUSY = -13,     /* the object is in use (re-entrant end/free, open scopes) */
    DI_ESTALE = -14,    /* the scope has already ended */
    DI_EGRAPH = -15,    /* seal found problems; see the error list */
    DI_ELEVEL = -16,    /* unknown or malformed scope level */
    DI_EABANDONED = -17,/* outcome of a scope whose talloc parent was freed */
    DI_EPLUGIN = -18,   /* a plugin was refused (the reason names the file) */
    DI_ECONFIG = -19,   /* a configuration is unreadable, malformed or wrong */
    DI_EASYNC = -20,    /* an asynchronous provider where nothing can wait
                           for it (async.h) */
    DI_ETIMEDOUT = -21, /* a pending create did not finish in time (async.h) */
    DI_EINVALID = -22   /* input does not fit its model (model.h): not the
                           program's error, the client's (422) */
};

/* The detail of a failure. Opaque; read it with the accessors below. */
typedef struct di_error di_error;

/*
 * di_strerror — a short, static description of an error code.
 *
 * code: a DI_E* code (other values give "unknown error").
 * Returns a static string, never NULL.
 */
DI_EXPORT const char *di_strerror(int code);

/*
 * di_error_code — the DI_E* code (or a provider's own negative code).
 * e: an error detail, may be NULL (then returns DI_OK).
 */
DI_EXPORT int di_error_code(const di_error *e);

/*
 * di_error_message — the full human-readable line, path included, e.g.
 * "GET /notes → current_user → session: no provider 'session'".
 * e: an error detail, may be NULL (then returns "").
 * Returns a string owned by the error; never NULL.
 */
DI_EXPORT const char *di_error_message(const di_error *e);

/*
 * di_error_path — where the error is, as text: the dependency path
 * ("GET /notes → current_user → session"; names joined by " → ", the UTF-8
 * arrow, a level in brackets where it matters: "cache (singleton) → user
 * (request)"), or for a configuration the JSON path
 * ("providers.db.params.size"), or "" when the error has no place. The
 * message is this, ": ", and the reason (a configuration's message starts
 * with the file's name as well). e may be NULL. Owned by the error; never
 * NULL.
 */
DI_EXPORT const char *di_error_path(const di_error *e);

/*
 * di_error_reason — what went wrong, without where: "no provider 'session'"
 * for the message "GET /notes → session: no provider 'session'". e may be
 * NULL (then ""). Owned by the error; never NULL.
 */
DI_EXPORT const char *di_error_reason(const di_error *e);

/*
 * di_error_path_len, di_error_path_name — the dependency path as names,
 * from the consumer (or provider) where it starts to the one the error is
 * about: names only, without levels or arrows. An error with no dependency
 * path (a configuration's JSON path, a misuse) has 0 names.
 * di_error_path_name returns NULL for i >= di_error_path_len(e). The
 * strings are owned by the error.
 */
DI_EXPORT size_t di_error_path_len(const di_error *e);
/* di_error_path_name — name i of that path (0: where it starts), or NULL. */
DI_EXPORT const char *di_error_path_name(const di_error *e, size_t i);

/*
 * di_error_provider — the provider (or consumer) the error is about: the
 * last name of its dependency path ("session" above; for a dispose that
 * failed, its provider), or "" when it has none. Owned by the error.
 */
DI_EXPORT const char *di_error_provider(const di_error *e);

/*
 * di_error_next — the next problem in a list (seal, teardown), or NULL.
 */
DI_EXPORT const di_error *di_error_next(const di_error *e);

/*
 * di_error_count — how many problems the list starting at e holds (0 for NULL).
 */
DI_EXPORT size_t di_error_count(const di_error *e);

DI_END_DECLS

#endif /* DI_ERROR_H */
