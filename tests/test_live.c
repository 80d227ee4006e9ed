/*
 * test_live.c — live reconfiguration: scopes pin the container current at
 * their begin; a publish is seen by the next begin; the old container's
 * singletons are disposed once, in reverse order, when its last scope ends
 * (ended or abandoned); an unsealed container is refused and the current
 * one stays; and under threads, requests flow through many publishes with
 * no failure and no use of a disposed instance (run under TSan too).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "helpers.h"

/* One container's wiring: a singleton "db" and a singleton "pool" that
 * needs it, both disposing; counters per container. */
typedef struct gen_stats {
    int id;
    atomic_int creates, disposes, uses, stale;
} gen_stats;

typedef struct dbobj { gen_stats *st; atomic_int alive; } dbobj;

static int make_db(const di_build *b, void **out)
{
    dbobj *d = b->mem;
    d->st = b->data;
    atomic_store(&d->alive, 1);
    atomic_fetch_add(&d->st->creates, 1);
    tlog_add("+%s%d", b->name, d->st->id);
    *out = d;
    return 0;
}

static int drop_db(const di_build *b, void *inst, int outcome)
{
    (void)outcome;
    dbobj *d = inst;
    atomic_store(&d->alive, 0);
    atomic_fetch_add(&d->st->disposes, 1);
    tlog_add("-%s%d", b->name, d->st->id);
    return 0;
}

static di_container *wired(gen_stats *st, bool seal)
{
    static const char *const pool_deps[] = { "db", NULL };
    di_container *c = NULL;
    CU_ASSERT_EQUAL_FATAL(di_container_new(NULL, &c), 0);
    T_OK(di_provide(c, &(di_provider_desc){ .name = "db",
        .lifetime = "singleton", .create = make_db, .dispose = drop_db,
        .size = sizeof(dbobj), .data = st }));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "pool",
        .lifetime = "singleton", .deps = pool_deps, .create = make_db,
        .dispose = drop_db, .size = sizeof(dbobj), .data = st }));
    if (seal)
        T_OK(di_container_seal(c));
    return c;
}

static dbobj *pool_of(di_scope *s)
{
    void *v = NULL;
    CU_ASSERT_EQUAL(di_get(s, "pool", &v), 0);
    return v;
}

static void test_publish_and_pin(void)
{
    gen_stats a = { .id = 1 }, b = { .id = 2 };
    size_t base = talloc_total_blocks(NULL);
    tlog_reset();
    di_live *l;
    T_OK(di_live_new(NULL, wired(&a, true), &l));
    CU_ASSERT_EQUAL(di_live_generation(l), 0);
    di_scope *s1, *s2;
    T_OK(di_live_begin(l, "request", NULL, &s1));
    dbobj *p1 = pool_of(s1);
    di_container *next = wired(&b, true);
    T_OK(di_live_publish(l, next));
    CU_ASSERT_EQUAL(di_live_generation(l), 1);
    CU_ASSERT_PTR_EQUAL(di_live_current(l), next);
    /* the running scope keeps the old container and its instances */
    CU_ASSERT_PTR_EQUAL(pool_of(s1), p1);
    CU_ASSERT_EQUAL(p1->st->id, 1);
    T_OK(di_live_begin(l, "request", NULL, &s2));
    CU_ASSERT_PTR_EQUAL(di_scope_container(s2), next);
    CU_ASSERT_EQUAL(pool_of(s2)->st->id, 2);
    CU_ASSERT_STRING_EQUAL(tlog(), "+db1 +pool1 +db2 +pool2");
    T_OK(di_scope_end(s2, 0));
    /* the old container lives until its last scope ends, then disposes
     * its singletons once, in reverse order */
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 0);
    T_OK(di_scope_end(s1, 0));
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 2);
    CU_ASSERT_STRING_EQUAL(tlog(), "+db1 +pool1 +db2 +pool2 -pool1 -db1");
    /* with no scope open, a publish frees the old one at once */
    gen_stats c3 = { .id = 3 };
    T_OK(di_live_publish(l, wired(&c3, true)));
    CU_ASSERT_EQUAL(atomic_load(&b.disposes), 2);
    CU_ASSERT_EQUAL(atomic_load(&b.creates), 2);
    T_OK(di_live_free(l));
    CU_ASSERT_EQUAL(atomic_load(&c3.creates), 0);
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 2); /* once, not again */
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

static void test_refused_and_busy(void)
{
    gen_stats a = { .id = 1 }, b = { .id = 2 };
    size_t base = talloc_total_blocks(NULL);
    tlog_reset();
    di_live *l;
    di_container *unsealed = wired(&a, false);
    CU_ASSERT_EQUAL(di_live_new(NULL, unsealed, &l), DI_ENOTSEALED);
    CU_ASSERT_PTR_NULL(l);
    T_OK(di_container_seal(unsealed));
    T_OK(di_live_new(NULL, unsealed, &l));
    di_scope *s;
    T_OK(di_live_begin(l, "request", NULL, &s));
    dbobj *p = pool_of(s);
    /* a container that did not seal (here: a missing provider) is
     * refused, and the running one stays */
    di_container *broken = wired(&b, false);
    T_OK(di_provide(broken, &(di_provider_desc){ .name = "x",
        .lifetime = "singleton", .create = make_db, .deps =
        (const char *const[]){ "missing", NULL }, .size = sizeof(dbobj),
        .data = &b }));
    CU_ASSERT_EQUAL(di_container_seal(broken), DI_EGRAPH);
    CU_ASSERT_EQUAL(di_live_publish(l, broken), DI_ENOTSEALED);
    CU_ASSERT(t_msg_is(di_container_error(broken), "di_live_publish: the "
                       "container is not sealed: refused, the current one "
                       "stays"));
    T_OK(di_container_free(broken)); /* still the caller's */
    CU_ASSERT_PTR_EQUAL(di_live_current(l), unsealed);
    CU_ASSERT_EQUAL(di_live_generation(l), 0);
    CU_ASSERT_EQUAL(di_live_publish(l, unsealed), DI_EINVAL);
    CU_ASSERT_EQUAL(di_live_publish(l, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_live_publish(NULL, unsealed), DI_EINVAL);
    /* begin errors pass through and pin nothing */
    di_scope *bad;
    CU_ASSERT_EQUAL(di_live_begin(l, "nolevel", NULL, &bad), DI_ELEVEL);
    CU_ASSERT_PTR_NULL(bad);
    /* (the level begun before is remembered by its key: other names and
     * none are still looked up, and refused) */
    CU_ASSERT_EQUAL(di_live_begin(l, "requesT", NULL, &bad), DI_ELEVEL);
    CU_ASSERT_EQUAL(di_live_begin(l, NULL, NULL, &bad), DI_EINVAL);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT_EQUAL(di_live_begin(NULL, "request", NULL, &bad), DI_EINVAL);
    /* the handle cannot go while a scope is pinned */
    CU_ASSERT_EQUAL(di_live_free(l), DI_EBUSY);
    CU_ASSERT_PTR_EQUAL(pool_of(s), p);
    T_OK(di_scope_end(s, 0));
    T_OK(di_live_free(l));
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 2);
    CU_ASSERT_EQUAL(di_live_free(NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

static void test_abandoned_scope_unpins(void)
{
    gen_stats a = { .id = 1 }, b = { .id = 2 };
    size_t base = talloc_total_blocks(NULL);
    tlog_reset();
    di_live *l;
    T_OK(di_live_new(NULL, wired(&a, true), &l));
    void *conn = talloc_new(NULL);
    di_scope *s;
    T_OK(di_live_begin(l, "request", conn, &s));
    pool_of(s);
    T_OK(di_live_publish(l, wired(&b, true)));
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 0);
    talloc_free(conn); /* the connection drops: the scope is abandoned */
    CU_ASSERT_EQUAL(atomic_load(&a.disposes), 2);
    T_OK(di_live_free(l));
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
}

/* ---- threads: requests through many publishes ---- */

enum { THREADS = 4, PUBLISHES = 40, MAX_GENS = PUBLISHES + 1 };

static gen_stats gens[MAX_GENS];
static atomic_int running, failures;

/* Until the publisher is done, or a bound: a busy thread must not starve
 * the publisher where threads are not scheduled fairly (valgrind runs one
 * thread at a time, and may hand the lock back to the same one). */
enum { REQUESTS_MAX = 40000 };

static void *requests(void *arg)
{
    di_live *l = arg;
    for (int i = 0; atomic_load(&running) && i < REQUESTS_MAX; i++) {
        if (i % 256 == 255)
            sched_yield();
        di_scope *s;
        void *v;
        if (di_live_begin(l, "request", NULL, &s) != 0) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        if (di_get(s, "pool", &v) != 0)
            atomic_fetch_add(&failures, 1);
        else {
            dbobj *p = v;
            atomic_fetch_add(&p->st->uses, 1);
            if (!atomic_load(&p->alive))
                atomic_fetch_add(&p->st->stale, 1);
        }
        if (di_scope_end(s, 0) != 0)
            atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

static void test_threads_through_publishes(void)
{
    size_t base = talloc_total_blocks(NULL);
    tlog_reset();
    memset(gens, 0, sizeof gens);
    for (int i = 0; i < MAX_GENS; i++)
        gens[i].id = i;
    di_live *l;
    T_OK(di_live_new(NULL, wired(&gens[0], true), &l));
    atomic_store(&running, 1);
    atomic_store(&failures, 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, requests, l), 0);
    for (int i = 1; i < MAX_GENS; i++) {
        /* let requests run on the current one for a moment */
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        T_OK(di_live_publish(l, wired(&gens[i], true)));
    }
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    atomic_store(&running, 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    T_OK(di_live_free(l));
    CU_ASSERT_EQUAL(atomic_load(&failures), 0);
    long uses = 0;
    for (int i = 0; i < MAX_GENS; i++) {
        gen_stats *g = &gens[i];
        uses += atomic_load(&g->uses);
        CU_ASSERT_EQUAL(atomic_load(&g->stale), 0);
        /* each singleton built at most once, disposed exactly once */
        CU_ASSERT(atomic_load(&g->creates) <= 2);
        CU_ASSERT_EQUAL(atomic_load(&g->disposes), atomic_load(&g->creates));
    }
    CU_ASSERT(uses > 0);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), base);
    fprintf(stderr, "\n  %ld requests through %d publishes on %d threads, "
            "%d failures\n", uses, PUBLISHES, THREADS,
            atomic_load(&failures));
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a publish is seen by the next begin", test_publish_and_pin },
        { "refused containers, busy handle", test_refused_and_busy },
        { "an abandoned scope unpins", test_abandoned_scope_unpins },
        { "requests on threads through publishes",
          test_threads_through_publishes },
        CU_TEST_INFO_NULL,
    };
    return t_run("live", tests);
}
