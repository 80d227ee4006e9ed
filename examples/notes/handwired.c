/*
 * handwired.c — the baseline for the http benchmark: GET /notes/{id} of the
 * notes service written without libdi, the way a careful C programmer would
 * wire it by hand on libmicrohttpd: a pool of SQLite connections, a
 * transaction per request (BEGIN when the handler starts, COMMIT or
 * ROLLBACK before the answer is queued, as the libdi server does), the
 * bearer token
 * looked up in the users table (401), the same repository and the same JSON
 * as the libdi server.
 *
 *   notes-handwired --db FILE [--port N]
 *
 * Prints "listening on http://127.0.0.1:PORT" and serves until SIGTERM.
 */
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

enum { POOL = 4 };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sqlite3 *conn[POOL];
    int busy[POOL];
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { 0 }, { 0 } };

static int checkout(void)
{
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        for (int i = 0; i < POOL; i++)
            if (!pool.busy[i]) {
                pool.busy[i] = 1;
                pthread_mutex_unlock(&pool.lock);
                return i;
            }
        pthread_cond_wait(&pool.cond, &pool.lock);
    }
}

static void checkin(int i)
{
    pthread_mutex_lock(&pool.lock);
    pool.busy[i] = 0;
    pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
}

/* One request: the connection it holds and whether it failed. */
typedef struct req { int slot; int failed; } req;

/* End q's transaction before its answer is queued (COMMIT unless it
 * failed; a COMMIT that fails turns the answer into a 500), then queue the
 * answer: the client is never told 200 for what was not committed. */
static enum MHD_Result answer(struct MHD_Connection *conn, req *q, int status,
                              const char *json)
{
    if (q->slot >= 0) {
        sqlite3 *db = pool.conn[q->slot];
        int commit = !q->failed && status < 400;
        if (sqlite3_exec(db, commit ? "COMMIT" : "ROLLBACK", NULL, NULL,
                         NULL) != SQLITE_OK && commit) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            status = 500;
            json = "{\"error\":\"the request's changes were not saved\"}";
        }
        checkin(q->slot);
        q->slot = -1;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result error(struct MHD_Connection *conn, req *q, int status,
                             const char *msg)
{
    char buf[128];
    snprintf(buf, sizeof buf, "{\"error\":\"%s\"}", msg);
    q->failed = 1;
    return answer(conn, q, status, buf);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls)
{
    (void)cls;
    (void)version;
    (void)upload;
    req *q = *req_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        q->slot = -1;
        *req_cls = q;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    char *end;
    long long id = strncmp(url, "/notes/", 7) == 0 ? strtoll(url + 7, &end, 10)
                                                   : 0;
    if (strcmp(method, "GET") != 0 || id <= 0 || *end)
        return error(conn, q, 404, "not found");
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return error(conn, q, 401, "missing bearer token");
    q->slot = checkout();
    sqlite3 *db = pool.conn[q->slot];
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        checkin(q->slot);
        q->slot = -1;
        return error(conn, q, 500, "database error");
    }
    notes_repo repo;
    notes_sqlite_repo_init(&repo, db);
    void *mem = talloc_new(NULL);
    user u;
    note n;
    int rc = repo.user_by_token(&repo, mem, auth + 7, &u);
    enum MHD_Result ret;
    if (rc == DI_ENOTFOUND)
        ret = error(conn, q, 401, "unknown token");
    else if (rc)
        ret = error(conn, q, 500, "database error");
    else if ((rc = repo.get(&repo, mem, u.id, id, &n)) == DI_ENOTFOUND)
        ret = error(conn, q, 404, "note not found");
    else if (rc)
        ret = error(conn, q, 500, "database error");
    else {
        cJSON *j = notes_note_json(&n);
        char *text = cJSON_PrintUnformatted(j);
        ret = answer(conn, q, 200, text);
        cJSON_free(text);
        cJSON_Delete(j);
    }
    talloc_free(mem);
    return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    req *q = *req_cls;
    if (!q)
        return;
    (void)toe;
    if (q->slot >= 0) { /* never answered: nothing of it completed */
        sqlite3_exec(pool.conn[q->slot], "ROLLBACK", NULL, NULL, NULL);
        checkin(q->slot);
    }
    free(q);
    *req_cls = NULL;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            path = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
    }
    if (!path) {
        fprintf(stderr, "usage: notes-handwired --db FILE [--port N]\n");
        return 2;
    }
    for (int i = 0; i < POOL; i++) {
        if (sqlite3_open_v2(path, &pool.conn[i], SQLITE_OPEN_READWRITE |
                            SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
            fprintf(stderr, "cannot open %s\n", path);
            return 1;
        }
        sqlite3_busy_timeout(pool.conn[i], 10000);
        sqlite3_exec(pool.conn[i], "PRAGMA journal_mode=WAL; "
                     "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    }
    notes_repo repo;
    notes_sqlite_repo_init(&repo, pool.conn[0]);
    if (repo.migrate(&repo) ||
        sqlite3_exec(pool.conn[0], "INSERT INTO notes (owner, title, body) "
                     "SELECT id, 'first', 'hello' FROM users WHERE name = "
                     "'alice' AND NOT EXISTS (SELECT 1 FROM notes)", NULL,
                     NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "cannot set up %s: %s\n", path, repo.err);
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, access_cb, NULL, MHD_OPTION_SOCK_ADDR, &a,
        MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot listen\n");
        return 1;
    }
    printf("listening on http://127.0.0.1:%u\n",
           MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    for (int i = 0; i < POOL; i++)
        sqlite3_close_v2(pool.conn[i]);
    return 0;
}
