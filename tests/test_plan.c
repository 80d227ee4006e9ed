/*
 * test_plan.c — compiled programs (lib/plan.c): a consumer's, and the one
 * that builds a provider asked for by name or key, transients included,
 * do exactly what the recursive path does — creates in the same order,
 * each transient once per use, disposes in reverse, a singleton's first
 * use built in its place, failures unwound with their paths — and what no
 * program can build is left to the recursive path.
 */
#include <string.h>

#include "helpers.h"

static void *root;
static di_container *c;

static void setup(void) { c = t_fixture(&root); }
static void done(void) { t_fixture_done(c, root); }

/* controller <- t0, t1 (transients) <- cfg (singleton), db (request);
 * t1 also needs t0: a transient is built for each use. */
static void controller_graph(void)
{
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "db", "request", NULL, "cfg", NULL));
    T_OK(t_provide(c, "t0", "transient", NULL, "cfg", "db", NULL));
    T_OK(t_provide(c, "t1", "transient", NULL, "db", "t0", NULL));
    T_OK(t_provide(c, "ctl", "transient", NULL, "t0", "t1", "db", NULL));
}

static void test_get_builds_in_order(void)
{
    setup();
    controller_graph();
    T_OK(di_container_seal(c));
    int key = di_key(c, "ctl");
    /* the first request builds the singleton first, in its place: the
     * program builds nothing until what it reads from the container is
     * there, and leaves the first to the recursive path */
    di_scope *s = t_request(c);
    void *v;
    T_OK(di_get_key(s, key, &v));
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg +db +t0 +t0 +t1 +ctl");
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg +db +t0 +t0 +t1 +ctl "
                           "-ctl:0 -t1:0 -t0:0 -t0:0 -db:0");
    /* the second along the program: the same, singleton aside */
    tlog_reset();
    s = t_request(c);
    T_OK(di_get_key(s, key, &v));
    tinst *ctl = v;
    CU_ASSERT_STRING_EQUAL(tlog(), "+db +t0 +t0 +t1 +ctl");
    tinst *t0 = ctl->deps[0], *t1 = ctl->deps[1];
    CU_ASSERT_STRING_EQUAL(t0->name, "t0");
    CU_ASSERT_STRING_EQUAL(t1->name, "t1");
    CU_ASSERT_PTR_NOT_EQUAL(t1->deps[1], t0); /* one t0 each */
    CU_ASSERT_PTR_EQUAL(t1->deps[0], ctl->deps[2]); /* one db */
    CU_ASSERT_PTR_EQUAL(t0->deps[1], ctl->deps[2]);
    void *db;
    T_OK(di_get(s, "db", &db));
    CU_ASSERT_PTR_EQUAL(db, ctl->deps[2]);
    /* another get: new transients, the cached db found */
    T_OK(di_get(s, "ctl", &v));
    CU_ASSERT_PTR_NOT_EQUAL(v, ctl);
    CU_ASSERT_PTR_EQUAL(((tinst *)v)->deps[2], db);
    T_OK(di_scope_end(s, 7));
    CU_ASSERT_STRING_EQUAL(tlog(), "+db +t0 +t0 +t1 +ctl +t0 +t0 +t1 +ctl "
                           "-ctl:7 -t1:7 -t0:7 -t0:7 -ctl:7 -t1:7 -t0:7 "
                           "-t0:7 -db:7");
    done();
}

static void test_consumer_with_transients(void)
{
    setup();
    controller_graph();
    T_OK(t_consumer(c, "GET /c", "request", "ctl", "t0", "db", NULL));
    T_OK(di_container_seal(c));
    for (int round = 0; round < 2; round++) {
        tlog_reset();
        di_scope *s = t_request(c);
        void *out[3];
        T_OK(di_resolve(s, "GET /c", out, 3));
        CU_ASSERT_STRING_EQUAL(tlog(), round ? "+db +t0 +t0 +t1 +ctl +t0"
                                             : "+cfg +db +t0 +t0 +t1 +ctl +t0");
        CU_ASSERT_PTR_NOT_EQUAL(out[1], ((tinst *)out[0])->deps[0]);
        CU_ASSERT_PTR_EQUAL(((tinst *)out[0])->deps[2], out[2]);
        T_OK(di_scope_end(s, 0));
    }
    done();
}

/* A failure deep in a program: its path through the transients; what was
 * made for the failed build disposed at once with the failure and freed;
 * what succeeded and is cached stays; the scope stays usable. */
static void test_failure_unwinds(void)
{
    setup();
    tbeh bad = { .fail_code = -1001, .fail_times = 1, .msg = "no route",
                 .leak_on_fail = 1 };
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "ta", "transient", NULL, "cfg", NULL));
    T_OK(t_provide(c, "db", "request", NULL, "cfg", NULL));
    T_OK(t_provide(c, "bad", "transient", &bad, "db", NULL));
    T_OK(t_provide(c, "tb", "transient", NULL, "ta", "bad", NULL));
    T_OK(t_provide(c, "ctl", "transient", NULL, "ta", "db", "tb", NULL));
    T_OK(di_container_seal(c));
    void *v;
    di_scope *s = t_request(c);
    T_OK(di_get(s, "cfg", &v)); /* built: the program runs from the start */
    T_OK(di_scope_end(s, 0));
    tlog_reset();
    s = t_request(c);
    size_t made = talloc_total_blocks(c);
    CU_ASSERT_EQUAL(di_get(s, "ctl", &v), -1001);
    /* the program was made (with its level's table): this went along it */
    CU_ASSERT_EQUAL(talloc_total_blocks(c), made + 2);
    CU_ASSERT(t_msg_is(di_scope_error(s), "ctl \xe2\x86\x92 tb \xe2\x86\x92 "
                       "bad: no route"));
    CU_ASSERT_STRING_EQUAL(di_error_path(di_scope_error(s)),
                           "ctl \xe2\x86\x92 tb \xe2\x86\x92 bad");
    /* ta (for tb) and ta (for ctl) disposed, newest first; db stays */
    CU_ASSERT_STRING_EQUAL(tlog(), "+ta +db +ta !bad -ta:-1001 -ta:-1001");
    void *db;
    T_OK(di_get(s, "db", &db));
    T_OK(di_get(s, "ctl", &v)); /* the next try succeeds */
    CU_ASSERT_PTR_EQUAL(((tinst *)v)->deps[1], db);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+ta +db +ta !bad -ta:-1001 -ta:-1001 "
                           "+ta +ta +bad +tb +ctl -ctl:0 -tb:0 -bad:0 -ta:0 "
                           "-ta:0 -db:0");
    done();
}

/* An instance of the level that needs a transient is not built when found,
 * nor is its transient: such a graph has no program. */
static void test_found_instance_builds_nothing_under_it(void)
{
    setup();
    T_OK(t_provide(c, "t", "transient", NULL, NULL));
    T_OK(t_provide(c, "db", "request", NULL, "t", NULL));
    T_OK(t_provide(c, "ctl", "transient", NULL, "db", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v;
    T_OK(di_get(s, "db", &v));
    size_t made = talloc_total_blocks(c);
    T_OK(di_get(s, "ctl", &v));
    T_OK(di_get(s, "ctl", &v));
    /* the table of the transients' programs, and in it none */
    CU_ASSERT_EQUAL(talloc_total_blocks(c), made + 1);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+t +db +ctl +ctl -ctl:0 -ctl:0 -db:0 -t:0");
    done();
}

/* The blocks a failed get leaves: exactly those of what it kept. */
static void test_failure_leaves_only_what_is_kept(void)
{
    setup();
    tbeh bad = { .fail_code = -5, .fail_times = -1, .leak_on_fail = 1 };
    T_OK(t_provide(c, "t", "transient", NULL, NULL));
    T_OK(t_provide(c, "bad", "transient", &bad, "t", NULL));
    T_OK(t_provide(c, "top", "transient", NULL, "t", "t", "bad", NULL));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *v;
    size_t before = talloc_total_blocks(s);
    CU_ASSERT_EQUAL(di_get(s, "top", &v), -5);
    CU_ASSERT_STRING_EQUAL(tlog(), "+t +t +t !bad -t:-5 -t:-5 -t:-5");
    di_scope_error(s); /* kept on the scope: the rest is gone */
    size_t err_blocks = talloc_total_blocks(s) - before;
    CU_ASSERT_EQUAL(di_get(s, "top", &v), -5);
    CU_ASSERT_EQUAL(talloc_total_blocks(s) - before, err_blocks);
    T_OK(di_scope_end(s, 0));
    done();
}

/* What a program cannot build goes the recursive way, with its errors. */
static void test_unfit_graphs(void)
{
    setup();
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "conn", "connection", NULL, NULL));
    T_OK(t_provide(c, "t", "transient", NULL, "conn", NULL));
    T_OK(di_provide_external(c, "host", NULL, "request"));
    T_OK(t_provide(c, "u", "transient", NULL, "host", NULL));
    T_OK(t_provide(c, "wide", "transient", NULL, "t", "t", "t", "t", "t",
                   "t", "t", "t", "t", NULL));
    T_OK(di_container_seal(c));
    di_scope *cs, *s;
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &cs));
    T_OK(di_scope_begin(c, cs, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "t", &v)); /* an intermediate level */
    CU_ASSERT_EQUAL(di_get(s, "u", &v), DI_ENOTFOUND); /* an external */
    CU_ASSERT(t_msg_is(di_scope_error(s), "u \xe2\x86\x92 host: 'host' is "
                       "supplied by the host for each 'request' scope "
                       "(di_scope_put), and this one has none"));
    T_OK(di_scope_put(s, "host", (void *)1));
    T_OK(di_get(s, "u", &v));
    CU_ASSERT_PTR_EQUAL(((tinst *)v)->deps[0], (void *)1);
    T_OK(di_get(s, "wide", &v)); /* nine dependencies */
    CU_ASSERT_EQUAL(((tinst *)v)->ndeps, 9);
    T_OK(di_scope_end(s, 0));
    T_OK(di_scope_end(cs, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+conn +t +u +t +t +t +t +t +t +t +t +t "
                           "+wide -wide:0 -t:0 -t:0 -t:0 -t:0 -t:0 -t:0 "
                           "-t:0 -t:0 -t:0 -u:0 -t:0 -conn:0");
    done();
}

/* A root scope (a singleton's b->scope) gets a transient along a program
 * of its own level; a singleton asked there is the container's. */
static int keep_scope(const di_build *b, void **out)
{
    void *v;
    int rc = di_get(b->scope, "tmp", &v);
    if (rc)
        return rc;
    void *cfg;
    if ((rc = di_get(b->scope, "cfg", &cfg)))
        return rc;
    *out = ((tinst *)v)->deps[0] == cfg ? b->mem : NULL;
    return 0;
}

static void test_root_scope(void)
{
    setup();
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "tmp", "transient", NULL, "cfg", NULL));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "K",
        .lifetime = "singleton", .create = keep_scope, .size = 1 }));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c);
    void *k;
    T_OK(di_get(s, "K", &k));
    CU_ASSERT_PTR_NOT_NULL(k);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg +tmp");
    done();
}

/* The same graph resolved along plans and along the recursive path:
 * a driver (a transient whose create asks for the target at run time, so
 * that the recursive path builds it) must see the same creates, in the
 * same order, the same failures unwound, and the same disposes. */
static int drive(const di_build *b, void **out)
{
    void *v;
    int rc = di_get(b->scope, b->data, &v);
    *out = v;
    return rc;
}

static char *run_one(void *mem, const char *name, bool driven, int *rc)
{
    di_scope *s = t_request(c);
    void *v;
    char dname[16];
    snprintf(dname, sizeof dname, "d_%s", name);
    tlog_reset();
    *rc = di_get(s, driven ? dname : name, &v);
    T_OK(di_scope_end(s, 0));
    return talloc_strdup(mem, tlog());
}

static void differential(tbeh *beh, int failing)
{
    setup();
    void *mem = talloc_new(NULL);
    t_graph_init();
    for (int i = 0; i < T_GRAPH_N; i++)
        T_OK(t_graph_provide(c, i, i == failing ? beh : NULL));
    for (int i = 10; i < T_GRAPH_N; i++)
        T_OK(di_provide(c, &(di_provider_desc){
            .name = talloc_asprintf(mem, "d_%s", t_graph_names[i]),
            .lifetime = "transient", .create = drive,
            .data = t_graph_names[i] }));
    T_OK(di_container_seal(c));
    di_scope *s = t_request(c); /* the singletons first, out of the logs */
    void *v;
    for (int i = 0; i < 10; i++)
        T_OK(di_get(s, t_graph_names[i], &v));
    T_OK(di_scope_end(s, 0));
    int fails = 0;
    for (int round = 0; round < 2; round++) /* made, then reused */
        for (int i = 10; i < T_GRAPH_N; i++) {
            int rc_plan, rc_rec;
            char *plan = run_one(mem, t_graph_names[i], false, &rc_plan);
            char *rec = run_one(mem, t_graph_names[i], true, &rc_rec);
            CU_ASSERT_EQUAL(rc_plan, rc_rec);
            CU_ASSERT_STRING_EQUAL(plan, rec);
            if (strcmp(plan, rec) != 0)
                printf("\n%s:\n  plan:      %s\n  recursive: %s\n",
                       t_graph_names[i], plan, rec);
            fails += rc_plan != 0;
        }
    if (failing >= 0)
        CU_ASSERT(fails > 0);
    talloc_free(mem);
    done();
}

static void test_agrees_with_recursive_path(void)
{
    differential(NULL, -1);
    /* a transient that always fails, and a request provider */
    tbeh bad = { .fail_code = -7, .fail_times = -1, .msg = "down" };
    differential(&bad, 33);
    tbeh bad2 = { .fail_code = -8, .fail_times = -1, .msg = "down" };
    differential(&bad2, 21);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a get's program: order, transients per use, singleton first",
          test_get_builds_in_order },
        { "a consumer's program with transients", test_consumer_with_transients },
        { "a failure: its path, transients unwound, cached kept",
          test_failure_unwinds },
        { "a failure leaves only what is kept", test_failure_leaves_only_what_is_kept },
        { "a found instance: nothing under it is built",
          test_found_instance_builds_nothing_under_it },
        { "what no program builds goes the recursive way", test_unfit_graphs },
        { "a root scope's program", test_root_scope },
        { "plans and the recursive path agree (50-provider graph)",
          test_agrees_with_recursive_path },
        CU_TEST_INFO_NULL,
    };
    return t_run("plan", tests);
}
