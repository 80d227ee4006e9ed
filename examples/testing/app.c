/*
 * app.c — the application's own wiring. The real "db" is an in-memory list;
 * in production it would be the SQLite or PostgreSQL provider.
 */
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "app.h"

struct memdb { int rows, pending; };

static int mem_insert(notes_db *db, const char *text)
{
    struct memdb *m = db->impl;
    m->pending++;
    return text && *text ? 0 : -1;
}
static int mem_commit(notes_db *db)
{
    struct memdb *m = db->impl;
    m->rows += m->pending;
    m->pending = 0;
    return 0;
}
static int mem_rollback(notes_db *db)
{
    ((struct memdb *)db->impl)->pending = 0;
    return 0;
}

static int db_create(const di_build *b, void **out)
{
    notes_db *db = talloc_zero(b->mem, notes_db);
    struct memdb *m = talloc_zero(b->mem, struct memdb);
    if (!db || !m)
        return DI_ENOMEM;
    *db = (notes_db){ mem_insert, mem_commit, mem_rollback, m };
    *out = db;
    return 0;
}

/* The per-request unit of work: commit on success, roll back on failure. */
static int tx_create(const di_build *b, void **out)
{
    *out = b->deps[0];
    return 0;
}

static int tx_dispose(const di_build *b, void *inst, int outcome)
{
    notes_db *db = inst;
    return outcome == DI_SUCCESS ? db->commit(db) : db->rollback(db);
}

void app_register(di_container *c)
{
    static const char *const tx_deps[] = { "db", NULL };
    static const char *const handler_deps[] = { "tx", NULL };
    di_provide(c, &(di_provider_desc){ .name = "db", .type = "notes_db",
        .lifetime = "singleton", .create = db_create });
    di_provide(c, &(di_provider_desc){ .name = "tx", .type = "notes_db",
        .lifetime = "request", .deps = tx_deps,
        .create = tx_create, .dispose = tx_dispose });
    di_consumer_add(c, &(di_consumer_desc){ .name = "POST /notes",
        .level = "request", .deps = handler_deps });
}

int app_post_note(di_scope *req, const char *text)
{
    void *deps[1];
    if (di_resolve(req, "POST /notes", deps, 1) != 0)
        return 503;
    notes_db *tx = deps[0];
    return tx->insert(tx, text) == 0 ? 201 : 400;
}
