/*
 * test_http_call.c — the in-process test client: a request through the
 * router and the scope lifecycle without a socket; its answer's status,
 * headers and body; the outcome its scope settled with (a COMMIT that
 * fails answers 500); overrides standing for a real provider; 413 and
 * bad calls; nothing leaks.
 */
#include "fault.h"
#include "helpers.h"

static char logged[1024];
static void capture(void *ctx, const di_log_record *rec)
{
    /* the router's records only */
    if (strncmp(rec->message, "di_http:", 8) != 0)
        return;
    const char *line = rec->message;
    (void)ctx;
    snprintf(logged, sizeof logged, "%s", line);
}

/* The transaction: records how it ended; its COMMIT fails while
 * commit_fails is set (and then it rolls back, as a database does). */
static bool commit_fails;
static int tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static int tx_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    if (outcome == 0 && commit_fails) {
        tlog_add("tx:rollback");
        return di_fail(b, DI_EPROVIDER, "COMMIT failed: disk full");
    }
    tlog_add("tx:%s", outcome == 0 ? "commit" : "rollback");
    return 0;
}

static int user_create(const di_build *b, void **out)
{
    const char *auth = di_http_header(b->deps[0], "Authorization");
    if (!auth || strcmp(auth, "Bearer ok") != 0)
        return di_fail(b, DI_HTTP_ERROR(401), "missing bearer token");
    *out = "alice";
    return 0;
}

static int mock_user(const di_build *b, void **out)
{
    (void)b;
    *out = "mock";
    return 0;
}

/* POST /items/{id}: echoes what it got; 201 with a Location. */
static int post_item(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    size_t n;
    const char *body = di_http_body(r, &n);
    char *s = talloc_asprintf(NULL, "id=%s q=%s user=%s x=%s body=%.*s",
                              di_http_param(r, "id"), di_http_query(r, "q"),
                              (const char *)deps[1],
                              di_http_header(r, "X-Thing"), (int)n, body);
    di_http_add_header(r, "Location", "/items/7");
    int rc = di_http_respond(r, 201, "text/plain", s, strlen(s));
    talloc_free(s);
    return rc;
}

static di_container *c;
static di_http *h;
static void *root, *mem; /* answers: freed before the fixture's check */
static int ends, end_outcome;

static void on_end(void *ctx, const di_http_req *r, int outcome)
{
    (void)ctx;
    (void)r;
    ends++;
    end_outcome = outcome;
}

static void setup(bool override_user)
{
    static const char *const user_deps[] = { "http_request:di_http_req",
                                             NULL };
    static const char *const deps[] = { "tx", "user", NULL };
    c = t_fixture(&root);
    T_OK(di_http_new(c, c, &h));
    di_log_set(capture, NULL);
    di_http_on_end(h, on_end, NULL);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "tx",
        .lifetime = "request", .create = tx_create, .dispose = tx_dispose }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "user",
        .lifetime = "request", .deps = user_deps, .create = user_create }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/items/{id}", .deps = deps, .handler = post_item }));
    if (override_user)
        T_OK(di_override(c, &(di_provider_desc){ .name = "user",
            .lifetime = "request", .create = mock_user }));
    T_OK(di_container_seal(c));
    commit_fails = false;
    mem = talloc_new(NULL);
    ends = 0;
    logged[0] = '\0';
    tlog_reset();
}

static const char *const ok_headers[] = { "authorization: Bearer ok",
                                          "X-Thing:  spaced", NULL };

/* Everything of a request goes in, the whole answer comes out, and the
 * transaction committed before it. */
static void test_round_trip(void)
{
    setup(false);
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/items/7?q=a%20b", .headers = ok_headers,
        .body = "{\"n\":1}", .len = 7 }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 201);
    size_t n;
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, &n), "id=7 q=a b user=alice "
                           "x=spaced body={\"n\":1}");
    CU_ASSERT_EQUAL(n, strlen(di_http_answer_body(a, NULL)));
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "location"), "/items/7");
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Content-Type"),
                           "text/plain");
    CU_ASSERT_PTR_NULL(di_http_answer_header(a, "X-None"));
    CU_ASSERT_EQUAL(di_http_answer_outcome(a), 0);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:commit");
    CU_ASSERT_EQUAL(ends, 1); /* the router's end hook ran */
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* The router's own answers and a provider's HTTP error: each with the
 * outcome the transaction ended with. */
static void test_errors(void)
{
    setup(false);
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/items/7" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 401);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
                           "{\"error\":\"missing bearer token\"}");
    CU_ASSERT_EQUAL(di_http_answer_outcome(a), DI_HTTP_ERROR(401));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback");
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/items/7" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 405);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Allow"), "POST");
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/nowhere" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 404);
    /* a body over the limit: 413, nothing resolved */
    static char big[DI_HTTP_BODY_MAX + 1];
    tlog_reset();
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/items/7", .headers = ok_headers, .body = big,
        .len = sizeof big }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 413);
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    CU_ASSERT_EQUAL(ends, 4);
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* A COMMIT that fails after the handler answered 201: the answer is a 500
 * that says nothing was saved, its Location gone, logged with its path. */
static void test_commit_fails(void)
{
    setup(false);
    commit_fails = true;
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/items/7", .headers = ok_headers }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 500);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL), "{\"error\":\"the "
                           "request's changes were not saved\"}");
    CU_ASSERT_PTR_NULL(di_http_answer_header(a, "Location"));
    CU_ASSERT_EQUAL(di_http_answer_outcome(a), DI_EDISPOSE);
    CU_ASSERT_EQUAL(end_outcome, DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback");
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /items/7: not saved: POST "
                           "/items/{id} \xe2\x86\x92 tx: COMMIT failed: "
                           "disk full");
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* An override stands for the real provider, as FastAPI's
 * dependency_overrides: no token needed. */
static void test_override(void)
{
    setup(true);
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/items/1" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 201);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL), "user=mock"));
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* Bad calls are refused and change nothing; an unsealed container is not
 * served. */
static void test_bad_calls(void)
{
    setup(false);
    di_http_answer *a = (void *)1;
    static const char *const bad[] = { "no colon", NULL };
    CU_ASSERT_EQUAL(di_http_call(NULL, &(di_http_call_desc){ .method = "GET",
        .target = "/" }, mem, &a), DI_EINVAL);
    CU_ASSERT_PTR_NULL(a);
    CU_ASSERT_EQUAL(di_http_call(h, NULL, root, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_http_call(h, &(di_http_call_desc){ .target = "/" },
                                 root, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/", .headers = bad }, mem, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/", .len = 3 }, mem, &a), DI_EINVAL);
    CU_ASSERT_EQUAL(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/" }, root, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(ends, 0);
    CU_ASSERT_EQUAL(di_http_answer_status(NULL), 0);
    CU_ASSERT_PTR_NULL(di_http_answer_header(NULL, "Allow"));
    talloc_free(mem);
    t_fixture_done(c, root);

    di_container *d = t_fixture(&root);
    mem = talloc_new(NULL);
    di_http *g;
    T_OK(di_http_new(d, d, &g));
    CU_ASSERT_EQUAL(di_http_call(g, &(di_http_call_desc){ .method = "GET",
        .target = "/" }, mem, &a), DI_ENOTSEALED);
    talloc_free(mem);
    t_fixture_done(d, root);
}

/* Every allocation of a call fails once: DI_ENOMEM or a whole answer,
 * never a leak. */
static void test_alloc_failures(void)
{
#ifndef DI_FAULT_TESTS
    printf("SKIP: not a fault-injection build\n");
#else
    setup(false);
    /* a first pass makes what a thread keeps for its next request and
     * fills the container's ring of recent errors (each failed begin is
     * reported there, up to 64 kept): the counted pass starts from that */
    const di_http_call_desc d = { .method = "POST", .target = "/items/7",
                                  .headers = ok_headers, .body = "b",
                                  .len = 1 };
    for (long n = 1; n < 40 + 2 * 64; n++) {
        di_http_answer *w = NULL;
        di__fault_alloc(n < 40 ? n : 2 + n % 3); /* 2 to 4: in the begin */
        di_http_call(h, &d, NULL, &w);
        di__fault_alloc(0);
        talloc_free(w);
    }
    size_t blocks = talloc_total_blocks(NULL);
    bool done = false;
    long runs = 0;
    for (long n = 1; !done && n < 200; n++, runs++) {
        di_http_answer *a = NULL;
        di__fault_alloc(n);
        int rc = di_http_call(h, &d, NULL, &a);
        bool failed = di__fault_alloc(0) > 0;
        CU_ASSERT(rc == 0 || rc == DI_ENOMEM);
        CU_ASSERT(rc != 0 || di_http_answer_status(a) >= 200);
        talloc_free(a);
        if (talloc_total_blocks(NULL) != blocks)
            printf("\n  allocation %ld (rc %d): %zd blocks more\n", n, rc,
                   (ssize_t)(talloc_total_blocks(NULL) - blocks));
        CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
        done = !failed;
    }
    CU_ASSERT(done);
    CU_ASSERT(runs > 5);
    talloc_free(mem);
    t_fixture_done(c, root);
#endif
}

int main(void)
{
    talloc_enable_null_tracking();
    CU_TestInfo tests[] = {
        { "a request in, the whole answer out", test_round_trip },
        { "404, 405, 401 from a provider, 413", test_errors },
        { "a COMMIT that fails answers 500", test_commit_fails },
        { "an override stands for the real provider", test_override },
        { "bad calls are refused", test_bad_calls },
        { "allocation failures", test_alloc_failures },
        CU_TEST_INFO_NULL,
    };
    int rc = t_run("http_call", tests);
    talloc_disable_null_tracking();
    return rc;
}
