/*
 * test_consumer.c — consumers: whole dependency list in declared order, in
 * one call, by name and by key; errors with the path from the consumer.
 */
#include "helpers.h"

static di_container *c;

static void build(void)
{
    tlog_reset();
    T_OK(di_container_new(NULL, &c));
    T_OK(di_level(c, "job", "singleton"));
    T_OK(t_provide(c, "config", "singleton", NULL, NULL));
    T_OK(t_provide(c, "session", "request", NULL, "config", NULL));
    T_OK(t_provide(c, "current_user", "request", NULL, "session", "config", NULL));
    T_OK(t_provide(c, "tr", "transient", NULL, NULL));
    T_OK(di_consumer_add(c, &(di_consumer_desc){ .name = "GET /notes",
         .level = "request", .data = "notes handler",
         .deps = (const char *const[]){ "current_user", "?cache", "session",
                                        "config", "tr", NULL } }));
    T_OK(di_consumer_add(c, &(di_consumer_desc){ .name = "export",
         .level = "job", .deps = (const char *const[]){ "config", NULL } }));
    T_OK(di_container_seal(c));
}

static void test_declared_order_one_call(void)
{
    build();
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v[5];
    T_OK(di_resolve(s, "GET /notes", v, 5));
    CU_ASSERT_STRING_EQUAL(((tinst *)v[0])->name, "current_user");
    CU_ASSERT_PTR_NULL(v[1]);
    CU_ASSERT_STRING_EQUAL(((tinst *)v[2])->name, "session");
    CU_ASSERT_STRING_EQUAL(((tinst *)v[3])->name, "config");
    CU_ASSERT_STRING_EQUAL(((tinst *)v[4])->name, "tr");
    CU_ASSERT_PTR_EQUAL(((tinst *)v[0])->deps[0], v[2]);
    /* dependencies first, in declaration order */
    CU_ASSERT_STRING_EQUAL(tlog(), "+config +session +current_user +tr");
    int k = di_consumer_key(c, "GET /notes");
    CU_ASSERT(k >= 0);
    CU_ASSERT_STRING_EQUAL(di_consumer_data(c, k), "notes handler");
    void *w[5];
    T_OK(di_resolve_key(s, k, w, 5));
    CU_ASSERT_PTR_EQUAL(w[0], v[0]);
    CU_ASSERT_PTR_NOT_EQUAL(w[4], v[4]); /* a new transient each call */
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

static void test_errors(void)
{
    build();
    di_scope *s, *j;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_scope_begin(c, NULL, "job", NULL, &j));
    void *v[5];
    CU_ASSERT_EQUAL(di_resolve(s, "GET /note", v, 5), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(di_scope_error(s), "GET /note: no consumer 'GET /note'"));
    CU_ASSERT_EQUAL(di_resolve(s, "GET /notes", v, 4), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_scope_error(s), "GET /notes: di_resolve: out holds 4 "
                       "pointers, the consumer has 5 dependencies"));
    CU_ASSERT_EQUAL(di_resolve(j, "GET /notes", v, 5), DI_ESCOPE);
    CU_ASSERT(t_msg_is(di_scope_error(j), "GET /notes: 'GET /notes' runs in "
                       "'request' scopes, asked from a 'job' scope"));
    T_OK(di_resolve(j, "export", v, 1));
    CU_ASSERT_EQUAL(di_resolve_key(s, 77, v, 5), DI_EINVAL);
    CU_ASSERT_EQUAL(di_resolve(s, NULL, v, 5), DI_EINVAL);
    CU_ASSERT_EQUAL(di_consumer_key(c, "nope"), DI_ENOTFOUND);
    CU_ASSERT_PTR_NULL(di_consumer_data(c, 77));
    T_OK(di_scope_end(j, 0));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

static void test_failure_path_from_consumer(void)
{
    tbeh down = { .fail_code = -1001, .fail_times = -1, .msg = "no session" };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "session", "request", &down, NULL));
    T_OK(t_provide(c, "current_user", "request", NULL, "session", NULL));
    T_OK(t_consumer(c, "GET /notes", "request", "current_user", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v[1];
    CU_ASSERT_EQUAL(di_resolve(s, "GET /notes", v, 1), -1001);
    CU_ASSERT(t_msg_is(di_scope_error(s), "GET /notes \xe2\x86\x92 current_user "
                       "\xe2\x86\x92 session: no session"));
    T_OK(di_scope_end(s, 500));
    T_OK(di_container_free(c));
}

static void test_registration_rules(void)
{
    T_OK(di_container_new(NULL, &c));
    CU_ASSERT_EQUAL(di_consumer_add(c, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_consumer_add(c, &(di_consumer_desc){ .name = "" }),
                    DI_EINVAL);
    CU_ASSERT_EQUAL(t_consumer(c, "x", "request", "bad:", NULL), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_container_error(c), "'x': dependency #1 'bad:' is "
                       "malformed: expected [?]name[:type], names of 1 to 255 "
                       "bytes without ':'"));
    T_OK(di_consumer_add(c, &(di_consumer_desc){ .name = "default level" }));
    CU_ASSERT_EQUAL(di_consumer_key(c, "default level"), DI_ENOTSEALED);
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(di_consumer_add(c, &(di_consumer_desc){ .name = "late" }),
                    DI_ESEALED);
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve(s, "default level", NULL, 0));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "whole list in declared order, one call", test_declared_order_one_call },
        { "errors: unknown, short array, wrong level", test_errors },
        { "failure path starts at the consumer", test_failure_path_from_consumer },
        { "registration rules", test_registration_rules },
        CU_TEST_INFO_NULL,
    };
    return t_run("consumer", tests);
}
