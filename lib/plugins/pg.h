/*
 * pg.h — what the PostgreSQL plugin's two files share (postgres.c: the
 * synchronous kinds; pg_async.c: the asynchronous ones). Not part of
 * libdi's ABI.
 */
#ifndef DI_PLUGIN_PG_H
#define DI_PLUGIN_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "db.h"

/* The database operations of the synchronous kinds; the asynchronous kinds
 * use its params check, transaction modes and (for a dispose that cannot
 * wait) its exec. */
extern const di__db_ops di__pg_ops;

/* The pools' params (both pool kinds) and the sessions' (both session
 * kinds), as their models describe them. */
typedef struct di__pg_cfg {
    di__db_pool_cfg pool;
    const char *conninfo;
} di__pg_cfg;
extern const di_model_desc di__pg_pool_model;
extern const di_model_desc di__pg_session_model;

/* Copy libpq's message msg into err (n bytes) on one line: without its
 * trailing newline, each inner line break (and the indent after it) a
 * space; "unknown error" for none. */
void di__pg_msg(char *err, size_t n, const char *msg);

/* A failed statement's message: the server's primary message and its
 * detail in parentheses, on one line ("insert or update on table ...
 * violates foreign key constraint ... (Key (ref)=(99) is not present ...)");
 * libpq's own message when the server sent none (res NULL: conn's). */
void di__pg_result_msg(char *err, size_t n, const PGresult *res,
                       const PGconn *conn);

#ifdef DI_PG_ASYNC
/* pg_async.c */
extern const di_kind_desc di__pg_async_pool_kind;
extern const di_kind_desc di__pg_async_session_kind;
#endif

#endif
