/*
 * consumer.c — consumers: registration and whole-list resolution.
 */
#include <string.h>

#include "scope.h"

static int consumer_add(di_container *c, const di_consumer_desc *d)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_consumer_add", d && d->name ? d->name : "(null)"))
        return DI_ESEALED;
    if (!d || !d->name || !di__valid_name(d->name, false) ||
        (d->level && !di__valid_name(d->level, true))) {
        di__reg_error(c, DI_EINVAL, "di_consumer_add: a consumer needs a name "
                      "of 1 to %d bytes without control characters (and a "
                      "well-formed level, if any)", DI_NAME_MAX);
        return DI_EINVAL;
    }
    if (di__names_find(&c->cnames, d->name) >= 0) {
        di__reg_error(c, DI_EEXIST, "di_consumer_add: a consumer named '%s' "
                      "is already registered", d->name);
        di__err_add(&c->problems, DI_EEXIST, d->name,
                    "consumer '%s' is registered twice", d->name);
        return DI_EEXIST;
    }
    if (c->ncons == c->capcons) {
        uint32_t cap = c->capcons ? c->capcons * 2 : 16;
        di__consumer *nc = talloc_realloc(c, c->cons, di__consumer, cap);
        if (!nc)
            return DI_ENOMEM;
        c->cons = nc;
        c->capcons = cap;
    }
    di__consumer cn = { .data = d->data, .level = DI__UNRESOLVED };
    cn.mem = talloc_new(c);
    if (!cn.mem)
        return DI_ENOMEM;
    cn.name = talloc_strdup(cn.mem, d->name);
    cn.level_name = talloc_strdup(cn.mem, d->level ? d->level : "request");
    int rc = !cn.name || !cn.level_name ? DI_ENOMEM
             : di__parse_deps(c, cn.mem, d->name, d->deps, &cn.deps, &cn.ndeps);
    if (!rc && di__names_put(c, &c->cnames, cn.name, (int)c->ncons))
        rc = DI_ENOMEM;
    if (rc) {
        talloc_free(cn.mem);
        return rc;
    }
    c->cons[c->ncons++] = cn;
    return 0;
}

int di_consumer_add(di_container *c, const di_consumer_desc *d)
{
    return di__nomem(c, "di_consumer_add", consumer_add(c, d));
}

int di_consumer_key(const di_container *c, const char *name)
{
    if (!c || !name)
        return DI_EINVAL;
    if (!c->sealed)
        return DI_ENOTSEALED;
    int i = di__names_find(&c->cnames, name);
    return i < 0 ? DI_ENOTFOUND : i;
}

void *di_consumer_data(const di_container *c, int key)
{
    if (!c || !c->sealed || key < 0 || (uint32_t)key >= c->ncons)
        return NULL;
    return c->cons[key].data;
}

DI__HOT int di_resolve_key(di_scope *s, int key, void **out, size_t n)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    di_container *c = s->c;
    if (key < 0 || (uint32_t)key >= c->ncons || (!out && n)) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_resolve: no consumer key %d "
                       "(or out is NULL)", key);
        return DI_EINVAL;
    }
    const di__consumer *cn = &c->cons[key];
    if (cn->prog && s->level == cn->level && !s->cur && n >= cn->ndeps) {
        rc = di__resolve_plan(s, cn->prog, out);
        if (rc != DI__FALLBACK)
            return rc;
    }
    /* from a create: the consumer's path continues the create's */
    di__frame f = { s->cur ? s->cur->frame : NULL, cn->name };
    if (n < cn->ndeps) {
        di__scope_fail(s, DI_EINVAL, cn->name, "di_resolve: out holds %zu "
                       "pointers, the consumer has %u dependencies", n,
                       cn->ndeps);
        return DI_EINVAL;
    }
    if (!di__encloses(c, cn->level, s->level)) {
        di__path *path = di__frame_path(NULL, &f);
        di__scope_fail_path(s, DI_ESCOPE, path ? path : &(di__path){ 0 },
                            "'%s' runs in '%s' scopes, asked from a '%s' "
                            "scope", cn->name, c->levels[cn->level].name,
                            c->levels[s->level].name);
        talloc_free(path);
        return DI_ESCOPE;
    }
    for (uint32_t i = 0; i < cn->ndeps; i++) {
        rc = di__resolve_dep(s, &cn->deps[i], &f, &out[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int di_resolve(di_scope *s, const char *consumer, void **out, size_t n)
{
    int rc = di__check_scope(s);
    if (rc)
        return rc;
    if (!consumer) {
        di__scope_fail(s, DI_EINVAL, NULL, "di_resolve: consumer must not be NULL");
        return DI_EINVAL;
    }
    int key = di__names_find(&s->c->cnames, consumer);
    if (key < 0) {
        di__scope_fail(s, DI_ENOTFOUND, consumer, "no consumer '%s'", consumer);
        return DI_ENOTFOUND;
    }
    return di_resolve_key(s, key, out, n);
}

char *di__consumer_path(const di_container *c, int key, const char *provider)
{
    if (key < 0 || (uint32_t)key >= c->ncons)
        return NULL;
    const di__consumer *cn = &c->cons[key];
    int p = di__names_find(&c->pnames, provider);
    for (uint32_t i = 0; p >= 0 && i < cn->nplan; i++)
        if (cn->plan[i] == p)
            return di__path_str(&cn->frames[i]);
    return NULL;
}
