/*
 * hello — two providers and a consumer in a request scope.
 *
 * "greeting" is a singleton (built once, disposed when the container is
 * freed); "visit" is per request (built lazily, disposed when the request
 * scope ends, with the outcome). The consumer "GET /hello" needs both.
 * Every create and dispose prints a line, so the run shows the order.
 */
#include <stdio.h>
#include <talloc.h>

#include <di.h>

struct greeting { const char *text; };
struct visit { int number; const struct greeting *greeting; };

static int greeting_create(const di_build *b, void **out)
{
    struct greeting *g = b->mem; /* size = sizeof(struct greeting) */
    g->text = "Hello";
    printf("create  %s (singleton)\n", b->name);
    *out = g;
    return 0;
}

static int greeting_dispose(const di_build *b, void *inst, int outcome)
{
    (void)inst;
    printf("dispose %s (outcome %d)\n", b->name, outcome);
    return 0;
}

static int visit_create(const di_build *b, void **out)
{
    static int visits;
    struct visit *v = talloc(b->mem, struct visit);
    if (!v)
        return DI_ENOMEM;
    v->number = ++visits;
    v->greeting = b->deps[0];
    printf("create  %s #%d (request)\n", b->name, v->number);
    *out = v;
    return 0;
}

static int visit_dispose(const di_build *b, void *inst, int outcome)
{
    struct visit *v = inst;
    printf("dispose %s #%d (%s)\n", b->name, v->number,
           outcome == DI_SUCCESS ? "success: commit" : "failure: roll back");
    return 0;
}

static int handle(di_scope *req, const char *who)
{
    void *deps[2];
    if (di_resolve(req, "GET /hello", deps, 2) != 0) {
        fprintf(stderr, "%s\n", di_error_message(di_scope_error(req)));
        return 500;
    }
    const struct greeting *g = deps[0];
    const struct visit *v = deps[1];
    printf("handler says: %s, %s! (visit #%d)\n", g->text, who, v->number);
    return 200;
}

int main(void)
{
    di_container *c;
    if (di_container_new(NULL, &c) != 0)
        return 1;
    static const char *const visit_deps[] = { "greeting", NULL };
    static const char *const handler_deps[] = { "greeting", "visit", NULL };
    di_provide(c, &(di_provider_desc){
        .name = "greeting", .lifetime = "singleton",
        .size = sizeof(struct greeting),
        .create = greeting_create, .dispose = greeting_dispose });
    di_provide(c, &(di_provider_desc){
        .name = "visit", .lifetime = "request", .deps = visit_deps,
        .create = visit_create, .dispose = visit_dispose });
    di_consumer_add(c, &(di_consumer_desc){
        .name = "GET /hello", .level = "request", .deps = handler_deps });
    if (di_container_seal(c) != 0) {
        for (const di_error *e = di_container_error(c); e; e = di_error_next(e))
            fprintf(stderr, "seal: %s\n", di_error_message(e));
        di_container_free(c);
        return 1;
    }

    const char *who[] = { "Ada", "Grace" };
    for (int i = 0; i < 2; i++) {
        di_scope *req;
        if (di_scope_begin(c, NULL, "request", NULL, &req) != 0)
            return 1;
        int status = handle(req, who[i]);
        /* the second request "fails" to show the rollback outcome */
        di_scope_end(req, i == 0 && status == 200 ? DI_SUCCESS : 500);
    }
    printf("shutting down\n");
    return di_container_free(c) == 0 ? 0 : 1;
}
