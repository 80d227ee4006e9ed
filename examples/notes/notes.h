/*
 * notes.h — the notes service's parts, shared by the HTTP server
 * (server.c) and the export job (examples/job): the repository interface,
 * its two implementations as provider kinds, and the registration of the
 * application's providers and routes.
 *
 * Wiring (which database, which repository) comes from a config file
 * (notes.json: SQLite; notes-postgres.json: PostgreSQL); what the code
 * registers is the same either way.
 */
#ifndef NOTES_H
#define NOTES_H

#include <stdbool.h>
#include <stdint.h>

#include <di.h>

/* Where notes.json and the plugins are (the build sets both). The config
 * provides "db" (the pool), "session" and "repo" (a read-write transaction
 * and the repository on it: POST, PUT, DELETE) and "read_session" and
 * "read_repo" (a read transaction: GET). */
#ifndef NOTES_DIR
#define NOTES_DIR "."
#endif
#ifndef NOTES_PLUGIN_DIR
#define NOTES_PLUGIN_DIR "plugins"
#endif

typedef struct note {
    int64_t id;
    const char *title, *body, *created_at;
} note;

typedef struct user {
    int64_t id;
    const char *name;
} user;

/* The first answer to a request made with an Idempotency-Key. */
typedef struct notes_answer {
    const char *hash;      /* of the request: method, path and body */
    int status;
    const char *location;  /* "" when it had none */
    const char *body;
} notes_answer;

/* A repository on one transaction (the request's session). Functions return
 * 0, DI_ENOTFOUND, or DI_EPROVIDER with the database's message in err.
 * Strings they return are allocated on mem. */
typedef struct notes_repo {
    int (*migrate)(struct notes_repo *r);
    int (*user_by_token)(struct notes_repo *r, void *mem, const char *token,
                         user *out);
    int (*create)(struct notes_repo *r, int64_t owner, const char *title,
                  const char *body, int64_t *id);
    int (*list)(struct notes_repo *r, void *mem, int64_t owner,
                int64_t offset, int64_t limit, note **out, size_t *n,
                int64_t *total);
    int (*get)(struct notes_repo *r, void *mem, int64_t owner, int64_t id,
               note *out);
    int (*update)(struct notes_repo *r, int64_t owner, int64_t id,
                  const char *title, const char *body);
    int (*remove)(struct notes_repo *r, int64_t owner, int64_t id);
    /* Claim the owner's idempotency key for a request of this hash, in this
     * transaction (a concurrent claim of the same key waits for it): 0 when
     * the key was free, DI_EEXIST with the first request's hash and answer
     * in *first when it was used before (a committed claim). */
    int (*claim_key)(struct notes_repo *r, void *mem, int64_t owner,
                     const char *key, const char *hash, notes_answer *first);
    /* Keep the answer of the request that claimed the key, in the same
     * transaction as its writes. */
    int (*keep_answer)(struct notes_repo *r, int64_t owner, const char *key,
                       int status, const char *location, const char *body);
    void *conn;      /* the session: sqlite3 * or PGconn * */
    char err[256];
} notes_repo;

/* The logger (singleton "logger"). */
typedef struct notes_log notes_log;
void notes_log_printf(notes_log *l, const char *fmt, ...) DI_PRINTF(2, 3);

/* Register the kinds "notes.sqlite_repo" and "notes.postgres_repo". */
int notes_register_kinds(di_container *c);
/* The program's settings: the value provider "config" (type
 * "notes_config"), owned by the program, alive as long as the container. */
typedef struct notes_config {
    const char *file;      /* the wiring config */
    const char *address;
    int port;
    int quiet;             /* no access log, no logger output */
    int debug;             /* each response carries X-DI-Memory: what its
                              request scope held (di_scope_memory, JSON) */
} notes_config;

/* Register "config" (cfg) and "logger" (a singleton that needs config). */
int notes_register_logger(di_container *c, notes_config *cfg);
/* Register "current_user" and "read_user": the user whose bearer token the
 * HTTP request carries, looked up through "repo" (write routes) and
 * "read_repo" (read routes: a read transaction, no write lock). */
int notes_register_current_user(di_container *c);
/* Register the routes on router h; cfg (kept) says whether to debug. */
int notes_register_routes(di_http *h, const notes_config *cfg);
/* Create the tables and the demo users (alice-token, bob-token) in one
 * request scope under parent (NULL: the root). 0 or an error printed to
 * stderr. */
int notes_migrate(di_container *c, di_scope *parent);

/* ---- answers.c: what both sets of handlers share ---- */

struct cJSON;
struct event_base;

/* Respond with the JSON (consumed: deleted) and status; 0 or DI_ENOMEM. */
int notes_send_json(di_http_req *r, int status, struct cJSON *j);
/* Answer {"error": message}; returns DI_HTTP_ERROR(status), the code that
 * fails the request (its transaction rolls back). */
int notes_send_error(di_http_req *r, int status, const char *fmt, ...)
    DI_PRINTF(3, 4);
/* A database failure: err logged with the request, 500 answered. */
int notes_db_error(di_http_req *r, notes_log *log, const char *err);
/* "{id}" as a positive integer (canonical decimal), or a 404 sent. */
int notes_note_id(di_http_req *r, int64_t *id);
/* FNV-1a over the method, the path and the body, as 16 hex digits. */
void notes_request_hash(di_http_req *r, char out[17]);
/* Is key an acceptable Idempotency-Key (1 to 200 visible ASCII)? */
bool notes_key_ok(const char *key);
/* Answer what the first request made with the key was answered. */
int notes_replay(di_http_req *r, const notes_answer *first);
/* The service's routes (besides GET /health), in the order app.c and
 * app_async.c give their handlers; write: the route needs the read-write
 * transaction ("repo", "current_user"), else the read one ("read_repo",
 * "read_user"). Ends with a NULL method. */
typedef struct notes_route {
    const char *method, *path;
    bool write;
    const char *input;  /* the validated input it also depends on (its
                           last dependency), or NULL */
    const char *summary;               /* for the API's document */
    const di_route_answer *responses;  /* its answers, documented */
} notes_route;
extern const notes_route notes_routes[];

/* The models of the service's inputs (di/model.h): a note's body
 * ("note_in": title 1 to 200 characters, required; body, "" by default)
 * and a page's query ("page": offset 0.., limit 1 to 100, 20 by default).
 * A handler gets them as its last dependency; what does not fit is
 * answered 422 before it runs. */
typedef struct note_in {
    const char *title, *body;
} note_in;
typedef struct page_in {
    int64_t offset, limit;
} page_in;
/* Register the models on c (every container: they are checked at seal):
 * the inputs' and, for the document, the answers' ("note", "note_page",
 * "imported", "error"). */
int notes_register_models(di_container *c);
/* The API's documentation (di/openapi.h): current_user and read_user are
 * the Bearer scheme; GET /openapi.json and GET /docs. */
int notes_register_docs(di_http *h);
/* A route's dependencies: the base list (without its NULL) and its input;
 * out has room for n + 2. */
void notes_route_deps(const char *const *base, size_t n, const char *input,
                      const char **out);

/* --debug: add X-DI-Memory and X-DI-Trace (what r's scope holds and
 * built so far). */
void notes_debug_headers(di_http_req *r);

/* A repository on a SQLite connection, without libdi (the hand-wired
 * benchmark server uses it). */
void notes_sqlite_repo_init(notes_repo *r, void *conn);
/* The same on a PostgreSQL connection (PGconn *). */
void notes_postgres_repo_init(notes_repo *r, void *conn);

/* ---- app_async.c: the service on an event loop (server.c --loop) ---- */

/* What every container of the loop server needs besides the config
 * (notes-async.json): the kind "notes.async_repo", "current_user" and
 * "read_user" looked up on the loop, the routes' consumers and
 * "notes.migrate" marked asynchronous. The container must have the value
 * "event_base" (the loop) and, for the marks, the routes (wired). */
int notes_wire_async(di_container *c);
/* Register the routes, whose handlers run their queries on the loop. */
int notes_register_routes_async(di_http *h, const notes_config *cfg);
/* notes_migrate() on the loop base: run it (running the loop here until
 * it finished) when running is 0, or have the loop's thread run it and
 * wait when another thread runs the loop. 0 or an error printed to
 * stderr. */
int notes_migrate_async(di_container *c, struct event_base *base,
                        int running);

/* A note as JSON (cJSON *, the caller deletes it). */
struct cJSON *notes_note_json(const note *n);

/* Kinds, for notes_register_kinds(). */
extern const di_kind_desc notes_sqlite_repo_kind;
extern const di_kind_desc notes_postgres_repo_kind;

#endif
