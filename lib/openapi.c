/*
 * openapi.c — the OpenAPI document of a router and its docs page (see
 * di/openapi.h): routes, inputs and models read from the router, security
 * from the sealed graph.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "http_int.h"

#ifndef DI_SWAGGER_UI_DIR
#define DI_SWAGGER_UI_DIR "/usr/lib/python3/dist-packages/flasgger/ui3/static"
#endif

/* A provider marked as an authentication scheme. */
typedef struct mark {
    char *provider;
    di_auth_scheme s;
} mark;

/* What a router holds for its document: the marks, and the info given to
 * di_openapi_routes() (the default of di_openapi_json()). */
typedef struct marks {
    mark *m;
    size_t n;
    const di_openapi_info *info;
} marks;

static marks *state_of(di_http *h)
{
    void **slot = di__http_openapi(h);
    if (!*slot)
        *slot = talloc_zero(h, marks);
    return *slot;
}

static char *dup_or_null(void *mem, const char *s, bool *nomem)
{
    char *d = s ? talloc_strdup(mem, s) : NULL;
    if (s && !d)
        *nomem = true;
    return d;
}

int di_openapi_auth(di_http *h, const char *provider, const di_auth_scheme *s)
{
    if (!h)
        return DI_EINVAL;
    di_container *c = di_http_container(h);
    if (di__closed(c, "di_openapi_auth", provider ? provider : "(null)"))
        return DI_ESEALED;
    bool http = s && s->type && strcmp(s->type, "http") == 0;
    bool key = s && s->type && strcmp(s->type, "apiKey") == 0;
    if (!provider || !s || !s->id || !*s->id || !((http && s->scheme) ||
        (key && s->in && s->name))) {
        di__reg_error(c, DI_EINVAL, "di_openapi_auth: a provider and a scheme "
                      "with an id are required; type \"http\" needs a scheme "
                      "(\"bearer\"), \"apiKey\" needs in and name");
        return DI_EINVAL;
    }
    marks *ms = state_of(h);
    if (!ms)
        return DI_ENOMEM;
    for (size_t i = 0; i < ms->n; i++)
        if (strcmp(ms->m[i].provider, provider) == 0) {
            di__reg_error(c, DI_EEXIST, "di_openapi_auth: '%s' is marked as "
                          "'%s' already", provider, ms->m[i].s.id);
            return DI_EEXIST;
        }
    mark *grown = talloc_realloc(ms, ms->m, mark, (unsigned)ms->n + 1);
    if (!grown)
        return DI_ENOMEM;
    ms->m = grown;
    mark *m = &ms->m[ms->n];
    bool nomem = false;
    *m = (mark){ .provider = dup_or_null(ms, provider, &nomem) };
    m->s.id = dup_or_null(ms, s->id, &nomem);
    m->s.type = dup_or_null(ms, s->type, &nomem);
    m->s.scheme = dup_or_null(ms, s->scheme, &nomem);
    m->s.bearer_format = dup_or_null(ms, s->bearer_format, &nomem);
    m->s.in = dup_or_null(ms, s->in, &nomem);
    m->s.name = dup_or_null(ms, s->name, &nomem);
    m->s.description = dup_or_null(ms, s->description, &nomem);
    if (nomem)
        return DI_ENOMEM; /* the strings stay with the marks until h goes */
    ms->n++;
    return 0;
}

/* ---- the document ---- */

typedef struct doc {
    const di_container *c;
    cJSON *schemas;     /* components.schemas */
    bool nomem;
    bool missing;       /* a model named that does not exist */
} doc;

static cJSON *add(doc *d, cJSON *to, const char *key, cJSON *v)
{
    if (!v)
        d->nomem = true;
    else if (!to || !(cJSON_IsArray(to) ? cJSON_AddItemToArray(to, v)
                                        : cJSON_AddItemToObject(to, key, v))) {
        cJSON_Delete(v);
        d->nomem = true;
        return NULL;
    }
    return v;
}

static void add_str(doc *d, cJSON *to, const char *key, const char *s)
{
    add(d, to, key, cJSON_CreateString(s));
}

/* An integer, exactly (cJSON's numbers are doubles). */
static void add_int(doc *d, cJSON *to, const char *key, int64_t n)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)n);
    add(d, to, key, cJSON_CreateRaw(text));
}

static void model_schema(doc *d, const char *model);

/* {"$ref": "#/components/schemas/<model>"}, the model added. */
static cJSON *ref(doc *d, const char *model)
{
    model_schema(d, model);
    cJSON *o = cJSON_CreateObject();
    char at[DI_NAME_MAX + 32];
    snprintf(at, sizeof at, "#/components/schemas/%s", model);
    add_str(d, o, "$ref", at);
    return o;
}

/* A $ref to model, or (list) an array of them. */
static cJSON *refs(doc *d, const char *model, bool list)
{
    cJSON *s = ref(d, model);
    if (!list)
        return s;
    cJSON *a = cJSON_CreateObject();
    add_str(d, a, "type", "array");
    add(d, a, "items", s);
    return a;
}

/* to.content["application/json"].schema = schema */
static void json_content(doc *d, cJSON *to, cJSON *schema)
{
    cJSON *ct = add(d, add(d, to, "content", cJSON_CreateObject()),
                    "application/json", cJSON_CreateObject());
    add(d, ct, "schema", schema);
}

/* The JSON schema of one value of kind k (a field's, or its items'). */
static cJSON *kind_schema(doc *d, const di_field *f, di_field_kind k)
{
    static const char *const types[] = { [DI_F_STRING] = "string",
        [DI_F_INT] = "integer", [DI_F_NUMBER] = "number",
        [DI_F_BOOL] = "boolean", [DI_F_ARRAY] = "array" };
    if (k == DI_F_MODEL)
        return ref(d, f->model);
    cJSON *o = cJSON_CreateObject();
    add_str(d, o, "type", types[k]);
    if (k == DI_F_STRING && f->kind == DI_F_STRING) {
        if (f->min_len)
            add_int(d, o, "minLength", (int64_t)f->min_len);
        if (f->max_len)
            add_int(d, o, "maxLength", (int64_t)f->max_len);
        if (f->one_of) {
            cJSON *e = add(d, o, "enum", cJSON_CreateArray());
            for (const char *const *v = f->one_of; *v; v++)
                add_str(d, e, NULL, *v);
        }
    }
    if (k == DI_F_INT && f->ranged) {
        add_int(d, o, "minimum", f->min);
        add_int(d, o, "maximum", f->max);
    }
    if (k == DI_F_ARRAY) {
        add(d, o, "items", kind_schema(d, f, f->items));
        if (f->min_len)
            add_int(d, o, "minItems", (int64_t)f->min_len);
        if (f->max_len)
            add_int(d, o, "maxItems", (int64_t)f->max_len);
    }
    return o;
}

/* A field's schema: its kind's, with its default and a title as FastAPI
 * writes them. A nested model's is a bare $ref (3.0 allows no siblings). */
static cJSON *field_schema(doc *d, const di_field *f)
{
    cJSON *o = kind_schema(d, f, f->kind);
    if (!o || f->kind == DI_F_MODEL)
        return o;
    if (f->def) /* checked at seal: only memory can fail it */
        add(d, o, "default", cJSON_Parse(f->def));
    return o;
}

/* components.schemas.<model>, once. */
static void model_schema(doc *d, const char *model)
{
    if (!d->schemas || cJSON_GetObjectItemCaseSensitive(d->schemas, model))
        return;
    size_t n;
    const di_field *f = di__model_fields(d->c, model, &n);
    if (!f) {
        d->missing = true;
        return;
    }
    cJSON *o = add(d, d->schemas, model, cJSON_CreateObject());
    add_str(d, o, "title", model);
    add_str(d, o, "type", "object");
    cJSON *props = add(d, o, "properties", cJSON_CreateObject());
    cJSON *req = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        add(d, props, f[i].name, field_schema(d, &f[i]));
        if (f[i].required)
            add_str(d, req, NULL, f[i].name);
    }
    if (req && cJSON_GetArraySize(req))
        add(d, o, "required", req);
    else
        cJSON_Delete(req);
}

/* A parameter object. */
static void param(doc *d, cJSON *params, const char *name, const char *in,
                  bool required, cJSON *schema)
{
    cJSON *p = add(d, params, NULL, cJSON_CreateObject());
    add_str(d, p, "name", name);
    add_str(d, p, "in", in);
    add(d, p, "required", cJSON_CreateBool(required));
    add(d, p, "schema", schema);
}

static const di_field *field_named(const di_field *f, size_t n,
                                   const char *name)
{
    for (size_t i = 0; f && i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

/* The route's parameters and body, from its path and its inputs. Returns
 * whether the router checks any of them (the route may then answer 422):
 * an input; not a path parameter without a path model, which reaches the
 * handler as it came. */
static bool inputs(doc *d, const di__route_doc *r, cJSON *op)
{
    cJSON *params = cJSON_CreateArray();
    d->nomem |= !params;
    const di__input *path = NULL;
    for (uint32_t i = 0; i < r->ndeps; i++)
        if (r->ins[i] && r->ins[i]->what == DI__IN_PATH)
            path = r->ins[i];
    size_t npf = 0;
    const di_field *pf = path ? di__model_fields(d->c, path->arg, &npf)
                              : NULL;
    for (uint32_t i = 0; i < r->nsegs; i++) {
        if (!r->pnames[i])
            continue;
        const di_field *f = field_named(pf, npf, r->pnames[i]);
        cJSON *s = f ? field_schema(d, f) : cJSON_CreateObject();
        if (!f)
            add_str(d, s, "type", "string");
        param(d, params, r->pnames[i], "path", true, s);
    }
    bool checked = path != NULL;
    for (uint32_t i = 0; i < r->ndeps; i++) {
        const di__input *in = r->ins[i];
        bool optional = r->deps[i][0] == '?';
        if (!in || in->what == DI__IN_PATH)
            continue;
        checked = true;
        if (in->what == DI__IN_HEADER) {
            cJSON *s = cJSON_CreateObject();
            add_str(d, s, "type", "string");
            param(d, params, in->arg, "header", !optional, s);
        } else if (in->what == DI__IN_QUERY) {
            size_t n;
            const di_field *f = di__model_fields(d->c, in->arg, &n);
            d->missing |= !f;
            for (size_t k = 0; f && k < n; k++)
                param(d, params, f[k].name, "query", f[k].required != 0,
                      field_schema(d, &f[k]));
        } else {
            cJSON *rb = add(d, op, "requestBody", cJSON_CreateObject());
            json_content(d, rb, refs(d, in->arg, in->list));
            add(d, rb, "required", cJSON_CreateBool(!optional));
        }
    }
    if (params && cJSON_GetArraySize(params))
        add(d, op, "parameters", params);
    else
        cJSON_Delete(params);
    return checked;
}

/* FastAPI's schemas for its 422 answer. */
static void validation_schemas(doc *d)
{
    static const char *const err =
        "{\"title\":\"ValidationError\",\"type\":\"object\","
        "\"required\":[\"loc\",\"msg\",\"type\"],\"properties\":{"
        "\"loc\":{\"title\":\"Location\",\"type\":\"array\",\"items\":"
        "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}},"
        "\"msg\":{\"title\":\"Message\",\"type\":\"string\"},"
        "\"type\":{\"title\":\"Error Type\",\"type\":\"string\"}}}";
    static const char *const http =
        "{\"title\":\"HTTPValidationError\",\"type\":\"object\","
        "\"properties\":{\"detail\":{\"title\":\"Detail\",\"type\":\"array\","
        "\"items\":{\"$ref\":\"#/components/schemas/ValidationError\"}}}}";
    if (cJSON_GetObjectItemCaseSensitive(d->schemas, "ValidationError"))
        return;
    add(d, d->schemas, "ValidationError", cJSON_Parse(err));
    add(d, d->schemas, "HTTPValidationError", cJSON_Parse(http));
}

static cJSON *response(doc *d, cJSON *resps, int status, const char *desc)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    cJSON *o = add(d, resps, code, cJSON_CreateObject());
    add_str(d, o, "description", desc);
    return o;
}

static void responses(doc *d, const di__route_doc *r, bool validated,
                      cJSON *op)
{
    cJSON *resps = add(d, op, "responses", cJSON_CreateObject());
    const di_route_answer *x = r->responses;
    if (!x)
        response(d, resps, 200, "Successful Response");
    for (; x && x->status; x++) {
        cJSON *o = response(d, resps, x->status, x->description);
        if (!x->model && x->status == 422 && validated) {
            /* the router's own 422 (a documented one may say more) */
            validation_schemas(d);
            json_content(d, o, ref(d, "HTTPValidationError"));
        }
        if (x->model)
            json_content(d, o, refs(d, x->model, x->list != 0));
    }
    if (validated &&
        !cJSON_GetObjectItemCaseSensitive(resps, "422")) {
        validation_schemas(d);
        json_content(d, response(d, resps, 422, "Validation Error"),
                     ref(d, "HTTPValidationError"));
    }
}

/* The schemes route r's consumer reaches: its marks, in mark order, as one
 * security requirement ({"bearer": []}); none: no security. */
static void security(doc *d, const marks *ms, const di__route_doc *r,
                     cJSON *op, uint8_t *seen)
{
    const di_container *c = d->c;
    int key = di_consumer_key(c, r->name);
    if (!ms || !ms->n || key < 0)
        return;
    memset(seen, 0, c->nprov);
    /* an explicit stack: the graph may be deep */
    di__key *stack = talloc_array(NULL, di__key, c->nprov + 1);
    if (!stack) {
        d->nomem = true;
        return;
    }
    size_t top = 0;
    const di__consumer *cn = &c->cons[key];
    for (uint32_t i = 0; i < cn->ndeps; i++)
        if (cn->deps[i].target >= 0 && !seen[cn->deps[i].target]) {
            seen[cn->deps[i].target] = 1;
            stack[top++] = cn->deps[i].target;
        }
    while (top) {
        const di__provider *p = di__prov(c, stack[--top]);
        for (uint32_t i = 0; i < p->ndeps; i++) {
            di__key t = p->deps[i].target;
            if (t >= 0 && !seen[t]) {
                seen[t] = 1;
                stack[top++] = t;
            }
        }
    }
    talloc_free(stack);
    cJSON *req = NULL;
    for (size_t i = 0; i < ms->n; i++) {
        int k = di_key(c, ms->m[i].provider);
        if (k < 0 || !seen[k])
            continue;
        if (!req)
            req = add(d, add(d, op, "security", cJSON_CreateArray()), NULL,
                      cJSON_CreateObject());
        add(d, req, ms->m[i].s.id, cJSON_CreateArray());
    }
}

static void schemes(doc *d, const marks *ms, cJSON *components)
{
    cJSON *all = NULL;
    for (size_t i = 0; ms && i < ms->n; i++) {
        const di_auth_scheme *s = &ms->m[i].s;
        if (!all)
            all = add(d, components, "securitySchemes", cJSON_CreateObject());
        if (cJSON_GetObjectItemCaseSensitive(all, s->id))
            continue; /* two providers, one scheme */
        cJSON *o = add(d, all, s->id, cJSON_CreateObject());
        add_str(d, o, "type", s->type);
        if (s->scheme)
            add_str(d, o, "scheme", s->scheme);
        if (s->bearer_format)
            add_str(d, o, "bearerFormat", s->bearer_format);
        if (s->in)
            add_str(d, o, "in", s->in);
        if (s->name)
            add_str(d, o, "name", s->name);
        if (s->description)
            add_str(d, o, "description", s->description);
    }
}

/* "post_notes_id": an operationId from the method and the path. */
static char *operation_id(void *mem, const di__route_doc *r)
{
    char *id = talloc_asprintf(mem, "%s%s", r->method, r->path);
    for (char *p = id; p && *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            *p = '_';
    }
    /* no runs of '_', none at the end */
    char *w = id;
    for (char *p = id; p && *p; p++)
        if (*p != '_' || (w > id && w[-1] != '_'))
            *w++ = *p;
    while (w && w > id && w[-1] == '_')
        w--;
    if (w)
        *w = '\0';
    return id;
}

/* The document of h's routes as wired on c (sealed). */
static int document(const di_http *h, const di_container *c,
                    const di_openapi_info *info, void *mem, char **out)
{
    if (!di_container_sealed(c))
        return DI_ENOTSEALED;
    const marks *ms = di__http_openapi_get(h);
    if (!info && ms)
        info = ms->info;
    void *tmp = talloc_new(NULL);
    uint8_t *seen = tmp ? talloc_zero_size(tmp, c->nprov + 1) : NULL;
    cJSON *root = cJSON_CreateObject();
    doc d = { .c = c, .nomem = !seen };
    add_str(&d, root, "openapi", "3.1.0");
    cJSON *inf = add(&d, root, "info", cJSON_CreateObject());
    add_str(&d, inf, "title", info && info->title ? info->title : "API");
    add_str(&d, inf, "version",
            info && info->version ? info->version : "0.1.0");
    if (info && info->description)
        add_str(&d, inf, "description", info->description);
    cJSON *paths = add(&d, root, "paths", cJSON_CreateObject());
    cJSON *components = cJSON_CreateObject();
    d.schemas = add(&d, components, "schemas", cJSON_CreateObject());
    for (uint32_t i = 0; seen && i < di__http_nroutes(h); i++) {
        const di__route_doc *r = di__http_route_doc(h, i);
        if (r->undocumented)
            continue;
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, r->path);
        if (!item)
            item = add(&d, paths, r->path, cJSON_CreateObject());
        char *method = talloc_strdup(tmp, r->method);
        for (char *p = method; p && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        char *opid = operation_id(tmp, r);
        if (!method || !opid) {
            d.nomem = true;
            break;
        }
        cJSON *op = add(&d, item, method, cJSON_CreateObject());
        if (r->summary)
            add_str(&d, op, "summary", r->summary);
        add_str(&d, op, "operationId", opid);
        bool validated = inputs(&d, r, op);
        responses(&d, r, validated, op);
        security(&d, ms, r, op, seen);
    }
    schemes(&d, ms, components);
    if (d.schemas && !cJSON_GetArraySize(d.schemas))
        cJSON_DeleteItemFromObjectCaseSensitive(components, "schemas");
    if (cJSON_GetArraySize(components))
        add(&d, root, "components", components);
    else
        cJSON_Delete(components);
    char *text = d.nomem || d.missing ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    talloc_free(tmp);
    /* (seal checked every model a route names: only a schema lost to
     * memory looks missing) */
    if (d.missing && !d.nomem)
        return DI_ENOTFOUND;
    *out = text ? talloc_strdup(mem, text) : NULL;
    cJSON_free(text);
    return *out ? 0 : DI_ENOMEM;
}

int di_openapi_json(const di_http *h, const di_openapi_info *info, void *mem,
                    char **out)
{
    if (!h || !out)
        return DI_EINVAL;
    return document(h, di_http_container(h), info, mem, out);
}

/* ---- the routes ---- */

typedef struct served {
    di_openapi_info info;
    const di_http *h;
    char *json_path, *docs_path;
    char *page_title;  /* the title, HTML-escaped */
} served;

/* s with &, <, > and " escaped for HTML, on mem. */
static char *html_escaped(void *mem, const char *s)
{
    char *o = talloc_strdup(mem, "");
    for (; o && *s; s++)
        o = *s == '&' ? talloc_strdup_append(o, "&amp;")
            : *s == '<' ? talloc_strdup_append(o, "&lt;")
            : *s == '>' ? talloc_strdup_append(o, "&gt;")
            : *s == '"' ? talloc_strdup_append(o, "&quot;")
            : talloc_strndup_append(o, s, 1);
    return o;
}

/* Can path go into the page as it is (an attribute, a script string)? */
static bool plain_path(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '\'' || *p == '<' ||
            *p == '>' || *p == '\\' || *p == 0x7f)
            return false;
    return true;
}

static int serve_json(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    const served *sv = data;
    char *json;
    /* the request's own container: the current one may be replaced (and
     * freed) meanwhile by a reload */
    int rc = document(sv->h, di_scope_container(di_http_scope(r)), &sv->info,
                      NULL, &json);
    if (rc)
        return rc;
    rc = di_http_respond(r, 200, "application/json", json, strlen(json));
    talloc_free(json);
    return rc;
}

static int serve_page(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    const served *sv = data;
    const char *docs = sv->docs_path;
    /* the document is marked 3.0.3 for this Swagger UI, which reads 3.0
     * only (see openapi.h) */
    char *page = talloc_asprintf(NULL,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
        "<title>%s</title>\n"
        "<link rel=\"stylesheet\" href=\"%s/swagger-ui.css\">\n"
        "</head><body><div id=\"ui\"></div>\n"
        "<script src=\"%s/swagger-ui-bundle.js\"></script>\n"
        "<script>\n"
        "fetch(\"%s\").then(function (r) { return r.json(); })\n"
        "  .then(function (doc) {\n"
        "    doc.openapi = \"3.0.3\";\n"
        "    window.ui = SwaggerUIBundle({ spec: doc, dom_id: \"#ui\",\n"
        "      deepLinking: true });\n"
        "  });\n"
        "</script>\n</body></html>\n",
        sv->page_title, docs, docs, sv->json_path);
    if (!page)
        return DI_ENOMEM;
    int rc = di_http_respond(r, 200, "text/html; charset=utf-8", page,
                             strlen(page));
    talloc_free(page);
    return rc;
}

static int serve_file(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    const char *file = data;
    char at[512];
    snprintf(at, sizeof at, "%s/%s", DI_SWAGGER_UI_DIR, file);
    FILE *f = fopen(at, "rb");
    if (!f) {
        char why[700];
        int n = snprintf(why, sizeof why, "{\"error\":\"the docs page needs "
                         "Swagger UI in %s (Debian: python3-flasgger): %s\"}",
                         DI_SWAGGER_UI_DIR, strerror(errno));
        return di_http_respond(r, 404, "application/json", why,
                               n > 0 ? (size_t)n : 0);
    }
    char *text = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            char *grown = talloc_realloc(NULL, text, char,
                                         (unsigned)(cap = cap ? cap * 2
                                                              : 65536));
            if (!grown) {
                talloc_free(text);
                fclose(f);
                return DI_ENOMEM;
            }
            text = grown;
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
    } while (got);
    fclose(f);
    const char *type = strstr(file, ".css") ? "text/css"
                                            : "application/javascript";
    int rc = di_http_respond(r, 200, type, text, len);
    talloc_free(text);
    if (!rc)
        rc = di_http_add_header(r, "Cache-Control", "max-age=3600");
    return rc;
}

int di_openapi_routes(di_http *h, const di_openapi_info *info,
                      const char *json_path, const char *docs_path)
{
    if (!h || !json_path)
        return DI_EINVAL;
    if (!plain_path(json_path) || (docs_path && !plain_path(docs_path))) {
        di__reg_error(di_http_container(h), DI_EINVAL, "di_openapi_routes: "
                      "the paths may not hold spaces, quotes, '<', '>' or "
                      "'\\'");
        return DI_EINVAL;
    }
    marks *ms = state_of(h);
    served *sv = ms ? talloc_zero(h, served) : NULL;
    bool nomem = !sv;
    if (sv) {
        sv->h = h;
        sv->json_path = dup_or_null(sv, json_path, &nomem);
        sv->docs_path = dup_or_null(sv, docs_path, &nomem);
        sv->info.title = dup_or_null(sv, info ? info->title : NULL, &nomem);
        sv->info.version = dup_or_null(sv, info ? info->version : NULL,
                                       &nomem);
        sv->info.description = dup_or_null(sv, info ? info->description
                                                    : NULL, &nomem);
        sv->page_title = html_escaped(sv, sv->info.title ? sv->info.title
                                                         : "API");
        nomem |= !sv->page_title;
    }
    if (nomem) {
        talloc_free(sv);
        return DI_ENOMEM;
    }
    ms->info = &sv->info;
    int rc = di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = json_path, .handler = serve_json, .data = sv,
        .undocumented = 1 });
    if (rc || !docs_path)
        return rc;
    rc = di_http_route(h, &(di_http_route_desc){ .method = "GET",
        .path = docs_path, .handler = serve_page, .data = sv,
        .undocumented = 1 });
    static const char *const files[] = { "swagger-ui.css",
                                         "swagger-ui-bundle.js" };
    for (size_t i = 0; !rc && i < 2; i++) {
        char *path = talloc_asprintf(sv, "%s/%s", docs_path, files[i]);
        rc = path ? di_http_route(h, &(di_http_route_desc){ .method = "GET",
                        .path = path, .handler = serve_file,
                        .data = (void *)files[i], .undocumented = 1 })
                  : DI_ENOMEM;
    }
    return rc;
}
