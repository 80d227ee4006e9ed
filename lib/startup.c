/*
 * startup.c — start-up code's access to the singletons (see
 * di/container.h): build them all (or some) now, in dependency order, and
 * get one outside any scope. Both resolve in the calling thread's root
 * scope, where a singleton's own create runs, so the rules are a scope's;
 * a failure is copied to the container's error, path included.
 */
#include "di_int.h"
#include "scope.h"

#include "fault.h" /* test builds: allocation failure injection */

/* Resolve key in the calling thread's root scope; a failure is reported on
 * c as well. */
static int root_get(di_container *c, di__key key, const char *name,
                    void **out)
{
    di_scope *rs = di__root_scope(c);
    if (!rs)
        return di__nomem(c, "di_root_get", DI_ENOMEM);
    int rc = key >= 0 ? di_get_key(rs, key, out) : di_get(rs, name, out);
    if (rc) {
        const di_error *e = di_scope_error(rs);
        if (e && di_error_code(e) == rc)
            di__container_report(c, di__err_copy(NULL, e));
        else
            di__container_report_fmt(c, rc, "%s: %s", name, di_strerror(rc));
    }
    return rc;
}

static int check(di_container *c, const char *fn)
{
    if (!c)
        return DI_EINVAL;
    if (!c->sealed) {
        di__container_report_fmt(c, DI_ENOTSEALED, "%s: seal the container "
                                 "first", fn);
        return DI_ENOTSEALED;
    }
    return 0;
}

int di_root_get(di_container *c, const char *name, void **out)
{
    int rc = check(c, "di_root_get");
    if (rc)
        return rc;
    if (!name || !out) {
        di__container_report_fmt(c, DI_EINVAL, "di_root_get: name and out "
                                 "must not be NULL");
        return DI_EINVAL;
    }
    return root_get(c, -1, name, out);
}

int di_container_build(di_container *c, const char *const *names)
{
    int rc = check(c, "di_container_build");
    void *v;
    for (const char *const *n = names; !rc && n && *n; n++)
        rc = root_get(c, -1, *n, &v);
    /* every singleton with a create, in registration order: each builds
     * what it needs first */
    for (di__key k = 0; !rc && !names && (uint32_t)k < c->nprov; k++) {
        const di__provider *p = di__prov(c, k);
        if (p->level == DI__ROOT && p->kind == DI__CREATE)
            rc = root_get(c, k, p->name, &v);
    }
    return rc;
}
