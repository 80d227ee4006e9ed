/*
 * test_failure.c — a create failing at any node of a graph leaves nothing
 * behind. In the helpers' 50-node graph of singletons, request instances
 * and transients, each node's create fails in turn while a consumer needing all
 * of them resolves; the request then ends with the failure as its outcome
 * and the container is freed. Every instance created before the failure is
 * disposed exactly once, in reverse creation order (per teardown stack),
 * with the failure outcome — singletons, which outlive the request, with
 * success when the container goes — and nothing leaks.
 */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

enum { N = T_GRAPH_N };
static const char *all[N + 1];

/* One event of the log. */
typedef struct ev {
    char kind;     /* '+', '-', '!', '|' */
    char name[16];
    int outcome;   /* disposes */
} ev;

static size_t parse(const char *log, ev *out, size_t max)
{
    size_t n = 0;
    while (*log && n < max) {
        ev *e = &out[n++];
        memset(e, 0, sizeof *e);
        e->kind = *log++;
        size_t i = 0;
        while (*log && *log != ' ' && *log != ':' && i < sizeof e->name - 1)
            e->name[i++] = *log++;
        if (*log == ':')
            e->outcome = (int)strtol(log + 1, (char **)&log, 10);
        while (*log == ' ')
            log++;
    }
    return n;
}

/* Within [from, to): the disposes are the creates of [0, to) that they name,
 * in reverse order; each with outcome want. Marks them disposed. */
static bool reverse_of_creates(const ev *e, size_t from, size_t to, int want,
                               int *disposed, int fail_node, int segment)
{
    size_t at = to;  /* scan creates backwards as disposes go forwards */
    bool ok = true;
    for (size_t i = from; i < to; i++) {
        if (e[i].kind != '-')
            continue;
        int node = atoi(e[i].name + 1);
        if (node == fail_node) {
            fprintf(stderr, "\n  fail at p%d: the failed node was disposed\n",
                    fail_node);
            ok = false;
        }
        disposed[node]++;
        if (e[i].outcome != want) {
            fprintf(stderr, "\n  fail at p%d, segment %d: %s with outcome %d, "
                    "not %d\n", fail_node, segment, e[i].name, e[i].outcome,
                    want);
            ok = false;
        }
        /* the latest create of a not yet disposed node before `at` */
        size_t j = at;
        while (j-- > 0)
            if (e[j].kind == '+' && strcmp(e[j].name, e[i].name) == 0)
                break;
        if (j >= at) {
            fprintf(stderr, "\n  fail at p%d: %s disposed out of order\n",
                    fail_node, e[i].name);
            ok = false;
        } else {
            at = j;
        }
    }
    return ok;
}

static void test_fail_each_node(void)
{
    t_graph_init();
    for (int i = 0; i < N; i++)
        all[i] = t_graph_names[i];
    all[N] = NULL;
    for (int k = 0; k < N; k++) {
        void *root;
        di_container *c = t_fixture(&root);
        tbeh beh[N];
        memset(beh, 0, sizeof beh);
        char msg[32];
        snprintf(msg, sizeof msg, "node %d is down", k);
        beh[k] = (tbeh){ .fail_code = -1000 - k, .fail_times = -1,
                         .msg = msg, .leak_on_fail = 1 };
        for (int i = 0; i < N; i++)
            T_OK(t_graph_provide(c, i, &beh[i]));
        T_OK(di_consumer_add(c, &(di_consumer_desc){ .name = "all",
                                                     .deps = all }));
        T_OK(di_container_seal(c));
        di_scope *s;
        void *out[N];
        T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
        int rc = di_resolve(s, "all", out, N);
        CU_ASSERT_EQUAL(rc, -1000 - k);
        const char *m = di_error_message(di_scope_error(s));
        char tail[48];
        snprintf(tail, sizeof tail, "p%d: node %d is down", k, k);
        size_t ml = strlen(m), tl = strlen(tail);
        if (ml < tl || strcmp(m + ml - tl, tail) != 0) {
            CU_FAIL("message");
            fprintf(stderr, "\n  fail at p%d: '%s'\n", k, m);
        }
        tlog_add("|end");
        CU_ASSERT_EQUAL(di_scope_end(s, rc), 0);
        tlog_add("|free");
        T_OK(di_container_free(c));
        CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
        talloc_free(root);

        static ev e[4096];
        size_t n = parse(tlog(), e, sizeof e / sizeof e[0]);
        CU_ASSERT(n < sizeof e / sizeof e[0]);
        CU_ASSERT(strlen(tlog()) < T_LOG_MAX - 1);
        size_t end = 0, fr = 0;
        int created[N] = { 0 }, disposed[N] = { 0 }; /* transients: many */
        for (size_t i = 0; i < n; i++) {
            if (e[i].kind == '|' && strcmp(e[i].name, "end") == 0)
                end = i;
            if (e[i].kind == '|' && strcmp(e[i].name, "free") == 0)
                fr = i;
            if (e[i].kind == '+')
                created[atoi(e[i].name + 1)]++;
        }
        CU_ASSERT_EQUAL(created[k], 0);
        /* unwound during resolution, ended with the request, freed with
         * the container */
        CU_ASSERT_TRUE(reverse_of_creates(e, 0, end, rc, disposed, k, 0));
        CU_ASSERT_TRUE(reverse_of_creates(e, end, fr, rc, disposed, k, 1));
        CU_ASSERT_TRUE(reverse_of_creates(e, fr, n, 0, disposed, k, 2));
        for (int i = 0; i < N; i++)
            if (created[i] != disposed[i]) {
                CU_FAIL("not disposed exactly once per create");
                fprintf(stderr, "\n  fail at p%d: p%d created %d disposed %d\n",
                        k, i, created[i], disposed[i]);
            }
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "a create failing at each of 50 nodes", test_fail_each_node },
        CU_TEST_INFO_NULL,
    };
    return t_run("failure", tests);
}
