/*
 * shapes.c — request shapes beside request_3: a deep chain, a wide fan-out,
 * a chain of transients, and scopes that resolve nothing in containers of
 * 3 and of 10,000 request providers. Each through libdi, by hand with
 * talloc per object, and by hand with one talloc pool per request sized for
 * its objects (talloc_pooled_object), as a careful programmer would.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <talloc.h>

#include <di.h>

#include "bench.h"

typedef bench_obj obj;

/* The singleton the fan-out's providers share, by hand. */
static obj *hand_shared;

/* One container per shape at a time (a case's set-up makes it). */
static di_container *cc;
static int level, target; /* the request level's key; the consumer's or
                             provider's key the case resolves */

static void shape_begin(void)
{
    bench_must(di_container_new(NULL, &cc), "new");
}

static void shape_sealed(void)
{
    bench_seal_or_die(cc);
    level = di_level_key(cc, "request");
    hand_shared = talloc_zero(NULL, obj);
}

static void shape_teardown(void)
{
    di_container_free(cc);
    cc = NULL;
    talloc_free(hand_shared);
}

/* A request that resolves the consumer `target` (n of its dependencies)
 * and ends. */
static uint64_t consumer_di(uint64_t n, size_t ndeps)
{
    uint64_t sum = 0;
    void *deps[32];
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        di_scope_begin_key(cc, NULL, level, NULL, &s);
        di_resolve_key(s, target, deps, ndeps);
        sum += (uint64_t)((obj *)deps[ndeps - 1])->v;
        di_scope_end(s, 0);
    }
    return sum;
}

/* ---- chain: 16 request providers, each needing the one before, each
 * with a dispose; the consumer needs the last ---- */

enum { CHAIN = 16 };

static void setup_chain(void)
{
    shape_begin();
    char name[CHAIN][8];
    static const char *deps[CHAIN][2];
    for (int k = 0; k < CHAIN; k++) {
        snprintf(name[k], sizeof name[k], "c%d", k);
        deps[k][0] = k ? name[k - 1] : NULL;
        deps[k][1] = NULL;
        bench_must(di_provide(cc, &(di_provider_desc){ .name = name[k],
            .lifetime = "request", .deps = k ? deps[k] : NULL,
            .create = bench_make_obj, .dispose = bench_drop_obj,
            .size = sizeof(obj) }), "chain");
    }
    const char *cdeps[] = { name[CHAIN - 1], NULL };
    bench_must(di_consumer_add(cc, &(di_consumer_desc){ .name = "GET /chain",
        .deps = cdeps }), "consumer");
    shape_sealed();
    target = di_consumer_key(cc, "GET /chain");
}

static uint64_t chain_di(uint64_t n)
{
    return consumer_di(n, 1);
}

/* The chain by hand on ctx, disposed in reverse: the last's v. */
static int64_t chain_run(void *ctx)
{
    obj *o[CHAIN];
    for (int k = 0; k < CHAIN; k++) {
        o[k] = talloc_zero(ctx, obj);
        o[k]->dep[0] = k ? o[k - 1] : NULL;
        o[k]->v = 1;
    }
    int64_t v = o[CHAIN - 1]->v;
    for (int k = CHAIN; k-- > 0;) { /* the disposes */
        o[k]->v = 0;
        bench_closed++;
    }
    return v;
}

static uint64_t chain_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uint64_t)chain_run(req);
        talloc_free(req);
    }
    return sum;
}

typedef struct req_one { obj *top; } req_one;

static uint64_t chain_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        req_one *req = talloc_pooled_object(NULL, req_one, CHAIN,
                                            CHAIN * sizeof(obj));
        sum += (uint64_t)chain_run(req);
        talloc_free(req);
    }
    return sum;
}

/* One request left open, for the heap count (heap.c): the consumer
 * resolved (n of its dependencies). */
static void *consumer_open(size_t ndeps)
{
    di_scope *s;
    void *deps[32];
    bench_must(di_scope_begin_key(cc, NULL, level, NULL, &s), "begin");
    if (ndeps)
        bench_must(di_resolve_key(s, target, deps, ndeps), "resolve");
    return s;
}

static void *chain_open_di(void)
{
    return consumer_open(1);
}

static void *chain_open_hand(void)
{
    void *req = talloc_new(NULL);
    obj *prev = NULL;
    for (int k = 0; k < CHAIN; k++) {
        obj *o = talloc_zero(req, obj);
        o->dep[0] = prev;
        prev = o;
    }
    return req;
}

static void *chain_open_pool(void)
{
    req_one *req = talloc_pooled_object(NULL, req_one, CHAIN,
                                        CHAIN * sizeof(obj));
    obj *prev = NULL;
    for (int k = 0; k < CHAIN; k++) {
        obj *o = talloc_zero(req, obj);
        o->dep[0] = prev;
        prev = o;
    }
    req->top = prev;
    return req;
}

const bench_heap_shape bench_heap_chain = {
    "chain", setup_chain, shape_teardown, chain_open_di, chain_open_hand,
    chain_open_pool, 0, 1.25 };

/* The chain through the generic runner (context: bench.h). */
static uint64_t chain_use(void **got, void **singles)
{
    (void)singles;
    return (uint64_t)((obj *)got[CHAIN - 1])->v;
}

static uint64_t chain_generic(uint64_t n)
{
    bench_generic_step steps[CHAIN];
    for (int k = 0; k < CHAIN; k++)
        steps[k] = (bench_generic_step){ bench_make_obj, bench_drop_obj, NULL,
                                         "chain", sizeof(obj), k ? 1 : 0,
                                         { k - 1, 0 } };
    bench_generic g = { steps, CHAIN, NULL, CHAIN * (sizeof(obj) + 96),
                        chain_use };
    return bench_generic_requests(&g, n);
}

const bench_timed bench_chain = {
    "chain", "scope; a 16-deep chain of request providers, each disposed",
    setup_chain, shape_teardown, chain_di, chain_hand, chain_pool, 0, 1.25,
    chain_generic };

/* ---- fanout: a consumer needing 32 request providers that share a
 * singleton ---- */

enum { FAN = 32 };

static void setup_fanout(void)
{
    shape_begin();
    bench_must(di_provide(cc, &(di_provider_desc){ .name = "shared",
        .lifetime = "singleton", .create = bench_make_obj,
        .size = sizeof(obj) }), "shared");
    static const char *const deps[] = { "shared", NULL };
    char name[FAN][8];
    const char *cdeps[FAN + 1];
    for (int k = 0; k < FAN; k++) {
        snprintf(name[k], sizeof name[k], "f%d", k);
        cdeps[k] = name[k];
        bench_must(di_provide(cc, &(di_provider_desc){ .name = name[k],
            .lifetime = "request", .deps = deps, .create = bench_make_obj,
            .size = sizeof(obj) }), "fanout");
    }
    cdeps[FAN] = NULL;
    bench_must(di_consumer_add(cc, &(di_consumer_desc){ .name = "GET /fan",
        .deps = cdeps }), "consumer");
    shape_sealed();
    target = di_consumer_key(cc, "GET /fan");
}

static uint64_t fanout_di(uint64_t n)
{
    return consumer_di(n, FAN);
}

static int64_t fanout_run(void *ctx, obj **out)
{
    for (int k = 0; k < FAN; k++) {
        out[k] = talloc_zero(ctx, obj);
        out[k]->dep[0] = hand_shared;
        out[k]->v = 1;
    }
    return out[FAN - 1]->v;
}

static uint64_t fanout_hand(uint64_t n)
{
    uint64_t sum = 0;
    obj *o[FAN];
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uint64_t)fanout_run(req, o);
        talloc_free(req);
    }
    return sum;
}

typedef struct req_fan { obj *o[FAN]; } req_fan;

static uint64_t fanout_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        req_fan *req = talloc_pooled_object(NULL, req_fan, FAN,
                                            FAN * sizeof(obj));
        sum += (uint64_t)fanout_run(req, req->o);
        talloc_free(req);
    }
    return sum;
}

static void *fanout_open_di(void)
{
    return consumer_open(FAN);
}

static void *fanout_open_hand(void)
{
    void *req = talloc_new(NULL);
    obj *o[FAN];
    fanout_run(req, o);
    return req;
}

static void *fanout_open_pool(void)
{
    req_fan *req = talloc_pooled_object(NULL, req_fan, FAN,
                                        FAN * sizeof(obj));
    fanout_run(req, req->o);
    return req;
}

const bench_heap_shape bench_heap_fanout = {
    "fanout", setup_fanout, shape_teardown, fanout_open_di, fanout_open_hand,
    fanout_open_pool, 0, 1.25 };

const bench_timed bench_fanout = {
    "fanout", "scope; a consumer needing 32 request providers sharing a singleton",
    setup_fanout, shape_teardown, fanout_di, fanout_hand, fanout_pool, 0,
    1.25, NULL };

/* ---- transients: a chain of 10 transients, the last got by key ---- */

enum { TRANS = 10 };

static void setup_transients(void)
{
    shape_begin();
    char name[TRANS][8];
    static const char *deps[TRANS][2];
    for (int k = 0; k < TRANS; k++) {
        snprintf(name[k], sizeof name[k], "t%d", k);
        deps[k][0] = k ? name[k - 1] : NULL;
        deps[k][1] = NULL;
        bench_must(di_provide(cc, &(di_provider_desc){ .name = name[k],
            .lifetime = "transient", .deps = k ? deps[k] : NULL,
            .create = bench_make_obj, .size = sizeof(obj) }), "transient");
    }
    shape_sealed();
    target = di_key(cc, name[TRANS - 1]);
}

static uint64_t transients_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        obj *o;
        di_scope_begin_key(cc, NULL, level, NULL, &s);
        di_get_key(s, target, (void **)&o);
        sum += (uint64_t)o->v;
        di_scope_end(s, 0);
    }
    return sum;
}

static int64_t transients_run(void *ctx)
{
    obj *prev = NULL;
    for (int k = 0; k < TRANS; k++) {
        obj *o = talloc_zero(ctx, obj);
        o->dep[0] = prev;
        o->v = 1;
        prev = o;
    }
    return prev->v;
}

static uint64_t transients_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uint64_t)transients_run(req);
        talloc_free(req);
    }
    return sum;
}

static uint64_t transients_pool(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        req_one *req = talloc_pooled_object(NULL, req_one, TRANS,
                                            TRANS * sizeof(obj));
        sum += (uint64_t)transients_run(req);
        talloc_free(req);
    }
    return sum;
}

const bench_timed bench_transients = {
    "transients", "scope; a chain of 10 transients",
    setup_transients, shape_teardown, transients_di, transients_hand,
    transients_pool, 0, 1.25, NULL };

/* ---- empty scopes: begin and end, nothing resolved, in a container of
 * 3 or of 10,000 request providers (and a consumer of three of them) ---- */

static void setup_empty(int providers)
{
    shape_begin();
    char name[16];
    for (int k = 0; k < providers; k++) {
        snprintf(name, sizeof name, "p%d", k);
        bench_must(di_provide(cc, &(di_provider_desc){ .name = name,
            .lifetime = "request", .create = bench_make_obj,
            .size = sizeof(obj) }), "provider");
    }
    static const char *const cdeps[] = { "p0", "p1", "p2", NULL };
    bench_must(di_consumer_add(cc, &(di_consumer_desc){ .name = "GET /p",
        .deps = cdeps }), "consumer");
    shape_sealed();
}

static void setup_empty_3(void)
{
    setup_empty(3);
}

static void setup_empty_10k(void)
{
    setup_empty(10000);
}

static uint64_t empty_di(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        di_scope *s;
        di_scope_begin_key(cc, NULL, level, NULL, &s);
        sum += (uintptr_t)s & 1;
        di_scope_end(s, 0);
    }
    return sum;
}

/* By hand, a request that allocates nothing is a context begun and freed. */
static uint64_t empty_hand(uint64_t n)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        void *req = talloc_new(NULL);
        sum += (uintptr_t)req & 1;
        talloc_free(req);
    }
    return sum;
}

const bench_timed bench_empty_3 = {
    "empty_3", "begin and end a scope, nothing resolved, 3 providers",
    setup_empty_3, shape_teardown, empty_di, empty_hand, NULL, 0, 1.10, NULL };
const bench_timed bench_empty_10k = {
    "empty_10k", "the same, 10,000 request providers registered",
    setup_empty_10k, shape_teardown, empty_di, empty_hand, NULL, 0, 1.10, NULL };

static void *empty_open_di(void)
{
    return consumer_open(0);
}

static void *empty_open_hand(void)
{
    return talloc_new(NULL);
}

/* No target of their own: what they show is that the two are the same. */
const bench_heap_shape bench_heap_empty_3 = {
    "empty_3", setup_empty_3, shape_teardown, empty_open_di, empty_open_hand,
    NULL, 0, 0 };
const bench_heap_shape bench_heap_empty_10k = {
    "empty_10k", setup_empty_10k, shape_teardown, empty_open_di,
    empty_open_hand, NULL, 0, 0 };
