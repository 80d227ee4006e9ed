/*
 * async_bench.c — asynchronous providers on the libevent adapter, timed
 * over loopback (wall time is what these cases are about):
 *
 *   two_branches       a route needing two independent providers that
 *                      each wait 100 ms on the loop: its latency is the
 *                      longest branch (target <= 150 ms, median of 11),
 *                      not the sum
 *   waits_200          200 requests at once, each waiting 200 ms (a
 *                      libevent timer) on the one loop thread: all
 *                      answered within 1 s of wall time
 *   async_concurrency  200 requests at once on the one loop thread, each
 *                      in a transaction of postgres.async_session whose
 *                      handler runs SELECT pg_sleep(0.2) with PQsendQuery
 *                      and finishes with di_http_handled(): all answered
 *                      within 1 s (pool of 100 connections, opened by a
 *                      first round that is not timed); beside it, the same
 *                      handler blocking in PQexec, for 10 requests, gives
 *                      what a loop blocked by its database work needs
 *
 *     di_async_bench [--smoke] [--pg CONNINFO_FILE]
 *
 * Without --pg (a file holding a libpq conninfo, as tests/pg.sh writes)
 * async_concurrency prints SKIP. Prints a table row and a "json: " line
 * per case; exits 1 when a target is missed (never with --smoke, which
 * runs 3 requests and 20 at once and judges nothing).
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <di.h>
#include <di/evhttp.h>
#ifdef DI_BENCH_PG
#include <libpq-fe.h>
#endif

#include "../httpc.h"

typedef struct wait_inst {
    struct event *ev;
    di_pending *p;
} wait_inst;

static void woke(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wait_inst *w = arg;
    event_free(w->ev);
    w->ev = NULL;
    di_pending_done(w->p, w);
}

static void cancelled(di_pending *p, void *arg)
{
    (void)p;
    wait_inst *w = arg;
    event_free(w->ev);
    w->ev = NULL;
}

/* Wait b->data milliseconds on the loop (the dependency), then answer. */
static int wait_create(const di_build *b, void **out)
{
    wait_inst *w = b->mem;
    unsigned ms = (unsigned)(uintptr_t)b->data;
    *out = w;
    if (!(w->p = di_pending_take(b)))
        return di_fail(b, DI_EINVAL, "waits on the loop");
    w->ev = evtimer_new(b->deps[0], woke, w);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!w->ev || evtimer_add(w->ev, &tv) != 0)
        return di_fail(b, DI_ENOMEM, "no timer");
    di_pending_on_cancel(w->p, cancelled, w);
    return DI_PENDING;
}

static int ok(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 200, "text/plain", "ok", 2);
}

#ifdef DI_BENCH_PG
/* GET /sleep: SELECT pg_sleep(0.2) on the request's session, sent with
 * PQsendQuery; the handler finishes when the server answered. */
typedef struct sleeper {
    di_http_req *r;
    PGconn *conn;
    struct event *ev;
} sleeper;

static void slept(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    sleeper *z = arg;
    int bad = (what & EV_WRITE) && PQflush(z->conn) < 0;
    if (!bad && (what & EV_READ) && !PQconsumeInput(z->conn))
        bad = 1;
    if (!bad && PQisBusy(z->conn)) {
        event_add(z->ev, NULL);
        return;
    }
    PGresult *res;
    while ((res = PQgetResult(z->conn))) {
        bad |= PQresultStatus(res) != PGRES_TUPLES_OK;
        PQclear(res);
    }
    di_http_req *r = z->r;
    event_free(z->ev);
    free(z);
    if (!bad)
        di_http_respond(r, 200, "text/plain", "slept", 5);
    di_http_handled(r, bad ? DI_EPROVIDER : 0);
}

static int sleep_async(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    sleeper *z = calloc(1, sizeof *z);
    if (!z)
        return DI_ENOMEM;
    z->r = r;
    z->conn = deps[0];
    int f = PQsendQuery(z->conn, "SELECT pg_sleep(0.2)") ? PQflush(z->conn)
                                                          : -1;
    if (f >= 0)
        z->ev = event_new(deps[1], PQsocket(z->conn),
                          f ? EV_READ | EV_WRITE : EV_READ, slept, z);
    if (f < 0 || !z->ev || event_add(z->ev, NULL)) {
        if (z->ev)
            event_free(z->ev);
        free(z);
        return DI_EPROVIDER;
    }
    return DI_PENDING;
}

/* GET /sleep_blocking: the same query with PQexec: the loop waits. */
static int sleep_blocking(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    PGresult *res = PQexec(deps[0], "SELECT pg_sleep(0.2)");
    int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    return ok ? di_http_respond(r, 200, "text/plain", "slept", 5)
              : DI_EPROVIDER;
}

#endif

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint16_t port;

typedef struct call {
    const char *path;
    int status;
} call;

static void *one(void *arg)
{
    t_resp r;
    call *k = arg;
    k->status = t_http(port, "GET", k->path, NULL, NULL, &r) ? -1 : r.status;
    if (k->status != -1)
        t_resp_free(&r);
    return NULL;
}

/* n requests for path at once, each from its own thread: how many were
 * answered 200, and the wall time in *ms. */
static int at_once(const char *path, int n, double *ms)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    call *k = calloc((size_t)n, sizeof *k);
    if (!th || !k) {
        free(th);
        free(k);
        return -1;
    }
    double t0 = now_ms();
    int started = 0;
    for (; started < n; started++) {
        k[started].path = path;
        if (pthread_create(&th[started], NULL, one, &k[started]) != 0)
            break;
    }
    int good = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        good += k[i].status == 200;
    }
    *ms = now_ms() - t0;
    free(th);
    free(k);
    return good;
}

#ifdef DI_BENCH_PG
/* The PostgreSQL routes' wiring: the asynchronous pool and session. */
static int wire_pg(di_container *c, di_http *h, const char *file)
{
    static const char *const deps[] = { "session", "event_base:event_base",
                                        NULL };
    char conninfo[512], cfg[1024];
    FILE *f = fopen(file, "r");
    if (!f || !fgets(conninfo, sizeof conninfo, f)) {
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    conninfo[strcspn(conninfo, "\n")] = '\0';
    snprintf(cfg, sizeof cfg,
             "{ \"plugins\": [\"postgres\"], \"providers\": {"
             " \"db\": { \"use\": \"postgres.async_pool\", \"params\": {"
             "   \"conninfo\": \"%s\", \"size\": 100 } },"
             " \"session\": { \"use\": \"postgres.async_session\","
             "   \"deps\": { \"pool\": \"db\" } } } }", conninfo);
    if (di_plugin_dir(c, DI_PLUGIN_BUILD_DIR) ||
        di_config_load_string(c, cfg, "async_bench") ||
        di_http_route(h, &(di_http_route_desc){ .method = "GET",
            .path = "/sleep", .deps = deps, .handler = sleep_async }) ||
        di_http_route(h, &(di_http_route_desc){ .method = "GET",
            .path = "/sleep_blocking", .deps = deps,
            .handler = sleep_blocking }) ||
        di_async_consumer(c, "GET /sleep") ||
        di_async_consumer(c, "GET /sleep_blocking"))
        return -1;
    return 0;
}
#endif

int main(int argc, char **argv)
{
    bool smoke = false;
    const char *pg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (strcmp(argv[i], "--pg") == 0 && i + 1 < argc)
            pg = argv[++i];
        else {
            fprintf(stderr, "usage: di_async_bench [--smoke] [--pg FILE]\n");
            return 2;
        }
    }
    static const char *const wdeps[] = { "event_base:event_base", NULL };
    static const char *const two[] = { "wait_a", "wait_b", NULL };
    static const char *const single[] = { "wait_200", NULL };
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    di_container *c;
    di_http *h;
    di_evhttp *srv;
    const char *names[] = { "wait_a", "wait_b", "wait_200" };
    uintptr_t ms[] = { 100, 100, 200 };
    if (!base || di_container_new(NULL, &c) || di_http_new(c, c, &h) ||
        di_provide_value(c, "event_base", "event_base", base))
        return 2;
    for (int i = 0; i < 3; i++)
        if (di_provide(c, &(di_provider_desc){ .name = names[i],
                .lifetime = "request", .deps = wdeps, .create = wait_create,
                .data = (void *)ms[i], .size = sizeof(wait_inst) }) ||
            di_async_provider(c, names[i]))
            return 2;
#ifdef DI_BENCH_PG
    int pg_rc = pg ? wire_pg(c, h, pg) : 1;
#else
    int pg_rc = 1; /* built without the asynchronous PostgreSQL kinds */
#endif
    if (pg_rc < 0) {
        fprintf(stderr, "async_bench: cannot wire PostgreSQL: %s\n",
                di_error_message(di_container_error(c)));
        return 2;
    }
    if (di_http_route(h, &(di_http_route_desc){ .method = "GET", .path = "/two",
            .deps = two, .handler = ok }) ||
        di_http_route(h, &(di_http_route_desc){ .method = "GET", .path = "/one",
            .deps = single, .handler = ok }) ||
        di_async_consumer(c, "GET /two") || di_async_consumer(c, "GET /one") ||
        di_container_seal(c) ||
        di_evhttp_start(NULL, h, &(di_evhttp_options){ .address = "127.0.0.1",
            .base = base }, &srv)) {
        fprintf(stderr, "async_bench: cannot start: %s\n",
                di_error_message(di_container_error(c)));
        return 2;
    }
    port = di_evhttp_port(srv);
    int fail = 0;

    /* two_branches: the median of 11 requests, one after another */
    enum { RUNS = 11 };
    int runs = smoke ? 3 : RUNS;
    double lat[RUNS];
    for (int i = 0; i < runs; i++) {
        t_resp r;
        double t0 = now_ms();
        if (t_http(port, "GET", "/two", NULL, NULL, &r) || r.status != 200) {
            fprintf(stderr, "async_bench: GET /two failed\n");
            return 2;
        }
        lat[i] = now_ms() - t0;
        t_resp_free(&r);
    }
    qsort(lat, (size_t)runs, sizeof *lat, cmp);
    double med = lat[runs / 2];
    bool met = med <= 150;
    printf("%-16s %8.1f ms (%.1f-%.1f)  two 100 ms waits; target <= 150 ms: %s\n",
           "two_branches", med, lat[0], lat[runs - 1],
           smoke ? "(smoke)" : met ? "yes" : "NO");
    printf("json: {\"case\":\"two_branches\",\"unit\":\"ms\",\"libdi\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f},\"target\":150,\"met\":%s,\"smoke\":%s}\n",
           med, lat[0], lat[runs - 1], met || smoke ? "true" : "false",
           smoke ? "true" : "false");
    fail |= !met && !smoke;

    /* waits_200: that many requests at once, one loop thread */
    int n = smoke ? 20 : 200;
    double wall;
    int good = at_once("/one", n, &wall);
    met = good == n && wall <= 1000;
    printf("%-16s %8.1f ms  %d of %d answered, each waiting 200 ms; target "
           "<= 1000 ms: %s\n", "waits_200", wall, good, n,
           smoke ? "(smoke)" : met ? "yes" : "NO");
    printf("json: {\"case\":\"waits_200\",\"unit\":\"ms\",\"libdi\":%.1f,\"requests\":%d,\"answered\":%d,\"target\":1000,\"met\":%s,\"smoke\":%s}\n",
           wall, n, good, met || smoke ? "true" : "false",
           smoke ? "true" : "false");
    fail |= !met && !smoke;
    fail |= good != n; /* an unanswered request is a failure even in smoke */

    /* async_concurrency: the same with PostgreSQL doing the waiting */
    if (pg_rc) {
        printf("SKIP: async_concurrency: no PostgreSQL (--pg FILE: a "
               "conninfo, as tests/pg.sh writes)\n");
    } else {
        double cold, blocked;
        int warm = at_once("/sleep", n < 100 ? n : 100, &cold); /* opens the
                                                                    pool */
        /* the median of three rounds (one in smoke) */
        double rounds[3];
        int nr = smoke ? 1 : 3;
        good = n;
        for (int i = 0; i < nr; i++) {
            int g = at_once("/sleep", n, &rounds[i]);
            if (g < good)
                good = g;
        }
        qsort(rounds, (size_t)nr, sizeof *rounds, cmp);
        wall = rounds[nr / 2];
        int nb = smoke ? 3 : 10;
        int goodb = at_once("/sleep_blocking", nb, &blocked);
        met = good == n && wall <= 1000;
        printf("%-17s %8.1f ms (%.1f-%.1f)  %d of %d answered, each in "
               "pg_sleep(0.2); target <= 1000 ms: %s (first round, opening "
               "%d connections: %.1f ms; blocking in PQexec: %d requests "
               "took %.1f ms, so %d would take %.1f s)\n", "async_concurrency",
               wall, rounds[0], rounds[nr - 1], good, n,
               smoke ? "(smoke)" : met ? "yes" : "NO", n < 100 ? n : 100, cold,
               nb, blocked, n, blocked / nb * n / 1000);
        printf("json: {\"case\":\"async_concurrency\",\"unit\":\"ms\",\"libdi\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f},\"requests\":%d,\"answered\":%d,\"first_round\":%.1f,\"blocking\":{\"requests\":%d,\"ms\":%.1f},\"target\":1000,\"met\":%s,\"smoke\":%s}\n",
               wall, rounds[0], rounds[nr - 1], n, good, cold, nb, blocked,
               met || smoke ? "true" : "false", smoke ? "true" : "false");
        fail |= !met && !smoke;
        fail |= good != n || warm != (n < 100 ? n : 100) || goodb != nb;
    }
    di_evhttp_stop(srv);
    di_container_free(c);
    event_base_free(base);
    return fail ? 1 : 0;
}
