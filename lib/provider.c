/*
 * provider.c — registering providers and values, and overriding them.
 * Registration copies everything it is given into the container.
 */
#include <string.h>

#include "di_int.h"

/* "?name:type" -> dep, its strings written at *w (advanced). The spec has
 * been measured: *w has room for it. 0 or DI_EINVAL. */
static int parse_into(const char *spec, di__dep *d, char **w)
{
    memset(d, 0, sizeof *d);
    d->target = -1;
    if (spec[0] == '?') {
        d->optional = true;
        spec++;
    }
    /* copy the name up to ':' or the end, checking as it goes */
    char *name = *w, *o = name;
    const char *p = spec;
    for (; *p && *p != ':'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f || o - name == DI_NAME_MAX)
            return DI_EINVAL;
        *o++ = *p;
    }
    *o++ = '\0';
    *w = o;
    d->name = name;
    if (!name[0] || name[0] == '?')
        return DI_EINVAL;
    d->len = (uint8_t)(o - 1 - name);
    d->hash = di__hash_len(name, d->len);
    if (*p == ':') {
        size_t tn = strlen(p + 1);
        char *type = *w;
        memcpy(type, p + 1, tn + 1);
        *w += tn + 1;
        d->type = type;
        if (!di__valid_name(type, true))
            return DI_EINVAL;
    }
    return 0;
}

/* Bytes to hold k parsed specs: the array and every string in it. */
static size_t block_size(const char *const *specs, uint32_t k)
{
    size_t bytes = k * sizeof(di__dep);
    for (uint32_t i = 0; i < k; i++)
        bytes += strlen(specs[i]) + 1;
    return bytes;
}

/* Parse k specs into the block at deps (block_size() bytes). 0 or
 * DI_EINVAL with *bad the index of the malformed one. */
static int parse_into_block(di__dep *deps, const char *const *specs,
                            uint32_t k, uint32_t *bad)
{
    char *w = (char *)(deps + k);
    for (uint32_t i = 0; i < k; i++)
        if (parse_into(specs[i], &deps[i], &w)) {
            *bad = i;
            return DI_EINVAL;
        }
    return 0;
}

/* Parse NULL-terminated specs into one block on mem. */
static int parse_block(void *mem, const char *const *specs, uint32_t k,
                       di__dep **out, uint32_t *bad)
{
    di__dep *deps = talloc_named_const(mem, block_size(specs, k), "di_deps");
    if (!deps)
        return DI_ENOMEM;
    if (parse_into_block(deps, specs, k, bad)) {
        talloc_free(deps);
        return DI_EINVAL;
    }
    *out = deps;
    return 0;
}

static void report_malformed(di_container *c, const char *owner,
                             const char *const *specs, uint32_t bad)
{
    di__reg_error(c, DI_EINVAL, "'%s': dependency #%u '%s' is malformed: "
                  "expected [?]name[:type], names of 1 to %d bytes without "
                  "':'", owner, bad + 1, specs[bad], DI_NAME_MAX);
}

int di__parse_dep(void *mem, const char *spec, di__dep *d)
{
    if (!spec)
        return DI_EINVAL;
    di__dep *one;
    uint32_t bad;
    int rc = parse_block(mem, &spec, 1, &one, &bad);
    if (!rc)
        *d = *one; /* the strings stay in the block, under mem */
    return rc;
}

/* Copy deps (NULL-terminated) into a fresh block on mem. */
int di__parse_deps(di_container *c, void *mem, const char *owner,
                   const char *const *specs, di__dep **out, uint32_t *n)
{
    uint32_t k = 0;
    while (specs && specs[k])
        k++;
    *n = k;
    *out = NULL;
    if (!k)
        return 0;
    uint32_t bad = 0;
    int rc = parse_block(mem, specs, k, out, &bad);
    if (rc == DI_EINVAL)
        report_malformed(c, owner, specs, bad);
    return rc;
}

/* What a provider made from a kind carries besides its descriptor. */
typedef struct extra {
    di_params *params;
    const char *kind;
    bool external;  /* di_provide_external(): value-like, at a level */
    bool set;       /* di_set_declare() */
} extra;

/* The index of lifetime in c->lifetimes, added if new; or DI_ENOMEM. */
static int intern_lifetime(di_container *c, const char *lifetime)
{
    int i = di__names_find(&c->ltnames, lifetime);
    if (i >= 0)
        return i;
    const char **v = talloc_realloc(c, c->lifetimes, const char *, c->nlt + 1);
    if (!v)
        return DI_ENOMEM;
    c->lifetimes = v;
    char *copy = talloc_strdup(c, lifetime);
    if (!copy || di__names_put(c, &c->ltnames, copy, (int)c->nlt)) {
        talloc_free(copy);
        return DI_ENOMEM;
    }
    v[c->nlt] = copy;
    return (int)c->nlt++;
}

/* Fill a provider record from a descriptor (or a value) on a fresh context. */
void *di__arena_alloc(di_container *c, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > c->arena.left) {
        /* chunks double from 4 KiB to 1 MiB: a small container stays
         * small, a large one takes few blocks */
        size_t size = c->arena.next ? c->arena.next : 4096;
        c->arena.next = size < (1u << 20) ? size * 2 : size;
        if (size < n)
            size = n;
        char *chunk = talloc_named_const(c, size, "di_arena");
        if (!chunk)
            return NULL;
        c->arena.cur = chunk;
        c->arena.left = size;
    }
    void *p = c->arena.cur;
    c->arena.cur += n;
    c->arena.left -= n;
    return p;
}

static int make_provider(di_container *c, const di_provider_desc *d,
                         size_t nlen, bool value, void *v, const extra *x,
                         di__provider *p)
{
    memset(p, 0, sizeof *p);
    bool ext = x && x->external;
    const char *lifetime = value && !ext ? "singleton" : d->lifetime;
    /* one block, the context of everything the provider keeps: its
     * dependencies (array first, for alignment), name and type */
    uint32_t k = 0;
    while (d->deps && d->deps[k])
        k++;
    size_t dl = block_size(d->deps, k);
    size_t nl = nlen + 1, tl = d->type ? strlen(d->type) + 1 : 0;
    int lt = intern_lifetime(c, lifetime);
    if (lt < 0)
        return lt;
    char *blk = di__arena_alloc(c, dl + nl + tl);
    if (!blk)
        return DI_ENOMEM;
    p->name = memcpy(blk + dl, d->name, nl);
    p->type = d->type ? memcpy(blk + dl + nl, d->type, tl) : NULL;
    p->lt = (uint32_t)lt;
    uint32_t bad;
    if (k && parse_into_block((di__dep *)blk, d->deps, k, &bad)) {
        report_malformed(c, p->name, d->deps, bad);
        return DI_EINVAL; /* the block stays in the arena */
    }
    p->deps = k ? (di__dep *)blk : NULL;
    p->ndeps = k;
    p->kind = (uint8_t)(ext ? DI__EXTERN : value ? DI__VALUE : DI__CREATE);
    p->create = d->create;
    p->dispose = d->dispose;
    p->data = d->data;
    p->value = v;
    p->size = d->size;
    p->level = DI__UNRESOLVED;
    p->set = x && x->set;
    if (x && (x->kind || x->set) && !(p->mem = talloc_new(c)))
        return DI_ENOMEM;
    if (x && x->kind) {
        p->kind_name = talloc_strdup(p->mem, x->kind);
        if (!p->kind_name)
            goto nomem;
        p->params = talloc_steal(p->mem, x->params);
    }
    return 0;
nomem:
    talloc_free(p->mem);
    return DI_ENOMEM;
}

/* What c->lifetime_of keeps for p (see di_int.h). */
static uint32_t packed_lt(const di__provider *p)
{
    return p->kind == DI__VALUE ? DI__LT_VALUE : p->lt;
}

/* Whether d can be registered (an error on c if not), and the length of
 * its name in *nlen. */
static int check_desc(di_container *c, const char *fn, const di_provider_desc *d,
                      bool value, size_t *nlen)
{
    if (di__closed(c, fn, d && d->name ? d->name : "(null)"))
        return DI_ESEALED;
    if (!d || !d->name || !(*nlen = di__name_len(d->name, true))) {
        di__reg_error(c, DI_EINVAL, "%s: a provider needs a name of 1 to %d "
                      "bytes, not starting with '?', without ':' or control "
                      "characters", fn, DI_NAME_MAX);
        return DI_EINVAL;
    }
    if (value)
        return 0;
    if (!d->lifetime || !d->create) {
        di__reg_error(c, DI_EINVAL, "%s('%s'): %s is required", fn, d->name,
                      !d->lifetime ? "a lifetime (\"singleton\", "
                      "\"transient\" or a level)" : "a create function");
        return DI_EINVAL;
    }
    if (d->type && !di__valid_name(d->type, true)) {
        di__reg_error(c, DI_EINVAL, "%s('%s'): malformed type tag", fn, d->name);
        return DI_EINVAL;
    }
    return 0;
}

/* Room for one more record (see DI__PCHUNK) and its packed lifetime. Called
 * when the records are full, which happens at every multiple of DI__PCHUNK:
 * the packed array's capacity, a power of two, is always met here. */
static int grow_records(di_container *c)
{
    if (c->nprov == c->caplifetime) {
        uint32_t cap = c->caplifetime ? c->caplifetime * 2 : 16;
        uint32_t *nl = talloc_realloc(c, c->lifetime_of, uint32_t, cap);
        if (!nl)
            return DI_ENOMEM;
        c->lifetime_of = nl;
        c->caplifetime = cap;
    }
    uint32_t k = c->nprov >> DI__PSHIFT;
    if (k == c->npchunk) {
        di__provider **t = talloc_realloc(c, c->pchunk, di__provider *, k + 1);
        if (!t)
            return DI_ENOMEM;
        c->pchunk = t;
        t[k] = NULL;
        c->npchunk = k + 1;
    }
    /* a new chunk is a full one, except the first, which doubles */
    uint32_t cap = k ? DI__PCHUNK : c->capprov ? c->capprov * 2 : 16;
    di__provider *ch = talloc_realloc(c, c->pchunk[k], di__provider, cap);
    if (!ch)
        return DI_ENOMEM;
    c->pchunk[k] = ch;
    c->capprov = (k << DI__PSHIFT) + cap;
    return 0;
}

static int add_to(di_container *c, const char *fn, const di_provider_desc *d,
                  bool value, void *v, const extra *x)
{
    /* the dependency names are the caller's strings, anywhere in memory:
     * start loading them all now, so that their cache misses overlap
     * instead of coming one after the other when they are measured */
    for (uint32_t k = 0; d && d->deps && k < 8 && d->deps[k]; k++)
        __builtin_prefetch(d->deps[k]);
    size_t nlen;
    int rc = check_desc(c, fn, d, value, &nlen);
    if (rc)
        return rc;
    /* the name's slot loads while the record is made */
    uint32_t h = di__hash_len(d->name, nlen);
    di__names_prefetch(&c->pnames, h);
    if (c->nprov == c->capprov && grow_records(c))
        return DI_ENOMEM;
    di__provider p;
    rc = make_provider(c, d, nlen, value, v, x, &p);
    if (rc)
        return rc;
    if (di__names_find_h(&c->pnames, d->name, nlen, h) >= 0) {
        talloc_free(p.mem);
        di__reg_error(c, DI_EEXIST, "%s: a provider named '%s' is already "
                      "registered (use di_override to replace it)", fn, d->name);
        di__err_add(&c->problems, DI_EEXIST, d->name,
                    "provider '%s' is registered twice", d->name);
        return DI_EEXIST;
    }
    if (di__names_put_h(c, &c->pnames, p.name, nlen, h, (int)c->nprov)) {
        talloc_free(p.mem);
        return DI_ENOMEM;
    }
    c->lifetime_of[c->nprov] = packed_lt(&p);
    c->nsets += p.set;
    *di__prov(c, (int32_t)c->nprov++) = p;
    return 0;
}

static int replace_in(di_container *c, const char *fn,
                      const di_provider_desc *d, bool value, void *v,
                      const extra *x)
{
    size_t nlen;
    int rc = check_desc(c, fn, d, value, &nlen);
    if (rc)
        return rc;
    int i = di__names_find(&c->pnames, d->name);
    if (i < 0) {
        di__reg_error(c, DI_ENOTFOUND, "%s: no provider named '%s' to "
                      "override", fn, d->name);
        di__err_add(&c->problems, DI_ENOTFOUND, d->name,
                    "override of unknown provider '%s'", d->name);
        return DI_ENOTFOUND;
    }
    if (di__prov(c, i)->set) {
        di__reg_error(c, DI_EINVAL, "%s: '%s' is a set: override its "
                      "members instead", fn, d->name);
        return DI_EINVAL;
    }
    di__provider p;
    rc = make_provider(c, d, nlen, value, v, x, &p);
    if (rc)
        return rc;
    if (di__names_put(c, &c->pnames, p.name, i)) {
        talloc_free(p.mem);
        return DI_ENOMEM;
    }
    talloc_free(di__prov(c, i)->mem);
    c->lifetime_of[i] = packed_lt(&p);
    *di__prov(c, i) = p;
    return 0;
}

static int add(di_container *c, const di_provider_desc *d, bool value, void *v,
               const extra *x)
{
    const char *fn = x && x->set        ? "di_set_declare"
                     : x && x->external ? "di_provide_external"
                     : x ? "di_instantiate" : value ? "di_provide_value"
                     : "di_provide";
    return di__nomem(c, fn, add_to(c, fn, d, value, v, x));
}

static int replace(di_container *c, const di_provider_desc *d, bool value,
                   void *v, const extra *x)
{
    const char *fn = x ? "di_instantiate" : value ? "di_override_value"
                                                  : "di_override";
    return di__nomem(c, fn, replace_in(c, fn, d, value, v, x));
}

int di_provide(di_container *c, const di_provider_desc *desc)
{
    return c ? add(c, desc, false, NULL, NULL) : DI_EINVAL;
}

int di_override(di_container *c, const di_provider_desc *desc)
{
    return c ? replace(c, desc, false, NULL, NULL) : DI_EINVAL;
}

int di_provide_external(di_container *c, const char *name, const char *type,
                        const char *level)
{
    if (!c)
        return DI_EINVAL;
    if (!level || strcmp(level, "transient") == 0 ||
        strcmp(level, "singleton") == 0) {
        di__reg_error(c, DI_EINVAL, "di_provide_external('%s'): needs a scope "
                      "level such as \"request\" (for a singleton use "
                      "di_provide_value)", name ? name : "(null)");
        return DI_EINVAL;
    }
    di_provider_desc d = { .name = name, .type = type, .lifetime = level };
    extra x = { .external = true };
    return add(c, &d, true, NULL, &x);
}

int di__provide_set(di_container *c, const char *name, di_create_fn create)
{
    /* the lifetime is a placeholder: seal gives a set its members' */
    di_provider_desc d = { .name = name, .lifetime = "singleton",
                           .create = create, .size = sizeof(di_set) };
    extra x = { .set = true };
    return add(c, &d, false, NULL, &x);
}

int di_provide_value(di_container *c, const char *name, const char *type,
                     void *value)
{
    di_provider_desc d = { .name = name, .type = type };
    return c ? add(c, &d, true, value, NULL) : DI_EINVAL;
}

int di_override_value(di_container *c, const char *name, const char *type,
                      void *value)
{
    di_provider_desc d = { .name = name, .type = type };
    return c ? replace(c, &d, true, value, NULL) : DI_EINVAL;
}

int di__provide_kind(di_container *c, const di_provider_desc *d, bool override,
                     di_params *params, const char *kind)
{
    extra x = { .params = params, .kind = kind };
    return override ? replace(c, d, false, NULL, &x) : add(c, d, false, NULL, &x);
}
