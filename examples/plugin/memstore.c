/*
 * memstore.c — a complete libdi plugin: an in-memory key-value store and
 * per-request transactions on it.
 *
 *   memstore.store  singleton. params: "capacity" (integer, default 16),
 *                   "seed" (object of key → string, optional).
 *   memstore.txn    per request. role "store" (a memstore.store). Writes
 *                   are buffered and applied when the request ends with
 *                   success; a failed request discards them.
 *
 * Build: cc -shared -fPIC memstore.c $(pkg-config --cflags di) -o memstore.so
 * (no need to link libdi: the host process provides it).
 */
#include <di.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "kv.h"

typedef struct entry { const char *key, *value; } entry;

typedef struct store {
    pthread_mutex_t lock;
    entry *items;
    size_t n, cap;
} store;

typedef struct txn {
    kv_txn api;      /* first: the instance is a kv_txn * */
    store *st;
    entry pending[8];
    size_t n;
} txn;

/* ---- the store ---- */

static int put_locked(store *st, const char *key, const char *value)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->items[i].key, key) == 0) {
            talloc_free((char *)st->items[i].value);
            st->items[i].value = talloc_strdup(st->items, value);
            return st->items[i].value ? 0 : DI_ENOMEM;
        }
    if (st->n == st->cap)
        return DI_EINVAL;
    st->items[st->n].key = talloc_strdup(st->items, key);
    st->items[st->n].value = talloc_strdup(st->items, value);
    return st->items[st->n++].value ? 0 : DI_ENOMEM;
}

static int store_check(const di_build *b)
{
    int64_t cap = 16;
    const di_params *seed;
    int rc;
    if (di_param_has(b, NULL, "capacity") &&
        (rc = di_param_int(b, NULL, "capacity", &cap)))
        return rc;
    char at[256];
    snprintf(at, sizeof at, "%s.capacity", di_params_path(b->params));
    if (cap < 1 || cap > 1000000)
        return di_fail_at(b, DI_EINVAL, at, "%lld is out of range (1 to "
                          "1000000)", (long long)cap);
    if (!di_param_has(b, NULL, "seed"))
        return 0;
    if ((rc = di_param_object(b, NULL, "seed", &seed)))
        return rc;
    for (size_t i = 0; i < di_params_count(seed); i++) {
        const char *v;
        if ((rc = di_param_string(b, seed, di_params_key(seed, i), &v)))
            return rc;
    }
    return (int64_t)di_params_count(seed) > cap
               ? di_fail_at(b, DI_EINVAL, di_params_path(seed), "more entries "
                            "than capacity")
               : 0;
}

static int store_create(const di_build *b, void **out)
{
    int rc = store_check(b); /* the params were checked at start-up; reread */
    if (rc)
        return rc;
    store *st = b->mem;
    int64_t cap = 16;
    if (di_param_has(b, NULL, "capacity"))
        di_param_int(b, NULL, "capacity", &cap);
    st->cap = (size_t)cap;  /* 1 to 1000000: the check said so */
    st->items = talloc_zero_array(b->mem, entry, (unsigned)st->cap);
    if (!st->items || pthread_mutex_init(&st->lock, NULL) != 0)
        return di_fail(b, DI_ENOMEM, "cannot allocate %zu entries", st->cap);
    const di_params *seed;
    if (di_param_has(b, NULL, "seed") &&
        !di_param_object(b, NULL, "seed", &seed))
        for (size_t i = 0; i < di_params_count(seed); i++) {
            const char *v;
            di_param_string(b, seed, di_params_key(seed, i), &v);
            put_locked(st, di_params_key(seed, i), v);
        }
    *out = st;
    return 0;
}

static int store_dispose(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    pthread_mutex_destroy(&((store *)inst)->lock);
    return 0;
}

static const di_kind_desc store_kind = {
    .name = "store", .type = "memstore", .lifetime = "singleton",
    .create = store_create, .dispose = store_dispose, .check = store_check,
    .size = sizeof(store), .summary = "an in-memory key-value store",
};

/* ---- transactions ---- */

static int txn_put(kv_txn *api, const char *key, const char *value)
{
    txn *t = (txn *)api;
    if (t->n == sizeof t->pending / sizeof t->pending[0])
        return DI_EINVAL;
    t->pending[t->n].key = talloc_strdup(t, key);
    t->pending[t->n].value = talloc_strdup(t, value);
    if (!t->pending[t->n].key || !t->pending[t->n].value)
        return DI_ENOMEM;
    t->n++;
    return 0;
}

static const char *txn_get(kv_txn *api, const char *key)
{
    txn *t = (txn *)api;
    for (size_t i = t->n; i-- > 0;)
        if (strcmp(t->pending[i].key, key) == 0)
            return t->pending[i].value;
    const char *v = NULL;
    pthread_mutex_lock(&t->st->lock);
    for (size_t i = 0; i < t->st->n && !v; i++)
        if (strcmp(t->st->items[i].key, key) == 0)
            v = t->st->items[i].value;
    pthread_mutex_unlock(&t->st->lock);
    return v;
}

static int txn_create(const di_build *b, void **out)
{
    txn *t = b->mem;
    t->api.put = txn_put;
    t->api.get = txn_get;
    t->st = b->deps[0];
    *out = t;
    return 0;
}

/* Apply the buffered writes on success, drop them otherwise. */
static int txn_dispose(const di_build *b, void *inst, int outcome)
{
    txn *t = inst;
    if (outcome != 0 || t->n == 0)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&t->st->lock);
    for (size_t i = 0; i < t->n && !rc; i++)
        rc = put_locked(t->st, t->pending[i].key, t->pending[i].value);
    pthread_mutex_unlock(&t->st->lock);
    return rc ? di_fail(b, rc, "commit failed: the store is full") : 0;
}

static const char *const txn_roles[] = { "store:memstore", NULL };
static const di_kind_desc txn_kind = {
    .name = "txn", .type = "kv.txn", .lifetime = "request",
    .roles = txn_roles, .create = txn_create, .dispose = txn_dispose,
    .size = sizeof(txn), .summary = "writes applied when the request succeeds",
};

DI_PLUGIN(memstore, "1.0.0", NULL, &store_kind, &txn_kind)
