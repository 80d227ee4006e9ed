/*
 * test_startup.c — start-up that fails fast: di_container_build() builds
 * the singletons at once, each after what it needs, and stops at the
 * first failure with its path; di_root_get() gets a singleton outside any
 * scope, with a scope's rules.
 */
#include "helpers.h"

/* log <- db <- cache, all singletons (cache registered first), a request
 * "tx" on db, a transient "clock"; db's behaviour is the test's. */
static di_container *graph(void **root, tbeh *db)
{
    di_container *c = t_fixture(root);
    T_OK(t_provide(c, "cache", "singleton", NULL, "db", NULL));
    T_OK(t_provide(c, "log", "singleton", NULL, NULL));
    T_OK(t_provide(c, "db", "singleton", db, "log", NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "db", NULL));
    T_OK(t_provide(c, "clock", "transient", NULL, NULL));
    T_OK(di_provide_value(c, "config", NULL, "cfg"));
    T_OK(t_consumer(c, "job", "request", "tx", NULL));
    T_OK(di_container_seal(c));
    tlog_reset();
    return c;
}

/* Every singleton, each after what it needs; nothing of a request; the
 * same instances a request gets afterwards; disposed in reverse. */
static void test_build_all(void)
{
    void *root;
    di_container *c = graph(&root, NULL);
    T_OK(di_container_build(c, NULL));
    CU_ASSERT_STRING_EQUAL(tlog(), "+log +db +cache");
    T_OK(di_container_build(c, NULL)); /* built already: nothing more */
    CU_ASSERT_STRING_EQUAL(tlog(), "+log +db +cache");
    di_scope *s;
    void *tx;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &tx));
    void *db;
    T_OK(di_root_get(c, "db", &db));
    CU_ASSERT_PTR_EQUAL(((tinst *)tx)->deps[0], db);
    T_OK(di_scope_end(s, 0));
    tlog_reset();
    t_fixture_done(c, root);
    CU_ASSERT_STRING_EQUAL(tlog(), "-cache:0 -db:0 -log:0");
}

/* A database that is down: the build stops at it, with the path and the
 * message; what came after is not built; the container stays usable and a
 * later call tries again. */
static void test_build_fails_fast(void)
{
    void *root;
    tbeh down = { .fail_code = DI_EPROVIDER, .fail_times = 1,
                  .msg = "cannot connect: connection refused" };
    di_container *c = graph(&root, &down);
    CU_ASSERT_EQUAL(di_container_build(c, NULL), DI_EPROVIDER);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "cache \xe2\x86\x92 db: "
                            "cannot connect: connection refused"));
    CU_ASSERT_STRING_EQUAL(tlog(), "+log !db");
    T_OK(di_container_build(c, NULL)); /* it is up now */
    CU_ASSERT_STRING_EQUAL(tlog(), "+log !db +db +cache");
    t_fixture_done(c, root);
}

/* A chosen list: those and what they need, no more. */
static void test_build_some(void)
{
    void *root;
    di_container *c = graph(&root, NULL);
    T_OK(di_container_build(c, (const char *[]){ "db", NULL }));
    CU_ASSERT_STRING_EQUAL(tlog(), "+log +db");
    CU_ASSERT_EQUAL(di_container_build(c, (const char *[]){ "nosuch", NULL }),
                    DI_ENOTFOUND);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "nosuch: no provider 'nosuch'"));
    t_fixture_done(c, root);
}

/* di_root_get: a singleton, a value, a transient (kept until the
 * container goes); a request's provider is refused with its path. */
static void test_root_get(void)
{
    void *root, *v;
    di_container *c = graph(&root, NULL);
    T_OK(di_root_get(c, "cache", &v));
    CU_ASSERT_STRING_EQUAL(((tinst *)v)->name, "cache");
    T_OK(di_root_get(c, "config", &v));
    CU_ASSERT_STRING_EQUAL(v, "cfg");
    T_OK(di_root_get(c, "clock", &v));
    CU_ASSERT_STRING_EQUAL(((tinst *)v)->name, "clock");
    int rc = di_root_get(c, "tx", &v);
    CU_ASSERT_EQUAL(rc, DI_ESCOPE);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "tx: 'tx' lives in "
                            "'request', asked from a 'singleton' scope"));
    CU_ASSERT_EQUAL(di_root_get(c, NULL, &v), DI_EINVAL);
    CU_ASSERT_EQUAL(di_root_get(c, "db", NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_root_get(NULL, "db", &v), DI_EINVAL);
    tlog_reset();
    t_fixture_done(c, root);
    CU_ASSERT_PTR_NOT_NULL(strstr(tlog(), "-clock:0"));
}

/* Before seal there is nothing to build. */
static void test_not_sealed(void)
{
    void *root, *v;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "log", "singleton", NULL, NULL));
    CU_ASSERT_EQUAL(di_container_build(c, NULL), DI_ENOTSEALED);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_container_build: "
                            "seal the container first"));
    CU_ASSERT_EQUAL(di_root_get(c, "log", &v), DI_ENOTSEALED);
    CU_ASSERT_EQUAL(di_container_build(NULL, NULL), DI_EINVAL);
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "every singleton, in dependency order", test_build_all },
        { "a singleton that fails stops the build", test_build_fails_fast },
        { "a chosen list", test_build_some },
        { "a singleton outside any scope", test_root_get },
        { "before seal", test_not_sealed },
        CU_TEST_INFO_NULL,
    };
    return t_run("startup", tests);
}
