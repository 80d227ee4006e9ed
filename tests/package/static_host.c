/* A program linked with libdi.a that loads the installed sqlite plugin:
 * the plugin calls libdi back, so the program must export libdi's symbols
 * (see docs/plugins.md, "A host linked statically"). argv[1]: the plugin
 * directory. Prints one line and exits 0 when a session committed. */
#include <stdio.h>
#include <di.h>

static void errors(di_container *c)
{
    for (const di_error *e = di_container_error(c); e; e = di_error_next(e))
        fprintf(stderr, "static host: %s\n", di_error_message(e));
}

int main(int argc, char **argv)
{
    di_container *c;
    if (argc < 2 || di_container_new(NULL, &c))
        return 1;
    static const di_role_map pool[] = { { "pool", "db" }, { NULL, NULL } };
    di_scope *s;
    void *session;
    int rc = di_plugin_dir(c, argv[1]);
    if (!rc)
        rc = di_plugin_load(c, "sqlite");
    if (!rc)
        rc = di_instantiate(c, &(di_instance_desc){ .name = "db",
            .kind = "sqlite.pool", .params = "{\"path\": \":memory:\"}" });
    if (!rc)
        rc = di_instantiate(c, &(di_instance_desc){ .name = "session",
            .kind = "sqlite.session", .deps = pool });
    if (!rc)
        rc = di_container_seal(c);
    if (!rc)
        rc = di_scope_begin(c, NULL, "request", NULL, &s);
    if (!rc) {
        rc = di_get(s, "session", &session);
        int end = di_scope_end(s, rc);   /* COMMIT */
        rc = rc ? rc : end;
    }
    if (rc) {
        errors(c);
        di_container_free(c);
        return 1;
    }
    di_container_free(c);
    printf("static host: libdi.a loaded the sqlite plugin; a session committed\n");
    return 0;
}
