/*
 * container.c — the container's life: creation, scope levels, error
 * reporting, singleton teardown and freeing.
 */
#include <stdarg.h>
#include <string.h>

#include "di_int.h"

char di__null_instance;
_Thread_local di_container *di__calling DI__TLS;

/* Post-seal errors are kept in a ring: one stays valid until this many more
 * have been reported (see di_container_error()). */

static int container_teardown(di_container *c, int *disposed_rc);

static int container_destructor(di_container *c)
{
    di__spare_drop(DI__SPARE_SCOPE, c->serial);
    if (!c->tearing_down)
        container_teardown(c, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    if (c->release_plugins) {
        /* instances may hold talloc destructors that live in a plugin:
         * free them all before the plugins may be closed */
        talloc_free_children(c);
        c->release_plugins(c);
    }
    return 0;
}

static int add_level(di_container *c, const char *name, const char *parent)
{
    if (c->nlevels >= DI_LEVEL_MAX)
        return DI_ELEVEL;
    di__level *nl = talloc_realloc(c, c->levels, di__level, c->nlevels + 1);
    if (!nl)
        return DI_ENOMEM;
    c->levels = nl;
    di__level *l = &nl[c->nlevels];
    memset(l, 0, sizeof *l);
    l->name = talloc_strdup(c->levels, name);
    l->parent_name = parent ? talloc_strdup(c->levels, parent) : NULL;
    if (!l->name || (parent && !l->parent_name))
        return DI_ENOMEM;
    l->parent = -1;
    c->nlevels++;
    return 0;
}

/* Where the name maps find their entries' names (di__names_init). */
static const char *prov_name(const void *c, int32_t i)
{
    return di__prov((const di_container *)c, i)->name;
}

static const char *cons_name(const void *c, int32_t i)
{
    return ((const di_container *)c)->cons[i].name;
}

static const char *lt_name(const void *c, int32_t i)
{
    return ((const di_container *)c)->lifetimes[i];
}

int di_container_new(void *mem, di_container **out)
{
    if (!out)
        return DI_EINVAL;
    *out = NULL;
    di_container *c = talloc_zero(mem, di_container);
    if (!c)
        return DI_ENOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        talloc_free(c);
        return DI_ENOMEM;
    }
    if (pthread_cond_init(&c->cond, NULL) != 0) {
        pthread_mutex_destroy(&c->lock);
        talloc_free(c);
        return DI_ENOMEM;
    }
    talloc_set_destructor(c, container_destructor);
    static atomic_uint_fast64_t serials;
    c->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
    c->problems.mem = c;
    di__names_init(&c->pnames, prov_name, c);
    di__names_init(&c->cnames, cons_name, c);
    di__names_init(&c->ltnames, lt_name, c);
    if (add_level(c, "singleton", NULL) || add_level(c, "request", "singleton")) {
        talloc_free(c);
        return DI_ENOMEM;
    }
    *out = c;
    return 0;
}

/* Linear: a container has a handful of levels, and di_scope_begin() asks
 * for one by name on every request; the first byte rules most out. */
int di__level_find(const di_container *c, const char *name)
{
    /* last to first: the root level ("singleton") is never begun, and
     * "request" or a level the server added comes after it, so the level
     * asked for is found at the first or second compare */
    for (uint32_t i = c->nlevels; i-- > 0;)
        if (c->levels[i].name[0] == name[0] &&
            strcmp(c->levels[i].name, name) == 0)
            return (int)i;
    return -1;
}

int di_level(di_container *c, const char *name, const char *parent)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_level", name ? name : "(null)"))
        return DI_ESEALED;
    if (!name || !parent || !di__valid_name(name, true) ||
        !di__valid_name(parent, true)) {
        di__reg_error(c, DI_EINVAL, "di_level: a level and its parent need "
                      "names of 1 to %d bytes without ':' or a leading '?'",
                      DI_NAME_MAX);
        return DI_EINVAL;
    }
    if (strcmp(name, "singleton") == 0 || strcmp(name, "transient") == 0) {
        di__reg_error(c, DI_ELEVEL, "di_level: '%s' is reserved and cannot "
                      "be declared", name);
        return DI_ELEVEL;
    }
    int i = di__level_find(c, name);
    if (i >= 0) {
        char *p = talloc_strdup(c->levels, parent);
        if (!p)
            return di__nomem(c, "di_level", DI_ENOMEM);
        talloc_free((char *)c->levels[i].parent_name);
        c->levels[i].parent_name = p;
        return 0;
    }
    int rc = add_level(c, name, parent);
    if (rc == DI_ELEVEL)
        di__reg_error(c, DI_ELEVEL, "di_level('%s'): more than %d levels",
                      name, DI_LEVEL_MAX);
    return di__nomem(c, "di_level", rc);
}

int di_container_sealed(const di_container *c) { return c && c->sealed; }

int di_key(const di_container *c, const char *name)
{
    if (!c || !name)
        return DI_EINVAL;
    if (!c->sealed)
        return DI_ENOTSEALED;
    int i = di__names_find(&c->pnames, name);
    return i < 0 ? DI_ENOTFOUND : i;
}

int di_level_key(const di_container *c, const char *level)
{
    if (!c || !level)
        return DI_EINVAL;
    if (!c->sealed)
        return DI_ENOTSEALED;
    int l = di__level_find(c, level);
    return l <= DI__ROOT ? DI_ENOTFOUND : l;
}

const di_error *di_container_error(const di_container *c)
{
    if (!c)
        return NULL;
    return atomic_load_explicit(&((di_container *)c)->last, memory_order_acquire);
}

/* Before seal, on the registering thread: replace the last error. */
static void reg_error(di_container *c, int code, const char *at,
                      const char *fmt, va_list ap)
{
    struct di_error *e = di__err_make(c, code, NULL, at, fmt, ap);
    if (!e)
        e = &di__oom;
    if (c->reg_error)
        di__err_free(c->reg_error);
    c->reg_error = e;
    atomic_store_explicit(&c->last, e, memory_order_release);
}

void di__reg_error(di_container *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reg_error(c, code, NULL, fmt, ap);
    va_end(ap);
}

void di__reg_error_at(di_container *c, int code, const char *at,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reg_error(c, code, at, fmt, ap);
    va_end(ap);
}

int di__nomem(di_container *c, const char *fn, int rc)
{
    if (rc != DI_ENOMEM || !c)
        return rc;
    if (c->sealed)
        di__container_report_fmt(c, DI_ENOMEM, "%s: out of memory", fn);
    else
        di__reg_error(c, DI_ENOMEM, "%s: out of memory", fn);
    return rc;
}

bool di__closed(di_container *c, const char *fn, const char *name)
{
    if (!c->sealed)
        return false;
    di__reg_error(c, DI_ESEALED, "%s%s%s%s: the container is sealed; register "
                  "everything before di_container_seal()", fn,
                  name ? "('" : "", name ? name : "", name ? "')" : "");
    return true;
}

/* Before seal: make a list (a top-level talloc object) the last error. */
void di__reg_error_list(di_container *c, struct di_error *head)
{
    if (!head)
        return;
    if (c->reg_error)
        di__err_free(c->reg_error);
    c->reg_error = head == &di__oom ? head : talloc_steal(c, head);
    atomic_store_explicit(&c->last, head, memory_order_release);
}

/* After seal, from any thread: e is a top-level talloc object handed over
 * (with the rest of its list as its children). The report made
 * DI__POSTERR_KEEP reports earlier is freed. */
void di__container_report(di_container *c, struct di_error *e)
{
    if (!e)
        e = &di__oom;
    pthread_mutex_lock(&c->lock);
    if (e != &di__oom)
        talloc_steal(c, e);
    if (c->ring[c->ringpos])
        di__err_free(c->ring[c->ringpos]);
    c->ring[c->ringpos] = e;
    c->ringpos = (c->ringpos + 1) % DI__POSTERR_KEEP;
    atomic_store_explicit(&c->last, e, memory_order_release);
    pthread_mutex_unlock(&c->lock);
}

void di__container_report_fmt(di_container *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_vnew(NULL, code, NULL, fmt, ap);
    va_end(ap);
    di__container_report(c, e);
}

/* Dispose the singletons (reverse creation order, success outcome). */
static int container_teardown(di_container *c, int *disposed_rc)
{
    c->tearing_down = true;
    di__errlist fails = { 0 };
    int rc = c->teardown ? c->teardown(c, &fails) : 0;
    for (const struct di_error *e = fails.head; e; e = e->next)
        di__log(&(di_log_record){ .level = DI_LOG_WARN,
                .event = "dispose_failed", .provider = di_error_provider(e),
                .path = e->path, .code = e->code },
                "di: the container's end: %s", e->message);
    if (fails.head)
        di__container_report(c, fails.head);
    if (disposed_rc)
        *disposed_rc = rc;
    return rc;
}

int di_container_free(di_container *c)
{
    if (!c)
        return DI_EINVAL;
    if (c->tearing_down || di__calling == c || atomic_load(&c->builders) > 0)
        return DI_EBUSY;
#ifdef DI_DEBUG
    if (di__open_count(c) > 0)
        return DI_EBUSY;
#endif
    int rc = 0;
    container_teardown(c, &rc);
    talloc_free(c);
    return rc;
}
