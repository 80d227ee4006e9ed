/*
 * scope.c — scopes: beginning, and ending in two steps: settle (every
 * dispose, in reverse creation order, with the outcome) and free.
 *
 * A scope is one talloc block: the di_scope header, its instance table, an
 * initial teardown stack and a talloc pool for the instances, sized by its
 * level's shape (di__level.shape): what scopes of the level have held, not
 * how many providers the level has — a scope that resolves nothing costs
 * the same in a container of 3 providers or of 10,000. Instances' memory is
 * allocated as talloc children of the block, so talloc frees it in reverse
 * creation order after every dispose has run; a scope that holds more than
 * its block was made for grows its stack and table as talloc children and
 * teaches its level a larger shape for the next. Child scopes (non-root
 * parents) are linked to their parent so that a parent always ends its
 * live children first.
 *
 * Spare blocks. A top-level scope's block that is its thread's own (see
 * own_block_free() below) is not freed when the scope ends: its children
 * are, which empties its pool, and the block is kept as this thread's spare
 * (spare.c) for the next scope of the same container and level begun on
 * this thread. A thread keeps at most one spare; it is freed when the
 * thread exits, when its container is freed on this thread, or when this
 * thread begins a scope the spare does not fit (another level, or its
 * level's shape grew). (Debug builds keep none: a reused block would hide
 * the use of an ended scope.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scope.h"

static int scope_destructor(di_scope *s);

/* Keep s's emptied block as this thread's spare; false to free it. */
static bool spare_keep(di_scope *s)
{
    return di__spare_keep(DI__SPARE_SCOPE, s, s->c->serial);
}

/* This thread's spare when it fits a scope of c's level l of that shape,
 * else NULL. */
static di_scope *spare_take(const di_container *c, int l, uint32_t shape)
{
    di_scope *s = di__spare_take(DI__SPARE_SCOPE, c->serial);
    if (s && (s->level != l || s->shape != shape)) {
        talloc_free(s); /* ended: its destructor does nothing */
        return NULL;
    }
    return s;
}

/* Which blocks hold a talloc pool. A pool makes building instances cost
 * no malloc, and reserves room for them: it pays on a block reused request
 * after request. So a top-level scope's block holds one when it is its
 * thread's own — the spare taken again, or made while the thread has no
 * such block out (di__spares.lent) — and may be kept as the spare when the
 * scope ends (spare_ok). Other top-level scopes open on the thread at the
 * same time (an event loop's) get plain blocks: talloc allocates their
 * instances one by one, and each costs what it holds. Scopes under a parent
 * or a talloc context always hold a pool (they are never kept); so do all
 * in debug builds, which keep no spares. */
static inline bool own_block_free(void)
{
#ifndef DI_DEBUG
    return di__spare.lent == NULL;
#else
    return true;
#endif
}

/* s's block is this thread's own, out now. */
static inline void lend(const di_scope *s)
{
#ifndef DI_DEBUG
    di__spare.lent = s;
#else
    (void)s;
#endif
}

/* s (ended) goes: kept as this thread's spare when it may be, else freed. */
static inline void drop_block(di_scope *s)
{
#ifndef DI_DEBUG
    if (di__spare.lent == s)
        di__spare.lent = NULL;
    else if (s->top && !s->spare_ok && !di__spare.block[DI__SPARE_SCOPE])
        /* a plain block ends while the thread has no spare: its own one
         * may have ended on another thread; make the next one its own */
        di__spare.lent = NULL;
#endif
    if (!s->spare_ok || !spare_keep(s))
        talloc_free(s); /* ended: its destructor does nothing */
}

/* Bytes of a scope block's table and of its whole fixed part. */
static inline size_t tab_bytes(di__shape z)
{
    return sizeof(uint32_t) << z.tbits;
}

static inline size_t block_bytes(di__shape z)
{
    return sizeof(di_scope) + tab_bytes(z) + z.objs * sizeof(di__entry);
}

/* The teardown stack's storage inside s's block. */
static inline di__entry *stack_inline(const di_scope *s)
{
    return (di__entry *)((char *)(s + 1) + tab_bytes(di__shape_of(s->shape)));
}

/* s's header zeroed and its table empty, for its block's shape. */
static void scope_init(di_scope *s, di_container *c, int16_t level,
                       uint32_t shape)
{
    di__shape z = di__shape_of(shape);
    memset(s, 0, sizeof *s); /* the table is zeroed at its first use */
    s->c = c;
    s->fast = c->fast;
    s->known = c->known;
    s->open_keys = c->nprov;
    s->level = level;
    s->tracing = c->trace_on;
    s->shape = shape;
    s->tab = (uint32_t *)(s + 1);
    s->tmask = (1u << z.tbits) - 1;
    s->tshift = (uint8_t)(32 - z.tbits);
    s->stack.e = stack_inline(s);
    s->stack.cap = z.objs;
}

/* Give s's table at least n positions (a power of two): 0 or DI_ENOMEM. */
static int tab_resize(di_scope *s, uint32_t n)
{
    uint32_t bits = 32u - s->tshift;
    while ((1u << bits) < n)
        bits++;
    uint32_t *t = talloc_array(s, uint32_t, 1u << bits);
    if (!t)
        return DI_ENOMEM;
    if (s->tab != (uint32_t *)(s + 1))
        talloc_free(s->tab);
    s->tab = t;
    s->tmask = (1u << bits) - 1;
    s->tshift = (uint8_t)(32 - bits);
    di__tab_rebuild(s);
    return 0;
}

void di__tab_catch_up(di_scope *s)
{
    if (s->indexed == 0 || s->indexed > s->stack.n) {
        memset(s->tab, 0, (s->tmask + 1) * sizeof *s->tab);
        s->indexed = 0;
    }
    for (uint32_t i = s->indexed; i < s->stack.n; i++) {
        di__key k = s->stack.e[i].prov;
        if (s->fast[k].level == DI__TRANSIENT)
            continue;
        uint32_t h = di__tab_home(k, s->tshift);
        while (s->tab[h])
            h = (h + 1) & s->tmask;
        s->tab[h] = i + 1;
    }
    s->indexed = s->stack.n;
}

void di__tab_rebuild(di_scope *s)
{
    s->indexed = 0;
    di__tab_note(s);
}

/* s held more than its block was made for: raise its level's shape so
 * that the next scope's block has room for as much. */
__attribute__((noinline, cold)) static void learn(di_scope *s)
{
    _Atomic uint32_t *shape = &s->c->levels[s->level].shape;
    uint32_t cur = atomic_load_explicit(shape, memory_order_relaxed);
    for (;;) {
        di__shape z = di__shape_of(cur);
        uint32_t want = di__shape_make(s->stack.n > z.objs ? s->stack.n : z.objs,
                                       s->bytes > z.bytes ? s->bytes : z.bytes);
        if (want == cur ||
            atomic_compare_exchange_weak_explicit(shape, &cur, want,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
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

__attribute__((noinline, cold)) static void traced_end(di_scope *s,
                                                      int outcome)
{
    s->c->tracer->end(s, outcome);
}

__attribute__((noinline, cold)) static void traced_begin(di_scope *s)
{
    if (s->c->tracer->begin && s->level != DI__ROOT)
        s->c->tracer->begin(s);
}

int di__stack_grow_push(di_scope *mem, di__stack *st, di__key prov,
                        uint32_t mark, void *inst, void *imem)
{
    /* a scope's stack starts in its block, after the table */
    di__entry *inl = mem ? stack_inline(mem) : NULL;
    if (st->n == st->cap) {
        /* leave the inline storage for room enough for the usual
         * transients at once: one growth per scope, not a doubling each */
        uint32_t cap = st->cap * 2 > 16 ? st->cap * 2 : 16;
        /* the table keeps two positions per entry the stack can hold */
        if (mem && st == &mem->stack && mem->tmask + 1 < 2 * cap &&
            tab_resize(mem, 2 * cap))
            return DI_ENOMEM;
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

/* A dispose that failed with r (or succeeded after a di_fail(), r 0):
 * its failure appended to fails, the message freed; DI_EDISPOSE or 0. */
__attribute__((noinline, cold)) static int dispose_failed(
    const di__provider *p, struct di__buildctx *bc, int r, di__errlist *fails)
{
    char *msg = bc->msg;
    bc->msg = NULL;
    if (r == 0) {
        talloc_free(msg);
        return 0;
    }
    if (r > 0)
        r = DI_EPROVIDER;
    if (fails && msg)
        di__err_add(fails, r, p->name, "%s", msg);
    else if (fails)
        di__err_add(fails, r, p->name, "dispose failed: %s", di_strerror(r));
    talloc_free(msg);
    return DI_EDISPOSE;
}

/* Dispose entries [from, st->n) in reverse order with the outcome, pop them.
 * The memory of each is not freed here. Failures are appended to fails.
 * What every dispose shares (the container marked as calling, the scope
 * busy, the build record and its context) is set once for the run.
 * Under an asynchronous settle (async.c) a dispose may be left pending:
 * then the run stops there and returns DI_PENDING (what failed before it
 * is in fails, and in the settle's rc). */
DI__HOT int di__dispose_range(di_container *c, di_scope *s, di__stack *st,
                      uint32_t from, int outcome, di__errlist *fails)
{
    if (st->n <= from)
        return 0;
    int rc = 0;
    struct di__buildctx bc = { .prev = NULL, .msg = NULL };
    di_build b = { .scope = s, .di__state = &bc };
    di_container *calling = di__calling;
    di__calling = c;
    struct di__async *a = s ? s->async : NULL;
    if (s)
        s->busy++;
    if (__builtin_expect(a && a->settling, 0))
        a->disposing = &bc;
    bool traced = __builtin_expect(s ? s->tracing : c->trace_on, 0);
    while (st->n > from) {
        const di__entry *e = &st->e[--st->n];
        const di__provider *p = di__prov(c, e->prov);
        di_dispose_fn fn = p->dispose;
        if (!fn)
            continue;
        b.mem = e->mem;
        b.data = p->data;
        b.name = p->name;
        b.params = p->params;
        void *inst = e->inst == DI__NULLINST ? NULL : e->inst;
        int r = traced ? traced_dispose(c, s, e->prov, &b, inst, outcome)
                       : fn(&b, inst, outcome);
        if (__builtin_expect(bc.pending_create != NULL, 0) &&
            (r = a->ops->disposed(s, e->prov, &bc, r)) == DI_PENDING) {
            a->settle_rc |= rc;
            rc = DI_PENDING;
            break;
        }
        if (__builtin_expect(r != 0 || bc.msg != NULL, 0) &&
            dispose_failed(p, &bc, r, fails))
            rc = DI_EDISPOSE;
    }
    if (__builtin_expect(a != NULL, 0))
        a->disposing = NULL;
    if (s)
        s->busy--;
    di__calling = calling;
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
    int rc = di__settle_open(s, fails);
    if (s->disposes) { /* else nothing to call: talloc frees the memory */
        uint32_t held = s->stack.n;
        if (di__dispose_stack(s->c, s, &s->stack, outcome, fails))
            rc = DI_EDISPOSE;
        /* nothing is pushed or disposed on a settled scope: its entries
         * stay readable (memory reports) until it is freed */
        s->stack.n = held;
    }
    if (s->tracing)
        traced_end(s, outcome);
    return rc;
}

int di__settle_open(di_scope *s, di__errlist *fails)
{
    int rc = 0;
    s->ended = DI__SETTLED;
    s->open_keys = 0;
    for (di_scope *ch = s->children; ch; ch = ch->sibling) /* newest first */
        if (ch->ended == DI__OPEN && settle(ch, DI_EABANDONED, fails))
            rc = DI_EDISPOSE;
    if (s->async) { /* before the disposes: what waits is called back */
        s->busy++;
        s->async->ops->abandon(s);
        s->busy--;
    }
    return rc;
}

/* Where failures go once the scope that had them is gone. */
static void report(di_container *c, di__errlist *fails)
{
    if (fails->head)
        di__container_report(c, talloc_steal(NULL, fails->head));
}

/* s, freed without being settled, is settled as abandoned: logged, and so
 * is each dispose that failed then (nobody else hears of it). */
static void settle_abandoned(di_scope *s, di_log_level level, int *rc)
{
    di__log(&(di_log_record){ .level = level, .event = "scope_abandoned",
            .code = DI_EABANDONED },
            "di: a '%s' scope was freed without being settled: its disposes "
            "ran as abandoned", s->c->levels[s->level].name);
    di__errlist fails = { 0 };
    int r = settle(s, DI_EABANDONED, &fails);
    for (const struct di_error *e = fails.head; e; e = e->next)
        di__log(&(di_log_record){ .level = DI_LOG_WARN,
                .event = "dispose_failed", .provider = di_error_provider(e),
                .path = e->path, .code = e->code },
                "di: an abandoned '%s' scope: %s",
                s->c->levels[s->level].name, e->message);
    report(s->c, &fails);
    if (rc)
        *rc = r;
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
    if (s->ended == DI__OPEN)
        settle_abandoned(s, DI_LOG_WARN, NULL);
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
    /* its table stays empty (singletons live in c->singles); the stack
     * holds the transients got through it, and starts empty */
    uint32_t shape = di__shape_make(0, 0);
    struct di__root *r = talloc_realloc(c, c->roots, struct di__root,
                                        c->nroots + 1);
    if (!r)
        return NULL;
    c->roots = r;
    di_scope *s = talloc_named_const(c, block_bytes(di__shape_of(shape)),
                                     "di_root_scope");
    if (!s)
        return NULL;
    scope_init(s, c, DI__ROOT, shape);
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

/* How a level was asked for, for a message: 'name' (asked is the name
 * given, or NULL for a key), or "key N" for a key that is no level's. */
static const char *level_label(char *buf, size_t n, const di_container *c,
                               const char *asked, int key)
{
    if (asked)
        snprintf(buf, n, "'%s'", asked);
    else if (key >= 0 && (uint32_t)key < c->nlevels)
        snprintf(buf, n, "'%s'", c->levels[key].name);
    else
        snprintf(buf, n, "key %d", key);
    return buf;
}

/* A level that cannot be begun where it was asked (l: its index, or -1
 * for none; asked, key: the name or key it was asked by, for the message). */
__attribute__((noinline, cold)) static int bad_level(di_container *c,
                                                      di_scope *parent,
                                                      const char *fn, int l,
                                                      const char *asked,
                                                      int key)
{
    char name[DI_NAME_MAX + 3];
    level_label(name, sizeof name, c, asked, key);
    const char *why = l < 0   ? "is not a declared level"
                      : l == 0 ? "is the root: it cannot be begun"
                               : "must be begun under a scope of its "
                                 "parent level";
    const char *pre = l > 0 ? " '" : "";
    const char *up = l > 0 ? c->levels[c->levels[l].parent].name : "";
    const char *post = l > 0 ? "'" : "";
    if (parent)
        di__scope_fail(parent, DI_ELEVEL, NULL, "%s: level %s %s%s%s%s (asked "
                       "under a '%s' scope)", fn, name, why, pre, up, post,
                       c->levels[parent->level].name);
    else
        di__container_report_fmt(c, DI_ELEVEL, "%s: level %s %s%s%s%s (asked "
                                 "under the root)", fn, name, why, pre, up,
                                 post);
    return DI_ELEVEL;
}

__attribute__((noinline, cold)) static int not_sealed(di_container *c,
                                                       const char *fn, int l,
                                                       const char *asked)
{
    char name[DI_NAME_MAX + 3];
    di__reg_error(c, DI_ENOTSEALED, "%s(%s): seal the container first", fn,
                  level_label(name, sizeof name, c, asked, l));
    return DI_ENOTSEALED;
}

/* A caller's NULL: reported on the parent when there is a usable one. */
__attribute__((noinline, cold)) static int begin_null(di_scope *parent,
                                                       const char *fn,
                                                       const char *what)
{
    if (parent && !di__check_scope(parent))
        di__scope_fail(parent, DI_EINVAL, NULL, "%s: %s must not be NULL",
                       fn, what);
    return DI_EINVAL;
}

/* di_scope_begin and di_scope_begin_key, once the level is known by its
 * index l (-1: none); asked: the name given (NULL for a key), for errors. */
static inline __attribute__((always_inline)) int
begin(di_container *c, di_scope *parent, int l, const char *fn,
      const char *asked, int key, void *mem, di_scope **out)
{
    if (parent) {
        int rc = di__check_scope(parent);
        if (rc)
            return rc;
    }
    if (__builtin_expect(!c->sealed, 0))
        return not_sealed(c, fn, key, asked);
    if (__builtin_expect(l <= 0 || c->levels[l].parent !=
                                       (parent ? parent->level : DI__ROOT), 0))
        return bad_level(c, parent, fn, l, asked, key);
    di__level *lv = &c->levels[l];
    bool top = !mem && !parent;
    if (!mem && parent)
        mem = parent;
    /* one allocation: the header, the table, the teardown stack, and a
     * talloc pool with room for the instances scopes of this level hold,
     * so building them costs no malloc and ending the scope one free */
    uint32_t shape = atomic_load_explicit(&lv->shape, memory_order_relaxed);
    di_scope *s = top ? spare_take(c, l, shape) : NULL;
    bool own = s != NULL;
    if (!s) {
        di__shape z = di__shape_of(shape);
        own = top && own_block_free();
        s = z.objs && (own || !top)
                ? _talloc_pooled_object(mem, block_bytes(z), "di_scope",
                                        z.objs, z.bytes)
                : talloc_named_const(mem, block_bytes(z), "di_scope");
        if (!s)
            return begin_nomem(c, parent);
        talloc_set_destructor(s, scope_destructor);
    }
    /* the teardown stack's entries are written when pushed */
    scope_init(s, c, (int16_t)l, shape);
    s->parent = parent;
    s->top = top;
    s->spare_ok = own;
    if (own)
        lend(s);
#ifdef DI_DEBUG
    if (di__open_add(s)) {
        s->ended = DI__ENDED; /* nothing to tear down */
        talloc_free(s);
        return begin_nomem(c, parent);
    }
#endif
    if (parent) {
        /* from now on its child may read its table: filled, and kept so */
        if (parent->indexed != parent->stack.n)
            di__tab_catch_up(parent);
        s->sibling = parent->children;
        parent->children = s;
    }
    if (__builtin_expect(s->tracing, 0))
        traced_begin(s);
    *out = s;
    return 0;
}

int di_scope_begin(di_container *c, di_scope *parent, const char *level,
                   void *mem, di_scope **out)
{
    if (out)
        *out = NULL;
    if (!c || !level || !out)
        return begin_null(parent, "di_scope_begin",
                          "the container, level and out");
    int l = di__level_find(c, level);
    return begin(c, parent, l, "di_scope_begin", level, l, mem, out);
}

DI__HOT int di_scope_begin_key(di_container *c, di_scope *parent, int level,
                               void *mem, di_scope **out)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return begin_null(parent, "di_scope_begin_key",
                          "the container and out");
    int l = (uint32_t)level < c->nlevels ? level : -1;
    return begin(c, parent, l, "di_scope_begin_key", NULL, level, mem, out);
}

/* The end of a scope begun by di_live_begin: its container is unpinned
 * last, once the scope's memory is gone or kept (it may free the
 * container). Out of line: measured, the plain end pays 5 % on request_3
 * when this is inlined there. */
__attribute__((noinline)) static int end_pinned(di_scope *s, int rc)
{
    struct di__pin *pin = s->pin;
    void (*unpin)(struct di__pin *) = s->c->unpin; /* the container stays */
    drop_block(s);
    unpin(pin);
    return rc;
}

/* Release s (settled) and free its block, or keep it as the spare. */
static inline int finish(di_scope *s, int rc)
{
    di__shape z = di__shape_of(s->shape);
    if (__builtin_expect(s->stack.n > z.objs || s->bytes > z.bytes, 0))
        learn(s);
    release(s);
    if (__builtin_expect(s->pin != NULL, 0))
        return end_pinned(s, rc);
    drop_block(s);
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

int di__settle_check(di_scope *s, const char *fn)
{
    int rc = di__check_scope_read(s);
    if (rc || (rc = busy(s, fn)))
        return rc;
    return s->ended != DI__OPEN ? di__scope_closed(s) : 0;
}

void di__settle_close(di_scope *s, int outcome, int rc, di__errlist *fails)
{
    if (s->tracing)
        traced_end(s, outcome);
    if (rc)
        keep_failures(s, fails);
}

int di_scope_settle(di_scope *s, int outcome)
{
    int rc = di__settle_check(s, "di_scope_settle");
    if (rc)
        return rc;
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
    if (s->ended == DI__OPEN)
        settle_abandoned(s, DI_LOG_INFO, &rc);
    return finish(s, rc);
}

#ifndef DI_DEBUG /* debug builds check every scope against the open set */
/* The end of the usual scope: open, top of its own tree (no parent, no
 * child scopes), nothing running in it, not traced. settle() and finish()
 * for that case, with nothing they test for the others. */
static inline int end_plain(di_scope *s, int outcome)
{
    int rc = 0;
    s->ended = DI__SETTLED;
    s->open_keys = 0;
    if (s->disposes) {
        uint32_t held = s->stack.n;
        di__errlist fails = { 0 };
        rc = di__dispose_range(s->c, s, &s->stack, 0, outcome, &fails);
        s->stack.n = held;
        if (__builtin_expect(rc != 0, 0))
            report(s->c, &fails);
    }
    return finish(s, rc);
}
#endif

DI__HOT int di_scope_end(di_scope *s, int outcome)
{
#ifndef DI_DEBUG
    if (__builtin_expect(s && s->ended == DI__OPEN && !s->parent &&
                         !s->children && !s->busy && !s->cur && !s->tracing &&
                         !s->async && s->level != DI__ROOT, 1))
        return end_plain(s, outcome);
#endif
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
    if (di__scope_find(s, key)) {
        di__scope_fail(s, DI_EEXIST, name, "di_scope_put: '%s' is already "
                       "set in this scope", name);
        return DI_EEXIST;
    }
    /* held like a built instance (no memory of its own, no dispose), so
     * that lookups find it in one place */
    if (di__stack_push(s, &s->stack, key, s->stack.n,
                       value ? value : DI__NULLINST, NULL)) {
        di__scope_fail(s, DI_ENOMEM, name, "di_scope_put: out of memory");
        return DI_ENOMEM;
    }
    di__tab_note(s);
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
