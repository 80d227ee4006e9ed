/*
 * test_postgres.c — the PostgreSQL plugin against a real PostgreSQL server
 * that tests/pg.sh starts (the shared cases are in db_cases.c), plus what is
 * PostgreSQL's own: a connection the server drops is detected and replaced,
 * and a bad conninfo is refused at start-up. Skips (exit 77) when there is
 * no server.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "db_cases.h"
#include "helpers.h"

static char conninfo[512];

static int pg_exec(void *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
                   PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    return ok ? 0 : -1;
}

static long pg_query_int(void *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    long v = -1;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* The server kills the pooled connection; the next session still works, on
 * a new backend. */
static void test_broken_connection_replaced(void)
{
    di_container *c = t_db_container(1, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    di_scope *s;
    void *conn;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    long pid = pg_query_int(conn, "SELECT pg_backend_pid()");
    CU_ASSERT_TRUE(pid > 0);
    T_OK(di_scope_end(s, 0));
    PGconn *admin = PQconnectdb(conninfo);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%ld)", pid);
    PGresult *r = PQexec(admin, sql);
    CU_ASSERT_TRUE(r && PQntuples(r) == 1 &&
                   strcmp(PQgetvalue(r, 0, 0), "t") == 0);
    PQclear(r);
    PQfinish(admin);
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    long pid2 = pg_query_int(conn, "SELECT pg_backend_pid()");
    CU_ASSERT_TRUE(pid2 > 0 && pid2 != pid);
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

static void test_bad_conninfo(void)
{
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(di_plugin_dir(c, T_PLUGIN_BUILD_DIR));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"plugins\": [\"postgres\"], "
        "\"providers\": { \"db\": { \"use\": \"postgres.pool\", \"params\": "
        "{ \"conninfo\": \"host=x bogus=1\" } } } }", "bad"), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "bad:1:99: "
                            "providers.db.params.conninfo: invalid connection "
                            "option \"bogus\"\n"));
    T_OK(di_container_free(c));
}

int main(void)
{
    if (t_pg_conninfo(T_BUILD_DIR, conninfo, sizeof conninfo))
        return 77;
    static char params[600];
    snprintf(params, sizeof params, "{ \"conninfo\": \"%s\" }", conninfo);
    static const char *const modes[] = { "read_write", "read_only", NULL };
    static t_db db = { .plugin = "postgres", .serial = "SERIAL",
                       .exec = pg_exec, .query_int = pg_query_int,
                       .modes = modes };
    db.pool_params = params;
    static CU_TestInfo extra[] = {
        { "a dropped connection is replaced", test_broken_connection_replaced },
        { "a bad conninfo is refused at start-up", test_bad_conninfo },
        CU_TEST_INFO_NULL,
    };
    return t_db_run("postgres", &db, extra);
}
