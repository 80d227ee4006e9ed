/*
 * db.c — see db.h.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "fault.h" /* test builds: allocation failure injection */


int di__db_pool_check(const di_build *b)
{
    const di__db_ops *ops = b->data;
    return ops->check ? ops->check(b, di_params_struct(b)) : 0;
}

static void close_all(di__dbpool *p)
{
    for (size_t i = 0; i < p->pool.n; i++)
        if (p->pool.conns[i]) {
            p->ops->close(p->pool.conns[i]);
            p->pool.conns[i] = NULL;
        }
}

int di__db_pool_create(const di_build *b, void **out)
{
    di__dbpool *p = b->mem;
    p->ops = b->data;
    p->cfg = di_params_struct(b);
    p->name = talloc_strdup(b->mem, b->name);
    const di__db_pool_cfg *cfg = p->cfg; /* its first member */
    int rc;
    if (!p->name || di__pool_init(&p->pool, b->mem, (size_t)cfg->size,
                                  (unsigned)cfg->checkout_timeout_ms))
        return di_fail(b, DI_ENOMEM, "cannot set up a pool of %lld",
                       (long long)cfg->size);
    for (size_t i = 0; i < p->pool.n; i++)
        if ((rc = p->ops->open(b, p->cfg, &p->pool.conns[i]))) {
            close_all(p);
            di__pool_destroy(&p->pool);
            return rc;
        }
    *out = p;
    return 0;
}

int di__db_pool_dispose(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    di__dbpool *p = inst;
    close_all(p);
    di__pool_destroy(&p->pool);
    return 0;
}

const char *di__db_begin_sql(const di_build *b)
{
    const di__db_ops *ops = b->data;
    const di__db_session_cfg *cfg = di_params_struct(b);
    size_t i = 0;
    /* the model allowed only these */
    while (ops->modes[i + 1] && strcmp(ops->modes[i], cfg->begin) != 0)
        i++;
    return ops->mode_sql[i];
}

/* Open the slot's connection again (it was broken or closed). */
static int reopen(const di_build *b, di__dbpool *p, long slot)
{
    if (p->pool.conns[slot])
        p->ops->close(p->pool.conns[slot]);
    p->pool.conns[slot] = NULL;
    return p->ops->open(b, p->cfg, &p->pool.conns[slot]);
}

int di__db_session_create(const di_build *b, void **out)
{
    di__dbsession *s = b->mem;
    di__dbpool *p = b->deps[0];
    s->p = p;
    const char *begin = di__db_begin_sql(b);
    int rc;
    s->slot = di__pool_get(&p->pool);
    if (s->slot < 0)
        return di_fail(b, DI_EBUSY, "%s pool '%s': all %zu connections stayed "
                       "busy for %u ms", p->ops->name, p->name, p->pool.n,
                       p->pool.timeout_ms);
    char err[512];
    void **conn = &p->pool.conns[s->slot];
    if (*conn && p->ops->broken(*conn))
        rc = reopen(b, p, s->slot);
    else
        rc = *conn ? 0 : reopen(b, p, s->slot);
    if (!rc && p->ops->exec(*conn, begin, err, sizeof err) != 0) {
        /* a connection that died since it was last used: once more */
        if (p->ops->broken(*conn) && !(rc = reopen(b, p, s->slot)) &&
            p->ops->exec(*conn, begin, err, sizeof err) == 0)
            rc = 0;
        else if (!rc)
            rc = di_fail(b, DI_EPROVIDER, "%s: %s failed: %s", p->ops->name,
                         begin, err);
    }
    if (rc) {
        di__pool_put(&p->pool, s->slot);
        return rc;
    }
    *out = *conn;
    return 0;
}

int di__db_session_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    di__dbsession *s = b->mem;
    di__dbpool *p = s->p;
    void *conn = p->pool.conns[s->slot];
    char err[512];
    int rc = 0;
    if (outcome == 0 && p->ops->exec(conn, "COMMIT", err, sizeof err) != 0) {
        /* SQLite keeps the transaction open after a COMMIT that could not
         * get its lock; PostgreSQL has ended it */
        char rb[512];
        if (p->ops->in_tx(conn))
            p->ops->exec(conn, "ROLLBACK", rb, sizeof rb);
        rc = di_fail(b, DI_EPROVIDER, "%s: COMMIT failed: %s", p->ops->name,
                     err);
    } else if (outcome != 0 &&
               p->ops->exec(conn, "ROLLBACK", err, sizeof err) != 0) {
        rc = di_fail(b, DI_EPROVIDER, "%s: ROLLBACK failed: %s", p->ops->name,
                     err);
    }
    if (p->ops->broken(conn) || p->ops->in_tx(conn)) {
        /* opened again at its next checkout: never handed out with a
         * transaction open on it (a ROLLBACK that failed) */
        p->ops->close(conn);
        p->pool.conns[s->slot] = NULL;
    }
    di__pool_put(&p->pool, s->slot);
    return rc;
}
