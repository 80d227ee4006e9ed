/*
 * test_pg_async.c — the PostgreSQL plugin's asynchronous kinds
 * (postgres.async_pool, postgres.async_session) against a real PostgreSQL
 * server that tests/pg.sh starts, on a libevent loop this thread runs:
 * BEGIN, COMMIT and ROLLBACK without blocking, a failing COMMIT, the line
 * of waiters (order, timeout, leaving it), a connection the server dropped,
 * cancellation while connecting, an unreachable server, allocation
 * failures. Skips (exit 77) when there is no server.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "fault.h"
#include "helpers.h"

static char conninfo[512];
static struct event_base *base;
static PGconn *admin;

static long admin_int(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    long v = -1;
    if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int exec_on(PGconn *conn, const char *sql, char *err, size_t n)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok && err)
        snprintf(err, n, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* A container with the loop, the async pool "db" (size, checkout timeout,
 * conninfo ci or the server's), sessions "tx" (read-write) and "ro" (read
 * only), and the asynchronous consumers "job" (tx) and "both" (tx, ro). */
static di_container *make(void **root, int size, int timeout_ms,
                          const char *ci)
{
    di_container *c = t_fixture(root);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{ \"plugins\": [\"postgres\"], \"providers\": {"
             " \"db\": { \"use\": \"postgres.async_pool\", \"params\": {"
             "   \"conninfo\": \"%s\", \"size\": %d,"
             "   \"checkout_timeout_ms\": %d } },"
             " \"tx\": { \"use\": \"postgres.async_session\","
             "   \"deps\": { \"pool\": \"db\" } },"
             " \"ro\": { \"use\": \"postgres.async_session\","
             "   \"deps\": { \"pool\": \"db\" },"
             "   \"params\": { \"begin\": \"read_only\" } } } }",
             ci ? ci : conninfo, size, timeout_ms);
    if (di_plugin_dir(c, T_PLUGIN_BUILD_DIR) ||
        di_provide_value(c, "event_base", "event_base", base) ||
        di_config_load_string(c, cfg, "async.json") ||
        t_consumer(c, "job", "request", "tx", NULL) ||
        t_consumer(c, "both", "request", "tx", "ro", NULL) ||
        di_async_consumer(c, "job") || di_async_consumer(c, "both") ||
        di_container_seal(c)) {
        printf("\n  set-up: %s\n", di_error_message(di_container_error(c)));
        return NULL;
    }
    return c;
}

/* One request: its scope, what it resolved, and how it went. */
typedef struct req {
    const char *name;
    di_scope *s;
    void *deps[2];
    int rc, settle_rc;
    bool ready, settled;
} req;

static void resolved(di_scope *s, int rc, void *arg)
{
    (void)s;
    req *q = arg;
    q->rc = rc;
    q->ready = true;
    tlog_add("ready:%s:%d", q->name, rc);
}

/* Begin q's scope and resolve consumer in it; the answer of
 * di_resolve_async(). */
static int start(di_container *c, req *q, const char *name,
                 const char *consumer)
{
    *q = (req){ .name = name };
    int rc = di_scope_begin(c, NULL, "request", NULL, &q->s);
    if (!rc)
        rc = di_resolve_async(q->s, consumer, q->deps,
                              strcmp(consumer, "both") == 0 ? 2 : 1,
                              resolved, q);
    if (rc != DI_PENDING) {
        q->rc = rc;
        q->ready = true;
    }
    return rc;
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Run the loop until *flag, or for at most ms milliseconds (then the
 * flag is still false). */
static void run_until(const bool *flag, unsigned ms)
{
    bool late = false;
    struct event *guard = evtimer_new(base, stop_loop, &late);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(guard, &tv);
    while (!*flag && !late)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(guard);
}

static void on_settled(di_scope *s, int rc, void *arg)
{
    (void)s;
    req *q = arg;
    q->settle_rc = rc;
    q->settled = true;
}

/* Settle q's scope with outcome on the loop; what di_scope_settle_async()
 * answered (DI_PENDING when the dispose waited for the server). Its
 * scope stays for the caller to read and free. */
static int settle(req *q, int outcome)
{
    int rc = di_scope_settle_async(q->s, outcome, on_settled, q);
    if (rc == DI_PENDING)
        run_until(&q->settled, 10000);
    else
        q->settle_rc = rc, q->settled = true;
    return rc;
}

static void finish(req *q, int outcome)
{
    settle(q, outcome);
    CU_ASSERT_EQUAL(q->settle_rc, 0);
    di_scope_free(q->s);
}

/* BEGIN, COMMIT and ROLLBACK go over the wire while the loop runs: the
 * handler gets a PGconn in a transaction; a success commits, a failure
 * rolls back. */
static void test_commit_and_rollback(void)
{
    void *root;
    di_container *c = make(&root, 2, 1000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    T_OK(exec_on(admin, "DROP TABLE IF EXISTS t_async; "
                        "CREATE TABLE t_async (v INTEGER)", NULL, 0));
    req a;
    CU_ASSERT_EQUAL(start(c, &a, "a", "job"), DI_PENDING);
    CU_ASSERT_FALSE(a.ready); /* nothing happens before the loop runs */
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    PGconn *conn = a.deps[0];
    CU_ASSERT_EQUAL(PQtransactionStatus(conn), PQTRANS_INTRANS);
    CU_ASSERT_EQUAL(PQisnonblocking(conn), 1);
    T_OK(exec_on(conn, "INSERT INTO t_async VALUES (1)", NULL, 0));
    CU_ASSERT_EQUAL(settle(&a, 0), DI_PENDING); /* COMMIT on the wire */
    CU_ASSERT_EQUAL(a.settle_rc, 0);
    CU_ASSERT_EQUAL(PQtransactionStatus(conn), PQTRANS_IDLE);
    di_scope_free(a.s);
    CU_ASSERT_EQUAL(admin_int("SELECT count(*) FROM t_async"), 1);

    req b;
    CU_ASSERT_EQUAL(start(c, &b, "b", "job"), DI_PENDING);
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(b.rc, 0);
    CU_ASSERT_PTR_EQUAL(b.deps[0], conn); /* the same connection, again */
    T_OK(exec_on(b.deps[0], "INSERT INTO t_async VALUES (2)", NULL, 0));
    CU_ASSERT_EQUAL(settle(&b, DI_EPROVIDER), DI_PENDING); /* ROLLBACK */
    CU_ASSERT_EQUAL(b.settle_rc, 0);
    di_scope_free(b.s);
    CU_ASSERT_EQUAL(admin_int("SELECT count(*) FROM t_async"), 1);

    /* two sessions of one resolution: both begin; the read-only one
     * refuses writes */
    req d;
    CU_ASSERT_EQUAL(start(c, &d, "d", "both"), DI_PENDING);
    run_until(&d.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(d.rc, 0);
    CU_ASSERT_PTR_NOT_EQUAL(d.deps[0], d.deps[1]);
    char err[256] = "";
    CU_ASSERT_EQUAL(exec_on(d.deps[1], "INSERT INTO t_async VALUES (3)", err,
                            sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "read-only transaction"));
    finish(&d, 0);
    CU_ASSERT_EQUAL(admin_int("SELECT count(*) FROM t_async"), 1);
    t_fixture_done(c, root);
}

/* A COMMIT the server refuses (a deferred constraint) is the dispose's
 * failure, with the server's message and the provider; the connection is
 * clean for the next session. */
static void test_commit_fails(void)
{
    void *root;
    di_container *c = make(&root, 1, 1000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    T_OK(exec_on(admin, "DROP TABLE IF EXISTS t_def; CREATE TABLE t_def "
                        "(id INTEGER PRIMARY KEY, ref INTEGER REFERENCES "
                        "t_def(id) DEFERRABLE INITIALLY DEFERRED)", NULL, 0));
    req a;
    start(c, &a, "a", "job");
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    T_OK(exec_on(a.deps[0], "INSERT INTO t_def VALUES (1, 99)", NULL, 0));
    CU_ASSERT_EQUAL(settle(&a, 0), DI_PENDING);
    CU_ASSERT_EQUAL(a.settle_rc, DI_EDISPOSE);
    const di_error *e = di_scope_error(a.s);
    CU_ASSERT_STRING_EQUAL(di_error_provider(e), "tx");
    CU_ASSERT_PTR_NOT_NULL(strstr(di_error_reason(e),
                                  "postgres: COMMIT failed: insert or update "
                                  "on table \"t_def\" violates foreign key "
                                  "constraint \"t_def_ref_fkey\" (Key "
                                  "(ref)=(99) is not present in table "
                                  "\"t_def\".)"));
    di_scope_free(a.s);
    CU_ASSERT_EQUAL(admin_int("SELECT count(*) FROM t_def"), 0);
    req b;
    start(c, &b, "b", "job");
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL(b.rc, 0);
    finish(&b, 0);
    t_fixture_done(c, root);
}

/* A statement left on the wire (a handler that sent it and never read
 * its answer): the dispose reads it to its end first, then commits; the
 * connection is clean for the next session. */
static void test_left_on_the_wire(void)
{
    void *root;
    di_container *c = make(&root, 1, 1000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    T_OK(exec_on(admin, "DROP TABLE IF EXISTS t_wire; "
                        "CREATE TABLE t_wire (v INTEGER)", NULL, 0));
    req a;
    start(c, &a, "a", "job");
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    PGconn *conn = a.deps[0];
    CU_ASSERT_EQUAL_FATAL(PQsendQuery(conn, "SELECT pg_sleep(0.05); "
                                      "INSERT INTO t_wire VALUES (7)"), 1);
    CU_ASSERT_EQUAL(settle(&a, 0), DI_PENDING);
    CU_ASSERT_EQUAL(a.settle_rc, 0);
    di_scope_free(a.s);
    CU_ASSERT_EQUAL(admin_int("SELECT count(*) FROM t_wire"), 1);
    req b;
    start(c, &b, "b", "job");
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL(b.rc, 0);
    CU_ASSERT_PTR_EQUAL(b.deps[0], conn); /* not replaced: it was clean */
    finish(&b, 0);
    t_fixture_done(c, root);
}

/* Loop turns for ms milliseconds, whatever happens. */
static void idle(unsigned ms)
{
    bool never = false;
    run_until(&never, ms);
}

/* With every connection out, sessions wait in line and get a connection
 * in the order they asked, each when one comes back. */
static void test_line_in_order(void)
{
    void *root;
    di_container *c = make(&root, 1, 5000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    tlog_reset();
    req a, b, d;
    start(c, &a, "a", "job");
    start(c, &b, "b", "job");
    start(c, &d, "d", "job");
    run_until(&a.ready, 10000);
    idle(50);
    CU_ASSERT_STRING_EQUAL(tlog(), "ready:a:0");
    finish(&a, 0);
    run_until(&b.ready, 10000);
    idle(50);
    CU_ASSERT_STRING_EQUAL(tlog(), "ready:a:0 ready:b:0");
    CU_ASSERT_PTR_EQUAL(b.deps[0], a.deps[0]);
    finish(&b, DI_EPROVIDER); /* a rollback gives it back too */
    run_until(&d.ready, 10000);
    CU_ASSERT_STRING_EQUAL(tlog(), "ready:a:0 ready:b:0 ready:d:0");
    finish(&d, 0);
    t_fixture_done(c, root);
}

/* A session that waited checkout_timeout_ms fails with DI_EBUSY and the
 * pool's message at its path; the pool goes on. */
static void test_line_times_out(void)
{
    void *root;
    di_container *c = make(&root, 1, 100, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    req a, b;
    start(c, &a, "a", "job");
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    start(c, &b, "b", "job");
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL(b.rc, DI_EBUSY);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(b.s), "job → tx: postgres pool "
                            "'db': all 1 connections stayed busy for 100 ms"));
    finish(&b, b.rc);
    finish(&a, 0);
    req d;
    start(c, &d, "d", "job");
    run_until(&d.ready, 10000);
    CU_ASSERT_EQUAL(d.rc, 0);
    finish(&d, 0);
    t_fixture_done(c, root);
}

/* Scopes that end while their session waits in line, is handed a
 * connection, or is connecting: each is cancelled, gives its place or
 * connection back, and leaks nothing. */
static void test_cancelled(void)
{
    void *root;
    di_container *c = make(&root, 1, 5000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    tlog_reset();
    req a, b;
    start(c, &a, "a", "job");   /* handed the slot: connects next turn */
    start(c, &b, "b", "job");   /* in line */
    T_OK(di_scope_settle(b.s, DI_EABANDONED));
    CU_ASSERT_EQUAL(b.rc, DI_EABANDONED);
    di_scope_free(b.s);
    T_OK(di_scope_settle(a.s, DI_EABANDONED));
    CU_ASSERT_EQUAL(a.rc, DI_EABANDONED);
    di_scope_free(a.s);
    /* one turn: BEGIN is on the wire, then its scope ends */
    req d;
    start(c, &d, "d", "job");
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    CU_ASSERT_FALSE(d.ready);
    T_OK(di_scope_settle(d.s, DI_EABANDONED));
    di_scope_free(d.s);
    /* the pool's one slot is free and a fresh connection works */
    req e;
    start(c, &e, "e", "job");
    run_until(&e.ready, 10000);
    CU_ASSERT_EQUAL(e.rc, 0);
    CU_ASSERT_EQUAL(PQtransactionStatus(e.deps[0]), PQTRANS_INTRANS);
    finish(&e, 0);
    char want[80];
    snprintf(want, sizeof want, "ready:b:%d ready:a:%d ready:d:%d ready:e:0",
             DI_EABANDONED, DI_EABANDONED, DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    t_fixture_done(c, root);

    /* a pool of two: the second connection is opened on the loop, and its
     * scope ends while it connects */
    c = make(&root, 2, 5000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    req f, g;
    start(c, &f, "f", "both"); /* tx on the open one, ro on a new one */
    event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    CU_ASSERT_FALSE(f.ready);
    T_OK(di_scope_settle(f.s, DI_EABANDONED));
    di_scope_free(f.s);
    start(c, &g, "g", "both");
    run_until(&g.ready, 10000);
    CU_ASSERT_EQUAL(g.rc, 0);
    finish(&g, 0);
    t_fixture_done(c, root);
}

/* The server drops the pooled connection; the next session notices it
 * when BEGIN fails and goes on on a new backend. */
static void test_dropped_connection_replaced(void)
{
    void *root;
    di_container *c = make(&root, 1, 1000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    req a;
    start(c, &a, "a", "job");
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    int pid = PQbackendPID(a.deps[0]);
    finish(&a, 0);
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
    CU_ASSERT_EQUAL(admin_int(sql), 1);
    idle(100); /* the backend is gone */
    req b;
    start(c, &b, "b", "job");
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(b.rc, 0);
    CU_ASSERT_NOT_EQUAL(PQbackendPID(b.deps[0]), pid);
    CU_ASSERT_EQUAL(PQtransactionStatus(b.deps[0]), PQTRANS_INTRANS);
    finish(&b, 0);
    t_fixture_done(c, root);
}

/* A server that is not there: the resolution fails with libpq's reason and
 * the path, without blocking; the slot is free again. */
static void test_unreachable(void)
{
    void *root;
    di_container *c = make(&root, 1, 1000, "host=/nonexistent/di-pg "
                           "dbname=x connect_timeout=2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < 2; i++) {
        req a;
        start(c, &a, "a", "job");
        run_until(&a.ready, 10000);
        CU_ASSERT_EQUAL(a.rc, DI_EPROVIDER);
        const char *m = di_error_message(di_scope_error(a.s));
        CU_ASSERT_PTR_NOT_NULL(strstr(m, "job → tx → db: postgres: cannot "
                                         "connect (host=/nonexistent/di-pg "
                                         "dbname=x connect_timeout=2): "));
        CU_ASSERT_PTR_NOT_NULL(strstr(m, "/nonexistent/di-pg/.s.PGSQL"));
        finish(&a, a.rc);
    }
    t_fixture_done(c, root);
}

/* One-shot timers on the test's loop, for di_async_timers(). */
typedef struct ttimer {
    struct event *ev;
    void (*fire)(void *);
    void *arg;
} ttimer;

static void ttimer_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ttimer *t = arg;
    void (*fire)(void *) = t->fire;
    void *farg = t->arg;
    event_free(t->ev);
    free(t);
    fire(farg);
}

static void *ttimer_start(void *data, unsigned ms, void (*fire)(void *),
                          void *arg)
{
    ttimer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = (ttimer){ .ev = evtimer_new(data, ttimer_fired, t), .fire = fire,
                   .arg = arg };
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!t->ev || evtimer_add(t->ev, &tv)) {
        if (t->ev)
            event_free(t->ev);
        free(t);
        return NULL;
    }
    return t;
}

static void ttimer_stop(void *data, void *timer)
{
    (void)data;
    ttimer *t = timer;
    event_free(t->ev);
    free(t);
}

/* A container whose session "tx" has the params tx_params, on a pool of
 * one connection; with the loop's timers when timers. */
static di_container *make_tx(void **root, const char *tx_params, bool timers)
{
    di_container *c = t_fixture(root);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{ \"plugins\": [\"postgres\"], \"providers\": {"
             " \"db\": { \"use\": \"postgres.async_pool\","
             "   \"params\": { \"conninfo\": \"%s\", \"size\": 1 } },"
             " \"tx\": { \"use\": \"postgres.async_session\","
             "   \"deps\": { \"pool\": \"db\" }, \"params\": %s } } }",
             conninfo, tx_params);
    di_timer_ops ops = { ttimer_start, ttimer_stop, base };
    if (di_plugin_dir(c, T_PLUGIN_BUILD_DIR) ||
        di_provide_value(c, "event_base", "event_base", base) ||
        (timers && di_async_timers(c, &ops)) ||
        t_consumer(c, "job", "request", "tx", NULL) ||
        di_async_consumer(c, "job"))
        return NULL;
    di_config_load_string(c, cfg, "async.json"); /* its error: the test's */
    return c;
}

/* "timeout_ms", the param of every asynchronous kind: a session still
 * waiting in line after it fails with DI_ETIMEDOUT at its path (before the
 * pool's own checkout timeout), and the pool serves again; a bad value is a
 * config error with its JSON path; without timers seal says so. */
static void test_timeout_param(void)
{
    void *root;
    di_container *c = make_tx(&root, "{ \"timeout_ms\": 150 }", true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    T_OK(di_container_seal(c));
    req a, b;
    start(c, &a, "a", "job");
    run_until(&a.ready, 10000);
    CU_ASSERT_EQUAL_FATAL(a.rc, 0);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(start(c, &b, "b", "job"), DI_PENDING);
        run_until(&b.ready, 10000);
        CU_ASSERT_EQUAL(b.rc, DI_ETIMEDOUT);
        CU_ASSERT_TRUE(t_msg_is(di_scope_error(b.s), "job → tx: 'tx' gave no "
                                "answer within 150 ms"));
        finish(&b, b.rc);
    }
    finish(&a, 0);
    start(c, &b, "b", "job");
    run_until(&b.ready, 10000);
    CU_ASSERT_EQUAL(b.rc, 0);
    finish(&b, 0);
    t_fixture_done(c, root);

    c = make_tx(&root, "{ \"timeout_ms\": 0 }", true);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "async.json:1:273: "
                            "providers.tx.params.timeout_ms: 0 is out of range "
                            "(1 to 3600000)"));
    t_fixture_done(c, root);
    c = make_tx(&root, "{ \"timeout_ms\": \"soon\" }", true);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "async.json:1:273: "
                            "providers.tx.params.timeout_ms: expected integer, "
                            "got string"));
    t_fixture_done(c, root);
    c = make_tx(&root, "{ \"timeout_ms\": 150 }", false);
    CU_ASSERT_NOT_EQUAL(di_container_seal(c), 0);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "tx: 'tx' has a "
                              "timeout, and no timers were given to time it "
                              "(di_async_timers)"));
    t_fixture_done(c, root);
}

/* The kinds say they are asynchronous: a consumer resolved synchronously
 * that needs a session is refused at seal, with its path. */
static void test_seal_refuses_sync(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    char cfg[700];
    snprintf(cfg, sizeof cfg,
             "{ \"plugins\": [\"postgres\"], \"providers\": {"
             " \"db\": { \"use\": \"postgres.async_pool\","
             "   \"params\": { \"conninfo\": \"%s\" } },"
             " \"tx\": { \"use\": \"postgres.async_session\","
             "   \"deps\": { \"pool\": \"db\" } } } }", conninfo);
    T_OK(di_plugin_dir(c, T_PLUGIN_BUILD_DIR));
    T_OK(di_provide_value(c, "event_base", "event_base", base));
    T_OK(di_config_load_string(c, cfg, "async.json"));
    T_OK(t_consumer(c, "sync_job", "request", "tx", NULL));
    CU_ASSERT_NOT_EQUAL(di_container_seal(c), 0);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_code(e), DI_EASYNC);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_error_message(e), "sync_job → tx: "
                                  "'sync_job' is resolved synchronously and "
                                  "needs 'tx', which may finish later"));
    t_fixture_done(c, root);
}

/* Every allocation on the path from the resolution to the COMMIT fails
 * once: each run succeeds or fails with DI_ENOMEM, nothing leaks, and the
 * pool keeps serving. */
static void test_alloc_failures(void)
{
#ifndef DI_FAULT_TESTS
    printf("SKIP: not a fault-injection build\n");
#else
    void *root;
    di_container *c = make(&root, 1, 1000, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < 2; i++) { /* the connection is opened, and what a
                                     thread keeps made, before counting */
        req w;
        start(c, &w, "w", "job");
        run_until(&w.ready, 10000);
        finish(&w, 0);
    }
    size_t blocks = talloc_total_blocks(NULL);
    bool done = false;
    long runs = 0;
    for (long n = 1; !done && n < 400; n++, runs++) {
        req a = { .name = "a" };
        if (di_scope_begin(c, NULL, "request", NULL, &a.s))
            continue; /* the scope's own allocations are test_alloc's */
        di__fault_alloc(n);
        int rc = di_resolve_async(a.s, "job", a.deps, 1, resolved, &a);
        if (rc == DI_PENDING)
            run_until(&a.ready, 10000);
        else
            a.rc = rc;
        rc = a.rc;
        if (rc == 0) {
            settle(&a, 0);
            rc = a.settle_rc == DI_EDISPOSE ? DI_ENOMEM : a.settle_rc;
        } else {
            settle(&a, rc);
        }
        bool failed = di__fault_alloc(0) > 0;
        CU_ASSERT(rc == 0 || rc == DI_ENOMEM);
        if (rc != 0 && rc != DI_ENOMEM)
            printf("\n  allocation %ld: %d (%s)\n", n, rc,
                   di_error_message(di_scope_error(a.s)));
        di_scope_free(a.s);
        if (talloc_total_blocks(NULL) != blocks)
            printf("\n  allocation %ld (rc %d): %zu blocks more\n", n, rc,
                   talloc_total_blocks(NULL) - blocks);
        CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
        done = !failed;
    }
    CU_ASSERT(done);
    CU_ASSERT(runs > 3);
    req d; /* the pool still serves */
    start(c, &d, "d", "job");
    run_until(&d.ready, 10000);
    CU_ASSERT_EQUAL(d.rc, 0);
    finish(&d, 0);
    t_fixture_done(c, root);
#endif
}

int main(void)
{
    if (t_pg_conninfo(T_BUILD_DIR, conninfo, sizeof conninfo))
        return 77;
    talloc_enable_null_tracking();
    base = event_base_new();
    admin = PQconnectdb(conninfo);
    if (admin)
        PQclear(PQexec(admin, "SET client_min_messages = warning"));
    if (!base || PQstatus(admin) != CONNECTION_OK) {
        printf("cannot set up: %s\n", PQerrorMessage(admin));
        return 1;
    }
    CU_TestInfo tests[] = {
        { "BEGIN, COMMIT and ROLLBACK on the loop", test_commit_and_rollback },
        { "a COMMIT the server refuses", test_commit_fails },
        { "sessions wait in line, in order", test_line_in_order },
        { "a wait in line times out", test_line_times_out },
        { "cancelled in line, handed a slot, connecting", test_cancelled },
        { "a statement left on the wire is read before COMMIT",
          test_left_on_the_wire },
        { "a dropped connection is replaced", test_dropped_connection_replaced },
        { "an unreachable server", test_unreachable },
        { "seal refuses a synchronous consumer", test_seal_refuses_sync },
        { "timeout_ms: a session that waits too long", test_timeout_param },
        { "allocation failures on the path", test_alloc_failures },
        CU_TEST_INFO_NULL,
    };
    int rc = t_run("pg_async", tests);
    PQfinish(admin);
    event_base_free(base);
    talloc_disable_null_tracking();
    return rc;
}
