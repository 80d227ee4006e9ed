/*
 * error.c — error codes, error details and lists of them, and di_fail():
 * how a create, dispose or check gives the reason for its failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "di_int.h"

const char *di_strerror(int code)
{
    switch (code) {
    case DI_OK: return "success";
    case DI_EINVAL: return "invalid argument";
    case DI_ENOMEM: return "out of memory";
    case DI_EEXIST: return "name already registered";
    case DI_ENOTFOUND: return "not found";
    case DI_ECYCLE: return "dependency cycle";
    case DI_ECAPTIVE: return "captive dependency";
    case DI_ESCOPE: return "scope level not visible";
    case DI_ETYPE: return "type tag mismatch";
    case DI_ESEALED: return "container is sealed";
    case DI_ENOTSEALED: return "container is not sealed";
    case DI_EPROVIDER: return "provider failed";
    case DI_EDISPOSE: return "dispose failed";
    case DI_EBUSY: return "busy";
    case DI_ESTALE: return "scope has ended";
    case DI_EGRAPH: return "dependency graph has errors";
    case DI_ELEVEL: return "bad scope level";
    case DI_EABANDONED: return "scope abandoned";
    case DI_EPLUGIN: return "plugin refused";
    case DI_ECONFIG: return "bad configuration";
    case DI_EASYNC: return "asynchronous provider where nothing can wait";
    case DI_ETIMEDOUT: return "timed out";
    case DI_EINVALID: return "input does not fit its model";
    default: return "unknown error";
    }
}

int di_error_code(const di_error *e) { return e ? e->code : DI_OK; }
const char *di_error_message(const di_error *e) { return e ? e->message : ""; }
const char *di_error_path(const di_error *e) { return e ? e->path : ""; }
const char *di_error_reason(const di_error *e) { return e ? e->reason : ""; }
const di_error *di_error_next(const di_error *e) { return e ? e->next : NULL; }
size_t di_error_path_len(const di_error *e) { return e ? e->nnames : 0; }

const char *di_error_path_name(const di_error *e, size_t i)
{
    return e && i < e->nnames ? e->names[i] : NULL;
}

const char *di_error_provider(const di_error *e)
{
    return e && e->nnames ? e->names[e->nnames - 1] : "";
}

size_t di_error_count(const di_error *e)
{
    size_t n = 0;
    for (; e; e = e->next)
        n++;
    return n;
}

/* ---- dependency paths of a resolution's frames ---- */

char *di__path_str(const di__frame *f)
{
    size_t n = 0;
    for (const di__frame *p = f; p; p = p->up)
        n++;
    const char **v = talloc_array(NULL, const char *, di__count(n ? n : 1));
    if (!v)
        return NULL;
    size_t i = n;
    for (const di__frame *p = f; p; p = p->up)
        v[--i] = p->name;
    char *s = talloc_strdup(NULL, n ? v[0] : "");
    for (i = 1; i < n && s; i++) {
        char *longer = talloc_asprintf_append(s, DI__ARROW "%s", v[i]);
        if (!longer) /* s is left as it was: free it */
            talloc_free(s);
        s = longer;
    }
    talloc_free(v);
    return s;
}

di__path *di__frame_path(void *mem, const di__frame *f)
{
    size_t n = 0;
    for (const di__frame *p = f; p; p = p->up)
        n++;
    di__path *path = talloc_zero(mem, di__path);
    const char **v = path ? talloc_array(path, const char *, di__count(n ? n : 1))
                          : NULL;
    if (!v) {
        talloc_free(path);
        return NULL;
    }
    for (const di__frame *p = f; p; p = p->up)
        v[--n] = p->name;
    path->names = v;
    for (const di__frame *p = f; p; p = p->up)
        path->n++;
    return path;
}

/* ---- di_fail ---- */

/* Record a create's (or check's) failure: the reason, and where in its
 * params (at, or NULL); msg is both as one line for those who report it
 * as text. */
static int failed(const di_build *b, int code, const char *at,
                  const char *fmt, va_list ap)
{
    if (code >= 0)
        code = DI_EPROVIDER;
    if (!b || !b->di__state || !fmt)
        return code;
    di__buildctx *bc = b->di__state;
    char *why = talloc_vasprintf(NULL, fmt, ap);
    char *msg = why && at ? talloc_asprintf(NULL, "%s: %s", at, why) : why;
    if (msg && msg != why && !talloc_steal(msg, why))
        msg = NULL;
    if (!msg)
        talloc_free(why);
    talloc_free(bc->msg);
    bc->msg = msg; /* NULL when out of memory: the code alone is reported */
    bc->why = msg ? why : NULL;
    bc->at = msg && at ? talloc_strdup(msg, at) : NULL;
    return code;
}

int di_fail(const di_build *b, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = failed(b, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int di_fail_at(const di_build *b, int code, const char *at, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = failed(b, code, at, fmt, ap);
    va_end(ap);
    return code;
}

/* What is reported when the report itself cannot be allocated. */
static char oom_message[] = "out of memory", oom_path[] = "";
struct di_error di__oom = { DI_ENOMEM, oom_message, oom_path, oom_message,
                            NULL, 0, NULL };

void di__err_free(struct di_error *e)
{
    if (e != &di__oom)
        talloc_free(e);
}

/* Set e's path from p's names (copied) and notes. */
static bool set_path(struct di_error *e, const di__path *p)
{
    e->names = talloc_array(e, const char *, di__count(p->n ? p->n : 1));
    e->path = talloc_strdup(e, "");
    for (size_t i = 0; i < p->n && e->names && e->path; i++) {
        e->names[i] = talloc_strdup(e->names, p->names[i]);
        const char *note = p->notes ? p->notes[i] : NULL;
        e->path = talloc_asprintf_append(e->path, "%s%s%s%s%s",
                                         i ? DI__ARROW : "", p->names[i],
                                         note ? " (" : "", note ? note : "",
                                         note ? ")" : "");
        if (!e->names[i])
            return false;
    }
    e->nnames = p->n;
    return e->names && e->path;
}

static bool set_message(struct di_error *e)
{
    e->message = *e->path ? talloc_asprintf(e, "%s: %s", e->path, e->reason)
                          : e->reason;
    return e->message != NULL;
}

struct di_error *di__err_make(void *mem, int code, const di__path *p,
                              const char *at, const char *fmt, va_list ap)
{
    struct di_error *e = talloc_zero(mem, struct di_error);
    if (!e)
        return NULL;
    e->code = code;
    e->reason = talloc_vasprintf(e, fmt, ap);
    bool ok = e->reason != NULL;
    if (ok && p && p->n)
        ok = set_path(e, p);
    else if (ok)
        ok = (e->path = talloc_strdup(e, at ? at : "")) != NULL;
    if (ok && set_message(e))
        return e;
    talloc_free(e);
    return NULL;
}

struct di_error *di__err_vnew(void *mem, int code, const char *name,
                              const char *fmt, va_list ap)
{
    di__path p = { &name, NULL, name && *name ? 1 : 0 };
    return di__err_make(mem, code, &p, NULL, fmt, ap);
}

struct di_error *di__err_copy(void *mem, const struct di_error *e)
{
    struct di_error *copy = talloc_zero(mem, struct di_error);
    if (!copy)
        return NULL;
    copy->code = e->code;
    copy->nnames = e->nnames;
    bool ok = (copy->reason = talloc_strdup(copy, e->reason)) &&
              (copy->path = talloc_strdup(copy, e->path)) &&
              (copy->message = talloc_strdup(copy, e->message)) &&
              (copy->names = talloc_array(copy, const char *,
                                          di__count(e->nnames ? e->nnames : 1)));
    for (size_t i = 0; ok && i < e->nnames; i++)
        ok = (copy->names[i] = talloc_strdup(copy->names, e->names[i]));
    if (ok)
        return copy;
    talloc_free(copy);
    return NULL;
}

/* Append e (NULL: out of memory) to l. */
static int append(di__errlist *l, int code, struct di_error *e)
{
    if (!e)
        return DI_ENOMEM;
    if (l->tail) {
        l->tail->next = e;
    } else {
        l->head = e;
    }
    l->tail = e;
    l->count++;
    return code;
}

/* The list's members hang off its head. */
#define LIST_MEM(l) ((l)->head ? (void *)(l)->head : (l)->mem)

int di__err_add(di__errlist *l, int code, const char *name, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_vnew(LIST_MEM(l), code, name, fmt, ap);
    va_end(ap);
    return append(l, code, e);
}

int di__err_add_path(di__errlist *l, int code, const di__path *p,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_make(LIST_MEM(l), code, p, NULL, fmt, ap);
    va_end(ap);
    return append(l, code, e);
}

int di__err_add_at(di__errlist *l, int code, const char *at, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_make(LIST_MEM(l), code, NULL, at, fmt, ap);
    va_end(ap);
    return append(l, code, e);
}
