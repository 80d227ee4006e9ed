/*
 * test_log.c — the one log hook: each run-time report reaches the function
 * set with di_log_set() as a record with its level, event and fields (an
 * abandoned scope and its failed dispose, the container's end, a refused
 * plugin, a reload, the router's "not saved"); the default writes WARN and
 * above to stderr, one line each.
 */
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"

typedef struct seen {
    di_log_level level;
    char event[32], message[512], provider[32], path[128];
    char method[16], target[64];
    int code;
} seen;

static seen recs[16];
static int nrecs;

static void keep(void *ctx, const di_log_record *r)
{
    CU_ASSERT_PTR_EQUAL(ctx, &nrecs);
    if (nrecs == 16)
        return;
    seen *s = &recs[nrecs++];
    s->level = r->level;
    s->code = r->code;
    snprintf(s->event, sizeof s->event, "%s", r->event);
    snprintf(s->message, sizeof s->message, "%s", r->message);
    snprintf(s->provider, sizeof s->provider, "%s", r->provider);
    snprintf(s->path, sizeof s->path, "%s", r->path);
    snprintf(s->method, sizeof s->method, "%s", r->method);
    snprintf(s->target, sizeof s->target, "%s", r->target);
}

static void listen_(void)
{
    nrecs = 0;
    di_log_set(keep, &nrecs);
}

/* A scope freed with its talloc parent, unsettled: WARN scope_abandoned,
 * then its dispose that failed: WARN dispose_failed with the provider and
 * its code; di_scope_free() of an open scope says the same at INFO. */
static void test_abandoned_scope(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    tbeh broken = { .dispose_fail = DI_EPROVIDER };
    T_OK(t_provide(c, "tx", "request", &broken, NULL));
    T_OK(di_container_seal(c));
    listen_();
    void *mem = talloc_new(NULL), *v;
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", mem, &s));
    T_OK(di_get(s, "tx", &v));
    talloc_free(mem);
    CU_ASSERT_EQUAL_FATAL(nrecs, 2);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "scope_abandoned");
    CU_ASSERT_EQUAL(recs[0].code, DI_EABANDONED);
    CU_ASSERT_STRING_EQUAL(recs[0].message, "di: a 'request' scope was freed "
                           "without being settled: its disposes ran as "
                           "abandoned");
    CU_ASSERT_EQUAL(recs[1].level, DI_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(recs[1].event, "dispose_failed");
    CU_ASSERT_STRING_EQUAL(recs[1].provider, "tx");
    CU_ASSERT_EQUAL(recs[1].code, DI_EPROVIDER);
    CU_ASSERT_PTR_NOT_NULL(strstr(recs[1].message, "di: an abandoned "
                                  "'request' scope: tx: "));
    /* explicit: di_scope_free() settles it as abandoned, INFO */
    nrecs = 0;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    CU_ASSERT_EQUAL(di_scope_free(s), 0); /* nothing built: nothing fails */
    CU_ASSERT_EQUAL_FATAL(nrecs, 1);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_INFO);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "scope_abandoned");
    /* settled scopes say nothing */
    nrecs = 0;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_EQUAL(nrecs, 0);
    t_fixture_done(c, root);
    di_log_set(NULL, NULL);
}

/* A singleton whose dispose fails at the container's end. */
static void test_container_end(void)
{
    void *root, *v;
    di_container *c = t_fixture(&root);
    tbeh broken = { .dispose_fail = DI_EPROVIDER, .msg = "pool: close failed" };
    T_OK(t_provide(c, "pool", "singleton", &broken, NULL));
    T_OK(di_container_seal(c));
    T_OK(di_root_get(c, "pool", &v));
    listen_();
    CU_ASSERT_EQUAL(di_container_free(c), DI_EDISPOSE);
    talloc_free(root);
    CU_ASSERT_EQUAL_FATAL(nrecs, 1);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_WARN);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "dispose_failed");
    CU_ASSERT_STRING_EQUAL(recs[0].provider, "pool");
    CU_ASSERT_PTR_NOT_NULL(strstr(recs[0].message, "di: the container's end: "
                                  "pool: "));
    di_log_set(NULL, NULL);
}

/* A plugin refused while loading (INFO: the caller has the error too) and
 * a live handle's publication (INFO). */
static void test_plugin_and_reload(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_plugin_dir(c, T_BUILD_DIR));
    listen_();
    CU_ASSERT_EQUAL(di_plugin_load(c, "no_such_plugin"), DI_EPLUGIN);
    CU_ASSERT_EQUAL_FATAL(nrecs, 1);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_INFO);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "plugin_refused");
    CU_ASSERT_EQUAL(recs[0].code, DI_EPLUGIN);
    CU_ASSERT_PTR_NOT_NULL(strstr(recs[0].message, "plugin no_such_plugin: "
                                  "no such file"));
    T_OK(di_container_seal(c));
    di_live *l;
    di_container *next;
    T_OK(di_live_new(NULL, c, &l));
    T_OK(di_container_new(NULL, &next));
    T_OK(di_container_seal(next));
    nrecs = 0;
    T_OK(di_live_publish(l, next));
    CU_ASSERT_EQUAL_FATAL(nrecs, 1);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_INFO);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "reloaded");
    CU_ASSERT_STRING_EQUAL(recs[0].message, "di_live: generation 1 is current "
                           "(requests begun before finish on the previous "
                           "one)");
    T_OK(di_live_free(l));
    talloc_free(root);
    di_log_set(NULL, NULL);
}

static int commit_fails(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    return outcome == 0 ? di_fail(b, DI_EPROVIDER, "COMMIT failed: locked")
                        : 0;
}

static int tx_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static int ok(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    return di_http_respond(r, 201, NULL, NULL, 0);
}

/* The router's "not saved": ERROR, with the request, the provider, the
 * path and the code. */
static void test_router_fields(void)
{
    void *root;
    di_container *c = t_fixture(&root);
    di_http *h;
    T_OK(di_http_new(c, c, &h));
    T_OK(di_provide(c, &(di_provider_desc){ .name = "tx",
        .lifetime = "request", .create = tx_create, .dispose = commit_fails }));
    T_OK(di_http_route(h, &(di_http_route_desc){ .method = "POST",
        .path = "/notes", .deps = (const char *[]){ "tx", NULL },
        .handler = ok }));
    T_OK(di_container_seal(c));
    listen_();
    di_http_answer *a;
    T_OK(di_http_call(h, &(di_http_call_desc){ .method = "POST",
        .target = "/notes" }, root, &a));
    CU_ASSERT_EQUAL(di_http_answer_status(a), 500);
    CU_ASSERT_EQUAL_FATAL(nrecs, 1);
    CU_ASSERT_EQUAL(recs[0].level, DI_LOG_ERROR);
    CU_ASSERT_STRING_EQUAL(recs[0].event, "not_saved");
    CU_ASSERT_STRING_EQUAL(recs[0].provider, "tx");
    CU_ASSERT_STRING_EQUAL(recs[0].path, "POST /notes \xe2\x86\x92 tx");
    CU_ASSERT_STRING_EQUAL(recs[0].method, "POST");
    CU_ASSERT_STRING_EQUAL(recs[0].target, "/notes");
    CU_ASSERT_EQUAL(recs[0].code, DI_EPROVIDER);
    CU_ASSERT_STRING_EQUAL(recs[0].message, "di_http: POST /notes: not saved: "
                           "POST /notes \xe2\x86\x92 tx: COMMIT failed: locked");
    talloc_free(a);
    t_fixture_done(c, root);
    di_log_set(NULL, NULL);
}

/* The default: WARN and above as one line each on stderr, INFO not. */
static void test_default_to_stderr(void)
{
    char path[] = "/tmp/di-log-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    di_log_record info = { .level = DI_LOG_INFO, .message = "quiet" };
    di_log_record warn = { .level = DI_LOG_WARN, .message = "said once" };
    di_log_stderr(NULL, &info);
    di_log_stderr(NULL, &warn);
    di_log_set(keep, &nrecs);
    di_log_set(NULL, NULL); /* back to the default */
    void *root;
    di_container *c = t_fixture(&root);
    T_OK(di_container_seal(c));
    void *mem = talloc_new(NULL);
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", mem, &s));
    talloc_free(mem); /* WARN: scope_abandoned */
    t_fixture_done(c, root);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[512] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    CU_ASSERT(n > 0);
    CU_ASSERT_STRING_EQUAL(buf, "said once\ndi: a 'request' scope was freed "
                           "without being settled: its disposes ran as "
                           "abandoned\n");
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "an abandoned scope and its failed dispose", test_abandoned_scope },
        { "a dispose that fails at the container's end", test_container_end },
        { "a refused plugin, a reload", test_plugin_and_reload },
        { "the router's records carry the request", test_router_fields },
        { "the default: WARN and above on stderr", test_default_to_stderr },
        CU_TEST_INFO_NULL,
    };
    return t_run("log", tests);
}
