/*
 * http_int.h — what the router (http.c) shows the modules that document
 * it (openapi.c): its routes and their inputs, read after seal.
 */
#ifndef DI_HTTP_INT_H
#define DI_HTTP_INT_H

#include "di_int.h"

enum { DI__IN_BODY, DI__IN_QUERY, DI__IN_PATH, DI__IN_HEADER };

/* An input provider the router registers ("body.note_in"). */
typedef struct di__input {
    int what;    /* DI__IN_* */
    bool list;   /* body:<model>[]: a JSON array of them */
    char *arg;   /* the model, or the header's name */
    char *name;  /* the provider: "body.note_in" */
    char *by;    /* the first route that named it, for seal's message */
} di__input;

/* A route as documented. */
typedef struct di__route_doc {
    const char *method;
    const char *path;              /* "/notes/{id}" */
    const char *name;              /* "GET /notes/{id}": its consumer */
    const char *const *pnames;     /* per path segment: "id", or NULL */
    uint32_t nsegs;
    uint32_t ndeps;
    const char *const *deps;       /* as the consumer depends on them */
    const di__input *const *ins;   /* per dependency: its input, or NULL */
    const char *summary;           /* or NULL */
    const di_route_answer *responses; /* or NULL; ends with status 0 */
    bool undocumented;
} di__route_doc;

/* Route i of h (0 <= i < di__http_nroutes(h)). */
uint32_t di__http_nroutes(const di_http *h);
const di__route_doc *di__http_route_doc(const di_http *h, uint32_t i);
/* Where openapi.c keeps its state on h (the auth marks, the info). */
void **di__http_openapi(di_http *h);
void *di__http_openapi_get(const di_http *h);

#endif /* DI_HTTP_INT_H */
