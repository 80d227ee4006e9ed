/*
 * db.h — what the database plugins share: a pool kind and a session kind
 * built on a few operations each database supplies. Compiled into each
 * plugin module; not part of libdi's ABI.
 *
 * pool (singleton): params "size" (connections, default 4, 1..1024) and
 * "checkout_timeout_ms" (default 5000), plus the database's own. Opens every
 * connection at creation, so a bad path or conninfo fails at start-up.
 * session (request): role "pool", param "begin" (a transaction mode, one of
 * the database's own list, checked at start-up: never SQL from a config);
 * checks a connection out (waiting up to checkout_timeout_ms, then failing
 * with DI_EBUSY), begins the transaction in that mode, and is the
 * connection itself for the handler. Its dispose COMMITs when the scope
 * succeeded and ROLLBACKs otherwise (a COMMIT that fails is rolled back and
 * reported: "sqlite: COMMIT failed: database is locked"), then returns the
 * connection. A connection found broken (the database's own test) or still
 * inside a transaction after that (a ROLLBACK that failed) is closed, and
 * opened again at its next checkout: no request ever gets a connection
 * with somebody else's transaction open on it.
 */
#ifndef DI_PLUGIN_DB_H
#define DI_PLUGIN_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <di.h>

#include "pool.h"

typedef struct di__db_ops di__db_ops;

/* The pool instance, and a session's chunk (b->mem). */
typedef struct di__dbpool {
    di__pool pool;
    const di__db_ops *ops;
    const di_params *params;  /* the pool's, for reopening */
    const char *name;         /* the provider's name */
} di__dbpool;

typedef struct di__dbsession {
    di__dbpool *p;
    long slot;
} di__dbsession;

/* A transaction mode: the "begin" param's value and its statement. */
typedef struct di__db_mode {
    const char *name;        /* "immediate" */
    const char *sql;         /* "BEGIN IMMEDIATE" */
} di__db_mode;

struct di__db_ops {
    const char *name;        /* "sqlite", "postgres": used in messages */
    /* the modes "begin" may name, the default first; a NULL name ends it */
    const di__db_mode *modes;
    /* check the database's own pool params; 0 or a di_fail code */
    int (*check)(const di_build *b, const di_params *params);
    /* open one connection; 0, or a di_fail code */
    int (*open)(const di_build *b, const di_params *params, void **conn);
    /* run a statement; 0, or -1 with the database's message in err */
    int (*exec)(void *conn, const char *sql, char *err, size_t n);
    /* is the connection unusable (to be opened again)? */
    bool (*broken)(void *conn);
    /* is a transaction still open on it? */
    bool (*in_tx)(void *conn);
    void (*close)(void *conn);
};

/* The kinds' functions; the kind's data is the di__db_ops. */
int di__db_pool_check(const di_build *b);
int di__db_pool_create(const di_build *b, void **out);
int di__db_pool_dispose(const di_build *b, void *inst, int outcome);
int di__db_session_check(const di_build *b);
int di__db_session_create(const di_build *b, void **out);
int di__db_session_dispose(const di_build *b, void *inst, int outcome);

/* The pool params "size" and "checkout_timeout_ms" (defaults 4 and 5000). */
int di__db_pool_params(const di_build *b, int64_t *size, int64_t *timeout);
/* The statement that begins a transaction in the mode the "begin" param
 * names (the default mode without it; b->data is the di__db_ops); a
 * di_fail code for a mode the database does not have. */
int di__db_begin_sql(const di_build *b, const char **sql);

/* Read an optional integer param within [lo, hi] (def when absent). */
int di__db_int(const di_build *b, const di_params *in, const char *key,
               int64_t def, int64_t lo, int64_t hi, int64_t *out);

#endif
