/*
 * fuzz_params.c — libFuzzer target: params and the accessors that read them.
 *
 * Input: a JSON text, then optionally a NUL byte and keys, one per line.
 * The text becomes a provider's params through di_instantiate(); the kind's
 * check hook walks the whole tree with every accessor (right and wrong
 * types, each item of arrays, each member of objects) and asks for each
 * given key at every level. Every call must return a code (with a message
 * for errors), never crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

#include "fuzz.h"

static const char *keys[16];
static size_t nkeys;

static void ask(const di_build *b, const di_params *in, const char *key)
{
    const char *s;
    int64_t i;
    double d;
    int flag;
    const di_params *p;
    di_param_has(b, in, key);
    di_param_string(b, in, key, &s);
    di_param_int(b, in, key, &i);
    di_param_number(b, in, key, &d);
    di_param_bool(b, in, key, &flag);
    di_param_object(b, in, key, &p);
    di_param_array(b, in, key, &p);
}

static void walk(const di_build *b, const di_params *in, unsigned depth)
{
    if (!in || depth > 40)
        return;
    di_params_path(in);
    for (size_t k = 0; k < nkeys; k++)
        ask(b, in, keys[k]);
    size_t n = di_params_count(in);
    for (size_t i = 0; i <= n; i++) { /* one past the end too */
        const char *key = di_params_key(in, i);
        if (key)
            ask(b, in, key);
        walk(b, di_params_item(in, i), depth + 1);
    }
}

static int check(const di_build *b)
{
    const di_params *top;
    if (di_param_object(b, NULL, NULL, &top) == 0)
        walk(b, top, 0);
    walk(b, b->params, 0);
    return 0;
}

static int create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    nkeys = 0;
    size_t len = strlen(text);
    if (len < size) { /* keys after the NUL */
        char *k = text + len + 1;
        while (nkeys < 16 && k < text + size) {
            char *nl = memchr(k, '\n', (size_t)(text + size - k));
            if (nl)
                *nl = '\0';
            keys[nkeys++] = k;
            if (!nl)
                break;
            k = nl + 1;
        }
    }
    void *root = talloc_new(NULL);
    di_container *c;
    if (root && di_container_new(root, &c) == 0) {
        di_kind_register(c, &(di_kind_desc){ .name = "k", .lifetime =
            "singleton", .create = create, .check = check });
        di_instantiate(c, &(di_instance_desc){ .name = "p", .kind = "k",
                                               .params = text });
        di_container_free(c);
    }
    talloc_free(root);
    free(text);
    return 0;
}
