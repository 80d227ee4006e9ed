/*
 * test_scope.c — scopes: nesting, teardown in reverse creation order with
 * the outcome, dispose failures reported together, memory freed after the
 * disposes in reverse order, the two steps (settle, then free) and what a
 * settled scope allows, abandoned scopes, re-entrant and double ends.
 */
#include <pthread.h>

#include "helpers.h"

static void *root;
static di_container *c;

static void setup(void) { c = t_fixture(&root); }
static void done(void) { t_fixture_done(c, root); }

static void test_reverse_order_with_outcome(void)
{
    setup();
    T_OK(t_provide(c, "a", "request", NULL, NULL));
    T_OK(t_provide(c, "b", "request", NULL, NULL));
    T_OK(t_provide(c, "c", "request", NULL, "a", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "b", &v));
    T_OK(di_get(s, "c", &v));
    T_OK(di_scope_end(s, 503));
    CU_ASSERT_STRING_EQUAL(tlog(), "+b +a +c -c:503 -a:503 -b:503");
    done();
}

/* Memory is freed after every dispose, in reverse creation order. */
static int memlog_destructor(char *name)
{
    tlog_add("free:%s", name);
    return 0;
}

static int memlog_create(const di_build *b, void **out)
{
    char *n = talloc_strdup(b->mem, b->name);
    talloc_set_destructor(n, memlog_destructor);
    tlog_add("+%s", b->name);
    *out = n;
    return 0;
}

static int memlog_dispose(const di_build *b, void *inst, int outcome)
{
    tlog_add("-%s", (char *)inst);
    return 0;
}

static void test_memory_after_disposes(void)
{
    setup();
    static const char *const deps[] = { "x", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "x", .lifetime = "request",
         .create = memlog_create, .dispose = memlog_dispose }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "y", .lifetime = "request",
         .deps = deps, .create = memlog_create, .dispose = memlog_dispose }));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", root, &s));
    void *v;
    T_OK(di_get(s, "y", &v));
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+x +y -y -x free:y free:x");
    done();
}

/* Two steps: settle runs the disposes with the outcome and keeps the
 * memory, which can still be read; free releases it. */
static void test_settle_then_free(void)
{
    setup();
    static const char *const deps[] = { "x", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "x", .lifetime = "request",
         .create = memlog_create, .dispose = memlog_dispose }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "y", .lifetime = "request",
         .deps = deps, .create = memlog_create, .dispose = memlog_dispose }));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", root, &s));
    void *y;
    T_OK(di_get(s, "y", &y));
    T_OK(di_scope_settle(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+x +y -y -x");
    CU_ASSERT_STRING_EQUAL((char *)y, "y"); /* still there */
    CU_ASSERT_PTR_NULL(di_scope_error(s));
    T_OK(di_scope_free(s));
    CU_ASSERT_STRING_EQUAL(tlog(), "+x +y -y -x free:y free:x");
    done();
}

/* Between the steps: reading is allowed, resolving and ending are refused
 * (in every build), and nothing is built or disposed again. */
static void test_settled_scope_refuses(void)
{
    setup();
    T_OK(di_level(c, "job", "request"));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "late", "request", NULL, NULL));
    T_OK(di_provide_external(c, "ext", NULL, "request"));
    T_OK(t_consumer(c, "GET /x", "request", "tx", NULL));
    T_OK(di_container_seal(c));
    di_scope *s, *child = (di_scope *)1;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "tx", &v));
    T_OK(di_scope_settle(s, 7));
    CU_ASSERT_STRING_EQUAL(tlog(), "+tx -tx:7");
    static const char why[] = "the scope is settled: its instances were "
                              "disposed; read them, then free it with "
                              "di_scope_free()";
    CU_ASSERT_EQUAL(di_get(s, "tx", &v), DI_ESTALE);
    CU_ASSERT(t_msg_is(di_scope_error(s), why));
    CU_ASSERT_EQUAL(di_get(s, "late", &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get_key(s, di_key(c, "late"), &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get_typed(s, "tx", "t", &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_resolve(s, "GET /x", &v, 1), DI_ESTALE);
    CU_ASSERT_EQUAL(di_scope_put(s, "ext", NULL), DI_ESTALE);
    CU_ASSERT_EQUAL(di_scope_begin(c, s, "job", NULL, &child), DI_ESTALE);
    CU_ASSERT_PTR_NULL(child);
    CU_ASSERT_EQUAL(di_scope_settle(s, 0), DI_ESTALE);
    CU_ASSERT_EQUAL(di_scope_end(s, 0), DI_ESTALE);
    CU_ASSERT(t_msg_is(di_scope_error(s), why));
    char *report;
    T_OK(di_scope_memory(s, DI_REPORT_TEXT, NULL, &report));
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "tx"));
    talloc_free(report);
    CU_ASSERT_STRING_EQUAL(di_scope_level(s), "request");
    CU_ASSERT_STRING_EQUAL(tlog(), "+tx -tx:7"); /* nothing more ran */
    T_OK(di_scope_free(s));
    done();
}

/* A settle's failures stay on the scope, all of them, until it is freed;
 * the container's error is not touched. */
static void test_settle_failures_on_scope(void)
{
    setup();
    tbeh f1 = { .dispose_fail = -700 }, f2 = { .dispose_fail = -701 };
    T_OK(t_provide(c, "a", "request", &f1, NULL));
    T_OK(t_provide(c, "b", "request", NULL, NULL));
    T_OK(t_provide(c, "c", "request", &f2, NULL));
    T_OK(di_container_seal(c));
    const di_error *before = di_container_error(c);
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "a", &v));
    T_OK(di_get(s, "b", &v));
    T_OK(di_get(s, "c", &v));
    CU_ASSERT_EQUAL(di_scope_settle(s, 0), DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b +c -c:0 -b:0 -a:0");
    const di_error *e = di_scope_error(s);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_EQUAL(di_error_code(e), -701);
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "c");
    CU_ASSERT(t_msg_is(e, "c: cannot release c"));
    CU_ASSERT_EQUAL(di_error_code(di_error_next(e)), -700);
    CU_ASSERT(t_msg_is(di_error_next(e), "a: cannot release a"));
    CU_ASSERT_PTR_EQUAL(di_container_error(c), before);
    T_OK(di_scope_free(s)); /* the failures were the caller's to read */
    CU_ASSERT_PTR_EQUAL(di_container_error(c), before);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b +c -c:0 -b:0 -a:0");
    done();
}

/* Freeing a scope nobody settled rolls back: the outcome is abandoned, and
 * its failures go to the container. */
static void test_free_unsettled_abandons(void)
{
    setup();
    tbeh f = { .dispose_fail = -700 };
    T_OK(t_provide(c, "tx", "request", &f, NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "tx", &v));
    CU_ASSERT_EQUAL(di_scope_free(s), DI_EDISPOSE);
    char want[64];
    snprintf(want, sizeof want, "+tx -tx:%d", DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    CU_ASSERT(t_msg_is(di_container_error(c), "tx: cannot release tx"));
    CU_ASSERT_EQUAL(di_scope_free(NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_settle(NULL, 0), DI_EINVAL);
    done();
}

/* Settling a parent settles its live children first (abandoned); a child
 * the host settled itself keeps its own outcome; freeing the parent frees
 * the children the host did not free. A talloc parent freed after the
 * settle runs no dispose again. */
static void test_settle_children(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "conn", "connection", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "conn", NULL));
    T_OK(di_container_seal(c));
    void *fw = talloc_new(NULL);
    di_scope *cs, *r1, *r2, *r3;
    T_OK(di_scope_begin(c, NULL, "connection", fw, &cs));
    T_OK(di_scope_begin(c, cs, "request", NULL, &r1));
    T_OK(di_scope_begin(c, cs, "request", NULL, &r2));
    T_OK(di_scope_begin(c, cs, "request", NULL, &r3));
    void *v;
    T_OK(di_get(r1, "tx", &v));
    T_OK(di_get(r2, "tx", &v));
    T_OK(di_get(r3, "tx", &v));
    T_OK(di_scope_settle(r2, 0));     /* the host settled r2 ... */
    T_OK(di_scope_free(r3));          /* ... and ended r3 (abandoned) */
    tlog_reset();
    T_OK(di_scope_settle(cs, 0));
    char want[96];
    snprintf(want, sizeof want, "-tx:%d -conn:0", DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    T_OK(di_scope_free(r2));          /* the host may still free its own */
    tlog_reset();
    talloc_free(fw);                  /* frees cs and r1: nothing runs */
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    done();
}

/* A create or dispose cannot settle or free the scope it runs in. */
static int resettle_create(const di_build *b, void **out)
{
    *out = NULL;
    CU_ASSERT_EQUAL(di_scope_settle(b->scope, 0), DI_EBUSY);
    CU_ASSERT_EQUAL(di_scope_free(b->scope), DI_EBUSY);
    return 0;
}

static int resettle_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    (void)outcome;
    CU_ASSERT_EQUAL(di_scope_settle(b->scope, 0), DI_EBUSY);
    CU_ASSERT_EQUAL(di_scope_free(b->scope), DI_EBUSY);
    tlog_add("-%s", b->name);
    return 0;
}

static void test_reentrant_settle(void)
{
    setup();
    T_OK(di_provide(c, &(di_provider_desc){ .name = "r", .lifetime = "request",
         .create = resettle_create, .dispose = resettle_dispose }));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "r", &v));
    T_OK(di_scope_settle(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "-r");
    T_OK(di_scope_free(s));
    done();
}

static void test_every_dispose_runs(void)
{
    setup();
    tbeh f1 = { .dispose_fail = -700 }, f2 = { .dispose_fail = -701 };
    T_OK(t_provide(c, "a", "request", &f1, NULL));
    T_OK(t_provide(c, "b", "request", NULL, NULL));
    T_OK(t_provide(c, "c", "request", &f2, NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "a", &v));
    T_OK(di_get(s, "b", &v));
    T_OK(di_get(s, "c", &v));
    CU_ASSERT_EQUAL(di_scope_end(s, 0), DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b +c -c:0 -b:0 -a:0");
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_EQUAL(di_error_code(e), -701);
    CU_ASSERT(t_msg_is(e, "c: cannot release c"));
    CU_ASSERT_EQUAL(di_error_code(di_error_next(e)), -700);
    CU_ASSERT(t_msg_is(di_error_next(e), "a: cannot release a"));
    done();
}

static void test_abandoned_scope(void)
{
    setup();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    void *conn = talloc_new(NULL); /* the framework's per-connection context */
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", conn, &s));
    void *v;
    T_OK(di_get(s, "tx", &v));
    talloc_free(conn); /* dropped without di_scope_end */
    char want[64];
    snprintf(want, sizeof want, "+tx -tx:%d", DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    done();
}

static void test_nested_levels(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "pool", "singleton", NULL, NULL));
    T_OK(t_provide(c, "conn", "connection", NULL, "pool", NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "conn", NULL));
    T_OK(di_container_seal(c));
    di_scope *cs, *r1, *r2;
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &cs));
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "request", NULL, &r1), DI_ELEVEL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_scope_begin: level 'request'"
                       " must be begun under a scope of its parent level "
                       "'connection' (asked under the root)"));
    T_OK(di_scope_begin(c, cs, "request", NULL, &r1));
    CU_ASSERT_PTR_EQUAL(di_scope_parent(r1), cs);
    CU_ASSERT_STRING_EQUAL(di_scope_level(r1), "request");
    CU_ASSERT_PTR_EQUAL(di_scope_container(r1), c);
    void *t1, *t2;
    T_OK(di_get(r1, "tx", &t1));
    T_OK(di_scope_end(r1, 0));
    T_OK(di_scope_begin(c, cs, "request", NULL, &r2));
    T_OK(di_get(r2, "tx", &t2));
    /* conn is shared by the requests of one connection */
    CU_ASSERT_STRING_EQUAL(tlog(), "+pool +conn +tx -tx:0 +tx");
    T_OK(di_scope_end(r2, 0));
    T_OK(di_scope_end(cs, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+pool +conn +tx -tx:0 +tx -tx:0 -conn:0");
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "nope", NULL, &r1), DI_ELEVEL);
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "singleton", NULL, &r1), DI_ELEVEL);
    done();
}

/* A scope's table of instances is filled when something is looked up,
 * and at once while it has child scopes (which may read it from their own
 * threads): whenever an instance was built, every way of reading it finds
 * the same one. */
static void test_instances_found_whenever_built(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    char name[8][8];
    for (int i = 0; i < 8; i++) {
        snprintf(name[i], sizeof name[i], "c%d", i);
        T_OK(t_provide(c, name[i], "connection", NULL, NULL));
    }
    T_OK(t_provide(c, "t", "transient", NULL, "c0", NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "c1", "c6", NULL));
    T_OK(di_container_seal(c));
    di_scope *cs, *r;
    void *v[8], *w;
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &cs));
    T_OK(di_get(cs, "c0", &v[0]));
    T_OK(di_get(cs, "t", &w)); /* a transient: held, never looked up */
    T_OK(di_get(cs, "c1", &v[1]));
    /* built before the child began */
    T_OK(di_scope_begin(c, cs, "request", NULL, &r));
    T_OK(di_get(r, "c1", &w));
    CU_ASSERT_PTR_EQUAL(w, v[1]);
    T_OK(di_get(r, "c0", &w));
    CU_ASSERT_PTR_EQUAL(w, v[0]);
    /* built while the child is open, by the parent and through the child */
    T_OK(di_get(cs, "c2", &v[2]));
    T_OK(di_get(r, "c3", &v[3]));
    T_OK(di_get(r, "c2", &w));
    CU_ASSERT_PTR_EQUAL(w, v[2]);
    T_OK(di_get(cs, "c3", &w));
    CU_ASSERT_PTR_EQUAL(w, v[3]);
    T_OK(di_get(r, "tx", &w)); /* builds c6 into the connection */
    T_OK(di_get(cs, "c6", &v[6]));
    CU_ASSERT_PTR_EQUAL(((tinst *)w)->deps[1], v[6]);
    T_OK(di_scope_end(r, 0));
    /* built after it ended, past what the block was made for (its stack
     * and table grow) */
    for (int i = 4; i < 8; i++)
        if (i != 6)
            T_OK(di_get(cs, name[i], &v[i]));
    for (int i = 0; i < 8; i++) {
        T_OK(di_get_key(cs, di_key(c, name[i]), &w));
        CU_ASSERT_PTR_EQUAL(w, v[i]);
    }
    T_OK(di_scope_begin(c, cs, "request", NULL, &r));
    for (int i = 0; i < 8; i++) {
        T_OK(di_get(r, name[i], &w));
        CU_ASSERT_PTR_EQUAL(w, v[i]);
    }
    T_OK(di_scope_end(r, 0));
    T_OK(di_scope_end(cs, 0));
    /* each built once */
    CU_ASSERT_STRING_EQUAL(tlog(), "+c0 +t +c1 +c2 +c3 +c6 +tx -tx:0 +c4 +c5 "
                           "+c7 -c7:0 -c5:0 -c4:0 -c6:0 -c3:0 -c2:0 -c1:0 "
                           "-t:0 -c0:0");
    done();
}

static void test_parent_ends_children_first(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "conn", "connection", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "conn", NULL));
    T_OK(di_container_seal(c));
    void *fw = talloc_new(NULL);
    di_scope *cs, *r;
    T_OK(di_scope_begin(c, NULL, "connection", fw, &cs));
    T_OK(di_scope_begin(c, cs, "request", fw, &r)); /* not a talloc child */
    void *v;
    T_OK(di_get(r, "tx", &v));
    talloc_free(fw); /* connection dropped mid-request */
    char want[64];
    snprintf(want, sizeof want, "+conn +tx -tx:%d -conn:%d", DI_EABANDONED,
             DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    done();
}

static di_scope *reenter_scope;
static int reenter_create(const di_build *b, void **out)
{
    *out = NULL;
    CU_ASSERT_EQUAL(di_scope_end(reenter_scope, 0), DI_EBUSY);
    CU_ASSERT_EQUAL(di_container_free(di_scope_container(b->scope)),
                    DI_EBUSY);
    return 0;
}

static void test_reentrant_end(void)
{
    setup();
    T_OK(di_provide(c, &(di_provider_desc){ .name = "r", .lifetime = "request",
         .create = reenter_create }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "s", .lifetime = "singleton",
         .create = reenter_create }));
    T_OK(di_container_seal(c));
    T_OK(di_scope_begin(c, NULL, "request", NULL, &reenter_scope));
    void *v = (void *)1;
    T_OK(di_get(reenter_scope, "r", &v));
    CU_ASSERT_PTR_NULL(v); /* a NULL instance is a valid, cached instance */
    T_OK(di_get(reenter_scope, "s", &v));
    T_OK(di_scope_end(reenter_scope, 0));
    done();
}

static void test_double_end_detected(void)
{
#ifdef DI_DEBUG
    setup();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    di_scope *first, *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &first));
    void *v;
    T_OK(di_get(first, "tx", &v));
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_container_free(c), DI_EBUSY); /* scopes still open */
    T_OK(di_scope_end(first, 0));
    CU_ASSERT_EQUAL(di_scope_end(first, 0), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get(first, "tx", &v), DI_ESTALE);
    CU_ASSERT_STRING_EQUAL(tlog(), "+tx -tx:0");
    T_OK(di_scope_end(s, 0));
    done();
#else
    printf("SKIP: double end detection needs a DI_DEBUG build ");
#endif
}

static void test_begin_errors(void)
{
    setup();
    di_scope *s = (di_scope *)1;
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "request", NULL, &s), DI_ENOTSEALED);
    CU_ASSERT_PTR_NULL(s);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_scope_begin(NULL, NULL, "request", NULL, &s), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, NULL, NULL, &s), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "request", NULL, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_end(NULL, 0), DI_EINVAL);
    CU_ASSERT_PTR_NULL(di_scope_error(NULL));
    done();
}

/* Levels by key: looked up once, begun with no name compared; the same
 * rules and messages as by name. */
static void test_begin_by_key(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "a", "request", NULL, NULL));
    CU_ASSERT_EQUAL(di_level_key(c, "request"), DI_ENOTSEALED);
    di_scope *s = (di_scope *)1;
    CU_ASSERT_EQUAL(di_scope_begin_key(c, NULL, 7, NULL, &s), DI_ENOTSEALED);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_scope_begin_key(key "
                            "7): seal the container first"));
    T_OK(di_container_seal(c));
    int conn = di_level_key(c, "connection"), req = di_level_key(c, "request");
    CU_ASSERT_TRUE(conn > 0 && req > 0 && conn != req);
    CU_ASSERT_EQUAL(di_level_key(c, "singleton"), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_level_key(c, "nope"), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_level_key(c, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_level_key(NULL, "request"), DI_EINVAL);
    /* a key that is no level's, the root's, one begun in the wrong place */
    CU_ASSERT_EQUAL(di_scope_begin_key(c, NULL, 99, NULL, &s), DI_ELEVEL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_scope_begin_key: "
                            "level key 99 is not a declared level (asked "
                            "under the root)"));
    CU_ASSERT_EQUAL(di_scope_begin_key(c, NULL, 0, NULL, &s), DI_ELEVEL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_scope_begin_key: "
                            "level 'singleton' is the root: it cannot be "
                            "begun (asked under the root)"));
    CU_ASSERT_EQUAL(di_scope_begin_key(c, NULL, req, NULL, &s), DI_ELEVEL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_scope_begin_key: "
                            "level 'request' must be begun under a scope of "
                            "its parent level 'connection' (asked under the "
                            "root)"));
    di_scope *cs, *rs;
    T_OK(di_scope_begin_key(c, NULL, conn, NULL, &cs));
    CU_ASSERT_EQUAL(di_scope_begin_key(c, cs, conn, NULL, &s), DI_ELEVEL);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(cs), "di_scope_begin_key: level "
                            "'connection' must be begun under a scope of its "
                            "parent level 'singleton' (asked under a "
                            "'connection' scope)"));
    CU_ASSERT_EQUAL(di_scope_begin(c, cs, "connection", NULL, &s), DI_ELEVEL);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(cs), "di_scope_begin: level "
                            "'connection' must be begun under a scope of its "
                            "parent level 'singleton' (asked under a "
                            "'connection' scope)"));
    CU_ASSERT_EQUAL(di_scope_begin_key(NULL, cs, req, NULL, &s), DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(cs), "di_scope_begin_key: the "
                            "container and out must not be NULL"));
    T_OK(di_scope_begin_key(c, cs, req, NULL, &rs));
    void *v;
    T_OK(di_get(rs, "a", &v));
    CU_ASSERT_STRING_EQUAL(di_scope_level(rs), "request");
    T_OK(di_scope_end(cs, 0)); /* its child first, abandoned */
    char want[32];
    snprintf(want, sizeof want, "+a -a:%d", DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    done();
}

/* A request provider that counts its creates in the int at b->data. */
static int counted(const di_build *b, void **out)
{
    (*(int *)b->data)++;
    *out = b->mem;
    return 0;
}

/* n request providers r0..r<n-1> of 8 bytes, and a consumer of r0 and r1. */
static void many_providers(int n, int *creates)
{
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "r%d", i);
        T_OK(di_provide(c, &(di_provider_desc){ .name = name,
            .lifetime = "request", .create = counted, .data = creates,
            .size = 8 }));
    }
    T_OK(t_consumer(c, "GET /r", "request", "r0", "r1", NULL));
    T_OK(di_container_seal(c));
}

/* Bytes and blocks of a scope begun under a talloc parent (never a kept
 * block), after resolving its consumer when resolve. */
static void scope_size(bool resolve, size_t *bytes, size_t *blocks)
{
    void *owner = talloc_new(NULL);
    di_scope *s;
    void *out[2];
    T_OK(di_scope_begin(c, NULL, "request", owner, &s));
    if (resolve)
        T_OK(di_resolve(s, "GET /r", out, 2));
    *bytes = talloc_total_size(s);
    *blocks = talloc_total_blocks(s);
    T_OK(di_scope_end(s, 0));
    talloc_free(owner);
}

/* A scope costs what it holds: the same in a container of 3 request
 * providers and of 10,000, empty or with the same two instances. */
static void test_scope_size_is_use(void)
{
    int creates = 0;
    size_t bytes[2][2], blocks[2][2];
    for (int k = 0; k < 2; k++) {
        setup();
        many_providers(k ? 10000 : 3, &creates);
        scope_size(false, &bytes[k][0], &blocks[k][0]);
        scope_size(true, &bytes[k][1], &blocks[k][1]);
        done();
    }
    CU_ASSERT_EQUAL(bytes[1][0], bytes[0][0]);
    CU_ASSERT_EQUAL(blocks[1][0], blocks[0][0]);
    CU_ASSERT_EQUAL(bytes[1][1], bytes[0][1]);
    CU_ASSERT_EQUAL(blocks[1][1], blocks[0][1]);
    CU_ASSERT_EQUAL(blocks[0][1], blocks[0][0] + 2); /* the two instances */
    CU_ASSERT_TRUE(bytes[0][0] < 1024);
    CU_ASSERT_EQUAL(creates, 4);
}

/* A scope that holds more than its level's scopes did grows (its table
 * and stack as extra blocks), finds each instance once, and teaches the
 * level: the next scope's block has room for as much. */
static void test_scope_learns(void)
{
    setup();
    int creates = 0;
    enum { N = 200 };
    many_providers(N, &creates);
    void *first[N];
    size_t blocks[2];
    for (int round = 0; round < 2; round++) {
        void *owner = talloc_new(NULL);
        di_scope *s;
        char name[16];
        T_OK(di_scope_begin(c, NULL, "request", owner, &s));
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof name, "r%d", i);
            T_OK(di_get(s, name, &first[i]));
        }
        for (int i = 0; i < N; i++) { /* each built once, found again */
            void *again;
            snprintf(name, sizeof name, "r%d", i);
            T_OK(di_get(s, name, &again));
            CU_ASSERT_PTR_EQUAL(again, first[i]);
            T_OK(di_get_key(s, di_key(c, name), &again));
            CU_ASSERT_PTR_EQUAL(again, first[i]);
        }
        blocks[round] = talloc_total_blocks(s);
        T_OK(di_scope_end(s, 0));
        talloc_free(owner);
    }
    CU_ASSERT_EQUAL(creates, 2 * N);
    /* the first grew a table and a stack of their own; the second had room
     * for both in its block */
    CU_ASSERT_EQUAL(blocks[0], 1 + N + 2);
    CU_ASSERT_EQUAL(blocks[1], 1 + N);
    done();
}

/* A sealed container of request providers a and b (b needs a). */
static void setup_ab(void)
{
    setup();
    T_OK(t_provide(c, "a", "request", NULL, NULL));
    T_OK(t_provide(c, "b", "request", NULL, "a", NULL));
    T_OK(di_container_seal(c));
}

static void *end_on_thread(void *arg)
{
    T_OK(di_scope_end(arg, 3));
    return NULL;
}

/* Top-level scopes open at once on a thread (an event loop's): one block
 * is the thread's own (kept for the next), the others are plain and freed;
 * one ended on another thread. Each behaves the same, and nothing is left
 * when the container goes. */
static void test_scopes_at_once(void)
{
    talloc_enable_null_tracking();
    size_t base = talloc_total_blocks(NULL);
    setup_ab();
    for (int round = 0; round < 3; round++) {
        di_scope *s[4];
        tinst *b[4];
        for (int i = 0; i < 4; i++) {
            T_OK(di_scope_begin(c, NULL, "request", NULL, &s[i]));
            T_OK(di_get(s[i], "b", (void **)&b[i]));
            CU_ASSERT_PTR_NOT_NULL(b[i]->deps[0]);
        }
        for (int i = 1; i < 4; i++)
            CU_ASSERT_PTR_NOT_EQUAL(b[i], b[0]);
        tlog_reset();
        pthread_t t; /* the thread's own block ends elsewhere */
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, end_on_thread, s[0]), 0);
        pthread_join(t, NULL);
        for (int i = 3; i > 0; i--)
            T_OK(di_scope_end(s[i], i));
        CU_ASSERT_STRING_EQUAL(tlog(), "-b:3 -a:3 -b:3 -a:3 -b:2 -a:2 "
                                       "-b:1 -a:1");
    }
    done();
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
    talloc_disable_null_tracking();
}

/* Host-supplied values: put after begin, resolved like any instance, never
 * disposed; seal checks them like providers. */
static void test_external(void)
{
    setup();
    T_OK(di_provide_external(c, "req", "http", "request"));
    T_OK(t_provide(c, "user", "request", NULL, "req:http", NULL));
    CU_ASSERT_EQUAL(di_provide_external(c, "x", NULL, "singleton"), DI_EINVAL);
    CU_ASSERT_EQUAL(di_provide_external(c, "x", NULL, "transient"), DI_EINVAL);
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "v", "singleton", NULL, NULL));
    T_OK(di_provide_external(c, "args", NULL, "job"));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    static int request_value;
    T_OK(di_scope_put(s, "req", &request_value));
    CU_ASSERT_EQUAL(di_scope_put(s, "req", &request_value), DI_EEXIST);
    CU_ASSERT_EQUAL(di_scope_put(s, "args", NULL), DI_ESCOPE);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(s), "args: di_scope_put: 'args' "
                            "belongs to 'job' scopes, not 'request'"));
    CU_ASSERT_EQUAL(di_scope_put(s, "v", NULL), DI_ENOTFOUND);
    void *got;
    T_OK(di_get(s, "req", &got));
    CU_ASSERT_PTR_EQUAL(got, &request_value);
    tinst *u;
    T_OK(di_get(s, "user", (void **)&u));
    CU_ASSERT_PTR_EQUAL(u->deps[0], &request_value);
    T_OK(di_get_key(s, di_key(c, "req"), &got));
    CU_ASSERT_PTR_EQUAL(got, &request_value);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+user -user:0"); /* req: never disposed */
    /* a scope where the host put nothing */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_get(s, "user", &got), DI_ENOTFOUND);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(s), "user \xe2\x86\x92 req: 'req' "
                            "is supplied by the host for each 'request' scope "
                            "(di_scope_put), and this one has none"));
    /* NULL is a value */
    T_OK(di_scope_put(s, "req", NULL));
    T_OK(di_get(s, "req", &got));
    CU_ASSERT_PTR_NULL(got);
    T_OK(di_scope_end(s, 0));
    done();
}

static void test_external_seal(void)
{
    setup();
    T_OK(di_provide_external(c, "req", "http", "request"));
    T_OK(t_provide(c, "pool", "singleton", NULL, "req", NULL));
    T_OK(t_provide(c, "t", "request", NULL, "req:db", NULL));
    CU_ASSERT_EQUAL(di_provide_external(c, "req", NULL, "request"), DI_EEXIST);
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "pool (singleton) "
                              "\xe2\x86\x92 req (request): captive dependency: "
                              "'pool' lives in 'singleton' and would keep 'req' "
                              "from 'request' alive past its scope"));
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "t \xe2\x86\x92 req: 't' "
                              "wants 'req' of type 'db', but it provides type "
                              "'http'"));
    done();
}

/* Release builds keep an ended top-level scope's block for the next scope
 * the thread begins. Each scope still starts empty, and what is kept goes
 * with its container, or with its thread. */
static void one_request(int outcome)
{
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "b", &v));
    T_OK(di_scope_end(s, outcome));
}

static void *request_on_thread(void *arg)
{
    one_request(*(int *)arg);
    return NULL;
}

static void test_scopes_start_empty(void)
{
    talloc_enable_null_tracking();
    size_t base = talloc_total_blocks(NULL);
    setup_ab();
    for (int i = 0; i < 3; i++)
        one_request(i);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b -b:0 -a:0 +a +b -b:1 -a:1 "
                                   "+a +b -b:2 -a:2");
    tlog_reset();
    /* a scope under a talloc parent between two top-level ones */
    void *owner = talloc_new(NULL);
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", owner, &s));
    T_OK(di_get(s, "a", &v));
    T_OK(di_scope_end(s, 7));
    talloc_free(owner);
    one_request(8);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a -a:7 +a +b -b:8 -a:8");
    tlog_reset();
    /* a worker thread's kept block goes when the thread exits */
    size_t mine = talloc_total_blocks(NULL);
    pthread_t t;
    int outcome = 9;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, request_on_thread,
                                         &outcome), 0);
    pthread_join(t, NULL);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b -b:9 -a:9");
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), mine);
    /* this thread's goes with the container */
    done();
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
    talloc_disable_null_tracking();
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "reverse creation order, with the outcome", test_reverse_order_with_outcome },
        { "memory freed after disposes, reverse order", test_memory_after_disposes },
        { "every dispose runs; failures reported together", test_every_dispose_runs },
        { "settle, then free: disposes first, memory later", test_settle_then_free },
        { "a settled scope: read yes, resolve no", test_settled_scope_refuses },
        { "a settle's failures stay on the scope", test_settle_failures_on_scope },
        { "free without settle: abandoned", test_free_unsettled_abandons },
        { "settle a parent: children first; free frees them", test_settle_children },
        { "a create or dispose cannot settle or free its scope", test_reentrant_settle },
        { "talloc parent freed: failure outcome", test_abandoned_scope },
        { "connection/request nesting", test_nested_levels },
        { "instances are found whenever they were built",
          test_instances_found_whenever_built },
        { "a parent ends its children first", test_parent_ends_children_first },
        { "re-entrant end and free are refused", test_reentrant_end },
        { "double end and use after end detected", test_double_end_detected },
        { "begin/end argument errors", test_begin_errors },
        { "levels by key", test_begin_by_key },
        { "a scope's size is what it holds, not its level's size", test_scope_size_is_use },
        { "a scope that holds more grows and teaches its level", test_scope_learns },
        { "top-level scopes open at once, one ended elsewhere", test_scopes_at_once },
        { "external values put by the host", test_external },
        { "external values are checked at seal", test_external_seal },
        { "scopes start empty; kept blocks go with container and thread", test_scopes_start_empty },
        CU_TEST_INFO_NULL,
    };
    return t_run("scope", tests);
}
