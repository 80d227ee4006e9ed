/*
 * test_config.c — JSON configuration: a valid file wires a working graph;
 * each class of error (syntax, limits, shape, semantics, plugins) gives its
 * exact message and leaves the container as the rules in config.h say.
 */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define CONFIG(name) T_DATA_DIR "/config/" name ".json"

static di_container *fixture(void **root)
{
    di_container *c = t_fixture(root);
    T_OK(di_plugin_dir(c, T_PLUGIN_DIR));
    return c;
}

static void test_valid_file(void)
{
    void *root;
    di_container *c = fixture(&root);
    T_OK(di_config_load_file(c, CONFIG("app")));
    T_OK(di_container_seal(c));
    CU_ASSERT_TRUE(di_consumer_key(c, "GET /hello") >= 0);
    /* scopes from the config: request now nests in connection */
    di_scope *conn, *req;
    CU_ASSERT_EQUAL(di_scope_begin(c, NULL, "request", NULL, &req), DI_ELEVEL);
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &conn));
    T_OK(di_scope_begin(c, conn, "request", NULL, &req));
    void *out[1];
    T_OK(di_resolve_key(req, di_consumer_key(c, "GET /hello"), out, 1));
    CU_ASSERT_STRING_EQUAL(out[0], "hello #10");
    T_OK(di_scope_end(req, 0));
    T_OK(di_scope_begin(c, conn, "request", NULL, &req));
    T_OK(di_resolve_key(req, di_consumer_key(c, "GET /hello"), out, 1));
    CU_ASSERT_STRING_EQUAL(out[0], "hello #12"); /* params: start 10, step 2 */
    T_OK(di_scope_end(req, 0));
    T_OK(di_scope_end(conn, 0));
    t_fixture_done(c, root);
}

/* Loading `name` fails with code and exactly the messages given (in order,
 * NULL-terminated). */
static void expect(const char *name, int code, ...)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = fixture(&root);
    char *path = talloc_asprintf(tmp, T_DATA_DIR "/config/%s.json", name);
    CU_ASSERT_EQUAL(di_config_load_file(c, path), code);
    const di_error *e = di_container_error(c);
    va_list ap;
    va_start(ap, code);
    for (const char *m; (m = va_arg(ap, const char *)); e = di_error_next(e)) {
        char *want = talloc_asprintf(tmp, "%s%s", path, m);
        CU_ASSERT_TRUE(t_msg_is(e, want));
    }
    va_end(ap);
    CU_ASSERT_PTR_NULL(e); /* no more than listed */
    talloc_free(tmp);
    t_fixture_done(c, root);
}

static void test_syntax(void)
{
    expect("syntax_comma", DI_ECONFIG, ":3:3: expected ',' or '}' after an "
           "object member, got '\"'", NULL);
    expect("syntax_trailing", DI_ECONFIG, ":3:40: expected a string key after "
           "',', got '}'", NULL);
    expect("syntax_literal", DI_ECONFIG, ":3:52: expected a value (object, "
           "array, string, number, true, false or null), got 'yes'", NULL);
    expect("syntax_unterminated", DI_ECONFIG, ":3:37: line break inside a "
           "string: a missing closing '\"'? (the string starts at 3:24)",
           NULL);
    expect("duplicate_key", DI_ECONFIG, ":4:5: duplicate key \"visits\"", NULL);
    expect("too_deep", DI_ECONFIG, ":1:235: nested deeper than 32 levels",
           NULL);
}

static void test_shape(void)
{
    expect("unknown_field", DI_ECONFIG,
           ":3:15: provders: unknown field (did you mean 'providers'?) (fields: "
           "scopes, plugin_dirs, plugins, providers, sets, consumers)",
           ":5:51: providers.visits.lifetme: unknown field (did you mean "
           "'lifetime'?) (fields: use, lifetime, deps, params, override)",
           NULL);
    expect("wrong_type", DI_ECONFIG,
           ":2:14: plugins: expected array, got string",
           ":4:24: providers.visits.use: expected string, got number",
           ":4:49: providers.visits.deps.counter: expected string, got boolean",
           ":6:50: consumers[\"GET /\"].needs[1]: expected string, got number",
           NULL);
    expect("missing_use", DI_ECONFIG, ":3:15: providers.visits: missing field "
           "'use' (the kind to instantiate, such as \"sqlite.pool\")", NULL);
}

static void test_semantics(void)
{
    expect("unknown_kind", DI_ECONFIG, ":4:24: providers.visits.use: unknown kind "
           "'demo.countr' (did you mean 'demo.counter'?) (kinds: demo.counter, "
           "demo.greeter; load the plugin that provides it)", NULL);
    expect("unknown_role", DI_ECONFIG, ":5:59: providers.hello.deps.countr: kind "
           "'demo.greeter' has no role 'countr' (did you mean 'counter'?) "
           "(roles: counter, prefix)", NULL);
    expect("bad_param", DI_ECONFIG,
           ":4:61: providers.visits.params.start: expected integer, got string",
           ":5:14: providers.hello.params.greeting: missing, expected string",
           NULL);
    expect("plugin_missing", DI_EPLUGIN, ":2:24: plugins[1]: plugin nosuch: no "
           "such file (searched " T_PLUGIN_DIR "/nosuch.so)", NULL);
}

/* Shape errors register nothing: the same container then takes the good
 * config, which would clash with anything left behind. */
static void test_untouched(void)
{
    void *root;
    di_container *c = fixture(&root);
    CU_ASSERT_EQUAL(di_config_load_file(c, CONFIG("wrong_type")), DI_ECONFIG);
    CU_ASSERT_EQUAL(di_config_load_file(c, CONFIG("syntax_comma")),
                    DI_ECONFIG);
    /* a refused plugin stops before any provider is registered */
    CU_ASSERT_EQUAL(di_config_load_file(c, CONFIG("plugin_missing")),
                    DI_EPLUGIN);
    T_OK(di_config_load_file(c, CONFIG("app")));
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

/* Semantic errors: the good entries are registered, the bad ones are not,
 * and the seal says what is missing. */
static void test_partial(void)
{
    void *root;
    di_container *c = fixture(&root);
    CU_ASSERT_EQUAL(di_config_load_string(c,
        "{\"plugins\": [\"demo\"], \"providers\": {"
        " \"visits\": {\"use\": \"demo.counter\", \"params\": {\"step\": 0}},"
        " \"hello\": {\"use\": \"demo.greeter\", \"deps\": {\"counter\": "
        "\"visits\"}, \"params\": {\"greeting\": \"hi\"}}}}", "partial"),
        DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "partial:1:91: "
                            "providers.visits.params.step: must not be 0"));
    CU_ASSERT_EQUAL(di_error_count(di_container_error(c)), 1);
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "hello \xe2\x86\x92 visits: no provider 'visits'"));
    t_fixture_done(c, root);
}

static void test_strings_and_limits(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = fixture(&root);
    CU_ASSERT_EQUAL(di_config_load_string(c, "{\"x\": 1}", NULL), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "<string>:1:7: x: unknown "
                            "field (fields: scopes, plugin_dirs, plugins, "
                            "providers, sets, consumers)"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "", "inline"), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "inline:1:1: expected a "
                            "value, got end of input"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "[]", "inline"), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "inline: expected an "
                            "object at the top level, got array"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{} x", "inline"), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "inline:1:4: expected the "
                            "end of the document after the JSON value, got "
                            "'x'"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{\"a\": \"\\q\"}", "inline"),
                    DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "inline:1:8: invalid "
                            "escape '\\q' (valid: \\\" \\\\ \\/ \\b \\f \\n "
                            "\\r \\t, and \\u with 4 hex digits)"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{\"a\": 01}", "inline"),
                    DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "inline:1:8: numbers "
                            "cannot have leading zeros"));
    /* the size bound */
    size_t n = DI_CONFIG_MAX_BYTES + 16;
    char *big = talloc_size(tmp, n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    CU_ASSERT_EQUAL(di_config_load_string(c, big, "big"), DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "big: more than 4194304 "
                            "bytes (DI_CONFIG_MAX_BYTES)"));
    char *bigfile = talloc_asprintf(tmp, "%s/big.json", T_BUILD_DIR);
    FILE *f = fopen(bigfile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(big, 1, n, f);
    fclose(f);
    CU_ASSERT_EQUAL(di_config_load_file(c, bigfile), DI_ECONFIG);
    char *want = talloc_asprintf(tmp, "%s: %zu bytes, more than the limit of "
                                 "4194304 (DI_CONFIG_MAX_BYTES)", bigfile, n);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    remove(bigfile);
    CU_ASSERT_EQUAL(di_config_load_file(c, "/nonexistent/app.json"),
                    DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "/nonexistent/app.json: "
                            "cannot read: No such file or directory"));
    CU_ASSERT_EQUAL(di_config_load_file(c, T_DATA_DIR), DI_ECONFIG);
    CU_ASSERT_EQUAL(di_config_load_file(NULL, "x"), DI_EINVAL);
    CU_ASSERT_EQUAL(di_config_load_string(c, NULL, NULL), DI_EINVAL);
    /* after all that, a good config still loads */
    T_OK(di_config_load_file(c, CONFIG("app")));
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{}", NULL), DI_ESEALED);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "<string>: cannot load a "
                            "configuration into a sealed container"));
    talloc_free(tmp);
    t_fixture_done(c, root);
}

/* A UTF-8 byte order mark before a config changes nothing. */
static void test_byte_order_mark(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_config_load_string(c, "\xef\xbb\xbf{ \"scopes\": { \"job\": "
                               "\"singleton\" } }", "bom"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "\xef\xbb\xbf" "1", "one"),
                    DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "one: expected an object "
                            "at the top level, got number"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "\xef\xbb\xbf", "empty"),
                    DI_ECONFIG);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "empty:1:2: expected a "
                            "value, got end of input"));
    t_fixture_done(c, root);
}

/* A config wired with `greeting`; the greeting the consumer then gets
 * ("" when the load failed). */
static const char *greet(di_container *c, void *mem, const char *greeting)
{
    char *json = talloc_asprintf(mem,
        "{ \"plugins\": [ \"demo\" ], \"providers\": {\n"
        "  \"visits\": { \"use\": \"demo.counter\", \"lifetime\": "
        "\"request\" },\n"
        "  \"hello\": { \"use\": \"demo.greeter\", \"lifetime\": "
        "\"request\", \"deps\": { \"counter\": \"visits\" },\n"
        "    \"params\": { \"greeting\": \"%s\" } } },\n"
        "  \"consumers\": { \"GET /hello\": { \"level\": \"request\", "
        "\"needs\": [ \"hello\" ] } } }", greeting);
    if (di_config_load_string(c, json, "env.json") ||
        di_container_seal(c))
        return "";
    di_scope *req;
    void *out[1];
    const char *got = "";
    T_OK(di_scope_begin(c, NULL, "request", NULL, &req));
    if (di_resolve_key(req, di_consumer_key(c, "GET /hello"), out, 1) == 0)
        got = talloc_strdup(mem, out[0]);
    T_OK(di_scope_end(req, 0));
    return got;
}

/* Strings take values from the environment: ${NAME}, ${NAME:-default}
 * (used when NAME is unset or empty), $${ for a literal ${; a variable
 * that is unset with no default, or a malformed reference, is an error
 * at its JSON path and registers nothing. */
static void test_environment(void)
{
    void *tmp = talloc_new(NULL);
    setenv("DI_TEST_WHO", "hi", 1);
    setenv("DI_TEST_EMPTY", "", 1);
    unsetenv("DI_TEST_UNSET");
    static const struct { const char *in, *want; } ok[] = {
        { "${DI_TEST_WHO}", "hi #0" },
        { "<${DI_TEST_WHO}|${DI_TEST_WHO}>", "<hi|hi> #0" },
        { "${DI_TEST_UNSET:-hello there}", "hello there #0" },
        { "${DI_TEST_EMPTY:-was empty}", "was empty #0" },
        { "[${DI_TEST_EMPTY}]", "[] #0" },
        { "$${DI_TEST_WHO} costs $5", "${DI_TEST_WHO} costs $5 #0" },
        { "no reference: $ {x} $x", "no reference: $ {x} $x #0" },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        void *root;
        di_container *c = fixture(&root);
        CU_ASSERT_STRING_EQUAL(greet(c, tmp, ok[i].in), ok[i].want);
        t_fixture_done(c, root);
    }
    static const struct { const char *in, *msg; } bad[] = {
        { "${DI_TEST_UNSET}", "env.json:4:29: providers.hello.params.greeting: "
          "environment variable 'DI_TEST_UNSET' is not set, and "
          "${DI_TEST_UNSET} gives no default (write ${DI_TEST_UNSET:-default}"
          " for one)" },
        { "x ${DI_TEST_WHO", "env.json:4:29: providers.hello.params.greeting: "
          "'${DI_TEST_WHO': a reference is ${NAME} or ${NAME:-default}, NAME "
          "of letters, digits and '_' (write $${ for a literal ${)" },
        { "${1X}", "env.json:4:29: providers.hello.params.greeting: '${1X}': a "
          "reference is ${NAME} or ${NAME:-default}, NAME of letters, digits "
          "and '_' (write $${ for a literal ${)" },
        { "${DI_TEST_WHO:default}", "env.json:4:29: providers.hello.params."
          "greeting: '${DI_TEST_WHO:default}': a reference is ${NAME} or "
          "${NAME:-default}, NAME of letters, digits and '_' (write $${ for a "
          "literal ${)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *root;
        di_container *c = fixture(&root);
        CU_ASSERT_STRING_EQUAL(greet(c, tmp, bad[i].in), "");
        CU_ASSERT_TRUE(t_msg_is(di_container_error(c), bad[i].msg));
        CU_ASSERT_PTR_NULL(di_error_next(di_container_error(c)));
        /* nothing was registered: the same names load afterwards */
        CU_ASSERT_STRING_EQUAL(greet(c, tmp, "again"), "again #0");
        t_fixture_done(c, root);
    }
    /* every problem at once, with array indexes in the paths */
    void *root;
    di_container *c = fixture(&root);
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"plugins\": [ \"demo\", "
        "\"${DI_TEST_UNSET}\" ], \"scopes\": { \"job\": \"${DI_TEST_NO}"
        "\" } }", "two.json"), DI_ECONFIG);
    const di_error *e = di_container_error(c);
    CU_ASSERT_TRUE(t_msg_is(e, "two.json:1:24: plugins[1]: environment variable "
        "'DI_TEST_UNSET' is not set, and ${DI_TEST_UNSET} gives no default "
        "(write ${DI_TEST_UNSET:-default} for one)"));
    CU_ASSERT_TRUE(t_msg_is(di_error_next(e), "two.json:1:65: scopes.job: "
        "environment variable 'DI_TEST_NO' is not set, and ${DI_TEST_NO} "
        "gives no default (write ${DI_TEST_NO:-default} for one)"));
    t_fixture_done(c, root);
    unsetenv("DI_TEST_WHO");
    unsetenv("DI_TEST_EMPTY");
    talloc_free(tmp);
}

/* Relative plugin paths are relative to the config file's directory. */
static void test_relative_paths(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    char *path = talloc_asprintf(tmp, "%s/relative.json", T_BUILD_DIR);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{ \"plugin_dirs\": [\"plugins\"], \"plugins\": [\"demo\", "
          "\"plugins/tiny.so\"],\n"
          "  \"providers\": { \"t\": { \"use\": \"tiny.thing\" },\n"
          "    \"v\": { \"use\": \"demo.counter\", \"lifetime\": \"request\","
          " \"override\": false } } }\n", f);
    fclose(f);
    T_OK(di_plugin_allow_config_dirs(c, T_BUILD_DIR));
    T_OK(di_config_load_file(c, path));
    T_OK(di_container_seal(c));
    remove(path);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a valid config wires a working graph", test_valid_file },
        { "syntax errors give line:column", test_syntax },
        { "shape errors give the JSON path", test_shape },
        { "kinds, roles, params and plugins", test_semantics },
        { "syntax, shape and plugin errors register nothing", test_untouched },
        { "semantic errors register the rest", test_partial },
        { "strings, limits, unreadable files, sealed", test_strings_and_limits },
        { "relative paths start at the config", test_relative_paths },
        { "a byte order mark changes nothing", test_byte_order_mark },
        { "strings from the environment: ${NAME:-default}", test_environment },
        CU_TEST_INFO_NULL,
    };
    return t_run("config", tests);
}
