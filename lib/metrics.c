/*
 * metrics.c — counters (see di/metrics.h). When enabled, this file's
 * tracer is the container's: every create and dispose of a scope that
 * traces comes through it, is timed and counted, and goes on to tracing's
 * own tracer when tracing is on too (c->trace_tracer), else to the
 * provider. Counters are relaxed atomics: readers see each one whole.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "di_int.h"

#include "fault.h" /* test builds: allocation failure injection */

typedef struct pm {
    _Atomic uint64_t creates, create_failures, disposes, dispose_failures;
    _Atomic uint64_t create_ns, le[DI_METRICS_BUCKETS];
} pm;

typedef struct lm {
    _Atomic uint64_t begun, settled, abandoned;
} lm;

struct di__metrics {
    pm *p;        /* by provider key, from seal */
    uint32_t np;
    lm *l;        /* by level */
    uint32_t nl;
};

static const uint64_t bound_ns[DI_METRICS_BUCKETS - 1] = {
    1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};
static const char *const bound_text[DI_METRICS_BUCKETS] = {
    "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "+Inf",
};

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define ADD(field, n) atomic_fetch_add_explicit(&(field), (n), \
                                                memory_order_relaxed)

static int m_create(di_scope *s, di__key prov, const di__frame *f,
                    const di_build *b, void **out)
{
    di_container *c = s->c;
    uint64_t t0 = now();
    int rc = c->trace_tracer ? c->trace_tracer->create(s, prov, f, b, out)
                             : di__prov(c, prov)->create(b, out);
    uint64_t ns = now() - t0;
    pm *m = &c->metrics->p[prov];
    ADD(m->creates, 1);
    if (rc < 0) {
        ADD(m->create_failures, 1);
        return rc;
    }
    ADD(m->create_ns, ns);
    unsigned i = 0; /* the first bucket that holds it (cumulated on read) */
    while (i < DI_METRICS_BUCKETS - 1 && ns > bound_ns[i])
        i++;
    ADD(m->le[i], 1);
    return rc;
}

static int m_dispose(di_container *c, di_scope *s, di__key prov,
                     const di_build *b, void *inst, int outcome)
{
    int rc = c->trace_tracer
                 ? c->trace_tracer->dispose(c, s, prov, b, inst, outcome)
                 : di__prov(c, prov)->dispose(b, inst, outcome);
    pm *m = &c->metrics->p[prov];
    ADD(m->disposes, 1);
    if (rc < 0)
        ADD(m->dispose_failures, 1);
    return rc;
}

static void m_begin(di_scope *s)
{
    ADD(s->c->metrics->l[s->level].begun, 1);
}

static void m_end(di_scope *s, int outcome)
{
    lm *m = &s->c->metrics->l[s->level];
    ADD(m->settled, 1);
    if (outcome == DI_EABANDONED)
        ADD(m->abandoned, 1);
    if (s->c->trace_tracer)
        s->c->trace_tracer->end(s, outcome);
}

static const di__tracer tracer = { m_create, m_dispose, m_end, m_begin };

void di__metrics_failed(di_container *c, di__key prov, bool dispose)
{
    if (!c->metrics || !c->metrics->p)
        return;
    pm *m = &c->metrics->p[prov];
    if (dispose)
        ADD(m->dispose_failures, 1);
    else
        ADD(m->create_failures, 1);
}

int di_metrics_enable(di_container *c)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_metrics_enable", "metrics"))
        return DI_ESEALED;
    if (!c->metrics &&
        !(c->metrics = talloc_zero(c, struct di__metrics)))
        return di__nomem(c, "di_metrics_enable", DI_ENOMEM);
    c->tracer = &tracer;
    c->trace_on = true;
    return 0;
}

int di__metrics_seal(di_container *c)
{
    struct di__metrics *m = c->metrics;
    m->np = c->nprov;
    m->nl = c->nlevels;
    m->p = talloc_zero_array(m, pm, m->np ? m->np : 1);
    m->l = talloc_zero_array(m, lm, m->nl ? m->nl : 1);
    return m->p && m->l ? 0 : DI_ENOMEM;
}

static int check(const di_container *c)
{
    if (!c || !c->metrics)
        return DI_EINVAL;
    return c->sealed ? 0 : DI_ENOTSEALED;
}

#define GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

static void provider_stats(const pm *m, di_provider_stats *o)
{
    *o = (di_provider_stats){ .creates = GET(m->creates),
                              .create_failures = GET(m->create_failures),
                              .disposes = GET(m->disposes),
                              .dispose_failures = GET(m->dispose_failures),
                              .create_ns = GET(m->create_ns) };
    uint64_t sum = 0;
    for (unsigned i = 0; i < DI_METRICS_BUCKETS; i++)
        o->le[i] = sum += GET(m->le[i]);
}

static void level_stats(const lm *m, di_level_stats *o)
{
    uint64_t settled = GET(m->settled), begun = GET(m->begun);
    *o = (di_level_stats){ .begun = begun, .settled = settled,
                           .abandoned = GET(m->abandoned),
                           .open = begun > settled ? begun - settled : 0 };
}

int di_metrics_provider(const di_container *c, const char *name,
                        di_provider_stats *out)
{
    int rc = check(c);
    if (rc || !name || !out)
        return rc ? rc : DI_EINVAL;
    di__key k = di__names_find(&c->pnames, name);
    if (k < 0)
        return DI_ENOTFOUND;
    provider_stats(&c->metrics->p[k], out);
    return 0;
}

int di_metrics_level(const di_container *c, const char *level,
                     di_level_stats *out)
{
    int rc = check(c);
    if (rc || !level || !out)
        return rc ? rc : DI_EINVAL;
    int l = di__level_find(c, level);
    if (l < 0)
        return DI_ENOTFOUND;
    level_stats(&c->metrics->l[l], out);
    return 0;
}

/* A label value as the text format wants it: \, " and newline escaped. */
static char *label(void *mem, const char *v)
{
    char *o = talloc_strdup(mem, "");
    for (; o && *v; v++)
        o = *v == '\\' ? talloc_strdup_append_buffer(o, "\\\\")
            : *v == '"' ? talloc_strdup_append_buffer(o, "\\\"")
            : *v == '\n' ? talloc_strdup_append_buffer(o, "\\n")
                         : talloc_strndup_append_buffer(o, v, 1);
    return o;
}

static char *family(char *o, const char *name, const char *type,
                    const char *help)
{
    return o ? talloc_asprintf_append_buffer(o, "# HELP %s %s\n# TYPE %s %s\n",
                                             name, help, name, type)
             : NULL;
}

int di_metrics_text(const di_container *c, void *mem, char **out)
{
    int rc = check(c);
    if (rc || !out)
        return rc ? rc : DI_EINVAL;
    *out = NULL;
    void *tmp = talloc_new(NULL);
    const struct di__metrics *m = c->metrics;
    di_provider_stats *ps = tmp ? talloc_array(tmp, di_provider_stats,
                                               m->np ? m->np : 1)
                                : NULL;
    char **pl = tmp ? talloc_array(tmp, char *, m->np ? m->np : 1) : NULL;
    char *o = ps && pl ? talloc_strdup(tmp, "") : NULL;
    for (uint32_t i = 0; o && i < m->np; i++) {
        provider_stats(&m->p[i], &ps[i]);
        if (!(pl[i] = label(tmp, di__prov(c, (di__key)i)->name)))
            o = NULL;
    }
    static const struct {
        const char *name, *help;
        size_t at;
    } counters[] = {
        { "di_creates_total", "Instances created, per provider.",
          offsetof(di_provider_stats, creates) },
        { "di_create_failures_total", "Creates that failed, per provider.",
          offsetof(di_provider_stats, create_failures) },
        { "di_disposes_total", "Disposes run, per provider.",
          offsetof(di_provider_stats, disposes) },
        { "di_dispose_failures_total", "Disposes that failed, per provider.",
          offsetof(di_provider_stats, dispose_failures) },
    };
    for (size_t k = 0; o && k < sizeof counters / sizeof counters[0]; k++) {
        o = family(o, counters[k].name, "counter", counters[k].help);
        for (uint32_t i = 0; o && i < m->np; i++)
            o = talloc_asprintf_append_buffer(
                o, "%s{provider=\"%s\"} %llu\n", counters[k].name, pl[i],
                (unsigned long long)*(const uint64_t *)((const char *)&ps[i] +
                                                        counters[k].at));
    }
    o = family(o, "di_create_seconds", "histogram",
               "Time in creates that succeeded, per provider.");
    for (uint32_t i = 0; o && i < m->np; i++) {
        for (unsigned b = 0; o && b < DI_METRICS_BUCKETS; b++)
            o = talloc_asprintf_append_buffer(
                o, "di_create_seconds_bucket{provider=\"%s\",le=\"%s\"} "
                "%llu\n", pl[i], bound_text[b],
                (unsigned long long)ps[i].le[b]);
        if (o)
            o = talloc_asprintf_append_buffer(
                o, "di_create_seconds_sum{provider=\"%s\"} %.9f\n"
                "di_create_seconds_count{provider=\"%s\"} %llu\n", pl[i],
                (double)ps[i].create_ns / 1e9, pl[i],
                (unsigned long long)ps[i].le[DI_METRICS_BUCKETS - 1]);
    }
    static const struct {
        const char *name, *type, *help;
        size_t at;
    } levels[] = {
        { "di_scopes_begun_total", "counter", "Scopes begun, per level.",
          offsetof(di_level_stats, begun) },
        { "di_scopes_settled_total", "counter",
          "Scopes settled (ended), per level.",
          offsetof(di_level_stats, settled) },
        { "di_scopes_abandoned_total", "counter",
          "Scopes settled as abandoned, per level.",
          offsetof(di_level_stats, abandoned) },
        { "di_scopes_open", "gauge", "Scopes begun and not settled, per level.",
          offsetof(di_level_stats, open) },
    };
    for (size_t k = 0; o && k < sizeof levels / sizeof levels[0]; k++) {
        o = family(o, levels[k].name, levels[k].type, levels[k].help);
        for (uint32_t l = 1; o && l < m->nl; l++) { /* not the root */
            di_level_stats st;
            level_stats(&m->l[l], &st);
            char *name = label(tmp, c->levels[l].name);
            o = name ? talloc_asprintf_append_buffer(
                           o, "%s{level=\"%s\"} %llu\n", levels[k].name, name,
                           (unsigned long long)*(const uint64_t *)(
                               (const char *)&st + levels[k].at))
                     : NULL;
        }
    }
    if (o && !(*out = talloc_steal(mem, o)))
        o = NULL;
    talloc_free(tmp);
    return o ? 0 : DI_ENOMEM;
}
