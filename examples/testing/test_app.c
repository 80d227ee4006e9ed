/*
 * test_app.c — how users test their handlers with libdi: build the
 * container with the app's own registration function, override the
 * database with a mock, run the handler in a request scope, and assert on
 * what it did — including what the teardown did with the outcome.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"

struct mock { int inserts, commits, rollbacks; const char *last; };

static int mock_insert(notes_db *db, const char *text)
{
    struct mock *m = db->impl;
    m->inserts++;
    m->last = text;
    return text && *text ? 0 : -1;
}
static int mock_commit(notes_db *db) { ((struct mock *)db->impl)->commits++; return 0; }
static int mock_rollback(notes_db *db) { ((struct mock *)db->impl)->rollbacks++; return 0; }

static int failures, checks;
#define EXPECT(cond) do { checks++; if (!(cond)) { \
    printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

/* One request as a server adapter would run it. */
static int request(di_container *c, const char *text)
{
    di_scope *req;
    if (di_scope_begin(c, NULL, "request", NULL, &req) != 0)
        return -1;
    int status = app_post_note(req, text);
    di_scope_end(req, status < 400 ? DI_SUCCESS : status);
    return status;
}

int main(void)
{
    struct mock m = { 0 };
    notes_db mockdb = { mock_insert, mock_commit, mock_rollback, &m };

    di_container *c;
    if (di_container_new(NULL, &c) != 0)
        return 1;
    app_register(c);                                  /* the app's own wiring */
    di_override_value(c, "db", "notes_db", &mockdb);  /* ... with a mock db */
    if (di_container_seal(c) != 0) {
        printf("seal: %s\n", di_error_message(di_container_error(c)));
        return 1;
    }

    EXPECT(request(c, "buy milk") == 201);
    EXPECT(m.inserts == 1 && strcmp(m.last, "buy milk") == 0);
    EXPECT(m.commits == 1 && m.rollbacks == 0);      /* success: committed */

    EXPECT(request(c, "") == 400);
    EXPECT(m.inserts == 2);
    EXPECT(m.commits == 1 && m.rollbacks == 1);      /* failure: rolled back */

    di_container_free(c);                            /* the mock is ours: untouched */
    EXPECT(m.commits == 1 && m.rollbacks == 1);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
