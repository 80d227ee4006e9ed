/*
 * test_set.c — multi-bindings: members in the order they were added, each
 * with its own lifetime; the set at its innermost member's level; an empty
 * set; seal's checks through sets (missing, captive, cycle, members on
 * different branches); registration errors that leave the container
 * usable; sets from a config; sets in the graph export.
 */
#include <stdio.h>

#include "helpers.h"

#define ARROW "\xe2\x86\x92"

static const char *member_name(const di_set *s, size_t i)
{
    return ((const tinst *)s->items[i])->name;
}

static void test_members_in_order(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_set_declare(c, "checks"));
    T_OK(t_provide(c, "a", "singleton", NULL, NULL));
    T_OK(di_set_add(c, "checks", "c")); /* registered below */
    T_OK(di_set_add(c, "checks", "a"));
    T_OK(di_set_add(c, "checks", "b"));
    T_OK(t_provide(c, "b", "singleton", NULL, NULL));
    T_OK(t_provide(c, "c", "singleton", NULL, NULL));
    T_OK(t_consumer(c, "GET /health", "request", "checks", NULL));
    T_OK(di_container_seal(c));
    di_scope *s1, *s2;
    void *d1, *d2;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s1));
    T_OK(di_resolve(s1, "GET /health", &d1, 1));
    const di_set *set = d1;
    CU_ASSERT_EQUAL_FATAL(set->n, 3);
    CU_ASSERT_STRING_EQUAL(member_name(set, 0), "c");
    CU_ASSERT_STRING_EQUAL(member_name(set, 1), "a");
    CU_ASSERT_STRING_EQUAL(member_name(set, 2), "b");
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b");
    /* a set of singletons is a singleton: the same set in the next scope */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s2));
    T_OK(di_resolve(s2, "GET /health", &d2, 1));
    CU_ASSERT_PTR_EQUAL(d1, d2);
    T_OK(di_scope_end(s2, 0));
    T_OK(di_scope_end(s1, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b");
    T_OK(di_container_free(c));
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b -b:0 -a:0 -c:0");
    CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
    talloc_free(root);
}

static void test_members_keep_lifetimes(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "sess", "request", NULL, NULL));
    T_OK(t_provide(c, "tmp", "transient", NULL, NULL));
    T_OK(di_set_declare(c, "per_request"));
    T_OK(di_set_add(c, "per_request", "cfg"));
    T_OK(di_set_add(c, "per_request", "sess"));
    T_OK(di_set_declare(c, "each_time"));
    T_OK(di_set_add(c, "each_time", "sess"));
    T_OK(di_set_add(c, "each_time", "tmp"));
    T_OK(di_container_seal(c));
    di_scope *s1, *s2;
    void *a, *b, *x, *y, *z;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s1));
    T_OK(di_get(s1, "per_request", &a));
    T_OK(di_get(s1, "per_request", &b));
    CU_ASSERT_PTR_EQUAL(a, b); /* cached in the request scope */
    T_OK(di_get(s1, "each_time", &x));
    T_OK(di_get(s1, "each_time", &y));
    CU_ASSERT_PTR_NOT_EQUAL(x, y); /* a transient member: built each time */
    const di_set *sa = a, *sx = x, *sy = y;
    CU_ASSERT_PTR_EQUAL(sa->items[1], sx->items[0]); /* one session */
    CU_ASSERT_PTR_EQUAL(sx->items[0], sy->items[0]);
    CU_ASSERT_PTR_NOT_EQUAL(sx->items[1], sy->items[1]);
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s2));
    T_OK(di_get(s2, "per_request", &z));
    const di_set *sz = z;
    CU_ASSERT_PTR_NOT_EQUAL(z, a); /* another request, another set ... */
    CU_ASSERT_PTR_EQUAL(sz->items[0], sa->items[0]); /* ... one cfg */
    CU_ASSERT_PTR_NOT_EQUAL(sz->items[1], sa->items[1]);
    T_OK(di_scope_end(s2, 0));
    CU_ASSERT_STRING_EQUAL(tlog(), "+cfg +sess +tmp +tmp +sess -sess:0");
    tlog_reset();
    T_OK(di_scope_end(s1, 7));
    CU_ASSERT_STRING_EQUAL(tlog(), "-tmp:7 -tmp:7 -sess:7");
    t_fixture_done(c, root);
}

static void test_empty_set(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_set_declare(c, "exporters"));
    T_OK(di_set_declare(c, "exporters")); /* again: fine */
    T_OK(t_consumer(c, "job", "request", "exporters", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *d;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "job", &d, 1));
    const di_set *set = d;
    CU_ASSERT_EQUAL(set->n, 0);
    CU_ASSERT_PTR_NULL(set->items);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static void test_nested_and_overridden(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "a", "singleton", NULL, NULL));
    T_OK(t_provide(c, "b", "request", NULL, NULL));
    T_OK(di_set_declare(c, "inner"));
    T_OK(di_set_add(c, "inner", "a"));
    T_OK(di_set_declare(c, "outer"));
    T_OK(di_set_add(c, "outer", "inner"));
    T_OK(di_set_add(c, "outer", "b"));
    /* a test replaces a member: the set holds the replacement */
    T_OK(di_override(c, &(di_provider_desc){ .name = "a",
        .lifetime = "singleton", .create = t_create, .dispose = t_dispose,
        .type = "fake" }));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *d;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "outer", &d));
    const di_set *outer = d, *inner = outer->items[0];
    CU_ASSERT_EQUAL_FATAL(outer->n, 2);
    CU_ASSERT_EQUAL_FATAL(inner->n, 1);
    CU_ASSERT_STRING_EQUAL(member_name(inner, 0), "a");
    CU_ASSERT_STRING_EQUAL(member_name(outer, 1), "b");
    void *a;
    T_OK(di_get_typed(s, "a", "fake", &a));
    CU_ASSERT_PTR_EQUAL(inner->items[0], a);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static void test_seal_checks_members(void)
{
    di_container *c = NULL;
    T_OK(di_container_new(NULL, &c));
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "tx", "request", NULL, NULL));
    T_OK(t_provide(c, "batch", "job", NULL, NULL));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    /* missing member, with its path */
    T_OK(di_set_declare(c, "checks"));
    T_OK(di_set_add(c, "checks", "cfg"));
    T_OK(di_set_add(c, "checks", "nope"));
    T_OK(t_consumer(c, "GET /health", "request", "checks", NULL));
    /* a request member makes the set a request one: captive from a
     * singleton */
    T_OK(di_set_declare(c, "hooks"));
    T_OK(di_set_add(c, "hooks", "cfg"));
    T_OK(di_set_add(c, "hooks", "tx"));
    T_OK(t_provide(c, "pool", "singleton", NULL, "hooks", NULL));
    /* members no scope holds together */
    T_OK(di_set_declare(c, "mixed"));
    T_OK(di_set_add(c, "mixed", "tx"));
    T_OK(di_set_add(c, "mixed", "batch"));
    /* a cycle through a set */
    T_OK(di_set_declare(c, "loop"));
    T_OK(di_set_add(c, "loop", "self"));
    T_OK(t_provide(c, "self", "singleton", NULL, "loop", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 4);
    CU_ASSERT(t_list_has(e, "GET /health " ARROW " checks " ARROW " nope: "
                            "no provider 'nope'"));
    CU_ASSERT(t_list_has(e, "pool (singleton) " ARROW " hooks (request): "
                            "captive dependency: 'pool' lives in 'singleton' "
                            "and would keep 'hooks' from 'request' alive past "
                            "its scope"));
    CU_ASSERT(t_list_has(e, "mixed: set 'mixed': member 'tx' lives in "
                            "'request' and member 'batch' in 'job': no scope "
                            "holds both"));
    CU_ASSERT(t_list_has(e, "loop " ARROW " self " ARROW " loop: dependency "
                            "cycle"));
    di_container_free(c);
}

static void test_registration_errors(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    CU_ASSERT_EQUAL(di_set_add(c, "checks", "db"), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_set_add('checks', 'db'): no "
                       "such set (declare it with di_set_declare)"));
    CU_ASSERT_EQUAL(di_set_add(c, "db", "db"), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_set_add('db', 'db'): that "
                       "is a provider, not a set"));
    CU_ASSERT_EQUAL(di_set_declare(c, "db"), DI_EEXIST);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_set_declare: 'db' is "
                       "already a provider, not a set"));
    T_OK(di_set_declare(c, "checks"));
    T_OK(di_set_add(c, "checks", "db"));
    CU_ASSERT_EQUAL(di_set_add(c, "checks", "db"), DI_EEXIST);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_set_add('checks', 'db'): "
                       "already a member"));
    CU_ASSERT_EQUAL(di_set_add(c, "checks", "?db"), DI_EINVAL);
    CU_ASSERT_EQUAL(di_set_add(c, "checks", NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_set_declare(c, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_set_declare(NULL, "x"), DI_EINVAL);
    CU_ASSERT_EQUAL(di_set_add(NULL, "x", "y"), DI_EINVAL);
    CU_ASSERT_EQUAL(t_provide(c, "checks", "singleton", NULL, NULL),
                    DI_EEXIST);
    CU_ASSERT_EQUAL(di_override(c, &(di_provider_desc){ .name = "checks",
        .lifetime = "singleton", .create = t_create }), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_override: 'checks' is a "
                       "set: override its members instead"));
    /* nothing was lost: the container seals (the duplicate provider is a
     * problem seal reports, so it is not tried here) and the set works */
    di_container_free(c);
    c = NULL;
    CU_ASSERT_EQUAL_FATAL(di_container_new(root, &c), 0);
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    T_OK(di_set_declare(c, "checks"));
    CU_ASSERT_EQUAL(di_set_add(c, "nochecks", "db"), DI_ENOTFOUND);
    T_OK(di_set_add(c, "checks", "db"));
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_set_declare(c, "late"), DI_ESEALED);
    CU_ASSERT_EQUAL(di_set_add(c, "checks", "db"), DI_ESEALED);
    di_scope *s;
    void *d;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "checks", &d));
    CU_ASSERT_EQUAL(((const di_set *)d)->n, 1);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

static void test_config_sets(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    T_OK(t_provide(c, "disk", "request", NULL, NULL));
    T_OK(di_set_declare(c, "checks"));
    T_OK(di_set_add(c, "checks", "db")); /* the program's member first */
    T_OK(di_config_load_string(c, "{ \"sets\": { \"checks\": [ \"disk\" ], "
                                  "\"exporters\": [] } }", "app.json"));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *d, *e;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "checks", &d));
    T_OK(di_get(s, "exporters", &e));
    const di_set *checks = d;
    CU_ASSERT_EQUAL_FATAL(checks->n, 2);
    CU_ASSERT_STRING_EQUAL(member_name(checks, 0), "db");
    CU_ASSERT_STRING_EQUAL(member_name(checks, 1), "disk");
    CU_ASSERT_EQUAL(((const di_set *)e)->n, 0);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);

    /* shape errors name the JSON path; registration errors the member */
    c = t_fixture(&root);
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"sets\": { \"a\": \"db\", "
                                             "\"b\": [ 1 ] } }", "app.json"),
                    DI_ECONFIG);
    const di_error *err = di_container_error(c);
    CU_ASSERT(t_list_has(err, "app.json:1:18: sets.a: expected array, got string"));
    CU_ASSERT(t_list_has(err, "app.json:1:31: sets.b[0]: expected string, got "
                              "number"));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{ \"sets\": { \"db\": [], "
                                             "\"ok\": [ \"db\", \"db\" ] } }",
                                          "app.json"), DI_ECONFIG);
    err = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(err), 2);
    CU_ASSERT(t_list_has(err, "app.json:1:19: sets.db: di_set_declare: 'db' is "
                              "already a provider, not a set"));
    CU_ASSERT(t_list_has(err, "app.json:1:37: sets.ok[1]: di_set_add('ok', 'db'): "
                              "already a member"));
    T_OK(di_container_seal(c)); /* "ok" with its one member is there */
    t_fixture_done(c, root);
}

static void test_graph_shows_sets(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    T_OK(t_provide(c, "disk", "request", NULL, NULL));
    T_OK(di_set_declare(c, "checks"));
    T_OK(di_set_add(c, "checks", "disk"));
    T_OK(di_set_add(c, "checks", "db"));
    T_OK(di_container_seal(c));
    char *json, *dot;
    T_OK(di_graph_json(c, root, &json));
    T_OK(di_graph_dot(c, root, &dot));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"name\":\t\"checks\",\n\t\t\t"
                                        "\"type\":\tnull,\n\t\t\t\"lifetime\":\t"
                                        "\"request\",\n\t\t\t\"kind\":\tnull,"
                                        "\n\t\t\t\"value\":\tfalse,\n\t\t\t"
                                        "\"external\":\tfalse,\n\t\t\t\"set\":"
                                        "\ttrue\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"external\":\tfalse,\n\t\t\t\"set\":"
                                        "\tfalse\n"));
    /* the set is drawn in its level's cluster, its edges numbered */
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "p2 [label=\"checks\\nset\", "
                                       "shape=box3d, style=solid];"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "p2 -> p1 [label=\"1\"];"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dot, "p2 -> p0 [label=\"2\"];"));
    talloc_free(json);
    talloc_free(dot);
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "members in the order they were added", test_members_in_order },
        { "members keep their lifetimes", test_members_keep_lifetimes },
        { "an empty declared set", test_empty_set },
        { "nested sets, overridden member", test_nested_and_overridden },
        { "seal checks every member", test_seal_checks_members },
        { "registration errors lose nothing", test_registration_errors },
        { "sets from a config", test_config_sets },
        { "the graph shows sets", test_graph_shows_sets },
        CU_TEST_INFO_NULL,
    };
    return t_run("set", tests);
}
