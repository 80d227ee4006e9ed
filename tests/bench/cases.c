/*
 * cases.c — the benchmark cases of the first suite: the singleton lookups,
 * request_3, aspnetcore and complex, and the helpers every case shares.
 * Each builds the same objects through libdi and by hand the way a careful
 * C programmer would without it (the same zeroing and dispose work): with
 * talloc per object, and for a request with one talloc pool sized for it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <cjson/cJSON.h>
#include <di.h>

#include "bench.h"
#include "seal_graph.h"

/* ---- the objects ---- */

typedef struct config { int64_t value; } config;
typedef struct session { config *cfg; int open; } session;
typedef struct cuser { session *s; config *cfg; int64_t id; } cuser;
typedef bench_obj obj;
_Static_assert(sizeof(obj) == BENCH_GRAPH_OBJ_SIZE,
               "the seal graph's providers ask for an obj's size");

/* sessions and objects disposed; per thread, so that the threads case
 * measures libdi and not two cores fighting over one counter */
_Thread_local uint64_t bench_closed;
#define closed bench_closed

static int make_config(const di_build *b, void **out)
{
    ((config *)b->mem)->value = 42;
    *out = b->mem;
    return 0;
}

static int make_session(const di_build *b, void **out)
{
    session *s = b->mem;
    s->cfg = b->deps[0];
    s->open = 1;
    *out = s;
    return 0;
}

static int drop_session(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    ((session *)inst)->open = 0;
    closed++;
    return 0;
}

static int make_user(const di_build *b, void **out)
{
    cuser *u = b->mem;
    u->s = b->deps[0];
    u->cfg = b->deps[1];
    u->id = 7;
    *out = u;
    return 0;
}

int bench_make_obj(const di_build *b, void **out)
{
    obj *o = b->mem;
    for (size_t i = 0; i < b->ndeps && i < 6; i++)
        o->dep[i] = b->deps[i];
    o->v = 1;
    *out = o;
    return 0;
}
#define make_obj bench_make_obj

int bench_drop_obj(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    ((obj *)inst)->v = 0;
    closed++;
    return 0;
}

void bench_must(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "bench: %s: %s\n", what, di_strerror(rc));
        exit(2);
    }
}
#define must bench_must

/* Print what went wrong in c (a failed seal's problems, with their paths). */
static void print_errors(di_container *c)
{
    for (const di_error *e = di_container_error(c); e; e = di_error_next(e))
        fprintf(stderr, "bench: %s\n", di_error_message(e));
}

void bench_seal_or_die(di_container *c)
{
    if (di_container_seal(c)) {
        print_errors(c);
        exit(2);
    }
}
#define seal_or_die bench_seal_or_die

/* ---- singleton_key, singleton_name ---- */

static di_container *c1;
static di_scope *s1;
static int config_key;
static config *volatile hand_config;
#define LONG_NAME "config_of_app_16"

static void setup_singleton(void)
{
    must(di_container_new(NULL, &c1), "new");
    must(di_provide(c1, &(di_provider_desc){ .name = "config",
        .lifetime = "singleton", .create = make_config,
        .size = sizeof(config) }), "provide");
    /* the name case asks for a name of the longest length its target
     * covers (16 bytes): the name map decides names of up to 7 bytes from
     * its slot alone, longer ones compare the rest */
    must(di_provide(c1, &(di_provider_desc){ .name = LONG_NAME,
        .lifetime = "singleton", .create = make_config,
        .size = sizeof(config) }), "provide");
    seal_or_die(c1);
    config_key = di_key(c1, "config");
    must(di_scope_begin(c1, NULL, "request", NULL, &s1), "begin");
    void *v;
    must(di_get_key(s1, config_key, &v), "get");
    must(di_get(s1, LONG_NAME, &v), "get");
    hand_config = talloc_zero(NULL, config);
}

static void teardown_singleton(void)
{
    di_scope_end(s1, 0);
    di_container_free(c1);
    talloc_free(hand_config);
}

static uint64_t key_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        di_get_key(s1, config_key, &v);
        sum += (uintptr_t)v;
    }
    return sum;
}

static uint64_t name_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *v;
        di_get(s1, LONG_NAME, &v);
        sum += (uintptr_t)v;
    }
    return sum;
}

/* By hand, the singleton is a global the code reads. */
static uint64_t global_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (uintptr_t)hand_config;
    return sum;
}

/* The floor under every libdi call: a call into the shared library to a
 * function that does nothing but read a field (di_container_sealed). */
static uint64_t floor_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += (uint64_t)di_container_sealed(c1);
    return sum;
}

const bench_timed bench_call_floor = {
    "call_floor", "a call into libdi that reads one field (reference)",
    setup_singleton, teardown_singleton, floor_di, global_hand, NULL, 0, 0, NULL };

const bench_timed bench_singleton_key = {
    "singleton_key", "get an existing singleton by key", setup_singleton,
    teardown_singleton, key_di, global_hand, NULL, 3, 0, NULL };
const bench_timed bench_singleton_name = {
    "singleton_name", "get an existing singleton by name (16 bytes)", setup_singleton,
    teardown_singleton, name_di, global_hand, NULL, 25, 0, NULL };

/* ---- request_3 ---- */

static di_container *c3;
static int consumer3;
static int request3; /* the level key */

static di_container *build_request_3_with(bool metrics);
static di_container *build_request_3(void)
{
    return build_request_3_with(false);
}

/* request_3's container; with metrics counted (di/metrics.h) when asked. */
static di_container *build_request_3_with(bool metrics)
{
    di_container *c;
    static const char *const session_deps[] = { "config", NULL };
    static const char *const user_deps[] = { "session", "config", NULL };
    static const char *const consumer_deps[] = { "config", "session",
                                                 "current_user", NULL };
    must(di_container_new(NULL, &c), "new");
    must(di_provide(c, &(di_provider_desc){ .name = "config",
        .lifetime = "singleton", .create = make_config,
        .size = sizeof(config) }), "config");
    must(di_provide(c, &(di_provider_desc){ .name = "session",
        .lifetime = "request", .deps = session_deps, .create = make_session,
        .dispose = drop_session, .size = sizeof(session) }), "session");
    must(di_provide(c, &(di_provider_desc){ .name = "current_user",
        .lifetime = "request", .deps = user_deps, .create = make_user,
        .size = sizeof(cuser) }), "current_user");
    must(di_consumer_add(c, &(di_consumer_desc){ .name = "GET /me",
        .deps = consumer_deps }), "consumer");
    if (metrics)
        must(di_metrics_enable(c), "metrics");
    seal_or_die(c);
    return c;
}

static void setup_request_3(void)
{
    c3 = build_request_3();
    consumer3 = di_consumer_key(c3, "GET /me");
    request3 = di_level_key(c3, "request");
    hand_config = talloc_zero(NULL, config);
    hand_config->value = 42;
}

static void teardown_request_3(void)
{
    di_container_free(c3);
    talloc_free(hand_config);
}

static uint64_t request_3_di_on(di_container *c, int key, uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        void *deps[3];
        di_scope_begin_key(c, NULL, request3, NULL, &s);
        di_resolve_key(s, key, deps, 3);
        sum += (uint64_t)((cuser *)deps[2])->id + (uint64_t)((config *)deps[0])->value;
        di_scope_end(s, 0);
    }
    return sum;
}

static uint64_t request_3_di(uint64_t n)
{
    return request_3_di_on(c3, consumer3, n);
}

/* The same request by hand: a talloc context for the request, the two
 * objects zeroed on it, the session's dispose, the free. */
static uint64_t request_3_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        session *s = talloc_zero(req, session);
        s->cfg = hand_config;
        s->open = 1;
        cuser *u = talloc_zero(req, cuser);
        u->s = s;
        u->cfg = hand_config;
        u->id = 7;
        sum += (uint64_t)u->id + (uint64_t)hand_config->value;
        s->open = 0; /* dispose */
        closed++;
        talloc_free(req);
    }
    return sum;
}

/* The same with one pool per request, sized for its two objects: the
 * request's own struct holds what the handler gets. */
typedef struct req3 { session *s; cuser *u; } req3;

static uint64_t request_3_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        req3 *req = talloc_pooled_object(NULL, req3, 2,
                                         sizeof(session) + sizeof(cuser));
        session *s = req->s = talloc_zero(req, session);
        s->cfg = hand_config;
        s->open = 1;
        cuser *u = req->u = talloc_zero(req, cuser);
        u->s = s;
        u->cfg = hand_config;
        u->id = 7;
        sum += (uint64_t)u->id + (uint64_t)hand_config->value;
        s->open = 0; /* dispose */
        closed++;
        talloc_free(req);
    }
    return sum;
}

/* One request_3 left open, for the heap count (heap.c). */
static void *request_3_open_di(void)
{
    di_scope *s;
    void *deps[3];
    must(di_scope_begin_key(c3, NULL, request3, NULL, &s), "begin");
    must(di_resolve_key(s, consumer3, deps, 3), "resolve");
    return s;
}

static void *request_3_open_hand(void)
{
    void *req = talloc_new(NULL);
    session *s = talloc_zero(req, session);
    cuser *u = talloc_zero(req, cuser);
    u->s = s;
    return req;
}

static void *request_3_open_pool(void)
{
    req3 *req = talloc_pooled_object(NULL, req3, 2,
                                     sizeof(session) + sizeof(cuser));
    req->s = talloc_zero(req, session);
    req->u = talloc_zero(req, cuser);
    req->u->s = req->s;
    return req;
}

const bench_heap_shape bench_heap_request_3 = {
    "request_3", setup_request_3, teardown_request_3, request_3_open_di,
    request_3_open_hand, request_3_open_pool, 256, 0 };

/* The same through the generic runner (context: bench.h). */
static uint64_t request_3_use(void **got, void **singles)
{
    return (uint64_t)((cuser *)got[1])->id +
           (uint64_t)((config *)singles[0])->value;
}

static uint64_t request_3_generic(uint64_t n)
{
    static const bench_generic_step steps[] = {
        { make_session, drop_session, NULL, "session", sizeof(session), 1,
          { -1, 0 } },
        { make_user, NULL, NULL, "current_user", sizeof(cuser), 2,
          { 0, -1 } },
    };
    void *singles[] = { hand_config };
    bench_generic g = { steps, 2, singles, sizeof(session) + sizeof(cuser) +
                        2 * 96, request_3_use };
    return bench_generic_requests(&g, n);
}

const bench_timed bench_request_3 = {
    "request_3", "a request scope: config, session (dispose), current_user",
    setup_request_3, teardown_request_3, request_3_di, request_3_hand,
    request_3_pool, 0, 1.25, request_3_generic };

/* ---- async_overhead: request_3 resolved asynchronously ----
 * The same graph with session and current_user asynchronous providers that
 * have their instance at once (in memory), resolved with
 * di_resolve_async(); the baseline is request_3's synchronous resolution.
 * async_overhead: they answer at once, as such a provider does when it
 * need not wait (the target); async_handles: each takes a pending handle
 * and finishes it inside its create (what a wait costs, less the wait). */

static di_container *c3a;
static int request3a;
static bool take_handles;

/* create, as an asynchronous provider whose instance is ready at once */
static int now(const di_build *b, void **out,
               int (*make)(const di_build *, void **))
{
    if (!take_handles)
        return make(b, out);
    di_pending *p = di_pending_take(b);
    int rc = make(b, out);
    if (!p || rc)
        return rc;
    di_pending_done(p, *out);
    return DI_PENDING;
}

static int make_session_now(const di_build *b, void **out)
{
    return now(b, out, make_session);
}

static int make_user_now(const di_build *b, void **out)
{
    return now(b, out, make_user);
}

static void never_called(di_scope *s, int rc, void *arg)
{
    (void)s;
    (void)arg;
    fprintf(stderr, "bench: async_overhead called back (%d)\n", rc);
    exit(2);
}

static void setup_async_overhead(void)
{
    setup_request_3();
    static const char *const session_deps[] = { "config", NULL };
    static const char *const user_deps[] = { "session", "config", NULL };
    static const char *const consumer_deps[] = { "config", "session",
                                                 "current_user", NULL };
    must(di_container_new(NULL, &c3a), "new");
    must(di_provide(c3a, &(di_provider_desc){ .name = "config",
        .lifetime = "singleton", .create = make_config,
        .size = sizeof(config) }), "config");
    must(di_provide(c3a, &(di_provider_desc){ .name = "session",
        .lifetime = "request", .deps = session_deps,
        .create = make_session_now, .dispose = drop_session,
        .size = sizeof(session) }), "session");
    must(di_provide(c3a, &(di_provider_desc){ .name = "current_user",
        .lifetime = "request", .deps = user_deps, .create = make_user_now,
        .size = sizeof(cuser) }), "current_user");
    must(di_consumer_add(c3a, &(di_consumer_desc){ .name = "GET /me",
        .deps = consumer_deps }), "consumer");
    must(di_async_provider(c3a, "session"), "async");
    must(di_async_provider(c3a, "current_user"), "async");
    must(di_async_consumer(c3a, "GET /me"), "async");
    seal_or_die(c3a);
    request3a = di_level_key(c3a, "request");
}

static void setup_async_handles(void)
{
    take_handles = true;
    setup_async_overhead();
}

static void teardown_async_overhead(void)
{
    di_container_free(c3a);
    teardown_request_3();
}

static uint64_t async_overhead_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        void *deps[3];
        di_scope_begin_key(c3a, NULL, request3a, NULL, &s);
        if (di_resolve_async(s, "GET /me", deps, 3, never_called, NULL))
            exit(2);
        sum += (uint64_t)((cuser *)deps[2])->id + (uint64_t)((config *)deps[0])->value;
        di_scope_end(s, 0);
    }
    return sum;
}

const bench_timed bench_async_overhead = {
    "async_overhead", "request_3 resolved asynchronously, in-memory providers",
    setup_async_overhead, teardown_async_overhead, async_overhead_di,
    request_3_di, NULL, 0, 1.3, NULL };
const bench_timed bench_async_handles = {
    "async_handles", "async_overhead, each create through a pending handle",
    setup_async_handles, teardown_async_overhead, async_overhead_di,
    request_3_di, NULL, 0, 0, NULL };

/* ---- metrics_on: request_3 with metrics counted ----
 * Against request_3 without them: what counting costs a request (two
 * creates, one dispose, a scope begun and settled). No target: the issue
 * asks for the cost to be reported. */

static di_container *c3m;
static int consumer3m;

static void setup_metrics_on(void)
{
    setup_request_3();
    c3m = build_request_3_with(true);
    consumer3m = di_consumer_key(c3m, "GET /me");
}

static void teardown_metrics_on(void)
{
    di_container_free(c3m);
    teardown_request_3();
}

static uint64_t metrics_on_di(uint64_t n)
{
    return request_3_di_on(c3m, consumer3m, n);
}

const bench_timed bench_metrics_on = {
    "metrics_on", "request_3 with metrics on, against metrics off",
    setup_metrics_on, teardown_metrics_on, metrics_on_di, request_3_di, NULL,
    0, 0, NULL };

/* ---- model_parse: the notes server's create body, parsed and checked ----
 * libdi: di_model_parse() of {"title", "body"} into a struct on a context
 * (the text checked — one JSON value, UTF-8, no duplicate key — then
 * cJSON's tree, then each field). By hand: cJSON's tree and the same
 * field checks and copies (no check of the text: what the notes handler
 * did before its models had the router's di_http_check_json() do). */

typedef struct note_body { const char *title, *body; } note_body;
static const di_field note_body_fields[] = {
    { "title", DI_F_STRING, DI_AT(note_body, title), .required = 1,
      .min_len = 1, .max_len = 200 },
    { "body", DI_F_STRING, DI_AT(note_body, body), .def = "\"\"" },
    { .name = NULL },
};
static const char note_text[] = "{\"title\":\"buy milk\",\"body\":\"two "
                                "litres, semi-skimmed\"}";
static di_container *cm;

static void setup_model_parse(void)
{
    must(di_container_new(NULL, &cm), "new");
    must(di_model(cm, &(di_model_desc){ "note_body", sizeof(note_body),
                                        note_body_fields }), "model");
    seal_or_die(cm);
}

static void teardown_model_parse(void) { di_container_free(cm); }

static uint64_t model_parse_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *mem = talloc_new(NULL);
        note_body *b;
        di_problem *p;
        if (di_model_parse(cm, "note_body", note_text, sizeof note_text - 1,
                           "body", mem, (void **)&b, &p))
            exit(2);
        sum += strlen(b->title);
        talloc_free(mem);
    }
    return sum;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static uint64_t model_parse_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *mem = talloc_new(NULL);
        note_body *b = talloc_zero(mem, note_body);
        cJSON *o = cJSON_ParseWithLength(note_text, sizeof note_text - 1);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "title");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "body");
        size_t nc = cJSON_IsString(t) ? utf8_chars(t->valuestring) : 0;
        if (!cJSON_IsObject(o) || !cJSON_IsString(t) || nc < 1 || nc > 200 ||
            (d && !cJSON_IsString(d)))
            exit(2);
        b->title = talloc_strdup(b, t->valuestring);
        b->body = talloc_strdup(b, d ? d->valuestring : "");
        cJSON_Delete(o);
        sum += strlen(b->title);
        talloc_free(mem);
    }
    return sum;
}

const bench_timed bench_model_parse = {
    "model_parse", "the notes create body through its model, against cJSON "
    "by hand", setup_model_parse, teardown_model_parse, model_parse_di,
    model_parse_hand, NULL, 0, 1.3, NULL };

/* ---- aspnetcore: controller <- 5 transients <- (1 singleton, 5 scoped) ---- */

static di_container *ca;
static int controller_key, request_a;
static obj *hand_single[5];

static void setup_aspnetcore(void)
{
    must(di_container_new(NULL, &ca), "new");
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "single%d", i);
        must(di_provide(ca, &(di_provider_desc){ .name = name,
            .lifetime = "singleton", .create = make_obj,
            .size = sizeof(obj) }), "single");
        snprintf(name, sizeof name, "scoped%d", i);
        must(di_provide(ca, &(di_provider_desc){ .name = name,
            .lifetime = "request", .create = make_obj,
            .size = sizeof(obj) }), "scoped");
    }
    static const char *tdeps[5][7];
    static char names[5][6][16];
    for (int i = 0; i < 5; i++) {
        snprintf(names[i][0], 16, "single%d", i);
        tdeps[i][0] = names[i][0];
        for (int k = 0; k < 5; k++) {
            snprintf(names[i][k + 1], 16, "scoped%d", k);
            tdeps[i][k + 1] = names[i][k + 1];
        }
        tdeps[i][6] = NULL;
        snprintf(name, sizeof name, "transient%d", i);
        must(di_provide(ca, &(di_provider_desc){ .name = name,
            .lifetime = "transient", .deps = tdeps[i], .create = make_obj,
            .size = sizeof(obj) }), "transient");
    }
    static const char *const cdeps[] = { "transient0", "transient1",
        "transient2", "transient3", "transient4", NULL };
    must(di_provide(ca, &(di_provider_desc){ .name = "controller",
        .lifetime = "transient", .deps = cdeps, .create = make_obj,
        .size = sizeof(obj) }), "controller");
    seal_or_die(ca);
    controller_key = di_key(ca, "controller");
    request_a = di_level_key(ca, "request");
    for (int i = 0; i < 5; i++)
        hand_single[i] = talloc_zero(NULL, obj);
}

static void teardown_aspnetcore(void)
{
    di_container_free(ca);
    for (int i = 0; i < 5; i++)
        talloc_free(hand_single[i]);
}

static uint64_t aspnetcore_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        obj *o;
        di_scope_begin_key(ca, NULL, request_a, NULL, &s);
        di_get_key(s, controller_key, (void **)&o);
        sum += (uint64_t)o->v;
        di_scope_end(s, 0);
    }
    return sum;
}

/* The request's objects by hand on ctx (a context or a pool): the
 * controller. */
static obj *aspnetcore_build(void *ctx)
{
    obj *scoped[5], *t[5];
    for (int k = 0; k < 5; k++) {
        scoped[k] = talloc_zero(ctx, obj);
        scoped[k]->v = 1;
    }
    for (int k = 0; k < 5; k++) {
        t[k] = talloc_zero(ctx, obj);
        t[k]->dep[0] = hand_single[k];
        for (int j = 0; j < 5; j++)
            t[k]->dep[j + 1] = scoped[j];
        t[k]->v = 1;
    }
    obj *ctl = talloc_zero(ctx, obj);
    for (int k = 0; k < 5; k++)
        ctl->dep[k] = t[k];
    ctl->v = 1;
    return ctl;
}

static uint64_t aspnetcore_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uint64_t)aspnetcore_build(req)->v;
        talloc_free(req);
    }
    return sum;
}

typedef struct reqa { obj *controller; } reqa;

static uint64_t aspnetcore_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        reqa *req = talloc_pooled_object(NULL, reqa, 11, 11 * sizeof(obj));
        req->controller = aspnetcore_build(req);
        sum += (uint64_t)req->controller->v;
        talloc_free(req);
    }
    return sum;
}

const bench_timed bench_aspnetcore = {
    "aspnetcore", "scope; controller <- 5 transients <- 1 singleton + 5 scoped",
    setup_aspnetcore, teardown_aspnetcore, aspnetcore_di, aspnetcore_hand,
    aspnetcore_pool, 0, 1.25, NULL };

/* ---- complex: 3 singletons + 3 transients (each needing a singleton) ---- */

static di_container *cx;
static int complex_key, request_x;
static obj *hand_cs[6];

static void setup_complex(void)
{
    must(di_container_new(NULL, &cx), "new");
    char name[16];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "s%d", i);
        must(di_provide(cx, &(di_provider_desc){ .name = name,
            .lifetime = "singleton", .create = make_obj,
            .size = sizeof(obj) }), "singleton");
    }
    static const char *const t_deps[3][2] = { { "s3", NULL }, { "s4", NULL },
                                              { "s5", NULL } };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "t%d", i);
        must(di_provide(cx, &(di_provider_desc){ .name = name,
            .lifetime = "transient", .deps = t_deps[i], .create = make_obj,
            .size = sizeof(obj) }), "transient");
    }
    static const char *const deps[] = { "s0", "s1", "s2", "t0", "t1", "t2",
                                        NULL };
    must(di_provide(cx, &(di_provider_desc){ .name = "complex",
        .lifetime = "transient", .deps = deps, .create = make_obj,
        .size = sizeof(obj) }), "complex");
    seal_or_die(cx);
    complex_key = di_key(cx, "complex");
    request_x = di_level_key(cx, "request");
    for (int i = 0; i < 6; i++)
        hand_cs[i] = talloc_zero(NULL, obj);
}

static void teardown_complex(void)
{
    di_container_free(cx);
    for (int i = 0; i < 6; i++)
        talloc_free(hand_cs[i]);
}

static uint64_t complex_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        obj *o;
        di_scope_begin_key(cx, NULL, request_x, NULL, &s);
        di_get_key(s, complex_key, (void **)&o);
        sum += (uint64_t)o->v;
        di_scope_end(s, 0);
    }
    return sum;
}

static obj *complex_build(void *ctx)
{
    obj *t[3];
    for (int k = 0; k < 3; k++) {
        t[k] = talloc_zero(ctx, obj);
        t[k]->dep[0] = hand_cs[3 + k];
        t[k]->v = 1;
    }
    obj *o = talloc_zero(ctx, obj);
    for (int k = 0; k < 3; k++) {
        o->dep[k] = hand_cs[k];
        o->dep[3 + k] = t[k];
    }
    o->v = 1;
    return o;
}

static uint64_t complex_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uint64_t)complex_build(req)->v;
        talloc_free(req);
    }
    return sum;
}

typedef struct reqx { obj *o; } reqx;

static uint64_t complex_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        reqx *req = talloc_pooled_object(NULL, reqx, 4, 4 * sizeof(obj));
        req->o = complex_build(req);
        sum += (uint64_t)req->o->v;
        talloc_free(req);
    }
    return sum;
}

const bench_timed bench_complex = {
    "complex", "scope; transient <- 3 singletons + 3 transients (<- singleton)",
    setup_complex, teardown_complex, complex_di, complex_hand, complex_pool,
    0, 1.25, NULL };

/* ---- seal ---- */

/* One run over an n-provider graph (seal_graph.h), drawn before the clock
 * starts, through libdi or, by hand, through seal_hand.c's registry. */
double bench_seal_once(int n, bool hand)
{
    static const bench_seal_api linked = { di_container_new, di_provide,
                                           di_container_seal,
                                           di_container_free, print_errors };
    bench_graph g;
    bench_graph_make(&g, n);
    double seal_ms;
    double ms = hand ? bench_seal_run_hand(&g, &seal_ms)
                     : bench_seal_run(&linked, &g, &seal_ms);
    bench_graph_free(&g);
    if (ms < 0) {
        fprintf(stderr, "bench: seal of %d providers %sfailed\n", n,
                hand ? "by hand " : "");
        exit(2);
    }
    return ms;
}

static bench_result seal_result(int providers, double *t, double *h, int reps)
{
    bench_result res = { .unit = "ms", .met = true };
    double lo, hi;
    bench_ratio_stats(t, h, reps, &res.ratio, &lo, &hi);
    bench_stats(t, reps, &res.di_med, &res.di_min, &res.di_max);
    bench_stats(h, reps, &res.hand_med, &res.hand_min, &res.hand_max);
    snprintf(res.name, sizeof res.name, "seal_%dk", providers / 1000);
    if (providers >= 100000) {
        snprintf(res.target, sizeof res.target, "<= 100 ms");
        res.met = res.di_med <= 100;
    }
    return res;
}

/* One run of each at n providers, the hand-wired one first if hand_first. */
static void seal_pair(int n, bool hand_first, double *di, double *hand)
{
    if (hand_first)
        *hand = bench_seal_once(n, true);
    *di = bench_seal_once(n, false);
    if (!hand_first)
        *hand = bench_seal_once(n, true);
}

/* The two sizes alternate, and libdi with the hand-wired registry (which
 * goes first changes from one repetition to the next), so that all four
 * see the machine in the same state (on a shared machine its speed drifts
 * over seconds). seal_scaling is the median of the repetitions' own
 * 100k/10k (bench_ratio_stats), for libdi and, beside it, for the
 * hand-wired registry: the same work's scaling on this machine. 21
 * repetitions, about 2.5 s: with 9, three runs in a row gave a 100k/10k
 * (of the medians) of 11.3, 15.8 and 13.0 on the same library; with 21,
 * five gave 13.0-13.7. */
void bench_seal(int small, int large, bench_result out[3])
{
    enum { REPS = 21 };
    double ts[REPS], tl[REPS], hs[REPS], hl[REPS];
    int reps = bench_smoke ? 1 : REPS;
    for (int r = 0; r < reps; r++) {
        seal_pair(small, r % 2, &ts[r], &hs[r]);
        seal_pair(large, r % 2, &tl[r], &hl[r]);
    }
    /* the target: libdi's 100k/10k no more than the hand-wired
     * registry's in the same run (an absolute bound measured this
     * machine's caches; the work's own scaling is counted in
     * instructions by seal_instr.sh) */
    bench_result sc = { .name = "seal_scaling", .unit = "x",
                        .target = "<= hand's" };
    bench_ratio_stats(tl, ts, reps, &sc.di_med, &sc.di_min, &sc.di_max);
    bench_ratio_stats(hl, hs, reps, &sc.hand_med, &sc.hand_min, &sc.hand_max);
    sc.ratio = sc.di_med / sc.hand_med;
    sc.met = sc.di_med <= sc.hand_med;
    out[0] = seal_result(small, ts, hs, reps);
    out[1] = seal_result(large, tl, hl, reps);
    out[2] = sc;
}

/* ---- threads ---- */

typedef struct tjob { uint64_t ops; uint64_t ns; bool hand; } tjob;
static pthread_barrier_t start_line;

static void *thread_run(void *arg)
{
    tjob *j = arg;
    pthread_barrier_wait(&start_line);
    uint64_t t0 = bench_now_ns();
    if (j->hand)
        request_3_hand(j->ops);
    else
        request_3_di_on(c3, consumer3, j->ops);
    j->ns = bench_now_ns() - t0;
    return NULL;
}

/* Per-thread throughput (ops/s) with `threads` threads at once. */
static double throughput(int threads, uint64_t ops, bool hand)
{
    pthread_t th[2];
    tjob jobs[2];
    pthread_barrier_init(&start_line, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++) {
        jobs[i] = (tjob){ ops, 0, hand };
        pthread_create(&th[i], NULL, thread_run, &jobs[i]);
    }
    double per = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        per += (double)ops / ((double)jobs[i].ns / 1e9);
    }
    pthread_barrier_destroy(&start_line);
    return per / threads;
}

/* Scaling: per-thread throughput on 2 threads as a share of 1 thread, for
 * libdi and, as the machine's own figure, for the hand-wired request. Each
 * repetition measures both, back to back, and the figures are medians of
 * the repetitions' own values, so that the shared machine's drift cancels
 * within each (as in the http case). Each measurement runs 2 M requests
 * per thread (about 130 ms): with 400 k, starting the threads (and, on
 * this VM, faulting in their memory) weighed on the 2-thread runs, and
 * even the hand-wired code measured 60-100 %. */
bench_result bench_threads(void)
{
    enum { REPS = 15 };
    setup_request_3();
    uint64_t ops = bench_smoke ? 1000 : 2000000;
    double di[REPS], hand[REPS], two[REPS];
    int reps = bench_smoke ? 1 : REPS;
    throughput(2, ops / 4, false); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double one = throughput(1, ops, false);
        two[r] = throughput(2, ops, false);
        di[r] = 100 * two[r] / one;
        hand[r] = 100 * throughput(2, ops, true) / throughput(1, ops, true);
    }
    teardown_request_3();
    bench_result res = { .name = "threads", .unit = "% at 2 th" };
    double lo, hi, ops2;
    bench_stats(two, reps, &ops2, &lo, &hi);
    bench_ratio_stats(di, hand, reps, &res.ratio, &lo, &hi);
    bench_stats(di, reps, &res.di_med, &res.di_min, &res.di_max);
    bench_stats(hand, reps, &res.hand_med, &res.hand_min, &res.hand_max);
    res.met = res.di_med >= 90;
    snprintf(res.target, sizeof res.target, ">= 90 %%");
    if (!bench_smoke)
        fprintf(stderr, "threads: libdi %.0f request_3/s per thread on 2 "
                "threads; hand-wired code gets %.0f %% of 1 thread's per "
                "thread on this machine\n", ops2, res.hand_med);
    return res;
}
