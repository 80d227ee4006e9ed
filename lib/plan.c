/*
 * plan.c — compiled programs: what resolving some targets in a scope of
 * one level builds, flattened at seal (a consumer's) or at the first build
 * of a provider asked for by key or name (di_get's), so that resolution
 * runs down an array instead of recursing through the graph (resolve.c
 * runs them).
 *
 * The order is the recursive resolver's: depth first, dependencies in
 * declared order, each instance of the level once (found in the scope or
 * built), each transient once per use — so creates, and disposes in
 * reverse, happen in the same order on either path. A program is made only
 * where every source is fixed for the level: the level's own instances,
 * transients, values and singletons (read from the container's known
 * table). Anything else (an intermediate level, a provider with more than
 * DI__PLAN_DEPS dependencies, more than DI__PLAN_STEPS steps, an external
 * in a program that builds transients, a transient that an instance of the
 * level needs — not built when that instance is found, and no program
 * skips part of itself) leaves the general path to it.
 */
#include <string.h>

#include "di_int.h"

/* compiling: scratch for one program */
enum { SEEN = 4 * DI__PLAN_STEPS }; /* a power of two, at most half full */
enum { UNFIT = 1 };

typedef struct comp {
    const di_container *c;
    int16_t level;
    bool transients;  /* may it build them */
    bool fresh, externs;
    uint32_t nsteps, nsrcs, nneed, depth, nfresh;
    di__step steps[DI__PLAN_STEPS];
    int32_t up[DI__PLAN_STEPS];        /* each step's first asker, -1: top */
    di__src srcs[DI__PLAN_STEPS * DI__PLAN_DEPS];
    di__key need[DI__PLAN_STEPS];
    /* what is met once: an instance of the level (its step) and a value
     * or singleton read (-1), by key; empty slots hold key -1, and the
     * slots taken are listed (used) to be emptied for the next program */
    struct { di__key key; int32_t step; } seen[SEEN];
    uint16_t used[2 * DI__PLAN_STEPS];
    uint32_t nused;
} comp;

struct di__plan_scratch { comp cp; };

di__plan_scratch *di__plan_scratch_new(void *mem)
{
    di__plan_scratch *sc = talloc(mem, di__plan_scratch);
    if (sc) {
        memset(sc->cp.seen, 0xff, sizeof sc->cp.seen);
        sc->cp.nused = 0;
    }
    return sc;
}

/* Mark slot h of cp->seen taken by key, for step (-1: a value or singleton). */
static void seen_put(comp *cp, uint32_t h, di__key key, int32_t step)
{
    cp->seen[h].key = key;
    cp->seen[h].step = step;
    cp->used[cp->nused++] = (uint16_t)h;
}

/* The slot of key in cp->seen: its own, or the empty one where it goes. */
static uint32_t seen_at(const comp *cp, di__key key)
{
    uint32_t h = ((uint32_t)key * 0x9E3779B1u) >> (32 - 10);
    _Static_assert(SEEN == 1 << 10, "seen_at's shift");
    while (cp->seen[h].key != -1 && cp->seen[h].key != key)
        h = (h + 1) & (SEEN - 1);
    return h;
}

/* The source of target t for the program, the steps that make it added
 * first (the caller records itself as the first asker of a step made for
 * it); 0, or UNFIT. */
static int visit(comp *cp, di__key t, di__src *src)
{
    const di_container *c = cp->c;
    if (t < 0) { /* a missing optional dependency */
        *src = -1 - (int32_t)c->nprov;
        return 0;
    }
    const di__provider *p = di__prov(c, t);
    if (p->kind == DI__VALUE || p->level == DI__ROOT) {
        *src = -1 - t;
        uint32_t h = seen_at(cp, t);
        if (cp->seen[h].key == t)
            return 0;
        if (cp->nneed == DI__PLAN_STEPS)
            return UNFIT;
        seen_put(cp, h, t, -1);
        cp->need[cp->nneed++] = t;
        return 0;
    }
    bool fresh = p->level == DI__TRANSIENT;
    if (fresh ? !cp->transients : p->level != cp->level)
        return UNFIT;
    if (!fresh) {
        uint32_t h = seen_at(cp, t);
        if (cp->seen[h].key == t) {
            *src = cp->seen[h].step;
            return 0;
        }
    }
    if (p->kind == DI__CREATE && p->ndeps > DI__PLAN_DEPS)
        return UNFIT;
    if (++cp->depth > DI__PLAN_STEPS)
        return UNFIT;
    uint32_t nfresh = cp->nfresh;
    di__src dv[DI__PLAN_DEPS];
    bool asked[DI__PLAN_DEPS]; /* its step was made for this one */
    uint32_t nd = p->kind == DI__CREATE ? p->ndeps : 0;
    for (uint32_t k = 0; k < nd; k++) {
        uint32_t before = cp->nsteps;
        int rc = visit(cp, p->deps[k].target, &dv[k]);
        if (rc)
            return rc;
        asked[k] = dv[k] >= (int32_t)before;
    }
    cp->depth--;
    /* an instance found in the scope is not built, nor what it needs: a
     * transient made for it would be made for nothing (the recursive path
     * does not go there), and no program skips part of itself */
    if (!fresh && cp->nfresh != nfresh)
        return UNFIT;
    if (cp->nsteps == DI__PLAN_STEPS)
        return UNFIT;
    uint32_t i = cp->nsteps++;
    cp->steps[i] = (di__step){ .prov = t, .ndeps = (uint16_t)nd,
                               .build = p->kind == DI__CREATE,
                               .fresh = fresh, .dep0 = cp->nsrcs, .p = p };
    cp->up[i] = -1;
    for (uint32_t k = 0; k < nd; k++) {
        cp->srcs[cp->nsrcs++] = dv[k];
        if (asked[k])
            cp->up[dv[k]] = (int32_t)i;
    }
    cp->fresh |= fresh;
    cp->nfresh += fresh;
    cp->externs |= p->kind == DI__EXTERN;
    if (!fresh)
        seen_put(cp, seen_at(cp, t), t, (int32_t)i);
    *src = (di__src)i;
    return 0;
}

/* Empty cp for the next program: the slots taken freed, the counts 0. */
static void comp_reset(comp *cp)
{
    for (uint32_t i = 0; i < cp->nused; i++)
        cp->seen[cp->used[i]].key = -1;
    cp->nused = 0;
    cp->fresh = cp->externs = false;
    cp->nsteps = cp->nsrcs = cp->nneed = cp->depth = cp->nfresh = 0;
}

int di__prog_compile(const di_container *c, void *mem, int16_t l,
                     const di__key *targets, uint32_t n, const di__frame *top,
                     bool transients, di__plan_scratch *scratch,
                     const di__prog **out)
{
    *out = NULL;
    di__plan_scratch *own = scratch ? NULL : di__plan_scratch_new(NULL);
    di__src *outs = talloc_array(NULL, di__src, n ? n : 1);
    if ((!scratch && !own) || !outs) {
        talloc_free(own);
        talloc_free(outs);
        return DI_ENOMEM;
    }
    comp *cp = scratch ? &scratch->cp : &own->cp;
    comp_reset(cp);
    cp->c = c;
    cp->level = l;
    cp->transients = transients;
    int rc = 0;
    for (uint32_t k = 0; k < n && !rc; k++) {
        uint32_t before = cp->nsteps;
        rc = visit(cp, targets[k], &outs[k]);
        if (!rc && outs[k] >= (int32_t)before)
            cp->up[outs[k]] = -1;
    }
    if (rc || (cp->fresh && cp->externs)) {
        talloc_free(own);
        talloc_free(outs);
        return 0;
    }
    /* one block: the record, then its arrays, the widest first */
    size_t nst = cp->nsteps, nsr = cp->nsrcs, nne = cp->nneed;
    size_t bytes = sizeof(di__prog) + nst * sizeof(di__step) +
                   nst * sizeof(di__frame) +
                   (nsr + n) * sizeof(di__src) + nne * sizeof(di__key);
    di__prog *pg = talloc_named_const(mem, bytes, "di__prog");
    if (!pg) {
        talloc_free(own);
        talloc_free(outs);
        return DI_ENOMEM;
    }
    char *at = (char *)(pg + 1);
    *pg = (di__prog){ .level = l, .fresh = cp->fresh, .nsteps = cp->nsteps,
                      .nout = n, .nneed = cp->nneed };
    pg->steps = (di__step *)at;
    at += nst * sizeof(di__step);
    pg->frames = (di__frame *)at;
    at += nst * sizeof(di__frame);
    pg->srcs = (di__src *)at;
    at += nsr * sizeof(di__src);
    pg->out = (di__src *)at;
    at += n * sizeof(di__src);
    pg->need = (di__key *)at;
    memcpy(pg->steps, cp->steps, nst * sizeof(di__step));
    memcpy(pg->srcs, cp->srcs, nsr * sizeof(di__src));
    memcpy(pg->out, outs, n * sizeof(di__src));
    memcpy(pg->need, cp->need, nne * sizeof(di__key));
    /* an asker comes after what it asked for: fill back to front */
    for (uint32_t j = cp->nsteps; j-- > 0;)
        pg->frames[j] = (di__frame){
            cp->up[j] >= 0 ? &pg->frames[cp->up[j]] : top,
            cp->steps[j].p->name };
    talloc_free(own);
    talloc_free(outs);
    *out = pg;
    return 0;
}

/* A provider that has no program for a level: asked again, it is not
 * compiled again. */
static const di__prog none;

const di__prog *di__get_prog(di_container *c, di__key key, int16_t l)
{
    const di__provider *p = di__prov(c, key);
    int g = p->level == DI__TRANSIENT ? 0 : p->level;
    _Atomic(const di__prog *) *arr =
        atomic_load_explicit(&c->gets[g], memory_order_acquire);
    const di__prog *pg =
        arr ? atomic_load_explicit(&arr[p->slot], memory_order_acquire) : NULL;
    if (pg)
        return pg != &none && pg->level == l ? pg : NULL;
    pthread_mutex_lock(&c->lock);
    arr = atomic_load_explicit(&c->gets[g], memory_order_relaxed);
    if (!arr) {
        uint32_t n = g ? c->levels[g].nslots : c->ntransients;
        arr = talloc_zero_array(c->progmem, _Atomic(const di__prog *),
                                n ? n : 1);
        if (arr)
            atomic_store_explicit(&c->gets[g], arr, memory_order_release);
    }
    pg = arr ? atomic_load_explicit(&arr[p->slot], memory_order_relaxed)
             : NULL;
    if (arr && !pg) {
        const di__prog *made = NULL;
        /* out of memory: none now, asked again next time */
        if (di__prog_compile(c, c->progmem, l, &key, 1, NULL, true, NULL,
                             &made) == 0) {
            pg = made ? made : &none;
            atomic_store_explicit(&arr[p->slot], pg, memory_order_release);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return pg && pg != &none && pg->level == l ? pg : NULL;
}
