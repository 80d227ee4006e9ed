/*
 * evhttp.c — the libevent adapter: a request from the complete request to
 * whichever comes first of the reply's completion and the connection's
 * close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <talloc.h>
#include <time.h>

#include "fault.h" /* test builds: allocation failure injection */

#include "di/evhttp.h"

/* the request's HTTP version (libevent 2.1 has no getter for it) */
#include <event2/http_struct.h>

/* One request in flight: ended by whichever callback fires first. */
typedef struct pending {
    di_http_req *r;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *watch;   /* while its answer waits: the client's socket */
} pending;

struct di_evhttp {
    struct event_base *base;
    bool own_base;         /* made here (else the caller's) */
    struct evhttp *http;
    di_http *h;
    struct evhttp_bound_socket *bound;
    _Atomic bool unbound;  /* di_evhttp_shutdown(): the socket is closed */
    pthread_t thread;
    bool running;
    uint16_t port;
};

static const char *method_of(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "UNKNOWN";
    }
}

static const char *lookup(void *ctx, int what, const char *name)
{
    if (what != DI_HTTP_LOOKUP_HEADER)
        return NULL;
    return evhttp_find_header(evhttp_request_get_input_headers(ctx), name);
}

/* Stop watching p's client. */
static void unwatch(pending *p)
{
    if (p->watch) {
        event_free(p->watch);
        p->watch = NULL;
    }
}

static void finish(pending *p, int delivered)
{
    unwatch(p);
    if (p->conn)
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
    di_http_end(p->r, delivered);
    talloc_free(p);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    (void)req;
    finish(arg, 1);
}

static void on_close(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    finish(arg, 0);
}

/* Move the body to the router in pieces, allocating nothing here; a piece
 * the router cannot keep (out of memory) is remembered there: dispatch
 * answers 500. */
static void feed_body(struct evhttp_request *req, di_http_req *r)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    char buf[8192];
    int n;
    while ((n = evbuffer_remove(in, buf, sizeof buf)) > 0)
        di_http_append_body(r, buf, (size_t)n);
}

/* Refuse, before anything is resolved, what libevent lets through and a
 * server must not serve: conflicting Content-Length headers, an HTTP/1.1
 * request without Host. (A NUL inside a header value cannot be seen:
 * libevent ends the value there.) */
static void check_heads(struct evhttp_request *req, di_http_req *r)
{
    const char *length = NULL;
    bool host = false;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next) {
        if (strcasecmp(kv->key, "Host") == 0)
            host = true;
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (length && strcmp(length, kv->value) != 0)
                di_http_reject(r, 400, "conflicting Content-Length headers");
            length = kv->value;
        }
    }
    if (!host && req->major == 1 && req->minor == 1)
        di_http_reject(r, 400, "an HTTP/1.1 request needs a Host header");
}

static void reply(pending *p);
static void answered(di_http_req *r, int outcome, void *arg);
static void watch(pending *p, struct event_base *b, evutil_socket_t fd);

void di_evhttp_handler(struct evhttp_request *req, void *arg)
{
    /* the path and query as sent: the router decodes them */
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    const char *query = u ? evhttp_uri_get_query(u) : NULL;
    char *target = talloc_asprintf(NULL, "%s%s%s", path && *path ? path : "/",
                                   query ? "?" : "", query ? query : "");
    pending *p = talloc_zero(NULL, pending);
    if (!target || !p ||
        di_http_begin(arg, method_of(evhttp_request_get_command(req)), target,
                      lookup, req, &p->r) != 0) {
        talloc_free(target);
        talloc_free(p);
        evhttp_send_error(req, 503, "cannot begin the request");
        return;
    }
    talloc_free(target);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn)
                                   : NULL;
    if (bev)
        di_http_client_socket(p->r, (int)bufferevent_getfd(bev));
    check_heads(req, p->r);
    feed_body(req, p->r);
    p->req = req;
    p->conn = conn;
    /* from now a connection that closes ends the request, even while its
     * dependencies or its COMMIT are still on their way */
    if (conn)
        evhttp_connection_set_closecb(conn, on_close, p);
    if (di_http_dispatch_async(p->r, answered, p) != DI_PENDING)
        reply(p); /* settled: the answer is final */
    else if (bev) /* evhttp reads nothing meanwhile: see a client leave */
        watch(p, bufferevent_get_base(bev), bufferevent_getfd(bev));
}

/* The client's socket became readable while its answer waits: at the end
 * of its stream (it left), close the connection, which ends the request
 * (on_close: its waits are cancelled, its scope rolled back); with bytes
 * there (a pipelined request), stop looking. */
static void client_moved(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    pending *p = arg;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    unwatch(p);
    if (n <= 0)
        evhttp_connection_free(p->conn); /* calls on_close */
}

static void watch(pending *p, struct event_base *b, evutil_socket_t fd)
{
    p->watch = event_new(b, fd, EV_READ | EV_PERSIST, client_moved, p);
    if (p->watch && event_add(p->watch, NULL) != 0)
        unwatch(p); /* not watched: a client that left is seen at the settle */
}

/* The answer of p's request is final (settled): send it. */
static void reply(pending *p)
{
    unwatch(p);
    struct evhttp_request *req = p->req;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", di_http_content_type(p->r));
    const char *name, *value;
    for (size_t i = 0; di_http_response_header(p->r, i, &name, &value); i++)
        evhttp_add_header(out, name, value);
    size_t len;
    const char *body = di_http_response(p->r, &len);
    struct evbuffer *buf = evbuffer_new();
    if (!buf || evbuffer_add(buf, body, len) != 0) {
        /* out of memory for the answer after the settle: whatever was
         * committed stands; the client is told it failed */
        if (buf)
            evbuffer_free(buf);
        evhttp_send_error(req, 500, NULL);
        finish(p, 0);
        return;
    }
    evhttp_request_set_on_complete_cb(req, on_complete, p);
    evhttp_send_reply(req, di_http_status(p->r), NULL, buf);
    evbuffer_free(buf);
}

/* di_http_dispatch_async()'s callback: the answer became final later. */
static void answered(di_http_req *r, int outcome, void *arg)
{
    (void)r;
    (void)outcome;
    reply(arg);
}

static void *loop(void *arg)
{
    di_evhttp *s = arg;
    /* libevent writes with writev(): to a client that left, that raises
     * SIGPIPE, which would kill the process. Blocked in this thread, the
     * write fails with EPIPE instead and the signal stays pending here. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int destructor(di_evhttp *s)
{
    if (s->running) {
        event_base_loopbreak(s->base);
        pthread_join(s->thread, NULL);
    }
    if (s->http)
        evhttp_free(s->http); /* closes connections: pending requests end */
    if (s->base && s->own_base)
        event_base_free(s->base);
    return 0;
}

int di_evhttp_start(void *mem, di_http *h, const di_evhttp_options *o,
                    di_evhttp **out)
{
    if (!h || !out)
        return DI_EINVAL;
    *out = NULL;
    di_evhttp_options none = { 0 };
    if (!o)
        o = &none;
    if (!di_container_sealed(di_http_container(h)))
        return DI_ENOTSEALED;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))evthread_use_pthreads);
    di_evhttp *s = talloc_zero(mem, di_evhttp);
    if (!s)
        return DI_ENOMEM;
    talloc_set_destructor(s, destructor);
    s->own_base = !o->base;
    s->base = o->base ? o->base : event_base_new();
    /* the loop runs on the server's thread: di_evhttp_stop() wakes it from
     * another (a caller's base made before threading was on cannot be) */
    if (o->base && evthread_make_base_notifiable(o->base) != 0) {
        talloc_free(s);
        return DI_EINVAL;
    }
    s->http = s->base ? evhttp_new(s->base) : NULL;
    if (!s->http) {
        talloc_free(s);
        return DI_ENOMEM;
    }
    evhttp_set_timeout(s->http,
                       (int)(o->timeout_s ? o->timeout_s : DI_EVHTTP_TIMEOUT));
    /* a larger body is refused by libevent (413) before it is read */
    evhttp_set_max_body_size(s->http, DI_HTTP_BODY_MAX);
    /* every method libevent parses reaches the router, which answers 405
     * with Allow for what a path does not serve (libevent's default set
     * leaves out OPTIONS, TRACE, CONNECT and PATCH) */
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                               EVHTTP_REQ_PATCH);
    evhttp_set_gencb(s->http, di_evhttp_handler, h);
    s->h = h;
    struct evhttp_bound_socket *bs = s->bound = evhttp_bind_socket_with_handle(
        s->http, o->address ? o->address : "0.0.0.0", o->port);
    /* libevent listens with a queue of 128: a burst of connections (1,500
     * clients arriving at once, measured) overflows it while the loop
     * accepts, and the kernel then drops new clients' SYNs, which retry
     * only after a second. Listening again resizes the queue to the
     * system's limit (net.core.somaxconn), as libmicrohttpd does. */
    if (!bs || listen(evhttp_bound_socket_get_fd(bs), SOMAXCONN) != 0) {
        talloc_free(s);
        return DI_EBUSY;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    s->port = o->port;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                    &sl) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
    if (pthread_create(&s->thread, NULL, loop, s) != 0) {
        talloc_free(s);
        return DI_ENOMEM;
    }
    s->running = true;
    *out = s;
    return 0;
}

uint16_t di_evhttp_port(const di_evhttp *s) { return s ? s->port : 0; }

/* ---- timers for di_async_timers() ---- */

typedef struct evtimer_ctx {
    struct event *ev;
    void (*fire)(void *);
    void *arg;
} evtimer_ctx;

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evtimer_ctx *t = arg;
    void (*fire)(void *) = t->fire;
    void *farg = t->arg;
    event_free(t->ev);
    talloc_free(t);
    fire(farg);
}

static void *timer_start(void *data, unsigned ms, void (*fire)(void *),
                         void *arg)
{
    evtimer_ctx *t = talloc_zero(NULL, evtimer_ctx);
    if (!t)
        return NULL;
    t->fire = fire;
    t->arg = arg;
    t->ev = evtimer_new((struct event_base *)data, timer_fired, t);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (!t->ev || evtimer_add(t->ev, &tv) != 0) {
        if (t->ev)
            event_free(t->ev);
        talloc_free(t);
        return NULL;
    }
    return t;
}

static void timer_stop(void *data, void *timer)
{
    (void)data;
    evtimer_ctx *t = timer;
    event_free(t->ev); /* deletes it first */
    talloc_free(t);
}

int di_evhttp_timers(struct event_base *base, di_timer_ops *out)
{
    if (!base || !out)
        return DI_EINVAL;
    *out = (di_timer_ops){ timer_start, timer_stop, base };
    return 0;
}

int di_evhttp_stop(di_evhttp *s)
{
    if (!s)
        return DI_EINVAL;
    talloc_free(s);
    return 0;
}

/* On the loop's thread: stop accepting. */
static void unbind(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    di_evhttp *s = arg;
    evhttp_del_accept_socket(s->http, s->bound);
    s->bound = NULL;
    atomic_store(&s->unbound, true);
}

int di_evhttp_shutdown(di_evhttp *s, unsigned timeout_ms)
{
    if (!s)
        return DI_EINVAL;
    /* evhttp belongs to the loop's thread: it closes its listening socket
     * there when it gets to it (a handler that blocks the loop delays it),
     * while this thread drains from now on; the server is freed only
     * after, as the loop still holds s */
    bool posted = s->bound && event_base_once(s->base, -1, EV_TIMEOUT, unbind,
                                              s, NULL) == 0;
    long left = di_http_drain(s->h, timeout_ms);
    while (posted && !atomic_load(&s->unbound))
        nanosleep(&(struct timespec){ 0, 1000000L }, NULL);
    talloc_free(s);
    return left > INT_MAX ? INT_MAX : (int)left;
}
