/*
 * helpers.h — shared fixtures for libdi's CUnit suites: a recording
 * provider whose behaviour is set per test, an event log, and a runner.
 */
#ifndef DI_TEST_HELPERS_H
#define DI_TEST_HELPERS_H

#include <CUnit/Basic.h>
#include <stdbool.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

/* The event log: "+name" for a create, "-name:outcome" for a dispose,
 * space-separated. Guarded by a mutex (threads append too). */
#define T_LOG_MAX 16384 /* bytes of log kept; more is cut */
void tlog_reset(void);
void tlog_add(const char *fmt, ...) DI_PRINTF(1, 2);
const char *tlog(void);

/* How a test provider behaves; pass one as desc.data (NULL: defaults). */
typedef struct tbeh {
    int fail_code;     /* create returns this (with a message) ... */
    int fail_times;    /* ... this many times (-1: always) */
    const char *msg;   /* di_fail message, NULL: none */
    int dispose_fail;  /* dispose returns this */
    int creates;       /* counted (atomically) */
    int disposes;
    int leak_on_fail;  /* allocate on b->mem before failing */
    int sleep_ms;      /* create sleeps this long first */
} tbeh;

/* What a test provider builds. */
typedef struct tinst {
    const char *name;
    int serial;        /* global creation counter */
    void *deps[8];
    size_t ndeps;
} tinst;

int t_create(const di_build *b, void **out);
int t_dispose(const di_build *b, void *inst, int outcome);

/* Register a recording provider; deps: NULL-terminated list of names. */
int t_provide(di_container *c, const char *name, const char *lifetime,
              tbeh *beh, ...);
int t_provide_typed(di_container *c, const char *name, const char *type,
                    const char *lifetime, tbeh *beh, ...);
int t_consumer(di_container *c, const char *name, const char *level, ...);

/* A 50-provider graph of mixed lifetimes: p0..p9 singletons, p10..p29 per
 * request, p30..p39 transients, p40..p49 per request; each depends on up
 * to three earlier providers (singletons on singletons only). */
#define T_GRAPH_N 50
extern char t_graph_names[T_GRAPH_N][8];
extern const char *t_graph_deps[T_GRAPH_N][4]; /* NULL-terminated */
const char *t_graph_lifetime(int i);
/* Fill t_graph_names and t_graph_deps (idempotent). */
void t_graph_init(void);
/* Register provider i of it with behaviour beh (NULL: defaults). */
int t_graph_provide(di_container *c, int i, tbeh *beh);

/* Does the last container/scope error equal this message? Prints both. */
bool t_msg_is(const di_error *e, const char *want);
/* Is want among the messages of the error list? */
bool t_list_has(const di_error *e, const char *want);

/* A fresh container under a fresh talloc root, the log reset ... */
di_container *t_fixture(void **root);
/* ... and its end: freeing the container must succeed and leave the root
 * with no block but its own. */
void t_fixture_done(di_container *c, void *root);
/* A new top-level "request" scope of c (the test stops if it cannot). */
di_scope *t_request(di_container *c);

/* Run the suite; returns the process exit status. */
int t_run(const char *suite, CU_TestInfo *tests);
/* The same with suite set-up and clean-up functions (their failure fails
 * the run). */
int t_run_with(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
               CU_TestInfo *tests);

/* The conninfo tests/pg.sh wrote to dir/pg.conninfo, into out: 0, or -1
 * after printing a SKIP line (no server). */
int t_pg_conninfo(const char *dir, char *out, size_t n);

#define T_OK(expr) CU_ASSERT_EQUAL_FATAL((expr), 0)

#endif
