/*
 * pool.c — see pool.h.
 */
#include "pool.h"

#include <errno.h>
#include <talloc.h>

#include "fault.h" /* test builds: allocation failure injection */
#include <time.h>

int di__pool_init(di__pool *p, void *mem, size_t n, unsigned timeout_ms)
{
    /* n is a pool's size, 1 to 1024 (checked with its params) */
    p->conns = talloc_zero_array(mem, void *, (unsigned)n);
    p->busy = talloc_zero_array(mem, bool, (unsigned)n);
    p->n = n;
    p->in_use = 0;
    p->timeout_ms = timeout_ms;
    if (!p->conns || !p->busy)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return -1;
    if (pthread_mutex_init(&p->lock, NULL)) {
        pthread_cond_destroy(&p->cond);
        return -1;
    }
    return 0;
}

/* The first free slot, taken; under the lock, with one free. */
static long take(di__pool *p)
{
    long slot = 0;
    while (p->busy[slot])
        slot++;
    p->busy[slot] = true;
    p->in_use++;
    return slot;
}

long di__pool_get(di__pool *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->in_use < p->n) { /* the common case: no deadline to compute */
        long slot = take(p);
        pthread_mutex_unlock(&p->lock);
        return slot;
    }
    pthread_mutex_unlock(&p->lock);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->timeout_ms / 1000;
    until.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (p->in_use == p->n) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT &&
            p->in_use == p->n) {
            pthread_mutex_unlock(&p->lock);
            return -1;
        }
    }
    long slot = take(p);
    pthread_mutex_unlock(&p->lock);
    return slot;
}

void di__pool_put(di__pool *p, long slot)
{
    pthread_mutex_lock(&p->lock);
    p->busy[slot] = false;
    p->in_use--;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void di__pool_destroy(di__pool *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}
