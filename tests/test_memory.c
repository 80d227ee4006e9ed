/*
 * test_memory.c — memory reports: a scope's instances by provider (a
 * transient counted per instance, what a create hung on its memory
 * included), the rest of the scope apart, both formats; the singletons for
 * the container; the figures are talloc's own.
 */
#include <stdio.h>

#include "helpers.h"

/* Hangs "hello" on its memory. */
static int chatty_create(const di_build *b, void **out)
{
    if (!talloc_strdup(b->mem, "hello"))
        return DI_ENOMEM;
    *out = b->mem;
    return 0;
}

static int plain_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static di_container *build(void **root)
{
    di_container *c = t_fixture(root);
    static const char *const user_deps[] = { "session", "audit", NULL };
    static const char *const job_deps[] = { "user", "audit", NULL };
    T_OK(di_provide(c, &(di_provider_desc){ .name = "config",
        .lifetime = "singleton", .create = chatty_create, .size = 40 }));
    T_OK(di_provide_value(c, "port", NULL, "8080"));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "session",
        .lifetime = "request", .create = plain_create, .size = 24 }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "audit",
        .lifetime = "transient", .create = plain_create, .size = 16 }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "user",
        .lifetime = "request", .deps = user_deps, .create = chatty_create,
        .size = 24 }));
    T_OK(di_consumer_add(c, &(di_consumer_desc){ .name = "job",
        .deps = job_deps }));
    T_OK(di_container_seal(c));
    return c;
}

static void test_scope_report(void)
{
    void *root, *mem = talloc_new(NULL);
    di_container *c = build(&root);
    di_scope *s;
    void *out[2], *cfg;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "job", out, 2));
    T_OK(di_get(s, "config", &cfg)); /* a singleton: not the scope's */
    talloc_strdup(s, "hung on the scope by the program");
    char *text, *json;
    T_OK(di_scope_memory(s, DI_REPORT_TEXT, mem, &text));
    T_OK(di_scope_memory(s, DI_REPORT_JSON, mem, &json));
    /* session 24 in 1 block; audit twice, 16 each; user 24 + "hello" */
    size_t inst = 24 + 2 * 16 + 24 + 6, blocks = 1 + 2 + 2;
    size_t rest = talloc_total_size(s) - inst;
    size_t rest_blocks = talloc_total_blocks(s) - blocks;
    char *want = talloc_asprintf(mem,
        "request scope: 4 instances, %zu bytes in %zu blocks\n"
        "  session     1 instance        24 bytes     1 block\n"
        "  audit       2 instances       32 bytes     2 blocks\n"
        "  user        1 instance        30 bytes     2 blocks\n"
        "  (scope)                 %8zu bytes %5zu blocks\n",
        inst, blocks, rest, rest_blocks);
    CU_ASSERT_STRING_EQUAL(text, want);
    if (strcmp(text, want) != 0)
        fprintf(stderr, "\n%s---\n%s", text, want);
    char *jwant = talloc_asprintf(mem,
        "{\"level\":\"request\",\"instances\":4,\"bytes\":%zu,\"blocks\":%zu,"
        "\"providers\":[{\"name\":\"session\",\"instances\":1,\"bytes\":24,"
        "\"blocks\":1},{\"name\":\"audit\",\"instances\":2,\"bytes\":32,"
        "\"blocks\":2},{\"name\":\"user\",\"instances\":1,\"bytes\":30,"
        "\"blocks\":2}],\"scope\":{\"bytes\":%zu,\"blocks\":%zu}}\n",
        inst, blocks, rest, rest_blocks);
    CU_ASSERT_STRING_EQUAL(json, jwant);
    /* the scope's hung string is in "(scope)": 33 bytes more than bare */
    CU_ASSERT(rest >= 33 && rest_blocks >= 2);
    T_OK(di_scope_end(s, 0));
    /* a fresh scope holds nothing yet */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_scope_memory(s, DI_REPORT_JSON, mem, &json));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"instances\":0,\"bytes\":0,"
                                  "\"blocks\":0,\"providers\":[]"));
    CU_ASSERT_EQUAL(di_scope_memory(s, 7, mem, &json), DI_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_error_message(di_scope_error(s)),
                                  "di_scope_memory"));
    CU_ASSERT_EQUAL(di_scope_memory(NULL, DI_REPORT_TEXT, mem, &json),
                    DI_EINVAL);
    T_OK(di_scope_end(s, 0));
    talloc_free(mem);
    t_fixture_done(c, root);
}

static void test_container_report(void)
{
    void *root, *mem = talloc_new(NULL);
    di_container *c = t_fixture(&root);
    char *text;
    T_OK(di_provide(c, &(di_provider_desc){ .name = "config",
        .lifetime = "singleton", .create = chatty_create, .size = 40 }));
    CU_ASSERT_EQUAL(di_container_memory(c, DI_REPORT_TEXT, mem, &text),
                    DI_ENOTSEALED);
    T_OK(di_container_seal(c));
    T_OK(di_container_memory(c, DI_REPORT_TEXT, mem, &text));
    CU_ASSERT_STRING_EQUAL(text, "singletons: 0 instances, 0 bytes in 0 "
                           "blocks\n");
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "config", &v));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_memory(c, DI_REPORT_TEXT, mem, &text));
    CU_ASSERT_STRING_EQUAL(text, "singletons: 1 instance, 46 bytes in 2 "
                           "blocks\n"
                           "  config      1 instance        46 bytes     2 "
                           "blocks\n");
    T_OK(di_container_memory(c, DI_REPORT_JSON, mem, &text));
    CU_ASSERT_STRING_EQUAL(text, "{\"level\":\"singleton\",\"instances\":1,"
        "\"bytes\":46,\"blocks\":2,\"providers\":[{\"name\":\"config\","
        "\"instances\":1,\"bytes\":46,\"blocks\":2}],\"scope\":null}\n");
    CU_ASSERT_EQUAL(di_container_memory(NULL, DI_REPORT_TEXT, mem, &text),
                    DI_EINVAL);
    talloc_free(mem);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a scope's report, by provider", test_scope_report },
        { "the singletons' report", test_container_report },
        CU_TEST_INFO_NULL,
    };
    return t_run("memory", tests);
}
