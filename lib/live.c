/*
 * live.c — live reconfiguration (see di/live.h). Each container the handle
 * is given is a generation: a record with pin counts, kept until the
 * handle is freed so that a begin racing a publish never touches freed
 * memory. A generation is freed (its container, that is) once it is both
 * retired and unpinned; a compare-and-swap on `freed` makes that happen
 * exactly once, whoever sees it first (the publisher or the last scope).
 *
 * Pins are counted per shard: each thread adds to its own cache line, so
 * that threads beginning and ending requests at once do not pass one line
 * back and forth (a shared counter is written twice per request). A scope
 * keeps the shard it pinned and releases that one, on whatever thread it
 * ends. All atomics are sequentially consistent, which is what makes the
 * sum of the shards safe to read shard by shard: a pin that is still valid
 * (its begin saw the generation current after adding) was added before the
 * retirement, so every sum taken after the retirement sees it until it is
 * released; and whoever releases the last one, or retires, takes a sum that
 * sees all of them released.
 */
#include <stdlib.h>
#include <string.h>

#include "di_int.h"

enum { SHARDS = 16 };

typedef struct di__pin {
    _Atomic int64_t n;     /* scopes pinned through this shard and not ended
                              (and, for a moment, begins that lost a race) */
    struct di__gen *g;
} __attribute__((aligned(64))) di__pin;

typedef struct di__gen {
    di__pin pins[SHARDS];
    di_container *c;
    /* the key of the level last begun by name (0: none yet): a server
     * begins the same one request after request, and then compares its
     * name once instead of looking it up among the levels */
    atomic_int level;
    atomic_int retired;    /* no longer current */
    atomic_int freed;      /* its container has been (is being) freed */
    struct di__gen *next;  /* all generations, newest first */
} di__gen;

struct di_live {
    _Atomic(di__gen *) cur;
    pthread_mutex_t lock;  /* publishes, and the list */
    di__gen *all;
    uint64_t generation;
};

/* This thread's shard: handed out round robin at its first begin. */
static _Thread_local int my_shard DI__TLS = -1;
static atomic_uint next_shard;

static int shard(void)
{
    if (my_shard < 0)
        my_shard = (int)(atomic_fetch_add(&next_shard, 1) % SHARDS);
    return my_shard;
}

static bool unpinned(di__gen *g)
{
    for (int i = 0; i < SHARDS; i++)
        if (atomic_load(&g->pins[i].n) != 0)
            return false;
    return true;
}

static int free_gen(di__gen *g)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&g->freed, &expected, 1))
        return 0;
    return di_container_free(g->c);
}

static void di__live_unpin(di__pin *p)
{
    di__gen *g = p->g;
    atomic_fetch_sub(&p->n, 1);
    if (atomic_load(&g->retired) && unpinned(g))
        free_gen(g);
}

static int live_destructor(di_live *l)
{
    for (di__gen *g = l->all, *next; g; g = next) {
        next = g->next;
        free(g);
    }
    pthread_mutex_destroy(&l->lock);
    return 0;
}

/* A generation record: cache-line aligned (its shards are), so not a
 * talloc block; the handle frees them all when it goes. */
static di__gen *new_gen(di_live *l, di_container *c)
{
    di__gen *g = DI__MAYFAIL(aligned_alloc(64, sizeof *g));
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < SHARDS; i++)
        g->pins[i].g = g;
    g->c = c;
    c->unpin = di__live_unpin; /* its scopes begun here hold a pin */
    g->next = l->all;
    l->all = g;
    return g;
}

int di_live_new(void *mem, di_container *c, di_live **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return DI_EINVAL;
    if (!c->sealed) {
        di__reg_error(c, DI_ENOTSEALED, "di_live_new: seal the container "
                      "first");
        return DI_ENOTSEALED;
    }
    di_live *l = talloc_zero(mem, di_live);
    if (!l || pthread_mutex_init(&l->lock, NULL) != 0) {
        talloc_free(l);
        return di__nomem(c, "di_live_new", DI_ENOMEM);
    }
    talloc_set_destructor(l, live_destructor);
    di__gen *g = new_gen(l, c);
    if (!g) {
        talloc_free(l);
        return di__nomem(c, "di_live_new", DI_ENOMEM);
    }
    atomic_store(&l->cur, g);
    *out = l;
    return 0;
}

/* A scope of the named level in g's container: by the cached key when the
 * name is the cached level's, else by name (which reports a bad one), the
 * key then cached. */
static int begin_level(di__gen *g, const char *level, void *mem,
                       di_scope **out)
{
    int k = atomic_load_explicit(&g->level, memory_order_relaxed);
    if (k > 0 && level && strcmp(g->c->levels[k].name, level) == 0)
        return di_scope_begin_key(g->c, NULL, k, mem, out);
    int rc = di_scope_begin(g->c, NULL, level, mem, out);
    if (rc == 0)
        atomic_store_explicit(&g->level, (*out)->level, memory_order_relaxed);
    return rc;
}

int di_live_begin(di_live *l, const char *level, void *mem, di_scope **out)
{
    if (out)
        *out = NULL;
    if (!l || !out)
        return DI_EINVAL;
    int k = shard();
    for (;;) {
        di__gen *g = atomic_load(&l->cur);
        di__pin *p = &g->pins[k];
        atomic_fetch_add(&p->n, 1);
        if (atomic_load(&l->cur) != g) { /* a publish slipped in: retry */
            di__live_unpin(p);
            continue;
        }
        int rc = begin_level(g, level, mem, out);
        if (rc) {
            di__live_unpin(p);
            return rc;
        }
        (*out)->pin = p;
        return 0;
    }
}

int di_live_publish(di_live *l, di_container *next)
{
    if (!l || !next)
        return DI_EINVAL;
    if (!next->sealed) {
        di__reg_error(next, DI_ENOTSEALED, "di_live_publish: the container "
                      "is not sealed: refused, the current one stays");
        return DI_ENOTSEALED;
    }
    pthread_mutex_lock(&l->lock);
    for (di__gen *g = l->all; g; g = g->next)
        if (g->c == next && !atomic_load(&g->freed)) {
            pthread_mutex_unlock(&l->lock);
            return DI_EINVAL;
        }
    di__gen *g = new_gen(l, next);
    if (!g) {
        pthread_mutex_unlock(&l->lock);
        return di__nomem(next, "di_live_publish", DI_ENOMEM);
    }
    di__gen *old = atomic_exchange(&l->cur, g);
    uint64_t gen = ++l->generation;
    pthread_mutex_unlock(&l->lock);
    di__log(&(di_log_record){ .level = DI_LOG_INFO, .event = "reloaded" },
            "di_live: generation %llu is current (requests begun before "
            "finish on the previous one)", (unsigned long long)gen);
    atomic_store(&old->retired, 1);
    if (unpinned(old))
        free_gen(old);
    return 0;
}

di_container *di_live_current(const di_live *l)
{
    return l ? atomic_load(&((di_live *)l)->cur)->c : NULL;
}

uint64_t di_live_generation(const di_live *l)
{
    if (!l)
        return 0;
    pthread_mutex_lock(&((di_live *)l)->lock);
    uint64_t n = l->generation;
    pthread_mutex_unlock(&((di_live *)l)->lock);
    return n;
}

int di_live_free(di_live *l)
{
    if (!l)
        return DI_EINVAL;
    pthread_mutex_lock(&l->lock);
    for (di__gen *g = l->all; g; g = g->next)
        if (!unpinned(g) && !atomic_load(&g->freed)) {
            pthread_mutex_unlock(&l->lock);
            return DI_EBUSY;
        }
    int rc = 0;
    for (di__gen *g = l->all; g; g = g->next) {
        atomic_store(&g->retired, 1);
        int r = free_gen(g);
        if (r && !rc)
            rc = r;
    }
    pthread_mutex_unlock(&l->lock);
    talloc_free(l);
    return rc;
}
