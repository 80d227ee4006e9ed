/*
 * test_inputs.c — request inputs as dependencies: a route that depends on
 * body:<model>, query:<model>, path:<model> and header:<name> gets
 * validated structs (and the header's value), or the request is answered
 * 422 with FastAPI's list of problems and never reaches its handler; seal
 * knows the models the routes name.
 */
#include "helpers.h"

typedef struct note_in { const char *title, *body; } note_in;
typedef struct page { int64_t offset, limit; } page;
typedef struct id_path { int64_t id; } id_path;

static const di_field note_fields[] = {
    { "title", DI_F_STRING, DI_AT(note_in, title), .required = 1,
      .min_len = 1, .max_len = 10 },
    { "body", DI_F_STRING, DI_AT(note_in, body), .def = "\"\"" },
    { .name = NULL },
};
static const di_field page_fields[] = {
    { "offset", DI_F_INT, DI_AT(page, offset), .ranged = 1, .min = 0,
      .max = 1000000 },
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
    (void)data;
    const note_in *n = deps[0];
    const page *p = deps[1];
    const id_path *id = deps[2];
    char *s = talloc_asprintf(NULL, "id=%lld title=%s body=%s offset=%lld "
                              "limit=%lld request=%s", (long long)id->id,
                              n->title, n->body, (long long)p->offset,
                              (long long)p->limit, (const char *)deps[3]);
    tlog_add("handler");
    int rc = di_http_respond(r, 200, "text/plain", s, strlen(s));
    talloc_free(s);
    return rc;
}

static di_container *c;
static di_http *h;
static void *root, *mem;

static void setup(void)
{
    static const char *const deps[] = { "body:note_in", "query:page",
                                        "path:id_path", "header:X-Request-Id",
                                        NULL };
    c = t_fixture(&root);
    T_OK(di_http_new(c, c, &h));
    T_OK(di_model(c, &(di_model_desc){ "note_in", sizeof(note_in),
                                       note_fields }));
    T_OK(di_model(c, &(di_model_desc){ "page", sizeof(page), page_fields }));
    T_OK(di_model(c, &(di_model_desc){ "id_path", sizeof(id_path),
                                       id_fields }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "PUT",
        .path = "/notes/{id}", .deps = deps, .handler = handler }));
    T_OK(di_container_seal(c));
    mem = talloc_new(NULL);
    tlog_reset();
}

static void done(void)
{
    talloc_free(mem);
    t_fixture_done(c, root);
}

static di_http_answer *put(const char *target, const char *const *headers,
                           const char *body)
{
    di_http_answer *a = NULL;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "PUT",
        .target = target, .headers = headers, .body = body,
        .len = body ? strlen(body) : 0 }, mem, &a));
    return a;
}

static const char *const with_id[] = { "X-Request-Id: r-1", NULL };

/* Every input valid: the handler gets the structs, defaults filled. */
static void test_valid(void)
{
    setup();
    di_http_answer *a = put("/notes/7?offset=40", with_id,
                            "{\"title\":\"milk\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL), "id=7 title=milk "
                           "body= offset=40 limit=20 request=r-1");
    done();
}

/* Each input that does not fit: 422 with its problems, FastAPI's way; the
 * handler never runs. */
static void test_422(void)
{
    setup();
    di_http_answer *a = put("/notes/7", with_id,
                            "{\"title\":\"a title too long\",\"body\":3}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Content-Type"),
                           "application/json");
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
        "{\"detail\":[{\"loc\":[\"body\",\"title\"],\"msg\":\"at most 10 "
        "characters\",\"type\":\"string_too_long\"},{\"loc\":[\"body\","
        "\"body\"],\"msg\":\"expected a string\",\"type\":\"string_type\"}]}");
    CU_ASSERT_EQUAL(di_http_answer_outcome(a), DI_HTTP_ERROR(422));
    a = put("/notes/7?limit=500&offset=x", with_id, "{\"title\":\"t\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
        "{\"detail\":[{\"loc\":[\"query\",\"offset\"],\"msg\":\"expected an "
        "integer\",\"type\":\"int_type\"},{\"loc\":[\"query\",\"limit\"],"
        "\"msg\":\"expected 1 to 100\",\"type\":\"int_range\"}]}");
    a = put("/notes/0", with_id, "{\"title\":\"t\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "\"loc\":[\"path\",\"id\"]"));
    a = put("/notes/7", NULL, "{\"title\":\"t\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
        "{\"detail\":[{\"loc\":[\"header\",\"X-Request-Id\"],\"msg\":\"field "
        "required\",\"type\":\"missing\"}]}");
    a = put("/notes/7", with_id, "{\"title\":");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "\"type\":\"json_invalid\""));
    CU_ASSERT_STRING_EQUAL(tlog(), ""); /* the handler never ran */
    done();
}

static int count(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    const di_model_list *l = deps[0];
    const note_in *n = l->items;
    char s[64];
    snprintf(s, sizeof s, "%zu: %s", l->n, l->n ? n[l->n - 1].title : "-");
    return di_http_respond(r, 201, "text/plain", s, strlen(s));
}

/* body:<model>[]: a JSON array of them, each checked, located by index. */
static void test_list(void)
{
    c = t_fixture(&root);
    T_OK(di_http_new(c, c, &h));
    T_OK(di_model(c, &(di_model_desc){ "note_in", sizeof(note_in),
                                       note_fields }));
    static const char *const deps[] = { "body:note_in[]", NULL };
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/import", .deps = deps, .handler = count }));
    T_OK(di_container_seal(c));
    mem = talloc_new(NULL);
    di_http_answer *a = NULL;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/import", .body = "[{\"title\":\"a\"},{\"title\":\"b\"}]",
        .len = 29 }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 201);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL), "2: b");
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/import", .body = "[{\"title\":\"a\"},{}]", .len = 18 },
        mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
        "{\"detail\":[{\"loc\":[\"body\",1,\"title\"],\"msg\":\"field "
        "required\",\"type\":\"missing\"}]}");
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/import", .body = "{}", .len = 2 }, mem, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "\"type\":\"array_type\""));
    done();
}

/* A route naming a model nobody registered: seal says which and where. */
static void test_unknown_model(void)
{
    void *r;
    di_container *d = t_fixture(&r);
    di_http *g;
    T_OK(di_http_new(d, d, &g));
    static const char *const deps[] = { "body:nosuch", NULL };
    T_OK(di_http_route(g, &(di_http_route_desc){ .method = "POST",
        .path = "/x", .deps = deps, .handler = handler }));
    CU_ASSERT_EQUAL(di_container_seal(d), DI_EGRAPH);
    CU_ASSERT_TRUE(t_list_has(di_container_error(d), "POST /x \xe2\x86\x92 "
                              "body.nosuch: no model 'nosuch'"));
    t_fixture_done(d, r);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "valid inputs reach the handler as structs", test_valid },
        { "an input that does not fit: 422, FastAPI's list", test_422 },
        { "seal knows the models routes name", test_unknown_model },
        { "a JSON array of a model", test_list },
        CU_TEST_INFO_NULL,
    };
    return t_run("inputs", tests);
}
