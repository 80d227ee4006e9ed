/*
 * test_kind.c — provider kinds registered in C, instantiation (roles,
 * lifetimes, params, checks, overrides) and the typed param accessors.
 */
#include <math.h>

#include "helpers.h"

/* A kind whose create reads every param type and records what it saw. */
typedef struct seen {
    const char *s;
    int64_t i;
    double d;
    int flag;
    const char *nested;
    const char *items[4];
    size_t nitems;
    const char *keys[4];
    void *deps[2];
    const char *name;
    int rc;          /* what the accessors returned on a failing read */
} seen;

static int all_create(const di_build *b, void **out)
{
    seen *w = b->data;
    const di_params *o, *a;
    int rc;
    if ((rc = di_param_string(b, NULL, "s", &w->s)) ||
        (rc = di_param_int(b, NULL, "i", &w->i)) ||
        (rc = di_param_number(b, NULL, "d", &w->d)) ||
        (rc = di_param_bool(b, NULL, "flag", &w->flag)) ||
        (rc = di_param_object(b, NULL, "o", &o)) ||
        (rc = di_param_string(b, o, "inner", &w->nested)) ||
        (rc = di_param_array(b, NULL, "a", &a)))
        return rc;
    w->nitems = di_params_count(a);
    for (size_t k = 0; k < w->nitems && k < 4; k++)
        if ((rc = di_param_string(b, di_params_item(a, k), NULL, &w->items[k])))
            return rc;
    for (size_t k = 0; k < 4; k++)
        w->keys[k] = di_params_key(b->params, k);
    w->deps[0] = b->deps[0];
    w->deps[1] = b->deps[1];
    w->name = b->name;
    *out = w;
    return 0;
}

static const char *const all_roles[] = { "first", "?second", NULL };

static di_container *with_kind(void **root, seen *w)
{
    di_container *c = t_fixture(root);
    T_OK(di_kind_register(c, &(di_kind_desc){
        .name = "test.all", .type = "all", .lifetime = "request",
        .roles = all_roles, .create = all_create, .data = w }));
    return c;
}

static void test_params_read(void)
{
    void *root;
    seen w = { 0 };
    di_container *c = with_kind(&root, &w);
    static int one = 1;
    T_OK(di_provide_value(c, "one", NULL, &one));
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all",
        .deps = (const di_role_map[]){ { "first", "one" }, { 0 } },
        .params = "{\"s\": \"str\", \"i\": -42, \"d\": 2.5, \"flag\": true,"
                  " \"o\": {\"inner\": \"deep\"}, \"a\": [\"p\", \"q\"]}" }));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *got;
    T_OK(di_get(s, "x", &got));
    CU_ASSERT_PTR_EQUAL(got, &w);
    CU_ASSERT_STRING_EQUAL(w.s, "str");
    CU_ASSERT_EQUAL(w.i, -42);
    CU_ASSERT_DOUBLE_EQUAL(w.d, 2.5, 0);
    CU_ASSERT_EQUAL(w.flag, 1);
    CU_ASSERT_STRING_EQUAL(w.nested, "deep");
    CU_ASSERT_EQUAL(w.nitems, 2);
    CU_ASSERT_STRING_EQUAL(w.items[0], "p");
    CU_ASSERT_STRING_EQUAL(w.items[1], "q");
    CU_ASSERT_STRING_EQUAL(w.keys[0], "s");
    CU_ASSERT_STRING_EQUAL(w.keys[3], "flag");
    CU_ASSERT_PTR_EQUAL(w.deps[0], &one);
    CU_ASSERT_PTR_NULL(w.deps[1]); /* optional role, no provider */
    CU_ASSERT_STRING_EQUAL(w.name, "x");
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

/* A kind whose create reads one param as asked by the test. */
typedef struct probe {
    const char *key;
    char what; /* s i d b o a */
    int rc;
} probe;

static int probe_create(const di_build *b, void **out)
{
    probe *p = b->data;
    const char *s;
    int64_t i;
    double d;
    int f;
    const di_params *n;
    switch (p->what) {
    case 's': p->rc = di_param_string(b, NULL, p->key, &s); break;
    case 'i': p->rc = di_param_int(b, NULL, p->key, &i); break;
    case 'd': p->rc = di_param_number(b, NULL, p->key, &d); break;
    case 'b': p->rc = di_param_bool(b, NULL, p->key, &f); break;
    case 'o': p->rc = di_param_object(b, NULL, p->key, &n); break;
    default: {
        const di_params *a;
        p->rc = di_param_array(b, NULL, "list", &a);
        if (!p->rc)
            p->rc = di_param_int(b, di_params_item(a, 1), NULL, &i);
    }
    }
    *out = b->mem;
    return p->rc;
}

/* Instantiate "svc" with params, resolve it, return the scope error text. */
static void expect_param_error(const char *params, char what, const char *key,
                               int code, const char *msg)
{
    void *root;
    di_container *c = t_fixture(&root);
    probe p = { key, what, 0 };
    T_OK(di_kind_register(c, &(di_kind_desc){
        .name = "probe", .lifetime = "request", .create = probe_create,
        .data = &p }));
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "svc", .kind = "probe",
                                                 .params = params }));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *got;
    CU_ASSERT_EQUAL(di_get(s, "svc", &got), code);
    CU_ASSERT_EQUAL(p.rc, code);
    CU_ASSERT_TRUE(t_msg_is(di_scope_error(s), msg));
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static void test_params_errors(void)
{
    expect_param_error("{\"size\": \"8\"}", 'i', "size", DI_ETYPE,
                       "svc: providers.svc.params.size: expected integer, got "
                       "string");
    expect_param_error("{}", 's', "path", DI_ENOTFOUND,
                       "svc: providers.svc.params.path: missing, expected "
                       "string");
    expect_param_error("{\"size\": 2.5}", 'i', "size", DI_ETYPE,
                       "svc: providers.svc.params.size: expected integer, got "
                       "2.5");
    expect_param_error("{\"size\": 1e30}", 'i', "size", DI_ETYPE,
                       "svc: providers.svc.params.size: expected integer, got "
                       "1e+30 (out of range)");
    expect_param_error("{\"on\": 1}", 'b', "on", DI_ETYPE,
                       "svc: providers.svc.params.on: expected boolean, got "
                       "number");
    expect_param_error("{\"tls\": []}", 'o', "tls", DI_ETYPE,
                       "svc: providers.svc.params.tls: expected object, got "
                       "array");
    expect_param_error("{\"ratio\": null}", 'd', "ratio", DI_ETYPE,
                       "svc: providers.svc.params.ratio: expected number, got "
                       "null");
    expect_param_error("{\"list\": [1, \"two\"]}", 'a', NULL, DI_ETYPE,
                       "svc: providers.svc.params.list[1]: expected integer, "
                       "got string");
    expect_param_error("{\"a b\": 1}", 's', "a b", DI_ETYPE,
                       "svc: providers.svc.params[\"a b\"]: expected string, "
                       "got number");
}

static void test_params_misc(void)
{
    CU_ASSERT_EQUAL(di_param_int(NULL, NULL, "x", NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_params_count(NULL), 0);
    CU_ASSERT_PTR_NULL(di_params_item(NULL, 0));
    CU_ASSERT_PTR_NULL(di_params_key(NULL, 0));
    CU_ASSERT_STRING_EQUAL(di_params_path(NULL), "");
    CU_ASSERT_EQUAL(di_param_has(NULL, NULL, "x"), 0);
    /* a plain provider has no params: the accessor says so */
    di_build b = { .name = "plain" };
    const char *s;
    CU_ASSERT_EQUAL(di_param_string(&b, NULL, "path", &s), DI_ENOTFOUND);
}

static void test_roles(void)
{
    void *root;
    seen w = { 0 };
    di_container *c = with_kind(&root, &w);
    /* unknown role: suggestion and the list of roles; nothing registered */
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all",
        .deps = (const di_role_map[]){ { "frist", "one" }, { 0 } } }),
        DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.x.deps.frist: kind 'test.all' has no "
                            "role 'frist' (did you mean 'first'?) (roles: "
                            "first, second)"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all",
        .deps = (const di_role_map[]){ { "first", "a" }, { "first", "b" },
                                       { 0 } } }), DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.x.deps.first: role mapped twice"));
    /* a mapped optional role becomes required: the seal names it */
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all",
        .deps = (const di_role_map[]){ { "first", "one" },
                                       { "second", "typo" }, { 0 } },
        .params = "{}" }));
    T_OK(di_provide_value(c, "one", NULL, NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "x \xe2\x86\x92 typo: no provider 'typo'"));
    /* "?name" keeps it optional */
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all", .override = 1,
        .deps = (const di_role_map[]){ { "first", "one" },
                                       { "second", "?typo" }, { 0 } } }));
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

static void test_instantiate_errors(void)
{
    void *root;
    seen w = { 0 };
    di_container *c = with_kind(&root, &w);
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "test.al" }), DI_ENOTFOUND);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.db.use: unknown kind 'test.al' (did you "
                            "mean 'test.all'?) (kinds: test.all; load the "
                            "plugin that provides it)"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "test.all", .params = "{\"a\": }" }),
        DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.db.params: 1:7: expected a value "
                            "(object, array, string, number, true, false or "
                            "null), got '}'"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "test.all", .params = "[1]" }), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.db.params: expected an object"));
    T_OK(di_kind_register(c, &(di_kind_desc){ .name = "bare",
                                              .create = all_create }));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "bare" }), DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.db: kind 'bare' has no default "
                            "lifetime: give one (\"singleton\", \"transient\" "
                            "or a level)"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .kind = "bare" }),
                    DI_EINVAL);
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "bare", .lifetime = "singleton",
        .override = 1 }), DI_ENOTFOUND);
    /* none of the failures registered anything: the names are free */
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "bare", .lifetime = "singleton" }));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "db", .kind = "bare", .lifetime = "singleton" }), DI_EEXIST);
    /* kinds: duplicates and malformed */
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){
        .name = "bare", .create = all_create }), DI_EEXIST);
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){
        .name = "nocreate" }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){
        .name = "badrole", .create = all_create,
        .roles = (const char *const[]){ "a:", NULL } }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_kind_register(NULL, NULL), DI_EINVAL);
    /* the duplicate kept for seal, as with di_provide() */
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    t_fixture_done(c, root);
}

/* A check hook refuses bad params at instantiation. */
static int port_check(const di_build *b)
{
    int64_t port;
    int rc = di_param_int(b, NULL, "port", &port);
    if (rc)
        return rc;
    if (port < 1 || port > 65535) {
        char at[128];
        snprintf(at, sizeof at, "%s.port", di_params_path(b->params));
        return di_fail_at(b, DI_EINVAL, at, "%lld is not a TCP port",
                          (long long)port);
    }
    return 0;
}

/* A check that says no in words only: reported at the provider. */
static int plain_check(const di_build *b)
{
    return di_fail(b, DI_EINVAL, "not today");
}

static void test_check_hook(void)
{
    void *root;
    seen w = { 0 };
    di_container *c = with_kind(&root, &w);
    T_OK(di_kind_register(c, &(di_kind_desc){
        .name = "listener", .lifetime = "singleton", .create = all_create,
        .check = port_check }));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "http", .kind = "listener", .params = "{\"port\": 70000}" }),
        DI_EINVAL);
    const di_error *e = di_container_error(c);
    CU_ASSERT_TRUE(t_msg_is(e, "providers.http.params.port: 70000 is not a "
                            "TCP port"));
    /* the place and the reason are apart: a configuration reports them */
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "providers.http.params.port");
    CU_ASSERT_STRING_EQUAL(di_error_reason(e), "70000 is not a TCP port");
    CU_ASSERT_EQUAL(di_error_path_len(e), 0);
    T_OK(di_kind_register(c, &(di_kind_desc){
        .name = "plain", .lifetime = "singleton", .create = all_create,
        .check = plain_check }));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "p", .kind = "plain" }), DI_EINVAL);
    e = di_container_error(c);
    CU_ASSERT_TRUE(t_msg_is(e, "providers.p: not today"));
    CU_ASSERT_STRING_EQUAL(di_error_reason(e), "not today");
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "http", .kind = "listener", .params = "{\"port\": \"80\"}" }),
        DI_ETYPE);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "providers.http.params.port: expected integer, "
                            "got string"));
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "http", .kind = "listener", .params = "{\"port\": 8080}" }));
    t_fixture_done(c, root);
}

static void test_sealed(void)
{
    void *root;
    seen w = { 0 };
    di_container *c = with_kind(&root, &w);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "x", .kind = "test.all" }), DI_ESEALED);
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){
        .name = "late", .create = all_create }), DI_ESEALED);
    t_fixture_done(c, root);
}


/* ---- a kind's params model ---- */

typedef struct store_params {
    const char *path, *mode;
    int64_t size;
    bool verbose;
} store_params;

static const char *const modes[] = { "ro", "rw", NULL };
static const di_field store_fields[] = {
    { "path", DI_F_STRING, DI_AT(store_params, path), .required = 1,
      .min_len = 1 },
    { "size", DI_F_INT, DI_AT(store_params, size), .ranged = 1, .min = 1,
      .max = 64, .def = "8" },
    { "mode", DI_F_STRING, DI_AT(store_params, mode), .one_of = modes,
      .def = "\"rw\"" },
    { "verbose", DI_F_BOOL, DI_AT(store_params, verbose), .required = 0 },
    { .name = NULL },
};

static store_params got_create, got_check;
static int checked_struct, created_struct;

static int store_check(const di_build *b)
{
    const store_params *sp = di_params_struct(b);
    checked_struct++;
    if (sp)
        got_check = *sp;
    return 0;
}

static int store_create(const di_build *b, void **out)
{
    const store_params *sp = di_params_struct(b);
    created_struct++;
    if (sp)
        got_create = *sp;
    *out = b->mem;
    return 0;
}

static const di_kind_desc store_kind = {
    .name = "store", .lifetime = "singleton", .create = store_create,
    .check = store_check, .size = 8,
    .params_model = &(const di_model_desc){ "ignored", sizeof(store_params),
                                            store_fields },
};

/* The kind gets its params as a struct, checked and with its defaults,
 * in its check and in its create. */
static void test_params_model(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_kind_register(c, &store_kind));
    checked_struct = created_struct = 0;
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "db",
        .kind = "store", .params = "{\"path\": \"/x\", \"size\": 3, "
                                   "\"other\": [1]}" }));
    CU_ASSERT_EQUAL(checked_struct, 1);
    CU_ASSERT_STRING_EQUAL(got_check.path, "/x");
    T_OK(di_container_seal(c));
    di_scope *s;
    void *inst;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "db", &inst));
    CU_ASSERT_EQUAL(created_struct, 1);
    CU_ASSERT_STRING_EQUAL(got_create.path, "/x");
    CU_ASSERT_EQUAL(got_create.size, 3);
    CU_ASSERT_STRING_EQUAL(got_create.mode, "rw"); /* its default */
    CU_ASSERT_FALSE(got_create.verbose);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

/* Every problem at once, each at its path (and from a file, its line and
 * column); nothing registered; a kind without a model has no struct. */
static void test_params_model_errors(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_kind_register(c, &store_kind));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .name = "db",
        .kind = "store", .params = "{\"size\": 0, \"mode\": \"x\", "
                                   "\"verbose\": 1}" }), DI_ECONFIG);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 4);
    CU_ASSERT_TRUE(t_list_has(e, "providers.db.params.size: expected 1 to "
                              "64"));
    CU_ASSERT_TRUE(t_list_has(e, "providers.db.params.mode: expected one of "
                              "'ro', 'rw'"));
    CU_ASSERT_TRUE(t_list_has(e, "providers.db.params.verbose: expected "
                              "true or false"));
    CU_ASSERT_TRUE(t_list_has(e, "providers.db.params.path: field required"));
    CU_ASSERT_EQUAL(di_error_code(e), DI_ECONFIG);
    /* nothing registered: the name is free */
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "db",
        .kind = "store", .params = "{\"path\": \"p\"}" }));
    /* from a file: where each is */
    CU_ASSERT_EQUAL(di_config_load_string(c,
        "{ \"providers\": {\n"
        "  \"db2\": { \"use\": \"store\",\n"
        "           \"params\": { \"path\": \"\",\n"
        "                       \"size\": 65 } } } }", "app.json"),
        DI_ECONFIG);
    e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_TRUE(t_list_has(e, "app.json:3:32: providers.db2.params.path: "
                              "at least 1 character"));
    CU_ASSERT_TRUE(t_list_has(e, "app.json:4:32: providers.db2.params.size: "
                              "expected 1 to 64"));
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "providers.db2.params.path");
    /* a kind without a model */
    seen w = { 0 };
    T_OK(di_kind_register(c, &(di_kind_desc){ .name = "plain",
        .lifetime = "singleton", .create = store_create }));
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "p",
        .kind = "plain" }));
    (void)w;
    T_OK(di_container_seal(c));
    di_scope *s;
    void *inst;
    got_create.path = "untouched";
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "p", &inst));
    CU_ASSERT_STRING_EQUAL(got_create.path, "untouched");
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

/* A model table that is wrong is refused when the kind is registered. */
static void test_params_model_table(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    static const di_field past[] = {
        { "x", DI_F_INT, 8, 8, .required = 1 },
        { .name = NULL },
    };
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){ .name = "bad",
        .create = store_create,
        .params_model = &(const di_model_desc){ "m", 8, past } }),
        DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_kind_register('bad'): "
                            "model bad: field 'x': bytes 8 to 16 are past the "
                            "struct's end (8 bytes)"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .name = "b",
        .kind = "bad" }), DI_ENOTFOUND); /* not registered */
    T_OK(di_model(c, &(di_model_desc){ "taken", sizeof(store_params),
                                       store_fields }));
    CU_ASSERT_EQUAL(di_kind_register(c, &(di_kind_desc){ .name = "taken",
        .create = store_create, .params_model = store_kind.params_model }),
        DI_EINVAL);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "di_kind_register('taken'):"
                            " a model 'taken' exists: its params model is "
                            "registered under the kind's name"));
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "params of every type are read", test_params_read },
        { "missing and mistyped params name their path", test_params_errors },
        { "accessors on NULL and on plain providers", test_params_misc },
        { "roles: unknown, twice, optional, mapped", test_roles },
        { "instantiation errors register nothing", test_instantiate_errors },
        { "a kind's check refuses bad params", test_check_hook },
        { "kinds and instances after seal", test_sealed },
        { "a params model: the kind gets a struct", test_params_model },
        { "a params model: every problem at its place",
          test_params_model_errors },
        { "a params model's table is checked at registration",
          test_params_model_table },
        CU_TEST_INFO_NULL,
    };
    return t_run("kind", tests);
}
