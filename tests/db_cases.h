/*
 * db_cases.h — the cases both database plugins must pass against a real
 * database: commit on success, rollback on failure, a COMMIT that fails
 * (reported, nothing kept, the connection clean for the next request),
 * transaction modes checked at start-up (never SQL from a config), pool
 * exhaustion with its timeout, params checked at start-up, concurrent
 * sessions that leave a consistent database.
 */
#ifndef DI_TEST_DB_CASES_H
#define DI_TEST_DB_CASES_H

#include <CUnit/CUnit.h>

/* How to talk to the database under test. */
typedef struct t_db {
    const char *plugin;     /* "sqlite" */
    const char *pool_params;/* JSON object for "<plugin>.pool" (no size) */
    const char *serial;     /* column type of an auto-increment key */
    /* run SQL on a session instance; 0 or -1 */
    int (*exec)(void *conn, const char *sql);
    /* the first column of the first row as an integer, or -1 */
    long (*query_int)(void *conn, const char *sql);
    /* the session's transaction modes ("begin"), the default first */
    const char *const *modes;
} t_db;

extern const t_db *t_db_under_test;

/* Run the shared cases plus `extra` (may be NULL) as suite `suite`. */
int t_db_run(const char *suite, const t_db *db, CU_TestInfo *extra);

/* A container with "<plugin>" loaded, pool "db" (params + size) and session
 * "tx", sealed; for the extra cases. */
struct di_container *t_db_container(int size, int checkout_timeout_ms);
/* The same with more pool params (JSON members, e.g. "\"wal\": false", or
 * NULL) and the session's params (a JSON object, or NULL). */
struct di_container *t_db_container_with(int size, int checkout_timeout_ms,
                                         const char *pool_more,
                                         const char *tx_params);

#endif
