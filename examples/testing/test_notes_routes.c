/*
 * test_notes_routes.c — unit tests of the notes service's routes with the
 * in-process test client (di/http_call.h) and CUnit: the service is wired
 * as it runs (its config, its providers, its routes), then its repository
 * is overridden by a mock, as FastAPI's TestClient with
 * dependency_overrides; every request goes through the router and the
 * whole scope lifecycle, with no socket and no database.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

#include "notes.h"

/* The mock repository: alice-token is user 1; notes in an array; how each
 * request's transaction ended. */
static struct mock {
    note notes[8];
    int n;
    int commits, rollbacks;
    bool fail_commit;
    void *mem;  /* the notes' strings */
} m;

static int mock_user(notes_repo *r, void *mem, const char *token, user *out)
{
    (void)r;
    if (strcmp(token, "alice-token") != 0)
        return DI_ENOTFOUND;
    *out = (user){ .id = 1, .name = talloc_strdup(mem, "alice") };
    return 0;
}

static int mock_create(notes_repo *r, int64_t owner, const char *title,
                       const char *body, int64_t *id)
{
    (void)r;
    (void)owner;
    note *x = &m.notes[m.n];
    *x = (note){ .id = m.n + 1, .title = talloc_strdup(m.mem, title),
                 .body = talloc_strdup(m.mem, body),
                 .created_at = "2026-12-04T00:00:00Z" };
    *id = x->id;
    m.n++;
    return 0;
}

static int mock_get(notes_repo *r, void *mem, int64_t owner, int64_t id,
                    note *out)
{
    (void)r;
    (void)mem;
    (void)owner;
    if (id < 1 || id > m.n)
        return DI_ENOTFOUND;
    *out = m.notes[id - 1];
    return 0;
}

static int mock_repo_create(const di_build *b, void **out)
{
    notes_repo *r = b->mem;
    *r = (notes_repo){ .user_by_token = mock_user, .create = mock_create,
                       .get = mock_get };
    *out = r;
    return 0;
}

/* The request's transaction ends here: a COMMIT that fails is rolled
 * back, as a database does. */
static int mock_repo_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    if (outcome == 0 && !m.fail_commit) {
        m.commits++;
        return 0;
    }
    m.rollbacks++;
    return outcome == 0 ? di_fail(b, DI_EPROVIDER, "COMMIT failed: mock")
                        : 0;
}

static di_container *c;
static di_http *router;
static void *mem;
static notes_config cfg = { .quiet = 1 };

static void quiet(void *ctx, const di_log_record *rec)
{
    /* the router's records only */
    if (strncmp(rec->message, "di_http:", 8) != 0)
        return;
    const char *line = rec->message;
    (void)ctx;
    (void)line; /* the router's log: a failed COMMIT is expected here */
}

/* The service's own wiring, then the overrides. */
static int wire(void)
{
    int rc = di_container_new(NULL, &c);
    if (!rc)
        rc = di_http_new(NULL, c, &router);
    if (!rc)
        rc = notes_register_routes(router, &cfg);
    if (!rc)
        rc = notes_register_kinds(c);
    if (!rc)
        rc = notes_register_models(c);
    if (!rc)
        rc = notes_register_logger(c, &cfg);
    if (!rc)
        rc = notes_register_current_user(c);
    if (!rc)
        rc = di_plugin_dir(c, NOTES_PLUGIN_DIR);
    if (!rc)
        rc = di_config_load_file(c, NOTES_DIR "/notes.json");
    for (int i = 0; !rc && i < 2; i++)
        rc = di_override(c, &(di_provider_desc){
            .name = i ? "read_repo" : "repo", .type = "notes_repo",
            .lifetime = "request", .create = mock_repo_create,
            .dispose = mock_repo_dispose, .size = sizeof(notes_repo) });
    if (!rc)
        rc = di_container_seal(c);
    if (rc)
        fprintf(stderr, "wiring: %s\n",
                di_error_message(di_container_error(c)));
    di_log_set(quiet, NULL);
    return rc;
}

static int set_up(void)
{
    memset(&m, 0, sizeof m);
    mem = talloc_new(NULL);
    m.mem = mem;
    return wire() ? -1 : 0;
}

static int clean_up(void)
{
    talloc_free(mem);
    talloc_free(router);
    return di_container_free(c) ? -1 : 0;
}

static const char *const alice[] = { "Authorization: Bearer alice-token",
                                     NULL };

static di_http_answer *call(const char *method, const char *target,
                            const char *const *headers, const char *body)
{
    di_http_answer *a = NULL;
    CU_ASSERT_EQUAL(di_http_call(router, &(di_http_call_desc){
        .method = method, .target = target, .headers = headers,
        .body = body, .len = body ? strlen(body) : 0 }, mem, &a), 0);
    return a;
}

static void test_create_and_get(void)
{
    di_http_answer *a = call("POST", "/notes", alice,
                             "{\"title\":\"milk\",\"body\":\"2 l\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 201);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "Location"), "/notes/1");
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "\"title\":\"milk\""));
    CU_ASSERT_EQUAL(m.commits, 1);
    a = call("GET", "/notes/1", alice, NULL);
    CU_ASSERT_EQUAL(di_http_answer_status(a), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(di_http_answer_body(a, NULL),
                                  "\"body\":\"2 l\""));
    a = call("GET", "/notes/9", alice, NULL);
    CU_ASSERT_EQUAL(di_http_answer_status(a), 404);
}

static void test_missing_token(void)
{
    int rollbacks = m.rollbacks;
    di_http_answer *a = call("POST", "/notes", NULL, "{\"title\":\"x\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 401);
    CU_ASSERT_STRING_EQUAL(di_http_answer_header(a, "WWW-Authenticate"),
                           "Bearer");
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL),
                           "{\"error\":\"missing bearer token\"}");
    CU_ASSERT_EQUAL(m.rollbacks, rollbacks + 1);
}

static void test_commit_fails(void)
{
    int n = m.n, rollbacks = m.rollbacks;
    m.fail_commit = true;
    di_http_answer *a = call("POST", "/notes", alice, "{\"title\":\"lost\"}");
    m.fail_commit = false;
    CU_ASSERT_EQUAL(di_http_answer_status(a), 500);
    CU_ASSERT_STRING_EQUAL(di_http_answer_body(a, NULL), "{\"error\":\"the "
                           "request's changes were not saved\"}");
    CU_ASSERT_PTR_NULL(di_http_answer_header(a, "Location"));
    CU_ASSERT_EQUAL(di_http_answer_outcome(a), DI_EDISPOSE);
    CU_ASSERT_EQUAL(m.n, n + 1);                 /* the handler wrote ... */
    CU_ASSERT_EQUAL(m.rollbacks, rollbacks + 1); /* ... and it was undone */
}

static void test_bad_body(void)
{
    int rollbacks = m.rollbacks;
    di_http_answer *a = call("POST", "/notes", alice, "{\"body\":\"no title\"}");
    CU_ASSERT_EQUAL(di_http_answer_status(a), 422);
    CU_ASSERT_EQUAL(m.rollbacks, rollbacks + 1);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "POST then GET: 201 with Location, committed", test_create_and_get },
        { "no token: 401, rolled back", test_missing_token },
        { "a COMMIT that fails: 500, rolled back", test_commit_fails },
        { "a body without a title: 422, rolled back", test_bad_body },
        CU_TEST_INFO_NULL,
    };
    CU_SuiteInfo suites[] = {
        { "notes routes", set_up, clean_up, NULL, NULL, tests },
        CU_SUITE_INFO_NULL,
    };
    if (CU_initialize_registry() != CUE_SUCCESS ||
        CU_register_suites(suites) != CUE_SUCCESS)
        return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
