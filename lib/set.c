/*
 * set.c — multi-bindings. A set is a provider of its own (its name in the
 * providers' namespace, marked as a set) whose dependencies are its
 * members, in the order they were added, and whose create packs their
 * instances into a di_set. Everything else — seal's checks with paths,
 * caching, teardown, the graph export — is what providers already have;
 * seal only gives the set the innermost level among its members (seal.c).
 */
#include <string.h>

#include "di_int.h"

static int set_create(const di_build *b, void **out)
{
    di_set *s = b->mem;
    s->n = b->ndeps;
    if (s->n) {
        void **items = (void **)(s + 1);
        memcpy(items, b->deps, s->n * sizeof *items);
        s->items = items;
    }
    *out = s;
    return 0;
}

/* Common checks: the container is open, the names are well formed. */
static int check(di_container *c, const char *fn, const char *set,
                 const char *member, bool want_member)
{
    if (di__closed(c, fn, set ? set : "(null)"))
        return DI_ESEALED;
    if (!set || !di__valid_name(set, true) ||
        (want_member && (!member || !di__valid_name(member, true)))) {
        di__reg_error(c, DI_EINVAL, "%s: set and member names must be 1 to "
                      "%d bytes, not starting with '?', without ':' or "
                      "control characters", fn, DI_NAME_MAX);
        return DI_EINVAL;
    }
    return 0;
}

int di_set_declare(di_container *c, const char *name)
{
    if (!c)
        return DI_EINVAL;
    int rc = check(c, "di_set_declare", name, NULL, false);
    if (rc)
        return rc;
    int i = di__names_find(&c->pnames, name);
    if (i >= 0 && di__prov(c, i)->set)
        return 0;
    if (i >= 0) {
        di__reg_error(c, DI_EEXIST, "di_set_declare: '%s' is already a "
                      "provider, not a set", name);
        return DI_EEXIST;
    }
    return di__provide_set(c, name, set_create);
}

static int add_member(di_container *c, const char *set, const char *member)
{
    int rc = check(c, "di_set_add", set, member, true);
    if (rc)
        return rc;
    int i = di__names_find(&c->pnames, set);
    if (i < 0 || !di__prov(c, i)->set) {
        di__reg_error(c, DI_ENOTFOUND, "di_set_add('%s', '%s'): %s", set,
                      member, i < 0 ? "no such set (declare it with "
                                      "di_set_declare)"
                                    : "that is a provider, not a set");
        return DI_ENOTFOUND;
    }
    di__provider *p = di__prov(c, i);
    for (uint32_t k = 0; k < p->ndeps; k++)
        if (strcmp(p->deps[k].name, member) == 0) {
            di__reg_error(c, DI_EEXIST, "di_set_add('%s', '%s'): already a "
                          "member", set, member);
            return DI_EEXIST;
        }
    di__dep *nd = talloc_realloc(p->mem, p->deps, di__dep, p->ndeps + 1);
    if (!nd)
        return DI_ENOMEM;
    p->deps = nd;
    if (di__parse_dep(p->mem, member, &nd[p->ndeps]))
        return DI_ENOMEM; /* the name is valid: only memory can fail */
    p->ndeps++;
    p->size = sizeof(di_set) + p->ndeps * sizeof(void *);
    return 0;
}

int di_set_add(di_container *c, const char *set, const char *member)
{
    return c ? di__nomem(c, "di_set_add", add_member(c, set, member))
             : DI_EINVAL;
}
