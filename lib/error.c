/*
 * error.c — error codes, error details and lists of them.
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
    default: return "unknown error";
    }
}

int di_error_code(const di_error *e) { return e ? e->code : DI_OK; }
const char *di_error_message(const di_error *e) { return e ? e->message : ""; }
const char *di_error_path(const di_error *e) { return e ? e->path : ""; }
const di_error *di_error_next(const di_error *e) { return e ? e->next : NULL; }

size_t di_error_count(const di_error *e)
{
    size_t n = 0;
    for (; e; e = e->next)
        n++;
    return n;
}

/* What is reported when the report itself cannot be allocated. */
static char oom_message[] = "out of memory", oom_path[] = "";
struct di_error di__oom = { DI_ENOMEM, oom_message, oom_path, NULL };

void di__err_free(struct di_error *e)
{
    if (e != &di__oom)
        talloc_free(e);
}

struct di_error *di__err_vnew(void *mem, int code, const char *path,
                              const char *fmt, va_list ap)
{
    struct di_error *e = talloc_zero(mem, struct di_error);
    if (!e)
        return NULL;
    e->code = code;
    e->path = talloc_strdup(e, path ? path : "");
    char *reason = talloc_vasprintf(e, fmt, ap);
    if (!e->path || !reason)
        goto fail;
    e->message = path && *path ? talloc_asprintf(e, "%s: %s", path, reason)
                               : reason;
    if (!e->message)
        goto fail;
    return e;
fail:
    talloc_free(e);
    return NULL;
}

struct di_error *di__err_new(void *mem, int code, const char *path,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_vnew(mem, code, path, fmt, ap);
    va_end(ap);
    return e;
}

int di__err_add(di__errlist *l, int code, const char *path, const char *fmt,
                ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct di_error *e = di__err_vnew(l->head ? (void *)l->head : l->mem, code,
                                  path, fmt, ap);
    va_end(ap);
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
