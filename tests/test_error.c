/*
 * test_error.c — error codes and details: di_strerror for every code,
 * accessors safe on NULL, lists walked with next/count.
 */
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

int main(void)
{
    CU_TestInfo tests[] = {
        { "di_strerror covers every code", test_strerror },
        { "accessors are NULL-safe", test_null_safe },
        { "lists", test_list },
        CU_TEST_INFO_NULL,
    };
    return t_run("error", tests);
}
