/*
 * server.c — the notes REST service on libmicrohttpd, or with --loop on
 * libevent's one loop thread.
 *
 *   notes [--loop] [--config FILE] [--port N] [--address A] [--plugins DIR]
 *         [--quiet] [--debug] [--check] [--graph] [--openapi]
 *
 * --loop: one thread serves every request on a libevent loop with the
 * asynchronous PostgreSQL kinds (notes-async.json by default) and the
 * handlers of app_async.c, whose queries wait on the loop too.
 * The config (default: notes.json next to this source, SQLite in
 * ./notes.db) chooses the database; --check validates the whole graph and
 * exits (0 or 1 with every problem), --graph prints it as DOT, --openapi
 * prints the API's OpenAPI document (also served as GET /openapi.json,
 * with the docs page at GET /docs); --debug adds
 * X-DI-Memory and X-DI-Trace to each answer (what its request scope held,
 * and what it built for whom and how fast, as JSON) and logs each request's
 * complete trace (dispose times included) when its scope ends.
 *
 * At start every singleton is built (di_container_build()): with its
 * database unreachable the server exits 1 within the connection's timeout,
 * printing the path and the reason ("notes: cannot start: db: postgres:
 * cannot connect (...): ...").
 *
 * SIGHUP reloads the config without a restart (di/live.h): a new container
 * is wired, loaded, sealed, built and migrated; if all of that works it becomes
 * current — requests in flight finish on the old one, whose singletons
 * (the old database pool) are disposed when the last of them ends — and
 * otherwise it is refused and the running configuration stays. The server
 * runs until SIGINT or SIGTERM, then shuts down gracefully: it stops
 * accepting, lets the requests in flight finish — each settled (COMMIT)
 * before its answer — for up to --shutdown-timeout seconds (10), rolls
 * back those still running then (answered 503 if at all, never 2xx),
 * disposes the singletons in reverse and exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <unistd.h>

#include <di/mhd.h>
#ifdef NOTES_LOOP
#include <di/evhttp.h>
#include <event2/event.h>
#include <event2/thread.h>
#endif

#include "notes.h"

static void print_errors(const di_error *e)
{
    for (; e; e = di_error_next(e))
        fprintf(stderr, "%s\n", di_error_message(e));
}

/* --debug: each request's trace, complete, when its scope has ended. */
static void log_trace(const di_trace_event *ev, void *quiet)
{
    if (ev->what != DI_TRACE_SCOPE_END || *(int *)quiet)
        return;
    char *json;
    if (di_scope_trace(ev->scope, NULL, &json) == 0) {
        fprintf(stderr, "trace: %s\n", json);
        talloc_free(json);
    }
}

/* The loop (--loop), or NULL. */
static struct event_base *loop_base;

/* Everything but the routes, on c: kinds, logger, current_user, tracing,
 * and the config file. */
static int wire(di_container *c, notes_config *cfg, const char *plugins)
{
    int rc = notes_register_kinds(c);
    if (!rc) /* the inputs' models, checked at seal */
        rc = notes_register_models(c);
    if (!rc) /* GET /metrics: what each container built and ended */
        rc = di_metrics_enable(c);
    if (!rc)
        rc = notes_register_logger(c, cfg);
#ifdef NOTES_LOOP
    if (!rc && loop_base) {
        rc = di_provide_value(c, "event_base", "event_base", loop_base);
        if (!rc)
            rc = notes_wire_async(c);
    } else
#endif
    if (!rc)
        rc = notes_register_current_user(c);
    if (!rc && cfg->debug)
        rc = di_trace_enable(c, log_trace, &cfg->quiet);
    if (!rc) {
        di_plugin_dir(c, plugins);
        di_plugin_dir(c, di_plugin_system_dir());
        rc = di_config_load_file(c, cfg->file);
    }
    return rc;
}

/* Every singleton now (the database pool opens its connections), so that
 * a database that is down stops the server at start with the path and
 * the database's message, instead of failing its first requests. */
static int build(di_container *c)
{
    int rc = di_container_build(c, NULL);
    notes_log *log;
    if (rc)
        fprintf(stderr, "notes: cannot start: %s\n",
                di_error_message(di_container_error(c)));
    else if (di_root_get(c, "logger", (void **)&log) == 0) /* outside any
                                                              scope */
        notes_log_printf(log, "notes: every singleton is built");
    return rc;
}

/* The tables, before c serves (running: the loop already runs in the
 * server's thread). */
static int migrate(di_container *c, int running)
{
#ifdef NOTES_LOOP
    if (loop_base)
        return notes_migrate_async(c, loop_base, running);
#endif
    (void)running;
    return notes_migrate(c, NULL);
}

/* SIGHUP: the next container from the config as it is now, published only
 * if it loads, seals and migrates. */
static void reload(di_live *live, di_http *router, notes_config *cfg,
                   const char *plugins)
{
    di_container *next;
    int rc = di_container_new(NULL, &next);
    if (rc) {
        fprintf(stderr, "notes: reload: %s\n", di_strerror(rc));
        return;
    }
    rc = di_http_wire(router, next);
    if (!rc)
        rc = wire(next, cfg, plugins);
    if (!rc)
        rc = di_container_seal(next);
    if (rc)
        print_errors(di_container_error(next));
    if (!rc)
        rc = build(next);
    if (!rc)
        rc = migrate(next, 1);
    if (!rc)
        rc = di_live_publish(live, next);
    /* on stdout, like "listening on": what an operator (or a test) waits
     * for; the problems themselves went to stderr */
    if (rc) {
        printf("notes: reload of %s refused (%s): still serving the "
               "previous configuration\n", cfg->file, di_strerror(rc));
        fflush(stdout);
        di_container_free(next);
        return;
    }
    printf("notes: reloaded %s (generation %llu)\n", cfg->file,
           (unsigned long long)di_live_generation(live));
    fflush(stdout);
}

/* The access log: what each request answered, whether its changes were
 * kept, and whether the answer reached the client (a 201 that did not was
 * committed all the same). */
static void on_end(void *ctx, const di_http_req *r, int outcome)
{
    if (*(int *)ctx)
        return;
    fprintf(stderr, "%s %s -> %d%s%s\n", di_http_method(r), di_http_path(r),
            di_http_status(r),
            outcome == DI_EDISPOSE ? " (not saved)"
            : outcome ? " (rolled back)" : "",
            di_http_delivered(r) ? "" : " (not delivered)");
}

int main(int argc, char **argv)
{
    notes_config cfg = { .file = NOTES_DIR "/notes.json",
                         .address = "127.0.0.1", .port = 8080 };
    const char *plugins = NOTES_PLUGIN_DIR;
    int check = 0, graph = 0, openapi = 0, loop = 0, config_given = 0, shutdown_s = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--loop") == 0)
            loop = 1;
        else if (strcmp(a, "--config") == 0 && v)
            cfg.file = argv[++i], config_given = 1;
        else if (strcmp(a, "--shutdown-timeout") == 0 && v)
            shutdown_s = atoi(argv[++i]);
        else if (strcmp(a, "--port") == 0 && v)
            cfg.port = atoi(argv[++i]);
        else if (strcmp(a, "--address") == 0 && v)
            cfg.address = argv[++i];
        else if (strcmp(a, "--plugins") == 0 && v)
            plugins = argv[++i];
        else if (strcmp(a, "--quiet") == 0)
            cfg.quiet = 1;
        else if (strcmp(a, "--debug") == 0)
            cfg.debug = 1;
        else if (strcmp(a, "--check") == 0)
            check = 1;
        else if (strcmp(a, "--graph") == 0)
            graph = 1;
        else if (strcmp(a, "--openapi") == 0)
            openapi = 1;
        else {
            fprintf(stderr, "usage: notes [--loop] [--config FILE] [--port N] "
                    "[--shutdown-timeout SECONDS] "
                    "[--address A] [--plugins DIR] [--quiet] [--debug] "
                    "[--check] "
                    "[--graph] [--openapi]\n");
            return 2;
        }
    }

#ifdef NOTES_LOOP
    if (loop) {
        /* the base is made before the containers, which hand it to the
         * providers that wait on it, and is woken from other threads */
        evthread_use_pthreads();
        if (!(loop_base = event_base_new())) {
            fprintf(stderr, "notes: cannot make an event base\n");
            return 1;
        }
        if (!config_given)
            cfg.file = NOTES_DIR "/notes-async.json";
    }
#else
    if (loop) {
        fprintf(stderr, "notes: --loop needs libevent (not found when "
                "this was built)\n");
        return 2;
    }
    (void)config_given;
#endif
    void *mem = talloc_new(NULL);
    di_container *c; /* owned by the live handle below, or freed here */
    di_http *router;
    int rc = di_container_new(NULL, &c);
    if (rc) {
        talloc_free(mem);
        return 1;
    }
    rc = di_http_new(mem, c, &router);
#ifdef NOTES_LOOP
    if (!rc && loop_base)
        rc = notes_register_routes_async(router, &cfg);
    else
#endif
    if (!rc)
        rc = notes_register_routes(router, &cfg);
    if (!rc)
        rc = di_metrics_route(router, "/metrics");
    if (!rc) /* GET /openapi.json and GET /docs */
        rc = notes_register_docs(router);
    if (!rc)
        rc = wire(c, &cfg, plugins);
    int sealed = rc ? rc : di_container_seal(c);
    if (graph) {
        char *dot;
        if (di_graph_dot(c, mem, &dot) == 0)
            fputs(dot, stdout);
    }
    if (rc || sealed) {
        print_errors(di_container_error(c));
        fprintf(stderr, "notes: %s: the graph is not valid\n", cfg.file);
        di_container_free(c);
        talloc_free(mem);
        return 1;
    }
    if (openapi) {
        char *doc;
        if ((rc = di_openapi_json(router, NULL, mem, &doc)) == 0)
            printf("%s\n", doc);
        else
            print_errors(di_container_error(c));
    }
    if (check || graph || openapi || (rc = build(c)) ||
        (rc = migrate(c, 0))) {
        if (check)
            printf("notes: %s: ok\n", cfg.file);
        di_container_free(c);
        talloc_free(mem);
        return rc ? 1 : 0;
    }
    di_live *live;
    if ((rc = di_live_new(mem, c, &live))) {
        di_container_free(c);
        talloc_free(mem);
        return 1;
    }
    di_http_use_live(router, live);
    di_http_on_end(router, on_end, &cfg.quiet);

    /* SIGINT, SIGTERM and SIGHUP are taken by sigwait() below: block them
     * here, before MHD's threads exist, so that none of those threads gets
     * them */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    di_mhd *srv = NULL;
#ifdef NOTES_LOOP
    di_evhttp *evsrv = NULL;
    if (loop_base)
        rc = di_evhttp_start(mem, router, &(di_evhttp_options){
            .port = (uint16_t)cfg.port, .address = cfg.address,
            .timeout_s = 30, .base = loop_base }, &evsrv);
    else
#endif
    rc = di_mhd_start(mem, router, &(di_mhd_options){
        .port = (uint16_t)cfg.port, .address = cfg.address, .threads = 4,
        .timeout_s = 30 }, &srv);
    if (rc) {
        fprintf(stderr, "notes: cannot listen on %s:%d: %s\n", cfg.address,
                cfg.port, di_strerror(rc));
        di_live_free(live);
        talloc_free(mem);
        return 1;
    }
    unsigned p = srv ? di_mhd_port(srv) : 0;
#ifdef NOTES_LOOP
    if (evsrv)
        p = di_evhttp_port(evsrv);
#endif
    const char *address = cfg.address;
    printf("notes: listening on http://%s:%u (config %s)\n", address, p,
           cfg.file);
    printf("try:\n"
           "  curl -s -H 'Authorization: Bearer alice-token' -d '{\"title\":\"first\",\"body\":\"hello\"}' http://%s:%u/notes\n"
           "  curl -s -H 'Authorization: Bearer alice-token' 'http://%s:%u/notes?offset=0&limit=10'\n"
           "  curl -s -H 'Authorization: Bearer alice-token' http://%s:%u/notes/1\n"
           "  curl -s -X PUT -H 'Authorization: Bearer alice-token' -d '{\"title\":\"first\",\"body\":\"edited\"}' http://%s:%u/notes/1\n"
           "  curl -s -X DELETE -H 'Authorization: Bearer alice-token' http://%s:%u/notes/1\n"
           "  curl -s http://%s:%u/notes        # 401: no token\n"
           "reload the config with kill -HUP %d; stop with Ctrl-C\n",
           address, p, address, p, address, p, address, p, address, p,
           address, p, (int)getpid());
    fflush(stdout);

    int sig;
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
        reload(live, router, &cfg, plugins);

    /* graceful: no new connection; requests in flight finish (COMMIT
     * before their answer) for up to --shutdown-timeout seconds; those
     * still running then are rolled back and never answered 2xx */
    unsigned ms = (unsigned)shutdown_s * 1000u;
    int left = 0;
    if (srv)
        left = di_mhd_shutdown(srv, ms);
#ifdef NOTES_LOOP
    if (evsrv)
        left = di_evhttp_shutdown(evsrv, ms);
#endif
    if (left > 0)
        fprintf(stderr, "notes: %d request(s) still running after %d s: "
                "rolled back\n", left, shutdown_s);
    rc = di_live_free(live);
    talloc_free(mem);
#ifdef NOTES_LOOP
    if (loop_base)
        event_base_free(loop_base);
#endif
    printf("notes: stopped%s\n", rc ? " (a dispose failed)" : "");
    return rc ? 1 : 0;
}
