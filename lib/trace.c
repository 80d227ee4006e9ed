/*
 * trace.c — resolution tracing (see di/trace.h). The request path calls in
 * here only when a scope traces; a scope's records live in one talloc array
 * under the scope and die with its instances.
 */
#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

#include "scope.h"

typedef struct di__trec {
    di__key prov;
    int16_t level;
    int rc;
    char *path;
    uint64_t create_ns;
    int64_t dispose_ns;  /* -1: not disposed (yet) */
    const void *mem;     /* the instance's memory: matches its dispose */
} di__trec;

typedef struct di__tlog {
    di__trec *r;
    uint32_t n, cap;
} di__tlog;

/* The scope whose end is being reported on this thread: di_scope_trace()
 * still answers for it although it has ended. */
static _Thread_local const di_scope *ending DI__TLS;

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *level_name(const di_container *c, int l)
{
    return l >= 0 ? c->levels[l].name : l == DI__TRANSIENT ? "transient" : "?";
}

static void hook(di_container *c, int what, const di_scope *s, di__key prov,
                 const char *level, const char *path, uint64_t ns, int rc)
{
    if (!c->trace_fn)
        return;
    di_trace_event ev = { .what = what, .scope = s,
                          .provider = prov >= 0 ? di__prov(c, prov)->name : NULL,
                          .level = level, .path = path, .ns = ns, .rc = rc };
    c->trace_fn(&ev, c->trace_data);
}

/* A record for s, or NULL when memory is short (tracing never fails a
 * request: the record is dropped). */
static di__trec *record(di_scope *s)
{
    di__tlog *t = s->trace;
    if (!t && !(t = s->trace = talloc_zero(s, di__tlog)))
        return NULL;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 16;
        di__trec *r = talloc_realloc(t, t->r, di__trec, cap);
        if (!r)
            return NULL;
        t->r = r;
        t->cap = cap;
    }
    return &t->r[t->n++];
}

static int traced_create(di_scope *s, di__key prov, const di__frame *f,
                      const di_build *b, void **out)
{
    di_container *c = s->c;
    if (s->asker) /* a singleton built for a request: the request's trace */
        s = s->asker;
    uint64_t t0 = now();
    int rc = di__prov(c, prov)->create(b, out);
    uint64_t ns = now() - t0;
    int16_t l = di__prov(c, prov)->level;
    char *path = di__path_str(f);
    hook(c, DI_TRACE_CREATE, s, prov, level_name(c, l), path, ns, rc);
    di__trec *r = path ? record(s) : NULL;
    if (!r) {
        talloc_free(path);
        return rc;
    }
    *r = (di__trec){ .prov = prov, .level = l, .rc = rc,
                     .path = talloc_steal(s->trace, path), .create_ns = ns,
                     .dispose_ns = -1, .mem = rc ? NULL : b->mem };
    return rc;
}

static int traced_dispose(di_container *c, di_scope *s, di__key prov,
                       const di_build *b, void *inst, int outcome)
{
    uint64_t t0 = now();
    int rc = di__prov(c, prov)->dispose(b, inst, outcome);
    uint64_t ns = now() - t0;
    hook(c, DI_TRACE_DISPOSE, s, prov, level_name(c, di__prov(c, prov)->level),
         NULL, ns, rc);
    di__tlog *t = s ? s->trace : NULL;
    for (uint32_t i = t ? t->n : 0; i-- > 0;)
        if (t->r[i].mem == b->mem) {
            t->r[i].dispose_ns = (int64_t)ns;
            t->r[i].mem = NULL;
            break;
        }
    return rc;
}

static void trace_end(di_scope *s, int outcome)
{
    (void)outcome;
    const di_scope *was = ending;
    ending = s;
    hook(s->c, DI_TRACE_SCOPE_END, s, -1, s->c->levels[s->level].name, NULL,
         0, 0);
    ending = was;
}

int di_trace_enable(di_container *c, di_trace_fn fn, void *data)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_trace_enable", "tracing"))
        return DI_ESEALED;
    static const di__tracer tracer = { traced_create, traced_dispose,
                                       trace_end, NULL };
    c->trace_tracer = &tracer;
    if (!c->tracer) /* else metrics' tracer, which calls this one */
        c->tracer = &tracer;
    c->trace_on = true;
    c->trace_fn = fn;
    c->trace_data = data;
    return 0;
}

static char *as_json(const di_scope *s, void *tmp)
{
    const di_container *c = s->c;
    const di__tlog *t = s->trace;
    cJSON *root = cJSON_CreateObject(), *builds;
    bool ok = root &&
              di__json_add(root, "level",
                           cJSON_CreateString(c->levels[s->level].name)) &&
              (builds = di__json_add(root, "builds", cJSON_CreateArray()));
    for (uint32_t i = 0; ok && t && i < t->n; i++) {
        const di__trec *r = &t->r[i];
        cJSON *o = di__json_add(builds, NULL, cJSON_CreateObject());
        ok = o &&
             di__json_add(o, "provider",
                          cJSON_CreateString(di__prov(c, r->prov)->name)) &&
             di__json_add(o, "level",
                          cJSON_CreateString(level_name(c, r->level))) &&
             di__json_add(o, "path", cJSON_CreateString(r->path)) &&
             di__json_add(o, "create_ns",
                          cJSON_CreateNumber((double)r->create_ns)) &&
             di__json_add(o, "dispose_ns",
                          r->dispose_ns < 0
                              ? cJSON_CreateNull()
                              : cJSON_CreateNumber((double)r->dispose_ns)) &&
             di__json_add(o, "error", r->rc ? cJSON_CreateString(
                                                  di_strerror(r->rc))
                                            : cJSON_CreateNull());
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    char *out = text ? talloc_strdup(tmp, text) : NULL;
    cJSON_free(text);
    cJSON_Delete(root);
    return out;
}

int di_scope_trace(const di_scope *s, void *mem, char **out)
{
    if (out)
        *out = NULL;
    if (!s)
        return DI_EINVAL;
    if (s != ending) {
        int rc = di__check_scope_read(s);
        if (rc)
            return rc;
    }
    di_scope *w = (di_scope *)s; /* errors are reported on it */
    if (!out || !s->tracing || !s->c->trace_tracer) {
        if (s != ending)
            di__scope_fail(w, DI_EINVAL, NULL, "di_scope_trace: %s",
                           !out ? "out must not be NULL"
                                : "tracing is off (di_trace_enable, before "
                                  "seal)");
        return DI_EINVAL;
    }
    char *json = as_json(s, NULL);
    if (!json) {
        if (s != ending)
            di__scope_fail(w, DI_ENOMEM, NULL, "di_scope_trace: out of memory");
        return DI_ENOMEM;
    }
    *out = talloc_steal(mem, json);
    return 0;
}
