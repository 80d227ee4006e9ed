/*
 * repo_postgres.c — the notes repository on a PostgreSQL session (libpq).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

static int fail(notes_repo *r, PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(r->conn);
    snprintf(r->err, sizeof r->err, "%s", m && *m ? m : "unknown error");
    r->err[strcspn(r->err, "\n")] = '\0';
    PQclear(res);
    return DI_EPROVIDER;
}

/* Run sql with text parameters; the result, or NULL after fail(). */
static PGresult *run(notes_repo *r, const char *sql, int n,
                     const char *const *params)
{
    PGresult *res = PQexecParams(r->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    fail(r, res);
    return NULL;
}

static const char *num(char *buf, int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

/* The tables, created once: servers starting together on a fresh database
 * take turns (a transaction-scoped advisory lock, released at COMMIT), as
 * concurrent CREATE TABLE IF NOT EXISTS can still collide in the
 * catalogue. */
static int pg_migrate(notes_repo *r)
{
    static const char sql[] =
        "SELECT pg_advisory_xact_lock(hashtext('notes.migrate'));"
        "CREATE TABLE IF NOT EXISTS users (id BIGSERIAL PRIMARY KEY, "
        "  name TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE);"
        "CREATE TABLE IF NOT EXISTS notes (id BIGSERIAL PRIMARY KEY,"
        "  owner BIGINT NOT NULL REFERENCES users(id), title TEXT NOT NULL,"
        "  body TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT "
        "  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'));"
        "CREATE INDEX IF NOT EXISTS notes_owner ON notes (owner, id);"
        "CREATE TABLE IF NOT EXISTS idempotency (owner BIGINT NOT NULL "
        "  REFERENCES users(id), key TEXT NOT NULL, hash TEXT NOT NULL,"
        "  status INTEGER NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '',"
        "  body TEXT NOT NULL DEFAULT '', PRIMARY KEY (owner, key));"
        "INSERT INTO users (name, token) VALUES ('alice', 'alice-token'), "
        "  ('bob', 'bob-token') ON CONFLICT DO NOTHING;";
    PGresult *res = PQexec(r->conn, sql);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        return fail(r, res);
    PQclear(res);
    return 0;
}

static int pg_user(notes_repo *r, void *mem, const char *token, user *out)
{
    const char *p[] = { token };
    PGresult *res = run(r, "SELECT id, name FROM users WHERE token = $1", 1, p);
    if (!res)
        return DI_EPROVIDER;
    int rc = DI_ENOTFOUND;
    if (PQntuples(res) == 1) {
        out->id = atoll(PQgetvalue(res, 0, 0));
        out->name = talloc_strdup(mem, PQgetvalue(res, 0, 1));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static int pg_create(notes_repo *r, int64_t owner, const char *title,
                     const char *body, int64_t *id)
{
    char o[24];
    const char *p[] = { num(o, owner), title, body };
    PGresult *res = run(r, "INSERT INTO notes (owner, title, body) VALUES "
                        "($1, $2, $3) RETURNING id", 3, p);
    if (!res)
        return DI_EPROVIDER;
    *id = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static void row(void *mem, PGresult *res, int i, note *x)
{
    x->id = atoll(PQgetvalue(res, i, 0));
    x->title = talloc_strdup(mem, PQgetvalue(res, i, 1));
    x->body = talloc_strdup(mem, PQgetvalue(res, i, 2));
    x->created_at = talloc_strdup(mem, PQgetvalue(res, i, 3));
}

static int pg_list(notes_repo *r, void *mem, int64_t owner, int64_t offset,
                   int64_t limit, note **out, size_t *n, int64_t *total)
{
    char o[24], l[24], f[24];
    const char *p[] = { num(o, owner), num(l, limit), num(f, offset) };
    PGresult *res = run(r, "SELECT count(*) FROM notes WHERE owner = $1", 1, p);
    if (!res)
        return DI_EPROVIDER;
    *total = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = run(r, "SELECT id, title, body, created_at FROM notes WHERE "
              "owner = $1 ORDER BY id LIMIT $2 OFFSET $3", 3, p);
    if (!res)
        return DI_EPROVIDER;
    *n = (size_t)PQntuples(res);
    *out = talloc_zero_array(mem, note, (unsigned)*n + 1); /* at most the limit, 100 */
    for (size_t i = 0; *out && i < *n; i++)
        row(mem, res, (int)i, &(*out)[i]);
    PQclear(res);
    return *out ? 0 : DI_ENOMEM;
}

static int pg_get(notes_repo *r, void *mem, int64_t owner, int64_t id,
                  note *out)
{
    char o[24], i[24];
    const char *p[] = { num(o, owner), num(i, id) };
    PGresult *res = run(r, "SELECT id, title, body, created_at FROM notes "
                        "WHERE owner = $1 AND id = $2", 2, p);
    if (!res)
        return DI_EPROVIDER;
    int rc = PQntuples(res) == 1 ? 0 : DI_ENOTFOUND;
    if (!rc)
        row(mem, res, 0, out);
    PQclear(res);
    return rc;
}

static int changed(PGresult *res)
{
    if (!res)
        return DI_EPROVIDER;
    int rc = atoi(PQcmdTuples(res)) > 0 ? 0 : DI_ENOTFOUND;
    PQclear(res);
    return rc;
}

static int pg_update(notes_repo *r, int64_t owner, int64_t id,
                     const char *title, const char *body)
{
    char o[24], i[24];
    const char *p[] = { title, body, num(o, owner), num(i, id) };
    return changed(run(r, "UPDATE notes SET title = $1, body = $2 WHERE "
                       "owner = $3 AND id = $4", 4, p));
}

static int pg_remove(notes_repo *r, int64_t owner, int64_t id)
{
    char o[24], i[24];
    const char *p[] = { num(o, owner), num(i, id) };
    return changed(run(r, "DELETE FROM notes WHERE owner = $1 AND id = $2", 2,
                       p));
}

/* A concurrent claim of the same key waits on the unique index until the
 * first transaction ends; its answer is then read from a fresh snapshot
 * (read committed). */
static int pg_claim(notes_repo *r, void *mem, int64_t owner, const char *key,
                    const char *hash, notes_answer *first)
{
    char o[24];
    const char *p[] = { num(o, owner), key, hash };
    PGresult *res = run(r, "INSERT INTO idempotency (owner, key, hash) VALUES "
                        "($1, $2, $3) ON CONFLICT DO NOTHING", 3, p);
    if (!res)
        return DI_EPROVIDER;
    int claimed = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (claimed)
        return 0;
    res = run(r, "SELECT hash, status, location, body FROM idempotency WHERE "
              "owner = $1 AND key = $2", 2, p);
    if (!res)
        return DI_EPROVIDER;
    if (PQntuples(res) != 1) {
        snprintf(r->err, sizeof r->err, "idempotency key '%s' vanished", key);
        PQclear(res);
        return DI_EPROVIDER;
    }
    first->hash = talloc_strdup(mem, PQgetvalue(res, 0, 0));
    first->status = atoi(PQgetvalue(res, 0, 1));
    first->location = talloc_strdup(mem, PQgetvalue(res, 0, 2));
    first->body = talloc_strdup(mem, PQgetvalue(res, 0, 3));
    PQclear(res);
    return DI_EEXIST;
}

static int pg_keep(notes_repo *r, int64_t owner, const char *key, int status,
                   const char *location, const char *body)
{
    char o[24], st[24];
    const char *p[] = { num(st, status), location, body, num(o, owner), key };
    int rc = changed(run(r, "UPDATE idempotency SET status = $1, location = "
                         "$2, body = $3 WHERE owner = $4 AND key = $5", 5, p));
    if (rc == DI_ENOTFOUND)
        snprintf(r->err, sizeof r->err, "idempotency key '%s' vanished", key);
    return rc ? DI_EPROVIDER : 0;
}

void notes_postgres_repo_init(notes_repo *r, void *conn)
{
    *r = (notes_repo){ .migrate = pg_migrate, .user_by_token = pg_user,
                       .create = pg_create, .list = pg_list, .get = pg_get,
                       .update = pg_update, .remove = pg_remove,
                       .claim_key = pg_claim, .keep_answer = pg_keep,
                       .conn = conn };
}

static int create(const di_build *b, void **out)
{
    notes_postgres_repo_init(b->mem, b->deps[0]);
    *out = b->mem;
    return 0;
}

static const char *const roles[] = { "session:PGconn", NULL };
const di_kind_desc notes_postgres_repo_kind = {
    .name = "notes.postgres_repo", .type = "notes_repo", .lifetime = "request",
    .roles = roles, .create = create, .size = sizeof(notes_repo),
    .summary = "notes and users in PostgreSQL",
};
