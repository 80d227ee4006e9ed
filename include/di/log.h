/*
 * di/log.h — one log hook for everything libdi and its adapters report at
 * run time, when there is no caller to return it to: a COMMIT that failed
 * after the handler succeeded (the answer became a 500), a request that
 * failed with an internal error, a dispose that failed after its scope's
 * owner had gone (a scope freed without being settled, the container's
 * singletons at its end), a scope freed without being settled, a plugin
 * refused while loading, a configuration reloaded.
 *
 * Each goes to one function as a record: a level, an event name, a
 * one-line message (control characters written as \xHH: a client's input
 * cannot forge a line) and the structured fields known for it. By default
 * the message of each record of level DI_LOG_WARN or above is written as
 * one line on stderr (di_log_stderr()).
 *
 *     static void to_syslog(void *ctx, const di_log_record *r)
 *     {
 *         syslog(r->level >= DI_LOG_ERROR ? LOG_ERR : LOG_WARNING,
 *                "%s provider=%s code=%d", r->message, r->provider, r->code);
 *     }
 *     di_log_set(to_syslog, NULL);
 *
 * Events and their levels:
 *   "not_saved"        ERROR  a request's settle failed (its answer became a
 *                             500): one record per failed dispose, with its
 *                             provider, path and code
 *   "request_failed"   ERROR  a request answered 500 for an internal error
 *   "dispose_failed"   WARN   a dispose failed with nobody to tell (an
 *                             abandoned scope, the container's end)
 *   "scope_abandoned"  WARN   a scope freed through its talloc parent
 *                             without being settled; INFO when
 *                             di_scope_free() settles it as abandoned
 *   "plugin_refused"   INFO   a plugin the loader refused (the caller gets
 *                             the error too)
 *   "reloaded"         INFO   a live handle published a container
 */
#ifndef DI_LOG_H
#define DI_LOG_H

#include "export.h"

DI_BEGIN_DECLS

typedef enum di_log_level {
    DI_LOG_DEBUG = 0,
    DI_LOG_INFO = 1,
    DI_LOG_WARN = 2,
    DI_LOG_ERROR = 3,
} di_log_level;

/* One report. Strings are never NULL ("" when not known) and valid only
 * during the call. */
typedef struct di_log_record {
    di_log_level level;
    const char *event;     /* one of the names above */
    const char *message;   /* one line, no newline */
    const char *provider;  /* the provider concerned */
    const char *path;      /* its dependency path ("POST /notes → repo") */
    int code;              /* the DI_E* (or a provider's) code, or 0 */
    const char *method;    /* the HTTP request's, for the router's */
    const char *target;    /* its path */
} di_log_record;

/* A log function: called on the thread that reports, possibly on several
 * threads at once. It must not call back into libdi. */
typedef void (*di_log_fn)(void *ctx, const di_log_record *rec);

/*
 * di_log_set — where every record goes from now on, for the whole
 * process (ctx is handed back). NULL fn restores the default,
 * di_log_stderr(). Set it at start-up; it may be changed at any time.
 */
DI_EXPORT void di_log_set(di_log_fn fn, void *ctx);

/* di_log_stderr — the default: the message of a record of level DI_LOG_WARN
 * or above, as one line on stderr. ctx is unused. */
DI_EXPORT void di_log_stderr(void *ctx, const di_log_record *rec);

DI_END_DECLS

#endif /* DI_LOG_H */
