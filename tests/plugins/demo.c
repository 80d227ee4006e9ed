/*
 * demo.c — the well-behaved plugin the suites load: "demo.counter" (a
 * singleton with params start and step) and "demo.greeter" (per request,
 * needs a counter, optionally a prefix). demo_inits()/demo_finis() count the
 * init and fini hooks so tests can see when the object is opened and closed.
 */
#include <di.h>
#include <stdio.h>
#include <talloc.h>

typedef struct counter { int64_t value, step; } counter;

static int inits, finis;

DI_PLUGIN_API int demo_inits(void);
DI_PLUGIN_API int demo_finis(void);
int demo_inits(void) { return inits; }
int demo_finis(void) { return finis; }

static int counter_check(const di_build *b)
{
    int64_t v;
    int rc;
    if (di_param_has(b, NULL, "start") &&
        (rc = di_param_int(b, NULL, "start", &v)))
        return rc;
    if (di_param_has(b, NULL, "step") &&
        (rc = di_param_int(b, NULL, "step", &v)))
        return rc;
    if (di_param_has(b, NULL, "step") && v == 0) {
        char at[128];
        snprintf(at, sizeof at, "%s.step", di_params_path(b->params));
        return di_fail_at(b, DI_EINVAL, at, "must not be 0");
    }
    return 0;
}

static int counter_create(const di_build *b, void **out)
{
    counter *c = b->mem;
    c->step = 1;
    int rc;
    if (di_param_has(b, NULL, "start") &&
        (rc = di_param_int(b, NULL, "start", &c->value)))
        return rc;
    if (di_param_has(b, NULL, "step") &&
        (rc = di_param_int(b, NULL, "step", &c->step)))
        return rc;
    *out = c;
    return 0;
}

static const di_kind_desc counter_kind = {
    .name = "counter", .type = "counter", .lifetime = "singleton",
    .create = counter_create, .check = counter_check, .size = sizeof(counter),
    .summary = "a number that grows by step",
};

static int greeter_check(const di_build *b)
{
    const char *g;
    return di_param_string(b, NULL, "greeting", &g);
}

/* The instance is a string: "<prefix><greeting> #<n>". */
static int greeter_create(const di_build *b, void **out)
{
    counter *c = b->deps[0];
    const char *prefix = b->deps[1], *greeting;
    int rc = di_param_string(b, NULL, "greeting", &greeting);
    if (rc)
        return rc;
    char *s = talloc_asprintf(b->mem, "%s%s #%lld", prefix ? prefix : "",
                              greeting, (long long)c->value);
    if (!s)
        return DI_ENOMEM;
    c->value += c->step;
    *out = s;
    return 0;
}

static const char *const greeter_roles[] = { "counter:counter", "?prefix",
                                             NULL };
static const di_kind_desc greeter_kind = {
    .name = "greeter", .type = "greeter", .lifetime = "request",
    .roles = greeter_roles, .create = greeter_create, .check = greeter_check,
};

static int demo_init(char *why, size_t n)
{
    (void)why;
    (void)n;
    inits++;
    return 0;
}

static void demo_fini(void) { finis++; }

/* DI_PLUGIN() with a fini hook: write the description by hand. */
static const di_kind_desc *const demo_kinds[] = { &counter_kind, &greeter_kind,
                                                  NULL };
static const di_plugin_desc demo_desc = {
    DI_PLUGIN_MAGIC, DI_ABI_MAJOR, DI_ABI_MINOR, sizeof(di_plugin_desc),
    "demo", "1.2.3", demo_kinds, demo_init, demo_fini,
};
DI_PLUGIN_API const di_plugin_desc *di_plugin_entry(void);
const di_plugin_desc *di_plugin_entry(void) { return &demo_desc; }
