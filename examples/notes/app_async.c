/*
 * app_async.c — the notes service on an event loop (server.c --loop): the
 * routes, answers and provider names of app.c, on PostgreSQL through
 * postgres.async_pool and postgres.async_session (notes-async.json), with
 * no wait that blocks the loop: the session's checkout, BEGIN and COMMIT
 * wait on it (the plugin), and so do the handlers' queries and
 * current_user's lookup (here), each sent with PQsendQueryParams and read
 * as its socket wakes. A handler returns DI_PENDING and finishes with
 * di_http_handled(); current_user is an asynchronous provider.
 *
 * Each request makes one statement per step: a read is one query (the
 * page and its total together), a write one INSERT/UPDATE/DELETE ...
 * RETURNING, an import one INSERT ... SELECT over the validated items; an
 * Idempotency-Key adds its claim and the kept answer, in the same
 * transaction, as app.c does.
 */
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

/* ---- the repository: the request's session and the loop ---- */

typedef struct notes_arepo {
    PGconn *conn;
    struct event_base *base;
} notes_arepo;

static int arepo_create(const di_build *b, void **out)
{
    notes_arepo *r = b->mem;
    r->conn = b->deps[0];
    r->base = b->deps[1];
    *out = r;
    return 0;
}

static const char *const arepo_roles[] = { "session:PGconn",
                                           "event_base:event_base", NULL };
const di_kind_desc notes_async_repo_kind = {
    .name = "notes.async_repo", .type = "notes_arepo", .lifetime = "request",
    .roles = arepo_roles, .create = arepo_create,
    .size = sizeof(notes_arepo),
    .summary = "notes and users in PostgreSQL, queried on the loop",
};

/* ---- one statement at a time, on the loop ---- */

typedef struct job job;
/* What a step does with its statement's result: res (tuples or command
 * OK), or NULL with the message in j->err. res is cleared after it. */
typedef void (*job_step)(job *j, PGresult *res);

/* A request's (or current_user's) work. */
struct job {
    notes_arepo *repo;
    struct event *ev;
    job_step next;
    char err[256];
    /* a handler's */
    di_http_req *r;
    notes_log *log;
    int64_t owner, id, offset, limit;
    bool debug;
    const void *input;     /* the route's validated input (notes_routes:
                              its last dependency, when it has one) */
    const char *title, *body;
    char *items;           /* import: [{"t","b"}...] as JSON text */
    int count;
    bool import;
    const char *key;       /* Idempotency-Key, or NULL */
    char hash[17];
};

static void job_io(evutil_socket_t fd, short what, void *arg);

static void job_failed(job *j, const char *msg)
{
    snprintf(j->err, sizeof j->err, "%s", msg && *msg ? msg : "unknown");
    j->err[strcspn(j->err, "\n")] = '\0';
    j->next(j, NULL);
}

/* Wait for the socket: readable, and writable while libpq has more to
 * send (flushed). */
static void job_wait(job *j, int flushed)
{
    PGconn *c = j->repo->conn;
    short what = (short)(EV_READ | (flushed ? EV_WRITE : 0));
    if (j->ev)
        event_free(j->ev);
    j->ev = event_new(j->repo->base, PQsocket(c), what, job_io, j);
    if (!j->ev || event_add(j->ev, NULL))
        job_failed(j, "out of memory");
}

/* Send sql with its text params; step gets its result. A statement that
 * cannot be sent calls step at once, with its message. */
static void job_send(job *j, const char *sql, int n,
                     const char *const *params, job_step step)
{
    PGconn *c = j->repo->conn;
    j->next = step;
    int f = PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0)
                ? PQflush(c) : -1;
    if (f < 0)
        job_failed(j, PQerrorMessage(c));
    else
        job_wait(j, f);
}

static void job_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    job *j = arg;
    PGconn *c = j->repo->conn;
    int f = 0;
    if (((what & EV_WRITE) && (f = PQflush(c)) < 0) ||
        ((what & EV_READ) && !PQconsumeInput(c))) {
        job_failed(j, PQerrorMessage(c));
        return;
    }
    if (PQisBusy(c)) {
        job_wait(j, f);
        return;
    }
    PGresult *res, *first = NULL;
    while ((res = PQgetResult(c))) {
        if (!first)
            first = res;
        else
            PQclear(res);
    }
    ExecStatusType st = first ? PQresultStatus(first) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        j->next(j, first);
    } else {
        const char *m = first ? PQresultErrorField(first,
                                                   PG_DIAG_MESSAGE_PRIMARY)
                              : NULL;
        job_failed(j, m ? m : PQerrorMessage(c));
    }
    PQclear(first);
}

/* ---- handlers: deps are repo, current_user, logger ---- */

static job *job_new(di_http_req *r, void *const *deps, void *data)
{
    job *j = talloc_zero(NULL, job);
    if (!j)
        return NULL;
    j->r = r;
    j->repo = deps[0];
    j->owner = ((user *)deps[1])->id;
    j->log = deps[2];
    j->debug = data != NULL;
    return j;
}

/* The handler finished with rc: answer, free the job. j is gone after. */
static void finish(job *j, int rc)
{
    di_http_req *r = j->r;
    if (j->debug)
        notes_debug_headers(r);
    if (j->ev)
        event_free(j->ev);
    talloc_free(j);
    di_http_handled(r, rc);
}

/* A handler that answered before any statement: rc, and no job left. */
static int early(job *j, int rc)
{
    if (j->debug)
        notes_debug_headers(j->r);
    talloc_free(j);
    return rc;
}

/* A job for a route on one note: its id from the path ("{id}", else 404
 * answered). 0 with *out, or the code to return. */
static int note_job(di_http_req *r, void *const *deps, void *data, job **out)
{
    job *j = *out = job_new(r, deps, data);
    if (!j)
        return DI_ENOMEM;
    int rc = notes_note_id(r, &j->id);
    return rc ? early(j, rc) : 0;
}

static void db_failed(job *j)
{
    finish(j, notes_db_error(j->r, j->log, j->err));
}

static const char *num(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

static note row(PGresult *res, int i, int col)
{
    return (note){ .id = atoll(PQgetvalue(res, i, col)),
                   .title = PQgetvalue(res, i, col + 1),
                   .body = PQgetvalue(res, i, col + 2),
                   .created_at = PQgetvalue(res, i, col + 3) };
}

/* One note in res: 200 with it, or 404. */
static void one_note(job *j, PGresult *res)
{
    if (!res)
        db_failed(j);
    else if (PQntuples(res) != 1)
        finish(j, notes_send_error(j->r, 404, "note %lld not found",
                                   (long long)j->id));
    else {
        note n = row(res, 0, 0);
        finish(j, notes_send_json(j->r, 200, notes_note_json(&n)));
    }
}

static int get_note(di_http_req *r, void *const *deps, void *data)
{
    job *j;
    int rc = note_job(r, deps, data, &j);
    if (rc)
        return rc;
    char o[24], i[24];
    const char *p[] = { num(o, j->owner), num(i, j->id) };
    job_send(j, "SELECT id, title, body, created_at FROM notes WHERE "
             "owner = $1 AND id = $2", 2, p, one_note);
    return DI_PENDING;
}

/* The page and the total, in one row per note (one row with no note when
 * the page is empty). */
static void page(job *j, PGresult *res)
{
    if (!res) {
        db_failed(j);
        return;
    }
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "items");
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (!PQgetisnull(res, i, 1)) {
            note x = row(res, i, 1);
            cJSON_AddItemToArray(arr, notes_note_json(&x));
        }
    cJSON_AddNumberToObject(o, "offset", (double)j->offset);
    cJSON_AddNumberToObject(o, "limit", (double)j->limit);
    cJSON_AddNumberToObject(o, "total",
                            n ? (double)atoll(PQgetvalue(res, 0, 0)) : 0);
    finish(j, notes_send_json(j->r, 200, o));
}

static int list_notes(di_http_req *r, void *const *deps, void *data)
{
    job *j = job_new(r, deps, data);
    if (!j)
        return DI_ENOMEM;
    j->input = deps[3];
    const page_in *want = j->input;
    j->offset = want->offset;
    j->limit = want->limit;
    char o[24], l[24], f[24];
    const char *p[] = { num(o, j->owner), num(l, j->limit),
                        num(f, j->offset) };
    job_send(j, "SELECT t.total, n.id, n.title, n.body, n.created_at FROM "
             "(SELECT count(*) AS total FROM notes WHERE owner = $1) t "
             "LEFT JOIN LATERAL (SELECT id, title, body, created_at FROM "
             "notes WHERE owner = $1 ORDER BY id LIMIT $2 OFFSET $3) n "
             "ON true ORDER BY n.id", 3, p, page);
    return DI_PENDING;
}

static int update_note(di_http_req *r, void *const *deps, void *data)
{
    job *j = job_new(r, deps, data);
    if (!j)
        return DI_ENOMEM;
    j->input = deps[3];
    int rc = notes_note_id(r, &j->id);
    if (rc)
        return early(j, rc);
    const note_in *in = j->input;
    char o[24], i[24];
    const char *p[] = { in->title, in->body, num(o, j->owner), num(i, j->id) };
    job_send(j, "UPDATE notes SET title = $1, body = $2 WHERE owner = $3 "
             "AND id = $4 RETURNING id, title, body, created_at", 4, p,
             one_note);
    return DI_PENDING;
}

static void deleted(job *j, PGresult *res)
{
    if (!res)
        db_failed(j);
    else if (atoi(PQcmdTuples(res)) == 0)
        finish(j, notes_send_error(j->r, 404, "note %lld not found",
                                   (long long)j->id));
    else
        finish(j, di_http_respond(j->r, 204, NULL, NULL, 0));
}

static int delete_note(di_http_req *r, void *const *deps, void *data)
{
    job *j;
    int rc = note_job(r, deps, data, &j);
    if (rc)
        return rc;
    char o[24], i[24];
    const char *p[] = { num(o, j->owner), num(i, j->id) };
    job_send(j, "DELETE FROM notes WHERE owner = $1 AND id = $2", 2, p,
             deleted);
    return DI_PENDING;
}

/* ---- writes with an Idempotency-Key: claim, write, keep ---- */

static void kept(job *j, PGresult *res)
{
    if (res && atoi(PQcmdTuples(res)) != 1)
        snprintf(j->err, sizeof j->err, "idempotency key '%s' vanished",
                 j->key);
    if (!res || atoi(PQcmdTuples(res)) != 1)
        db_failed(j);
    else
        finish(j, 0);
}

/* The write answered: keep the answer with the key it claimed. */
static void written(job *j, int rc)
{
    if (rc || !j->key || di_http_status(j->r) >= 300) {
        finish(j, rc);
        return;
    }
    const char *location = "", *name, *value;
    for (size_t i = 0; di_http_response_header(j->r, i, &name, &value); i++)
        if (strcmp(name, "Location") == 0)
            location = value;
    char o[24], st[24];
    const char *p[] = { num(st, di_http_status(j->r)), location,
                        di_http_response(j->r, NULL), num(o, j->owner),
                        j->key };
    job_send(j, "UPDATE idempotency SET status = $1, location = $2, body = "
             "$3 WHERE owner = $4 AND key = $5", 5, p, kept);
}

static void created(job *j, PGresult *res)
{
    if (!res) {
        db_failed(j);
        return;
    }
    note n = row(res, 0, 0);
    char loc[48];
    snprintf(loc, sizeof loc, "/notes/%lld", (long long)n.id);
    di_http_add_header(j->r, "Location", loc);
    written(j, notes_send_json(j->r, 201, notes_note_json(&n)));
}

static void imported(job *j, PGresult *res)
{
    if (!res) {
        db_failed(j);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "imported", j->count);
    written(j, notes_send_json(j->r, 201, o));
}

/* The write itself: one note, or every item of an import in order. */
static void write_notes(job *j)
{
    char o[24];
    if (!j->import) {
        const char *p[] = { num(o, j->owner), j->title, j->body };
        job_send(j, "INSERT INTO notes (owner, title, body) VALUES ($1, $2, "
                 "$3) RETURNING id, title, body, created_at", 3, p, created);
        return;
    }
    const char *p[] = { num(o, j->owner), j->items };
    job_send(j, "INSERT INTO notes (owner, title, body) SELECT $1, e.v->>'t', "
             "e.v->>'b' FROM json_array_elements($2::json) WITH ORDINALITY "
             "AS e(v, i) ORDER BY e.i", 2, p, imported);
}

/* The first request made with the key: replay its answer, or 422. */
static void first_answer(job *j, PGresult *res)
{
    if (res && PQntuples(res) != 1)
        snprintf(j->err, sizeof j->err, "idempotency key '%s' vanished",
                 j->key);
    if (!res || PQntuples(res) != 1) {
        db_failed(j);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), j->hash) != 0) {
        finish(j, notes_send_error(j->r, 422, "Idempotency-Key '%s' was used "
                                   "for another request", j->key));
        return;
    }
    notes_answer first = { .hash = PQgetvalue(res, 0, 0),
                           .status = atoi(PQgetvalue(res, 0, 1)),
                           .location = PQgetvalue(res, 0, 2),
                           .body = PQgetvalue(res, 0, 3) };
    finish(j, notes_replay(j->r, &first));
}

/* A concurrent claim of the same key waits on the unique index until the
 * first transaction ends (as in app.c). */
static void claimed(job *j, PGresult *res)
{
    if (!res) {
        db_failed(j);
        return;
    }
    if (atoi(PQcmdTuples(res)) == 1) {
        write_notes(j);
        return;
    }
    char o[24];
    const char *p[] = { num(o, j->owner), j->key };
    job_send(j, "SELECT hash, status, location, body FROM idempotency WHERE "
             "owner = $1 AND key = $2", 2, p, first_answer);
}

/* Claim the request's key first, when it has one. */
static int write_once(job *j)
{
    j->key = di_http_header(j->r, "Idempotency-Key");
    if (!j->key) {
        write_notes(j);
        return DI_PENDING;
    }
    if (!notes_key_ok(j->key))
        return early(j, notes_send_error(j->r, 400, "Idempotency-Key: 1 to "
                                         "200 visible ASCII characters"));
    notes_request_hash(j->r, j->hash);
    char o[24];
    const char *p[] = { num(o, j->owner), j->key, j->hash };
    job_send(j, "INSERT INTO idempotency (owner, key, hash) VALUES ($1, $2, "
             "$3) ON CONFLICT DO NOTHING", 3, p, claimed);
    return DI_PENDING;
}

static int create_note(di_http_req *r, void *const *deps, void *data)
{
    job *j = job_new(r, deps, data);
    if (!j)
        return DI_ENOMEM;
    j->input = deps[3];
    const note_in *in = j->input;
    j->title = in->title;
    j->body = in->body;
    return write_once(j);
}

/* All or nothing: every item was checked before the handler runs (the
 * input "body:note_in[]"); they are written by one statement. */
static int import_notes(di_http_req *r, void *const *deps, void *data)
{
    job *j = job_new(r, deps, data);
    if (!j)
        return DI_ENOMEM;
    j->input = deps[3];
    j->import = true;
    const di_model_list *l = j->input;
    const note_in *in = l->items;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; items && i < l->n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "t", in[i].title);
        cJSON_AddStringToObject(x, "b", in[i].body);
        cJSON_AddItemToArray(items, x);
    }
    j->count = (int)l->n;
    char *text = items ? cJSON_PrintUnformatted(items) : NULL;
    cJSON_Delete(items);
    if (!text)
        return early(j, DI_ENOMEM);
    j->items = talloc_strdup(j, text);
    cJSON_free(text);
    return j->items ? write_once(j) : early(j, DI_ENOMEM);
}

/* ---- current_user, asynchronously ---- */

typedef struct auser {
    user u;            /* the instance */
    job j;
    di_pending *p;
    di_http_req *r;
} auser;

static void found(job *j, PGresult *res)
{
    auser *a = (auser *)((char *)j - offsetof(auser, j));
    di_pending *p = a->p;
    if (j->ev)
        event_free(j->ev);
    j->ev = NULL;
    if (!res) {
        di_pending_fail(p, DI_EPROVIDER, "user lookup: %s", j->err);
    } else if (PQntuples(res) != 1) {
        di_http_add_header(a->r, "WWW-Authenticate",
                           "Bearer error=\"invalid_token\"");
        di_pending_fail(p, DI_HTTP_ERROR(401), "unknown token");
    } else {
        a->u.id = atoll(PQgetvalue(res, 0, 0));
        a->u.name = talloc_strdup(a, PQgetvalue(res, 0, 1));
        if (a->u.name)
            di_pending_done(p, &a->u);
        else
            di_pending_fail(p, DI_ENOMEM, "out of memory");
    }
}

/* Cancelled (the request ended while the lookup was on the wire): the
 * watcher goes; the session's dispose reads what is left of the answer
 * before its ROLLBACK. */
static void lookup_cancelled(di_pending *p, void *arg)
{
    (void)p;
    auser *a = arg;
    if (a->j.ev)
        event_free(a->j.ev);
    a->j.ev = NULL;
}

static int auser_create(const di_build *b, void **out)
{
    (void)out;
    auser *a = b->mem;
    a->r = b->deps[0];
    const char *auth = di_http_header(a->r, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        di_http_add_header(a->r, "WWW-Authenticate", "Bearer");
        return di_fail(b, DI_HTTP_ERROR(401), "missing bearer token");
    }
    if (!(a->p = di_pending_take(b)))
        return di_fail(b, DI_EINVAL, "'%s' looks the user up on the loop: "
                       "resolve it with di_resolve_async()", b->name);
    di_pending_on_cancel(a->p, lookup_cancelled, a);
    a->j.repo = b->deps[1];
    const char *p[] = { auth + 7 };
    job_send(&a->j, "SELECT id, name FROM users WHERE token = $1", 1, p,
             found);
    return DI_PENDING;
}

/* The migration's consumer: the read-write repository. */
static const char *const migrate_deps[] = { "repo:notes_arepo", NULL };

int notes_wire_async(di_container *c)
{
    static const char *const user_deps[] = { "http_request:di_http_req",
                                             "repo:notes_arepo", NULL };
    static const char *const read_deps[] = { "http_request:di_http_req",
                                             "read_repo:notes_arepo", NULL };
    int rc = di_kind_register(c, &notes_async_repo_kind);
    if (!rc)
        rc = di_provide(c, &(di_provider_desc){
            .name = "current_user", .type = "user", .lifetime = "request",
            .deps = user_deps, .create = auser_create,
            .size = sizeof(auser) });
    if (!rc)
        rc = di_provide(c, &(di_provider_desc){
            .name = "read_user", .type = "user", .lifetime = "request",
            .deps = read_deps, .create = auser_create,
            .size = sizeof(auser) });
    if (!rc)
        rc = di_async_provider(c, "current_user");
    if (!rc)
        rc = di_async_provider(c, "read_user");
    if (!rc)
        rc = di_consumer_add(c, &(di_consumer_desc){ .name = "notes.migrate",
            .level = "request", .deps = migrate_deps });
    if (!rc)
        rc = di_async_consumer(c, "notes.migrate");
    for (size_t i = 0; !rc && notes_routes[i].method; i++) {
        char name[64]; /* the routes' consumers */
        snprintf(name, sizeof name, "%s %s", notes_routes[i].method,
                 notes_routes[i].path);
        rc = di_async_consumer(c, name);
    }
    return rc;
}

/* ---- routes ---- */

static int health(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 200, "application/json", "{\"status\":\"ok\"}",
                           15);
}

int notes_register_routes_async(di_http *h, const notes_config *cfg)
{
    static const char *const writes[] = { "repo:notes_arepo",
                                          "current_user:user", "logger", NULL };
    static const char *const reads[] = { "read_repo:notes_arepo",
                                         "read_user:user", "logger", NULL };
    static const di_http_handler fns[] = { create_note, list_notes,
                                           get_note, update_note,
                                           delete_note, import_notes };
    for (size_t i = 0; notes_routes[i].method; i++) {
        const char *deps[6];
        notes_route_deps(notes_routes[i].write ? writes : reads, 3,
                         notes_routes[i].input, deps);
        /* data: non-NULL adds the --debug headers */
        int rc = di_http_route(h, &(di_http_route_desc){
            .method = notes_routes[i].method, .path = notes_routes[i].path,
            .deps = deps, .summary = notes_routes[i].summary,
            .responses = notes_routes[i].responses,
            .handler = fns[i], .data = cfg->debug ? (void *)cfg : NULL });
        if (rc)
            return rc;
    }
    return di_http_route(h, &(di_http_route_desc){
        .method = "GET", .path = "/health", .handler = health,
        .summary = "Is the server up?" });
}

/* ---- the migration, on the loop ---- */

typedef struct migration {
    di_container *c;
    di_scope *s;
    void *deps[1];
    int rc;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} migration;

static void migrated(di_scope *s, int rc, void *arg)
{
    (void)s;
    migration *m = arg;
    if (!m->rc)
        m->rc = rc;
    if (rc)
        fprintf(stderr, "notes: %s\n", di_error_message(di_scope_error(s)));
    di_scope_free(m->s);
    pthread_mutex_lock(&m->lock);
    m->done = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* The session has begun: the tables (blocking: start-up and reloads only),
 * then COMMIT on the loop. */
static void migrate_ready(di_scope *s, int rc, void *arg)
{
    migration *m = arg;
    if (rc) {
        fprintf(stderr, "notes: %s\n", di_error_message(di_scope_error(s)));
    } else {
        notes_repo sync;
        notes_postgres_repo_init(&sync, ((notes_arepo *)m->deps[0])->conn);
        if ((rc = sync.migrate(&sync)))
            fprintf(stderr, "notes: migration failed: %s\n", sync.err);
    }
    m->rc = rc;
    int settle = di_scope_settle_async(s, rc, migrated, m);
    if (settle != DI_PENDING)
        migrated(s, settle, m);
}

static void migrate_start(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    migration *m = arg;
    int rc = di_scope_begin(m->c, NULL, "request", NULL, &m->s);
    if (rc) {
        fprintf(stderr, "notes: migration: %s\n", di_strerror(rc));
        m->rc = rc;
        pthread_mutex_lock(&m->lock);
        m->done = true;
        pthread_cond_signal(&m->cond);
        pthread_mutex_unlock(&m->lock);
        return;
    }
    rc = di_resolve_async(m->s, "notes.migrate", m->deps, 1, migrate_ready, m);
    if (rc != DI_PENDING)
        migrate_ready(m->s, rc, m);
}

int notes_migrate_async(di_container *c, struct event_base *base, int running)
{
    migration m = { .c = c };
    pthread_mutex_init(&m.lock, NULL);
    pthread_cond_init(&m.cond, NULL);
    if (!running) {
        migrate_start(-1, 0, &m);
        while (!m.done)
            event_base_loop(base, EVLOOP_ONCE);
    } else if (event_base_once(base, -1, EV_TIMEOUT, migrate_start, &m,
                               NULL) == 0) {
        pthread_mutex_lock(&m.lock);
        while (!m.done)
            pthread_cond_wait(&m.cond, &m.lock);
        pthread_mutex_unlock(&m.lock);
    } else {
        m.rc = DI_ENOMEM;
    }
    pthread_cond_destroy(&m.cond);
    pthread_mutex_destroy(&m.lock);
    return m.rc;
}
