/*
 * fuzz_config.c — libFuzzer target: any bytes as a configuration.
 *
 * The text goes to di_config_load_string() of a fresh container (with one
 * kind of the application's own, so that providers can be instantiated),
 * then the container is sealed and its graph exported; every path must
 * return a code, never crash, leak or hang. Loading plugins is refused: the
 * target defines its own dlopen(), so a fuzzed "plugins" entry never runs
 * code from the machine's files.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

#include "fuzz.h"

/* Interposes libc's for libdi (the target exports it): nothing is opened. */
void *dlopen(const char *file, int mode)
{
    (void)file;
    (void)mode;
    return NULL;
}

static int thing_create(const di_build *b, void **out)
{
    int64_t n;
    if (di_param_has(b, NULL, "n") && di_param_int(b, NULL, "n", &n))
        return DI_EINVAL;
    *out = b->mem;
    return 0;
}

static const char *const roles[] = { "?dep", NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    void *root = talloc_new(NULL);
    di_container *c;
    if (root && di_container_new(root, &c) == 0) {
        di_kind_register(c, &(di_kind_desc){ .name = "app.thing",
            .lifetime = "singleton", .roles = roles, .create = thing_create,
            .size = 16 });
        di_config_load_string(c, text, "fuzz.json");
        if (di_container_seal(c) == 0) {
            di_scope *s;
            if (di_scope_begin(c, NULL, "request", NULL, &s) == 0)
                di_scope_end(s, 0);
        }
        char *out;
        di_graph_json(c, root, &out);
        di_graph_dot(c, root, &out);
        di_container_free(c);
    }
    talloc_free(root);
    free(text);
    return 0;
}
