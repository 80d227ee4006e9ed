/*
 * graph.c — the graph as JSON and as Graphviz DOT.
 *
 * Both outputs read the registry as seal left it. On an unsealed container
 * the seal checks run first (di__seal_check: nothing is compiled or sealed)
 * so that levels and edges are resolved and the problems can be shown; their
 * paths ("a → b (request) → c") are split back into node names to mark the
 * failing edges.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "di_int.h"

typedef struct graph {
    di_container *c;
    void *tmp;
    struct di_error *problems; /* each with its path as names */
    /* missing provider names (required deps with no provider) */
    const char **missing;
    size_t nmissing;
} graph;

static int add_missing(graph *g, const char *name)
{
    for (size_t i = 0; i < g->nmissing; i++)
        if (strcmp(g->missing[i], name) == 0)
            return 0;
    const char **m = talloc_realloc(g->tmp, g->missing, const char *,
                                    di__count(g->nmissing + 1));
    if (!m)
        return DI_ENOMEM;
    g->missing = m;
    m[g->nmissing++] = name;
    return 0;
}

static int graph_init(graph *g, di_container *c)
{
    memset(g, 0, sizeof *g);
    g->c = c;
    g->tmp = talloc_new(NULL);
    if (!g->tmp)
        return DI_ENOMEM;
    if (!c->sealed) {
        int rc = di__seal_check(c, g->tmp, &g->problems);
        if (rc)
            return rc;
    }
    for (di__key p = 0; p < di__nkeys(c); p++)
        for (uint32_t k = 0; k < di__prov(c, p)->ndeps; k++) {
            const di__dep *d = &di__prov(c, p)->deps[k];
            if (d->target < 0 && !d->optional && add_missing(g, d->name))
                return DI_ENOMEM;
        }
    for (uint32_t p = 0; p < c->ncons; p++)
        for (uint32_t k = 0; k < c->cons[p].ndeps; k++) {
            const di__dep *d = &c->cons[p].deps[k];
            if (d->target < 0 && !d->optional && add_missing(g, d->name))
                return DI_ENOMEM;
        }
    return 0;
}

/* Does some problem's path go from -> to? */
static bool failing(const graph *g, const char *from, const char *to)
{
    for (const struct di_error *e = g->problems; e; e = e->next)
        for (size_t k = 0; k + 1 < e->nnames; k++)
            if (strcmp(e->names[k], from) == 0 &&
                strcmp(e->names[k + 1], to) == 0)
                return true;
    return false;
}

/* ---- JSON ---- */

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *add(cJSON *parent, const char *key, cJSON *item)
{
    return di__json_add(parent, key, item);
}

#define TRY(x) do { if (!(x)) return false; } while (0)

static bool json_edges(const graph *g, cJSON *arr, const char *from,
                       bool consumer, const di__dep *deps, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        cJSON *e;
        TRY(e = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(e, "from", cJSON_CreateString(from)));
        TRY(add(e, "to", cJSON_CreateString(deps[k].name)));
        TRY(add(e, "consumer", cJSON_CreateBool(consumer)));
        TRY(add(e, "optional", cJSON_CreateBool(deps[k].optional)));
        TRY(add(e, "type", str_or_null(deps[k].type)));
        TRY(add(e, "missing", cJSON_CreateBool(deps[k].target < 0)));
        TRY(add(e, "failing", cJSON_CreateBool(failing(g, from,
                                                       deps[k].name))));
    }
    return true;
}

static bool json_plugins(const di_container *c, cJSON *root)
{
    cJSON *arr;
    TRY(arr = add(root, "plugins", cJSON_CreateArray()));
    for (uint32_t i = 0; i < c->nplugins; i++) {
        const di__plugin_ref *r = &c->plugins[i];
        cJSON *o, *kinds;
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", r->abi_major, r->abi_minor);
        TRY(add(o, "name", cJSON_CreateString(r->name)));
        TRY(add(o, "version", cJSON_CreateString(r->version)));
        TRY(add(o, "path", cJSON_CreateString(r->path)));
        TRY(add(o, "abi", cJSON_CreateString(abi)));
        TRY(kinds = add(o, "kinds", cJSON_CreateArray()));
        for (uint32_t k = 0; k < c->nkinds; k++)
            if (c->kinds[k].plugin == (int32_t)i)
                TRY(add(kinds, NULL, cJSON_CreateString(c->kinds[k].name)));
    }
    TRY(arr = add(root, "kinds", cJSON_CreateArray()));
    for (uint32_t i = 0; i < c->nkinds; i++) {
        const di__kind *k = &c->kinds[i];
        cJSON *o, *roles;
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(o, "name", cJSON_CreateString(k->name)));
        TRY(add(o, "type", str_or_null(k->type)));
        TRY(add(o, "lifetime", str_or_null(k->lifetime)));
        TRY(roles = add(o, "roles", cJSON_CreateArray()));
        for (uint32_t r = 0; r < k->nroles; r++)
            TRY(add(roles, NULL, cJSON_CreateString(k->roles[r])));
        TRY(add(o, "plugin", str_or_null(k->plugin >= 0
                                             ? c->plugins[k->plugin].name
                                             : NULL)));
        TRY(add(o, "summary", str_or_null(k->summary)));
    }
    return true;
}

static bool json_nodes(const graph *g, cJSON *root)
{
    const di_container *c = g->c;
    cJSON *arr, *edges;
    TRY(arr = add(root, "providers", cJSON_CreateArray()));
    for (di__key i = 0; i < di__nkeys(c); i++) {
        const di__provider *p = di__prov(c, i);
        cJSON *o;
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(o, "name", cJSON_CreateString(p->name)));
        TRY(add(o, "type", str_or_null(p->type)));
        /* a set's lifetime is its members' (seal), not the placeholder */
        const char *lifetime = !p->set                   ? c->lifetimes[p->lt]
                               : p->level >= 0           ? c->levels[p->level].name
                               : p->level == DI__TRANSIENT ? "transient"
                                                         : NULL;
        TRY(add(o, "lifetime", str_or_null(lifetime)));
        TRY(add(o, "kind", str_or_null(p->kind_name)));
        TRY(add(o, "value", cJSON_CreateBool(p->kind == DI__VALUE)));
        TRY(add(o, "external", cJSON_CreateBool(p->kind == DI__EXTERN)));
        TRY(add(o, "set", cJSON_CreateBool(p->set)));
    }
    TRY(arr = add(root, "consumers", cJSON_CreateArray()));
    for (uint32_t i = 0; i < c->ncons; i++) {
        const di__consumer *cn = &c->cons[i];
        cJSON *o, *plan;
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(o, "name", cJSON_CreateString(cn->name)));
        TRY(add(o, "level", cJSON_CreateString(cn->level_name)));
        TRY(plan = add(o, "plan", c->sealed ? cJSON_CreateArray()
                                            : cJSON_CreateNull()));
        for (uint32_t k = 0; c->sealed && k < cn->nplan; k++)
            TRY(add(plan, NULL,
                    cJSON_CreateString(di__prov(c, cn->plan[k])->name)));
    }
    TRY(edges = add(root, "edges", cJSON_CreateArray()));
    for (di__key i = 0; i < di__nkeys(c); i++)
        TRY(json_edges(g, edges, di__prov(c, i)->name, false, di__prov(c, i)->deps,
                       di__prov(c, i)->ndeps));
    for (uint32_t i = 0; i < c->ncons; i++)
        TRY(json_edges(g, edges, c->cons[i].name, true, c->cons[i].deps,
                       c->cons[i].ndeps));
    return true;
}

static bool json_problems(const graph *g, cJSON *root)
{
    cJSON *arr;
    TRY(arr = add(root, "problems", cJSON_CreateArray()));
    size_t i = 0;
    for (const struct di_error *e = g->problems; e; e = e->next, i++) {
        cJSON *o, *path;
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(o, "code", cJSON_CreateNumber(e->code)));
        TRY(add(o, "error", cJSON_CreateString(di_strerror(e->code))));
        TRY(add(o, "message", cJSON_CreateString(e->message)));
        TRY(path = add(o, "path", cJSON_CreateArray()));
        for (size_t k = 0; k < e->nnames; k++)
            TRY(add(path, NULL, cJSON_CreateString(e->names[k])));
    }
    return true;
}

static bool json_levels(const di_container *c, cJSON *root)
{
    cJSON *levels;
    TRY(add(root, "format", cJSON_CreateNumber(1)));
    TRY(add(root, "sealed", cJSON_CreateBool(c->sealed)));
    TRY(levels = add(root, "levels", cJSON_CreateArray()));
    for (uint32_t i = 0; i < c->nlevels; i++) {
        cJSON *o;
        TRY(o = add(levels, NULL, cJSON_CreateObject()));
        TRY(add(o, "name", cJSON_CreateString(c->levels[i].name)));
        TRY(add(o, "parent", str_or_null(c->levels[i].parent_name)));
    }
    return true;
}

static int graph_json(di_container *c, void *mem, char **out)
{
    if (!c || !out)
        return DI_EINVAL;
    *out = NULL;
    graph g;
    int rc = graph_init(&g, c);
    cJSON *root = rc ? NULL : cJSON_CreateObject();
    bool ok = root && json_levels(c, root) && json_plugins(c, root) &&
              json_nodes(&g, root) && json_problems(&g, root);
    char *text = ok ? cJSON_Print(root) : NULL;
    if (text) {
        *out = talloc_asprintf(mem, "%s\n", text);
        cJSON_free(text);
    }
    cJSON_Delete(root);
    talloc_free(g.tmp);
    if (rc)
        return rc;
    return *out ? 0 : DI_ENOMEM;
}

/* ---- DOT ---- */

typedef struct dot {
    graph *g;
    char *s;     /* NULL after a failed allocation */
    bool *done;  /* levels emitted */
} dot;

static void emit(dot *d, const char *fmt, ...) DI_PRINTF(2, 3);
static void emit(dot *d, const char *fmt, ...)
{
    if (!d->s)
        return;
    va_list ap;
    va_start(ap, fmt);
    d->s = talloc_vasprintf_append(d->s, fmt, ap);
    va_end(ap);
}

/* A DOT string body: quotes and backslashes escaped. */
static const char *esc(dot *d, const char *s)
{
    if (!d->s) /* failed already: nothing more is written */
        return "";
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += (*p == '"' || *p == '\\') ? 2 : 1;
    char *o = talloc_size(d->g->tmp, n + 1);
    if (!o) {
        d->s = NULL; /* the text fails as a whole */
        return "";
    }
    char *w = o;
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *w++ = '\\';
        *w++ = *p;
    }
    *w = '\0';
    return o;
}

static void dot_provider(dot *d, di__key i, const char *indent)
{
    const di__provider *p = di__prov(d->g->c, i);
    const char *what = p->kind_name ? esc(d, p->kind_name)
                       : p->kind == DI__VALUE ? "value"
                       : p->kind == DI__EXTERN ? "external"
                       : p->set ? "set" : NULL;
    emit(d, "%sp%d [label=\"%s", indent, i, esc(d, p->name));
    if (p->type || what)
        emit(d, "\\n%s%s%s", p->type ? esc(d, p->type) : "",
             p->type && what ? " \xc2\xb7 " : "", what ? what : "");
    emit(d, p->set ? "\", shape=box3d, style=solid];\n" : "\"];\n");
}

static void dot_consumer(dot *d, uint32_t i, const char *indent)
{
    emit(d, "%sc%u [label=\"%s\", shape=ellipse, style=filled, "
         "fillcolor=\"#dbe8fb\"];\n", indent, i,
         esc(d, d->g->c->cons[i].name));
}

/* One level's cluster, with its providers, consumers and child levels. */
static void dot_level(dot *d, int l, unsigned depth)
{
    const di_container *c = d->g->c;
    char indent[2 * DI_LEVEL_MAX + 3];
    unsigned w = 2 * (depth + 1);
    memset(indent, ' ', w + 2);
    indent[w + 2] = '\0';
    d->done[l] = true;
    emit(d, "%.*ssubgraph cluster_l%d {\n%slabel=\"%s\";\n", (int)w, indent, l,
         indent, esc(d, c->levels[l].name));
    for (di__key i = 0; i < di__nkeys(c); i++)
        if (di__prov(c, i)->level == l)
            dot_provider(d, i, indent);
    for (uint32_t i = 0; i < c->ncons; i++)
        if (c->cons[i].level == l)
            dot_consumer(d, i, indent);
    for (uint32_t k = 0; k < c->nlevels; k++)
        if (!d->done[k] && c->levels[k].parent == l && (int)k != l)
            dot_level(d, (int)k, depth + 1);
    emit(d, "%.*s}\n", (int)w, indent);
}

static int missing_index(const graph *g, const char *name)
{
    for (size_t i = 0; i < g->nmissing; i++)
        if (strcmp(g->missing[i], name) == 0)
            return (int)i;
    return -1;
}

static void dot_edges(dot *d, const char *from_id, di__key from,
                      const char *from_name, const di__dep *deps, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        const di__dep *dep = &deps[k];
        if (dep->target < 0 && dep->optional)
            continue;
        bool bad = failing(d->g, from_name, dep->name) || dep->target < 0;
        if (dep->target >= 0)
            emit(d, "  %s%d -> p%d", from_id, from, dep->target);
        else
            emit(d, "  %s%d -> m%d", from_id, from,
                 missing_index(d->g, dep->name));
        const char *sep = " [";
        if (*from_id == 'p' && di__prov(d->g->c, from)->set) { /* member order */
            emit(d, "%slabel=\"%u\"", sep, k + 1);
            sep = ", ";
        }
        if (dep->optional) {
            emit(d, "%sstyle=dashed", sep);
            sep = ", ";
        }
        if (bad) {
            emit(d, "%scolor=red, penwidth=2", sep);
            sep = ", ";
        }
        emit(d, "%s;\n", *sep == ',' ? "]" : "");
    }
}

static int graph_dot(di_container *c, void *mem, char **out)
{
    if (!c || !out)
        return DI_EINVAL;
    *out = NULL;
    graph g;
    int rc = graph_init(&g, c);
    dot d = { .g = &g };
    d.done = rc ? NULL : talloc_zero_array(g.tmp, bool, c->nlevels);
    d.s = d.done ? talloc_strdup(g.tmp, "") : NULL;
    emit(&d, "digraph di {\n"
         "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11];\n"
         "  node [shape=box, style=rounded, fontname=\"Helvetica\", "
         "fontsize=10];\n"
         "  edge [color=\"#555555\"];\n");
    if (d.done)
        dot_level(&d, 0, 0);
    for (uint32_t l = 1; d.done && l < c->nlevels; l++)
        if (!d.done[l])
            dot_level(&d, (int)l, 0); /* not under the root: level errors */
    bool transients = false;
    for (di__key i = 0; i < di__nkeys(c); i++)
        transients |= di__prov(c, i)->level == DI__TRANSIENT;
    if (transients) {
        emit(&d, "  subgraph cluster_transient {\n    label=\"transient\";\n"
             "    style=dashed;\n");
        for (di__key i = 0; i < di__nkeys(c); i++)
            if (di__prov(c, i)->level == DI__TRANSIENT)
                dot_provider(&d, i, "    ");
        emit(&d, "  }\n");
    }
    for (di__key i = 0; i < di__nkeys(c); i++)
        if (di__prov(c, i)->level < DI__TRANSIENT) /* unknown lifetime */
            dot_provider(&d, i, "  ");
    for (uint32_t i = 0; i < c->ncons; i++)
        if (c->cons[i].level < 0)
            dot_consumer(&d, i, "  ");
    for (size_t i = 0; i < g.nmissing; i++)
        emit(&d, "  m%zu [label=\"%s\\n(missing)\", color=red, fontcolor=red, "
             "style=\"rounded,dashed\"];\n", i, esc(&d, g.missing[i]));
    for (di__key i = 0; i < di__nkeys(c); i++)
        dot_edges(&d, "p", i, di__prov(c, i)->name, di__prov(c, i)->deps,
                  di__prov(c, i)->ndeps);
    for (uint32_t i = 0; i < c->ncons; i++)
        dot_edges(&d, "c", (di__key)i, c->cons[i].name, c->cons[i].deps,
                  c->cons[i].ndeps);
    emit(&d, "}\n");
    if (!rc && d.s)
        *out = talloc_strdup(mem, d.s);
    talloc_free(g.tmp);
    if (rc)
        return rc;
    return *out ? 0 : DI_ENOMEM;
}

int di_graph_json(di_container *c, void *mem, char **out)
{
    return di__nomem(c, "di_graph_json", graph_json(c, mem, out));
}

int di_graph_dot(di_container *c, void *mem, char **out)
{
    return di__nomem(c, "di_graph_dot", graph_dot(c, mem, out));
}
