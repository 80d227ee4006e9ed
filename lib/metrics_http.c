/*
 * metrics_http.c — the metrics route (see di/metrics.h): the router's side
 * of metrics, apart from the counting, which the request path calls into.
 */
#include <string.h>
#include <talloc.h>

#include "di_int.h"

static int serve(di_http_req *r, void *const *deps, void *data)
{
    (void)deps;
    (void)data;
    char *text;
    int rc = di_metrics_text(di_scope_container(di_http_scope(r)), NULL,
                             &text);
    if (rc == DI_EINVAL)
        return di_http_respond(r, 404, "application/json",
                               "{\"error\":\"metrics are off\"}", 27);
    if (rc)
        return rc;
    rc = di_http_respond(r, 200, "text/plain; version=0.0.4", text,
                         strlen(text));
    talloc_free(text);
    return rc;
}

int di_metrics_route(di_http *h, const char *path)
{
    return di_http_route(h, &(di_http_route_desc){ .method = "GET",
                                                   .path = path,
                                                   .handler = serve });
}
