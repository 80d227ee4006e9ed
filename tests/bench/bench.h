/*
 * bench.h — the benchmark harness: each case runs libdi and a hand-wired
 * baseline (the same objects, talloc calls and disposes, written by hand)
 * in the same process, alternating, after a warm-up, and reports the median
 * ns/op of many repetitions with min–max and the ratio libdi / hand-wired
 * (for the timed cases, the median of the repetitions' own ratios).
 */
#ifndef DI_BENCH_H
#define DI_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <di.h>

/* A timed case: run_* do n operations and return a checksum (so nothing is
 * optimised away). run_hand is the hand-wired code with talloc per object
 * (malloc and free per object); run_pool, for a request-shaped case, the
 * same with one talloc pool per request, sized for its objects as a careful
 * programmer would (talloc_pooled_object). The targets are against the
 * faster of the two. */
typedef struct bench_timed {
    const char *name;
    const char *what;        /* one op, in words */
    void (*setup)(void);
    void (*teardown)(void);
    uint64_t (*run_di)(uint64_t n);
    uint64_t (*run_hand)(uint64_t n);
    uint64_t (*run_pool)(uint64_t n); /* NULL: no pooled variant */
    double max_ns;           /* target on libdi's median time, 0: none */
    double max_instr;        /* target on libdi's instructions per op over
                                the best baseline's (op_instr.sh), 0: none */
    uint64_t (*run_generic)(uint64_t n); /* NULL: none; context, never a
                                            baseline (generic.c) */
} bench_timed;

/* The generic runner (generic.c): a request's steps in order, each created
 * through its pointer with a build context in memory from one talloc pool
 * per request, recorded, and disposed newest first through its pointer;
 * what a container cannot do with less. A dependency x >= 0 is step x's
 * instance, x < 0 singles[-1 - x]. use() gets the instances and the
 * singletons and returns the request's checksum. */
enum { BENCH_GENERIC_DEPS = 2 };
typedef struct bench_generic_step {
    di_create_fn create;
    di_dispose_fn dispose;
    void *data;
    const char *name;
    size_t size;
    uint32_t ndeps;
    int32_t dep[BENCH_GENERIC_DEPS];
} bench_generic_step;
typedef struct bench_generic {
    const bench_generic_step *steps;
    uint32_t nsteps;
    void **singles;
    size_t pool_bytes;
    uint64_t (*use)(void **got, void **singles);
} bench_generic;
/* n requests; returns the sum of their checksums. */
uint64_t bench_generic_requests(const bench_generic *g, uint64_t n);

/* One result line (table + JSON). */
typedef struct bench_result {
    char name[24];
    const char *unit;        /* "ns/op", "ms", "bytes", "ops/s/thread" */
    double di_med, di_min, di_max;
    double hand_med, hand_min, hand_max;  /* NAN when there is no baseline */
    double ratio;            /* NAN when not meaningful */
    double ratio_min, ratio_max; /* the paired ratios' spread (timed cases;
                                    else 0) */
    char target[32];         /* "<= 3 ns", "ratio <= 1.5", ... ("": none) */
    bool met;
} bench_result;

extern bool bench_smoke;     /* --smoke: tiny runs, no targets judged */

/* Time a case (median of reps, alternating libdi and hand-wired). */
bench_result bench_run_timed(const bench_timed *t);
/* Monotonic nanoseconds (measure.c, with bench_stats). */
uint64_t bench_now_ns(void);
/* Median, min and max of v[0..n) (v is sorted in place). */
void bench_stats(double *v, int n, double *med, double *min, double *max);
/* The same of the ratios a[i] / b[i], each pair measured side by side: on a
 * shared machine whose speed changes during a case, the ratio of two
 * medians can take one side's from a slow phase and the other's from a
 * fast one, where each pair saw the same phase. */
void bench_ratio_stats(const double *a, const double *b, int n, double *med,
                       double *min, double *max);

/* The cases (cases.c: the singletons, request_3, aspnetcore, complex;
 * shapes.c: chain, fanout, transients, the empty scopes). */
extern const bench_timed bench_call_floor, bench_singleton_key,
    bench_singleton_name,
    bench_request_3, bench_aspnetcore, bench_complex,
    bench_chain, bench_fanout, bench_transients, bench_empty_3,
    bench_empty_10k, bench_async_overhead, bench_async_handles,
    bench_metrics_on, bench_model_parse;
/* seal_<small>, seal_<large> and seal_scaling. */
void bench_seal(int small, int large, bench_result out[3]);
/* One seal run over the n-provider graph, drawn afresh, through libdi or
 * by hand: its milliseconds (seal_graph.h). Exits 2 when it fails. */
double bench_seal_once(int n, bool hand);
bench_result bench_threads(void);
/* Real heap bytes per live scope (heap.c): one result per shape. */
int bench_heap(bench_result *out, int max);
/* A shape for the heap count: open_* leave one request open — a scope
 * begun and resolved (close it with di_scope_end), or a talloc context
 * holding the objects built by hand (talloc_free) — with per-object
 * talloc or with a pool. The target: libdi at most plus bytes over the best
 * hand-wired one, or times as many (0: none). */
typedef struct bench_heap_shape {
    const char *name;
    void (*setup)(void);
    void (*teardown)(void);
    void *(*open_di)(void);
    void *(*open_hand)(void);
    void *(*open_pool)(void); /* NULL: none */
    double plus, times;
} bench_heap_shape;
extern const bench_heap_shape bench_heap_request_3, bench_heap_chain,
    bench_heap_fanout, bench_heap_empty_3, bench_heap_empty_10k;

/* ---- shared by the cases ---- */

/* Any object: keeps its dependencies. */
typedef struct bench_obj { void *dep[6]; int64_t v; } bench_obj;
int bench_make_obj(const di_build *b, void **out);
/* A dispose that marks the object closed and counts it (bench_closed). */
int bench_drop_obj(const di_build *b, void *inst, int outcome);
extern _Thread_local uint64_t bench_closed;
/* Exit 2 with the message when rc is not 0. */
void bench_must(int rc, const char *what);
/* Seal, or print every problem and exit 2. */
void bench_seal_or_die(di_container *c);

/* The measured region, by name for callgrind's --toggle-collect. */
uint64_t bench_ops(uint64_t (*run)(uint64_t), uint64_t n);

#endif
