/*
 * postgres.c — the PostgreSQL plugin (libpq): "postgres.pool" and
 * "postgres.session"; with libevent, also "postgres.async_pool" and
 * "postgres.async_session" (pg_async.c).
 *
 * postgres.pool params: "conninfo" (required: "host=/run/pg dbname=notes"
 * or a postgresql:// URI), "size" (4), "checkout_timeout_ms" (5000).
 * postgres.session params: "begin", one of "read_write" (the default:
 * BEGIN) and "read_only" (BEGIN READ ONLY: the server refuses writes). The
 * session instance is the PGconn *. Every param is described in
 * docs/plugins.md. A connection the server dropped (restart, idle timeout,
 * pg_terminate_backend) is noticed when BEGIN fails on it, closed and
 * replaced by a fresh one before the session goes on.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "pg.h"

static const di_field pg_pool_fields[] = {
    DI__DB_POOL_FIELDS(di__pg_cfg),
    { "conninfo", DI_F_STRING, DI_AT(di__pg_cfg, conninfo), .required = 1 },
    { .name = NULL },
};
const di_model_desc di__pg_pool_model = { "pool", sizeof(di__pg_cfg),
                                          pg_pool_fields };

static const char *const pg_modes[] = { "read_write", "read_only", NULL };
static const char *const pg_mode_sql[] = { "BEGIN", "BEGIN READ ONLY", NULL };
static const di_field pg_session_fields[] = {
    { "begin", DI_F_STRING, DI_AT(di__db_session_cfg, begin),
      .one_of = pg_modes, .def = "\"read_write\"" },
    { .name = NULL },
};
const di_model_desc di__pg_session_model = { "session",
                                             sizeof(di__db_session_cfg),
                                             pg_session_fields };

/* What the model cannot check: the conninfo's syntax. */
static int pg_check(const di_build *b, const void *cfg)
{
    const di__pg_cfg *pc = cfg;
    int rc;
    char *err = NULL;
    PQconninfoOption *o = PQconninfoParse(pc->conninfo, &err);
    if (!o) {
        char at[512];
        snprintf(at, sizeof at, "%s.conninfo", di_params_path(b->params));
        rc = di_fail_at(b, DI_EINVAL, at, "%s", err ? err : "cannot parse");
        PQfreemem(err);
        return rc;
    }
    PQconninfoFree(o);
    return 0;
}

void di__pg_msg(char *err, size_t n, const char *msg)
{
    snprintf(err, n, "%s", msg && *msg ? msg : "unknown error");
    size_t len = strlen(err);
    while (len && (err[len - 1] == '\n' || err[len - 1] == ' '))
        err[--len] = '\0';
    /* one line: libpq's hints follow on lines of their own ("\n\tIs the
     * server running ...") */
    char *w = err;
    for (const char *r = err; *r; r++) {
        if (*r != '\n') {
            *w++ = *r;
            continue;
        }
        while (r[1] == '\t' || r[1] == ' ')
            r++;
        *w++ = ' ';
    }
    *w = '\0';
}

void di__pg_result_msg(char *err, size_t n, const PGresult *res,
                       const PGconn *conn)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                              : NULL;
    if (!primary) {
        di__pg_msg(err, n, res ? PQresultErrorMessage(res)
                               : PQerrorMessage(conn));
        return;
    }
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (detail)
        snprintf(err, n, "%s (%s)", primary, detail);
    else
        snprintf(err, n, "%s", primary);
}

static int pg_exec(void *conn, const char *sql, char *err, size_t n)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc)
        di__pg_result_msg(err, n, res, conn);
    PQclear(res);
    return rc;
}

static bool pg_broken(void *conn) { return PQstatus(conn) != CONNECTION_OK; }

static void pg_close(void *conn) { PQfinish(conn); }

static int pg_open(const di_build *b, const void *cfg, void **out)
{
    const char *conninfo = ((const di__pg_cfg *)cfg)->conninfo;
    PGconn *conn = PQconnectdb(conninfo);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char err[512];
        di__pg_msg(err, sizeof err, conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return di_fail(b, DI_EPROVIDER, "postgres: cannot connect (%s): %s",
                       conninfo, err);
    }
    *out = conn;
    return 0;
}

static bool pg_in_tx(void *conn)
{
    return PQtransactionStatus(conn) != PQTRANS_IDLE;
}

const di__db_ops di__pg_ops = {
    .name = "postgres", .modes = pg_modes, .mode_sql = pg_mode_sql,
    .check = pg_check,
    .open = pg_open, .exec = pg_exec, .broken = pg_broken, .in_tx = pg_in_tx,
    .close = pg_close,
};

static const di_kind_desc pool_kind = {
    .name = "pool", .type = "postgres.pool", .lifetime = "singleton",
    .create = di__db_pool_create, .dispose = di__db_pool_dispose,
    .check = di__db_pool_check, .data = (void *)&di__pg_ops,
    .size = sizeof(di__dbpool),
    .summary = "a pool of connections to a PostgreSQL server",
    .params_model = &di__pg_pool_model,
};

static const char *const session_roles[] = { "pool:postgres.pool", NULL };
static const di_kind_desc session_kind = {
    .name = "session", .type = "PGconn", .lifetime = "request",
    .roles = session_roles, .create = di__db_session_create,
    .dispose = di__db_session_dispose,
    .data = (void *)&di__pg_ops, .size = sizeof(di__dbsession),
    .summary = "a transaction: COMMIT on success, ROLLBACK on failure",
    .params_model = &di__pg_session_model,
};

static int pg_init(char *why, size_t n)
{
    if (!PQisthreadsafe()) {
        snprintf(why, n, "this libpq was built without thread safety");
        return -1;
    }
    return 0;
}

#ifdef DI_PG_ASYNC
DI_PLUGIN(postgres, "1.1.0", pg_init, &pool_kind, &session_kind,
          &di__pg_async_pool_kind, &di__pg_async_session_kind)
#else
DI_PLUGIN(postgres, "1.1.0", pg_init, &pool_kind, &session_kind)
#endif
