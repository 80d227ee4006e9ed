/*
 * seal_ab.c — compare builds of libdi on the seal cases, in one process.
 *
 *     di_seal_ab [--pairs N] A/libdi.so B/libdi.so [...]
 *
 * Loads each library with dlopen() (RTLD_LOCAL: each keeps its own
 * symbols), then runs N rounds; in each, every library seals the 10k graph
 * and then the 100k graph. Prints, per library, the medians of
 * registration, seal and total for both sizes, and the 100k/10k ratio
 * (of the medians, and the median of each round's). The first two rounds
 * warm up and are not counted.
 *
 * Why one process: on a shared VM, separate processes in an alternating
 * loop measured two copies of the same library up to 40 % apart; loaded
 * side by side here three copies agreed within 0.5 % in a quiet hour and
 * within 2 % in a busy one (20 rounds): smaller differences need repeats. The heap is shared, so
 * glibc's choices about returning memory between runs (which the benchmark's
 * own process sees) do not show here: check a change's page faults with
 * the benchmark itself.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "seal_graph.h"

enum { MAXLIB = 4, MAXPAIRS = 200, WARM = 2 };

typedef struct lib {
    const char *path;
    bench_seal_api api;
    /* per counted round: registration, seal (10k, 100k), ms */
    double reg[2][MAXPAIRS], seal[2][MAXPAIRS], ratio[MAXPAIRS];
} lib;

static int load(lib *l, const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "di_seal_ab: %s\n", dlerror());
        return -1;
    }
    l->path = path;
    *(void **)&l->api.container_new = dlsym(h, "di_container_new");
    *(void **)&l->api.provide = dlsym(h, "di_provide");
    *(void **)&l->api.seal = dlsym(h, "di_container_seal");
    *(void **)&l->api.container_free = dlsym(h, "di_container_free");
    if (!l->api.container_new || !l->api.provide || !l->api.seal ||
        !l->api.container_free) {
        fprintf(stderr, "di_seal_ab: %s: not a libdi (missing symbols)\n",
                path);
        return -1;
    }
    return 0;
}

static double median(const double *v, int n)
{
    double t[MAXPAIRS], med, lo, hi;
    memcpy(t, v, (size_t)n * sizeof *t);
    bench_stats(t, n, &med, &lo, &hi);
    return med;
}

int main(int argc, char **argv)
{
    static lib libs[MAXLIB];
    int nlib = 0, pairs = 15;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
            pairs = atoi(argv[++i]);
        } else if (nlib < MAXLIB && argv[i][0] != '-') {
            if (load(&libs[nlib++], argv[i]))
                return 1;
        } else {
            nlib = 0;
            break;
        }
    }
    if (nlib < 1 || pairs < 1 || pairs > MAXPAIRS) {
        fprintf(stderr, "usage: di_seal_ab [--pairs 1..%d] LIBDI.so... "
                "(1 to %d libraries)\n", MAXPAIRS, MAXLIB);
        return 2;
    }
    const int sizes[2] = { 10000, 100000 };
    bench_graph g[2];
    for (int r = 0; r < pairs + WARM; r++)
        for (int l = 0; l < nlib; l++) {
            double total[2];
            for (int z = 0; z < 2; z++) {
                double seal;
                /* drawn afresh each run, as the benchmark does */
                bench_graph_make(&g[z], sizes[z]);
                total[z] = bench_seal_run(&libs[l].api, &g[z], &seal);
                bench_graph_free(&g[z]);
                if (total[z] < 0) {
                    fprintf(stderr, "di_seal_ab: %s: the seal of %d "
                            "providers failed\n", libs[l].path, sizes[z]);
                    return 1;
                }
                if (r >= WARM) {
                    libs[l].reg[z][r - WARM] = total[z] - seal;
                    libs[l].seal[z][r - WARM] = seal;
                }
            }
            if (r >= WARM)
                libs[l].ratio[r - WARM] = total[1] / total[0];
        }
    printf("%d rounds; medians in ms\n%-34s %8s %8s %8s %9s %9s %9s %8s %8s\n",
           pairs, "library", "reg10k", "seal10k", "10k", "reg100k",
           "seal100k", "100k", "ratio", "med.r");
    for (int l = 0; l < nlib; l++) {
        lib *b = &libs[l];
        double t[2][MAXPAIRS];
        for (int z = 0; z < 2; z++)
            for (int r = 0; r < pairs; r++)
                t[z][r] = b->reg[z][r] + b->seal[z][r];
        double m10 = median(t[0], pairs), m100 = median(t[1], pairs);
        printf("%-34s %8.3f %8.3f %8.3f %9.2f %9.2f %9.2f %8.2f %8.2f\n",
               b->path, median(b->reg[0], pairs), median(b->seal[0], pairs),
               m10, median(b->reg[1], pairs), median(b->seal[1], pairs), m100,
               m100 / m10, median(b->ratio, pairs));
    }
    return 0;
}
