/*
 * async.c — asynchronous providers and resolutions (include/di/async.h).
 *
 * A resolution (a job) walks its consumer's plan (the non-transient
 * providers it needs, dependencies first) and starts every create whose
 * dependencies exist, through the synchronous resolver: a create that
 * answers DI_PENDING is parked as a pending handle in the scope where its
 * instance will live, and what depends on it is skipped for now. When a
 * pending create finishes, its instance is recorded for teardown and each
 * job that waited walks its plan again: what exists is found at once, what
 * became ready is started. A job whose plan is all built resolves its
 * consumer's own dependencies (transients included) synchronously and is
 * called back. Everything runs on the scope's thread; nothing here locks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scope.h"

enum { CREATING, WAITING, DONE, FAILED, DETACHED, DISPOSING };

struct di_pending {
    struct di_pending *next;  /* in its home's list (WAITING) */
    di_scope *home;           /* where its instance will live (WAITING) */
    di_container *c;
    di__key prov;
    void *mem;                /* the instance's chunk: home's child, the
                                 handle's once detached */
    di__path *path;           /* to it, for errors (the handle's child) */
    int state;
    void *inst;               /* DONE inside its create */
    int code;                 /* FAILED inside its create */
    char *msg;                /* its message then (the handle's child) */
    di_cancel_fn cancel;
    void *cancel_arg;
    struct di__job **waiters; /* the jobs waiting for it (the handle's) */
    uint32_t nwaiters;
    void *timer;              /* its timeout's, while WAITING, or NULL */
    unsigned ms;              /* that timeout */
};

typedef struct di__job {
    struct di__job *next;     /* in its scope's list */
    di_scope *s;
    const di__consumer *cn;
    void **out;
    di_resolved_fn cb;
    void *arg;
    struct di_pending **waits;/* the pending creates it waits for
                                 (top-level) */
    uint32_t nwaits;
    bool running, again;
    bool on_stack;            /* di_resolve_async()'s, until it waits */
} di__job;

static int created(di_scope *s, di_scope *home, di__key pi, const di__frame *f,
                   void *mem, di__buildctx *bc, int rc, void **inst);
static void abandon(di_scope *s);
static int disposed(di_scope *s, di__key pi, di__buildctx *bc, int r);
static void dispose_finished(struct di_pending *p, int code, const char *msg);
static void timed_out(void *arg);
static const struct di__async_ops ops = { created, abandon, disposed };

/* s's asynchronous state, made if it has none; NULL when out of memory. */
static struct di__async *state_of(di_scope *s)
{
    if (!s->async && (s->async = talloc_zero(s, struct di__async)))
        s->async->ops = &ops;
    return s->async;
}

/* ---- marks (before seal) ---- */

static int mark(di_container *c, int which, const char *fn, const char *name)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, fn, name))
        return DI_ESEALED;
    if (!name || !di__valid_name(name, which == 0)) {
        di__reg_error(c, DI_EINVAL, "%s: a well-formed name is required", fn);
        return DI_EINVAL;
    }
    uint32_t n = c->nasync_marks[which];
    const char **v = talloc_realloc(c, c->async_marks[which], const char *,
                                    n + 1);
    if (!v)
        return di__nomem(c, fn, DI_ENOMEM);
    c->async_marks[which] = v;
    if (!(v[n] = talloc_strdup(v, name)))
        return di__nomem(c, fn, DI_ENOMEM);
    c->nasync_marks[which] = n + 1;
    return 0;
}

int di_async_provider(di_container *c, const char *name)
{
    return mark(c, 0, "di_async_provider", name);
}

int di_async_consumer(di_container *c, const char *name)
{
    return mark(c, 1, "di_async_consumer", name);
}

int di_async_timers(di_container *c, const di_timer_ops *timers)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_async_timers", NULL))
        return DI_ESEALED;
    if (!timers || !timers->start || !timers->stop) {
        di__reg_error(c, DI_EINVAL, "di_async_timers: start and stop are "
                      "required");
        return DI_EINVAL;
    }
    c->timers = *timers;
    return 0;
}

int di_async_timeout(di_container *c, const char *name, unsigned ms)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_async_timeout", name))
        return DI_ESEALED;
    if (!name || !di__valid_name(name, true) || !ms) {
        di__reg_error(c, DI_EINVAL, "di_async_timeout: a provider's name and "
                      "a limit of at least 1 ms are required");
        return DI_EINVAL;
    }
    struct di__timeout *t = talloc_realloc(c, c->timeouts, struct di__timeout,
                                           c->ntimeouts + 1);
    if (!t)
        return di__nomem(c, "di_async_timeout", DI_ENOMEM);
    c->timeouts = t;
    t[c->ntimeouts] = (struct di__timeout){ talloc_strdup(t, name), -1, ms };
    if (!t[c->ntimeouts].name)
        return di__nomem(c, "di_async_timeout", DI_ENOMEM);
    c->ntimeouts++;
    return 0;
}

/* Provider pi's timeout in ms, 0 for none. */
static unsigned timeout_of(const di_container *c, di__key pi)
{
    unsigned ms = 0;
    for (uint32_t i = 0; i < c->ntimeouts; i++)
        if (c->timeouts[i].key == pi)
            ms = c->timeouts[i].ms; /* the last one given */
    return ms;
}

/* Its timeout no longer matters. */
static void stop_timer(struct di_pending *p)
{
    if (p->timer) {
        p->c->timers.stop(p->c->timers.data, p->timer);
        p->timer = NULL;
    }
}

/* ---- waiting: jobs and pending creates ---- */

/* j waits for p (once). 0 or DI_ENOMEM. */
static int wait_on(di__job *j, struct di_pending *p)
{
    for (uint32_t i = 0; i < j->nwaits; i++)
        if (j->waits[i] == p)
            return 0;
    /* top-level: a job starts on the C stack (di_resolve_async) */
    struct di_pending **w = talloc_realloc(NULL, j->waits, struct di_pending *,
                                           j->nwaits + 1);
    if (!w)
        return DI_ENOMEM;
    j->waits = w;
    struct di__job **q = talloc_realloc(p, p->waiters, struct di__job *,
                                        p->nwaiters + 1);
    if (!q)
        return DI_ENOMEM;
    p->waiters = q;
    w[j->nwaits++] = p;
    q[p->nwaiters++] = j;
    return 0;
}

/* j no longer waits for p. */
static void unwait(di__job *j, struct di_pending *p)
{
    for (uint32_t i = 0; i < j->nwaits; i++)
        if (j->waits[i] == p) {
            j->waits[i] = j->waits[--j->nwaits];
            break;
        }
    for (uint32_t i = 0; i < p->nwaiters; i++)
        if (p->waiters[i] == j) {
            p->waiters[i] = p->waiters[--p->nwaiters];
            break;
        }
}

/* Take p off its home's list. */
static void unlink_pending(struct di_pending *p)
{
    struct di_pending **pp = &p->home->async->pendings;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    p->next = NULL;
}

/* Stop p, which nothing waits for: its cancel function, then its memory;
 * without one, detached (see async.h). */
static void cancel(struct di_pending *p)
{
    stop_timer(p);
    unlink_pending(p);
    p->home = NULL;
    if (p->cancel) {
        p->cancel(p, p->cancel_arg);
        talloc_free(p->mem);
        talloc_free(p);
        return;
    }
    p->state = DETACHED;
    talloc_steal(p, p->mem);
}

/* Job j ends with rc: it stops waiting (a failed one cancels the creates
 * it leaves pending that nothing else waits for), leaves its scope's list
 * and is freed. */
static void release(di__job *j, int rc)
{
    while (j->nwaits) {
        struct di_pending *p = j->waits[0];
        unwait(j, p);
        if (rc && !p->nwaiters && p->state == WAITING)
            cancel(p);
    }
    TALLOC_FREE(j->waits);
    di__job **jj = &j->s->async->jobs;
    while (*jj && *jj != j)
        jj = &(*jj)->next;
    if (*jj)
        *jj = j->next;
    if (!j->on_stack)
        talloc_free(j);
}

/* The end of job j with rc, called back. */
static void finish(di__job *j, int rc)
{
    di_scope *s = j->s;
    di_resolved_fn cb = j->cb;
    void *arg = j->arg;
    release(j, rc);
    cb(s, rc, arg);
}

/* The scope of level l that s sees (s or an ancestor), or NULL. */
static di_scope *home_of(di_scope *s, int16_t l)
{
    while (s && s->level != l)
        s = s->parent;
    return s;
}

static struct di_pending *pending_in(di_scope *h, di__key t)
{
    for (struct di_pending *p = h->async ? h->async->pendings : NULL; p;
         p = p->next)
        if (p->prov == t)
            return p;
    return NULL;
}

/* Does building p need one of the nb keys in blocked (pending, or waiting
 * for one), directly or through the transients it would build? */
static bool needs(const di_container *c, const di__provider *p,
                  const di__key *blocked, uint32_t nb)
{
    for (uint32_t k = 0; k < p->ndeps; k++) {
        di__key t = p->deps[k].target;
        if (t < 0)
            continue;
        const di__provider *q = di__prov(c, t);
        if (q->level == DI__TRANSIENT) {
            if (needs(c, q, blocked, nb))
                return true;
            continue;
        }
        for (uint32_t i = 0; i < nb; i++)
            if (blocked[i] == t)
                return true;
    }
    return false;
}

/* A walk along j's compiled plan (resolve.c), for a scope of the
 * consumer's level: what is pending in it flagged first (and waited for).
 * As walk(), or DI__FALLBACK when the general walk must do it. */
static int walk_compiled(di__job *j)
{
    di_scope *s = j->s;
    const di__prog *pg = j->cn->prog;
    uint8_t blocked[DI__PLAN_STEPS];
    memset(blocked, 0, pg->nsteps);
    for (struct di_pending *p = s->async->pendings; p; p = p->next)
        for (uint32_t i = 0; i < pg->nsteps; i++)
            if (pg->steps[i].prov == p->prov) {
                blocked[i] = 1;
                if (wait_on(j, p)) {
                    di__scope_fail(s, DI_ENOMEM, j->cn->name,
                                   "out of memory");
                    return DI_ENOMEM;
                }
            }
    struct di__async *a = s->async;
    di__job *was = a->running;
    a->running = j;
    int rc = di__walk_plan(s, pg, j->out, blocked);
    a->running = was;
    return rc == DI_PENDING && !j->nwaits ? DI__FALLBACK : rc;
}

/* One walk of j's plan: start what is ready. Returns DI_PENDING while j
 * waits, 0 when its consumer's dependencies are in j->out, or a failure
 * (its detail on the scope). */
static int walk(di__job *j)
{
    if (j->cn->prog && j->s->level == j->cn->level) {
        int rc = walk_compiled(j);
        if (rc != DI__FALLBACK)
            return rc;
    }
    di_scope *s = j->s;
    di_container *c = s->c;
    const di__consumer *cn = j->cn;
    di__key local[64], *blocked = local;
    uint32_t nb = 0;
    if (cn->nplan > 64 && !(blocked = talloc_array(NULL, di__key, cn->nplan))) {
        di__scope_fail(s, DI_ENOMEM, cn->name, "out of memory");
        return DI_ENOMEM;
    }
    struct di__async *a = s->async;
    di__job *was = a->running;
    a->running = j;
    int rc = 0;
    for (uint32_t k = 0; k < cn->nplan && !rc; k++) {
        di__key t = cn->plan[k];
        if (di__existing(s, t))
            continue;
        const di__provider *p = di__prov(c, t);
        if (p->kind == DI__CREATE && p->level > DI__ROOT) {
            di_scope *h = home_of(s, p->level);
            struct di_pending *q = h ? pending_in(h, t) : NULL;
            if (q || needs(c, p, blocked, nb)) {
                blocked[nb++] = t;
                if (q && wait_on(j, q))
                    rc = DI_ENOMEM;
                continue;
            }
        }
        void *v;
        di__dep d = { .target = t };
        a->starting = p;
        rc = di__resolve_dep(s, &d, cn->frames[k].up, &v);
        a->starting = NULL;
        if (rc == DI_PENDING) {
            blocked[nb++] = t;
            rc = 0;
        }
    }
    a->running = was;
    if (blocked != local)
        talloc_free(blocked);
    if (rc == DI_ENOMEM && !s->err)
        di__scope_fail(s, DI_ENOMEM, cn->name, "out of memory");
    if (rc || j->nwaits)
        return rc ? rc : DI_PENDING;
    for (uint32_t i = 0; i < cn->ndeps; i++)
        if ((rc = di__resolve_dep(s, &cn->deps[i], &cn->top, &j->out[i])))
            return rc;
    return 0;
}

/* Walk j again (after a create it waited for finished) until it waits or
 * is done; a walk asked for while one runs is made after it. */
static void go(di__job *j)
{
    if (j->running) {
        j->again = true;
        return;
    }
    int rc;
    do {
        j->again = false;
        j->running = true;
        rc = walk(j);
        j->running = false;
    } while (rc == DI_PENDING && j->again);
    if (rc != DI_PENDING)
        finish(j, rc);
}

/* A resolution that started on the C stack (*local) waits: move it, and
 * s's state if that is on the stack too (had: s had one before), to the
 * heap. DI_PENDING, or DI_ENOMEM (nothing moved). */
static int keep(di_scope *s, di__job *local, bool had)
{
    struct di__async *a = s->async;
    if (!had && !(a = talloc_memdup(s, s->async, sizeof *a)))
        goto nomem;
    di__job *j = talloc_memdup(s, local, sizeof *j);
    if (!j) {
        if (!had)
            talloc_free(a);
        goto nomem;
    }
    s->async = a;
    j->on_stack = false;
    for (uint32_t i = 0; i < j->nwaits; i++) { /* its waits point here now */
        struct di_pending *p = j->waits[i];
        for (uint32_t k = 0; k < p->nwaiters; k++)
            if (p->waiters[k] == local)
                p->waiters[k] = j;
    }
    local->waits = NULL;
    local->nwaits = 0;
    j->next = a->jobs;
    a->jobs = j;
    if (j->again)
        go(j); /* something it waited for finished meanwhile */
    return DI_PENDING;
nomem:
    di__scope_fail(s, DI_ENOMEM, local->cn->name, "out of memory");
    return DI_ENOMEM;
}

int di_resolve_async(di_scope *s, const char *consumer, void **out, size_t n,
                     di_resolved_fn cb, void *arg)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    di_container *c = s->c;
    int key = consumer ? di__names_find(&c->cnames, consumer) : -1;
    if (!consumer || !cb || (!out && n)) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_resolve_async: consumer and "
                       "cb must not be NULL, nor out when n is not 0");
        return DI_EINVAL;
    }
    if (key < 0) {
        di__scope_fail(s, DI_ENOTFOUND, consumer, "no consumer '%s'", consumer);
        return DI_ENOTFOUND;
    }
    const di__consumer *cn = &c->cons[key];
    if (n < cn->ndeps) {
        di__scope_fail(s, DI_EINVAL, cn->name, "di_resolve_async: out holds "
                       "%zu pointers, the consumer has %u dependencies", n,
                       cn->ndeps);
        return DI_EINVAL;
    }
    if (s->cur || !cn->async) /* nothing of it can be left pending */
        return di_resolve_key(s, key, out, n);
    if (!di__encloses(c, cn->level, s->level)) {
        di__scope_fail(s, DI_ESCOPE, cn->name, "'%s' runs in '%s' scopes, "
                       "asked from a '%s' scope", cn->name,
                       c->levels[cn->level].name, c->levels[s->level].name);
        return DI_ESCOPE;
    }
    /* the job, and the scope's state if it has none, start on the C
     * stack: a resolution that is ready at once allocates nothing; one
     * that waits moves them to the heap */
    struct di__async temp = { .ops = &ops };
    bool had = s->async != NULL;
    if (!had)
        s->async = &temp;
    di__job local = { .s = s, .cn = cn, .out = out, .cb = cb, .arg = arg,
                      .running = true, .on_stack = true };
    rc = walk(&local);
    local.running = false;
    if (rc == DI_PENDING)
        rc = keep(s, &local, had);
    if (rc != DI_PENDING) /* at once: no callback */
        release(&local, rc);
    if (!had && s->async == &temp) { /* nothing is left waiting in it */
        while (temp.pendings) /* (only when keeping them failed) */
            cancel(temp.pendings);
        s->async = NULL;
    }
    return rc;
}

/* ---- pending creates ---- */

struct di_pending di__pend_oom;

di_pending *di_pending_take(const di_build *b)
{
    di__buildctx *bc = b ? b->di__state : NULL;
    di_scope *s = b ? b->scope : NULL;
    if (!bc || !s)
        return NULL;
    if (bc->pending_create)
        return bc->pending_create == DI__PEND_OOM ? NULL : bc->pending_create;
    /* an asynchronous provider's create started by an asynchronous
     * resolution (not from inside another create), or its dispose run by
     * an asynchronous settle, may be left pending */
    struct di__async *a = s->async;
    if (!a)
        return NULL;
    if (a->disposing == bc) { /* a dispose: its provider, by name */
        int k = di__names_find(&s->c->pnames, b->name);
        if (k < 0 || !di__prov(s->c, k)->async)
            return NULL;
    } else if (bc->prev || !a->running || !a->starting ||
               a->starting->name != b->name || !a->starting->async) {
        return NULL; /* not the create of the plan entry being built */
    }
    /* on the instance's memory until it is left pending: a create that
     * took one and finished anyway leaves it there, freed with it */
    struct di_pending *p = talloc_zero(b->mem, struct di_pending);
    if (p)
        p->state = CREATING;
    bc->pending_create = p ? p : DI__PEND_OOM;
    return p;
}

void di_pending_on_cancel(di_pending *p, di_cancel_fn fn, void *arg)
{
    if (!p)
        return;
    p->cancel = fn;
    p->cancel_arg = arg;
}

/* resolve.c's hook: the create behind bc took a handle and returned rc. */
static int created(di_scope *s, di_scope *home, di__key pi, const di__frame *f,
                   void *mem, di__buildctx *bc, int rc, void **inst)
{
    struct di_pending *p = bc->pending_create;
    bc->pending_create = NULL;
    if (p == DI__PEND_OOM) { /* taking one failed: so does the create */
        if (rc != 0) {
            TALLOC_FREE(bc->msg);
            rc = DI_ENOMEM;
        }
        return rc;
    }
    if (rc != DI_PENDING || p->state == DONE || p->state == FAILED) {
        if (rc == DI_PENDING && p->state == DONE) { /* finished inside */
            *inst = p->inst;
            rc = 0;
        } else if (rc == DI_PENDING) {
            rc = p->code;
            talloc_free(bc->msg);
            bc->msg = p->msg ? talloc_steal(NULL, p->msg) : NULL;
        }
        talloc_free(p);
        return rc;
    }
    talloc_steal(NULL, p); /* it outlives the create's memory now */
    struct di__async *a = state_of(home);
    p->c = s->c;
    p->prov = pi;
    p->path = di__frame_path(p, f);
    unsigned ms = timeout_of(s->c, pi);
    if (!a || !p->path || wait_on(s->async->running, p) ||
        (ms && !(p->timer = s->c->timers.start(s->c->timers.data, ms,
                                                 timed_out, p)))) {
        /* cannot wait for it (out of memory, no timer): stopped as if
         * cancelled (detached, its memory with it, when it cannot be), and
         * the create fails */
        while (p->nwaiters)
            unwait(p->waiters[0], p);
        p->state = DETACHED;
        p->mem = talloc_steal(p, mem);
        if (p->cancel) {
            p->cancel(p, p->cancel_arg);
            talloc_free(p);
        }
        return DI__MEM_KEPT;
    }
    p->ms = ms;
    p->state = WAITING;
    p->home = home;
    p->mem = mem;
    p->next = a->pendings;
    a->pendings = p;
    return DI_PENDING;
}

/* p failed with code and msg: every job waiting for it fails with them at
 * its path, one at a time (a callback may end a scope, whose other jobs
 * then stop waiting); p, marked failed, is not cancelled by them. */
static void fail_each_waiter(struct di_pending *p, int code, const char *msg)
{
    p->state = FAILED;
    while (p->nwaiters) {
        di__job *j = p->waiters[0];
        unwait(j, p);
        if (p->path)
            di__scope_fail_path(j->s, code, p->path, "%s", msg);
        else
            di__scope_fail(j->s, code, NULL, "%s", msg);
        finish(j, code);
    }
}

/* The same, and p is gone after it. */
static void fail_waiters(struct di_pending *p, int code, const char *msg)
{
    fail_each_waiter(p, code, msg);
    talloc_free(p);
}

/* An instance delivered to a detached handle: disposed at once. */
static void dispose_late(struct di_pending *p, void *inst)
{
    const di__provider *pr = di__prov(p->c, p->prov);
    if (pr->dispose) {
        di__entry e = { p->prov, 0, inst ? inst : DI__NULLINST, p->mem };
        di__stack one = { &e, 1, 1 };
        di__dispose_range(p->c, NULL, &one, 0, DI_EABANDONED, NULL);
    }
    talloc_free(p);
}

int di_pending_done(di_pending *p, void *inst)
{
    if (!p)
        return DI_EINVAL;
    if (p->state == CREATING) {
        p->state = DONE;
        p->inst = inst;
        return 0;
    }
    if (p->state == DETACHED) {
        dispose_late(p, inst);
        return 0;
    }
    if (p->state == DISPOSING) {
        dispose_finished(p, 0, NULL);
        return 0;
    }
    if (p->state != WAITING)
        return DI_EINVAL;
    di_scope *h = p->home;
    stop_timer(p);
    unlink_pending(p);
    const di__provider *pr = di__prov(h->c, p->prov);
    void *stored = inst ? inst : DI__NULLINST;
    p->home = NULL;
    if (di__stack_push(h, &h->stack, p->prov, h->stack.n, stored, p->mem)) {
        /* not recorded: disposed at once as abandoned; the waiters fail */
        p->mem = talloc_steal(p, p->mem);
        p->state = FAILED;
        while (p->nwaiters) {
            di__job *j = p->waiters[0];
            unwait(j, p);
            di__scope_fail(j->s, DI_ENOMEM, pr->name, "out of memory");
            finish(j, DI_ENOMEM);
        }
        dispose_late(p, inst);
        return DI_ENOMEM;
    }
    di__tab_note(h);
    h->bytes += (uint32_t)pr->size;
    if (pr->dispose)
        h->disposes = 1;
    /* the waiters go on, one at a time: a callback may end a scope, whose
     * other jobs then stop waiting */
    p->state = DONE;
    while (p->nwaiters) {
        di__job *j = p->waiters[0];
        unwait(j, p);
        go(j);
    }
    talloc_free(p);
    return 0;
}

int di_pending_fail(di_pending *p, int code, const char *fmt, ...)
{
    if (code >= 0)
        code = DI_EPROVIDER;
    if (!p)
        return code;
    char *msg = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        msg = talloc_vasprintf(p, fmt, ap);
        va_end(ap);
    }
    switch (p->state) {
    case CREATING:
        p->state = FAILED;
        p->code = code;
        p->msg = msg;
        return code;
    case DETACHED:
        talloc_free(p);
        return code;
    case DISPOSING: {
        di__metrics_failed(p->c, p->prov, true);
        char buf[64];
        if (!msg)
            snprintf(buf, sizeof buf, "dispose failed: %s", di_strerror(code));
        dispose_finished(p, code, msg ? msg : buf); /* frees msg with p */
        return code;
    }
    case WAITING:
        break;
    default:
        return code;
    }
    stop_timer(p);
    unlink_pending(p);
    talloc_free(p->mem);
    p->mem = NULL;
    di__metrics_failed(p->c, p->prov, false);
    char buf[64];
    if (!msg) {
        snprintf(buf, sizeof buf, "create failed: %s", di_strerror(code));
        msg = buf;
    }
    fail_waiters(p, code, msg);
    return code;
}

/* A pending create's timer fired: it leaves its scope (its memory with
 * it: a callback may end that scope), what waited for it fails with
 * DI_ETIMEDOUT at its path (one at a time, as fail_waiters), then it is
 * stopped as a cancel does (its cancel function, or detached). */
static void timed_out(void *arg)
{
    struct di_pending *p = arg;
    p->timer = NULL;
    char msg[DI_NAME_MAX + 64];
    snprintf(msg, sizeof msg, "'%s' gave no answer within %u ms",
             di__prov(p->c, p->prov)->name, p->ms);
    unlink_pending(p);
    p->home = NULL;
    p->mem = talloc_steal(p, p->mem);
    di__metrics_failed(p->c, p->prov, false);
    fail_each_waiter(p, DI_ETIMEDOUT, msg);
    if (p->cancel) {
        p->cancel(p, p->cancel_arg);
        talloc_free(p); /* and its memory */
    } else {
        p->state = DETACHED;
    }
}

/* ---- asynchronous settle ---- */

/* scope.c's hook: the dispose behind bc took a handle and returned r. */
static int disposed(di_scope *s, di__key pi, di__buildctx *bc, int r)
{
    struct di_pending *p = bc->pending_create;
    bc->pending_create = NULL;
    if (p == DI__PEND_OOM)
        return r ? DI_ENOMEM : 0;
    if (r != DI_PENDING || p->state == DONE || p->state == FAILED) {
        if (r == DI_PENDING && p->state == DONE)
            r = 0;
        else if (r == DI_PENDING) {
            r = p->code;
            talloc_free(bc->msg);
            bc->msg = p->msg ? talloc_steal(NULL, p->msg) : NULL;
        }
        talloc_free(p);
        return r;
    }
    p->state = DISPOSING; /* on the instance's memory, freed with the scope */
    p->home = s;
    p->c = s->c;
    p->prov = pi;
    return DI_PENDING;
}

/* Run s's disposes on from where its asynchronous settle is; when all ran,
 * close the settle and, if it had answered DI_PENDING, call back. Returns
 * DI_PENDING while a dispose is pending, else the settle's result. */
static int settle_go(di_scope *s)
{
    struct di__async *a = s->async;
    if (s->disposes) {
        int r = di__dispose_range(s->c, s, &s->stack, 0, a->outcome,
                                  &a->fails);
        if (r == DI_PENDING)
            return r;
        a->settle_rc |= r;
        s->stack.n = a->held; /* readable until freed, as after a settle */
    }
    int rc = a->settle_rc ? DI_EDISPOSE : 0;
    a->settling = false;
    s->busy--;
    di__settle_close(s, a->outcome, rc, &a->fails);
    a->fails = (di__errlist){ 0 };
    if (a->later)
        a->settled(s, rc, a->settled_arg);
    return rc;
}

int di_scope_settle_async(di_scope *s, int outcome, di_resolved_fn cb,
                          void *arg)
{
    int rc = di__settle_check(s, "di_scope_settle_async");
    if (rc)
        return rc;
    if (!cb) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_scope_settle_async: cb must "
                       "not be NULL");
        return DI_EINVAL;
    }
    struct di__async *a = state_of(s);
    if (!a) /* no room to wait: every dispose runs now */
        return di_scope_settle(s, outcome);
    a->fails = (di__errlist){ 0 };
    a->settle_rc = di__settle_open(s, &a->fails);
    a->settling = true;
    a->later = false;
    a->outcome = outcome;
    a->held = s->stack.n;
    a->settled = cb;
    a->settled_arg = arg;
    s->busy++; /* until it is settled: not ended nor freed meanwhile */
    rc = settle_go(s);
    if (rc == DI_PENDING)
        a->later = true;
    return rc;
}

/* A pending dispose finished (failed with code and msg, or not: code 0). */
static void dispose_finished(struct di_pending *p, int code, const char *msg)
{
    di_scope *s = p->home;
    struct di__async *a = s->async;
    if (code) {
        const char *name = di__prov(p->c, p->prov)->name;
        di__err_add(&a->fails, code, name, "%s", msg); /* else "out of
                                                          memory" is kept */
        a->settle_rc = DI_EDISPOSE;
    }
    talloc_free(p);
    settle_go(s);
}

/* scope.c's hook: s settles. */
static void abandon(di_scope *s)
{
    struct di__async *a = s->async;
    while (a->jobs) {
        di__job *j = a->jobs;
        di__scope_fail(s, DI_EABANDONED, j->cn->name, "the scope ended while "
                       "'%s' was being resolved", j->cn->name);
        finish(j, DI_EABANDONED);
    }
    while (a->pendings) {
        struct di_pending *p = a->pendings;
        while (p->nwaiters) { /* a child scope's job: ended before */
            di__job *j = p->waiters[0];
            unwait(j, p);
        }
        cancel(p);
    }
}
