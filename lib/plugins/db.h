/*
 * db.h — what the database plugins share: a pool kind and a session kind
 * built on a few operations each database supplies. Compiled into each
 * plugin module; not part of libdi's ABI.
 *
 * pool (singleton): params "size" (connections, default 4, 1..1024) and
 * "checkout_timeout_ms" (default 5000), plus the database's own, all
 * described by the kind's params model (kind.h: every problem reported at
 * start-up with its place; the kinds read the filled struct). Opens every
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

/* The params every database's pool has: the first member of its params
 * struct, described by DI__DB_POOL_FIELDS(that struct) in its model. */
typedef struct di__db_pool_cfg {
    int64_t size, checkout_timeout_ms;
} di__db_pool_cfg;
#define DI__DB_POOL_FIELDS(type)                                            \
    { "size", DI_F_INT, DI_AT(type, pool.size), .ranged = 1, .min = 1,      \
      .max = 1024, .def = "4" },                                            \
    { "checkout_timeout_ms", DI_F_INT, DI_AT(type, pool.checkout_timeout_ms), \
      .ranged = 1, .min = 0, .max = 3600000, .def = "5000" }

/* A session's params: "begin", one of the database's modes (its model's
 * one_of), the first by default. */
typedef struct di__db_session_cfg {
    const char *begin;
} di__db_session_cfg;

/* The pool instance, and a session's chunk (b->mem). */
typedef struct di__dbpool {
    di__pool pool;
    const di__db_ops *ops;
    const void *cfg;          /* the pool's params struct, for reopening */
    const char *name;         /* the provider's name */
} di__dbpool;

typedef struct di__dbsession {
    di__dbpool *p;
    long slot;
} di__dbsession;

struct di__db_ops {
    const char *name;        /* "sqlite", "postgres": used in messages */
    /* the modes "begin" may name ("immediate"), the default first,
     * NULL-terminated (the session model's one_of), and the statement of
     * each ("BEGIN IMMEDIATE") */
    const char *const *modes;
    const char *const *mode_sql;
    /* check what the pool's model cannot (a conninfo's syntax): 0 or a
     * di_fail code; or NULL */
    int (*check)(const di_build *b, const void *cfg);
    /* open one connection (cfg: the pool's params struct); 0, or a
     * di_fail code */
    int (*open)(const di_build *b, const void *cfg, void **conn);
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
int di__db_session_create(const di_build *b, void **out);
int di__db_session_dispose(const di_build *b, void *inst, int outcome);

/* The statement that begins a transaction in the mode the session's
 * "begin" names (b->data is the di__db_ops). */
const char *di__db_begin_sql(const di_build *b);

#endif
