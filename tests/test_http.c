/*
 * test_http.c — the router shared by the adapters, driven as an adapter
 * would: routes and params, query and headers, default answers, HTTP errors
 * from providers, the outcome each request's scope ends with, and the
 * truthful acknowledgement: the scope is settled (COMMIT) before the answer
 * leaves, and an answer never says 2xx for what was not committed.
 */
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* A transaction that logs how it ended; its COMMIT fails while
 * commit_fails is set, its ROLLBACK while rollback_fails is. */
static int commit_fails, rollback_fails;

static int tx_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    tlog_add("tx:%s", outcome == 0 ? "commit" : "rollback");
    tlog_add("outcome:%d", outcome);
    if (outcome == 0 && commit_fails)
        return di_fail(b, DI_EPROVIDER, "COMMIT failed: database is locked");
    if (outcome != 0 && rollback_fails)
        return di_fail(b, DI_EPROVIDER, "ROLLBACK failed: no connection");
    return 0;
}

static int tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

/* current_user: 401 unless the request carries "Authorization: Bearer ok" */
static int user_create(const di_build *b, void **out)
{
    di_http_req *r = b->deps[0];
    const char *auth = di_http_header(r, "Authorization");
    if (!auth)
        return di_fail(b, DI_HTTP_ERROR(401), "missing bearer token");
    if (strcmp(auth, "Bearer ok") != 0)
        return di_fail(b, DI_HTTP_ERROR(401), "unknown token");
    *out = "alice";
    return 0;
}

static int echo(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    size_t n;
    const char *body = di_http_body(r, &n);
    char *s = talloc_asprintf(NULL, "%s %s id=%s page=%s user=%s body=%s",
                              di_http_method(r), di_http_path(r),
                              di_http_param(r, "id"),
                              di_http_query(r, "page"), (char *)deps[1], body);
    int rc = di_http_respond(r, 200, "text/plain", s, strlen(s));
    di_http_add_header(r, "Location", "/notes/7");
    talloc_free(s);
    return rc;
}

static int failing(di_http_req *r, void *const *deps, void *data)
{
    (void)r;
    (void)deps;
    return *(int *)data;
}

static int five_oh_three(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 503, "text/plain", "busy", 4);
}

static int reject(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    di_http_respond(r, 422, "application/json", "{\"error\":\"bad title\"}",
                    21);
    return DI_HTTP_ERROR(422);
}

/* A 201 with a Location, and what the handler saw of its scope's
 * transaction: not settled yet while the handler runs. */
static int created(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    tlog_add("handler");
    di_http_add_header(r, "Location", "/notes/9");
    return di_http_respond(r, 201, "application/json", "{\"id\":9}", 8);
}

/* Answers 404 and returns 0: the request failed all the same. */
static int quiet_404(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 404, "application/json", "{}", 2);
}

/* Tries to end its own request's scope: refused, the router settles it. */
static int ends_itself(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    CU_ASSERT_EQUAL(di_scope_end(di_http_scope(r), 0), DI_EBUSY);
    CU_ASSERT_EQUAL(di_scope_settle(di_http_scope(r), 0), DI_EBUSY);
    CU_ASSERT_EQUAL(di_scope_free(di_http_scope(r)), DI_EBUSY);
    return di_http_respond(r, 200, "text/plain", "ok", 2);
}

/* The {id} and ?n as canonical integers: "id=<v|rc> n=<v|rc>". */
static int numbers(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    long long id = 0, n = 0;
    int a = di_http_param_int(r, "id", -5, 100, &id);
    int b = di_http_query_int(r, "n", 0, 9, 4, &n);
    char out[64];
    int len = snprintf(out, sizeof out, "id=%lld/%d n=%lld/%d", id, a, n, b);
    return di_http_respond(r, 200, "text/plain", out, (size_t)len);
}

/* Checks its body as JSON. */
static int json_in(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    int rc = di_http_check_json(r);
    if (rc)
        return rc;
    size_t n;
    const char *b = di_http_body(r, &n);
    return di_http_respond(r, 200, "application/json", b, n);
}

static int silent(di_http_req *r, void *const *deps, void *data)
{
    (void)r;
    (void)deps;
    (void)data;
    return 0;
}

static const char *const echo_deps[] = { "tx", "user", NULL };
static const char *const tx_only[] = { "tx", NULL };
static int fail_code = DI_EPROVIDER;

/* headers (and query when not in the target) come from the "framework" */
static const char *lookup(void *ctx, int what, const char *name)
{
    const char *const *kv = ctx;
    for (size_t i = 0; kv && kv[i]; i += 3)
        if (kv[i][0] == (what == DI_HTTP_LOOKUP_HEADER ? 'h' : 'q') &&
            strcasecmp(kv[i + 1], name) == 0)
            return kv[i + 2];
    return NULL;
}

static di_http *setup(di_container **cp, void **root)
{
    di_container *c = t_fixture(root);
    di_http *h;
    T_OK(di_http_new(c, c, &h)); /* the router lives with the container */
    di_log_set(capture, NULL);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "tx", .lifetime = "request",
                                           .create = tx_create,
                                           .dispose = tx_dispose }));
    static const char *const user_deps[] = { "http_request:di_http_req", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "user",
                                           .lifetime = "request",
                                           .deps = user_deps,
                                           .create = user_create }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/notes/{id}", .deps = echo_deps, .handler = echo }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "DELETE",
        .path = "/notes/{id}", .deps = tx_only, .handler = failing,
        .data = &fail_code }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/busy", .deps = tx_only, .handler = five_oh_three }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "PUT",
        .path = "/silent", .deps = tx_only, .handler = silent }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/reject", .deps = tx_only, .handler = reject }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/notes", .deps = tx_only, .handler = created }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/quiet", .deps = tx_only, .handler = quiet_404 }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/self", .deps = tx_only, .handler = ends_itself }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/num/{id}", .handler = numbers }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/json", .handler = json_in }));
    T_OK(di_container_seal(c));
    commit_fails = rollback_fails = 0;
    *cp = c;
    return h;
}

/* One request through the router, as an adapter drives it. */
static int serve(di_http *h, const char *method, const char *target,
                 const char *const *kv, const char *body, int delivered,
                 di_http_req **keep)
{
    di_http_req *r;
    T_OK(di_http_begin(h, method, target, lookup, (void *)kv, &r));
    if (body)
        T_OK(di_http_append_body(r, body, strlen(body)));
    di_http_dispatch(r);
    int status = di_http_status(r);
    if (keep) {
        *keep = r;
        return status;
    }
    T_OK(di_http_end(r, delivered));
    return status;
}

static void test_route_and_commit(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    static const char *const kv[] = { "h", "Authorization", "Bearer ok", NULL };
    di_http_req *r;
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/notes/a%20b?page=2&x", kv, "hi", 1, &r),
                    200);
    size_t n;
    CU_ASSERT_STRING_EQUAL(di_http_response(r, &n), "GET /notes/a b id=a b "
                           "page=2 user=alice body=hi");
    CU_ASSERT_STRING_EQUAL(di_http_content_type(r), "text/plain");
    const char *hn, *hv;
    CU_ASSERT_TRUE(di_http_response_header(r, 0, &hn, &hv));
    CU_ASSERT_STRING_EQUAL(hn, "Location");
    CU_ASSERT_STRING_EQUAL(hv, "/notes/7");
    CU_ASSERT_FALSE(di_http_response_header(r, 1, &hn, &hv));
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:commit outcome:0");
    /* the query from the framework when the target has none */
    static const char *const kv2[] = { "h", "authorization", "Bearer ok",
                                       "q", "page", "9", NULL };
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/notes/1", kv2, NULL, 1, &r), 200);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL), "GET /notes/1 id=1 "
                           "page=9 user=alice body=");
    T_OK(di_http_end(r, 1));
    t_fixture_done(c, root);
}

static void test_outcomes(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    static const char *const kv[] = { "h", "Authorization", "Bearer ok", NULL };
    /* the response was lost after the settle: the commit stands */
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/notes/1", kv, NULL, 0, NULL), 200);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:commit outcome:0");
    /* the handler fails: 500, rollback with its code, logged with the path */
    tlog_reset();
    di_http_req *r;
    CU_ASSERT_EQUAL(serve(h, "DELETE", "/notes/1", NULL, NULL, 1, &r), 500);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL),
                           "{\"error\":\"internal error\"}");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-11");
    CU_ASSERT_STRING_EQUAL(logged, "di_http: DELETE /notes/{id}: the handler "
                           "returned -11 (provider failed)");
    /* the handler answers 5xx itself */
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "POST", "/busy", NULL, NULL, 1, NULL), 503);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-100503");
    /* a handler that answers its own 4xx keeps it; the request failed */
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "POST", "/reject", NULL, NULL, 1, &r), 422);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL),
                           "{\"error\":\"bad title\"}");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-100422");
    /* a handler that answers nothing: 204, committed */
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "PUT", "/silent", NULL, NULL, 1, NULL), 204);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:commit outcome:0");
    /* ended before dispatch: abandoned */
    tlog_reset();
    T_OK(di_http_begin(h, "PUT", "/silent", NULL, NULL, &r));
    void *tx;
    T_OK(di_get(di_http_scope(r), "tx", &tx));
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-17");
    /* freed without di_http_end: its scope ends, abandoned */
    tlog_reset();
    T_OK(di_http_begin(h, "PUT", "/silent", NULL, NULL, &r));
    T_OK(di_get(di_http_scope(r), "tx", &tx));
    talloc_free(r);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-17");
    t_fixture_done(c, root);
}

/* What di_http_on_end() saw of the last request. */
static int end_status, end_outcome, end_delivered;
static void on_end(void *ctx, const di_http_req *r, int outcome)
{
    (void)ctx;
    end_status = di_http_status(r);
    end_outcome = outcome;
    end_delivered = di_http_delivered(r);
    CU_ASSERT_PTR_NULL(di_http_scope(r)); /* freed already */
}

/* The scope is settled inside dispatch, after the handler and before the
 * answer can leave; a COMMIT that fails turns a 201 into a 500 that says
 * so, without the Location, logged with the dependency path. */
static void test_commit_before_answer(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    di_http_on_end(h, on_end, NULL);
    di_http_req *r;
    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    T_OK(di_http_dispatch(r));
    /* settled before the adapter has the answer in hand */
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");
    CU_ASSERT_EQUAL(di_http_status(r), 201);
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(end_status, 201);
    CU_ASSERT_EQUAL(end_outcome, 0);
    CU_ASSERT_EQUAL(end_delivered, 1);
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");

    commit_fails = 1;
    tlog_reset();
    logged[0] = '\0';
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");
    CU_ASSERT_EQUAL(di_http_status(r), 500);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL), "{\"error\":\"the "
                           "request's changes were not saved\"}");
    CU_ASSERT_STRING_EQUAL(di_http_content_type(r), "application/json");
    const char *hn, *hv;
    CU_ASSERT_FALSE(di_http_response_header(r, 0, &hn, &hv)); /* no Location */
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /notes: not saved: POST "
                           "/notes \xe2\x86\x92 tx: COMMIT failed: database "
                           "is locked");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(end_status, 500);
    CU_ASSERT_EQUAL(end_outcome, DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");
    commit_fails = 0;

    /* a failed ROLLBACK on a request that failed anyway: 500 too, logged */
    rollback_fails = 1;
    tlog_reset();
    logged[0] = '\0';
    CU_ASSERT_EQUAL(serve(h, "POST", "/reject", NULL, NULL, 1, NULL), 500);
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /reject: not saved: POST "
                           "/reject \xe2\x86\x92 tx: ROLLBACK failed: no "
                           "connection");
    /* ... and one ended before dispatch: di_http_end settles, logs, says so */
    logged[0] = '\0';
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    void *tx;
    T_OK(di_get(di_http_scope(r), "tx", &tx));
    CU_ASSERT_EQUAL(di_http_end(r, 0), DI_EDISPOSE);
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /notes: not saved: tx: "
                           "ROLLBACK failed: no connection");
    CU_ASSERT_EQUAL(end_outcome, DI_EDISPOSE);
    CU_ASSERT_EQUAL(end_delivered, 0);
    rollback_fails = 0;

    /* a handler cannot end the scope the router settles */
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/self", NULL, NULL, 1, NULL), 200);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:commit outcome:0");
    t_fixture_done(c, root);
}

/* One rule: a failure when the handler failed or the status is 400 or
 * above, whatever the handler returned. */
static void test_outcome_rule(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/quiet", NULL, NULL, 1, NULL), 404);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-100404");
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "POST", "/reject", NULL, NULL, 1, NULL), 422);
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-100422");
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "POST", "/notes", NULL, NULL, 1, NULL), 201);
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");
    t_fixture_done(c, root);
}

/* The client's socket: end of file before the settle means it left (the
 * request rolls back, the answer says so); bytes waiting (a pipelined
 * request) mean it is there. */
static void test_client_gone(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    int sv[2];
    T_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    di_http_req *r;
    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    di_http_client_socket(r, sv[0]);
    CU_ASSERT_EQUAL(write(sv[1], "GET / HTTP/1.1\r\n", 16), 16);
    T_OK(di_http_dispatch(r));
    CU_ASSERT_EQUAL(di_http_status(r), 201);
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0");
    char sink[16];
    CU_ASSERT_EQUAL(read(sv[0], sink, sizeof sink), 16); /* only peeked */
    close(sv[1]);
    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    di_http_client_socket(r, sv[0]);
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_EABANDONED);
    CU_ASSERT_EQUAL(di_http_status(r), 499);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL), "{\"error\":\"the "
                           "client closed the connection; the request's "
                           "changes were not saved\"}");
    const char *hn, *hv;
    CU_ASSERT_FALSE(di_http_response_header(r, 0, &hn, &hv));
    T_OK(di_http_end(r, 0));
    char want[64];
    snprintf(want, sizeof want, "handler tx:rollback outcome:%d",
             DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    close(sv[0]);
    t_fixture_done(c, root);
}

/* What serve() answered, for the door's cases. */
static char *answer_of(di_http *h, const char *method, const char *target,
                       const char *body, int *status)
{
    di_http_req *r;
    T_OK(di_http_begin(h, method, target, NULL, NULL, &r));
    if (body)
        T_OK(di_http_append_body(r, body, strlen(body)));
    di_http_dispatch(r);
    *status = di_http_status(r);
    char *out = talloc_strdup(NULL, di_http_response(r, NULL));
    T_OK(di_http_end(r, 1));
    return out;
}

/* Input refused at the door: paths and queries that decode to what a C
 * string or a log cannot hold, numbers that are not canonical, JSON that
 * is not UTF-8 or has something after it, and log lines that cannot be
 * forged. */
static void test_input_at_the_door(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    static const struct { const char *target; int status; const char *body; }
    cases[] = {
        { "/num/7?n=3", 200, "id=7/0 n=3/0" },
        { "/num/0", 200, "id=0/0 n=4/0" },
        { "/num/-5?n=0", 200, "id=-5/0 n=0/0" },
        { "/num/+1", 200, "id=0/-1 n=4/0" },
        { "/num/%201", 200, "id=0/-1 n=4/0" },
        { "/num/01", 200, "id=0/-1 n=4/0" },
        { "/num/1x", 200, "id=0/-1 n=4/0" },
        { "/num/-0", 200, "id=0/-1 n=4/0" },
        { "/num/101", 200, "id=0/-1 n=4/0" },
        { "/num/99999999999999999999", 200, "id=0/-1 n=4/0" },
        { "/num/7?n", 200, "id=7/0 n=0/-1" },  /* "?n" is "?n=" */
        { "/num/7?n=", 200, "id=7/0 n=0/-1" },
        { "/num/7?n=10", 200, "id=7/0 n=0/-1" },
        { "/num/1%00abc", 400, "{\"error\":\"the path holds an encoded '/', "
          "a NUL or a control character\"}" },
        { "/num%2F1", 400, NULL },
        { "/num/%2f", 400, NULL },
        { "/num/%0a", 400, NULL },
        { "/num/%1b[31m", 400, NULL },
        { "/num/7?n=1%00x", 400, "{\"error\":\"the query holds a NUL or "
          "control character\"}" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        char *got = answer_of(h, "GET", cases[i].target, NULL, &st);
        CU_ASSERT_EQUAL(st, cases[i].status);
        if (cases[i].body)
            CU_ASSERT_STRING_EQUAL(got, cases[i].body);
        if (st != cases[i].status)
            fprintf(stderr, "\n  %s: %d %s\n", cases[i].target, st, got);
        talloc_free(got);
    }
    /* JSON bodies */
    static const struct { const char *body; const char *answer; } json[] = {
        { "{\"a\":1}", "{\"a\":1}" },
        { "\xef\xbb\xbf{\"a\":1}", "{\"a\":1}" },  /* the BOM goes */
        { "{\"a\":\"\xff\"}", "body:1:7: invalid UTF-8 (byte 0xff) in a "
          "string: the text must be UTF-8" },
        { "{\"a\":\"\xc0\xaf\"}", "body:1:7: invalid UTF-8 (byte 0xc0) in a "
          "string: the text must be UTF-8" },
        { "{\"a\":\"\xed\xa0\x80\"}", "body:1:7: invalid UTF-8 (byte 0xed) "
          "in a string: the text must be UTF-8" },
        { "{\"a\":\"\\ud800\"}", "body:1:7: \\ud800 is a high surrogate "
          "without its low half" },
        { "{\"a\":\"x\ty\"}", "body:1:8: control character 0x09 in a string "
          "(write it as an escape such as \\n or \\u0009)" },
        { "{} x", "body:1:4: expected the end of the document after the JSON "
          "value, got 'x'" },
        { "{\"a\":1,\"a\":2}", NULL },
    };
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
        int st;
        char *got = answer_of(h, "POST", "/json", json[i].body, &st);
        bool good = json[i].answer && json[i].answer[0] == '{';
        CU_ASSERT_EQUAL(st, good ? 200 : 400);
        if (good) {
            CU_ASSERT_STRING_EQUAL(got, json[i].answer);
        } else if (json[i].answer) {
            char *want = talloc_asprintf(NULL, "{\"error\":\"%s\"}",
                                         json[i].answer);
            /* the answer is JSON: its backslashes are escaped */
            char *esc = talloc_strdup(NULL, "");
            for (const char *p = want; *p; p++)
                esc = talloc_asprintf_append(esc, "%s%c",
                    *p == '\\' ? "\\" : "", *p);
            CU_ASSERT_STRING_EQUAL(got, esc);
            talloc_free(esc);
            talloc_free(want);
        }
        talloc_free(got);
    }
    t_fixture_done(c, root);
}

/* A message with a line break and a terminal escape is logged with both
 * written out. */
static int forging_create(const di_build *b, void **out)
{
    (void)out;
    return di_fail(b, DI_EPROVIDER, "down\nGET /admin -> 200 \x1b[31mred");
}

static void test_log_cannot_be_forged(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    di_log_set(capture, NULL);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "bad",
        .lifetime = "request", .create = forging_create }));
    static const char *const bad[] = { "bad", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/bad", .deps = bad, .handler = silent }));
    T_OK(di_container_seal(c));
    int st;
    talloc_free(answer_of(h, "GET", "/bad", NULL, &st));
    CU_ASSERT_EQUAL(st, 500);
    CU_ASSERT_STRING_EQUAL(logged, "di_http: GET /bad: GET /bad \xe2\x86\x92 "
                           "bad: down\\x0aGET /admin -> 200 \\x1b[31mred");
    t_fixture_done(c, root);
}

static void test_default_answers(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    di_http_req *r;
    CU_ASSERT_EQUAL(serve(h, "GET", "/nothing", NULL, NULL, 1, &r), 404);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL),
                           "{\"error\":\"not found\"}");
    CU_ASSERT_STRING_EQUAL(di_http_content_type(r), "application/json");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(serve(h, "PATCH", "/notes/3", NULL, NULL, 1, &r), 405);
    const char *hn, *hv;
    CU_ASSERT_TRUE(di_http_response_header(r, 0, &hn, &hv));
    CU_ASSERT_STRING_EQUAL(hn, "Allow");
    CU_ASSERT_STRING_EQUAL(hv, "GET, DELETE");
    T_OK(di_http_end(r, 1));
    /* 401 from a provider, its message for the client, not logged */
    logged[0] = '\0';
    tlog_reset();
    CU_ASSERT_EQUAL(serve(h, "GET", "/notes/3", NULL, NULL, 1, &r), 401);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL),
                           "{\"error\":\"missing bearer token\"}");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "tx:rollback outcome:-100401");
    CU_ASSERT_STRING_EQUAL(logged, "");
    static const char *const bad[] = { "h", "Authorization", "Bearer x", NULL };
    CU_ASSERT_EQUAL(serve(h, "GET", "/notes/3", bad, NULL, 1, &r), 401);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL),
                           "{\"error\":\"unknown token\"}");
    T_OK(di_http_end(r, 1));
    /* too large a body, announced: refused before any of it is read, and
     * nothing resolved */
    tlog_reset();
    T_OK(di_http_begin(h, "PUT", "/silent", NULL, NULL, &r));
    T_OK(di_http_content_length(r, DI_HTTP_BODY_MAX));
    CU_ASSERT_EQUAL(di_http_content_length(r, DI_HTTP_BODY_MAX + 1ull),
                    DI_HTTP_ERROR(413));
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_HTTP_ERROR(413));
    CU_ASSERT_EQUAL(di_http_status(r), 413);
    T_OK(di_http_end(r, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    CU_ASSERT_EQUAL(di_http_content_length(NULL, 1), DI_EINVAL);
    /* too large a body, found while reading it */
    T_OK(di_http_begin(h, "PUT", "/silent", NULL, NULL, &r));
    char *big = talloc_zero_size(NULL, DI_HTTP_BODY_MAX);
    T_OK(di_http_append_body(r, big, DI_HTTP_BODY_MAX));
    T_OK(di_http_append_body(r, "x", 1));
    talloc_free(big);
    di_http_dispatch(r);
    CU_ASSERT_EQUAL(di_http_status(r), 413);
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_EINVAL); /* once */
    T_OK(di_http_end(r, 1));
    t_fixture_done(c, root);
}

static void test_routes_checked(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(root, c, &h));
    di_http *h2;
    CU_ASSERT_EQUAL(di_http_new(root, c, &h2), DI_EEXIST);
    static const char *const missing[] = { "nothing", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/x", .deps = missing, .handler = silent }));
    CU_ASSERT_EQUAL(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/x", .handler = silent }), DI_EEXIST);
    CU_ASSERT_EQUAL(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "x", .handler = silent }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/a{b}", .handler = silent }), DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_http_route('GET "
                            "/a{b}'): segment 'a{b}' is not a parameter: "
                            "write {name}"));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "GET /x \xe2\x86\x92 "
                              "nothing: no provider 'nothing'"));
    talloc_free(h);
    talloc_free(h2);
    t_fixture_done(c, root);
}

/* Answers with the method and {id}, a content type and an answer longer
 * than the request keeps in its own block, after a first short answer, and
 * again from its own answer (the copy overlaps what it replaces). */
static int sizes(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    static const char ctype[] = "application/vnd.example.a-rather-long-media-"
                                "type+json; charset=utf-8";
    T_OK(di_http_respond(r, 200, "text/plain", "short", 5));
    char *s = talloc_asprintf(NULL, "%s id=%s", di_http_method(r),
                              di_http_param(r, "id"));
    T_OK(di_http_respond(r, 201, strlen(s) > 100 ? ctype : "text/plain", s,
                         strlen(s)));
    talloc_free(s);
    size_t n;
    const char *mine = di_http_response(r, &n);
    return di_http_respond(r, 201, di_http_content_type(r), mine, n);
}

static void test_long_requests(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(root, c, &h));
    const char *path = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/{id}"; /* 18 */
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "MKCALENDAR-"
        "EXTENDED", .path = path, .handler = sizes }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/x/{id}", .handler = sizes }));
    T_OK(di_container_seal(c));
    /* a long method, 18 segments, a 1,500-byte segment, a long content type
     * and answer: all past the room, all as asked */
    char id[1501];
    memset(id, 'z', 1500);
    id[1500] = '\0';
    char *target = talloc_asprintf(NULL, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/"
                                   "%s", id);
    di_http_req *r;
    CU_ASSERT_EQUAL(serve(h, "MKCALENDAR-EXTENDED", target, NULL, NULL, 1,
                          &r), 201);
    char *want = talloc_asprintf(target, "MKCALENDAR-EXTENDED id=%s", id);
    size_t n;
    CU_ASSERT_STRING_EQUAL(di_http_response(r, &n), want);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT_STRING_EQUAL(di_http_content_type(r), "application/vnd.example."
                           "a-rather-long-media-type+json; charset=utf-8");
    CU_ASSERT_STRING_EQUAL(di_http_path(r), target);
    CU_ASSERT_TRUE(talloc_total_blocks(r) > 1);
    T_OK(di_http_end(r, 1));
    /* a common request after it: nothing left of the long one, and nothing
     * allocated beyond the request's own block */
    CU_ASSERT_EQUAL(serve(h, "GET", "/x/7", NULL, NULL, 1, &r), 201);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, &n), "GET id=7");
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_STRING_EQUAL(di_http_path(r), "/x/7");
    CU_ASSERT_EQUAL(talloc_total_blocks(r), 1);
    T_OK(di_http_end(r, 1));
    talloc_free(target);
    talloc_free(h);
    t_fixture_done(c, root);
}

/* ---- asynchronous dispatch: a session whose BEGIN and COMMIT are on
 * the wire, finished by hand ---- */

static di_pending *wire;     /* the one operation on the wire */
static int wire_cancels;
static bool commit_fails_late;

static void wire_cancel(di_pending *p, void *arg)
{
    (void)arg;
    CU_ASSERT_PTR_EQUAL(p, wire);
    wire = NULL;
    wire_cancels++;
    tlog_add("cancel");
}

static int async_tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    CU_ASSERT_PTR_NULL(wire);
    if (!(wire = di_pending_take(b)))
        return di_fail(b, DI_EINVAL, "needs an event loop");
    di_pending_on_cancel(wire, wire_cancel, NULL);
    tlog_add("BEGIN");
    return DI_PENDING;
}

static int async_tx_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    tlog_add(outcome ? "ROLLBACK" : "COMMIT");
    CU_ASSERT_PTR_NULL(wire);
    if (!(wire = di_pending_take(b)))
        return 0;
    return DI_PENDING;
}

/* The operation on the wire answers. */
static void wire_answers(void)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(wire);
    di_pending *p = wire;
    wire = NULL;
    tlog_add("answer");
    if (commit_fails_late)
        di_pending_fail(p, DI_EPROVIDER, "COMMIT failed: server closed the "
                        "connection");
    else
        di_pending_done(p, NULL);
}

static int async_created(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    tlog_add("handler");
    return di_http_respond(r, 201, "application/json", "{}", 2);
}

/* An asynchronous handler: its work waits (slow_req is its request)
 * until the test finishes it with di_http_handled(); with slow_early it
 * finishes before it returns. */
static di_http_req *slow_req;
static bool slow_early;
static int slow(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    tlog_add("handler");
    slow_req = r;
    if (slow_early) {
        di_http_respond(r, 200, "text/plain", "early", 5);
        CU_ASSERT_EQUAL(di_http_handled(r, 0), 0);
    }
    return DI_PENDING;
}

static int done_calls, done_outcome, done_status;
static void done(di_http_req *r, int outcome, void *arg)
{
    CU_ASSERT_PTR_EQUAL(arg, &done_calls);
    done_calls++;
    done_outcome = outcome;
    done_status = di_http_status(r);
    tlog_add("done:%d", done_status);
}

static di_http *async_setup(di_container **cp, void **root)
{
    di_container *c = t_fixture(root);
    di_http *h;
    T_OK(di_http_new(c, c, &h)); /* the router lives with the container */
    di_log_set(capture, NULL);
    di_http_on_end(h, on_end, NULL);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "tx", .lifetime = "request",
        .create = async_tx_create, .dispose = async_tx_dispose }));
    T_OK(di_async_provider(c, "tx"));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/notes", .deps = tx_only, .handler = async_created }));
    T_OK(di_async_consumer(c, "POST /notes"));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/slow", .deps = tx_only, .handler = slow }));
    T_OK(di_async_consumer(c, "POST /slow"));
    T_OK(di_container_seal(c));
    slow_req = NULL;
    slow_early = false;
    *cp = c;
    wire = NULL;
    wire_cancels = done_calls = 0;
    commit_fails_late = false;
    tlog_reset();
    logged[0] = '\0';
    return h;
}

/* The answer is final only after the COMMIT answered: no 201 before it,
 * and a COMMIT that fails late turns it into a 500. */
static void test_async_commit_before_answer(void)
{
    void *root;
    di_container *c;
    di_http *h = async_setup(&c, &root);
    di_http_req *r;
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN");
    wire_answers(); /* BEGIN done: the handler runs, the COMMIT goes out */
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler COMMIT");
    CU_ASSERT_EQUAL(done_calls, 0); /* 201 set, not final */
    wire_answers();
    CU_ASSERT_EQUAL(done_calls, 1);
    CU_ASSERT_EQUAL(done_outcome, 0);
    CU_ASSERT_EQUAL(done_status, 201);
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(end_status, 201);

    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    wire_answers();
    commit_fails_late = true;
    wire_answers(); /* the COMMIT fails */
    CU_ASSERT_EQUAL(done_calls, 2);
    CU_ASSERT_EQUAL(done_outcome, DI_EDISPOSE);
    CU_ASSERT_EQUAL(done_status, 500);
    CU_ASSERT_STRING_EQUAL(di_http_response(r, NULL), "{\"error\":\"the "
                           "request's changes were not saved\"}");
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /notes: not saved: POST "
                           "/notes \xe2\x86\x92 tx: COMMIT failed: server "
                           "closed the connection");
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(end_outcome, DI_EDISPOSE);
    t_fixture_done(c, root);
}

/* A client that leaves while its BEGIN is on the wire: the create is
 * cancelled and nothing answers; one that leaves while its COMMIT is on
 * the wire: the request ends when the COMMIT answered, and done is not
 * called. */
static void test_async_client_leaves(void)
{
    void *root;
    di_container *c;
    di_http *h = async_setup(&c, &root);
    di_http_req *r;
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    end_outcome = 0;
    T_OK(di_http_end(r, 0));
    CU_ASSERT_EQUAL(wire_cancels, 1);
    CU_ASSERT_EQUAL(done_calls, 0);
    CU_ASSERT_EQUAL(end_outcome, DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN cancel");

    tlog_reset();
    end_status = 0;
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    wire_answers(); /* BEGIN; COMMIT on the wire */
    T_OK(di_http_end(r, 0)); /* the client left */
    CU_ASSERT_EQUAL(end_status, 0); /* not ended yet */
    CU_ASSERT_EQUAL(di_http_end(r, 0), DI_EINVAL); /* once */
    wire_answers(); /* COMMIT done: the request ends */
    CU_ASSERT_EQUAL(end_status, 201);
    CU_ASSERT_EQUAL(end_outcome, 0);
    CU_ASSERT_EQUAL(end_delivered, 0);
    CU_ASSERT_EQUAL(done_calls, 0);
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler COMMIT answer");
    CU_ASSERT_EQUAL(di_http_dispatch_async(NULL, done, NULL), DI_EINVAL);
    t_fixture_done(c, root);
}

/* A handler that returns DI_PENDING: nothing is settled until it calls
 * di_http_handled(); then its outcome commits or rolls back, and the
 * answer is final after that. */
static void test_async_handler(void)
{
    void *root;
    di_container *c;
    di_http *h = async_setup(&c, &root);
    di_http_req *r;
    T_OK(di_http_begin(h, "POST", "/slow", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    CU_ASSERT_EQUAL(di_http_handled(r, 0), DI_EINVAL); /* not waiting yet */
    wire_answers(); /* BEGIN done: the handler starts its work */
    CU_ASSERT_PTR_EQUAL(slow_req, r);
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler");
    CU_ASSERT_PTR_NULL(wire); /* nothing settled while it works */
    CU_ASSERT_EQUAL(di_scope_end(di_http_scope(r), 0), DI_EBUSY);
    T_OK(di_http_respond(r, 201, "application/json", "{}", 2));
    T_OK(di_http_handled(r, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler COMMIT");
    CU_ASSERT_EQUAL(di_http_handled(r, 0), DI_EINVAL); /* once */
    CU_ASSERT_EQUAL(done_calls, 0);
    wire_answers();
    CU_ASSERT_EQUAL(done_calls, 1);
    CU_ASSERT_EQUAL(done_status, 201);
    T_OK(di_http_end(r, 1));
    CU_ASSERT_EQUAL(end_outcome, 0);

    /* it fails later: rolled back, its error answered */
    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/slow", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    wire_answers();
    T_OK(di_http_handled(r, DI_HTTP_ERROR(409)));
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler ROLLBACK");
    wire_answers();
    CU_ASSERT_EQUAL(done_calls, 2);
    CU_ASSERT_EQUAL(done_status, 409);
    CU_ASSERT_EQUAL(done_outcome, DI_HTTP_ERROR(409));
    T_OK(di_http_end(r, 1));

    /* the client leaves while it works: the request waits for it, then
     * rolls back and ends; done is not called */
    tlog_reset();
    end_status = -1;
    T_OK(di_http_begin(h, "POST", "/slow", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    wire_answers();
    T_OK(di_http_end(r, 0));
    CU_ASSERT_EQUAL(end_status, -1); /* not ended: the handler works */
    T_OK(di_http_respond(r, 201, "application/json", "{}", 2));
    T_OK(di_http_handled(r, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler ROLLBACK");
    CU_ASSERT_EQUAL(end_status, -1);
    wire_answers(); /* ROLLBACK done: the request ends */
    CU_ASSERT_EQUAL(end_outcome, DI_EABANDONED);
    CU_ASSERT_EQUAL(done_calls, 2);

    /* finished before it returned: as if it had returned 0 */
    tlog_reset();
    slow_early = true;
    T_OK(di_http_begin(h, "POST", "/slow", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch_async(r, done, &done_calls), DI_PENDING);
    wire_answers();
    CU_ASSERT_STRING_EQUAL(tlog(), "BEGIN answer handler COMMIT");
    wire_answers();
    CU_ASSERT_EQUAL(done_calls, 3);
    CU_ASSERT_EQUAL(done_status, 200);
    T_OK(di_http_end(r, 1));
    t_fixture_done(c, root);
}

/* A synchronous dispatch cannot wait: a handler that answers DI_PENDING
 * fails the request (500, rolled back), with a log line that says why. */
static void test_pending_handler_sync(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    di_log_set(capture, NULL);
    di_http_on_end(h, on_end, NULL);
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/slow", .handler = slow }));
    T_OK(di_container_seal(c));
    slow_early = false;
    tlog_reset();
    logged[0] = '\0';
    di_http_req *r;
    T_OK(di_http_begin(h, "POST", "/slow", NULL, NULL, &r));
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_HTTP_ERROR(500));
    CU_ASSERT_EQUAL(di_http_status(r), 500);
    CU_ASSERT_STRING_EQUAL(logged, "di_http: POST /slow: the handler returned "
                           "DI_PENDING, but the request was dispatched with "
                           "di_http_dispatch(), which cannot wait: use "
                           "di_http_dispatch_async()");
    CU_ASSERT_EQUAL(di_http_handled(r, 0), DI_EINVAL);
    T_OK(di_http_end(r, 1));
    t_fixture_done(c, root);
}

/* A request dispatched and ended after a while, from another thread, as
 * a framework's worker would while the main thread drains. */
static void *serve_later(void *arg)
{
    di_http_req *r = arg;
    nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
    di_http_dispatch(r);
    tlog_add("answer:%d", di_http_status(r));
    di_http_end(r, 1);
    return NULL;
}

/* Graceful shutdown: the drain waits for the requests in flight, which
 * finish as usual (committed); requests that begin meanwhile get 503
 * without resolving anything; at the deadline a request still running is
 * rolled back and answered 503, never 2xx. */
static void test_drain(void)
{
    void *root;
    di_container *c;
    di_http *h = setup(&c, &root);
    tlog_reset();
    di_http_req *a, *b;
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &a));
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, serve_later, a), 0);
    CU_ASSERT_EQUAL(di_http_drain(h, 10000), 0);
    pthread_join(t, NULL);
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0 answer:201");
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &b));
    CU_ASSERT_EQUAL(di_http_dispatch(b), DI_HTTP_ERROR(503));
    CU_ASSERT_EQUAL(di_http_status(b), 503);
    CU_ASSERT_STRING_EQUAL(di_http_response(b, NULL),
                           "{\"error\":\"the server is shutting down\"}");
    T_OK(di_http_end(b, 1));
    CU_ASSERT_STRING_EQUAL(tlog(), "handler tx:commit outcome:0 answer:201");
    t_fixture_done(c, root);

    /* the deadline passes with a request running */
    h = setup(&c, &root);
    tlog_reset();
    T_OK(di_http_begin(h, "POST", "/notes", NULL, NULL, &a));
    CU_ASSERT_EQUAL(di_http_drain(h, 20), 1);
    CU_ASSERT_EQUAL(di_http_dispatch(a), DI_EABANDONED);
    CU_ASSERT_EQUAL(di_http_status(a), 503);
    CU_ASSERT_STRING_EQUAL(di_http_response(a, NULL), "{\"error\":\"the "
                           "server is shutting down; the request's changes "
                           "were not saved\"}");
    const char *name, *value;
    CU_ASSERT_FALSE(di_http_response_header(a, 0, &name, &value)); /* no
                                                                     Location */
    T_OK(di_http_end(a, 1));
    char want[64];
    snprintf(want, sizeof want, "handler tx:rollback outcome:%d",
             DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(tlog(), want);
    CU_ASSERT_EQUAL(di_http_drain(h, 20), 0); /* nothing left */
    CU_ASSERT_EQUAL(di_http_drain(NULL, 20), DI_EINVAL);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "routes, params, query, headers; commit", test_route_and_commit },
        { "outcomes: lost answer, failed, 5xx, 204", test_outcomes },
        { "settled before the answer; a failed COMMIT answers 500",
          test_commit_before_answer },
        { "one outcome rule: failed or status >= 400", test_outcome_rule },
        { "a client gone before the settle: rolled back", test_client_gone },
        { "input refused at the door", test_input_at_the_door },
        { "log lines cannot be forged", test_log_cannot_be_forged },
        { "404, 405, 401 from a provider, 413", test_default_answers },
        { "routes are consumers checked at seal", test_routes_checked },
        { "long requests: past the request's own room", test_long_requests },
        { "asynchronous dispatch: the answer waits for the COMMIT",
          test_async_commit_before_answer },
        { "asynchronous dispatch: a client that leaves",
          test_async_client_leaves },
        { "an asynchronous handler finishes later", test_async_handler },
        { "a synchronous dispatch cannot wait for a handler",
          test_pending_handler_sync },
        { "graceful shutdown: drain, 503, the deadline", test_drain },
        CU_TEST_INFO_NULL,
    };
    return t_run("http", tests);
}
