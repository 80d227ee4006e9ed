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

/* A repository on a SQLite connection, without libdi (the hand-wired
 * benchmark server uses it). */
void notes_sqlite_repo_init(notes_repo *r, void *conn);
/* A note as JSON (cJSON *, the caller deletes it). */
struct cJSON *notes_note_json(const note *n);

/* Kinds, for notes_register_kinds(). */
extern const di_kind_desc notes_sqlite_repo_kind;
extern const di_kind_desc notes_postgres_repo_kind;

#endif
