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

/* A timed case: run_* do n operations and return a checksum (so nothing is
 * optimised away). */
typedef struct bench_timed {
    const char *name;
    const char *what;        /* one op, in words */
    void (*setup)(void);
    void (*teardown)(void);
    uint64_t (*run_di)(uint64_t n);
    uint64_t (*run_hand)(uint64_t n);
    double max_ns;           /* target on libdi's median, 0: none */
    double max_ratio;        /* target on the ratio, 0: none */
} bench_timed;

/* One result line (table + JSON). */
typedef struct bench_result {
    char name[24];
    const char *unit;        /* "ns/op", "ms", "bytes", "ops/s/thread" */
    double di_med, di_min, di_max;
    double hand_med, hand_min, hand_max;  /* NAN when there is no baseline */
    double ratio;            /* NAN when not meaningful */
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

/* The cases (cases.c). */
extern const bench_timed bench_call_floor, bench_singleton_key,
    bench_singleton_name,
    bench_request_3, bench_aspnetcore, bench_complex;
/* seal_<small>, seal_<large> and seal_scaling. */
void bench_seal(int small, int large, bench_result out[3]);
/* One seal run over the n-provider graph, drawn afresh, through libdi or
 * by hand: its milliseconds (seal_graph.h). Exits 2 when it fails. */
double bench_seal_once(int n, bool hand);
bench_result bench_threads(void);
bench_result bench_memory(void);

#endif
