/*
 * sqlite.c — the SQLite plugin: "sqlite.pool" and "sqlite.session".
 *
 * Every param of both kinds is described in docs/plugins.md.
 *
 * sqlite.pool params: "path" (required; a file name, or a URI such as
 * "file:notes.db?mode=rwc"), "size" (4), "checkout_timeout_ms" (5000),
 * "wal" (true: journal_mode=WAL, readers do not block the writer; false:
 * journal_mode=DELETE, the rollback journal),
 * "busy_timeout_ms" (5000), "foreign_keys" (true). ":memory:" gives each
 * connection its own database: use size 1 with it.
 * sqlite.session params: "begin", one of "immediate" (the default: the
 * write lock is taken at the start, so concurrent writers wait for
 * busy_timeout_ms instead of failing when a read turns into a write),
 * "deferred" (no lock until the first statement needs one: for sessions
 * that only read, which then never wait for writers in WAL mode) and
 * "exclusive". The session instance is the sqlite3 *.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

/* The pool's params, as its model fills them. */
typedef struct sq_cfg {
    di__db_pool_cfg pool;
    const char *path;
    bool wal, foreign_keys;
    int64_t busy_timeout_ms;
} sq_cfg;

static const di_field sq_pool_fields[] = {
    DI__DB_POOL_FIELDS(sq_cfg),
    { "path", DI_F_STRING, DI_AT(sq_cfg, path), .required = 1,
      .min_len = 1 },
    { "wal", DI_F_BOOL, DI_AT(sq_cfg, wal), .def = "true" },
    { "foreign_keys", DI_F_BOOL, DI_AT(sq_cfg, foreign_keys),
      .def = "true" },
    { "busy_timeout_ms", DI_F_INT, DI_AT(sq_cfg, busy_timeout_ms),
      .ranged = 1, .min = 0, .max = 3600000, .def = "5000" },
    { .name = NULL },
};

static const char *const sq_modes[] = { "immediate", "deferred", "exclusive",
                                        NULL };
static const char *const sq_mode_sql[] = { "BEGIN IMMEDIATE",
                                           "BEGIN DEFERRED",
                                           "BEGIN EXCLUSIVE", NULL };
static const di_field sq_session_fields[] = {
    { "begin", DI_F_STRING, DI_AT(di__db_session_cfg, begin),
      .one_of = sq_modes, .def = "\"immediate\"" },
    { .name = NULL },
};

static int sq_exec(void *conn, const char *sql, char *err, size_t n)
{
    char *msg = NULL;
    if (sqlite3_exec(conn, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, n, "%s", msg ? msg : sqlite3_errmsg(conn));
    sqlite3_free(msg);
    return -1;
}

static void sq_close(void *conn) { sqlite3_close_v2(conn); }

static bool sq_broken(void *conn)
{
    (void)conn;
    return false; /* an embedded database has no connection to lose */
}

static int sq_open(const di_build *b, const void *cfg, void **out)
{
    const sq_cfg *sc = cfg;
    const char *path = sc->path;
    int rc;
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        rc = di_fail(b, DI_EPROVIDER, "sqlite: cannot open '%s': %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_busy_timeout(db, (int)sc->busy_timeout_ms);
    char err[256];
    /* the journal mode is the file's own, kept from one open to the next:
     * false sets the rollback journal back */
    if (sq_exec(db, sc->wal ? "PRAGMA journal_mode=WAL"
                            : "PRAGMA journal_mode=DELETE", err, sizeof err) ||
        (sc->foreign_keys &&
         sq_exec(db, "PRAGMA foreign_keys=ON", err, sizeof err))) {
        rc = di_fail(b, DI_EPROVIDER, "sqlite: cannot set up '%s': %s", path,
                     err);
        sqlite3_close_v2(db);
        return rc;
    }
    *out = db;
    return 0;
}

static bool sq_in_tx(void *conn) { return !sqlite3_get_autocommit(conn); }

static const di__db_ops sqlite_ops = {
    .name = "sqlite", .modes = sq_modes, .mode_sql = sq_mode_sql,
    .open = sq_open, .exec = sq_exec, .broken = sq_broken, .in_tx = sq_in_tx,
    .close = sq_close,
};

static const di_kind_desc pool_kind = {
    .name = "pool", .type = "sqlite.pool", .lifetime = "singleton",
    .create = di__db_pool_create, .dispose = di__db_pool_dispose,
    .check = di__db_pool_check, .data = (void *)&sqlite_ops,
    .size = sizeof(di__dbpool), .summary = "a pool of SQLite connections to one database",
    .params_model = &(const di_model_desc){ "pool", sizeof(sq_cfg),
                                            sq_pool_fields },
};

static const char *const session_roles[] = { "pool:sqlite.pool", NULL };
static const di_kind_desc session_kind = {
    .name = "session", .type = "sqlite3", .lifetime = "request",
    .roles = session_roles, .create = di__db_session_create,
    .dispose = di__db_session_dispose,
    .data = (void *)&sqlite_ops, .size = sizeof(di__dbsession),
    .summary = "a transaction: COMMIT on success, ROLLBACK on failure",
    .params_model = &(const di_model_desc){ "session",
                                            sizeof(di__db_session_cfg),
                                            sq_session_fields },
};

static int sq_init(char *why, size_t n)
{
    if (sqlite3_threadsafe() == 0) {
        snprintf(why, n, "this SQLite was built without thread safety");
        return -1;
    }
    return 0;
}

DI_PLUGIN(sqlite, "1.0.0", sq_init, &pool_kind, &session_kind)
