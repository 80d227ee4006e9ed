/*
 * answers.c — what the notes handlers share, whether they run their
 * queries blocking (app.c) or on an event loop (app_async.c): JSON in and
 * out, error answers, the note's fields, the path's id, the
 * Idempotency-Key's checks and replay, the --debug headers.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

cJSON *notes_note_json(const note *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)n->id);
    cJSON_AddStringToObject(o, "title", n->title);
    cJSON_AddStringToObject(o, "body", n->body);
    cJSON_AddStringToObject(o, "created_at", n->created_at);
    return o;
}

/* Respond with the JSON (consumed) and status. */
int notes_send_json(di_http_req *r, int status, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return DI_ENOMEM;
    int rc = di_http_respond(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

/* An error answer; returns the code that fails the request (4xx: the
 * handler's outcome is that failure, so the transaction rolls back). */
int notes_send_error(di_http_req *r, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    notes_send_json(r, status, o);
    return DI_HTTP_ERROR(status);
}

int notes_db_error(di_http_req *r, notes_log *log, const char *err)
{
    notes_log_printf(log, "notes: %s %s: %s", di_http_method(r),
                     di_http_path(r), err);
    return notes_send_error(r, 500, "database error");
}

/* "{id}" as a positive integer (canonical decimal), or a 404 sent. */
int notes_note_id(di_http_req *r, int64_t *id)
{
    long long v;
    *id = 0;
    if (di_http_param_int(r, "id", 1, INT64_MAX, &v))
        return notes_send_error(r, 404, "no note '%s'", di_http_param(r, "id"));
    *id = v;
    return 0;
}

/* FNV-1a over the method, the path and the body, as 16 hex digits. */
void notes_request_hash(di_http_req *r, char out[17])
{
    uint64_t h = 14695981039346656037u;
    size_t n;
    const char *parts[] = { di_http_method(r), " ", di_http_path(r), "\n" };
    for (size_t i = 0; i < 4; i++)
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211u;
    const char *body = di_http_body(r, &n);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)body[i]) * 1099511628211u;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

bool notes_key_ok(const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return n > 0 && n <= 200;
}

/* The answer of the first request made with this key, again. */
int notes_replay(di_http_req *r, const notes_answer *first)
{
    if (*first->location)
        di_http_add_header(r, "Location", first->location);
    di_http_add_header(r, "Idempotent-Replayed", "true");
    return di_http_respond(r, first->status, "application/json", first->body,
                           strlen(first->body));
}


void notes_debug_headers(di_http_req *r)
{
    void *tmp = talloc_new(NULL);
    char *json;
    if (tmp && di_scope_memory(di_http_scope(r), DI_REPORT_JSON, tmp,
                               &json) == 0) {
        json[strcspn(json, "\n")] = '\0'; /* one header line */
        di_http_add_header(r, "X-DI-Memory", json);
    }
    /* what the request built so far (its disposes come after the handler:
     * the server logs the complete trace when the scope ends) */
    if (tmp && di_scope_trace(di_http_scope(r), tmp, &json) == 0)
        di_http_add_header(r, "X-DI-Trace", json);
    talloc_free(tmp);
}

#define UNAUTHORIZED { 401, "no token, or an unknown one", "error", 0 }
#define NOT_FOUND { 404, "no such note of this user", "error", 0 }
#define REFUSED { 422, "the input does not fit, or an Idempotency-Key " \
                  "reused for another request", NULL, 0 }
#define NOT_SAVED { 500, "the changes were not saved", "error", 0 }

const notes_route notes_routes[] = {
    { "POST", "/notes", true, "body:note_in", "Create a note",
      (const di_route_answer[]){ { 201, "the note, created", "note", 0 },
          UNAUTHORIZED, REFUSED, NOT_SAVED, { .status = 0 } } },
    { "GET", "/notes", false, "query:page", "List the user's notes",
      (const di_route_answer[]){ { 200, "a page of notes", "note_page", 0 },
          UNAUTHORIZED, { .status = 0 } } },
    { "GET", "/notes/{id}", false, NULL, "Read a note",
      (const di_route_answer[]){ { 200, "the note", "note", 0 },
          UNAUTHORIZED, NOT_FOUND, { .status = 0 } } },
    { "PUT", "/notes/{id}", true, "body:note_in", "Replace a note",
      (const di_route_answer[]){ { 200, "the note, replaced", "note", 0 },
          UNAUTHORIZED, NOT_FOUND, NOT_SAVED, { .status = 0 } } },
    { "DELETE", "/notes/{id}", true, NULL, "Delete a note",
      (const di_route_answer[]){ { 204, "deleted", NULL, 0 },
          UNAUTHORIZED, NOT_FOUND, NOT_SAVED, { .status = 0 } } },
    { "POST", "/notes/import", true, "body:note_in[]",
      "Create many notes, all or none",
      (const di_route_answer[]){ { 201, "how many were created",
                                   "imported", 0 },
          UNAUTHORIZED, REFUSED, NOT_SAVED, { .status = 0 } } },
    { NULL, NULL, false, NULL, NULL, NULL },
};

void notes_route_deps(const char *const *base, size_t n, const char *input,
                      const char **out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = base[i];
    out[n] = input;
    out[n + 1] = NULL;
}

static const di_field note_fields[] = {
    { "title", DI_F_STRING, DI_AT(note_in, title), .required = 1,
      .min_len = 1, .max_len = 200 },
    { "body", DI_F_STRING, DI_AT(note_in, body), .def = "\"\"" },
    { .name = NULL },
};

static const di_field page_fields[] = {
    { "offset", DI_F_INT, DI_AT(page_in, offset), .ranged = 1, .min = 0,
      .max = INT64_MAX / 2 },
    { "limit", DI_F_INT, DI_AT(page_in, limit), .ranged = 1, .min = 1,
      .max = 100, .def = "20" },
    { .name = NULL },
};

/* The answers' shapes, for the document only: the handlers write them
 * with cJSON (notes_note_json() and the list's page). */
typedef struct note_out {
    int64_t id;
    const char *title, *body, *created_at;
} note_out;
static const di_field note_out_fields[] = {
    { "id", DI_F_INT, DI_AT(note_out, id), .required = 1 },
    { "title", DI_F_STRING, DI_AT(note_out, title), .required = 1 },
    { "body", DI_F_STRING, DI_AT(note_out, body), .required = 1 },
    { "created_at", DI_F_STRING, DI_AT(note_out, created_at),
      .required = 1 },
    { .name = NULL },
};
typedef struct page_out {
    note_out *items;
    size_t nitems;
    int64_t offset, limit, total;
} page_out;
static const di_field page_out_fields[] = {
    { "items", DI_F_ARRAY, DI_AT(page_out, items), .items = DI_F_MODEL,
      .model = "note", .count_at = offsetof(page_out, nitems),
      .required = 1 },
    { "offset", DI_F_INT, DI_AT(page_out, offset), .required = 1 },
    { "limit", DI_F_INT, DI_AT(page_out, limit), .required = 1 },
    { "total", DI_F_INT, DI_AT(page_out, total), .required = 1 },
    { .name = NULL },
};
typedef struct imported_out {
    int64_t imported;
} imported_out;
static const di_field imported_fields[] = {
    { "imported", DI_F_INT, DI_AT(imported_out, imported), .required = 1 },
    { .name = NULL },
};
typedef struct error_out {
    const char *error;
} error_out;
static const di_field error_fields[] = {
    { "error", DI_F_STRING, DI_AT(error_out, error), .required = 1 },
    { .name = NULL },
};

int notes_register_models(di_container *c)
{
    const di_model_desc models[] = {
        { "note_in", sizeof(note_in), note_fields },
        { "page", sizeof(page_in), page_fields },
        { "note", sizeof(note_out), note_out_fields },
        { "note_page", sizeof(page_out), page_out_fields },
        { "imported", sizeof(imported_out), imported_fields },
        { "error", sizeof(error_out), error_fields },
    };
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof models / sizeof models[0]; i++)
        rc = di_model(c, &models[i]);
    return rc;
}

int notes_register_docs(di_http *h)
{
    static const di_auth_scheme bearer = {
        .id = "bearer", .type = "http", .scheme = "bearer",
        .description = "a user's token: Authorization: Bearer <token>" };
    int rc = di_openapi_auth(h, "current_user", &bearer);
    if (!rc)
        rc = di_openapi_auth(h, "read_user", &bearer);
    return rc ? rc : di_openapi_routes(h, &(di_openapi_info){
        .title = "notes", .version = "1.0.0",
        .description = "Notes, each a user's own: libdi's example service" },
        "/openapi.json", "/docs");
}
