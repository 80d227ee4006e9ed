/*
 * test_sqlite.c — the SQLite plugin on a real database file (the shared
 * cases are in db_cases.c), plus what is SQLite's own: a path that cannot
 * be opened fails at start-up.
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

int main(void)
{
    static t_db db = { .plugin = "sqlite", .serial = "INTEGER",
                       .exec = sq_exec, .query_int = sq_query_int };
    /* one file per process: the memcheck run may go at the same time */
    static char path[256], params[512];
    snprintf(path, sizeof path, "%s/test_sqlite.%d.db", T_BUILD_DIR,
             (int)getpid());
    snprintf(params, sizeof params, "{ \"path\": \"%s\" }", path);
    db.pool_params = params;
    static CU_TestInfo extra[] = {
        { "a path that cannot be opened", test_bad_path },
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
