/*
 * config.c — applying a JSON configuration through the public API.
 *
 * Four passes: the text is checked (json.c: line:column errors) and parsed
 * by cJSON; environment references in its string values are replaced;
 * its shape is checked against the schema, every problem with its JSON
 * path, before anything changes; then plugins are loaded and scopes,
 * providers and consumers registered with di_plugin_load(), di_level(),
 * di_instantiate() and di_consumer_add() — the same calls a program makes.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "di_int.h"

typedef struct cfg {
    di_container *c;
    void *tmp;
    const char *origin;
    const char *text;   /* the config's text, to locate the problems */
    size_t len;
    const char *base;   /* directory relative paths start from, or NULL */
    di__errlist errs;
    bool nomem;         /* an allocation failed: the load fails DI_ENOMEM */
} cfg;

/* A problem at a JSON path: "origin:line:column: path: reason", where the
 * line and column are those of the value at the path in the text (or of
 * the deepest part of the path that is there: a missing member's object);
 * the error's path is the JSON path, its reason the reason. */
static void problem(cfg *cf, int code, const char *path, const char *fmt, ...)
    DI_PRINTF(4, 5);
static void problem(cfg *cf, int code, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = talloc_vasprintf(cf->tmp, fmt, ap);
    va_end(ap);
    if (!reason ||
        di__err_add_at(&cf->errs, code, path, "%s", reason) == DI_ENOMEM) {
        cf->nomem = true;
        return;
    }
    struct di_error *e = cf->errs.tail;
    unsigned line, col;
    char *m = path && *path && di__json_locate(cf->text, cf->len, path,
                                               &line, &col)
                  ? talloc_asprintf(e, "%s:%u:%u: %s", cf->origin, line, col,
                                    e->message)
                  : talloc_asprintf(e, "%s: %s", cf->origin, e->message);
    if (!m) {
        cf->nomem = true;
        return;
    }
    talloc_free(e->message == e->reason ? NULL : e->message);
    e->message = m;
}

/* The error a public call just left on the container, at its own JSON path
 * (a kind's params name theirs) or else at path. */
static void from_container(cfg *cf, int rc, const char *path)
{
    const di_error *e = di_container_error(cf->c);
    if (!e) {
        problem(cf, rc, path ? path : "", "%s", di_strerror(rc));
        return;
    }
    bool own = path && strncmp(di_error_path(e), path, strlen(path)) == 0;
    if (!own) {
        problem(cf, rc, path ? path : "", "%s", di_error_message(e));
        return;
    }
    /* a kind's params checked by its model: a problem each */
    for (; e; e = di_error_next(e))
        if (strncmp(di_error_path(e), path, strlen(path)) == 0)
            problem(cf, di_error_code(e), di_error_path(e), "%s",
                    di_error_reason(e));
}

static const char *type_of(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "object";
    if (cJSON_IsArray(j)) return "array";
    if (cJSON_IsString(j)) return "string";
    if (cJSON_IsNumber(j)) return "number";
    if (cJSON_IsBool(j)) return "boolean";
    return "null";
}

/* A JSON path on cf->tmp; when it cannot be allocated, "" (the passes go
 * on, and the load fails with DI_ENOMEM). */
static const char *checked(cfg *cf, const char *p)
{
    if (p)
        return p;
    cf->nomem = true;
    return "";
}

static const char *sub(cfg *cf, const char *path, const char *key)
{
    return checked(cf, di__json_path(cf->tmp, path, key));
}

/* ---- pass 2: environment references ---- */

/* Where a value sits: the chain up to the root, for its JSON path, built
 * only when there is something to report. */
typedef struct at {
    const struct at *up;
    const cJSON *node;
    size_t index;       /* in an array */
} at;

static const char *path_at(cfg *cf, const at *a)
{
    if (!a->up)
        return "";
    const char *up = path_at(cf, a->up);
    if (cJSON_IsArray(a->up->node))
        return checked(cf, talloc_asprintf(cf->tmp, "%s[%zu]", up, a->index));
    return sub(cf, up, a->node->string);
}

static bool name_char(char ch, bool first)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           ch == '_' || (!first && ch >= '0' && ch <= '9');
}

/* s with each ${NAME} and ${NAME:-default} replaced by the variable's
 * value, or the default when it is unset or empty; "$${" stands for "${".
 * Returns the new text on cf->tmp, s itself when it has no reference, or
 * NULL after reporting what is wrong at a's path. */
static const char *expand(cfg *cf, const char *s, const at *a)
{
    if (!strstr(s, "${"))
        return s;
    char *out = talloc_strdup(cf->tmp, "");
    const char *p = s;
    while (out && *p) {
        const char *ref = strstr(p, "${");
        if (!ref)
            return checked(cf, talloc_strdup_append(out, p));
        if (ref > p && ref[-1] == '$') {        /* "$${": a literal "${" */
            out = talloc_strndup_append(out, p, (size_t)(ref - 1 - p));
            out = talloc_strdup_append(out, "${");
            p = ref + 2;
            continue;
        }
        out = talloc_strndup_append(out, p, (size_t)(ref - p));
        const char *name = ref + 2, *e = name;
        while (name_char(*e, e == name))
            e++;
        const char *def = NULL, *close = e;
        if (e[0] == ':' && e[1] == '-') {
            def = e + 2;
            close = strchr(def, '}');
        }
        if (e == name || !close || *close != '}') {
            const char *end = strchr(ref, '}');
            int n = end ? (int)(end + 1 - ref) : (int)strlen(ref);
            problem(cf, DI_ECONFIG, path_at(cf, a), "'%.*s': a reference is "
                    "${NAME} or ${NAME:-default}, NAME of letters, digits and "
                    "'_' (write $${ for a literal ${)", n > 60 ? 60 : n, ref);
            return NULL;
        }
        char *var = talloc_strndup(cf->tmp, name, (size_t)(e - name));
        const char *val = var ? secure_getenv(var) : NULL;
        if (!var) {
            cf->nomem = true;
            return NULL;
        }
        if (def && (!val || !*val)) {
            out = talloc_strndup_append(out, def, (size_t)(close - def));
        } else if (val) {
            out = talloc_strdup_append(out, val);
        } else {
            problem(cf, DI_ECONFIG, path_at(cf, a), "environment variable "
                    "'%s' is not set, and ${%s} gives no default (write "
                    "${%s:-default} for one)", var, var, var);
            return NULL;
        }
        p = close + 1;
    }
    return checked(cf, out);
}

/* Replace the references in every string value below node (not in keys). */
static void expand_all(cfg *cf, cJSON *node, const at *a)
{
    if (cJSON_IsString(node)) {
        const char *v = expand(cf, node->valuestring, a);
        if (v && v != node->valuestring && !cJSON_SetValuestring(node, v))
            cf->nomem = true;
        return;
    }
    size_t i = 0;
    for (cJSON *ch = node->child; ch; ch = ch->next, i++)
        expand_all(cf, ch, &(at){ .up = a, .node = ch, .index = i });
}

/* ---- pass 3: shape ---- */

static bool want(cfg *cf, const cJSON *j, const char *path, const char *type,
                 bool ok)
{
    if (!ok)
        problem(cf, DI_ECONFIG, path, "expected %s, got %s", type, type_of(j));
    return ok;
}

/* Members of obj must be among fields; report the others. */
static void known_fields(cfg *cf, const cJSON *obj, const char *path,
                         const char *const *fields)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t i = 0;
        while (fields[i] && strcmp(fields[i], m->string) != 0)
            i++;
        if (fields[i])
            continue;
        char *list = talloc_strdup(cf->tmp, "");
        for (size_t k = 0; fields[k] && list; k++)
            list = talloc_asprintf_append(list, "%s%s", k ? ", " : "",
                                          fields[k]);
        if (!list)
            cf->nomem = true;
        problem(cf, DI_ECONFIG, sub(cf, path, m->string),
                "unknown field%s (fields: %s)",
                di__suggest(cf->tmp, m->string, fields), list ? list : "");
    }
}

static void string_array(cfg *cf, const cJSON *a, const char *path)
{
    if (!want(cf, a, path, "array", cJSON_IsArray(a)))
        return;
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        const char *p = checked(cf, talloc_asprintf(cf->tmp, "%s[%d]", path, i));
        if (want(cf, e, p, "string", cJSON_IsString(e)) && !*e->valuestring)
            problem(cf, DI_ECONFIG, p, "expected a non-empty string");
    }
}

static void string_map(cfg *cf, const cJSON *o, const char *path)
{
    if (!want(cf, o, path, "object", cJSON_IsObject(o)))
        return;
    for (const cJSON *m = o->child; m; m = m->next)
        want(cf, m, sub(cf, path, m->string), "string", cJSON_IsString(m));
}

static void shape_provider(cfg *cf, const cJSON *p, const char *path)
{
    static const char *const fields[] = { "use", "lifetime", "deps", "params",
                                          "override", NULL };
    if (!want(cf, p, path, "object", cJSON_IsObject(p)))
        return;
    known_fields(cf, p, path, fields);
    const cJSON *use = cJSON_GetObjectItemCaseSensitive(p, "use");
    if (!use)
        problem(cf, DI_ECONFIG, path, "missing field 'use' (the kind to "
                "instantiate, such as \"sqlite.pool\")");
    else
        want(cf, use, sub(cf, path, "use"), "string", cJSON_IsString(use));
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "lifetime")))
        want(cf, v, sub(cf, path, "lifetime"), "string", cJSON_IsString(v));
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "deps")))
        string_map(cf, v, sub(cf, path, "deps"));
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "params")))
        want(cf, v, sub(cf, path, "params"), "object", cJSON_IsObject(v));
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "override")))
        want(cf, v, sub(cf, path, "override"), "boolean", cJSON_IsBool(v));
}

static void shape_consumer(cfg *cf, const cJSON *p, const char *path)
{
    static const char *const fields[] = { "level", "needs", NULL };
    if (!want(cf, p, path, "object", cJSON_IsObject(p)))
        return;
    known_fields(cf, p, path, fields);
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "level")))
        want(cf, v, sub(cf, path, "level"), "string", cJSON_IsString(v));
    if ((v = cJSON_GetObjectItemCaseSensitive(p, "needs")))
        string_array(cf, v, sub(cf, path, "needs"));
}

static void shape(cfg *cf, const cJSON *root)
{
    static const char *const fields[] = { "scopes", "plugin_dirs", "plugins",
                                          "providers", "sets", "consumers",
                                          NULL };
    if (!cJSON_IsObject(root)) {
        problem(cf, DI_ECONFIG, "", "expected an object at the top level, "
                "got %s", type_of(root));
        return;
    }
    known_fields(cf, root, "", fields);
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "scopes")))
        string_map(cf, v, "scopes");
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "plugin_dirs")))
        string_array(cf, v, "plugin_dirs");
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "plugins")))
        string_array(cf, v, "plugins");
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "providers")) &&
        want(cf, v, "providers", "object", cJSON_IsObject(v)))
        for (const cJSON *p = v->child; p; p = p->next)
            shape_provider(cf, p, sub(cf, "providers", p->string));
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "sets")) &&
        want(cf, v, "sets", "object", cJSON_IsObject(v)))
        for (const cJSON *p = v->child; p; p = p->next)
            string_array(cf, p, sub(cf, "sets", p->string));
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "consumers")) &&
        want(cf, v, "consumers", "object", cJSON_IsObject(v)))
        for (const cJSON *p = v->child; p; p = p->next)
            shape_consumer(cf, p, sub(cf, "consumers", p->string));
}

/* ---- pass 4: apply ---- */

/* A relative path from the config, made relative to its directory. */
static const char *relative(cfg *cf, const char *p)
{
    if (!cf->base || p[0] == '/')
        return p;
    return talloc_asprintf(cf->tmp, "%s/%s", cf->base, p);
}

static int apply_plugins(cfg *cf, const cJSON *root)
{
    const cJSON *dirs = cJSON_GetObjectItemCaseSensitive(root, "plugin_dirs");
    int i = 0;
    int refused = 0;
    for (const cJSON *d = dirs ? dirs->child : NULL; d; d = d->next, i++) {
        const char *dir = relative(cf, d->valuestring);
        if (!dir)
            return DI_ENOMEM;
        /* a config is data: it adds directories only where the program
         * allowed it to */
        if (!di__plugin_dir_allowed(cf->c, dir)) {
            problem(cf, DI_EPLUGIN, checked(cf, talloc_asprintf(
                        cf->tmp, "plugin_dirs[%d]", i)),
                    cf->c->config_dirs_root
                        ? "'%s' is not below %s, where the program lets a "
                          "configuration add plugin directories"
                        : "'%s': a configuration may not add plugin "
                          "directories (the program allows it with "
                          "di_plugin_allow_config_dirs())",
                    dir, cf->c->config_dirs_root);
            refused = DI_EPLUGIN;
            continue;
        }
        int rc = di_plugin_dir(cf->c, dir);
        if (rc)
            return rc;
    }
    if (refused)
        return refused;
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "plugins");
    int rc = 0;
    i = 0;
    for (const cJSON *p = pl ? pl->child : NULL; p; p = p->next, i++) {
        bool path = strchr(p->valuestring, '/') != NULL;
        const char *what = path ? relative(cf, p->valuestring) : p->valuestring;
        int r = !what ? DI_ENOMEM : di__plugin_load_config(cf->c, what);
        if (r == DI_ENOMEM)
            return r;
        if (r) {
            from_container(cf, r, checked(cf, talloc_asprintf(cf->tmp,
                                                              "plugins[%d]", i)));
            rc = r;
        }
    }
    return rc;
}

static int apply_provider(cfg *cf, const cJSON *p, const char *path)
{
    const cJSON *deps = cJSON_GetObjectItemCaseSensitive(p, "deps");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(p, "params");
    const cJSON *life = cJSON_GetObjectItemCaseSensitive(p, "lifetime");
    int n = deps ? cJSON_GetArraySize(deps) : 0;
    di_role_map *map = talloc_zero_array(cf->tmp, di_role_map, di__count((size_t)n + 1));
    char *text = params ? cJSON_PrintUnformatted(params) : NULL;
    if (!map || (params && !text)) {
        cJSON_free(text);
        return DI_ENOMEM;
    }
    int i = 0;
    for (const cJSON *d = deps ? deps->child : NULL; d; d = d->next, i++)
        map[i] = (di_role_map){ d->string, d->valuestring };
    di_instance_desc desc = {
        .name = p->string,
        .kind = cJSON_GetObjectItemCaseSensitive(p, "use")->valuestring,
        .lifetime = life ? life->valuestring : NULL,
        .deps = map,
        .params = text,
        .override = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
                                                                  "override")),
    };
    int rc = di_instantiate(cf->c, &desc);
    cJSON_free(text);
    if (rc && rc != DI_ENOMEM)
        from_container(cf, rc, path);
    return rc;
}

static int apply_consumer(cfg *cf, const cJSON *p, const char *path)
{
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(p, "level");
    const cJSON *needs = cJSON_GetObjectItemCaseSensitive(p, "needs");
    int n = needs ? cJSON_GetArraySize(needs) : 0;
    const char **deps = talloc_zero_array(cf->tmp, const char *, di__count((size_t)n + 1));
    if (!deps)
        return DI_ENOMEM;
    int i = 0;
    for (const cJSON *d = needs ? needs->child : NULL; d; d = d->next)
        deps[i++] = d->valuestring;
    int rc = di_consumer_add(cf->c, &(di_consumer_desc){
        .name = p->string, .level = level ? level->valuestring : NULL,
        .deps = deps });
    if (rc && rc != DI_ENOMEM)
        from_container(cf, rc, path);
    return rc;
}

/* Declare the set (if the program has not) and add its members. */
static int apply_set(cfg *cf, const cJSON *set, const char *path)
{
    int rc = di_set_declare(cf->c, set->string);
    if (rc == DI_ENOMEM)
        return rc;
    if (rc) {
        from_container(cf, rc, path);
        return 0;
    }
    int i = 0;
    for (const cJSON *m = set->child; m; m = m->next, i++) {
        rc = di_set_add(cf->c, set->string, m->valuestring);
        if (rc == DI_ENOMEM)
            return rc;
        if (rc)
            from_container(cf, rc, checked(cf, talloc_asprintf(cf->tmp,
                                                               "%s[%d]", path,
                                                               i)));
    }
    return 0;
}

static int apply(cfg *cf, const cJSON *root)
{
    int rc = apply_plugins(cf, root);
    if (rc)
        return rc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "scopes");
    for (const cJSON *m = v ? v->child : NULL; m; m = m->next) {
        int r = di_level(cf->c, m->string, m->valuestring);
        if (r == DI_ENOMEM)
            return r;
        if (r)
            from_container(cf, r, sub(cf, "scopes", m->string));
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "providers");
    for (const cJSON *p = v ? v->child : NULL; p; p = p->next)
        if (apply_provider(cf, p, sub(cf, "providers", p->string)) ==
            DI_ENOMEM)
            return DI_ENOMEM;
    v = cJSON_GetObjectItemCaseSensitive(root, "sets");
    for (const cJSON *p = v ? v->child : NULL; p; p = p->next)
        if (apply_set(cf, p, sub(cf, "sets", p->string)) == DI_ENOMEM)
            return DI_ENOMEM;
    v = cJSON_GetObjectItemCaseSensitive(root, "consumers");
    for (const cJSON *p = v ? v->child : NULL; p; p = p->next)
        if (apply_consumer(cf, p, sub(cf, "consumers", p->string)) ==
            DI_ENOMEM)
            return DI_ENOMEM;
    return cf->errs.head ? DI_ECONFIG : 0;
}

/* ---- entry points ---- */

static int load(di_container *c, const char *text, size_t len,
                const char *origin, const char *base)
{
    cfg cf = { .c = c, .origin = origin, .text = text, .len = len,
               .base = base };
    cf.tmp = talloc_new(NULL);
    if (!cf.tmp)
        return di__nomem(c, origin, DI_ENOMEM);
    cf.errs.mem = cf.tmp;
    char *err = NULL;
    cJSON *root = NULL;
    int rc = di__json_parse(cf.tmp, text, len, DI_CONFIG_MAX_DEPTH, &err,
                            &root);
    if (rc == DI_ECONFIG) {
        di__reg_error(c, rc, "%s:%s", origin, err);
    } else if (!rc) {
        expand_all(&cf, root, &(at){ .node = root });
        if (!cf.errs.head)
            shape(&cf, root);
        rc = cf.nomem ? DI_ENOMEM : cf.errs.head ? DI_ECONFIG : apply(&cf, root);
        if (cf.nomem)
            rc = DI_ENOMEM;
    }
    if (rc == DI_ENOMEM)
        di__reg_error(c, rc, "%s: out of memory", origin);
    else if (rc && cf.errs.head)
        di__reg_error_list(c, cf.errs.head);
    cJSON_Delete(root);
    talloc_free(cf.tmp);
    return rc;
}

static bool sealed(di_container *c, const char *origin)
{
    if (!c->sealed)
        return false;
    di__reg_error(c, DI_ESEALED, "%s: cannot load a configuration into a "
                  "sealed container", origin);
    return true;
}

int di_config_load_string(di_container *c, const char *json, const char *origin)
{
    if (!c || !json)
        return DI_EINVAL;
    if (!origin)
        origin = "<string>";
    if (sealed(c, origin))
        return DI_ESEALED;
    size_t len = strnlen(json, DI_CONFIG_MAX_BYTES + 1);
    if (len > DI_CONFIG_MAX_BYTES) {
        di__reg_error(c, DI_ECONFIG, "%s: more than %u bytes "
                      "(DI_CONFIG_MAX_BYTES)", origin, DI_CONFIG_MAX_BYTES);
        return DI_ECONFIG;
    }
    return load(c, json, len, origin, NULL);
}

int di_config_load_file(di_container *c, const char *path)
{
    if (!c || !path)
        return DI_EINVAL;
    if (sealed(c, path))
        return DI_ESEALED;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        int e = f && S_ISDIR(st.st_mode) ? EISDIR : errno;
        if (f)
            fclose(f);
        di__reg_error(c, DI_ECONFIG, "%s: cannot read: %s", path, strerror(e));
        return DI_ECONFIG;
    }
    if (st.st_size > (off_t)DI_CONFIG_MAX_BYTES) {
        fclose(f);
        di__reg_error(c, DI_ECONFIG, "%s: %lld bytes, more than the limit of "
                      "%u (DI_CONFIG_MAX_BYTES)", path, (long long)st.st_size,
                      DI_CONFIG_MAX_BYTES);
        return DI_ECONFIG;
    }
    void *tmp = talloc_new(NULL);
    char *text = tmp ? talloc_size(tmp, (size_t)st.st_size + 1) : NULL;
    size_t n = text ? fread(text, 1, (size_t)st.st_size, f) : 0;
    int rc = 0;
    if (!text) {
        rc = DI_ENOMEM;
    } else if (ferror(f)) {
        di__reg_error(c, DI_ECONFIG, "%s: cannot read: %s", path,
                      strerror(errno));
        rc = DI_ECONFIG;
    }
    fclose(f);
    if (!rc) {
        text[n] = '\0';
        /* "dir/app.json" -> "dir", "/app.json" -> "/", "app.json" -> none */
        const char *slash = strrchr(path, '/');
        size_t blen = slash == path ? 1 : (size_t)(slash - path);
        char *base = slash ? talloc_strndup(tmp, path, blen) : NULL;
        rc = slash && !base ? DI_ENOMEM : load(c, text, n, path, base);
    }
    talloc_free(tmp);
    return rc;
}
