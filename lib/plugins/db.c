/*
 * db.c — see db.h.
 */
#include "db.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "fault.h" /* test builds: allocation failure injection */


int di__db_int(const di_build *b, const di_params *in, const char *key,
               int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    *out = def;
    if (!di_param_has(b, in, key))
        return 0;
    int rc = di_param_int(b, in, key, out);
    if (rc)
        return rc;
    if (*out >= lo && *out <= hi)
        return 0;
    char at[512];
    snprintf(at, sizeof at, "%s.%s", di_params_path(in ? in : b->params), key);
    return di_fail_at(b, DI_EINVAL, at, "%lld is out of range (%lld to %lld)",
                      (long long)*out, (long long)lo, (long long)hi);
}

int di__db_pool_params(const di_build *b, int64_t *size, int64_t *timeout)
{
    int rc = di__db_int(b, NULL, "size", 4, 1, 1024, size);
    if (!rc)
        rc = di__db_int(b, NULL, "checkout_timeout_ms", 5000, 0, 3600000,
                        timeout);
    return rc;
}

int di__db_pool_check(const di_build *b)
{
    const di__db_ops *ops = b->data;
    int64_t size, timeout;
    int rc = di__db_pool_params(b, &size, &timeout);
    return rc ? rc : ops->check(b, b->params);
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
    p->params = b->params;
    p->name = talloc_strdup(b->mem, b->name);
    int64_t size, timeout;
    int rc = di__db_pool_params(b, &size, &timeout);
    if (rc)
        return rc;
    if (!p->name || di__pool_init(&p->pool, b->mem, (size_t)size,
                                  (unsigned)timeout))
        return di_fail(b, DI_ENOMEM, "cannot set up a pool of %lld",
                       (long long)size);
    for (size_t i = 0; i < p->pool.n; i++)
        if ((rc = p->ops->open(b, p->params, &p->pool.conns[i]))) {
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

int di__db_begin_sql(const di_build *b, const char **sql)
{
    const di__db_ops *ops = b->data;
    const char *want;
    *sql = ops->modes[0].sql;
    if (!di_param_has(b, NULL, "begin"))
        return 0;
    int rc = di_param_string(b, NULL, "begin", &want);
    if (rc)
        return rc;
    char list[160] = "";
    for (const di__db_mode *m = ops->modes; m->name; m++) {
        if (strcmp(m->name, want) == 0) {
            *sql = m->sql;
            return 0;
        }
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'",
                 m == ops->modes ? "" : ", ", m->name);
    }
    char at[512];
    snprintf(at, sizeof at, "%s.begin", di_params_path(b->params));
    return di_fail_at(b, DI_EINVAL, at, "expected one of %s, got '%.60s'",
                      list, want);
}

int di__db_session_check(const di_build *b)
{
    const char *sql;
    return di__db_begin_sql(b, &sql);
}

/* Open the slot's connection again (it was broken or closed). */
static int reopen(const di_build *b, di__dbpool *p, long slot)
{
    if (p->pool.conns[slot])
        p->ops->close(p->pool.conns[slot]);
    p->pool.conns[slot] = NULL;
    return p->ops->open(b, p->params, &p->pool.conns[slot]);
}

int di__db_session_create(const di_build *b, void **out)
{
    di__dbsession *s = b->mem;
    di__dbpool *p = b->deps[0];
    s->p = p;
    const char *begin;
    int rc = di__db_begin_sql(b, &begin);
    if (rc)
        return rc;
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
