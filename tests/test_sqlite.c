/*
 * test_sqlite.c — the SQLite plugin on a real database file (the shared
 * cases are in db_cases.c), plus what is SQLite's own: a path that cannot
 * be opened fails at start-up, a COMMIT locked out by another connection's
 * read transaction is reported (and nothing kept), and read sessions
 * ("deferred") take no write lock.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include "db_cases.h"
#include "helpers.h"

static int sq_exec(void *conn, const char *sql)
{
    return sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static long sq_query_int(void *conn, const char *sql)
{
    sqlite3_stmt *st;
    long v = -1;
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_bad_path(void)
{
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(di_plugin_dir(c, T_PLUGIN_BUILD_DIR));
    T_OK(di_config_load_string(c, "{ \"plugins\": [\"sqlite\"], \"providers\":"
                               " { \"db\": { \"use\": \"sqlite.pool\", "
                               "\"params\": { \"path\": \"/nonexistent/x.db\" "
                               "} } } }", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *pool;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_get(s, "db", &pool), DI_EPROVIDER);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(s), "db: sqlite: cannot open "
                            "'/nonexistent/x.db': unable to open database "
                            "file"));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

static char path[256];

/* The case, made deterministic: no WAL, another connection holds a
 * read transaction on the file, a short busy timeout. The INSERT is
 * accepted, the COMMIT cannot get the lock: the settle reports it with
 * SQLite's message, the row is absent afterwards, and the connection comes
 * back clean. */
static void test_commit_locked_out(void)
{
    di_container *c = t_db_container_with(1, 1000, "\"wal\": false, "
                                          "\"busy_timeout_ms\": 200", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    di_scope *s;
    void *conn;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    T_OK(sq_exec(conn, "DROP TABLE IF EXISTS t_locked; CREATE TABLE t_locked "
                       "(v TEXT)"));
    T_OK(di_scope_end(s, 0));
    sqlite3 *reader;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &reader), SQLITE_OK);
    T_OK(sq_exec(reader, "BEGIN"));
    CU_ASSERT_EQUAL(sq_query_int(reader, "SELECT count(*) FROM t_locked"), 0);
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    T_OK(sq_exec(conn, "INSERT INTO t_locked VALUES ('saved?')"));
    CU_ASSERT_EQUAL(di_scope_settle(s, 0), DI_EDISPOSE);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(s), "tx: sqlite: COMMIT failed: "
                            "database is locked"));
    T_OK(di_scope_free(s));
    T_OK(sq_exec(reader, "COMMIT"));
    sqlite3_close(reader);
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    CU_ASSERT_EQUAL(sq_query_int(conn, "SELECT count(*) FROM t_locked"), 0);
    T_OK(sq_exec(conn, "DROP TABLE t_locked"));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

/* Whether a session that is open and has read blocks another session from
 * beginning: mode is the first one's "begin". */
static int second_begins(const char *mode)
{
    char params[64];
    snprintf(params, sizeof params, "{ \"begin\": \"%s\" }", mode);
    di_container *reads = t_db_container_with(1, 1000, "\"busy_timeout_ms\": "
                                              "300", params);
    di_container *writes = t_db_container_with(1, 1000, "\"busy_timeout_ms\": "
                                               "300", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reads);
    CU_ASSERT_PTR_NOT_NULL_FATAL(writes);
    di_scope *r, *w;
    void *conn;
    T_OK(di_scope_begin(reads, NULL, "request", NULL, &r));
    T_OK(di_get(r, "tx", &conn));
    CU_ASSERT(sq_query_int(conn, "SELECT count(*) FROM t_items") >= 0);
    T_OK(di_scope_begin(writes, NULL, "request", NULL, &w));
    int rc = di_get(writes ? w : NULL, "tx", &conn);
    if (rc)
        CU_ASSERT_TRUE(t_msg_is(di_scope_error(w), "tx: sqlite: BEGIN "
                                "IMMEDIATE failed: database is locked"));
    T_OK(di_scope_end(w, 0));
    T_OK(di_scope_end(r, 0));
    T_OK(di_container_free(writes));
    T_OK(di_container_free(reads));
    return rc == 0;
}

/* A read session ("deferred") takes no write lock: a writer begins while it
 * is open. An "immediate" one holds the lock until it ends: the writer
 * waits its busy timeout, then fails. */
static void test_deferred_reads_take_no_lock(void)
{
    CU_ASSERT_TRUE(second_begins("deferred"));
    CU_ASSERT_FALSE(second_begins("immediate"));
}

int main(void)
{
    static const char *const modes[] = { "immediate", "deferred", "exclusive",
                                         NULL };
    static t_db db = { .plugin = "sqlite", .serial = "INTEGER",
                       .exec = sq_exec, .query_int = sq_query_int,
                       .modes = modes };
    /* one file per process: the memcheck run may go at the same time */
    static char params[512];
    snprintf(path, sizeof path, "%s/test_sqlite.%d.db", T_BUILD_DIR,
             (int)getpid());
    snprintf(params, sizeof params, "{ \"path\": \"%s\" }", path);
    db.pool_params = params;
    static CU_TestInfo extra[] = {
        { "a path that cannot be opened", test_bad_path },
        { "a COMMIT locked out by a reader: reported, absent",
          test_commit_locked_out },
        { "read sessions (deferred) take no write lock",
          test_deferred_reads_take_no_lock },
        CU_TEST_INFO_NULL,
    };
    int rc = t_db_run("sqlite", &db, extra);
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < 3; i++) {
        char f[300];
        snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
        remove(f);
    }
    return rc;
}
