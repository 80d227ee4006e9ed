/*
 * test_error.c — error codes and details: di_strerror for every code,
 * accessors safe on NULL, lists walked with next/count, and an error's
 * parts as data: reason, path as names, provider (seal, resolution,
 * teardown, configuration) agree with its message.
 */
#include <stdarg.h>
#include <stdio.h>

#include "helpers.h"

static void test_strerror(void)
{
    const char *seen[24] = { 0 };
    for (int code = DI_OK; code >= DI_ECONFIG; code--) {
        const char *s = di_strerror(code);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_NOT_EQUAL(s, "unknown error");
        for (int k = 0; k < -code; k++)
            CU_ASSERT_STRING_NOT_EQUAL(s, seen[k]);
        seen[-code] = s;
    }
    CU_ASSERT_STRING_EQUAL(di_strerror(-999), "unknown error");
    CU_ASSERT_STRING_EQUAL(di_strerror(1), "unknown error");
}

static void test_null_safe(void)
{
    CU_ASSERT_EQUAL(di_error_code(NULL), DI_OK);
    CU_ASSERT_STRING_EQUAL(di_error_message(NULL), "");
    CU_ASSERT_STRING_EQUAL(di_error_path(NULL), "");
    CU_ASSERT_STRING_EQUAL(di_error_reason(NULL), "");
    CU_ASSERT_STRING_EQUAL(di_error_provider(NULL), "");
    CU_ASSERT_EQUAL(di_error_path_len(NULL), 0);
    CU_ASSERT_PTR_NULL(di_error_path_name(NULL, 0));
    CU_ASSERT_PTR_NULL(di_error_next(NULL));
    CU_ASSERT_EQUAL(di_error_count(NULL), 0);
    CU_ASSERT_PTR_NULL(di_container_error(NULL));
}

static void test_list(void)
{
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "a", "request", NULL, "x", NULL));
    T_OK(t_provide(c, "b", "request", NULL, "y", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT_EQUAL(di_error_count(e), 2);
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "a \xe2\x86\x92 x");
    CU_ASSERT_STRING_EQUAL(di_error_path(di_error_next(e)), "b \xe2\x86\x92 y");
    CU_ASSERT_PTR_NULL(di_error_next(di_error_next(e)));
    CU_ASSERT_EQUAL(di_error_count(di_error_next(e)), 1);
    T_OK(di_container_free(c));
}

/* e's path has exactly the names given (NULL-terminated), its message is
 * "path: reason" and its provider the last name. */
static void expect_parts(const di_error *e, const char *path,
                         const char *reason, ...)
{
    CU_ASSERT_STRING_EQUAL(di_error_path(e), path);
    CU_ASSERT_STRING_EQUAL(di_error_reason(e), reason);
    char want[512];
    snprintf(want, sizeof want, "%s%s%s", path, *path ? ": " : "", reason);
    CU_ASSERT_STRING_EQUAL(di_error_message(e), want);
    va_list ap;
    va_start(ap, reason);
    size_t i = 0;
    const char *last = "";
    for (const char *n; (n = va_arg(ap, const char *)); i++) {
        CU_ASSERT_STRING_EQUAL(di_error_path_name(e, i) ?
                               di_error_path_name(e, i) : "(none)", n);
        last = n;
    }
    va_end(ap);
    CU_ASSERT_EQUAL(di_error_path_len(e), i);
    CU_ASSERT_PTR_NULL(di_error_path_name(e, i));
    CU_ASSERT_STRING_EQUAL(di_error_provider(e), last);
}

#define ARROW " \xe2\x86\x92 "

static void test_parts(void)
{
    /* seal: a missing provider, a captive one (levels in the text only) */
    di_container *c;
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "cache", "singleton", NULL, "user", NULL));
    T_OK(t_provide(c, "user", "request", NULL, NULL));
    T_OK(t_consumer(c, "GET /x", "request", "session", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    for (; e && di_error_code(e) != DI_ENOTFOUND; e = di_error_next(e))
        ;
    expect_parts(e, "GET /x" ARROW "session", "no provider 'session'",
                 "GET /x", "session", NULL);
    e = di_container_error(c);
    for (; e && di_error_code(e) != DI_ECAPTIVE; e = di_error_next(e))
        ;
    expect_parts(e, "cache (singleton)" ARROW "user (request)",
                 "captive dependency: 'cache' lives in 'singleton' and would "
                 "keep 'user' from 'request' alive past its scope",
                 "cache", "user", NULL);
    T_OK(di_container_free(c));

    /* resolution: the path that led to a failing create */
    tbeh down = { .fail_code = DI_EPROVIDER, .fail_times = -1,
                  .msg = "db is down" };
    tbeh bad_dispose = { .dispose_fail = DI_EPROVIDER };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "session", "request", &down, NULL));
    T_OK(t_provide(c, "repo", "request", NULL, "session", NULL));
    T_OK(t_provide(c, "audit", "request", &bad_dispose, NULL));
    T_OK(t_consumer(c, "GET /x", "request", "repo", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *out[1];
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve(s, "GET /x", out, 1), DI_EPROVIDER);
    expect_parts(di_scope_error(s), "GET /x" ARROW "repo" ARROW "session",
                 "db is down", "GET /x", "repo", "session", NULL);
    /* teardown: each failed dispose names its provider */
    T_OK(di_get(s, "audit", out));
    CU_ASSERT_EQUAL(di_scope_settle(s, 0), DI_EDISPOSE);
    e = di_scope_error(s);
    CU_ASSERT_STRING_EQUAL(di_error_provider(e), "audit");
    CU_ASSERT_EQUAL(di_error_path_len(e), 1);
    T_OK(di_scope_free(s));
    T_OK(di_container_free(c));

    /* a configuration: a JSON path, and no dependency path */
    T_OK(di_container_new(NULL, &c));
    CU_ASSERT_EQUAL(di_config_load_string(c, "{\"scopes\": {\"job\": 1}}",
                                          "app.json"), DI_ECONFIG);
    e = di_container_error(c);
    CU_ASSERT_STRING_EQUAL(di_error_message(e), "app.json:1:20: scopes.job: "
                           "expected string, got number");
    CU_ASSERT_STRING_EQUAL(di_error_path(e), "scopes.job");
    CU_ASSERT_STRING_EQUAL(di_error_reason(e), "expected string, got number");
    CU_ASSERT_EQUAL(di_error_path_len(e), 0);
    CU_ASSERT_STRING_EQUAL(di_error_provider(e), "");
    T_OK(di_container_free(c));
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "di_strerror covers every code", test_strerror },
        { "accessors are NULL-safe", test_null_safe },
        { "lists", test_list },
        { "an error's parts: reason, path as names, provider", test_parts },
        CU_TEST_INFO_NULL,
    };
    return t_run("error", tests);
}
