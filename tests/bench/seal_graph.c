/*
 * seal_graph.c — the seal cases' graph and a timed run over it.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "seal_graph.h"

void bench_graph_make(bench_graph *g, int n)
{
    srand(12345);
    g->n = n;
    g->names = malloc((size_t)n * sizeof *g->names);
    g->deps = malloc((size_t)n * 8 * sizeof *g->deps);
    if (!g->names || !g->deps) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        if (!(g->names[i] = malloc(16))) {
            fprintf(stderr, "bench: out of memory\n");
            exit(2);
        }
        snprintf(g->names[i], 16, "p%d", i);
        bool single = i % 4 == 0;
        int k = 0, want = i ? rand() % 7 : 0; /* 0..6: 3 on average */
        for (int tries = 0; k < want && tries < 20; tries++) {
            int j = rand() % i;
            if (single && j % 4 != 0)
                continue;
            g->deps[i * 8 + k++] = g->names[j];
        }
        g->deps[i * 8 + k] = NULL;
    }
}

void bench_graph_free(bench_graph *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->names[i]);
    free(g->names);
    free(g->deps);
}

size_t bench_seal_heap;

size_t bench_heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* Never called: seal builds nothing. */
static int unused_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

double bench_seal_run(const bench_seal_api *api, const bench_graph *g,
                      double *seal_ms)
{
    size_t heap0 = bench_heap_in_use();
    uint64_t t0 = bench_now_ns();
    di_container *c;
    if (api->container_new(NULL, &c))
        return -1;
    for (int i = 0; i < g->n; i++)
        if (api->provide(c, &(di_provider_desc){ .name = g->names[i],
                .lifetime = i % 4 == 0 ? "singleton" : "request",
                .deps = &g->deps[i * 8], .create = unused_create,
                .size = BENCH_GRAPH_OBJ_SIZE })) {
            if (api->report)
                api->report(c);
            api->container_free(c);
            return -1;
        }
    uint64_t t1 = bench_now_ns();
    int rc = api->seal(c);
    uint64_t t2 = bench_now_ns();
    bench_seal_heap = bench_heap_in_use() - heap0;
    if (rc && api->report)
        api->report(c);
    if (api->container_free(c))
        rc = -1;
    *seal_ms = (double)(t2 - t1) / 1e6;
    return rc ? -1 : (double)(t2 - t0) / 1e6;
}
