/*
 * kind.c — provider kinds and their instantiation.
 *
 * A kind is kept as a copy of its descriptor with its roles parsed. Making a
 * provider from it checks everything first (kind, roles, lifetime, params,
 * the kind's own check) and only then registers an ordinary provider through
 * the same path as di_provide(), carrying the params and the kind's name.
 */
#include <string.h>

#include "di_int.h"

int di__kind_find(const di_container *c, const char *name)
{
    for (uint32_t i = 0; i < c->nkinds; i++)
        if (strcmp(c->kinds[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The problem with kind k's params model d (named as k), on mem, or
 * NULL when there is none (or no memory: *nomem). */
static char *model_problem(const di_container *c, void *mem, const char *name,
                           const di_model_desc *d, bool *nomem)
{
    bool bad = !d->fields || !d->size;
    if (bad || di__model_fields(c, name, &(size_t){ 0 })) {
        char *why = bad ? talloc_asprintf(mem, "its params model needs a "
                                          "size and fields")
                        : talloc_asprintf(mem, "a model '%s' exists: its "
                                          "params model is registered under "
                                          "the kind's name", name);
        *nomem = !why;
        return why;
    }
    di__errlist errs = { .mem = mem };
    *nomem = di__model_check_desc(c, name, d, &errs) == DI_ENOMEM;
    char *why = errs.head ? talloc_strdup(mem, di_error_reason(errs.head))
                          : NULL;
    *nomem |= errs.head && !why;
    talloc_free(errs.head);
    return why;
}

/* Copy d into the container as "<prefix>.<name>" (or "<name>"): its flags
 * when its plugin was built for ABI 1.1 or later, its params model for
 * 1.2 (checked now, registered by di__kind_models()). On DI_EINVAL *why
 * (on c) says what is wrong with the model, or is NULL: a role. */
int di__kind_add(di_container *c, const di_kind_desc *d, int32_t plugin,
                 const char *prefix, unsigned abi_minor, char **why)
{
    *why = NULL;
    di__kind *nk = talloc_realloc(c, c->kinds, di__kind, c->nkinds + 1);
    if (!nk)
        return DI_ENOMEM;
    c->kinds = nk;
    di__kind *k = &nk[c->nkinds];
    memset(k, 0, sizeof *k);
    k->mem = talloc_new(c);
    if (!k->mem)
        return DI_ENOMEM;
    k->name = prefix ? talloc_asprintf(k->mem, "%s.%s", prefix, d->name)
                     : talloc_strdup(k->mem, d->name);
    k->type = d->type ? talloc_strdup(k->mem, d->type) : NULL;
    k->lifetime = d->lifetime ? talloc_strdup(k->mem, d->lifetime) : NULL;
    k->summary = d->summary ? talloc_strdup(k->mem, d->summary) : NULL;
    uint32_t n = 0;
    while (d->roles && d->roles[n])
        n++;
    const char **roles = talloc_zero_array(k->mem, const char *, n + 1);
    k->deps = talloc_zero_array(k->mem, di__dep, n ? n : 1);
    if (!k->name || (d->type && !k->type) || (d->lifetime && !k->lifetime) ||
        (d->summary && !k->summary) || !roles || !k->deps)
        goto nomem;
    for (uint32_t i = 0; i < n; i++) {
        roles[i] = talloc_strdup(k->mem, d->roles[i]);
        if (!roles[i])
            goto nomem;
        int rc = di__parse_dep(k->mem, d->roles[i], &k->deps[i]);
        if (rc) {
            talloc_free(k->mem);
            return rc;
        }
    }
    if (abi_minor >= 2 && d->params_model) {
        bool nomem = false;
        *why = model_problem(c, c, k->name, d->params_model, &nomem);
        if (nomem)
            goto nomem;
        if (*why) {
            talloc_free(k->mem);
            return DI_EINVAL;
        }
        k->model = true;
    }
    k->roles = roles;
    k->nroles = n;
    k->create = d->create;
    k->dispose = d->dispose;
    k->check = d->check;
    k->data = d->data;
    k->size = d->size;
    k->plugin = plugin;
    k->async = abi_minor >= 1 && (d->flags & DI_KIND_ASYNC);
    c->nkinds++;
    return 0;
nomem:
    talloc_free(k->mem);
    return DI_ENOMEM;
}

int di__kind_models(di_container *c, const di_kind_desc *const *descs,
                    uint32_t from)
{
    for (uint32_t i = from; i < c->nkinds; i++)
        if (c->kinds[i].model &&
            di__model_add(c, c->kinds[i].name,
                          descs[i - from]->params_model) == DI_ENOMEM)
            return DI_ENOMEM;
    return 0;
}

int di_kind_register(di_container *c, const di_kind_desc *d)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_kind_register", d && d->name ? d->name : NULL))
        return DI_ESEALED;
    if (!d || !d->name || !di__valid_name(d->name, true) || !d->create) {
        di__reg_error(c, DI_EINVAL, "di_kind_register: a kind needs a name of "
                      "1 to %d bytes without ':' or a leading '?', and a "
                      "create function", DI_NAME_MAX);
        return DI_EINVAL;
    }
    if (di__kind_find(c, d->name) >= 0) {
        di__reg_error(c, DI_EEXIST, "di_kind_register: kind '%s' is already "
                      "registered", d->name);
        return DI_EEXIST;
    }
    char *why;
    int rc = di__kind_add(c, d, -1, NULL, DI_ABI_MINOR, &why);
    if (rc == DI_EINVAL && why)
        di__reg_error(c, rc, "di_kind_register('%s'): %s", d->name, why);
    else if (rc == DI_EINVAL)
        di__reg_error(c, rc, "di_kind_register('%s'): a role is malformed: "
                      "expected [?]role[:type]", d->name);
    talloc_free(why);
    if (!rc && (rc = di__kind_models(c, &d, c->nkinds - 1)))
        talloc_free(c->kinds[--c->nkinds].mem);
    return rc;
}

/* ---- instantiation ---- */

/* Fill params' struct by the kind's model (at base, the params' JSON
 * path): every problem an error of its own on c, DI_ECONFIG. */
static int fill_params(di_container *c, void *tmp, const di__kind *k,
                       const char *text, const char *base, di_params *params)
{
    di_problem *p;
    if (!text)
        text = "{}";
    int rc = di__model_fill(c, k->name, text, strlen(text), base, params,
                            &params->filled, &p);
    if (rc != DI_EINVALID)
        return rc;
    di__errlist errs = { .mem = tmp };
    for (; p; p = p->next)
        if (di__err_add_at(&errs, DI_ECONFIG, p->loc, "%s", p->msg) ==
            DI_ENOMEM)
            return DI_ENOMEM;
    di__reg_error_list(c, errs.head);
    return DI_ECONFIG;
}

/* "a, b, c" of the kind's role names (or "none"). */
static char *role_list(void *mem, const di__kind *k)
{
    char *s = talloc_strdup(mem, k->nroles ? "" : "none");
    for (uint32_t i = 0; i < k->nroles && s; i++)
        s = talloc_asprintf_append(s, "%s%s", i ? ", " : "", k->deps[i].name);
    return s;
}

static int unknown_kind(di_container *c, void *tmp, const char *at,
                        const char *kind)
{
    const char **names = talloc_zero_array(tmp, const char *, c->nkinds + 1);
    char *list = talloc_strdup(tmp, c->nkinds ? "" : "none registered");
    for (uint32_t i = 0; i < c->nkinds && names && list; i++) {
        names[i] = c->kinds[i].name;
        list = talloc_asprintf_append(list, "%s%s", i ? ", " : "", names[i]);
    }
    if (!names || !list)
        return DI_ENOMEM;
    char *use = talloc_asprintf(tmp, "%s.use", at);
    if (!use)
        return DI_ENOMEM;
    di__reg_error_at(c, DI_ENOTFOUND, use, "unknown kind '%s'%s (kinds: %s; "
                     "load the plugin that provides it)", kind,
                     di__suggest(tmp, kind, names), list);
    return DI_ENOTFOUND;
}

/* The dependency specs of the provider: one per role, mapped or not. */
static int map_roles(di_container *c, void *tmp, const char *at,
                     const di__kind *k, const di_role_map *map,
                     const char ***out)
{
    const char **specs = talloc_zero_array(tmp, const char *, k->nroles + 1);
    const char **mapped = talloc_zero_array(tmp, const char *, k->nroles + 1);
    const char **names = talloc_zero_array(tmp, const char *, k->nroles + 1);
    if (!specs || !mapped || !names)
        return DI_ENOMEM;
    for (uint32_t i = 0; i < k->nroles; i++)
        names[i] = k->deps[i].name;
    for (size_t m = 0; map && map[m].role; m++) {
        uint32_t i = 0;
        while (i < k->nroles && strcmp(k->deps[i].name, map[m].role) != 0)
            i++;
        const char *name = map[m].name ? map[m].name : "";
        char *role_at = talloc_asprintf(tmp, "%s.deps.%s", at, map[m].role);
        if (!role_at)
            return DI_ENOMEM;
        if (i == k->nroles) {
            char *list = role_list(tmp, k);
            if (!list)
                return DI_ENOMEM;
            di__reg_error_at(c, DI_EINVAL, role_at, "kind '%s' has no role "
                             "'%s'%s (roles: %s)", k->name, map[m].role,
                             di__suggest(tmp, map[m].role, names), list);
            return DI_EINVAL;
        }
        if (mapped[i]) {
            di__reg_error_at(c, DI_EINVAL, role_at, "role mapped twice");
            return DI_EINVAL;
        }
        if (!di__valid_name(name[0] == '?' ? name + 1 : name, true)) {
            di__reg_error_at(c, DI_EINVAL, role_at, "'%s' is not a provider "
                             "name", name);
            return DI_EINVAL;
        }
        mapped[i] = name;
    }
    for (uint32_t i = 0; i < k->nroles; i++) {
        const di__dep *r = &k->deps[i];
        const char *name = mapped[i] ? mapped[i] : r->name;
        bool opt = mapped[i] ? name[0] == '?' : r->optional;
        if (name[0] == '?')
            name++;
        specs[i] = talloc_asprintf(specs, "%s%s%s%s", opt ? "?" : "", name,
                                   r->type ? ":" : "", r->type ? r->type : "");
        if (!specs[i])
            return DI_ENOMEM;
    }
    *out = specs;
    return 0;
}

/* The kind's check, then, for an asynchronous kind, the param every such
 * kind takes: "timeout_ms" (1 to 3600000), read into *timeout (0 when
 * absent). */
static int check_params(const di_build *b, const di__kind *k,
                        unsigned *timeout)
{
    int rc = k->check ? k->check(b) : 0;
    int64_t ms;
    if (rc || !k->async || !di_param_has(b, NULL, "timeout_ms") ||
        (rc = di_param_int(b, NULL, "timeout_ms", &ms)))
        return rc;
    if (ms < 1 || ms > 3600000) {
        char *at = di__json_path(NULL, di_params_path(b->params),
                                 "timeout_ms");
        rc = di_fail_at(b, DI_EINVAL, at ? at : "timeout_ms", "%lld is out "
                        "of range (1 to 3600000)", (long long)ms);
        talloc_free(at);
        return rc;
    }
    *timeout = (unsigned)ms;
    return 0;
}

/* Check the params with a scratch build (see check_params()). */
static int run_check(di_container *c, void *tmp, const char *at,
                     const di__kind *k, const char *name,
                     const di_params *params, unsigned *timeout)
{
    *timeout = 0;
    if (!k->check && !k->async)
        return 0;
    di__buildctx bc = { .prev = NULL, .msg = NULL };
    void *scratch = talloc_new(tmp);
    if (!scratch)
        return DI_ENOMEM;
    di_build b = { .mem = scratch, .data = k->data, .name = name,
                   .di__state = &bc, .params = params };
    di_container *calling = di__calling;
    di__calling = c;
    int rc = check_params(&b, k, timeout);
    di__calling = calling;
    if (rc > 0)
        rc = DI_EPROVIDER;
    if (rc && bc.msg)
        di__reg_error_at(c, rc, bc.at ? bc.at : at, "%s",
                         bc.at ? bc.why : bc.msg);
    else if (rc)
        di__reg_error_at(c, rc, at, "kind '%s' refused its params (%s)",
                         k->name, di_strerror(rc));
    talloc_free(bc.msg);
    return rc;
}

int di_instantiate(di_container *c, const di_instance_desc *d)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_instantiate", d && d->name ? d->name : "(null)"))
        return DI_ESEALED;
    if (!d || !d->name || !di__valid_name(d->name, true) || !d->kind) {
        di__reg_error(c, DI_EINVAL, "di_instantiate: a provider name of 1 to "
                      "%d bytes (no ':', no leading '?') and a kind are "
                      "required", DI_NAME_MAX);
        return DI_EINVAL;
    }
    void *tmp = talloc_new(NULL);
    char *at = tmp ? di__json_path(tmp, "providers", d->name) : NULL;
    if (!at) {
        talloc_free(tmp);
        return DI_ENOMEM;
    }
    int rc, ki = di__kind_find(c, d->kind);
    if (ki < 0) {
        rc = unknown_kind(c, tmp, at, d->kind);
        goto out;
    }
    const di__kind *k = &c->kinds[ki];
    const char *lifetime = d->lifetime ? d->lifetime : k->lifetime;
    if (!lifetime) {
        di__reg_error_at(c, DI_EINVAL, at, "kind '%s' has no default "
                         "lifetime: give one (\"singleton\", \"transient\" or "
                         "a level)", k->name);
        rc = DI_EINVAL;
        goto out;
    }
    const char **specs;
    if ((rc = map_roles(c, tmp, at, k, d->deps, &specs)))
        goto out;
    di_params *params;
    char *perr;
    char *base = talloc_asprintf(tmp, "%s.params", at);
    rc = base ? di__params_parse(tmp, d->params, base, &params, &perr)
              : DI_ENOMEM;
    if (rc == DI_ECONFIG)
        di__reg_error_at(c, rc, base, "%s", perr);
    if (!rc && k->model)
        rc = fill_params(c, tmp, k, d->params, base, params);
    unsigned timeout;
    if (rc || (rc = run_check(c, tmp, at, k, d->name, params, &timeout)))
        goto out;
    di_provider_desc pd = { .name = d->name, .type = k->type,
                            .lifetime = lifetime, .deps = specs,
                            .create = k->create, .dispose = k->dispose,
                            .data = k->data, .size = k->size };
    rc = di__provide_kind(c, &pd, d->override != 0, params, k->name);
    if (!rc && k->async)
        rc = di_async_provider(c, d->name);
    if (!rc && timeout)
        rc = di_async_timeout(c, d->name, timeout);
out:
    talloc_free(tmp);
    return rc;
}
