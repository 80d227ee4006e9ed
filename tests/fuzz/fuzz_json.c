/*
 * fuzz_json.c — libFuzzer target, differential: libdi's JSON checker
 * against cJSON on the same bytes. The checker is stricter (UTF-8, no
 * duplicate keys, bounded nesting, nothing after the value), never looser:
 *   - a body di_http_check_json() accepts, cJSON parses, all of it;
 *   - a config the checker accepts, cJSON parses too (the loader then never
 *     reports "out of memory" for a text that is not out of memory).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <di.h>

#include "fuzz.h"

static di_container *c;
static di_http *h;

static int handler(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    int rc = di_http_check_json(r);
    if (rc)
        return rc;
    size_t n;
    const char *body = di_http_body(r, &n);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, n, &end, 0);
    if (!j)
        abort(); /* libdi accepted what cJSON refuses */
    while (end < body + n && strchr(" \t\r\n", *end))
        end++;
    if (end != body + n)
        abort(); /* libdi accepted something after the value */
    cJSON_Delete(j);
    return di_http_respond(r, 200, "text/plain", "ok", 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!c) {
        if (di_container_new(NULL, &c) || di_http_new(c, c, &h) ||
            di_http_route(h, &(di_http_route_desc){ .method = "POST",
                .path = "/json", .handler = handler }) ||
            di_container_seal(c))
            abort();
    }
    di_http_req *r;
    if (di_http_begin(h, "POST", "/json", NULL, NULL, &r) == 0) {
        di_http_append_body(r, data, size);
        di_http_dispatch(r);
        di_http_end(r, 1);
    }
    char *text = fuzz_text(data, size);
    di_container *cfg;
    if (text && di_container_new(NULL, &cfg) == 0) {
        if (di_config_load_string(cfg, text, "fuzz") == DI_ENOMEM &&
            strlen(text) == size)
            abort(); /* checked out, then not parsed */
        di_container_free(cfg);
    }
    free(text);
    return 0;
}
