/*
 * test_openapi.c — the OpenAPI document derived from a router: paths,
 * parameters and bodies from the routes' inputs, schemas from the models,
 * security from what the dependency graph reaches; the routes that serve
 * it; the errors of the calls that feed it.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <unistd.h>

#include "helpers.h"
#ifdef DI_FAULT_TESTS
#include "fault.h"
#endif

typedef struct item { const char *name; int64_t qty; } item;
typedef struct order {
    const char *customer, *state;
    item *items;
    size_t nitems;
    double total;
    bool gift;
    item *first;
} order;
typedef struct page { int64_t offset, limit; } page;
typedef struct id_path { int64_t id; } id_path;

static const char *const states[] = { "open", "paid", NULL };
static const di_field item_fields[] = {
    { "name", DI_F_STRING, DI_AT(item, name), .required = 1, .min_len = 1,
      .max_len = 40 },
    { "qty", DI_F_INT, DI_AT(item, qty), .ranged = 1, .min = 1,
      .max = INT64_MAX / 2, .def = "1" },
    { .name = NULL },
};
static const di_field order_fields[] = {
    { "customer", DI_F_STRING, DI_AT(order, customer), .required = 1 },
    { "state", DI_F_STRING, DI_AT(order, state), .one_of = states,
      .def = "\"open\"" },
    { "items", DI_F_ARRAY, DI_AT(order, items), .items = DI_F_MODEL,
      .model = "item", .count_at = offsetof(order, nitems), .min_len = 1,
      .max_len = 50, .required = 1 },
    { "total", DI_F_NUMBER, DI_AT(order, total), .required = 0 },
    { "gift", DI_F_BOOL, DI_AT(order, gift), .required = 0 },
    { "first", DI_F_MODEL, DI_AT(order, first), .model = "item" },
    { .name = NULL },
};
static const di_field page_fields[] = {
    { "offset", DI_F_INT, DI_AT(page, offset), .ranged = 1, .min = 0,
      .max = 1000 },
    { "limit", DI_F_INT, DI_AT(page, limit), .ranged = 1, .min = 1,
      .max = 100, .def = "20" },
    { .name = NULL },
};
static const di_field id_fields[] = {
    { "id", DI_F_INT, DI_AT(id_path, id), .required = 1, .ranged = 1,
      .min = 1, .max = INT64_MAX },
    { .name = NULL },
};

static int handler(di_http_req *r, void *const *deps, void *data)
{
    (void)r;
    (void)deps;
    (void)data;
    return 0;
}

static int make(const di_build *b, void **out)
{
    (void)b;
    static int x;
    *out = &x;
    return 0;
}

static void provide(di_container *c, const char *name,
                    const char *const *deps)
{
    T_OK(di_provide(c, &(di_provider_desc){ .name = name,
        .lifetime = "request", .deps = deps, .create = make }));
}

static const di_auth_scheme bearer = { .id = "bearer", .type = "http",
                                       .scheme = "bearer",
                                       .bearer_format = "opaque" };
static const di_auth_scheme key = { .id = "key", .type = "apiKey",
                                    .in = "header", .name = "X-Key" };

/* A shop: orders (body), a page of them (query), one by id (path typed),
 * a header; "user" is the Bearer scheme, reached directly by some routes
 * and through "audit" by another; "admin" is an API key. */
static di_http *shop(di_container *c)
{
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    T_OK(di_model(c, &(di_model_desc){ "item", sizeof(item), item_fields }));
    T_OK(di_model(c, &(di_model_desc){ "order", sizeof(order),
                                       order_fields }));
    T_OK(di_model(c, &(di_model_desc){ "page", sizeof(page), page_fields }));
    T_OK(di_model(c, &(di_model_desc){ "id_path", sizeof(id_path),
                                       id_fields }));
    static const char *const user_deps[] = { "http_request", NULL };
    static const char *const audit_deps[] = { "user", NULL };
    provide(c, "user", user_deps);
    provide(c, "audit", audit_deps);
    provide(c, "admin", user_deps);
    provide(c, "clock", NULL);
    T_OK(di_openapi_auth(h, "user", &bearer));
    T_OK(di_openapi_auth(h, "admin", &key));
    static const char *const create_deps[] = { "body:order", "user",
                                               "?header:Idempotency-Key",
                                               NULL };
    static const char *const list_deps[] = { "query:page", "audit", NULL };
    static const char *const get_deps[] = { "path:id_path", "user", "admin",
                                            "header:X-Trace", NULL };
    static const char *const import_deps[] = { "?body:order[]", "clock",
                                               NULL };
    static const char *const open_deps[] = { "clock", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/orders", .deps = create_deps, .handler = handler,
        .summary = "Place an order",
        .responses = (const di_route_answer[]){
            { 201, "the order", "order", 0 },
            { 409, "a conflict", NULL, 0 }, { .status = 0 } } }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/orders", .deps = list_deps, .handler = handler,
        .responses = (const di_route_answer[]){
            { 200, "orders", "order", 1 }, { .status = 0 } } }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/orders/{id}/lines/{line}", .deps = get_deps,
        .handler = handler }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/orders/import", .deps = import_deps,
        .handler = handler }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/health", .deps = open_deps, .handler = handler }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "DELETE",
        .path = "/orders/{id}", .deps = open_deps, .handler = handler }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/secret", .handler = handler, .undocumented = 1 }));
    return h;
}

static cJSON *doc_of(di_http *h)
{
    char *text;
    T_OK(di_openapi_json(h, &(di_openapi_info){ .title = "shop",
                                                .version = "2.1.0" },
                         NULL, &text));
    cJSON *d = cJSON_Parse(text);
    talloc_free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

/* The value at a path of keys ("paths", "/orders", "post", ...), printed
 * compactly; "" when absent. Owned by a static buffer. */
static const char *at(const cJSON *d, ...)
{
    static char out[4096];
    va_list ap;
    va_start(ap, d);
    const char *k;
    while (d && (k = va_arg(ap, const char *)))
        d = cJSON_IsArray(d) ? cJSON_GetArrayItem(d, atoi(k))
                             : cJSON_GetObjectItemCaseSensitive(d, k);
    va_end(ap);
    char *s = d ? cJSON_PrintUnformatted(d) : NULL;
    snprintf(out, sizeof out, "%s", s ? s : "");
    cJSON_free(s);
    return out;
}

/* Paths, methods, parameters, bodies, answers, from routes and models. */
static void test_document(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h = shop(c);
    T_OK(di_container_seal(c));
    cJSON *d = doc_of(h);
    CU_ASSERT_STRING_EQUAL(at(d, "openapi", NULL), "\"3.1.0\"");
    CU_ASSERT_STRING_EQUAL(at(d, "info", NULL),
                           "{\"title\":\"shop\",\"version\":\"2.1.0\"}");
    /* every documented route, and not the undocumented one */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/secret", NULL), "");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(d, "paths")), 5);
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "summary", NULL),
                           "\"Place an order\"");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "operationId",
                              NULL), "\"post_orders\"");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/{id}/lines/{line}", "get",
                              "operationId", NULL),
                           "\"get_orders_id_lines_line\"");
    /* the body, required; an optional header */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "requestBody",
                              NULL),
        "{\"content\":{\"application/json\":{\"schema\":{\"$ref\":"
        "\"#/components/schemas/order\"}}},\"required\":true}");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "parameters",
                              NULL),
        "[{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"required\":false,"
        "\"schema\":{\"type\":\"string\"}}]");
    /* a list body, optional */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/import", "post",
                              "requestBody", NULL),
        "{\"content\":{\"application/json\":{\"schema\":{\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/components/schemas/order\"}}}},"
        "\"required\":false}");
    /* the query model's fields; the path's, typed by its model where it
     * has the field, else strings; a required header */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "get", "parameters",
                              NULL),
        "[{\"name\":\"offset\",\"in\":\"query\",\"required\":false,\"schema\":"
        "{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000}},"
        "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,\"schema\":"
        "{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,\"default\":20}}]");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/{id}/lines/{line}", "get",
                              "parameters", NULL),
        "[{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":"
        "{\"type\":\"integer\",\"minimum\":1,"
        "\"maximum\":9.2233720368547758e+18}},"
        "{\"name\":\"line\",\"in\":\"path\",\"required\":true,\"schema\":"
        "{\"type\":\"string\"}},"
        "{\"name\":\"X-Trace\",\"in\":\"header\",\"required\":true,\"schema\":"
        "{\"type\":\"string\"}}]");
    /* answers: documented ones with their models; 422 where there are
     * inputs; "200" where none is documented */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "responses",
                              NULL),
        "{\"201\":{\"description\":\"the order\",\"content\":{"
        "\"application/json\":{\"schema\":{\"$ref\":"
        "\"#/components/schemas/order\"}}}},"
        "\"409\":{\"description\":\"a conflict\"},"
        "\"422\":{\"description\":\"Validation Error\",\"content\":{"
        "\"application/json\":{\"schema\":{\"$ref\":"
        "\"#/components/schemas/HTTPValidationError\"}}}}}");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "get", "responses",
                              "200", "content", "application/json", "schema",
                              NULL),
        "{\"type\":\"array\",\"items\":{\"$ref\":"
        "\"#/components/schemas/order\"}}");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/health", "get", "responses",
                              NULL),
                           "{\"200\":{\"description\":\"Successful Response\"}}");
    /* a path parameter without a path model reaches the handler as it
     * came: documented, a string, and no 422 */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/{id}", "delete",
                              "parameters", NULL),
        "[{\"name\":\"id\",\"in\":\"path\",\"required\":true,\"schema\":"
        "{\"type\":\"string\"}}]");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/{id}", "delete",
                              "responses", NULL),
                           "{\"200\":{\"description\":\"Successful Response\"}}");
    /* the schemas: the models named, nested ones too, exactly */
    CU_ASSERT_STRING_EQUAL(at(d, "components", "schemas", "order", NULL),
        "{\"title\":\"order\",\"type\":\"object\",\"properties\":{"
        "\"customer\":{\"type\":\"string\"},"
        "\"state\":{\"type\":\"string\",\"enum\":[\"open\",\"paid\"],"
        "\"default\":\"open\"},"
        "\"items\":{\"type\":\"array\",\"items\":{\"$ref\":"
        "\"#/components/schemas/item\"},\"minItems\":1,\"maxItems\":50},"
        "\"total\":{\"type\":\"number\"},\"gift\":{\"type\":\"boolean\"},"
        "\"first\":{\"$ref\":\"#/components/schemas/item\"}},"
        "\"required\":[\"customer\",\"items\"]}");
    CU_ASSERT_STRING_EQUAL(at(d, "components", "schemas", "item", NULL),
        "{\"title\":\"item\",\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":40},"
        "\"qty\":{\"type\":\"integer\",\"minimum\":1,"
        "\"maximum\":4.6116860184273879e+18,\"default\":1}},"
        "\"required\":[\"name\"]}");
    /* (cJSON reads those back as doubles: the text has them exactly) */
    char *text;
    T_OK(di_openapi_json(h, NULL, NULL, &text));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"maximum\":\t9223372036854775807"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"maximum\":\t4611686018427387903"));
    talloc_free(text);
    CU_ASSERT_STRING_NOT_EQUAL(at(d, "components", "schemas",
                                  "HTTPValidationError", NULL), "");
    /* page is a query's: its fields are parameters, not a schema */
    CU_ASSERT_STRING_EQUAL(at(d, "components", "schemas", "page", NULL), "");
    cJSON_Delete(d);
    t_fixture_done(c, root);
}

/* Security comes from the graph: a route that reaches a marked provider,
 * directly or through others, requires its scheme; one that does not,
 * none. */
static void test_security(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h = shop(c);
    T_OK(di_container_seal(c));
    cJSON *d = doc_of(h);
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "post", "security",
                              NULL), "[{\"bearer\":[]}]");
    /* through "audit", which needs "user" */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders", "get", "security",
                              NULL), "[{\"bearer\":[]}]");
    /* both schemes at once: one requirement with both */
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/{id}/lines/{line}", "get",
                              "security", NULL),
                           "[{\"bearer\":[],\"key\":[]}]");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/orders/import", "post",
                              "security", NULL), "");
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/health", "get", "security",
                              NULL), "");
    CU_ASSERT_STRING_EQUAL(at(d, "components", "securitySchemes", NULL),
        "{\"bearer\":{\"type\":\"http\",\"scheme\":\"bearer\","
        "\"bearerFormat\":\"opaque\"},\"key\":{\"type\":\"apiKey\","
        "\"in\":\"header\",\"name\":\"X-Key\"}}");
    cJSON_Delete(d);
    t_fixture_done(c, root);
}

/* The routes: the document as served, the page, its files. */
static void test_routes(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h = shop(c);
    CU_ASSERT_EQUAL(di_openapi_routes(h, NULL, "/open api.json", NULL),
                    DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_openapi_routes: the "
                            "paths may not hold spaces, quotes, '<', '>' or "
                            "'\\'"));
    CU_ASSERT_EQUAL(di_openapi_routes(h, NULL, "/o.json", "/d\"s"),
                    DI_EINVAL);
    T_OK(di_openapi_routes(h, &(di_openapi_info){ .title = "shop <&> \"s\"",
                                                  .version = "2.1.0" },
                           "/openapi.json", "/docs"));
    T_OK(di_container_seal(c));
    void *mem = talloc_new(NULL);
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/openapi.json" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Content-Type"),
                           "application/json");
    char *direct;
    T_OK(di_openapi_json(h, NULL, mem, &direct)); /* the routes' info */
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL), direct);
    CU_ASSERT_PTR_NOT_NULL(strstr(direct,
                                  "\"title\":\t\"shop <&> \\\"s\\\"\""));
    /* the documentation's own routes are not in it */
    CU_ASSERT_PTR_NULL(strstr(direct, "/openapi.json"));
    CU_ASSERT_PTR_NULL(strstr(direct, "/docs"));
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/docs" }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
    const char *html = di_http_answer_body(a, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "src=\"/docs/swagger-ui-bundle.js\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "fetch(\"/openapi.json\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<title>shop &lt;&amp;&gt; "
                                        "&quot;s&quot;</title>"));
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "GET",
        .target = "/docs/swagger-ui.css" }, mem, &a));
    if (access(T_SWAGGER_UI_DIR "/swagger-ui.css", R_OK) == 0) {
        CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
        CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Content-Type"),
                               "text/css");
        size_t len;
        di_http_answer_body(a, &len);
        CU_ASSERT(len > 10000);
    } else {
        printf("SKIP: no Swagger UI in " T_SWAGGER_UI_DIR "\n");
        CU_ASSERT_EQUAL(di_http_answer_status(a), 404);
        CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                      "(Debian: python3-flasgger)"));
    }
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* Bad calls: clear errors, nothing lost. */
static void test_errors(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    char *text;
    CU_ASSERT_EQUAL(di_openapi_json(h, NULL, NULL, &text), DI_ENOTSEALED);
    CU_ASSERT_EQUAL(di_openapi_auth(h, "user", &(di_auth_scheme){
        .id = "b", .type = "http" }), DI_EINVAL);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "di_openapi_auth: a "
        "provider and a scheme with an id are required; type \"http\" needs "
        "a scheme (\"bearer\"), \"apiKey\" needs in and name"));
    CU_ASSERT_EQUAL(di_openapi_auth(h, "user", &(di_auth_scheme){
        .id = "k", .type = "apiKey", .in = "header" }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_openapi_auth(h, NULL, &bearer), DI_EINVAL);
    CU_ASSERT_EQUAL(di_openapi_auth(NULL, "user", &bearer), DI_EINVAL);
    T_OK(di_openapi_auth(h, "user", &bearer));
    CU_ASSERT_EQUAL(di_openapi_auth(h, "user", &key), DI_EEXIST);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "di_openapi_auth: "
                              "'user' is marked as 'bearer' already"));
    CU_ASSERT_EQUAL(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/x", .handler = handler,
        .responses = (const di_route_answer[]){ { 99, "no", NULL, 0 },
                                                { .status = 0 } } }),
        DI_EINVAL);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "di_http_route('GET "
        "/x'): response 0: a status from 100 to 599 and a description are "
        "required"));
    /* a response's model is checked at seal, with where it is named */
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = "/y", .handler = handler,
        .responses = (const di_route_answer[]){ { 200, "y", "nosuch", 0 },
                                                { .status = 0 } } }));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c), "GET /y \xe2\x86\x92 "
                              "response 200: no model 'nosuch'"));
    t_fixture_done(c, root);

    /* after seal: refused, the document still made */
    c = t_fixture(&root);
    h = shop(c);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_openapi_auth(h, "clock", &key), DI_ESEALED);
    CU_ASSERT_EQUAL(di_openapi_json(NULL, NULL, NULL, &text), DI_EINVAL);
    CU_ASSERT_EQUAL(di_openapi_json(h, NULL, NULL, NULL), DI_EINVAL);
    cJSON *d = doc_of(h);
    CU_ASSERT_STRING_EQUAL(at(d, "paths", "/health", "get", "security",
                              NULL), "");
    cJSON_Delete(d);
    t_fixture_done(c, root);
}

/* Every allocation failing once: DI_ENOMEM, nothing left behind, and the
 * next call makes the whole document. */
static void test_alloc_failures(void)
{
#ifndef DI_FAULT_TESTS
    printf("SKIP: not a fault-injection build\n");
#else
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h = shop(c);
    T_OK(di_container_seal(c));
    char *want;
    T_OK(di_openapi_json(h, NULL, NULL, &want));
    size_t blocks = talloc_total_blocks(NULL);
    bool done = false;
    long runs = 0;
    for (long n = 1; !done && n < 2000; n++, runs++) {
        char *text = NULL;
        di__fault_alloc(n);
        int rc = di_openapi_json(h, NULL, NULL, &text);
        bool failed = di__fault_alloc(0) > 0;
        if ((rc && rc != DI_ENOMEM) || (failed && !rc))
            printf("\n  allocation %ld: %s %d\n", n, di_strerror(rc),
                   text ? strcmp(text, want) : -2);
        CU_ASSERT(rc == 0 || rc == DI_ENOMEM);
        CU_ASSERT(failed || (rc == 0 && strcmp(text, want) == 0));
        CU_ASSERT(!failed || rc == DI_ENOMEM);
        talloc_free(text);
        CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
        done = !failed;
    }
    CU_ASSERT(done);
    CU_ASSERT(runs > 100);
    talloc_free(want);
    t_fixture_done(c, root);
#endif
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "the document: paths, parameters, bodies, answers, schemas",
          test_document },
        { "security from what the graph reaches", test_security },
        { "the routes: /openapi.json, /docs and its files", test_routes },
        { "bad calls: clear errors", test_errors },
        { "allocation failures", test_alloc_failures },
        CU_TEST_INFO_NULL,
    };
    return t_run("openapi", tests);
}
