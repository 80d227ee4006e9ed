/*
 * generic.c — the generic runner (bench.h): what any container that calls
 * creates and disposes through pointers must do for a request, and
 * nothing more. It is context for the op cases, not a baseline: the
 * difference between it and the pooled hand-wired code is what being
 * generic costs; between libdi and it, what libdi's contract adds (errors
 * with their paths, asynchronous creates, tracing, lookups from child
 * scopes and from creates, teardown with the outcome kept on the scope).
 */
#include "bench.h"

#include <string.h>
#include <talloc.h>

uint64_t bench_generic_requests(const bench_generic *g, uint64_t n)
{
    enum { MAX = 64 };
    uint64_t sum = 0;
    for (uint64_t r = 0; r < n; r++) {
        void *ctx = talloc_pool(NULL, g->pool_bytes);
        void *got[MAX], *mem[MAX], *dv[BENCH_GENERIC_DEPS];
        di_build b = { .deps = dv };
        uint32_t built = 0;
        int rc = ctx ? 0 : DI_ENOMEM;
        for (; !rc && built < g->nsteps; built++) {
            const bench_generic_step *st = &g->steps[built];
            void *m = talloc_named_const(ctx, st->size, st->name);
            if (!m) {
                rc = DI_ENOMEM;
                break;
            }
            memset(m, 0, st->size);
            for (uint32_t k = 0; k < st->ndeps; k++) {
                int32_t x = st->dep[k];
                dv[k] = x >= 0 ? got[x] : g->singles[-1 - x];
            }
            b.mem = m;
            b.ndeps = st->ndeps;
            b.data = st->data;
            b.name = st->name;
            void *inst = NULL;
            rc = st->create(&b, &inst);
            got[built] = inst;
            mem[built] = m;
            if (rc)
                break;
        }
        if (!rc)
            sum += g->use(got, g->singles);
        while (built-- > 0) { /* the disposes, newest first */
            const bench_generic_step *st = &g->steps[built];
            if (!st->dispose)
                continue;
            b.mem = mem[built];
            b.data = st->data;
            b.name = st->name;
            st->dispose(&b, got[built], rc);
        }
        talloc_free(ctx);
    }
    return sum;
}
