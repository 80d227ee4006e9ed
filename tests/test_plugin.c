/*
 * test_plugin.c — loading plugins: kinds that work end to end, search
 * directories, one refusal per reason with its exact message (each leaving
 * the container usable), and the object's life across containers.
 */
#include <dlfcn.h>
#include <unistd.h>

#include "helpers.h"

#define PLUGIN(name) T_PLUGIN_DIR "/" name ".so"

/* Is the shared object loaded in this process right now? */
static bool loaded(const char *path)
{
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    return h != NULL;
}

/* demo_inits() of the loaded demo plugin (-1 if it is not loaded). */
static int demo_counter(const char *fn)
{
    void *h = dlopen(PLUGIN("demo"), RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return -1;
    int (*f)(void);
    *(void **)&f = dlsym(h, fn);
    int n = f ? f() : -2;
    dlclose(h);
    return n;
}

static void test_load_and_use(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_plugin_load(c, PLUGIN("demo")));
    T_OK(di_plugin_load(c, PLUGIN("demo"))); /* again: nothing happens */
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "visits", .kind = "demo.counter",
        .params = "{\"start\": 10, \"step\": 5}" }));
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "hello", .kind = "demo.greeter",
        .deps = (const di_role_map[]){ { "counter", "visits" }, { 0 } },
        .params = "{\"greeting\": \"hi\"}" }));
    static char prefix[] = "> ";
    T_OK(di_provide_value(c, "prefix", NULL, prefix));
    T_OK(di_container_seal(c));
    const char *want[] = { "> hi #10", "> hi #15", "> hi #20" };
    for (int r = 0; r < 3; r++) {
        di_scope *s;
        T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
        char *got, *again;
        T_OK(di_get(s, "hello", (void **)&got));
        T_OK(di_get(s, "hello", (void **)&again));
        CU_ASSERT_STRING_EQUAL(got, want[r]);
        CU_ASSERT_PTR_EQUAL(got, again); /* cached per request */
        T_OK(di_scope_end(s, 0));
    }
    CU_ASSERT_EQUAL(demo_counter("demo_inits"), 1);
    t_fixture_done(c, root);
    CU_ASSERT_FALSE(loaded(PLUGIN("demo")));
}

static void test_search_dirs(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    CU_ASSERT_EQUAL(di_plugin_load(c, "demo"), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "plugin demo: no such file: no plugin directories "
                            "are configured (add one with di_plugin_dir() or "
                            "\"plugin_dirs\", or give a path)"));
    /* never the working directory implicitly */
    char cwd[4096];
    CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
    T_OK(chdir(T_PLUGIN_DIR));
    CU_ASSERT_EQUAL(di_plugin_load(c, "demo"), DI_EPLUGIN);
    T_OK(di_plugin_dir(c, "/nonexistent"));
    T_OK(di_plugin_dir(c, T_PLUGIN_DIR));
    CU_ASSERT_EQUAL(di_plugin_load(c, "nosuch"), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "plugin nosuch: no such file (searched "
                            "/nonexistent/nosuch.so, " T_PLUGIN_DIR
                            "/nosuch.so)"));
    T_OK(chdir(cwd));
    T_OK(di_plugin_load(c, "demo"));
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "visits", .kind = "demo.counter" }));
    CU_ASSERT_EQUAL(di_plugin_dir(c, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_plugin_load(c, ""), DI_EINVAL);
    CU_ASSERT_EQUAL(di_plugin_load(NULL, "demo"), DI_EINVAL);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_plugin_load(c, "demo"), DI_ESEALED);
    CU_ASSERT_EQUAL(di_plugin_dir(c, "/tmp"), DI_ESEALED);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

/* Load `file`, expect a refusal with exactly `why` after "plugin <path>: ";
 * then the container must be as before: the demo plugin still loads and a
 * graph from it seals and resolves. */
static void refused(const char *file, const char *why)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    char *path = talloc_asprintf(tmp, "%s/%s", T_PLUGIN_DIR, file);
    char *msg = talloc_asprintf(tmp, "plugin %s: %s", path, why);
    CU_ASSERT_EQUAL(di_plugin_load(c, path), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), msg));
    CU_ASSERT_FALSE(loaded(path));
    /* still fully usable */
    T_OK(di_plugin_load(c, PLUGIN("demo")));
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "visits", .kind = "demo.counter" }));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){
        .name = "thing", .kind = "tiny.thing" }), DI_ENOTFOUND);
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "visits", &v));
    T_OK(di_scope_end(s, 0));
    talloc_free(tmp);
    t_fixture_done(c, root);
}

/* A plugin built for ABI 1.0 has no kind flags: whatever lies past its
 * kinds' old end is not read (here flags say asynchronous, and a
 * synchronous consumer of its provider still seals). */
static void test_older_minor(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_plugin_load(c, PLUGIN("old_minor")));
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "thing",
                                                .kind = "tiny.thing" }));
    T_OK(t_consumer(c, "GET /thing", "request", "thing", NULL));
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

static void test_refusals(void)
{
    refused("nosuch.so", "no such file");
    refused("not_elf.so", "not a loadable shared object (" T_PLUGIN_DIR
            "/not_elf.so: file too short)");
    refused("no_entry.so", "not a libdi plugin: no entry symbol "
            "'di_plugin_entry' (define it with DI_PLUGIN())");
    refused("bad_magic.so", "not a libdi plugin: bad magic cookie 0xdeadbeef "
            "(expected 0x6469706c)");
    refused("other_major.so", "built for plugin ABI 2.2, but this libdi has "
            "ABI 1.2: the major versions must match (rebuild the plugin "
            "against this libdi)");
    refused("newer_minor.so", "built for plugin ABI 1.3, newer than this "
            "libdi's 1.2 (upgrade libdi, or rebuild the plugin against this "
            "one)");
    refused("short_struct.so", "its description is 16 bytes, smaller than the "
            "56 bytes of ABI 1.0 (not made with DI_PLUGIN()?)");
    refused("dup_kind.so", "kind 'tiny.thing' is defined twice");
    refused("init_refuses.so", "init refused: needs the environment variable "
            "TINY_KEY");
    /* garbage in the description */
    refused("null_name.so", "the plugin name is missing or malformed");
    refused("bad_utf8.so", "the plugin name is missing or malformed");
    refused("bad_kind.so", "kind #2 has no valid name or no create function");
    refused("many_kinds.so", "more than 1024 kinds (is its kinds list "
            "NULL-terminated?)");
    refused("many_roles.so", "kind 'roles' has more than 64 roles (is its "
            "roles list NULL-terminated?)");
}

static void test_duplicate_kinds(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_plugin_load(c, PLUGIN("demo")));
    /* clash.so is plugin "demo" again, with kind "counter" */
    CU_ASSERT_EQUAL(di_plugin_load(c, PLUGIN("clash")), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "plugin " PLUGIN("clash") ": kind 'demo.counter' "
                            "is already registered (by plugin "
                            PLUGIN("demo") ")"));
    CU_ASSERT_FALSE(loaded(PLUGIN("clash")));
    /* a kind the application registered first */
    T_OK(di_kind_register(c, &(di_kind_desc){ .name = "tiny.thing",
                                              .create = t_create }));
    CU_ASSERT_EQUAL(di_plugin_load(c, PLUGIN("tiny")), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c),
                            "plugin " PLUGIN("tiny") ": kind 'tiny.thing' is "
                            "already registered (by the application)"));
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

/* One opening per process, shared by containers, closed after the last. */
static void test_lifetime(void)
{
    di_container *a, *b;
    T_OK(di_container_new(NULL, &a));
    T_OK(di_container_new(NULL, &b));
    CU_ASSERT_FALSE(loaded(PLUGIN("demo")));
    T_OK(di_plugin_load(a, PLUGIN("demo")));
    T_OK(di_plugin_load(b, PLUGIN("demo")));
    CU_ASSERT_EQUAL(demo_counter("demo_inits"), 1);
    CU_ASSERT_EQUAL(demo_counter("demo_finis"), 0);
    /* a singleton from the plugin lives in a: disposed before unloading */
    T_OK(di_instantiate(a, &(di_instance_desc){
        .name = "visits", .kind = "demo.counter" }));
    T_OK(di_container_seal(a));
    di_scope *s;
    T_OK(di_scope_begin(a, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "visits", &v));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(a));
    CU_ASSERT_TRUE(loaded(PLUGIN("demo")));
    CU_ASSERT_EQUAL(demo_counter("demo_finis"), 0);
    /* freeing through the talloc parent releases it too */
    void *parent = talloc_new(NULL);
    di_container *c2;
    T_OK(di_container_new(parent, &c2));
    T_OK(di_plugin_load(c2, PLUGIN("demo")));
    T_OK(di_container_free(b));
    CU_ASSERT_TRUE(loaded(PLUGIN("demo")));
    talloc_free(parent);
    CU_ASSERT_FALSE(loaded(PLUGIN("demo")));
    /* a fresh opening runs init again */
    T_OK(di_container_new(NULL, &a));
    T_OK(di_plugin_load(a, PLUGIN("demo")));
    CU_ASSERT_EQUAL(demo_counter("demo_inits"), 1);
    T_OK(di_container_free(a));
    CU_ASSERT_FALSE(loaded(PLUGIN("demo")));
}

static void test_macro_plugin(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_plugin_load(c, PLUGIN("tiny"))); /* made with DI_PLUGIN() */
    T_OK(di_instantiate(c, &(di_instance_desc){
        .name = "thing", .kind = "tiny.thing" }));
    T_OK(di_container_seal(c));
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a plugin's kinds build instances", test_load_and_use },
        { "names are searched in plugin dirs only", test_search_dirs },
        { "each refusal names the file and the reason", test_refusals },
        { "a plugin of an older ABI minor: no kind flags", test_older_minor },
        { "duplicate kinds are refused", test_duplicate_kinds },
        { "loaded while a container uses it", test_lifetime },
        { "DI_PLUGIN() makes a valid plugin", test_macro_plugin },
        CU_TEST_INFO_NULL,
    };
    return t_run("plugin", tests);
}
