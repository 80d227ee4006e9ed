/*
 * scope.h (lib/) — the scope layer's internal interface (scope.c), for the
 * files above it (resolution, consumers, memory reports, tracing, the
 * router): errors kept on a scope, teardown stacks, root scopes, and the
 * checks that a scope may be read or resolved from. Lower layers
 * (container, providers, kinds, plugins, params) do not include it: they
 * reach the scope layer only through the hooks it registers on the
 * container (di_container.teardown).
 */
#ifndef DI_LIB_SCOPE_H
#define DI_LIB_SCOPE_H

#include "di_int.h"

/* The scope's error (scope.c): at a path of one name (or none), or at p. */
void di__scope_fail(di_scope *s, int code, const char *name, const char *fmt,
                    ...) DI_PRINTF(4, 5);
void di__scope_fail_path(di_scope *s, int code, const di__path *p,
                         const char *fmt, ...) DI_PRINTF(4, 5);
/* push onto a teardown stack; mem: the scope that owns it (its stack), or
 * NULL (a singleton's pending stack) */
int di__stack_grow_push(di_scope *mem, di__stack *st,
                        di__key prov, uint32_t mark, void *inst, void *imem);
/* Fields are stored one by one: a struct built on the stack and copied in
 * whole would be read back with wider loads than it was written with, and
 * stall on store forwarding. */
static inline int di__stack_push(di_scope *mem, di__stack *st,
                                 di__key prov, uint32_t mark, void *inst,
                                 void *imem)
{
    if (st->n < st->cap) {
        di__entry *d = &st->e[st->n++];
        d->prov = prov;
        d->mark = mark;
        d->inst = inst;
        d->mem = imem;
        return 0;
    }
    return di__stack_grow_push(mem, st, prov, mark, inst, imem);
}
/* A scope's instance table (di__scope_find) has at least two positions
 * for each entry its stack has room for (the block is made so, and the
 * stack's growth grows it): a put always finds room.
 * After entries were pushed on s's stack: while s has child scopes, which
 * may read its table from their own threads, they go into it now; else at
 * the next lookup. */
static inline void di__tab_note(di_scope *s)
{
    if (__builtin_expect(s->children != NULL, 0))
        di__tab_catch_up(s);
}
/* The entries of s's stack moved: its table is filled afresh. */
void di__tab_rebuild(di_scope *s);
int di__dispose_range(di_container *c, di_scope *s, di__stack *st,
                      uint32_t from, int outcome, di__errlist *fails);
int di__dispose_stack(di_container *c, di_scope *s, di__stack *st, int outcome,
                      di__errlist *fails);

/* scope.c: this thread's root scope of c — level DI__ROOT, no parent, alive
 * as long as c: the scope in which singletons are built and that their
 * creates get as b->scope, so that nothing of a request can reach them.
 * NULL when out of memory. */
di_scope *di__root_scope(di_container *c);

/* scope.c: di_scope_put() for the provider with that key (found by name;
 * -1: none), the name for its errors */
int di__scope_put_key(di_scope *s, di__key key, const char *name, void *value);

/* scope.c: DI_ESTALE for a scope that is not open, with the reason kept on
 * it when it is settled (its memory is still there). */
int di__scope_closed(di_scope *s);

/* scope.c, for an asynchronous settle (async.c): whether s may be settled
 * now by fn (0, or the error, kept on s); the settle's first part (s
 * marked settled, its open child scopes settled as abandoned, what waits
 * in it called back) with its rc; and its last (tracing told, the failures
 * kept on s when rc is not 0). */
int di__settle_check(di_scope *s, const char *fn);
int di__settle_open(di_scope *s, di__errlist *fails);
void di__settle_close(di_scope *s, int outcome, int rc, di__errlist *fails);

/* 0 for a scope whose memory may be read: open or settled; DI_EINVAL for
 * NULL, DI_ESTALE for an ended one (debug builds: for anything not a live
 * scope). */
static inline int di__check_scope_read(const di_scope *s)
{
    if (!s)
        return DI_EINVAL;
#ifdef DI_DEBUG
    if (!di__open_has(s))
        return DI_ESTALE;
#endif
    return s->ended == DI__ENDED ? DI_ESTALE : 0;
}

/* 0 for an open scope, that may be resolved from; as above, and DI_ESTALE
 * for a settled one too. */
static inline int di__check_scope(di_scope *s)
{
    int rc = di__check_scope_read(s);
    if (rc)
        return rc;
    return __builtin_expect(s->ended != DI__OPEN, 0) ? di__scope_closed(s) : 0;
}

#endif
