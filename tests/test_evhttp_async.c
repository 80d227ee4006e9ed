/*
 * test_evhttp_async.c — asynchronous providers on the libevent adapter,
 * over loopback: providers that wait on the server's own loop (timers
 * standing for database round trips) while the one loop thread serves
 * other requests; independent ones started together; the answer sent only
 * after a COMMIT that is itself on the loop; a timeout; a client that
 * leaves while its request waits. Orders are checked, never durations.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <unistd.h>

#include <di/evhttp.h>

#include "helpers.h"
#include "httpc.h"

static struct event_base *base;
static di_evhttp *srv;
static atomic_int ended, cancels, naps_started;

/* A provider that answers after ms milliseconds of the loop (data: ms). */
typedef struct nap {
    struct event *ev;
    di_pending *p;
    const char *name;
} nap;

static void woke(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nap *n = arg;
    tlog_add("woke:%s", n->name);
    event_free(n->ev);
    n->ev = NULL;
    di_pending_done(n->p, n);
}

static void nap_cancel(di_pending *p, void *arg)
{
    (void)p;
    nap *n = arg;
    tlog_add("cancel:%s", n->name);
    event_free(n->ev);
    n->ev = NULL;
    atomic_fetch_add(&cancels, 1);
}

static int nap_create(const di_build *b, void **out)
{
    struct event_base *loop = b->deps[0];
    nap *n = b->mem;
    n->name = b->name;
    *out = n;
    unsigned ms = (unsigned)(uintptr_t)b->data;
    if (!(n->p = di_pending_take(b)))
        return di_fail(b, DI_EINVAL, "'%s' waits on the loop", b->name);
    n->ev = evtimer_new(loop, woke, n);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!n->ev || evtimer_add(n->ev, &tv))
        return di_fail(b, DI_ENOMEM, "no timer");
    di_pending_on_cancel(n->p, nap_cancel, n);
    tlog_add("start:%s", n->name);
    atomic_fetch_add(&naps_started, 1);
    return DI_PENDING;
}

/* A transaction whose COMMIT takes 50 ms of the loop. */
static void committed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tlog_add("committed");
    di_pending_done(arg, NULL);
}

static int tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static int tx_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    struct event_base *loop = *(struct event_base **)b->data;
    di_pending *p = outcome == 0 ? di_pending_take(b) : NULL;
    if (!p)
        return 0;
    tlog_add("COMMIT");
    struct timeval tv = { 0, 50000 };
    event_base_once(loop, -1, EV_TIMEOUT, committed, p, &tv);
    return DI_PENDING;
}

static int naps(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    tlog_add("handler:%s+%s", ((nap *)deps[0])->name, ((nap *)deps[1])->name);
    return di_http_respond(r, 200, "text/plain", "rested", 6);
}

static void on_end(void *ctx, const di_http_req *r, int outcome)
{
    (void)ctx;
    tlog_add("end:%d:%d", di_http_status(r), outcome);
    atomic_fetch_add(&ended, 1);
}

static void *root;
static di_container *c;
static char logged[512];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture(void *ctx, const di_log_record *rec)
{
    /* the router's records only */
    if (strncmp(rec->message, "di_http:", 8) != 0)
        return;
    const char *line = rec->message;
    (void)ctx;
    pthread_mutex_lock(&log_lock);
    snprintf(logged, sizeof logged, "%s", line);
    pthread_mutex_unlock(&log_lock);
}

static int suite_init(void)
{
    static const char *const nap_deps[] = { "event_base:event_base", NULL };
    static const char *const route_deps[] = { "nap_a", "nap_b", "tx", NULL };
    static const char *const slow_deps[] = { "nap_never", NULL };
    root = talloc_new(NULL);
    evthread_use_pthreads(); /* the server's thread runs the loop */
    base = event_base_new();
    di_http *h;
    di_timer_ops timers;
    if (!base || di_container_new(root, &c) || di_http_new(c, c, &h) ||
        di_provide_value(c, "event_base", "event_base", base) ||
        di_evhttp_timers(base, &timers) || di_async_timers(c, &timers))
        return 1;
    di_http_on_end(h, on_end, NULL);
    di_log_set(capture, NULL);
    const char *names[] = { "nap_a", "nap_b", "nap_never" };
    uintptr_t ms[] = { 150, 150, 60000 };
    for (int i = 0; i < 3; i++)
        if (di_provide(c, &(di_provider_desc){ .name = names[i],
                .lifetime = "request", .deps = nap_deps, .create = nap_create,
                .data = (void *)ms[i], .size = sizeof(nap) }) ||
            di_async_provider(c, names[i]))
            return 1;
    if (di_provide(c, &(di_provider_desc){ .name = "tx", .lifetime = "request",
            .create = tx_create, .dispose = tx_dispose, .data = &base }) ||
        di_async_provider(c, "tx") ||
        di_async_timeout(c, "nap_never", 100) ||
        di_http_route(h, &(di_http_route_desc){ .method = "GET",
            .path = "/naps", .deps = route_deps, .handler = naps }) ||
        di_http_route(h, &(di_http_route_desc){ .method = "GET",
            .path = "/never", .deps = slow_deps, .handler = naps }) ||
        di_async_consumer(c, "GET /naps") || di_async_consumer(c, "GET /never") ||
        di_container_seal(c))
        return 1;
    return di_evhttp_start(root, h, &(di_evhttp_options){
        .address = "127.0.0.1", .base = base }, &srv) ? 1 : 0;
}

static int suite_clean(void)
{
    di_evhttp_stop(srv);
    int rc = di_container_free(c);
    event_base_free(base);
    talloc_free(root);
    return rc ? 1 : 0;
}

/* One request: both naps start before either wakes, the handler runs
 * after both, the COMMIT goes out after the handler and the answer only
 * after it. */
static void test_together_then_commit(void)
{
    tlog_reset();
    atomic_store(&ended, 0);
    t_resp resp;
    T_OK(t_http(di_evhttp_port(srv), "GET", "/naps", NULL, NULL, &resp));
    CU_ASSERT_EQUAL(resp.status, 200);
    CU_ASSERT_STRING_EQUAL(resp.body, "rested");
    t_resp_free(&resp);
    CU_ASSERT(t_wait_for(&ended, 1, 2000));
    const char *log = tlog();
    const char *sa = strstr(log, "start:nap_a"), *sb = strstr(log, "start:nap_b");
    const char *w = strstr(log, "woke:");
    const char *hd = strstr(log, "handler:nap_a+nap_b");
    const char *cm = strstr(log, "COMMIT"), *cd = strstr(log, "committed");
    CU_ASSERT(sa && sb && w && hd && cm && cd);
    if (sa && sb && w && hd && cm && cd) {
        CU_ASSERT(sa < w && sb < w); /* together */
        CU_ASSERT(hd > strstr(w + 1, "woke:")); /* after both */
        CU_ASSERT(cm > hd && cd > cm);
    }
    CU_ASSERT(strstr(log, "end:200:0") != NULL);
}

/* Four requests at once on the one loop thread: all four start their naps
 * before the first one wakes. */
typedef struct client { t_resp resp; int rc; } client;
static void *one_client(void *arg)
{
    client *cl = arg;
    cl->rc = t_http(di_evhttp_port(srv), "GET", "/naps", NULL, NULL, &cl->resp);
    return NULL;
}

static void test_one_loop_many_waits(void)
{
    tlog_reset();
    atomic_store(&ended, 0);
    pthread_t th[4];
    client cl[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, one_client, &cl[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(cl[i].rc, 0);
        CU_ASSERT_EQUAL(cl[i].resp.status, 200);
        t_resp_free(&cl[i].resp);
    }
    CU_ASSERT(t_wait_for(&ended, 4, 2000));
    const char *log = tlog(), *first_wake = strstr(log, "woke:");
    int started = 0;
    for (const char *p = log; (p = strstr(p, "start:nap_a")) && p < first_wake;
         p++)
        started++;
    CU_ASSERT_EQUAL(started, 4);
}

/* A provider that never answers: at its limit the request fails (500,
 * nothing committed), the wait is cancelled. */
static void test_timeout(void)
{
    tlog_reset();
    atomic_store(&ended, 0);
    atomic_store(&cancels, 0);
    t_resp resp;
    T_OK(t_http(di_evhttp_port(srv), "GET", "/never", NULL, NULL, &resp));
    CU_ASSERT_EQUAL(resp.status, 500);
    t_resp_free(&resp);
    CU_ASSERT(t_wait_for(&ended, 1, 2000));
    CU_ASSERT_EQUAL(atomic_load(&cancels), 1);
    CU_ASSERT(strstr(tlog(), "cancel:nap_never") != NULL);
    pthread_mutex_lock(&log_lock);
    CU_ASSERT_STRING_EQUAL(logged, "di_http: GET /never: GET /never \xe2\x86"
                           "\x92 nap_never: 'nap_never' gave no answer within "
                           "100 ms");
    pthread_mutex_unlock(&log_lock);
}

/* A client that leaves while its naps wait: they are cancelled, the
 * request ends as abandoned, nothing is committed. */
static void test_client_leaves_while_waiting(void)
{
    tlog_reset();
    atomic_store(&ended, 0);
    atomic_store(&cancels, 0);
    atomic_store(&naps_started, 0);
    int fd = t_http_send_raw(di_evhttp_port(srv), "GET /naps HTTP/1.1\r\n"
                             "Host: x\r\n\r\n");
    CU_ASSERT_FATAL(fd >= 0);
    /* both naps have started (not a fixed wait: slower under valgrind);
     * they wake 150 ms after, long after the reset is seen */
    CU_ASSERT_FATAL(t_wait_for(&naps_started, 2, 5000));
    t_http_reset(fd);
    CU_ASSERT(t_wait_for(&ended, 1, 2000));
    CU_ASSERT(t_wait_for(&cancels, 2, 2000));
    CU_ASSERT(strstr(tlog(), "COMMIT") == NULL);
    CU_ASSERT(strstr(tlog(), "end:0:-17") != NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "independent waits together; the answer after the COMMIT",
          test_together_then_commit },
        { "one loop thread, four waiting requests", test_one_loop_many_waits },
        { "a provider that never answers times out", test_timeout },
        { "a client that leaves while its request waits",
          test_client_leaves_while_waiting },
        CU_TEST_INFO_NULL,
    };
    return t_run_with("evhttp_async", suite_init, suite_clean, tests);
}
