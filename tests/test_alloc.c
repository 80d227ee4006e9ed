/*
 * test_alloc.c — allocation failure at every allocation. Each operation runs
 * again and again with its 1st, 2nd, 3rd... allocation failing (fault.h),
 * until it runs through without reaching the armed one. Every failure must
 * return DI_ENOMEM with a message, crash nothing, leak nothing (talloc's
 * block counts, with null tracking, back to where they were) and leave the
 * container usable. Fault-injection builds only: others print SKIP.
 */
#include <stdio.h>

#include "helpers.h"
#include "fault.h"

#ifdef DI_FAULT_TESTS /* the library was built with DI_FAULT_INJECTION */

static long injected; /* failures injected over the suite */

/* Arm the nth allocation; disarm and say whether it was reached. */
static void arm(long n) { di__fault_alloc(n); }
static bool hit(void)
{
    bool h = di__fault_alloc(0) > 0;
    injected += h;
    return h;
}

static bool says_oom(const di_error *e)
{
    return di_error_code(e) == DI_ENOMEM &&
           strstr(di_error_message(e), "out of memory") != NULL;
}

/* The failure of allocation n in `what` was reported as out of memory. */
static void expect_oom(const di_error *e, const char *what, long n)
{
    if (says_oom(e))
        return;
    CU_FAIL("no out-of-memory report");
    fprintf(stderr, "\n  %s allocation %ld: '%s'\n", what, n,
            di_error_message(e));
}


/* ---- building and sealing a 50-provider graph ---- */

enum { N = T_GRAPH_N };

/* Registration and seal as steps, so that a failed one can be retried:
 * step 0 makes the container, 1..N the providers, N+1..N+3 a set of two
 * of them, N+4 the consumer, N+5 seals. Returns 0 or the failing step's
 * code, *step at that step. */
static int build_steps(void *root, di_container **c, int *step)
{
    static const char *const cdeps[] = { "p49", "p45", "p5", "checks", NULL };
    for (; *step <= N + 5; (*step)++) {
        int rc;
        if (*step == 0)
            rc = di_container_new(root, c);
        else if (*step <= N)
            rc = t_graph_provide(*c, *step - 1, NULL);
        else if (*step == N + 1)
            rc = di_set_declare(*c, "checks");
        else if (*step <= N + 3)
            rc = di_set_add(*c, "checks", *step == N + 2 ? "p12" : "p3");
        else if (*step == N + 4)
            rc = di_consumer_add(*c, &(di_consumer_desc){ .name = "GET /x",
                                                          .deps = cdeps });
        else
            rc = di_container_seal(*c);
        if (rc)
            return rc;
    }
    return 0;
}

/* A sealed container of the 50-provider graph (and its consumer) under a
 * fresh root; *base: the top-level blocks before it. */
static di_container *built_graph(void **root, size_t *base)
{
    t_graph_init();
    *base = talloc_total_blocks(NULL);
    *root = talloc_new(NULL);
    di_container *c = NULL;
    int step = 0;
    CU_ASSERT_EQUAL_FATAL(build_steps(*root, &c, &step), 0);
    return c;
}

static void one_request(di_container *c)
{
    di_scope *s;
    void *out[4];
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "GET /x", out, 4));
    CU_ASSERT_PTR_NOT_NULL(out[0]);
    CU_ASSERT_EQUAL(((const di_set *)out[3])->n, 2);
    T_OK(di_scope_end(s, 0));
}

static void test_build_and_seal(void)
{
    t_graph_init();
    long n = 1;
    for (;; n++) {
        size_t base = talloc_total_blocks(NULL);
        void *root = talloc_new(NULL);
        di_container *c = NULL;
        int step = 0;
        tlog_reset();
        arm(n);
        int rc = build_steps(root, &c, &step);
        if (!hit()) {
            T_OK(rc);
            one_request(c);
            T_OK(di_container_free(c));
            talloc_free(root);
            CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
            break;
        }
        CU_ASSERT_EQUAL(rc, DI_ENOMEM);
        if (step == 0) {
            CU_ASSERT_PTR_NULL(c);
        } else {
            expect_oom(di_container_error(c), "build", n);
        }
        /* the container goes on from the failed step */
        T_OK(build_steps(root, &c, &step));
        one_request(c);
        T_OK(di_container_free(c));
        talloc_free(root);
        if (talloc_total_blocks(NULL) != base) {
            CU_FAIL("blocks leaked");
            fprintf(stderr, "\n  allocation %ld, step %d: %zu blocks, not %zu\n",
                    n, step, talloc_total_blocks(NULL), base);
        }
    }
    CU_ASSERT(n > N);
}

/* ---- loading a configuration with a plugin ---- */

static const char *config_text(void *mem)
{
    return talloc_asprintf(mem,
        "{ \"plugin_dirs\": [\"%s\"], \"plugins\": [\"demo\"],\n"
        "  \"providers\": {\n"
        "    \"visits\": { \"use\": \"demo.counter\", \"params\": "
        "{ \"start\": 10, \"step\": 2 } },\n"
        "    \"hello\": { \"use\": \"demo.greeter\", \"deps\": "
        "{ \"counter\": \"visits\" }, \"params\": { \"greeting\": "
        "\"${DI_TEST_GREETING} ${DI_TEST_NONE:-there}\" } } },\n"
        "  \"consumers\": { \"GET /hello\": { \"needs\": [\"hello\"] } } }",
        T_PLUGIN_DIR);
}

static void test_config_with_plugin(void)
{
    long n = 1;
    setenv("DI_TEST_GREETING", "hi", 1); /* the environment is read too */
    for (;; n++) {
        size_t base = talloc_total_blocks(NULL);
        void *root = talloc_new(NULL);
        const char *text = config_text(root);
        di_container *c;
        T_OK(di_container_new(root, &c));
        T_OK(di_plugin_allow_config_dirs(c, T_BUILD_DIR));
        arm(n);
        int rc = di_config_load_string(c, text, "app.json");
        bool failed = hit();
        if (!failed)
            T_OK(rc);
        if (failed) {
            CU_ASSERT_EQUAL(rc, DI_ENOMEM);
            expect_oom(di_container_error(c), "config", n);
            /* usable: a load may have registered part of the file; the
             * container still seals or says what is missing */
            rc = di_container_seal(c);
            CU_ASSERT(rc == 0 || rc == DI_EGRAPH);
        } else {
            T_OK(di_container_seal(c));
            di_scope *s;
            void *hello;
            T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
            T_OK(di_resolve(s, "GET /hello", &hello, 1));
            CU_ASSERT_STRING_EQUAL(hello, "hi there #10");
            T_OK(di_scope_end(s, 0));
        }
        T_OK(di_container_free(c));
        talloc_free(root);
        if (talloc_total_blocks(NULL) != base) {
            CU_FAIL("blocks leaked");
            fprintf(stderr, "\n  %s allocation %ld: %zu blocks, not %zu\n", __func__, n,
                    talloc_total_blocks(NULL), base);
            talloc_report_full(NULL, stderr);
        }
        if (!failed)
            break;
    }
    CU_ASSERT(n > 20);
}


/* ---- a kind whose params a model checks, from a config ---- */

typedef struct mparams { const char *path; int64_t size; } mparams;
static const di_field mfields[] = {
    { "path", DI_F_STRING, DI_AT(mparams, path), .required = 1 },
    { "size", DI_F_INT, DI_AT(mparams, size), .ranged = 1, .min = 1,
      .max = 9, .def = "4" },
    { .name = NULL },
};

static int mcreate(const di_build *b, void **out)
{
    const mparams *p = di_params_struct(b);
    *out = (void *)p->path;
    return 0;
}

static const di_kind_desc mkind = {
    .name = "m", .lifetime = "singleton", .create = mcreate,
    .params_model = &(const di_model_desc){ "m", sizeof(mparams), mfields },
};

/* Registering the kind, a config it accepts and one whose params have
 * two problems: each allocation failing once gives DI_ENOMEM (reported)
 * or the whole answer, and leaks nothing. */
static void test_params_model(void)
{
    long n = 1;
    for (;; n++) {
        size_t base = talloc_total_blocks(NULL);
        void *root = talloc_new(NULL);
        di_container *c;
        T_OK(di_container_new(root, &c));
        arm(n);
        int rc = di_kind_register(c, &mkind);
        if (!rc)
            rc = di_config_load_string(c, "{ \"providers\": { \"a\": { "
                "\"use\": \"m\", \"params\": { \"path\": \"p\" } } } }",
                "good.json");
        int bad = rc ? rc : di_config_load_string(c, "{ \"providers\": {\n"
            "\"b\": { \"use\": \"m\", \"params\": { \"size\": 10 } } } }",
            "bad.json");
        bool failed = hit();
        if (!failed) {
            T_OK(rc);
            CU_ASSERT_EQUAL(bad, DI_ECONFIG);
            const di_error *e = di_container_error(c);
            CU_ASSERT_EQUAL(di_error_count(e), 2);
            CU_ASSERT_TRUE(t_list_has(e, "bad.json:2:30: providers.b.params.path: "
                                      "field required"));
            CU_ASSERT_TRUE(t_list_has(e, "bad.json:2:40: providers.b.params."
                                      "size: expected 1 to 9"));
            T_OK(di_container_seal(c));
            di_scope *s;
            void *v;
            T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
            T_OK(di_get(s, "a", &v));
            CU_ASSERT_STRING_EQUAL(v, "p");
            T_OK(di_scope_end(s, 0));
        } else {
            if (rc != DI_ENOMEM && bad != DI_ENOMEM)
                fprintf(stderr, "\n  allocation %ld: %s, %s: %s\n", n,
                        di_strerror(rc), di_strerror(bad),
                        di_error_message(di_container_error(c)));
            CU_ASSERT(rc == DI_ENOMEM || bad == DI_ENOMEM);
        }
        T_OK(di_container_free(c));
        talloc_free(root);
        if (talloc_total_blocks(NULL) != base) {
            CU_FAIL("blocks leaked");
            fprintf(stderr, "\n  %s allocation %ld: %zu blocks, not %zu\n",
                    __func__, n, talloc_total_blocks(NULL), base);
        }
        if (!failed)
            break;
    }
    CU_ASSERT(n > 20);
}

/* ---- a request: beginning a scope, resolving a consumer's plan ---- */

static void test_request(void)
{
    void *root;
    size_t base;
    di_container *c = built_graph(&root, &base);
    long n = 1;
    for (;; n++) {
        size_t before = talloc_total_blocks(NULL);
        di_scope *s = NULL;
        void *out[4];
        arm(n);
        int rc = di_scope_begin(c, NULL, "request", NULL, &s);
        if (!rc)
            rc = di_resolve(s, "GET /x", out, 4);
        if (!hit()) {
            T_OK(rc);
            T_OK(di_scope_end(s, 0));
            break;
        }
        CU_ASSERT_EQUAL(rc, DI_ENOMEM);
        expect_oom(s ? di_scope_error(s) : di_container_error(c), "request",
                   n);
        /* the same scope goes on; then it ends and a new one works */
        if (s) {
            T_OK(di_resolve(s, "GET /x", out, 4));
            T_OK(di_scope_end(s, 0));
        }
        one_request(c);
        /* singletons built along the way stay; nothing else does */
        size_t after = talloc_total_blocks(NULL);
        CU_ASSERT(after >= before);
        (void)after;
    }
    CU_ASSERT(n > 10);
    T_OK(di_container_free(c));
    talloc_free(root);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* ---- ending a scope whose disposes fail: the reports need memory ---- */

static int failing_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    tlog_add("-%s:%d", b->name, outcome);
    return di_fail(b, DI_EPROVIDER, "cannot close %s", b->name);
}

static void test_end(void)
{
    size_t base = talloc_total_blocks(NULL);
    void *root = talloc_new(NULL);
    di_container *c;
    T_OK(di_container_new(root, &c));
    static const char *const bdeps[] = { "a", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "a", .lifetime = "request",
        .create = t_create, .dispose = failing_dispose }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "b", .lifetime = "request",
        .deps = bdeps, .create = t_create, .dispose = failing_dispose }));
    T_OK(di_container_seal(c));
    long n = 1;
    for (;; n++) {
        di_scope *s;
        void *v;
        T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
        T_OK(di_get(s, "b", &v));
        tlog_reset();
        arm(n);
        int rc = di_scope_end(s, 0);
        bool failed = hit();
        /* every dispose ran, in order, whatever the memory */
        CU_ASSERT_EQUAL(rc, DI_EDISPOSE);
        CU_ASSERT_STRING_EQUAL(tlog(), "-b:0 -a:0");
        const di_error *e = di_container_error(c);
        if (failed) { /* the report, or the part of it that fit */
            CU_ASSERT(di_error_code(e) == DI_ENOMEM ||
                      di_error_code(e) == DI_EPROVIDER);
        } else {
            CU_ASSERT_TRUE(t_list_has(e, "b: cannot close b"));
            CU_ASSERT_TRUE(t_list_has(e, "a: cannot close a"));
            break;
        }
    }
    CU_ASSERT(n > 3);
    T_OK(di_container_free(c));
    talloc_free(root);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* The same in two steps: the settle reports the failures on the scope, the
 * free releases everything, whatever memory the report could get. */
static void test_settle(void)
{
    size_t base = talloc_total_blocks(NULL);
    void *root = talloc_new(NULL);
    di_container *c;
    T_OK(di_container_new(root, &c));
    static const char *const bdeps[] = { "a", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "a", .lifetime = "request",
        .create = t_create, .dispose = failing_dispose }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "b", .lifetime = "request",
        .deps = bdeps, .create = t_create, .dispose = failing_dispose }));
    T_OK(di_container_seal(c));
    long n = 1;
    for (;; n++) {
        di_scope *s;
        void *v;
        T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
        T_OK(di_get(s, "b", &v));
        tlog_reset();
        arm(n);
        int rc = di_scope_settle(s, 0);
        bool failed = hit();
        CU_ASSERT_EQUAL(rc, DI_EDISPOSE);
        CU_ASSERT_STRING_EQUAL(tlog(), "-b:0 -a:0");
        const di_error *e = di_scope_error(s);
        CU_ASSERT_PTR_NOT_NULL(e);
        if (failed) {
            CU_ASSERT(di_error_code(e) == DI_ENOMEM ||
                      di_error_code(e) == DI_EPROVIDER);
        } else {
            CU_ASSERT_TRUE(t_list_has(e, "b: cannot close b"));
            CU_ASSERT_TRUE(t_list_has(e, "a: cannot close a"));
        }
        arm(1); /* the free allocates nothing: it cannot fail */
        T_OK(di_scope_free(s));
        CU_ASSERT_FALSE(hit());
        CU_ASSERT_STRING_EQUAL(tlog(), "-b:0 -a:0");
        if (!failed)
            break;
    }
    CU_ASSERT(n > 3);
    T_OK(di_container_free(c));
    talloc_free(root);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* ---- exports: the graph, memory reports ---- */

/* What the export loops work on. */
static di_container *ex_c;
static di_scope *ex_s;

/* One export, by number: graph JSON, DOT; memory reports of the scope and
 * of the singletons, as text and JSON. */
enum { EXPORTS = 6 };
static const char *const export_name[EXPORTS] = {
    "graph json", "graph dot", "scope text", "scope json", "singletons text",
    "singletons json" };

static int export(int which, void *mem, char **out)
{
    switch (which) {
    case 0: return di_graph_json(ex_c, mem, out);
    case 1: return di_graph_dot(ex_c, mem, out);
    case 2: return di_scope_memory(ex_s, DI_REPORT_TEXT, mem, out);
    case 3: return di_scope_memory(ex_s, DI_REPORT_JSON, mem, out);
    case 4: return di_container_memory(ex_c, DI_REPORT_TEXT, mem, out);
    default: return di_container_memory(ex_c, DI_REPORT_JSON, mem, out);
    }
}

/* Run export `which` with its 1st, 2nd, ... allocation failing until it
 * succeeds: each failure DI_ENOMEM, reported where its errors go, no
 * output and nothing left in the caller's context. */
static void fail_each_export(int which)
{
    long n = 1;
    for (;; n++) {
        void *mem = talloc_new(NULL);
        char *out = NULL;
        arm(n);
        int rc = export(which, mem, &out);
        bool failed = hit();
        if (failed)
            CU_ASSERT_EQUAL(talloc_total_blocks(mem), 1);
        talloc_free(mem);
        if (!failed) {
            T_OK(rc);
            break;
        }
        CU_ASSERT_EQUAL(rc, DI_ENOMEM);
        CU_ASSERT_PTR_NULL(out);
        expect_oom(which == 2 || which == 3 ? di_scope_error(ex_s)
                                            : di_container_error(ex_c),
                   export_name[which], n);
    }
    CU_ASSERT(n > 2);
}

static void test_exports(void)
{
    void *root;
    size_t base;
    ex_c = built_graph(&root, &base);
    void *out[4];
    T_OK(di_scope_begin(ex_c, NULL, "request", NULL, &ex_s));
    T_OK(di_resolve(ex_s, "GET /x", out, 4));
    for (int which = 0; which < EXPORTS; which++)
        fail_each_export(which);
    T_OK(di_scope_end(ex_s, 0));
    /* the reports stay with the container (a bounded ring) and go with it */
    T_OK(di_container_free(ex_c));
    talloc_free(root);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* ---- a request through the HTTP router ---- */

static int note_handler(di_http_req *r, void *const *in, void *data)
{
    (void)in;
    (void)data;
    char body[64];
    int n = snprintf(body, sizeof body, "{\"id\":\"%s\",\"q\":\"%s\"}",
                     di_http_param(r, "id"), di_http_query(r, "q"));
    return di_http_respond(r, 200, "application/json", body, (size_t)n);
}

/* The router's reports of the injected failures: counted, not printed. */
static long http_reports;
static void count_report(void *ctx, const di_log_record *rec)
{
    /* the router's records only */
    if (strncmp(rec->message, "di_http:", 8) != 0)
        return;
    const char *line = rec->message;
    (void)ctx;
    (void)line;
    http_reports++;
}

/* Past the request's own room: an 18-segment route, a 300-byte {id}, a
 * 68-byte content type and a 1,200-byte answer starting with the id's length. */
static int long_handler(di_http_req *r, void *const *in, void *data)
{
    (void)in;
    (void)data;
    char body[1200];
    memset(body, 'x', sizeof body);
    int n = snprintf(body, 64, "%zu", strlen(di_http_param(r, "id")));
    body[n] = 'x';
    return di_http_respond(r, 200, "application/vnd.example.a-rather-long-"
                           "media-type+json; charset=utf-8", body,
                           sizeof body);
}

/* One request, failing each allocation in turn until none fails: returns
 * how many allocations it made. want: the start of its 200 answer. */
static long http_failures(di_container *c, di_http *h, const char *target,
                          const char *want)
{
    long n = 1;
    for (;; n++) {
        tlog_reset();
        di_http_req *r = NULL;
        arm(n);
        int rc = di_http_begin(h, "PUT", target, NULL, NULL, &r);
        int status = 0;
        if (!rc) {
            di_http_append_body(r, "{\"title\":\"t\"}", 13);
            di_http_dispatch(r);
            status = di_http_status(r);
            if (status == 200)
                CU_ASSERT_NSTRING_EQUAL(di_http_response(r, NULL), want,
                                        strlen(want));
            di_http_end(r, 1);
        }
        bool failed = hit();
        /* whatever failed: the transaction, if made, was disposed once */
        const char *log = tlog();
        CU_ASSERT(strcmp(log, "") == 0 || strncmp(log, "+tx -tx:", 8) == 0);
        if (!failed) {
            T_OK(rc);
            CU_ASSERT_EQUAL(status, 200);
            CU_ASSERT_STRING_EQUAL(log, "+tx -tx:0");
            return n;
        }
        CU_ASSERT(rc == DI_ENOMEM || status == 200 || status == 500 ||
                  status == 0);
        if (rc == DI_ENOMEM)
            expect_oom(di_container_error(c), "http", n);
    }
}

/* Answers 201: what the failed COMMIT must turn into a 500. */
static int saved_handler(di_http_req *r, void *const *in, void *data)
{
    (void)in;
    (void)data;
    di_http_add_header(r, "Location", "/saved/1");
    return di_http_respond(r, 201, "application/json", "{\"id\":1}", 8);
}

/* A transaction whose COMMIT always fails. */
static int commit_fails(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    tlog_add("-%s:%d", b->name, outcome);
    return outcome == 0 ? di_fail(b, DI_EPROVIDER, "COMMIT failed: disk full")
                        : 0;
}

/* A request whose COMMIT fails, with each allocation failing in turn —
 * in the settle, its report, the log line, the replaced answer: the answer
 * is never a 2xx, the transaction was disposed once, and nothing leaks. */
static void failed_commit_failures(di_http *h)
{
    long n = 1;
    for (;; n++) {
        tlog_reset();
        di_http_req *r = NULL;
        arm(n);
        int rc = di_http_begin(h, "POST", "/save", NULL, NULL, &r);
        int status = 0;
        if (!rc) {
            di_http_dispatch(r);
            status = di_http_status(r);
            di_http_end(r, 1);
        }
        bool failed = hit();
        CU_ASSERT(rc == DI_ENOMEM || status == 500);
        const char *log = tlog();
        CU_ASSERT(strcmp(log, "") == 0 || strncmp(log, "+ctx -ctx:", 10) == 0);
        if (!failed) {
            CU_ASSERT_STRING_EQUAL(log, "+ctx -ctx:0");
            break;
        }
    }
    CU_ASSERT(n > 4);
}

static void test_http_request(void)
{
    size_t base = talloc_total_blocks(NULL);
    void *root = talloc_new(NULL);
    di_container *c;
    di_http *h;
    T_OK(di_container_new(root, &c));
    T_OK(di_http_new(c, c, &h));
    di_log_set(count_report, NULL);
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    static const char *const needs[] = { "tx", "http_request", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "PUT",
        .path = "/notes/{id}", .deps = needs, .handler = note_handler }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "PUT",
        .path = "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/{id}", .deps = needs,
        .handler = long_handler }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "ctx",
        .lifetime = "request", .create = t_create, .dispose = commit_fails }));
    static const char *const saves[] = { "ctx", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/save", .deps = saves, .handler = saved_handler }));
    T_OK(di_container_seal(c));
    /* a common request: the scope, its instance, the query, the body */
    long common = http_failures(c, h, "/notes/7?q=a%20b",
                                "{\"id\":\"7\",\"q\":\"a b\"}");
    char target[400];
    int len = snprintf(target, sizeof target, "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/"
                       "o/p/q/");
    memset(target + len, '7', 300);
    strcpy(target + len + 300, "?q=a%20b");
    /* and one whose path, segments, content type and answer spill out of
     * the request's own block: more allocations, each failed once */
    long spilled = http_failures(c, h, target, "300xxx");
    CU_ASSERT(common >= 6);
    CU_ASSERT(spilled >= common + 6);
    CU_ASSERT(http_reports > 0); /* the 500s were logged */
    failed_commit_failures(h);
    /* a body that cannot be stored: 500, and the handler never sees a
     * truncated one (nothing is resolved) */
    di_http_req *r;
    T_OK(di_http_begin(h, "PUT", "/notes/7", NULL, NULL, &r));
    T_OK(di_http_append_body(r, "{\"title\":", 9));
    tlog_reset();
    arm(1);
    CU_ASSERT_EQUAL(di_http_append_body(r, "\"t\"}", 4), DI_ENOMEM);
    CU_ASSERT_TRUE(hit());
    CU_ASSERT_EQUAL(di_http_append_body(r, "more", 4), DI_ENOMEM);
    long before = http_reports;
    CU_ASSERT_EQUAL(di_http_dispatch(r), DI_ENOMEM);
    CU_ASSERT_EQUAL(di_http_status(r), 500);
    CU_ASSERT_EQUAL(http_reports, before + 1);
    CU_ASSERT_STRING_EQUAL(tlog(), "");
    T_OK(di_http_end(r, 1));
    T_OK(di_container_free(c));
    talloc_free(root);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* ---- a live handle and a traced scope ---- */

/* A small graph, traced, with no talloc parent (a live handle owns its
 * containers): a singleton, two request providers, a transient. */
static di_container *traced_graph(void)
{
    di_container *c = NULL;
    CU_ASSERT_EQUAL_FATAL(di_container_new(NULL, &c), 0);
    T_OK(di_trace_enable(c, NULL, NULL));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "sess", "request", NULL, "cfg", NULL));
    T_OK(t_provide(c, "tmp", "transient", NULL, "cfg", NULL));
    T_OK(t_provide(c, "user", "request", NULL, "sess", "tmp", NULL));
    T_OK(t_consumer(c, "GET /x", "request", "user", "tmp", "cfg", NULL));
    T_OK(di_container_seal(c));
    return c;
}

static void test_live_traced(void)
{
    size_t base = talloc_total_blocks(NULL);
    long n = 1, dropped = 0;
    for (;; n++) {
        di_container *c1 = traced_graph(), *c2 = traced_graph();
        di_live *l = NULL;
        di_scope *s = NULL;
        char *json = NULL;
        void *out[3];
        int step = 0;
        arm(n);
        int rc = di_live_new(NULL, c1, &l);
        if (!rc && ++step)
            rc = di_live_begin(l, "request", NULL, &s);
        if (!rc && ++step)
            rc = di_resolve(s, "GET /x", out, 3);
        if (!rc && ++step)
            rc = di_scope_trace(s, NULL, &json);
        if (!rc && ++step)
            rc = di_live_publish(l, c2);
        if (!rc)
            step++;
        bool failed = hit();
        /* a trace record that cannot be made is dropped: tracing never
         * fails a request */
        if (failed && !rc)
            dropped++;
        else if (failed)
            CU_ASSERT_EQUAL(rc, DI_ENOMEM);
        talloc_free(json);
        if (step == 0) { /* the handle was not made: c1 is still ours */
            T_OK(di_container_free(c1));
        } else {
            /* the handle and whatever it holds go on working */
            if (s && step >= 2 && rc)
                T_OK(di_resolve(s, "GET /x", out, 3));
            if (s)
                T_OK(di_scope_end(s, 0));
            di_scope *s2;
            T_OK(di_live_begin(l, "request", NULL, &s2));
            T_OK(di_resolve(s2, "GET /x", out, 3));
            T_OK(di_scope_end(s2, 0));
            T_OK(di_live_free(l));
        }
        if (step < 5) /* not published: c2 is still ours */
            T_OK(di_container_free(c2));
        if (talloc_total_blocks(NULL) != base) {
            CU_FAIL("live + trace: blocks left behind");
            fprintf(stderr, "\n  allocation %ld (step %d, rc %d): %zu blocks "
                    "left\n", n, step, rc, talloc_total_blocks(NULL) - base);
            talloc_report_full(NULL, stderr);
            break;
        }
        if (!failed)
            break;
    }
    CU_ASSERT(n > 10);
    fprintf(stderr, "\n  live + trace: %ld allocations failed in turn, %ld "
            "trace records dropped\n", n - 1, dropped);
}

int main(void)
{
    talloc_enable_null_tracking();
    CU_TestInfo tests[] = {
        { "build and seal a 50-provider graph", test_build_and_seal },
        { "load a configuration with a plugin", test_config_with_plugin },
        { "a kind's params model, from configurations", test_params_model },
        { "begin a scope, resolve a consumer's plan", test_request },
        { "end a scope whose disposes fail", test_end },
        { "settle a scope whose disposes fail, then free it", test_settle },
        { "export the graph and memory reports", test_exports },
        { "a request through the HTTP router", test_http_request },
        { "a live handle and a traced scope", test_live_traced },
        CU_TEST_INFO_NULL,
    };
    int rc = t_run("alloc", tests);
    printf("allocation failures injected: %ld\n", injected);
    talloc_disable_null_tracking();
    return rc;
}

#else

int main(void)
{
    printf("SKIP: allocation failure injection needs a build with "
           "DI_FAULT_INJECTION=ON\n");
    return 0;
}

#endif
