/*
 * test_misuse.c — the bad-input table: every public function of the core
 * called with NULL arguments, at the wrong moment (before or after seal),
 * with the wrong type, an oversized or non-UTF-8 name, a bad key, or an
 * ended scope (debug builds). Each call returns its error code, never
 * crashes, and — when there is a container or scope to hold it — leaves a
 * message naming the call or the culprit. The containers stay usable.
 */
#include <stdio.h>

#include "helpers.h"

static void *root;
static di_container *cu;  /* unsealed */
static di_container *cs;  /* sealed: p (request), v (value), GET /x */
static di_scope *s;       /* a live scope of cs */
static char huge[DI_NAME_MAX + 2];

static int noop_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

enum { NONE, UNSEALED, SEALED, SCOPE };

/* what, the code wanted, where its message goes, a part of the message,
 * the call (an int; pointer results are turned into codes) */
#define CASES(X) \
    /* container life */ \
    X("container_new out NULL", DI_EINVAL, NONE, NULL, \
      di_container_new(NULL, NULL)) \
    X("seal NULL", DI_EINVAL, NONE, NULL, di_container_seal(NULL)) \
    X("seal twice", DI_ESEALED, SEALED, "already sealed", \
      di_container_seal(cs)) \
    X("sealed NULL", 0, NONE, NULL, di_container_sealed(NULL)) \
    X("free NULL", DI_EINVAL, NONE, NULL, di_container_free(NULL)) \
    X("error NULL", 0, NONE, NULL, di_container_error(NULL) ? 1 : 0) \
    X("key NULL container", DI_EINVAL, NONE, NULL, di_key(NULL, "p")) \
    X("key NULL name", DI_EINVAL, NONE, NULL, di_key(cs, NULL)) \
    X("key before seal", DI_ENOTSEALED, NONE, NULL, di_key(cu, "a")) \
    X("key unknown", DI_ENOTFOUND, NONE, NULL, di_key(cs, "nope")) \
    X("key huge", DI_ENOTFOUND, NONE, NULL, di_key(cs, huge)) \
    /* levels */ \
    X("level NULL container", DI_EINVAL, NONE, NULL, \
      di_level(NULL, "job", "request")) \
    X("level NULL name", DI_EINVAL, UNSEALED, "di_level", \
      di_level(cu, NULL, "request")) \
    X("level NULL parent", DI_EINVAL, UNSEALED, "di_level", \
      di_level(cu, "job", NULL)) \
    X("level huge name", DI_EINVAL, UNSEALED, "di_level", \
      di_level(cu, huge, "request")) \
    X("level reserved", DI_ELEVEL, UNSEALED, "reserved", \
      di_level(cu, "transient", "request")) \
    X("level after seal", DI_ESEALED, SEALED, "di_level", \
      di_level(cs, "job", "request")) \
    /* providers */ \
    X("provide NULL container", DI_EINVAL, NONE, NULL, di_provide(NULL, \
      &(di_provider_desc){ .name = "x", .lifetime = "request", \
                           .create = noop_create })) \
    X("provide NULL desc", DI_EINVAL, UNSEALED, "di_provide", \
      di_provide(cu, NULL)) \
    X("provide NULL name", DI_EINVAL, UNSEALED, "di_provide", \
      di_provide(cu, &(di_provider_desc){ .lifetime = "request", \
                                          .create = noop_create })) \
    X("provide huge name", DI_EINVAL, UNSEALED, "di_provide", \
      di_provide(cu, &(di_provider_desc){ .name = huge, \
          .lifetime = "request", .create = noop_create })) \
    X("provide non-UTF-8 name", DI_EINVAL, UNSEALED, "di_provide", \
      di_provide(cu, &(di_provider_desc){ .name = "caf\xe9\x01", \
          .lifetime = "request", .create = noop_create })) \
    X("provide no create", DI_EINVAL, UNSEALED, "create function", \
      di_provide(cu, &(di_provider_desc){ .name = "x", \
                                          .lifetime = "request" })) \
    X("provide no lifetime", DI_EINVAL, UNSEALED, "lifetime", \
      di_provide(cu, &(di_provider_desc){ .name = "x", \
                                          .create = noop_create })) \
    X("provide malformed dep", DI_EINVAL, UNSEALED, "x", \
      di_provide(cu, &(di_provider_desc){ .name = "x", \
          .lifetime = "request", .create = noop_create, \
          .deps = (const char *const[]){ "a:", NULL } })) \
    X("provide twice", DI_EEXIST, UNSEALED, "already registered", \
      di_provide(cu, &(di_provider_desc){ .name = "a", \
          .lifetime = "request", .create = noop_create })) \
    X("provide after seal", DI_ESEALED, SEALED, "di_provide", \
      di_provide(cs, &(di_provider_desc){ .name = "x", \
          .lifetime = "request", .create = noop_create })) \
    X("override unknown", DI_ENOTFOUND, UNSEALED, "no provider named", \
      di_override(cu, &(di_provider_desc){ .name = "nope", \
          .lifetime = "request", .create = noop_create })) \
    X("override NULL desc", DI_EINVAL, UNSEALED, "di_override", \
      di_override(cu, NULL)) \
    X("provide_value NULL name", DI_EINVAL, UNSEALED, "di_provide_value", \
      di_provide_value(cu, NULL, NULL, NULL)) \
    X("provide_value after seal", DI_ESEALED, SEALED, "di_provide_value", \
      di_provide_value(cs, "w", NULL, NULL)) \
    X("override_value NULL container", DI_EINVAL, NONE, NULL, \
      di_override_value(NULL, "v", NULL, NULL)) \
    X("provide_external NULL level", DI_EINVAL, UNSEALED, \
      "di_provide_external", di_provide_external(cu, "e", NULL, NULL)) \
    X("provide_external singleton", DI_EINVAL, UNSEALED, "scope level", \
      di_provide_external(cu, "e", NULL, "singleton")) \
    X("provide_external NULL name", DI_EINVAL, UNSEALED, \
      "di_provide_external", di_provide_external(cu, NULL, NULL, "request")) \
    /* consumers */ \
    X("consumer_add NULL container", DI_EINVAL, NONE, NULL, \
      di_consumer_add(NULL, &(di_consumer_desc){ .name = "c" })) \
    X("consumer_add NULL desc", DI_EINVAL, UNSEALED, "di_consumer_add", \
      di_consumer_add(cu, NULL)) \
    X("consumer_add huge name", DI_EINVAL, UNSEALED, "di_consumer_add", \
      di_consumer_add(cu, &(di_consumer_desc){ .name = huge })) \
    X("consumer_add after seal", DI_ESEALED, SEALED, "di_consumer_add", \
      di_consumer_add(cs, &(di_consumer_desc){ .name = "c" })) \
    X("consumer_key NULL", DI_EINVAL, NONE, NULL, di_consumer_key(NULL, "c")) \
    X("consumer_key before seal", DI_ENOTSEALED, NONE, NULL, \
      di_consumer_key(cu, "c")) \
    X("consumer_data bad key", 0, NONE, NULL, \
      di_consumer_data(cs, 99) ? 1 : 0) \
    /* kinds */ \
    X("kind_register NULL desc", DI_EINVAL, UNSEALED, "di_kind_register", \
      di_kind_register(cu, NULL)) \
    X("kind_register huge name", DI_EINVAL, UNSEALED, "di_kind_register", \
      di_kind_register(cu, &(di_kind_desc){ .name = huge, \
                                            .create = noop_create })) \
    X("kind_register after seal", DI_ESEALED, SEALED, "di_kind_register", \
      di_kind_register(cs, &(di_kind_desc){ .name = "k", \
                                            .create = noop_create })) \
    X("instantiate NULL desc", DI_EINVAL, UNSEALED, "di_instantiate", \
      di_instantiate(cu, NULL)) \
    X("instantiate unknown kind", DI_ENOTFOUND, UNSEALED, "nope.kind", \
      di_instantiate(cu, &(di_instance_desc){ .name = "i", \
                                              .kind = "nope.kind" })) \
    X("instantiate bad params", DI_ECONFIG, UNSEALED, "params", \
      di_instantiate(cu, &(di_instance_desc){ .name = "i", .kind = "app.k", \
                                              .params = "{\"a\": " })) \
    /* plugins and config */ \
    X("plugin_dir NULL dir", DI_EINVAL, UNSEALED, "di_plugin_dir", \
      di_plugin_dir(cu, NULL)) \
    X("plugin_load NULL what", DI_EINVAL, UNSEALED, "di_plugin_load", \
      di_plugin_load(cu, NULL)) \
    X("plugin_load huge name", DI_EPLUGIN, UNSEALED, "no such file", \
      di_plugin_load(cu, huge)) \
    X("plugin_load after seal", DI_ESEALED, SEALED, "di_plugin_load", \
      di_plugin_load(cs, "demo")) \
    X("config_load_string NULL text", DI_EINVAL, NONE, NULL, \
      di_config_load_string(cu, NULL, NULL)) \
    X("config_load_file NULL path", DI_EINVAL, NONE, NULL, \
      di_config_load_file(cu, NULL)) \
    X("config_load_file missing", DI_ECONFIG, UNSEALED, "cannot read", \
      di_config_load_file(cu, "/nonexistent/app.json")) \
    X("config after seal", DI_ESEALED, SEALED, "sealed", \
      di_config_load_string(cs, "{}", NULL)) \
    /* graph */ \
    X("graph_json NULL out", DI_EINVAL, NONE, NULL, \
      di_graph_json(cs, NULL, NULL)) \
    X("graph_dot NULL container", DI_EINVAL, NONE, NULL, \
      di_graph_dot(NULL, NULL, (char *[1]){ NULL })) \
    /* scopes */ \
    X("begin NULL container", DI_EINVAL, NONE, NULL, \
      di_scope_begin(NULL, NULL, "request", NULL, (di_scope *[1]){ NULL })) \
    X("begin NULL level", DI_EINVAL, NONE, NULL, \
      di_scope_begin(cs, NULL, NULL, NULL, (di_scope *[1]){ NULL })) \
    X("begin NULL level under a scope", DI_EINVAL, SCOPE, "di_scope_begin", \
      di_scope_begin(cs, s, NULL, NULL, (di_scope *[1]){ NULL })) \
    X("begin NULL out", DI_EINVAL, NONE, NULL, \
      di_scope_begin(cs, NULL, "request", NULL, NULL)) \
    X("begin before seal", DI_ENOTSEALED, UNSEALED, "seal the container", \
      di_scope_begin(cu, NULL, "request", NULL, (di_scope *[1]){ NULL })) \
    X("begin unknown level", DI_ELEVEL, SEALED, "not a declared level", \
      di_scope_begin(cs, NULL, "nope", NULL, (di_scope *[1]){ NULL })) \
    X("begin huge level", DI_ELEVEL, SEALED, "not a declared level", \
      di_scope_begin(cs, NULL, huge, NULL, (di_scope *[1]){ NULL })) \
    X("begin the root", DI_ELEVEL, SEALED, "is the root", \
      di_scope_begin(cs, NULL, "singleton", NULL, (di_scope *[1]){ NULL })) \
    X("begin request under request", DI_ELEVEL, SCOPE, "di_scope_begin", \
      di_scope_begin(cs, s, "request", NULL, (di_scope *[1]){ NULL })) \
    X("end NULL", DI_EINVAL, NONE, NULL, di_scope_end(NULL, 0)) \
    X("scope_error NULL", 0, NONE, NULL, di_scope_error(NULL) ? 1 : 0) \
    X("scope_level NULL", 0, NONE, NULL, di_scope_level(NULL) ? 1 : 0) \
    X("scope_parent NULL", 0, NONE, NULL, di_scope_parent(NULL) ? 1 : 0) \
    X("scope_container NULL", 0, NONE, NULL, \
      di_scope_container(NULL) ? 1 : 0) \
    X("scope_put unknown", DI_ENOTFOUND, SCOPE, "no external provider", \
      di_scope_put(s, "nope", NULL)) \
    X("scope_put NULL name", DI_ENOTFOUND, SCOPE, "di_scope_put", \
      di_scope_put(s, NULL, NULL)) \
    X("scope_put not external", DI_ENOTFOUND, SCOPE, "di_scope_put", \
      di_scope_put(s, "p", NULL)) \
    /* resolution */ \
    X("get NULL scope", DI_EINVAL, NONE, NULL, di_get(NULL, "p", (void *[1]){ NULL })) \
    X("get NULL name", DI_EINVAL, SCOPE, "name must not be NULL", \
      di_get(s, NULL, (void *[1]){ NULL })) \
    X("get NULL out", DI_EINVAL, SCOPE, "out must not be NULL", \
      di_get(s, "p", NULL)) \
    X("get unknown", DI_ENOTFOUND, SCOPE, "no provider 'nope'", \
      di_get(s, "nope", (void *[1]){ NULL })) \
    X("get huge name", DI_ENOTFOUND, SCOPE, "no provider", \
      di_get(s, huge, (void *[1]){ NULL })) \
    X("get_key negative", DI_EINVAL, SCOPE, "no key -1", \
      di_get_key(s, -1, (void *[1]){ NULL })) \
    X("get_key too big", DI_EINVAL, SCOPE, "no key 1000", \
      di_get_key(s, 1000, (void *[1]){ NULL })) \
    X("get_key NULL out", DI_EINVAL, SCOPE, "out must not be NULL", \
      di_get_key(s, 0, NULL)) \
    X("get_typed wrong type", DI_ETYPE, SCOPE, "asked for as 'db'", \
      di_get_typed(s, "p", "db", (void *[1]){ NULL })) \
    X("get_typed NULL type", DI_EINVAL, SCOPE, "type must not be NULL", \
      di_get_typed(s, "p", NULL, (void *[1]){ NULL })) \
    X("resolve NULL scope", DI_EINVAL, NONE, NULL, \
      di_resolve(NULL, "GET /x", (void *[1]){ NULL }, 1)) \
    X("resolve NULL consumer", DI_EINVAL, SCOPE, "consumer must not be NULL", \
      di_resolve(s, NULL, (void *[1]){ NULL }, 1)) \
    X("resolve unknown", DI_ENOTFOUND, SCOPE, "no consumer 'nope'", \
      di_resolve(s, "nope", (void *[1]){ NULL }, 1)) \
    X("resolve out too small", DI_EINVAL, SCOPE, "out holds 0 pointers", \
      di_resolve(s, "GET /x", (void *[1]){ NULL }, 0)) \
    X("resolve NULL out", DI_EINVAL, SCOPE, "out is NULL", \
      di_resolve(s, "GET /x", NULL, 2)) \
    X("resolve_key bad key", DI_EINVAL, SCOPE, "no consumer key 7", \
      di_resolve_key(s, 7, (void *[1]){ NULL }, 1)) \
    /* errors, params, version */ \
    X("strerror unknown", 0, NONE, NULL, \
      strcmp(di_strerror(12345), "unknown error")) \
    X("error_* NULL", 0, NONE, NULL, di_error_code(NULL) + \
      (int)di_error_count(NULL) + (di_error_next(NULL) != NULL) + \
      (int)strlen(di_error_message(NULL)) + (int)strlen(di_error_path(NULL))) \
    X("param_string NULL build", DI_EINVAL, NONE, NULL, \
      di_param_string(NULL, NULL, "a", (const char *[1]){ NULL })) \
    X("param_has NULL build", 0, NONE, NULL, di_param_has(NULL, NULL, "a")) \
    X("params_* NULL", 0, NONE, NULL, (int)di_params_count(NULL) + \
      (di_params_item(NULL, 0) != NULL) + (di_params_key(NULL, 0) != NULL) + \
      (int)strlen(di_params_path(NULL))) \
    X("fail NULL build", DI_EPROVIDER, NONE, NULL, \
      di_fail(NULL, 5, "%s", "x")) \
    X("version NULL parts", 0, NONE, NULL, di_version(NULL, NULL, NULL) ? 0 : 1)

typedef struct row {
    const char *what;
    int want;
    int where;
    const char *msg;
} row;

#define ROW(what, want, where, msg, expr) { what, want, where, msg },
static const row rows[] = { CASES(ROW) };
#undef ROW

static int call(size_t i)
{
    size_t k = 0;
#define CALL(what, want, where, msg, expr) if (i == k++) return (int)(expr);
    CASES(CALL)
#undef CALL
    return 0;
}

static void setup(void)
{
    memset(huge, 'h', DI_NAME_MAX + 1);
    huge[DI_NAME_MAX + 1] = '\0';
    root = talloc_new(NULL);
    T_OK(di_container_new(root, &cu));
    T_OK(di_provide(cu, &(di_provider_desc){ .name = "a",
        .lifetime = "request", .create = noop_create }));
    T_OK(di_kind_register(cu, &(di_kind_desc){ .name = "app.k",
        .create = noop_create, .lifetime = "singleton" }));
    T_OK(di_container_new(root, &cs));
    T_OK(t_provide(cs, "p", "request", NULL, NULL));
    T_OK(di_provide_value(cs, "v", NULL, "value"));
    T_OK(t_consumer(cs, "GET /x", "request", "p", "v", NULL));
    T_OK(di_container_seal(cs));
    T_OK(di_scope_begin(cs, NULL, "request", NULL, &s));
}

static void test_table(void)
{
    setup();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        int rc = call(i);
        CU_ASSERT_EQUAL(rc, r->want);
        if (rc != r->want) {
            fprintf(stderr, "\n  %s: returned %d (%s), wanted %d\n", r->what,
                    rc, di_strerror(rc), r->want);
            continue;
        }
        if (r->where == NONE)
            continue;
        const di_error *e = r->where == UNSEALED ? di_container_error(cu)
                            : r->where == SEALED ? di_container_error(cs)
                                                 : di_scope_error(s);
        bool said = di_error_code(e) == r->want &&
                    strstr(di_error_message(e), r->msg);
        CU_ASSERT_TRUE(said);
        if (!said) {
            fprintf(stderr, "\n  %s: message '%s' (code %d), wanted one "
                    "with '%s'\n", r->what, di_error_message(e),
                    di_error_code(e), r->msg);
        }
    }
    /* both containers and the scope still work */
    void *v;
    T_OK(di_get(s, "p", &v));
    T_OK(di_scope_end(s, 0));
    /* registering a name twice and overriding an unknown one are graph
     * problems too: the seal lists them (and only them) */
    CU_ASSERT_EQUAL(di_container_seal(cu), DI_EGRAPH);
    const di_error *e = di_container_error(cu);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_TRUE(t_list_has(e, "a: provider 'a' is registered twice"));
    CU_ASSERT_TRUE(t_list_has(e, "nope: override of unknown provider 'nope'"));
    T_OK(di_container_free(cu));
    T_OK(di_container_free(cs));
    CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
    talloc_free(root);
}

#ifdef DI_DEBUG
/* Debug builds: any use of an ended scope is DI_ESTALE, memory untouched. */
static void test_ended_scope(void)
{
    setup();
    T_OK(di_scope_end(s, 0));
    void *v;
    CU_ASSERT_EQUAL(di_scope_end(s, 0), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get(s, "p", &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get_key(s, 0, &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_get_typed(s, "p", "x", &v), DI_ESTALE);
    CU_ASSERT_EQUAL(di_resolve(s, "GET /x", &v, 1), DI_ESTALE);
    CU_ASSERT_EQUAL(di_resolve_key(s, 0, &v, 1), DI_ESTALE);
    CU_ASSERT_EQUAL(di_scope_put(s, "p", NULL), DI_ESTALE);
    di_scope *child;
    CU_ASSERT_EQUAL(di_scope_begin(cs, s, "request", NULL, &child), DI_ESTALE);
    T_OK(di_container_free(cu));
    T_OK(di_container_free(cs));
    talloc_free(root);
}
#endif

int main(void)
{
    CU_TestInfo tests[] = {
        { "every public call with bad input: a code and a message",
          test_table },
#ifdef DI_DEBUG
        { "debug builds: an ended scope is DI_ESTALE everywhere",
          test_ended_scope },
#endif
        CU_TEST_INFO_NULL,
    };
    printf("bad-input rows: %zu\n", sizeof rows / sizeof rows[0]);
    return t_run("misuse", tests);
}
