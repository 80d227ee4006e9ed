/*
 * seal_hand.c — the seal cases' hand-wired baseline: the registry a careful
 * C programmer writes without libdi for the same graph, doing the same
 * work as libdi's run. Registration copies each component's name and
 * dependency names into one talloc block under the registry, refuses a
 * name given twice and enters the name in an open-addressing table (the
 * name's hash, its pointer and its index in 16-byte slots, at most half
 * full). The check resolves every dependency by name, refuses a missing
 * one and a singleton that needs a request component, and looks for
 * cycles: one scan of the edges when each leads to an earlier component
 * (registration order is then a topological order), else a depth-first
 * search. It builds nothing, as libdi's seal builds nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "bench.h"
#include "seal_graph.h"

typedef struct comp {
    const char *name;
    const char **deps;  /* copies, in the component's block */
    int32_t *target;    /* filled by the check */
    uint32_t ndeps;
    bool singleton;
} comp;

typedef struct slot {
    const char *name;   /* NULL: empty */
    uint32_t hash;
    int32_t index;
} slot;

typedef struct registry {
    comp *comps;
    uint32_t n, cap;
    slot *map;
    uint32_t mask, used;
} registry;

/* FNV-1a, 64 bits folded to 32. */
static uint32_t hash_of(const char *s, size_t *len)
{
    uint64_t h = 0xcbf29ce484222325u;
    const char *p = s;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3u;
    *len = (size_t)(p - s);
    return (uint32_t)(h ^ h >> 32);
}

/* The slot of name: where it is, or the empty slot where it would go. */
static slot *slot_of(const registry *r, const char *name, uint32_t h)
{
    for (uint32_t i = h & r->mask;; i = (i + 1) & r->mask) {
        slot *s = &r->map[i];
        if (!s->name || (s->hash == h && strcmp(s->name, name) == 0))
            return s;
    }
}

static int grow_map(registry *r)
{
    uint32_t cap = r->map ? (r->mask + 1) * 2 : 64;
    slot *m = talloc_zero_array(r, slot, cap);
    if (!m)
        return -1;
    for (uint32_t i = 0; r->map && i <= r->mask; i++) {
        if (!r->map[i].name)
            continue;
        uint32_t j = r->map[i].hash & (cap - 1);
        while (m[j].name)
            j = (j + 1) & (cap - 1);
        m[j] = r->map[i];
    }
    talloc_free(r->map);
    r->map = m;
    r->mask = cap - 1;
    return 0;
}

/* 0, or -1 (out of memory, a name given twice). */
static int add(registry *r, const char *name, bool singleton,
               const char *const *deps)
{
    if ((r->used + 1) * 2 > r->mask + 1 && grow_map(r))
        return -1;
    size_t nl;
    uint32_t h = hash_of(name, &nl);
    slot *s = slot_of(r, name, h);
    if (s->name) {
        fprintf(stderr, "bench: '%s' registered twice\n", name);
        return -1;
    }
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 64;
        comp *v = talloc_realloc(r, r->comps, comp, cap);
        if (!v)
            return -1;
        r->comps = v;
        r->cap = cap;
    }
    uint32_t k = 0;
    size_t bytes = nl + 1;
    for (; deps[k]; k++)
        bytes += strlen(deps[k]) + 1;
    /* the arrays first, for alignment, then the strings */
    char *blk = talloc_size(r, k * (sizeof(char *) + sizeof(int32_t)) + bytes);
    if (!blk)
        return -1;
    comp *c = &r->comps[r->n];
    c->deps = (const char **)blk;
    c->target = (int32_t *)(blk + k * sizeof(char *));
    char *w = blk + k * (sizeof(char *) + sizeof(int32_t));
    c->name = memcpy(w, name, nl + 1);
    w += nl + 1;
    for (uint32_t i = 0; i < k; i++) {
        size_t dl = strlen(deps[i]) + 1;
        c->deps[i] = memcpy(w, deps[i], dl);
        w += dl;
    }
    c->ndeps = k;
    c->singleton = singleton;
    *s = (slot){ c->name, h, (int32_t)r->n++ };
    r->used++;
    return 0;
}

/* A step of the depth-first search: a component and its next edge. */
typedef struct frame {
    uint32_t at, next;
} frame;

/* Whether the graph from component i has a cycle (state: 0 unseen,
 * 1 on the path, 2 done). */
static bool cyclic_from(const registry *r, uint32_t i, uint8_t *state,
                        frame *stack)
{
    uint32_t top = 0;
    stack[0] = (frame){ i, 0 };
    state[i] = 1;
    while (true) {
        frame *f = &stack[top];
        const comp *c = &r->comps[f->at];
        if (f->next == c->ndeps) {
            state[f->at] = 2;
            if (top-- == 0)
                return false;
            continue;
        }
        int32_t t = c->target[f->next++];
        if (state[t] == 1)
            return true;
        if (state[t] == 0) {
            state[t] = 1;
            stack[++top] = (frame){ (uint32_t)t, 0 };
        }
    }
}

/* The number of problems found. */
static int check(registry *r)
{
    int problems = 0;
    bool backward = true;
    for (uint32_t i = 0; i < r->n; i++) {
        comp *c = &r->comps[i];
        for (uint32_t k = 0; k < c->ndeps; k++) {
            size_t len;
            const slot *s = slot_of(r, c->deps[k], hash_of(c->deps[k], &len));
            if (!s->name) {
                fprintf(stderr, "bench: %s -> %s: no such component\n",
                        c->name, c->deps[k]);
                problems++;
                c->target[k] = -1;
                continue;
            }
            c->target[k] = s->index;
            backward &= (uint32_t)s->index < i;
            if (c->singleton && !r->comps[s->index].singleton) {
                fprintf(stderr, "bench: %s (singleton) -> %s (request)\n",
                        c->name, c->deps[k]);
                problems++;
            }
        }
    }
    if (backward || problems)
        return problems;
    uint8_t *state = talloc_zero_array(r, uint8_t, r->n);
    frame *stack = talloc_array(r, frame, r->n);
    if (!state || !stack)
        return problems + 1;
    for (uint32_t i = 0; i < r->n; i++)
        if (!state[i] && cyclic_from(r, i, state, stack)) {
            fprintf(stderr, "bench: a cycle through %s\n", r->comps[i].name);
            return problems + 1;
        }
    return problems;
}

double bench_seal_run_hand(const bench_graph *g, double *check_ms)
{
    size_t heap0 = bench_heap_in_use();
    uint64_t t0 = bench_now_ns();
    registry *r = talloc_zero(NULL, registry);
    if (!r)
        return -1;
    for (int i = 0; i < g->n; i++)
        if (add(r, g->names[i], i % 4 == 0, &g->deps[i * 8])) {
            talloc_free(r);
            return -1;
        }
    uint64_t t1 = bench_now_ns();
    int problems = check(r);
    uint64_t t2 = bench_now_ns();
    bench_seal_heap = bench_heap_in_use() - heap0;
    talloc_free(r);
    *check_ms = (double)(t2 - t1) / 1e6;
    return problems ? -1 : (double)(t2 - t0) / 1e6;
}
