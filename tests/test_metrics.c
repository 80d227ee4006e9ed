/*
 * test_metrics.c — counters per provider (creates, failures, a create-time
 * histogram, disposes, failures) and per level (begun, settled,
 * abandoned, open), read from C and as Prometheus text, served by a route;
 * off unless enabled; tracing and metrics together.
 */
#include "helpers.h"

static di_container *graph(void **root, tbeh *tx, bool trace)
{
    di_container *c = t_fixture(root);
    T_OK(t_provide(c, "pool", "singleton", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", tx, "pool", NULL));
    T_OK(t_consumer(c, "job", "request", "tx", NULL));
    T_OK(di_metrics_enable(c));
    if (trace)
        T_OK(di_trace_enable(c, NULL, NULL));
    T_OK(di_container_seal(c));
    return c;
}

/* Three requests: one commits, one fails to build its transaction, one
 * whose dispose fails, abandoned; one still open. */
static void run(di_container *c, tbeh *tx)
{
    void *v;
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &v));
    T_OK(di_scope_end(s, 0));
    tx->fail_code = DI_EPROVIDER;
    tx->fail_times = 1;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_get(s, "tx", &v), DI_EPROVIDER);
    T_OK(di_scope_end(s, DI_EPROVIDER));
    tx->dispose_fail = DI_EPROVIDER;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &v));
    CU_ASSERT_EQUAL(di_scope_settle(s, DI_EABANDONED), DI_EDISPOSE);
    T_OK(di_scope_free(s));
    tx->dispose_fail = 0;
}

static void test_counted(void)
{
    void *root;
    tbeh tx = { 0 };
    di_container *c = graph(&root, &tx, false);
    run(c, &tx);
    di_scope *open;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &open));
    di_provider_stats p;
    T_OK(di_metrics_provider(c, "tx", &p));
    CU_ASSERT_EQUAL(p.creates, 3);
    CU_ASSERT_EQUAL(p.create_failures, 1);
    CU_ASSERT_EQUAL(p.disposes, 2);
    CU_ASSERT_EQUAL(p.dispose_failures, 1);
    CU_ASSERT_EQUAL(p.le[DI_METRICS_BUCKETS - 1], 2); /* the successes */
    for (int i = 1; i < DI_METRICS_BUCKETS; i++)
        CU_ASSERT(p.le[i] >= p.le[i - 1]);
    T_OK(di_metrics_provider(c, "pool", &p));
    CU_ASSERT_EQUAL(p.creates, 1); /* a singleton: once */
    CU_ASSERT_EQUAL(p.disposes, 0);
    di_level_stats l;
    T_OK(di_metrics_level(c, "request", &l));
    CU_ASSERT_EQUAL(l.begun, 4);
    CU_ASSERT_EQUAL(l.settled, 3);
    CU_ASSERT_EQUAL(l.abandoned, 1);
    CU_ASSERT_EQUAL(l.open, 1);
    CU_ASSERT_EQUAL(di_metrics_provider(c, "nosuch", &p), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_metrics_level(c, "nosuch", &l), DI_ENOTFOUND);
    T_OK(di_scope_end(open, 0));
    t_fixture_done(c, root);
}

/* The text format: every family typed, the counters by label, the
 * histogram cumulative with +Inf equal to its count. */
static void test_text(void)
{
    void *root;
    tbeh tx = { 0 };
    di_container *c = graph(&root, &tx, false);
    run(c, &tx);
    char *t;
    T_OK(di_metrics_text(c, root, &t));
    static const char *const want[] = {
        "# TYPE di_creates_total counter\n",
        "di_creates_total{provider=\"tx\"} 3\n",
        "di_creates_total{provider=\"pool\"} 1\n",
        "di_create_failures_total{provider=\"tx\"} 1\n",
        "di_disposes_total{provider=\"tx\"} 2\n",
        "di_dispose_failures_total{provider=\"tx\"} 1\n",
        "# TYPE di_create_seconds histogram\n",
        "di_create_seconds_bucket{provider=\"tx\",le=\"+Inf\"} 2\n",
        "di_create_seconds_count{provider=\"tx\"} 2\n",
        "di_create_seconds_sum{provider=\"tx\"} 0.",
        "# TYPE di_scopes_open gauge\n",
        "di_scopes_begun_total{level=\"request\"} 3\n",
        "di_scopes_settled_total{level=\"request\"} 3\n",
        "di_scopes_abandoned_total{level=\"request\"} 1\n",
        "di_scopes_open{level=\"request\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i])) {
            CU_FAIL("a line is missing");
            printf("\n  missing: %s\n%s", want[i], t);
        }
    CU_ASSERT_PTR_NULL(strstr(t, "level=\"singleton\""));
    talloc_free(t);
    t_fixture_done(c, root);
}

/* GET /metrics through the router: the text, its content type; the
 * request that asks is counted itself (begun, not yet settled). */
static void test_route(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    T_OK(di_metrics_route(h, "/metrics"));
    T_OK(di_metrics_enable(c));
    T_OK(di_container_seal(c));
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/metrics" }, root, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Content-Type"),
                           "text/plain; version=0.0.4");
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "di_scopes_open{level=\"request\"} 1\n"));
    talloc_free(a);
    t_fixture_done(c, root);

    /* metrics off: the route says so */
    c = t_fixture(&root);
    T_OK(di_http_new(c, c, &h));
    T_OK(di_metrics_route(h, "/metrics"));
    T_OK(di_container_seal(c));
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/metrics" }, root, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 404);
    talloc_free(a);
    t_fixture_done(c, root);
}

/* Off: nothing to read; after seal it cannot be turned on. */
static void test_off(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    di_provider_stats p;
    char *t;
    CU_ASSERT_EQUAL(di_metrics_provider(c, "tx", &p), DI_EINVAL);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_metrics_text(c, root, &t), DI_EINVAL);
    CU_ASSERT_EQUAL(di_metrics_enable(c), DI_ESEALED);
    CU_ASSERT_EQUAL(di_metrics_enable(NULL), DI_EINVAL);
    t_fixture_done(c, root);
}

/* With tracing on too: both see every create. */
static void test_with_tracing(void)
{
    void *root;
    tbeh tx = { 0 };
    di_container *c = graph(&root, &tx, true);
    di_scope *s;
    void *v;
    char *json;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "tx", &v));
    T_OK(di_scope_trace(s, root, &json));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"provider\":\"tx\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"provider\":\"pool\""));
    T_OK(di_scope_end(s, 0));
    di_provider_stats p;
    T_OK(di_metrics_provider(c, "tx", &p));
    CU_ASSERT_EQUAL(p.creates, 1);
    CU_ASSERT_EQUAL(p.disposes, 1);
    talloc_free(json);
    t_fixture_done(c, root);
    /* metrics alone: the scope has no trace to give */
    c = graph(&root, &tx, false);
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_scope_trace(s, root, &json), DI_EINVAL);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static di_pending *later;

static int wait_create(const di_build *b, void **out)
{
    *out = b->mem;
    later = di_pending_take(b);
    return later ? DI_PENDING : di_fail(b, DI_EINVAL, "needs a loop");
}

static void resolved(di_scope *s, int rc, void *arg)
{
    (void)s;
    *(int *)arg = rc;
}

/* An asynchronous create counted when it starts, and as a failure when it
 * fails later. */
static void test_async_failure(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "remote",
        .lifetime = "request", .create = wait_create }));
    T_OK(t_consumer(c, "job", "request", "remote", NULL));
    T_OK(di_async_provider(c, "remote"));
    T_OK(di_async_consumer(c, "job"));
    T_OK(di_metrics_enable(c));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *v;
    int rc = 1;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve_async(s, "job", &v, 1, resolved, &rc),
                    DI_PENDING);
    di_provider_stats p;
    T_OK(di_metrics_provider(c, "remote", &p));
    CU_ASSERT_EQUAL(p.creates, 1);
    CU_ASSERT_EQUAL(p.create_failures, 0);
    di_pending_fail(later, DI_EPROVIDER, "refused");
    CU_ASSERT_EQUAL(rc, DI_EPROVIDER);
    T_OK(di_metrics_provider(c, "remote", &p));
    CU_ASSERT_EQUAL(p.create_failures, 1);
    T_OK(di_scope_end(s, rc));
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "creates, failures, disposes, scopes: counted", test_counted },
        { "the Prometheus text format", test_text },
        { "GET /metrics", test_route },
        { "off unless enabled", test_off },
        { "with tracing on too", test_with_tracing },
        { "an asynchronous create that fails later", test_async_failure },
        CU_TEST_INFO_NULL,
    };
    return t_run("metrics", tests);
}
