/*
 * test_async.c — asynchronous providers and resolutions (di/async.h): a
 * create that finishes later, independent creates started together, a
 * shared one created once, failure with cancellation, a scope that ends
 * while creates are pending, seal's checks, and allocation failures over
 * the whole path. The "loop" is a queue the test drains by hand, so every
 * interleaving is chosen, not timed.
 */
#include "helpers.h"

#include "fault.h"

/* ---- a loop of one queue ---- */

enum { SYNC, LATER, LATER_NO_CANCEL, INSIDE, NO_TAKE, FAIL_LATER };

typedef struct aprov {
    const char *name;
    int mode;
    int dmode;     /* its dispose: SYNC (0), LATER or FAIL_LATER */
    int creates, cancels, disposes, last_outcome;
} aprov;

typedef struct op {
    di_pending *p;
    aprov *a;
    void *mem;     /* the create's b->mem: the instance */
    bool live;     /* not finished nor cancelled */
    bool dispose;  /* a pending dispose */
} op;

#define OPS_MAX 64
static op ops[OPS_MAX];
static int nops;

static void cancelled(di_pending *p, void *arg)
{
    op *o = arg;
    CU_ASSERT_PTR_EQUAL(o->p, p);
    o->a->cancels++;
    o->live = false;
    tlog_add("~%s", o->a->name);
}

static int a_create(const di_build *b, void **out)
{
    aprov *a = b->data;
    a->creates++;
    tlog_add("+%s", a->name);
    tinst *t = b->mem;
    t->name = a->name;
    for (size_t i = 0; i < b->ndeps && i < 8; i++)
        t->deps[i] = b->deps[i];
    t->ndeps = b->ndeps;
    if (a->mode == SYNC) {
        *out = t;
        return 0;
    }
    if (a->mode == NO_TAKE)
        return DI_PENDING;
    di_pending *p = di_pending_take(b);
    if (!p)
        return di_fail(b, DI_EINVAL, "'%s' cannot wait here", a->name);
    CU_ASSERT_PTR_EQUAL(di_pending_take(b), p); /* the same handle again */
    if (a->mode == INSIDE) {
        di_pending_done(p, t);
        return DI_PENDING;
    }
    CU_ASSERT_FATAL(nops < OPS_MAX);
    op *o = &ops[nops++];
    *o = (op){ p, a, t, true, false };
    if (a->mode != LATER_NO_CANCEL)
        di_pending_on_cancel(p, cancelled, o);
    return DI_PENDING;
}

static int a_dispose(const di_build *b, void *inst, int outcome)
{
    aprov *a = b->data;
    a->disposes++;
    a->last_outcome = outcome;
    tlog_add("-%s:%d", a->name, outcome);
    di_pending *p = a->dmode != SYNC ? di_pending_take(b) : NULL;
    if (!p) /* synchronous settle: done now */
        return 0;
    CU_ASSERT_FATAL(nops < OPS_MAX);
    ops[nops++] = (op){ p, a, inst, true, true };
    return DI_PENDING;
}

/* Finish a's queued dispose. */
static int finish_dispose(aprov *a)
{
    for (int i = 0; i < nops; i++)
        if (ops[i].a == a && ops[i].live && ops[i].dispose) {
            ops[i].live = false;
            tlog_add("!%s", a->name);
            if (a->dmode == FAIL_LATER)
                return di_pending_fail(ops[i].p, -43, "%s: COMMIT failed",
                                       a->name);
            return di_pending_done(ops[i].p, NULL);
        }
    CU_FAIL_FATAL("no pending dispose");
    return -1;
}

/* The queued create of a (live), or NULL. */
static op *op_of(const aprov *a)
{
    for (int i = 0; i < nops; i++)
        if (ops[i].a == a && ops[i].live)
            return &ops[i];
    return NULL;
}

/* Finish a's queued create with its instance. */
static int finish_op(aprov *a)
{
    op *o = op_of(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    o->live = false;
    if (a->mode == FAIL_LATER)
        return di_pending_fail(o->p, -42, "%s: connection refused", a->name);
    return di_pending_done(o->p, o->mem);
}

static int provide(di_container *c, aprov *a, const char *lifetime,
                   const char *const *deps, bool async)
{
    int rc = di_provide(c, &(di_provider_desc){ .name = a->name,
        .lifetime = lifetime, .deps = deps, .create = a_create,
        .dispose = a_dispose, .data = a, .size = sizeof(tinst) });
    return rc || !async ? rc : di_async_provider(c, a->name);
}

/* The resolution's callback: its result, once. */
typedef struct got {
    int calls, rc;
    void *out[4];
    char msg[256];
} got;

static void resolved(di_scope *s, int rc, void *arg)
{
    got *g = arg;
    g->calls++;
    g->rc = rc;
    tlog_add("=%d", rc);
    if (rc)
        snprintf(g->msg, sizeof g->msg, "%s",
                 di_error_message(di_scope_error(s)));
}

/* Is the event log want? Prints both when not. */
static bool log_is(const char *want)
{
    if (strcmp(tlog(), want) == 0)
        return true;
    fprintf(stderr, "\n  log:    %s\n  wanted: %s\n", tlog(), want);
    return false;
}

static void reset(void)
{
    nops = 0;
    tlog_reset();
}

/* ---- the graph most tests use ----
 * GET /a needs ab (sync, needs a), b: a and b wait (independent), ab needs
 * a; all per request. */
static aprov pa, pb, pab;
static const char *const ab_deps[] = { "a", NULL };

static di_container *graph(void **root, int mode_a, int mode_b)
{
    reset();
    pa = (aprov){ .name = "a", .mode = mode_a };
    pb = (aprov){ .name = "b", .mode = mode_b };
    pab = (aprov){ .name = "ab", .mode = SYNC };
    di_container *c = t_fixture(root);
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(provide(c, &pb, "request", NULL, true));
    T_OK(provide(c, &pab, "request", ab_deps, false));
    T_OK(t_consumer(c, "GET /a", "request", "ab", "b", NULL));
    T_OK(di_async_consumer(c, "GET /a"));
    T_OK(di_container_seal(c));
    di_scope *s; /* a first scope: release builds keep its block as the
                    thread's spare, which the block counts then include */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_scope_end(s, 0));
    return c;
}

/* A new request scope of c in which GET /a is resolved and waits. */
static di_scope *waiting(di_container *c, got *g)
{
    di_scope *s;
    CU_ASSERT_EQUAL_FATAL(di_scope_begin(c, NULL, "request", NULL, &s), 0);
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g->out, 2, resolved, g),
                    DI_PENDING);
    return s;
}

/* Independent creates start together; a dependent waits for its
 * dependency; the callback comes once, with the instances; teardown runs
 * in the reverse order of completion. */
static void test_together_and_ordered(void)
{
    void *root;
    di_container *c = graph(&root, LATER, LATER);
    di_scope *s;
    got g = { 0 };
    s = waiting(c, &g);
    /* both waiting creates started before either finished; ab waits */
    CU_ASSERT(log_is("+a +b"));
    CU_ASSERT_EQUAL(nops, 2);
    CU_ASSERT_EQUAL(g.calls, 0);
    T_OK(finish_op(&pb));
    CU_ASSERT_EQUAL(g.calls, 0);
    CU_ASSERT_EQUAL(pab.creates, 0);
    T_OK(finish_op(&pa)); /* a done: ab is built, and the consumer is ready */
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, 0);
    CU_ASSERT(log_is("+a +b +ab =0"));
    tinst *ab = g.out[0], *b = g.out[1];
    CU_ASSERT_STRING_EQUAL(ab->name, "ab");
    CU_ASSERT_STRING_EQUAL(b->name, "b");
    CU_ASSERT_STRING_EQUAL(((tinst *)ab->deps[0])->name, "a");
    /* cached: a synchronous lookup finds them */
    void *v;
    T_OK(di_get(s, "a", &v));
    CU_ASSERT_PTR_EQUAL(v, ab->deps[0]);
    tlog_reset();
    T_OK(di_scope_end(s, 0));
    CU_ASSERT(log_is("-ab:0 -a:0 -b:0")); /* completed b, a, ab */
    CU_ASSERT_EQUAL(pa.creates + pb.creates + pab.creates, 3);
    t_fixture_done(c, root);
}

/* A consumer whose plan is not compiled (a transient in it) takes the
 * general walk: the transient that needs a pending create is built after
 * it finished, and a connection-level pending create is waited for from a
 * request scope below it. */
static void test_general_walk(void)
{
    void *root;
    reset();
    aprov pc = { .name = "conn_a", .mode = LATER };
    aprov pt = { .name = "tr", .mode = SYNC };
    pa = (aprov){ .name = "a", .mode = LATER };
    static const char *const tr_deps[] = { "a", "conn_a", NULL };
    di_container *c = t_fixture(&root);
    T_OK(di_level(c, "connection", "singleton"));
    T_OK(di_level(c, "request", "connection"));
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(provide(c, &pc, "connection", NULL, true));
    T_OK(provide(c, &pt, "transient", tr_deps, false));
    T_OK(t_consumer(c, "GET /t", "request", "tr", NULL));
    T_OK(di_async_consumer(c, "GET /t"));
    T_OK(di_container_seal(c));
    di_scope *conn, *s;
    got g = { 0 };
    T_OK(di_scope_begin(c, NULL, "connection", NULL, &conn));
    T_OK(di_scope_begin(c, conn, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /t", g.out, 1, resolved, &g),
                    DI_PENDING);
    CU_ASSERT(log_is("+a +conn_a"));
    T_OK(finish_op(&pc));
    CU_ASSERT_EQUAL(g.calls, 0);
    T_OK(finish_op(&pa));
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, 0);
    tinst *t = g.out[0];
    CU_ASSERT_STRING_EQUAL(t->name, "tr");
    CU_ASSERT_STRING_EQUAL(((tinst *)t->deps[1])->name, "conn_a");
    T_OK(di_scope_end(s, 0));
    CU_ASSERT(log_is("+a +conn_a +tr =0 -tr:0 -a:0"));
    T_OK(di_scope_end(conn, 0));
    CU_ASSERT_EQUAL(pc.disposes, 1);
    t_fixture_done(c, root);
}

/* Two resolutions in one scope that need the same pending create wait for
 * the same one: created once, both get it. */
static void test_shared_created_once(void)
{
    void *root;
    di_container *c = graph(&root, LATER, SYNC);
    di_scope *s;
    got g1 = { 0 }, g2 = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g1.out, 2, resolved, &g1),
                    DI_PENDING);
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g2.out, 2, resolved, &g2),
                    DI_PENDING);
    CU_ASSERT_EQUAL(pa.creates, 1);
    CU_ASSERT_EQUAL(nops, 1);
    T_OK(finish_op(&pa));
    CU_ASSERT_EQUAL(g1.calls, 1);
    CU_ASSERT_EQUAL(g2.calls, 1);
    CU_ASSERT_EQUAL(g1.rc, 0);
    CU_ASSERT_EQUAL(g2.rc, 0);
    CU_ASSERT_PTR_EQUAL(g1.out[0], g2.out[0]);
    CU_ASSERT_EQUAL(pa.creates, 1);
    CU_ASSERT_EQUAL(pab.creates, 1);
    /* once built, a third resolution is ready at once: no callback */
    got g3 = { 0 };
    T_OK(di_resolve_async(s, "GET /a", g3.out, 2, resolved, &g3));
    CU_ASSERT_EQUAL(g3.calls, 0);
    CU_ASSERT_PTR_EQUAL(g3.out[0], g1.out[0]);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_EQUAL(pa.disposes, 1);
    t_fixture_done(c, root);
}

/* A create that finishes inside its own call, and synchronous ones:
 * di_resolve_async() answers 0 at once and calls nothing back. */
static void test_ready_at_once(void)
{
    void *root;
    di_container *c = graph(&root, INSIDE, SYNC);
    di_scope *s;
    got g = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve_async(s, "GET /a", g.out, 2, resolved, &g));
    CU_ASSERT_EQUAL(g.calls, 0);
    CU_ASSERT_STRING_EQUAL(((tinst *)g.out[0])->name, "ab");
    CU_ASSERT_EQUAL(nops, 0);
    T_OK(di_scope_end(s, 0));
    CU_ASSERT(log_is("+a +ab +b -b:0 -ab:0 -a:0")); /* plan order */
    t_fixture_done(c, root);
}

/* One create fails later: the resolution fails with its code, message and
 * path; the other pending create, which nothing else waits for, is
 * cancelled and its memory freed; the scope stays usable and ends clean. */
static void test_failure_cancels(void)
{
    void *root;
    di_container *c = graph(&root, FAIL_LATER, LATER);
    size_t blocks = talloc_total_blocks(NULL);
    di_scope *s;
    got g = { 0 };
    s = waiting(c, &g);
    CU_ASSERT_EQUAL(finish_op(&pa), -42);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, -42);
    CU_ASSERT_STRING_EQUAL(g.msg, "GET /a \xe2\x86\x92 ab \xe2\x86\x92 a: a: "
                           "connection refused");
    CU_ASSERT_EQUAL(di_error_code(di_scope_error(s)), -42);
    CU_ASSERT_EQUAL(pb.cancels, 1);
    CU_ASSERT_PTR_NULL(op_of(&pb));
    CU_ASSERT_EQUAL(pab.creates, 0);
    CU_ASSERT(log_is("+a +b ~b =-42")); /* cancelled, then told */
    /* the scope is still usable: a synchronous get of b fails clearly */
    void *v;
    CU_ASSERT_EQUAL(di_get(s, "b", &v), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_scope_error(s), "b: 'b' cannot wait here"));
    T_OK(di_scope_end(s, -42));
    CU_ASSERT_EQUAL(pa.disposes + pb.disposes, 0); /* nothing was built */
    /* what is left is the container's: the program that builds b, made at
     * its first di_get, and the table of its level's programs (plan.c) */
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks + 2);
    t_fixture_done(c, root);
}

/* The client goes away while creates are pending: ending the scope calls
 * the resolution back with DI_EABANDONED, cancels what is pending, and
 * disposes what was built, with the outcome; nothing leaks. */
static void test_scope_ends_while_pending(void)
{
    void *root;
    di_container *c = graph(&root, LATER, INSIDE);
    size_t blocks = talloc_total_blocks(NULL);
    di_scope *s;
    got g = { 0 };
    s = waiting(c, &g);
    CU_ASSERT_EQUAL(pb.creates, 1); /* b is built, a pending */
    CU_ASSERT_EQUAL(di_scope_end(s, DI_EABANDONED), 0);
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, DI_EABANDONED);
    CU_ASSERT_EQUAL(pa.cancels, 1);
    CU_ASSERT_EQUAL(pb.disposes, 1);
    CU_ASSERT_EQUAL(pb.last_outcome, DI_EABANDONED);
    CU_ASSERT(log_is("+a +b ~a =-17 -b:-17"));
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
    t_fixture_done(c, root);
}

/* A create with no cancel function is detached when cancelled: what it
 * delivers afterwards is disposed at once as abandoned, and freed. */
static void test_detached_delivery(void)
{
    void *root;
    di_container *c = graph(&root, LATER_NO_CANCEL, SYNC);
    size_t blocks = talloc_total_blocks(NULL);
    di_scope *s;
    got g = { 0 };
    s = waiting(c, &g);
    T_OK(di_scope_end(s, DI_EABANDONED));
    CU_ASSERT_EQUAL(g.rc, DI_EABANDONED);
    CU_ASSERT_EQUAL(pa.disposes, 0);
    CU_ASSERT(talloc_total_blocks(NULL) > blocks); /* the handle waits */
    T_OK(finish_op(&pa));
    CU_ASSERT_EQUAL(pa.disposes, 1);
    CU_ASSERT_EQUAL(pa.last_outcome, DI_EABANDONED);
    CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
    t_fixture_done(c, root);
}

/* Seal refuses a consumer resolved synchronously that reaches an
 * asynchronous provider (with the path), an asynchronous singleton, and
 * marks of unknown names. */
static void test_seal_checks(void)
{
    void *root;
    reset();
    pa = (aprov){ .name = "a", .mode = LATER };
    pab = (aprov){ .name = "ab", .mode = SYNC };
    pb = (aprov){ .name = "b", .mode = LATER };
    di_container *c = t_fixture(&root);
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(provide(c, &pab, "request", ab_deps, false));
    T_OK(provide(c, &pb, "singleton", NULL, true));
    T_OK(t_consumer(c, "GET /sync", "request", "ab", NULL));
    T_OK(di_async_provider(c, "nosuch"));
    T_OK(di_async_consumer(c, "GET /nosuch"));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT(t_list_has(e, "GET /sync \xe2\x86\x92 ab \xe2\x86\x92 a: 'GET "
                         "/sync' is resolved synchronously and needs 'a', "
                         "which may finish later: mark the consumer with "
                         "di_async_consumer() and resolve it with "
                         "di_resolve_async()"));
    CU_ASSERT(t_list_has(e, "b: 'b' is asynchronous but is a singleton: only "
                         "a provider of a scope level may finish later "
                         "(build a singleton before serving)"));
    CU_ASSERT(t_list_has(e, "nosuch: di_async_provider: no provider "
                         "'nosuch'"));
    CU_ASSERT(t_list_has(e, "GET /nosuch: di_async_consumer: no consumer "
                         "'GET /nosuch'"));
    int codes = 0;
    for (; e; e = di_error_next(e))
        codes += di_error_code(e) == DI_EASYNC;
    CU_ASSERT_EQUAL(codes, 2);
    CU_ASSERT_STRING_EQUAL(di_strerror(DI_EASYNC), "asynchronous provider "
                           "where nothing can wait");
    t_fixture_done(c, root);
    /* after seal, marking is closed */
    di_container *d = graph(&root, LATER, LATER);
    CU_ASSERT_EQUAL(di_async_provider(d, "a"), DI_ESEALED);
    CU_ASSERT_EQUAL(di_async_consumer(NULL, "a"), DI_EINVAL);
    t_fixture_done(d, root);
}

/* Where nothing can wait, a create cannot be left pending: a synchronous
 * get gets no handle (the provider says so), and a create that answers
 * DI_PENDING without one fails with the reason. */
static void test_no_waiting_where_synchronous(void)
{
    void *root;
    di_container *c = graph(&root, LATER, NO_TAKE);
    di_scope *s;
    void *v;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_get(s, "a", &v), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_scope_error(s), "a: 'a' cannot wait here"));
    CU_ASSERT_EQUAL(di_get(s, "b", &v), DI_EPROVIDER);
    CU_ASSERT(t_msg_is(di_scope_error(s), "b: the create answered "
                       "DI_PENDING, but it can finish later only as an "
                       "asynchronous provider (di_async_provider) resolved "
                       "with di_resolve_async(), having taken a handle with "
                       "di_pending_take()"));
    /* the same through an asynchronous resolution, which fails at once
     * (no callback) and cancels a, started before b failed */
    got g = { 0 };
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g.out, 2, resolved, &g),
                    DI_EPROVIDER);
    CU_ASSERT_EQUAL(g.calls, 0);
    CU_ASSERT_EQUAL(pa.cancels, 1);
    CU_ASSERT_PTR_NULL(op_of(&pa));
    /* and the arguments */
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g.out, 2, NULL, &g),
                    DI_EINVAL);
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g.out, 1, resolved, &g),
                    DI_EINVAL);
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /none", g.out, 2, resolved, &g),
                    DI_ENOTFOUND);
    CU_ASSERT_PTR_NULL(di_pending_take(NULL));
    CU_ASSERT_EQUAL(di_pending_done(NULL, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_pending_fail(NULL, 0, NULL), DI_EPROVIDER);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

/* Pending disposes (a COMMIT is I/O) run one after another in reverse
 * creation order; the settle completes through its callback, the scope is
 * in use until then, and a failure is reported with the others. */
static aprov t1, t2, t3;

static di_container *commits(void **root, int dmode3)
{
    reset();
    t1 = (aprov){ .name = "t1", .mode = SYNC, .dmode = LATER };
    t2 = (aprov){ .name = "t2", .mode = SYNC };
    t3 = (aprov){ .name = "t3", .mode = SYNC, .dmode = dmode3 };
    di_container *c = t_fixture(root);
    T_OK(provide(c, &t1, "request", NULL, true));
    T_OK(provide(c, &t2, "request", NULL, false));
    T_OK(provide(c, &t3, "request", NULL, true));
    T_OK(t_consumer(c, "POST /t", "request", "t1", "t2", "t3", NULL));
    T_OK(di_async_consumer(c, "POST /t"));
    T_OK(di_container_seal(c));
    return c;
}

static void test_pending_disposes_in_order(void)
{
    void *root;
    di_container *c = commits(&root, LATER);
    di_scope *s;
    got g = { 0 }, e = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve_async(s, "POST /t", g.out, 3, resolved, &g));
    CU_ASSERT_EQUAL(di_scope_settle_async(s, 0, resolved, &e), DI_PENDING);
    CU_ASSERT(log_is("+t1 +t2 +t3 -t3:0"));
    /* in use until settled */
    CU_ASSERT_EQUAL(di_scope_free(s), DI_EBUSY);
    CU_ASSERT_EQUAL(di_scope_end(s, 0), DI_EBUSY);
    T_OK(finish_dispose(&t3)); /* t2 runs, then t1 is left pending */
    CU_ASSERT(log_is("+t1 +t2 +t3 -t3:0 !t3 -t2:0 -t1:0"));
    CU_ASSERT_EQUAL(e.calls, 0);
    T_OK(finish_dispose(&t1));
    CU_ASSERT_EQUAL(e.calls, 1);
    CU_ASSERT_EQUAL(e.rc, 0);
    CU_ASSERT(log_is("+t1 +t2 +t3 -t3:0 !t3 -t2:0 -t1:0 !t1 =0"));
    T_OK(di_scope_free(s));
    t_fixture_done(c, root);
}

static void test_pending_dispose_fails(void)
{
    void *root;
    di_container *c = commits(&root, FAIL_LATER);
    di_scope *s;
    got g = { 0 }, e = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve_async(s, "POST /t", g.out, 3, resolved, &g));
    CU_ASSERT_EQUAL(di_scope_settle_async(s, 0, resolved, &e), DI_PENDING);
    CU_ASSERT_EQUAL(finish_dispose(&t3), -43);
    T_OK(finish_dispose(&t1)); /* every dispose still runs */
    CU_ASSERT_EQUAL(e.calls, 1);
    CU_ASSERT_EQUAL(e.rc, DI_EDISPOSE);
    CU_ASSERT(t_msg_is(di_scope_error(s), "t3: t3: COMMIT failed"));
    CU_ASSERT(log_is("+t1 +t2 +t3 -t3:0 !t3 -t2:0 -t1:0 !t1 =-12"));
    T_OK(di_scope_free(s));
    /* a synchronous end: the disposes get no handle and finish at once */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_resolve_async(s, "POST /t", g.out, 3, resolved, &g));
    tlog_reset();
    T_OK(di_scope_end(s, 0));
    CU_ASSERT(log_is("-t3:0 -t2:0 -t1:0"));
    /* nothing to wait for: settled at once, no callback */
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_scope_settle_async(s, 0, resolved, &e));
    CU_ASSERT_EQUAL(e.calls, 1);
    CU_ASSERT_EQUAL(di_scope_settle_async(s, 0, resolved, &e), DI_ESTALE);
    CU_ASSERT_EQUAL(di_scope_settle_async(NULL, 0, resolved, &e), DI_EINVAL);
    T_OK(di_scope_free(s));
    t_fixture_done(c, root);
}

/* ---- timeouts, on timers the test fires by hand ---- */

typedef struct ftimer {
    unsigned ms;
    void (*fire)(void *);
    void *arg;
    bool live;
} ftimer;
static ftimer timers[8];
static int ntimers, stops;

static void *ft_start(void *data, unsigned ms, void (*fire)(void *), void *arg)
{
    CU_ASSERT_PTR_EQUAL(data, timers);
    if (ntimers == 8)
        return NULL;
    timers[ntimers] = (ftimer){ ms, fire, arg, true };
    return &timers[ntimers++];
}

static void ft_stop(void *data, void *timer)
{
    (void)data;
    ftimer *t = timer;
    CU_ASSERT(t->live);
    t->live = false;
    stops++;
}

static const di_timer_ops fake_timers = { ft_start, ft_stop, timers };

/* A create still pending at its limit: the resolution fails with
 * DI_ETIMEDOUT at its path, then the create is cancelled; one that
 * finishes in time stops its timer. */
static void test_timeout(void)
{
    void *root;
    reset();
    ntimers = stops = 0;
    pa = (aprov){ .name = "a", .mode = LATER };
    pb = (aprov){ .name = "b", .mode = LATER };
    pab = (aprov){ .name = "ab", .mode = SYNC };
    di_container *c = t_fixture(&root);
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(provide(c, &pb, "request", NULL, true));
    T_OK(provide(c, &pab, "request", ab_deps, false));
    T_OK(t_consumer(c, "GET /a", "request", "ab", "b", NULL));
    T_OK(di_async_consumer(c, "GET /a"));
    T_OK(di_async_timers(c, &fake_timers));
    T_OK(di_async_timeout(c, "a", 500));
    T_OK(di_async_timeout(c, "b", 20));
    T_OK(di_container_seal(c));
    di_scope *s;
    got g = { 0 };
    s = waiting(c, &g);
    CU_ASSERT_EQUAL(ntimers, 2);
    CU_ASSERT_EQUAL(timers[0].ms, 500);
    CU_ASSERT_EQUAL(timers[1].ms, 20);
    T_OK(finish_op(&pa)); /* in time: its timer stops */
    CU_ASSERT_EQUAL(stops, 1);
    CU_ASSERT_FALSE(timers[0].live);
    timers[1].live = false;
    timers[1].fire(timers[1].arg); /* b's limit */
    CU_ASSERT_EQUAL(g.calls, 1);
    CU_ASSERT_EQUAL(g.rc, DI_ETIMEDOUT);
    CU_ASSERT_STRING_EQUAL(g.msg, "GET /a \xe2\x86\x92 b: 'b' gave no answer "
                           "within 20 ms");
    CU_ASSERT_EQUAL(pb.cancels, 1);
    CU_ASSERT(log_is("+a +b +ab =-21 ~b"));
    CU_ASSERT_STRING_EQUAL(di_strerror(DI_ETIMEDOUT), "timed out");
    T_OK(di_scope_end(s, DI_ETIMEDOUT));
    CU_ASSERT_EQUAL(pa.disposes + pab.disposes, 2);
    t_fixture_done(c, root);
}

/* A loop that cannot start a timer: the create that would wait fails at
 * once (as for want of memory), cancelled, and nothing leaks. */
static void *no_start(void *data, unsigned ms, void (*fire)(void *), void *arg)
{
    (void)data;
    (void)ms;
    (void)fire;
    (void)arg;
    return NULL;
}

static void test_no_timer(void)
{
    void *root;
    reset();
    pa = (aprov){ .name = "a", .mode = LATER };
    di_container *c = t_fixture(&root);
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(t_consumer(c, "GET /a", "request", "a", NULL));
    T_OK(di_async_consumer(c, "GET /a"));
    T_OK(di_async_timers(c, &(di_timer_ops){ no_start, ft_stop, NULL }));
    T_OK(di_async_timeout(c, "a", 50));
    T_OK(di_container_seal(c));
    di_scope *s;
    got g = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /a", g.out, 1, resolved, &g),
                    DI_ENOMEM);
    CU_ASSERT_EQUAL(g.calls, 0);
    CU_ASSERT_EQUAL(pa.cancels, 1);
    CU_ASSERT(t_msg_is(di_scope_error(s), "GET /a \xe2\x86\x92 a: create "
                       "failed: out of memory"));
    T_OK(di_scope_end(s, DI_ENOMEM));
    t_fixture_done(c, root);
}

/* A kind declared asynchronous makes asynchronous providers: seal refuses
 * a synchronous consumer that reaches one made from it, and an
 * asynchronous one resolves through it. */
static void test_async_kind(void)
{
    void *root;
    reset();
    pa = (aprov){ .name = "k", .mode = LATER };
    di_container *c = t_fixture(&root);
    T_OK(di_kind_register(c, &(di_kind_desc){ .name = "app.waits",
        .lifetime = "request", .create = a_create, .dispose = a_dispose,
        .data = &pa, .size = sizeof(tinst), .flags = DI_KIND_ASYNC }));
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "w",
                                                .kind = "app.waits" }));
    T_OK(t_consumer(c, "GET /sync", "request", "w", NULL));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    CU_ASSERT(t_list_has(di_container_error(c), "GET /sync \xe2\x86\x92 w: "
                         "'GET /sync' is resolved synchronously and needs "
                         "'w', which may finish later: mark the consumer "
                         "with di_async_consumer() and resolve it with "
                         "di_resolve_async()"));
    t_fixture_done(c, root);

    c = t_fixture(&root);
    T_OK(di_kind_register(c, &(di_kind_desc){ .name = "app.waits",
        .lifetime = "request", .create = a_create, .dispose = a_dispose,
        .data = &pa, .size = sizeof(tinst), .flags = DI_KIND_ASYNC }));
    T_OK(di_instantiate(c, &(di_instance_desc){ .name = "w",
                                                .kind = "app.waits" }));
    T_OK(t_consumer(c, "GET /w", "request", "w", NULL));
    T_OK(di_async_consumer(c, "GET /w"));
    T_OK(di_container_seal(c));
    di_scope *s;
    got g = { 0 };
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_resolve_async(s, "GET /w", g.out, 1, resolved, &g),
                    DI_PENDING);
    T_OK(finish_op(&pa));
    CU_ASSERT_EQUAL(g.rc, 0);
    T_OK(di_scope_end(s, 0));
    t_fixture_done(c, root);
}

/* Seal refuses timeouts it cannot keep. */
static void test_timeout_checks(void)
{
    void *root;
    reset();
    pa = (aprov){ .name = "a", .mode = LATER };
    pb = (aprov){ .name = "b", .mode = SYNC };
    di_container *c = t_fixture(&root);
    T_OK(provide(c, &pa, "request", NULL, true));
    T_OK(provide(c, &pb, "request", NULL, false));
    T_OK(di_async_timeout(c, "a", 100));
    T_OK(di_async_timeout(c, "b", 100));
    T_OK(di_async_timeout(c, "zz", 100));
    CU_ASSERT_EQUAL(di_async_timeout(c, "a", 0), DI_EINVAL);
    CU_ASSERT_EQUAL(di_async_timers(c, &(di_timer_ops){ ft_start, NULL,
                                                         NULL }), DI_EINVAL);
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH);
    const di_error *e = di_container_error(c);
    CU_ASSERT(t_list_has(e, "a: 'a' has a timeout, and no timers were given "
                         "to time it (di_async_timers)"));
    CU_ASSERT(t_list_has(e, "b: 'b' has a timeout but is not asynchronous "
                         "(di_async_provider)"));
    CU_ASSERT(t_list_has(e, "zz: di_async_timeout: no provider 'zz'"));
    t_fixture_done(c, root);
}

/* Every allocation of the asynchronous path fails in turn: each run ends
 * either resolved or with a clean failure (DI_ENOMEM, called back at most
 * once), the scope still ends, and nothing leaks. */
static void test_allocation_failures(void)
{
#ifndef DI_FAULT_TESTS
    printf("SKIP: allocation failure injection needs a build with "
           "DI_FAULT_INJECTION=ON ");
#else
    void *root;
    di_container *c = graph(&root, LATER, LATER);
    size_t blocks = talloc_total_blocks(NULL);
    bool done = false;
    long runs = 0;
    for (long n = 1; !done && n < 500; n++, runs++) {
        di_scope *s;
        got g = { 0 };
        nops = 0;
        if (di_scope_begin(c, NULL, "request", NULL, &s))
            continue;
        di__fault_alloc(n);
        int rc = di_resolve_async(s, "GET /a", g.out, 2, resolved, &g);
        if (rc == DI_PENDING) {
            for (int i = 0; i < nops; i++)
                if (ops[i].live) {
                    ops[i].live = false;
                    di_pending_done(ops[i].p, ops[i].mem);
                }
            CU_ASSERT_EQUAL(g.calls, 1);
            rc = g.rc;
        }
        bool failed = di__fault_alloc(0) > 0;
        CU_ASSERT(rc == 0 || rc == DI_ENOMEM);
        if (rc != 0 && rc != DI_ENOMEM)
            fprintf(stderr, "\n  allocation %ld: %d (%s)\n", n, rc,
                    di_error_message(di_scope_error(s)));
        if (rc == 0)
            CU_ASSERT_STRING_EQUAL(((tinst *)g.out[0])->name, "ab");
        di_scope_end(s, rc);
        CU_ASSERT_EQUAL(talloc_total_blocks(NULL), blocks);
        done = !failed;
    }
    CU_ASSERT(done);
    CU_ASSERT(runs > 10); /* the path allocates: each allocation failed once */
    t_fixture_done(c, root);
#endif
}

int main(void)
{
    /* the leak checks count every top-level block (this suite's own
     * threads: one) */
    talloc_enable_null_tracking();
    CU_TestInfo tests[] = {
        { "independent creates start together, dependents wait",
          test_together_and_ordered },
        { "a shared pending create is made once", test_shared_created_once },
        { "the general walk: transients, an enclosing scope",
          test_general_walk },
        { "ready at once: no callback", test_ready_at_once },
        { "a failure cancels what nothing else waits for",
          test_failure_cancels },
        { "the scope ends while creates are pending",
          test_scope_ends_while_pending },
        { "a create with no cancel function is detached",
          test_detached_delivery },
        { "seal refuses what cannot wait", test_seal_checks },
        { "no waiting where the resolution is synchronous",
          test_no_waiting_where_synchronous },
        { "a create that times out", test_timeout },
        { "seal refuses timeouts it cannot keep", test_timeout_checks },
        { "a loop that cannot start a timer", test_no_timer },
        { "a kind declared asynchronous", test_async_kind },
        { "pending disposes run one after another",
          test_pending_disposes_in_order },
        { "a pending dispose that fails, and settles with nothing pending",
          test_pending_dispose_fails },
        { "allocation failures over the asynchronous path",
          test_allocation_failures },
        CU_TEST_INFO_NULL,
    };
    int rc = t_run("async", tests);
    talloc_disable_null_tracking();
    return rc;
}
