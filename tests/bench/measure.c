/*
 * measure.c — the clock and the statistics every bench tool shares.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_stats(double *v, int n, double *med, double *min, double *max)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *min = v[0];
    *max = v[n - 1];
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_ratio_stats(const double *a, const double *b, int n, double *med,
                       double *min, double *max)
{
    double *r = malloc((size_t)n * sizeof *r);
    if (!r) {
        fprintf(stderr, "bench: out of memory\n");
        exit(2);
    }
    for (int i = 0; i < n; i++)
        r[i] = a[i] / b[i];
    bench_stats(r, n, med, min, max);
    free(r);
}
