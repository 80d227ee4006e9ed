/*
 * resolve.c — lazy resolution: finding the scope of a provider's level,
 * building instances with their dependencies first, caching them there,
 * creating each singleton exactly once across threads, and unwinding what a
 * failed build made.
 *
 * Paths for errors are kept as a chain of frames on the C stack and only
 * turned into strings when something fails.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scope.h"

#define UNWRAP(v) ((v) == DI__NULLINST ? NULL : (v))


static int fail(di_scope *s, int code, const di__frame *f, const char *fmt, ...)
    DI_PRINTF(4, 5);


static int fail(di_scope *s, int code, const di__frame *f, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    di__path *path = di__frame_path(NULL, f);
    if (path)
        di__scope_fail_path(s, code, path, "%s", buf);
    else
        di__scope_fail(s, DI_ENOMEM, NULL, "out of memory");
    talloc_free(path);
    return code;
}


static int ensure(di_scope *s, di__key pi, const di__frame *up, void **out);

/* The instance a create chain on s builds for, when it asks: the nearest
 * create running that is not a transient's (its name), or NULL when only
 * transients run down to the scope itself (a consumer or a di_get()). */
static const char *owner_of(const di_scope *s)
{
    for (const di__buildctx *bc = s->cur; bc; bc = bc->prev) {
        int k = di__names_find(&s->c->pnames, bc->frame->name);
        if (k >= 0 && di__prov(s->c, k)->level != DI__TRANSIENT)
            return bc->frame->name;
    }
    return NULL;
}

/* An instance living at level `at` asked for provider q, which lives at a
 * level that does not enclose it: refused as seal refuses the same edge
 * declared. owner: the instance that would keep q (a provider's name), or
 * NULL when only transients stand between q and the scope that asked (a
 * consumer running there): then the scope cannot see q's level. up: the
 * path to the asker. Out of the hot path. */
__attribute__((noinline, cold)) static int
misplaced(di_scope *s, const char *owner, int at, int32_t q,
          const di__frame *up)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, q);
    di__frame f = { up, p->name };
    if (owner && di__encloses(c, at, p->level))
        return fail(s, DI_ECAPTIVE, &f, "captive dependency: '%s' lives in "
                    "'%s' and would keep '%s' from '%s' alive past its scope",
                    owner, c->levels[at].name, p->name,
                    c->levels[p->level].name);
    return fail(s, DI_ESCOPE, &f, "level '%s' cannot see level '%s' of '%s'",
                c->levels[at].name, c->levels[p->level].name, p->name);
}

/* Undo a failed build on st (home's stack, or a root build's pending one):
 * dispose (with the failure) and free the transients made for it,
 * top-down; keep every cached instance and what it owns. */
static void unwind(di_scope *s, di_scope *home, di__stack *st, uint32_t mark,
                   int code)
{
    di_container *c = s->c;
    bool any = false;
    for (uint32_t i = st->n; i-- > mark;) {
        di__entry *e = &st->e[i];
        if (di__prov(c, e->prov)->level != DI__TRANSIENT) {
            i = e->mark; /* keep its whole block */
            continue;
        }
        di__stack one = { e, 1, 1 };
        di__dispose_range(c, s, &one, 0, code, NULL);
        talloc_free(e->mem);
        e->prov = -1;
        any = true;
    }
    if (!any)
        return;
    /* compact; a kept block holds no removed entry, so its start moves
     * down by as much as its end */
    uint32_t w = mark;
    for (uint32_t i = mark; i < st->n; i++)
        if (st->e[i].prov >= 0) {
            st->e[i].mark -= i - w;
            st->e[w++] = st->e[i];
        }
    st->n = w;
    if (home) /* what it holds moved down */
        di__tab_rebuild(home);
}

/* Tracing's create, out of the way of the untraced path. */
__attribute__((noinline, cold)) static int traced_create(
    di_container *c, di_scope *s, di__key prov, const di__frame *f,
    const di_build *b, void **out)
{
    return c->tracer->create(s, prov, f, b, out);
}

/* A create that failed with rc: free its memory, put the error on s with
 * the path f (unless the create passed on the failure of something it
 * resolved, whose error has the longer path), return the code. Out of the
 * hot path. */
__attribute__((noinline, cold)) static int
create_failed(di_scope *s, void *mem, char *msg, int rc, const di__frame *f,
              const struct di_error *err_before)
{
    bool pend = rc == DI_PENDING;
    if (rc > 0)
        rc = DI_EPROVIDER;
    talloc_free(mem);
    if (pend && !msg)
        fail(s, rc, f, "the create answered DI_PENDING, but it can finish "
             "later only as an asynchronous provider (di_async_provider) "
             "resolved with di_resolve_async(), having taken a handle with "
             "di_pending_take()");
    else if (msg)
        fail(s, rc, f, "%s", msg);
    else if (s->err == err_before || di_error_code(s->err) != rc)
        fail(s, rc, f, "create failed: %s", di_strerror(rc));
    talloc_free(msg);
    return rc;
}

/* A built instance that could not be recorded for teardown (out of
 * memory): dispose it at once with that failure and free it. */
__attribute__((noinline, cold)) static int
create_unrecorded(di_scope *s, di__key pi, uint32_t mark, void *stored,
                  void *mem, const di__frame *f)
{
    di__entry e = { pi, mark, stored, mem };
    di__stack one = { &e, 1, 1 };
    di__dispose_range(s->c, s, &one, 0, DI_ENOMEM, NULL);
    talloc_free(mem);
    return fail(s, DI_ENOMEM, f, "out of memory");
}

/* An instance's memory: p->size zeroed bytes named after p, under ctx.
 * Sizes from 8 to 64 bytes (most instances: a few pointers) are zeroed
 * with two to four overlapping stores instead of a call to memset. */
static inline __attribute__((always_inline)) void *
instance_mem(const void *ctx, const di__provider *p)
{
    size_t n = p->size;
    char *m = talloc_named_const(ctx, n, p->name);
    if (__builtin_expect(!m, 0))
        return NULL;
    if (n - 8 <= 64 - 8) {
        if (n < 16) {
            memset(m, 0, 8);
            memset(m + n - 8, 0, 8);
        } else {
            memset(m, 0, 16);
            memset(m + n - 16, 0, 16);
            if (n > 32) {
                memset(m + 16, 0, 16);
                memset(m + n - 32, 0, 16);
            }
        }
    } else if (n) {
        memset(m, 0, n);
    }
    return m;
}

/* Create provider p (key pi; its dependencies dv are resolved) into home (a
 * scope) or, for the root, home NULL; record it on st (home's stack, or the
 * root build's pending one) for teardown (and home's table: scope.h).
 * mark: the stack height when its build began. On failure the error is on
 * s, with the path f. (A compiled plan's steps take plan_create().) */
static int create_one(di_scope *s, di_scope *home, di__stack *st,
                      const di__provider *p, di__key pi, const di__frame *f,
                      void *const *dv, uint32_t mark, void **out)
{
    di_container *c = s->c;
    void *mem = instance_mem(home, p);
    if (!mem)
        return fail(s, DI_ENOMEM, f, "out of memory");
    di__buildctx bc = { .prev = s->cur, .frame = f, .home = home,
                        .pending = home ? NULL : st, .msg = NULL };
    di_build b = { .mem = mem, .deps = dv, .ndeps = p->ndeps, .data = p->data,
                   .name = p->name, .scope = s, .di__state = &bc,
                   .params = p->params };
    void *inst = NULL;
    const struct di_error *err_before = s->err;
    di_container *calling = di__calling;
    di__calling = c;
    s->open_keys = 0;
    s->cur = &bc;
    /* a child scope's create building into its parent keeps it busy */
    di_scope *away = home == s ? NULL : home;
    if (away)
        away->busy++;
    int rc = __builtin_expect(s->tracing, 0)
                 ? traced_create(c, s, pi, f, &b, &inst)
                 : p->create(&b, &inst);
    if (away)
        away->busy--;
    s->cur = bc.prev;
    if (!bc.prev)
        s->open_keys = c->nprov;
    di__calling = calling;
    if (__builtin_expect(rc != 0, 0)) {
        /* DI_PENDING, or a failure, after taking a pending handle */
        if (bc.pending_create) {
            rc = s->async->ops->created(s, home, pi, f, mem, &bc, rc, &inst);
            if (rc == DI_PENDING)
                return rc;
            if (rc == DI__MEM_KEPT) { /* failed; the handle keeps mem */
                mem = NULL;
                rc = DI_ENOMEM;
            }
        }
        if (rc)
            return create_failed(s, mem, bc.msg, rc, f, err_before);
    }
    if (__builtin_expect(bc.msg != NULL, 0)) /* di_fail(), then success */
        talloc_free(bc.msg);
    void *stored = inst ? inst : DI__NULLINST;
    bool cached = home && p->level != DI__TRANSIENT;
    if (__builtin_expect(di__stack_push(home, st, pi, mark, stored, mem), 0))
        return create_unrecorded(s, pi, mark, stored, mem, f);
    if (home) {
        if (cached)
            di__tab_note(home);
        home->bytes += (uint32_t)p->size;
        if (p->dispose)
            home->disposes = 1;
    }
    *out = inst;
    return 0;
}

/* Build provider pi into home (a scope) or, for the root, onto pending:
 * its dependencies first (recursively), then the instance. */
static int build(di_scope *s, di_scope *home, di__stack *pending, di__key pi,
                 const di__frame *up, void **out)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, pi);
    di__frame f = { up, p->name };
    di__stack *st = home ? &home->stack : pending;
    uint32_t mark = st->n;
    void *local[DI__PLAN_DEPS], **dv = local;
    int rc = 0;
    /* the instance lives at home's level, a transient too: what it keeps
     * must live at least as long (seal checks the edges it can see; an
     * instance asked for from a create is checked here) */
    int16_t at = home ? home->level : DI__ROOT;
    uint64_t outlives = c->levels[at].ancestors;
    if (p->ndeps > DI__PLAN_DEPS &&
        !(dv = talloc_array(NULL, void *, p->ndeps)))
        return fail(s, DI_ENOMEM, &f, "out of memory");
    for (uint32_t k = 0; k < p->ndeps; k++) {
        int32_t x = p->deps[k].src;
        void *v;
        if (x < 0) { /* a value, a singleton, a missing optional one */
            v = atomic_load_explicit(&s->known[-1 - x], memory_order_acquire);
            if (v)
                dv[k] = UNWRAP(v);
            else /* a singleton's first use */
                rc = ensure(s, -1 - x, &f, &dv[k]);
        } else if (s->fast[x].level == DI__TRANSIENT) {
            rc = build(s, home, pending, x, &f, &dv[k]);
        } else if (__builtin_expect(!((outlives >> s->fast[x].level) & 1), 0)) {
            rc = misplaced(s, p->level == DI__TRANSIENT ? owner_of(s)
                                                         : p->name,
                           at, x, &f);
        } else if ((v = di__existing(s, x))) {
            dv[k] = UNWRAP(v);
        } else {
            rc = ensure(s, x, &f, &dv[k]);
        }
        if (rc)
            break;
    }
    if (!rc)
        rc = create_one(s, home, st, p, pi, &f, dv, mark, out);
    if (rc && rc != DI_PENDING) /* a pending create keeps what it was given */
        unwind(s, home, st, mark, rc);
    if (dv != local)
        talloc_free(dv);
    return rc;
}

/* One step of a compiled program on s (its own level, no create
 * running): create p (key pi) with the dependencies already in b->deps,
 * and record it on s's stack (its table takes it when asked: scope.h). b
 * and bc are the program's, kept from step to step: only what differs is
 * written here. On failure the error is on s, with the path f. */
static inline __attribute__((always_inline)) int
plan_create(di_scope *s, di_build *b, di__buildctx *bc, const di__provider *p,
            di__key pi, const di__frame *f, void **out)
{
    void *mem = instance_mem(s, p);
    if (!mem)
        return fail(s, DI_ENOMEM, f, "out of memory");
    b->mem = mem;
    b->ndeps = p->ndeps;
    b->data = p->data;
    b->name = p->name;
    b->params = p->params;
    bc->frame = f;
    uint32_t mark = s->stack.n;
    const struct di_error *err_before = s->err;
    void *inst = NULL;
    s->cur = bc;
    int rc = __builtin_expect(s->tracing, 0)
                 ? traced_create(s->c, s, pi, f, b, &inst)
                 : p->create(b, &inst);
    s->cur = NULL;
    if (__builtin_expect(rc != 0 || bc->msg != NULL, 0)) {
        if (rc && bc->pending_create) { /* an asynchronous walk's create */
            rc = s->async->ops->created(s, s, pi, f, mem, bc, rc, &inst);
            if (rc == DI_PENDING)
                return rc;
            if (rc == DI__MEM_KEPT) {
                mem = NULL;
                rc = DI_ENOMEM;
            }
        }
        char *msg = bc->msg;
        bc->msg = NULL;
        if (rc)
            return create_failed(s, mem, msg, rc, f, err_before);
        talloc_free(msg); /* di_fail(), then success */
    }
    void *stored = inst ? inst : DI__NULLINST;
    if (__builtin_expect(di__stack_push(s, &s->stack, pi, mark, stored, mem),
                         0))
        return create_unrecorded(s, pi, mark, stored, mem, f);
    s->bytes += (uint32_t)p->size;
    if (p->dispose)
        s->disposes = 1;
    *out = inst;
    return 0;
}

/* The program runner; with blocked (an asynchronous walk, async.c), one
 * flag per step: set for a step pending or waiting for one (on entry:
 * those pending already), whose dependents are not built this time; a
 * create that answers DI_PENDING is parked by the hook and flagged. Then
 * DI_PENDING when something is flagged. Instantiated twice: the
 * synchronous runner has no trace of this. (Seal compiles no transient
 * into an asynchronous consumer's program.) */
static inline __attribute__((always_inline)) int
run_steps(di_scope *s, const di__prog *pg, void **out, uint8_t *blocked,
          const bool fresh)
{
    di_container *c = s->c;
    di_container *calling = NULL;
    bool creating = false, waits = false;
    int rc = 0;
    /* nothing is built unless what the program reads from the container
     * is there (else the general path builds the singletons first, in
     * their place in the order) */
    for (uint32_t k = 0; k < pg->nneed; k++)
        if (!atomic_load_explicit(&s->known[pg->need[k]],
                                  memory_order_acquire))
            return DI__FALLBACK;
    /* each step's instance once found or built (seal caps the program's
     * length); while the scope's stack holds only what this program
     * pushed (mine), an instance of the level cannot be there yet: no
     * lookup */
    void *got[DI__PLAN_STEPS];
    uint32_t mine = 0, base = fresh ? s->stack.n : 0;
    void *dv[DI__PLAN_DEPS]; /* no step has more */
    di__buildctx bc = { .prev = NULL, .home = s, .pending = NULL, .msg = NULL };
    di_build b = { .deps = dv, .scope = s, .di__state = &bc };
    for (uint32_t i = 0; i < pg->nsteps; i++) {
        const di__step *st = &pg->steps[i];
        if (blocked) { /* pending, or needs one that is */
            bool wait = blocked[i];
            for (uint32_t k = 0; !wait && st->build && k < st->ndeps; k++) {
                di__src x = pg->srcs[st->dep0 + k];
                wait = x >= 0 && blocked[x];
            }
            if (wait) {
                blocked[i] = 1;
                waits = true;
                continue;
            }
        }
        void *v = (fresh && st->fresh) || s->stack.n == mine
                      ? NULL
                      : di__scope_find(s, st->prov);
        if (v) {
            got[i] = UNWRAP(v);
            continue;
        }
        rc = DI__FALLBACK;
        if (!st->build)
            goto done;
        const di__src *src = &pg->srcs[st->dep0];
        for (uint32_t k = 0; k < st->ndeps; k++) {
            di__src x = src[k];
            if (x >= 0) {
                dv[k] = got[x];
                continue;
            }
            v = atomic_load_explicit(&s->known[-1 - x], memory_order_acquire);
            if (!v) /* a NULL value */
                goto done;
            dv[k] = UNWRAP(v);
        }
        if (!creating) { /* the first create: for all of them */
            creating = true;
            calling = di__calling;
            di__calling = c;
            s->open_keys = 0;
        }
        if (blocked)
            s->async->starting = st->p;
        rc = plan_create(s, &b, &bc, st->p, st->prov, &pg->frames[i],
                         &got[i]);
        if (blocked)
            bc.pending_create = NULL; /* the context serves the next step */
        if (blocked && rc == DI_PENDING) {
            blocked[i] = 1;
            waits = true;
            rc = 0;
            continue;
        }
        if (rc)
            goto done;
        mine++;
    }
done:
    if (creating) {
        s->open_keys = c->nprov;
        di__calling = calling;
    }
    if (blocked)
        s->async->starting = NULL;
    if (rc) {
        /* as the recursive builds would: the transients made for what
         * failed are disposed with the failure and freed */
        if (fresh && rc != DI__FALLBACK && rc != DI_PENDING)
            unwind(s, s, &s->stack, base, rc);
        return rc;
    }
    if (waits)
        return DI_PENDING;
    for (uint32_t i = 0; i < pg->nout; i++) {
        di__src x = pg->out[i];
        if (x >= 0) {
            out[i] = got[x];
            continue;
        }
        void *v = atomic_load_explicit(&s->known[-1 - x], memory_order_acquire);
        if (!v) /* a NULL value or singleton, a missing optional one */
            return DI__FALLBACK;
        out[i] = UNWRAP(v);
    }
    return 0;
}

/* Instantiated for programs with transients and without: the usual one
 * pays nothing for them. */
static inline __attribute__((always_inline)) int
run_plan(di_scope *s, const di__prog *pg, void **out, uint8_t *blocked)
{
    int rc = pg->fresh ? run_steps(s, pg, out, blocked, true)
                       : run_steps(s, pg, out, blocked, false);
    di__tab_note(s); /* what it built, for child scopes (scope.h) */
    return rc;
}

DI__HOT int di__resolve_plan(di_scope *s, const di__prog *pg, void **out)
{
    return run_plan(s, pg, out, NULL);
}

int di__walk_plan(di_scope *s, const di__prog *pg, void **out,
                  uint8_t *blocked)
{
    /* seal compiles no transient into an asynchronous consumer's */
    int rc = run_steps(s, pg, out, blocked, false);
    di__tab_note(s);
    return rc;
}

/* Publish a built singleton: move its memory and its transients' under the
 * container and onto the root stack. Under the lock. */
static int publish(di_container *c, di__stack *pending)
{
    if (c->root.cap - c->root.n < pending->n) {
        uint32_t cap = (c->root.n + pending->n) * 2;
        di__entry *ne = talloc_realloc(c, c->root.e, di__entry, cap);
        if (!ne)
            return DI_ENOMEM;
        c->root.e = ne;
        c->root.cap = cap;
    }
    for (uint32_t i = 0; i < pending->n; i++) {
        talloc_steal(c, pending->e[i].mem);
        c->root.e[c->root.n++] = pending->e[i];
    }
    pending->n = 0;
    return 0;
}

/* The error of a failed singleton build, from the root scope rs where it
 * was built to s, the scope that asked. */
static void pass_error(di_scope *s, di_scope *rs)
{
    if (s == rs || !rs->err)
        return;
    if (s->err)
        di__err_free(s->err);
    s->err = rs->err == &di__oom ? &di__oom : talloc_steal(s, rs->err);
    rs->err = NULL;
}

/* Build singleton pi in the root scope rs (on this thread), for s: s stays
 * busy meanwhile (it cannot be ended under the build) and its trace
 * records the creates. */
static int build_singleton(di_scope *s, di_scope *rs, di__stack *pending,
                           di__key pi, const di__frame *up, void **inst)
{
    if (s == rs)
        return build(rs, NULL, pending, pi, up, inst);
    di_scope *was = rs->asker;
    rs->asker = s->level == DI__ROOT && s->asker ? s->asker : s;
    s->busy++;
    int rc = build(rs, NULL, pending, pi, up, inst);
    s->busy--;
    rs->asker = was;
    return rc;
}

static int singleton(di_scope *s, di__key pi, const di__frame *up, void **out)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, pi);
    di__single *sl = &c->singles[p->slot];
    void *v = atomic_load_explicit(&sl->value, memory_order_acquire);
    if (v) {
        *out = UNWRAP(v);
        return 0;
    }
    di__frame f = { up, p->name };
    /* built in the root scope: its create sees no request (b->scope) */
    di_scope *rs = s->level == DI__ROOT ? s : di__root_scope(c);
    if (!rs)
        return fail(s, DI_ENOMEM, &f, "out of memory");
    pthread_mutex_lock(&c->lock);
    for (;;) {
        v = atomic_load_explicit(&sl->value, memory_order_acquire);
        if (v) {
            pthread_mutex_unlock(&c->lock);
            *out = UNWRAP(v);
            return 0;
        }
        if (!sl->building)
            break;
        if (pthread_equal(sl->owner, pthread_self())) {
            pthread_mutex_unlock(&c->lock);
            return fail(s, DI_ECYCLE, &f, "'%s' is already being built on "
                        "this thread (its create asked for it again)", p->name);
        }
        uint64_t w = sl->attempt;
        while (sl->building && sl->attempt == w)
            pthread_cond_wait(&c->cond, &c->lock);
        if (!atomic_load_explicit(&sl->value, memory_order_acquire) &&
            sl->failed_attempt == w) {
            int code = sl->err_code;
            char *msg = talloc_strdup(NULL, sl->err_msg ? sl->err_msg : "");
            pthread_mutex_unlock(&c->lock);
            fail(s, code, &f, "failed in another thread: %s", msg ? msg : "");
            talloc_free(msg);
            return code;
        }
    }
    sl->building = true;
    sl->owner = pthread_self();
    uint64_t my = ++sl->attempt;
    atomic_fetch_add(&c->builders, 1);
    pthread_mutex_unlock(&c->lock);

    di__stack pending = { 0 };
    void *inst = NULL;
    int rc = build_singleton(s, rs, &pending, pi, up, &inst);

    pthread_mutex_lock(&c->lock);
    if (rc == 0 && publish(c, &pending) != 0)
        rc = fail(rs, DI_ENOMEM, &f, "out of memory");
    if (rc == 0) {
        atomic_store_explicit(&sl->value, inst ? inst : DI__NULLINST,
                              memory_order_release);
        if (inst) /* a NULL one is left to the slow path */
            atomic_store_explicit(&c->known[pi], inst, memory_order_release);
    } else {
        sl->failed_attempt = my;
        sl->err_code = rc;
        talloc_free(sl->err_msg);
        sl->err_msg = talloc_strdup(c, di_error_message(rs->err));
    }
    sl->building = false;
    pthread_cond_broadcast(&c->cond);
    atomic_fetch_sub(&c->builders, 1);
    pthread_mutex_unlock(&c->lock);
    if (pending.n) { /* built, but could not be published */
        uint32_t n = pending.n; /* disposing pops them */
        di__dispose_range(c, rs, &pending, 0, rc, NULL);
        for (uint32_t i = 0; i < n; i++)
            talloc_free(pending.e[i].mem);
    }
    talloc_free(pending.e);
    if (rc == 0)
        *out = inst;
    else
        pass_error(s, rs);
    return rc;
}

/* The instance of a non-transient provider, from the nearest enclosing scope
 * of its level, built there if needed. */
static int ensure(di_scope *s, di__key pi, const di__frame *up, void **out)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, pi);
    if (p->kind == DI__VALUE) {
        *out = p->value;
        return 0;
    }
    if (p->level == DI__ROOT)
        return singleton(s, pi, up, out);
    di_scope *h = s;
    while (h && h->level != p->level)
        h = h->parent;
    if (!h) {
        di__frame f = { up, p->name };
        return fail(s, DI_ESCOPE, &f, "'%s' lives in '%s', asked from a '%s' "
                    "scope", p->name, c->levels[p->level].name,
                    c->levels[s->level].name);
    }
    void *v = di__scope_find(h, pi);
    if (v) {
        *out = UNWRAP(v);
        return 0;
    }
    if (p->kind == DI__EXTERN) {
        di__frame f = { up, p->name };
        return fail(s, DI_ENOTFOUND, &f, "'%s' is supplied by the host for "
                    "each '%s' scope (di_scope_put), and this one has none",
                    p->name, c->levels[p->level].name);
    }
    return build(s, h, NULL, pi, up, out);
}

/* Build provider key (a transient, or a create of s's level that s does
 * not hold) into s, no create running there: along its program when it
 * has one, else recursively. Out of line: inlined into di_get_key(), it
 * cost the lookup of an existing instance 9 instructions (33 against 24). */
__attribute__((noinline)) static int build_new(di_scope *s, di__key key,
                                               void **out)
{
    const di__prog *pg = di__get_prog(s->c, key, s->level);
    if (pg) {
        int rc = di__resolve_plan(s, pg, out);
        if (rc != DI__FALLBACK)
            return rc;
    }
    return build(s, s, NULL, key, NULL, out);
}

/* Provider key for s, asked with the path up. While a create runs on s,
 * what it gets is for the instance being built, which lives at its home's
 * level (the root for a singleton): a transient is built there, and
 * anything else must live at least as long — seal's rule, at run time. */
static int get_for(di_scope *s, di__key key, const di__frame *up, void **out)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, key);
    di__buildctx *cur = s->cur;
    if (!cur && (p->level == DI__TRANSIENT ||
                 (p->level == s->level && p->level != DI__ROOT &&
                  p->kind == DI__CREATE &&
                  !di__scope_find(s, key))))
        return build_new(s, key, out);
    if (p->level == DI__TRANSIENT)
        return build(s, cur->home, cur->pending, key, up, out);
    int16_t at = !cur ? 0 : cur->home ? cur->home->level : DI__ROOT;
    if (cur && p->kind != DI__VALUE && !di__encloses(c, p->level, at))
        return misplaced(s, owner_of(s), at, key, up);
    return ensure(s, key, up, out);
}

int di__resolve_dep(di_scope *s, const di__dep *d, const di__frame *up,
                    void **out)
{
    if (d->target < 0) {
        *out = NULL;
        return 0;
    }
    if (s->cur) /* di_resolve() from a create */
        return get_for(s, d->target, up, out);
    void *v = di__existing(s, d->target);
    if (v) {
        *out = UNWRAP(v);
        return 0;
    }
    if (di__prov(s->c, d->target)->level == DI__TRANSIENT)
        return build(s, s, NULL, d->target, up, out);
    return ensure(s, d->target, up, out);
}

/* di_get and friends, after the arguments were checked. */
static int get(di_scope *s, di__key key, const char *type, void **out)
{
    di_container *c = s->c;
    const di__provider *p = di__prov(c, key);
    di__buildctx *cur = s->cur;
    const di__frame *up = cur ? cur->frame : NULL;
    if (type && (!p->type || strcmp(p->type, type) != 0)) {
        di__frame f = { up, p->name };
        return fail(s, DI_ETYPE, &f, "'%s' has type '%s', asked for as '%s'",
                    p->name, p->type ? p->type : "(none)", type);
    }
    return get_for(s, key, up, out);
}

static int check_get(di_scope *s, void **out)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    if (!out) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_get: out must not be NULL");
        return DI_EINVAL;
    }
    return 0;
}

/* Everything but the fast path: checks, errors, building. */
__attribute__((noinline)) static int get_key_slow(di_scope *s, di__key key,
                                                  void **out)
{
    int rc = check_get(s, out);
    if (rc)
        return rc;
    di_container *c = s->c;
    if (key < 0 || (uint32_t)key >= c->nprov) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_get_key: no key %d", key);
        return DI_EINVAL;
    }
    const di__provider *p = di__prov(c, key);
    if (!s->cur) {
        void *v = NULL;
        if (p->level == DI__ROOT && p->kind == DI__CREATE)
            v = atomic_load_explicit(&c->singles[p->slot].value,
                                     memory_order_acquire);
        else if (p->level == s->level)
            v = di__scope_find(s, key);
        if (v) {
            *out = UNWRAP(v);
            return 0;
        }
    }
    return get(s, key, NULL, out);
}

#ifndef DI_DEBUG
/* An instance that exists — a singleton, or one of this scope's level —
 * for a scope with no create running; false when the slow path must do it. */
static inline bool fast_get(di_scope *s, di__key key, void **out)
{
    void *v = atomic_load_explicit(&s->known[key], memory_order_acquire);
    if (__builtin_expect(v != NULL, 1)) { /* never DI__NULLINST below the sentinel */
        *out = v;
        return true;
    }
    di__fast f = s->fast[key];
    if (f.level != s->level || f.kind == DI__VALUE)
        return false;
    /* a table to catch up first, or none: the slow path */
    if (s->indexed != s->stack.n || !s->indexed ||
        !(v = di__tab_find(s, key)))
        return false;
    *out = UNWRAP(v);
    return true;
}
#endif

DI__HOT int di_get_key(di_scope *s, int key, void **out)
{
#ifndef DI_DEBUG
    if (__builtin_expect(s && out && (uint32_t)key < s->open_keys, 1)) {
        if (fast_get(s, key, out))
            return 0;
        /* no create runs on s: a transient is built into it from here, as
         * get() would */
        if (s->fast[key].level == DI__TRANSIENT)
            return build_new(s, key, out);
    }
#endif
    return get_key_slow(s, key, out);
}

static int lookup(di_scope *s, const char *fn, const char *name, void **out)
{
    int rc = check_get(s, out);
    if (rc)
        return rc;
    if (!name) {
        di__scope_fail(s, DI_EINVAL, NULL, "%s: name must not be NULL", fn);
        return DI_EINVAL;
    }
    di__key key = di__names_find(&s->c->pnames, name);
    if (key < 0) {
        di__frame f = { s->cur ? s->cur->frame : NULL, name };
        return fail(s, DI_ENOTFOUND, &f, "no provider '%s'", name);
    }
    return key;
}

__attribute__((noinline)) static int get_slow(di_scope *s, const char *name,
                                             void **out)
{
    di__key key = lookup(s, "di_get", name, out);
    return key < 0 ? key : get(s, key, NULL, out);
}

DI__HOT int di_get(di_scope *s, const char *name, void **out)
{
#ifndef DI_DEBUG
    if (__builtin_expect(s && out && name && s->open_keys, 1)) {
        di__key key = di__names_find(&s->c->pnames, name);
        if (key >= 0 && fast_get(s, key, out))
            return 0;
    }
#endif
    return get_slow(s, name, out);
}

int di_get_typed(di_scope *s, const char *name, const char *type, void **out)
{
    di__key key = lookup(s, "di_get_typed", name, out);
    if (key < 0)
        return key;
    if (!type) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_get_typed: type must not be NULL");
        return DI_EINVAL;
    }
    return get(s, key, type, out);
}
