/*
 * scope.c — scopes: beginning, and ending in two steps: settle (every
 * dispose, in reverse creation order, with the outcome) and free.
 *
 * A scope is one talloc block: the di_scope header, the slot array of its
 * level and an initial teardown stack, sized at seal. Instances' memory is
 * allocated as talloc children of the block, so talloc frees it in reverse
 * creation order after every dispose has run. Child scopes (non-root
 * parents) are linked to their parent so that a parent always ends its live
 * children first.
 *
 * Spare blocks. A top-level scope's block (begun with no parent and no
 * talloc parent) is not freed when the scope ends: its children are, which
 * empties its pool, and the block is kept as this thread's spare (spare.c)
 * for the next scope of the same container and level begun on this thread. A
 * thread keeps at most one spare; it is freed when the thread exits, when
 * its container is freed on this thread, or when this thread begins a scope
 * the spare does not fit. (Debug builds keep none: a reused block would hide
 * the use of an ended scope.)
 */
#include <stdarg.h>
#include <string.h>

#include "scope.h"

static int scope_destructor(di_scope *s);

/* Keep s's emptied block as this thread's spare; false to free it. */
static bool spare_keep(di_scope *s)
{
    return di__spare_keep(DI__SPARE_SCOPE, s, s->c->serial);
}

/* This thread's spare when it fits a scope of c's level l, else NULL. */
static di_scope *spare_take(const di_container *c, int l)
{
    di_scope *s = di__spare_take(DI__SPARE_SCOPE, c->serial);
    if (s && s->level != l) {
        talloc_free(s); /* ended: its destructor does nothing */
        return NULL;
    }
    return s;
}

static void scope_failed(di_scope *s, struct di_error *e)
{
    if (s->err)
        di__err_free(s->err);
    s->err = e ? e : &di__oom;
}

void di__scope_fail(di_scope *s, int code, const char *name, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_vnew(s, code, name, fmt, ap);
    va_end(ap);
    scope_failed(s, e);
}

void di__scope_fail_path(di_scope *s, int code, const di__path *p,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_make(s, code, p, NULL, fmt, ap);
    va_end(ap);
    scope_failed(s, e);
}

/* Tracing's calls, out of the way of the untraced path (its code shape
 * is measured: docs/benchmarks.md). */
__attribute__((noinline, cold)) static int traced_dispose(
    di_container *c, di_scope *s, di__key prov, const di_build *b, void *inst,
    int outcome)
{
    return c->tracer->dispose(c, s, prov, b, inst, outcome);
}

__attribute__((noinline, cold)) static void traced_end(di_scope *s)
{
    s->c->tracer->end(s);
}

int di__stack_grow_push(di_scope *mem, di__stack *st, di__key prov,
                        uint32_t mark, void *inst, void *imem)
{
    /* a scope's stack starts in its block, after the slots */
    di__entry *inl = mem ? (di__entry *)(di__slots(mem) +
                                         mem->c->levels[mem->level].nslots)
                         : NULL;
    if (st->n == st->cap) {
        /* leave the inline storage for room enough for the usual
         * transients at once: one growth per scope, not a doubling each */
        uint32_t cap = st->cap * 2 > 16 ? st->cap * 2 : 16;
        di__entry *ne;
        if (st->e == inl) {
            ne = talloc_array(mem, di__entry, cap);
            if (ne && st->n)
                memcpy(ne, st->e, st->n * sizeof *ne);
        } else {
            ne = talloc_realloc(mem, st->e, di__entry, cap);
        }
        if (!ne)
            return DI_ENOMEM;
        st->e = ne;
        st->cap = cap;
    }
    st->e[st->n++] = (di__entry){ prov, mark, inst, imem };
    return 0;
}

/* Dispose entries [from, st->n) in reverse order with the outcome, pop them.
 * The memory of each is not freed here. Failures are appended to fails. */
DI__HOT int di__dispose_range(di_container *c, di_scope *s, di__stack *st,
                      uint32_t from, int outcome, di__errlist *fails)
{
    int rc = 0;
    while (st->n > from) {
        di__entry e = st->e[--st->n];
        const di__provider *p = di__prov(c, e.prov);
        if (!p->dispose)
            continue;
        struct di__buildctx bc = { .prev = NULL, .msg = NULL };
        di_build b = { .mem = e.mem, .data = p->data, .name = p->name,
                       .scope = s, .di__state = &bc, .params = p->params };
        di_container *calling = di__calling;
        di__calling = c;
        if (s)
            s->busy++;
        void *inst = e.inst == DI__NULLINST ? NULL : e.inst;
        int r = __builtin_expect(s ? s->tracing : c->trace_on, 0)
                    ? traced_dispose(c, s, e.prov, &b, inst, outcome)
                    : p->dispose(&b, inst, outcome);
        if (s)
            s->busy--;
        di__calling = calling;
        if (r == 0) {
            if (bc.msg)
                talloc_free(bc.msg);
            continue;
        }
        if (r > 0)
            r = DI_EPROVIDER;
        rc = DI_EDISPOSE;
        if (fails && bc.msg)
            di__err_add(fails, r, p->name, "%s", bc.msg);
        else if (fails)
            di__err_add(fails, r, p->name, "dispose failed: %s",
                        di_strerror(r));
        talloc_free(bc.msg);
    }
    return rc;
}

int di__dispose_stack(di_container *c, di_scope *s, di__stack *st, int outcome,
                      di__errlist *fails)
{
    return di__dispose_range(c, s, st, 0, outcome, fails);
}

static void unlink_child(di_scope *s)
{
    if (!s->parent)
        return;
    di_scope **pp = &s->parent->children;
    while (*pp && *pp != s)
        pp = &(*pp)->sibling;
    if (*pp)
        *pp = s->sibling;
}

/* The first step of the end: run the disposes of s's live child scopes
 * (abandoned: they did not complete) and then its own, each in reverse
 * creation order with the outcome, failures appended to fails; s and they
 * are settled. */
static int settle(di_scope *s, int outcome, di__errlist *fails)
{
    int rc = 0;
    s->ended = DI__SETTLED;
    s->open_keys = 0;
    for (di_scope *ch = s->children; ch; ch = ch->sibling) /* newest first */
        if (ch->ended == DI__OPEN && settle(ch, DI_EABANDONED, fails))
            rc = DI_EDISPOSE;
    if (s->disposes) { /* else nothing to call: talloc frees the memory */
        uint32_t held = s->stack.n;
        if (di__dispose_stack(s->c, s, &s->stack, outcome, fails))
            rc = DI_EDISPOSE;
        /* nothing is pushed or disposed on a settled scope: its entries
         * stay readable (memory reports) until it is freed */
        s->stack.n = held;
    }
    if (s->tracing)
        traced_end(s);
    return rc;
}

/* Where failures go once the scope that had them is gone. */
static void report(di_container *c, di__errlist *fails)
{
    if (fails->head)
        di__container_report(c, talloc_steal(NULL, fails->head));
}

/* The second step, before s's own block goes: s (settled) is ended, its
 * child scopes are freed and it leaves its parent's list. */
static void release(di_scope *s)
{
    s->ended = DI__ENDED;
#ifdef DI_DEBUG
    di__open_del(s);
#endif
    while (s->children) {
        di_scope *ch = s->children;
        s->children = ch->sibling;
        ch->parent = NULL; /* already unlinked */
        release(ch);
        talloc_set_destructor(ch, NULL);
        talloc_free(ch);
    }
    unlink_child(s);
}

static int scope_destructor(di_scope *s)
{
    if (s->ended == DI__ENDED)
        return 0;
    if (s->ended == DI__OPEN) {
        di__errlist fails = { 0 };
        settle(s, DI_EABANDONED, &fails);
        report(s->c, &fails);
    }
    release(s);
    if (s->pin)
        s->c->unpin(s->pin);
    return 0;
}

int di__scope_closed(di_scope *s)
{
    if (s->ended == DI__SETTLED)
        di__scope_fail(s, DI_ESTALE, NULL, "the scope is settled: its "
                       "instances were disposed; read them, then free it "
                       "with di_scope_free()");
    return DI_ESTALE;
}

/* ---- root scopes ---- */

/* The last root scope this thread used, and its container's serial
 * (serials are never reused: a freed container's never matches again). */
static _Thread_local struct { uint64_t serial; di_scope *s; } my_root DI__TLS;

/* A new root scope for c, under c. Locked. */
static di_scope *root_new(di_container *c)
{
    uint32_t nslots = c->levels[DI__ROOT].nslots;
    /* slots are never filled (singletons live in c->singles); the fast
     * paths only find them empty */
    size_t bytes = sizeof(di_scope) + (nslots ? nslots : 1) * sizeof(void *);
    struct di__root *r = talloc_realloc(c, c->roots, struct di__root,
                                        c->nroots + 1);
    if (!r)
        return NULL;
    c->roots = r;
    di_scope *s = talloc_named_const(c, bytes, "di_root_scope");
    if (!s)
        return NULL;
    memset(s, 0, bytes);
    s->c = c;
    s->fast = c->fast;
    s->known = c->known;
    s->open_keys = c->nprov;
    s->level = DI__ROOT;
    s->tracing = c->trace_on;
#ifdef DI_DEBUG
    if (di__open_add(s)) {
        talloc_free(s);
        return NULL;
    }
#endif
    talloc_set_destructor(s, scope_destructor);
    r[c->nroots++] = (struct di__root){ pthread_self(), s };
    return s;
}

static int roots_end(di_container *c, di__errlist *fails);

/* c's teardown: what the root scopes hold (transients got from a
 * singleton's kept b->scope) first, as it may need the singletons; then the
 * singletons, in reverse creation order, with the success outcome. */
static int teardown(di_container *c, di__errlist *fails)
{
    int rc = roots_end(c, fails);
    if (di__dispose_stack(c, NULL, &c->root, DI_SUCCESS, fails))
        rc = DI_EDISPOSE;
    return rc;
}

di_scope *di__root_scope(di_container *c)
{
    if (my_root.serial == c->serial && my_root.s)
        return my_root.s;
    di_scope *s = NULL;
    pthread_mutex_lock(&c->lock);
    for (uint32_t i = 0; i < c->nroots && !s; i++)
        if (pthread_equal(c->roots[i].thread, pthread_self()))
            s = c->roots[i].s;
    if (!s)
        s = root_new(c);
    if (s)
        c->teardown = teardown; /* singletons are built in root scopes */
    pthread_mutex_unlock(&c->lock);
    if (s) {
        my_root.serial = c->serial;
        my_root.s = s;
    }
    return s;
}

/* End c's root scopes (container free, before the singletons). */
static int roots_end(di_container *c, di__errlist *fails)
{
    int rc = 0;
    for (uint32_t i = c->nroots; i-- > 0;) {
        di_scope *s = c->roots[i].s;
        s->tracing = 0; /* no scope of the host's: no end to report */
        if (s->ended == DI__OPEN && settle(s, DI_SUCCESS, fails))
            rc = DI_EDISPOSE;
        release(s);
        talloc_free(s); /* ended: its destructor does nothing */
    }
    c->nroots = 0;
    if (my_root.serial == c->serial)
        my_root.s = NULL;
    return rc;
}

/* Out of memory beginning a scope: reported where the other begin errors
 * go (the parent scope, or the container under the root). */
static int begin_nomem(di_container *c, di_scope *parent)
{
    if (parent)
        di__scope_fail(parent, DI_ENOMEM, NULL, "di_scope_begin: out of memory");
    else
        di__nomem(c, "di_scope_begin", DI_ENOMEM);
    return DI_ENOMEM;
}

DI__HOT int di_scope_begin(di_container *c, di_scope *parent, const char *level,
                   void *mem, di_scope **out)
{
    if (out)
        *out = NULL;
    if (!c || !level || !out) {
        if (parent && !di__check_scope(parent))
            di__scope_fail(parent, DI_EINVAL, NULL, "di_scope_begin: the "
                           "container, level and out must not be NULL");
        return DI_EINVAL;
    }
    if (parent) {
        int rc = di__check_scope(parent);
        if (rc)
            return rc;
    }
    if (!c->sealed) {
        di__reg_error(c, DI_ENOTSEALED, "di_scope_begin('%s'): seal the "
                      "container first", level);
        return DI_ENOTSEALED;
    }
    int l = di__level_find(c, level);
    int want = parent ? parent->level : DI__ROOT;
    if (l <= 0 || c->levels[l].parent != want) {
        const char *why = l < 0   ? "is not a declared level"
                          : l == 0 ? "is the root: it cannot be begun"
                                   : "must be begun under a scope of its "
                                     "parent level";
        if (parent)
            di__scope_fail(parent, DI_ELEVEL, NULL, "di_scope_begin: level "
                           "'%s' %s%s%s (asked under a '%s' scope)", level,
                           why, l > 0 ? " '" : "",
                           l > 0 ? c->levels[c->levels[l].parent].name : "",
                           c->levels[want].name);
        else
            di__container_report_fmt(c, DI_ELEVEL, "di_scope_begin: level "
                                     "'%s' %s%s%s%s (asked under the root)",
                                     level, why, l > 0 ? " '" : "",
                                     l > 0 ? c->levels[c->levels[l].parent].name
                                           : "",
                                     l > 0 ? "'" : "");
        return DI_ELEVEL;
    }
    const di__level *lv = &c->levels[l];
    bool top = !mem && !parent;
    if (!mem && parent)
        mem = parent;
    /* one allocation: the header, the slots, the teardown stack, and a talloc
     * pool with room for the instances of this level (sized at seal), so
     * building them costs no malloc and ending the scope one free */
    di_scope *s = top ? spare_take(c, l) : NULL;
    if (!s) {
        s = lv->pool_objects
                ? _talloc_pooled_object(mem, lv->block, "di_scope",
                                        lv->pool_objects, lv->pool_bytes)
                : talloc_named_const(mem, lv->block, "di_scope");
        if (!s)
            return begin_nomem(c, parent);
        talloc_set_destructor(s, scope_destructor);
    }
    /* the teardown stack's entries are written when pushed */
    memset(s, 0, sizeof *s + lv->nslots * sizeof(void *));
    s->c = c;
    s->fast = c->fast;
    s->known = c->known;
    s->open_keys = c->nprov;
    s->parent = parent;
    s->level = (int16_t)l;
    s->spare_ok = top;
    s->tracing = c->trace_on;
    s->stack.e = (di__entry *)(di__slots(s) + lv->nslots);
    s->stack.cap = lv->stack_cap;
#ifdef DI_DEBUG
    if (di__open_add(s)) {
        s->ended = DI__ENDED; /* nothing to tear down */
        talloc_free(s);
        return begin_nomem(c, parent);
    }
#endif
    if (parent) {
        s->sibling = parent->children;
        parent->children = s;
    }
    *out = s;
    return 0;
}

/* The end of a scope begun by di_live_begin: its container is unpinned
 * last, once the scope's memory is gone or kept (it may free the
 * container). Out of line: measured, the plain end pays 5 % on request_3
 * when this is inlined there. */
__attribute__((noinline)) static int end_pinned(di_scope *s, int rc)
{
    struct di__pin *pin = s->pin;
    void (*unpin)(struct di__pin *) = s->c->unpin; /* the container stays */
    if (!s->spare_ok || !spare_keep(s))
        talloc_free(s); /* ended: its destructor does nothing */
    unpin(pin);
    return rc;
}

/* Release s (settled) and free its block, or keep it as the spare. */
static inline int finish(di_scope *s, int rc)
{
    release(s);
    if (__builtin_expect(s->pin != NULL, 0))
        return end_pinned(s, rc);
    if (!s->spare_ok || !spare_keep(s))
        talloc_free(s); /* ended: its destructor does nothing */
    return rc;
}

/* 0 when fn may end s now; DI_EBUSY (reported on s) while a create or
 * dispose runs in s or a scope enclosing it; DI_EINVAL for a root scope,
 * which ends with its container. */
static int busy(di_scope *s, const char *fn)
{
    if (s->level == DI__ROOT) {
        di__scope_fail(s, DI_EINVAL, NULL, "%s: this is the container's root "
                       "scope: it ends with the container", fn);
        return DI_EINVAL;
    }
    for (di_scope *a = s; a; a = a->parent)
        if (a->busy || a->cur) {
            di__scope_fail(s, DI_EBUSY, NULL, "%s: the scope is in use (a "
                           "create or dispose runs in it, or the HTTP "
                           "router's handler, which settles it itself); end "
                           "it after that returns", fn);
            return DI_EBUSY;
        }
    return 0;
}

/* Failures of a settle, kept on s; DI_EDISPOSE with no list (the report
 * could not be allocated) keeps the static out-of-memory error. */
static void keep_failures(di_scope *s, di__errlist *fails)
{
    if (s->err)
        di__err_free(s->err);
    s->err = fails->head ? talloc_steal(s, fails->head) : &di__oom;
}

int di_scope_settle(di_scope *s, int outcome)
{
    int rc = di__check_scope_read(s);
    if (rc || (rc = busy(s, "di_scope_settle")))
        return rc;
    if (s->ended != DI__OPEN)
        return di__scope_closed(s);
    di__errlist fails = { 0 };
    rc = settle(s, outcome, &fails);
    if (rc)
        keep_failures(s, &fails);
    return rc;
}

int di_scope_free(di_scope *s)
{
    int rc = di__check_scope_read(s);
    if (rc || (rc = busy(s, "di_scope_free")))
        return rc;
    if (s->ended == DI__OPEN) {
        di__errlist fails = { 0 };
        rc = settle(s, DI_EABANDONED, &fails);
        report(s->c, &fails);
    }
    return finish(s, rc);
}

DI__HOT int di_scope_end(di_scope *s, int outcome)
{
    int rc = di__check_scope_read(s);
    if (rc || (rc = busy(s, "di_scope_end")))
        return rc;
    if (__builtin_expect(s->ended != DI__OPEN, 0))
        return di__scope_closed(s);
    di__errlist fails = { 0 };
    rc = settle(s, outcome, &fails);
    if (__builtin_expect(rc != 0, 0))
        report(s->c, &fails);
    return finish(s, rc);
}

const di_error *di_scope_error(const di_scope *s) { return s ? s->err : NULL; }

const char *di_scope_level(const di_scope *s)
{
    return s ? s->c->levels[s->level].name : NULL;
}

di_scope *di_scope_parent(const di_scope *s) { return s ? s->parent : NULL; }

di_container *di_scope_container(const di_scope *s) { return s ? s->c : NULL; }

int di__scope_put_key(di_scope *s, di__key key, const char *name, void *value)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    const di__provider *p = key >= 0 ? di__prov(s->c, key) : NULL;
    if (!p || p->kind != DI__EXTERN) {
        di__scope_fail(s, DI_ENOTFOUND, name, "di_scope_put: no external "
                       "provider '%s' (declare it with di_provide_external)",
                       name ? name : "(null)");
        return DI_ENOTFOUND;
    }
    if (p->level != s->level) {
        di__scope_fail(s, DI_ESCOPE, name, "di_scope_put: '%s' belongs to "
                       "'%s' scopes, not '%s'", name,
                       s->c->levels[p->level].name,
                       s->c->levels[s->level].name);
        return DI_ESCOPE;
    }
    if (di__slots(s)[p->slot]) {
        di__scope_fail(s, DI_EEXIST, name, "di_scope_put: '%s' is already "
                       "set in this scope", name);
        return DI_EEXIST;
    }
    di__slots(s)[p->slot] = value ? value : DI__NULLINST;
    return 0;
}

int di_scope_put(di_scope *s, const char *name, void *value)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    return di__scope_put_key(s, name ? di__names_find(&s->c->pnames, name)
                                     : -1, name, value);
}
