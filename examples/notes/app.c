/*
 * app.c — the notes service's providers and handlers.
 *
 * Providers registered here: "config" (the program's settings, a value),
 * "logger" (singleton, needs config), "current_user" and "read_user"
 * (request: the user whose token is in "Authorization: Bearer <token>",
 * else 401; looked up through "repo" and "read_repo"). From the config:
 * "db", "session" and "repo" (a read-write transaction), "read_session"
 * and "read_repo" (a read transaction, which on SQLite takes no write
 * lock). Write routes need "repo" and "current_user", read routes
 * "read_repo" and "read_user": one transaction per request either way.
 * The transaction commits when the handler succeeds and rolls back when it
 * fails, before the answer leaves (di/http.h): a 201 means committed.
 *
 * POST /notes and POST /notes/import honour an Idempotency-Key header (per
 * user): the first request with a key claims it in its own transaction and
 * keeps its answer there, so the note and the key commit or roll back
 * together; a retry with the same key and the same request gets that answer
 * again (with Idempotent-Replayed: true) and writes nothing; the same key
 * with another request is refused with 422. A client that lost an answer
 * (a timeout, a server killed between COMMIT and response) retries safely.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

/* ---- logger ---- */

struct notes_log {
    pthread_mutex_t lock;
    int quiet;
};

void notes_log_printf(notes_log *l, const char *fmt, ...)
{
    if (l->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&l->lock);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&l->lock);
    va_end(ap);
}

static int log_create(const di_build *b, void **out)
{
    notes_log *l = b->mem;
    l->quiet = ((const notes_config *)b->deps[0])->quiet;
    if (pthread_mutex_init(&l->lock, NULL))
        return di_fail(b, DI_ENOMEM, "cannot create a mutex");
    *out = l;
    return 0;
}

static int log_dispose(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    pthread_mutex_destroy(&((notes_log *)inst)->lock);
    return 0;
}

/* ---- current_user ---- */

static int user_create(const di_build *b, void **out)
{
    const char *auth = di_http_header(b->deps[0], "Authorization");
    notes_repo *repo = b->deps[1];
    /* a 401 says how to authenticate (RFC 9110) */
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        di_http_add_header(b->deps[0], "WWW-Authenticate", "Bearer");
        return di_fail(b, DI_HTTP_ERROR(401), "missing bearer token");
    }
    user *u = b->mem;
    int rc = repo->user_by_token(repo, b->mem, auth + 7, u);
    if (rc == DI_ENOTFOUND) {
        di_http_add_header(b->deps[0], "WWW-Authenticate",
                           "Bearer error=\"invalid_token\"");
        return di_fail(b, DI_HTTP_ERROR(401), "unknown token");
    }
    if (rc)
        return di_fail(b, rc, "user lookup: %s", repo->err);
    *out = u;
    return 0;
}

int notes_register_kinds(di_container *c)
{
    int rc = di_kind_register(c, &notes_sqlite_repo_kind);
    return rc ? rc : di_kind_register(c, &notes_postgres_repo_kind);
}

int notes_register_logger(di_container *c, notes_config *cfg)
{
    static const char *const deps[] = { "config:notes_config", NULL };
    int rc = di_provide_value(c, "config", "notes_config", cfg);
    return rc ? rc : di_provide(c, &(di_provider_desc){
        .name = "logger", .lifetime = "singleton", .deps = deps,
        .create = log_create, .dispose = log_dispose,
        .size = sizeof(notes_log) });
}

int notes_register_current_user(di_container *c)
{
    static const char *const user_deps[] = { "http_request:di_http_req",
                                             "repo:notes_repo", NULL };
    static const char *const read_deps[] = { "http_request:di_http_req",
                                             "read_repo:notes_repo", NULL };
    int rc = di_provide(c, &(di_provider_desc){
        .name = "current_user", .type = "user", .lifetime = "request",
        .deps = user_deps, .create = user_create, .size = sizeof(user) });
    return rc ? rc : di_provide(c, &(di_provider_desc){
        .name = "read_user", .type = "user", .lifetime = "request",
        .deps = read_deps, .create = user_create, .size = sizeof(user) });
}

/* ---- handlers: deps are repo, current_user, logger ---- */

#define REPO ((notes_repo *)deps[0])
#define USER ((user *)deps[1])
#define LOG ((notes_log *)deps[2])
#define INPUT deps[3] /* the validated body or query (notes_routes) */

/* ---- Idempotency-Key ---- */

/* Keep the answer fn gave, with the key it claimed. */
static int keep(di_http_req *r, void *const *deps, const char *key)
{
    const char *location = "", *name, *value;
    for (size_t i = 0; di_http_response_header(r, i, &name, &value); i++)
        if (strcmp(name, "Location") == 0)
            location = value;
    if (REPO->keep_answer(REPO, USER->id, key, di_http_status(r), location,
                          di_http_response(r, NULL)))
        return notes_db_error(r, LOG, REPO->err);
    return 0;
}

/* Run fn once per Idempotency-Key (when the request has one). */
static int idempotent(di_http_req *r, void *const *deps, di_http_handler fn)
{
    const char *key = di_http_header(r, "Idempotency-Key");
    if (!key)
        return fn(r, deps, NULL);
    if (!notes_key_ok(key))
        return notes_send_error(r, 400, "Idempotency-Key: 1 to 200 visible ASCII "
                          "characters");
    char hash[17];
    notes_request_hash(r, hash);
    void *mem = talloc_new(NULL);
    notes_answer first;
    int rc = REPO->claim_key(REPO, mem, USER->id, key, hash, &first);
    if (rc == DI_EEXIST)
        rc = strcmp(first.hash, hash) != 0
                 ? notes_send_error(r, 422, "Idempotency-Key '%s' was used for "
                              "another request", key)
                 : notes_replay(r, &first);
    else if (rc)
        rc = notes_db_error(r, LOG, REPO->err);
    else if (!(rc = fn(r, deps, NULL)) && di_http_status(r) < 300)
        rc = keep(r, deps, key);
    talloc_free(mem);
    return rc;
}

static int create_once(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    const note_in *in = INPUT;
    int64_t id;
    int rc = REPO->create(REPO, USER->id, in->title, in->body, &id);
    note n = { 0 };
    void *mem = talloc_new(NULL);
    if (!rc)
        rc = REPO->get(REPO, mem, USER->id, id, &n);
    if (rc) {
        talloc_free(mem);
        return notes_db_error(r, LOG, REPO->err);
    }
    char loc[48];
    snprintf(loc, sizeof loc, "/notes/%lld", (long long)id);
    di_http_add_header(r, "Location", loc);
    rc = notes_send_json(r, 201, notes_note_json(&n));
    talloc_free(mem);
    return rc;
}

static int list_notes(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    const page_in *page = INPUT;
    int64_t offset = page->offset, limit = page->limit;
    void *mem = talloc_new(NULL);
    note *items;
    size_t n;
    int64_t total;
    int rc = REPO->list(REPO, mem, USER->id, offset, limit, &items, &n,
                        &total);
    if (rc) {
        talloc_free(mem);
        return notes_db_error(r, LOG, REPO->err);
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, notes_note_json(&items[i]));
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    cJSON_AddNumberToObject(o, "limit", (double)limit);
    cJSON_AddNumberToObject(o, "total", (double)total);
    talloc_free(mem);
    return notes_send_json(r, 200, o);
}

static int get_note(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    int64_t id;
    int rc = notes_note_id(r, &id);
    if (rc)
        return rc;
    void *mem = talloc_new(NULL);
    note n;
    rc = REPO->get(REPO, mem, USER->id, id, &n);
    if (rc == DI_ENOTFOUND)
        rc = notes_send_error(r, 404, "note %lld not found", (long long)id);
    else if (rc)
        rc = notes_db_error(r, LOG, REPO->err);
    else
        rc = notes_send_json(r, 200, notes_note_json(&n));
    talloc_free(mem);
    return rc;
}

static int update_note(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    const note_in *in = INPUT;
    int64_t id;
    int rc = notes_note_id(r, &id);
    if (!rc) {
        rc = REPO->update(REPO, USER->id, id, in->title, in->body);
        if (rc == DI_ENOTFOUND)
            rc = notes_send_error(r, 404, "note %lld not found", (long long)id);
        else if (rc)
            rc = notes_db_error(r, LOG, REPO->err);
    }
    return rc ? rc : get_note(r, deps, data);
}

static int delete_note(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    int64_t id;
    int rc = notes_note_id(r, &id);
    if (rc)
        return rc;
    rc = REPO->remove(REPO, USER->id, id);
    if (rc == DI_ENOTFOUND)
        return notes_send_error(r, 404, "note %lld not found", (long long)id);
    if (rc)
        return notes_db_error(r, LOG, REPO->err);
    return di_http_respond(r, 204, NULL, NULL, 0);
}

/* All or nothing: every item was checked before the handler runs (the
 * input "body:note_in[]"); a write that fails rolls back the earlier ones
 * with the transaction. */
static int import_once(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    const di_model_list *l = INPUT;
    const note_in *items = l->items;
    for (size_t i = 0; i < l->n; i++) {
        int64_t id;
        if (REPO->create(REPO, USER->id, items[i].title, items[i].body, &id))
            return notes_db_error(r, LOG, REPO->err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "imported", (double)l->n);
    return notes_send_json(r, 201, o);
}

static int create_note(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    return idempotent(r, deps, create_once);
}

static int import_notes(di_http_req *r, void *const *deps, void *data)
{
    (void)data;
    return idempotent(r, deps, import_once);
}

static int health(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 200, "application/json", "{\"status\":\"ok\"}",
                           15);
}

/* With --debug: each route runs through here, which adds what the request
 * scope holds at the end of the handler, and what it built (its trace), as
 * response headers. */
typedef struct debugged { di_http_handler fn; } debugged;

static int with_debug_headers(di_http_req *r, void *const *deps, void *data)
{
    const debugged *d = data;
    int rc = d->fn(r, deps, NULL);
    notes_debug_headers(r);
    return rc;
}

int notes_register_routes(di_http *h, const notes_config *cfg)
{
    /* writes: the read-write transaction; reads: the read one */
    static const char *const writes[] = { "repo:notes_repo",
                                          "current_user:user", "logger", NULL };
    static const char *const reads[] = { "read_repo:notes_repo",
                                         "read_user:user", "logger", NULL };
    static const di_http_handler fns[] = { create_note, list_notes,
                                           get_note, update_note,
                                           delete_note, import_notes };
    static debugged wrapped[sizeof fns / sizeof fns[0]];
    for (size_t i = 0; notes_routes[i].method; i++) {
        const char *deps[6];
        notes_route_deps(notes_routes[i].write ? writes : reads, 3,
                         notes_routes[i].input, deps);
        wrapped[i].fn = fns[i];
        int rc = di_http_route(h, &(di_http_route_desc){
            .method = notes_routes[i].method, .path = notes_routes[i].path,
            .deps = deps, .summary = notes_routes[i].summary,
            .responses = notes_routes[i].responses,
            .handler = cfg->debug ? with_debug_headers : fns[i],
            .data = cfg->debug ? &wrapped[i] : NULL });
        if (rc)
            return rc;
    }
    return di_http_route(h, &(di_http_route_desc){
        .method = "GET", .path = "/health", .handler = health,
        .summary = "Is the server up?" });
}

int notes_migrate(di_container *c, di_scope *parent)
{
    di_scope *s;
    notes_repo *repo;
    int rc = di_scope_begin(c, parent, "request", NULL, &s);
    if (rc)
        return rc;
    rc = di_get(s, "repo", (void **)&repo);
    if (rc)
        fprintf(stderr, "notes: %s\n", di_error_message(di_scope_error(s)));
    else if ((rc = repo->migrate(repo)))
        fprintf(stderr, "notes: migration failed: %s\n", repo->err);
    int end = di_scope_end(s, rc);
    return rc ? rc : end;
}
