/*
 * test_model.c — models: a struct described once, checked at seal,
 * filled from JSON with every problem found and its location (FastAPI's
 * loc, msg and type), defaults, nested models and arrays; nothing leaks,
 * allocation failures included.
 */
#include <stdbool.h>

#include "fault.h"
#include "helpers.h"

typedef struct item {
    const char *title;
    int64_t qty;
} item;

typedef struct order {
    const char *customer;
    const char *state;
    int64_t priority;
    double total;
    bool paid;
    item *first;            /* a nested model, optional */
    item *items;            /* an array of models */
    size_t nitems;
    const char **tags;      /* an array of strings */
    size_t ntags;
} order;

static const char *const states[] = { "new", "paid", "sent", NULL };

static const di_field item_fields[] = {
    { "title", DI_F_STRING, DI_AT(item, title), .required = 1, .min_len = 1,
      .max_len = 5 },
    { "qty", DI_F_INT, DI_AT(item, qty), .ranged = 1, .min = 1, .max = 99,
      .def = "1" },
    { .name = NULL },
};

static const di_field order_fields[] = {
    { "customer", DI_F_STRING, DI_AT(order, customer), .required = 1,
      .max_len = 10 },
    { "state", DI_F_STRING, DI_AT(order, state), .one_of = states,
      .def = "\"new\"" },
    { "priority", DI_F_INT, DI_AT(order, priority), .ranged = 1, .min = 0,
      .max = 9 },
    { "total", DI_F_NUMBER, DI_AT(order, total), .required = 0 },
    { "paid", DI_F_BOOL, DI_AT(order, paid), .def = "false" },
    { "first", DI_F_MODEL, DI_AT(order, first), .model = "item" },
    { "items", DI_F_ARRAY, DI_AT(order, items), .items = DI_F_MODEL,
      .model = "item", .count_at = offsetof(order, nitems), .max_len = 3 },
    { "tags", DI_F_ARRAY, DI_AT(order, tags), .items = DI_F_STRING,
      .count_at = offsetof(order, ntags), .max_len = 4 },
    { .name = NULL },
};

static di_container *with_models(void **root)
{
    di_container *c = t_fixture(root);
    T_OK(di_model(c, &(di_model_desc){ "item", sizeof(item), item_fields }));
    T_OK(di_model(c, &(di_model_desc){ "order", sizeof(order),
                                       order_fields }));
    T_OK(di_container_seal(c));
    return c;
}

/* A whole order: every kind filled, defaults where absent, the nested
 * model and the arrays; all of it on the context given. */
static void test_parse(void)
{
    void *root;
    di_container *c = with_models(&root);
    static const char json[] =
        "{\"customer\":\"Zoë\",\"priority\":3,\"total\":12.5,"
        "\"first\":{\"title\":\"tea\"},"
        "\"items\":[{\"title\":\"tea\",\"qty\":2},{\"title\":\"milk\"}],"
        "\"tags\":[\"a\",\"b\"],\"unknown\":[1,2]}";
    void *mem = talloc_new(NULL);
    order *o;
    di_problem *p;
    T_OK(di_model_parse(c, "order", json, sizeof json - 1, "body", mem,
                        (void **)&o, &p));
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_STRING_EQUAL(o->customer, "Zoë");
    CU_ASSERT_STRING_EQUAL(o->state, "new");       /* its default */
    CU_ASSERT_EQUAL(o->priority, 3);
    CU_ASSERT_DOUBLE_EQUAL(o->total, 12.5, 1e-9);
    CU_ASSERT_FALSE(o->paid);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->first);
    CU_ASSERT_STRING_EQUAL(o->first->title, "tea");
    CU_ASSERT_EQUAL(o->first->qty, 1);             /* its default */
    CU_ASSERT_EQUAL_FATAL(o->nitems, 2);
    CU_ASSERT_STRING_EQUAL(o->items[1].title, "milk");
    CU_ASSERT_EQUAL(o->items[0].qty, 2);
    CU_ASSERT_EQUAL_FATAL(o->ntags, 2);
    CU_ASSERT_STRING_EQUAL(o->tags[1], "b");
    CU_ASSERT_EQUAL(talloc_parent(o), mem);
    talloc_free(mem); /* everything with it: the fixture checks */
    /* optional and absent: NULL and zero counts */
    mem = talloc_new(NULL);
    T_OK(di_model_parse(c, "order", "{\"customer\":\"x\"}", 16, NULL, mem,
                        (void **)&o, &p));
    CU_ASSERT_PTR_NULL(o->first);
    CU_ASSERT_PTR_NULL(o->items);
    CU_ASSERT_EQUAL(o->nitems, 0);
    talloc_free(mem);
    t_fixture_done(c, root);
}

/* Every problem, in document order, each with its location and type;
 * no struct. */
static void test_problems(void)
{
    void *root;
    di_container *c = with_models(&root);
    static const char json[] =
        "{\"state\":\"lost\",\"priority\":12,\"total\":\"x\",\"paid\":1,"
        "\"first\":[],"
        "\"items\":[{\"title\":\"biscuits\",\"qty\":0},{\"qty\":2.5},7],"
        "\"tags\":[\"ok\",\"\",3]}";
    void *mem = talloc_new(NULL);
    order *o = (void *)1;
    di_problem *p;
    CU_ASSERT_EQUAL(di_model_parse(c, "order", json, sizeof json - 1, "body",
                                   mem, (void **)&o, &p), DI_EINVALID);
    CU_ASSERT_PTR_NULL(o);
    static const char *const want[][3] = {
        { "body.customer", "missing", "field required" },
        { "body.state", "enum", "expected one of 'new', 'paid', 'sent'" },
        { "body.priority", "int_range", "expected 0 to 9" },
        { "body.total", "number_type", "expected a number" },
        { "body.paid", "bool_type", "expected true or false" },
        { "body.first", "model_type", "expected an object" },
        { "body.items[0].title", "string_too_long", "at most 5 characters" },
        { "body.items[0].qty", "int_range", "expected 1 to 99" },
        { "body.items[1].title", "missing", "field required" },
        { "body.items[1].qty", "int_type", "expected an integer" },
        { "body.items[2]", "model_type", "expected an object" },
        { "body.tags[2]", "string_type", "expected a string" },
    };
    size_t n = 0;
    for (const di_problem *q = p; q; q = q->next, n++) {
        if (n >= sizeof want / sizeof want[0])
            break;
        CU_ASSERT_STRING_EQUAL(q->loc, want[n][0]);
        CU_ASSERT_STRING_EQUAL(q->type, want[n][1]);
        CU_ASSERT_STRING_EQUAL(q->msg, want[n][2]);
    }
    CU_ASSERT_EQUAL(n, sizeof want / sizeof want[0]);
    CU_ASSERT_STRING_EQUAL(p->next->next->next->next->next->next->next->next
                               ->loc_json, "[\"body\",\"items\",1,\"title\"]");
    /* FastAPI's answer */
    char *j = di_problems_json(p->next->next->next->next->next->next->next->next,
                               mem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    static const char head[] = "{\"detail\":[{\"loc\":[\"body\",\"items\",1,"
                               "\"title\"],\"msg\":\"field required\","
                               "\"type\":\"missing\"},";
    CU_ASSERT_EQUAL(strncmp(j, head, sizeof head - 1), 0);
    /* not an object, not JSON */
    CU_ASSERT_EQUAL(di_model_parse(c, "order", "[1]", 3, "body", mem,
                                   (void **)&o, &p), DI_EINVALID);
    CU_ASSERT_STRING_EQUAL(p->loc, "body");
    CU_ASSERT_STRING_EQUAL(p->type, "model_type");
    CU_ASSERT_EQUAL(di_model_parse(c, "order", "{\"customer\":", 12, NULL, mem,
                                   (void **)&o, &p), DI_EINVALID);
    CU_ASSERT_STRING_EQUAL(p->loc, "");
    CU_ASSERT_STRING_EQUAL(p->loc_json, "[]");
    CU_ASSERT_STRING_EQUAL(p->type, "json_invalid");
    CU_ASSERT_STRING_EQUAL(p->msg, "1:13: expected a value, got end of input");
    /* a repeated key, in a small object and past the first eight keys */
    CU_ASSERT_EQUAL(di_model_parse(c, "item", "{\"title\":\"a\",\"title\":"
                                   "\"b\"}", 25, NULL, mem, (void **)&o, &p),
                    DI_EINVALID);
    CU_ASSERT_STRING_EQUAL(p->msg, "1:14: duplicate key \"title\"");
    static const char many[] = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,"
        "\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"title\":\"x\",\"c\":0}";
    CU_ASSERT_EQUAL(di_model_parse(c, "item", many, sizeof many - 1, NULL, mem,
                                   (void **)&o, &p), DI_EINVALID);
    CU_ASSERT_STRING_EQUAL(p->msg, "1:68: duplicate key \"c\"");
    CU_ASSERT_EQUAL(di_model_parse(c, "item", many, sizeof many - 7, NULL, mem,
                                   (void **)&o, &p), DI_EINVALID); /* cut */
    /* not UTF-8: the document is not JSON text */
    CU_ASSERT_EQUAL(di_model_parse(c, "order", "{\"customer\":\"\xff\"}", 17,
                                   "body", mem, (void **)&o, &p), DI_EINVALID);
    CU_ASSERT_STRING_EQUAL(p->type, "json_invalid");
    CU_ASSERT_STRING_EQUAL(p->msg, "1:14: invalid UTF-8 (byte 0xff) in a "
                           "string: the text must be UTF-8");
    /* characters, not bytes: five of them in ten bytes fit */
    static const char five[] = "{\"title\":\"ééééé\"}";
    CU_ASSERT_EQUAL(di_model_parse(c, "item", five, sizeof five - 1, NULL, mem,
                                   (void **)&o, &p), 0);
    CU_ASSERT_EQUAL(di_model_parse(c, "nosuch", "{}", 2, NULL, mem,
                                   (void **)&o, &p), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_model_parse(c, "order", "{}", 2, NULL, mem, NULL, &p),
                    DI_EINVAL);
    talloc_free(mem);
    t_fixture_done(c, root);
}

typedef struct bad { int32_t small; const char *s; } bad;

/* Seal checks each table: every problem, with the model and field. */
static void test_seal_checks(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    static const di_field fields[] = {
        { "small", DI_F_INT, DI_AT(bad, small), .required = 0 }, /* 4 bytes */
        { "s", DI_F_STRING, offsetof(bad, s) + 8, sizeof(const char *),
          .required = 0 },
        { "n", DI_F_MODEL, DI_AT(bad, s), .model = "nosuch" },
        { "d", DI_F_STRING, DI_AT(bad, s), .def = "12" },
        { "d", DI_F_STRING, DI_AT(bad, s), .required = 0 },
        { "r", DI_F_INT, 0, 8, .ranged = 1, .min = 5, .max = 1 },
        { "a", DI_F_ARRAY, DI_AT(bad, s), .items = DI_F_STRING,
          .count_at = sizeof(bad) },
        { .name = NULL },
    };
    T_OK(di_model(c, &(di_model_desc){ "bad", sizeof(bad), fields }));
    CU_ASSERT_EQUAL(di_model(c, &(di_model_desc){ "bad", sizeof(bad),
                                                  fields }), DI_EEXIST);
    CU_ASSERT_EQUAL(di_model(c, &(di_model_desc){ "x", 0, fields }),
                    DI_EINVAL);
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    static const char *const want[] = {
        "bad: model bad: field 'small': its member is 4 bytes, a integer "
        "(int64_t) needs 8",
        "bad: model bad: field 's': bytes 16 to 24 are past the struct's end "
        "(16 bytes)",
        "bad: model bad: field 'n': no model 'nosuch'",
        "bad: model bad: field 'd': its default 12 is not a value of its kind",
        "bad: model bad: field 'd' is named twice",
        "bad: model bad: field 'r': min 5 is above max 1",
        "bad: model bad: field 'a': its count (count_at 16) is past the "
        "struct's end (16 bytes)",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CU_ASSERT_TRUE(t_list_has(e, want[i]));
    CU_ASSERT_EQUAL(di_error_count(e), sizeof want / sizeof want[0]);
    t_fixture_done(c, root);
}

/* Each allocation of a parse fails once: DI_ENOMEM or a whole answer, and
 * nothing is left behind. */
static void test_alloc_failures(void)
{
#ifndef DI_FAULT_TESTS
    printf("SKIP: not a fault-injection build\n");
#else
    void *root;
    di_container *c = with_models(&root);
    static const char json[] =
        "{\"customer\":\"x\",\"first\":{\"title\":\"t\"},"
        "\"items\":[{\"title\":\"a\"},{\"title\":\"b\",\"qty\":100}],"
        "\"tags\":[\"a\"]}";
    size_t blocks = talloc_total_blocks(NULL);
    bool done = false;
    long runs = 0;
    for (long n = 1; !done && n < 400; n++, runs++) {
        void *mem = talloc_new(NULL);
        order *o;
        di_problem *p;
        di__fault_alloc(n);
        int rc = di_model_parse(c, "order", json, sizeof json - 1, "body",
                                mem, (void **)&o, &p);
        bool failed = di__fault_alloc(0) > 0;
        CU_ASSERT(rc == DI_EINVALID || rc == DI_ENOMEM);
        if (rc == DI_EINVALID)
            CU_ASSERT_STRING_EQUAL(p->loc, "body.items[1].qty");
        if (rc == DI_ENOMEM)
            CU_ASSERT_EQUAL(talloc_total_blocks(mem), 1);
        talloc_free(mem);
        CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
        done = !failed;
    }
    CU_ASSERT(done);
    CU_ASSERT(runs > 10);
    t_fixture_done(c, root);
#endif
}

int main(void)
{
    talloc_enable_null_tracking();
    CU_TestInfo tests[] = {
        { "a whole struct: kinds, defaults, nested, arrays", test_parse },
        { "every problem, with its location", test_problems },
        { "seal checks the tables", test_seal_checks },
        { "allocation failures", test_alloc_failures },
        CU_TEST_INFO_NULL,
    };
    int rc = t_run("model", tests);
    talloc_disable_null_tracking();
    return rc;
}
