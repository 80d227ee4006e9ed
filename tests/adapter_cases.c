/*
 * adapter_cases.c — see adapter_cases.h.
 */
#include "adapter_cases.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "httpc.h"

int t_adapter_begins_when_complete;
int t_adapter_sees_client_gone;
int t_adapter_sees_header_nul;
int t_adapter_serves_idle;
static t_start_fn start_fn;
static t_stop_fn stop_fn;
t_shutdown_fn t_adapter_shutdown;
static di_container *c;
static di_http *router;
static void *server;
static uint16_t port;

static atomic_int ended, commits, rollbacks;
static atomic_int slow_started; /* the /slow handler has begun */
static atomic_int last_outcome, last_delivered;

static void on_end(void *ctx, const di_http_req *r, int outcome)
{
    (void)ctx;
    atomic_store(&last_outcome, outcome);
    atomic_store(&last_delivered, di_http_delivered(r));
    atomic_fetch_add(&ended, 1);
}

/* The router's log: the last line, and how many. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_log[1024];
static atomic_int logged;

static void capture(void *ctx, const di_log_record *rec)
{
    /* the router's records only */
    if (strncmp(rec->message, "di_http:", 8) != 0)
        return;
    const char *line = rec->message;
    (void)ctx;
    pthread_mutex_lock(&log_lock);
    snprintf(last_log, sizeof last_log, "%s", line);
    pthread_mutex_unlock(&log_lock);
    atomic_fetch_add(&logged, 1);
}

static bool log_is(const char *want)
{
    pthread_mutex_lock(&log_lock);
    bool same = strcmp(last_log, want) == 0;
    if (!same)
        fprintf(stderr, "\n  logged: %s\n  wanted: %s\n", last_log, want);
    pthread_mutex_unlock(&log_lock);
    return same;
}

/* A transaction whose COMMIT fails, as a database's does when the file
 * is locked past its busy timeout. */
static int locked_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    atomic_fetch_add(outcome == 0 ? &commits : &rollbacks, 1);
    return outcome == 0 ? di_fail(b, DI_EPROVIDER, "COMMIT failed: database "
                                  "is locked")
                        : 0;
}

static int tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static int tx_dispose(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)inst;
    atomic_fetch_add(outcome == 0 ? &commits : &rollbacks, 1);
    return 0;
}

static int user_create(const di_build *b, void **out)
{
    const char *auth = di_http_header(b->deps[0], "Authorization");
    if (!auth || strcmp(auth, "Bearer secret") != 0)
        return di_fail(b, DI_HTTP_ERROR(401), "missing bearer token");
    *out = "alice";
    return 0;
}

static int hello(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "hello %s", (const char *)deps[1]);
    return di_http_respond(r, 200, "text/plain", msg, (size_t)n);
}

static int echo(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    size_t n;
    const char *body = di_http_body(r, &n);
    di_http_add_header(r, "Location", "/echo/1");
    return di_http_respond(r, 201, "application/json", body, n);
}

static int fail(di_http_req *r, void *const *deps, void *data)
{
    (void)r;
    (void)deps;
    (void)data;
    return DI_EPROVIDER;
}

static int slow(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    atomic_fetch_add(&slow_started, 1);
    struct timespec ts = { 0, 300 * 1000000 };
    nanosleep(&ts, NULL);
    char big[65536];
    memset(big, 'x', sizeof big);
    return di_http_respond(r, 200, "text/plain", big, sizeof big);
}

/* A handler still running when a shutdown's deadline passes. */
static int slower(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    atomic_fetch_add(&slow_started, 1);
    nanosleep(&(struct timespec){ 1, 200 * 1000000 }, NULL);
    return di_http_respond(r, 201, "text/plain", "saved?", 6);
}

/* More than the loopback socket buffers hold: 32 MiB. */
#define HUGE_SIZE (32u << 20)

static int huge(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    char *big = talloc_size(NULL, HUGE_SIZE);
    if (!big)
        return DI_ENOMEM;
    memset(big, 'h', HUGE_SIZE);
    int rc = di_http_respond(r, 200, "text/plain", big, HUGE_SIZE);
    talloc_free(big);
    return rc;
}

static const char *const user_deps[] = { "tx", "user", NULL };
static const char *const locked_deps[] = { "locked_tx", NULL };
static const char *const tx_deps[] = { "tx", NULL };
static const char *const req_deps[] = { "http_request:di_http_req", NULL };

static int suite_init(void)
{
    if (di_container_new(NULL, &c) || di_http_new(c, c, &router))
        return 1;
    di_http_on_end(router, on_end, NULL);
    di_log_set(capture, NULL);
    int rc = di_provide(c, &(di_provider_desc){ .name = "tx",
        .lifetime = "request", .create = tx_create, .dispose = tx_dispose });
    rc |= di_provide(c, &(di_provider_desc){ .name = "user",
        .lifetime = "request", .deps = req_deps, .create = user_create });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "GET",
        .path = "/hello", .deps = user_deps, .handler = hello });
    rc |= di_provide(c, &(di_provider_desc){ .name = "locked_tx",
        .lifetime = "request", .create = tx_create,
        .dispose = locked_dispose });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "POST",
        .path = "/echo", .deps = tx_deps, .handler = echo });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "POST",
        .path = "/locked", .deps = locked_deps, .handler = echo });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "GET",
        .path = "/fail", .deps = tx_deps, .handler = fail });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "GET",
        .path = "/slow", .deps = tx_deps, .handler = slow });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "GET",
        .path = "/huge", .deps = tx_deps, .handler = huge });
    rc |= di_http_route(router, &(di_http_route_desc){ .method = "POST",
        .path = "/slower", .deps = tx_deps, .handler = slower });
    rc |= di_container_seal(c);
    if (rc)
        return 1;
    server = start_fn(router, &port);
    return server ? 0 : 1;
}

static int suite_clean(void)
{
    if (server)
        stop_fn(server);
    server = NULL;
    /* in debug builds this refuses while any request scope is open */
    int rc = di_container_free(c);
    return rc != 0;
}

/* Counters before a case, and the wait for its request to end. */
typedef struct snap { int ended, commits, rollbacks; } snap;

static snap now(void)
{
    return (snap){ atomic_load(&ended), atomic_load(&commits),
                   atomic_load(&rollbacks) };
}

static void expect_end_within(snap before, int outcome, int commit,
                              int rollback, int ms)
{
    CU_ASSERT_TRUE(t_wait_for(&ended, before.ended + 1, ms));
    CU_ASSERT_EQUAL(atomic_load(&last_outcome), outcome);
    CU_ASSERT_EQUAL(atomic_load(&commits) - before.commits, commit);
    CU_ASSERT_EQUAL(atomic_load(&rollbacks) - before.rollbacks, rollback);
}

static void expect_end(snap before, int outcome, int commit, int rollback)
{
    expect_end_within(before, outcome, commit, rollback, 5000);
}

static void test_success_commits(void)
{
    snap b = now();
    t_resp r;
    T_OK(t_http(port, "GET", "/hello", "Authorization: Bearer secret\r\n",
                NULL, &r));
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "hello alice");
    T_HEADER_IS(&r, "Content-Type", "text/plain");
    t_resp_free(&r);
    expect_end(b, 0, 1, 0);
    /* exactly once: nothing more ends later */
    usleep(100000);
    CU_ASSERT_EQUAL(atomic_load(&ended), b.ended + 1);
}

static void test_body_and_headers(void)
{
    snap b = now();
    t_resp r;
    T_OK(t_http(port, "POST", "/echo", "Content-Type: application/json\r\n",
                "{\"text\": \"hi\"}", &r));
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"text\": \"hi\"}");
    T_HEADER_IS(&r, "Location", "/echo/1");
    t_resp_free(&r);
    expect_end(b, 0, 1, 0);
}

static void test_handler_failure_rolls_back(void)
{
    snap b = now();
    t_resp r;
    T_OK(t_http(port, "GET", "/fail", NULL, NULL, &r));
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":\"internal error\"}");
    t_resp_free(&r);
    expect_end(b, DI_EPROVIDER, 0, 1);
}

static void test_provider_401(void)
{
    snap b = now();
    t_resp r;
    T_OK(t_http(port, "GET", "/hello", NULL, NULL, &r));
    CU_ASSERT_EQUAL(r.status, 401);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":\"missing bearer token\"}");
    t_resp_free(&r);
    expect_end(b, DI_HTTP_ERROR(401), 0, 1); /* tx was built, then user failed */
    b = now();
    T_OK(t_http(port, "DELETE", "/hello", NULL, NULL, &r));
    CU_ASSERT_EQUAL(r.status, 405);
    t_resp_free(&r);
    expect_end(b, DI_HTTP_ERROR(405), 0, 0);
    /* any method the framework parses reaches the router: its 405 */
    b = now();
    T_OK(t_http(port, "PATCH", "/hello", NULL, NULL, &r));
    CU_ASSERT_EQUAL(r.status, 405);
    t_resp_free(&r);
    expect_end(b, DI_HTTP_ERROR(405), 0, 0);
    b = now();
    T_OK(t_http(port, "GET", "/nowhere", NULL, NULL, &r));
    CU_ASSERT_EQUAL(r.status, 404);
    t_resp_free(&r);
    expect_end(b, DI_HTTP_ERROR(404), 0, 0);
}

/* The COMMIT fails after the handler answered 201: the client gets a 500
 * that says its changes were not saved, never the 201 or its Location, and
 * the failure is logged with its dependency path. */
static void test_commit_fails(void)
{
    snap b = now();
    t_resp r;
    T_OK(t_http(port, "POST", "/locked", NULL, "{\"title\":\"t\"}", &r));
    CU_ASSERT_EQUAL(r.status, 500);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":\"the request's changes were "
                                   "not saved\"}");
    char loc[64];
    CU_ASSERT_PTR_NULL(t_resp_header(&r, "Location", loc, sizeof loc));
    t_resp_free(&r);
    expect_end(b, DI_EDISPOSE, 1, 0);
    CU_ASSERT_TRUE(log_is("di_http: POST /locked: not saved: POST /locked "
                          "\xe2\x86\x92 locked_tx: COMMIT failed: database "
                          "is locked"));
}

/* The client resets the connection while the handler runs. Where the
 * adapter lets the router see the socket, the request rolls back; where
 * it cannot (civetweb), the commit happens and the lost answer cannot undo
 * it: delivery fails after it. */
static void test_client_gone(void)
{
    snap b = now();
    int started = atomic_load(&slow_started);
    int fd = t_http_send_raw(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    /* reset only once the handler runs (valgrind makes that slow) */
    CU_ASSERT_TRUE(t_wait_for(&slow_started, started + 1, 10000));
    t_http_reset(fd);
    if (t_adapter_sees_client_gone) {
        expect_end(b, DI_EABANDONED, 0, 1);
    } else {
        printf("\n  (this framework cannot show its socket: the commit "
               "stands) ");
        expect_end(b, 0, 1, 0);
    }
    CU_ASSERT_EQUAL(atomic_load(&last_delivered), 0);
}

/* A body announced larger than DI_HTTP_BODY_MAX, with "Expect:
 * 100-continue": the first answer is the 413, never "100 Continue", and
 * no handler runs. */
static void test_too_large_refused_first(void)
{
    snap b = now();
    int fd = t_http_send_raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 2000000\r\n"
                             "Expect: 100-continue\r\n\r\n");
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    char got[256] = "";
    size_t n = 0;
    struct pollfd pf = { fd, POLLIN, 0 };
    while (n < 12 && poll(&pf, 1, 10000) > 0) {
        ssize_t k = read(fd, got + n, sizeof got - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    got[n] = '\0';
    CU_ASSERT_EQUAL(strncmp(got, "HTTP/1.1 413", 12), 0);
    if (strncmp(got, "HTTP/1.1 413", 12) != 0)
        fprintf(stderr, "\n  first answer: %.40s\n", got);
    close(fd);
    if (t_adapter_begins_when_complete) {
        usleep(200000); /* libevent refused it: no request began */
        CU_ASSERT_EQUAL(atomic_load(&ended), b.ended);
    } else {
        expect_end(b, DI_HTTP_ERROR(413), 0, 0);
    }
}

/* Wait until no request has ended for 300 ms (the ends of requests whose
 * answers were read only in part come after them), at most 10 s. */
static void quiet(void)
{
    for (int i = 0, was = -1; i < 33 && was != atomic_load(&ended); i++) {
        was = atomic_load(&ended);
        usleep(300000);
    }
}

/* The status a raw request gets (0: none within 10 s). */
static int raw_status(const char *req, size_t len)
{
    int fd = t_http_send_raw(port, "");
    if (fd < 0)
        return -1;
    if (write(fd, req, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    char got[64] = "";
    size_t n = 0;
    struct pollfd pf = { fd, POLLIN, 0 };
    while (n < 12 && poll(&pf, 1, 10000) > 0) {
        ssize_t k = read(fd, got + n, sizeof got - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    return n >= 12 ? atoi(got + 9) : 0;
}

#define RAW(lit) raw_status(lit, sizeof lit - 1)

/* What the framework may let through, refused before anything resolves
 * (by the framework itself or by the adapter): no Host in HTTP/1.1,
 * conflicting Content-Length, a NUL in a header, an encoded NUL or '/' in
 * the path. Nothing commits. */
static void test_bad_requests_refused(void)
{
    snap b = now();
    CU_ASSERT_EQUAL(RAW("GET /hello HTTP/1.1\r\nAuthorization: Bearer "
                        "secret\r\n\r\n"), 400);
    CU_ASSERT_EQUAL(RAW("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                        "2\r\nContent-Length: 5\r\n\r\n{}abc"), 400);
    if (t_adapter_sees_header_nul) {
        CU_ASSERT_EQUAL(RAW("GET /hello HTTP/1.1\r\nHost: x\r\n"
                            "Authorization: Bearer secret\0x\r\n\r\n"), 400);
    } else {
        printf("\n  (a NUL in a header value: this framework ends the value "
               "there, unseen) ");
    }
    CU_ASSERT_EQUAL(RAW("GET /hello%00x HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    CU_ASSERT_EQUAL(RAW("GET /he%2Fllo HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    quiet();
    CU_ASSERT_EQUAL(atomic_load(&commits), b.commits);
    /* and a good one still passes */
    CU_ASSERT_EQUAL(RAW("GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        "Bearer secret\r\nConnection: close\r\n\r\n"), 200);
    quiet();
    CU_ASSERT_EQUAL(atomic_load(&commits), b.commits + 1);
}

/* A request that never began must not end; the server still answers. */
static void expect_nothing_began(snap b)
{
    usleep(1500000); /* past the 1 s timeout */
    CU_ASSERT_EQUAL(atomic_load(&ended), b.ended);
    t_resp r;
    T_OK(t_http(port, "POST", "/echo", NULL, "{}", &r));
    CU_ASSERT_EQUAL(r.status, 201);
    t_resp_free(&r);
    CU_ASSERT_TRUE(t_wait_for(&ended, b.ended + 1, 5000));
}

/* The client asks for a large response and stops reading: the request was
 * settled (committed) before the answer went out; the server cannot
 * deliver it, its write times out (1 s), and the request ends undelivered
 * (for libevent: the completion callback never fires, the close callback
 * ends it). The commit stands. */
static void test_stalled_reader(void)
{
    snap b = now();
    int fd = t_http_send_raw(port, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n");
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    /* civetweb gives up on a stalled write only after several seconds (6 s
     * measured here), not at its 1 s request timeout: allow 30 */
    expect_end_within(b, 0, 1, 0, 30000);
    CU_ASSERT_EQUAL(atomic_load(&last_delivered), 0);
    close(fd);
}

/* The body never fully arrives: the idle timeout (1 s) ends the request. */
static void test_timeout_mid_body(void)
{
    snap b = now();
    int fd = t_http_send_raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 100\r\n\r\n{\"a\"");
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    if (t_adapter_begins_when_complete)
        expect_nothing_began(b);
    else
        expect_end(b, DI_EABANDONED, 0, 0);
    close(fd);
}

/* The client closes (EOF) with the body half sent. */
static void test_eof_mid_body(void)
{
    snap b = now();
    int fd = t_http_send_raw(port, "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: 100\r\n\r\n{\"a\"");
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    usleep(300000); /* the server has read the headers (slower under valgrind) */
    close(fd);
    if (t_adapter_begins_when_complete)
        expect_nothing_began(b);
    else
        expect_end(b, DI_EABANDONED, 0, 0);
}

/* 1,500 connections from 127.0.0.1 send half a request and wait; a client
 * from 127.0.0.2 is answered at once: well within the 1 s timeout that
 * would free the server anyway (without the per-address limit,
 * libmicrohttpd answers it only then, after 880-985 ms, with and without
 * valgrind). "At once" is 500 ms: the server may still be accepting the
 * 1,500 (130 ms under valgrind with both cores busy), and the client
 * waits behind them; a listen queue too short for them (libevent's 128)
 * drops its SYN, and the kernel sends it again after a second. */
static void test_idle_clients_lock_nobody_out(void)
{
    if (!t_adapter_serves_idle) {
        printf("\n  SKIP: civetweb gives each connection a worker thread "
               "until its request is read or it times out (see civetweb.h) ");
        return;
    }
    enum { IDLE = 1500 };
    snap b = now();
    int opened;
    double ms;
    int status = t_idle_then_request(port, IDLE, "GET /hello HTTP/1.1\r\n"
                                     "Host: x\r\n", "/fail", &opened, &ms);
    if (status == -2) {
        printf("\n  SKIP: this process may not open the %d files the test "
               "needs ", IDLE * 2 + 64);
        return;
    }
    CU_ASSERT_EQUAL(opened, IDLE);
    CU_ASSERT_EQUAL(status, 500);
    CU_ASSERT(ms < 500);
    /* only the one request began, and it ended */
    CU_ASSERT_TRUE(t_wait_for(&ended, b.ended + 1, 5000));
    quiet();
    CU_ASSERT_EQUAL(atomic_load(&ended), b.ended + 1);
    printf("\n  %d idle connections from 127.0.0.1; 127.0.0.2 answered in "
           "%.1f ms ", opened, ms);
}

typedef struct call { const char *method, *path; int status; } call;

static void *call_run(void *arg)
{
    call *k = arg;
    t_resp r;
    k->status = t_http(port, k->method, k->path, NULL, "{}", &r) ? -1
                                                                  : r.status;
    if (k->status != -1)
        t_resp_free(&r);
    return NULL;
}

/* The last case: it stops the server. A graceful shutdown whose deadline
 * passes while a handler runs: the request is rolled back as abandoned and
 * never answered 2xx; a request that comes meanwhile is refused (503, or
 * no connection at all); the shutdown says one was left. */
static void test_graceful_shutdown(void)
{
    if (!t_adapter_shutdown) {
        printf("\n  SKIP: no graceful shutdown for this adapter ");
        return;
    }
    snap b = now();
    int started = atomic_load(&slow_started);
    call k = { "POST", "/slower", 0 }, late = { "POST", "/echo", 0 };
    pthread_t t, u;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, call_run, &k), 0);
    CU_ASSERT_TRUE(t_wait_for(&slow_started, started + 1, 10000));
    /* the shutdown runs while a late client tries */
    CU_ASSERT_EQUAL_FATAL(pthread_create(&u, NULL, call_run, &late), 0);
    int left = t_adapter_shutdown(server, 300);
    server = NULL;
    pthread_join(t, NULL);
    pthread_join(u, NULL);
    CU_ASSERT_EQUAL(left, 1);
    CU_ASSERT_TRUE(k.status == 503 || k.status == -1);
    CU_ASSERT_TRUE(late.status == 503 || late.status == -1 ||
                   late.status == 201);
    if (late.status == 201) /* it began before the shutdown did */
        CU_ASSERT_EQUAL(atomic_load(&commits) - b.commits, 1);
    CU_ASSERT_EQUAL(atomic_load(&rollbacks) - b.rollbacks, 1);
    CU_ASSERT_TRUE(t_wait_for(&ended, b.ended + 1, 5000));
    printf("\n  deadline passed with the handler running: answered %d, "
           "rolled back; a late request: %d ", k.status, late.status);
}

int t_adapter_run(const char *suite, t_start_fn start, t_stop_fn stop)
{
    start_fn = start;
    stop_fn = stop;
    CU_TestInfo tests[] = {
        { "success commits, once", test_success_commits },
        { "body in, status and headers out", test_body_and_headers },
        { "a failing handler rolls back", test_handler_failure_rolls_back },
        { "401 from a provider, 405, 404", test_provider_401 },
        { "a COMMIT that fails: 500, not saved, logged", test_commit_fails },
        { "client gone mid-handler", test_client_gone },
        { "a body announced too large: 413 first", test_too_large_refused_first },
        { "bad requests refused at the door", test_bad_requests_refused },
        { "a client that stops reading: committed, undelivered", test_stalled_reader },
        { "timeout mid-body: abandoned", test_timeout_mid_body },
        { "EOF mid-body: abandoned", test_eof_mid_body },
        { "1,500 idle clients lock nobody out", test_idle_clients_lock_nobody_out },
        { "graceful shutdown: the deadline rolls back, never 2xx",
          test_graceful_shutdown }, /* the last: it stops the server */
        CU_TEST_INFO_NULL,
    };
    return t_run_with(suite, suite_init, suite_clean, tests);
}
