/*
 * seal.c — whole-graph validation and compilation.
 *
 * Seal reports every problem with its path, then (only if there were none)
 * compiles names into indices: each provider gets its level and a slot within
 * that level, each consumer a plan (the non-transient providers it needs,
 * dependencies first, in declaration order). Every pass is linear in
 * providers plus edges; the graph walks use explicit stacks, so depth is
 * bounded by memory, not by the C stack.
 */
#include <string.h>

#include "di_int.h"

#define CONFLICT (-3)
#define PENDING (-4)

typedef struct seal {
    di_container *c;
    void *tmp;
    di__errlist errs;
    bool level_ok[DI_LEVEL_MAX];
    int32_t *from;   /* first asker: provider >= 0, consumer -(i+2), none -1;
                        made by the first path_to(), only a graph with a
                        missing dependency needs it */
    uint32_t *off;   /* the graph packed (CSR): provider i's targets are */
    int32_t *adj;    /* adj[off[i] .. off[i + 1]) */
    bool any_missing;/* a required dependency has no provider */
    bool any_typed;  /* a provider dependency asks for a type */
    uint8_t *chk;    /* per provider: an edge the level check must see (to a
                        transient, or to a level that does not enclose its
                        own): the others pass it without a look */
    bool any_chk;
    bool any_set;    /* a provider is a set (its level waits for its
                        members'): else no pass over all for sets */
    /* di_container_seal() (not the checks alone): the per-provider part of
     * compiling rides on the targets pass, which reads the same records */
    bool compiling;
    uint32_t nslots[DI_LEVEL_MAX];
    uint32_t ntransients;
    int16_t *lvl;    /* each provider's level, packed: passes that follow
                        edges to random providers read this, not the records */
    int16_t *req;    /* transients: the deepest level they need, CONFLICT */
    int32_t *wit;    /* transients: index of the dep that sets req, or -1 */
    bool failed_alloc;
} seal_t;

static const char *lvl_name(const di_container *c, int l)
{
    if (l == DI__TRANSIENT)
        return "transient";
    return l >= 0 ? c->levels[l].name : "?";
}

static void nomem(seal_t *st) { st->failed_alloc = true; }

/* A problem at a path of one name (or none). */
#define PROBLEM(st, code, name, ...) \
    do { if (di__err_add(&(st)->errs, code, name, __VA_ARGS__) == DI_ENOMEM) \
             nomem(st); } while (0)

/* A dependency path being built on st->tmp: names, and the notes written
 * after them (levels), or NULL. */
typedef struct spath {
    const char **names, **notes;
    size_t n, cap;
    bool bad;              /* an allocation failed */
} spath;

static void sp_add(seal_t *st, spath *p, const char *name, const char *note)
{
    if (p->bad)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        const char **nn = talloc_realloc(st->tmp, p->names, const char *, di__count(cap));
        const char **no = nn ? talloc_realloc(st->tmp, p->notes, const char *,
                                              di__count(cap)) : NULL;
        if (nn)
            p->names = nn;
        if (!no) {
            p->bad = true;
            return;
        }
        p->notes = no;
        p->cap = cap;
    }
    p->names[p->n] = name;
    p->notes[p->n++] = note;
}

/* The path as text, as a message shows it (for a problem's reason). */
static char *sp_str(seal_t *st, const spath *p)
{
    char *s = p->bad ? NULL : talloc_strdup(st->tmp, "");
    for (size_t i = 0; s && i < p->n; i++)
        s = talloc_asprintf_append(s, "%s%s%s%s%s", i ? DI__ARROW : "",
                                   p->names[i], p->notes[i] ? " (" : "",
                                   p->notes[i] ? p->notes[i] : "",
                                   p->notes[i] ? ")" : "");
    return s;
}

/* A problem at the path p. */
#define PROBLEM_AT(st, code, p, ...) \
    do { if ((p)->bad || di__err_add_path(&(st)->errs, code, \
             &(di__path){ (p)->names, (p)->notes, (p)->n }, __VA_ARGS__) == \
             DI_ENOMEM) nomem(st); } while (0)

/* ---- levels ---- */

static void seal_levels(seal_t *st)
{
    di_container *c = st->c;
    c->levels[0].parent = -1;
    c->levels[0].ancestors = 1;
    c->levels[0].depth = 0;
    st->level_ok[0] = true;
    for (uint32_t i = 1; i < c->nlevels; i++) {
        di__level *l = &c->levels[i];
        l->parent = (int16_t)di__level_find(c, l->parent_name);
        if (l->parent < 0)
            PROBLEM(st, DI_ELEVEL, l->name, "level '%s' has an unknown parent "
                    "level '%s'", l->name, l->parent_name);
    }
    for (uint32_t i = 1; i < c->nlevels; i++) {
        uint64_t anc = 1ull << i;
        int at = c->levels[i].parent, steps = 0;
        bool cyclic = false, min = true;
        while (at > 0 && steps++ <= (int)c->nlevels) {
            if (at == (int)i) {
                cyclic = true;
                break;
            }
            anc |= 1ull << at;
            at = c->levels[at].parent;
        }
        if (cyclic) {
            /* report once, from the lowest-numbered level of the cycle */
            spath path = { 0 };
            sp_add(st, &path, c->levels[i].name, NULL);
            for (int k = c->levels[i].parent; k != (int)i;
                 k = c->levels[k].parent) {
                if (k < (int)i)
                    min = false;
                sp_add(st, &path, c->levels[k].name, NULL);
            }
            sp_add(st, &path, c->levels[i].name, NULL);
            if (min)
                PROBLEM_AT(st, DI_ELEVEL, &path, "scope levels form a cycle");
            continue;
        }
        if (at != 0)
            continue; /* unknown parent somewhere above: reported there */
        c->levels[i].ancestors = anc | 1;
        c->levels[i].depth = (uint16_t)__builtin_popcountll(anc);
        st->level_ok[i] = true;
    }
}

static int16_t lifetime_level(seal_t *st, const char *owner, const char *name,
                              bool consumer)
{
    di_container *c = st->c;
    if (!consumer && strcmp(name, "transient") == 0)
        return DI__TRANSIENT;
    int l = di__level_find(c, name);
    if (l < 0) {
        char *known = talloc_strdup(st->tmp, "");
        for (uint32_t i = 0; i < c->nlevels && known; i++)
            known = talloc_asprintf_append(known, "%s'%s'", i ? ", " : "",
                                           c->levels[i].name);
        if (!known)
            nomem(st);
        else
            PROBLEM(st, DI_ELEVEL, owner, "unknown %s '%s' (levels: %s%s)",
                    consumer ? "level" : "lifetime", name, known,
                    consumer ? "" : ", 'transient'");
        return DI__UNRESOLVED;
    }
    return st->level_ok[l] ? (int16_t)l : DI__UNRESOLVED;
}

/* ---- sets ---- */

/* A set lives at the innermost level among its members' (set.h); a
 * transient member makes it transient. state: 0 not seen, 1 in progress
 * (a cycle through sets: the cycle check reports it), 2 done. */
static int16_t set_level(seal_t *st, di__key i, uint8_t *state)
{
    di_container *c = st->c;
    di__provider *p = di__prov(c, i);
    if (!p->set || state[i] == 2)
        return st->lvl[i];
    if (state[i] == 1)
        return DI__ROOT;
    state[i] = 1;
    int16_t lv = DI__ROOT;
    int32_t at = -1; /* the member that set lv */
    bool transient = false, unresolved = false;
    for (uint32_t k = 0; k < p->ndeps; k++) {
        int32_t t = di__names_find_h(&c->pnames, p->deps[k].name,
                                     p->deps[k].len, p->deps[k].hash);
        if (t < 0)
            continue; /* missing: reported with its path */
        int16_t ml = set_level(st, t, state);
        if (ml == DI__TRANSIENT)
            transient = true;
        else if (ml < DI__ROOT)
            unresolved = true;
        else if (di__encloses(c, lv, ml)) {
            lv = ml;
            at = t;
        } else if (!di__encloses(c, ml, lv)) {
            PROBLEM(st, DI_ESCOPE, p->name, "set '%s': member '%s' lives in "
                    "'%s' and member '%s' in '%s': no scope holds both",
                    p->name, di__prov(c, at)->name, lvl_name(c, lv),
                    di__prov(c, t)->name, lvl_name(c, ml));
            unresolved = true;
        }
    }
    state[i] = 2;
    p->level = unresolved ? DI__UNRESOLVED : transient ? DI__TRANSIENT : lv;
    st->lvl[i] = p->level;
    return p->level;
}

static int set_levels(seal_t *st)
{
    di_container *c = st->c;
    uint8_t *state = NULL;
    for (di__key i = 0; i < di__nkeys(c); i++) {
        if (!di__prov(c, i)->set)
            continue;
        if (!state && !(state = talloc_zero_array(st->tmp, uint8_t, c->nprov)))
            return DI_ENOMEM;
        set_level(st, i, state);
    }
    return 0;
}

/* ---- paths ---- */

static bool seal_from(seal_t *st);

/* Add "consumer → a → b → name" to p: the first chain that reaches
 * provider i (the first call finds them all). */
static void path_to(seal_t *st, int32_t i, spath *p)
{
    di_container *c = st->c;
    if (!st->from && !seal_from(st)) {
        p->bad = true;
        return;
    }
    size_t n = 0, start = p->n;
    int32_t k = i;
    for (; k >= 0; k = st->from[k])
        n++;
    if (k <= -2)
        sp_add(st, p, c->cons[-k - 2].name, NULL);
    for (size_t m = 0; m < n; m++)
        sp_add(st, p, NULL, NULL);
    size_t j = p->n;
    for (k = i; k >= 0 && !p->bad && j > start; k = st->from[k])
        p->names[--j] = di__prov(c, k)->name;
}

#define UNSEEN INT32_MIN
#define SELF (INT32_MIN + 1)

/* Breadth-first from the consumers, then from every provider none reaches,
 * so that each provider's path is a shortest one from a consumer. Needs
 * the targets. false when out of memory. */
static bool seal_from(seal_t *st)
{
    di_container *c = st->c;
    int32_t *queue = talloc_array(st->tmp, int32_t, c->nprov + 1);
    st->from = talloc_array(st->tmp, int32_t, c->nprov + 1);
    if (!queue || !st->from) {
        TALLOC_FREE(st->from);
        talloc_free(queue);
        return false;
    }
    uint32_t head = 0, tail = 0;
    for (di__key i = 0; i < di__nkeys(c); i++)
        st->from[i] = UNSEEN;
    for (uint32_t ci = 0; ci < c->ncons; ci++)
        for (uint32_t k = 0; k < c->cons[ci].ndeps; k++) {
            int32_t t = c->cons[ci].deps[k].target;
            if (t >= 0 && st->from[t] == UNSEEN) {
                st->from[t] = -(int32_t)ci - 2;
                queue[tail++] = t;
            }
        }
    for (uint32_t i = 0;;) {
        while (head < tail) {
            int32_t u = queue[head++];
            for (uint32_t k = st->off[u]; k < st->off[u + 1]; k++) {
                int32_t t = st->adj[k];
                if (t >= 0 && st->from[t] == UNSEEN) {
                    st->from[t] = u;
                    queue[tail++] = t;
                }
            }
        }
        while (i < c->nprov && st->from[i] != UNSEEN)
            i++;
        if (i >= c->nprov)
            break;
        st->from[i] = SELF;
        queue[tail++] = (int32_t)i;
    }
    for (di__key i = 0; i < di__nkeys(c); i++)
        if (st->from[i] == SELF)
            st->from[i] = -1;
    talloc_free(queue);
    return true;
}

/* ---- missing providers, types ---- */

static void check_missing(seal_t *st, const char *owner, int32_t owner_prov,
                          di__dep *deps, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        di__dep *d = &deps[k]; /* its target was looked up already */
        if (d->target >= 0 || d->optional)
            continue;
        spath path = { 0 };
        if (owner_prov >= 0)
            path_to(st, owner_prov, &path);
        else
            sp_add(st, &path, owner, NULL);
        sp_add(st, &path, d->name, NULL);
        PROBLEM_AT(st, DI_ENOTFOUND, &path, "no provider '%s'", d->name);
    }
}

static void check_types(seal_t *st, const char *owner, di__dep *deps, uint32_t n)
{
    di_container *c = st->c;
    for (uint32_t k = 0; k < n; k++) {
        di__dep *d = &deps[k];
        if (!d->type || d->target < 0)
            continue;
        const char *has = di__prov(c, d->target)->type;
        if (has && strcmp(has, d->type) == 0)
            continue;
        spath path = { 0 };
        sp_add(st, &path, owner, NULL);
        sp_add(st, &path, d->name, NULL);
        if (has)
            PROBLEM_AT(st, DI_ETYPE, &path, "'%s' wants '%s' of type '%s', but "
                       "it provides type '%s'", owner, d->name, d->type, has);
        else
            PROBLEM_AT(st, DI_ETYPE, &path, "'%s' wants '%s' of type '%s', but "
                       "it has no type tag", owner, d->name, d->type);
    }
}

/* ---- cycles: iterative DFS, every back edge reported ---- */

/* The DFS's state: colours (0 new, 1 on the stack, 2 done), the stack of
 * providers and each one's next edge. */
typedef struct dfs_t {
    uint8_t *color;
    int32_t *stk;
    uint32_t *next;
} dfs_t;

/* Report the cycle closed by an edge to v, on the stack of sp entries,
 * with the path the walk came by: "GET /x → X1 → X2 → X2". */
static void report_cycle(seal_t *st, const dfs_t *d, uint32_t sp, int32_t v,
                         const char *entry)
{
    di_container *c = st->c;
    spath path = { 0 };
    if (entry)
        sp_add(st, &path, entry, NULL);
    for (uint32_t k = 0; k < sp; k++)
        sp_add(st, &path, di__prov(c, d->stk[k])->name, NULL);
    sp_add(st, &path, di__prov(c, v)->name, NULL);
    PROBLEM_AT(st, DI_ECYCLE, &path, "dependency cycle");
}

/* Walk from provider r (entered from the consumer entry, or NULL);
 * true when it closed a cycle. */
static bool dfs_from(seal_t *st, dfs_t *d, int32_t r, const char *entry)
{
    bool found = false;
    uint32_t sp = 0;
    d->stk[sp] = r;
    d->next[sp] = st->off[r];
    d->color[r] = 1;
    sp++;
    while (sp) {
        int32_t u = d->stk[sp - 1];
        if (d->next[sp - 1] == st->off[u + 1]) {
            d->color[u] = 2;
            sp--;
            continue;
        }
        int32_t v = st->adj[d->next[sp - 1]++];
        if (v < 0 || d->color[v] == 2)
            continue;
        if (d->color[v] == 1) {
            found = true;
            report_cycle(st, d, sp, v, entry);
            continue;
        }
        d->color[v] = 1;
        d->stk[sp] = v;
        d->next[sp] = st->off[v];
        sp++;
    }
    return found;
}

static bool seal_cycles(seal_t *st)
{
    di_container *c = st->c;
    /* when every edge leads to a provider registered earlier (providers
     * registered after what they need, as most graphs are), the order of
     * registration is a topological order: no cycle, no search */
    bool forward = false;
    for (uint32_t i = 0; i < c->nprov && !forward; i++)
        for (uint32_t k = st->off[i]; k < st->off[i + 1]; k++)
            forward |= st->adj[k] >= (int32_t)i;
    if (!forward)
        return false;
    dfs_t d = { talloc_zero_array(st->tmp, uint8_t, c->nprov),
                talloc_array(st->tmp, int32_t, c->nprov),
                talloc_array(st->tmp, uint32_t, c->nprov) };
    bool found = false;
    if (c->nprov && (!d.color || !d.stk || !d.next)) {
        nomem(st);
        return true;
    }
    /* from the consumers first, so that a cycle is reported with the path
     * by which a request would run into it; then whatever is left */
    for (uint32_t j = 0; j < c->ncons; j++)
        for (uint32_t k = 0; k < c->cons[j].ndeps; k++) {
            int32_t t = c->cons[j].deps[k].target;
            if (t >= 0 && !d.color[t])
                found |= dfs_from(st, &d, t, c->cons[j].name);
        }
    for (di__key r = 0; r < di__nkeys(c); r++)
        if (!d.color[r])
            found |= dfs_from(st, &d, (int32_t)r, NULL);
    return found;
}

/* ---- levels through transients ---- */

/* The deeper of two levels when one encloses the other, else CONFLICT. */
static int combine(const di_container *c, int a, int b)
{
    if (di__encloses(c, a, b))
        return b;
    if (di__encloses(c, b, a))
        return a;
    return CONFLICT;
}

/* The level a dependency on provider q requires of its asker. */
static int need_of(seal_t *st, int32_t q)
{
    int l = st->lvl[q];
    if (l == DI__TRANSIENT)
        return st->req[q];
    return l == DI__UNRESOLVED ? 0 : l;
}

/* "a (lvl) → b (transient) → ... → z (lvl)": follow the witnesses. */
static void level_path(seal_t *st, const char *owner, int owner_level,
                       int32_t q, spath *p)
{
    di_container *c = st->c;
    sp_add(st, p, owner, lvl_name(c, owner_level));
    for (uint32_t guard = 0; q >= 0 && guard <= c->nprov; guard++) {
        sp_add(st, p, di__prov(c, q)->name, lvl_name(c, di__prov(c, q)->level));
        if (di__prov(c, q)->level != DI__TRANSIENT || st->wit[q] < 0)
            break;
        q = di__prov(c, q)->deps[st->wit[q]].target;
    }
}

/* Post-order over transients with an explicit stack. */
static void seal_transients(seal_t *st)
{
    di_container *c = st->c;
    /* req and wit are read for transients only */
    uint32_t r0 = 0;
    while (r0 < c->nprov && st->lvl[r0] != DI__TRANSIENT)
        r0++;
    if (r0 == c->nprov)
        return;
    int32_t *stk = talloc_array(st->tmp, int32_t, c->nprov);
    uint32_t *next = talloc_array(st->tmp, uint32_t, c->nprov);
    if (c->nprov && (!stk || !next))
        return nomem(st);
    for (di__key i = 0; i < di__nkeys(c); i++) {
        st->req[i] = -1;
        st->wit[i] = -1;
    }
    for (uint32_t r = r0; r < c->nprov; r++) {
        if (st->lvl[r] != DI__TRANSIENT || st->req[r] != -1)
            continue;
        uint32_t sp = 0;
        stk[sp] = (int32_t)r;
        next[sp++] = 0;
        st->req[r] = PENDING;
        while (sp) {
            int32_t u = stk[sp - 1];
            di__provider *p = di__prov(c, u);
            if (next[sp - 1] < p->ndeps) {
                int32_t v = p->deps[next[sp - 1]++].target;
                if (v >= 0 && st->lvl[v] == DI__TRANSIENT &&
                    st->req[v] == -1) {
                    st->req[v] = PENDING;
                    stk[sp] = v;
                    next[sp++] = 0;
                }
                continue;
            }
            int r2 = 0;
            int32_t w = -1;
            for (uint32_t k = 0; k < p->ndeps; k++) {
                int32_t v = p->deps[k].target;
                if (v < 0)
                    continue;
                int n = need_of(st, v);
                if (n == PENDING)
                    continue; /* a cycle, reported already */
                if (n == CONFLICT) {
                    r2 = CONFLICT;
                    break;
                }
                int m = combine(c, r2, n);
                if (m == CONFLICT) {
                    spath pa = { 0 }, pb = { 0 };
                    level_path(st, p->name, DI__TRANSIENT, p->deps[w].target,
                               &pa);
                    level_path(st, p->name, DI__TRANSIENT, v, &pb);
                    char *a = sp_str(st, &pa), *b = sp_str(st, &pb);
                    if (!a || !b)
                        nomem(st);
                    else
                        PROBLEM(st, DI_ESCOPE, p->name, "transient '%s' needs "
                                "levels that never nest: %s and %s", p->name,
                                a, b);
                    r2 = CONFLICT;
                    break;
                }
                if (m != r2 || w < 0) {
                    r2 = m;
                    w = (int32_t)k;
                }
            }
            st->req[u] = (int16_t)r2;
            st->wit[u] = w;
            sp--;
        }
    }
}

/* Report that owner, living at level `at`, cannot depend on provider q,
 * which needs level n: a captive dependency, or a level it cannot see. */
static void report_level_edge(seal_t *st, const char *owner, int at,
                              int32_t q, bool consumer, int n);

/* Can an asker living at level `at` depend on provider q? The asker is
 * provider `who` (>= 0), or consumer -2 - who. */
static void check_level_edge(seal_t *st, int32_t who, int at, int32_t q)
{
    di_container *c = st->c;
    if (at < 0 || q < 0)
        return;
    int n = need_of(st, q);
    if (n < 0 || di__encloses(c, n, at))
        return;
    report_level_edge(st, who >= 0 ? di__prov(c, who)->name : c->cons[-2 - who].name,
                      at, q, who < 0, n);
}

static void report_level_edge(seal_t *st, const char *owner, int at,
                              int32_t q, bool consumer, int n)
{
    di_container *c = st->c;
    spath path = { 0 };
    level_path(st, owner, at, q, &path);
    int32_t z = q; /* the provider whose level is the problem */
    for (uint32_t g = 0; di__prov(c, z)->level == DI__TRANSIENT && st->wit[z] >= 0 &&
                         g <= c->nprov; g++)
        z = di__prov(c, z)->deps[st->wit[z]].target;
    if (di__encloses(c, at, n) && !consumer)
        PROBLEM_AT(st, DI_ECAPTIVE, &path, "captive dependency: '%s' lives in "
                "'%s' and would keep '%s' from '%s' alive past its scope",
                owner, lvl_name(c, at), di__prov(c, z)->name, lvl_name(c, n));
    else if (consumer)
        PROBLEM_AT(st, DI_ESCOPE, &path, "'%s' runs in '%s' scopes, which cannot "
                "see '%s' (it lives in '%s')", owner, lvl_name(c, at),
                di__prov(c, z)->name, lvl_name(c, n));
    else
        PROBLEM_AT(st, DI_ESCOPE, &path, "level '%s' cannot see level '%s' of "
                "'%s'", lvl_name(c, at), lvl_name(c, n), di__prov(c, z)->name);
}

/* ---- asynchronous providers (async.h) ---- */

/* The path from consumer cn to provider z by way of parent (a depth-first
 * search's: provider -> the one that reached it, -1 for cn itself). */
static void path_from(seal_t *st, const di__consumer *cn, const int32_t *parent,
                      int32_t z, spath *p)
{
    di_container *c = st->c;
    sp_add(st, p, cn->name, NULL);
    size_t start = p->n, n = 0;
    for (int32_t k = z; k >= 0; k = parent[k])
        n++;
    for (size_t m = 0; m < n; m++)
        sp_add(st, p, NULL, NULL);
    size_t j = p->n;
    for (int32_t k = z; k >= 0 && !p->bad && j > start; k = parent[k])
        p->names[--j] = di__prov(c, k)->name;
}

/* The first asynchronous provider consumer ci (resolved synchronously)
 * reaches, depth first, or -1; parent gets the way there. */
static int32_t reaches_async(seal_t *st, uint32_t ci, uint32_t *stamp,
                             int32_t *stk, int32_t *parent)
{
    di_container *c = st->c;
    const di__consumer *cn = &c->cons[ci];
    uint32_t sp = 0;
    for (uint32_t k = 0; k < cn->ndeps; k++) {
        int32_t r = cn->deps[k].target;
        if (r < 0 || stamp[r] == ci + 1)
            continue;
        stamp[r] = ci + 1;
        parent[r] = -1;
        stk[sp++] = r;
        while (sp) {
            int32_t u = stk[--sp];
            if (di__prov(c, u)->async)
                return u;
            for (uint32_t e = st->off[u]; e < st->off[u + 1]; e++) {
                int32_t v = st->adj[e];
                if (v >= 0 && stamp[v] != ci + 1) {
                    stamp[v] = ci + 1;
                    parent[v] = u;
                    stk[sp++] = v;
                }
            }
        }
    }
    return -1;
}

/* Apply the marks of di_async_provider() and di_async_consumer(), and
 * refuse what cannot wait: an asynchronous provider that is not of a scope
 * level, a consumer resolved synchronously that reaches one. Only when
 * something is marked. */
static void check_async(seal_t *st)
{
    di_container *c = st->c;
    for (uint32_t i = 0; i < c->nasync_marks[0]; i++) {
        const char *name = c->async_marks[0][i];
        int k = di__names_find(&c->pnames, name);
        if (k < 0) {
            PROBLEM(st, DI_ENOTFOUND, name, "di_async_provider: no provider "
                    "'%s'", name);
            continue;
        }
        di__provider *p = di__prov(c, k);
        p->async = 1;
        if (p->kind != DI__CREATE || st->lvl[k] <= DI__ROOT)
            PROBLEM(st, DI_EASYNC, name, "'%s' is asynchronous but is %s: "
                    "only a provider of a scope level may finish later "
                    "(build a singleton before serving)", name,
                    p->kind == DI__VALUE ? "a value"
                    : p->kind == DI__EXTERN ? "supplied by the host"
                    : st->lvl[k] == DI__TRANSIENT ? "a transient"
                                                  : "a singleton");
    }
    for (uint32_t i = 0; i < c->nasync_marks[1]; i++) {
        const char *name = c->async_marks[1][i];
        int k = di__names_find(&c->cnames, name);
        if (k < 0)
            PROBLEM(st, DI_ENOTFOUND, name, "di_async_consumer: no consumer "
                    "'%s'", name);
        else
            c->cons[k].async = true;
    }
    for (uint32_t i = 0; i < c->ntimeouts; i++) {
        struct di__timeout *t = &c->timeouts[i];
        t->key = di__names_find(&c->pnames, t->name);
        if (t->key < 0)
            PROBLEM(st, DI_ENOTFOUND, t->name, "di_async_timeout: no provider "
                    "'%s'", t->name);
        else if (!di__prov(c, t->key)->async)
            PROBLEM(st, DI_EASYNC, t->name, "'%s' has a timeout but is not "
                    "asynchronous (di_async_provider)", t->name);
        else if (!c->timers.start)
            PROBLEM(st, DI_EASYNC, t->name, "'%s' has a timeout, and no "
                    "timers were given to time it (di_async_timers)", t->name);
    }
    if (!c->nasync_marks[0])
        return;
    uint32_t *stamp = talloc_zero_array(st->tmp, uint32_t, c->nprov + 1);
    int32_t *stk = talloc_array(st->tmp, int32_t, c->nprov + 1);
    int32_t *parent = talloc_array(st->tmp, int32_t, c->nprov + 1);
    if (!stamp || !stk || !parent) {
        nomem(st);
        return;
    }
    for (uint32_t ci = 0; ci < c->ncons; ci++) {
        const di__consumer *cn = &c->cons[ci];
        int32_t z = cn->async ? -1 : reaches_async(st, ci, stamp, stk, parent);
        if (z < 0)
            continue;
        spath path = { 0 };
        path_from(st, cn, parent, z, &path);
        PROBLEM_AT(st, DI_EASYNC, &path, "'%s' is resolved synchronously and "
                   "needs '%s', which may finish later: mark the consumer "
                   "with di_async_consumer() and resolve it with "
                   "di_resolve_async()", cn->name, di__prov(c, z)->name);
    }
}

/* ---- compilation ---- */

/* Compile consumer cn's program for scopes of its level (plan.c): left
 * NULL when its graph does not fit one. An asynchronous consumer's builds
 * no transient (its walk, async.c, parks a pending create by plan entry). */
static int compile_steps(di_container *c, di__consumer *cn,
                         di__plan_scratch *scratch)
{
    di__key local[16], *targets = local;
    if (cn->ndeps > 16 &&
        !(targets = talloc_array(NULL, di__key, cn->ndeps)))
        return DI_ENOMEM;
    for (uint32_t k = 0; k < cn->ndeps; k++)
        targets[k] = cn->deps[k].target;
    talloc_free((void *)cn->prog); /* an earlier seal attempt's */
    cn->prog = NULL;
    int rc = cn->nplan > DI__PLAN_STEPS
                 ? 0
                 : di__prog_compile(c, cn->mem, cn->level, targets, cn->ndeps,
                                    &cn->top, !cn->async, scratch, &cn->prog);
    if (targets != local)
        talloc_free(targets);
    return rc;
}

static int compile_plans(seal_t *st)
{
    di_container *c = st->c;
    if (!c->ncons) /* nothing to plan: no scratch arrays of nprov */
        return 0;
    uint32_t *stamp = talloc_zero_array(st->tmp, uint32_t, c->nprov);
    int32_t *stk = talloc_array(st->tmp, int32_t, c->nprov + 1);
    uint32_t *next = talloc_array(st->tmp, uint32_t, c->nprov + 1);
    int32_t *buf = talloc_array(st->tmp, int32_t, c->nprov + 1);
    int32_t *parent = talloc_array(st->tmp, int32_t, c->nprov + 1);
    int32_t *at = talloc_array(st->tmp, int32_t, c->nprov + 1);
    di__plan_scratch *scratch = di__plan_scratch_new(st->tmp);
    if (!stamp || !stk || !next || !buf || !parent || !at || !scratch)
        return DI_ENOMEM;
    for (uint32_t ci = 0; ci < c->ncons; ci++) {
        di__consumer *cn = &c->cons[ci];
        uint32_t nb = 0;
        /* depth first, dependencies in declared order: the order in which
         * the recursive resolver first reaches each provider */
        for (uint32_t k = 0; k < cn->ndeps; k++) {
            int32_t r = cn->deps[k].target;
            if (r < 0 || stamp[r] == ci + 1)
                continue;
            uint32_t sp = 0;
            stamp[r] = ci + 1;
            parent[r] = -1;
            stk[sp] = r;
            next[sp++] = 0;
            while (sp) {
                di__provider *p = di__prov(c, stk[sp - 1]);
                if (next[sp - 1] < p->ndeps) {
                    int32_t v = p->deps[next[sp - 1]++].target;
                    if (v >= 0 && stamp[v] != ci + 1) {
                        stamp[v] = ci + 1;
                        parent[v] = stk[sp - 1];
                        stk[sp] = v;
                        next[sp++] = 0;
                    }
                    continue;
                }
                if (p->level != DI__TRANSIENT && p->kind != DI__VALUE) {
                    at[stk[sp - 1]] = (int32_t)nb;
                    buf[nb++] = stk[sp - 1];
                }
                sp--;
            }
        }
        cn->nplan = nb;
        cn->plan = nb ? talloc_memdup(cn->mem, buf, nb * sizeof *buf) : NULL;
        cn->plan_up = nb ? talloc_array(cn->mem, int32_t, nb) : NULL;
        if (nb && (!cn->plan || !cn->plan_up))
            return DI_ENOMEM;
        /* a parent is built after its children: its index is known now */
        for (uint32_t j = 0; j < nb; j++) {
            int32_t up = parent[buf[j]];
            cn->plan_up[j] = up < 0 || di__prov(c, up)->level == DI__TRANSIENT
                                 ? -1 : at[up];
        }
        /* the error path of each entry, fixed now: the consumer, then its
         * first askers (parents come later in the plan: fill back to front) */
        cn->top = (di__frame){ NULL, cn->name };
        cn->frames = nb ? talloc_array(cn->mem, di__frame, nb) : NULL;
        if (nb && !cn->frames)
            return DI_ENOMEM;
        for (uint32_t j = nb; j-- > 0;)
            cn->frames[j] = (di__frame){
                cn->plan_up[j] >= 0 ? &cn->frames[cn->plan_up[j]] : &cn->top,
                di__prov(c, buf[j])->name };
        int rc = compile_steps(c, cn, scratch);
        if (rc)
            return rc;
    }
    return 0;
}

/* Before the targets pass, when sealing: the tables it fills. */
static int compile_start(seal_t *st)
{
    di_container *c = st->c;
    talloc_free(c->fast);
    talloc_free(c->known);
    c->fast = talloc_array(c, di__fast, c->nprov ? c->nprov : 1);
    c->known = talloc_zero_array(c, _Atomic(void *), c->nprov + 1);
    if (!c->fast || !c->known)
        return DI_ENOMEM;
    atomic_init(&c->known[c->nprov], DI__NULLINST);
    return 0;
}

/* Provider i's slot (a singleton's index in c->singles; else its index
 * among its level's providers, or among the transients, for the program
 * that builds it: plan.c), packed entry and value (its level is final);
 * from the targets pass, in provider order. */
static inline void compile_one(seal_t *st, di__key i, di__provider *p)
{
    di_container *c = st->c;
    p->slot = 0;
    if (p->level >= 0 && p->kind != DI__VALUE)
        p->slot = st->nslots[p->level]++;
    else if (p->level == DI__TRANSIENT)
        p->slot = st->ntransients++;
    c->fast[i] = (di__fast){ p->level, (uint8_t)p->kind, p->slot };
    if (p->kind == DI__VALUE && p->value)
        atomic_init(&c->known[i], p->value);
}

/* The first shape of each level's scopes: room for the largest plan among
 * the level's consumers (what a request that resolves one consumer
 * holds); scopes that hold more teach their level a larger one (scope.c). */
static void seed_shapes(di_container *c)
{
    uint32_t objs[DI_LEVEL_MAX] = { 0 }, bytes[DI_LEVEL_MAX] = { 0 };
    for (uint32_t ci = 0; ci < c->ncons; ci++) {
        const di__consumer *cn = &c->cons[ci];
        uint32_t o = 0;
        size_t b = 0;
        /* a program's steps are the instances it holds, its transients
         * included; else the plan's entries of the level */
        for (uint32_t j = 0; cn->prog && j < cn->prog->nsteps; j++) {
            o++; /* an instance, or an external put there */
            b += cn->prog->steps[j].p->size;
        }
        for (uint32_t j = 0; !cn->prog && j < cn->nplan; j++) {
            const di__provider *p = di__prov(c, cn->plan[j]);
            if (p->level == cn->level && p->kind != DI__VALUE) {
                o++;
                b += p->size;
            }
        }
        if (cn->level > 0 && o > objs[cn->level])
            objs[cn->level] = o;
        if (cn->level > 0 && b > bytes[cn->level])
            bytes[cn->level] = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
    }
    for (uint32_t l = 0; l < c->nlevels; l++)
        atomic_store_explicit(&c->levels[l].shape,
                              di__shape_make(objs[l], bytes[l]),
                              memory_order_relaxed);
}

/* After the checks passed: the levels' sizes, the consumers' plans, the
 * singletons' table (the providers' part was done on the targets pass). */
static int compile(seal_t *st)
{
    di_container *c = st->c;
    const uint32_t *nslots = st->nslots;
    for (uint32_t l = 0; l < c->nlevels; l++)
        c->levels[l].nslots = nslots[l];
    c->ntransients = st->ntransients;
    for (uint32_t l = 0; l < DI_LEVEL_MAX; l++)
        atomic_store_explicit(&c->gets[l], NULL, memory_order_relaxed);
    talloc_free(c->progmem); /* an earlier seal attempt's */
    if (!(c->progmem = talloc_named_const(c, 0, "di programs")))
        return DI_ENOMEM;
    int rc = compile_plans(st);
    if (rc)
        return rc;
    seed_shapes(c);
    talloc_free(c->singles);
    c->nsingles = nslots[DI__ROOT];
    c->singles = talloc_zero_array(c, di__single, c->nsingles ? c->nsingles : 1);
    if (!c->singles)
        return DI_ENOMEM;
    return 0;
}

/* ---- the entry point ---- */

static void copy_problems(seal_t *st)
{
    for (const di_error *e = st->c->problems.head; e; e = e->next) {
        di__path p = { (const char *const *)e->names, NULL, e->nnames };
        if (di__err_add_path(&st->errs, e->code, &p, "%s", e->reason) ==
            DI_ENOMEM)
            nomem(st);
    }
}

/* Point every provider dependency at its target, and pack the graph: the
 * targets of provider i at st->adj[st->off[i] .. st->off[i + 1]), so that
 * the searches over the whole graph read two flat arrays instead of each
 * provider's record and dependency block; and each dependency's source for
 * resolution. With many providers the records, their dependency blocks
 * and the name map do not fit in cache: the dependency blocks eight
 * providers ahead and the map's slots four ahead (found from those blocks,
 * loaded by then) are prefetched while these resolve, and every
 * per-dependency fact is gathered in this one pass.
 * Needs st->lvl. */
static int resolve_targets(seal_t *st)
{
    enum { AHEAD = 4 };
    di_container *c = st->c;
    const di__names *m = &c->pnames;
    size_t cap = (size_t)c->nprov * 4 + 16; /* edges: grown when more */
    st->off = talloc_array(st->tmp, uint32_t, c->nprov + 1);
    st->adj = talloc_array(st->tmp, int32_t, di__count(cap));
    st->chk = talloc_array(st->tmp, uint8_t, c->nprov + 1);
    if (!st->off || !st->adj || !st->chk)
        return DI_ENOMEM;
    uint32_t n = 0;
    for (di__key i = 0; i < di__nkeys(c); i++) {
        if (i + 2 * AHEAD < di__nkeys(c) && di__prov(c, i + 2 * AHEAD)->ndeps) {
            const di__provider *q = di__prov(c, i + 2 * AHEAD);
            __builtin_prefetch(q->deps);
            __builtin_prefetch((const char *)q->deps + 64);
        }
        if (m->slots && i + AHEAD < di__nkeys(c)) {
            const di__provider *q = di__prov(c, i + AHEAD);
            for (uint32_t k = 0; k < q->ndeps; k++)
                __builtin_prefetch(&m->slots[q->deps[k].hash & m->mask]);
        }
        di__provider *p = di__prov(c, i);
        p->level = st->lvl[i];
        if (st->compiling)
            compile_one(st, i, p);
        if (n + p->ndeps > cap) {
            cap = (n + p->ndeps) * 2;
            int32_t *na = talloc_realloc(st->tmp, st->adj, int32_t, di__count(cap));
            if (!na)
                return DI_ENOMEM;
            st->adj = na;
        }
        st->off[i] = n;
        int at = st->lvl[i];
        bool chk = false;
        for (uint32_t k = 0; k < p->ndeps; k++) {
            di__dep *d = &p->deps[k];
            int32_t t = di__names_find_h(m, d->name, d->len, d->hash);
            int tl = t < 0 ? DI__ROOT : st->lvl[t];
            d->target = t;
            d->src = t < 0 ? -1 - (int32_t)c->nprov   /* the NULL sentinel */
                     : tl == DI__ROOT ? -1 - t         /* value, singleton */
                     : t;
            st->adj[n++] = t;
            st->any_missing |= t < 0 && !d->optional;
            st->any_typed |= d->type != NULL;
            chk |= at >= 0 && (tl == DI__TRANSIENT ||
                               (tl >= 0 && !di__encloses(c, tl, at)));
        }
        st->chk[i] = chk;
        st->any_chk |= chk;
    }
    st->off[c->nprov] = n;
    return 0;
}

/* Every check of the graph; problems collect in st->errs. Returns 0,
 * DI_EGRAPH or DI_ENOMEM. */
static int analyse(seal_t *st)
{
    di_container *c = st->c;
    st->tmp = talloc_new(NULL);
    if (!st->tmp)
        return DI_ENOMEM;
    st->req = talloc_array(st->tmp, int16_t, c->nprov + 1);
    st->wit = talloc_array(st->tmp, int32_t, c->nprov + 1);
    st->lvl = talloc_array(st->tmp, int16_t, c->nprov + 1);
    if (!st->req || !st->wit || !st->lvl)
        return DI_ENOMEM;
    copy_problems(st);
    seal_levels(st);
    /* the level of each distinct lifetime once; an unknown one is looked
     * up again for each provider that has it, to report it there */
    enum { UNKNOWN = INT16_MIN };
    int16_t *ltl = talloc_array(st->tmp, int16_t, c->nlt ? c->nlt : 1);
    if (!ltl)
        return DI_ENOMEM;
    for (uint32_t i = 0; i < c->nlt; i++) {
        const char *name = c->lifetimes[i];
        int l = di__level_find(c, name);
        ltl[i] = strcmp(name, "transient") == 0 ? DI__TRANSIENT
                 : l < 0                        ? UNKNOWN
                 : st->level_ok[l]              ? (int16_t)l
                                                : DI__UNRESOLVED;
    }
    /* the levels from the packed lifetimes, not the records (which the
     * targets pass reads next, and sets p->level from these) */
    for (di__key i = 0; i < di__nkeys(c); i++) {
        int16_t l = c->lifetime_of[i] == DI__LT_VALUE ? DI__ROOT : ltl[c->lifetime_of[i]];
        if (l == UNKNOWN)
            l = lifetime_level(st, di__prov(c, i)->name, c->lifetimes[di__prov(c, i)->lt],
                               false);
        st->lvl[i] = l;
    }
    st->any_set = c->nsets > 0;
    if (st->any_set && set_levels(st))
        return DI_ENOMEM;
    for (uint32_t i = 0; i < c->ncons; i++) {
        di__consumer *cn = &c->cons[i];
        cn->level = lifetime_level(st, cn->name, cn->level_name, true);
        for (uint32_t k = 0; k < cn->ndeps; k++)
            cn->deps[k].target = di__names_find_h(&c->pnames, cn->deps[k].name,
                                                  cn->deps[k].len,
                                                  cn->deps[k].hash);
    }
    if ((st->compiling && compile_start(st)) || resolve_targets(st))
        return DI_ENOMEM;
    for (uint32_t i = 0; i < c->ncons; i++)
        check_missing(st, c->cons[i].name, -1, c->cons[i].deps,
                      c->cons[i].ndeps);
    for (di__key i = 0; st->any_missing && i < di__nkeys(c); i++)
        check_missing(st, di__prov(c, i)->name, (int32_t)i, di__prov(c, i)->deps,
                      di__prov(c, i)->ndeps);
    bool cyclic = seal_cycles(st);
    seal_transients(st);
    if (st->failed_alloc) /* the later checks read what these computed */
        return DI_ENOMEM;
    for (di__key i = 0; st->any_typed && i < di__nkeys(c); i++)
        check_types(st, di__prov(c, i)->name, di__prov(c, i)->deps, di__prov(c, i)->ndeps);
    for (di__key i = 0; st->any_chk && i < di__nkeys(c); i++) {
        if (!st->chk[i])
            continue;
        for (uint32_t k = st->off[i]; k < st->off[i + 1]; k++)
            check_level_edge(st, (int32_t)i, st->lvl[i], st->adj[k]);
    }
    for (uint32_t i = 0; i < c->ncons; i++) {
        di__consumer *cn = &c->cons[i];
        check_types(st, cn->name, cn->deps, cn->ndeps);
        for (uint32_t k = 0; k < cn->ndeps; k++)
            check_level_edge(st, -2 - (int32_t)i, cn->level,
                             cn->deps[k].target);
    }
    if (!cyclic && (c->nasync_marks[0] || c->nasync_marks[1] || c->ntimeouts))
        check_async(st);
    if (c->models && di__models_check(c, &st->errs))
        st->failed_alloc = true;
    if (st->failed_alloc)
        return DI_ENOMEM;
    return st->errs.head || cyclic ? DI_EGRAPH : 0;
}

int di__seal_check(di_container *c, void *mem, struct di_error **problems)
{
    seal_t st = { .c = c };
    *problems = NULL;
    int rc = analyse(&st);
    if (rc == DI_EGRAPH)
        *problems = talloc_steal(mem, st.errs.head);
    else
        talloc_free(st.errs.head);
    talloc_free(st.tmp);
    return rc == DI_ENOMEM ? rc : 0;
}

int di_container_seal(di_container *c)
{
    if (!c)
        return DI_EINVAL;
    if (c->sealed) {
        di__reg_error(c, DI_ESEALED, "di_container_seal: already sealed");
        return DI_ESEALED;
    }
    seal_t st = { .c = c, .compiling = true };
    int rc = analyse(&st);
    if (!rc)
        rc = compile(&st);
    if (rc == DI_EGRAPH) {
        di__reg_error_list(c, st.errs.head);
        st.errs.head = NULL;
    } else if (rc == DI_ENOMEM || (c->metrics && (rc = di__metrics_seal(c)))) {
        di__reg_error(c, DI_ENOMEM, "di_container_seal: out of memory");
    } else {
        c->sealed = true;
    }
    talloc_free(st.errs.head);
    talloc_free(st.tmp);
    return rc;
}
