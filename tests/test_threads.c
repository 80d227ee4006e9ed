/*
 * test_threads.c — after seal, many threads begin scopes and resolve at
 * once: each singleton is created exactly once (others wait and share it or
 * its error), different singletons build at the same time without deadlock,
 * per-request instances are never shared, a create asking for its own
 * singleton is an error rather than a hang.
 */
#include "helpers.h"

#include <pthread.h>

enum { THREADS = 8 };

static di_container *c;
static pthread_barrier_t gate;

typedef struct job {
    const char *name;
    int rc;
    void *got;
    char msg[256];
} job;

static void *ask_once(void *arg)
{
    job *j = arg;
    di_scope *s;
    if (di_scope_begin(c, NULL, "request", NULL, &s) != 0) {
        j->rc = -9999;
        return NULL;
    }
    pthread_barrier_wait(&gate);
    j->rc = di_get(s, j->name, &j->got);
    snprintf(j->msg, sizeof j->msg, "%s", di_error_message(di_scope_error(s)));
    di_scope_end(s, j->rc);
    return NULL;
}

static void run_all(job *jobs, int n)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&gate, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, ask_once, &jobs[i]);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&gate);
}

static void test_singleton_once_under_contention(void)
{
    tbeh slow = { .sleep_ms = 100 };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "cfg", "singleton", &slow, NULL));
    T_OK(di_container_seal(c));
    job jobs[THREADS] = { { 0 } };
    for (int i = 0; i < THREADS; i++)
        jobs[i].name = "cfg";
    run_all(jobs, THREADS);
    CU_ASSERT_EQUAL(slow.creates, 1);
    for (int i = 0; i < THREADS; i++) {
        CU_ASSERT_EQUAL(jobs[i].rc, 0);
        CU_ASSERT_PTR_EQUAL(jobs[i].got, jobs[0].got);
    }
    T_OK(di_container_free(c));
    CU_ASSERT_EQUAL(slow.disposes, 1);
}

static void test_waiters_share_the_error(void)
{
    tbeh flaky = { .sleep_ms = 200, .fail_code = -1001, .fail_times = 1,
                   .msg = "database is down" };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "db", "singleton", &flaky, NULL));
    T_OK(di_container_seal(c));
    job jobs[THREADS] = { { 0 } };
    for (int i = 0; i < THREADS; i++)
        jobs[i].name = "db";
    run_all(jobs, THREADS);
    int failed = 0, shared = 0, ok = 0;
    void *inst = NULL;
    for (int i = 0; i < THREADS; i++) {
        if (jobs[i].rc == -1001) {
            failed++;
            if (strcmp(jobs[i].msg, "db: failed in another thread: db: "
                                    "database is down") == 0)
                shared++;
            else
                CU_ASSERT_STRING_EQUAL(jobs[i].msg, "db: database is down");
        } else {
            CU_ASSERT_EQUAL(jobs[i].rc, 0);
            CU_ASSERT(inst == NULL || inst == jobs[i].got);
            inst = jobs[i].got;
            ok++;
        }
    }
    CU_ASSERT_EQUAL(failed - shared, 1); /* exactly one thread built and failed */
    CU_ASSERT(shared >= 1);              /* waiters on it shared its error */
    CU_ASSERT_EQUAL(failed + ok, THREADS);
    /* never cached: the next request builds it */
    job again = { .name = "db" };
    run_all(&again, 1);
    CU_ASSERT_EQUAL(again.rc, 0);
    CU_ASSERT_EQUAL(flaky.creates, 1);
    T_OK(di_container_free(c));
}

/* A singleton whose create resolves another singleton, built while other
 * threads build that one and an unrelated one: nothing deadlocks. */
static int nested_create(const di_build *b, void **out)
{
    void *inner;
    int rc = di_get(b->scope, "inner", &inner);
    if (rc)
        return rc;
    return t_create(b, out);
}

static void test_nested_singletons_no_deadlock(void)
{
    tbeh slow_inner = { .sleep_ms = 50 }, slow_other = { .sleep_ms = 50 };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "inner", "singleton", &slow_inner, NULL));
    T_OK(t_provide(c, "other", "singleton", &slow_other, NULL));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "outer",
         .lifetime = "singleton", .create = nested_create }));
    T_OK(di_container_seal(c));
    job jobs[6] = { { .name = "outer" }, { .name = "inner" }, { .name = "other" },
                    { .name = "outer" }, { .name = "inner" }, { .name = "other" } };
    run_all(jobs, 6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(jobs[i].rc, 0);
    CU_ASSERT_EQUAL(slow_inner.creates, 1);
    CU_ASSERT_EQUAL(slow_other.creates, 1);
    T_OK(di_container_free(c));
}

static int self_create(const di_build *b, void **out)
{
    return di_get(b->scope, "self", out);
}

static void test_self_request_is_an_error(void)
{
    T_OK(di_container_new(NULL, &c));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "self",
         .lifetime = "singleton", .create = self_create }));
    T_OK(di_container_seal(c));
    job j = { .name = "self" };
    run_all(&j, 1);
    CU_ASSERT_EQUAL(j.rc, DI_ECYCLE);
    CU_ASSERT_STRING_EQUAL(j.msg, "self \xe2\x86\x92 self: 'self' is already "
                                  "being built on this thread (its create "
                                  "asked for it again)");
    T_OK(di_container_free(c));
}

/* Many requests on many threads: per-request instances are never shared. */
enum { REQS = 2000 };
static tbeh req_beh, tr_beh, cfg_beh;

static void *many(void *arg)
{
    int *bad = arg;
    pthread_barrier_wait(&gate);
    for (int i = 0; i < REQS; i++) {
        di_scope *s;
        void *v[3];
        if (di_scope_begin(c, NULL, "request", NULL, &s) ||
            di_resolve(s, "handler", v, 3)) {
            (*bad)++;
            continue;
        }
        tinst *sess = v[1], *user = v[2];
        if (user->deps[0] != sess || user->deps[1] != v[0])
            (*bad)++;
        if (di_scope_end(s, 0))
            (*bad)++;
    }
    return NULL;
}

static void test_many_requests(void)
{
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "cfg", "singleton", &cfg_beh, NULL));
    T_OK(t_provide(c, "session", "request", &req_beh, "cfg", NULL));
    T_OK(t_provide(c, "tr", "transient", &tr_beh, NULL));
    T_OK(t_provide(c, "user", "request", &req_beh, "session", "cfg", "tr", NULL));
    T_OK(t_consumer(c, "handler", "request", "cfg", "session", "user", NULL));
    T_OK(di_container_seal(c));
    tlog_reset();
    pthread_t t[4];
    int bad[4] = { 0 };
    pthread_barrier_init(&gate, NULL, 4);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, many, &bad[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&gate);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(bad[i], 0);
    CU_ASSERT_EQUAL(cfg_beh.creates, 1);
    CU_ASSERT_EQUAL(req_beh.creates, 2 * 4 * REQS);
    CU_ASSERT_EQUAL(req_beh.disposes, 2 * 4 * REQS);
    CU_ASSERT_EQUAL(tr_beh.creates, 4 * REQS);
    CU_ASSERT_EQUAL(tr_beh.disposes, 4 * REQS);
    T_OK(di_container_free(c));
    CU_ASSERT_EQUAL(cfg_beh.disposes, 1);
}

/* The first builds of a transient on many threads at once: its program
 * (plan.c) is made once, under the container's lock, and read by all. */
static void test_program_made_once(void)
{
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "cfg", "singleton", NULL, NULL));
    T_OK(t_provide(c, "db", "request", NULL, "cfg", NULL));
    T_OK(t_provide(c, "t", "transient", NULL, "cfg", "db", NULL));
    T_OK(t_provide(c, "ctl", "transient", NULL, "t", "t", "db", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_get(s, "cfg", &v));
    T_OK(di_scope_end(s, 0));
    size_t before = talloc_total_blocks(c);
    job jobs[THREADS] = { { 0 } };
    for (int i = 0; i < THREADS; i++)
        jobs[i].name = "ctl";
    run_all(jobs, THREADS);
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL(jobs[i].rc, 0);
    /* one program, and the table of the transients' programs (the threads'
     * spare scope blocks are theirs: freed when they exited) */
    CU_ASSERT_EQUAL(talloc_total_blocks(c), before + 2);
    di_container_free(c);
}

/* Child scopes on other threads read their parent's instances at once,
 * the parent idle: nothing is written under them (ThreadSanitizer). */
typedef struct reader {
    di_scope *kid;
    int rc;
    void *got[3];
} reader;

static void *read_parent(void *arg)
{
    reader *r = arg;
    static const char *const names[] = { "a", "b", "c" };
    pthread_barrier_wait(&gate);
    for (int n = 0; n < 200 && !r->rc; n++)
        for (int k = 0; k < 3 && !r->rc; k++)
            r->rc = di_get(r->kid, names[k], &r->got[k]);
    return NULL;
}

static void test_children_read_parent(void)
{
    T_OK(di_container_new(NULL, &c));
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(t_provide(c, "a", "connection", NULL, NULL));
    T_OK(t_provide(c, "b", "connection", NULL, "a", NULL));
    T_OK(t_provide(c, "c", "connection", NULL, NULL));
    T_OK(di_container_seal(c));
    di_scope *cs;
    void *want[3];
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &cs));
    T_OK(di_get(cs, "b", &want[1])); /* a and b built, not looked up */
    reader r[THREADS] = { { 0 } };
    for (int i = 0; i < THREADS; i++)
        T_OK(di_scope_begin(c, cs, "request", NULL, &r[i].kid));
    /* built while the children are open (its lookup first fills the
     * table with a and b; nothing looks it up before the threads do) */
    T_OK(di_get(cs, "c", &want[2]));
    want[0] = ((tinst *)want[1])->deps[0];
    pthread_t t[THREADS];
    pthread_barrier_init(&gate, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, read_parent, &r[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&gate);
    for (int i = 0; i < THREADS; i++) {
        CU_ASSERT_EQUAL(r[i].rc, 0);
        for (int k = 0; k < 3; k++)
            CU_ASSERT_PTR_EQUAL(r[i].got[k], want[k]);
    }
    T_OK(di_scope_end(cs, 0));
    di_container_free(c);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a singleton is created once under contention", test_singleton_once_under_contention },
        { "waiters share the builder's error; never cached", test_waiters_share_the_error },
        { "nested singleton creates do not deadlock", test_nested_singletons_no_deadlock },
        { "a create asking for itself is an error, not a hang", test_self_request_is_an_error },
        { "many threads, many requests, nothing shared", test_many_requests },
        { "a program is made once for all threads", test_program_made_once },
        { "child scopes on threads read their parent", test_children_read_parent },
        CU_TEST_INFO_NULL,
    };
    return t_run("threads", tests);
}
