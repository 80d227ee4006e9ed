#define _POSIX_C_SOURCE 200809L
/*
 * helpers.c — see helpers.h.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[T_LOG_MAX];
static atomic_int serials;

void tlog_reset(void)
{
    pthread_mutex_lock(&log_lock);
    log_buf[0] = 0;
    pthread_mutex_unlock(&log_lock);
}

void tlog_add(const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    size_t n = strlen(log_buf);
    if (n && n < sizeof log_buf - 1)
        log_buf[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log_buf + n, sizeof log_buf - n, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&log_lock);
}

const char *tlog(void) { return log_buf; }

int t_create(const di_build *b, void **out)
{
    tbeh *beh = b->data;
    if (beh && beh->sleep_ms) {
        struct timespec ts = { 0, beh->sleep_ms * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (beh && beh->fail_code && beh->fail_times != 0) {
        if (beh->fail_times > 0)
            beh->fail_times--;
        if (beh->leak_on_fail)
            talloc_strdup(b->mem, "left behind by a failing create");
        tlog_add("!%s", b->name);
        if (beh->msg)
            return di_fail(b, beh->fail_code, "%s", beh->msg);
        return beh->fail_code;
    }
    tinst *t = talloc_zero(b->mem, tinst);
    if (!t)
        return DI_ENOMEM;
    t->name = b->name;
    t->serial = atomic_fetch_add(&serials, 1) + 1;
    t->ndeps = b->ndeps;
    for (size_t i = 0; i < b->ndeps && i < 8; i++)
        t->deps[i] = b->deps[i];
    if (beh)
        __atomic_fetch_add(&beh->creates, 1, __ATOMIC_SEQ_CST);
    tlog_add("+%s", b->name);
    *out = t;
    return 0;
}

int t_dispose(const di_build *b, void *inst, int outcome)
{
    tbeh *beh = b->data;
    tinst *t = inst;
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t)
        CU_ASSERT_STRING_EQUAL(t->name, b->name);
    tlog_add("-%s:%d", b->name, outcome);
    if (beh) {
        __atomic_fetch_add(&beh->disposes, 1, __ATOMIC_SEQ_CST);
        if (beh->dispose_fail)
            return di_fail(b, beh->dispose_fail, "cannot release %s", b->name);
    }
    return 0;
}

static int vprovide(di_container *c, const char *name, const char *type,
                    const char *lifetime, tbeh *beh, va_list ap)
{
    const char *deps[16];
    int n = 0;
    const char *d;
    while ((d = va_arg(ap, const char *)) && n < 15)
        deps[n++] = d;
    deps[n] = NULL;
    return di_provide(c, &(di_provider_desc){
        .name = name, .type = type, .lifetime = lifetime, .deps = deps,
        .create = t_create, .dispose = t_dispose, .data = beh });
}

int t_provide(di_container *c, const char *name, const char *lifetime,
              tbeh *beh, ...)
{
    va_list ap;
    va_start(ap, beh);
    int rc = vprovide(c, name, NULL, lifetime, beh, ap);
    va_end(ap);
    return rc;
}

int t_provide_typed(di_container *c, const char *name, const char *type,
                    const char *lifetime, tbeh *beh, ...)
{
    va_list ap;
    va_start(ap, beh);
    int rc = vprovide(c, name, type, lifetime, beh, ap);
    va_end(ap);
    return rc;
}

int t_consumer(di_container *c, const char *name, const char *level, ...)
{
    const char *deps[16];
    int n = 0;
    va_list ap;
    va_start(ap, level);
    const char *d;
    while ((d = va_arg(ap, const char *)) && n < 15)
        deps[n++] = d;
    va_end(ap);
    deps[n] = NULL;
    return di_consumer_add(c, &(di_consumer_desc){
        .name = name, .level = level, .deps = deps });
}

bool t_msg_is(const di_error *e, const char *want)
{
    const char *got = di_error_message(e);
    if (strcmp(got, want) == 0)
        return true;
    fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, got);
    return false;
}

bool t_list_has(const di_error *e, const char *want)
{
    for (const di_error *x = e; x; x = di_error_next(x))
        if (strcmp(di_error_message(x), want) == 0)
            return true;
    fprintf(stderr, "\n  missing: %s\n  list:\n", want);
    for (const di_error *x = e; x; x = di_error_next(x))
        fprintf(stderr, "    %s\n", di_error_message(x));
    return false;
}

di_container *t_fixture(void **root)
{
    di_container *c = NULL;
    tlog_reset();
    *root = talloc_new(NULL);
    CU_ASSERT_EQUAL_FATAL(di_container_new(*root, &c), 0);
    return c;
}

void t_fixture_done(di_container *c, void *root)
{
    CU_ASSERT_EQUAL(di_container_free(c), 0);
    CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
    talloc_free(root);
}

di_scope *t_request(di_container *c)
{
    di_scope *s = NULL;
    CU_ASSERT_EQUAL_FATAL(di_scope_begin(c, NULL, "request", NULL, &s), 0);
    return s;
}

int t_run(const char *suite, CU_TestInfo *tests)
{
    return t_run_with(suite, NULL, NULL, tests);
}

int t_run_with(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
               CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_SuiteInfo suites[] = { { (char *)suite, init, clean, NULL, NULL, tests },
                              CU_SUITE_INFO_NULL };
    if (CU_register_suites(suites) != CUE_SUCCESS)
        return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || ran == 0 ? 1 : 0;
}

char t_graph_names[T_GRAPH_N][8];
const char *t_graph_deps[T_GRAPH_N][4];

const char *t_graph_lifetime(int i)
{
    return i < 10 ? "singleton" : i < 30 ? "request" : i < 40 ? "transient"
                                                              : "request";
}

void t_graph_init(void)
{
    for (int i = 0; i < T_GRAPH_N; i++) {
        snprintf(t_graph_names[i], sizeof t_graph_names[i], "p%d", i);
        int k = 0;
        for (int j = i - 1; j >= 0 && k < 3; j -= 2 + i % 5)
            if (i >= 10 || j < 10) /* singletons need singletons */
                t_graph_deps[i][k++] = t_graph_names[j];
        t_graph_deps[i][k] = NULL;
    }
}

int t_graph_provide(di_container *c, int i, tbeh *beh)
{
    return t_provide(c, t_graph_names[i], t_graph_lifetime(i), beh,
                     t_graph_deps[i][0], t_graph_deps[i][1],
                     t_graph_deps[i][2], NULL);
}

int t_pg_conninfo(const char *dir, char *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pg.conninfo", dir);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(out, (int)n, f)) {
        printf("SKIP: no PostgreSQL server (tests/pg.sh start did not run or "
               "found no server)\n");
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return 0;
}
