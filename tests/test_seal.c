/*
 * test_seal.c — whole-graph validation at seal: every problem, each with its
 * path and exact message, all reported at once; and what seal compiles.
 */
#include "helpers.h"

static di_container *fresh(void)
{
    di_container *c = NULL;
    CU_ASSERT_EQUAL(di_container_new(NULL, &c), 0);
    return c;
}

static void test_missing_with_consumer_path(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "current_user", "request", NULL, "session", NULL));
    T_OK(t_consumer(c, "GET /notes", "request", "current_user", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT_EQUAL(di_error_code(e), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(e, "GET /notes \xe2\x86\x92 current_user \xe2\x86\x92 "
                          "session: no provider 'session'"));
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "GET /notes \xe2\x86\x92 "
                           "current_user \xe2\x86\x92 session");
    CU_ASSERT_FALSE(di_container_sealed(c));
    di_container_free(c);
}

static void test_missing_without_consumer(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "a", "singleton", NULL, "b", NULL));
    T_OK(t_provide(c, "b", "singleton", NULL, "nope", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT(t_msg_is(di_container_error(c), "a \xe2\x86\x92 b \xe2\x86\x92 "
                       "nope: no provider 'nope'"));
    di_container_free(c);
}

static void test_optional_missing_is_fine(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "a", "request", NULL, "?cache", NULL));
    T_OK(t_consumer(c, "job", "request", "?other", "a", NULL));
    T_OK(di_container_seal(c));
    di_container_free(c);
}

static void test_cycle(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "a", "singleton", NULL, "b", NULL));
    T_OK(t_provide(c, "b", "singleton", NULL, "c", NULL));
    T_OK(t_provide(c, "c", "singleton", NULL, "a", NULL));
    T_OK(t_provide(c, "self", "request", NULL, "self", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT(t_list_has(e, "a \xe2\x86\x92 b \xe2\x86\x92 c \xe2\x86\x92 a: "
                            "dependency cycle"));
    CU_ASSERT(t_list_has(e, "self \xe2\x86\x92 self: dependency cycle"));
    CU_ASSERT_EQUAL(di_error_code(e), DI_ECYCLE);
    di_container_free(c);
}

/* A cycle is reported with the path by which a request runs into it,
 * whatever the order of registration. */
static void test_cycle_from_entry(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "X2", "request", NULL, "X2", NULL));
    T_OK(t_provide(c, "X1", "request", NULL, "X2", NULL));
    T_OK(t_consumer(c, "GET /x", "request", "X1", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT(t_msg_is(e, "GET /x \xe2\x86\x92 X1 \xe2\x86\x92 X2 \xe2\x86\x92 "
                          "X2: dependency cycle"));
    di_container_free(c);
}

static void test_captive(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "pool", "singleton", NULL, "tx", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT_EQUAL(di_error_code(e), DI_ECAPTIVE);
    CU_ASSERT(t_msg_is(e, "pool (singleton) \xe2\x86\x92 tx (request): captive "
                          "dependency: 'pool' lives in 'singleton' and would "
                          "keep 'tx' from 'request' alive past its scope"));
    di_container_free(c);
}

static void test_captive_through_transients(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "t2", "transient", NULL, "cfg", "tx", NULL));
    T_OK(t_provide(c, "t1", "transient", NULL, "t2", NULL));
    T_OK(t_provide(c, "pool", "singleton", NULL, "t1", NULL));
    /* the same transient is fine from the request level */
    T_OK(t_provide(c, "repo", "request", NULL, "t1", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT(t_msg_is(e, "pool (singleton) \xe2\x86\x92 t1 (transient) "
                          "\xe2\x86\x92 t2 (transient) \xe2\x86\x92 tx (request): "
                          "captive dependency: 'pool' lives in 'singleton' and "
                          "would keep 'tx' from 'request' alive past its scope"));
    di_container_free(c);
}

static void test_levels_not_visible(void)
{
    di_container *c = fresh();
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "export", "job", NULL, "tx", NULL));
    T_OK(t_consumer(c, "nightly", "job", "tx", NULL));
    T_OK(t_consumer(c, "GET /", "singleton", "tx", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 3);
    CU_ASSERT(t_list_has(e, "export (job) \xe2\x86\x92 tx (request): level "
                            "'job' cannot see level 'request' of 'tx'"));
    CU_ASSERT(t_list_has(e, "nightly (job) \xe2\x86\x92 tx (request): 'nightly' "
                            "runs in 'job' scopes, which cannot see 'tx' (it "
                            "lives in 'request')"));
    CU_ASSERT(t_list_has(e, "GET / (singleton) \xe2\x86\x92 tx (request): "
                            "'GET /' runs in 'singleton' scopes, which cannot "
                            "see 'tx' (it lives in 'request')"));
    di_container_free(c);
}

static void test_transient_conflicting_levels(void)
{
    di_container *c = fresh();
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "run", "job", NULL, NULL));
    T_OK(t_provide(c, "mix", "transient", NULL, "tx", "run", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_code(e), DI_ESCOPE);
    CU_ASSERT(t_msg_is(e, "mix: transient 'mix' needs levels that never nest: "
                          "mix (transient) \xe2\x86\x92 tx (request) and mix "
                          "(transient) \xe2\x86\x92 run (job)"));
    di_container_free(c);
}

static void test_type_mismatch(void)
{
    di_container *c = fresh();
    T_OK(t_provide_typed(c, "db", "pg_conn", "singleton", NULL, NULL));
    T_OK(t_provide(c, "plain", "singleton", NULL, NULL));
    T_OK(t_provide(c, "repo", "request", NULL, "db:sqlite3", NULL));
    T_OK(t_consumer(c, "GET /", "request", "plain:cfg", "?db:pg_conn", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_EQUAL(di_error_code(e), DI_ETYPE);
    CU_ASSERT(t_list_has(e, "repo \xe2\x86\x92 db: 'repo' wants 'db' of type "
                            "'sqlite3', but it provides type 'pg_conn'"));
    CU_ASSERT(t_list_has(e, "GET / \xe2\x86\x92 plain: 'GET /' wants 'plain' "
                            "of type 'cfg', but it has no type tag"));
    di_container_free(c);
}

static void test_unknown_levels(void)
{
    di_container *c = fresh();
    T_OK(di_level(c, "connection", "singelton"));
    T_OK(t_provide(c, "tx", "reqest", NULL, NULL));
    T_OK(t_consumer(c, "GET /", "requets", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 3);
    CU_ASSERT_EQUAL(di_error_code(e), DI_ELEVEL);
    CU_ASSERT(t_list_has(e, "connection: level 'connection' has an unknown "
                            "parent level 'singelton'"));
    CU_ASSERT(t_list_has(e, "tx: unknown lifetime 'reqest' (levels: "
                            "'singleton', 'request', 'connection', 'transient')"));
    CU_ASSERT(t_list_has(e, "GET /: unknown level 'requets' (levels: "
                            "'singleton', 'request', 'connection')"));
    di_container_free(c);
}

static void test_level_cycle(void)
{
    di_container *c = fresh();
    T_OK(di_level(c, "a", "b"));
    T_OK(di_level(c, "b", "a"));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 1);
    CU_ASSERT(t_msg_is(e, "a \xe2\x86\x92 b \xe2\x86\x92 a: scope levels form "
                          "a cycle"));
    di_container_free(c);
}

static void test_duplicates_and_unknown_override_kept(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    CU_ASSERT_EQUAL(t_provide(c, "db", "request", NULL, NULL), DI_EEXIST);
    CU_ASSERT_EQUAL(di_override_value(c, "dbb", NULL, NULL), DI_ENOTFOUND);
    T_OK(t_consumer(c, "GET /", "request", NULL));
    CU_ASSERT_EQUAL(t_consumer(c, "GET /", "request", NULL), DI_EEXIST);
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 3);
    CU_ASSERT(t_list_has(e, "db: provider 'db' is registered twice"));
    CU_ASSERT(t_list_has(e, "dbb: override of unknown provider 'dbb'"));
    CU_ASSERT(t_list_has(e, "GET /: consumer 'GET /' is registered twice"));
    di_container_free(c);
}

static void test_every_problem_at_once(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "a", "singleton", NULL, "a", NULL));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "pool", "singleton", NULL, "tx", "gone", NULL));
    T_OK(t_provide(c, "x", "nowhere", NULL, NULL));
    T_OK(t_provide(c, "typed", "singleton", NULL, "tx:int", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    /* cycle, captive, missing, unknown lifetime, type, captive (typed) */
    CU_ASSERT_EQUAL(di_error_count(e), 6);
    int seen[20] = { 0 };
    for (const di_error *x = e; x; x = di_error_next(x))
        seen[-di_error_code(x)]++;
    CU_ASSERT_EQUAL(seen[-DI_ECYCLE], 1);
    CU_ASSERT_EQUAL(seen[-DI_ECAPTIVE], 2);
    CU_ASSERT_EQUAL(seen[-DI_ENOTFOUND], 1);
    CU_ASSERT_EQUAL(seen[-DI_ELEVEL], 1);
    CU_ASSERT_EQUAL(seen[-DI_ETYPE], 1);
    di_container_free(c);
}

static void test_fix_and_seal_again(void)
{
    di_container *c = fresh();
    T_OK(t_provide(c, "a", "request", NULL, "b", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    T_OK(t_provide(c, "b", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    CU_ASSERT_TRUE(di_container_sealed(c));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_ESEALED);
    di_container_free(c);
}

static void test_connection_level_tree(void)
{
    di_container *c = fresh();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "pool", "singleton", NULL, NULL));
    T_OK(t_provide(c, "conn", "connection", NULL, "pool", NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "conn", NULL));
    T_OK(t_provide(c, "run", "job", NULL, "pool", NULL));
    T_OK(t_consumer(c, "GET /", "request", "tx", "conn", "pool", NULL));
    T_OK(t_consumer(c, "export", "job", "run", NULL));
    T_OK(di_container_seal(c));
    CU_ASSERT(di_key(c, "tx") >= 0);
    CU_ASSERT_EQUAL(di_key(c, "nope"), DI_ENOTFOUND);
    CU_ASSERT(di_consumer_key(c, "export") >= 0);
    di_container_free(c);
}

/* A large random acyclic graph seals; correctness only (timing is in the
 * benchmark suite). */
static void test_large_graph(void)
{
    di_container *c = fresh();
    enum { N = 20000 };
    unsigned seed = 12345;
    char names[4][16];
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        const char *deps[4] = { NULL, NULL, NULL, NULL };
        for (int k = 0; k < 3 && i > 0; k++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(names[k], sizeof names[k], "p%u", (seed >> 8) % (unsigned)i);
            deps[k] = names[k];
        }
        T_OK(di_provide(c, &(di_provider_desc){
            .name = name, .lifetime = i % 3 ? "request" : "transient",
            .deps = deps, .create = t_create }));
    }
    T_OK(di_container_seal(c));
    di_container_free(c);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "missing provider, path from the consumer", test_missing_with_consumer_path },
        { "missing provider, no consumer", test_missing_without_consumer },
        { "optional dependency may be missing", test_optional_missing_is_fine },
        { "cycles are printed", test_cycle },
        { "a cycle with the path that enters it", test_cycle_from_entry },
        { "captive dependency", test_captive },
        { "captive dependency through transients", test_captive_through_transients },
        { "level cannot see a dependency's level", test_levels_not_visible },
        { "transient needing levels that never nest", test_transient_conflicting_levels },
        { "type tag mismatch", test_type_mismatch },
        { "unknown levels and lifetimes", test_unknown_levels },
        { "level cycle", test_level_cycle },
        { "duplicates and unknown overrides fail seal", test_duplicates_and_unknown_override_kept },
        { "every problem reported at once", test_every_problem_at_once },
        { "fix the graph and seal again", test_fix_and_seal_again },
        { "connection/request/job level tree", test_connection_level_tree },
        { "large random graph", test_large_graph },
        CU_TEST_INFO_NULL,
    };
    return t_run("seal", tests);
}
