/*
 * di/openapi.h — the API's documentation derived from the router: an
 * OpenAPI 3.1 document and an interactive docs page.
 *
 * Everything in the document comes from what the router and the container
 * already know, so it cannot drift from the code:
 *   - paths and methods: the routes (di_http_route());
 *   - parameters: a route's "{name}" path segments (typed by its
 *     "path:<model>" input when it has one, else strings), the fields of
 *     its "query:<model>" input, its "header:<name>" inputs (required
 *     unless the dependency is optional, "?header:X");
 *   - the request body: its "body:<model>" (or "body:<model>[]") input;
 *   - schemas: every model those name, nested models included, in
 *     components.schemas (type, required, default, min/max, length, enum,
 *     array size), and FastAPI's HTTPValidationError for the 422 every
 *     route with an input can answer;
 *   - answers: the route's documented responses (di_http_route_desc's
 *     .responses; none: "200 Successful Response");
 *   - security, from the graph: a route whose dependencies reach, directly
 *     or through any provider, one marked as an authentication scheme
 *     (di_openapi_auth()) requires that scheme; the scheme is described in
 *     components.securitySchemes. The notes server marks current_user
 *     (Bearer): every route that needs the current user, and only those,
 *     is documented as needing a token.
 *
 *     di_openapi_auth(router, "current_user", &(di_auth_scheme){
 *         .id = "bearer", .type = "http", .scheme = "bearer" });
 *     di_openapi_routes(router, &(di_openapi_info){ "notes", "1.0.0" },
 *                       "/openapi.json", "/docs");
 *     ... seal, serve: GET /openapi.json, GET /docs ...
 *
 * The docs page is Swagger UI, served from the distribution a Debian
 * package installs (python3-flasgger's, directory DI_SWAGGER_UI_DIR fixed
 * when libdi is built; nothing is downloaded): the page and its two files
 * are routes of the router. That Swagger UI (3.x) reads OpenAPI 3.0 only:
 * the page hands it the document marked 3.0.3, which it is too — the
 * document uses only what 3.0 and 3.1 share (no type lists, no numeric
 * exclusive bounds, no $ref with siblings).
 *
 * Routes marked .undocumented (the documentation's own) are left out, as
 * FastAPI's include_in_schema=False.
 */
#ifndef DI_OPENAPI_H
#define DI_OPENAPI_H

#include "export.h"
#include "http.h"

DI_BEGIN_DECLS

/* The document's info object. NULL title or version: "API", "0.1.0". */
typedef struct di_openapi_info {
    const char *title;
    const char *version;
    const char *description;  /* or NULL */
} di_openapi_info;

/* An authentication scheme (OpenAPI's security scheme object). */
typedef struct di_auth_scheme {
    const char *id;           /* required: its key in components and in
                                 each operation's security ("bearer") */
    const char *type;         /* required: "http" or "apiKey" */
    const char *scheme;       /* "http": "bearer", "basic", ... */
    const char *bearer_format;/* "http" bearer: a hint ("JWT"), or NULL */
    const char *in;           /* "apiKey": "header", "query" or "cookie" */
    const char *name;         /* "apiKey": the header's (...) name */
    const char *description;  /* or NULL */
} di_auth_scheme;

/*
 * di_openapi_auth — mark provider as authentication scheme s: every route
 * whose dependency graph reaches the provider is documented as requiring
 * s. The provider need not exist yet (it is looked up in the graph when
 * the document is made); a provider may carry one scheme. s and its
 * strings are copied. Call before seal.
 * Returns 0; DI_EINVAL (NULL, no id, a type other than "http" with a
 * scheme or "apiKey" with in and name); DI_EEXIST (the provider is marked
 * already); DI_ESEALED; DI_ENOMEM. Detail in di_container_error().
 */
DI_EXPORT int di_openapi_auth(di_http *h, const char *provider,
                              const di_auth_scheme *s);

/*
 * di_openapi_json — the OpenAPI 3.1 document of router h (indented JSON),
 * allocated on mem, from its current container (sealed). info: NULL for
 * the one given to di_openapi_routes(), else the defaults.
 * Returns 0 with *out set; DI_ENOTSEALED; DI_EINVAL (NULL h or out);
 * DI_ENOMEM. (Every model the routes name was checked at seal.) Any
 * thread may call it once the container is sealed.
 */
DI_EXPORT int di_openapi_json(const di_http *h, const di_openapi_info *info,
                              void *mem, char **out);

/*
 * di_openapi_routes — mount GET json_path (the document, made at each
 * request from the container the request runs on) and, when docs_path is
 * not NULL, GET docs_path (the Swagger UI page) with GET
 * docs_path/swagger-ui.css and docs_path/swagger-ui-bundle.js (the
 * distribution's files). Neither is documented. info is copied. Call
 * before seal. A docs page whose distribution is missing answers 404
 * {"error": "the docs page needs Swagger UI in DIR (Debian:
 * python3-flasgger)"}.
 * Returns as di_http_route() (DI_EINVAL for a NULL json_path).
 */
DI_EXPORT int di_openapi_routes(di_http *h, const di_openapi_info *info,
                                const char *json_path, const char *docs_path);

DI_END_DECLS

#endif /* DI_OPENAPI_H */
