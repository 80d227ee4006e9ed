/*
 * model.c — models (see di/model.h): their registration, their check at
 * seal, and the parse that fills a struct and collects every problem with
 * its location.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "di_int.h"

#include "fault.h" /* test builds: allocation failure injection */

typedef struct di__model {
    char *name;
    size_t size;
    di_field *fields;   /* copied, names and texts too */
    size_t nfields;
} di__model;

/* A model named by something else (a route's input): checked at seal. */
typedef struct model_use {
    char *model, *by;
} model_use;

struct di__models {
    di__model *m;
    size_t n;
    struct model_use *uses;
    size_t nuses;
};

static const di__model *find(const di_container *c, const char *name)
{
    const struct di__models *ms = c->models;
    for (size_t i = 0; ms && name && i < ms->n; i++)
        if (strcmp(ms->m[i].name, name) == 0)
            return &ms->m[i];
    return NULL;
}

/* A NULL-terminated list of strings, copied on mem. */
static const char *const *copy_list(void *mem, const char *const *l)
{
    size_t n = 0;
    while (l && l[n])
        n++;
    const char **o = l ? talloc_array(mem, const char *, (unsigned)n + 1)
                       : NULL;
    for (size_t i = 0; o && i < n; i++)
        if (!(o[i] = talloc_strdup(mem, l[i])))
            return NULL;
    if (o)
        o[n] = NULL;
    return o;
}

int di_model(di_container *c, const di_model_desc *d)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_model", d && d->name ? d->name : "(null)"))
        return DI_ESEALED;
    return di__model_add(c, d ? d->name : NULL, d);
}

int di__model_add(di_container *c, const char *name, const di_model_desc *d)
{
    if (!d || !name || !di__valid_name(name, false) || !d->fields ||
        !d->size) {
        di__reg_error(c, DI_EINVAL, "di_model: a name, a size and fields "
                      "are required");
        return DI_EINVAL;
    }
    if (find(c, name)) {
        di__reg_error(c, DI_EEXIST, "di_model: a model '%s' exists", name);
        return DI_EEXIST;
    }
    struct di__models *ms = c->models;
    if (!ms && !(ms = c->models = talloc_zero(c, struct di__models)))
        return di__nomem(c, "di_model", DI_ENOMEM);
    di__model *grown = talloc_realloc(ms, ms->m, di__model,
                                      (unsigned)ms->n + 1);
    if (!grown)
        return di__nomem(c, "di_model", DI_ENOMEM);
    ms->m = grown;
    size_t n = 0;
    while (d->fields[n].name)
        n++;
    di__model *m = &ms->m[ms->n];
    *m = (di__model){ .name = talloc_strdup(ms, name), .size = d->size,
                      .fields = talloc_array(ms, di_field, (unsigned)n + 1),
                      .nfields = n };
    bool ok = m->name && m->fields;
    for (size_t i = 0; ok && i < n; i++) {
        di_field *f = &m->fields[i];
        *f = d->fields[i];
        f->name = talloc_strdup(m->fields, f->name);
        ok = f->name && (!d->fields[i].def ||
                         (f->def = talloc_strdup(m->fields, f->def))) &&
             (!d->fields[i].model ||
              (f->model = talloc_strdup(m->fields, f->model))) &&
             (!d->fields[i].one_of ||
              (f->one_of = copy_list(m->fields, f->one_of)));
    }
    if (!ok) {
        talloc_free(m->name);
        talloc_free(m->fields);
        return di__nomem(c, "di_model", DI_ENOMEM);
    }
    m->fields[n] = (di_field){ 0 };
    ms->n++;
    return 0;
}

/* ---- the check at seal ---- */

static size_t size_of(di_field_kind k)
{
    switch (k) {
    case DI_F_STRING: return sizeof(const char *);
    case DI_F_INT: return sizeof(int64_t);
    case DI_F_NUMBER: return sizeof(double);
    case DI_F_BOOL: return sizeof(bool);
    case DI_F_MODEL: case DI_F_ARRAY: return sizeof(void *);
    default: return 0;
    }
}

/* Does the JSON text v hold a value of kind k (a default)? */
/* 1 when v (JSON text) is a value of kind k, 0 when not, -1 when out of
 * memory (cJSON_Parse() alone says NULL for both). */
static int default_fits(const char *v, di_field_kind k)
{
    void *tmp = talloc_new(NULL);
    char *err = NULL;
    cJSON *j = NULL;
    int rc = tmp ? di__json_parse(tmp, v, strlen(v), 8, &err, &j) : DI_ENOMEM;
    talloc_free(tmp);
    if (rc == DI_ENOMEM)
        return -1;
    int ok = !rc && ((k == DI_F_STRING && cJSON_IsString(j)) ||
                     (k == DI_F_INT && cJSON_IsNumber(j) &&
                      j->valuedouble == floor(j->valuedouble)) ||
                     (k == DI_F_NUMBER && cJSON_IsNumber(j)) ||
                     (k == DI_F_BOOL && cJSON_IsBool(j)));
    cJSON_Delete(j);
    return ok;
}

#define BAD(...) \
    do { if (di__err_add(errs, DI_EINVAL, m->name, __VA_ARGS__) == \
             DI_ENOMEM) return DI_ENOMEM; } while (0)

static int check_field(const di_container *c, const di__model *m,
                       const di_field *f, di__errlist *errs)
{
    size_t want = size_of(f->kind);
    if (!want) {
        BAD("model %s: field '%s': unknown kind %d", m->name, f->name,
            (int)f->kind);
        return 0;
    }
    if (f->size != want)
        BAD("model %s: field '%s': its member is %zu bytes, a %s needs %zu",
            m->name, f->name, f->size,
            f->kind == DI_F_STRING ? "string (const char *)"
            : f->kind == DI_F_INT ? "integer (int64_t)"
            : f->kind == DI_F_NUMBER ? "number (double)"
            : f->kind == DI_F_BOOL ? "boolean (bool)" : "pointer", want);
    if (f->at > m->size || f->size > m->size - f->at)
        BAD("model %s: field '%s': bytes %zu to %zu are past the struct's "
            "end (%zu bytes)", m->name, f->name, f->at, f->at + f->size,
            m->size);
    for (const di_field *g = m->fields; g < f; g++)
        if (strcmp(g->name, f->name) == 0)
            BAD("model %s: field '%s' is named twice", m->name, f->name);
    bool of_models = f->kind == DI_F_MODEL ||
                     (f->kind == DI_F_ARRAY && f->items == DI_F_MODEL);
    if (of_models && !find(c, f->model))
        BAD("model %s: field '%s': no model '%s'", m->name, f->name,
            f->model ? f->model : "(null)");
    if (f->kind == DI_F_ARRAY) {
        if (!size_of(f->items) || f->items == DI_F_ARRAY)
            BAD("model %s: field '%s': an array's items are a string, an "
                "integer, a number, a boolean or a model", m->name, f->name);
        if (f->count_at > m->size || sizeof(size_t) > m->size - f->count_at)
            BAD("model %s: field '%s': its count (count_at %zu) is past the "
                "struct's end (%zu bytes)", m->name, f->name, f->count_at,
                m->size);
    }
    int fits = f->def && f->kind != DI_F_MODEL && f->kind != DI_F_ARRAY
                   ? default_fits(f->def, f->kind) : 0;
    if (fits < 0)
        return DI_ENOMEM;
    if (f->def && !fits)
        BAD("model %s: field '%s': its default %s is not a value of its kind",
            m->name, f->name, f->def);
    if (f->ranged && f->min > f->max)
        BAD("model %s: field '%s': min %lld is above max %lld", m->name,
            f->name, (long long)f->min, (long long)f->max);
    if (f->max_len && f->min_len > f->max_len)
        BAD("model %s: field '%s': min_len %zu is above max_len %zu", m->name,
            f->name, f->min_len, f->max_len);
    return 0;
}

int di__model_check_desc(const di_container *c, const char *name,
                         const di_model_desc *d, di__errlist *errs)
{
    size_t n = 0;
    while (d->fields[n].name)
        n++;
    /* a view of the table as registered: check_field() reads the same */
    const di__model m = { .name = (char *)name, .size = d->size,
                          .fields = (di_field *)d->fields, .nfields = n };
    for (size_t i = 0; i < n; i++)
        if (check_field(c, &m, &d->fields[i], errs))
            return DI_ENOMEM;
    return 0;
}

int di__model_use(di_container *c, const char *model, const char *by)
{
    struct di__models *ms = c->models;
    if (!ms && !(ms = c->models = talloc_zero(c, struct di__models)))
        return DI_ENOMEM;
    model_use *u = talloc_realloc(ms, ms->uses, model_use,
                                  (unsigned)ms->nuses + 1);
    if (!u)
        return DI_ENOMEM;
    ms->uses = u;
    u[ms->nuses] = (model_use){ talloc_strdup(ms, model),
                                talloc_strdup(ms, by) };
    if (!u[ms->nuses].model || !u[ms->nuses].by)
        return DI_ENOMEM;
    ms->nuses++;
    return 0;
}

const di_field *di__model_fields(const di_container *c, const char *model,
                                 size_t *n)
{
    const di__model *m = find(c, model);
    *n = m ? m->nfields : 0;
    return m ? m->fields : NULL;
}

/* Is s an integer written the one way: an optional '-', digits, no
 * leading zero but "0" ("+1", "01", " 1" and "" are not)? */
static bool canonical_int(const char *s)
{
    if (*s == '-')
        s++;
    if (!isdigit((unsigned char)*s) || (s[0] == '0' && s[1]))
        return false;
    while (isdigit((unsigned char)*s))
        s++;
    return !*s;
}

/* The JSON text of an object of model's fields from strings (a query's
 * arguments, a path's parameters): a number where the field wants one and
 * the string is one (an integer written canonically: "+5" and "05" are
 * not), true and false for booleans, else the string itself (so that the
 * model's check says what it expected). */
int di__model_strings(const di_container *c, const char *model,
                      const char *(*get)(void *ctx, const char *name),
                      void *ctx, void *mem, char **out)
{
    *out = NULL;
    const struct di__models *ms = c->models;
    const di__model *m = NULL;
    for (size_t i = 0; ms && i < ms->n && !m; i++)
        if (strcmp(ms->m[i].name, model) == 0)
            m = &ms->m[i];
    if (!m)
        return DI_ENOTFOUND;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < m->nfields; i++) {
        const di_field *f = &m->fields[i];
        const char *v = get(ctx, f->name);
        if (!v)
            continue;
        cJSON *item = NULL;
        char *end = NULL;
        double d = strtod(v, &end);
        if ((f->kind == DI_F_INT ? canonical_int(v)
                                 : f->kind == DI_F_NUMBER && *v &&
                                   (*v == '-' || isdigit((unsigned char)*v)) &&
                                   end && !*end && isfinite(d)))
            item = cJSON_CreateNumber(d);
        else if (f->kind == DI_F_BOOL && (!strcmp(v, "true") ||
                                          !strcmp(v, "false")))
            item = cJSON_CreateBool(!strcmp(v, "true"));
        else
            item = cJSON_CreateString(v);
        ok = item && cJSON_AddItemToObject(o, f->name, item);
        if (!ok)
            cJSON_Delete(item);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    *out = text ? talloc_strdup(mem, text) : NULL;
    cJSON_free(text);
    return *out ? 0 : DI_ENOMEM;
}

int di__models_check(const di_container *c, di__errlist *errs)
{
    const struct di__models *ms = c->models;
    for (size_t i = 0; ms && i < ms->nuses; i++)
        if (!find(c, ms->uses[i].model) &&
            di__err_add(errs, DI_ENOTFOUND, ms->uses[i].by, "no model '%s'",
                        ms->uses[i].model) == DI_ENOMEM)
            return DI_ENOMEM;
    for (size_t i = 0; ms && i < ms->n; i++)
        for (size_t k = 0; k < ms->m[i].nfields; k++)
            if (check_field(c, &ms->m[i], &ms->m[i].fields[k], errs))
                return DI_ENOMEM;
    return 0;
}

/* ---- parsing ---- */

/* Where the walk is: a chain of parts, printed when a problem is found. */
typedef struct loc {
    const struct loc *up;
    const char *key;  /* a member, or NULL: an index */
    size_t index;
} loc;

typedef struct walk {
    const di_container *c;
    void *mem;          /* what is filled: under the struct */
    void *pmem;         /* the problems: the caller's context */
    di_problem *head, **tail;
    bool nomem;
} walk;

static void loc_text(const loc *l, char **dot, char **json)
{
    if (!l) {
        *dot = talloc_strdup(NULL, "");
        *json = talloc_strdup(NULL, "");
        return;
    }
    loc_text(l->up, dot, json);
    if (!*dot || !*json)
        return;
    if (l->key) {
        *dot = talloc_asprintf_append_buffer(*dot, "%s%s", **dot ? "." : "",
                                             l->key);
        cJSON *item = cJSON_CreateStringReference(l->key); /* quoted, as
                                                              JSON says */
        char *k = item ? cJSON_PrintUnformatted(item) : NULL;
        cJSON_Delete(item);
        *json = k ? talloc_asprintf_append_buffer(*json, "%s%s",
                                                  **json ? "," : "", k)
                  : (talloc_free(*json), NULL);
        cJSON_free(k);
    } else {
        *dot = talloc_asprintf_append_buffer(*dot, "[%zu]", l->index);
        *json = talloc_asprintf_append_buffer(*json, "%s%zu",
                                              **json ? "," : "", l->index);
    }
}

static void problem(walk *w, const loc *l, const char *type, const char *fmt,
                    ...) DI_PRINTF(4, 5);
static void problem(walk *w, const loc *l, const char *type, const char *fmt,
                    ...)
{
    di_problem *p = talloc_zero(w->pmem, di_problem);
    char *dot = NULL, *json = NULL;
    loc_text(l, &dot, &json);
    va_list ap;
    va_start(ap, fmt);
    char *msg = p ? talloc_vasprintf(p, fmt, ap) : NULL;
    va_end(ap);
    if (!p || !msg || !dot || !json) {
        talloc_free(dot);
        talloc_free(json);
        talloc_free(p);
        w->nomem = true;
        return;
    }
    p->loc = talloc_steal(p, dot);
    p->loc_json = talloc_asprintf(p, "[%s]", json);
    talloc_free(json);
    p->msg = msg;
    p->type = type;
    if (!p->loc_json) {
        talloc_free(p);
        w->nomem = true;
        return;
    }
    *w->tail = p;
    w->tail = &p->next;
}

/* Characters in s (UTF-8, checked with the document), and its length in
 * bytes in *n: one pass. */
static size_t chars(const char *s, size_t *n)
{
    size_t count = 0;
    const char *p = s;
    for (; *p; p++)
        count += ((unsigned char)*p & 0xc0) != 0x80;
    *n = (size_t)(p - s);
    return count;
}

static void *member(void *base, size_t at) { return (char *)base + at; }

static int fill_model(walk *w, const di__model *m, const cJSON *o,
                      const loc *l, void *out);

/* One value of kind k (field f's, or its items') into dst. */
static void value(walk *w, const di_field *f, di_field_kind k, const cJSON *v,
                  const loc *l, void *dst)
{
    switch (k) {
    case DI_F_STRING: {
        if (!cJSON_IsString(v)) {
            problem(w, l, "string_type", "expected a string");
            return;
        }
        size_t n, nc = 0;
        if (f->min_len || f->max_len) /* characters, when they matter */
            nc = chars(v->valuestring, &n);
        else
            n = strlen(v->valuestring);
        if (nc < f->min_len)
            problem(w, l, "string_too_short", "at least %zu character%s",
                    f->min_len, f->min_len == 1 ? "" : "s");
        else if (f->max_len && nc > f->max_len)
            problem(w, l, "string_too_long", "at most %zu character%s",
                    f->max_len, f->max_len == 1 ? "" : "s");
        else if (f->one_of) {
            const char *const *e = f->one_of;
            while (*e && strcmp(*e, v->valuestring) != 0)
                e++;
            if (!*e) {
                char list[256] = "";
                for (e = f->one_of; *e; e++)
                    snprintf(list + strlen(list), sizeof list - strlen(list),
                             "%s'%s'", e == f->one_of ? "" : ", ", *e);
                problem(w, l, "enum", "expected one of %s", list);
            }
        }
        char *s = talloc_memdup(w->mem, v->valuestring, n + 1); /* its NUL
                                                                  too */
        if (!s)
            w->nomem = true;
        *(const char **)dst = s;
        return;
    }
    case DI_F_INT: {
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || d != floor(d) ||
            d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
            problem(w, l, "int_type", "expected an integer");
            return;
        }
        int64_t i = (int64_t)d;
        if (f->ranged && (i < f->min || i > f->max))
            problem(w, l, "int_range", "expected %lld to %lld",
                    (long long)f->min, (long long)f->max);
        *(int64_t *)dst = i;
        return;
    }
    case DI_F_NUMBER:
        if (!cJSON_IsNumber(v))
            problem(w, l, "number_type", "expected a number");
        else
            *(double *)dst = v->valuedouble;
        return;
    case DI_F_BOOL:
        if (!cJSON_IsBool(v))
            problem(w, l, "bool_type", "expected true or false");
        else
            *(bool *)dst = cJSON_IsTrue(v);
        return;
    case DI_F_MODEL: {
        const di__model *sub = find(w->c, f->model);
        if (!cJSON_IsObject(v)) {
            problem(w, l, "model_type", "expected an object");
            return;
        }
        void *o = talloc_zero_size(w->mem, sub->size);
        if (!o) {
            w->nomem = true;
            return;
        }
        fill_model(w, sub, v, l, o);
        *(void **)dst = o;
        return;
    }
    default:
        return;
    }
}

static void array(walk *w, const di_field *f, const cJSON *v, const loc *l,
                  void *out)
{
    if (!cJSON_IsArray(v)) {
        problem(w, l, "array_type", "expected an array");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n < f->min_len)
        problem(w, l, "array_too_short", "at least %zu item%s", f->min_len,
                f->min_len == 1 ? "" : "s");
    if (f->max_len && n > f->max_len) {
        problem(w, l, "array_too_long", "at most %zu item%s", f->max_len,
                f->max_len == 1 ? "" : "s");
        return;
    }
    size_t each = f->items == DI_F_MODEL ? find(w->c, f->model)->size
                                         : size_of(f->items);
    char *items = n ? talloc_zero_size(w->mem, each * n) : NULL;
    if (n && !items) {
        w->nomem = true;
        return;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        loc here = { l, NULL, i };
        if (f->items == DI_F_MODEL) {
            if (!cJSON_IsObject(it))
                problem(w, &here, "model_type", "expected an object");
            else
                fill_model(w, find(w->c, f->model), it, &here,
                           items + i * each);
        } else {
            value(w, f, f->items, it, &here, items + i * each);
        }
        i++;
    }
    *(void **)member(out, f->at) = items;
    *(size_t *)member(out, f->count_at) = n;
}

static int fill_model(walk *w, const di__model *m, const cJSON *o,
                      const loc *l, void *out)
{
    for (size_t i = 0; i < m->nfields && !w->nomem; i++) {
        const di_field *f = &m->fields[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f->name);
        loc here = { l, f->name, 0 };
        if (!v || cJSON_IsNull(v)) {
            if (f->required) {
                problem(w, &here, "missing", "field required");
            } else if (f->def) {
                cJSON *d = cJSON_Parse(f->def); /* checked at seal */
                if (!d)
                    w->nomem = true;
                else
                    value(w, f, f->kind, d, &here, member(out, f->at));
                cJSON_Delete(d);
            }
            continue;
        }
        if (f->kind == DI_F_ARRAY)
            array(w, f, v, &here, out);
        else
            value(w, f, f->kind, v, &here, member(out, f->at));
    }
    return 0;
}

/* Parse json as one object of model (list false) or an array of them
 * (list: *out a di_model_list). */
static int parse(const di_container *c, const char *model, const char *json,
                 size_t len, const char *root, void *mem, bool list,
                 void **out, di_problem **problems, bool sealed_only)
{
    if (out)
        *out = NULL;
    if (problems)
        *problems = NULL;
    if (!c || !model || (!json && len) || !out || !problems)
        return DI_EINVAL;
    if (sealed_only && !c->sealed) /* its models are checked at seal */
        return DI_ENOTSEALED;
    const di__model *m = find(c, model);
    if (!m)
        return DI_ENOTFOUND;
    /* the struct holds everything filled into it; the problems are the
     * caller's */
    void *o = talloc_zero_size(mem, list ? sizeof(di_model_list) : m->size);
    if (!o)
        return DI_ENOMEM;
    walk w = { .c = c, .mem = o, .pmem = mem };
    w.tail = &w.head;
    loc top = { NULL, root, 0 };
    const loc *l = root ? &top : NULL;
    /* the text first, with its position: one JSON value, UTF-8, nothing
     * after it */
    char *err = NULL;
    cJSON *doc = NULL;
    int rc = di__json_parse(o, json ? json : "", len, 64, &err, &doc);
    if (rc == DI_ENOMEM) {
        w.nomem = true;
    } else if (rc) {
        problem(&w, l, "json_invalid", "%s", err);
    } else if (list) {
        /* the array as a field of a two-member struct: items, count */
        di_field f = { .name = "", .kind = DI_F_ARRAY, .items = DI_F_MODEL,
                       .model = m->name,
                       .at = offsetof(di_model_list, items),
                       .count_at = offsetof(di_model_list, n) };
        array(&w, &f, doc, l, o);
    } else if (!cJSON_IsObject(doc)) {
        problem(&w, l, "model_type", "expected an object");
    } else {
        fill_model(&w, m, doc, l, o);
    }
    cJSON_Delete(doc);
    if (w.nomem || w.head) {
        talloc_free(o);
        if (w.nomem) {
            while (w.head) {
                di_problem *next = w.head->next;
                talloc_free(w.head);
                w.head = next;
            }
            return DI_ENOMEM;
        }
        *problems = w.head;
        return DI_EINVALID;
    }
    *out = o;
    return 0;
}

int di_model_parse(const di_container *c, const char *model,
                   const char *json, size_t len, const char *root, void *mem,
                   void **out, di_problem **problems)
{
    return parse(c, model, json, len, root, mem, false, out, problems, true);
}

int di__model_fill(const di_container *c, const char *model,
                   const char *json, size_t len, const char *root, void *mem,
                   void **out, di_problem **problems)
{
    return parse(c, model, json, len, root, mem, false, out, problems, false);
}

int di_model_parse_list(const di_container *c, const char *model,
                        const char *json, size_t len, const char *root,
                        void *mem, di_model_list **out, di_problem **problems)
{
    return parse(c, model, json, len, root, mem, true, (void **)out,
                 problems, true);
}

char *di_problems_json(const di_problem *p, void *mem)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "detail") : NULL;
    bool ok = arr != NULL;
    for (; ok && p; p = p->next) {
        cJSON *o = cJSON_CreateObject(), *where = cJSON_Parse(p->loc_json);
        ok = o && where && cJSON_AddItemToObject(o, "loc", where) &&
             cJSON_AddStringToObject(o, "msg", p->msg) &&
             cJSON_AddStringToObject(o, "type", p->type) &&
             cJSON_AddItemToArray(arr, o);
        if (!ok) {
            if (o && !cJSON_GetObjectItemCaseSensitive(o, "loc"))
                cJSON_Delete(where);
            cJSON_Delete(o);
        }
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    char *out = text ? talloc_strdup(mem, text) : NULL;
    cJSON_free(text);
    return out;
}
