/*
 * test_hostile.c — configurations and inputs made to hurt: a 100 MB file
 * and string, nesting a million deep, a million providers, cycles through
 * two plugins' kinds, names that are not UTF-8, plugin paths with ".." or
 * outside the plugin directories, plugins found only where configured, and
 * shared objects smuggled in (a config's plugin_dirs, a link out of a
 * plugin directory, files others can write) whose constructors must never
 * run.
 * Each is refused (or, for the API's million providers, handled) with a
 * clear error, bounded in time and memory; the container stays usable.
 * (Plugins whose descriptions hold garbage: test_plugin.c.)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "helpers.h"

static di_container *fixture(void **root)
{
    di_container *c = t_fixture(root);
    T_OK(di_plugin_dir(c, T_PLUGIN_DIR));
    return c;
}

/* The message of the last error ends with tail. */
static bool ends_with(const di_error *e, const char *tail)
{
    const char *m = di_error_message(e);
    size_t ml = strlen(m), tl = strlen(tail);
    bool ok = ml >= tl && strcmp(m + ml - tl, tail) == 0;
    if (!ok)
        fprintf(stderr, "\n  message: '%s'\n  wanted the end: '%s'\n", m, tail);
    return ok;
}

/* The container still loads a good configuration and seals. */
static void still_usable(di_container *c)
{
    T_OK(di_config_load_string(c, "{ \"plugins\": [\"demo\"], \"providers\": "
                               "{ \"ok\": { \"use\": \"demo.counter\" } } }",
                               "good"));
    T_OK(di_container_seal(c));
}

static void test_huge_file_and_string(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = fixture(&root);
    char *path = talloc_asprintf(tmp, "%s/huge.json", T_BUILD_DIR);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, "{", 1), 1);
    CU_ASSERT_EQUAL(ftruncate(fd, 100L << 20), 0); /* sparse: no disk used */
    close(fd);
    CU_ASSERT_EQUAL(di_config_load_file(c, path), DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), ": 104857600 bytes, more "
                             "than the limit of 4194304 (DI_CONFIG_MAX_BYTES)"));
    unlink(path);
    /* the same as a string: measured up to the limit, never further */
    char *text = malloc((100 << 20) + 1);
    CU_ASSERT_FATAL(text != NULL);
    memset(text, ' ', 100 << 20);
    text[0] = '{';
    text[100 << 20] = '\0';
    CU_ASSERT_EQUAL(di_config_load_string(c, text, "big"), DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "big: more than 4194304 "
                             "bytes (DI_CONFIG_MAX_BYTES)"));
    free(text);
    talloc_free(tmp);
    still_usable(c);
    t_fixture_done(c, root);
}

static void test_deep_nesting(void)
{
    void *root;
    di_container *c = fixture(&root);
    size_t n = 1000000;
    char *text = malloc(n + 1);
    CU_ASSERT_FATAL(text != NULL);
    memset(text, '[', n);
    text[n] = '\0';
    CU_ASSERT_EQUAL(di_config_load_string(c, text, "deep"), DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c),
                             "deep:1:33: nested deeper than 32 levels"));
    free(text);
    /* and as params of one provider */
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .name = "p",
        .kind = "demo.counter", .params = "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"
        }), DI_ENOTFOUND); /* the kind is not loaded yet: checked first */
    T_OK(di_plugin_load(c, "demo"));
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .name = "p",
        .kind = "demo.counter", .params = "{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"
        }), DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c),
                             "1:38: nested deeper than 32 levels"));
    still_usable(c);
    t_fixture_done(c, root);
}

static void test_million_providers(void)
{
    void *root;
    di_container *c = fixture(&root);
    /* in a configuration: 1,000,000 entries are over the size limit */
    size_t cap = 40u << 20, n = 0;
    char *text = malloc(cap);
    CU_ASSERT_FATAL(text != NULL);
    n += (size_t)snprintf(text, cap, "{ \"providers\": {");
    for (int i = 0; i < 1000000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"p%d\": {\"use\": "
                              "\"demo.counter\"}", i ? ", " : "", i);
    snprintf(text + n, cap - n, "} }");
    CU_ASSERT_EQUAL(di_config_load_string(c, text, "million"), DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "million: more than "
                             "4194304 bytes (DI_CONFIG_MAX_BYTES)"));
    free(text);
    t_fixture_done(c, root);
    if (RUNNING_ON_VALGRIND) {
        printf("\n  SKIP: a million providers through the API: too slow "
               "under valgrind (the other builds run it)\n");
        return;
    }
    /* through the API: registered, checked, sealed and used */
    c = fixture(&root);
    static const char *deps[3];
    char name[16], prev[16] = "";
    for (int i = 0; i < 1000000; i++) {
        snprintf(name, sizeof name, "p%d", i);
        deps[0] = *prev ? prev : NULL;
        deps[1] = NULL;
        if (di_provide(c, &(di_provider_desc){ .name = name,
                .lifetime = i % 2 ? "request" : "transient",
                .create = t_create, .deps = deps }) != 0) {
            CU_FAIL("di_provide");
            break;
        }
        if (i % 1000 == 999)
            snprintf(prev, sizeof prev, "p%d", i); /* chains of 1000 */
    }
    T_OK(di_container_seal(c));
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "p999999", &v));
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static void test_cycle_through_plugins(void)
{
    void *root;
    di_container *c = fixture(&root);
    T_OK(di_config_load_string(c, "{ \"plugins\": [\"loopa\", \"loopb\"],"
        " \"providers\": {"
        "  \"a\": { \"use\": \"loopa.node\", \"deps\": { \"next\": \"b\" } },"
        "  \"b\": { \"use\": \"loopb.node\", \"deps\": { \"next\": \"c\" } },"
        "  \"c\": { \"use\": \"loopa.node\", \"deps\": { \"next\": \"a\" } } } }",
        "loops"));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_TRUE(t_list_has(di_container_error(c),
                              "a \xe2\x86\x92 b \xe2\x86\x92 c \xe2\x86\x92 a: "
                              "dependency cycle"));
    t_fixture_done(c, root);
}

static void test_names_not_utf8(void)
{
    void *root;
    di_container *c = fixture(&root);
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"providers\": {\n"
        "  \"caf\xe9\": { \"use\": \"demo.counter\" } } }", "latin1"),
        DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "latin1:2:7: invalid "
                             "UTF-8 (byte 0xe9) in a string: the text must be "
                             "UTF-8"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"providers\": {\n"
        "  \"a\\u0000b\": { \"use\": \"demo.counter\" } } }", "nul"),
        DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "nul:2:5: \\u0000 in a "
                             "string: names and values cannot hold a NUL "
                             "character"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"providers\": {\n"
        "  \"\\ud800x\": { \"use\": \"demo.counter\" } } }", "surrogate"),
        DI_ECONFIG);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "surrogate:2:4: \\ud800 "
                             "is a high surrogate without its low half"));
    /* overlong '/' and an encoded surrogate, through the API */
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = "a\xc0\xaf",
        .lifetime = "request", .create = t_create }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = "\xed\xa0\x80",
        .lifetime = "request", .create = t_create }), DI_EINVAL);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "without ':' or control "
                             "characters"));
    /* well-formed UTF-8 is welcome */
    T_OK(di_provide(c, &(di_provider_desc){ .name = "caf\xc3\xa9 \xf0\x9f\x8d\xb5",
        .lifetime = "request", .create = t_create }));
    still_usable(c);
    t_fixture_done(c, root);
}

/* Names at the length limit: DI_NAME_MAX bytes are a name, one more is
 * not, counted in bytes when the last character takes several; a
 * dependency on the longest name finds it at seal. */
static void test_name_limit(void)
{
    void *root;
    di_container *c = fixture(&root);
    char longest[DI_NAME_MAX + 1], over[DI_NAME_MAX + 2], wide[DI_NAME_MAX + 2];
    memset(longest, 'n', DI_NAME_MAX);
    longest[DI_NAME_MAX] = '\0';
    memset(over, 'n', DI_NAME_MAX + 1);
    over[DI_NAME_MAX + 1] = '\0';
    memset(wide, 'n', DI_NAME_MAX - 1); /* then a 2-byte character: 256 */
    memcpy(wide + DI_NAME_MAX - 1, "\xc3\xa9", 3);
    const char *deps[] = { longest, NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = longest,
        .lifetime = "request", .create = t_create }));
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = over,
        .lifetime = "request", .create = t_create }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = wide,
        .lifetime = "request", .create = t_create }), DI_EINVAL);
    CU_ASSERT_TRUE(ends_with(di_container_error(c), "without ':' or control "
                             "characters"));
    wide[DI_NAME_MAX - 2] = '\0'; /* 253 + 2 bytes: the limit exactly */
    strcat(wide, "\xc3\xa9");
    T_OK(di_provide(c, &(di_provider_desc){ .name = wide,
        .lifetime = "request", .create = t_create, .deps = deps }));
    T_OK(t_consumer(c, "GET /long", "request", wide, NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *got;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "GET /long", &got, 1));
    CU_ASSERT_PTR_NOT_NULL(got);
    T_OK(di_scope_end(s, 0));
    di_scope_free(s);
    t_fixture_done(c, root);
}

static void test_plugin_paths(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = fixture(&root);
    /* ".." that stays inside a plugin directory is fine */
    char *inside = talloc_asprintf(tmp, "{ \"plugins\": "
        "[\"%s/../plugins/demo.so\"] }", T_PLUGIN_DIR);
    T_OK(di_config_load_string(c, inside, "inside"));
    /* a copy of a plugin outside the plugin directories is refused, and so
     * is a link from inside to it */
    char *dir = talloc_asprintf(tmp, "%s/elsewhere", T_BUILD_DIR);
    mkdir(dir, 0700);
    char *copy = talloc_asprintf(tmp, "%s/tiny.so", dir);
    char *cmd = talloc_asprintf(tmp, "cp %s/tiny.so %s", T_PLUGIN_DIR, copy);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    char *outside = talloc_asprintf(tmp, "{ \"plugins\": [\"%s\"] }", copy);
    CU_ASSERT_EQUAL(di_config_load_string(c, outside, "outside"), DI_EPLUGIN);
    char *want = talloc_asprintf(tmp, "outside:1:15: plugins[0]: plugin %s: "
        "outside the plugin directories (%s): a configuration loads plugins "
        "from those only", copy, T_PLUGIN_DIR);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    char *up = talloc_asprintf(tmp, "{ \"plugins\": [\"%s/../elsewhere/"
                               "tiny.so\"] }", T_PLUGIN_DIR);
    CU_ASSERT_EQUAL(di_config_load_string(c, up, "up"), DI_EPLUGIN);
    char *link = talloc_asprintf(tmp, "%s/sneaky.so", T_PLUGIN_DIR);
    unlink(link);
    CU_ASSERT_EQUAL_FATAL(symlink(copy, link), 0);
    char *via = talloc_asprintf(tmp, "{ \"plugins\": [\"%s\"] }", link);
    CU_ASSERT_EQUAL(di_config_load_string(c, via, "link"), DI_EPLUGIN);
    unlink(link);
    /* nothing from tiny was loaded by any of these */
    CU_ASSERT_EQUAL(di_instantiate(c, &(di_instance_desc){ .name = "t",
        .kind = "tiny.thing" }), DI_ENOTFOUND);
    unlink(copy);
    rmdir(dir);
    talloc_free(tmp);
    still_usable(c);
    t_fixture_done(c, root);
}

/* A name is searched in the configured plugin directories only: not in the
 * working directory, not where the dynamic linker would look. */
static void test_no_implicit_path(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    char cwd[4096];
    CU_ASSERT_FATAL(getcwd(cwd, sizeof cwd) != NULL);
    CU_ASSERT_EQUAL_FATAL(chdir(T_PLUGIN_DIR), 0); /* demo.so is right here */
    CU_ASSERT_EQUAL(di_plugin_load(c, "demo"), DI_EPLUGIN);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), "plugin demo: no such "
        "file: no plugin directories are configured (add one with "
        "di_plugin_dir() or \"plugin_dirs\", or give a path)"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"plugins\": [\"demo\"] }",
                                          "cfg"), DI_EPLUGIN);
    CU_ASSERT_EQUAL(di_plugin_load(c, "libc.so.6"), DI_EPLUGIN);
    CU_ASSERT_EQUAL_FATAL(chdir(cwd), 0);
    t_fixture_done(c, root);
}

/* ---- foreign code never runs ---- */

static char mark[600];

static bool marked(void) { return access(mark, F_OK) == 0; }

/* dir (made with mode) holding a copy of mark.so with mode file_mode. */
static char *plant(void *tmp, const char *name, mode_t dir_mode,
                   mode_t file_mode)
{
    char *dir = talloc_asprintf(tmp, "%s/%s-%d", T_BUILD_DIR, name,
                                (int)getpid());
    mkdir(dir, 0700);
    char *so = talloc_asprintf(tmp, "%s/mark.so", dir);
    char *cmd = talloc_asprintf(tmp, "cp %s/mark.so %s", T_MARKED_DIR, so);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL(chmod(so, file_mode), 0);
    CU_ASSERT_EQUAL(chmod(dir, dir_mode), 0);
    return dir;
}

static void unplant(void *tmp, const char *dir)
{
    char *so = talloc_asprintf(tmp, "%s/mark.so", dir);
    chmod(dir, 0700);
    unlink(so);
    rmdir(dir);
}

/* A shared object whose constructor leaves a mark, smuggled in by a
 * config's plugin_dirs, by a link inside a plugin directory, through a
 * directory or a file that others can write: refused each time before any
 * of its code runs, with the reason. (And the mark works: loaded from a
 * directory the program trusts, its constructor runs, and only then is it
 * refused for having no entry symbol.) */
static void test_foreign_code_never_runs(void)
{
    void *root, *tmp = talloc_new(NULL);
    snprintf(mark, sizeof mark, "%s/mark-%d", T_BUILD_DIR, (int)getpid());
    unlink(mark);
    setenv("DI_TEST_MARK", mark, 1);
    di_container *c = fixture(&root);
    char *cfg;

    /* a config may not add plugin directories ... */
    cfg = talloc_asprintf(tmp, "{ \"plugin_dirs\": [\"%s\"], \"plugins\": "
                          "[\"mark\"] }", T_MARKED_DIR);
    CU_ASSERT_EQUAL(di_config_load_string(c, cfg, "evil"), DI_EPLUGIN);
    char *want = talloc_asprintf(tmp, "evil:1:19: plugin_dirs[0]: '%s': a "
        "configuration may not add plugin directories (the program allows it "
        "with di_plugin_allow_config_dirs())", T_MARKED_DIR);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    CU_ASSERT_FALSE(marked());
    /* ... unless the program allowed it, and then only below its root */
    T_OK(di_plugin_allow_config_dirs(c, T_PLUGIN_DIR));
    CU_ASSERT_EQUAL(di_config_load_string(c, cfg, "evil"), DI_EPLUGIN);
    want = talloc_asprintf(tmp, "evil:1:19: plugin_dirs[0]: '%s' is not below %s, "
        "where the program lets a configuration add plugin directories",
        T_MARKED_DIR, T_PLUGIN_DIR);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    CU_ASSERT_FALSE(marked());

    /* a link inside a plugin directory that leads out of it, by name: from
     * a config and from the program alike */
    char *link = talloc_asprintf(tmp, "%s/linked.so", T_PLUGIN_DIR);
    char *target = talloc_asprintf(tmp, "%s/mark.so", T_MARKED_DIR);
    unlink(link);
    CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"plugins\": [\"linked\"] }",
                                          "linked"), DI_EPLUGIN);
    want = talloc_asprintf(tmp, "linked:1:15: plugins[0]: plugin %s: it leads "
                           "outside its plugin directory (to %s)", link,
                           target);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c), want));
    CU_ASSERT_EQUAL(di_plugin_load(c, "linked"), DI_EPLUGIN);
    unlink(link);
    CU_ASSERT_FALSE(marked());

    /* a directory, or a file, that every user can write */
    char *open_dir = plant(tmp, "open-dir", 0777, 0644);
    di_container *c2;
    T_OK(di_container_new(NULL, &c2));
    T_OK(di_plugin_dir(c2, open_dir));
    CU_ASSERT_EQUAL(di_plugin_load(c2, "mark"), DI_EPLUGIN);
    want = talloc_asprintf(tmp, "plugin %s/mark.so: its directory %s is "
                           "writable by every user, so the file in it could "
                           "have been replaced", open_dir, open_dir);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c2), want));
    CU_ASSERT_FALSE(marked());
    T_OK(di_container_free(c2));
    unplant(tmp, open_dir);
    char *open_file = plant(tmp, "open-file", 0755, 0666);
    T_OK(di_container_new(NULL, &c2));
    T_OK(di_plugin_dir(c2, open_file));
    CU_ASSERT_EQUAL(di_plugin_load(c2, "mark"), DI_EPLUGIN);
    want = talloc_asprintf(tmp, "plugin %s/mark.so: it is writable by every "
                           "user, so it could have been replaced", open_file);
    CU_ASSERT_TRUE(t_msg_is(di_container_error(c2), want));
    CU_ASSERT_FALSE(marked());
    T_OK(di_container_free(c2));

    /* the control: from a directory the program trusts, its code runs */
    CU_ASSERT_EQUAL(chmod(talloc_asprintf(tmp, "%s/mark.so", open_file),
                          0644), 0);
    T_OK(di_container_new(NULL, &c2));
    T_OK(di_plugin_dir(c2, open_file));
    CU_ASSERT_EQUAL(di_plugin_load(c2, "mark"), DI_EPLUGIN);
    CU_ASSERT_TRUE(ends_with(di_container_error(c2), "not a libdi plugin: no "
                             "entry symbol 'di_plugin_entry' (define it with "
                             "DI_PLUGIN())"));
    CU_ASSERT_TRUE(marked());
    T_OK(di_container_free(c2));
    unplant(tmp, open_file);
    unlink(mark);
    unsetenv("DI_TEST_MARK");
    talloc_free(tmp);
    still_usable(c);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a 100 MB file and string", test_huge_file_and_string },
        { "nesting a million deep", test_deep_nesting },
        { "a million providers", test_million_providers },
        { "a cycle through two plugins' kinds", test_cycle_through_plugins },
        { "names that are not UTF-8", test_names_not_utf8 },
        { "names at the length limit", test_name_limit },
        { "plugin paths with .. or outside the directories", test_plugin_paths },
        { "no plugin from an implicit path", test_no_implicit_path },
        { "foreign code never runs: dirs, links, writable files",
          test_foreign_code_never_runs },
        CU_TEST_INFO_NULL,
    };
    return t_run("hostile", tests);
}
