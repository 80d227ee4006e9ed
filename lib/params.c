/*
 * params.c — a provider's params: a read-only tree made from JSON text, and
 * the typed accessors that report a missing or mistyped value with its path.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "di_int.h"

/* ---- building the tree ---- */

static int convert(void *mem, const cJSON *j, const char *path, di_params *out)
{
    out->path = path;
    if (cJSON_IsNull(j)) {
        out->type = DI__PNULL;
    } else if (cJSON_IsBool(j)) {
        out->type = DI__PBOOL;
        out->boolean = cJSON_IsTrue(j);
    } else if (cJSON_IsNumber(j)) {
        out->type = DI__PNUM;
        out->num = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        out->type = DI__PSTR;
        out->str = talloc_strdup(mem, j->valuestring);
        if (!out->str)
            return DI_ENOMEM;
    } else {
        bool obj = cJSON_IsObject(j);
        out->type = obj ? DI__POBJ : DI__PARR;
        out->n = (size_t)cJSON_GetArraySize(j);
        out->items = talloc_zero_array(mem, di_params, di__count(out->n ? out->n : 1));
        out->keys = obj ? talloc_zero_array(mem, const char *,
                                            di__count(out->n ? out->n : 1)) : NULL;
        if (!out->items || (obj && !out->keys))
            return DI_ENOMEM;
        size_t i = 0;
        for (const cJSON *ch = j->child; ch; ch = ch->next, i++) {
            char *sub = obj ? di__json_path(mem, path, ch->string)
                            : talloc_asprintf(mem, "%s[%zu]", path, i);
            if (!sub)
                return DI_ENOMEM;
            if (obj && !(out->keys[i] = talloc_strdup(mem, ch->string)))
                return DI_ENOMEM;
            int rc = convert(mem, ch, sub, &out->items[i]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int di__params_parse(void *mem, const char *json, const char *base,
                     di_params **out, char **err)
{
    *out = NULL;
    *err = NULL;
    void *tmp = talloc_new(NULL);
    if (!tmp)
        return DI_ENOMEM;
    size_t len = json ? strlen(json) : 2;
    cJSON *root = NULL;
    int rc = di__json_parse(tmp, json ? json : "{}", len, DI_CONFIG_MAX_DEPTH,
                            err, &root);
    if (!rc && !cJSON_IsObject(root))
        rc = DI_ECONFIG;
    if (rc == DI_ECONFIG && !*err)
        *err = talloc_strdup(tmp, "expected an object");
    di_params *p = NULL;
    if (!rc) {
        p = talloc_zero(mem, di_params);
        char *path = p ? talloc_strdup(p, base) : NULL;
        rc = p && path ? convert(p, root, path, p) : DI_ENOMEM;
    }
    if (*err)
        *err = talloc_steal(mem, *err);
    cJSON_Delete(root);
    talloc_free(tmp);
    if (rc) {
        talloc_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- reading ---- */

static const char *type_name(int t)
{
    switch (t) {
    case DI__PNULL: return "null";
    case DI__PBOOL: return "boolean";
    case DI__PNUM: return "number";
    case DI__PSTR: return "string";
    case DI__PARR: return "array";
    default: return "object";
    }
}

static const di_params *member(const di_params *in, const char *key)
{
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->keys[i], key) == 0)
            return &in->items[i];
    return NULL;
}

/* Find in[key] (or in itself) and check it has type `want` (the name used in
 * messages is `want_name`). */
static int lookup(const di_build *b, const di_params *in, const char *key,
                  int want, const char *want_name, const di_params **out)
{
    if (!b || !out)
        return DI_EINVAL;
    if (!in)
        in = b->params;
    if (!in)
        return di_fail(b, DI_ENOTFOUND, "%s: provider '%s' has no params "
                       "(it was not made from a kind)", key ? key : "",
                       b->name ? b->name : "");
    const di_params *v = in;
    if (key) {
        if (in->type != DI__POBJ)
            return di_fail_at(b, DI_ETYPE, in->path, "expected object, "
                               "got %s", type_name(in->type));
        v = member(in, key);
        if (!v) {
            char *at = di__json_path(NULL, in->path, key);
            int rc = di_fail_at(b, DI_ENOTFOUND, at ? at : key,
                                 "missing, expected %s", want_name);
            talloc_free(at);
            return rc;
        }
    }
    if (v->type != want)
        return di_fail_at(b, DI_ETYPE, v->path, "expected %s, got %s",
                           want_name, type_name(v->type));
    *out = v;
    return 0;
}

int di_param_string(const di_build *b, const di_params *in, const char *key,
                    const char **out)
{
    const di_params *v = NULL;
    int rc = lookup(b, in, key, DI__PSTR, "string", &v);
    if (!rc)
        *out = v->str;
    return rc;
}

int di_param_number(const di_build *b, const di_params *in, const char *key,
                    double *out)
{
    const di_params *v = NULL;
    int rc = lookup(b, in, key, DI__PNUM, "number", &v);
    if (!rc)
        *out = v->num;
    return rc;
}

int di_param_int(const di_build *b, const di_params *in, const char *key,
                 int64_t *out)
{
    const di_params *v = NULL;
    int rc = lookup(b, in, key, DI__PNUM, "integer", &v);
    if (rc)
        return rc;
    /* 2^63 is exactly representable; anything at or past it is out */
    if (v->num != floor(v->num))
        return di_fail_at(b, DI_ETYPE, v->path, "expected integer, got %g",
                           v->num);
    if (v->num >= 9223372036854775808.0 || v->num < -9223372036854775808.0)
        return di_fail_at(b, DI_ETYPE, v->path, "expected integer, got %g "
                           "(out of range)", v->num);
    *out = (int64_t)v->num;
    return 0;
}

int di_param_bool(const di_build *b, const di_params *in, const char *key,
                  int *out)
{
    const di_params *v = NULL;
    int rc = lookup(b, in, key, DI__PBOOL, "boolean", &v);
    if (!rc)
        *out = v->boolean;
    return rc;
}

int di_param_object(const di_build *b, const di_params *in, const char *key,
                    const di_params **out)
{
    return lookup(b, in, key, DI__POBJ, "object", out);
}

int di_param_array(const di_build *b, const di_params *in, const char *key,
                   const di_params **out)
{
    return lookup(b, in, key, DI__PARR, "array", out);
}

int di_param_has(const di_build *b, const di_params *in, const char *key)
{
    if (!in)
        in = b ? b->params : NULL;
    return in && key && in->type == DI__POBJ && member(in, key) != NULL;
}

size_t di_params_count(const di_params *p)
{
    return p && (p->type == DI__POBJ || p->type == DI__PARR) ? p->n : 0;
}

const di_params *di_params_item(const di_params *p, size_t i)
{
    return i < di_params_count(p) ? &p->items[i] : NULL;
}

const char *di_params_key(const di_params *p, size_t i)
{
    return p && p->type == DI__POBJ && i < p->n ? p->keys[i] : NULL;
}

const char *di_params_path(const di_params *p)
{
    return p ? p->path : "";
}

const void *di_params_struct(const di_build *b)
{
    return b && b->params ? b->params->filled : NULL;
}
