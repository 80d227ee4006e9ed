/*
 * seal_graph.h — the seal cases' graph and one timed run over it, through a
 * table of libdi's entry points: the benchmark passes the library it is
 * linked with; di_seal_ab passes two builds loaded side by side.
 */
#ifndef DI_BENCH_SEAL_GRAPH_H
#define DI_BENCH_SEAL_GRAPH_H

#include <stdint.h>

#include <di.h>

/* A random acyclic graph of n providers: provider i depends on 0..6 (3 on
 * average) of the providers before it; every fourth is a singleton and
 * depends on singletons only. Names are "p<i>", each its own 16-byte heap
 * block, as a caller's strings would be. */
typedef struct bench_graph {
    int n;
    char **names;
    const char **deps;  /* provider i's at deps[8 i ..], NULL-terminated */
} bench_graph;

/* The same graph for the same n every time (a fixed seed). Exits on ENOMEM. */
void bench_graph_make(bench_graph *g, int n);
void bench_graph_free(bench_graph *g);

/* The libdi calls a seal run makes. */
typedef struct bench_seal_api {
    int (*container_new)(void *mem, di_container **out);
    int (*provide)(di_container *c, const di_provider_desc *desc);
    int (*seal)(di_container *c);
    int (*container_free)(di_container *c);
    /* when a call fails: told the container before it is freed, to print
     * its errors; NULL: only the failure is reported */
    void (*report)(di_container *c);
} bench_seal_api;

/* Bytes each provider of the graph asks for (the benchmark's object: six
 * dependency pointers and a value). */
#define BENCH_GRAPH_OBJ_SIZE (6 * sizeof(void *) + sizeof(int64_t))

/* Register g's providers in a new container and seal it; the container is
 * freed after the clock stops. Returns the milliseconds from the container's
 * creation to the end of its seal, the seal's own in *seal_ms; a negative
 * value when a call (the seal, or freeing the container) failed. */
double bench_seal_run(const bench_seal_api *api, const bench_graph *g,
                      double *seal_ms);

/* The same registration and checks written by hand (seal_hand.c), timed
 * the same way: the milliseconds from the registry's creation to the end of
 * its check, the check's own in *check_ms; negative when a call ran out of
 * memory or the check found a problem (printed). */
double bench_seal_run_hand(const bench_graph *g, double *check_ms);

/* Real heap bytes the last run (either) held once sealed or checked:
 * mallinfo2's bytes in use then, less before its container or registry
 * was made (the graph's own strings are made before). */
extern size_t bench_seal_heap;
size_t bench_heap_in_use(void);

#endif
