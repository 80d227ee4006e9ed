/*
 * fault.c — allocation failure injection (see fault.h). In builds without
 * DI_FAULTS this file is empty and di_int.h calls the allocators directly.
 */
#include "di_int.h"

#ifdef DI_FAULTS
#include <stdlib.h>

#include <cjson/cJSON.h>

static atomic_long countdown; /* > 0: allocations left before the failure */
static atomic_long failed;    /* failures since the last di__fault_alloc() */

bool di__alloc_fails(void)
{
    if (atomic_load_explicit(&countdown, memory_order_relaxed) <= 0)
        return false;
    if (atomic_fetch_sub(&countdown, 1) != 1)
        return false;
    atomic_fetch_add(&failed, 1);
    return true;
}

/* cJSON allocates through hooks of its own: route them here too. */
static void *json_malloc(size_t n) { return di__alloc_fails() ? NULL : malloc(n); }

long di__fault_alloc(long n)
{
    static atomic_bool hooked;
    if (!atomic_exchange(&hooked, true))
        cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = json_malloc,
                                        .free_fn = free });
    atomic_store(&countdown, n > 0 ? n : 0);
    return atomic_exchange(&failed, 0);
}
#endif
