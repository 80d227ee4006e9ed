/*
 * pool.h — the connection pool the database plugins share: a fixed set of
 * slots, checkout with a deadline, return. Connections themselves belong to
 * the plugin (opened, checked and closed by it); the pool only hands out
 * slots. Compiled into each plugin module; not part of libdi's ABI.
 */
#ifndef DI_PLUGIN_POOL_H
#define DI_PLUGIN_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct di__pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void **conns;      /* the plugin's connections, by slot */
    bool *busy;
    size_t n;
    size_t in_use;
    unsigned timeout_ms;
} di__pool;

/* Set up n empty slots (allocated on mem). 0 or -1. */
int di__pool_init(di__pool *p, void *mem, size_t n, unsigned timeout_ms);
/* Take a free slot, waiting up to timeout_ms; the slot index, or -1 when
 * all stayed busy. */
long di__pool_get(di__pool *p);
/* Give a slot back. */
void di__pool_put(di__pool *p, long slot);
void di__pool_destroy(di__pool *p);

#endif
