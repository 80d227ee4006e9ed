/*
 * memory.c — memory reports: what a scope's or the container's teardown
 * stack holds, by provider, from talloc's accounting (see di/memory.h).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "scope.h"

/* One provider's line. */
typedef struct line {
    di__key prov;
    size_t instances, bytes, blocks;
} line;

typedef struct report {
    const char *what;     /* "request scope", "singletons" */
    const char *level;    /* JSON "level" */
    line *lines;
    size_t nlines, instances, bytes, blocks;
    bool has_rest;        /* a scope: its own block and what hangs on it */
    size_t rest_bytes, rest_blocks;
} report;

/* Group the entries of a teardown stack by provider, in order of first
 * creation; tmp owns the lines. */
static int gather(const di_container *c, const di__stack *st, void *tmp,
                  report *r)
{
    int32_t *at = talloc_array(tmp, int32_t, c->nprov ? c->nprov : 1);
    r->lines = talloc_array(tmp, line, st->n ? st->n : 1);
    if (!at || !r->lines)
        return DI_ENOMEM;
    for (uint32_t i = 0; i < c->nprov; i++)
        at[i] = -1;
    for (uint32_t i = 0; i < st->n; i++) {
        const di__entry *e = &st->e[i];
        if (at[e->prov] < 0) {
            at[e->prov] = (int32_t)r->nlines;
            r->lines[r->nlines++] = (line){ .prov = e->prov };
        }
        line *l = &r->lines[at[e->prov]];
        size_t bytes = talloc_total_size(e->mem);
        size_t blocks = talloc_total_blocks(e->mem);
        l->instances++;
        l->bytes += bytes;
        l->blocks += blocks;
        r->instances++;
        r->bytes += bytes;
        r->blocks += blocks;
    }
    return 0;
}

static char *as_text(const di_container *c, const report *r, void *mem)
{
    int w = 8;
    for (size_t i = 0; i < r->nlines; i++) {
        int n = (int)strlen(di__prov(c, r->lines[i].prov)->name);
        if (n > w)
            w = n < 40 ? n : 40;
    }
    char *s = talloc_asprintf(mem, "%s: %zu instance%s, %zu bytes in %zu "
                              "block%s\n", r->what, r->instances,
                              r->instances == 1 ? "" : "s", r->bytes,
                              r->blocks, r->blocks == 1 ? "" : "s");
    for (size_t i = 0; s && i < r->nlines; i++) {
        const line *l = &r->lines[i];
        s = talloc_asprintf_append(s, "  %-*s %4zu instance%s %8zu bytes "
                                   "%5zu block%s\n", w,
                                   di__prov(c, l->prov)->name, l->instances,
                                   l->instances == 1 ? " " : "s", l->bytes,
                                   l->blocks, l->blocks == 1 ? "" : "s");
    }
    if (s && r->has_rest)
        s = talloc_asprintf_append(s, "  %-*s %4s %9s %8zu bytes %5zu "
                                   "block%s\n", w, "(scope)", "", "",
                                   r->rest_bytes, r->rest_blocks,
                                   r->rest_blocks == 1 ? "" : "s");
    return s;
}

#define TRY(x) do { if (!(x)) goto fail; } while (0)

static cJSON *add(cJSON *parent, const char *key, cJSON *item)
{
    return di__json_add(parent, key, item);
}

static char *as_json(const di_container *c, const report *r, void *mem)
{
    char *out = NULL, *text = NULL;
    cJSON *root = cJSON_CreateObject(), *arr, *o;
    TRY(root);
    TRY(add(root, "level", cJSON_CreateString(r->level)));
    TRY(add(root, "instances", cJSON_CreateNumber((double)r->instances)));
    TRY(add(root, "bytes", cJSON_CreateNumber((double)r->bytes)));
    TRY(add(root, "blocks", cJSON_CreateNumber((double)r->blocks)));
    TRY(arr = add(root, "providers", cJSON_CreateArray()));
    for (size_t i = 0; i < r->nlines; i++) {
        const line *l = &r->lines[i];
        TRY(o = add(arr, NULL, cJSON_CreateObject()));
        TRY(add(o, "name", cJSON_CreateString(di__prov(c, l->prov)->name)));
        TRY(add(o, "instances", cJSON_CreateNumber((double)l->instances)));
        TRY(add(o, "bytes", cJSON_CreateNumber((double)l->bytes)));
        TRY(add(o, "blocks", cJSON_CreateNumber((double)l->blocks)));
    }
    if (r->has_rest) {
        TRY(o = add(root, "scope", cJSON_CreateObject()));
        TRY(add(o, "bytes", cJSON_CreateNumber((double)r->rest_bytes)));
        TRY(add(o, "blocks", cJSON_CreateNumber((double)r->rest_blocks)));
    } else {
        TRY(add(root, "scope", cJSON_CreateNull()));
    }
    TRY(text = cJSON_PrintUnformatted(root));
    out = talloc_asprintf(mem, "%s\n", text);
fail:
    cJSON_free(text);
    cJSON_Delete(root);
    return out;
}

/* The report, built on tmp and handed to mem whole (nothing is left in mem
 * when it fails halfway). */
static int render(const di_container *c, const report *r, int format,
                  void *tmp, void *mem, char **out)
{
    char *s = format == DI_REPORT_TEXT ? as_text(c, r, tmp) : as_json(c, r, tmp);
    if (!s)
        return DI_ENOMEM;
    *out = talloc_steal(mem, s);
    return 0;
}

int di_scope_memory(const di_scope *s, int format, void *mem, char **out)
{
    if (out)
        *out = NULL;
    int rc = di__check_scope_read(s);
    if (rc)
        return rc;
    if (!out || (format != DI_REPORT_TEXT && format != DI_REPORT_JSON)) {
        di__scope_fail((di_scope *)s, DI_EINVAL, NULL, "di_scope_memory: out "
                       "must not be NULL and format must be DI_REPORT_TEXT "
                       "or DI_REPORT_JSON");
        return DI_EINVAL;
    }
    const di_container *c = s->c;
    const char *level = c->levels[s->level].name;
    report r = { .level = level, .has_rest = true };
    void *tmp = talloc_new(NULL);
    r.what = tmp ? talloc_asprintf(tmp, "%s scope", level) : NULL;
    rc = r.what ? gather(c, &s->stack, tmp, &r) : DI_ENOMEM;
    if (!rc) {
        size_t all = talloc_total_size(s), blocks = talloc_total_blocks(s);
        r.rest_bytes = all - r.bytes;
        r.rest_blocks = blocks - r.blocks;
        rc = render(c, &r, format, tmp, mem, out);
    }
    talloc_free(tmp);
    if (rc == DI_ENOMEM)
        di__scope_fail((di_scope *)s, rc, NULL, "di_scope_memory: out of "
                       "memory");
    return rc;
}

int di_container_memory(di_container *c, int format, void *mem, char **out)
{
    if (out)
        *out = NULL;
    if (!c || !out || (format != DI_REPORT_TEXT && format != DI_REPORT_JSON))
        return DI_EINVAL;
    if (!c->sealed) {
        di__reg_error(c, DI_ENOTSEALED, "di_container_memory: seal the "
                      "container first");
        return DI_ENOTSEALED;
    }
    report r = { .what = "singletons", .level = "singleton" };
    void *tmp = talloc_new(NULL);
    pthread_mutex_lock(&c->lock); /* the root stack grows under it */
    int rc = tmp ? gather(c, &c->root, tmp, &r) : DI_ENOMEM;
    pthread_mutex_unlock(&c->lock);
    if (!rc)
        rc = render(c, &r, format, tmp, mem, out);
    talloc_free(tmp);
    return di__nomem(c, "di_container_memory", rc);
}
