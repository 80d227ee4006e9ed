/*
 * test_graph.c — the graph as JSON and DOT: golden outputs for a valid and a
 * broken config, problems drawn on the graph, nothing sealed by looking.
 */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* The file's text, with every "@PLUGINS@" replaced by the plugin dir. */
static char *golden(void *mem, const char *name)
{
    char *path = talloc_asprintf(mem, T_DATA_DIR "/graph/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *out = talloc_strdup(mem, "");
    for (char *p = buf, *at; out; p = at + 9) {
        at = strstr(p, "@PLUGINS@");
        if (!at)
            return talloc_strdup_append(out, p);
        out = talloc_asprintf_append(out, "%.*s%s", (int)(at - p), p,
                                     T_PLUGIN_DIR);
    }
    return out;
}

/* Compare with the golden file; on a difference write the actual output
 * next to the build for a diff. */
static bool same(void *mem, const char *got, const char *name)
{
    char *want = golden(mem, name);
    if (want && strcmp(want, got) == 0)
        return true;
    char *path = talloc_asprintf(mem, T_BUILD_DIR "/%s.actual", name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(got, f);
        fclose(f);
    }
    fprintf(stderr, "\n%s differs from %s/graph/%s (see %s)\n", name,
            T_DATA_DIR, name, path);
    return false;
}

static di_container *from_config(void **root, const char *name)
{
    di_container *c = t_fixture(root);
    T_OK(di_plugin_dir(c, T_PLUGIN_DIR));
    char *path = talloc_asprintf(NULL, T_DATA_DIR "/config/%s.json", name);
    T_OK(di_config_load_file(c, path));
    talloc_free(path);
    return c;
}

static void test_golden_valid(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = from_config(&root, "app");
    T_OK(di_container_seal(c));
    char *json, *dot;
    T_OK(di_graph_json(c, tmp, &json));
    T_OK(di_graph_dot(c, tmp, &dot));
    CU_ASSERT_TRUE(same(tmp, json, "app.golden.json"));
    CU_ASSERT_TRUE(same(tmp, dot, "app.golden.dot"));
    talloc_free(json);
    talloc_free(dot);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

static void test_golden_broken(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = from_config(&root, "graph_errors");
    char *json, *dot;
    T_OK(di_graph_json(c, tmp, &json));
    T_OK(di_graph_dot(c, tmp, &dot));
    CU_ASSERT_TRUE(same(tmp, json, "graph_errors.golden.json"));
    CU_ASSERT_TRUE(same(tmp, dot, "graph_errors.golden.dot"));
    /* looking did not seal; sealing reports the same problems */
    CU_ASSERT_FALSE(di_container_sealed(c));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT_EQUAL(di_error_count(di_container_error(c)), 2);
    talloc_free(json);
    talloc_free(dot);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

/* Levels, transients, values, optional deps and a cycle, built in C. */
static void test_shapes_and_problems(void)
{
    void *root, *tmp = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    T_OK(di_level(c, "job", "singleton"));
    T_OK(di_provide_value(c, "config", "cfg", NULL));
    T_OK(t_provide(c, "log", "transient", NULL, "config", NULL));
    T_OK(di_provide_value(c, "audit", NULL, NULL));
    T_OK(t_provide(c, "tx", "request", NULL, "?audit", "log", "?metrics", NULL));
    T_OK(t_provide(c, "a", "job", NULL, "b", NULL));
    T_OK(t_provide(c, "b", "job", NULL, "a", NULL));
    T_OK(t_provide(c, "q\"uote", "singleton", NULL, "tx", NULL));
    T_OK(t_consumer(c, "GET /", "request", "tx", NULL));
    char *dot, *json;
    T_OK(di_graph_dot(c, tmp, &dot));
    CU_ASSERT_TRUE(same(tmp, dot, "shapes.golden.dot"));
    T_OK(di_graph_json(c, tmp, &json));
    CU_ASSERT_TRUE(same(tmp, json, "shapes.golden.json"));
    CU_ASSERT_FALSE(di_container_sealed(c));
    talloc_free(dot);
    talloc_free(json);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

static void test_errors(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(di_graph_json(NULL, NULL, &out), DI_EINVAL);
    CU_ASSERT_EQUAL(di_graph_dot(NULL, NULL, &out), DI_EINVAL);
    void *root, *tmp = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    CU_ASSERT_EQUAL(di_graph_dot(c, tmp, NULL), DI_EINVAL);
    /* an empty container has a graph too */
    T_OK(di_graph_json(c, tmp, &out));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"sealed\":\tfalse"));
    talloc_free(out);
    talloc_free(tmp);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "golden JSON and DOT of a valid config", test_golden_valid },
        { "golden JSON and DOT of a broken config", test_golden_broken },
        { "levels, transients, values, cycles", test_shapes_and_problems },
        { "bad arguments, empty container", test_errors },
        CU_TEST_INFO_NULL,
    };
    return t_run("graph", tests);
}
