/*
 * db_cases.c — see db_cases.h.
 */
#include "db_cases.h"

#include <pthread.h>
#include <stdio.h>

#include "helpers.h"

const t_db *t_db_under_test;
#define DB t_db_under_test

di_container *t_db_container_with(int size, int checkout_timeout_ms,
                                  const char *pool_more, const char *tx_params)
{
    di_container *c;
    if (di_container_new(NULL, &c))
        return NULL;
    char *cfg = talloc_asprintf(c,
        "{ \"plugins\": [\"%s\"], \"providers\": {"
        "  \"db\": { \"use\": \"%s.pool\", \"params\": %.*s, \"size\": %d, "
        "\"checkout_timeout_ms\": %d%s%s } },"
        "  \"tx\": { \"use\": \"%s.session\", \"deps\": { \"pool\": \"db\" }"
        "%s%s } } }",
        DB->plugin, DB->plugin, (int)strlen(DB->pool_params) - 1,
        DB->pool_params, size, checkout_timeout_ms, pool_more ? ", " : "",
        pool_more ? pool_more : "", DB->plugin,
        tx_params ? ", \"params\": " : "", tx_params ? tx_params : "");
    if (!cfg || di_plugin_dir(c, T_PLUGIN_BUILD_DIR) ||
        di_config_load_string(c, cfg, "db-test") || di_container_seal(c)) {
        const di_error *e = di_container_error(c);
        fprintf(stderr, "t_db_container: %s\n", e ? di_error_message(e) : "?");
        di_container_free(c);
        return NULL;
    }
    return c;
}

di_container *t_db_container(int size, int checkout_timeout_ms)
{
    return t_db_container_with(size, checkout_timeout_ms, NULL, NULL);
}

/* Run one transaction: sql in a request scope ended with outcome. */
static int in_tx(di_container *c, const char *sql, int outcome)
{
    di_scope *s;
    void *conn;
    int rc = di_scope_begin(c, NULL, "request", NULL, &s);
    if (rc)
        return rc;
    rc = di_get(s, "tx", &conn);
    if (!rc && sql)
        rc = DB->exec(conn, sql);
    int end = di_scope_end(s, outcome);
    return rc ? rc : end;
}

static long count_rows(di_container *c, const char *sql)
{
    di_scope *s;
    void *conn;
    long n = -1;
    if (di_scope_begin(c, NULL, "request", NULL, &s))
        return -1;
    if (!di_get(s, "tx", &conn))
        n = DB->query_int(conn, sql);
    di_scope_end(s, 0);
    return n;
}

static di_container *fresh(int size, int timeout)
{
    di_container *c = t_db_container(size, timeout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    char *sql = talloc_asprintf(c, "DROP TABLE IF EXISTS t_items; CREATE TABLE "
                                "t_items (id %s PRIMARY KEY, v TEXT NOT NULL)",
                                DB->serial);
    CU_ASSERT_EQUAL_FATAL(in_tx(c, sql, 0), 0);
    return c;
}

static void test_commit_and_rollback(void)
{
    di_container *c = fresh(2, 1000);
    T_OK(in_tx(c, "INSERT INTO t_items (v) VALUES ('kept')", 0));
    /* the scope fails: the insert is rolled back */
    T_OK(in_tx(c, "INSERT INTO t_items (v) VALUES ('lost')", -1));
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items WHERE "
                                  "v = 'kept'"), 1);
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items WHERE "
                                  "v = 'lost'"), 0);
    /* the same connection serves again after a rollback */
    T_OK(in_tx(c, "INSERT INTO t_items (v) VALUES ('again')", 0));
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items"), 2);
    T_OK(di_container_free(c));
}

/* A COMMIT that fails (a deferred foreign key, checked at COMMIT): the
 * settle reports it with the database's message, nothing is kept, and the
 * pool's one connection serves the next transaction (it was not left
 * inside the failed one). */
static void test_commit_fails(void)
{
    di_container *c = fresh(1, 1000);
    T_OK(in_tx(c, "DROP TABLE IF EXISTS t_child; DROP TABLE IF EXISTS "
                  "t_parent; CREATE TABLE t_parent (id INTEGER PRIMARY KEY); "
                  "CREATE TABLE t_child (p INTEGER REFERENCES t_parent(id) "
                  "DEFERRABLE INITIALLY DEFERRED)", 0));
    di_scope *s;
    void *conn;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &conn));
    T_OK(DB->exec(conn, "INSERT INTO t_child (p) VALUES (42)")); /* deferred */
    T_OK(DB->exec(conn, "INSERT INTO t_items (v) VALUES ('with it')"));
    CU_ASSERT_EQUAL(di_scope_settle(s, 0), DI_EDISPOSE);
    const di_error *e = di_scope_error(s);
    char *want = talloc_asprintf(NULL, "tx: %s: COMMIT failed: ", DB->plugin);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT_EQUAL(di_error_code(e), DI_EPROVIDER);
    CU_ASSERT_EQUAL(strncmp(di_error_message(e), want, strlen(want)), 0);
    CU_ASSERT_PTR_NOT_NULL(strcasestr(di_error_message(e), "foreign key"));
    fprintf(stderr, "\n  %s ", di_error_message(e));
    talloc_free(want);
    T_OK(di_scope_free(s));
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_child"), 0);
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items"), 0);
    T_OK(in_tx(c, "INSERT INTO t_items (v) VALUES ('after')", 0));
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items"), 1);
    T_OK(in_tx(c, "DROP TABLE t_child; DROP TABLE t_parent", 0));
    T_OK(di_container_free(c));
}

/* "begin" names a mode from the plugin's list, checked when the config is
 * loaded: SQL there is refused before anything runs. Every mode works. */
static void test_begin_modes(void)
{
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(di_plugin_dir(c, T_PLUGIN_BUILD_DIR));
    char *cfg = talloc_asprintf(c, "{ \"plugins\": [\"%s\"], \"providers\": {"
                                " \"db\": { \"use\": \"%s.pool\", \"params\": "
                                "%s }, \"tx\": { \"use\": \"%s.session\", "
                                "\"deps\": { \"pool\": \"db\" }, \"params\": "
                                "{ \"begin\": \"BEGIN; DROP TABLE t_items\" } } "
                                "} }", DB->plugin, DB->plugin, DB->pool_params,
                                DB->plugin);
    CU_ASSERT_EQUAL(di_config_load_string(c, cfg, "bad"), DI_ECONFIG);
    /* one line: the column is where the value starts */
    char *want = talloc_asprintf(c, "bad:1:%d: providers.tx.params.begin: "
                                 "expected one of ",
                                 (int)(strstr(cfg, "\"BEGIN;") - cfg) + 1);
    for (const char *const *m = DB->modes; *m; m++)
        want = talloc_asprintf_append(want, "%s'%s'", m == DB->modes ? "" :
                                      ", ", *m);
    /* (the model's message: the value is not repeated) */
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    T_OK(di_container_free(c));
    c = fresh(1, 1000); /* t_items exists */
    T_OK(di_container_free(c));
    for (const char *const *m = DB->modes; *m; m++) {
        char params[64];
        snprintf(params, sizeof params, "{ \"begin\": \"%s\" }", *m);
        c = t_db_container_with(1, 1000, NULL, params);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items"), 0);
        T_OK(di_container_free(c));
    }
}

static void test_pool_exhaustion(void)
{
    di_container *c = fresh(1, 200);
    di_scope *a, *b;
    void *conn;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &a));
    T_OK(di_get(a, "tx", &conn));
    T_OK(di_scope_begin(c, NULL, "request", NULL, &b));
    CU_ASSERT_EQUAL(di_get(b, "tx", &conn), DI_EBUSY);
    char *want = talloc_asprintf(NULL, "tx: %s pool 'db': all 1 connections "
                                 "stayed busy for 200 ms", DB->plugin);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(b), want));
    talloc_free(want);
    T_OK(di_scope_end(b, -1));
    T_OK(di_scope_end(a, 0));
    /* once returned, the connection serves the next request */
    T_OK(in_tx(c, "INSERT INTO t_items (v) VALUES ('after')", 0));
    T_OK(di_container_free(c));
}

typedef struct worker { di_container *c; int n; int failures; } worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        /* every transaction adds one row and fails half the time */
        int outcome = i % 2 ? -1 : 0;
        if (in_tx(w->c, "INSERT INTO t_items (v) VALUES ('w')", outcome))
            w->failures++;
    }
    return NULL;
}

static void test_concurrent(void)
{
    di_container *c = fresh(3, 10000);
    enum { THREADS = 4, EACH = 100 };
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ c, EACH, 0 };
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);
    /* exactly the committed half */
    CU_ASSERT_EQUAL(count_rows(c, "SELECT count(*) FROM t_items"),
                    THREADS * EACH / 2);
    T_OK(di_container_free(c));
}

static void test_params_checked(void)
{
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(di_plugin_dir(c, T_PLUGIN_BUILD_DIR));
    char *cfg = talloc_asprintf(c, "{ \"plugins\": [\"%s\"], \"providers\": {"
                                " \"db\": { \"use\": \"%s.pool\", \"params\": "
                                "{ \"size\": 0 } } } }", DB->plugin,
                                DB->plugin);
    CU_ASSERT_EQUAL(di_config_load_string(c, cfg, "bad"), DI_ECONFIG);
    char *want = talloc_asprintf(c, "bad:1:%d: providers.db.params.size: "
                                 "expected 1 to 1024",
                                 (int)(strstr(cfg, "0 }") - cfg) + 1);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    T_OK(di_container_free(c));
}

static CU_TestInfo shared[] = {
    { "commit on success, rollback on failure", test_commit_and_rollback },
    { "a COMMIT that fails: reported, nothing kept", test_commit_fails },
    { "transaction modes, checked at start-up", test_begin_modes },
    { "pool exhaustion waits, then fails clearly", test_pool_exhaustion },
    { "4 threads x 100 transactions, consistent", test_concurrent },
    { "pool params are checked at start-up", test_params_checked },
    CU_TEST_INFO_NULL,
};

int t_db_run(const char *suite, const t_db *db, CU_TestInfo *extra)
{
    t_db_under_test = db;
    size_t n = 0, m = 0;
    while (shared[n].pName)
        n++;
    while (extra && extra[m].pName)
        m++;
    CU_TestInfo all[16] = { 0 };
    for (size_t i = 0; i < n; i++)
        all[i] = shared[i];
    for (size_t i = 0; i < m && n + i < 15; i++)
        all[n + i] = extra[i];
    return t_run(suite, all);
}
