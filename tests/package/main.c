/* An outside program: built against an installed libdi, twice. */
#include <stdio.h>
#include <string.h>
#include <di.h>

static int make_answer(const di_build *b, void **out)
{
    int *v = b->mem;
    *v = 42;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "plugindir") == 0) {
        puts(di_plugin_system_dir());
        return 0;
    }
    di_container *c;
    di_scope *s;
    int *v = NULL;
    if (strcmp(di_version(NULL, NULL, NULL), DI_VERSION_STRING) != 0)
        return 1;
    if (di_container_new(NULL, &c) ||
        di_provide(c, &(di_provider_desc){ .name = "answer", .type = "int",
                   .lifetime = "request", .size = sizeof(int),
                   .create = make_answer }) ||
        di_container_seal(c) || di_scope_begin(c, NULL, "request", NULL, &s) ||
        DI_GET(s, "answer", int, &v) || *v != 42 || di_scope_end(s, 0) ||
        di_container_free(c))
        return 1;
    printf("outside program (%s): libdi %s works\n", argc > 1 ? argv[1] : "",
           DI_VERSION_STRING);
    return 0;
}
