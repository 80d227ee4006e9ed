/*
 * repo_sqlite.c — the notes repository on a SQLite session.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

static int fail(notes_repo *r)
{
    snprintf(r->err, sizeof r->err, "%s", sqlite3_errmsg(r->conn));
    return DI_EPROVIDER;
}

/* Prepare sql and bind the int64 (i) and text (t) arguments in order. */
static sqlite3_stmt *prepare(notes_repo *r, const char *sql, const char *types,
                             ...)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->conn, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++)
        if (types[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
                              SQLITE_TRANSIENT);
    va_end(ap);
    return st;
}

static char *text(void *mem, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return talloc_strdup(mem, t ? (const char *)t : "");
}

static int sq_migrate(notes_repo *r)
{
    static const char sql[] =
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, "
        "  name TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE);"
        "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  owner INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL,"
        "  body TEXT NOT NULL,"
        "  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ')));"
        "CREATE INDEX IF NOT EXISTS notes_owner ON notes (owner, id);"
        "CREATE TABLE IF NOT EXISTS idempotency (owner INTEGER NOT NULL "
        "  REFERENCES users(id), key TEXT NOT NULL, hash TEXT NOT NULL,"
        "  status INTEGER NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '',"
        "  body TEXT NOT NULL DEFAULT '', PRIMARY KEY (owner, key));"
        "INSERT OR IGNORE INTO users (name, token) VALUES "
        "  ('alice', 'alice-token'), ('bob', 'bob-token');";
    return sqlite3_exec(r->conn, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                     : fail(r);
}

/* Step a query expected to return one row: 0 with the row ready (the
 * caller finalizes), DI_ENOTFOUND or a failure (finalized here). */
static int one_row(notes_repo *r, sqlite3_stmt *st)
{
    if (!st)
        return fail(r);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        return 0;
    int rc = s == SQLITE_DONE ? DI_ENOTFOUND : fail(r);
    sqlite3_finalize(st);
    return rc;
}

/* A note from columns id, title, body, created_at. */
static void note_row(void *mem, sqlite3_stmt *st, note *x)
{
    x->id = sqlite3_column_int64(st, 0);
    x->title = text(mem, st, 1);
    x->body = text(mem, st, 2);
    x->created_at = text(mem, st, 3);
}

static int sq_user(notes_repo *r, void *mem, const char *token, user *out)
{
    sqlite3_stmt *st = prepare(r, "SELECT id, name FROM users WHERE token = ?",
                               "t", token);
    int rc = one_row(r, st);
    if (rc)
        return rc;
    out->id = sqlite3_column_int64(st, 0);
    out->name = text(mem, st, 1);
    sqlite3_finalize(st);
    return 0;
}

static int sq_create(notes_repo *r, int64_t owner, const char *title,
                     const char *body, int64_t *id)
{
    sqlite3_stmt *st = prepare(r, "INSERT INTO notes (owner, title, body) "
                               "VALUES (?, ?, ?)", "itt", owner, title, body);
    if (!st)
        return fail(r);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return fail(r);
    *id = sqlite3_last_insert_rowid(r->conn);
    return 0;
}

static int sq_list(notes_repo *r, void *mem, int64_t owner, int64_t offset,
                   int64_t limit, note **out, size_t *n, int64_t *total)
{
    sqlite3_stmt *st = prepare(r, "SELECT count(*) FROM notes WHERE owner = ?",
                               "i", owner);
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail(r);
    }
    *total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = prepare(r, "SELECT id, title, body, created_at FROM notes WHERE "
                 "owner = ? ORDER BY id LIMIT ? OFFSET ?", "iii", owner, limit,
                 offset);
    if (!st)
        return fail(r);
    *out = talloc_zero_array(mem, note, (unsigned)limit + 1); /* 1 to 100 */
    *n = 0;
    int s;
    while (*out && (s = sqlite3_step(st)) == SQLITE_ROW)
        note_row(mem, st, &(*out)[(*n)++]);
    sqlite3_finalize(st);
    return *out && s == SQLITE_DONE ? 0 : fail(r);
}

static int sq_get(notes_repo *r, void *mem, int64_t owner, int64_t id,
                  note *out)
{
    sqlite3_stmt *st = prepare(r, "SELECT id, title, body, created_at FROM "
                               "notes WHERE owner = ? AND id = ?", "ii", owner,
                               id);
    int rc = one_row(r, st);
    if (rc)
        return rc;
    note_row(mem, st, out);
    sqlite3_finalize(st);
    return 0;
}

static int changed(notes_repo *r, sqlite3_stmt *st)
{
    if (!st)
        return fail(r);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return fail(r);
    return sqlite3_changes(r->conn) ? 0 : DI_ENOTFOUND;
}

static int sq_update(notes_repo *r, int64_t owner, int64_t id,
                     const char *title, const char *body)
{
    return changed(r, prepare(r, "UPDATE notes SET title = ?, body = ? WHERE "
                              "owner = ? AND id = ?", "ttii", title, body,
                              owner, id));
}

static int sq_remove(notes_repo *r, int64_t owner, int64_t id)
{
    return changed(r, prepare(r, "DELETE FROM notes WHERE owner = ? AND id = ?",
                              "ii", owner, id));
}

static int sq_claim(notes_repo *r, void *mem, int64_t owner, const char *key,
                    const char *hash, notes_answer *first)
{
    sqlite3_stmt *st = prepare(r, "INSERT OR IGNORE INTO idempotency (owner, "
                               "key, hash) VALUES (?, ?, ?)", "itt", owner,
                               key, hash);
    if (!st)
        return fail(r);
    int s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE)
        return fail(r);
    if (sqlite3_changes(r->conn) == 1)
        return 0;
    st = prepare(r, "SELECT hash, status, location, body FROM idempotency "
                 "WHERE owner = ? AND key = ?", "it", owner, key);
    int rc = one_row(r, st);
    if (rc)
        return rc == DI_ENOTFOUND ? fail(r) : rc;
    first->hash = text(mem, st, 0);
    first->status = sqlite3_column_int(st, 1);
    first->location = text(mem, st, 2);
    first->body = text(mem, st, 3);
    sqlite3_finalize(st);
    return DI_EEXIST;
}

static int sq_keep(notes_repo *r, int64_t owner, const char *key, int status,
                   const char *location, const char *body)
{
    sqlite3_stmt *st = prepare(r, "UPDATE idempotency SET status = ?, "
                               "location = ?, body = ? WHERE owner = ? AND "
                               "key = ?", "ittit", (int64_t)status, location,
                               body, owner, key);
    int rc = changed(r, st);
    return rc == DI_ENOTFOUND ? fail(r) : rc;
}

void notes_sqlite_repo_init(notes_repo *r, void *conn)
{
    *r = (notes_repo){ .migrate = sq_migrate, .user_by_token = sq_user,
                       .create = sq_create, .list = sq_list, .get = sq_get,
                       .update = sq_update, .remove = sq_remove,
                       .claim_key = sq_claim, .keep_answer = sq_keep,
                       .conn = conn };
}

static int create(const di_build *b, void **out)
{
    notes_sqlite_repo_init(b->mem, b->deps[0]);
    *out = b->mem;
    return 0;
}

static const char *const roles[] = { "session:sqlite3", NULL };
const di_kind_desc notes_sqlite_repo_kind = {
    .name = "notes.sqlite_repo", .type = "notes_repo", .lifetime = "request",
    .roles = roles, .create = create, .size = sizeof(notes_repo),
    .summary = "notes and users in SQLite",
};
