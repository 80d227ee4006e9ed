/*
 * http.c — the router the HTTP adapters share: routes as consumers, one
 * request scope per request, the request as an external provider, the
 * outcome computed once from the handler and the status, and the scope
 * settled with it before the response leaves (see di/http.h).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_int.h"
#include "scope.h"

typedef struct route {
    const char *method;
    const char **segs;     /* "notes", "{id}" */
    const char **pnames;   /* per segment: "id" for "{id}", else NULL */
    uint32_t nsegs;
    const char *name;      /* "GET /notes/{id}" */
    di_http_handler handler;
    void *data;
    uint32_t ndeps;
    const char **deps;     /* copies, NULL-terminated: to wire another
                              container the same way (di_http_wire) */
    const char *level;
    di__route_doc doc;     /* the same, with what only documents it */
} route;

/* What a router recorded when it wired a container: the consumer key of
 * each route (by route index) and the key of the request's provider, so
 * that a request looks up no name. Allocated on the container: it goes
 * with it. */
typedef struct wiring {
    int32_t req_key;
    uint32_t nkeys;
    int32_t *keys;
} wiring;

/* The containers a router wired, newest first, by serial (containers come
 * and go under a di_live; a serial is never reused), at most WIRINGS of
 * them: a request on an older one looks its keys up by name. Published
 * whole, as di_http_wire() runs while requests read it; a table it
 * replaced stays with the router (some 70 bytes) until the router is
 * freed, as a request may still be reading it. */
enum { WIRINGS = 4 };
typedef struct wirings {
    uint32_t n;
    struct { uint64_t serial; wiring *w; } e[WIRINGS];
} wirings;
typedef struct wiring_table { _Atomic(const wirings *) now; } wiring_table;

struct di_http {
    di_container *c;
    wiring_table *wired;   /* a block of its own: di_http_wire() takes a
                              const router */
    di_live *live;         /* requests begin on its current container */
    route *routes;
    uint32_t nroutes;
    di_http_end_fn on_end;
    void *end_ctx;
    /* the key of c's "request" level once c is sealed (0 before: looked up
     * at the first request that finds it sealed) */
    _Atomic int req_level;
    /* graceful shutdown (di_http_drain()): requests begun and not ended;
     * new ones refused; those settled after the deadline abandoned */
    _Atomic long inflight;
    _Atomic bool draining, abandon;
    /* the inputs its routes depend on (body:<model>, ...): registered on
     * each container it wires */
    di__input **inputs;
    uint32_t ninputs;
    void *openapi;         /* openapi.c's marks and info, or NULL */
};

typedef struct kv { const char *k, *v; } kv;

/* Room inside the request block for what a common request holds, so that
 * it allocates nothing; a longer method, path, content type or answer, more
 * segments, query arguments, headers and the body are talloc children. */
enum {
    ROOM_METHOD = 16,
    ROOM_PATH = 256,
    ROOM_SEGS = 16,
    ROOM_CTYPE = 64,
    ROOM_ANSWER = 1024,
};

struct di_http_req {
    /* zeroed when the request begins */
    di_http *h;
    di_scope *scope;
    const char *method;
    char *path;
    kv *params, *query;
    kv *headers;           /* response headers */
    size_t nparams, nquery, nheaders;
    bool own_query;        /* the target had a query: parsed here */
    di_http_lookup_fn lookup;
    void *ctx;
    char *body;
    size_t blen;
    int refuse_status;     /* refused at the door: this status ... */
    const char *refuse_why;/* ... with this answer (static text) */
    bool body_lost;        /* out of memory appending: never dispatched */
    bool dispatched;
    bool settled;          /* its scope's disposes ran */
    bool delivered;
    int client_fd;         /* -1: unknown */
    const route *rt;       /* the matched route, or NULL */
    const wiring *w;       /* what h recorded for the scope's container */
    int outcome;           /* what the scope was settled with */
    int status;
    char *ctype;
    char *resp;
    size_t rlen;
    /* di_http_dispatch_async(): who is told, the dependencies (on r), and
     * what is in flight */
    di_http_done_fn done;
    void *done_arg;
    void **adeps;
    bool resolving;        /* its resolution waits */
    bool settling;         /* its settle waits (a dispose is pending) */
    bool ending;           /* di_http_end() runs or waits for the settle */
    bool handling;         /* its handler returned DI_PENDING: waits for
                              di_http_handled() */
    bool in_handler;       /* the handler runs (a di_http_handled() from
                              inside it is kept in handled_rc) */
    bool handled_early;
    int handled_rc;
    /* the room (not zeroed) */
    char method_room[ROOM_METHOD];
    char path_room[ROOM_PATH];
    char seg_room[ROOM_PATH];       /* the path, split in place */
    const char *segv_room[ROOM_SEGS];
    kv param_room[ROOM_SEGS];
    char ctype_room[ROOM_CTYPE];
    char answer_room[ROOM_ANSWER];
};

/* n bytes in r: the room when they fit in its cap bytes, else a talloc
 * child of r (NULL when out of memory). */
static void *room(di_http_req *r, void *in, size_t cap, size_t n)
{
    return n <= cap ? in : talloc_size(r, n);
}

/* Release p, taken with room(), unless it is the room itself. */
static void unroom(void *p, const void *in)
{
    if (p != in)
        talloc_free(p);
}

/* ---- routes ---- */

/* The number of segments of path ("/notes//7/" has two). */
static uint32_t count_segs(const char *path)
{
    uint32_t n = 0;
    for (const char *p = path; *p; p++)
        if (*p != '/' && (p == path || p[-1] == '/'))
            n++;
    return n;
}

/* Split buf, a path, in place: its '/' become '\0' and v[i] points to the
 * i-th segment (v has room for count_segs(buf)). */
static void split_in(char *buf, const char **v)
{
    uint32_t n = 0;
    for (char *p = buf; *p; p++) {
        if (*p == '/')
            *p = '\0';
        else if (p == buf || !p[-1])
            v[n++] = p;
    }
}

/* A route's segments, on mem. */
static int split(void *mem, const char *path, const char ***segs, uint32_t *n)
{
    char *buf = talloc_strdup(mem, path);
    *n = buf ? count_segs(buf) : 0;
    *segs = buf ? talloc_array(mem, const char *, *n ? *n : 1) : NULL;
    if (!*segs)
        return DI_ENOMEM;
    split_in(buf, *segs);
    return 0;
}

static bool is_param(const char *seg)
{
    size_t n = strlen(seg);
    return n >= 3 && seg[0] == '{' && seg[n - 1] == '}';
}

/* What h recorded for c, or NULL. */
static wiring *wiring_of(const di_http *h, const di_container *c)
{
    const wirings *t = atomic_load_explicit(&h->wired->now,
                                            memory_order_acquire);
    for (uint32_t i = 0; t && i < t->n; i++)
        if (t->e[i].serial == c->serial)
            return t->e[i].w;
    return NULL;
}

/* Record that h wires c: the key of the request's provider, and room for
 * the routes' keys. Out of memory, nothing is recorded (requests on c
 * then look their keys up by name). */
static void wired(const di_http *h, di_container *c)
{
    wiring *w = talloc_zero(c, wiring);
    wirings *t = w ? talloc_zero(h->wired, wirings) : NULL;
    if (!t) {
        talloc_free(w);
        return;
    }
    w->req_key = di__names_find(&c->pnames, DI_HTTP_REQUEST);
    const wirings *was = atomic_load_explicit(&h->wired->now,
                                              memory_order_acquire);
    t->e[0].serial = c->serial;
    t->e[0].w = w;
    t->n = 1;
    for (uint32_t i = 0; was && i < was->n && t->n < WIRINGS; i++)
        if (was->e[i].serial != c->serial)
            t->e[t->n++] = was->e[i];
    atomic_store_explicit(&h->wired->now, t, memory_order_release);
}

/* Record the key of route i, the consumer just added to c (if the keys
 * before it are there: a route without one is resolved by name). */
static void route_key(const di_http *h, di_container *c, uint32_t i)
{
    wiring *w = wiring_of(h, c);
    if (!w || i != w->nkeys)
        return;
    int32_t *k = talloc_realloc(w, w->keys, int32_t, i + 1);
    if (!k)
        return;
    k[i] = (int32_t)c->ncons - 1;
    w->keys = k;
    w->nkeys = i + 1;
}

/* The spare request this thread keeps for h goes with it (other threads'
 * at their exit). */
static int router_destructor(di_http *h)
{
    di__spare_drop(DI__SPARE_HTTP, (uintptr_t)h);
    return 0;
}

int di_http_new(void *mem, di_container *c, di_http **out)
{
    if (!c || !out)
        return DI_EINVAL;
    *out = NULL;
    int rc = di_provide_external(c, DI_HTTP_REQUEST, DI_HTTP_REQUEST_TYPE,
                                 "request");
    if (rc)
        return rc;
    di_http *h = talloc_zero(mem, di_http);
    if (!h)
        return DI_ENOMEM;
    h->c = c;
    h->wired = talloc_zero(h, wiring_table);
    if (!h->wired) {
        talloc_free(h);
        return DI_ENOMEM;
    }
    talloc_set_destructor(h, router_destructor);
    wired(h, c);
    *out = h;
    return 0;
}

void di_http_on_end(di_http *h, di_http_end_fn fn, void *ctx)
{
    if (!h)
        return;
    h->on_end = fn;
    h->end_ctx = ctx;
}

/* The container requests run on now. */
static di_container *serving(const di_http *h)
{
    return h->live ? di_live_current(h->live) : h->c;
}

di_container *di_http_container(const di_http *h)
{
    return h ? serving(h) : NULL;
}

void di_http_use_live(di_http *h, di_live *l)
{
    if (h)
        h->live = l;
}

/* ---- inputs: body:<model>, query:<model>, path:<model>, header:<name> ----
 * A route's dependency "body:note_in" is the provider "body.note_in" of
 * type "note_in", registered once per router (and on every container it
 * wires): it parses the request's input into the model's struct, or
 * answers 422 with FastAPI's list of problems and fails the request. */

static const char *const in_prefix[] = { "body:", "query:", "path:",
                                         "header:" };
static const char *const in_root[] = { "body", "query", "path", "header" };
typedef di__input input;

/* The model's struct from text, or a 422 answered with the problems. */
static int model_input(const di_build *b, const input *in, const char *text,
                       size_t len, void **out)
{
    di_http_req *r = b->deps[0];
    di_problem *p;
    const di_container *c = di_scope_container(b->scope);
    int rc = in->list ? di_model_parse_list(c, in->arg, text, len,
                                            in_root[in->what], b->mem,
                                            (di_model_list **)out, &p)
                      : di_model_parse(c, in->arg, text, len,
                                       in_root[in->what], b->mem, out, &p);
    if (rc == DI_EINVALID) {
        char *json = di_problems_json(p, b->mem);
        if (json)
            di_http_respond(r, 422, "application/json", json, strlen(json));
        return di_fail(b, DI_HTTP_ERROR(422), "%s: %s", p->loc, p->msg);
    }
    return rc ? di_fail(b, rc, "%s: %s", in->name, di_strerror(rc)) : 0;
}

static const char *query_of(void *r, const char *k) { return di_http_query(r, k); }
static const char *param_of(void *r, const char *k) { return di_http_param(r, k); }

static int input_create(const di_build *b, void **out)
{
    const input *in = b->data;
    di_http_req *r = b->deps[0];
    if (in->what == DI__IN_BODY) {
        size_t n;
        const char *body = di_http_body(r, &n);
        return model_input(b, in, body, n, out);
    }
    if (in->what == DI__IN_HEADER) {
        const char *v = di_http_header(r, in->arg);
        if (v) {
            *out = (void *)v;
            return 0;
        }
        di_problem p = { .loc = in->name, .msg = "field required",
                         .type = "missing" };
        char loc[DI_NAME_MAX + 32];
        snprintf(loc, sizeof loc, "[\"header\",\"%s\"]", in->arg);
        p.loc_json = loc;
        char *json = di_problems_json(&p, b->mem);
        if (json)
            di_http_respond(r, 422, "application/json", json, strlen(json));
        return di_fail(b, DI_HTTP_ERROR(422), "header %s: field required",
                       in->arg);
    }
    char *json;
    int rc = di__model_strings(di_scope_container(b->scope), in->arg,
                               in->what == DI__IN_QUERY ? query_of : param_of, r,
                               b->mem, &json);
    if (rc)
        return di_fail(b, rc, "%s: %s", in->name, di_strerror(rc));
    rc = model_input(b, in, json, strlen(json), out);
    talloc_free(json);
    return rc;
}

static const char *const input_deps[] = { DI_HTTP_REQUEST ":"
                                          DI_HTTP_REQUEST_TYPE, NULL };

/* Register input in on c: its provider, and its model for seal's check. */
static int input_provide(di_container *c, const input *in)
{
    char type[DI_NAME_MAX + 3];
    snprintf(type, sizeof type, "%s%s", in->what == DI__IN_HEADER ? "string"
                                                              : in->arg,
             in->list ? "[]" : "");
    int rc = di_provide(c, &(di_provider_desc){ .name = in->name,
        .type = type,
        .lifetime = "request", .deps = input_deps, .create = input_create,
        .data = (void *)in });
    if (!rc && in->what != DI__IN_HEADER)
        rc = di__model_use(c, in->arg, in->by);
    return rc;
}

/* Route dependency dep ("body:note_in", "?header:X-Id"): when it names an
 * input, *out is what the consumer depends on ("body.note_in:note_in") on
 * mem and the input is registered once; else *out is NULL. */
static int input_dep(di_http *h, void *mem, const char *by_route,
                     const char *dep, char **out, const input **used)
{
    *out = NULL;
    *used = NULL;
    const char *d = dep[0] == '?' ? dep + 1 : dep;
    int what = -1;
    for (int i = 0; i < 4 && what < 0; i++)
        if (strncmp(d, in_prefix[i], strlen(in_prefix[i])) == 0)
            what = i;
    if (what < 0)
        return 0;
    const char *arg = d + strlen(in_prefix[what]);
    size_t alen = strlen(arg);
    bool list = what == DI__IN_BODY && alen > 2 && !strcmp(arg + alen - 2, "[]");
    char name[DI_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s.%s", in_root[what], arg);
    input *in = NULL;
    for (uint32_t i = 0; i < h->ninputs && !in; i++)
        if (strcmp(h->inputs[i]->name, name) == 0)
            in = h->inputs[i];
    if (!in) {
        input **grown = talloc_realloc(h, h->inputs, input *,
                                       h->ninputs + 1);
        if (!grown)
            return DI_ENOMEM;
        h->inputs = grown;
        in = talloc_zero(h, input);
        if (!in ||
            !(in->arg = talloc_strndup(in, arg, alen - (list ? 2 : 0))) ||
            !(in->name = talloc_strdup(in, name)) ||
            !(in->by = talloc_asprintf(in, "%s \xe2\x86\x92 %s", by_route,
                                       name))) {
            talloc_free(in);
            return DI_ENOMEM;
        }
        in->what = what;
        in->list = list;
        int rc = input_provide(h->c, in);
        if (rc) {
            talloc_free(in);
            return rc;
        }
        h->inputs[h->ninputs++] = in;
    }
    *used = in;
    *out = talloc_asprintf(mem, "%s%s:%s", dep[0] == '?' ? "?" : "", name,
                           what == DI__IN_HEADER ? "string" : arg); /* "m[]" */
    return *out ? 0 : DI_ENOMEM;
}

/* What documents route r (di/openapi.h): d's summary and responses,
 * copied on mem, whose models seal checks. */
static int route_doc(di_http *h, void *mem, route *r,
                     const di_http_route_desc *d, const input **ins,
                     uint32_t n)
{
    size_t nresp = 0;
    while (d->responses && d->responses[nresp].status)
        nresp++;
    di_route_answer *resp = talloc_zero_array(mem, di_route_answer,
                                               (unsigned)nresp + 1);
    if (!resp || !(r->doc.path = talloc_strdup(mem, d->path)) ||
        (d->summary && !(r->doc.summary = talloc_strdup(mem, d->summary))))
        return DI_ENOMEM;
    for (size_t i = 0; i < nresp; i++) {
        const di_route_answer *x = &d->responses[i];
        if (x->status < 100 || x->status > 599 || !x->description) {
            di__reg_error(h->c, DI_EINVAL, "di_http_route('%s'): response "
                          "%zu: a status from 100 to 599 and a description "
                          "are required", r->name, i);
            return DI_EINVAL;
        }
        resp[i] = (di_route_answer){ .status = x->status,
                                      .list = x->list };
        if (!(resp[i].description = talloc_strdup(mem, x->description)) ||
            (x->model && !(resp[i].model = talloc_strdup(mem, x->model))))
            return DI_ENOMEM;
    }
    r->doc.method = r->method;
    r->doc.name = r->name;
    r->doc.pnames = r->pnames;
    r->doc.nsegs = r->nsegs;
    r->doc.ndeps = n;
    r->doc.deps = r->deps;
    r->doc.ins = ins;
    r->doc.responses = nresp ? resp : NULL;
    r->doc.undocumented = d->undocumented != 0;
    return 0;
}

/* The models route r's responses name, for seal to check on c. */
static int responses_use(di_container *c, const route *r)
{
    for (const di_route_answer *x = r->doc.responses; x && x->status; x++) {
        char by[DI_NAME_MAX * 2 + 32];
        snprintf(by, sizeof by, "%s \xe2\x86\x92 response %d", r->name,
                 x->status);
        int rc = x->model ? di__model_use(c, x->model, by) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

uint32_t di__http_nroutes(const di_http *h) { return h->nroutes; }

const di__route_doc *di__http_route_doc(const di_http *h, uint32_t i)
{
    return &h->routes[i].doc;
}

void **di__http_openapi(di_http *h) { return &h->openapi; }
void *di__http_openapi_get(const di_http *h) { return h->openapi; }

int di_http_wire(const di_http *h, di_container *c)
{
    if (!h || !c)
        return DI_EINVAL;
    int rc = di_provide_external(c, DI_HTTP_REQUEST, DI_HTTP_REQUEST_TYPE,
                                 "request");
    if (!rc)
        wired(h, c);
    for (uint32_t i = 0; !rc && i < h->ninputs; i++)
        rc = input_provide(c, h->inputs[i]);
    for (uint32_t i = 0; !rc && i < h->nroutes; i++) {
        const route *r = &h->routes[i];
        rc = di_consumer_add(c, &(di_consumer_desc){
            .name = r->name, .level = r->level, .deps = r->deps });
        if (!rc)
            rc = responses_use(c, r);
        if (!rc)
            route_key(h, c, i);
    }
    return rc;
}

int di_http_route(di_http *h, const di_http_route_desc *d)
{
    if (!h)
        return DI_EINVAL;
    if (!d || !d->method || !*d->method || !d->path || d->path[0] != '/' ||
        !d->handler) {
        di__reg_error(h->c, DI_EINVAL, "di_http_route: a method, a path "
                      "starting with '/' and a handler are required");
        return DI_EINVAL;
    }
    if (di__closed(h->c, "di_http_route", d->path))
        return DI_ESEALED;
    route *nr = talloc_realloc(h, h->routes, route, h->nroutes + 1);
    if (!nr)
        return DI_ENOMEM;
    h->routes = nr;
    route *r = &nr[h->nroutes];
    memset(r, 0, sizeof *r);
    void *mem = talloc_new(h);
    if (!mem)
        return DI_ENOMEM;
    r->method = talloc_strdup(mem, d->method);
    r->name = talloc_asprintf(mem, "%s %s", d->method, d->path);
    int rc = r->method && r->name ? split(mem, d->path, &r->segs, &r->nsegs)
                                  : DI_ENOMEM;
    r->pnames = rc ? NULL : talloc_zero_array(mem, const char *,
                                              r->nsegs ? r->nsegs : 1);
    if (!rc && !r->pnames)
        rc = DI_ENOMEM;
    for (uint32_t i = 0; !rc && i < r->nsegs; i++) {
        if (is_param(r->segs[i]) &&
            !(r->pnames[i] = talloc_strndup(mem, r->segs[i] + 1,
                                            strlen(r->segs[i]) - 2)))
            rc = DI_ENOMEM;
        if (!rc && strchr(r->segs[i], '{') && !is_param(r->segs[i])) {
            di__reg_error(h->c, DI_EINVAL, "di_http_route('%s'): segment '%s' "
                          "is not a parameter: write {name}", r->name,
                          r->segs[i]);
            rc = DI_EINVAL;
        }
    }
    uint32_t n = 0;
    while (d->deps && d->deps[n])
        n++;
    r->level = talloc_strdup(mem, d->level ? d->level : "request");
    r->deps = talloc_zero_array(mem, const char *, n + 1);
    const input **ins = talloc_zero_array(mem, const input *, n + 1);
    for (uint32_t i = 0; !rc && r->deps && ins && i < n; i++) {
        char *in = NULL;
        rc = input_dep(h, r->deps, r->name, d->deps[i], &in, &ins[i]);
        if (!rc && !(r->deps[i] = in ? in
                                     : talloc_strdup(r->deps, d->deps[i])))
            rc = DI_ENOMEM;
    }
    if (!rc && (!r->level || !r->deps || !ins))
        rc = DI_ENOMEM;
    if (!rc)
        rc = route_doc(h, mem, r, d, ins, n);
    if (!rc)
        rc = responses_use(h->c, r);
    if (!rc)
        rc = di_consumer_add(h->c, &(di_consumer_desc){
            .name = r->name, .level = r->level, .deps = r->deps });
    if (rc) {
        talloc_free(mem);
        return rc;
    }
    route_key(h, h->c, h->nroutes);
    r->ndeps = n;
    r->handler = d->handler;
    r->data = d->data;
    h->nroutes++;
    return 0;
}

/* ---- decoding ---- */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into o (room for n + 1); '+' as space when
 * plus. Returns the decoded length (a %00 makes a NUL inside). */
static size_t decode_into(char *o, const char *s, size_t n, bool plus)
{
    char *w = o;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0) {
            *w++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *w++ = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    *w = '\0';
    return (size_t)(w - o);
}

/* A decoded text that can be trusted as a C string and printed: no NUL
 * inside, no control character. */
static bool clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Does the raw path s[0..n) hold an encoded '/' (which would join two
 * segments into one after decoding)? */
static bool encoded_slash(const char *s, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'f')
            return true;
    return false;
}

/* Refuse r at the door: dispatch answers status with why (static text)
 * without routing; the first refusal stands. */
static void refuse(di_http_req *r, int status, const char *why)
{
    if (!r->refuse_status) {
        r->refuse_status = status;
        r->refuse_why = why;
    }
}

void di_http_reject(di_http_req *r, int status, const char *why)
{
    if (r && status >= 400 && status <= 599)
        refuse(r, status, why ? why : status < 500 ? "bad request"
                                                   : "server error");
}

static char *decode(void *mem, const char *s, size_t n, bool plus,
                    size_t *len)
{
    char *o = talloc_size(mem, n + 1);
    if (o)
        *len = decode_into(o, s, n, plus);
    return o;
}

static int parse_query(di_http_req *r, const char *q)
{
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (len) {
            kv *nq = talloc_realloc(r, r->query, kv, di__count(r->nquery + 1));
            if (!nq)
                return DI_ENOMEM;
            r->query = nq;
            size_t kl = eq ? (size_t)(eq - q) : len, klen = 0, vlen = 0;
            /* "?limit" is "?limit=": present, empty */
            nq[r->nquery].k = decode(r, q, kl, true, &klen);
            nq[r->nquery].v = eq ? decode(r, eq + 1, len - kl - 1, true, &vlen)
                                 : talloc_strdup(r, "");
            if (!nq[r->nquery].k || !nq[r->nquery].v)
                return DI_ENOMEM;
            if (!clean(nq[r->nquery].k, klen) || !clean(nq[r->nquery].v, vlen))
                refuse(r, 400, "the query holds a NUL or control character");
            r->nquery++;
        }
        q += len + (amp ? 1 : 0);
    }
    return 0;
}

/* ---- requests ---- */

/* A top-level "request" scope of h's container, begun by its level key
 * (no name compared per request) once the container is sealed; before,
 * by name, which reports why it cannot. */
static int begin_request(di_http *h, di_scope **out)
{
    int l = atomic_load_explicit(&h->req_level, memory_order_relaxed);
    if (l <= 0 && (l = di_level_key(h->c, "request")) > 0)
        atomic_store_explicit(&h->req_level, l, memory_order_relaxed);
    return l > 0 ? di_scope_begin_key(h->c, NULL, l, NULL, out)
                 : di_scope_begin(h->c, NULL, "request", NULL, out);
}

/* A request freed before di_http_end() still ends its scope: settled as
 * abandoned if it was not settled yet. */
static int req_destructor(di_http_req *r)
{
    if (r->scope) {
        di_scope_free(r->scope);
        atomic_fetch_sub(&r->h->inflight, 1);
    }
    return 0;
}

static int http_begin(di_http *h, const char *method, const char *target,
                      di_http_lookup_fn lookup, void *ctx, di_http_req **out)
{
    if (!h || !method || !target || !out)
        return DI_EINVAL;
    *out = NULL;
    /* top-level: one request belongs to one thread at a time. Its block is
     * this thread's spare when there is one (kept by the last request of
     * h that ended on this thread, see di_int.h): no malloc */
    di_http_req *r = di__spare_take(DI__SPARE_HTTP, (uintptr_t)h);
    if (!r) {
        r = talloc(NULL, di_http_req);
        if (!r)
            return DI_ENOMEM;
        talloc_set_destructor(r, req_destructor);
    }
    memset(r, 0, offsetof(di_http_req, method_room));
    r->h = h;
    r->client_fd = -1;
    r->lookup = lookup;
    r->ctx = ctx;
    size_t mlen = strlen(method) + 1;
    char *m = room(r, r->method_room, sizeof r->method_room, mlen);
    if (m)
        memcpy(m, method, mlen);
    r->method = m;
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    r->path = room(r, r->path_room, sizeof r->path_room, plen + 1);
    if (r->path && (!clean(r->path, decode_into(r->path, target, plen, false))
                    || encoded_slash(target, plen)))
        refuse(r, 400, "the path holds an encoded '/', a NUL or a control "
               "character");
    int rc = r->method && r->path ? 0 : DI_ENOMEM;
    if (!rc && q) {
        r->own_query = true;
        rc = parse_query(r, q + 1);
    }
    /* the scope is top-level (so that its block is reused request after
     * request, see scope.h) and ends with the request */
    if (!rc)
        rc = h->live ? di_live_begin(h->live, "request", NULL, &r->scope)
                     : begin_request(h, &r->scope);
    if (!rc) {
        /* the key recorded when this router wired the scope's container */
        const di_container *c = r->scope->c;
        r->w = wiring_of(h, c);
        rc = di__scope_put_key(r->scope, r->w ? r->w->req_key
                                              : di__names_find(&c->pnames,
                                                               DI_HTTP_REQUEST),
                               DI_HTTP_REQUEST, r);
    }
    if (rc) {
        if (r->scope)
            di_scope_end(r->scope, rc);
        r->scope = NULL;
        talloc_free(r);
        return rc;
    }
    /* counted, then checked (di_http_drain() sets, then counts: one of the
     * two sees the other): shutting down, it is answered 503 without
     * resolving anything */
    atomic_fetch_add(&h->inflight, 1);
    if (atomic_load(&h->draining))
        refuse(r, 503, "the server is shutting down");
    *out = r;
    return 0;
}

int di_http_begin(di_http *h, const char *method, const char *target,
                  di_http_lookup_fn lookup, void *ctx, di_http_req **out)
{
    int rc = http_begin(h, method, target, lookup, ctx, out);
    return h ? di__nomem(serving(h), "di_http_begin", rc) : rc;
}

/* Drop the body read so far. */
static void drop_body(di_http_req *r)
{
    talloc_free(r->body);
    r->body = NULL;
    r->blen = 0;
}

int di_http_content_length(di_http_req *r, unsigned long long n)
{
    if (!r)
        return DI_EINVAL;
    if (n <= DI_HTTP_BODY_MAX)
        return 0;
    refuse(r, 413, "request body too large");
    drop_body(r);
    return DI_HTTP_ERROR(413);
}

void di_http_client_socket(di_http_req *r, int fd)
{
    if (r)
        r->client_fd = fd;
}

int di_http_append_body(di_http_req *r, const void *data, size_t len)
{
    if (!r || (!data && len))
        return DI_EINVAL;
    if (r->body_lost)
        return DI_ENOMEM;
    if (r->refuse_status || !len) /* refused: the rest goes nowhere */
        return 0;
    if (r->blen + len > DI_HTTP_BODY_MAX) {
        refuse(r, 413, "request body too large");
        drop_body(r);
        return 0;
    }
    char *nb = talloc_realloc(r, r->body, char, di__count(r->blen + len + 1));
    if (!nb) {
        r->body_lost = true;
        drop_body(r);
        return DI_ENOMEM;
    }
    memcpy(nb + r->blen, data, len);
    r->blen += len;
    nb[r->blen] = '\0';
    r->body = nb;
    return 0;
}

const char *di_http_method(const di_http_req *r) { return r ? r->method : NULL; }
const char *di_http_path(const di_http_req *r) { return r ? r->path : NULL; }
di_scope *di_http_scope(const di_http_req *r) { return r ? r->scope : NULL; }

const char *di_http_body(const di_http_req *r, size_t *len)
{
    if (len)
        *len = r ? r->blen : 0;
    return r && r->body ? r->body : "";
}

static const char *find(const kv *v, size_t n, const char *k)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].k, k) == 0)
            return v[i].v;
    return NULL;
}

const char *di_http_param(const di_http_req *r, const char *name)
{
    return r && name ? find(r->params, r->nparams, name) : NULL;
}

const char *di_http_query(const di_http_req *r, const char *name)
{
    if (!r || !name)
        return NULL;
    if (r->own_query)
        return find(r->query, r->nquery, name);
    return r->lookup ? r->lookup(r->ctx, DI_HTTP_LOOKUP_QUERY, name) : NULL;
}

/* s as a canonical decimal integer in [lo, hi]: 0, or DI_EINVAL. */
static int canonical_int(const char *s, long long lo, long long hi,
                         long long *out)
{
    bool neg = *s == '-';
    const char *d = s + neg;
    if (!*d || (d[0] == '0' && (d[1] || neg)))
        return DI_EINVAL; /* empty, "01", "-0" */
    unsigned long long v = 0, most = neg ? (unsigned long long)LLONG_MAX + 1
                                         : (unsigned long long)LLONG_MAX;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || v > (most - (unsigned)(*d - '0')) / 10)
            return DI_EINVAL;
        v = v * 10 + (unsigned)(*d - '0');
    }
    long long x = neg ? (v == most ? LLONG_MIN : -(long long)v) : (long long)v;
    if (x < lo || x > hi)
        return DI_EINVAL;
    *out = x;
    return 0;
}

int di_http_param_int(const di_http_req *r, const char *name, long long lo,
                      long long hi, long long *out)
{
    const char *s = di_http_param(r, name);
    if (!s || !out)
        return !out ? DI_EINVAL : DI_ENOTFOUND;
    return canonical_int(s, lo, hi, out);
}

int di_http_query_int(const di_http_req *r, const char *name, long long lo,
                      long long hi, long long def, long long *out)
{
    if (!out)
        return DI_EINVAL;
    const char *s = di_http_query(r, name);
    if (!s) {
        *out = def;
        return 0;
    }
    return canonical_int(s, lo, hi, out);
}

const char *di_http_header(const di_http_req *r, const char *name)
{
    if (!r || !name)
        return NULL;
    return r->lookup ? r->lookup(r->ctx, DI_HTTP_LOOKUP_HEADER, name) : NULL;
}

int di_http_respond(di_http_req *r, int status, const char *content_type,
                    const void *body, size_t len)
{
    if (!r || status < 100 || status > 599 || (!body && len))
        return DI_EINVAL;
    if (!content_type)
        content_type = "application/octet-stream";
    size_t clen = strlen(content_type) + 1;
    /* the room may hold the previous answer (or be where body points):
     * its new contents are moved in, and only a talloc'd old one freed */
    char *ct = room(r, r->ctype_room, sizeof r->ctype_room, clen);
    char *b = room(r, r->answer_room, sizeof r->answer_room, len + 1);
    if (!ct || !b) {
        if (ct)
            unroom(ct, r->ctype_room);
        if (b)
            unroom(b, r->answer_room);
        return DI_ENOMEM;
    }
    memmove(ct, content_type, clen);
    if (len)
        memmove(b, body, len);
    b[len] = '\0';
    if (r->ctype != ct && r->ctype)
        unroom(r->ctype, r->ctype_room);
    if (r->resp != b && r->resp)
        unroom(r->resp, r->answer_room);
    r->status = status;
    r->ctype = ct;
    r->resp = b;
    r->rlen = len;
    return 0;
}

int di_http_add_header(di_http_req *r, const char *name, const char *value)
{
    if (!r || !name || !*name || !value || strpbrk(name, "\r\n:") ||
        strpbrk(value, "\r\n"))
        return DI_EINVAL;
    kv *nh = talloc_realloc(r, r->headers, kv, di__count(r->nheaders + 1));
    if (!nh)
        return DI_ENOMEM;
    r->headers = nh;
    nh[r->nheaders].k = talloc_strdup(r, name);
    nh[r->nheaders].v = talloc_strdup(r, value);
    if (!nh[r->nheaders].k || !nh[r->nheaders].v)
        return DI_ENOMEM;
    r->nheaders++;
    return 0;
}

/* {"error": msg} with the status. */
static int respond_error(di_http_req *r, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "error", msg))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = text ? di_http_respond(r, status, "application/json", text,
                                    strlen(text))
                  : di_http_respond(r, 500, "text/plain", NULL, 0);
    cJSON_free(text);
    return rc;
}

int di_http_check_json(di_http_req *r)
{
    if (!r)
        return DI_EINVAL;
    void *tmp = talloc_new(NULL);
    char *err = NULL;
    int rc = tmp ? di__json_check(tmp, r->body ? r->body : "", r->blen, 64,
                                  &err)
                 : DI_ENOMEM;
    if (!rc) {
        if (r->blen >= 3 && memcmp(r->body, "\xef\xbb\xbf", 3) == 0) {
            memmove(r->body, r->body + 3, r->blen - 2); /* and its NUL */
            r->blen -= 3;
        }
        talloc_free(tmp);
        return 0;
    }
    char *msg = rc == DI_ECONFIG && err ? talloc_asprintf(tmp, "body:%s", err)
                                        : NULL;
    respond_error(r, msg ? 400 : 500, msg ? msg : "internal error");
    talloc_free(tmp);
    return msg ? DI_HTTP_ERROR(400) : DI_ENOMEM;
}

/* Does route rt match the path segments? Collects the params. */
static bool match(di_http_req *r, const route *rt, const char **segs,
                  uint32_t n, bool keep)
{
    if (rt->nsegs != n)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!rt->pnames[i] && strcmp(rt->segs[i], segs[i]) != 0)
            return false;
    if (!keep)
        return true;
    r->params = room(r, r->param_room, sizeof r->param_room,
                     (n ? n : 1) * sizeof(kv));
    for (uint32_t i = 0; r->params && i < n; i++)
        if (rt->pnames[i]) /* the route's name: it outlives the request */
            r->params[r->nparams++] = (kv){ rt->pnames[i], segs[i] };
    return r->params != NULL; /* out of memory: the caller answers 500 */
}

static const char *status_text(int status)
{
    switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 409: return "conflict";
    case 413: return "request body too large";
    case 422: return "unprocessable content";
    case 429: return "too many requests";
    case 503: return "service unavailable";
    default: return status < 500 ? "client error" : "server error";
    }
}

/* A failure from resolution or the handler: its status and answer. */
static void settle_failure(di_http_req *r, const route *rt, int rc)
{
    int status = DI_HTTP_STATUS_OF(rc);
    /* the scope's error is this failure's detail only if the codes agree:
     * otherwise the handler returned a code of its own */
    const di_error *e = di_scope_error(r->scope);
    if (e && di_error_code(e) != rc)
        e = NULL;
    const char *msg = e ? di_error_message(e) : NULL;
    const char *reason = e ? di_error_reason(e) : NULL;
    if (status && status < 500) {
        respond_error(r, status, reason ? reason : status_text(status));
        return;
    }
    di_log_record f = { .level = DI_LOG_ERROR, .event = "request_failed",
                        .provider = e ? di_error_provider(e) : NULL,
                        .path = e ? di_error_path(e) : NULL, .code = rc,
                        .method = r->method, .target = r->path };
    if (msg)
        di__log(&f, "di_http: %s: %s", rt->name, msg);
    else
        di__log(&f, "di_http: %s: the handler returned %d (%s)", rt->name,
                rc, status ? "an HTTP error" : di_strerror(rc));
    respond_error(r, status ? status : 500,
                  !status ? "internal error" : reason ? reason
                                                    : status_text(status));
}

/* The consumer key of route rt on the container of r's scope (recorded
 * when this router wired it), or -1 to resolve it by name. */
static int route_consumer(const di_http_req *r, const route *rt)
{
    uint32_t i = (uint32_t)(rt - r->h->routes);
    return r->w && i < r->w->nkeys ? r->w->keys[i] : -1;
}

/* Match r's route and take its parameters: the route, or NULL when r is
 * answered already (refused, 404, 405, out of memory), *rc its outcome. */
static const route *prepare(di_http_req *r, int *rc)
{
    di_http *h = r->h;
    if (r->refuse_status) {
        respond_error(r, r->refuse_status, r->refuse_why);
        *rc = DI_HTTP_ERROR(r->refuse_status);
        return NULL;
    }
    if (r->body_lost) {
        di__log(&(di_log_record){ .level = DI_LOG_ERROR,
                .event = "request_failed", .code = DI_ENOMEM,
                .method = r->method, .target = r->path },
                "di_http: %s %s: out of memory reading the body: the "
                "handler did not run", r->method, r->path);
        respond_error(r, 500, "internal error");
        *rc = DI_ENOMEM;
        return NULL;
    }
    /* the path's segments, in place in a copy of it */
    size_t plen = strlen(r->path) + 1;
    char *buf = room(r, r->seg_room, sizeof r->seg_room, plen);
    uint32_t n = count_segs(r->path);
    const char **segs = room(r, r->segv_room, sizeof r->segv_room,
                             (n ? n : 1) * sizeof *segs);
    *rc = DI_ENOMEM;
    if (!buf || !segs)
        return NULL;
    memcpy(buf, r->path, plen);
    split_in(buf, segs);
    const route *rt = NULL;
    char *allow = NULL;
    for (uint32_t i = 0; i < h->nroutes; i++) {
        if (!match(r, &h->routes[i], segs, n, false))
            continue;
        if (strcmp(h->routes[i].method, r->method) == 0) {
            rt = &h->routes[i];
            break;
        }
        allow = allow ? talloc_asprintf_append(allow, ", %s",
                                               h->routes[i].method)
                      : talloc_strdup(r, h->routes[i].method);
    }
    if (!rt) {
        if (allow) {
            di_http_add_header(r, "Allow", allow);
            respond_error(r, 405, "method not allowed");
            *rc = DI_HTTP_ERROR(405);
            return NULL;
        }
        respond_error(r, 404, "not found");
        *rc = DI_HTTP_ERROR(404);
        return NULL;
    }
    r->rt = rt;
    if (!match(r, rt, segs, n, true)) {
        settle_failure(r, rt, DI_ENOMEM);
        return NULL;
    }
    *rc = 0;
    return rt;
}

/* The answer for the outcome rc of route rt's resolution and handler: an
 * error's, or 204 when the handler set none. Returns the outcome (0 or a
 * failure code). */
static int answered(di_http_req *r, const route *rt, int rc)
{
    if (rc > 0)
        rc = DI_EPROVIDER;
    /* a handler that answered the error it returns keeps its answer */
    if (rc && !(DI_HTTP_STATUS_OF(rc) && DI_HTTP_STATUS_OF(rc) == r->status))
        settle_failure(r, rt, rc);
    else if (!r->status)
        di_http_respond(r, 204, NULL, NULL, 0);
    return rc;
}

/* Run route rt's handler on its dependencies deps, resolved with rc, and
 * set the answer: returns the outcome (0 or a failure code), or DI_PENDING
 * when an asynchronous handler finishes later (di_http_handled()). */
static int answer(di_http_req *r, const route *rt, void *const *deps, int rc)
{
    if (!rc) {
        /* the router settles and frees the scope: a handler that tried to
         * end it would leave the router a dangling one (DI_EBUSY) */
        r->scope->busy++;
        r->in_handler = true;
        rc = rt->handler(r, deps, rt->data);
        r->in_handler = false;
        if (rc == DI_PENDING && r->handled_early) {
            rc = r->handled_rc; /* it finished before it returned */
        } else if (rc == DI_PENDING && r->done) {
            r->handling = true; /* the scope stays busy until it finishes */
            return DI_PENDING;
        } else if (rc == DI_PENDING) {
            di__log(&(di_log_record){ .level = DI_LOG_ERROR,
                    .event = "request_failed", .code = DI_PENDING,
                    .method = r->method, .target = r->path },
                    "di_http: %s: the handler returned DI_PENDING, "
                     "but the request was dispatched with di_http_dispatch(), "
                     "which cannot wait: use di_http_dispatch_async()",
                     rt->name);
            respond_error(r, 500, "internal error");
            rc = DI_HTTP_ERROR(500); /* answered and logged: once */
        }
        r->scope->busy--;
    }
    return answered(r, rt, rc);
}

/* Match the route, resolve its dependencies, run the handler, and set the
 * answer: returns the handler's outcome (0 or a failure code). */
static int run(di_http_req *r)
{
    int rc;
    const route *rt = prepare(r, &rc);
    if (!rt)
        return rc;
    void *local[16], **deps = local;
    if (rt->ndeps > 16 && !(deps = talloc_array(r, void *, rt->ndeps))) {
        settle_failure(r, rt, DI_ENOMEM);
        return DI_ENOMEM;
    }
    int key = route_consumer(r, rt);
    rc = key >= 0 ? di_resolve_key(r->scope, key, deps, rt->ndeps)
                  : di_resolve(r->scope, rt->name, deps, rt->ndeps);
    return answer(r, rt, deps, rc);
}

/* Has the client gone away? End of file or an error on its socket, seen
 * without reading anything: more bytes (a pipelined request) mean it is
 * there. */
static bool client_gone(const di_http_req *r)
{
    if (r->client_fd < 0)
        return false;
    char byte;
    ssize_t n = recv(r->client_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                      errno != EINTR);
}

/* Replace the answer by an error of the router's: the handler's extra
 * headers (a Location of what was not saved) go. */
static void replace_answer(di_http_req *r, int status, const char *msg)
{
    r->nheaders = 0;
    respond_error(r, status, msg);
}

/* Log why r's settle failed (rc): each dispose failure with the dependency
 * path that built its instance when the route's plan has it. */
static void log_settle(di_http_req *r, int rc)
{
    const di_error *e = di_scope_error(r->scope);
    di_log_record f = { .level = DI_LOG_ERROR, .event = "not_saved",
                        .code = rc, .method = r->method, .target = r->path };
    if (rc != DI_EDISPOSE || !e) {
        di__log(&f, "di_http: %s %s: not saved: the request's scope could "
                "not be settled (%s)", r->method, r->path, di_strerror(rc));
        return;
    }
    int key = r->rt ? route_consumer(r, r->rt) : -1;
    if (r->rt && key < 0)
        key = di__names_find(&r->scope->c->cnames, r->rt->name);
    for (; e; e = di_error_next(e)) {
        const char *prov = di_error_provider(e);
        char *path = *prov ? di__consumer_path(r->scope->c, key, prov) : NULL;
        f.provider = prov;
        f.path = path ? path : prov;
        f.code = di_error_code(e);
        di__log(&f, "di_http: %s %s: not saved: %s%s%s", r->method, r->path,
                path ? path : prov, *prov ? ": " : "", di_error_reason(e));
        talloc_free(path);
    }
}

/* The outcome r's scope settles with, for its answer and rc (see
 * di/http.h): a client gone first turns it into a failure and the answer
 * into 499. */
static int settle_outcome(di_http_req *r, int rc)
{
    int outcome = rc ? rc : r->status >= 400 ? DI_HTTP_ERROR(r->status) : 0;
    if (__builtin_expect(atomic_load_explicit(&r->h->abandon,
                                              memory_order_relaxed), 0)) {
        /* settled after the shutdown's deadline: nothing is kept */
        if (!outcome)
            outcome = DI_EABANDONED;
        replace_answer(r, 503, "the server is shutting down; the request's "
                               "changes were not saved");
    } else if (client_gone(r)) {
        if (!outcome)
            outcome = DI_EABANDONED;
        replace_answer(r, 499, "the client closed the connection; the "
                               "request's changes were not saved");
    }
    r->settled = true;
    r->outcome = outcome;
    return outcome;
}

/* r's scope settled with s: a failed settle turns the answer into a 500.
 * Returns the request's outcome. */
static int settled(di_http_req *r, int s)
{
    if (__builtin_expect(s != 0, 0)) {
        log_settle(r, s);
        replace_answer(r, 500, "the request's changes were not saved");
        r->outcome = DI_EDISPOSE;
    }
    if (!r->status) /* out of memory for any answer: one that needs none */
        di_http_respond(r, 500, "text/plain", NULL, 0);
    return r->outcome;
}

/* Settle r's scope with the outcome of its answer, before the answer
 * leaves. */
static int settle_request(di_http_req *r, int rc)
{
    return settled(r, di_scope_settle(r->scope, settle_outcome(r, rc)));
}

int di_http_dispatch(di_http_req *r)
{
    if (!r || r->dispatched || r->settled)
        return DI_EINVAL;
    r->dispatched = true;
    return settle_request(r, run(r));
}

/* ---- asynchronous dispatch (event loops) ---- */

static void end_now(di_http_req *r);

/* The settle of an asynchronous dispatch finished later. */
static void settled_later(di_scope *s, int rc, void *arg)
{
    (void)s;
    di_http_req *r = arg;
    r->settling = false;
    settled(r, rc);
    if (r->ending) /* the framework ended it meanwhile: end it now */
        end_now(r);
    else
        r->done(r, r->outcome, r->done_arg);
}

/* Settle r asynchronously after its answer (rc): its outcome, or
 * DI_PENDING when settled_later() will finish. */
static int settle_async(di_http_req *r, int rc)
{
    int s = di_scope_settle_async(r->scope, settle_outcome(r, rc),
                                  settled_later, r);
    if (s == DI_PENDING) {
        r->settling = true;
        return DI_PENDING;
    }
    return settled(r, s);
}

/* The resolution of an asynchronous dispatch finished later. */
static void resolved_later(di_scope *s, int rc, void *arg)
{
    (void)s;
    di_http_req *r = arg;
    r->resolving = false;
    if (r->ending) /* called back by the end's settle: nothing to answer */
        return;
    rc = answer(r, r->rt, r->adeps, rc);
    if (rc == DI_PENDING) /* the handler finishes later */
        return;
    int out = settle_async(r, rc);
    if (out != DI_PENDING)
        r->done(r, out, r->done_arg);
}

int di_http_handled(di_http_req *r, int rc)
{
    if (r && r->in_handler && !r->handled_early) {
        r->handled_early = true;
        r->handled_rc = rc;
        return 0;
    }
    if (!r || !r->handling)
        return DI_EINVAL;
    r->handling = false;
    r->scope->busy--;
    if (r->ending) {
        /* the framework ended the request while the handler worked: its
         * work is rolled back, and the request ends when that finished */
        r->settled = true;
        r->outcome = DI_EABANDONED;
        int s = di_scope_settle_async(r->scope, DI_EABANDONED, settled_later,
                                      r);
        if (s == DI_PENDING) {
            r->settling = true;
            return 0;
        }
        if (s) {
            log_settle(r, s);
            r->outcome = DI_EDISPOSE;
        }
        end_now(r);
        return 0;
    }
    int out = settle_async(r, answered(r, r->rt, rc));
    if (out != DI_PENDING)
        r->done(r, out, r->done_arg);
    return 0;
}

int di_http_dispatch_async(di_http_req *r, di_http_done_fn done, void *arg)
{
    if (!r || !done || r->dispatched || r->settled)
        return DI_EINVAL;
    r->dispatched = true;
    r->done = done;
    r->done_arg = arg;
    int rc;
    const route *rt = prepare(r, &rc);
    if (rt) {
        r->adeps = talloc_array(r, void *, rt->ndeps ? rt->ndeps : 1);
        if (!r->adeps) {
            settle_failure(r, rt, DI_ENOMEM);
            rc = DI_ENOMEM;
        } else {
            rc = di_resolve_async(r->scope, rt->name, r->adeps, rt->ndeps,
                                  resolved_later, r);
            if (rc == DI_PENDING) {
                r->resolving = true;
                return DI_PENDING;
            }
            rc = answer(r, rt, r->adeps, rc);
            if (rc == DI_PENDING)
                return DI_PENDING;
        }
    }
    return settle_async(r, rc);
}

int di_http_status(const di_http_req *r) { return r ? r->status : 0; }

const char *di_http_content_type(const di_http_req *r)
{
    return r && r->ctype ? r->ctype : "application/octet-stream";
}

const char *di_http_response(const di_http_req *r, size_t *len)
{
    if (len)
        *len = r ? r->rlen : 0;
    return r && r->resp ? r->resp : "";
}

int di_http_response_header(const di_http_req *r, size_t i, const char **name,
                            const char **value)
{
    if (!r || i >= r->nheaders || !name || !value)
        return 0;
    *name = r->headers[i].k;
    *value = r->headers[i].v;
    return 1;
}

int di_http_end(di_http_req *r, int delivered)
{
    if (!r || r->ending)
        return DI_EINVAL;
    int rc = 0;
    r->ending = true;
    r->delivered = delivered != 0;
    if (r->settling || r->handling) /* a COMMIT on the wire, or the
                                        handler's own work: it ends when
                                        that finished */
        return 0;
    if (!r->settled) { /* never dispatched, or its resolution waits:
                          nothing of it completed */
        r->settled = true;
        r->outcome = DI_EABANDONED;
        if ((rc = di_scope_settle(r->scope, DI_EABANDONED))) {
            log_settle(r, rc);
            r->outcome = DI_EDISPOSE;
        }
    }
    end_now(r);
    return rc;
}

/* Free r's scope and r, telling di_http_on_end() first. */
static void end_now(di_http_req *r)
{
    di_scope_free(r->scope);
    r->scope = NULL;
    if (r->h->on_end)
        r->h->on_end(r->h->end_ctx, r, r->outcome);
    atomic_fetch_sub_explicit(&r->h->inflight, 1, memory_order_release);
    if (!di__spare_keep(DI__SPARE_HTTP, r, (uintptr_t)r->h))
        talloc_free(r);
}

int di_http_delivered(const di_http_req *r) { return r ? r->delivered : 0; }

long di_http_drain(di_http *h, unsigned timeout_ms)
{
    if (!h)
        return DI_EINVAL;
    atomic_store(&h->draining, true);
    struct timespec until, now;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    long left;
    /* polled: the request path only counts, it signals nobody */
    while ((left = atomic_load_explicit(&h->inflight, memory_order_acquire))) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > until.tv_sec ||
            (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
            break;
        nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
    }
    if (left)
        atomic_store(&h->abandon, true);
    return left;
}
