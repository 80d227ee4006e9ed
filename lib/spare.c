/*
 * spare.c — per-thread spare blocks (see di_int.h): the block a request
 * would free at its end — a top-level scope, an HTTP request — kept for the
 * next one begun on the same thread, and freed when the thread exits.
 */
#include <pthread.h>

#include "di_int.h"

#ifndef DI_DEBUG
_Thread_local di__spares di__spare DI__TLS;

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

void di__spare_free(int kind)
{
    void *b = di__spare.block[kind];
    di__spare.block[kind] = NULL;
    talloc_free(b); /* ended: a destructor it has does nothing */
}

static void spare_at_exit(void *unused)
{
    (void)unused;
    for (int k = 0; k < DI__SPARE_KINDS; k++)
        di__spare_free(k);
}

static void spare_init(void)
{
    if (pthread_key_create(&spare_key, spare_at_exit) != 0)
        spare_key = (pthread_key_t)-1;
}

bool di__spare_keep(int kind, void *block, uint64_t tag)
{
    if (di__spare.block[kind])
        return false;
    if (!di__spare.registered) {
        /* the thread-exit destructor, armed once per thread */
        pthread_once(&spare_once, spare_init);
        if (spare_key == (pthread_key_t)-1 ||
            pthread_setspecific(spare_key, &di__spare) != 0)
            return false;
        di__spare.registered = true;
    }
    talloc_free_children(block);
    di__spare.block[kind] = block;
    di__spare.tag[kind] = tag;
    return true;
}

void di__spare_drop(int kind, uint64_t tag)
{
    if (di__spare.block[kind] && di__spare.tag[kind] == tag)
        di__spare_free(kind);
}
#else
void di__spare_drop(int kind, uint64_t tag)
{
    (void)kind;
    (void)tag;
}
#endif
