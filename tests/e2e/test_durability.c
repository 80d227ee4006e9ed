/*
 * test_durability.c — the notes server's promise under SIGKILL: a client
 * told 201 holds a committed note.
 *
 *   - Writers POST notes without pause while the server is killed with
 *     SIGKILL at random moments and started again, round after round. Then
 *     every note that was acknowledged with 201 must be there, with its
 *     exact title and body, under an id no other acknowledged note has; on
 *     SQLite the file must pass PRAGMA integrity_check.
 *   - A POST whose server dies between its COMMIT and its answer (an
 *     LD_PRELOAD shim kills it when libmicrohttpd is handed the 201) wrote
 *     its note although the client heard nothing; retried with the same
 *     Idempotency-Key it gets the first answer and the note exists once.
 *
 *   test_durability NOTES sqlite|postgres|postgres-loop WORKDIR SHIM
 *
 * postgres-loop runs notes --loop (libevent, the asynchronous PostgreSQL
 * kinds); its shim kills it when evhttp is handed the answer.
 *
 * postgres reads WORKDIR/pg.conninfo (tests/pg.sh), creates a database of
 * its own and drops it; without a server it skips (77).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "httpc.h"
#include "notes_proc.h"

#define ALICE "Authorization: Bearer alice-token\r\n"
#define BOB "Authorization: Bearer bob-token\r\n"

static const char *notes_bin, *backend, *work, *shim;
static char config[600], dbfile[600], pg_conninfo[512], dbname[64];

/* Start the server on the config; env as for t_server_start(). */
static int start(t_server *s, const char *const *env)
{
    bool loop = strcmp(backend, "postgres-loop") == 0;
    char *av[] = { (char *)notes_bin, "--config", config, "--port", "0",
                   "--quiet", loop ? "--loop" : NULL, NULL };
    if (t_server_start(s, av, env, NULL) == 0)
        return 0;
    fprintf(stderr, "the server did not start: %s\n", s->last);
    return -1;
}

static long id_of(const char *json)
{
    const char *p = json ? strstr(json, "\"id\":") : NULL;
    return p ? atol(p + 5) : -1;
}

/* ---- SIGKILL under a write load ---- */

enum { ROUNDS = 12, WRITERS = 4 };

typedef struct ack {
    long id;
    char title[48], body[48];
} ack;

typedef struct writer {
    int k;
    unsigned seed;
    ack *acks;
    int n, cap;
    int sent, unanswered, refused; /* refused: 503 (shutting down) */
    int other;                     /* other: an answer that is not 201 */
} writer;

static atomic_int live_port; /* 0 while the server is down */
static atomic_int live_pid;
static atomic_int writing, round_no;
/* Set at the round's random moment: the next writer to be told 201 kills
 * the server at once, as close behind the answer as a process can. */
static atomic_int kill_armed;
static pthread_mutex_t kill_lock = PTHREAD_MUTEX_INITIALIZER; /* no kill
                                     after the controller reaped the pid */

static const char *auth_of(int k) { return k % 2 ? BOB : ALICE; }

static void *writer_run(void *arg)
{
    writer *w = arg;
    for (int seq = 0; atomic_load(&writing); seq++) {
        int p = atomic_load(&live_port);
        if (!p) {
            usleep(2000);
            continue;
        }
        ack a;
        snprintf(a.title, sizeof a.title, "dur %d w%d %d",
                 atomic_load(&round_no), w->k, seq);
        snprintf(a.body, sizeof a.body, "b%d-%x", seq, rand_r(&w->seed));
        char json[128], *out = NULL;
        snprintf(json, sizeof json, "{\"title\":\"%s\",\"body\":\"%s\"}",
                 a.title, a.body);
        w->sent++;
        int st = t_call((uint16_t)p, "POST", "/notes", auth_of(w->k), json,
                        &out);
        if (st == 201 && (a.id = id_of(out)) > 0) {
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 256;
                w->acks = realloc(w->acks, (size_t)w->cap * sizeof *w->acks);
            }
            w->acks[w->n++] = a;
            if (atomic_load(&kill_armed)) {
                pthread_mutex_lock(&kill_lock);
                int pid = atomic_load(&live_pid);
                if (pid && atomic_exchange(&kill_armed, 0))
                    kill(pid, SIGKILL);
                pthread_mutex_unlock(&kill_lock);
            }
        } else if (st < 0) {
            w->unanswered++;
        } else if (st == 503) {
            w->refused++;
        } else {
            w->other++;
        }
        talloc_free(out);
    }
    return NULL;
}

/* The writers, writing without pause while live_port is set. */
static void start_writers(writer *w, pthread_t *th, unsigned seed)
{
    atomic_store(&writing, 1);
    atomic_store(&live_port, 0);
    for (int k = 0; k < WRITERS; k++) {
        w[k] = (writer){ .k = k, .seed = seed + (unsigned)k };
        pthread_create(&th[k], NULL, writer_run, &w[k]);
    }
}

/* What the writers did, summed, once they stopped. */
typedef struct totals { int acked, sent, unanswered, refused, other; } totals;

static totals stop_writers(writer *w, pthread_t *th)
{
    totals t = { 0 };
    atomic_store(&writing, 0);
    for (int k = 0; k < WRITERS; k++) {
        pthread_join(th[k], NULL);
        t.acked += w[k].n;
        t.sent += w[k].sent;
        t.unanswered += w[k].unanswered;
        t.refused += w[k].refused;
        t.other += w[k].other;
    }
    return t;
}

static int by_id(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* Every acknowledged note, as acknowledged: how many are missing or
 * different; *dups: ids acknowledged twice. */
static int lost_acks(uint16_t p, writer *w, int *dups)
{
    int lost = 0, total = 0;
    for (int k = 0; k < WRITERS; k++)
        total += w[k].n;
    long *ids = malloc((size_t)(total ? total : 1) * sizeof *ids);
    int n = 0;
    for (int k = 0; k < WRITERS; k++)
        for (int i = 0; i < w[k].n; i++) {
            const ack *a = &w[k].acks[i];
            char path[48], want[128], *out = NULL;
            ids[n++] = a->id;
            snprintf(path, sizeof path, "/notes/%ld", a->id);
            snprintf(want, sizeof want, "\"title\":\"%s\",\"body\":\"%s\"",
                     a->title, a->body);
            int st = t_call(p, "GET", path, auth_of(k), NULL, &out);
            if (st != 200 || !strstr(out, want)) {
                if (lost++ < 5)
                    fprintf(stderr, "\n  acknowledged, then %s: note %ld "
                            "(%s)\n", st == 200 ? "changed" : "missing",
                            a->id, a->title);
            }
            talloc_free(out);
        }
    qsort(ids, (size_t)n, sizeof *ids, by_id);
    *dups = 0;
    for (int i = 1; i < n; i++)
        *dups += ids[i] == ids[i - 1];
    free(ids);
    return lost;
}

static void test_sigkill_rounds(void)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    writer w[WRITERS];
    pthread_t th[WRITERS];
    start_writers(w, th, seed);
    int rounds = 0;
    for (int r = 0; r < ROUNDS; r++) {
        t_server s;
        atomic_store(&round_no, r);
        if (start(&s, NULL))
            break;
        atomic_store(&live_pid, s.pid);
        atomic_store(&live_port, s.port);
        /* a random moment 50 to 400 ms into the round; then, every other
         * round, right behind the next 201 a writer hears (where a server
         * that answered before its COMMIT loses the write) */
        usleep(50000 + (unsigned)(rand_r(&seed) % 350) * 1000);
        if (r % 2) {
            atomic_store(&kill_armed, 1);
            for (int i = 0; i < 200 && atomic_load(&kill_armed); i++)
                usleep(1000);
        }
        pthread_mutex_lock(&kill_lock);
        atomic_store(&kill_armed, 0);
        atomic_store(&live_pid, 0);
        pthread_mutex_unlock(&kill_lock);
        t_server_kill(&s);
        atomic_store(&live_port, 0);
        rounds++;
    }
    totals t = stop_writers(w, th);
    int acked = t.acked, sent = t.sent, unanswered = t.unanswered,
        other = t.other;
    t_server s;
    CU_ASSERT_EQUAL_FATAL(start(&s, NULL), 0);
    int dups, lost = lost_acks(s.port, w, &dups);
    CU_ASSERT_EQUAL(t_server_stop(&s), 0);
    CU_ASSERT_EQUAL(rounds, ROUNDS);
    CU_ASSERT(acked > 0);
    CU_ASSERT_EQUAL(lost, 0);
    CU_ASSERT_EQUAL(dups, 0);
    if (strcmp(backend, "sqlite") == 0) {
        sqlite3 *db;
        sqlite3_stmt *st;
        const char *verdict = "(cannot open)";
        CU_ASSERT_EQUAL_FATAL(sqlite3_open_v2(dbfile, &db, SQLITE_OPEN_READONLY,
                                              NULL), SQLITE_OK);
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
                SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            verdict = (const char *)sqlite3_column_text(st, 0);
        CU_ASSERT_STRING_EQUAL(verdict, "ok");
        printf("\n  integrity_check: %s", verdict);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    printf("\n  durability (%s): %d SIGKILL rounds, %d writes sent, %d "
           "acknowledged (201), %d unanswered or refused, %d other answers; "
           "acknowledged "
           "and found: %d, lost: %d, ids given twice: %d ", backend, rounds,
           sent, acked, unanswered, other, acked - lost, lost, dups);
    for (int k = 0; k < WRITERS; k++)
        free(w[k].acks);
}

/* ---- SIGTERM under a write load ---- */

/* The server is stopped with SIGTERM at a random moment of each round,
 * writers never pausing: it stops accepting, lets the requests in flight
 * finish (each committed before its answer) and exits 0. Every note
 * acknowledged with 201 is there afterwards; answers during the shutdown
 * are 503 or none, never a 2xx for a write that is absent. */
static void test_sigterm_rounds(void)
{
    enum { TERM_ROUNDS = 6 };
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    writer w[WRITERS];
    pthread_t th[WRITERS];
    start_writers(w, th, seed);
    int rounds = 0, clean = 0;
    for (int r = 0; r < TERM_ROUNDS; r++) {
        t_server s;
        atomic_store(&round_no, 100 + r);
        if (start(&s, NULL))
            break;
        atomic_store(&live_port, s.port);
        usleep(50000 + (unsigned)(rand_r(&seed) % 350) * 1000);
        clean += t_server_stop(&s) == 0; /* SIGTERM, then its exit status */
        atomic_store(&live_port, 0);
        rounds++;
    }
    totals t = stop_writers(w, th);
    int acked = t.acked, sent = t.sent, unanswered = t.unanswered,
        refused = t.refused, other = t.other;
    t_server s;
    CU_ASSERT_EQUAL_FATAL(start(&s, NULL), 0);
    int dups, lost = lost_acks(s.port, w, &dups);
    CU_ASSERT_EQUAL(t_server_stop(&s), 0);
    CU_ASSERT_EQUAL(other, 0); /* 201, 503 or nothing */
    CU_ASSERT_EQUAL(rounds, TERM_ROUNDS);
    CU_ASSERT_EQUAL(clean, TERM_ROUNDS);
    CU_ASSERT(acked > 0);
    CU_ASSERT_EQUAL(lost, 0);
    CU_ASSERT_EQUAL(dups, 0);
    printf("\n  SIGTERM (%s): %d rounds, each exited %s; %d writes sent, %d "
           "acknowledged (201), %d refused (503, shutting down), %d "
           "unanswered, %d other answers; acknowledged and found: %d, lost: "
           "%d ", backend, rounds, clean == rounds ? "0" : "NOT 0", sent,
           acked, refused, unanswered, other, acked - lost, lost);
    for (int k = 0; k < WRITERS; k++)
        free(w[k].acks);
}

/* ---- killed between COMMIT and answer, retried with the same key ---- */

/* Alice's notes titled title, and the id of the last one. */
static int count_titled(uint16_t p, const char *title, long *id)
{
    int found = 0;
    char want[96];
    snprintf(want, sizeof want, "\"title\":\"%s\"", title);
    for (long off = 0;; off += 100) {
        char path[64], *out = NULL;
        snprintf(path, sizeof path, "/notes?offset=%ld&limit=100", off);
        if (t_call(p, "GET", path, ALICE, NULL, &out) != 200) {
            talloc_free(out);
            return -1;
        }
        int on_page = 0;
        for (const char *q = out; (q = strstr(q, "{\"id\":")); q++) {
            on_page++;
            const char *t = strstr(q, "\"title\":");
            if (t && strncmp(t, want, strlen(want)) == 0) {
                found++;
                *id = atol(q + 6);
            }
        }
        talloc_free(out);
        if (on_page < 100)
            return found;
    }
}

static void test_retry_after_kill(void)
{
    char preload[700], title[64], body[128], key[128];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", shim);
    const char *env[] = { preload, "DIE_BEFORE_ANSWER=201", NULL };
    snprintf(title, sizeof title, "retry %d", (int)getpid());
    snprintf(body, sizeof body, "{\"title\":\"%s\",\"body\":\"exactly "
             "once\"}", title);
    snprintf(key, sizeof key, ALICE "Idempotency-Key: kill-%d\r\n",
             (int)getpid());
    t_server s;
    CU_ASSERT_EQUAL_FATAL(start(&s, env), 0);
    /* the server dies after the COMMIT, before the answer */
    CU_ASSERT_EQUAL(t_call(s.port, "POST", "/notes", key, body, NULL), -1);
    t_server_kill(&s);
    CU_ASSERT_EQUAL_FATAL(start(&s, NULL), 0);
    long id = -1;
    CU_ASSERT_EQUAL(count_titled(s.port, title, &id), 1); /* committed */
    t_resp r;
    CU_ASSERT_EQUAL_FATAL(t_http(s.port, "POST", "/notes", key, body, &r), 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(id_of(r.body), id);
    T_HEADER_IS(&r, "Idempotent-Replayed", "true");
    t_resp_free(&r);
    long again = -1;
    CU_ASSERT_EQUAL(count_titled(s.port, title, &again), 1);
    CU_ASSERT_EQUAL(again, id);
    CU_ASSERT_EQUAL(t_call(s.port, "POST", "/notes", key,
                           "{\"title\":\"something else\"}", NULL), 422);
    CU_ASSERT_EQUAL(t_server_stop(&s), 0);
    printf("\n  killed between COMMIT and answer, retried with its key: "
           "note %ld exists once ", id);
}

/* ---- set-up ---- */

static int pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pg_conninfo);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: test_durability NOTES "
                "sqlite|postgres|postgres-loop WORKDIR SHIM\n");
        return 2;
    }
    notes_bin = argv[1];
    backend = argv[2];
    work = argv[3];
    shim = argv[4];
    bool pg = strncmp(backend, "postgres", 8) == 0;
    char params[900];
    if (pg) {
        char path[600];
        snprintf(path, sizeof path, "%s/pg.conninfo", work);
        FILE *ci = fopen(path, "r");
        if (!ci || !fgets(pg_conninfo, sizeof pg_conninfo, ci)) {
            printf("SKIP: no PostgreSQL server for the durability test\n");
            if (ci)
                fclose(ci);
            return 77;
        }
        fclose(ci);
        pg_conninfo[strcspn(pg_conninfo, "\n")] = '\0';
        snprintf(dbname, sizeof dbname, "durability_%d", (int)getpid());
        char sql[96];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
        if (pg_admin(sql))
            return 1;
        snprintf(params, sizeof params, "\"conninfo\": \"%s dbname=%s\", "
                 "\"size\": 4", pg_conninfo, dbname);
    } else {
        snprintf(dbfile, sizeof dbfile, "%s/durability-%d.db", work,
                 (int)getpid());
        snprintf(params, sizeof params, "\"path\": \"%s\", \"size\": 4, "
                 "\"busy_timeout_ms\": 10000", dbfile);
    }
    snprintf(config, sizeof config, "%s/durability-%s-%d.json", work, backend,
             (int)getpid());
    FILE *f = fopen(config, "w");
    if (!f)
        return 2;
    t_notes_config(f, backend, params);
    fclose(f);
    signal(SIGPIPE, SIG_IGN);
    CU_TestInfo tests[] = {
        { "SIGKILL under a write load: no acknowledged write lost",
          test_sigkill_rounds },
        { "killed between COMMIT and answer: a keyed retry writes once",
          test_retry_after_kill },
        { "SIGTERM under a write load: exit 0, no acknowledged write lost",
          test_sigterm_rounds },
        CU_TEST_INFO_NULL,
    };
    char suite[64];
    snprintf(suite, sizeof suite, "durability (%s)", backend);
    int rc = t_run(suite, tests);
    remove(config);
    if (pg) {
        char sql[96];
        snprintf(sql, sizeof sql, "DROP DATABASE %s", dbname);
        pg_admin(sql);
    } else {
        t_remove_sqlite(dbfile);
    }
    return rc;
}
