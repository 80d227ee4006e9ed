/*
 * host.c — a server's side of the plugin example: wiring comes from
 * app.json (which plugin, which store, its params); the handlers only know
 * the kv_txn interface and the consumers' names.
 *
 * Run: host [CONFIG [PLUGIN_DIR]] (defaults: the files next to the source
 * and the build directory of memstore.so).
 */
#include <di.h>
#include <stdio.h>
#include <string.h>

#include "kv.h"

static char last[64]; /* what the last request read */

/* One request: begin a scope, resolve the consumer, run, end with outcome. */
static int request(di_container *c, const char *route, const char *value,
                   int outcome)
{
    di_scope *s;
    kv_txn *txn;
    int rc = di_scope_begin(c, NULL, "request", NULL, &s);
    if (rc)
        return rc;
    if ((rc = di_resolve(s, route, (void **)&txn, 1))) {
        fprintf(stderr, "%s: %s\n", route, di_error_message(di_scope_error(s)));
        di_scope_end(s, rc);
        return rc;
    }
    if (value)
        txn->put(txn, "greeting", value);
    snprintf(last, sizeof last, "%s", txn->get(txn, "greeting"));
    printf("%-14s %-16s -> greeting = %s\n", route,
           outcome ? "(handler fails)" : "", last);
    return di_scope_end(s, outcome);
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1] : EXAMPLE_DIR "/app.json";
    const char *plugins = argc > 2 ? argv[2] : PLUGIN_DIR;
    di_container *c;
    if (di_container_new(NULL, &c))
        return 1;
    di_plugin_dir(c, plugins);
    if (di_config_load_file(c, config) || di_container_seal(c)) {
        for (const di_error *e = di_container_error(c); e; e = di_error_next(e))
            fprintf(stderr, "%s\n", di_error_message(e));
        di_container_free(c);
        return 1;
    }
    int rc = request(c, "GET /greeting", NULL, 0);
    rc |= request(c, "PUT /greeting", "bonjour", 0);
    rc |= request(c, "GET /greeting", NULL, 0);
    /* the handler fails: its write is rolled back */
    rc |= request(c, "PUT /greeting", "hola", -1);
    rc |= request(c, "GET /greeting", NULL, 0);
    rc |= di_container_free(c);
    if (strcmp(last, "bonjour") != 0) {
        fprintf(stderr, "the failed request's write was not rolled back\n");
        return 1;
    }
    return rc ? 1 : 0;
}
