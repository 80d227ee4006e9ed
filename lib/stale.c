/*
 * stale.c — debug builds only: the process-wide set of open scopes, so that
 * ending a scope twice or using it after it ended is detected (DI_ESTALE)
 * without reading freed memory. Only addresses are compared.
 */
#include "di_int.h"

#ifdef DI_DEBUG
#include <stdlib.h>

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static const di_scope **live;
static size_t nlive, caplive;

int di__open_add(const di_scope *s)
{
    int rc = 0;
    pthread_mutex_lock(&live_lock);
    if (nlive == caplive) {
        size_t cap = caplive ? caplive * 2 : 64;
        const di_scope **n = DI__MAYFAIL(realloc(live, cap * sizeof *n));
        if (!n)
            rc = DI_ENOMEM;
        else {
            live = n;
            caplive = cap;
        }
    }
    if (!rc)
        live[nlive++] = s;
    pthread_mutex_unlock(&live_lock);
    return rc;
}

void di__open_del(const di_scope *s)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = nlive; i-- > 0;)
        if (live[i] == s) {
            live[i] = live[--nlive];
            break;
        }
    if (nlive == 0) {
        free(live);
        live = NULL;
        caplive = 0;
    }
    pthread_mutex_unlock(&live_lock);
}

bool di__open_has(const di_scope *s)
{
    bool found = false;
    pthread_mutex_lock(&live_lock);
    for (size_t i = nlive; i-- > 0 && !found;)
        found = live[i] == s;
    pthread_mutex_unlock(&live_lock);
    return found;
}

size_t di__open_count(const di_container *c)
{
    size_t n = 0;
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < nlive; i++) /* root scopes go with c */
        n += live[i]->c == c && live[i]->level != DI__ROOT;
    pthread_mutex_unlock(&live_lock);
    return n;
}
#else
typedef int di__open_unused; /* keep the translation unit non-empty */
#endif
