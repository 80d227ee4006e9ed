/*
 * test_trace.c — resolution tracing: a scope's trace (provider, level, path,
 * create and dispose times, failures) as JSON; the hook's events in order,
 * the singletons' at container free; the complete trace at scope end;
 * tracing off by default and switched on before seal only.
 */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "helpers.h"

#define ARROW "\xe2\x86\x92"

/* The hook writes one line per event; at a scope's end it keeps the
 * scope's complete trace. */
typedef struct seen {
    char log[4096];
    char *final;   /* the trace at the last scope end (malloc) */
    int scope_ends;
    bool null_scope_dispose;
} seen;

static void on_event(const di_trace_event *ev, void *data)
{
    seen *w = data;
    size_t n = strlen(w->log);
    static const char *const what[] = { "?", "create", "dispose", "end" };
    snprintf(w->log + n, sizeof w->log - n, "%s %s %s%s%s rc=%d\n",
             what[ev->what], ev->provider ? ev->provider : "-", ev->level,
             ev->path ? " " : "", ev->path ? ev->path : "", ev->rc);
    if (ev->what == DI_TRACE_DISPOSE && !ev->scope)
        w->null_scope_dispose = true;
    if (ev->what == DI_TRACE_SCOPE_END) {
        char *json;
        w->scope_ends++;
        CU_ASSERT_EQUAL(di_scope_trace(ev->scope, NULL, &json), 0);
        free(w->final);
        w->final = json ? strdup(json) : NULL;
        talloc_free(json);
    }
}

static di_container *build(void **root, seen *w, tbeh *failing)
{
    di_container *c = t_fixture(root);
    T_OK(di_trace_enable(c, on_event, w));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "sess", "request", NULL, NULL));
    T_OK(t_provide(c, "user", "request", NULL, "sess", "cfg", NULL));
    T_OK(t_provide(c, "tmp", "transient", NULL, NULL));
    T_OK(t_provide(c, "flaky", "request", failing, "sess", NULL));
    T_OK(t_consumer(c, "GET /me", "request", "user", "tmp", NULL));
    T_OK(di_container_seal(c));
    return c;
}

/* builds[i] of a trace: its fields as one line, the times as "t" (a
 * number) or "null". */
static const char *build_line(const char *json, int i, char *buf, size_t n)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *b = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(root, "builds"), i);
    if (!b) {
        cJSON_Delete(root);
        return "(none)";
    }
    const cJSON *cr = cJSON_GetObjectItemCaseSensitive(b, "create_ns");
    const cJSON *dp = cJSON_GetObjectItemCaseSensitive(b, "dispose_ns");
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(b, "error");
    snprintf(buf, n, "%s %s [%s] create=%s dispose=%s error=%s",
             cJSON_GetObjectItemCaseSensitive(b, "provider")->valuestring,
             cJSON_GetObjectItemCaseSensitive(b, "level")->valuestring,
             cJSON_GetObjectItemCaseSensitive(b, "path")->valuestring,
             cJSON_IsNumber(cr) && cr->valuedouble >= 0 ? "t" : "?",
             cJSON_IsNumber(dp) && dp->valuedouble >= 0 ? "t"
             : cJSON_IsNull(dp)                         ? "null" : "?",
             cJSON_IsString(er) ? er->valuestring
             : cJSON_IsNull(er) ? "null" : "?");
    cJSON_Delete(root);
    return buf;
}

static int count_builds(const char *json)
{
    cJSON *root = cJSON_Parse(json);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root,
                                                                "builds"));
    cJSON_Delete(root);
    return n;
}

static void test_scope_trace(void)
{
    void *root;
    seen w = { .log = "" };
    di_container *c = build(&root, &w, NULL);
    di_scope *s;
    void *deps[2];
    char *json, buf[256];
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "GET /me", deps, 2));
    T_OK(di_scope_trace(s, root, &json));
    CU_ASSERT_EQUAL(count_builds(json), 4);
    CU_ASSERT_STRING_EQUAL(build_line(json, 0, buf, sizeof buf),
                           "sess request [GET /me " ARROW " user " ARROW
                           " sess] create=t dispose=null error=null");
    CU_ASSERT_STRING_EQUAL(build_line(json, 1, buf, sizeof buf),
                           "cfg singleton [GET /me " ARROW " user " ARROW
                           " cfg] create=t dispose=null error=null");
    CU_ASSERT_STRING_EQUAL(build_line(json, 2, buf, sizeof buf),
                           "user request [GET /me " ARROW " user] create=t "
                           "dispose=null error=null");
    CU_ASSERT_STRING_EQUAL(build_line(json, 3, buf, sizeof buf),
                           "tmp transient [GET /me " ARROW " tmp] create=t "
                           "dispose=null error=null");
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"level\":\"request\",\"builds\":"));
    talloc_free(json);
    /* cached instances are not built again: nothing new in the trace */
    void *u;
    T_OK(di_get(s, "user", &u));
    T_OK(di_scope_trace(s, root, &json));
    CU_ASSERT_EQUAL(count_builds(json), 4);
    talloc_free(json);
    T_OK(di_scope_end(s, 0));
    /* at the end the hook read the complete trace: disposes timed, the
     * singleton's still to come */
    CU_ASSERT_EQUAL(w.scope_ends, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.final);
    CU_ASSERT_STRING_EQUAL(build_line(w.final, 0, buf, sizeof buf),
                           "sess request [GET /me " ARROW " user " ARROW
                           " sess] create=t dispose=t error=null");
    CU_ASSERT_STRING_EQUAL(build_line(w.final, 1, buf, sizeof buf),
                           "cfg singleton [GET /me " ARROW " user " ARROW
                           " cfg] create=t dispose=null error=null");
    CU_ASSERT_STRING_EQUAL(build_line(w.final, 3, buf, sizeof buf),
                           "tmp transient [GET /me " ARROW " tmp] create=t "
                           "dispose=t error=null");
    CU_ASSERT_FALSE(w.null_scope_dispose);
    T_OK(di_container_free(c));
    CU_ASSERT_TRUE(w.null_scope_dispose);
    CU_ASSERT_STRING_EQUAL(w.log,
        "create sess request GET /me " ARROW " user " ARROW " sess rc=0\n"
        "create cfg singleton GET /me " ARROW " user " ARROW " cfg rc=0\n"
        "create user request GET /me " ARROW " user rc=0\n"
        "create tmp transient GET /me " ARROW " tmp rc=0\n"
        "dispose tmp transient rc=0\n"
        "dispose user request rc=0\n"
        "dispose sess request rc=0\n"
        "end - request rc=0\n"
        "dispose cfg singleton rc=0\n");
    free(w.final);
    CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
    talloc_free(root);
}

static void test_failure_traced(void)
{
    void *root;
    seen w = { .log = "" };
    tbeh fails = { .fail_code = DI_EPROVIDER, .fail_times = 1,
                   .msg = "no luck" };
    di_container *c = build(&root, &w, &fails);
    di_scope *s;
    void *v;
    char *json, buf[256];
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_get(s, "flaky", &v), DI_EPROVIDER);
    T_OK(di_get(s, "flaky", &v)); /* the second try works */
    T_OK(di_scope_trace(s, root, &json));
    CU_ASSERT_STRING_EQUAL(build_line(json, 0, buf, sizeof buf),
                           "sess request [flaky " ARROW " sess] create=t "
                           "dispose=null error=null");
    CU_ASSERT_STRING_EQUAL(build_line(json, 1, buf, sizeof buf),
                           "flaky request [flaky] create=t dispose=null "
                           "error=provider failed");
    CU_ASSERT_STRING_EQUAL(build_line(json, 2, buf, sizeof buf),
                           "flaky request [flaky] create=t dispose=null "
                           "error=null");
    talloc_free(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(w.log, "create flaky request flaky "
                                         "rc=-11\n"));
    T_OK(di_scope_end(s, 0));
    free(w.final);
    t_fixture_done(c, root);
}

static void test_off_by_default(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(t_provide(c, "sess", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_trace_enable(c, NULL, NULL), DI_ESEALED);
    CU_ASSERT_EQUAL(di_trace_enable(NULL, NULL, NULL), DI_EINVAL);
    di_scope *s;
    void *v;
    char *json = (char *)"untouched";
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "sess", &v));
    CU_ASSERT_EQUAL(di_scope_trace(s, root, &json), DI_EINVAL);
    CU_ASSERT_PTR_NULL(json);
    CU_ASSERT(t_msg_is(di_scope_error(s), "di_scope_trace: tracing is off "
                       "(di_trace_enable, before seal)"));
    CU_ASSERT_EQUAL(di_scope_trace(NULL, root, &json), DI_EINVAL);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);

    /* on without a hook: the scope's trace alone */
    c = t_fixture(&root);
    T_OK(di_trace_enable(c, NULL, NULL));
    T_OK(t_provide(c, "sess", "request", NULL, NULL));
    T_OK(di_container_seal(c));
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "sess", &v));
    T_OK(di_scope_trace(s, root, &json));
    CU_ASSERT_EQUAL(count_builds(json), 1);
    talloc_free(json);
    CU_ASSERT_EQUAL(di_scope_trace(s, root, NULL), DI_EINVAL);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a scope's trace and the hook's events", test_scope_trace },
        { "a failed create is traced", test_failure_traced },
        { "off by default, on before seal", test_off_by_default },
        CU_TEST_INFO_NULL,
    };
    return t_run("trace", tests);
}
