/*
 * test_resolve.c — lazy resolution: laziness, caching per scope, transients,
 * order of creation, failures (code, message, path, cleanup, never cached),
 * optional and typed access, keys, dynamic gets from a create.
 */
#include "helpers.h"

static void *root;
static di_container *c;

static void setup(void) { c = t_fixture(&root); }
static void done(void) { t_fixture_done(c, root); }

static void test_lazy_and_cached(void)
{
    setup();
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "cfg", NULL));
    T_OK(t_provide(c, "unused", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    di_scope *a = t_request(c), *b = t_request(c);
    CU_ASSERT_STRING_EQUAL(tlog(), ""); /* nothing before something asks */
    void *t1, *t2, *t3, *cfg;
    T_OK(di_get(a, "tx", &t1));
    T_OK(di_get(a, "tx", &t2));
    CU_ASSERT_PTR_EQUAL(t1, t2); /* once per scope */
    T_OK(di_get(b, "tx", &t3));
    CU_ASSERT_PTR_NOT_EQUAL(t1, t3); /* another scope, another instance */
    T_OK(di_get(b, "cfg", &cfg));
    CU_ASSERT_PTR_EQUAL(((tinst *)t1)->deps[0], cfg); /* one singleton */
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg +tx +tx");
    T_OK(di_scope_end(a, 0));
    T_OK(di_scope_end(b, 0));
    done();
}

static void test_dependencies_first_in_declared_order(void)
{
    setup();
    T_OK(t_provide(c, "a", "request", NULL, NULL));
    T_OK(t_provide(c, "b", "request", NULL, "a", NULL));
    T_OK(t_provide(c, "c", "singleton", NULL, NULL));
    T_OK(t_provide(c, "d", "request", NULL, "c", "b", "a", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *d;
    T_OK(di_get(s, "d", &d));
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b +d");
    tinst *t = d;
    CU_ASSERT_STRING_EQUAL(((tinst *)t->deps[0])->name, "c");
    CU_ASSERT_STRING_EQUAL(((tinst *)t->deps[1])->name, "b");
    CU_ASSERT_STRING_EQUAL(((tinst *)t->deps[2])->name, "a");
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b +d -d:0 -b:0 -a:0");
    done();
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b +d -d:0 -b:0 -a:0 -c:0");
}

static void test_transients(void)
{
    setup();
    T_OK(t_provide(c, "tr", "transient", NULL, NULL));
    T_OK(t_provide(c, "x", "request", NULL, "tr", NULL));
    T_OK(t_provide(c, "y", "request", NULL, "tr", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *a, *b, *x, *y;
    T_OK(di_get(s, "tr", &a));
    T_OK(di_get(s, "tr", &b));
    CU_ASSERT_PTR_NOT_EQUAL(a, b); /* never cached */
    T_OK(di_get(s, "x", &x));
    T_OK(di_get(s, "y", &y));
    CU_ASSERT_PTR_NOT_EQUAL(((tinst *)x)->deps[0], ((tinst *)y)->deps[0]);
    CU_ASSERT_STRING_EQUAL(tlog(), "+tr +tr +tr +x +tr +y");
    T_OK(di_scope_end(s, 7)); /* owned by the scope: disposed with it */
    CU_ASSERT_STRING_EQUAL(tlog(), "+tr +tr +tr +x +tr +y -y:7 -tr:7 -x:7 "
                                   "-tr:7 -tr:7 -tr:7");
    done();
}

static void test_no_enclosing_scope(void)
{
    setup();
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    di_scope *j;
    T_OK(di_scope_begin(c, NULL, "job", NULL, &j));
    void *v = (void *)1;
    CU_ASSERT_EQUAL(di_get(j, "tx", &v), DI_ESCOPE);
    CU_ASSERT(t_msg_is(di_scope_error(j), "tx: 'tx' lives in 'request', asked "
                                          "from a 'job' scope"));
    CU_ASSERT_PTR_EQUAL(v, (void *)1);
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    T_OK(di_scope_end(j, 0));
    done();
}

static void test_failure_path_cleanup_retry(void)
{
    setup();
    tbeh down = { .fail_code = -1001, .fail_times = 1, .msg = "db is down",
                  .leak_on_fail = 1 };
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "db", "singleton", &down, "cfg", NULL));
    T_OK(t_provide(c, "session", "request", NULL, "db", NULL));
    T_OK(t_provide(c, "user", "request", NULL, "session", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    size_t before = talloc_total_blocks(root);
    void *u;
    CU_ASSERT_EQUAL(di_get(s, "user", &u), -1001);
    const di_error *e = di_scope_error(s);
    CU_ASSERT_EQUAL(di_error_code(e), -1001);
    CU_ASSERT(t_msg_is(e, "user \xe2\x86\x92 session \xe2\x86\x92 db: db is down"));
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "user \xe2\x86\x92 session "
                                             "\xe2\x86\x92 db");
    /* what the failing create allocated is gone; cfg succeeded and stays
     * cached at the root: its chunk and instance, the root teardown stack,
     * the remembered failure of db for waiting threads, and this thread's
     * root scope (where singletons are built) with the list of them; and
     * the container's program that builds user (plan.c), made at its
     * first di_get, with the table of its level's programs. */
    CU_ASSERT_EQUAL(talloc_total_blocks(root), before + 2 + 1 + 1 + 2 + 2);
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg !db");
    /* never cached: the next request tries again and succeeds */
    T_OK(di_scope_end(s, 500));
    s = t_request(c);
    T_OK(di_get(s, "user", &u));
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg !db +db +session +user");
    T_OK(di_scope_end(s, 0));
    done();
    CU_ASSERT_EQUAL(down.creates, 1);
    CU_ASSERT_EQUAL(down.disposes, 1);
}

static void test_failure_keeps_succeeded_instances(void)
{
    setup();
    tbeh bad = { .fail_code = DI_EPROVIDER, .fail_times = -1 };
    T_OK(t_provide(c, "a", "request", NULL, NULL));
    T_OK(t_provide(c, "t", "transient", NULL, "a", NULL));
    T_OK(t_provide(c, "b", "request", NULL, "t", NULL));
    T_OK(t_provide(c, "bad", "request", &bad, NULL));
    T_OK(t_provide(c, "t2", "transient", NULL, "b", NULL));
    T_OK(t_provide(c, "top", "request", NULL, "t2", "bad", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v;
    CU_ASSERT_EQUAL(di_get(s, "top", &v), DI_EPROVIDER);
    CU_ASSERT(t_msg_is(di_scope_error(s), "top \xe2\x86\x92 bad: create "
                                          "failed: provider failed"));
    /* t2 was made for top only: disposed at once with the failure; a, t
     * and b succeeded (b is cached and owns t): they stay until the end. */
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +t +b +t2 !bad -t2:-11");
    void *b;
    T_OK(di_get(s, "b", &b));
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +t +b +t2 !bad -t2:-11 -b:0 -t:0 -a:0");
    done();
}

static void test_positive_code_is_provider_failure(void)
{
    setup();
    tbeh pos = { .fail_code = 3, .fail_times = -1 };
    T_OK(t_provide(c, "p", "request", &pos, NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v;
    CU_ASSERT_EQUAL(di_get(s, "p", &v), DI_EPROVIDER);
    T_OK(di_scope_end(s, 0));
    done();
}

static void test_optional_and_values(void)
{
    setup();
    int answer = 42;
    T_OK(di_provide_value(c, "answer", "int", &answer));
    T_OK(t_provide(c, "x", "request", NULL, "?cache", "answer:int", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *x;
    T_OK(di_get(s, "x", &x));
    CU_ASSERT_PTR_NULL(((tinst *)x)->deps[0]);
    CU_ASSERT_PTR_EQUAL(((tinst *)x)->deps[1], &answer);
    int *ap;
    T_OK(DI_GET(s, "answer", int, &ap));
    CU_ASSERT_EQUAL(*ap, 42);
    T_OK(di_scope_end(s, 0));
    done(); /* values are never disposed */
    CU_ASSERT_STRING_EQUAL(tlog(), "+x -x:0");
}

typedef struct sqlite3 sqlite3;

static void test_typed_get(void)
{
    setup();
    T_OK(t_provide_typed(c, "db", "sqlite3", "singleton", NULL, NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    sqlite3 *db = NULL;
    T_OK(DI_GET(s, "db", sqlite3, &db));
    CU_ASSERT_PTR_NOT_NULL(db);
    int *wrong = NULL;
    CU_ASSERT_EQUAL(DI_GET(s, "db", int, &wrong), DI_ETYPE);
    CU_ASSERT_PTR_NULL(wrong);
    CU_ASSERT(t_msg_is(di_scope_error(s), "db: 'db' has type 'sqlite3', asked "
                                          "for as 'int'"));
    T_OK(di_scope_end(s, 0));
    done();
}

static void test_keys(void)
{
    setup();
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    CU_ASSERT_EQUAL(di_key(c, "cfg"), DI_ENOTSEALED);
    T_OK(di_container_seal(c));
    int kc = di_key(c, "cfg"), kt = di_key(c, "tx");
    CU_ASSERT(kc >= 0 && kt >= 0 && kc != kt);
    di_scope *s = t_request(c);
    void *a, *b, *x, *y;
    T_OK(di_get_key(s, kc, &a));
    T_OK(di_get_key(s, kc, &b));
    T_OK(di_get_key(s, kt, &x));
    T_OK(di_get(s, "tx", &y));
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_PTR_EQUAL(x, y);
    CU_ASSERT_EQUAL(di_get_key(s, 99, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_get_key(s, -1, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_get(s, "nope", &a), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(di_scope_error(s), "nope: no provider 'nope'"));
    T_OK(di_scope_end(s, 0));
    done();
}

static void test_null_instance(void)
{
    setup();
    T_OK(di_container_seal(c));
    done();
}

/* A create that resolves more through b->scope obeys the level rules. */
static int dyn_create(const di_build *b, void **out)
{
    void *v;
    int rc = di_get(b->scope, b->data, &v);
    if (rc)
        return rc;
    *out = v;
    return 0;
}

static void test_dynamic_get_from_create(void)
{
    setup();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "bad_single",
        .lifetime = "singleton", .create = dyn_create, .data = "tx" }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "good",
        .lifetime = "request", .create = dyn_create, .data = "cfg" }));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v, *cfg;
    CU_ASSERT_EQUAL(di_get(s, "bad_single", &v), DI_ECAPTIVE);
    CU_ASSERT(t_msg_is(di_scope_error(s), "bad_single \xe2\x86\x92 tx: "
                       "captive dependency: 'bad_single' lives in 'singleton' "
                       "and would keep 'tx' from 'request' alive past its "
                       "scope"));
    T_OK(di_get(s, "good", &v));
    T_OK(di_get(s, "cfg", &cfg));
    CU_ASSERT_PTR_EQUAL(v, cfg);
    T_OK(di_scope_end(s, 0));
    done();
}

/* The first seal problem's message for a graph where `from` depends on
 * `on` statically: what run time must answer for the same edge. */
static char *sealed_answer(void (*graph)(di_container *), const char *from,
                           const char *on, int *code)
{
    di_container *c2;
    T_OK(di_container_new(NULL, &c2));
    graph(c2);
    const char *const deps[] = { on, NULL };
    T_OK(di_override(c2, &(di_provider_desc){ .name = from,
         .lifetime = "singleton", .deps = deps, .create = t_create }));
    *code = di_container_seal(c2);
    const di_error *e = di_container_error(c2);
    *code = di_error_code(e);
    char *msg = talloc_strdup(NULL, di_error_message(e));
    di_container_free(c2);
    return msg;
}

/* F, a transient, needs tx (request); S, a singleton, asks for F from its
 * create; a set whose members are a transient and tx; a consumer needing
 * tx. */
static void captive_graph(di_container *c2)
{
    T_OK(t_provide(c2, "tx", "request", NULL, NULL));
    T_OK(t_provide(c2, "F", "transient", NULL, "tx", NULL));
    T_OK(t_provide(c2, "T", "transient", NULL, NULL));
    T_OK(di_set_declare(c2, "both"));
    T_OK(di_set_add(c2, "both", "T"));
    T_OK(di_set_add(c2, "both", "tx"));
    T_OK(t_consumer(c2, "GET /tx", "request", "tx", NULL));
    T_OK(di_provide(c2, &(di_provider_desc){ .name = "S",
        .lifetime = "singleton", .create = dyn_create, .data = "F" }));
}

/* A singleton's create asks, at run time, for what it could not declare:
 * a transient that needs a request instance, a set with one, a consumer
 * that needs one. Each is refused with the code and the words seal has for
 * the same edge declared, and the path through the transient; nothing is
 * kept that dies with the request. */
static void test_dynamic_captive_through_transients(void)
{
    setup();
    captive_graph(c);
    T_OK(di_container_seal(c));
    static const struct { const char *on, *path; } cases[] = {
        { "F", "S \xe2\x86\x92 F \xe2\x86\x92 tx" },
        { "both", "S \xe2\x86\x92 both \xe2\x86\x92 tx" },
    };
    for (size_t i = 0; i < 2; i++) {
        di_container *c2;
        T_OK(di_container_new(NULL, &c2));
        captive_graph(c2);
        T_OK(di_override(c2, &(di_provider_desc){ .name = "S",
            .lifetime = "singleton", .create = dyn_create,
            .data = (void *)cases[i].on }));
        T_OK(di_container_seal(c2));
        di_scope *s;
        T_OK(di_scope_begin(c2, NULL, "request", NULL, &s));
        void *v;
        int code;
        char *want = sealed_answer(captive_graph, "S", cases[i].on, &code);
        CU_ASSERT_EQUAL(code, DI_ECAPTIVE);
        CU_ASSERT_EQUAL(di_get(s, "S", &v), DI_ECAPTIVE);
        CU_ASSERT_STRING_EQUAL(di_error_path(di_scope_error(s)),
                               cases[i].path);
        /* the same words as seal's, after the path */
        const char *got = di_error_message(di_scope_error(s));
        const char *g = strstr(got, ": captive"), *w = strstr(want, ": captive");
        CU_ASSERT_PTR_NOT_NULL(g);
        CU_ASSERT_PTR_NOT_NULL(w);
        if (g && w)
            CU_ASSERT_STRING_EQUAL(g, w);
        talloc_free(want);
        T_OK(di_scope_end(s, 0));
        T_OK(di_container_free(c2));
    }
    /* a request provider may ask for the same transient: it is built in
     * the request scope, with that request's tx */
    di_scope *s = t_request(c);
    void *v, *tx;
    T_OK(di_get(s, "F", &v));
    T_OK(di_get(s, "tx", &tx));
    CU_ASSERT_PTR_EQUAL(((tinst *)v)->deps[0], tx);
    T_OK(di_scope_end(s, 0));
    done();
}

/* di_resolve() from a singleton's create: the singleton is built in the
 * root scope, where no request consumer runs. */
static int resolving_create(const di_build *b, void **out)
{
    void *v;
    int rc = di_resolve(b->scope, b->data, &v, 1);
    if (rc)
        return rc;
    *out = v;
    return 0;
}

static void test_dynamic_resolve_from_create(void)
{
    setup();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_consumer(c, "GET /tx", "request", "tx", NULL));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "S",
        .lifetime = "singleton", .create = resolving_create,
        .data = "GET /tx" }));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v;
    CU_ASSERT_EQUAL(di_get(s, "S", &v), DI_ESCOPE);
    CU_ASSERT(t_msg_is(di_scope_error(s), "S \xe2\x86\x92 GET /tx: 'GET /tx' "
                       "runs in 'request' scopes, asked from a 'singleton' "
                       "scope"));
    T_OK(di_scope_end(s, 0));
    done();
}

/* A singleton that keeps its b->scope and uses it after the request that
 * built it has ended: it is the container's root scope, alive as long as
 * the container; nothing of a request is reachable through it. */
static di_scope *kept;
static int keeping_create(const di_build *b, void **out)
{
    kept = b->scope;
    *out = b->mem;
    return 0;
}

static void test_singleton_keeps_its_scope(void)
{
    setup();
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "tmp", "transient", NULL, "cfg", NULL));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "K",
        .lifetime = "singleton", .create = keeping_create }));
    T_OK(t_consumer(c, "GET /k", "request", "K", "tx", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v[2];
    T_OK(di_resolve(s, "GET /k", v, 2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
    CU_ASSERT_PTR_NOT_EQUAL(kept, s);
    CU_ASSERT_STRING_EQUAL(di_scope_level(kept), "singleton");
    CU_ASSERT_PTR_NULL(di_scope_parent(kept));
    T_OK(di_scope_end(s, 0));
    /* the request is gone; the kept scope is not */
    void *cfg, *tmp, *tx;
    T_OK(di_get(kept, "cfg", &cfg));
    T_OK(di_get(kept, "tmp", &tmp));
    CU_ASSERT_PTR_EQUAL(((tinst *)tmp)->deps[0], cfg);
    CU_ASSERT_EQUAL(di_get(kept, "tx", &tx), DI_ESCOPE);
    CU_ASSERT(t_msg_is(di_scope_error(kept), "tx: 'tx' lives in 'request', "
                       "asked from a 'singleton' scope"));
    /* it is the container's to end */
    CU_ASSERT_EQUAL(di_scope_end(kept, 0), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_settle(kept, 0), DI_EINVAL);
    CU_ASSERT_EQUAL(di_scope_free(kept), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_scope_error(kept), "di_scope_free: this is the "
                       "container's root scope: it ends with the container"));
    tlog_reset();
    done();
    /* the transient it got went first, then the singletons in reverse */
    CU_ASSERT_STRING_EQUAL(tlog(), "-tmp:0 -cfg:0");
    kept = NULL;
}

/* A create that tries to free its container: refused while it runs (on
 * the consumer's compiled plan, on di_get_key's direct path for a
 * transient, and nested), allowed once nothing runs. */
static int free_rc[4];
static int nfree;

static int make_freeing(const di_build *b, void **out)
{
    if (nfree < 4)
        free_rc[nfree++] = di_container_free(b->data);
    *out = b->mem;
    return 0;
}

static void test_create_cannot_free_container(void)
{
    di_container *k;
    T_OK(di_container_new(NULL, &k));
    T_OK(di_provide(k, &(di_provider_desc){ .name = "a", .lifetime = "request",
        .create = make_freeing, .data = k, .size = 8 }));
    static const char *const bdeps[] = { "a", NULL };
    T_OK(di_provide(k, &(di_provider_desc){ .name = "b", .lifetime = "request",
        .deps = bdeps, .create = make_freeing, .data = k, .size = 8 }));
    T_OK(di_provide(k, &(di_provider_desc){ .name = "t",
        .lifetime = "transient", .create = make_freeing, .data = k,
        .size = 8 }));
    static const char *const cdeps[] = { "b", NULL };
    T_OK(di_consumer_add(k, &(di_consumer_desc){ .name = "C", .deps = cdeps }));
    T_OK(di_container_seal(k));
    nfree = 0;
    di_scope *s;
    T_OK(di_scope_begin(k, NULL, "request", NULL, &s));
    void *out[1], *t;
    T_OK(di_resolve(s, "C", out, 1)); /* the plan: a, then b */
    T_OK(di_get_key(s, di_key(k, "t"), &t)); /* a transient, built directly */
    CU_ASSERT_EQUAL(nfree, 3);
    CU_ASSERT_EQUAL(free_rc[0], DI_EBUSY);
    CU_ASSERT_EQUAL(free_rc[1], DI_EBUSY);
    CU_ASSERT_EQUAL(free_rc[2], DI_EBUSY);
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(k)); /* nothing runs any more */
}

/* b->mem is p->size bytes, zeroed, whatever the size — also where the
 * scope's memory is reused from the request before, which left it dirty —
 * on a consumer's plan, through di_get and for a transient. */
enum { ZMAX = 100 };
static int zero_bad; /* sizes whose memory came dirty or wrongly sized */

static int zero_create(const di_build *b, void **out)
{
    size_t n = (size_t)(uintptr_t)b->data;
    unsigned char *m = b->mem;
    bool clean = n == 0 ? m != NULL : talloc_get_size(m) == n;
    for (size_t i = 0; i < n; i++)
        clean = clean && m[i] == 0;
    zero_bad += !clean;
    memset(m, 0xab, n); /* dirty for the next request's reuse */
    *out = m;
    return 0;
}

static void test_memory_zeroed(void)
{
    setup();
    void *tmp = talloc_new(NULL);
    enum { GROUP = 8 }; /* a consumer per 8 sizes: each has a plan */
    const char *names[ZMAX + 1 + GROUP] = { 0 };
    for (int n = 0; n <= ZMAX; n++) {
        names[n] = talloc_asprintf(tmp, "z%d", n);
        T_OK(di_provide(c, &(di_provider_desc){ .name = names[n],
            .lifetime = n % 3 ? "request" : "transient", .create = zero_create,
            .data = (void *)(uintptr_t)n, .size = (size_t)n }));
    }
    for (int g = 0; g <= ZMAX; g += GROUP) {
        const char *deps[GROUP + 1] = { 0 };
        memcpy(deps, names + g, GROUP * sizeof *deps);
        T_OK(di_consumer_add(c, &(di_consumer_desc){
            .name = talloc_asprintf(tmp, "c%d", g), .level = "request",
            .deps = deps }));
    }
    T_OK(di_container_seal(c));
    zero_bad = 0;
    for (int round = 0; round < 3; round++) {
        void *got[GROUP];
        di_scope *s = t_request(c);
        for (int g = 0; g <= ZMAX; g += GROUP)
            T_OK(di_resolve(s, talloc_asprintf(tmp, "c%d", g), got,
                            (size_t)(g + GROUP <= ZMAX + 1 ? GROUP : ZMAX + 1 - g)));
        T_OK(di_scope_end(s, 0));
        s = t_request(c);
        for (int n = 0; n <= ZMAX; n++)
            T_OK(di_get(s, names[n], &got[0]));
        T_OK(di_scope_end(s, 0));
    }
    CU_ASSERT_EQUAL(zero_bad, 0);
    talloc_free(tmp);
    done();
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "lazy, cached once per scope", test_lazy_and_cached },
        { "dependencies first, declared order", test_dependencies_first_in_declared_order },
        { "transients are new each time, owned by the scope", test_transients },
        { "no enclosing scope of the level", test_no_enclosing_scope },
        { "failure: code, message, path, cleanup, retry", test_failure_path_cleanup_retry },
        { "failure keeps what succeeded, unwinds its transients", test_failure_keeps_succeeded_instances },
        { "positive create code", test_positive_code_is_provider_failure },
        { "optional deps and values", test_optional_and_values },
        { "typed get", test_typed_get },
        { "keys", test_keys },
        { "empty container", test_null_instance },
        { "dynamic get from a create", test_dynamic_get_from_create },
        { "dynamic get through a transient or a set: captive",
          test_dynamic_captive_through_transients },
        { "a singleton keeps its b->scope: the root, alive with the container",
          test_singleton_keeps_its_scope },
        { "dynamic resolve from a singleton's create: refused",
          test_dynamic_resolve_from_create },
        { "a create cannot free its container", test_create_cannot_free_container },
        { "b->mem is zeroed, any size, reused memory too", test_memory_zeroed },
        CU_TEST_INFO_NULL,
    };
    return t_run("resolve", tests);
}
