/*
 * pg_async.c — the PostgreSQL plugin's asynchronous kinds, on libpq's
 * non-blocking API and a libevent loop: "postgres.async_pool" and
 * "postgres.async_session" (di/async.h, docs/plugins.md).
 *
 * postgres.async_pool (singleton; role "event_base:event_base", the loop
 * the host serves on; params "conninfo", "size" and "checkout_timeout_ms"
 * as postgres.pool). Opens one connection when it is created, blocking
 * (PQconnectdb, within the conninfo's connect_timeout), so that a server
 * whose database is down fails at start-up with the path — build it then
 * (di_container_build()), not from the loop; the others are opened on the
 * loop (PQconnectStart/PQconnectPoll, the socket watched) when a session
 * first needs them, and again when one was found broken.
 *
 * postgres.async_session (request; asynchronous, DI_KIND_ASYNC; role
 * "pool:postgres.async_pool"; param "begin" as postgres.session). Its
 * create never blocks the loop: it checks a connection out of the pool —
 * or waits in line, first come first served, for checkout_timeout_ms,
 * then fails with DI_EBUSY — connects it if needed, sends BEGIN
 * (PQsendQuery, PQconsumeInput and PQisBusy as the socket becomes
 * readable) and finishes with the PGconn * (in non-blocking mode: the
 * handler may use PQsendQuery, or PQexec, which blocks the loop). Its
 * dispose sends COMMIT (the scope succeeded) or ROLLBACK and finishes
 * when the server answered, under di_scope_settle_async(); under a
 * synchronous settle (a request ended before it was answered) it runs
 * them blocking, as it cannot wait. As postgres.session: a COMMIT that
 * fails is the dispose's failure ("postgres: COMMIT failed: ..."), a
 * connection found broken when BEGIN fails on it is replaced once, and a
 * connection broken or still in a transaction after the dispose is closed
 * and opened again at its next checkout.
 *
 * A statement still on the wire when the dispose starts (a handler that
 * sent it and never read its answer, a dependent's lookup cancelled
 * mid-way) is read to its end and its results dropped before COMMIT or
 * ROLLBACK, which libpq would otherwise refuse.
 *
 * A cancelled create (its resolution failed elsewhere, the client left)
 * leaves the line, or closes the connection it was connecting or beginning
 * on (its state on the wire is unknown), and gives its slot back.
 *
 * Decisions: the pool and its sessions belong to the loop's thread — every
 * scope that resolves a session must be resolved on it (as the libevent
 * adapter does); nothing here takes a lock. Work a create or dispose starts
 * begins on the loop's next turn (an active event), so each finishes
 * through its handle, never inside the call that started it, and a
 * connection handed to the next in line cannot re-enter the dispose that
 * gave it back.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "pg.h"

#include "fault.h" /* test builds: allocation failure injection */

typedef struct asess asess;

typedef struct aslot {
    PGconn *conn;  /* NULL: opened at its next checkout */
    bool busy;
} aslot;

/* The pool instance (its chunk). */
typedef struct apool {
    struct event_base *base;
    const char *name, *conninfo;
    aslot *slots;
    size_t n, in_use;
    unsigned timeout_ms;
    asess *first, *last;  /* waiting for a connection, in order */
} apool;

enum step {
    WAITING,     /* in line for a connection, or handed one (tick active) */
    CONNECTING,  /* PQconnectPoll */
    BEGINNING,   /* BEGIN on the wire */
    OPEN,        /* the transaction is the handler's */
    ENDING,      /* COMMIT or ROLLBACK on the wire, or about to be */
    DRAINING,    /* before it: what was left on the wire is read */
};

/* A session (its chunk, b->mem). */
struct asess {
    apool *p;
    di_pending *pend;      /* the create's or the dispose's handle */
    long slot;             /* -1: none yet */
    enum step step;
    struct event *io;      /* on the connection's socket */
    struct event *tick;    /* the checkout timeout, and "go on" */
    const char *begin;     /* the BEGIN statement */
    const char *end;       /* "COMMIT" or "ROLLBACK" */
    bool retried;          /* BEGIN failed on a dropped connection once */
    asess *next, *prev;    /* in the pool's line */
};

/* ---- the pool ---- */

static int apool_create(const di_build *b, void **out)
{
    apool *p = b->mem;
    p->base = b->deps[0];
    if (!p->base)
        return di_fail(b, DI_EINVAL, "postgres.async_pool needs the loop: "
                       "'event_base' is NULL");
    const di__pg_cfg *cfg = di_params_struct(b);
    int rc;
    p->n = (size_t)cfg->pool.size;
    p->timeout_ms = (unsigned)cfg->pool.checkout_timeout_ms;
    p->slots = talloc_zero_array(b->mem, aslot, (unsigned)p->n);
    p->name = talloc_strdup(b->mem, b->name);
    p->conninfo = cfg->conninfo; /* the container's, as long as it */
    if (!p->slots || !p->name)
        return di_fail(b, DI_ENOMEM, "cannot set up a pool of %zu", p->n);
    void *conn;
    if ((rc = di__pg_ops.open(b, cfg, &conn)))
        return rc; /* "postgres: cannot connect (conninfo): why" */
    PQsetnonblocking(conn, 1);
    p->slots[0].conn = conn;
    *out = p;
    return 0;
}

static int apool_dispose(const di_build *b, void *inst, int outcome)
{
    (void)b;
    (void)outcome;
    apool *p = inst;
    for (size_t i = 0; i < p->n; i++)
        PQfinish(p->slots[i].conn);
    return 0;
}

static void unqueue(apool *p, asess *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        p->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        p->last = s->prev;
    s->next = s->prev = NULL;
}

/* Give slot back: to the first in line (who goes on at the loop's next
 * turn), or free. */
static void give_back(apool *p, long slot)
{
    asess *w = p->first;
    if (!w) {
        p->slots[slot].busy = false;
        p->in_use--;
        return;
    }
    unqueue(p, w);
    w->slot = slot;
    evtimer_del(w->tick);
    event_active(w->tick, EV_TIMEOUT, 0);
}

/* ---- a session's I/O ---- */

static void on_io(evutil_socket_t fd, short what, void *arg);

static PGconn *conn_of(const asess *s) { return s->p->slots[s->slot].conn; }

/* Wait for what (EV_READ, EV_WRITE or both) on the connection's socket.
 * 0, or -1 when the event cannot be set (out of memory). */
static int watch(asess *s, short what)
{
    evutil_socket_t fd = PQsocket(conn_of(s));
    if (s->io) {
        event_del(s->io);
        if (event_get_fd(s->io) == fd && event_get_events(s->io) == what)
            return event_add(s->io, NULL);
        event_free(s->io);
    }
    s->io = event_new(s->p->base, fd, what, on_io, s);
    return s->io ? event_add(s->io, NULL) : -1;
}

/* The session's events go (before its handle is finished: its memory may
 * go with it). */
static void unwatch(asess *s)
{
    if (s->io)
        event_free(s->io);
    if (s->tick)
        event_free(s->tick);
    s->io = s->tick = NULL;
}

/* Close the slot's connection (unknown state, broken, or mid-transaction):
 * opened again at its next checkout. */
static void drop_conn(asess *s)
{
    PQfinish(conn_of(s));
    s->p->slots[s->slot].conn = NULL;
}

/* The create failed: the slot goes back (its connection closed when
 * drop), then the handle fails with the message. s is gone after. */
static void create_failed(asess *s, bool drop, int code, const char *what,
                          const char *msg)
{
    if (s->slot >= 0) {
        if (drop)
            drop_conn(s);
        give_back(s->p, s->slot);
    }
    unwatch(s);
    di_pending *pend = s->pend;
    s->pend = NULL;
    di_pending_fail(pend, code, "postgres: %s: %s", what, msg);
}

static void start_connect(asess *s);
static void send_sql(asess *s, const char *sql);

/* The slot is ours: connect it, or BEGIN on it. */
static void go(asess *s)
{
    PGconn *conn = conn_of(s);
    if (conn && PQstatus(conn) != CONNECTION_OK)
        drop_conn(s);
    if (!conn_of(s))
        start_connect(s);
    else
        send_sql(s, s->begin);
}

static void connect_failed(asess *s)
{
    char err[512];
    di__pg_msg(err, sizeof err, PQerrorMessage(conn_of(s)));
    char what[300];
    snprintf(what, sizeof what, "cannot connect (%.256s)", s->p->conninfo);
    create_failed(s, true, DI_EPROVIDER, what, err);
}

static void start_connect(asess *s)
{
    s->step = CONNECTING;
    PGconn *conn = PQconnectStart(s->p->conninfo);
    s->p->slots[s->slot].conn = conn;
    if (!conn) {
        create_failed(s, false, DI_ENOMEM, "cannot connect", "out of memory");
        return;
    }
    if (PQstatus(conn) == CONNECTION_BAD)
        connect_failed(s);
    else if (watch(s, EV_WRITE))
        create_failed(s, true, DI_ENOMEM, "cannot connect", "out of memory");
}

static void poll_connect(asess *s)
{
    switch (PQconnectPoll(conn_of(s))) {
    case PGRES_POLLING_READING:
        if (watch(s, EV_READ))
            break;
        return;
    case PGRES_POLLING_WRITING:
        if (watch(s, EV_WRITE))
            break;
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(conn_of(s), 1) == 0) {
            send_sql(s, s->begin);
            return;
        }
        /* fall through */
    default:
        connect_failed(s);
        return;
    }
    create_failed(s, true, DI_ENOMEM, "cannot connect", "out of memory");
}

static void ended(asess *s, const char *err);
static void begun(asess *s, const char *err);

/* The statement on the wire finished: err is NULL, or its message. */
static void answered(asess *s, const char *err)
{
    if (s->step == BEGINNING)
        begun(s, err);
    else
        ended(s, err);
}

/* Send sql (BEGIN, COMMIT, ROLLBACK) and wait for its answer. */
static void send_sql(asess *s, const char *sql)
{
    char err[512];
    PGconn *conn = conn_of(s);
    if (s->step == DRAINING)
        s->step = ENDING;
    else if (s->step != ENDING)
        s->step = BEGINNING;
    if (!PQsendQuery(conn, sql)) {
        di__pg_msg(err, sizeof err, PQerrorMessage(conn));
        answered(s, err);
        return;
    }
    int f = PQflush(conn);
    if (f < 0) {
        di__pg_msg(err, sizeof err, PQerrorMessage(conn));
        answered(s, err);
    } else if (watch(s, f ? EV_READ | EV_WRITE : EV_READ)) {
        answered(s, "out of memory");
    }
}

/* The socket is ready for the statement on the wire: flush, read, and
 * when the answer is complete collect it (the first error's message). */
static void poll_query(asess *s, short what)
{
    char err[512];
    PGconn *conn = conn_of(s);
    int f = 0;
    if ((what & EV_WRITE) && (f = PQflush(conn)) < 0)
        goto broken;
    if ((what & EV_READ) && !PQconsumeInput(conn))
        goto broken;
    if (PQisBusy(conn)) {
        if (watch(s, f ? EV_READ | EV_WRITE : EV_READ))
            answered(s, "out of memory");
        return;
    }
    err[0] = '\0';
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !err[0])
            di__pg_result_msg(err, sizeof err, res, conn);
        PQclear(res);
    }
    answered(s, err[0] ? err : NULL);
    return;
broken:
    di__pg_msg(err, sizeof err, PQerrorMessage(conn));
    answered(s, err);
}

/* Before COMMIT or ROLLBACK: a statement the handler (or a dependent
 * whose create was cancelled) left on the wire is read to its end and its
 * results dropped, as libpq accepts no command before. Returns true while
 * it must wait for the socket. */
static bool drain(asess *s)
{
    PGconn *conn = conn_of(s);
    if (PQconsumeInput(conn) && PQisBusy(conn)) {
        if (watch(s, EV_READ) == 0)
            return true;
    }
    PGresult *res;
    while (!PQisBusy(conn) && (res = PQgetResult(conn)))
        PQclear(res);
    return false; /* idle, or broken: the statement fails and says so */
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    asess *s = arg;
    if (s->step == CONNECTING)
        poll_connect(s);
    else if (s->step == DRAINING && !drain(s))
        send_sql(s, s->end);
    else if (s->step != DRAINING)
        poll_query(s, what);
}

/* The tick: the checkout timeout (still in line), or go on (a slot was
 * handed over, or a dispose starts). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    asess *s = arg;
    if (s->step == ENDING) {
        s->step = DRAINING;
        if (!drain(s))
            send_sql(s, s->end);
    } else if (s->slot >= 0) {
        go(s);
    } else {
        apool *p = s->p;
        unqueue(p, s);
        char msg[160];
        snprintf(msg, sizeof msg, "all %zu connections stayed busy for %u ms",
                 p->n, p->timeout_ms);
        char what_[200];
        snprintf(what_, sizeof what_, "pool '%s'", p->name);
        unwatch(s);
        di_pending *pend = s->pend;
        s->pend = NULL;
        di_pending_fail(pend, DI_EBUSY, "postgres %s: %s", what_, msg);
    }
}

/* BEGIN answered. A connection the server dropped while it was idle is
 * noticed here: replaced once. */
static void begun(asess *s, const char *err)
{
    if (err && !s->retried && PQstatus(conn_of(s)) != CONNECTION_OK) {
        s->retried = true;
        drop_conn(s);
        start_connect(s);
        return;
    }
    if (err) {
        char what[80];
        snprintf(what, sizeof what, "%s failed", s->begin);
        create_failed(s, PQstatus(conn_of(s)) != CONNECTION_OK ||
                             PQtransactionStatus(conn_of(s)) != PQTRANS_IDLE,
                      DI_EPROVIDER, what, err);
        return;
    }
    s->step = OPEN;
    event_del(s->io);
    di_pending *pend = s->pend;
    s->pend = NULL;
    di_pending_done(pend, conn_of(s));
}

/* The cancel function: leave the line, or give the slot back — closing
 * the connection when it was half connected or BEGIN was on the wire. */
static void on_cancel(di_pending *pend, void *arg)
{
    (void)pend;
    asess *s = arg;
    s->pend = NULL;
    if (s->slot < 0) {
        unqueue(s->p, s);
    } else {
        if (s->step == CONNECTING || s->step == BEGINNING)
            drop_conn(s);
        give_back(s->p, s->slot);
    }
    unwatch(s);
}

/* The transaction ended: the connection goes back to the pool — closed
 * first when it is broken or still in a transaction — and the session's
 * events go. */
static void hand_back(asess *s)
{
    PGconn *conn = conn_of(s);
    if (PQstatus(conn) != CONNECTION_OK ||
        PQtransactionStatus(conn) != PQTRANS_IDLE)
        drop_conn(s);
    give_back(s->p, s->slot);
    unwatch(s);
}

/* COMMIT or ROLLBACK answered (err: NULL, or the server's message): the
 * connection goes back and the dispose finishes. */
static void ended(asess *s, const char *err)
{
    hand_back(s);
    di_pending *pend = s->pend;
    s->pend = NULL;
    if (err)
        di_pending_fail(pend, DI_EPROVIDER, "postgres: %s failed: %s", s->end,
                        err);
    else
        di_pending_done(pend, NULL);
}

/* ---- the session ---- */

static int asess_create(const di_build *b, void **out)
{
    (void)out;
    asess *s = b->mem;
    apool *p = b->deps[0];
    s->p = p;
    s->slot = -1;
    s->begin = di__db_begin_sql(b);
    s->pend = di_pending_take(b);
    if (!s->pend)
        return di_fail(b, DI_EINVAL, "postgres.async_session is "
                       "asynchronous: resolve what needs it with "
                       "di_resolve_async() on the loop's thread");
    s->tick = evtimer_new(p->base, on_tick, s);
    if (!s->tick)
        return di_fail(b, DI_ENOMEM, "out of memory");
    di_pending_on_cancel(s->pend, on_cancel, s);
    if (p->in_use < p->n) {
        long slot = 0;
        while (p->slots[slot].busy)
            slot++;
        p->slots[slot].busy = true;
        p->in_use++;
        s->slot = slot;
        event_active(s->tick, EV_TIMEOUT, 0);
    } else {
        s->prev = p->last;
        if (p->last)
            p->last->next = s;
        else
            p->first = s;
        p->last = s;
        struct timeval tv = { (time_t)(p->timeout_ms / 1000),
                              (suseconds_t)(p->timeout_ms % 1000) * 1000 };
        evtimer_add(s->tick, &tv);
    }
    return DI_PENDING;
}

static int asess_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    asess *s = b->mem;
    s->end = outcome == 0 ? "COMMIT" : "ROLLBACK";
    s->step = ENDING;
    s->pend = di_pending_take(b);
    if (s->pend && s->tick) {
        event_active(s->tick, EV_TIMEOUT, 0);
        return DI_PENDING;
    }
    /* a synchronous settle (or no room to wait): blocking, as it must end
     * the transaction before it returns */
    s->pend = NULL;
    char err[512];
    int rc = di__pg_ops.exec(conn_of(s), s->end, err, sizeof err);
    hand_back(s);
    return rc ? di_fail(b, DI_EPROVIDER, "postgres: %s failed: %s", s->end,
                        err)
              : 0;
}

static const char *const apool_roles[] = { "event_base:event_base", NULL };
const di_kind_desc di__pg_async_pool_kind = {
    .name = "async_pool", .type = "postgres.async_pool",
    .lifetime = "singleton", .roles = apool_roles, .create = apool_create,
    .dispose = apool_dispose, .check = di__db_pool_check,
    .data = (void *)&di__pg_ops, .size = sizeof(apool),
    .summary = "connections to a PostgreSQL server, opened and handed out "
               "on the loop",
    .params_model = &di__pg_pool_model,
};

static const char *const asess_roles[] = { "pool:postgres.async_pool", NULL };
const di_kind_desc di__pg_async_session_kind = {
    .name = "async_session", .type = "PGconn", .lifetime = "request",
    .roles = asess_roles, .create = asess_create, .dispose = asess_dispose,
    .data = (void *)&di__pg_ops,
    .size = sizeof(asess), .flags = DI_KIND_ASYNC,
    .summary = "a transaction begun and ended without blocking the loop",
    .params_model = &di__pg_session_model,
};
